//! Building a partitioner from the `partitioner` / `partitioner.class` setting.

use crate::{
    BuiltInPartitioner, Error, LibrdkafkaKind, LibrdkafkaPartitioner, Partitioner,
    RoundRobinPartitioner, SplitMix64,
};

/// Java's `RoundRobinPartitioner` class name.
pub const JAVA_ROUND_ROBIN_PARTITIONER: &str =
    "org.apache.kafka.clients.producer.RoundRobinPartitioner";
/// Java's deprecated (3.3) and removed (4.0) `DefaultPartitioner` class name. Accepted as the
/// built-in partitioner: keyed records are placed identically; keyless ones follow the built-in
/// uniform sticky rule rather than the old switch-on-new-batch cache.
pub const JAVA_DEFAULT_PARTITIONER: &str =
    "org.apache.kafka.clients.producer.internals.DefaultPartitioner";
/// Java's deprecated (3.3) and removed (4.0) `UniformStickyPartitioner` class name. Accepted as
/// the built-in partitioner with `partitioner.ignore.keys=true`, which Kafka documents as its
/// replacement.
pub const JAVA_UNIFORM_STICKY_PARTITIONER: &str =
    "org.apache.kafka.clients.producer.UniformStickyPartitioner";

/// Every name [`by_name`] knows: the Java default (`""`), the Java class names, then
/// librdkafka's names.
pub const PARTITIONER_NAMES: [&str; 11] = [
    "",
    JAVA_DEFAULT_PARTITIONER,
    JAVA_UNIFORM_STICKY_PARTITIONER,
    JAVA_ROUND_ROBIN_PARTITIONER,
    "random",
    "consistent",
    "consistent_random",
    "murmur2",
    "murmur2_random",
    "fnv1a",
    "fnv1a_random",
];

/// The seed [`PartitionerConfig::default`] uses. Every partitioner built from it draws the same
/// sequence, so producers sharing it pick the same first sticky partitions: a facade should set
/// [`PartitionerConfig::seed`] from real entropy.
pub const DEFAULT_SEED: u64 = 0x5eed_0ff3_aa0c_4a11;

/// The settings the partitioners read, with the Java client's names and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionerConfig {
    /// `batch.size` (default 16384): keyless bytes after which the built-in partitioner may move
    /// on. 0 is treated as 1.
    pub batch_size: u32,
    /// `partitioner.adaptive.partitioning.enable` (default true). Built-in partitioner only.
    pub adaptive_partitioning: bool,
    /// `partitioner.availability.timeout.ms` (default 0 = off). Built-in partitioner only.
    pub availability_timeout_ms: u64,
    /// `partitioner.ignore.keys` (default false). Built-in partitioner only; the Java client
    /// ignores it when a partitioner class is set, and so does this crate.
    pub ignore_keys: bool,
    /// Whether librdkafka-named partitioners use a sticky partition for null keys (default true;
    /// false is librdkafka's `sticky.partitioning.linger.ms=0`).
    pub sticky: bool,
    /// Seed of the partitioner's random generator (default [`DEFAULT_SEED`]).
    pub seed: u64,
}

impl Default for PartitionerConfig {
    fn default() -> Self {
        Self {
            batch_size: 16_384,
            adaptive_partitioning: true,
            availability_timeout_ms: 0,
            ignore_keys: false,
            sticky: true,
            seed: DEFAULT_SEED,
        }
    }
}

impl PartitionerConfig {
    /// The default config with another seed.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }
}

/// [`by_name_with`] and the default [`PartitionerConfig`] (fixed seed: see [`DEFAULT_SEED`]).
pub fn by_name(name: &str) -> Result<Box<dyn Partitioner>, Error> {
    by_name_with(name, &PartitionerConfig::default())
}

