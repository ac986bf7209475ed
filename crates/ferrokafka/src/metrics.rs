//! Metrics with the Java producer's names and meanings, computed from the engine's counters and
//! what the facade and its driver measure: the `producer-metrics` group, `producer-node-metrics`
//! per broker and `producer-topic-metrics` per topic. Rates are per second since the producer
//! started, times in milliseconds unless the name says `-ns`.
//!
//! With the `metrics` cargo feature, [`Metrics::publish`] hands a snapshot to the [`metrics`
//! crate](https://docs.rs/metrics) facade as gauges, so any of its exporters (Prometheus,
//! OpenTelemetry, StatsD, ...) exports them without code of ours.

// Counters far below 2^52 convert to f64 exactly enough for metrics.
#![allow(clippy::cast_precision_loss)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferrokafka_engine::{Counters, NodeCounters};

/// Nanoseconds of `d`, saturating.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What the facade and its driver measure (the engine counts the protocol side).
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// Sends refused after `max.block.ms` without buffer memory (`buffer-exhausted-total`).
    pub(crate) buffer_exhausted: AtomicU64,
    /// Time sends waited for buffer memory (`bufferpool-wait-time-ns-total`).
    pub(crate) bufferpool_wait_ns: AtomicU64,
    /// Time sends waited for a topic's metadata (`metadata-wait-time-ns-total`).
    pub(crate) metadata_wait_ns: AtomicU64,
    /// Sends waiting right now (`waiting-threads`).
    pub(crate) waiting: AtomicU64,
    /// Time spent in `flush` (`flush-time-ns-total`).
    pub(crate) flush_ns: AtomicU64,
    /// Time spent in init, begin, send-offsets, commit and abort (`txn-*-time-ns-total`).
    pub(crate) txn_ns: [AtomicU64; 5],
    /// Driver time handling I/O and time waiting for it (`io-time-ns-*`, `io-wait-time-ns-*`,
    /// `select-total`).
    io_ns: AtomicU64,
    io_wait_ns: AtomicU64,
    selects: AtomicU64,
}

impl Measured {
    pub(crate) fn note_io(&self, d: Duration) {
        self.io_ns.fetch_add(nanos(d), Ordering::Relaxed);
    }

    pub(crate) fn note_io_wait(&self, d: Duration) {
        self.io_wait_ns.fetch_add(nanos(d), Ordering::Relaxed);
        self.selects.fetch_add(1, Ordering::Relaxed);
    }
}

/// When the producer started, for the rates.
#[derive(Debug, Clone)]
pub(crate) struct MetricsState {
    started: Instant,
}

