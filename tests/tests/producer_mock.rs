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
//!   ([`Order::Any`]), and `IdempotentOneInFlight` variants check the order too.
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
//! - A Fetch answer carries one message set (so [`batches_in_log`] shows how the producer
//!   batched), and Produce answers always report `log_append_time = 1234`, so
//!   `RecordMetadata::timestamp()` is 1234 on the mock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrokafka::{
    DeliveryFuture, ErrorKind, ProduceError, Producer, ProducerConfig, ProducerRecord,
    RecordMetadata,
};
use ferrokafka_tests::consume::{Isolation, by_partition, read_back};
use ferrokafka_tests::data::{check_record, index_of_prefix as index_of, key, mismatch, value};
use ferrokafka_tests::mock::{
    Mock, broker_ids, clear_errors, inject_errors, inject_produce_errors, leaders,
    mock_cluster_with_topic, move_leader, restrict_versions, set_round_trip_time,
};
use ferrokafka_tests::producing::{metric, runtime, wait_for};
use ferrokafka_tests::raw;
use ferrokafka_wire::ErrorCode;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

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

/// What [`assert_log_matches`] requires of the order within a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Send order.
    Send,
    /// Any order (the mock cannot enforce idempotent ordering; see the module docs).
    Any,
}

/// Reads the topic back and checks that it holds exactly the `delivered` records: each once, at
/// the offset its delivery reported, offsets contiguous from 0, no duplicates, no gaps, nothing
/// else, and (with [`Order::Send`]) per partition in send order.
fn assert_log_matches(bootstrap: &str, delivered: &[(usize, RecordMetadata)], order: Order) {
    let read = read_back(
        bootstrap,
        TOPIC,
        delivered.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    let mut want: BTreeMap<i32, Vec<Option<usize>>> = BTreeMap::new();
    for (i, md) in delivered {
        assert_eq!(md.topic(), TOPIC);
        want.entry(md.partition()).or_default().push(Some(*i));
    }
    for records in want.values_mut() {
        records.sort_unstable();
    }
    let got = by_partition(&read);
    let got_indices: BTreeMap<i32, Vec<Option<usize>>> = got
        .iter()
        .map(|(p, rs)| {
            (
                *p,
                rs.iter().map(|r| index_of(r.value.as_deref())).collect(),
            )
        })
        .collect();
    let compared = match order {
        Order::Send => got_indices.clone(),
        Order::Any => got_indices
            .iter()
            .map(|(p, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                (*p, v)
            })
            .collect(),
    };
    if compared != want {
        let log = if read.len() <= 200 {
            format!("\n  log: {got_indices:?}")
        } else {
            String::new()
        };
        panic!(
            "the log differs from what was delivered ({order:?} order): {}{log}",
            describe_mismatch(&want, &compared)
        );
    }
    assert_eq!(read.len(), delivered.len(), "records in the log");
    for (p, rs) in &got {
        for (n, r) in rs.iter().enumerate() {
            check_record(*p, n, r, index_of);
        }
    }
    for (i, md) in delivered {
        let offset = md
            .offset()
            .unwrap_or_else(|| panic!("record {i}: acks=all must report an offset"));
        let at = got_indices[&md.partition()].get(usize::try_from(offset).unwrap());
        assert_eq!(
            at,
            Some(&Some(*i)),
            "record {i}: its delivery reported partition {} offset {offset}",
            md.partition()
        );
    }
}

/// A readable account of how `got` differs from `want` (per partition: lengths, duplicates,
/// missing records, the first position that differs).
fn describe_mismatch(
    want: &BTreeMap<i32, Vec<Option<usize>>>,
    got: &BTreeMap<i32, Vec<Option<usize>>>,
) -> String {
    let mut out = String::new();
    let partitions: std::collections::BTreeSet<i32> =
        want.keys().chain(got.keys()).copied().collect();
    let empty = Vec::new();
    for p in partitions {
        let w = want.get(&p).unwrap_or(&empty);
        let g = got.get(&p).unwrap_or(&empty);
        if w == g {
            continue;
        }
        let _ = write!(out, "\n  partition {p}: {}", mismatch(w, g));
    }
    out
}

/// The order a test with injected faults can check: with five requests in flight, the mock
/// appends a request that follows a failed one (Kafka would refuse it as out of sequence).
fn pipelined_order(mode: Mode) -> Order {
    if mode == Mode::Idempotent {
        Order::Any
    } else {
        Order::Send
    }
}

fn new_mock(brokers: i32) -> Mock {
    mock_cluster_with_topic(brokers, TOPIC, PARTITIONS).expect("mock cluster")
}

/// The broker after `current` in `ids`, cyclically.
fn next_broker(ids: &[i32], current: i32) -> i32 {
    let at = ids.iter().position(|&b| b == current).unwrap_or(0);
    ids[(at + 1) % ids.len()]
}

// ------------------------------------------------------------------------------------------
// 1. Leaders moved while sending.

fn leaders_move_mid_stream(mode: Mode) {
    const RECORDS: usize = 2000;
    const MOVES: usize = 9;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let ids = broker_ids(&mock);
    let mut current = leaders(&mock, TOPIC, WAIT).expect("leaders");
    let rt = runtime();
    let (outcomes, retries, moved_at) = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &[])).expect("producer");
        let progress = Arc::new(AtomicUsize::new(0));
        // About 2 s of sending: 10 ms pause every 10 records.
        let sender = tokio::spawn(send_paced(
            producer.clone(),
            0..RECORDS,
            10,
            Duration::from_millis(10),
            progress.clone(),
        ));
        let mut moved_at = Vec::new();
        for step in 0..MOVES {
            // A move every 100 sends (the sender's progress, not the clock): all while sending.
            let due = (step + 1) * RECORDS / 20;
            wait_for(&format!("{due} sends before move {step}"), WAIT, || {
                progress.load(Ordering::SeqCst) >= due
            })
            .await;
            let partition = i32::try_from(step).unwrap() % PARTITIONS;
            let to = next_broker(&ids, current[&partition]);
            move_leader(&mock, TOPIC, partition, to).expect("move leader");
            current.insert(partition, to);
            moved_at.push(progress.load(Ordering::SeqCst));
        }
        let pending = tokio::time::timeout(WAIT, sender)
            .await
            .expect("sending finished in time")
            .expect("sender task");
        producer.flush(WAIT).await.expect("flush");
        let outcomes = collect(pending, WAIT).await;
        let retries = metric(&producer, "record-retry-total");
        producer.close(Duration::from_secs(5)).await;
        (outcomes, retries, moved_at)
    });
    drop(rt);
    eprintln!("{mode:?}: leader moves after {moved_at:?} sends; record-retry-total {retries}");
    assert!(
        moved_at.iter().all(|&n| n > 0 && n < RECORDS),
        "every move happened while sending continued: {moved_at:?}"
    );
    assert_eq!(
        leaders(&mock, TOPIC, WAIT).expect("leaders"),
        current,
        "the mock reports the moved leaders"
    );
    let delivered = all_delivered(outcomes);
    assert_eq!(delivered.len(), RECORDS);
    assert_log_matches(&bootstrap, &delivered, Order::Send);
    assert!(
        retries > 0.0,
        "batches sent to a former leader were retried (record-retry-total {retries})"
    );
    eprintln!("{mode:?}: done in {:?}", started.elapsed());
}

