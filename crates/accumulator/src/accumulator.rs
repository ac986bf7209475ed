//! `RecordAccumulator`: the per-partition queues, `append`, `ready`, flush/close and memory.
//! Draining lives in `drain.rs`, completion (complete, fail, retry, split, expire, abort) in
//! `completion.rs`.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::BytesMut;

use ferrokafka_records::{
    BatchBuilder, CompressionType, Header, TryAppend, record_size_upper_bound,
};
use foldhash::fast::FixedState;

use crate::batch::{Batch, BatchId, Contents, OrderKey, RecordHandle, TopicPartition};
use crate::batch_queue::BatchQueue;
use crate::config::AccumulatorConfig;
use crate::error::AppendError;
use crate::flush::{FlushId, Flushes};
use crate::memory::MemoryBudget;
use crate::queues::Queues;
use ferrokafka_records::ConfigError;

/// One partition's queue: batches sorted by [`OrderKey`] (oldest at the head), of which only the
/// last may still take appends, plus the partition's in-flight count.
#[derive(Debug)]
pub(crate) struct PartitionQueue {
    pub(crate) batches: BatchQueue<Batch>,
    /// Drained batches not yet completed, failed, re-enqueued or split. When this reaches
    /// `max.in.flight.requests.per.connection` the partition is muted: with 1, a retried batch can
    /// never be overtaken, which is what makes ordering strict.
    pub(crate) in_flight: usize,
    /// Compressed/uncompressed ratio of the last closed batch, seeding the next builder's size
    /// estimate (Java keeps one per topic and codec).
    pub(crate) ratio: f32,
    /// Bytes the last batch drained from this partition built (uncompressed), or half the
    /// figure before if that batch was a leftover (under a quarter of it: see `leftover_or`
    /// in drain.rs). The next batch's buffer is allocated for twice that, while its memory
    /// reservation grows with what it holds.
    pub(crate) last_len: usize,
    /// Records of the batches drained from this partition, kept as `last_len` is: what a new
    /// batch reports as [`AppendResult::expected_records`].
    pub(crate) last_count: usize,
    /// Held by the caller ([`hold`](crate::RecordAccumulator::hold)): nothing is drained from the
    /// partition until [`release`](crate::RecordAccumulator::release). An idempotent producer
    /// holds a partition whose in-flight batch expired, until that batch's fate is known.
    pub(crate) held: bool,
    /// The partition (so a slot a caller kept can be checked: [`QueueSlot`]).
    pub(crate) tp: TopicPartition,
}

impl PartitionQueue {
    pub(crate) fn new(tp: TopicPartition) -> Self {
        PartitionQueue {
            tp,
            batches: BatchQueue::default(),
            in_flight: 0,
            ratio: 1.0,
            last_len: 0,
            last_count: 0,
            held: false,
        }
    }

    /// Whether nothing may be drained from this partition until an in-flight batch is answered:
    /// `max.in.flight.requests.per.connection` batches are in flight, or the head was sent before
    /// (a retry or a split part) and another batch is in flight. The second rule is Java's
    /// `shouldStopDrainBatchesForPartition`: a resent batch goes out only when it is the oldest
    /// unanswered batch of its partition, so under idempotence retries are resent one at a time
    /// and in sequence order, and later in-flight batches come back (out-of-order sequence) to
    /// queue behind it.
    pub(crate) fn muted(&self, max_in_flight: usize) -> bool {
        self.held
            || self.in_flight >= max_in_flight
            || (self.in_flight > 0
                && self
                    .batches
                    .front()
                    .is_some_and(|b| matches!(b.contents, Contents::Closed(_))))
    }

    /// Inserts a batch at its place in the order: a retried batch goes ahead of every batch
    /// created after it, i.e. at the head, and several retried batches end up in order.
    pub(crate) fn insert_in_order(&mut self, batch: Batch) {
        let at = self.batches.partition_point(|b| b.order < batch.order);
        self.batches.insert(at, batch);
    }
}

/// Where a partition's queue is in one accumulator, as [`RecordAccumulator::append_via`] leaves
/// it: kept by a caller that appends to the partition again, it saves the lookup by partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSlot(pub(crate) usize);

