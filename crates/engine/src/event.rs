//! What the engine tells its driver: I/O to perform and deliveries to report.

use bytes::Bytes;
use ferrokafka_accumulator::{BatchId, SplitOutcome, TopicPartition};
use ferrokafka_wire::ErrorCode;

/// A connection, named by the engine. Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// I/O the driver must perform, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Io {
    /// Open a TCP connection; answer with `handle_connected` or `handle_disconnect`.
    Connect {
        /// The engine's name for it.
        conn: ConnId,
        /// Host to resolve.
        host: String,
        /// Port.
        port: u16,
    },
    /// Write these bytes (one or more complete frames) on the connection, in order.
    Send {
        /// Where.
        conn: ConnId,
        /// Size-prefixed frames, in parts.
        data: Frames,
    },
    /// Close the connection; the engine has already forgotten it.
    Close {
        /// Which.
        conn: ConnId,
    },
}

/// What an [`Io::Send`] writes: size-prefixed frames as byte parts, to be written one after
/// the other. A Produce request's record batches are parts of their own, shared with the
/// batches: a driver that writes the parts with vectored I/O never copies them. (A driver
/// that cannot may write [`Frames::to_bytes`].)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frames(Vec<Bytes>);

impl Frames {
    /// The parts, in order.
    pub fn parts(&self) -> &[Bytes] {
        &self.0
    }

    /// Takes the parts.
    pub fn into_parts(self) -> Vec<Bytes> {
        self.0
    }

    /// Bytes in all the parts.
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Bytes::is_empty)
    }

    /// All the bytes in one buffer (copied, unless there is one part).
    pub fn to_bytes(&self) -> Bytes {
        match self.0.as_slice() {
            [one] => one.clone(),
            parts => parts.concat().into(),
        }
    }
}

impl From<Vec<Bytes>> for Frames {
    fn from(parts: Vec<Bytes>) -> Self {
        Frames(parts)
    }
}

/// Why records were not delivered. Every record of a failed batch gets the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The broker refused the batch with a non-retriable error, or retries ran out.
    #[error("broker error {code:?} on {topic}-{partition}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Broker {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The error code.
        code: ErrorCode,
        /// The broker's message (Produce v8+).
        message: Option<String>,
    },
    /// `delivery.timeout.ms` passed before the batch was acknowledged.
    #[error("delivery.timeout.ms expired for {topic}-{partition} after {attempts} attempt(s){}{}{}", last_error.map(|c| format!(", last error {c:?}")).unwrap_or_default(), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(), if *maybe_written { "; the outcome is unknown: its request was sent and not answered, so the broker may have written it" } else { "" })]
    DeliveryTimeout {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Sends of the batch.
        attempts: u32,
        /// The last error seen for it, if any.
        last_error: Option<ErrorCode>,
        /// Why it could not be sent or answered, when no Kafka error says it: the partition had
        /// no leader, no producer id could be had, the leader's connection failed (and how).
        reason: Option<String>,
        /// The batch's request was in flight when the timeout passed (or its last request was
        /// lost unanswered): the broker may have written the records. `false`: they were never
        /// written.
        maybe_written: bool,
    },
    /// The producer was closed (or dropped) before the record could be delivered.
    #[error("producer closed before the record was delivered")]
    Aborted,
    /// The producer was closed (or dropped) while the record's request was in flight.
    #[error(
        "producer closed while the record's request was in flight: the outcome is unknown, the \
         broker may have written it"
    )]
    ClosedInFlight,
    /// The batch could not be encoded (compression failed).
    #[error("batch encoding failed: {0}")]
    Encode(String),
    /// The idempotent producer hit an unrecoverable error.
    #[error("idempotent producer failed: {0}")]
    Fatal(Reason),
    /// The record's transaction was aborted before the record was sent.
    #[error("the transaction was aborted before the record was sent")]
    TransactionAborted,
    /// The record's transaction hit an error that requires an abort, before the record was
    /// sent.
    #[error("not sent: the transaction must be aborted ({0})")]
    TransactionAbortable(Reason),
}

/// Why [`Engine::new`](crate::Engine::new) refused its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `bootstrap.servers` is empty.
    #[error("bootstrap.servers lists no broker")]
    NoBootstrapServers,
    /// The accumulator's settings (`batch.size`, `buffer.memory`, ...) do not hold together.
    #[error(transparent)]
    Config(#[from] ferrokafka_records::ConfigError),
    /// The idempotent or transactional state refused its settings (in-flight limit).
    #[error(transparent)]
    Sequences(#[from] ferrokafka_txn::SequenceError),
    /// The idempotent state could not start.
    #[error(transparent)]
    Transactions(#[from] ferrokafka_txn::TxnError),
}

/// What happened, in words, and the Kafka error code when a broker's answer caused it (an
/// engine decision names its cause; callers classify by the code, never by the words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Reason {
    /// What happened.
    pub message: String,
    /// The broker's error code behind it, if a broker's answer caused it.
    pub code: Option<ErrorCode>,
}

impl Reason {
    /// A cause found by the client itself (no broker error code).
    pub fn local(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
        }
    }

    /// A cause a broker's answer gave, with its code.
    pub fn broker(message: impl Into<String>, code: ErrorCode) -> Self {
        Self {
            message: message.into(),
            code: Some(code),
        }
    }

    /// The transaction manager's reason for an abortable or fatal state.
    pub(crate) fn from_failure(reason: ferrokafka_txn::FailureReason) -> Self {
        Self {
            message: reason.to_string(),
            code: failure_code(reason),
        }
    }
}