#[test]
fn leaders_move_mid_stream_strict() {
    leaders_move_mid_stream(Mode::Strict);
}

#[test]
fn leaders_move_mid_stream_idempotent() {
    leaders_move_mid_stream(Mode::Idempotent);
}

// ------------------------------------------------------------------------------------------
// 2. A leader broker down and back.

/// A delivery watched from the moment of its send: when it was sent, its outcome, when that
/// arrived.
type Watched = (Instant, Result<RecordMetadata, ProduceError>, Instant);

/// `failover`: right after taking the leader of partition 0 down, move that partition's
/// leadership to broker 2 (what a controller does when a broker dies).
fn broker_down_and_back(mode: Mode, failover: bool) {
    const RECORDS: usize = 1500;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    // Spread the leaders (the mock picks a random replica as each partition's first leader),
    // so that taking one broker down stops one partition while the others keep going.
    for (partition, broker) in [(0, 1), (1, 2), (2, 3)] {
        move_leader(&mock, TOPIC, partition, broker).expect("move leader");
    }
    let before = leaders(&mock, TOPIC, WAIT).expect("leaders");
    assert_eq!(before, BTreeMap::from([(0, 1), (1, 2), (2, 3)]));
    let victim = before[&0];
    let rt = runtime();
    let (watched, retries, down, up) = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &[])).expect("producer");
        let progress = Arc::new(AtomicUsize::new(0));
        // About 3 s of sending: 10 ms pause every 5 records. Each delivery is awaited by its
        // own task, which notes when it resolved.
        let sender = {
            let producer = producer.clone();
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut watchers = Vec::with_capacity(RECORDS);
                for i in 0..RECORDS {
                    let sent = Instant::now();
                    let delivery = producer
                        .send(record(i))
                        .await
                        .unwrap_or_else(|e| panic!("send of record {i} was refused: {e}"));
                    watchers.push((
                        i,
                        tokio::spawn(async move {
                            let result = delivery.await;
                            (sent, result, Instant::now())
                        }),
                    ));
                    progress.fetch_add(1, Ordering::SeqCst);
                    if (i + 1) % 5 == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                watchers
            })
        };
        // Down after about a sixth of the sends, up after about two thirds: the sender's
        // progress decides, not the clock, so both happen while sending continues.
        wait_for("250 sends before the broker goes down", WAIT, || {
            progress.load(Ordering::SeqCst) >= 250
        })
        .await;
        mock.broker_down(victim).expect("broker down");
        if failover {
            move_leader(&mock, TOPIC, 0, 2).expect("fail over");
        }
        let down = (Instant::now(), progress.load(Ordering::SeqCst));
        wait_for("1000 sends before the broker comes back", WAIT, || {
            progress.load(Ordering::SeqCst) >= 1000
        })
        .await;
        let up = (Instant::now(), progress.load(Ordering::SeqCst));
        mock.broker_up(victim).expect("broker up");
        let watchers = tokio::time::timeout(WAIT, sender)
            .await
            .expect("sending finished in time")
            .expect("sender task");
        producer.flush(WAIT).await.expect("flush");
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut watched: Vec<(usize, Watched)> = Vec::with_capacity(RECORDS);
        for (i, watcher) in watchers {
            let w = tokio::time::timeout_at(deadline, watcher)
                .await
                .unwrap_or_else(|_| panic!("the delivery of record {i} did not resolve"))
                .expect("watcher task");
            watched.push((i, w));
        }
        let retries = metric(&producer, "record-retry-total");
        producer.close(Duration::from_secs(5)).await;
        (watched, retries, down, up)
    });
    drop(rt);
    let (down_time, down_at) = down;
    let (up_time, up_at) = up;
    eprintln!(
        "{mode:?}: broker {victim} down after {down_at} sends, up after {up_at}; \
         record-retry-total {retries}"
    );
    assert!(
        0 < down_at && down_at < up_at && up_at < RECORDS,
        "the broker went down and came back while sending continued ({down_at}, {up_at})"
    );
    // Records sent while the victim was down (leaving the last 500 ms, and its leader's
    // records needing the broker back): the victim's waited for it, unless its partition failed
    // over (then they flowed from 300 ms after the failover on); the others did not wait.
    let mut waited = 0;
    let mut flowed = 0;
    let mut failed_over = 0;
    for (i, (sent, result, resolved)) in &watched {
        let Ok(md) = result else { continue };
        if *sent < down_time || *sent + Duration::from_millis(500) > up_time {
            continue;
        }
        if md.partition() == 0 && failover {
            if *sent >= down_time + Duration::from_millis(300) {
                assert!(
                    *resolved < up_time,
                    "record {i} of the failed-over partition waited for the old leader"
                );
                failed_over += 1;
            }
        } else if md.partition() == 0 {
            assert!(
                *resolved >= up_time,
                "record {i} on the downed leader's partition resolved before the broker was \
                 back"
            );
            waited += 1;
        } else {
            assert!(
                *resolved < up_time,
                "record {i} (partition {}) waited for the unrelated broker {victim}: resolved \
                 {:?} after it came back",
                md.partition(),
                resolved.saturating_duration_since(up_time)
            );
            flowed += 1;
        }
    }
    eprintln!(
        "{mode:?} (failover: {failover}): during the outage, {waited} records of partition 0 \
         waited for the broker, {failed_over} went to the new leader, {flowed} of partitions 1 \
         and 2 were delivered meanwhile"
    );
    if failover {
        assert!(
            failed_over > 0 && flowed > 0,
            "{failed_over} failed over, {flowed} flowed"
        );
    } else {
        assert!(waited > 0 && flowed > 0, "{waited} waited, {flowed} flowed");
    }
    let delivered = all_delivered(
        watched
            .into_iter()
            .map(|(i, (_, result, _))| (i, result))
            .collect(),
    );
    assert_eq!(delivered.len(), RECORDS);
    assert_log_matches(&bootstrap, &delivered, Order::Send);
    eprintln!("{mode:?}: done in {:?}", started.elapsed());
}

