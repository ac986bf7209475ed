//! Answers for drained batches: success, failure, retry at the head, split for
//! `MESSAGE_TOO_LARGE`; plus expiry by `delivery.timeout.ms` and abort on close.

use std::time::Instant;

use ferrokafka_records::{DecodeOptions, EncodeError, split_batch};
use ferrokafka_wire::ErrorCode;

use crate::accumulator::RecordAccumulator;
use crate::batch::{Batch, BatchId, Contents, OrderKey, RecordHandle, TopicPartition};
use crate::error::BatchError;

/// A batch that left the accumulator for good: success or failure of all its records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinishedBatch {
    /// The batch.
    pub id: BatchId,
    /// Its partition.
    pub tp: TopicPartition,
    /// Its records: handles `(id, 0..record_count)`.
    pub record_count: i32,
    /// Its records were already failed by
    /// [`expire_in_flight`](RecordAccumulator::expire_in_flight): report nothing more for them.
    pub expired_in_flight: bool,
}

/// Why a batch is re-enqueued ([`RecordAccumulator::retry`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Retry {
    /// The error it is retried for.
    pub error: Option<ErrorCode>,
    /// This attempt's answer was lost, or said `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: it may be
    /// in the log whatever later attempts say.
    pub maybe_written: bool,
    /// A sample in `[-1, 1]` scaling Java's ±20 % backoff jitter (the crate draws no
    /// randomness); 0 for none.
    pub jitter: f64,
}

impl Retry {
    /// A retry for `error`.
    pub fn after(error: ErrorCode, maybe_written: bool, jitter: f64) -> Self {
        Retry {
            error: Some(error),
            maybe_written,
            jitter,
        }
    }
}

/// Why the accumulator failed a batch on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// Queued longer than `delivery.timeout.ms` since creation.
    DeliveryTimeout,
    /// [`RecordAccumulator::abort_all`]: closed without flushing.
    Aborted,
    /// Closing (compressing) the batch failed at drain.
    Encode(EncodeError),
}

/// A batch failed by the accumulator: fail every one of its records' futures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedBatch {
    /// The batch.
    pub id: BatchId,
    /// Its partition.
    pub tp: TopicPartition,
    /// Its records: handles `(id, 0..record_count)`.
    pub record_count: i32,
    /// Whether it was ever drained. For an idempotent producer a batch that may have reached
    /// the broker leaves a sequence gap, which the txn layer resolves (Java bumps the epoch).
    pub ever_sent: bool,
    /// Retries before this failure (0 if it was never re-enqueued).
    pub attempts: u32,
    /// The error the last retry was for.
    pub last_error: Option<ErrorCode>,
    /// An attempt's answer was lost or said `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: the records may
    /// be in the log although they are reported failed.
    pub maybe_written: bool,
    /// Its records were already failed by
    /// [`expire_in_flight`](RecordAccumulator::expire_in_flight) (and this is the batch
    /// leaving, on abort): report nothing more for them.
    pub expired_in_flight: bool,
    /// Why.
    pub reason: FailReason,
}

/// An expired batch: [`RecordAccumulator::expire`] fails these with a timeout.
pub type ExpiredBatch = FailedBatch;

/// One new batch made by [`RecordAccumulator::split_and_reenqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitPart {
    /// The new batch.
    pub batch: BatchId,
    /// Index, in the original batch, of this part's first record.
    pub first_index: i32,
    /// Records in this part (original indexes `first_index..first_index + record_count`).
    pub record_count: i32,
}

/// How a split batch's records were redistributed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitOutcome {
    /// The batch that was split (no longer exists).
    pub original: BatchId,
    /// The new batches, in record order; they now sit at the head of the partition's queue.
    pub parts: Vec<SplitPart>,
}

impl SplitOutcome {
    /// The new handle of the original batch's record `index`, or `None` if out of range.
    pub fn locate(&self, index: i32) -> Option<RecordHandle> {
        self.parts
            .iter()
            .find(|p| index >= p.first_index && index - p.first_index < p.record_count)
            .map(|p| RecordHandle {
                batch: p.batch,
                index: index - p.first_index,
            })
    }
}

