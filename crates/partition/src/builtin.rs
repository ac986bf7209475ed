//! The Java client's default partitioning (`partitioner` unset): murmur2 for keys, uniform
//! sticky with adaptive choice (KIP-480, KIP-794) for everything else.
//!
//! Mirrors `KafkaProducer.partition` and `BuiltInPartitioner` of the Java client (3.3+); the rules
//! are spelled out in the crate documentation.

use std::collections::BTreeMap;

use crate::hash::{murmur2_partition, to_positive};
use crate::{Appended, PartitionLoad, Partitioner, Partitions, RandomSource, Record};

/// The Java client's built-in partitioner.
#[derive(Debug)]
pub struct BuiltInPartitioner {
    /// `batch.size`, at least 1: the sticky partition switches after this many keyless bytes.
    sticky_batch_size: u64,
    /// `partitioner.adaptive.partitioning.enable`.
    adaptive: bool,
    /// `partitioner.availability.timeout.ms`; 0 disables exclusion.
    availability_timeout_ms: u64,
    /// `partitioner.ignore.keys`.
    ignore_keys: bool,
    random: Box<dyn RandomSource>,
    /// Per-topic sticky state.
    topics: Topics,
}

/// Per-topic sticky state: an index by name (a `BTreeMap` rather than a `HashMap`: no randomly
/// seeded hasher, and producers write to few topics) over the states, with the topic looked up
/// last checked first. A keyless record asks twice (for its partition, then after its append),
/// as a rule for the topic of the record before it.
#[derive(Debug, Default)]
struct Topics {
    index: BTreeMap<Box<str>, usize>,
    states: Vec<(Box<str>, TopicState)>,
    last: usize,
}

impl Topics {
    /// The place of `topic`'s state. Inline: every keyless record asks twice, nearly always
    /// for the topic asked last, and a call costs more than that check.
    #[inline]
    fn find(&mut self, topic: &str) -> Option<usize> {
        if self
            .states
            .get(self.last)
            .is_some_and(|(name, _)| crate::same_name(name, topic))
        {
            return Some(self.last);
        }
        self.find_in_index(topic)
    }

    /// [`find`](Self::find) for a topic other than the last one asked for.
    #[cold]
    #[inline(never)]
    fn find_in_index(&mut self, topic: &str) -> Option<usize> {
        let at = *self.index.get(topic)?;
        self.last = at;
        Some(at)
    }

    fn get(&self, topic: &str) -> Option<&TopicState> {
        self.index.get(topic).map(|&at| &self.states[at].1)
    }

    #[inline]
    fn get_mut(&mut self, topic: &str) -> Option<&mut TopicState> {
        let at = self.find(topic)?;
        Some(&mut self.states[at].1)
    }

    /// `topic`'s state, made (as `state`) if it has none yet.
    fn get_or_insert(&mut self, topic: &str, state: TopicState) -> &mut TopicState {
        let at = self.find(topic).unwrap_or_else(|| {
            self.states.push((topic.into(), state));
            let at = self.states.len() - 1;
            self.index.insert(topic.into(), at);
            self.last = at;
            at
        });
        &mut self.states[at].1
    }
}

#[derive(Debug, Default)]
struct TopicState {
    /// The current sticky partition; `None` means "choose afresh at the next keyless record".
    sticky: Option<i32>,
    /// Keyless bytes appended to `sticky` since it was chosen.
    produced_bytes: u64,
    /// Adaptive statistics, if the last report allowed any.
    load: Option<LoadStats>,
}

/// Java's `PartitionLoadStats`: a cumulative frequency table over partitions with a leader.
#[derive(Debug)]
struct LoadStats {
    /// Partition count of the topic when the statistics were built; stale statistics (a topic
    /// that grew since) are not used.
    partition_count: u32,
    /// Running sums of the weights `max_queue + 1 - queue`; strictly increasing, last entry > 0.
    cumulative: Vec<u64>,
    /// `partition_ids[i]` is the partition of `cumulative[i]`.
    partition_ids: Vec<i32>,
}

