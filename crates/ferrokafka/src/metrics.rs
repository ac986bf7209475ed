//! Metrics with the Java producer's names, computed from the engine's counters.

// Counters far below 2^52 convert to f64 exactly enough for metrics.
#![allow(clippy::cast_precision_loss)]

use std::collections::BTreeMap;
use std::time::Instant;

use ferrokafka_engine::Counters;

/// When the producer started, for the rates.
#[derive(Debug, Clone)]
pub(crate) struct MetricsState {
    started: Instant,
}

impl MetricsState {
    pub(crate) fn new(now: Instant) -> Self {
        Self { started: now }
    }

    pub(crate) fn snapshot(&self, c: &Counters, now: Instant) -> Metrics {
        let secs = now
            .saturating_duration_since(self.started)
            .as_secs_f64()
            .max(1e-9);
        let avg = |sum: f64, n: u64| if n == 0 { 0.0 } else { sum / n as f64 };
        let mut values = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            values.insert(k.to_owned(), v);
        };
        put("record-send-rate", c.records_sent as f64 / secs);
        put("record-send-total", c.records_sent as f64);
        put("record-error-rate", c.records_errored as f64 / secs);
        put("record-error-total", c.records_errored as f64);
        put("record-retry-rate", c.records_retried as f64 / secs);
        put("record-retry-total", c.records_retried as f64);
        put(
            "request-latency-avg",
            avg(
                c.request_latency_total.as_secs_f64() * 1000.0,
                c.requests_timed,
            ),
        );
        put(
            "request-latency-max",
            c.request_latency_max.as_secs_f64() * 1000.0,
        );
        put("request-total", c.produce_requests as f64);
        put("batch-size-avg", avg(c.batch_bytes as f64, c.batches_sent));
        put(
            "records-per-request-avg",
            avg(c.records_in_requests as f64, c.produce_requests),
        );
        put(
            "compression-rate-avg",
            if c.uncompressed_bytes == 0 {
                1.0
            } else {
                c.batch_bytes as f64 / c.uncompressed_bytes as f64
            },
        );
        put("buffer-available-bytes", c.buffer_available_bytes as f64);
        put("buffer-total-bytes", c.buffer_total_bytes as f64);
        // Throttle time (ms) brokers reported on Produce responses (KIP-219), per response.
        put(
            "produce-throttle-time-avg",
            avg(c.produce_throttle_time_total_ms as f64, c.produce_responses),
        );
        put(
            "produce-throttle-time-max",
            c.produce_throttle_time_max_ms as f64,
        );
        // Java's network metrics: connections opened, SASL (re-)authentications.
        put("connection-creation-total", c.connections_created as f64);
        put(
            "connection-creation-rate",
            c.connections_created as f64 / secs,
        );
        put("connection-close-total", c.connections_closed as f64);
        put("connection-close-rate", c.connections_closed as f64 / secs);
        put("connection-count", c.connections_open as f64);
        put(
            "successful-authentication-total",
            c.authentications_succeeded as f64,
        );
        put(
            "successful-reauthentication-total",
            c.reauthentications_succeeded as f64,
        );
        put(
            "failed-authentication-total",
            c.authentications_failed as f64,
        );
        let by_topic = c
            .records_sent_by_topic
            .iter()
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        Metrics { values, by_topic }
    }
}

/// A snapshot of the producer's metrics. Rates are averages since the producer started
/// (per second); latencies are in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    values: BTreeMap<String, f64>,
    by_topic: BTreeMap<String, u64>,
}

impl Metrics {
    /// A producer-level metric by its Java name (`record-send-rate`, `record-error-rate`,
    /// `record-retry-rate`, `request-latency-avg`, `request-latency-max`, `batch-size-avg`,
    /// `records-per-request-avg`, `compression-rate-avg`, `buffer-available-bytes`,
    /// `produce-throttle-time-avg`, `produce-throttle-time-max`, ...).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }

    /// Every producer-level metric, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Java's per-topic `record-send-total`.
    pub fn topic_record_send_total(&self, topic: &str) -> u64 {
        self.by_topic.get(topic).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_throttle_time_is_averaged_per_response() {
        let start = Instant::now();
        let state = MetricsState::new(start);
        let mut c = Counters::default();
        let m = state.snapshot(&c, start);
        assert_eq!(m.get("produce-throttle-time-avg"), Some(0.0));
        assert_eq!(m.get("produce-throttle-time-max"), Some(0.0));
        // Four responses: throttled 0, 300, 0 and 100 ms.
        c.produce_responses = 4;
        c.produce_throttle_time_total_ms = 400;
        c.produce_throttle_time_max_ms = 300;
        let m = state.snapshot(&c, start);
        assert_eq!(m.get("produce-throttle-time-avg"), Some(100.0));
        assert_eq!(m.get("produce-throttle-time-max"), Some(300.0));
    }
}
