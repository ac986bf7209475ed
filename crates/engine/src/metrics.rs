//! Counters the engine keeps; the facade turns them into Java-named rates and averages.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka_wire::Topic;

/// Totals since the engine started. Monotonic except `buffer_available_bytes`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Counters {
    /// Records acknowledged (or written, with acks=0).
    pub records_sent: u64,
    /// Records whose delivery failed.
    pub records_errored: u64,
    /// Records in batches sent again after a retriable error.
    pub records_retried: u64,
    /// Produce requests answered (or written, with acks=0).
    pub produce_requests: u64,
    /// Batches in those requests.
    pub batches_sent: u64,
    /// Records in those requests.
    pub records_in_requests: u64,
    /// Bytes of the (compressed) batches sent.
    pub batch_bytes: u64,
    /// Bytes of the records before compression, for batches whose size is known.
    pub uncompressed_bytes: u64,
    /// Sum of request round trips, for the average.
    pub request_latency_total: Duration,
    /// Longest round trip.
    pub request_latency_max: Duration,
    /// Requests whose round trip was measured.
    pub requests_timed: u64,
    /// Produce responses received, for the throttle-time average.
    pub produce_responses: u64,
    /// Sum of the `throttle_time_ms` brokers reported on Produce responses (KIP-219), in ms.
    pub produce_throttle_time_total_ms: u64,
    /// Largest `throttle_time_ms` reported on a Produce response, in ms.
    pub produce_throttle_time_max_ms: u64,
    /// Bytes of `buffer.memory` not reserved right now.
    pub buffer_available_bytes: u64,
    /// `buffer.memory`.
    pub buffer_total_bytes: u64,
    /// Connections opened (attempted), for Java's `connection-creation-total`.
    pub connections_created: u64,
    /// Connections closed (broken, timed out, idle or at close), for Java's
    /// `connection-close-total`.
    pub connections_closed: u64,
    /// Connections open (or opening) now, for Java's `connection-count`.
    pub connections_open: u64,
    /// Times metadata was fetched from the bootstrap servers again (KIP-899).
    pub rebootstraps: u64,
    /// Largest batch sent, in bytes (`batch-size-max`).
    pub batch_bytes_max: u64,
    /// Batches split after MESSAGE_TOO_LARGE (`batch-split-total`).
    pub batch_splits: u64,
    /// Records appended, their bytes (key + value + headers) and the largest
    /// (`record-size-avg/max`).
    pub records_appended: u64,
    /// Sum of the appended records' sizes.
    pub record_bytes_total: u64,
    /// Largest appended record.
    pub record_bytes_max: u64,
    /// Sum and maximum of the batches' time in the accumulator before their first send, and
    /// how many (`record-queue-time-avg/max`).
    pub queue_time_total: Duration,
    /// Longest queue time.
    pub queue_time_max: Duration,
    /// Batches whose queue time was measured.
    pub queue_time_batches: u64,
    /// Every request and answer, all connections (`request-total`, `response-total`,
    /// `request-size-avg/max`, `outgoing-byte-total`, `incoming-byte-total`).
    pub network: NodeCounters,
    /// The same per broker id (`producer-node-metrics`; bootstrap connections are negative).
    pub by_node: BTreeMap<i32, NodeCounters>,
    /// Per topic (`producer-topic-metrics`).
    pub by_topic: BTreeMap<Topic, TopicCounters>,
    /// Requests sent and not answered yet (`requests-in-flight`).
    pub requests_in_flight: u64,
    /// When the last Metadata answer arrived (`metadata-age`), if one did.
    pub last_metadata_at: Option<std::time::Instant>,
    /// SASL authentications that succeeded (first ones on a connection).
    pub authentications_succeeded: u64,
    /// SASL re-authentications (KIP-368) that succeeded.
    pub reauthentications_succeeded: u64,
    /// SASL authentications or re-authentications that failed.
    pub authentications_failed: u64,
}

/// The counters of `topic` in `by_topic`, created on first use (no allocation once it exists).
/// Keyed by the shared name: a batch's topic is the one the map holds, so each comparison of
/// the lookup is a pointer compared (by name it was two string searches a batch, twice).
pub(crate) fn topic_counters<'a>(
    by_topic: &'a mut BTreeMap<Topic, TopicCounters>,
    topic: &Topic,
) -> &'a mut TopicCounters {
    if !by_topic.contains_key(topic) {
        by_topic.insert(topic.clone(), TopicCounters::default());
    }
    by_topic.get_mut(topic).expect("inserted above")
}

/// Request and byte counts of one broker (or of all of them).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct NodeCounters {
    /// Requests sent.
    pub requests: u64,
    /// Answers received.
    pub responses: u64,
    /// Bytes of the requests sent.
    pub outgoing_bytes: u64,
    /// Bytes of the answers received.
    pub incoming_bytes: u64,
    /// Largest request sent.
    pub request_bytes_max: u64,
    /// Sum of the round trips measured, and their number.
    pub latency_total: Duration,
    /// Longest round trip.
    pub latency_max: Duration,
    /// Round trips measured.
    pub latencies: u64,
}

/// Per-topic counts (`producer-topic-metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TopicCounters {
    /// Records acknowledged.
    pub records_sent: u64,
    /// Records that failed.
    pub records_errored: u64,
    /// Records in batches sent again.
    pub records_retried: u64,
    /// Bytes of the batches sent (as sent, compressed).
    pub bytes: u64,
    /// Uncompressed bytes of those batches (for `compression-rate`).
    pub uncompressed_bytes: u64,
}
