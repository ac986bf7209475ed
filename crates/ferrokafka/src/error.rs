//! The errors a producer call or a delivery can end with: one opaque [`ProduceError`] whose
//! [`kind`](ProduceError::kind) is the thing to branch on.

use std::time::Duration;

use ferrokafka_engine::{DeliveryError, SendError, TxnFailure, TxnFailureKind};
use ferrokafka_metadata::MetadataError;
use ferrokafka_wire::ErrorCode;

use crate::config::ConfigError;

/// Why a `send`, a delivery, a `flush`, a transactional call or `Producer::new` failed.
///
/// Opaque: ask [`kind`](Self::kind) what happened and the predicates
/// ([`is_retriable`](Self::is_retriable), [`is_abortable`](Self::is_abortable),
/// [`is_fatal`](Self::is_fatal), [`outcome_unknown`](Self::outcome_unknown)) what to do about
/// it. `Display` names the cause with every detail known (topic, partition, setting, broker
/// error, attempts); `source()` is the cause's own source.
///
/// ```
/// use ferrokafka::{ConfigError, ErrorKind, ProduceError};
///
/// /// What an application does with a failed `send`, delivery or transactional call.
/// fn handle(e: &ProduceError) -> &'static str {
///     match e.kind() {
///         // The record itself is bad: log it, skip it, go on with the next one.
///         ErrorKind::InvalidRecord | ErrorKind::RecordTooLarge | ErrorKind::Serialization => {
///             "skip the record"
///         }
///         // Another producer with the same transactional.id took over (KIP-1050's
///         // application-recoverable class): close this producer, start over with a new one.
///         ErrorKind::ProducerFenced => "close, then recreate the producer",
///         _ if e.is_abortable() => "abort the transaction, then retry its work",
///         _ if e.is_fatal() => "close the producer",
///         _ if e.is_retriable() => "send it again later",
///         _ => "give up on this record",
///     }
/// }
///
/// let e = ProduceError::from(ConfigError::MissingBootstrapServers);
/// assert_eq!(e.kind(), ErrorKind::Config);
/// assert_eq!(handle(&e), "give up on this record");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceError {
    kind: ErrorKind,
    repr: Box<Repr>,
}

/// What happened, as [`ProduceError::kind`] reports it. New kinds may be added: match with a
/// wildcard arm. The crate's `DESIGN.md` maps each kind to its KIP-1050 class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is invalid (the message names the setting): found when the producer
    /// starts, e.g. a key file that cannot be read. KIP-1050's invalid configuration.
    Config,
    /// `Producer::new` was called outside a tokio runtime.
    NoRuntime,
    /// The record is invalid (a bad timestamp, a partition the topic does not have, a
    /// partitioner that failed); it was not queued.
    InvalidRecord,
    /// The record is larger than `max.request.size` or `buffer.memory`; it was not queued
    /// (Java's `RecordTooLargeException`).
    RecordTooLarge,
    /// Serializing the key or value failed; nothing was queued.
    Serialization,
    /// The topic's metadata did not arrive within `max.block.ms`; the record was not queued.
    TopicNotAvailable,
    /// The principal may not write to the topic (TOPIC_AUTHORIZATION_FAILED).
    TopicAuthorization,
    /// The cluster refused the topic with another non-retriable error (`kafka_code` says
    /// which, e.g. INVALID_TOPIC_EXCEPTION).
    TopicFailed,
    /// `buffer.memory` stayed exhausted for `max.block.ms`; the record was not queued.
    BufferExhausted,
    /// `flush` or a transactional call did not finish within its timeout (`waited` says how
    /// long); the work goes on in the background.
    Timeout,
    /// `delivery.timeout.ms` passed before the record was acknowledged; `kafka_code` is the
    /// last error seen, `outcome_unknown` says whether it may have been written.
    DeliveryTimeout,
    /// The broker refused the record's batch (`kafka_code` says why).
    Broker,
    /// The record's batch could not be encoded (compression failed).
    Encode,
    /// SASL authentication with the cluster failed (Java's `AuthenticationException`).
    Authentication,
    /// The producer was closed before the record was delivered, or before the call.
    Closed,
    /// The idempotent or transactional producer failed for good: close it.
    Fatal,
    /// A newer producer with the same `transactional.id` took over (PRODUCER_FENCED):
    /// close this one and, to go on, create a new one (KIP-1050's application-recoverable).
    ProducerFenced,
    /// The open transaction hit an error that requires `abort_transaction`; after the abort
    /// the producer goes on.
    TransactionAbortable,
    /// The record's transaction was aborted before the record was sent.
    TransactionAborted,
    /// The transactional call (or a `send` in a transactional producer) is not allowed in the
    /// producer's current state; nothing changed.
    InvalidState,
    /// A transactional call on a producer without `transactional.id`.
    NotTransactional,
}

