//! [`Queues`]: the per-partition queues, found by hash on the paths every record and batch
//! takes, and walked in partition order where an order shows.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::accumulator::PartitionQueue;
use crate::batch::TopicPartition;

/// Every partition's queue. A queue, once made, lives as long as the accumulator, so each has a
/// fixed slot: appends, drains and answers find it through a hash index (one hash of the topic
/// name, where an ordered map compares keys a dozen times at a thousand partitions), while
/// `ready`, expiry and aborts walk the partitions in order (deterministic, and the order their
/// callers document).
#[derive(Debug, Default)]
pub(crate) struct Queues {
    slots: Vec<PartitionQueue>,
    index: HashMap<TopicPartition, usize, FixedState>,
    /// The slots in partition order: walked by every `ready` (a pass over every partition, a
    /// thousand times a second with many partitions), so a plain array rather than a tree's
    /// nodes; a partition's first batch inserts into it, once.
    order: Vec<usize>,
    /// Each slot's place in `order` (slots sort by it as their partitions do, without comparing
    /// topic names).
    rank: Vec<usize>,
}

impl Queues {
    /// The slot of `tp`'s queue, if it has one.
    #[inline]
    pub(crate) fn slot(&self, tp: &TopicPartition) -> Option<usize> {
        self.index.get(tp).copied()
    }

    /// The slot of `tp`'s queue, made empty if it had none.
    pub(crate) fn slot_or_insert(&mut self, tp: &TopicPartition) -> usize {
        if let Some(i) = self.slot(tp) {
            return i;
        }
        let i = self.slots.len();
        let at = self.order.partition_point(|&j| self.slots[j].tp < *tp);
        self.slots.push(PartitionQueue::new(tp.clone()));
        self.index.insert(tp.clone(), i);
        self.order.insert(at, i);
        self.rank.push(at);
        for (place, &slot) in self.order.iter().enumerate().skip(at) {
            self.rank[slot] = place;
        }
        i
    }

    /// Whether slot `i` is `tp`'s queue (a slot a caller kept is checked before it is used;
    /// when the caller's topic shares the queue's name, as it does when both came from the
    /// same `TopicPartition`, that is a pointer and a number compared).
    #[inline]
    pub(crate) fn holds(&self, i: usize, tp: &TopicPartition) -> bool {
        self.slots.get(i).is_some_and(|q| q.tp == *tp)
    }

    /// The queue in slot `i` (from [`slot`](Self::slot)).
    #[inline]
    pub(crate) fn at(&mut self, i: usize) -> &mut PartitionQueue {
        &mut self.slots[i]
    }

    /// The queue in slot `i`, if there is one.
    #[inline]
    pub(crate) fn get_at(&self, i: usize) -> Option<&PartitionQueue> {
        self.slots.get(i)
    }

    /// Slot `i`'s place in partition order.
    #[inline]
    pub(crate) fn rank(&self, i: usize) -> usize {
        self.rank[i]
    }

    /// Every slot with its queue, in partition order.
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (usize, &PartitionQueue)> {
        self.order.iter().map(|&i| (i, &self.slots[i]))
    }

    pub(crate) fn get(&self, tp: &TopicPartition) -> Option<&PartitionQueue> {
        self.slot(tp).map(|i| &self.slots[i])
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionQueue> {
        self.slot(tp).map(|i| &mut self.slots[i])
    }

    /// `tp`'s queue, made empty if it had none.
    pub(crate) fn entry(&mut self, tp: &TopicPartition) -> &mut PartitionQueue {
        let i = self.slot_or_insert(tp);
        &mut self.slots[i]
    }

    /// Every queue with its partition, in partition order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &PartitionQueue)> {
        self.iter_slots().map(|(_, q)| (&q.tp, q))
    }

    /// Every queue, in partition order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &PartitionQueue> {
        self.iter().map(|(_, q)| q)
    }

    /// Every queue, mutably, in partition order (the cold paths: expiry, aborts).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut PartitionQueue> {
        let mut slots: Vec<Option<&mut PartitionQueue>> = self.slots.iter_mut().map(Some).collect();
        self.order
            .iter()
            .filter_map(move |&i| slots.get_mut(i).and_then(Option::take))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokafka_wire::Topic;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: Topic::from(topic),
            partition,
        }
    }

    #[test]
    fn queues_are_found_by_partition_and_walked_in_partition_order() {
        let mut q = Queues::default();
        for (t, p) in [("b", 1), ("a", 7), ("b", 0), ("a", 2)] {
            q.entry(&tp(t, p)).in_flight = usize::try_from(p).unwrap();
        }
        // Asked again, the same queue (no second slot).
        assert_eq!(q.slot_or_insert(&tp("a", 7)), 1);
        assert_eq!(q.get(&tp("b", 1)).map(|x| x.in_flight), Some(1));
        assert!(q.get(&tp("c", 0)).is_none());
        let order: Vec<(String, i32)> = q
            .iter()
            .map(|(tp, _)| (tp.topic.to_string(), tp.partition))
            .collect();
        assert_eq!(
            order,
            [("a", 2), ("a", 7), ("b", 0), ("b", 1)].map(|(t, p)| (t.to_owned(), p))
        );
        let ranks: Vec<usize> = [("b", 1), ("a", 7), ("b", 0), ("a", 2)]
            .iter()
            .map(|&(t, p)| q.rank(q.slot(&tp(t, p)).unwrap()))
            .collect();
        assert_eq!(ranks, [3, 1, 2, 0], "each slot's place in partition order");
        for x in q.values_mut() {
            x.in_flight += 10;
        }
        let counts: Vec<usize> = q.values().map(|x| x.in_flight).collect();
        assert_eq!(counts, [12, 17, 10, 11]);
    }
}
