//! Draining: ready head batches become stamped, closed batches grouped by leader (Java
//! `RecordAccumulator.drain`).

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use ferrokafka_records::{CompressionType, ProducerStamp};

use crate::accumulator::{QueueSlot, RecordAccumulator};
use crate::batch::{BatchId, Contents, TopicPartition};
use crate::completion::{FailReason, FailedBatch};

/// What the stamp callback of [`RecordAccumulator::drain`] is asked about: one batch about to be
/// sent. Identity is decided here, at drain, never at append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StampRequest<'a> {
    /// The batch's partition.
    pub tp: &'a TopicPartition,
    /// The batch.
    pub batch: BatchId,
    /// Records in it (a sequence-assigning caller advances its next sequence by this).
    pub record_count: i32,
    /// The stamp it was sent with before, for a retried or split batch; `None` on first drain.
    /// Return it unchanged to keep the batch's sequence (the usual case for a retry).
    pub previous: Option<ProducerStamp>,
}

/// One batch taken by [`RecordAccumulator::drain`], ready to go into a Produce request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DrainedBatch {
    /// The batch: answer with `complete`, `fail`, `reenqueue` or `split_and_reenqueue`.
    pub id: BatchId,
    /// Its partition.
    pub tp: TopicPartition,
    /// The closed, stamped batch bytes (shared with the copy kept for retries).
    pub bytes: Bytes,
    /// Records in it.
    pub record_count: i32,
    /// Retries before this send (0 on the first).
    pub attempts: u32,
    /// The stamp it carries.
    pub stamp: ProducerStamp,
    /// Compressed size / uncompressed size of its records (1.0 without compression).
    pub compression_ratio: f32,
    /// How long since the batch was created (Java's `record-queue-time`).
    pub queue_time: std::time::Duration,
}

/// The result of one [`RecordAccumulator::drain`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Drained {
    /// Batches per leader node id: each list is one Produce request's worth, at most
    /// `max_request_size` bytes unless it is a single batch.
    pub by_leader: BTreeMap<i32, Vec<DrainedBatch>>,
    /// Batches that could not be closed (the codec failed): fail their records.
    pub failed: Vec<FailedBatch>,
}

impl Drained {
    /// Number of batches drained (not counting failures).
    pub fn batch_count(&self) -> usize {
        self.by_leader.values().map(Vec::len).sum()
    }
}

