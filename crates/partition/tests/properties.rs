//! Properties of the keyless strategies, driven through a small model of the accumulator:
//!
//! * uniform sticky (Java built-in) and librdkafka's batch-bounded stickiness spread keyless
//!   records evenly across partitions over many batches;
//! * adaptive choice never picks a partition without a leader while another has one, never picks
//!   a partition excluded by `partitioner.availability.timeout.ms` while another is usable, and
//!   moves load away from a partition whose queue drains slowly.

// Byte counts here stay far below 2^52, so converting them to f64 for ratios is exact enough.
#![allow(clippy::cast_precision_loss)]

use ferrokafka_partition::{
    Appended, BuiltInPartitioner, Error, LibrdkafkaKind, LibrdkafkaPartitioner, PARTITIONER_NAMES,
    PartitionLoad, Partitioner, PartitionerConfig, Partitions, Record, SplitMix64, by_name_with,
    select_partition,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// The statistical properties below hold with overwhelming but not total probability (bounds of
/// about five standard deviations); they run from a fixed seed so a run can never flake.
fn statistical(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x0f1e_2d3c_4b5a_6978),
        ..ProptestConfig::default()
    }
}

const TOPIC: &str = "t";

/// The accumulator as far as a partitioner can tell: one open batch per partition that closes
/// when the next record would not fit, and a queue of closed batches awaiting drain.
struct Model {
    batch_size: usize,
    open: Vec<usize>,
    queued: Vec<u32>,
    bytes: Vec<u64>,
}

impl Model {
    fn new(partitions: usize, batch_size: usize) -> Self {
        Self {
            batch_size,
            open: vec![0; partitions],
            queued: vec![0; partitions],
            bytes: vec![0; partitions],
        }
    }

    /// Place and append one keyless record of `size` bytes; returns the partition.
    fn send(&mut self, p: &mut dyn Partitioner, parts: &Partitions<'_>, size: usize) -> i32 {
        let record = Record::new(TOPIC, None).with_value_len(size);
        let partition = select_partition(p, &record, parts).expect("valid choice");
        let i = partition as usize;
        if self.open[i] > 0 && self.open[i] + size > self.batch_size {
            self.close(p, partition);
        }
        self.open[i] += size;
        self.bytes[i] += size as u64;
        let full = self.open[i] >= self.batch_size;
        p.on_append(&record, &Appended::new(partition, size, full));
        if full {
            self.close(p, partition);
        }
        partition
    }

    fn close(&mut self, p: &mut dyn Partitioner, partition: i32) {
        let i = partition as usize;
        self.open[i] = 0;
        self.queued[i] += 1;
        p.on_batch_closed(TOPIC, partition);
    }

    /// Java's per-partition deque length: queued batches plus the open one.
    fn load(&self) -> Vec<PartitionLoad> {
        (0..self.open.len())
            .map(|i| {
                let depth = self.queued[i] + u32::from(self.open[i] > 0);
                PartitionLoad::new(i as i32, depth, 0)
            })
            .collect()
    }
}

/// Sends `batches_per_partition` batches' worth of keyless bytes per partition, then checks every
/// partition got its fair share of bytes within `tolerance`.
fn assert_even_spread(
    p: &mut dyn Partitioner,
    partitions: usize,
    batch_size: usize,
    seed: u64,
    batches_per_partition: usize,
    tolerance: f64,
) -> Result<(), TestCaseError> {
    let parts = Partitions::all_available(partitions as u32).unwrap();
    let mut model = Model::new(partitions, batch_size);
    let mut sizes = SplitMix64::new(seed);
    let target = (partitions * batches_per_partition * batch_size) as u64;
    let mut total = 0u64;
    while total < target {
        let size = batch_size / 16 + (sizes.next_u64() as usize % (batch_size / 4));
        model.send(p, &parts, size);
        total += size as u64;
    }
    let mean = total as f64 / partitions as f64;
    for (i, &b) in model.bytes.iter().enumerate() {
        let share = b as f64 / mean;
        prop_assert!(
            (1.0 - tolerance..=1.0 + tolerance).contains(&share),
            "partition {i} got {share:.2} of its fair share ({:?})",
            model.bytes
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(statistical(48))]

    /// KIP-480/794 uniform sticky: over 300 batches' worth of bytes per partition (a sticky period
    /// lasts one to two batches, so ~150–300 periods each) every partition gets its share of
    /// bytes within ±40% (about five standard deviations).
    #[test]
    fn java_uniform_sticky_spreads_evenly(
        partitions in 2usize..=16,
        batch_size in 512usize..=4096,
        seed in any::<u64>(),
    ) {
        let mut p = BuiltInPartitioner::new(batch_size as u32, SplitMix64::new(seed));
        assert_even_spread(&mut p, partitions, batch_size, seed ^ 1, 300, 0.4)?;
    }

    /// librdkafka-style stickiness (a new random partition each time the sticky partition's
    /// batch closes) spreads as evenly.
    #[test]
    fn librdkafka_sticky_spreads_evenly(
        partitions in 2usize..=16,
        batch_size in 512usize..=4096,
        seed in any::<u64>(),
    ) {
        let mut p = LibrdkafkaPartitioner::new(LibrdkafkaKind::ConsistentRandom, SplitMix64::new(seed));
        assert_even_spread(&mut p, partitions, batch_size, seed ^ 2, 300, 0.4)?;
    }
}

/// One step of the availability scenario.
#[derive(Clone, Debug)]
enum Step {
    /// Change which partitions have a leader (bit mask over the partitions).
    Leaders(u64),
    /// Report load: one entry per partition in the mask, queue depths and stall times from the
    /// seeds. The mask may be stale (differ from the current leaders).
    Load(u64, u64, u64),
    /// Send this many keyless records of this size.
    Send(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<u64>().prop_map(Step::Leaders),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| Step::Load(a, b, c)),
        (1usize..40, 10usize..600).prop_map(|(n, s)| Step::Send(n, s)),
    ]
}