/// What `append` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendResult {
    /// Where the record went: tie the delivery future to it.
    pub handle: RecordHandle,
    /// The partition's head batch is now sendable because of size (Java `batchIsFull`): the
    /// caller may wake the sender early.
    pub batch_is_full: bool,
    /// This append is what made the head batch sendable by size (`batch_is_full` turned true
    /// for the partition): the one append a sender needs waking for. Java's `batchIsFull` stays
    /// true on every later append while the head waits; a sender woken at the change need not
    /// be woken again for each of them (it drains again when an answer frees the partition).
    pub became_full: bool,
    /// A new batch was created for this record (the previous one, if any, is now closed for
    /// appends): the point where a sticky partitioner's `on_batch_closed`/`on_append` hooks
    /// apply.
    pub new_batch_created: bool,
    /// For a new batch: about how many records it will hold, from the partition's last
    /// batches (a quarter more than the last one's count, or than half the figure before it
    /// if the last was under a quarter of that; 0 for a partition's first batch). A caller
    /// that keeps something per record of a batch can size it once rather than grow it.
    pub expected_records: usize,
}

/// A live batch, for inspection (tests, metrics, the engine's bookkeeping).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchInfo {
    /// The batch.
    pub id: BatchId,
    /// Its partition.
    pub tp: TopicPartition,
    /// Records in it.
    pub record_count: i32,
    /// Whether it is drained and awaiting an answer.
    pub in_flight: bool,
    /// Retries so far.
    pub attempts: u32,
}

/// The first reservation of `buffer.memory` for a new batch (Java's default `batch.size`);
/// it grows with the batch.
const FIRST_RESERVATION: usize = 16 * 1024;

/// The sans-IO record accumulator. See the crate docs for the rules.
#[derive(Debug)]
pub struct RecordAccumulator {
    pub(crate) config: AccumulatorConfig,
    pub(crate) queues: Queues,
    /// Drained batches awaiting `complete`/`fail`/`reenqueue`/`split_and_reenqueue`, found by
    /// hash (every answer looks one up); the paths that list them sort by id.
    pub(crate) in_flight: HashMap<BatchId, Batch, FixedState>,
    pub(crate) memory: MemoryBudget,
    next_batch_id: u64,
    next_created: u64,
    /// Flushes in progress, each with the batches that existed when it began and are not
    /// finished yet.
    pub(crate) flushes: Flushes,
    pub(crate) closing: bool,
    /// Rotates the partition a leader's drain starts from, so no partition starves under
    /// `max.request.size` (Java's per-node `drainIndex`).
    pub(crate) drain_rotation: usize,
    /// No queued batch, and no in-flight batch not yet expired, was created before this:
    /// before `floor + delivery.timeout.ms` nothing can expire, so the expiry scans (over
    /// every partition) are skipped. Lowered when a batch is made, made exact by each scan.
    pub(crate) expiry_floor: Option<Instant>,
    /// Buffers of answered batches, kept for new batches (oldest first, at most
    /// [`POOL_BYTES`] of capacity in [`POOL_BUFFERS`] buffers, or [`POOL_LARGE_BYTES`] in
    /// [`POOL_LARGE_BUFFERS`]): a new batch then writes into memory already
    /// touched, rather than allocating. With batches of a megabyte that saves faulting in
    /// fresh pages; with a thousand partitions lingering a few records each, it saves a
    /// `malloc` per batch on the sending thread and a `free` on the I/O thread (a buffer freed
    /// by another thread than the one that allocated it takes the allocator's lock for that
    /// thread's heap, which the sending thread keeps taking too).
    pub(crate) pool: VecDeque<BytesMut>,
    /// Capacity of the buffers in `pool`.
    pub(crate) pool_bytes: usize,
    /// Answered batches' bytes something else still held when they were answered (the request
    /// that carried them, not yet let go of by the connection's writer: the answer can come
    /// first), at most [`UNSETTLED`], oldest first: kept for the pool once they are this
    /// accumulator's alone, rather than freed later by the writer's thread.
    pub(crate) unsettled: VecDeque<bytes::Bytes>,
    /// New batches that took a kept buffer rather than a new one.
    pub(crate) pool_served: u64,
}

