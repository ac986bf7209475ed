//! Typed errors of the transaction manager and the sequence tracker.

use std::fmt;

use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::state::StateKind;

/// A public call of the transaction manager, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// `init_transactions`.
    InitTransactions,
    /// `begin_transaction`.
    BeginTransaction,
    /// `send` (may a record be appended now?).
    Send,
    /// `send_offsets_to_transaction`.
    SendOffsetsToTransaction,
    /// `commit_transaction`.
    CommitTransaction,
    /// `abort_transaction`.
    AbortTransaction,
}

impl Call {
    /// Every call, for exhaustive tests.
    pub const ALL: [Call; 6] = [
        Call::InitTransactions,
        Call::BeginTransaction,
        Call::Send,
        Call::SendOffsetsToTransaction,
        Call::CommitTransaction,
        Call::AbortTransaction,
    ];
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::InitTransactions => "init_transactions",
            Call::BeginTransaction => "begin_transaction",
            Call::Send => "send",
            Call::SendOffsetsToTransaction => "send_offsets_to_transaction",
            Call::CommitTransaction => "commit_transaction",
            Call::AbortTransaction => "abort_transaction",
        })
    }
}

/// Why the manager entered `AbortableError` or `FatalError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// A broker answered `api` with `code`.
    Broker {
        /// The API whose response carried the error.
        api: ApiKey,
        /// The error code.
        code: ErrorCode,
    },
    /// A batch of the transaction expired before the broker acknowledged it.
    BatchExpired,
    /// The broker (or coordinator) does not support `api`, which the producer needs.
    Unsupported {
        /// The API missing from the broker's ApiVersions.
        api: ApiKey,
    },
    /// Authentication with a broker failed (Java's `AuthenticationException` makes the
    /// producer fatal).
    AuthenticationFailed,
    /// The producer's own bookkeeping refused an event — a broker answered out of turn, or
    /// the client has a bug — so its sequences or transaction can no longer be trusted.
    Inconsistent(Inconsistency),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Broker { api, code } => write!(f, "{api} returned {code:?}"),
            FailureReason::BatchExpired => {
                f.write_str("a batch expired before it was acknowledged")
            }
            FailureReason::Unsupported { api } => write!(f, "the broker does not support {api}"),
            FailureReason::AuthenticationFailed => f.write_str("authentication failed"),
            FailureReason::Inconsistent(i) => write!(f, "{}", TxnError::from(*i)),
        }
    }
}

/// What the manager refused, as a [`FailureReason`] can carry it: every [`TxnError`] that
/// names no failure reason of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Inconsistency(Refused);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Refused {
    NotTransactional {
        call: Call,
    },
    InvalidState {
        call: Call,
        state: StateKind,
    },
    UnexpectedResponse {
        api: ApiKey,
        state: StateKind,
    },
    InvalidTransition {
        from: StateKind,
        to: StateKind,
    },
    LocalBumpNotAllowed {
        transactional: bool,
        state: StateKind,
    },
    Sequence(SequenceError),
}

impl From<Inconsistency> for TxnError {
    fn from(i: Inconsistency) -> Self {
        match i.0 {
            Refused::NotTransactional { call } => TxnError::NotTransactional { call },
            Refused::InvalidState { call, state } => TxnError::InvalidState { call, state },
            Refused::UnexpectedResponse { api, state } => {
                TxnError::UnexpectedResponse { api, state }
            }
            Refused::InvalidTransition { from, to } => TxnError::InvalidTransition { from, to },
            Refused::LocalBumpNotAllowed {
                transactional,
                state,
            } => TxnError::LocalBumpNotAllowed {
                transactional,
                state,
            },
            Refused::Sequence(e) => TxnError::Sequence(e),
        }
    }
}

