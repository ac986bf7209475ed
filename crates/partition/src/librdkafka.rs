//! librdkafka's partitioners, selected by the names of its `partitioner` setting.
//!
//! Keyed placement is bit-exact with `rd_kafka_msg_partitioner_*` in librdkafka's
//! `src/rdkafka_msg.c`; which records go to the sticky partition instead follows its dispatch in
//! `rd_kafka_msg_partition` (see [`LibrdkafkaKind`]).

use std::collections::BTreeMap;

use crate::hash::{crc32_partition, fnv1a_partition, murmur2_partition};
use crate::{Partitioner, Partitions, RandomSource, Record};

/// One of librdkafka's built-in partitioners.
///
/// | name | non-empty key | NULL key | empty key |
/// |---|---|---|---|
/// | `random` | random | sticky | random |
/// | `consistent` | `crc32(key) % n` | partition `crc32("") % n` = 0 | 0 |
/// | `consistent_random` | `crc32(key) % n` | sticky | sticky |
/// | `murmur2` | `(murmur2(key) & 0x7fffffff) % n` | `murmur2("")` = `0x106e08d9`, `% n` | same as NULL |
/// | `murmur2_random` | as `murmur2` | sticky | hashed (as Java) |
/// | `fnv1a` | `fnv1a(key) % n` | `fnv1a("")` = `0x7ee3623b`, `% n` | same as NULL |
/// | `fnv1a_random` | as `fnv1a` | sticky | hashed |
///
/// "random" is librdkafka's `random` partitioner: a uniform draw over all partitions, drawn once
/// more if the first pick has no leader. "sticky" is described on [`LibrdkafkaPartitioner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LibrdkafkaKind {
    /// `random`.
    Random,
    /// `consistent`.
    Consistent,
    /// `consistent_random` (librdkafka's default).
    ConsistentRandom,
    /// `murmur2`.
    Murmur2,
    /// `murmur2_random` (the Java client's behaviour).
    Murmur2Random,
    /// `fnv1a`.
    Fnv1a,
    /// `fnv1a_random`.
    Fnv1aRandom,
}

impl LibrdkafkaKind {
    /// Every kind, in librdkafka's documentation order.
    pub const ALL: [Self; 7] = [
        Self::Random,
        Self::Consistent,
        Self::ConsistentRandom,
        Self::Murmur2,
        Self::Murmur2Random,
        Self::Fnv1a,
        Self::Fnv1aRandom,
    ];

    /// The value of librdkafka's `partitioner` setting for this kind.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Consistent => "consistent",
            Self::ConsistentRandom => "consistent_random",
            Self::Murmur2 => "murmur2",
            Self::Murmur2Random => "murmur2_random",
            Self::Fnv1a => "fnv1a",
            Self::Fnv1aRandom => "fnv1a_random",
        }
    }

    /// The kind librdkafka's `partitioner` setting names, if any (exact, case-sensitive match).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How this kind places a record with this key, deterministically where librdkafka is.
    fn place(self, key: Option<&[u8]>, count: u32) -> Placement {
        let empty: &[u8] = &[];
        match (self, key) {
            (Self::Random, None) => Placement::Sticky,
            (Self::Random, Some(_)) => Placement::Random,
            (Self::Consistent, key) => {
                Placement::Fixed(crc32_partition(key.unwrap_or(empty), count))
            }
            (Self::ConsistentRandom, None) => Placement::Sticky,
            (Self::ConsistentRandom, Some([])) => Placement::Sticky,
            (Self::ConsistentRandom, Some(k)) => Placement::Fixed(crc32_partition(k, count)),
            (Self::Murmur2, key) => {
                Placement::Fixed(murmur2_partition(key.unwrap_or(empty), count))
            }
            (Self::Murmur2Random | Self::Fnv1aRandom, None) => Placement::Sticky,
            (Self::Murmur2Random, Some(k)) => Placement::Fixed(murmur2_partition(k, count)),
            (Self::Fnv1a, key) => Placement::Fixed(fnv1a_partition(key.unwrap_or(empty), count)),
            (Self::Fnv1aRandom, Some(k)) => Placement::Fixed(fnv1a_partition(k, count)),
        }
    }

    /// The partition librdkafka's partitioner function for this kind returns for `key`, when
    /// that is deterministic; `None` when it draws a random partition (or the record goes to the
    /// sticky partition). `key` `None` is a NULL key. `partition_count` must be non-zero.
    ///
    /// This is the pure hashing half of [`LibrdkafkaPartitioner`], also handy for comparing with
    /// other implementations.
    pub fn keyed_partition(self, key: Option<&[u8]>, partition_count: u32) -> Option<i32> {
        match self.place(key, partition_count) {
            Placement::Fixed(p) => Some(p),
            Placement::Random | Placement::Sticky => None,
        }
    }
}