fn mask_to_list(mask: u64, n: u32) -> Vec<i32> {
    (0..n as i32).filter(|&i| mask >> i & 1 == 1).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever leaders come and go and whatever (possibly stale) load is reported, a keyless
    /// record never lands on a partition without a leader while some partition has one, and
    /// never on one whose leader is stalled past the availability timeout while a healthy one
    /// exists.
    #[test]
    fn adaptive_never_picks_an_unusable_partition(
        n in 2u32..=24,
        timeout in prop_oneof![Just(0u64), 1u64..1000],
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut p = BuiltInPartitioner::new(1024, SplitMix64::new(seed))
            .with_availability_timeout_ms(timeout);
        let mut model = Model::new(n as usize, 1024);
        let mut leaders: Vec<i32> = (0..n as i32).collect();
        // Partitions currently reported stalled past the timeout (only if that report is the
        // latest load and was made with the current leaders).
        let mut stalled: Vec<i32> = Vec::new();
        for step in steps {
            match step {
                Step::Leaders(mask) => {
                    leaders = mask_to_list(mask, n);
                    stalled.clear();
                }
                Step::Load(mask, depths, stalls) => {
                    let mut rng = SplitMix64::new(depths ^ stalls);
                    let listed = mask_to_list(mask, n);
                    let load: Vec<PartitionLoad> = listed
                        .iter()
                        .map(|&i| {
                            let depth = (rng.next_u64() % 8) as u32;
                            let stall = if stalls >> i & 1 == 1 { timeout + 1 + rng.next_u64() % 100 } else { 0 };
                            PartitionLoad::new(i, depth, stall)
                        })
                        .collect();
                    p.update_load(TOPIC, n, &load);
                    stalled = if timeout > 0 && listed == leaders {
                        load.iter().filter(|l| l.stalled_ms > timeout).map(|l| l.partition).collect()
                    } else {
                        Vec::new()
                    };
                }
                Step::Send(count, size) => {
                    let parts = Partitions::new(n, &leaders).unwrap();
                    let healthy = leaders.iter().any(|l| !stalled.contains(l));
                    for _ in 0..count {
                        // `None` before the call means the sticky period ended: a fresh choice.
                        let before = p.sticky_partition(TOPIC);
                        let chosen = model.send(&mut p, &parts, size);
                        if !leaders.is_empty() {
                            prop_assert!(leaders.contains(&chosen), "picked {chosen} without a leader; leaders {leaders:?}");
                        }
                        if before != Some(chosen) && healthy {
                            prop_assert!(!stalled.contains(&chosen), "newly picked stalled partition {chosen}");
                        }
                    }
                }
            }
        }
    }

}