/// The cause behind a [`ProduceError`]: the engine's or the facade's own error, kept whole so
/// that `Display` and `source()` are exactly the cause's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Repr {
    #[error(transparent)]
    Config(ConfigError),
    #[error(transparent)]
    Send(SendError),
    #[error(
        "topic `{topic}` not present in metadata after {} ms (max.block.ms){}",
        waited.as_millis(),
        detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    TopicNotAvailable {
        topic: String,
        waited: Duration,
        detail: Option<String>,
    },
    #[error("buffer.memory exhausted for {} ms (max.block.ms); the record was not queued", waited.as_millis())]
    BufferExhausted { waited: Duration },
    #[error(transparent)]
    Delivery(DeliveryError),
    #[error("serialization of the {what} failed: {message}")]
    Serialization { what: &'static str, message: String },
    #[error("{operation} did not finish within {} ms", timeout.as_millis())]
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
    #[error(transparent)]
    Transaction(TxnFailure),
    #[error("Producer::new must be called within a tokio runtime")]
    NoRuntime,
    /// The configuration was accepted by `build` but the producer could not be set up with it
    /// (the partitioner, the accumulator or the idempotent state refused it).
    #[error("invalid configuration: {0}")]
    Setup(String),
}

/// A fatal failure is `ProducerFenced` when a broker's PRODUCER_FENCED caused it (KIP-1050's
/// application-recoverable class), else `Fatal`: classified by the engine's error code.
fn fatal_kind(code: Option<ErrorCode>) -> ErrorKind {
    if code == Some(ErrorCode::PRODUCER_FENCED) {
        ErrorKind::ProducerFenced
    } else {
        ErrorKind::Fatal
    }
}

fn txn_kind(f: &TxnFailure) -> ErrorKind {
    match f.kind {
        TxnFailureKind::Abortable => ErrorKind::TransactionAbortable,
        TxnFailureKind::Fatal => fatal_kind(f.code),
        TxnFailureKind::Aborted => ErrorKind::TransactionAborted,
        TxnFailureKind::NotTransactional => ErrorKind::NotTransactional,
        TxnFailureKind::InvalidState => ErrorKind::InvalidState,
    }
}

impl Repr {
    fn kind(&self) -> ErrorKind {
        match self {
            Repr::Config(_) => ErrorKind::Config,
            Repr::Send(e) => match e {
                SendError::RecordTooLarge { .. } => ErrorKind::RecordTooLarge,
                SendError::Closed => ErrorKind::Closed,
                SendError::Metadata(MetadataError::TopicFailed { error, .. }) => {
                    if *error == ErrorCode::TOPIC_AUTHORIZATION_FAILED {
                        ErrorKind::TopicAuthorization
                    } else {
                        ErrorKind::TopicFailed
                    }
                }
                // TopicPending and WouldBlock are the engine's signals to wait; `send` turns
                // them into TopicNotAvailable and BufferExhausted when it stops waiting.
                SendError::Metadata(_) | SendError::TopicPending(_) => ErrorKind::TopicNotAvailable,
                SendError::WouldBlock => ErrorKind::BufferExhausted,
                SendError::Fatal(r) => fatal_kind(r.code),
                // A send refused by the transaction's state; not being transactional never
                // refuses a send.
                SendError::Transaction(f) => match txn_kind(f) {
                    ErrorKind::NotTransactional => ErrorKind::InvalidState,
                    kind => kind,
                },
                SendError::Authentication(_) => ErrorKind::Authentication,
                // Partition(_), InvalidRecord(_) and any later refusal of the record.
                _ => ErrorKind::InvalidRecord,
            },
            Repr::TopicNotAvailable { .. } => ErrorKind::TopicNotAvailable,
            Repr::BufferExhausted { .. } => ErrorKind::BufferExhausted,
            Repr::Delivery(e) => match e {
                DeliveryError::Broker { .. } => ErrorKind::Broker,
                DeliveryError::DeliveryTimeout { .. } => ErrorKind::DeliveryTimeout,
                DeliveryError::Aborted | DeliveryError::ClosedInFlight => ErrorKind::Closed,
                DeliveryError::Encode(_) => ErrorKind::Encode,
                DeliveryError::TransactionAborted => ErrorKind::TransactionAborted,
                DeliveryError::TransactionAbortable(_) => ErrorKind::TransactionAbortable,
                // Fatal(_) and any later failure of the producer's state.
                DeliveryError::Fatal(r) => fatal_kind(r.code),
                _ => ErrorKind::Fatal,
            },
            Repr::Serialization { .. } => ErrorKind::Serialization,
            Repr::Timeout { .. } => ErrorKind::Timeout,
            Repr::Transaction(f) => txn_kind(f),
            Repr::NoRuntime => ErrorKind::NoRuntime,
            Repr::Setup(_) => ErrorKind::Config,
        }
    }
}