impl RecordAccumulator {
    /// Removes an in-flight batch (unmuting its partition by one).
    fn take_in_flight(&mut self, id: BatchId) -> Result<Batch, BatchError> {
        let batch = self
            .in_flight
            .remove(&id)
            .ok_or(BatchError::NotInFlight(id))?;
        let q = self.queues.at(batch.slot);
        q.in_flight = q.in_flight.saturating_sub(1);
        Ok(batch)
    }

    fn finish(&mut self, id: BatchId) -> Result<FinishedBatch, BatchError> {
        let batch = self.take_in_flight(id)?;
        self.memory.release(batch.reserved);
        self.flushes.forget(id);
        let finished = FinishedBatch {
            expired_in_flight: batch.expired,
            record_count: batch.record_count(),
            id: batch.id,
            tp: batch.tp,
        };
        self.recycle(batch.contents);
        Ok(finished)
    }

    /// The broker accepted the batch: its memory is released. Complete its records' futures.
    pub fn complete(&mut self, id: BatchId) -> Result<FinishedBatch, BatchError> {
        self.finish(id)
    }

    /// The batch failed for good (a non-retriable error, or retries exhausted): its memory is
    /// released. Fail its records' futures.
    pub fn fail(&mut self, id: BatchId) -> Result<FinishedBatch, BatchError> {
        self.finish(id)
    }

    /// A retriable error: the batch goes back to the head of its partition (ahead of every batch
    /// created after it, in order among other retried batches), keeping its bytes and stamp, and
    /// backs off `retry.backoff.ms · 2^(attempts−1)` capped at `retry.backoff.max.ms`. Returns
    /// when the backoff ends. `delivery.timeout.ms` still counts from creation, so a batch
    /// retried too long is expired from the queue by [`expire`](Self::expire).
    pub fn reenqueue(&mut self, id: BatchId, now: Instant) -> Result<Instant, BatchError> {
        self.retry(id, Retry::default(), now)
    }

    /// [`reenqueue`](Self::reenqueue) for `cause`: the batch remembers the error and whether
    /// this attempt may be in the log (for its final error, and so that a later refusal does
    /// not give its sequences away), and backs off with the cause's jitter.
    pub fn retry(
        &mut self,
        id: BatchId,
        cause: Retry,
        now: Instant,
    ) -> Result<Instant, BatchError> {
        let mut batch = self.take_in_flight(id)?;
        batch.attempts = batch.attempts.saturating_add(1);
        batch.last_error = cause.error.or(batch.last_error);
        batch.maybe_written |= cause.maybe_written;
        let until = now + self.config.retry_backoff_for(batch.attempts, cause.jitter);
        batch.retry_at = Some(until);
        self.lower_expiry_floor(batch.created_at);
        self.queues.at(batch.slot).insert_in_order(batch);
        Ok(until)
    }

    /// Whether an earlier attempt of in-flight or queued batch `id` may be in the log (see
    /// [`Retry::maybe_written`]).
    pub fn maybe_written(&self, id: BatchId) -> bool {
        self.in_flight.get(&id).is_some_and(|b| b.maybe_written)
            || self
                .queues
                .values()
                .flat_map(|q| q.batches.iter())
                .any(|b| b.id == id && b.maybe_written)
    }

