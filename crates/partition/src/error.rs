//! Errors of this crate: caller misuse and bad configuration, never I/O.

/// What went wrong when choosing a partition or building a partitioner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The topic has no partitions: there is nothing to choose from.
    #[error("partition count is 0: a topic has at least one partition")]
    NoPartitions,
    /// The partition count does not fit a Kafka partition id (`int32`).
    #[error("partition count {count} exceeds the largest Kafka partition id ({max})", max = i32::MAX)]
    TooManyPartitions {
        /// The count that was given.
        count: u64,
    },
    /// The record named a partition the topic does not have.
    #[error("invalid partition given with record: {partition} is not in the range [0...{count})")]
    PartitionOutOfRange {
        /// The partition on the record.
        partition: i32,
        /// How many partitions the topic has.
        count: u32,
    },
    /// A (custom) partitioner chose a partition the topic does not have.
    #[error("the partitioner chose partition {partition}, which is not in the range [0...{count})")]
    InvalidChoice {
        /// The partition it returned.
        partition: i32,
        /// How many partitions the topic has.
        count: u32,
    },
    /// The list of partitions with a leader was not strictly ascending or named a partition
    /// outside `[0, count)`.
    #[error(
        "partitions with a leader must be strictly ascending and below the partition count {count}; got {partition} at index {index}"
    )]
    InvalidLeaderList {
        /// Index of the first offending entry.
        index: usize,
        /// The offending partition id.
        partition: i32,
        /// How many partitions the topic has.
        count: u32,
    },
    /// The `partitioner` setting named no partitioner this crate knows.
    #[error(
        "unknown partitioner {name:?}: expected one of random, consistent, consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random, org.apache.kafka.clients.producer.RoundRobinPartitioner, or unset for the Java default"
    )]
    UnknownPartitioner {
        /// The name that was given.
        name: String,
    },
}