impl BuiltInPartitioner {
    /// A partitioner with Java's defaults for everything but the batch size and randomness:
    /// adaptive on, availability timeout 0, keys honoured. A `batch_size` of 0 is treated as 1,
    /// as the Java client does.
    pub fn new(batch_size: u32, random: impl RandomSource + 'static) -> Self {
        Self {
            sticky_batch_size: u64::from(batch_size.max(1)),
            adaptive: true,
            availability_timeout_ms: 0,
            ignore_keys: false,
            random: Box::new(random),
            topics: Topics::default(),
        }
    }

    /// Set `partitioner.adaptive.partitioning.enable`.
    pub fn with_adaptive(mut self, enabled: bool) -> Self {
        self.adaptive = enabled;
        self
    }

    /// Set `partitioner.availability.timeout.ms` (0 disables).
    pub fn with_availability_timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.availability_timeout_ms = timeout_ms;
        self
    }

    /// Set `partitioner.ignore.keys`.
    pub fn with_ignore_keys(mut self, ignore: bool) -> Self {
        self.ignore_keys = ignore;
        self
    }

    /// The current sticky partition of `topic`, if one is chosen.
    pub fn sticky_partition(&self, topic: &str) -> Option<i32> {
        self.topics.get(topic).and_then(|t| t.sticky)
    }

    /// Whether this record is placed by stickiness rather than by its key.
    fn is_sticky_record(&self, record: &Record<'_>) -> bool {
        record.partition.is_none() && (record.key.is_none() || self.ignore_keys)
    }

    /// Java's `nextPartition`, with statistics checked against today's leaders.
    fn next_partition(
        random: &mut dyn RandomSource,
        load: Option<&LoadStats>,
        partitions: &Partitions<'_>,
    ) -> i32 {
        let r = to_positive(random.next_u32());
        if let Some(stats) = load.filter(|s| s.partition_count == partitions.count()) {
            let total = stats.cumulative.last().copied().unwrap_or(0);
            if total > 0 {
                let weighted = u64::from(r) % total;
                // First entry strictly greater than `weighted`.
                let index = stats.cumulative.partition_point(|&c| c <= weighted);
                if let Some(&partition) = stats.partition_ids.get(index) {
                    // The table is a snapshot: trust it unless its pick lost its leader since.
                    if partitions.is_available(partition) || partitions.available_count() == 0 {
                        return partition;
                    }
                }
            }
        }
        partitions.pick(r)
    }

    /// The sticky partition for a keyless record: the current one while it can take records,
    /// otherwise a fresh choice.
    #[inline]
    fn sticky_choice(
        state: &mut TopicState,
        random: &mut dyn RandomSource,
        partitions: &Partitions<'_>,
    ) -> i32 {
        let keep = state.sticky.is_some_and(|p| {
            partitions.is_available(p)
                || (partitions.contains(p) && partitions.available_count() == 0)
        });
        if let (true, Some(p)) = (keep, state.sticky) {
            return p;
        }
        Self::choose_sticky(state, random, partitions)
    }

    /// A fresh sticky partition for [`sticky_choice`](Self::sticky_choice): once per batch's
    /// worth of records.
    #[cold]
    #[inline(never)]
    fn choose_sticky(
        state: &mut TopicState,
        random: &mut dyn RandomSource,
        partitions: &Partitions<'_>,
    ) -> i32 {
        let p = Self::next_partition(random, state.load.as_ref(), partitions);
        state.sticky = Some(p);
        state.produced_bytes = 0;
        p
    }
}