    /// `MESSAGE_TOO_LARGE`: splits an in-flight batch into batches of at most `limit` bytes
    /// (records' `split_batch`, order kept, sequences continuing from the original's) and puts
    /// them at the head of the partition in place of the original, without backoff. Use
    /// [`SplitOutcome::locate`] to move each record's future to its new handle.
    ///
    /// The original's `buffer.memory` reservation is released; the parts are held outside the
    /// budget, as Java allocates split batches outside its pool. A one-record batch is refused
    /// with [`BatchError::SingleRecord`] and stays in flight (fail it instead).
    pub fn split_and_reenqueue(
        &mut self,
        id: BatchId,
        limit: usize,
    ) -> Result<SplitOutcome, BatchError> {
        let batch = self.in_flight.get(&id).ok_or(BatchError::NotInFlight(id))?;
        let Contents::Closed(closed) = &batch.contents else {
            return Err(BatchError::NotInFlight(id));
        };
        if closed.record_count() <= 1 {
            return Err(BatchError::SingleRecord(id));
        }
        // `limit` is measured on uncompressed records (as Java's `batch.size` split). A batch
        // already within it would come back whole, and be refused again: halve the limit
        // until the split makes progress.
        let mut limit = limit.max(1);
        let pieces = loop {
            let pieces = split_batch(
                closed.bytes(),
                limit,
                self.config.compression,
                DecodeOptions::default(),
            )
            .map_err(|source| BatchError::Split { batch: id, source })?;
            if pieces.len() > 1 || limit == 1 {
                break pieces;
            }
            limit /= 2;
        };
        let original = self.take_in_flight(id)?;
        self.memory.release(original.reserved);
        let mut parts = Vec::with_capacity(pieces.len());
        let mut first_index = 0i32;
        for (n, piece) in pieces.into_iter().enumerate() {
            let mut split_path = original.order.split_path.clone();
            split_path.push(n as u32);
            let part_id = self.new_batch_id();
            let record_count = piece.record_count();
            parts.push(SplitPart {
                batch: part_id,
                first_index,
                record_count,
            });
            first_index += record_count;
            self.lower_expiry_floor(original.created_at);
            let part = Batch {
                id: part_id,
                tp: original.tp.clone(),
                order: OrderKey {
                    created: original.order.created,
                    split_path,
                },
                contents: Contents::Closed(piece),
                created_at: original.created_at,
                attempts: original.attempts,
                last_error: original.last_error,
                maybe_written: original.maybe_written,
                retry_at: None,
                reserved: 0,
                expired: false,
                slot: original.slot,
            };
            self.queues.at(original.slot).insert_in_order(part);
        }
        self.flushes.replace(id, parts.iter().map(|p| p.batch));
        Ok(SplitOutcome {
            original: id,
            parts,
        })
    }

    /// Fails queued batches that have existed `delivery.timeout.ms` since creation.
    ///
    /// Rule: only queued batches are removed here, scanning each queue from its head and stopping
    /// at the first batch still in time (queues are in creation order). In-flight batches are
    /// reported by [`expire_in_flight`](Self::expire_in_flight) instead, which leaves them in
    /// flight: the broker may still be appending them.
    pub fn expire(&mut self, now: Instant) -> Vec<ExpiredBatch> {
        if !self.expiry_due(now) {
            return Vec::new();
        }
        let timeout = self.config.delivery_timeout;
        let mut expired = Vec::new();
        for q in self.queues.values_mut() {
            while q
                .batches
                .front()
                .is_some_and(|b| now >= b.created_at + timeout)
            {
                let b = q.batches.pop_front().expect("front exists");
                self.memory.release(b.reserved);
                self.flushes.forget(b.id);
                expired.push(failed(b, FailReason::DeliveryTimeout));
            }
        }
        self.recompute_expiry_floor();
        expired
    }