enum Placement {
    Fixed(i32),
    Random,
    Sticky,
}

/// A librdkafka partitioner.
///
/// Records that librdkafka would send to its *sticky partition* (see the table on
/// [`LibrdkafkaKind`]) stay on one partition per topic. librdkafka changes that partition every
/// `sticky.partitioning.linger.ms`; this crate has no clock, so the sticky partition changes when
/// a batch of it closes ([`Partitioner::on_batch_closed`]) or when it has lost its leader (as in
/// librdkafka), and is then drawn like the `random` partitioner. With stickiness disabled
/// ([`Self::with_sticky`]`(false)`, librdkafka's `sticky.partitioning.linger.ms=0`) those records
/// are placed like `random`, one draw per record.
#[derive(Debug)]
pub struct LibrdkafkaPartitioner {
    kind: LibrdkafkaKind,
    sticky: bool,
    random: Box<dyn RandomSource>,
    /// Sticky partition per topic; a `BTreeMap` so no randomly seeded hasher is involved.
    sticky_partitions: BTreeMap<String, i32>,
}

impl LibrdkafkaPartitioner {
    /// A partitioner of `kind` with stickiness on (librdkafka's default linger is 10 ms).
    pub fn new(kind: LibrdkafkaKind, random: impl RandomSource + 'static) -> Self {
        Self {
            kind,
            sticky: true,
            random: Box::new(random),
            sticky_partitions: BTreeMap::new(),
        }
    }

    /// Turn stickiness on or off (off = librdkafka's `sticky.partitioning.linger.ms=0`).
    pub fn with_sticky(mut self, sticky: bool) -> Self {
        self.sticky = sticky;
        self
    }

    /// Which librdkafka partitioner this is.
    pub fn kind(&self) -> LibrdkafkaKind {
        self.kind
    }

    /// librdkafka's `rd_kafka_msg_partitioner_random`: a uniform draw, and one more if the first
    /// has no leader. (The second draw is returned whatever it is, as in librdkafka.)
    fn random_partition(&mut self, partitions: &Partitions<'_>) -> i32 {
        let count = partitions.count();
        let first = (self.random.next_u32() % count) as i32;
        if partitions.is_available(first) {
            first
        } else {
            (self.random.next_u32() % count) as i32
        }
    }

    fn sticky_partition(&mut self, topic: &str, partitions: &Partitions<'_>) -> i32 {
        if let Some(&p) = self.sticky_partitions.get(topic)
            && partitions.is_available(p)
        {
            return p;
        }
        let p = self.random_partition(partitions);
        if let Some(slot) = self.sticky_partitions.get_mut(topic) {
            *slot = p;
        } else {
            self.sticky_partitions.insert(topic.to_owned(), p);
        }
        p
    }
}

