//! Java- and librdkafka-compatible Kafka partitioners.
//!
//! Keys decide ordering: a consumer that relies on "same key, same partition" breaks if this
//! producer puts a key somewhere else than the Java client or librdkafka would. Every keyed
//! placement here is bit-exact with its reference (see the tests, including a differential test
//! against librdkafka's own partitioner functions).
//!
//! The crate is pure: no I/O, no clock, no global state and no ambient randomness. Randomness
//! comes from a [`RandomSource`] handed to each partitioner when it is built; time-dependent
//! inputs (how long a leader has been stalled) come in as numbers in [`PartitionLoad`].
//!
//! # When to use this crate alone
//!
//! The crate depends on no other Kafka code (only `thiserror`). Pick it without the rest of
//! ferrokafka when a key must land where another client puts it:
//!
//! * a producer built on another library or in another stack that must agree with Java or
//!   librdkafka producers writing the same topics (a migration, dual writes), so that each key
//!   keeps one partition and its order;
//! * a stream processor, a test or a repair tool that computes which partition holds a key
//!   (to read it back, or to co-partition two topics) without producing anything;
//! * a producer of your own that wants Java's uniform sticky and adaptive placement of keyless
//!   records.
//!
//! For a key alone, the hash functions are enough:
//!
//! ```
//! use ferrokafka_partition::hash::murmur2_partition;
//!
//! // The partition of key "kafka" in a 12-partition topic, for a Java producer with the
//! // default partitioner and for librdkafka's `murmur2` and `murmur2_random`.
//! assert_eq!(murmur2_partition(b"kafka", 12), 4);
//! ```
//!
//! # Using a partitioner
//!
//! 1. Build one with [`by_name`] / [`by_name_with`] (config names as the Java client and
//!    librdkafka spell them) or construct [`BuiltInPartitioner`], [`RoundRobinPartitioner`] or
//!    [`LibrdkafkaPartitioner`] directly. A custom partitioner is any `Box<dyn Partitioner>`.
//! 2. For each record call [`select_partition`]: an explicit partition on the record always wins
//!    (checked against the partition count); otherwise the partitioner chooses, and its choice is
//!    checked too.
//! 3. After appending the record to a batch, call [`Partitioner::on_append`]; when a batch stops
//!    taking appends (full, lingered, flushed), call [`Partitioner::on_batch_closed`]; whenever the
//!    accumulator has computed per-partition queue depths, call [`Partitioner::update_load`].
//!
//! ```
//! use ferrokafka_partition::{Appended, Partitions, Record, by_name, select_partition};
//!
//! let mut partitioner = by_name("")?; // `partitioner` unset: the Java default
//! let partitions = Partitions::all_available(12)?;
//!
//! // Keyed: toPositive(murmur2("kafka")) % 12 == 4, as in the Java client.
//! let keyed = Record::new("orders", Some(b"kafka"));
//! assert_eq!(select_partition(&mut partitioner, &keyed, &partitions)?, 4);
//!
//! // Keyless: sticky until `batch.size` bytes went there; tell it what was appended.
//! let keyless = Record::new("orders", None).with_value_len(100);
//! let p = select_partition(&mut partitioner, &keyless, &partitions)?;
//! partitioner.on_append(&keyless, &Appended::new(p, 100, false));
//! assert_eq!(select_partition(&mut partitioner, &keyless, &partitions)?, p);
//!
//! // An explicit partition wins, and is checked.
//! let explicit = Record::new("orders", Some(b"kafka")).with_partition(7);
//! assert_eq!(select_partition(&mut partitioner, &explicit, &partitions)?, 7);
//! assert!(select_partition(&mut partitioner, &explicit.with_partition(12), &partitions).is_err());
//! # Ok::<(), ferrokafka_partition::Error>(())
//! ```
//!
//! # Rules, partitioner by partitioner
//!
//! **Java default** ([`BuiltInPartitioner`], `partitioner` unset; `KafkaProducer.partition` and
//! `BuiltInPartitioner` in the Java client):
//! * keyed (non-null key, even empty, unless `partitioner.ignore.keys=true`):
//!   `toPositive(murmur2(key)) % partition_count`, where `toPositive` is `& 0x7fffffff` (not
//!   `abs`) and the count includes partitions without a leader;
//! * keyless: *uniform sticky* (KIP-480, refined in Kafka 3.3 by KIP-794). The partitioner stays on
//!   one partition and counts the bytes appended there by keyless records. It switches once those
//!   bytes reach `batch.size` **and** the partition has no open batch with room left
//!   ([`Appended::batch_full`]), or unconditionally once they reach `2 × batch.size`;
//! * choosing the next sticky partition (KIP-794, `partitioner.adaptive.partitioning.enable`,
//!   default true): with load statistics, each partition with a leader gets the weight
//!   `max_queue + 1 − queue` and one random number `toPositive(r) % total` is looked up in the
//!   cumulative frequency table; partitions whose leader has been stalled longer than
//!   `partitioner.availability.timeout.ms` (when > 0) are left out of the table. Without load
//!   statistics (adaptive off, fewer than two partitions, or all queues equal with nothing
//!   excluded) the choice is uniform among partitions with a leader, or among all partitions when
//!   none has one;
//! * one deliberate difference from Java, for keyless records only (they carry no ordering
//!   promise): when the current sticky partition loses its leader while another partition has one,
//!   this partitioner switches at once instead of waiting for `batch.size` bytes to pile up
//!   behind a missing leader.
//!
//! **Java `RoundRobinPartitioner`** ([`RoundRobinPartitioner`]): a per-topic counter starting at
//! 0, incremented once per record (keys ignored); `toPositive(counter) % available` indexes the
//! partitions with a leader in ascending order, or `% partition_count` when none has one.
//!
//! **librdkafka** ([`LibrdkafkaPartitioner`], `src/rdkafka_msg.c`): `random`, `consistent`
//! (zlib CRC-32), `consistent_random` (librdkafka's default), `murmur2`, `murmur2_random` (the Java
//! behaviour), `fnv1a`, `fnv1a_random`. Null and empty keys follow librdkafka's table, documented
//! on [`LibrdkafkaKind`]. Where librdkafka would use its sticky partition (timer-driven by
//! `sticky.partitioning.linger.ms`), this crate, having no clock, sticks until a batch of the
//! sticky partition closes or the partition loses its leader; with stickiness disabled (librdkafka's
//! `sticky.partitioning.linger.ms=0`) each such record is placed like the `random` partitioner.
//!
//! # Module map
//!
//! * [`hash`]: murmur2, FNV-1a and CRC-32 with their published vectors.
//! * `builtin`, `round_robin`, `librdkafka`: the partitioners.
//! * `factory`: [`by_name`], [`PartitionerConfig`].
//! * `random`: [`RandomSource`], [`SplitMix64`].
//! * `error`: [`Error`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builtin;
mod error;
mod factory;
pub mod hash;
mod librdkafka;
mod name;
mod random;
mod round_robin;

