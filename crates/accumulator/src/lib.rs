//! Sans-IO record accumulator for the ferrokafka producer: per-partition queues of batches, in
//! the spirit of the Java client's `RecordAccumulator`, `ProducerBatch` and `BufferPool`.
//!
//! Nothing here performs I/O, reads a clock, sleeps or draws randomness: every time-dependent
//! call takes `now: Instant`, and every "wait" is reported to the caller (an error to retry, an
//! instant to wake at) instead of being done. The engine drives it; this crate only decides.
//!
//! # The path of a batch
//!
//! 1. [`RecordAccumulator::append`] writes a record into its partition's open batch (a
//!    [`ferrokafka_records::BatchBuilder`] at the tail of the queue). When the record does not fit
//!    under `batch.size`, the open batch is closed for appends and a new one is created, which
//!    reserves `min(batch.size, 16 KiB)` bytes of `buffer.memory` if it is its partition's
//!    first, else twice what the partition's last batch held, up to that (and at least the
//!    record's upper bound); the reservation grows with the batch, doubling, as records are
//!    appended (Java reserves `batch.size` up front; growing lets many partitions' small batches
//!    share the budget). A record whose one-record batch upper bound exceeds `max.request.size` (or
//!    `buffer.memory`) is refused with [`AppendError::RecordTooLarge`] naming the setting. When
//!    the budget cannot cover a new batch, or an open batch's growth, the call returns
//!    [`AppendError::WouldBlock`]: the async caller waits for
//!    [`RecordAccumulator::poll_memory_freed`] and retries, up to `max.block.ms`. The returned
//!    [`RecordHandle`] (batch id + index) is what a delivery future is tied to.
//!    [`RecordAccumulator::append_via`] does the same through a [`QueueSlot`] its caller kept
//!    from an earlier append to the partition (checked against the queue's partition before
//!    use), so the partition's queue is found without a lookup; the engine keeps one per
//!    partition in its topic cache.
//! 2. [`RecordAccumulator::ready`] lists partitions whose head batch may be sent: it is full
//!    (`batch.size` reached, or other batches queued behind it), has waited `linger.ms` since
//!    creation, a flush is in progress ([`begin_flush`](RecordAccumulator::begin_flush) until
//!    [`flush_finished`](RecordAccumulator::flush_finished) says the batches it waits for are
//!    done), the accumulator is closing, or an append is
//!    waiting for memory (Java's `exhausted`) — and the partition is neither backing off after a
//!    retry nor muted. A partition is muted while `max.in.flight.requests.per.connection` of its
//!    batches are in flight (counted per partition), and while its head is a resent batch (a
//!    retry or a split part) and any of its batches is in flight (Java's
//!    `shouldStopDrainBatchesForPartition`). It also returns the next instant worth waking at,
//!    and the partitions held back only by `linger.ms` (a caller that sends to a leader anyway
//!    may drain those too, as Java's sender drains every partition of a ready node).
//! 3. [`RecordAccumulator::drain`] takes the head batch of each partition it is given (the
//!    ready ones, and any lingering ones the caller adds), grouped by the
//!    caller's partition → leader map, up to a `max.request.size` per leader request (always at
//!    least one batch). Each batch is closed (compressed, header and CRC written) with the
//!    [`ProducerStamp`](ferrokafka_records::ProducerStamp) the caller's callback returns for it:
//!    identity is stamped at drain, never at append. Drained batches are in flight. A caller
//!    that has looked the leaders up already (once per partition per round) passes them with
//!    the partitions to [`drain_routed`](RecordAccumulator::drain_routed).
//! 4. Every in-flight batch gets exactly one answer:
//!    [`complete`](RecordAccumulator::complete) or [`fail`](RecordAccumulator::fail) (memory
//!    released), [`reenqueue`](RecordAccumulator::reenqueue) (back at the head of its partition,
//!    ahead of newer batches and in order among retried ones, after a backoff of
//!    `retry.backoff.ms · 2^(attempts−1)` capped at `retry.backoff.max.ms`; jitter only if the
//!    caller supplies a sample), or [`split_and_reenqueue`](RecordAccumulator::split_and_reenqueue)
//!    for `MESSAGE_TOO_LARGE` (order kept; [`SplitOutcome::locate`] maps each record's handle).
//! 5. [`RecordAccumulator::expire`] fails queued batches older than `delivery.timeout.ms` (from
//!    creation, as in Java). In-flight batches are not expired: the engine re-enqueues a batch
//!    whose request timed out, and it expires from the queue. [`RecordAccumulator::abort_all`]
//!    returns every batch (queued and in flight) for a close without flush.
//!
//! # Ordering
//!
//! Each queue is kept in creation order, split parts taking their parent's place; a retried batch
//! is re-inserted at that place, which is the head. Drain takes one batch per partition per call,
//! only from the head, and never while the head backs off. With
//! `max.in.flight.requests.per.connection = 1` a partition has at most one batch in flight, so
//! records reach the broker in append order even across retries. With more in flight, a resent
//! batch waits until it is its partition's only unanswered batch, so retries go out one at a time
//! in sequence order; ordering across retries then relies on idempotence (the broker rejects the
//! later in-flight batches as out of sequence, and they come back to queue behind the retry).
//!
//! # When to use this crate alone
//!
//! With `ferrokafka-records` beneath it, the crate is a producer's batching without its
//! sender. Pick it without the rest of ferrokafka when you write a producer, or a proxy or
//! bridge that re-batches records per partition, on another I/O stack (blocking threads, an
//! embedded or WASM runtime, your own connection handling) and want the Java client's
//! `batch.size`, `linger.ms`, `buffer.memory`, retry ordering, splitting and delivery timeouts
//! rather than your own. You map partitions to leaders, send what [`RecordAccumulator::drain`]
//! returns and report each batch's outcome; the example below does all of it without a broker.
//!
//! # Example
//!
//! ```
//! use ferrokafka_accumulator::{AccumulatorConfig, RecordAccumulator, TopicPartition};
//! use ferrokafka_records::ProducerStamp;
//! # fn run(now: std::time::Instant) {
//! let mut acc = RecordAccumulator::new(AccumulatorConfig::default()).unwrap();
//! let tp = TopicPartition::new("events", 0);
//! let appended = acc.append(&tp, 1_700_000_000_000, None, Some(b"hi"), &[], now).unwrap();
//! let flush = acc.begin_flush();
//! let ready = acc.ready(now);
//! let drained = acc.drain(&ready.ready_partitions, |_| Some(1), 1 << 20, now, |_| {
//!     ProducerStamp::NONE
//! });
//! assert_eq!(drained.by_leader[&1][0].id, appended.handle.batch);
//! acc.complete(appended.handle.batch).unwrap();
//! assert!(acc.flush_finished(flush));
//! assert!(!acc.has_incomplete());
//! # }
//! ```
//!
//! `DESIGN.md` next to this crate lists the files and the invariants.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accumulator;
mod batch;
mod batch_queue;
mod completion;
mod config;
mod drain;
mod error;
mod flush;
mod memory;
mod queues;
mod ready;

pub use accumulator::{AppendResult, BatchInfo, QueueSlot, RecordAccumulator};
pub use batch::{BatchId, RecordHandle, TopicPartition};
pub use completion::{
    ExpiredBatch, FailReason, FailedBatch, FinishedBatch, Retry, SplitOutcome, SplitPart,
};
pub use config::{AccumulatorConfig, RETRY_BACKOFF_JITTER};
pub use drain::{Drained, DrainedBatch, StampRequest};
pub use error::{AppendError, BatchError};
/// Settings that do not hold: the records crate's one configuration error.
pub use ferrokafka_records::ConfigError;
pub use flush::FlushId;
pub use ready::{ReadyCheck, ReadySlots};