/// Capacity of answered batches' buffers kept for reuse, at most (and at most a sixteenth of
/// `buffer.memory`, and half of what batches leave of it): one batch of two megabytes, or
/// hundreds of small ones.
const POOL_BYTES: usize = 2 * 1024 * 1024;

/// Buffers kept, at most.
const POOL_BUFFERS: usize = 1024;

/// A few large buffers may be kept past [`POOL_BYTES`]: up to this many, of this much capacity
/// in all (and at most a quarter of `buffer.memory`, and half of what batches leave of it).
/// With keyless records the sticky partitioner keeps several batches of a megabyte alive at
/// once (the one filling, those in flight, and a batch of a record or two left lingering on
/// each partition it moved on from); with two megabytes kept, most of them were new memory,
/// faulted in by the kernel a page at a time as records were copied in. Many small buffers
/// stay within [`POOL_BYTES`]: with a thousand partitions, more kept would only be more memory.
const POOL_LARGE_BUFFERS: usize = 8;
const POOL_LARGE_BYTES: usize = 8 * 1024 * 1024;

/// A buffer at least this large is "large": it may be kept past [`POOL_BYTES`], and waits in
/// `unsettled` when answered while its request still holds it. Small buffers come from the
/// allocator's free lists (memory already faulted in), so neither is worth the memory for
/// them: with a thousand partitions on a slow broker, peak RSS rose by a few MiB.
const LARGE_BUFFER: usize = 64 * 1024;

/// Answered batches' bytes waiting to be this accumulator's alone, at most (the writer lets go
/// of a request's bytes as soon as it has written them).
const UNSETTLED: usize = 4;

/// How many of the most recently kept buffers a new batch looks through for one large enough.
const POOL_SEARCH: usize = 8;