pub use builtin::BuiltInPartitioner;
pub use error::Error;
pub use factory::{
    DEFAULT_SEED, JAVA_DEFAULT_PARTITIONER, JAVA_ROUND_ROBIN_PARTITIONER,
    JAVA_UNIFORM_STICKY_PARTITIONER, PARTITIONER_NAMES, PartitionerConfig, by_name, by_name_with,
};
pub use librdkafka::{LibrdkafkaKind, LibrdkafkaPartitioner};
pub use name::same_name;
pub use random::{RandomSource, SplitMix64};
pub use round_robin::RoundRobinPartitioner;

/// What a partitioner may look at in one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record<'a> {
    /// The topic the record goes to.
    pub topic: &'a str,
    /// The serialized key: `None` is a null key, `Some(&[])` an empty one; partitioners treat the
    /// two differently.
    pub key: Option<&'a [u8]>,
    /// Size of the serialized value in bytes (0 for a null value).
    pub value_len: usize,
    /// A partition set explicitly on the record; it always wins over the partitioner.
    pub partition: Option<i32>,
}

impl<'a> Record<'a> {
    /// A record for `topic` with the given key, no value and no explicit partition.
    pub fn new(topic: &'a str, key: Option<&'a [u8]>) -> Self {
        Self {
            topic,
            key,
            value_len: 0,
            partition: None,
        }
    }

    /// The same record with the value size set.
    pub fn with_value_len(mut self, value_len: usize) -> Self {
        self.value_len = value_len;
        self
    }

    /// The same record with an explicit partition.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
}