fn avg(sum: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// A Java meter: `{name}-total`, the count so far, and `{name}-rate`, per second since start.
fn meter(put: &mut impl FnMut(&str, f64), name: &str, count: u64, secs: f64) {
    put(&format!("{name}-total"), count as f64);
    put(&format!("{name}-rate"), count as f64 / secs);
}

/// The record meters of `producer-metrics` and of `producer-topic-metrics`: records sent,
/// errored and retried.
fn records(put: &mut impl FnMut(&str, f64), [sent, errored, retried]: [u64; 3], secs: f64) {
    meter(put, "record-send", sent, secs);
    meter(put, "record-error", errored, secs);
    meter(put, "record-retry", retried, secs);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `producer-node-metrics` of one broker (or the network part of `producer-metrics`).
fn network(n: &NodeCounters, secs: f64, mut put: &mut dyn FnMut(&str, f64)) {
    meter(&mut put, "request", n.requests, secs);
    meter(&mut put, "response", n.responses, secs);
    meter(&mut put, "outgoing-byte", n.outgoing_bytes, secs);
    meter(&mut put, "incoming-byte", n.incoming_bytes, secs);
    put("request-size-avg", avg(n.outgoing_bytes as f64, n.requests));
    put("request-size-max", n.request_bytes_max as f64);
    put("request-latency-avg", avg(ms(n.latency_total), n.latencies));
    put("request-latency-max", ms(n.latency_max));
}

impl MetricsState {
    pub(crate) fn new(now: Instant) -> Self {
        Self { started: now }
    }

    pub(crate) fn snapshot(&self, c: &Counters, m: &Measured, now: Instant) -> Metrics {
        let secs = now
            .saturating_duration_since(self.started)
            .as_secs_f64()
            .max(1e-9);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let mut values = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            values.insert(k.to_owned(), v);
        };
        // Records.
        records(
            &mut put,
            [c.records_sent, c.records_errored, c.records_retried],
            secs,
        );
        put(
            "record-size-avg",
            avg(c.record_bytes_total as f64, c.records_appended),
        );
        put("record-size-max", c.record_bytes_max as f64);
        put(
            "record-queue-time-avg",
            avg(ms(c.queue_time_total), c.queue_time_batches),
        );
        put("record-queue-time-max", ms(c.queue_time_max));
        // Batches and requests.
        put("batch-size-avg", avg(c.batch_bytes as f64, c.batches_sent));
        put("batch-size-max", c.batch_bytes_max as f64);
        meter(&mut put, "batch-split", c.batch_splits, secs);
        // Not a Java metric: Produce requests alone (answered, or written with acks=0).
        put("produce-request-total", c.produce_requests as f64);
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
        network(&c.network, secs, &mut put);
        put(
            "network-io-total",
            (c.network.requests + c.network.responses) as f64,
        );
        put(
            "network-io-rate",
            (c.network.requests + c.network.responses) as f64 / secs,
        );
        put("requests-in-flight", c.requests_in_flight as f64);
        // Buffer memory and waiting sends.
        put("buffer-available-bytes", c.buffer_available_bytes as f64);
        put("buffer-total-bytes", c.buffer_total_bytes as f64);
        put("buffer-exhausted-total", load(&m.buffer_exhausted));
        put("buffer-exhausted-rate", load(&m.buffer_exhausted) / secs);
        put("bufferpool-wait-time-ns-total", load(&m.bufferpool_wait_ns));
        put(
            "bufferpool-wait-ratio",
            load(&m.bufferpool_wait_ns) / 1e9 / secs,
        );
        put("metadata-wait-time-ns-total", load(&m.metadata_wait_ns));
        put("waiting-threads", load(&m.waiting));
        put(
            "metadata-age",
            c.last_metadata_at
                .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64()),
        );
        // Throttling (KIP-219), per Produce response.
        put(
            "produce-throttle-time-avg",
            avg(c.produce_throttle_time_total_ms as f64, c.produce_responses),
        );
        put(
            "produce-throttle-time-max",
            c.produce_throttle_time_max_ms as f64,
        );
        // Connections and authentication.
        put("connection-creation-total", c.connections_created as f64);
        put(
            "connection-creation-rate",
            c.connections_created as f64 / secs,
        );
        meter(&mut put, "connection-close", c.connections_closed, secs);
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
        // The I/O task: time handling I/O, time waiting for it, wake-ups.
        let selects = m.selects.load(Ordering::Relaxed);
        put("io-time-ns-total", load(&m.io_ns));
        put("io-time-ns-avg", avg(load(&m.io_ns), selects));
        put("io-ratio", load(&m.io_ns) / 1e9 / secs);
        put("io-wait-time-ns-total", load(&m.io_wait_ns));
        put("io-wait-time-ns-avg", avg(load(&m.io_wait_ns), selects));
        put("io-wait-ratio", load(&m.io_wait_ns) / 1e9 / secs);
        meter(&mut put, "select", selects, secs);
        // Calls.
        put("flush-time-ns-total", load(&m.flush_ns));
        for (i, name) in [
            "txn-init-time-ns-total",
            "txn-begin-time-ns-total",
            "txn-send-offsets-time-ns-total",
            "txn-commit-time-ns-total",
            "txn-abort-time-ns-total",
        ]
        .into_iter()
        .enumerate()
        {
            put(name, load(&m.txn_ns[i]));
        }

        let nodes = c
            .by_node
            .iter()
            .map(|(id, n)| {
                let mut group = BTreeMap::new();
                network(n, secs, &mut |k, v| {
                    group.insert(k.to_owned(), v);
                });
                (*id, group)
            })
            .collect();
        let topics = c
            .by_topic
            .iter()
            .map(|(topic, t)| {
                let mut group = BTreeMap::new();
                let mut put = |k: &str, v: f64| {
                    group.insert(k.to_owned(), v);
                };
                records(
                    &mut put,
                    [t.records_sent, t.records_errored, t.records_retried],
                    secs,
                );
                meter(&mut put, "byte", t.bytes, secs);
                put(
                    "compression-rate",
                    if t.uncompressed_bytes == 0 {
                        1.0
                    } else {
                        t.bytes as f64 / t.uncompressed_bytes as f64
                    },
                );
                (topic.to_string(), group)
            })
            .collect();
        Metrics {
            values,
            nodes,
            topics,
        }
    }
}