#[test]
fn broker_down_and_back_strict() {
    broker_down_and_back(Mode::Strict, false);
}

#[test]
fn broker_down_with_failover_strict() {
    broker_down_and_back(Mode::Strict, true);
}

#[test]
fn broker_down_with_failover_idempotent() {
    broker_down_and_back(Mode::Idempotent, true);
}

#[test]
fn broker_down_and_back_idempotent() {
    broker_down_and_back(Mode::Idempotent, false);
}

/// What the producer's driver did, from its metrics: wake-ups waiting for I/O (`select-total`)
/// and requests sent (`request-total`).
#[derive(Debug)]
struct DriverWork {
    selects: f64,
    requests: f64,
}

impl DriverWork {
    fn of(producer: &Producer) -> Self {
        Self {
            selects: metric(producer, "select-total"),
            requests: metric(producer, "request-total"),
        }
    }

    fn since(&self, earlier: &Self) -> Self {
        Self {
            selects: self.selects - earlier.selects,
            requests: self.requests - earlier.requests,
        }
    }
}

/// A partition without a leader for a second mid-stream, then led by another broker: its
/// records wait and are then delivered, in order, and the producer does not spin meanwhile.
fn leaderless_partition_mid_stream(mode: Mode) {
    const RECORDS: usize = 1200;
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    for (partition, broker) in [(0, 1), (1, 2), (2, 3)] {
        move_leader(&mock, TOPIC, partition, broker).expect("move leader");
    }
    // The mock's Produce v10 handler dereferences the leader of a leaderless partition to fill
    // in CurrentLeader (KIP-951) and crashes the test process (SIGSEGV): keep Produce below v10.
    restrict_versions(&mock, &[(RDKafkaApiKey::Produce, 0, 9)]).expect("restrict Produce");
    let rt = runtime();
    let (outcomes, idle) = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &[])).expect("producer");
        // About 2.4 s of sending: 10 ms pause every 5 records.
        let sender = tokio::spawn(send_paced(
            producer.clone(),
            0..RECORDS,
            5,
            Duration::from_millis(10),
            Arc::new(AtomicUsize::new(0)),
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        mock.partition_leader(TOPIC, 0, None)
            .expect("make partition 0 leaderless");
        // The partition stays leaderless for a second (a sleep to let time pass); what the
        // driver did meanwhile is counted, not timed.
        let before = DriverWork::of(&producer);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle = DriverWork::of(&producer).since(&before);
        move_leader(&mock, TOPIC, 0, 2).expect("move leader");
        let pending = tokio::time::timeout(WAIT, sender)
            .await
            .expect("sending finished in time")
            .expect("sender task");
        producer.flush(WAIT).await.expect("flush");
        let outcomes = collect(pending, WAIT).await;
        producer.close(Duration::from_secs(5)).await;
        (outcomes, idle)
    });
    drop(rt);
    eprintln!("{mode:?}: driver work during the leaderless second: {idle:?}");
    let delivered = all_delivered(outcomes);
    assert_eq!(delivered.len(), RECORDS);
    assert_log_matches(&bootstrap, &delivered, Order::Send);
    // No busy loop: about 500 sends, their Produce requests and a metadata refresh per retry
    // backoff (20 ms) make a few hundred driver wake-ups and requests in that second; a loop
    // spinning on the leaderless partition makes tens of thousands, however loaded the machine.
    assert!(
        idle.selects < 5_000.0 && idle.requests < 2_000.0,
        "the driver woke or sent too often during one leaderless second (a busy loop?): {idle:?}"
    );
}

#[test]
fn leaderless_partition_mid_stream_strict() {
    leaderless_partition_mid_stream(Mode::Strict);
}

#[test]
fn leaderless_partition_mid_stream_idempotent() {
    leaderless_partition_mid_stream(Mode::Idempotent);
}

// ------------------------------------------------------------------------------------------
// 3. Injected retriable Produce errors.

fn retriable_errors(error: RDKafkaRespErr, mode: Mode) {
    const FIRST: usize = 100;
    const RECORDS: usize = 600;
    const INJECTED: usize = 3;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (outcomes, retries, requests) = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &[])).expect("producer");
        let mut pending = send_all(&producer, 0..FIRST).await;
        producer.flush(WAIT).await.expect("flush before the faults");
        assert_eq!(metric(&producer, "record-retry-total"), 0.0);
        inject_produce_errors(&mock, &[error; INJECTED]);
        pending.extend(
            send_paced(
                producer.clone(),
                FIRST..RECORDS,
                20,
                Duration::from_millis(2),
                Arc::new(AtomicUsize::new(0)),
            )
            .await,
        );
        producer.flush(WAIT).await.expect("flush");
        let outcomes = collect(pending, WAIT).await;
        let retries = metric(&producer, "record-retry-total");
        let requests = metric(&producer, "produce-request-total");
        producer.close(Duration::from_secs(5)).await;
        (outcomes, retries, requests)
    });
    drop(rt);
    eprintln!(
        "{error:?} {mode:?}: record-retry-total {retries}, request-total {requests}, {:?}",
        started.elapsed()
    );
    let delivered = all_delivered(outcomes);
    assert_eq!(delivered.len(), RECORDS);
    assert_log_matches(&bootstrap, &delivered, pipelined_order(mode));
    assert!(
        retries > 0.0,
        "the injected errors caused retries (record-retry-total {retries})"
    );
}

#[test]
fn not_leader_for_partition_is_retried_strict() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        Mode::Strict,
    );
}