impl TxnError {
    /// This error as the reason for a fatal state: an abortable or fatal error keeps its own
    /// reason; a refusal becomes [`FailureReason::Inconsistent`].
    pub fn failure(&self) -> FailureReason {
        let refused = match *self {
            TxnError::Abortable { reason, .. } | TxnError::Fatal { reason, .. } => return reason,
            TxnError::NotTransactional { call } => Refused::NotTransactional { call },
            TxnError::InvalidState { call, state } => Refused::InvalidState { call, state },
            TxnError::UnexpectedResponse { api, state } => {
                Refused::UnexpectedResponse { api, state }
            }
            TxnError::InvalidTransition { from, to } => Refused::InvalidTransition { from, to },
            TxnError::LocalBumpNotAllowed {
                transactional,
                state,
            } => Refused::LocalBumpNotAllowed {
                transactional,
                state,
            },
            TxnError::Sequence(e) => Refused::Sequence(e),
        };
        FailureReason::Inconsistent(Inconsistency(refused))
    }
}

/// Errors returned by [`TransactionManager`](crate::TransactionManager).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxnError {
    /// The call needs a `transactional.id`, and this producer has none.
    #[error("{call} requires a transactional producer (no transactional.id is set)")]
    NotTransactional {
        /// The call made.
        call: Call,
    },
    /// The call is not valid in the current state (caller misuse).
    #[error("{call} is not allowed in state {state}")]
    InvalidState {
        /// The call made.
        call: Call,
        /// The state the manager was in.
        state: StateKind,
    },
    /// The current transaction hit an abortable error: only `abort_transaction` is allowed.
    #[error("{call} failed: the transaction must be aborted ({reason})")]
    Abortable {
        /// The call made.
        call: Call,
        /// The error that made the transaction abortable.
        reason: FailureReason,
    },
    /// The producer hit a fatal error; it can only be closed.
    #[error("{call} failed: the producer is in a fatal state ({reason}) and must be closed")]
    Fatal {
        /// The call made.
        call: Call,
        /// The error that made the producer fatal.
        reason: FailureReason,
    },
    /// A response or event arrived in a state that does not expect it; the state is unchanged.
    #[error("{api} response is not expected in state {state}")]
    UnexpectedResponse {
        /// The API of the response.
        api: ApiKey,
        /// The state the manager was in.
        state: StateKind,
    },
    /// An event asked for a transition the table forbids; the state is unchanged.
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition {
        /// Current state.
        from: StateKind,
        /// Requested state.
        to: StateKind,
    },
    /// A local epoch bump was asked for where it is not allowed: only an idempotent-only producer
    /// in READY bumps locally; a transactional one bumps through InitProducerId.
    #[error(
        "a local epoch bump is not allowed here (transactional: {transactional}, state {state})"
    )]
    LocalBumpNotAllowed {
        /// Whether the producer is transactional.
        transactional: bool,
        /// The state the manager was in.
        state: StateKind,
    },
    /// A sequence bookkeeping error.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
}

/// Errors of the per-partition sequence tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// No producer id is known yet (InitProducerId has not succeeded).
    #[error("no producer id: InitProducerId has not completed")]
    NoProducerId,
    /// A batch must hold at least one record.
    #[error("a batch must hold at least one record, got {0}")]
    InvalidRecordCount(i32),
    /// The partition already has the maximum number of batches in flight.
    #[error("partition already has {limit} batches in flight")]
    TooManyInFlight {
        /// The configured limit.
        limit: usize,
    },
    /// The partition still has batches in flight under an older producer id or epoch; a new
    /// batch must wait until they complete, because the new epoch starts at sequence 0.
    #[error("partition has batches in flight under an older producer epoch")]
    StaleInFlight,
    /// No batch with this base sequence is in flight on the partition.
    #[error("no batch with base sequence {0} is in flight on this partition")]
    UnknownBatch(i32),
    /// The in-flight limit must be between 1 and 5.
    #[error("max in-flight batches per partition must be 1..=5, got {0}")]
    InvalidInFlightLimit(usize),
}
