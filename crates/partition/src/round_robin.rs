//! The Java client's `org.apache.kafka.clients.producer.RoundRobinPartitioner`.

use std::collections::BTreeMap;

use crate::hash::to_positive;
use crate::{Partitioner, Partitions, Record};

/// Spreads records over the partitions in turn, ignoring keys.
///
/// Per topic a counter starts at 0 and is incremented (wrapping, like Java's `AtomicInteger`) once
/// per record. `toPositive(counter) % n` indexes the partitions that have a leader, in ascending
/// order; when none has a leader it is taken `% partition_count` over all partitions.
///
/// Java releases before the fix for KAFKA-9965 could call this partitioner twice for one record
/// (the KIP-480 `onNewBatch` retry) and so skip partitions; here it is called once per record.
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    counters: BTreeMap<String, u32>,
}

impl RoundRobinPartitioner {
    /// A partitioner with every topic's counter at 0.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
        let value = if let Some(counter) = self.counters.get_mut(record.topic) {
            let value = *counter;
            *counter = counter.wrapping_add(1);
            value
        } else {
            self.counters.insert(record.topic.to_owned(), 1);
            0
        };
        let positive = to_positive(value);
        partitions.pick(positive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_over_all_partitions_ignoring_keys() {
        let mut p = RoundRobinPartitioner::new();
        let parts = Partitions::all_available(3).unwrap();
        let got: Vec<i32> = (0..7)
            .map(|i| {
                let key = [i as u8];
                p.partition(&Record::new("t", Some(&key)), &parts)
            })
            .collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn cycles_over_available_partitions_only() {
        let mut p = RoundRobinPartitioner::new();
        let parts = Partitions::new(5, &[1, 4]).unwrap();
        let got: Vec<i32> = (0..4)
            .map(|_| p.partition(&Record::new("t", None), &parts))
            .collect();
        assert_eq!(got, vec![1, 4, 1, 4]);
        // No leader anywhere: over all partitions, counter continues at 4.
        let none = Partitions::new(5, &[]).unwrap();
        assert_eq!(p.partition(&Record::new("t", None), &none), 4);
    }

    #[test]
    fn counters_are_per_topic() {
        let mut p = RoundRobinPartitioner::new();
        let parts = Partitions::all_available(4).unwrap();
        assert_eq!(p.partition(&Record::new("a", None), &parts), 0);
        assert_eq!(p.partition(&Record::new("a", None), &parts), 1);
        assert_eq!(p.partition(&Record::new("b", None), &parts), 0);
    }

    #[test]
    fn counter_wraps_like_java_int() {
        let mut p = RoundRobinPartitioner::new();
        p.counters.insert("t".to_owned(), i32::MAX as u32);
        let parts = Partitions::all_available(10).unwrap();
        // Integer.MAX_VALUE % 10 = 7; then MIN_VALUE: toPositive -> 0.
        assert_eq!(p.partition(&Record::new("t", None), &parts), 7);
        assert_eq!(p.partition(&Record::new("t", None), &parts), 0);
    }
}