proptest! {
    #![proptest_config(statistical(64))]

    /// A partition whose queue drains slowly gets much less of the keyless traffic with adaptive
    /// partitioning than the fast ones, and about the same without it.
    #[test]
    fn adaptive_shifts_load_away_from_a_slow_partition(
        n in 2usize..=8,
        slow in 0usize..8,
        seed in any::<u64>(),
    ) {
        let slow = slow % n;
        let run = |adaptive: bool| {
            let batch_size = 1024;
            let mut p = BuiltInPartitioner::new(batch_size as u32, SplitMix64::new(seed))
                .with_adaptive(adaptive);
            let parts = Partitions::all_available(n as u32).unwrap();
            let mut model = Model::new(n, batch_size);
            for tick in 0..300u32 {
                p.update_load(TOPIC, n as u32, &model.load());
                // About four batches of traffic per tick.
                for _ in 0..32 {
                    model.send(&mut p, &parts, batch_size / 8);
                }
                // Fast partitions drain two batches per tick, the slow one one per eight ticks.
                for (i, q) in model.queued.iter_mut().enumerate() {
                    let drained = if i == slow { u32::from(tick % 8 == 0) } else { 2 };
                    *q = q.saturating_sub(drained);
                }
            }
            let fast: Vec<u64> = (0..n).filter(|&i| i != slow).map(|i| model.bytes[i]).collect();
            let mean_fast = fast.iter().sum::<u64>() as f64 / fast.len() as f64;
            (model.bytes[slow] as f64 / mean_fast, model.queued[slow])
        };
        let (adaptive_share, adaptive_backlog) = run(true);
        let (uniform_share, uniform_backlog) = run(false);
        prop_assert!(adaptive_share < 0.5, "slow partition got {adaptive_share:.2} of a fast one's bytes");
        prop_assert!(uniform_share > 0.5, "without adaptive it should get its share: {uniform_share:.2}");
        prop_assert!(adaptive_backlog < uniform_backlog, "backlog {adaptive_backlog} vs {uniform_backlog}");
    }
}

/// With a stalled partition excluded, a healthy topic of two never sees the stalled one picked
/// again until the load report changes.
#[test]
fn stalled_partition_is_excluded_until_reported_healthy() {
    let mut p = BuiltInPartitioner::new(100, SplitMix64::new(3)).with_availability_timeout_ms(500);
    let parts = Partitions::all_available(2).unwrap();
    let mut model = Model::new(2, 100);
    p.update_load(
        TOPIC,
        2,
        &[PartitionLoad::new(0, 0, 0), PartitionLoad::new(1, 0, 501)],
    );
    // Every record fills a batch, so every record is a fresh choice: none may be partition 1.
    let before = model.bytes[1];
    for _ in 0..500 {
        model.send(&mut p, &parts, 100);
    }
    assert_eq!(model.bytes[1], before);
    p.update_load(
        TOPIC,
        2,
        &[PartitionLoad::new(0, 0, 0), PartitionLoad::new(1, 0, 0)],
    );
    for _ in 0..500 {
        model.send(&mut p, &parts, 100);
    }
    assert!(model.bytes[1] > before);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No input makes any partitioner panic or choose outside `[0, count)`; explicit partitions
    /// are returned as given when in range and rejected otherwise; hooks accept nonsense.
    #[test]
    fn every_partitioner_stays_in_range(
        name in 0usize..PARTITIONER_NAMES.len(),
        count in prop_oneof![1u32..=70, Just(i32::MAX as u32)],
        mask in any::<u64>(),
        keys in proptest::collection::vec(
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)), 1..32),
        explicit in proptest::option::of(any::<i32>()),
        junk_partition in any::<i32>(),
        seed in any::<u64>(),
    ) {
        let mut p = by_name_with(PARTITIONER_NAMES[name], &PartitionerConfig::with_seed(seed)).unwrap();
        let leaders = mask_to_list(mask, count.min(64));
        let parts = Partitions::new(count, &leaders).unwrap();
        p.update_load(TOPIC, count, &[PartitionLoad::new(junk_partition, 3, u64::MAX)]);
        p.on_batch_closed(TOPIC, junk_partition);
        for key in &keys {
            let mut record = Record::new(TOPIC, key.as_deref());
            if let Some(e) = explicit {
                record = record.with_partition(e);
            }
            match select_partition(&mut p, &record, &parts) {
                Ok(chosen) => {
                    prop_assert!(chosen >= 0 && (chosen as u32) < count);
                    if let Some(e) = explicit {
                        prop_assert_eq!(chosen, e);
                    }
                    p.on_append(&record, &Appended::new(chosen, usize::MAX, true));
                }
                Err(err) => {
                    let e = explicit.unwrap();
                    prop_assert!(e < 0 || e as u32 >= count);
                    prop_assert_eq!(err, Error::PartitionOutOfRange { partition: e, count });
                }
            }
        }
    }
}
