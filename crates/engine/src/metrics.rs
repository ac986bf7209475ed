//! Counters the engine keeps; the facade turns them into Java-named rates and averages.

use std::collections::BTreeMap;
use std::time::Duration;

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
    /// Records acknowledged, per topic.
    pub records_sent_by_topic: BTreeMap<String, u64>,
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
    /// SASL authentications that succeeded (first ones on a connection).
    pub authentications_succeeded: u64,
    /// SASL re-authentications (KIP-368) that succeeded.
    pub reauthentications_succeeded: u64,
    /// SASL authentications or re-authentications that failed.
    pub authentications_failed: u64,
}
