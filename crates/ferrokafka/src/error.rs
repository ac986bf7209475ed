//! The errors a producer call or a delivery can end with.

use std::time::Duration;

use ferrokafka_engine::{DeliveryError, SendError, TxnFailure};

use crate::config::ConfigError;

/// Why a `send`, a delivery, a `flush` or a `close` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProduceError {
    /// The configuration is invalid (names the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The record was refused before being queued (too large, bad partition, closed, topic
    /// unavailable, ...).
    #[error(transparent)]
    Send(#[from] SendError),
    /// The topic's metadata did not arrive within `max.block.ms`.
    #[error(
        "topic `{topic}` not present in metadata after {} ms (max.block.ms){}",
        waited.as_millis(),
        detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    TopicNotAvailable {
        /// The topic.
        topic: String,
        /// How long `send` waited.
        waited: Duration,
        /// What is known about why (the last topic error, or the last connection failure).
        detail: Option<String>,
    },
    /// `buffer.memory` stayed exhausted for `max.block.ms`.
    #[error("buffer.memory exhausted for {} ms (max.block.ms); the record was not queued", waited.as_millis())]
    BufferExhausted {
        /// How long `send` waited.
        waited: Duration,
    },
    /// The record was queued but not delivered.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// Serializing the key or value failed.
    #[error("serialization of the {what} failed: {message}")]
    Serialization {
        /// `key` or `value`.
        what: &'static str,
        /// The serializer's message.
        message: String,
    },
    /// `flush` did not finish in time (the records stay queued).
    #[error("{operation} did not finish within {} ms", timeout.as_millis())]
    Timeout {
        /// `flush` or `close`.
        operation: &'static str,
        /// The timeout given.
        timeout: Duration,
    },
    /// A transactional call failed; `kind` says whether to abort, or close the producer.
    #[error(transparent)]
    Transaction(TxnFailure),
    /// A setting this version accepts but cannot act on yet.
    #[error("`{key}` is not supported yet: {reason}")]
    Unsupported {
        /// The setting.
        key: &'static str,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// The producer needs a tokio runtime and none is running.
    #[error("Producer::new must be called within a tokio runtime")]
    NoRuntime,
}

impl ProduceError {
    /// Whether the record may have been written although this error reports it failed: its
    /// request was in flight, never answered, when `delivery.timeout.ms` passed or `close` gave
    /// up. Sending it again may duplicate it; every other failure means it was not written.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ProduceError::Delivery(e) if e.outcome_unknown())
    }
}