/// How many partitions a topic has and which of them currently have a leader.
///
/// Built only through constructors that validate: the count is at least 1 and at most
/// `i32::MAX`, and the leader list is strictly ascending and in range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partitions<'a> {
    count: u32,
    leaders: Leaders<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaders<'a> {
    /// Every partition has a leader (the common case; costs nothing to describe).
    All,
    /// Only these partitions have a leader (strictly ascending, each `< count`).
    Only(&'a [i32]),
}

impl<'a> Partitions<'a> {
    /// A topic of `count` partitions that all have a leader.
    pub fn all_available(count: u32) -> Result<Self, Error> {
        Ok(Self {
            count: check_count(count)?,
            leaders: Leaders::All,
        })
    }

    /// A topic of `count` partitions of which exactly those in `with_leader` (strictly
    /// ascending) have a leader. An empty list means no partition has a leader.
    pub fn new(count: u32, with_leader: &'a [i32]) -> Result<Self, Error> {
        let count = check_count(count)?;
        let mut previous = -1i64;
        for (index, &partition) in with_leader.iter().enumerate() {
            if i64::from(partition) <= previous || partition as i64 >= i64::from(count) {
                return Err(Error::InvalidLeaderList {
                    index,
                    partition,
                    count,
                });
            }
            previous = i64::from(partition);
        }
        let leaders = if with_leader.len() == count as usize {
            Leaders::All
        } else {
            Leaders::Only(with_leader)
        };
        Ok(Self { count, leaders })
    }

    /// Number of partitions of the topic, with or without a leader.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Number of partitions that have a leader.
    pub fn available_count(&self) -> usize {
        match self.leaders {
            Leaders::All => self.count as usize,
            Leaders::Only(list) => list.len(),
        }
    }

    /// The `n`-th partition with a leader, in ascending order.
    pub fn nth_available(&self, n: usize) -> Option<i32> {
        match self.leaders {
            Leaders::All => (n < self.count as usize).then_some(n as i32),
            Leaders::Only(list) => list.get(n).copied(),
        }
    }

    /// The partition an unsigned draw `n` picks: the `n mod k`-th of the `k` partitions with a
    /// leader, or `n mod count` when none has one (as Java's partitioners spread records).
    pub fn pick(&self, n: u32) -> i32 {
        let available = self.available_count();
        if available > 0 {
            self.nth_available(n as usize % available)
                .unwrap_or_default()
        } else {
            (n % self.count) as i32
        }
    }

    /// Whether `partition` exists and has a leader.
    pub fn is_available(&self, partition: i32) -> bool {
        if !self.contains(partition) {
            return false;
        }
        match self.leaders {
            Leaders::All => true,
            Leaders::Only(list) => list.binary_search(&partition).is_ok(),
        }
    }

    /// Whether `partition` is in `[0, count)`.
    pub fn contains(&self, partition: i32) -> bool {
        partition >= 0 && (partition as u32) < self.count
    }

    /// Iterator over the partitions with a leader, ascending.
    pub fn available(&self) -> impl Iterator<Item = i32> + '_ {
        (0..self.available_count()).filter_map(|n| self.nth_available(n))
    }
}

/// An owned, validated [`Partitions`]: checked once (when a topic's metadata arrives), then
/// viewed per record for free — [`Partitions::new`] checks its leader list on every call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSet {
    count: u32,
    /// `None` when every partition has a leader.
    with_leader: Option<Vec<i32>>,
}

impl PartitionSet {
    /// A topic of `count` partitions of which exactly those in `with_leader` (strictly
    /// ascending) have a leader, checked as [`Partitions::new`] does.
    pub fn new(count: u32, with_leader: Vec<i32>) -> Result<Self, Error> {
        let all = matches!(Partitions::new(count, &with_leader)?.leaders, Leaders::All);
        Ok(Self {
            count,
            with_leader: (!all).then_some(with_leader),
        })
    }

    /// The set as a [`Partitions`] for the partitioners.
    pub fn view(&self) -> Partitions<'_> {
        Partitions {
            count: self.count,
            leaders: match &self.with_leader {
                None => Leaders::All,
                Some(list) => Leaders::Only(list),
            },
        }
    }
}

fn check_count(count: u32) -> Result<u32, Error> {
    if count == 0 {
        Err(Error::NoPartitions)
    } else if count > i32::MAX as u32 {
        Err(Error::TooManyPartitions {
            count: u64::from(count),
        })
    } else {
        Ok(count)
    }
}

