//! Records going out, their delivery futures and metadata.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrokafka_records::Header;
use ferrokafka_wire::Topic;

use crate::error::ProduceError;

mod report;
mod slot;
use crate::serialize::Serializer;

/// A record to send (Java `ProducerRecord`), key and value already in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    pub(crate) topic: Topic,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
    pub(crate) timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with no key, no value (a tombstone until a value is set), no
    /// headers, the partitioner's choice of partition and the send time as timestamp.
    ///
    /// `topic` is a name (`&str`, `String`, ...) or a [`Topic`]: a program that sends many
    /// records to one topic builds its `Topic` once and clones it, which copies no name.
    pub fn new(topic: impl Into<Topic>) -> Self {
        Self {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    #[must_use]
    pub fn with_value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sends to this partition instead of asking the partitioner.
    #[must_use]
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the create timestamp (milliseconds since the epoch).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    /// Appends a header (order and duplicates are kept; `None` is a null value).
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        self.headers.push(Header {
            key: name.into(),
            value: value.map(Into::into),
        });
        self
    }

    /// Builds a record by serializing `key` and `value` with the given serializers.
    pub fn serialized<K, V, KS, VS>(
        topic: impl Into<Topic>,
        key: Option<&K>,
        value: Option<&V>,
        key_serializer: &KS,
        value_serializer: &VS,
    ) -> Result<Self, ProduceError>
    where
        K: ?Sized,
        V: ?Sized,
        KS: Serializer<K> + ?Sized,
        VS: Serializer<V> + ?Sized,
    {
        let mut rec = Self::new(topic);
        if let Some(k) = key {
            rec.key = Some(
                key_serializer
                    .serialize(&rec.topic, k)
                    .map_err(|e| ProduceError::serialization("key", e.0))?,
            );
        }
        if let Some(v) = value {
            rec.value = Some(
                value_serializer
                    .serialize(&rec.topic, v)
                    .map_err(|e| ProduceError::serialization("value", e.0))?,
            );
        }
        Ok(rec)
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The key.
    pub fn key(&self) -> Option<&Bytes> {
        self.key.as_ref()
    }

    /// The value.
    pub fn value(&self) -> Option<&Bytes> {
        self.value.as_ref()
    }

    /// The headers.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }
}

/// A record whose parts are borrowed: [`Producer::send_borrowed`](crate::Producer::send_borrowed)
/// copies them straight into the partition's batch, so sending one allocates nothing per
/// record (the owned [`ProducerRecord`] needs its key and value as `Bytes`, which a program
/// holding plain slices must copy first). As rust-rdkafka's `BaseRecord`, minus the copy.
///
/// ```
/// use ferrokafka::BorrowedRecord;
///
/// let key = *b"user-7";
/// let record = BorrowedRecord::new("events").with_key(&key).with_value(b"clicked");
/// assert_eq!(record.topic(), "events");
/// assert_eq!(record.to_owned_record().key().map(|k| &k[..]), Some(&b"user-7"[..]));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BorrowedRecord<'a> {
    pub(crate) topic: &'a str,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: &'a [Header],
    pub(crate) timestamp: Option<i64>,
}

impl<'a> BorrowedRecord<'a> {
    /// A record for `topic` with no key, no value, no headers, the partitioner's choice of
    /// partition and the send time as timestamp (as [`ProducerRecord::new`]).
    pub fn new(topic: &'a str) -> Self {
        BorrowedRecord {
            topic,
            partition: None,
            key: None,
            value: None,
            headers: &[],
            timestamp: None,
        }
    }

    /// Sets the key.
    #[must_use]
    pub fn with_key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets the value.
    #[must_use]
    pub fn with_value(mut self, value: &'a [u8]) -> Self {
        self.value = Some(value);
        self
    }

    /// Sends to this partition instead of asking the partitioner.
    #[must_use]
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the create timestamp (milliseconds since the epoch).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    /// Sets the headers (in order; duplicates kept).
    #[must_use]
    pub fn with_headers(mut self, headers: &'a [Header]) -> Self {
        self.headers = headers;
        self
    }

    /// The topic.
    pub fn topic(&self) -> &'a str {
        self.topic
    }

    /// An owned copy (what interceptors are given).
    pub fn to_owned_record(&self) -> ProducerRecord {
        ProducerRecord {
            topic: Topic::new(self.topic),
            partition: self.partition,
            key: self.key.map(Bytes::copy_from_slice),
            value: self.value.map(Bytes::copy_from_slice),
            headers: self.headers.to_vec(),
            timestamp: self.timestamp,
        }
    }
}

impl ProducerRecord {
    /// This record's parts, borrowed.
    pub(crate) fn borrowed(&self) -> BorrowedRecord<'_> {
        BorrowedRecord {
            topic: &self.topic,
            partition: self.partition,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: &self.headers,
            timestamp: self.timestamp,
        }
    }
}

/// Where a record was written (Java `RecordMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    topic: Topic,
    partition: i32,
    offset: Option<i64>,
    timestamp: i64,
    /// When the record was sent and when its acknowledgement arrived (the latency is computed
    /// only when asked for).
    sent_at: Instant,
    acknowledged_at: Instant,
}

impl RecordMetadata {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The record's offset; `None` with `acks=0` (Java reports -1).
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    /// The record's timestamp: the broker's append time if the topic uses LogAppendTime,
    /// otherwise the create time sent.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// How long the record took from its send call to its acknowledgement reaching the
    /// producer (librdkafka's `rd_kafka_message_latency`; what `kafka-producer-perf-test`
    /// measures per record).
    pub fn latency(&self) -> Duration {
        self.acknowledged_at.saturating_duration_since(self.sent_at)
    }

    /// When the record's acknowledgement reached the producer (where [`latency`](Self::latency)
    /// ends), on tokio's clock: a caller timing many records reads it rather than the clock.
    pub fn acknowledged_at(&self) -> Instant {
        self.acknowledged_at
    }
}

/// A callback run with a record's outcome, on the producer's I/O task: keep it short.
pub type Callback = Box<dyn FnOnce(Result<RecordMetadata, ProduceError>) + Send + 'static>;

pub use report::{DeliveryReporter, ReportedBatch, ReportedDelivery};

pub use slot::DeliveryFuture;
pub(crate) use slot::{
    BatchOutcome, BatchSlot, Listen, Listener, Queued, SlotEntry, Spares, SplitParts,
};