/// A snapshot of the producer's metrics, with the Java client's names, groups and meanings.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    values: BTreeMap<String, f64>,
    nodes: BTreeMap<i32, BTreeMap<String, f64>>,
    topics: BTreeMap<String, BTreeMap<String, f64>>,
}

/// One metric of a snapshot, as Java names it: group, name and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue<'a> {
    /// `producer-metrics`, `producer-node-metrics` or `producer-topic-metrics`.
    pub group: &'static str,
    /// The metric's name, such as `record-send-rate`.
    pub name: &'a str,
    /// `("node-id", "node-1")` for a broker's metrics, `("topic", name)` for a topic's.
    pub tag: Option<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Metrics {
    /// A `producer-metrics` value by its Java name (`record-send-rate`, `record-error-total`,
    /// `request-latency-avg`, `batch-size-max`, `record-queue-time-avg`, `buffer-available-bytes`,
    /// `bufferpool-wait-ratio`, `io-wait-ratio`, `produce-throttle-time-max`, ...).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }

    /// Every `producer-metrics` value, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// A `producer-node-metrics` value of broker `node_id` (bootstrap connections have negative
    /// ids): `request-rate`, `request-latency-avg`, `outgoing-byte-total`, ...
    pub fn node(&self, node_id: i32, name: &str) -> Option<f64> {
        self.nodes.get(&node_id)?.get(name).copied()
    }

    /// A `producer-topic-metrics` value of `topic`: `record-send-total`, `byte-rate`,
    /// `compression-rate`, `record-error-total`, `record-retry-rate`, ...
    pub fn topic(&self, topic: &str, name: &str) -> Option<f64> {
        self.topics.get(topic)?.get(name).copied()
    }

    /// Java's per-topic `record-send-total`.
    pub fn topic_record_send_total(&self, topic: &str) -> u64 {
        self.topic(topic, "record-send-total").unwrap_or(0.0) as u64
    }

    /// Every metric of the snapshot: the producer's, then each broker's, then each topic's.
    pub fn all(&self) -> Vec<MetricValue<'_>> {
        let mut out: Vec<MetricValue<'_>> = self
            .values
            .iter()
            .map(|(name, value)| MetricValue {
                group: "producer-metrics",
                name,
                tag: None,
                value: *value,
            })
            .collect();
        for (id, group) in &self.nodes {
            out.extend(group.iter().map(|(name, value)| MetricValue {
                group: "producer-node-metrics",
                name,
                tag: Some(("node-id", format!("node-{id}"))),
                value: *value,
            }));
        }
        for (topic, group) in &self.topics {
            out.extend(group.iter().map(|(name, value)| MetricValue {
                group: "producer-topic-metrics",
                name,
                tag: Some(("topic", topic.clone())),
                value: *value,
            }));
        }
        out
    }

    /// Hands the snapshot to the `metrics` crate facade (feature `metrics`): one gauge per
    /// metric, named `kafka.producer.<name>`, labelled `client_id` (and `node_id` or `topic`
    /// for the per-broker and per-topic groups; `group` tells the three apart). Call it
    /// periodically (for example from a `tokio::time::interval`) for exporters to see fresh
    /// values.
    #[cfg(feature = "metrics")]
    pub fn publish(&self, client_id: &str) {
        for m in self.all() {
            let name = format!("kafka.producer.{}", m.name);
            let mut labels = vec![
                metrics::Label::new("client_id", client_id.to_owned()),
                metrics::Label::new("group", m.group),
            ];
            if let Some((key, value)) = m.tag {
                labels.push(metrics::Label::new(key.replace('-', "_"), value));
            }
            metrics::gauge!(name, labels).set(m.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_throttle_time_is_averaged_per_response() {
        let start = Instant::now();
        let state = MetricsState::new(start);
        let measured = Measured::default();
        let mut c = Counters::default();
        let m = state.snapshot(&c, &measured, start);
        assert_eq!(m.get("produce-throttle-time-avg"), Some(0.0));
        assert_eq!(m.get("produce-throttle-time-max"), Some(0.0));
        // Four responses: throttled 0, 300, 0 and 100 ms.
        c.produce_responses = 4;
        c.produce_throttle_time_total_ms = 400;
        c.produce_throttle_time_max_ms = 300;
        let m = state.snapshot(&c, &measured, start);
        assert_eq!(m.get("produce-throttle-time-avg"), Some(100.0));
        assert_eq!(m.get("produce-throttle-time-max"), Some(300.0));
    }

    #[test]
    fn node_and_topic_groups_and_derived_values() {
        let start = Instant::now();
        let state = MetricsState::new(start);
        let measured = Measured::default();
        measured.note_io(Duration::from_millis(250));
        measured.note_io_wait(Duration::from_millis(750));
        let mut c = Counters::default();
        let node = c.by_node.entry(2).or_default();
        node.requests = 4;
        node.outgoing_bytes = 400;
        node.request_bytes_max = 160;
        node.latencies = 2;
        node.latency_total = Duration::from_millis(30);
        node.latency_max = Duration::from_millis(20);
        let topic = c.by_topic.entry("t".into()).or_default();
        topic.records_sent = 10;
        topic.bytes = 500;
        topic.uncompressed_bytes = 1000;
        c.records_appended = 4;
        c.record_bytes_total = 100;
        c.record_bytes_max = 40;
        let m = state.snapshot(&c, &measured, start + Duration::from_secs(2));
        assert_eq!(m.node(2, "request-total"), Some(4.0));
        assert_eq!(m.node(2, "request-rate"), Some(2.0));
        assert_eq!(m.node(2, "request-size-avg"), Some(100.0));
        assert_eq!(m.node(2, "request-size-max"), Some(160.0));
        assert_eq!(m.node(2, "request-latency-avg"), Some(15.0));
        assert_eq!(m.node(2, "request-latency-max"), Some(20.0));
        assert_eq!(m.node(3, "request-total"), None);
        assert_eq!(m.topic("t", "record-send-total"), Some(10.0));
        assert_eq!(m.topic("t", "byte-rate"), Some(250.0));
        assert_eq!(m.topic("t", "compression-rate"), Some(0.5));
        assert_eq!(m.topic_record_send_total("t"), 10);
        assert_eq!(m.get("record-size-avg"), Some(25.0));
        assert_eq!(m.get("record-size-max"), Some(40.0));
        assert_eq!(m.get("io-ratio"), Some(0.125));
        assert_eq!(m.get("io-wait-ratio"), Some(0.375));
        assert_eq!(m.get("select-total"), Some(1.0));
        let all = m.all();
        assert!(all.iter().any(|v| v.group == "producer-node-metrics"
            && v.tag == Some(("node-id", "node-2".to_owned()))
            && v.name == "request-total"));
        assert!(all.iter().any(|v| v.group == "producer-topic-metrics"
            && v.tag == Some(("topic", "t".to_owned()))
            && v.name == "byte-total"));
    }
}
