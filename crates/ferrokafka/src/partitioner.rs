//! Partitioners of the application's own (Java's `partitioner.class`): implement
//! [`Partitioner`] and hand a factory to
//! [`ProducerConfigBuilder::custom_partitioner`](crate::ProducerConfigBuilder::custom_partitioner).
//! The built-in ones (Java's murmur2 sticky default, round robin, librdkafka's seven) are
//! chosen by name with the `partitioner` setting instead.
//!
//! A record's explicit partition ([`ProducerRecord::with_partition`](crate::ProducerRecord::with_partition))
//! always wins; the partitioner is asked for the others, with the topic's partition count and
//! which partitions have a leader. Its answer must be below the count (a send fails otherwise).
//!
//! ```
//! use ferrokafka::partitioner::{Partitioner, Partitions, Record};
//! use ferrokafka::{ProducerConfig, ProducerRecord};
//!
//! /// Keys starting with `vip-` go to partition 0; the others are hashed over the rest.
//! struct Vip;
//!
//! impl Partitioner for Vip {
//!     fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
//!         let key = record.key.unwrap_or_default();
//!         if key.starts_with(b"vip-") || partitions.count() < 2 {
//!             return 0;
//!         }
//!         // A stable hash: the same key must map to the same partition in every process.
//!         let hash = ferrokafka::partitioner::murmur2(key);
//!         1 + (hash % (partitions.count() - 1)) as i32
//!     }
//! }
//!
//! let config = ProducerConfig::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .custom_partitioner(|| Vip)
//!     .build()
//!     .unwrap();
//! # let _ = config;
//! ```

pub use ferrokafka_partition::hash::{murmur2, murmur2_partition};
pub use ferrokafka_partition::{Appended, PartitionLoad, Partitioner, Partitions, Record};