impl Partitioner for LibrdkafkaPartitioner {
    fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
        match self.kind.place(record.key, partitions.count()) {
            Placement::Fixed(p) => p,
            Placement::Random => self.random_partition(partitions),
            Placement::Sticky if self.sticky => self.sticky_partition(record.topic, partitions),
            Placement::Sticky => self.random_partition(partitions),
        }
    }

    fn on_batch_closed(&mut self, topic: &str, partition: i32) {
        if self.sticky_partitions.get(topic) == Some(&partition) {
            self.sticky_partitions.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Script;
    use std::collections::VecDeque;

    fn part(kind: LibrdkafkaKind, key: Option<&[u8]>, n: u32) -> i32 {
        let mut p = LibrdkafkaPartitioner::new(kind, Script(VecDeque::new()));
        p.partition(
            &Record::new("t", key),
            &Partitions::all_available(n).unwrap(),
        )
    }

    #[test]
    fn names_round_trip() {
        for kind in LibrdkafkaKind::ALL {
            assert_eq!(LibrdkafkaKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(LibrdkafkaKind::from_name("Murmur2"), None);
        assert_eq!(LibrdkafkaKind::from_name(""), None);
    }

    #[test]
    fn keyed_placement_uses_each_hash() {
        use LibrdkafkaKind::*;
        // Derived vectors: crc32 "key" %10 = 7, murmur2 "kafka" %10 = 0, fnv1a "key" %10 = 8.
        assert_eq!(part(Consistent, Some(b"key"), 10), 7);
        assert_eq!(part(ConsistentRandom, Some(b"key"), 10), 7);
        assert_eq!(part(Murmur2, Some(b"kafka"), 10), 0);
        assert_eq!(part(Murmur2Random, Some(b"kafka"), 10), 0);
        assert_eq!(part(Fnv1a, Some(b"key"), 10), 8);
        assert_eq!(part(Fnv1aRandom, Some(b"key"), 10), 8);
    }

    #[test]
    fn null_and_empty_keys_follow_librdkafka_table() {
        use LibrdkafkaKind::*;
        let empty: &[u8] = b"";
        // consistent: crc32("") = 0 -> partition 0, for NULL and empty alike.
        assert_eq!(Consistent.keyed_partition(None, 7), Some(0));
        assert_eq!(Consistent.keyed_partition(Some(empty), 7), Some(0));
        // murmur2 / fnv1a hash NULL as empty: 0x106e08d9 % 100 = 81; 0x7ee3623b % 100 = 35.
        assert_eq!(Murmur2.keyed_partition(None, 100), Some(81));
        assert_eq!(Murmur2.keyed_partition(Some(empty), 100), Some(81));
        assert_eq!(Fnv1a.keyed_partition(None, 100), Some(35));
        assert_eq!(Fnv1a.keyed_partition(Some(empty), 100), Some(35));
        // *_random: NULL goes sticky, empty is hashed ...
        assert_eq!(Murmur2Random.keyed_partition(None, 100), None);
        assert_eq!(Murmur2Random.keyed_partition(Some(empty), 100), Some(81));
        assert_eq!(Fnv1aRandom.keyed_partition(None, 100), None);
        assert_eq!(Fnv1aRandom.keyed_partition(Some(empty), 100), Some(35));
        // ... except consistent_random, where empty goes sticky too.
        assert_eq!(ConsistentRandom.keyed_partition(None, 100), None);
        assert_eq!(ConsistentRandom.keyed_partition(Some(empty), 100), None);
        assert_eq!(Random.keyed_partition(Some(b"k"), 100), None);
    }

    #[test]
    fn sticky_until_batch_closes() {
        let mut p = LibrdkafkaPartitioner::new(
            LibrdkafkaKind::ConsistentRandom,
            Script(VecDeque::from([5, 2])),
        );
        let parts = Partitions::all_available(8).unwrap();
        let rec = Record::new("t", None);
        assert_eq!(p.partition(&rec, &parts), 5);
        assert_eq!(p.partition(&Record::new("t", Some(b"")), &parts), 5);
        p.on_batch_closed("t", 3); // another partition: no effect
        assert_eq!(p.partition(&rec, &parts), 5);
        p.on_batch_closed("t", 5);
        assert_eq!(p.partition(&rec, &parts), 2);
    }

    #[test]
    fn sticky_leaves_partition_without_leader() {
        let mut p = LibrdkafkaPartitioner::new(
            LibrdkafkaKind::Murmur2Random,
            Script(VecDeque::from([1, 6])),
        );
        let rec = Record::new("t", None);
        assert_eq!(p.partition(&rec, &Partitions::all_available(4).unwrap()), 1);
        // Partition 1 lost its leader: redraw, 6 % 4 = 2.
        assert_eq!(
            p.partition(&rec, &Partitions::new(4, &[0, 2, 3]).unwrap()),
            2
        );
    }

    #[test]
    fn random_draws_again_once_when_unavailable() {
        // First draw 1 has no leader, so draw again: 3.
        let mut p =
            LibrdkafkaPartitioner::new(LibrdkafkaKind::Random, Script(VecDeque::from([1, 3])));
        let parts = Partitions::new(4, &[0, 3]).unwrap();
        assert_eq!(p.partition(&Record::new("t", Some(b"k")), &parts), 3);
        // Second draw is kept whatever it is (librdkafka does not loop).
        let mut p =
            LibrdkafkaPartitioner::new(LibrdkafkaKind::Random, Script(VecDeque::from([1, 2])));
        assert_eq!(p.partition(&Record::new("t", Some(b"k")), &parts), 2);
    }

    #[test]
    fn non_sticky_mode_draws_per_record() {
        let mut p = LibrdkafkaPartitioner::new(
            LibrdkafkaKind::Murmur2Random,
            Script(VecDeque::from([1, 2, 3])),
        )
        .with_sticky(false);
        let parts = Partitions::all_available(4).unwrap();
        let rec = Record::new("t", None);
        let got: Vec<i32> = (0..3).map(|_| p.partition(&rec, &parts)).collect();
        assert_eq!(got, vec![1, 2, 3]);
    }
}