fn failure_code(reason: ferrokafka_txn::FailureReason) -> Option<ErrorCode> {
    match reason {
        ferrokafka_txn::FailureReason::Broker { code, .. } => Some(code),
        _ => None,
    }
}

impl DeliveryError {
    /// Whether the broker may have written the records although they are reported failed
    /// (their request was in flight and never answered): a retry by the application may
    /// duplicate them. `false` means they were certainly not written.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            DeliveryError::DeliveryTimeout { maybe_written, .. } => *maybe_written,
            DeliveryError::ClosedInFlight => true,
            _ => false,
        }
    }
}

/// A transactional call that completes later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnCall {
    /// `init_transactions`.
    InitTransactions,
    /// `send_offsets_to_transaction`.
    SendOffsets,
    /// `commit_transaction`.
    CommitTransaction,
    /// `abort_transaction`.
    AbortTransaction,
}

impl TxnCall {
    /// The call's name, as the producer method is spelled.
    pub fn name(self) -> &'static str {
        match self {
            TxnCall::InitTransactions => "init_transactions",
            TxnCall::SendOffsets => "send_offsets_to_transaction",
            TxnCall::CommitTransaction => "commit_transaction",
            TxnCall::AbortTransaction => "abort_transaction",
        }
    }
}

impl std::fmt::Display for TxnCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How bad a transactional failure is (what the caller must do next).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnFailureKind {
    /// The call is not allowed in the current state (nothing changed).
    InvalidState,
    /// The producer has no `transactional.id`.
    NotTransactional,
    /// The transaction must be aborted (`abort_transaction`), then the producer can go on.
    Abortable,
    /// The producer is unusable (e.g. fenced by a newer instance): close it.
    Fatal,
    /// The operation was abandoned because the transaction was aborted.
    Aborted,
}

/// Why a transactional call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TxnFailure {
    /// What to do about it.
    pub kind: TxnFailureKind,
    /// A message naming the call and the cause.
    pub message: String,
    /// The broker's error code behind it (PRODUCER_FENCED, ...), if a broker's answer caused it.
    pub code: Option<ErrorCode>,
}

impl TxnFailure {
    pub(crate) fn from_error(e: &ferrokafka_txn::TxnError) -> Self {
        use ferrokafka_txn::TxnError;
        let kind = match e {
            TxnError::NotTransactional { .. } => TxnFailureKind::NotTransactional,
            TxnError::Abortable { .. } => TxnFailureKind::Abortable,
            TxnError::Fatal { .. } => TxnFailureKind::Fatal,
            _ => TxnFailureKind::InvalidState,
        };
        Self {
            kind,
            message: e.to_string(),
            code: failure_code(e.failure()),
        }
    }

    pub(crate) fn not_transactional() -> Self {
        Self {
            kind: TxnFailureKind::NotTransactional,
            message: "transactional calls need `transactional.id` to be set".to_owned(),
            code: None,
        }
    }

    pub(crate) fn closed() -> Self {
        Self {
            kind: TxnFailureKind::InvalidState,
            message: "the producer is closed".to_owned(),
            code: None,
        }
    }

    pub(crate) fn busy(call: &str) -> Self {
        Self {
            kind: TxnFailureKind::InvalidState,
            message: format!("{call}: a send_offsets_to_transaction is still in progress"),
            code: None,
        }
    }

    /// A failure that leaves the producer unusable (Java's fatal error), e.g. authentication.
    pub(crate) fn fatal_with(message: String) -> Self {
        Self {
            kind: TxnFailureKind::Fatal,
            message,
            code: None,
        }
    }

    pub(crate) fn aborted() -> Self {
        Self {
            kind: TxnFailureKind::Aborted,
            message: "send_offsets_to_transaction abandoned: the transaction was aborted"
                .to_owned(),
            code: None,
        }
    }

    pub(crate) fn abortable(call: TxnCall, reason: ferrokafka_txn::FailureReason) -> Self {
        Self {
            kind: TxnFailureKind::Abortable,
            message: format!("{call} failed: the transaction must be aborted ({reason})"),
            code: failure_code(reason),
        }
    }

    pub(crate) fn fatal(call: TxnCall, reason: ferrokafka_txn::FailureReason) -> Self {
        Self {
            kind: TxnFailureKind::Fatal,
            message: format!(
                "{call} failed: the producer is in a fatal state ({reason}) and must be closed"
            ),
            code: failure_code(reason),
        }
    }
}

/// A delivery outcome, per batch: the driver maps batches back to record futures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The batch was written. `base_offset` is `None` with `acks=0` (or for a duplicate the
    /// broker had already written, whose offset it does not return).
    Delivered {
        /// The batch.
        batch: BatchId,
        /// Its partition.
        tp: TopicPartition,
        /// Offset of its first record.
        base_offset: Option<i64>,
        /// The broker's append time when the topic uses LogAppendTime.
        log_append_time: Option<i64>,
        /// Records in it.
        record_count: i32,
    },
    /// The batch failed for good.
    Failed {
        /// The batch.
        batch: BatchId,
        /// Its partition.
        tp: TopicPartition,
        /// Records in it.
        record_count: i32,
        /// Why.
        error: DeliveryError,
    },
    /// The batch was split after `MESSAGE_TOO_LARGE`; its records now live in the parts.
    Split(SplitOutcome),
    /// A transactional call finished.
    Transaction {
        /// Which.
        call: TxnCall,
        /// Its outcome.
        result: Result<(), TxnFailure>,
    },
}
