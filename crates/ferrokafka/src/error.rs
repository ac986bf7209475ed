//! The errors a producer call or a delivery can end with.

use std::time::Duration;

use ferrokafka_engine::{DeliveryError, SendError, TxnFailure, TxnFailureKind};
use ferrokafka_metadata::MetadataError;
use ferrokafka_wire::ErrorCode;

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

    /// The Kafka error code behind this error, when a broker gave one (a refused batch, the
    /// last error of a timed-out one, a topic error).
    pub fn kafka_code(&self) -> Option<ErrorCode> {
        match self {
            ProduceError::Delivery(DeliveryError::Broker { code, .. }) => Some(*code),
            ProduceError::Delivery(DeliveryError::DeliveryTimeout { last_error, .. }) => {
                *last_error
            }
            ProduceError::Send(SendError::Metadata(MetadataError::TopicFailed {
                error, ..
            })) => Some(*error),
            ProduceError::Send(SendError::Metadata(MetadataError::TopicNotAvailable {
                last_error,
                ..
            })) => *last_error,
            _ => None,
        }
    }

    /// Whether the same call may succeed if made again later (Java's `RetriableException`):
    /// timeouts (metadata, buffer, delivery, flush) and retriable broker errors. Configuration
    /// errors, oversized records, authentication failures and a closed or fatal producer are
    /// not.
    pub fn is_retriable(&self) -> bool {
        match self {
            ProduceError::TopicNotAvailable { .. }
            | ProduceError::BufferExhausted { .. }
            | ProduceError::Timeout { .. }
            | ProduceError::Delivery(DeliveryError::DeliveryTimeout { .. })
            | ProduceError::Send(SendError::Metadata(MetadataError::TopicNotAvailable {
                ..
            })) => true,
            ProduceError::Delivery(DeliveryError::Broker { code, .. }) => code.is_retriable(),
            _ => false,
        }
    }

    /// Whether the producer can no longer be used: it is closed, its idempotent or
    /// transactional state failed for good (fenced, say); close it and make a new one.
    pub fn is_fatal(&self) -> bool {
        match self {
            ProduceError::Send(SendError::Closed | SendError::Fatal(_))
            | ProduceError::Delivery(DeliveryError::Fatal(_)) => true,
            ProduceError::Transaction(f) => f.kind == TxnFailureKind::Fatal,
            _ => false,
        }
    }

    /// Whether the open transaction must be aborted (`abort_transaction`), after which the
    /// producer goes on (Java's abortable errors): a record of the transaction failed, or a
    /// transactional call was refused for a reason the abort clears.
    pub fn is_abortable(&self) -> bool {
        match self {
            ProduceError::Transaction(f) => f.kind == TxnFailureKind::Abortable,
            ProduceError::Delivery(DeliveryError::TransactionAbortable(_)) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_classify_errors_as_java_does() {
        let broker = |code| {
            ProduceError::Delivery(DeliveryError::Broker {
                topic: "t".into(),
                partition: 0,
                code,
                message: None,
            })
        };
        let e = broker(ErrorCode::NOT_ENOUGH_REPLICAS);
        assert_eq!(e.kafka_code(), Some(ErrorCode::NOT_ENOUGH_REPLICAS));
        assert!(e.is_retriable() && !e.is_fatal());
        let e = broker(ErrorCode::INVALID_RECORD);
        assert!(!e.is_retriable() && !e.is_fatal());

        let timeout = ProduceError::Delivery(DeliveryError::DeliveryTimeout {
            topic: "t".into(),
            partition: 0,
            attempts: 2,
            last_error: Some(ErrorCode::REQUEST_TIMED_OUT),
            reason: None,
            maybe_written: true,
        });
        assert!(timeout.is_retriable() && timeout.outcome_unknown());
        assert_eq!(timeout.kafka_code(), Some(ErrorCode::REQUEST_TIMED_OUT));

        let closed = ProduceError::Send(SendError::Closed);
        assert!(closed.is_fatal() && !closed.is_retriable() && !closed.is_abortable());
        let in_failed_txn = ProduceError::Delivery(DeliveryError::TransactionAbortable(
            "a record failed".into(),
        ));
        assert!(in_failed_txn.is_abortable() && !in_failed_txn.is_fatal());
        assert!(!timeout.is_abortable());
        assert_eq!(closed.kafka_code(), None);
        let auth = ProduceError::Send(SendError::Authentication("x".into()));
        assert!(!auth.is_fatal() && !auth.is_retriable());
        let too_large = ProduceError::Send(SendError::RecordTooLarge {
            size: 2,
            limit: 1,
            setting: "max.request.size",
        });
        assert!(!too_large.is_retriable() && !too_large.is_fatal());
        assert!(
            ProduceError::BufferExhausted {
                waited: std::time::Duration::ZERO
            }
            .is_retriable()
        );
    }
}
