//! Fault-injection evidence for the ferrokafka producer against librdkafka's mock cluster.
//!
//! Every test drives a real `ferrokafka::Producer` (on a multi-threaded tokio runtime built by
//! the test) against `rdkafka::mocking::MockCluster`, which is `!Send` and therefore created and
//! manipulated on the test's own thread, inside or between `block_on` sections. What was written
//! is read back with librdkafka's consumer (`ferrokafka_tests::consume`), and compared partition
//! by partition with the send order: every acknowledged record exactly once, at the offset its
//! delivery reported, in send order, with nothing else in the log.
//!
//! Faults: leaders moved while sending, a leader broker down and back, injected retriable Produce
//! errors (and a connection closed instead of an answer), `retries` exhausted, one
//! `MESSAGE_TOO_LARGE` on a multi-record batch (the split path, with and without compression),
//! every broker down until `delivery.timeout.ms` fails the records (then recovery, then `close`
//! with records stuck), non-retriable Produce errors, and InitProducerId errors.
//!
//! Producer modes: `Strict` (`enable.idempotence=false`,
//! `max.in.flight.requests.per.connection=1`: ordering through retries comes from the client
//! alone), `Idempotent` (the defaults: idempotence on, five requests in flight) and
//! `IdempotentOneInFlight`.
//!
//! Mock quirks that shape these tests (librdkafka 2.12.1):
//! - The mock checks producer ids and sequence numbers only for *transactional* producers
//!   (`rd_kafka_mock_validate_records` returns early without a `transactional.id`). With several
//!   requests in flight, if one request fails and a later one of the same partition succeeds,
//!   the mock appends out of order where Kafka would answer `OUT_OF_ORDER_SEQUENCE_NUMBER`, and
//!   a lost answer would give a duplicate Kafka would have dropped. So where faults are injected,
//!   the `Idempotent` ("pipelined") variants check exactly-once but not the order
//!   (`Order::Any`), and `IdempotentOneInFlight` variants check the order too.
//! - Injected errors (`request_errors`) fail a whole Produce request, every partition in it,
//!   before anything is appended: retrying them can never duplicate. They hit the next Produce
//!   request on *any* broker, so which records a single error fails depends on which leader's
//!   connection sends first.
//! - A new topic's partitions get a random replica as leader (`rd_jitter`), not the first one.
//! - A response is queued and written on a later poll of the mock's I/O loop, so `broker_down`
//!   can in principle land between appending a request's records and sending its answer; the
//!   producer then retries records that were written (a duplicate, legitimate at-least-once for
//!   `Strict`, and not deduplicated by the mock for `Idempotent`). The window is microseconds
//!   per request; the broker-down tests have not hit it.
//! - `broker_down` closes connections and stops serving, but keeps a listening socket on the
//!   same port: TCP connects still succeed and requests go unanswered (until `broker_up`, when
//!   the waiting connections are served). Metadata then omits the broker but still names it as
//!   leader of its partitions; no leader moves.
//! - A Fetch answer carries one message set (so `log::batches_in_log` shows how the producer
//!   batched), and Produce answers always report `log_append_time = 1234`, so
//!   `RecordMetadata::timestamp()` is 1234 on the mock.
//!
//! Modules by theme: `leaders` (leaders moved, a broker down and back, a leaderless partition),
//! `retriable` (injected retriable errors, `retries`, InitProducerId, pipelined batches behind a
//! failure), `split` (`MESSAGE_TOO_LARGE` and the split path), `timeouts` (`delivery.timeout.ms`),
//! `non_retriable` (errors that fail their records only); `log` checks what the mock's log holds.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrokafka::{
    DeliveryFuture, ProduceError, Producer, ProducerConfig, ProducerRecord, RecordMetadata,
};
use ferrokafka_tests::data::{key, value};
use ferrokafka_tests::mock::{Mock, mock_cluster_with_topic};
use ferrokafka_tests::producing::runtime;
use tokio::task::JoinHandle;

use crate::log::{Order, assert_log_matches};

mod leaders;
mod log;
mod non_retriable;
mod retriable;
mod split;
mod timeouts;

const TOPIC: &str = "t";
const PARTITIONS: i32 = 3;
/// Upper bound for every wait in these tests (flush, futures, read-back).
const WAIT: Duration = Duration::from_secs(30);

/// The producer settings under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `enable.idempotence=false`, `max.in.flight.requests.per.connection=1`.
    Strict,
    /// Idempotence on (the default), `max.in.flight.requests.per.connection=5` (the default).
    Idempotent,
    /// Idempotence on, `max.in.flight.requests.per.connection=1` (see the module docs on why).
    IdempotentOneInFlight,
}