impl RecordAccumulator {
    /// Takes the head batch of each `ready` partition whose leader `leader_of` knows, grouping
    /// them by leader, at most `max_request_size` bytes per leader (sizes estimated before
    /// closing, as Java does; the first batch is always taken), one batch per partition per call.
    ///
    /// Partitions are re-checked: a muted partition (`max.in.flight.requests.per.connection`
    /// batches in flight, or a resent head while another batch is in flight) or one whose head is
    /// backing off is skipped, so a stale `ready` list is
    /// harmless. Each taken batch is closed with the stamp `stamp` returns for it (compressing it
    /// on first drain; re-stamping without re-encoding on later drains) and becomes in flight.
    pub fn drain<L, S>(
        &mut self,
        ready: &[TopicPartition],
        leader_of: L,
        max_request_size: usize,
        now: Instant,
        mut stamp: S,
    ) -> Drained
    where
        L: Fn(&TopicPartition) -> Option<i32>,
        S: FnMut(&StampRequest<'_>) -> ProducerStamp,
    {
        self.drain_deferrable(ready, leader_of, max_request_size, now, |r| Some(stamp(r)))
    }

    /// [`drain`](Self::drain) whose stamp callback may answer `None` to leave the batch at the
    /// head of its queue, untouched and not in flight (e.g. an idempotent producer that cannot
    /// give it a sequence yet); the partition is skipped for this drain.
    pub fn drain_deferrable<L, S>(
        &mut self,
        ready: &[TopicPartition],
        leader_of: L,
        max_request_size: usize,
        now: Instant,
        stamp: S,
    ) -> Drained
    where
        L: Fn(&TopicPartition) -> Option<i32>,
        S: FnMut(&StampRequest<'_>) -> Option<ProducerStamp>,
    {
        let routed: Vec<(&TopicPartition, i32)> = ready
            .iter()
            .filter_map(|tp| Some((tp, leader_of(tp)?)))
            .collect();
        self.drain_routed(&routed, max_request_size, now, stamp)
    }

    /// [`drain_deferrable`](Self::drain_deferrable) for partitions whose leaders the caller
    /// has looked up already (once each: with many partitions a lookup per partition per
    /// drain adds up). A partition without a leader, or whose leader takes no request now, is
    /// left out of `routed`.
    pub fn drain_routed<S>(
        &mut self,
        routed: &[(&TopicPartition, i32)],
        max_request_size: usize,
        now: Instant,
        stamp: S,
    ) -> Drained
    where
        S: FnMut(&StampRequest<'_>) -> Option<ProducerStamp>,
    {
        let slots: Vec<(QueueSlot, i32)> = routed
            .iter()
            .filter_map(|&(tp, node)| Some((QueueSlot(self.queues.slot(tp)?), node)))
            .collect();
        self.drain_slots(&slots, max_request_size, now, stamp)
    }

    /// [`drain_routed`](Self::drain_routed) for partitions named by their queues' slots (from
    /// [`ready_slots`](Self::ready_slots)).
    pub fn drain_slots<S>(
        &mut self,
        routed: &[(QueueSlot, i32)],
        max_request_size: usize,
        now: Instant,
        mut stamp: S,
    ) -> Drained
    where
        S: FnMut(&StampRequest<'_>) -> Option<ProducerStamp>,
    {
        let mut per_leader: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for &(QueueSlot(slot), node) in routed {
            if self.queues.get_at(slot).is_some() {
                per_leader.entry(node).or_default().push(slot);
            }
        }
        // In partition order, a partition named twice drained once.
        for list in per_leader.values_mut() {
            list.sort_unstable_by_key(|&slot| self.queues.rank(slot));
            list.dedup();
        }
        let mut out = Drained::default();
        // Buffers of batches compressed into buffers of their own, kept for new batches after.
        let mut spent = Vec::new();
        let rotation = self.drain_rotation;
        self.drain_rotation = self.drain_rotation.wrapping_add(1);
        for (node, mut slots) in per_leader {
            let start = rotation % slots.len();
            slots.rotate_left(start);
            let mut size = 0usize;
            let mut taken = Vec::with_capacity(slots.len());
            for slot in slots {
                let q = self.queues.at(slot);
                let tp = &q.tp;
                if q.muted(self.config.max_in_flight_per_partition) {
                    continue;
                }
                let Some(head) = q.batches.front() else {
                    continue;
                };
                if head.backing_off(now) {
                    continue;
                }
                let estimate = head.size_estimate();
                if !taken.is_empty() && size.saturating_add(estimate) > max_request_size {
                    break;
                }
                let mut batch = q.batches.pop_front().expect("head exists");
                let previous = match &batch.contents {
                    Contents::Building(_) => None,
                    Contents::Closed(c) => {
                        let h = c.header();
                        Some(ProducerStamp {
                            producer_id: h.producer_id,
                            producer_epoch: h.producer_epoch,
                            base_sequence: h.base_sequence,
                            transactional: h.is_transactional(),
                        })
                    }
                };
                let count = batch.record_count();
                let Some(s) = stamp(&StampRequest {
                    tp,
                    batch: batch.id,
                    record_count: count,
                    previous,
                }) else {
                    q.batches.push_front(batch);
                    continue;
                };
                if let Contents::Building(builder) = &batch.contents {
                    q.last_len = leftover_or(builder.size_in_bytes(), q.last_len);
                    q.last_count = leftover_or(usize::try_from(count).unwrap_or(0), q.last_count);
                }
                let closed = match batch.contents {
                    Contents::Building(builder) => match builder.close_reusing(s) {
                        Ok((c, buffer)) => {
                            if self.config.compression.kind != CompressionType::None {
                                q.ratio = c.compression_ratio();
                            }
                            // Compressed into a buffer of its own: the records' buffer is free.
                            spent.extend(buffer);
                            c
                        }
                        Err(e) => {
                            self.memory.release(batch.reserved);
                            self.flushes.forget(batch.id);
                            out.failed.push(FailedBatch {
                                id: batch.id,
                                tp: batch.tp,
                                record_count: count,
                                ever_sent: false,
                                attempts: batch.attempts,
                                last_error: batch.last_error,
                                maybe_written: batch.maybe_written,
                                expired_in_flight: false,
                                reason: FailReason::Encode(e),
                            });
                            continue;
                        }
                    },
                    Contents::Closed(mut c) => {
                        if previous != Some(s) {
                            c.restamp(s);
                        }
                        c
                    }
                };
                size = size.saturating_add(closed.len());
                q.in_flight += 1;
                taken.push(DrainedBatch {
                    id: batch.id,
                    tp: batch.tp.clone(),
                    bytes: closed.bytes().clone(),
                    record_count: closed.record_count(),
                    attempts: batch.attempts,
                    stamp: s,
                    compression_ratio: closed.compression_ratio(),
                    queue_time: now.saturating_duration_since(batch.created_at),
                });
                batch.contents = Contents::Closed(closed);
                batch.retry_at = None;
                self.in_flight.insert(batch.id, batch);
            }
            if !taken.is_empty() {
                out.by_leader.insert(node, taken);
            }
        }
        for buffer in spent {
            self.keep_buffer(buffer);
        }
        out
    }
}

/// A partition's figure (bytes or records of its batches) after a batch of `this`, the figure
/// being `before`: this batch's, unless it is under a quarter of that, when the figure halves.
/// A sticky partitioner leaves a full batch and then one of a record or two on each partition
/// it moves on from; the full batch after such a leftover should not start small and be
/// copied as it grows. (Keeping the largest recent batch instead held several MiB more with a
/// thousand partitions on a slow broker, whose batches vary widely in size.)
fn leftover_or(this: usize, before: usize) -> usize {
    if this >= before / 4 { this } else { before / 2 }
}