/// What was appended after a partition was chosen, for [`Partitioner::on_append`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// The partition the record went to.
    pub partition: i32,
    /// Bytes the record added to its batch (its estimated size in the batch).
    pub bytes: usize,
    /// True when, after this append, the partition has no open batch with room left: its newest
    /// batch is full or closed, or it has none. (Java's `allBatchesFull`, which allows the uniform
    /// sticky partitioner to switch.)
    pub batch_full: bool,
}

impl Appended {
    /// Describe an append.
    pub fn new(partition: i32, bytes: usize, batch_full: bool) -> Self {
        Self {
            partition,
            bytes,
            batch_full,
        }
    }
}

/// Load of one partition that has a leader, for [`Partitioner::update_load`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionLoad {
    /// The partition.
    pub partition: i32,
    /// Batches queued for it (Java uses the length of the partition's batch deque).
    pub queued_batches: u32,
    /// How long, in milliseconds, its leader's node has had data ready without being drained
    /// (Java's `readyTimeMs - drainTimeMs`); 0 for a healthy node.
    pub stalled_ms: u64,
}

impl PartitionLoad {
    /// Describe the load of one partition.
    pub fn new(partition: i32, queued_batches: u32, stalled_ms: u64) -> Self {
        Self {
            partition,
            queued_batches,
            stalled_ms,
        }
    }
}

/// Chooses a partition for records that name none.
///
/// Implementations must return a partition in `[0, partitions.count())`; [`select_partition`]
/// checks it. All hooks have empty defaults, so a stateless custom partitioner implements only
/// [`partition`](Partitioner::partition).
pub trait Partitioner: Send {
    /// Choose a partition for `record` (whose explicit partition, if any, has already won in
    /// [`select_partition`] and is not consulted).
    fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32;

    /// `record` was appended to a batch of `appended.partition`. Drives byte-counting stickiness.
    fn on_append(&mut self, record: &Record<'_>, appended: &Appended) {
        let _ = (record, appended);
    }

    /// A batch of `partition` stopped taking appends (full, lingered out or flushed). Drives
    /// batch-boundary stickiness.
    fn on_batch_closed(&mut self, topic: &str, partition: i32) {
        let _ = (topic, partition);
    }

    /// Fresh load statistics for `topic`: one entry per partition that has a leader, for a topic
    /// of `partition_count` partitions. An empty `load` withdraws earlier statistics. Drives
    /// adaptive choice (KIP-794).
    fn update_load(&mut self, topic: &str, partition_count: u32, load: &[PartitionLoad]) {
        let _ = (topic, partition_count, load);
    }
}

impl<P: Partitioner + ?Sized> Partitioner for Box<P> {
    fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
        (**self).partition(record, partitions)
    }

    fn on_append(&mut self, record: &Record<'_>, appended: &Appended) {
        (**self).on_append(record, appended);
    }

    fn on_batch_closed(&mut self, topic: &str, partition: i32) {
        (**self).on_batch_closed(topic, partition);
    }

    fn update_load(&mut self, topic: &str, partition_count: u32, load: &[PartitionLoad]) {
        (**self).update_load(topic, partition_count, load);
    }
}

