//! Sans-IO idempotence and transaction state machine for the ferrokafka producer.
//!
//! Nothing here does I/O, reads a clock or sleeps: the engine feeds responses in and reads
//! decisions out. The Java client's `TransactionManager` is the contract.
//!
//! # Idempotence (KIP-98, KIP-360)
//!
//! [`Sequences`] keeps a [`ProducerIdAndEpoch`] and, per partition, the next sequence number
//! (starting at 0, advanced by each batch's record count *at drain*, wrapping from `i32::MAX`
//! to 0) and up to 5 in-flight batches in sequence order. A retried batch keeps its stamp.
//! When a sent batch fails for good it leaves a gap; an idempotent-only producer closes it with a
//! *local* epoch bump (KIP-360): epoch + 1 (or a new producer id at `i16::MAX`) and the affected
//! partitions' in-flight batches renumbered from 0. Any new identity restarts sequences at 0,
//! because the broker requires a new epoch to start there.
//!
//! # Transactions (KIP-98, KIP-588, KIP-890)
//!
//! [`TransactionManager`] holds one [`TxnState`]. Every change goes through one transition
//! function checked against Java's table ("target ← allowed sources"):
//!
//! | target | allowed sources |
//! |---|---|
//! | UNINITIALIZED | READY, ABORTABLE_ERROR |
//! | INITIALIZING | UNINITIALIZED, ABORTING_TRANSACTION |
//! | READY | INITIALIZING, COMMITTING_TRANSACTION, ABORTING_TRANSACTION |
//! | IN_TRANSACTION | READY |
//! | COMMITTING_TRANSACTION | IN_TRANSACTION |
//! | ABORTING_TRANSACTION | IN_TRANSACTION, ABORTABLE_ERROR |
//! | ABORTABLE_ERROR | IN_TRANSACTION, COMMITTING_TRANSACTION, ABORTABLE_ERROR, INITIALIZING |
//! | FATAL_ERROR | any |
//!
//! FATAL_ERROR is terminal: no other target lists it as a source, so it is sticky, and a
//! second fatal error keeps the first reason. A transition to ABORTABLE_ERROR while aborting is
//! skipped. After a commit or abort the manager is READY, or INITIALIZING when an abortable
//! error required an epoch bump (KIP-360: InitProducerId v3+ with the current id and epoch, so
//! the coordinator bumps the epoch instead of fencing). Under transactions v2 (KIP-890 part 2)
//! EndTxn v5 returns a new identity after every transaction; adopting it restarts sequences.
//! KIP-588 made `PRODUCER_FENCED` the coordinator's fencing error (fatal) and a Produce
//! `INVALID_PRODUCER_EPOCH` abortable. Error codes are mapped by [`classify()`].
//!
//! Public calls are checked against the state and fail with a [`TxnError`] naming the call and
//! the state (or the abortable/fatal reason).

//!
//! # Files
//!
//! | file | what |
//! |---|---|
//! | `state.rs` | [`TxnState`], the transition table, [`TransactionManager`] (calls and responses) |
//! | `classify.rs` | [`classify()`]: (API, error code, context) → [`ErrorClass`] |
//! | `sequence.rs` | [`ProducerIdAndEpoch`], [`Sequences`]: per-partition sequences, in-flight, bumps |
//! | `partitions.rs` | partitions of the open transaction: new → pending (AddPartitionsToTxn) → added |
//! | `error.rs` | [`TxnError`], [`SequenceError`], [`Call`], [`FailureReason`] |
//!
//! Tests (`tests/`): `state_table.rs` (8×8 table, every state × call and state × event),
//! `classify_table.rs`, `sequences.rs`, `transcripts.rs` (whole flows), `random_ops.rs`
//! (proptest).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod error;
mod partitions;
pub mod sequence;
pub mod state;

pub use classify::{ClassifyContext, ErrorClass, classify};
pub use error::{Call, FailureReason, SequenceError, TxnError};
pub use sequence::{
    EpochBump, InFlightBatch, MAX_IN_FLIGHT_PER_PARTITION, ProducerIdAndEpoch, Rewrite, Sequences,
    Stamp, increment_sequence, is_next_sequence,
};
pub use state::{CoordinatorRequest, StateKind, TransactionManager, TxnState};