impl std::fmt::Display for ProduceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.repr, f)
    }
}

impl std::error::Error for ProduceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.repr)
    }
}

impl From<ConfigError> for ProduceError {
    fn from(e: ConfigError) -> Self {
        Self::new(Repr::Config(e))
    }
}

impl ProduceError {
    fn new(repr: Repr) -> Self {
        Self {
            kind: repr.kind(),
            repr: Box::new(repr),
        }
    }

    /// A refusal of the engine's `append` (or of a transactional precondition).
    pub(crate) fn send(e: SendError) -> Self {
        Self::new(Repr::Send(e))
    }

    /// A record that was queued and then not delivered.
    pub(crate) fn delivery(e: DeliveryError) -> Self {
        Self::new(Repr::Delivery(e))
    }

    /// A failed transactional call.
    pub(crate) fn transaction(f: TxnFailure) -> Self {
        Self::new(Repr::Transaction(f))
    }

    /// The producer was closed (or its driver is gone).
    pub(crate) fn closed() -> Self {
        Self::send(SendError::Closed)
    }

    /// The topic's metadata did not arrive within `max.block.ms`.
    pub(crate) fn topic_not_available(
        topic: String,
        waited: Duration,
        detail: Option<String>,
    ) -> Self {
        Self::new(Repr::TopicNotAvailable {
            topic,
            waited,
            detail,
        })
    }

    /// `buffer.memory` stayed exhausted for `max.block.ms`.
    pub(crate) fn buffer_exhausted(waited: Duration) -> Self {
        Self::new(Repr::BufferExhausted { waited })
    }

    /// The key's or value's serializer failed.
    pub(crate) fn serialization(what: &'static str, message: String) -> Self {
        Self::new(Repr::Serialization { what, message })
    }

    /// `operation` did not finish within `timeout`.
    pub(crate) fn timeout(operation: &'static str, timeout: Duration) -> Self {
        Self::new(Repr::Timeout { operation, timeout })
    }

    /// `Producer::new` could not set the producer up with the configuration.
    pub(crate) fn setup(message: String) -> Self {
        Self::new(Repr::Setup(message))
    }

    /// `Producer::new` outside a tokio runtime.
    pub(crate) fn no_runtime() -> Self {
        Self::new(Repr::NoRuntime)
    }

    /// What happened: the thing to branch on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the record may have been written although this error reports it failed: its
    /// request was in flight, never answered, when `delivery.timeout.ms` passed or `close` gave
    /// up. Sending it again may duplicate it; every other failure means it was not written.
    pub fn outcome_unknown(&self) -> bool {
        matches!(&*self.repr, Repr::Delivery(e) if e.outcome_unknown())
    }