impl RecordAccumulator {
    /// An empty accumulator, after [`AccumulatorConfig::validate`].
    pub fn new(config: AccumulatorConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(RecordAccumulator {
            memory: MemoryBudget::new(config.buffer_memory),
            config,
            queues: Queues::default(),
            in_flight: HashMap::default(),
            next_batch_id: 0,
            next_created: 0,
            flushes: Flushes::default(),
            closing: false,
            drain_rotation: 0,
            expiry_floor: None,
            pool: VecDeque::new(),
            pool_bytes: 0,
            unsettled: VecDeque::new(),
            pool_served: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AccumulatorConfig {
        &self.config
    }

    pub(crate) fn new_batch_id(&mut self) -> BatchId {
        self.next_batch_id += 1;
        BatchId(self.next_batch_id)
    }

    /// Appends a record to `tp`'s open batch, or to a new batch when it does not fit.
    ///
    /// Fails without side effects with [`AppendError::RecordTooLarge`] when the record's
    /// one-record batch upper bound exceeds `max.request.size` (or `buffer.memory`), with
    /// [`AppendError::WouldBlock`] when a new batch is needed and `buffer.memory` cannot cover
    /// it, and with [`AppendError::Closed`] once closing.
    pub fn append(
        &mut self,
        tp: &TopicPartition,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        now: Instant,
    ) -> Result<AppendResult, AppendError> {
        self.append_via(&mut None, tp, timestamp, key, value, headers, now)
    }

    /// [`append`](Self::append), finding `tp`'s queue through `hint` when it holds the slot an
    /// earlier append of `tp` left there (no lookup by partition), and leaving `tp`'s slot in it
    /// once the partition has a queue. A slot of another partition (or accumulator) is only
    /// looked past: the record still goes to `tp`.
    #[expect(
        clippy::too_many_arguments,
        reason = "append's arguments and the slot; a struct per record would be built per record"
    )]
    pub fn append_via(
        &mut self,
        hint: &mut Option<QueueSlot>,
        tp: &TopicPartition,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        now: Instant,
    ) -> Result<AppendResult, AppendError> {
        if self.closing {
            return Err(AppendError::Closed);
        }
        if timestamp < -1 {
            return Err(ferrokafka_records::RecordError::InvalidTimestamp(timestamp).into());
        }
        let size = record_size_upper_bound(key, value, headers);
        for (limit, setting) in [
            (self.config.max_request_size, "max.request.size"),
            (self.config.buffer_memory, "buffer.memory"),
        ] {
            if size > limit {
                return Err(AppendError::RecordTooLarge {
                    size,
                    limit,
                    setting,
                });
            }
        }
        let batch_size = self.config.batch_size;
        // One lookup on the common path: the partition's open batch takes the record, measured
        // once for both the room check and the write.
        let slot = match *hint {
            Some(QueueSlot(i)) if self.queues.holds(i, tp) => Some(i),
            _ => {
                let found = self.queues.slot(tp);
                *hint = found.map(QueueSlot);
                found
            }
        };
        if let Some(queue) = slot.map(|i| self.queues.at(i)) {
            let several = queue.batches.len() > 1;
            if let Some(last) = queue.batches.back_mut()
                && let Contents::Building(builder) = &mut last.contents
            {
                let attempt = |builder: &mut BatchBuilder, reserved| {
                    builder.try_append_within(batch_size, reserved, timestamp, key, value, headers)
                };
                let mut outcome = attempt(builder, last.reserved)?;
                if let TryAppend::NeedsBytes(len) = outcome {
                    // The batch's reservation grows with it: doubled (at least to what the
                    // record needs), or just what it needs if the budget is short of that.
                    // (Up to twice batch.size: a compressed batch's records can outgrow it.)
                    let doubled = last
                        .reserved
                        .saturating_mul(2)
                        .min(batch_size.saturating_mul(2))
                        .max(len);
                    let was_waiting = self.memory.exhausted();
                    let grown = [doubled, len]
                        .into_iter()
                        .find(|&to| self.memory.try_reserve(to.saturating_sub(last.reserved)));
                    let Some(to) = grown else {
                        return Err(AppendError::WouldBlock {
                            needed: len.saturating_sub(last.reserved),
                        });
                    };
                    // A failed first try marked the budget short; the second succeeded.
                    if !was_waiting {
                        self.memory.clear_waiting();
                    }
                    last.reserved = to;
                    outcome = attempt(builder, last.reserved)?;
                }
                if let TryAppend::Appended(index) = outcome {
                    let last_full = builder.estimated_size_in_bytes() >= batch_size;
                    return Ok(AppendResult {
                        handle: RecordHandle {
                            batch: last.id,
                            index,
                        },
                        batch_is_full: several || last_full,
                        // Alone in its queue, the batch was below batch.size before this
                        // record (or it would have been refused as full).
                        became_full: !several && last_full,
                        new_batch_created: false,
                        expected_records: 0,
                    });
                }
            }
        }
        // A new batch. Its reservation of `buffer.memory` starts small and grows with the batch
        // (above), rather than `batch.size` up front as Java reserves: with many partitions and
        // small batches the budget then holds a batch for each. A partition's first batch
        // reserves one step (the smaller of `batch.size` and 16 KiB); a later one what its
        // buffer is allocated for (below), up to that step.
        // (With a 16 KiB step per batch, 1,000 partitions' four-record batches used up 32 MiB
        // at 8,000 records, and the producer waited on memory instead of filling requests.)
        // Always at least the record's own bound, and capped at buffer.memory; the record
        // itself fits (checked above).
        let (last_len, expected_records) = slot.map_or((0, 0), |i| {
            let q = self.queues.at(i);
            (q.last_len, q.last_count.saturating_add(q.last_count / 4))
        });
        // Room for twice what the partition's last batch held, so a busy partition's buffer is
        // seldom reallocated as it grows, while one whose batches stay small (many partitions,
        // each lingering with a few records) allocates a small buffer rather than the whole
        // step: a fresh 16 KiB per batch is a page fault's worth of memory each time.
        // Never more than `batch.size` uncompressed (the records stop there; a compressed
        // batch's records may pass it by as much as the codec saves): a kept buffer of a
        // partition whose batches fill up is then `batch.size`, and the pool's budget keeps
        // twice as many of them as of buffers twice that.
        let step = batch_size.min(FIRST_RESERVATION);
        let largest = if self.config.compression.kind == CompressionType::None {
            batch_size
        } else {
            batch_size.saturating_mul(2)
        };
        let wanted = if last_len == 0 {
            step
        } else {
            last_len.saturating_mul(2).min(largest)
        }
        .max(size);
        let needed = wanted.min(step).max(size).min(self.config.buffer_memory);
        // A kept buffer of half to twice that serves a small batch (one that needs more grows
        // its buffer once): with many partitions lingering a few records each, the
        // partitions' batches vary in size from round to round, and kept buffers within a
        // quarter of the size asked for served fewer than half of them (each miss a `malloc`
        // on the sending thread and a `free` of the buffer it displaced; now more than four
        // in five are served). A large one takes three quarters of that to half as much again
        // (a much larger one would hold memory the budget does not count).
        let capacity = wanted;
        let kept_range = if wanted < LARGE_BUFFER {
            (wanted / 2, wanted.saturating_mul(2))
        } else {
            (wanted - wanted / 4, wanted.saturating_add(wanted / 2))
        };
        if !self.memory.try_reserve(needed) {
            return Err(AppendError::WouldBlock { needed });
        }
        self.next_created += 1;
        let created = self.next_created;
        self.lower_expiry_floor(now);
        let id = self.new_batch_id();
        let slot = slot.unwrap_or_else(|| self.queues.slot_or_insert(tp));
        *hint = Some(QueueSlot(slot));
        // Without a kept buffer, a new one.
        let kept = self.take_pooled(kept_range.0, kept_range.1);
        let queue = self.queues.at(slot);
        let mut builder = match kept {
            Some(buf) => BatchBuilder::with_buffer(self.config.compression, buf),
            None => BatchBuilder::new(self.config.compression, capacity),
        };
        builder.set_compression_ratio_estimate(queue.ratio);
        let index = match builder.append(timestamp, key, value, headers) {
            Ok(i) => i,
            Err(e) => {
                self.memory.release(needed);
                return Err(e.into());
            }
        };
        // The head becomes sendable when this batch lines up behind it (a queue of one), or
        // when a batch alone in its queue is full at once; behind two or more, it already was.
        let waiting = queue.batches.len();
        let alone_full = builder.estimated_size_in_bytes() >= batch_size;
        let full = waiting > 0 || alone_full;
        let became_full = waiting == 1 || (waiting == 0 && alone_full);
        queue.batches.push_back(Batch {
            id,
            tp: tp.clone(),
            order: OrderKey {
                created,
                split_path: Vec::new(),
            },
            contents: Contents::Building(builder),
            created_at: now,
            attempts: 0,
            last_error: None,
            maybe_written: false,
            retry_at: None,
            reserved: needed,
            expired: false,
            slot,
        });
        Ok(AppendResult {
            handle: RecordHandle { batch: id, index },
            batch_is_full: full,
            became_full,
            new_batch_created: true,
            expected_records,
        })
    }

    /// Whether queued batches are ready whatever their `linger.ms` (closing, a flush in
    /// progress, or an append waiting for `buffer.memory`): a new batch is then ready at once.
    pub fn drains_regardless_of_linger(&self) -> bool {
        self.closing || self.flushes.any() || self.memory.exhausted()
    }

    /// A batch created at `created_at` exists now.
    pub(crate) fn lower_expiry_floor(&mut self, created_at: Instant) {
        self.expiry_floor = Some(self.expiry_floor.map_or(created_at, |f| f.min(created_at)));
    }

    /// Whether a batch may have reached `delivery.timeout.ms` (so an expiry scan is needed).
    pub(crate) fn expiry_due(&self, now: Instant) -> bool {
        self.expiry_floor
            .is_some_and(|f| now >= f + self.config.delivery_timeout)
    }

    /// Makes the floor exact: the oldest queued batch or in-flight batch not yet expired.
    pub(crate) fn recompute_expiry_floor(&mut self) {
        let queued = self
            .queues
            .values()
            .flat_map(|q| q.batches.iter().map(|b| b.created_at));
        let in_flight = self
            .in_flight
            .values()
            .filter(|b| !b.expired)
            .map(|b| b.created_at);
        self.expiry_floor = queued.chain(in_flight).min();
    }

    /// Starts a flush: every queued batch is ready regardless of `linger.ms` until the flush
    /// ends. As in Java, a flush is over when the batches that existed when it began are
    /// finished (completed, failed, expired or aborted; a split batch's parts take its place):
    /// [`flush_finished`](Self::flush_finished) says so. Flushes nest.
    pub fn begin_flush(&mut self) -> FlushId {
        let live = self.in_flight.keys().copied().chain(
            self.queues
                .values()
                .flat_map(|q| q.batches.iter().map(|b| b.id)),
        );
        self.flushes.begin(live)
    }

    /// Whether every batch that existed when flush `id` began is finished; a finished flush
    /// ends (so `linger.ms` applies again once no other flush runs). `true` for an unknown id.
    pub fn flush_finished(&mut self, id: FlushId) -> bool {
        self.flushes.finished(id)
    }

    /// Ends flush `id` whether or not its batches are finished (its caller gave up waiting).
    pub fn end_flush(&mut self, id: FlushId) {
        self.flushes.end(id);
    }

    /// Whether a flush is in progress.
    pub fn flush_in_progress(&self) -> bool {
        self.flushes.any()
    }

    /// Begins a graceful close: appends are refused with [`AppendError::Closed`] and every
    /// queued batch is ready, so draining empties the accumulator.
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Whether [`close`](Self::close) or [`abort_all`](Self::abort_all) was called.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Whether any batch is queued or in flight (a flush or close is finished when not).
    pub fn has_incomplete(&self) -> bool {
        !self.in_flight.is_empty() || self.queues.values().any(|q| !q.batches.is_empty())
    }

    /// Keeps an answered batch's buffer for a later batch ([`keep_buffer`](Self::keep_buffer)),
    /// if nothing else holds it any more (the request that carried it has been written).
    pub(crate) fn recycle(&mut self, contents: Contents) {
        let Contents::Closed(closed) = contents else {
            return;
        };
        // A compressed batch's bytes are its codec's output, sized for that, not a buffer
        // records were written to (that one was kept when the batch was closed).
        if self.config.compression.kind != CompressionType::None {
            return;
        }
        self.settle();
        match closed.into_bytes().try_into_mut() {
            Ok(buf) => self.keep_buffer(buf),
            Err(held) if (LARGE_BUFFER..=self.pool_budget().1).contains(&held.len()) => {
                if self.unsettled.len() == UNSETTLED {
                    self.unsettled.pop_front();
                }
                self.unsettled.push_back(held);
            }
            Err(_) => {}
        }
    }

    /// Keeps the buffers of answered batches that nothing else holds any more.
    fn settle(&mut self) {
        let mut i = 0;
        while i < self.unsettled.len() {
            if self.unsettled[i].is_unique() {
                let Some(bytes) = self.unsettled.remove(i) else {
                    break;
                };
                if let Ok(buf) = bytes.try_into_mut() {
                    self.keep_buffer(buf);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Keeps `buf` for a later batch if it is no larger than a batch grows (twice
    /// `batch.size`, or 64 KiB for small `batch.size`) nor than the pool's budget. The oldest
    /// kept buffers make room for it, so what is kept follows the batches being made.
    pub(crate) fn keep_buffer(&mut self, buf: BytesMut) {
        let largest = self.config.batch_size.saturating_mul(2).max(64 * 1024);
        let (budget, large_budget) = self.pool_budget();
        if buf.capacity() > largest || buf.capacity() > large_budget {
            return;
        }
        let fits = |pool: &VecDeque<BytesMut>, bytes: usize| {
            let len = pool.len() + 1;
            let bytes = bytes + buf.capacity();
            (bytes <= budget && len <= POOL_BUFFERS)
                || (buf.capacity() >= LARGE_BUFFER
                    && bytes <= large_budget
                    && len <= POOL_LARGE_BUFFERS)
        };
        while !fits(&self.pool, self.pool_bytes) {
            let Some(old) = self.pool.pop_front() else {
                break;
            };
            self.pool_bytes -= old.capacity();
        }
        self.pool_bytes += buf.capacity();
        self.pool.push_back(buf);
    }

    /// A kept buffer of `min_capacity` to `max_capacity`, the most recently kept first. When
    /// none is, the oldest kept buffer goes: buffers of a size batches no longer have (the
    /// first batches of many partitions, say, or a compressed batch's output) do not stay.
    fn take_pooled(&mut self, min_capacity: usize, max_capacity: usize) -> Option<BytesMut> {
        let search = |pool: &VecDeque<BytesMut>| {
            pool.iter()
                .rev()
                .take(POOL_SEARCH)
                .position(|b| (min_capacity..=max_capacity).contains(&b.capacity()))
        };
        // None kept fits: answered buffers the writer has let go of since are kept first
        // (at the back, where the search starts).
        let mut found = search(&self.pool);
        if found.is_none() && !self.unsettled.is_empty() {
            self.settle();
            found = search(&self.pool);
        }
        let Some(back) = found else {
            if let Some(old) = self.pool.pop_front() {
                self.pool_bytes -= old.capacity();
            }
            return None;
        };
        let at = self.pool.len() - 1 - back;
        let buf = self.pool.swap_remove_back(at)?;
        self.pool_bytes -= buf.capacity();
        self.pool_served += 1;
        Some(buf)
    }

    /// Capacity the pool may keep: [`POOL_BYTES`] (or a sixteenth of `buffer.memory` if
    /// less), and in a few large buffers [`POOL_LARGE_BYTES`] (or a quarter of it); both no
    /// more than half of what batches leave of `buffer.memory` (with the budget spent, a broker
    /// that cannot keep up, nothing is kept: memory then is for batches).
    fn pool_budget(&self) -> (usize, usize) {
        let room = self.config.buffer_memory.saturating_sub(self.memory.used()) / 2;
        let bytes = POOL_BYTES.min(self.config.buffer_memory / 16).min(room);
        let large = POOL_LARGE_BYTES
            .min(self.config.buffer_memory / 4)
            .min(room);
        (bytes, large.max(bytes))
    }

    /// How many answered batches' buffers are kept for new batches.
    pub fn pooled_buffers(&self) -> usize {
        self.pool.len()
    }

    /// Capacity of the answered batches' buffers kept for new batches, in bytes (at most 2 MiB,
    /// or 8 MiB in eight buffers or fewer; see `pool_budget`).
    pub fn pooled_capacity(&self) -> usize {
        self.pool_bytes
    }

    /// How many new batches took a kept buffer (an answered batch's) rather than a new one.
    pub fn pooled_buffers_reused(&self) -> u64 {
        self.pool_served
    }

    /// Bytes of `buffer.memory` currently reserved.
    pub fn memory_used(&self) -> usize {
        self.memory.used()
    }

    /// Whether a new batch of `needed` bytes would get its reservation now (what a blocked
    /// `send` checks before retrying).
    pub fn memory_available(&self, needed: usize) -> bool {
        needed <= self.memory.available() && needed <= self.memory.total()
    }

    /// Whether an append is waiting for memory (Java: the pool has queued waiters).
    pub fn memory_exhausted(&self) -> bool {
        self.memory.exhausted()
    }

    /// The "memory freed" signal: true once after any reservation was returned since the last
    /// call. A driver wakes its blocked `send`s on it; they retry `append` until `max.block.ms`.
    pub fn poll_memory_freed(&mut self) -> bool {
        self.memory.take_freed()
    }

    /// Batches drained from `tp` and not yet answered.
    pub fn in_flight_count(&self, tp: &TopicPartition) -> usize {
        self.queues.get(tp).map_or(0, |q| q.in_flight)
    }

    /// Batches queued (not in flight) for `tp`.
    pub fn queued_count(&self, tp: &TopicPartition) -> usize {
        self.queues.get(tp).map_or(0, |q| q.batches.len())
    }

    /// Every live batch: queued ones partition by partition in queue order, then in-flight ones.
    pub fn batches(&self) -> Vec<BatchInfo> {
        let info = |b: &Batch, in_flight| BatchInfo {
            id: b.id,
            tp: b.tp.clone(),
            record_count: b.record_count(),
            in_flight,
            attempts: b.attempts,
        };
        let queued = self.queues.values().flat_map(|q| q.batches.iter());
        let mut in_flight: Vec<&Batch> = self.in_flight.values().collect();
        in_flight.sort_unstable_by_key(|b| b.id);
        queued
            .map(|b| info(b, false))
            .chain(in_flight.into_iter().map(|b| info(b, true)))
            .collect()
    }
}
