//! [`BatchQueue`]: one partition's batches in order, the first of them held in place.

use std::collections::VecDeque;

/// A partition's queued batches, oldest first. The first is held inline (in the partition's
/// queue, not behind a pointer): with many partitions each lingering one batch, the batch an
/// append writes to, and the head `ready` and `drain` look at, is then found without first
/// loading where a deque keeps its elements. Each record to a cold partition had waited on
/// that load before it could even ask for the batch.
/// (Generic over the batch type `B` only so that its tests need no real batches.)
#[derive(Debug)]
pub(crate) struct BatchQueue<B> {
    /// The oldest batch; `None` only when the queue is empty.
    first: Option<B>,
    /// The batches after it.
    rest: VecDeque<B>,
}

impl<B> Default for BatchQueue<B> {
    fn default() -> Self {
        BatchQueue {
            first: None,
            rest: VecDeque::new(),
        }
    }
}

impl<B> BatchQueue<B> {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    #[inline]
    pub(crate) fn front(&self) -> Option<&B> {
        self.first.as_ref()
    }

    /// The newest batch (the one appends go to).
    #[inline]
    pub(crate) fn back_mut(&mut self) -> Option<&mut B> {
        match self.rest.back_mut() {
            Some(b) => Some(b),
            None => self.first.as_mut(),
        }
    }

    pub(crate) fn push_back(&mut self, batch: B) {
        if self.first.is_none() {
            self.first = Some(batch);
        } else {
            self.rest.push_back(batch);
        }
    }

    pub(crate) fn push_front(&mut self, batch: B) {
        if let Some(old) = self.first.replace(batch) {
            self.rest.push_front(old);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<B> {
        let first = self.first.take()?;
        // (Most queues hold one batch: nothing to move up, and no `None` to write again.)
        if !self.rest.is_empty() {
            self.first = self.rest.pop_front();
        }
        Some(first)
    }

    /// The batches, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &B> {
        self.first.iter().chain(self.rest.iter())
    }

    /// The number of batches, from the front, for which `pred` holds (the queue being
    /// partitioned by it, as `VecDeque::partition_point`).
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(&B) -> bool) -> usize {
        match &self.first {
            Some(first) if pred(first) => 1 + self.rest.partition_point(pred),
            _ => 0,
        }
    }

    /// Inserts `batch` at position `at` (0: the front), shifting the later ones back.
    pub(crate) fn insert(&mut self, at: usize, batch: B) {
        if at == 0 {
            self.push_front(batch);
        } else {
            self.rest.insert(at - 1, batch);
        }
    }

    /// Takes every batch out, oldest first, leaving the queue empty.
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = B> + use<B> {
        let first = self.first.take();
        let rest = std::mem::take(&mut self.rest);
        first.into_iter().chain(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(q: &BatchQueue<u64>) -> Vec<u64> {
        q.iter().copied().collect()
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
                    q.push_back(id);
                    model.push_back(id);
                }
                2 => {
                    q.push_front(id);
                    model.push_front(id);
                }
                3 => assert_eq!(q.pop_front(), model.pop_front()),
                4 => {
                    let at = usize::try_from(next()).unwrap() % (model.len() + 1);
                    q.insert(at, id);
                    model.insert(at, id);
                }
                _ => {
                    // The newest, written through the mutable reference.
                    if let (Some(b), Some(m)) = (q.back_mut(), model.back_mut()) {
                        *b += 1_000_000;
                        *m += 1_000_000;
                    }
                    assert_eq!(q.back_mut().copied(), model.back().copied());
                }
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
            assert_eq!(q.front(), model.front());
            if id % 97 == 0 {
                assert_eq!(ids(&q), Vec::from(model.clone()));
            }
        }
        let taken: Vec<u64> = q.take_all().collect();
        assert_eq!(taken, Vec::from(model));
        assert!(q.is_empty() && q.front().is_none() && q.back_mut().is_none());
    }

    /// On batches in order, the partition point is where a batch of that order goes.
    #[test]
    fn partition_point_counts_the_batches_before_an_order() {
        let mut q = BatchQueue::default();
        assert_eq!(q.partition_point(|_| true), 0);
        for id in [2, 4, 6, 8] {
            q.push_back(id);
        }
        for (below, expected) in [(0, 0), (3, 1), (5, 2), (7, 3), (9, 4)] {
            assert_eq!(q.partition_point(|&b| b < below), expected, "{below}");
        }
        q.insert(q.partition_point(|&b| b < 5), 5);
        q.insert(q.partition_point(|&b| b < 1), 1);
        assert_eq!(ids(&q), [1, 2, 4, 5, 6, 8]);
    }
}