    /// The Kafka error code behind this error, when a broker gave one (a refused batch, the
    /// last error of a timed-out one, a topic error, PRODUCER_FENCED).
    pub fn kafka_code(&self) -> Option<ErrorCode> {
        match &*self.repr {
            Repr::Delivery(DeliveryError::Broker { code, .. }) => Some(*code),
            Repr::Delivery(DeliveryError::DeliveryTimeout { last_error, .. }) => *last_error,
            Repr::Send(SendError::Metadata(MetadataError::TopicFailed { error, .. })) => {
                Some(*error)
            }
            Repr::Send(SendError::Metadata(MetadataError::TopicNotAvailable {
                last_error,
                ..
            })) => *last_error,
            // The broker's code behind a fatal or transactional failure (PRODUCER_FENCED, the
            // error that made a transaction abortable, ...).
            Repr::Send(SendError::Fatal(r))
            | Repr::Delivery(DeliveryError::Fatal(r) | DeliveryError::TransactionAbortable(r)) => {
                r.code
            }
            Repr::Send(SendError::Transaction(f)) | Repr::Transaction(f) => f.code,
            _ => None,
        }
    }

    /// How many times the record's batch was sent, when the error knows it (a delivery
    /// timeout).
    pub fn attempts(&self) -> Option<u32> {
        match &*self.repr {
            Repr::Delivery(DeliveryError::DeliveryTimeout { attempts, .. }) => Some(*attempts),
            _ => None,
        }
    }

    /// The topic the error is about, when it names one (a refused or timed-out batch, a topic
    /// that is not available or refused).
    pub fn topic(&self) -> Option<&str> {
        match &*self.repr {
            Repr::Delivery(
                DeliveryError::Broker { topic, .. } | DeliveryError::DeliveryTimeout { topic, .. },
            )
            | Repr::Send(SendError::Metadata(
                MetadataError::TopicFailed { topic, .. }
                | MetadataError::TopicNotAvailable { topic, .. },
            ))
            | Repr::TopicNotAvailable { topic, .. } => Some(topic),
            _ => None,
        }
    }

    /// The partition the error is about, when it names one (a refused or timed-out batch, an
    /// explicit partition the topic does not have).
    pub fn partition(&self) -> Option<i32> {
        match &*self.repr {
            Repr::Delivery(
                DeliveryError::Broker { partition, .. }
                | DeliveryError::DeliveryTimeout { partition, .. },
            )
            | Repr::Send(SendError::Partition(
                ferrokafka_partition::Error::PartitionOutOfRange { partition, .. }
                | ferrokafka_partition::Error::InvalidChoice { partition, .. },
            )) => Some(*partition),
            _ => None,
        }
    }

    /// How long the call waited before giving up, when it waited (`max.block.ms` for metadata
    /// or buffer memory; the timeout of `flush` or of a transactional call).
    pub fn waited(&self) -> Option<Duration> {
        match &*self.repr {
            Repr::TopicNotAvailable { waited, .. }
            | Repr::BufferExhausted { waited }
            | Repr::Send(SendError::Metadata(MetadataError::TopicNotAvailable {
                waited, ..
            }))
            | Repr::Timeout {
                timeout: waited, ..
            } => Some(*waited),
            _ => None,
        }
    }

    /// Whether the same call may succeed if made again later (Java's `RetriableException`):
    /// timeouts (metadata, buffer, delivery, flush) and retriable broker errors. Configuration
    /// errors, invalid or oversized records, authentication failures and a closed or fatal
    /// producer are not.
    pub fn is_retriable(&self) -> bool {
        match self.kind {
            ErrorKind::TopicNotAvailable
            | ErrorKind::BufferExhausted
            | ErrorKind::Timeout
            | ErrorKind::DeliveryTimeout => true,
            ErrorKind::Broker => self.kafka_code().is_some_and(ErrorCode::is_retriable),
            _ => false,
        }
    }

    /// Whether the producer can no longer be used: it is closed, or its idempotent or
    /// transactional state failed for good (fenced, say); close it and make a new one.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Closed | ErrorKind::Fatal | ErrorKind::ProducerFenced
        )
    }

    /// Whether the open transaction must be aborted (`abort_transaction`), after which the
    /// producer goes on (Java's abortable errors): a record of the transaction failed, or a
    /// transactional call was refused for a reason the abort clears.
    pub fn is_abortable(&self) -> bool {
        self.kind == ErrorKind::TransactionAbortable
    }
}

#[cfg(test)]
mod tests;
