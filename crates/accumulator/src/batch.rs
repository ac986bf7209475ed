//! One batch as the accumulator holds it, and the identifiers handed to the caller.

use std::fmt;
use std::time::Instant;

use ferrokafka_records::{BatchBuilder, ClosedBatch};
use ferrokafka_wire::ErrorCode;

pub use ferrokafka_wire::TopicPartition;

/// Identifies a batch for its whole life (queued, in flight, re-enqueued). Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub u64);

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where one appended record lives: the caller ties its delivery future to this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordHandle {
    /// The batch.
    pub batch: BatchId,
    /// The record's index in that batch (its offset delta).
    pub index: i32,
}

/// Position of a batch in its partition's order. Batches are created with increasing `created`;
/// a split part extends its parent's path with its part number, so parts sort after their
/// parent's predecessors, in part order, and before the parent's successors. Queues are kept
/// sorted by this key, which is how a retried batch goes back "at the head, in sequence order".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct OrderKey {
    pub(crate) created: u64,
    pub(crate) split_path: Vec<u32>,
}

/// The bytes of a batch: still a builder until drained, closed (stamped) from then on.
#[derive(Debug)]
pub(crate) enum Contents {
    /// Not yet drained. Only the last batch of a queue takes appends.
    Building(BatchBuilder),
    /// Drained at least once: stamped bytes, kept for retries and splits.
    Closed(ClosedBatch),
}

/// A batch with its bookkeeping.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) id: BatchId,
    pub(crate) tp: TopicPartition,
    pub(crate) order: OrderKey,
    pub(crate) contents: Contents,
    /// Creation time: `linger.ms` and `delivery.timeout.ms` count from here (split parts keep
    /// their parent's).
    pub(crate) created_at: Instant,
    /// Retries so far (0 until the first re-enqueue).
    pub(crate) attempts: u32,
    /// The error the last retry was for.
    pub(crate) last_error: Option<ErrorCode>,
    /// An earlier attempt's answer was lost or said `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: it may
    /// be in the log whatever later attempts say.
    pub(crate) maybe_written: bool,
    /// While set and in the future, the batch is backing off and its partition is not ready.
    pub(crate) retry_at: Option<Instant>,
    /// Bytes of `buffer.memory` this batch holds (0 for split parts, like Java's split batches,
    /// which are allocated outside the pool).
    pub(crate) reserved: usize,
    /// Reported by [`expire_in_flight`](crate::RecordAccumulator::expire_in_flight): its records
    /// have failed, but its request is still out; it stays in flight until answered or lost.
    pub(crate) expired: bool,
    /// The slot of its partition's queue (queues keep their slots): where an answer or a retry
    /// puts it back without a lookup by partition.
    pub(crate) slot: usize,
}

impl Batch {
    pub(crate) fn record_count(&self) -> i32 {
        match &self.contents {
            Contents::Building(b) => b.record_count(),
            Contents::Closed(c) => c.record_count(),
        }
    }

    /// Size used against a request's `max.request.size`: estimated before closing, exact after.
    pub(crate) fn size_estimate(&self) -> usize {
        match &self.contents {
            Contents::Building(b) => b.estimated_size_in_bytes(),
            Contents::Closed(c) => c.len(),
        }
    }

    pub(crate) fn backing_off(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }
}

#[cfg(test)]
mod tests {
    use super::OrderKey;

    fn key(created: u64, path: &[u32]) -> OrderKey {
        OrderKey {
            created,
            split_path: path.to_vec(),
        }
    }

    #[test]
    fn split_parts_sort_between_their_parent_neighbours() {
        let mut keys = vec![
            key(3, &[]),
            key(2, &[1, 1]),
            key(2, &[0]),
            key(1, &[]),
            key(2, &[1, 0]),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                key(1, &[]),
                key(2, &[0]),
                key(2, &[1, 0]),
                key(2, &[1, 1]),
                key(3, &[]),
            ]
        );
    }
}
