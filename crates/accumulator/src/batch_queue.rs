//! [`BatchQueue`]: one partition's batches in order, the first of them held in place.

use std::collections::VecDeque;

use crate::batch::Batch;

/// A partition's queued batches, oldest first. The first is held inline (in the partition's
/// queue, not behind a pointer): with many partitions each lingering one batch, the batch an
/// append writes to, and the head `ready` and `drain` look at, is then found without first
/// loading where a deque keeps its elements. Each record to a cold partition had waited on
/// that load before it could even ask for the batch.
#[derive(Debug, Default)]
pub(crate) struct BatchQueue {
    /// The oldest batch; `None` only when the queue is empty.
    first: Option<Batch>,
    /// The batches after it.
    rest: VecDeque<Batch>,
}

impl BatchQueue {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    #[inline]
    pub(crate) fn front(&self) -> Option<&Batch> {
        self.first.as_ref()
    }

    /// The newest batch (the one appends go to).
    #[inline]
    pub(crate) fn back_mut(&mut self) -> Option<&mut Batch> {
        match self.rest.back_mut() {
            Some(b) => Some(b),
            None => self.first.as_mut(),
        }
    }

    pub(crate) fn push_back(&mut self, batch: Batch) {
        if self.first.is_none() {
            self.first = Some(batch);
        } else {
            self.rest.push_back(batch);
        }
    }

    pub(crate) fn push_front(&mut self, batch: Batch) {
        if let Some(old) = self.first.replace(batch) {
            self.rest.push_front(old);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Batch> {
        let first = self.first.take()?;
        // (Most queues hold one batch: nothing to move up, and no `None` to write again.)
        if !self.rest.is_empty() {
            self.first = self.rest.pop_front();
        }
        Some(first)
    }

    /// The batches, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Batch> {
        self.first.iter().chain(self.rest.iter())
    }

    /// The number of batches, from the front, for which `pred` holds (the queue being
    /// partitioned by it, as `VecDeque::partition_point`).
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(&Batch) -> bool) -> usize {
        match &self.first {
            Some(first) if pred(first) => 1 + self.rest.partition_point(pred),
            _ => 0,
        }
    }

    /// Inserts `batch` at position `at` (0: the front), shifting the later ones back.
    pub(crate) fn insert(&mut self, at: usize, batch: Batch) {
        if at == 0 {
            self.push_front(batch);
        } else {
            self.rest.insert(at - 1, batch);
        }
    }

    /// Takes every batch out, oldest first, leaving the queue empty.
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = Batch> + use<> {
        let first = self.first.take();
        let rest = std::mem::take(&mut self.rest);
        first.into_iter().chain(rest)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ferrokafka_records::{BatchBuilder, Compression, CompressionType};
    use ferrokafka_wire::Topic;

    use super::*;
    use crate::batch::{BatchId, Contents, OrderKey, TopicPartition};

    fn batch(id: u64) -> Batch {
        Batch {
            id: BatchId(id),
            tp: TopicPartition {
                topic: Topic::from("t"),
                partition: 0,
            },
            order: OrderKey {
                created: id,
                split_path: Vec::new(),
            },
            contents: Contents::Building(BatchBuilder::new(
                Compression::of(CompressionType::None),
                64,
            )),
            created_at: Instant::now(),
            attempts: 0,
            last_error: None,
            maybe_written: false,
            retry_at: None,
            reserved: 0,
            expired: false,
            slot: 0,
        }
    }

    fn ids(q: &BatchQueue) -> Vec<u64> {
        q.iter().map(|b| b.id.0).collect()
    }

    /// Every operation, in a long pseudo-random sequence, leaves the same batches in the same
    /// order as a plain deque given the same operations.
    #[test]
    fn behaves_as_a_deque() {
        let mut q = BatchQueue::default();
        let mut model: VecDeque<u64> = VecDeque::new();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for id in 0..20_000u64 {
            match next() % 6 {
                0 | 1 => {
                    q.push_back(batch(id));
                    model.push_back(id);
                }
                2 => {
                    q.push_front(batch(id));
                    model.push_front(id);
                }
                3 => assert_eq!(q.pop_front().map(|b| b.id.0), model.pop_front()),
                4 => {
                    let at = usize::try_from(next()).unwrap() % (model.len() + 1);
                    q.insert(at, batch(id));
                    model.insert(at, id);
                }
                _ => {
                    if let Some(b) = q.back_mut() {
                        b.attempts += 1;
                    }
                    assert_eq!(q.back_mut().map(|b| b.id.0), model.back().copied());
                }
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
            assert_eq!(q.front().map(|b| b.id.0), model.front().copied());
            if id % 97 == 0 {
                assert_eq!(ids(&q), Vec::from(model.clone()));
            }
        }
        let taken: Vec<u64> = q.take_all().map(|b| b.id.0).collect();
        assert_eq!(taken, Vec::from(model));
        assert!(q.is_empty() && q.front().is_none() && q.back_mut().is_none());
    }

    /// On batches in order, the partition point is where a batch of that order goes.
    #[test]
    fn partition_point_counts_the_batches_before_an_order() {
        let mut q = BatchQueue::default();
        assert_eq!(q.partition_point(|_| true), 0);
        for id in [2, 4, 6, 8] {
            q.push_back(batch(id));
        }
        for (below, expected) in [(0, 0), (3, 1), (5, 2), (7, 3), (9, 4)] {
            assert_eq!(q.partition_point(|b| b.id.0 < below), expected, "{below}");
        }
        q.insert(q.partition_point(|b| b.id.0 < 5), batch(5));
        q.insert(q.partition_point(|b| b.id.0 < 1), batch(1));
        assert_eq!(ids(&q), [1, 2, 4, 5, 6, 8]);
    }
}