/// The partitioner a `partitioner` (librdkafka) or `partitioner.class` (Java) setting names.
///
/// * `""` (unset): the Java default, [`BuiltInPartitioner`] configured from `config`;
/// * [`JAVA_ROUND_ROBIN_PARTITIONER`]: a [`RoundRobinPartitioner`];
/// * [`JAVA_DEFAULT_PARTITIONER`] and [`JAVA_UNIFORM_STICKY_PARTITIONER`]: see their docs;
/// * `random`, `consistent`, `consistent_random`, `murmur2`, `murmur2_random`, `fnv1a`,
///   `fnv1a_random`: [`LibrdkafkaPartitioner`].
///
/// Names match exactly (case-sensitive, as both clients do); anything else is
/// [`Error::UnknownPartitioner`].
pub fn by_name_with(name: &str, config: &PartitionerConfig) -> Result<Box<dyn Partitioner>, Error> {
    let random = SplitMix64::new(config.seed);
    let built_in = |ignore_keys: bool| {
        BuiltInPartitioner::new(config.batch_size, random.clone())
            .with_adaptive(config.adaptive_partitioning)
            .with_availability_timeout_ms(config.availability_timeout_ms)
            .with_ignore_keys(ignore_keys)
    };
    match name {
        "" | JAVA_DEFAULT_PARTITIONER => Ok(Box::new(built_in(config.ignore_keys))),
        JAVA_UNIFORM_STICKY_PARTITIONER => Ok(Box::new(built_in(true))),
        JAVA_ROUND_ROBIN_PARTITIONER => Ok(Box::new(RoundRobinPartitioner::new())),
        other => match LibrdkafkaKind::from_name(other) {
            Some(kind) => Ok(Box::new(
                LibrdkafkaPartitioner::new(kind, random).with_sticky(config.sticky),
            )),
            None => Err(Error::UnknownPartitioner {
                name: other.to_owned(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Partitions, Record, select_partition};

    fn place(name: &str, key: Option<&[u8]>, n: u32) -> i32 {
        let mut p = by_name(name).unwrap();
        let parts = Partitions::all_available(n).unwrap();
        select_partition(&mut p, &Record::new("t", key), &parts).unwrap()
    }

    #[test]
    fn every_name_builds() {
        for name in PARTITIONER_NAMES {
            assert!(by_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        for name in [
            "Murmur2",
            "murmur2 ",
            "RoundRobinPartitioner",
            "default",
            "crc32",
        ] {
            let err = by_name(name).err().unwrap();
            assert_eq!(
                err,
                Error::UnknownPartitioner {
                    name: name.to_owned()
                }
            );
            assert!(err.to_string().contains("unknown partitioner"));
        }
    }

    #[test]
    fn names_select_the_right_algorithm() {
        // murmur2 "kafka" %10 = 0; crc32 "key" %10 = 7; fnv1a "key" %10 = 8.
        assert_eq!(place("", Some(b"kafka"), 10), 0);
        assert_eq!(place(JAVA_DEFAULT_PARTITIONER, Some(b"kafka"), 10), 0);
        assert_eq!(place("murmur2_random", Some(b"kafka"), 10), 0);
        assert_eq!(place("consistent", Some(b"key"), 10), 7);
        assert_eq!(place("fnv1a", Some(b"key"), 10), 8);
        // Round robin ignores the key and starts at 0.
        assert_eq!(place(JAVA_ROUND_ROBIN_PARTITIONER, Some(b"kafka"), 10), 0);
    }

    #[test]
    fn config_reaches_the_partitioner() {
        // ignore.keys makes a keyed record sticky: same partition for different keys.
        let mut config = PartitionerConfig::with_seed(42);
        config.ignore_keys = true;
        let mut p = by_name_with("", &config).unwrap();
        let parts = Partitions::all_available(50).unwrap();
        let a = select_partition(&mut p, &Record::new("t", Some(b"a")), &parts).unwrap();
        let b = select_partition(&mut p, &Record::new("t", Some(b"b")), &parts).unwrap();
        assert_eq!(a, b);
        // UniformStickyPartitioner ignores keys whatever the config says.
        let mut p = by_name(JAVA_UNIFORM_STICKY_PARTITIONER).unwrap();
        let a = select_partition(&mut p, &Record::new("t", Some(b"a")), &parts).unwrap();
        let b = select_partition(&mut p, &Record::new("t", Some(b"b")), &parts).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn same_seed_same_choices() {
        let parts = Partitions::all_available(64).unwrap();
        let run = |seed| {
            let mut p = by_name_with("random", &PartitionerConfig::with_seed(seed)).unwrap();
            (0..32)
                .map(|_| p.partition(&Record::new("t", Some(b"k")), &parts))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