#[test]
fn not_leader_for_partition_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        Mode::IdempotentOneInFlight,
    );
}

#[test]
fn not_leader_for_partition_is_retried_idempotent_pipelined() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        Mode::Idempotent,
    );
}

#[test]
fn request_timed_out_is_retried_strict() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        Mode::Strict,
    );
}

#[test]
fn request_timed_out_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        Mode::IdempotentOneInFlight,
    );
}

#[test]
fn request_timed_out_is_retried_idempotent_pipelined() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        Mode::Idempotent,
    );
}

#[test]
fn not_enough_replicas_is_retried_strict() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        Mode::Strict,
    );
}

#[test]
fn not_enough_replicas_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        Mode::IdempotentOneInFlight,
    );
}

#[test]
fn not_enough_replicas_is_retried_idempotent_pipelined() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        Mode::Idempotent,
    );
}

/// `__TRANSPORT` makes the mock close the connection instead of answering (nothing appended):
/// a request lost with its connection.
#[test]
fn connection_closed_mid_request_is_retried_strict() {
    retriable_errors(RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT, Mode::Strict);
}

#[test]
fn connection_closed_mid_request_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT,
        Mode::IdempotentOneInFlight,
    );
}

/// `retries` counts resends (Java: `retries = N` allows N + 1 attempts). Three injected
/// `NOT_ENOUGH_REPLICAS` on a lone record: with `retries = 3` the fourth attempt delivers it;
/// with `retries = 2` it fails after the third attempt with the broker's code, and the next
/// record is delivered.
fn retries_bound(retries: &str) -> Result<RecordMetadata, ProduceError> {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (outcome, next, counted) = rt.block_on(async {
        let producer = Producer::new(config(
            &bootstrap,
            Mode::Strict,
            &[("retries", retries), ("linger.ms", "0")],
        ))
        .expect("producer");
        let warm = producer.send(record(0)).await.expect("send");
        tokio::time::timeout(WAIT, warm)
            .await
            .expect("warm-up resolved")
            .expect("warm-up delivered");
        inject_produce_errors(
            &mock,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 3],
        );
        let lone = producer.send(record(1)).await.expect("send");
        let outcome = tokio::time::timeout(WAIT, lone).await.expect("resolved");
        let counted = metric(&producer, "record-retry-total");
        let next = producer.send(record(2)).await.expect("send");
        let next = tokio::time::timeout(WAIT, next).await.expect("resolved");
        producer.close(Duration::from_secs(5)).await;
        (outcome, next, counted)
    });
    drop(rt);
    eprintln!("retries={retries}: {outcome:?}; record-retry-total {counted}");
    next.expect("the record after is delivered");
    outcome
}

#[test]
fn retries_three_outlasts_three_errors() {
    let md = retries_bound("3").expect("delivered on the fourth attempt");
    assert_eq!(md.topic(), TOPIC);
    assert!(md.offset().is_some());
}

#[test]
fn retries_two_gives_up_after_three_attempts() {
    match retries_bound("2") {
        Err(e) if e.kind() == ErrorKind::Broker => {
            assert_eq!(e.kafka_code(), Some(ErrorCode::NOT_ENOUGH_REPLICAS));
        }
        other => panic!("expected a NOT_ENOUGH_REPLICAS broker error, got {other:?}"),
    }
}

/// InitProducerId answered with a retriable error three times: the idempotent producer asks
/// again and then delivers everything.
#[test]
fn init_producer_id_retriable_errors_are_retried() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        RDKafkaApiKey::InitProducerId,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS; 3],
    );
    let rt = runtime();
    let outcomes = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, Mode::Idempotent, &[])).expect("producer");
        let pending = send_all(&producer, 0..50).await;
        let outcomes = collect(pending, WAIT).await;
        producer.close(Duration::from_secs(5)).await;
        outcomes
    });
    drop(rt);
    let delivered = all_delivered(outcomes);
    assert_log_matches(&bootstrap, &delivered, Order::Send);
}

/// InitProducerId answered with a fatal error: every record fails with a clear error instead of
/// waiting for `delivery.timeout.ms` or hanging.
#[test]
fn init_producer_id_fatal_error_fails_records_promptly() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        RDKafkaApiKey::InitProducerId,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED],
    );
    let rt = runtime();
    rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, Mode::Idempotent, &[])).expect("producer");
        let started = Instant::now();
        let mut results = Vec::new();
        for i in 0..5 {
            match producer.send(record(i)).await {
                Ok(delivery) => results.push(
                    tokio::time::timeout(WAIT, delivery)
                        .await
                        .expect("resolved")
                        .map(|_| ()),
                ),
                Err(e) => results.push(Err(e)),
            }
        }
        let elapsed = started.elapsed();
        eprintln!("fatal InitProducerId: {results:?} after {elapsed:?}");
        for (i, r) in results.iter().enumerate() {
            let e = r.as_ref().expect_err("no record can be delivered");
            let text = e.to_string();
            assert!(
                matches!(e.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
                "record {i}: {e:?}"
            );
            assert!(
                text.contains("CLUSTER_AUTHORIZATION_FAILED"),
                "record {i}: {text}"
            );
        }
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
        producer.close(Duration::from_secs(2)).await;
    });
}

/// An idempotent producer (not transactional) retries `UNKNOWN_PRODUCER_ID` and
/// `OUT_OF_ORDER_SEQUENCE_NUMBER` (Java `TransactionManager.canRetry`: "for the idempotent
/// producer, always retry UNKNOWN_PRODUCER_ID errors", bumping the epoch; the same for
/// OUT_OF_ORDER_SEQUENCE_NUMBER). One such error on the first request after a warm-up must not
/// fail any record.
///
/// Regression test: the engine used to retry these codes only when an earlier batch of the
/// partition was still unresolved, and otherwise failed the records with
/// `DeliveryError::Broker { code: UNKNOWN_PRODUCER_ID (59) | OUT_OF_ORDER_SEQUENCE_NUMBER (45) }`
/// (49 of the 50 records here: the whole failed request, three partitions). Fixed in the engine
/// (944f8a5, 22387e2).
fn idempotent_sequence_error_is_retried(error: RDKafkaRespErr) {
    const RECORDS: usize = 50;
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let outcomes = rt.block_on(async {
        let producer =
            Producer::new(config(&bootstrap, Mode::IdempotentOneInFlight, &[])).expect("producer");
        let mut outcomes = collect(send_all(&producer, 0..1).await, WAIT).await;
        inject_produce_errors(&mock, &[error]);
        outcomes.extend(collect(send_all(&producer, 1..RECORDS).await, WAIT).await);
        producer.close(Duration::from_secs(5)).await;
        outcomes
    });
    drop(rt);
    let delivered = all_delivered(outcomes);
    assert_log_matches(&bootstrap, &delivered, Order::Send);
}

