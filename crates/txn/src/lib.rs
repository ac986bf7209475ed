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
//! # When to use this crate alone
//!
//! With `ferrokafka-wire` for error codes and `ferrokafka-records` for the batch-header stamp
//! ([`ProducerStamp`]), the crate is the Java client's idempotence and
//! transaction rules without a sender. Pick it without the rest of ferrokafka when you write
//! an idempotent or transactional producer on another I/O stack and want its state machine,
//! its sequence bookkeeping and its epoch bumps rather than a re-derivation of KIP-98, KIP-360,
//! KIP-588 and KIP-890; or when you only need [`classify()`] to tell, for an API and an error
//! code, whether to resend, find the coordinator again, abort the transaction or give up on the
//! producer.
//!
//! The example drives one transaction that fails and is aborted, with no broker: each call
//! returns what the manager wants sent next, and each answer is fed back in.
//!
//! ```
//! use ferrokafka_txn::{CoordinatorRequest, ProducerIdAndEpoch, TransactionManager, TxnError};
//! use ferrokafka_wire::ErrorCode;
//!
//! let mut m: TransactionManager<(String, i32)> = TransactionManager::new(true, 5).unwrap();
//! m.set_capabilities(true, false); // InitProducerId v3+, transactions v1
//! m.init_transactions().unwrap();
//! m.handle_init_producer_id(Ok(ProducerIdAndEpoch::new(42, 0))).unwrap();
//! m.begin_transaction().unwrap();
//! let tp = ("orders".to_string(), 0);
//! m.add_partition(&tp).unwrap();
//! assert_eq!(m.pending_request(), Some(CoordinatorRequest::AddPartitionsToTxn));
//! m.take_partitions_to_add();
//! m.handle_add_partitions([ErrorCode::NONE]).unwrap();
//! let stamp = m.sequences_mut().assign(&tp, 3).unwrap(); // at drain
//! assert_eq!(stamp.base_sequence, 0);
//! // The batch fails for good: the transaction must be aborted, then the epoch bumped.
//! m.handle_produce_error(ErrorCode::NOT_ENOUGH_REPLICAS).unwrap();
//! assert!(matches!(m.commit_transaction(), Err(TxnError::Abortable { .. })));
//! m.abort_transaction().unwrap();
//! m.handle_end_txn(Ok(None)).unwrap();
//! let current = ProducerIdAndEpoch::new(42, 0);
//! assert_eq!(m.pending_request(), Some(CoordinatorRequest::InitProducerId { current }));
//! ```
//!
//! # Files
//!
//! | file | what |
//! |---|---|
//! | `state.rs` | [`TxnState`], [`StateKind`] and the transition table |
//! | `manager.rs` | [`TransactionManager`]: the one transition function, calls, responses |
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
pub mod manager;
mod partitions;
pub mod sequence;
pub mod state;

pub use classify::{ClassifyContext, ErrorClass, classify};
pub use error::{Call, FailureReason, Inconsistency, SequenceError, TxnError};
pub use ferrokafka_records::{ProducerStamp, increment_sequence};
pub use manager::{CoordinatorRequest, TransactionManager};
pub use sequence::{
    EpochBump, InFlightBatch, MAX_IN_FLIGHT_PER_PARTITION, ProducerIdAndEpoch, Rewrite, Sequences,
    is_next_sequence,
};
pub use state::{StateKind, TxnState};