impl Partitioner for BuiltInPartitioner {
    fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
        if let (Some(key), false) = (record.key, self.ignore_keys) {
            return murmur2_partition(key, partitions.count());
        }
        // One lookup once the topic is known (every record but its first).
        if let Some(state) = self.topics.get_mut(record.topic) {
            return Self::sticky_choice(state, self.random.as_mut(), partitions);
        }
        let state = self
            .topics
            .get_or_insert(record.topic, TopicState::default());
        Self::sticky_choice(state, self.random.as_mut(), partitions)
    }

    fn on_append(&mut self, record: &Record<'_>, appended: &Appended) {
        if !self.is_sticky_record(record) {
            return;
        }
        let batch_size = self.sticky_batch_size;
        let Some(state) = self.topics.get_mut(record.topic) else {
            return;
        };
        if state.sticky != Some(appended.partition) {
            return;
        }
        state.produced_bytes = state.produced_bytes.saturating_add(appended.bytes as u64);
        if (state.produced_bytes >= batch_size && appended.batch_full)
            || state.produced_bytes >= batch_size.saturating_mul(2)
        {
            // Choose lazily at the next keyless record, with the leaders known then.
            state.sticky = None;
            state.produced_bytes = 0;
        }
    }

    fn update_load(&mut self, topic: &str, partition_count: u32, load: &[PartitionLoad]) {
        if !self.adaptive {
            return;
        }
        let stats = build_load_stats(partition_count, load, self.availability_timeout_ms);
        if let Some(state) = self.topics.get_mut(topic) {
            state.load = stats;
        } else if stats.is_some() {
            self.topics.get_or_insert(
                topic,
                TopicState {
                    load: stats,
                    ..TopicState::default()
                },
            );
        }
    }
}