#[test]
fn idempotent_unknown_producer_id_is_retried() {
    idempotent_sequence_error_is_retried(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
}

#[test]
fn idempotent_out_of_order_sequence_is_retried() {
    idempotent_sequence_error_is_retried(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
}

/// Five batches of one partition in flight at once (idempotent, five requests in flight, every
/// answer delayed 300 ms so that all five are sent first). The first is refused with
/// `first_error`; the four behind it get `OUT_OF_ORDER_SEQUENCE_NUMBER`, exactly what Kafka
/// answers when a sequence is missing (the mock itself does not check sequences, so the test
/// plays the broker's part). Java retries those four (`canRetry`: an out-of-order batch that is
/// not the next expected sequence is retried) and everything is delivered, in order.
fn pipelined_behind_a_failed_batch(first_error: RDKafkaRespErr) -> (Outcomes, f64, f64) {
    const WARM: usize = 2;
    const RECORDS: usize = 12;
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (outcomes, requests, retried) = rt.block_on(async {
        let producer = Producer::new(config(
            &bootstrap,
            Mode::Idempotent,
            &[("batch.size", "1024"), ("linger.ms", "1000")],
        ))
        .expect("producer");
        let mut outcomes = Vec::new();
        let mut send = async |range: Range<usize>| {
            let mut pending = Vec::new();
            for i in range {
                pending.push((i, producer.send(compressible(i)).await.expect("send")));
            }
            producer.flush(WAIT).await.expect("flush");
            outcomes.extend(collect(pending, WAIT).await);
        };
        send(0..WARM).await;
        set_round_trip_time(&mock, None, Duration::from_millis(300)).expect("rtt");
        let mut errors = vec![first_error];
        errors.extend([RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER; 4]);
        inject_produce_errors(&mock, &errors);
        // Two ~420-byte records per 1024-byte batch: five batches.
        let before = metric(&producer, "produce-request-total");
        send(WARM..RECORDS).await;
        let requests = metric(&producer, "produce-request-total") - before;
        let retried = metric(&producer, "record-retry-total");
        set_round_trip_time(&mock, None, Duration::ZERO).expect("rtt");
        producer.close(Duration::from_secs(5)).await;
        (outcomes, requests, retried)
    });
    drop(rt);
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("record {i}: {e}")))
        .collect();
    eprintln!(
        "{first_error:?} then 4 x OUT_OF_ORDER_SEQUENCE_NUMBER: {requests} Produce requests, \
         {retried} records retried, failed {failed:?}"
    );
    let delivered = all_delivered(outcomes.clone());
    assert_log_matches(&bootstrap, &delivered, Order::Send);
    (outcomes, requests, retried)
}

#[test]
fn pipelined_batches_behind_a_retriable_failure_are_retried() {
    let (_, requests, retried) =
        pipelined_behind_a_failed_batch(RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    // Five refused, five sent again: all ten records retried.
    assert_eq!((requests, retried), (10.0, 10.0));
}

#[test]
fn pipelined_batches_behind_a_split_batch_are_retried() {
    let (_, requests, retried) =
        pipelined_behind_a_failed_batch(RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    // Five refused; the first split in two one-record parts, the four others sent again.
    assert_eq!((requests, retried), (11.0, 8.0));
}

// ------------------------------------------------------------------------------------------
// 3b. MESSAGE_TOO_LARGE on a multi-record batch: the split path.

/// A very compressible record for partition 0.
fn compressible(i: usize) -> ProducerRecord {
    let mut v = value(i);
    v.push_str(&"x".repeat(400));
    ProducerRecord::new(TOPIC)
        .with_partition(0)
        .with_key(key(i))
        .with_value(v)
}

/// Sends 20 warm-up records to partition 0, then the same load of 30 records twice, the
/// second time with one injected `MESSAGE_TOO_LARGE`; checks the split and returns the record
/// counts of the batches the second load was written in.
///
/// `compressed`: lz4 with batch.size 1024, so that once the warm-up taught the accumulator the
/// compression ratio, one batch holds about 12 KB of uncompressed records (30 records of ~420
/// bytes), far more than batch.size. Otherwise no compression and the default batch.size
/// (16384): the 30 records (~12.7 KB) fit one batch, within batch.size.
fn message_too_large_splits(mode: Mode, compressed: bool) -> Vec<i32> {
    const WARM: usize = 20;
    const BIG: usize = 30;
    let started = Instant::now();
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let overrides: &[(&str, &str)] = if compressed {
        &[
            ("compression.type", "lz4"),
            ("batch.size", "1024"),
            ("linger.ms", "20000"),
        ]
    } else {
        &[("linger.ms", "20000")]
    };
    let (outcomes, clean, faulty, retries, errors) = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, overrides)).expect("producer");
        let mut pending = Vec::new();
        // Produce requests needed by `range` (sent at once, then flushed).
        let mut phase = async |range: Range<usize>| {
            let before = metric(&producer, "produce-request-total");
            for i in range {
                pending.push((i, producer.send(compressible(i)).await.expect("send")));
            }
            producer.flush(WAIT).await.expect("flush");
            metric(&producer, "produce-request-total") - before
        };
        phase(0..WARM).await;
        // The same load twice, the second time with one MESSAGE_TOO_LARGE.
        let clean = phase(WARM..WARM + BIG).await;
        inject_produce_errors(
            &mock,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
        );
        let faulty = phase(WARM + BIG..WARM + 2 * BIG).await;
        let outcomes = collect(pending, WAIT).await;
        let retries = metric(&producer, "record-retry-total");
        let errors = metric(&producer, "record-error-total");
        producer.close(Duration::from_secs(5)).await;
        (outcomes, clean, faulty, retries, errors)
    });
    drop(rt);
    eprintln!(
        "{mode:?}: {BIG} records took {clean} Produce request(s) without the fault, {faulty} with \
         it; record-retry-total {retries}; {:?}",
        started.elapsed()
    );
    let delivered = all_delivered(outcomes);
    assert_eq!(delivered.len(), WARM + 2 * BIG);
    assert_eq!(errors, 0.0, "record-error-total");
    assert!(
        delivered.iter().all(|(_, md)| md.partition() == 0),
        "explicit partition kept"
    );
    assert_log_matches(&bootstrap, &delivered, pipelined_order(mode));
    let batches = batches_in_log(&bootstrap, 0);
    let counts = |range: Range<usize>| -> Vec<i32> {
        let range = i64::try_from(range.start).unwrap()..i64::try_from(range.end).unwrap();
        batches
            .iter()
            .filter(|(base, _)| range.contains(base))
            .map(|(_, n)| *n)
            .collect()
    };
    let (clean_batches, fault_batches) =
        (counts(WARM..WARM + BIG), counts(WARM + BIG..WARM + 2 * BIG));
    eprintln!(
        "{mode:?} (compressed: {compressed}): record counts of the batches in the log: warm-up \
         {:?}, clean {clean_batches:?}, with the fault {fault_batches:?}",
        counts(0..WARM),
    );
    assert_eq!(
        clean,
        as_f64(clean_batches.len()),
        "one request per batch without the fault"
    );
    // The rejected batch went out again as two or more parts, each in its own request (one
    // batch per partition per request), after the one rejected request.
    assert!(
        fault_batches.len() >= 2,
        "the rejected batch was split: {fault_batches:?}"
    );
    assert_eq!(
        faulty,
        1.0 + as_f64(fault_batches.len()),
        "requests with the fault: the rejected one, then one per part"
    );
    fault_batches
}