    /// Reports in-flight batches that have existed `delivery.timeout.ms` since creation, once
    /// each, so the caller fails their records now: `delivery.timeout.ms` bounds every record,
    /// queued or in flight (Java's `getExpiredInflightBatches`). Each batch stays in flight —
    /// still counted against the partition's in-flight limit and still holding its memory —
    /// until its request is answered or lost, because the broker may yet append it; its answer
    /// then goes through [`complete`](Self::complete) or [`fail`](Self::fail) as usual (never
    /// [`reenqueue`](Self::reenqueue): [`is_expired`](Self::is_expired) tells the caller).
    pub fn expire_in_flight(&mut self, now: Instant) -> Vec<ExpiredBatch> {
        if !self.expiry_due(now) {
            return Vec::new();
        }
        let timeout = self.config.delivery_timeout;
        let mut expired = Vec::new();
        for b in self.in_flight.values_mut() {
            if !b.expired && now >= b.created_at + timeout {
                b.expired = true;
                // Its records fail now: a flush need not wait for its request's answer.
                self.flushes.forget(b.id);
                expired.push(FailedBatch {
                    id: b.id,
                    tp: b.tp.clone(),
                    record_count: b.record_count(),
                    ever_sent: true,
                    attempts: b.attempts,
                    last_error: b.last_error,
                    // Its request is out and unanswered.
                    maybe_written: true,
                    expired_in_flight: false,
                    reason: FailReason::DeliveryTimeout,
                });
            }
        }
        expired.sort_unstable_by_key(|b| b.id);
        self.recompute_expiry_floor();
        expired
    }

    /// Whether `id` is an in-flight batch already reported by
    /// [`expire_in_flight`](Self::expire_in_flight).
    pub fn is_expired(&self, id: BatchId) -> bool {
        self.in_flight.get(&id).is_some_and(|b| b.expired)
    }

    /// Whether a batch of `tp` reported by [`expire_in_flight`](Self::expire_in_flight) is
    /// still in flight (its answer is awaited).
    pub fn has_expired_in_flight(&self, tp: &TopicPartition) -> bool {
        self.in_flight.values().any(|b| b.expired && b.tp == *tp)
    }

    /// Stops draining `tp` until [`release`](Self::release).
    pub fn hold(&mut self, tp: &TopicPartition) {
        self.queues.entry(tp).held = true;
    }

    /// Lets `tp` be drained again after [`hold`](Self::hold).
    pub fn release(&mut self, tp: &TopicPartition) {
        if let Some(q) = self.queues.get_mut(tp) {
            q.held = false;
        }
    }

    /// Aborting a transaction (Java `abortUndrainedBatches`): removes every queued batch
    /// (never-sent and waiting retries alike), releasing its memory, and returns them so the
    /// caller fails their futures. In-flight batches stay until answered; appends go on.
    pub fn abort_queued(&mut self) -> Vec<FailedBatch> {
        let mut out = Vec::new();
        for q in self.queues.values_mut() {
            for b in q.batches.take_all() {
                self.memory.release(b.reserved);
                self.flushes.forget(b.id);
                out.push(failed(b, FailReason::Aborted));
            }
        }
        out
    }

    /// Whether any batch is in flight (drained, not yet answered).
    pub fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Close without flushing: removes every batch, queued and in flight, releasing all memory,
    /// and returns them so the caller fails every future (nothing is dropped silently). Later
    /// answers for in-flight batches get [`BatchError::NotInFlight`]. Further appends are refused.
    pub fn abort_all(&mut self) -> Vec<FailedBatch> {
        self.closing = true;
        let mut out = Vec::new();
        let mut in_flight: Vec<Batch> = std::mem::take(&mut self.in_flight).into_values().collect();
        in_flight.sort_unstable_by_key(|b| b.id);
        for b in in_flight {
            self.memory.release(b.reserved);
            // Its request is out: whatever it says now, the records may be in the log.
            let mut f = failed(b, FailReason::Aborted);
            f.maybe_written = true;
            out.push(f);
        }
        for q in self.queues.values_mut() {
            q.in_flight = 0;
            for b in q.batches.take_all() {
                self.memory.release(b.reserved);
                out.push(failed(b, FailReason::Aborted));
            }
        }
        for f in &out {
            self.flushes.forget(f.id);
        }
        out
    }
}

fn failed(b: Batch, reason: FailReason) -> FailedBatch {
    FailedBatch {
        record_count: b.record_count(),
        ever_sent: matches!(b.contents, Contents::Closed(_)),
        attempts: b.attempts,
        last_error: b.last_error,
        maybe_written: b.maybe_written,
        expired_in_flight: b.expired,
        id: b.id,
        tp: b.tp,
        reason,
    }
}