/// The common settings for `mode`, then `overrides` (a later key replaces an earlier one).
fn config(bootstrap: &str, mode: Mode, overrides: &[(&str, &str)]) -> ProducerConfig {
    let mut props: BTreeMap<&str, &str> = BTreeMap::from([
        ("bootstrap.servers", bootstrap),
        ("acks", "all"),
        ("linger.ms", "5"),
        ("retry.backoff.ms", "20"),
        ("delivery.timeout.ms", "25000"),
        ("request.timeout.ms", "2000"),
        ("max.block.ms", "10000"),
        ("reconnect.backoff.ms", "20"),
        ("reconnect.backoff.max.ms", "200"),
    ]);
    match mode {
        Mode::Strict => {
            props.insert("enable.idempotence", "false");
            props.insert("max.in.flight.requests.per.connection", "1");
        }
        Mode::Idempotent => {}
        Mode::IdempotentOneInFlight => {
            props.insert("max.in.flight.requests.per.connection", "1");
        }
    }
    for &(k, v) in overrides {
        props.insert(k, v);
    }
    ProducerConfig::from_properties(props).expect("valid producer config")
}

fn record(i: usize) -> ProducerRecord {
    ProducerRecord::new(TOPIC)
        .with_key(key(i))
        .with_value(value(i))
}

type Pending = Vec<(usize, DeliveryFuture)>;
type Outcomes = Vec<(usize, Result<RecordMetadata, ProduceError>)>;

/// Sends `range` in order, sleeping `pause` after every `every` records, counting sends in
/// `progress`. Every send must be accepted (queued).
async fn send_paced(
    producer: Producer,
    range: Range<usize>,
    every: usize,
    pause: Duration,
    progress: Arc<AtomicUsize>,
) -> Pending {
    let mut pending = Vec::with_capacity(range.len());
    for i in range {
        let delivery = producer
            .send(record(i))
            .await
            .unwrap_or_else(|e| panic!("send of record {i} was refused: {e}"));
        pending.push((i, delivery));
        progress.fetch_add(1, Ordering::SeqCst);
        if every > 0 && (i + 1) % every == 0 {
            tokio::time::sleep(pause).await;
        }
    }
    pending
}

/// Sends `range` as fast as the producer takes it.
async fn send_all(producer: &Producer, range: Range<usize>) -> Pending {
    send_paced(
        producer.clone(),
        range,
        0,
        Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
    )
    .await
}

/// Awaits every delivery future; all of them must resolve within `timeout` in total.
async fn collect(pending: Pending, timeout: Duration) -> Outcomes {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut out = Vec::with_capacity(pending.len());
    for (i, delivery) in pending {
        let result = tokio::time::timeout_at(deadline, delivery)
            .await
            .unwrap_or_else(|_| {
                panic!("the delivery of record {i} did not resolve within {timeout:?}")
            });
        out.push((i, result));
    }
    out
}

/// The outcomes, which must all be successes.
fn all_delivered(outcomes: Outcomes) -> Vec<(usize, RecordMetadata)> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("record {i}: {e}")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} deliveries failed, first ones: {:?}",
        failed.len(),
        outcomes.len(),
        &failed[..failed.len().min(5)]
    );
    outcomes
        .into_iter()
        .map(|(i, r)| (i, r.expect("checked")))
        .collect()
}

/// A small count as a metric value.
fn as_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).expect("a small count"))
}

fn new_mock(brokers: i32) -> Mock {
    mock_cluster_with_topic(brokers, TOPIC, PARTITIONS).expect("mock cluster")
}

/// The broker after `current` in `ids`, cyclically.
fn next_broker(ids: &[i32], current: i32) -> i32 {
    let at = ids.iter().position(|&b| b == current).unwrap_or(0);
    ids[(at + 1) % ids.len()]
}

/// Runs `body` with a producer for `mode` (then `overrides`) on a runtime of its own, then
/// closes the producer (5 s) and drops the runtime.
fn with_producer<T>(
    bootstrap: &str,
    mode: Mode,
    overrides: &[(&str, &str)],
    body: impl AsyncFnOnce(&Producer) -> T,
) -> T {
    runtime().block_on(async {
        let producer = Producer::new(config(bootstrap, mode, overrides)).expect("producer");
        let out = body(&producer).await;
        producer.close(Duration::from_secs(5)).await;
        out
    })
}

/// Sends record `i` and awaits its delivery, at most [`WAIT`]; `what` names it in the panic.
async fn deliver(
    producer: &Producer,
    i: usize,
    what: &str,
) -> Result<RecordMetadata, ProduceError> {
    let delivery = producer.send(record(i)).await.expect("send");
    tokio::time::timeout(WAIT, delivery)
        .await
        .unwrap_or_else(|_| panic!("{what} resolved within {WAIT:?}"))
}

/// Waits (at most [`WAIT`]) for the background `sender` to finish, flushes, and awaits every
/// delivery it started.
async fn finish_sending(producer: &Producer, sender: JoinHandle<Pending>) -> Outcomes {
    let pending = tokio::time::timeout(WAIT, sender)
        .await
        .expect("sending finished in time")
        .expect("sender task");
    producer.flush(WAIT).await.expect("flush");
    collect(pending, WAIT).await
}

/// Every one of `records` outcomes is a success, and the log holds exactly those records
/// (`order` within a partition). Returns the deliveries.
fn assert_all_logged(
    bootstrap: &str,
    outcomes: Outcomes,
    records: usize,
    order: Order,
) -> Vec<(usize, RecordMetadata)> {
    let delivered = all_delivered(outcomes);
    assert_eq!(delivered.len(), records, "records delivered");
    assert_log_matches(bootstrap, &delivered, order);
    delivered
}