/// The record batches (message sets) of `partition`, as `(base offset, record count)`, read with
/// raw Fetch v4 requests from the broker at `addr` (the leader). The mock answers a Fetch with
/// one message set, exactly as the producer sent it, so this shows how records were batched.
fn batches_in_log(addr: &str, partition: i32) -> Vec<(i64, i32)> {
    let mut batches = Vec::new();
    let mut offset = 0i64;
    for _ in 0..1000 {
        let answer = raw::fetch_v4(
            addr,
            TOPIC,
            partition,
            offset,
            false,
            Duration::from_secs(10),
        );
        assert_eq!(answer.error, 0, "Fetch error code");
        let set = raw::split_batches(&answer.records, &format!("{partition}/"));
        if set.is_empty() {
            return batches;
        }
        for (h, _) in set {
            batches.push((h.base_offset, h.count));
            offset = h.base_offset + i64::from(h.count);
        }
    }
    panic!("more than 1000 Fetch requests for partition {partition}");
}

#[test]
fn message_too_large_splits_the_batch_strict() {
    message_too_large_splits(Mode::Strict, false);
    message_too_large_splits(Mode::Strict, true);
}

#[test]
fn message_too_large_splits_the_batch_idempotent() {
    message_too_large_splits(Mode::IdempotentOneInFlight, false);
    message_too_large_splits(Mode::IdempotentOneInFlight, true);
}

#[test]
fn message_too_large_splits_the_batch_idempotent_pipelined() {
    message_too_large_splits(Mode::Idempotent, false);
    message_too_large_splits(Mode::Idempotent, true);
}

/// Java splits a refused batch into batch.size pieces, measured uncompressed (it resets the
/// compression estimate to at least 1.0 first): a 30-record lz4 batch of ~530 bytes (~12.7 KB
/// uncompressed) goes out again as 15 two-record batches (2 × ~420 + 61 ≤ 1024).
///
/// Regression test: the engine's split limit was `min(batch.size, bytes_len / 2)` with
/// `bytes_len` the *compressed* size, measured against *uncompressed* records (~265 bytes
/// here, below any one record), so the batch went out as 30 one-record batches. Fixed in the
/// engine (22387e2).
///
/// How many of the 30 records the refused batch held depends on the compression ratio the
/// accumulator learned so far, which depends on when the sender closed earlier batches
/// relative to the appends (a fresh-clone run saw a 23-record batch refused, then a 7-record
/// batch: `[2, …, 2, 1, 7]`). So the check is on what the splitter alone decides: two records
/// per part, and at most one shorter part (its last).
#[test]
fn message_too_large_split_of_a_compressed_batch_keeps_batch_size_parts() {
    let parts = message_too_large_splits(Mode::Strict, true);
    let short = parts.iter().filter(|&&n| n < 2).count();
    assert!(
        parts.len() >= 2 && short <= 1,
        "parts of about batch.size (two ~420-byte records each, at most one shorter last part) \
         expected, got record counts {parts:?}"
    );
}

// ------------------------------------------------------------------------------------------
// 4. delivery.timeout.ms with every broker down.

fn expect_delivery_timeout(i: usize, result: &Result<RecordMetadata, ProduceError>) {
    match result {
        Err(e) if e.kind() == ErrorKind::DeliveryTimeout => {
            assert_eq!(e.topic(), Some(TOPIC), "record {i}");
            assert!(
                e.partition().is_some_and(|p| (0..PARTITIONS).contains(&p)),
                "record {i}"
            );
        }
        other => panic!("record {i}: expected DeliveryTimeout, got {other:?}"),
    }
}

/// Takes every broker of a `brokers`-broker mock down (and, with `up`, back up).
fn set_all_brokers(mock: &Mock, up: bool) {
    for id in broker_ids(mock) {
        if up {
            mock.broker_up(id).expect("broker up");
        } else {
            mock.broker_down(id).expect("broker down");
        }
    }
}