/// Java's `updatePartitionLoadStats`: `None` when adaptive choice has nothing to add.
fn build_load_stats(
    partition_count: u32,
    load: &[PartitionLoad],
    availability_timeout_ms: u64,
) -> Option<LoadStats> {
    let mut entries: Vec<PartitionLoad> = load
        .iter()
        .filter(|e| e.partition >= 0 && (e.partition as u32) < partition_count)
        .copied()
        .collect();
    // Duplicates would skew the weights; the first report of a partition counts. Reports are
    // normally ascending already, which costs one pass to confirm.
    if !entries.windows(2).all(|w| w[0].partition < w[1].partition) {
        entries.sort_by_key(|e| e.partition); // stable: first report stays first
        entries.dedup_by_key(|e| e.partition);
    }
    let mut sizes = Vec::with_capacity(entries.len());
    let mut partition_ids = Vec::with_capacity(entries.len());
    for entry in &entries {
        if availability_timeout_ms > 0 && entry.stalled_ms > availability_timeout_ms {
            continue;
        }
        sizes.push(u64::from(entry.queued_batches));
        partition_ids.push(entry.partition);
    }
    // Fewer than two partitions: nothing to balance. No usable partition: fall back to uniform.
    if sizes.is_empty() || partition_count < 2 {
        return None;
    }
    let max = sizes.iter().copied().max().unwrap_or(0);
    let all_equal = sizes.iter().all(|&s| s == max);
    if all_equal && sizes.len() == partition_count as usize {
        return None;
    }
    let max_plus_one = max + 1;
    let mut running = 0u64;
    let cumulative = sizes
        .iter()
        .map(|&s| {
            running += max_plus_one - s;
            running
        })
        .collect();
    Some(LoadStats {
        partition_count,
        cumulative,
        partition_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SplitMix64;
    use crate::random::Script;
    use std::collections::VecDeque;

    #[test]
    fn keyed_records_use_java_murmur2() {
        let mut p = BuiltInPartitioner::new(16384, SplitMix64::new(1));
        let parts = Partitions::all_available(12).unwrap();
        // Derived table: "kafka" %12 = 4, "" %12 = 9 (an empty key is hashed, not sticky).
        assert_eq!(p.partition(&Record::new("t", Some(b"kafka")), &parts), 4);
        assert_eq!(p.partition(&Record::new("t", Some(b"")), &parts), 9);
        // All partitions count, even without a leader.
        let two = Partitions::new(12, &[0, 1]).unwrap();
        assert_eq!(p.partition(&Record::new("t", Some(b"kafka")), &two), 4);
    }

    #[test]
    fn ignore_keys_makes_keyed_records_sticky() {
        let mut p =
            BuiltInPartitioner::new(100, Script(VecDeque::from([7]))).with_ignore_keys(true);
        let parts = Partitions::all_available(12).unwrap();
        assert_eq!(p.partition(&Record::new("t", Some(b"kafka")), &parts), 7);
        assert_eq!(p.partition(&Record::new("t", Some(b"other")), &parts), 7);
    }

    #[test]
    fn sticky_switches_after_batch_size_when_batch_is_full() {
        let mut p = BuiltInPartitioner::new(100, Script(VecDeque::from([1, 2, 0])));
        let parts = Partitions::all_available(3).unwrap();
        let rec = Record::new("t", None);
        assert_eq!(p.partition(&rec, &parts), 1);
        p.on_append(&rec, &Appended::new(1, 60, false));
        assert_eq!(p.partition(&rec, &parts), 1);
        // 120 bytes but the batch still has room: no switch yet.
        p.on_append(&rec, &Appended::new(1, 60, false));
        assert_eq!(p.partition(&rec, &parts), 1);
        // 180 bytes and now full: switch.
        p.on_append(&rec, &Appended::new(1, 60, true));
        assert_eq!(p.partition(&rec, &parts), 2);
        // Unconditional switch at twice the batch size.
        p.on_append(&rec, &Appended::new(2, 199, false));
        assert_eq!(p.partition(&rec, &parts), 2);
        p.on_append(&rec, &Appended::new(2, 1, false));
        assert_eq!(p.partition(&rec, &parts), 0);
    }

    #[test]
    fn keyed_and_explicit_appends_do_not_count() {
        let mut p = BuiltInPartitioner::new(10, Script(VecDeque::from([1, 2])));
        let parts = Partitions::all_available(3).unwrap();
        let keyless = Record::new("t", None);
        assert_eq!(p.partition(&keyless, &parts), 1);
        p.on_append(&Record::new("t", Some(b"k")), &Appended::new(1, 100, true));
        p.on_append(&keyless.with_partition(1), &Appended::new(1, 100, true));
        assert_eq!(p.partition(&keyless, &parts), 1);
    }

    #[test]
    fn topics_are_independent() {
        let mut p = BuiltInPartitioner::new(10, Script(VecDeque::from([1, 2])));
        let parts = Partitions::all_available(3).unwrap();
        assert_eq!(p.partition(&Record::new("a", None), &parts), 1);
        assert_eq!(p.partition(&Record::new("b", None), &parts), 2);
        assert_eq!(p.sticky_partition("a"), Some(1));
        assert_eq!(p.sticky_partition("b"), Some(2));
    }

    #[test]
    fn uniform_choice_skips_partitions_without_leader() {
        // r = 5, available [1, 3] -> index 5 % 2 = 1 -> partition 3.
        let mut p = BuiltInPartitioner::new(10, Script(VecDeque::from([5])));
        let parts = Partitions::new(4, &[1, 3]).unwrap();
        assert_eq!(p.partition(&Record::new("t", None), &parts), 3);
    }

    #[test]
    fn no_leaders_picks_among_all() {
        let mut p = BuiltInPartitioner::new(10, Script(VecDeque::from([6])));
        let parts = Partitions::new(4, &[]).unwrap();
        assert_eq!(p.partition(&Record::new("t", None), &parts), 2);
    }

    #[test]
    fn sticky_partition_losing_its_leader_is_left() {
        let mut p = BuiltInPartitioner::new(1000, Script(VecDeque::from([1, 0])));
        let rec = Record::new("t", None);
        assert_eq!(p.partition(&rec, &Partitions::all_available(3).unwrap()), 1);
        assert_eq!(p.partition(&rec, &Partitions::new(3, &[0, 2]).unwrap()), 0);
    }

    /// The worked example from Java's `updatePartitionLoadStats`: queue sizes 0 3 1 give the
    /// table 4 5 8; random 0..=3 -> partition 0, 4 -> 1, 5..=7 -> 2.
    #[test]
    fn cumulative_frequency_table_matches_java_example() {
        let load = [
            PartitionLoad::new(0, 0, 0),
            PartitionLoad::new(1, 3, 0),
            PartitionLoad::new(2, 1, 0),
        ];
        let stats = build_load_stats(3, &load, 0).unwrap();
        assert_eq!(stats.cumulative, vec![4, 5, 8]);
        assert_eq!(stats.partition_ids, vec![0, 1, 2]);
        let expect = [0, 0, 0, 0, 1, 2, 2, 2, 0, 0, 0, 0, 1, 2];
        let parts = Partitions::all_available(3).unwrap();
        for (r, want) in expect.into_iter().enumerate() {
            let mut script = Script(VecDeque::from([r as u32]));
            assert_eq!(
                BuiltInPartitioner::next_partition(&mut script, Some(&stats), &parts),
                want,
                "random {r}"
            );
        }
        // High bit is cleared first (toPositive): 0x8000_0004 behaves as 4.
        let mut script = Script(VecDeque::from([0x8000_0004]));
        assert_eq!(
            BuiltInPartitioner::next_partition(&mut script, Some(&stats), &parts),
            1
        );
    }

    #[test]
    fn load_stats_follow_java_cutoffs() {
        // All equal and nothing excluded: uniform.
        let equal = [PartitionLoad::new(0, 2, 0), PartitionLoad::new(1, 2, 0)];
        assert!(build_load_stats(2, &equal, 0).is_none());
        // One partition: nothing to balance.
        assert!(build_load_stats(1, &[PartitionLoad::new(0, 5, 0)], 0).is_none());
        // Empty: withdraw.
        assert!(build_load_stats(4, &[], 0).is_none());
        // Equal but one partition missing (no leader): still adaptive, over the rest.
        let stats = build_load_stats(3, &equal, 0).unwrap();
        assert_eq!(stats.cumulative, vec![1, 2]);
        // Stalled longer than the timeout: excluded; exactly the timeout: kept (Java uses >).
        let stalled = [
            PartitionLoad::new(0, 0, 0),
            PartitionLoad::new(1, 0, 501),
            PartitionLoad::new(2, 0, 500),
        ];
        let stats = build_load_stats(3, &stalled, 500).unwrap();
        assert_eq!(stats.partition_ids, vec![0, 2]);
        // With the timeout disabled, stalling is ignored.
        assert!(build_load_stats(3, &stalled, 0).is_none());
        // Out-of-range and duplicate entries are ignored.
        let odd = [
            PartitionLoad::new(0, 1, 0),
            PartitionLoad::new(0, 9, 0),
            PartitionLoad::new(7, 0, 0),
            PartitionLoad::new(-1, 0, 0),
            PartitionLoad::new(1, 0, 0),
        ];
        let stats = build_load_stats(2, &odd, 0).unwrap();
        assert_eq!(stats.partition_ids, vec![0, 1]);
        assert_eq!(stats.cumulative, vec![1, 3]);
    }

    #[test]
    fn adaptive_disabled_ignores_load() {
        // Table [1, 102]: r = 2 picks partition 1 adaptively, partition 0 uniformly.
        let load = [PartitionLoad::new(0, 100, 0), PartitionLoad::new(1, 0, 0)];
        let parts = Partitions::all_available(2).unwrap();
        let mut on = BuiltInPartitioner::new(10, Script(VecDeque::from([2])));
        on.update_load("t", 2, &load);
        assert_eq!(on.partition(&Record::new("t", None), &parts), 1);
        let mut off = BuiltInPartitioner::new(10, Script(VecDeque::from([2]))).with_adaptive(false);
        off.update_load("t", 2, &load);
        assert_eq!(off.partition(&Record::new("t", None), &parts), 0);
    }

    #[test]
    fn stale_load_for_another_partition_count_is_ignored() {
        let mut p = BuiltInPartitioner::new(10, Script(VecDeque::from([6])));
        // Table [1, 102] for a 2-partition topic would map r = 6 to partition 1 ...
        p.update_load(
            "t",
            2,
            &[PartitionLoad::new(0, 100, 0), PartitionLoad::new(1, 0, 0)],
        );
        // ... but the topic now has 4: uniform, 6 % 4 -> partition 2.
        assert_eq!(
            p.partition(
                &Record::new("t", None),
                &Partitions::all_available(4).unwrap()
            ),
            2
        );
    }
}
