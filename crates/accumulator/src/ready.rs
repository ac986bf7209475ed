//! `ready`: which partitions have a head batch to drain now (Java `RecordAccumulator.ready`),
//! named by partition ([`ReadyCheck`]) or by queue slot ([`ReadySlots`]).

use std::time::Instant;

use crate::accumulator::{QueueSlot, RecordAccumulator};
use crate::batch::{Contents, TopicPartition};

/// The answer of [`RecordAccumulator::ready`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReadyCheck {
    /// Partitions whose head batch may be drained now, in partition order.
    pub ready_partitions: Vec<TopicPartition>,
    /// Partitions whose head batch could be drained but for its `linger.ms`, in partition
    /// order. As Java's sender, a caller drains these too for a leader it sends to anyway (a
    /// node is ready when any of its partitions is, and its request takes every partition's
    /// head batch): with many partitions, one request then carries them all rather than a
    /// request going out each time another partition's linger ends.
    pub lingering_partitions: Vec<TopicPartition>,
    /// The earliest instant at which a linger, a retry backoff or a delivery timeout ends for a
    /// batch at the head of a queue; `None` when nothing is waiting on time.
    pub next_wakeup: Option<Instant>,
}

/// The answer of [`RecordAccumulator::ready_slots`]: [`ReadyCheck`]'s lists, naming each
/// partition by its queue's slot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReadySlots {
    /// Partitions whose head batch may be drained now, in partition order.
    pub ready: Vec<QueueSlot>,
    /// Partitions whose head batch could be drained but for its `linger.ms`, in partition
    /// order.
    pub lingering: Vec<QueueSlot>,
    /// As [`ReadyCheck::next_wakeup`].
    pub next_wakeup: Option<Instant>,
}

impl RecordAccumulator {
    /// Which partitions have a head batch to drain now, and when to look again (Java
    /// `RecordAccumulator.ready`).
    ///
    /// A partition is ready when its head batch is not backing off after a retry, the partition
    /// is not muted (`max.in.flight.requests.per.connection` batches in flight, or a resent head
    /// while another of its batches is in flight), and the head is
    /// full (more than one batch queued, already closed, or at `batch.size`), has waited
    /// `linger.ms` since creation (less the configured `linger_slack`), a flush is in progress,
    /// the accumulator is closing, or an append is waiting for `buffer.memory`.
    pub fn ready(&self, now: Instant) -> ReadyCheck {
        let mut slots = ReadySlots::default();
        self.ready_slots(now, &mut slots);
        let tps = |list: &[QueueSlot]| list.iter().map(|&s| self.partition_at(s).clone()).collect();
        ReadyCheck {
            ready_partitions: tps(&slots.ready),
            lingering_partitions: tps(&slots.lingering),
            next_wakeup: slots.next_wakeup,
        }
    }

    /// [`ready`](Self::ready) naming the partitions by their queues' slots, into `out`'s lists
    /// (emptied first; their capacity is kept for the next call). A driver that drains on
    /// every round takes this and [`drain_slots`](Self::drain_slots): with a thousand
    /// partitions, a round then neither copies a thousand partition names (each a reference
    /// count every sending thread touches too) nor looks their queues up again by hash.
    pub fn ready_slots(&self, now: Instant, out: &mut ReadySlots) {
        out.ready.clear();
        out.lingering.clear();
        out.next_wakeup = None;
        let mut wake = |t: Instant| {
            out.next_wakeup = Some(out.next_wakeup.map_or(t, |w: Instant| w.min(t)));
        };
        let urgent = self.drains_regardless_of_linger();
        let slack = self.config.linger_slack.min(self.config.linger / 2);
        // Queued and in-flight batches expire (Java's `getExpiredInflightBatches`): the first
        // can at the floor's deadline.
        if let Some(floor) = self.expiry_floor {
            wake(floor + self.config.delivery_timeout);
        }
        for (slot, q) in self.queues.iter_slots() {
            let Some(head) = q.batches.front() else {
                continue;
            };
            if q.muted(self.config.max_in_flight_per_partition) {
                continue;
            }
            if head.backing_off(now) {
                wake(head.retry_at.expect("backing off"));
                continue;
            }
            let full = q.batches.len() > 1
                || match &head.contents {
                    Contents::Building(b) => b.estimated_size_in_bytes() >= self.config.batch_size,
                    Contents::Closed(_) => true,
                };
            let linger_end = head.created_at + self.config.linger.saturating_sub(slack);
            if full || urgent || now >= linger_end {
                out.ready.push(QueueSlot(slot));
            } else {
                out.lingering.push(QueueSlot(slot));
                wake(linger_end);
            }
        }
    }

    /// The partition whose queue is in `slot` (a slot of this accumulator's, from
    /// [`ready_slots`](Self::ready_slots) or an append).
    ///
    /// # Panics
    /// For a slot no queue of this accumulator has.
    pub fn partition_at(&self, slot: QueueSlot) -> &TopicPartition {
        &self
            .queues
            .get_at(slot.0)
            .expect("a slot of this accumulator")
            .tp
    }
}