fn delivery_timeout_with_broker_down(mode: Mode, brokers: i32) {
    const DOWN: usize = 30;
    let started = Instant::now();
    let mock = new_mock(brokers);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let overrides = [
        ("linger.ms", "0"),
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "3000"),
        ("max.block.ms", "5000"),
    ];
    rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &overrides)).expect("producer");
        // Warm up: metadata known, connection (and producer id) in place.
        let first = producer.send(record(0)).await.expect("send");
        tokio::time::timeout(WAIT, first)
            .await
            .expect("warm-up resolved")
            .expect("warm-up delivered");

        // Phase A: every broker is down; every record times out.
        set_all_brokers(&mock, false);
        let down_since = Instant::now();
        let pending = send_all(&producer, 1..DOWN + 1).await;
        let sent_in = down_since.elapsed();
        let outcomes = collect(pending, Duration::from_secs(15)).await;
        let failed_in = down_since.elapsed();
        eprintln!("{mode:?} {brokers} broker(s): {DOWN} sends queued in {sent_in:?}, all resolved after {failed_in:?}");
        for (i, result) in &outcomes {
            expect_delivery_timeout(*i, result);
        }
        assert!(
            failed_in >= Duration::from_millis(2900),
            "no record failed before delivery.timeout.ms (all resolved after {failed_in:?})"
        );
        assert!(
            failed_in <= Duration::from_secs(8),
            "delivery.timeout.ms = 3 s bounds the failures (all resolved after {failed_in:?})"
        );
        assert!(metric(&producer, "record-error-total") >= as_f64(DOWN));

        // Phase B: the brokers are back; the same producer delivers again.
        set_all_brokers(&mock, true);
        let back = Instant::now();
        let pending = send_all(&producer, DOWN + 1..DOWN + 11).await;
        let outcomes = collect(pending, WAIT).await;
        eprintln!("{mode:?} {brokers} broker(s): recovered in {:?}", back.elapsed());
        all_delivered(outcomes);

        // Phase C: down again with records queued; close(2 s) returns promptly and every
        // future resolves.
        set_all_brokers(&mock, false);
        let pending = send_all(&producer, DOWN + 11..DOWN + 21).await;
        let closing = Instant::now();
        tokio::time::timeout(
            Duration::from_secs(10),
            producer.close(Duration::from_secs(2)),
        )
        .await
        .expect("close returned");
        let closed_in = closing.elapsed();
        let outcomes = collect(pending, Duration::from_secs(2)).await;
        eprintln!("{mode:?} {brokers} broker(s): close(2 s) returned after {closed_in:?}");
        assert!(
            closed_in <= Duration::from_secs(3),
            "close(2 s) took {closed_in:?}"
        );
        // Never sent (Aborted), timed out, or — a batch written to a connection the mock had
        // already closed before the producer noticed — outcome unknown (ClosedInFlight): on a
        // loaded machine the write can win that race. Never delivered, never left pending.
        for (i, result) in &outcomes {
            assert!(
                // Aborted and ClosedInFlight are the Closed kind of a delivery.
                matches!(
                    result.as_ref().map_err(ProduceError::kind),
                    Err(ErrorKind::Closed | ErrorKind::DeliveryTimeout)
                ),
                "record {i} after close: {result:?}"
            );
        }
        // A closed producer refuses new records instead of hanging.
        let refused = tokio::time::timeout(Duration::from_secs(5), producer.send(record(999)))
            .await
            .expect("send after close returned");
        assert!(refused.is_err(), "send after close: {refused:?}");
        set_all_brokers(&mock, true);
    });
    drop(rt);
    // Only the warm-up and phase B records are in the log.
    let read = read_back(&bootstrap, TOPIC, 11, WAIT, Isolation::ReadUncommitted).expect("read");
    let mut indices: Vec<usize> = read
        .iter()
        .filter_map(|r| index_of(r.value.as_deref()))
        .collect();
    indices.sort_unstable();
    let want: Vec<usize> = std::iter::once(0).chain(DOWN + 1..DOWN + 11).collect();
    assert_eq!(indices, want, "the log holds exactly the delivered records");
    eprintln!("{mode:?}: done in {:?}", started.elapsed());
}

#[test]
fn delivery_timeout_with_the_broker_down_strict() {
    delivery_timeout_with_broker_down(Mode::Strict, 1);
}

#[test]
fn delivery_timeout_with_the_broker_down_idempotent() {
    delivery_timeout_with_broker_down(Mode::Idempotent, 1);
}

#[test]
fn delivery_timeout_with_all_three_brokers_down_strict() {
    delivery_timeout_with_broker_down(Mode::Strict, 3);
}

#[test]
fn delivery_timeout_with_all_three_brokers_down_idempotent() {
    delivery_timeout_with_broker_down(Mode::Idempotent, 3);
}

/// A retriable error that never stops: the records are retried until `delivery.timeout.ms` and
/// then fail with `DeliveryTimeout`, naming the last error and how often the batch was sent.
fn retriable_until_delivery_timeout() -> (Vec<ProduceError>, Duration, f64) {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    rt.block_on(async {
        let producer = Producer::new(config(
            &bootstrap,
            Mode::Strict,
            &[
                ("linger.ms", "0"),
                ("request.timeout.ms", "1000"),
                ("delivery.timeout.ms", "2000"),
                ("retry.backoff.ms", "50"),
                ("retry.backoff.max.ms", "50"),
            ],
        ))
        .expect("producer");
        collect(send_all(&producer, 0..1).await, WAIT).await;
        inject_produce_errors(
            &mock,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 1000],
        );
        let started = Instant::now();
        let outcomes = collect(send_all(&producer, 1..2).await, Duration::from_secs(15)).await;
        let elapsed = started.elapsed();
        let retries = metric(&producer, "record-retry-total");
        clear_errors(&mock, RDKafkaApiKey::Produce);
        producer.close(Duration::from_secs(2)).await;
        let errors = outcomes
            .into_iter()
            .map(|(i, r)| r.expect_err(&format!("record {i} cannot be delivered")))
            .collect();
        (errors, elapsed, retries)
    })
}

#[test]
fn retriable_errors_until_delivery_timeout() {
    let (errors, elapsed, retries) = retriable_until_delivery_timeout();
    eprintln!("{errors:?} after {elapsed:?}, record-retry-total {retries}");
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed <= Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert!(retries >= 5.0, "retried until the timeout: {retries}");
    for e in &errors {
        match e {
            e if e.kind() == ErrorKind::DeliveryTimeout => {
                // The last error of a delivery timeout.
                assert_eq!(e.kafka_code(), Some(ErrorCode::NOT_ENOUGH_REPLICAS), "{e}");
            }
            other => panic!("expected DeliveryTimeout, got {other:?}"),
        }
    }
}