/// The partition for `record`: its explicit partition if it has one (after checking the range),
/// otherwise the partitioner's choice (also checked).
pub fn select_partition<P: Partitioner + ?Sized>(
    partitioner: &mut P,
    record: &Record<'_>,
    partitions: &Partitions<'_>,
) -> Result<i32, Error> {
    if let Some(partition) = record.partition {
        return if partitions.contains(partition) {
            Ok(partition)
        } else {
            Err(Error::PartitionOutOfRange {
                partition,
                count: partitions.count(),
            })
        };
    }
    let partition = partitioner.partition(record, partitions);
    if partitions.contains(partition) {
        Ok(partition)
    } else {
        Err(Error::InvalidChoice {
            partition,
            count: partitions.count(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Always(i32);
    impl Partitioner for Always {
        fn partition(&mut self, _: &Record<'_>, _: &Partitions<'_>) -> i32 {
            self.0
        }
    }

    #[test]
    fn a_partition_set_is_checked_once_and_views_as_partitions() {
        for (count, list) in [
            (4, vec![0, 1, 2, 3]),
            (4, vec![1, 3]),
            (4, vec![]),
            (1, vec![0]),
        ] {
            let set = PartitionSet::new(count, list.clone()).unwrap();
            assert_eq!(
                set.view(),
                Partitions::new(count, &list).unwrap(),
                "{list:?}"
            );
        }
        for (count, list) in [(0, vec![]), (4, vec![2, 1]), (4, vec![1, 1]), (4, vec![4])] {
            assert_eq!(
                PartitionSet::new(count, list.clone()),
                Err(Partitions::new(count, &list).unwrap_err()),
                "{count} {list:?}"
            );
        }
    }

    #[test]
    fn zero_partitions_is_an_error() {
        assert_eq!(Partitions::all_available(0), Err(Error::NoPartitions));
        assert_eq!(Partitions::new(0, &[]), Err(Error::NoPartitions));
        assert_eq!(
            Partitions::all_available(u32::MAX),
            Err(Error::TooManyPartitions {
                count: u64::from(u32::MAX)
            })
        );
    }

    #[test]
    fn leader_list_is_validated() {
        assert!(Partitions::new(4, &[0, 2, 3]).is_ok());
        assert_eq!(
            Partitions::new(4, &[0, 2, 2]),
            Err(Error::InvalidLeaderList {
                index: 2,
                partition: 2,
                count: 4
            })
        );
        assert!(matches!(
            Partitions::new(4, &[1, 0]),
            Err(Error::InvalidLeaderList { index: 1, .. })
        ));
        assert!(matches!(
            Partitions::new(4, &[4]),
            Err(Error::InvalidLeaderList { index: 0, .. })
        ));
        assert!(matches!(
            Partitions::new(4, &[-1]),
            Err(Error::InvalidLeaderList { index: 0, .. })
        ));
    }

    #[test]
    fn availability_queries() {
        let p = Partitions::new(5, &[1, 3]).unwrap();
        assert_eq!(p.count(), 5);
        assert_eq!(p.available_count(), 2);
        assert_eq!(p.available().collect::<Vec<_>>(), vec![1, 3]);
        assert!(p.is_available(3));
        assert!(!p.is_available(2));
        assert!(!p.is_available(7));
        assert!(!p.is_available(-1));
        let all = Partitions::new(3, &[0, 1, 2]).unwrap();
        assert_eq!(all, Partitions::all_available(3).unwrap());
        assert_eq!(all.nth_available(3), None);
    }

    #[test]
    fn explicit_partition_wins_and_is_checked() {
        let parts = Partitions::all_available(3).unwrap();
        let mut p = Always(0);
        let rec = Record::new("t", Some(b"k")).with_partition(2);
        assert_eq!(select_partition(&mut p, &rec, &parts), Ok(2));
        let rec = Record::new("t", None).with_partition(3);
        assert_eq!(
            select_partition(&mut p, &rec, &parts),
            Err(Error::PartitionOutOfRange {
                partition: 3,
                count: 3
            })
        );
        let rec = Record::new("t", None).with_partition(-1);
        assert!(matches!(
            select_partition(&mut p, &rec, &parts),
            Err(Error::PartitionOutOfRange { partition: -1, .. })
        ));
    }

    #[test]
    fn custom_partitioner_as_trait_object_is_checked() {
        let parts = Partitions::all_available(3).unwrap();
        let rec = Record::new("t", None);
        let mut good: Box<dyn Partitioner> = Box::new(Always(1));
        assert_eq!(select_partition(&mut good, &rec, &parts), Ok(1));
        let mut bad: Box<dyn Partitioner> = Box::new(Always(5));
        assert_eq!(
            select_partition(&mut bad, &rec, &parts),
            Err(Error::InvalidChoice {
                partition: 5,
                count: 3
            })
        );
        let mut negative: Box<dyn Partitioner> = Box::new(Always(-2));
        assert!(matches!(
            select_partition(negative.as_mut(), &rec, &parts),
            Err(Error::InvalidChoice { partition: -2, .. })
        ));
    }

    #[test]
    fn error_messages_are_clear() {
        let e = Error::PartitionOutOfRange {
            partition: 9,
            count: 3,
        };
        assert_eq!(
            e.to_string(),
            "invalid partition given with record: 9 is not in the range [0...3)"
        );
        assert!(
            Error::NoPartitions
                .to_string()
                .contains("partition count is 0")
        );
    }
}
