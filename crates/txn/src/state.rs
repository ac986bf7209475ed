//! The transaction states (Java `TransactionManager.State`) and the table of valid
//! transitions. The one function that changes state is `TransactionManager::transition` in
//! `manager.rs`, which enforces [`StateKind::can_transition_to`].

use std::fmt;

use crate::error::FailureReason;

/// The state of a transactional (or idempotent) producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TxnState {
    /// No producer id yet; `init_transactions` has not been called.
    Uninitialized,
    /// InitProducerId is in progress (first init, or an epoch bump after a transaction).
    Initializing,
    /// A producer id is known and no transaction is open.
    Ready,
    /// `begin_transaction` was called; records and offsets may be sent.
    InTransaction,
    /// `commit_transaction` was called; EndTxn(commit) is pending.
    CommittingTransaction,
    /// `abort_transaction` was called; EndTxn(abort) is pending.
    AbortingTransaction,
    /// The transaction hit an error that only `abort_transaction` clears.
    AbortableError(FailureReason),
    /// The producer hit an error it cannot recover from. Terminal.
    FatalError(FailureReason),
}

/// [`TxnState`] without its reason: the rows and columns of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StateKind {
    /// See [`TxnState::Uninitialized`].
    Uninitialized,
    /// See [`TxnState::Initializing`].
    Initializing,
    /// See [`TxnState::Ready`].
    Ready,
    /// See [`TxnState::InTransaction`].
    InTransaction,
    /// See [`TxnState::CommittingTransaction`].
    CommittingTransaction,
    /// See [`TxnState::AbortingTransaction`].
    AbortingTransaction,
    /// See [`TxnState::AbortableError`].
    AbortableError,
    /// See [`TxnState::FatalError`].
    FatalError,
}

impl StateKind {
    /// All eight states.
    pub const ALL: [StateKind; 8] = [
        StateKind::Uninitialized,
        StateKind::Initializing,
        StateKind::Ready,
        StateKind::InTransaction,
        StateKind::CommittingTransaction,
        StateKind::AbortingTransaction,
        StateKind::AbortableError,
        StateKind::FatalError,
    ];

    /// Java's `State.isTransitionValid`: may the manager go from `self` to `target`?
    pub fn can_transition_to(self, target: StateKind) -> bool {
        use StateKind as S;
        match target {
            S::Uninitialized => matches!(self, S::Ready | S::AbortableError),
            S::Initializing => matches!(self, S::Uninitialized | S::AbortingTransaction),
            S::Ready => matches!(
                self,
                S::Initializing | S::CommittingTransaction | S::AbortingTransaction
            ),
            S::InTransaction => self == S::Ready,
            S::CommittingTransaction => self == S::InTransaction,
            S::AbortingTransaction => matches!(self, S::InTransaction | S::AbortableError),
            S::AbortableError => matches!(
                self,
                S::InTransaction | S::CommittingTransaction | S::AbortableError | S::Initializing
            ),
            S::FatalError => true,
        }
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateKind::Uninitialized => "UNINITIALIZED",
            StateKind::Initializing => "INITIALIZING",
            StateKind::Ready => "READY",
            StateKind::InTransaction => "IN_TRANSACTION",
            StateKind::CommittingTransaction => "COMMITTING_TRANSACTION",
            StateKind::AbortingTransaction => "ABORTING_TRANSACTION",
            StateKind::AbortableError => "ABORTABLE_ERROR",
            StateKind::FatalError => "FATAL_ERROR",
        })
    }
}

impl TxnState {
    /// The state without its reason.
    pub fn kind(&self) -> StateKind {
        match self {
            TxnState::Uninitialized => StateKind::Uninitialized,
            TxnState::Initializing => StateKind::Initializing,
            TxnState::Ready => StateKind::Ready,
            TxnState::InTransaction => StateKind::InTransaction,
            TxnState::CommittingTransaction => StateKind::CommittingTransaction,
            TxnState::AbortingTransaction => StateKind::AbortingTransaction,
            TxnState::AbortableError(_) => StateKind::AbortableError,
            TxnState::FatalError(_) => StateKind::FatalError,
        }
    }
}