/// `DeliveryTimeout::attempts` is documented as "sends of the batch".
///
/// Regression test: the engine used to fill in a constant 0 when it expired a batch: a batch
/// sent 39 times (38 retries) failed with "delivery.timeout.ms expired for t-N after 0
/// attempt(s), last error NOT_ENOUGH_REPLICAS(19)". Fixed in the engine (22387e2).
#[test]
fn delivery_timeout_reports_the_attempts() {
    let (errors, _, retries) = retriable_until_delivery_timeout();
    for e in &errors {
        match e.attempts() {
            Some(attempts) if e.kind() == ErrorKind::DeliveryTimeout => {
                assert!(
                    attempts >= 2,
                    "the batch was sent {} times but the error says: {e}",
                    retries + 1.0
                );
            }
            _ => panic!("expected DeliveryTimeout, got {e:?}"),
        }
    }
}

/// `delivery.timeout.ms` is "an upper bound on the time to report success or failure after a
/// call to send() returns" (Java docs); Java also expires batches that are in flight. A broker
/// that never answers in time (10 s round trip), `request.timeout.ms` 2000,
/// `delivery.timeout.ms` 3000: the record fails at about 3 s. (The mock's round-trip delay
/// applies to every API, so the batch cannot be caught in flight at its expiry here.)
fn slow_broker_delivery_timeout() -> (Result<RecordMetadata, ProduceError>, Duration) {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    rt.block_on(async {
        let producer = Producer::new(config(
            &bootstrap,
            Mode::Strict,
            &[
                ("linger.ms", "0"),
                ("request.timeout.ms", "2000"),
                ("delivery.timeout.ms", "3000"),
            ],
        ))
        .expect("producer");
        collect(send_all(&producer, 0..1).await, WAIT).await;
        set_round_trip_time(&mock, None, Duration::from_secs(10)).expect("rtt");
        let started = Instant::now();
        let mut outcomes = collect(send_all(&producer, 1..2).await, Duration::from_secs(15)).await;
        let elapsed = started.elapsed();
        producer.close(Duration::ZERO).await;
        set_round_trip_time(&mock, None, Duration::ZERO).expect("rtt");
        (outcomes.pop().expect("one").1, elapsed)
    })
}

#[test]
fn slow_broker_fails_at_delivery_timeout() {
    let (outcome, elapsed) = slow_broker_delivery_timeout();
    eprintln!("slow broker: {outcome:?} after {elapsed:?}");
    assert!(
        matches!(
            outcome.as_ref().map_err(ProduceError::kind),
            Err(ErrorKind::DeliveryTimeout)
        ),
        "{outcome:?}"
    );
    // The request timed out at 2 s; the reconnection's ApiVersions is as slow, so the batch
    // waits queued and expires at 3 s.
    assert!(
        elapsed >= Duration::from_millis(2900) && elapsed <= Duration::from_secs(4),
        "{elapsed:?}"
    );
}

// ------------------------------------------------------------------------------------------
// 5. Non-retriable Produce errors.

fn non_retriable(error: RDKafkaRespErr, code: ErrorCode, mode: Mode) {
    const FAULTY: Range<usize> = 1..11;
    const RECORDS: usize = 200;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (outcomes, errors) = rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &[])).expect("producer");
        let first = producer.send(record(0)).await.expect("send");
        let mut outcomes = vec![(
            0,
            tokio::time::timeout(WAIT, first)
                .await
                .expect("warm-up resolved"),
        )];
        // The next Produce request fails; it carries (at least the first of) these records.
        inject_produce_errors(&mock, &[error]);
        let pending = send_all(&producer, FAULTY).await;
        outcomes.extend(collect(pending, WAIT).await);
        let pending = send_all(&producer, FAULTY.end..RECORDS).await;
        producer.flush(WAIT).await.expect("flush");
        outcomes.extend(collect(pending, WAIT).await);
        let errors = metric(&producer, "record-error-total");
        producer.close(Duration::from_secs(5)).await;
        (outcomes, errors)
    });
    drop(rt);
    let mut failed = Vec::new();
    let mut delivered = Vec::new();
    for (i, result) in outcomes {
        match result {
            Ok(md) => {
                if FAULTY.contains(&i) {
                    eprintln!("record {i} delivered to partition {}", md.partition());
                }
                delivered.push((i, md));
            }
            Err(e) if e.kind() == ErrorKind::Broker => {
                let (Some(got), Some(topic), Some(partition)) =
                    (e.kafka_code(), e.topic(), e.partition())
                else {
                    panic!("record {i}: a broker error names its code, topic and partition: {e:?}")
                };
                assert_eq!(got, code, "record {i}: {e}");
                assert_eq!(topic, TOPIC);
                assert!((0..PARTITIONS).contains(&partition));
                let name = code.name().expect("a known code");
                assert!(e.to_string().contains(name), "{e} names {name}");
                failed.push(i);
                eprintln!("record {i} failed on partition {partition}");
            }
            Err(e) => panic!("record {i}: expected Ok or a Broker error, got {e:?}"),
        }
    }
    eprintln!(
        "{code:?} {mode:?}: failed records {failed:?}, record-error-total {errors}, {:?}",
        started.elapsed()
    );
    // Which records the failed request carried depends on which leader's connection was ready
    // first (the mock's leaders are random); it can only be some of the records sent right
    // after the injection.
    assert!(
        !failed.is_empty() && failed.iter().all(|i| FAULTY.contains(i)),
        "only records of the failed request failed, and some did: {failed:?}"
    );
    assert_eq!(errors, as_f64(failed.len()), "record-error-total");
    assert_eq!(delivered.len() + failed.len(), RECORDS);
    assert!(
        delivered.iter().any(|(i, _)| *i == RECORDS - 1),
        "later records delivered"
    );
    assert_log_matches(&bootstrap, &delivered, Order::Send);
}

#[test]
fn invalid_record_fails_those_records_only_strict() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD,
        ErrorCode::INVALID_RECORD,
        Mode::Strict,
    );
}

#[test]
fn invalid_record_fails_those_records_only_idempotent() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD,
        ErrorCode::INVALID_RECORD,
        Mode::Idempotent,
    );
}

#[test]
fn topic_authorization_failed_fails_those_records_only_strict() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        Mode::Strict,
    );
}

#[test]
fn topic_authorization_failed_fails_those_records_only_idempotent() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        Mode::Idempotent,
    );
}
