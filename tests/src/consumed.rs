//! What a read-back consumer returns, whichever consumer it is (librdkafka's in
//! [`crate::consume`], the Java client's in [`crate::kafka::JavaHelper`]).

/// Which records a read-back may see (`isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Every record up to the high watermark, including those of open or aborted transactions.
    #[default]
    ReadUncommitted,
    /// Only records up to the last stable offset, skipping aborted transactions.
    ReadCommitted,
}

impl Isolation {
    /// The librdkafka `isolation.level` value.
    pub fn as_config(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "read_uncommitted",
            Isolation::ReadCommitted => "read_committed",
        }
    }
}

/// What a record's timestamp means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The batch carries no timestamp (message format v0) or it is -1.
    NotAvailable,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when it appended the batch.
    LogAppendTime,
}

/// One record as librdkafka read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// The key; `None` is a null key, `Some(vec![])` an empty one.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a null value (a tombstone), `Some(vec![])` an empty one.
    pub value: Option<Vec<u8>>,
    /// The headers in record order, duplicates kept; a `None` value is a null header value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The timestamp in milliseconds since the epoch, `None` when not available.
    pub timestamp: Option<i64>,
    /// Whether [`Consumed::timestamp`] is create time or log-append time.
    pub timestamp_type: TimestampType,
}
