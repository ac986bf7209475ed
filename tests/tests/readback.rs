//! The read-back consumer (`ferrokafka_tests::consume`) against both peers, with data written by
//! librdkafka's own producer: every record comes back with its key, value, headers (order,
//! duplicates, null vs empty) and timestamp, in per-partition send order, also when the mock
//! cluster fails Produce requests and moves a leader mid-stream.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferrokafka_tests::HarnessError;
use ferrokafka_tests::consume::{
    Consumed, Isolation, assert_partitions_hold, partition_count, read_back, topic_partitions,
};
use ferrokafka_tests::data::{Sent, mixed_records};
use ferrokafka_tests::mock::{
    Mock, broker_ids, inject_produce_errors, leaders, mock_cluster_with_topic, move_leader,
};
use ferrokafka_tests::raw::{self, FetchAnswer};
use ferrokafka_tests::tansu::Tansu;
use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;

const PARTITIONS: i32 = 3;
const RECORDS: usize = 300;
const WAIT: Duration = Duration::from_secs(30);
/// 2023-11-14T22:13:20Z; well inside any retention window a broker might apply.
const BASE_TS: i64 = 1_700_000_000_000;

/// `n` of the suites' mixed records ([`mixed_records`]), spread round-robin over the
/// partitions.
fn records(n: usize) -> Vec<Sent> {
    let mut sent = mixed_records(n, 0x7ead_bac4, BASE_TS);
    for (i, s) in sent.iter_mut().enumerate() {
        s.partition = Some(i32::try_from(i).unwrap() % PARTITIONS);
    }
    sent
}

/// The explicit partition every record of [`records`] has.
fn partition(s: &Sent) -> i32 {
    s.partition
        .expect("records() gives every record a partition")
}

/// Collects delivery failures so the test can assert there were none, and the producer's
/// latest count of transmitted records (retries count again).
#[derive(Default)]
struct Deliveries {
    failed: Mutex<Vec<String>>,
    ok: Mutex<usize>,
    transmitted: Mutex<i64>,
}

impl ClientContext for Deliveries {
    fn stats(&self, statistics: Statistics) {
        *self.transmitted.lock().unwrap() = statistics.txmsgs;
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        match result {
            Ok(_) => *self.ok.lock().unwrap() += 1,
            Err((e, _)) => self.failed.lock().unwrap().push(e.to_string()),
        }
    }
}

fn producer(bootstrap: &str, idempotent: bool) -> BaseProducer<Deliveries> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("batch.num.messages", "40")
        .set(
            "enable.idempotence",
            if idempotent { "true" } else { "false" },
        )
        .set("message.timeout.ms", "30000")
        .set("statistics.interval.ms", "100")
        .create_with_context(Deliveries::default())
        .expect("create producer")
}

/// Queues `sent` on `producer` (waiting for queue space when needed); does not flush.
fn send(producer: &BaseProducer<Deliveries>, topic: &str, sent: &[Sent]) {
    for s in sent {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &s.headers {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let mut record = BaseRecord::<[u8], [u8]>::to(topic)
            .partition(partition(s))
            .timestamp(s.timestamp)
            .headers(headers);
        if let Some(key) = &s.key {
            record = record.key(key.as_slice());
        }
        if let Some(value) = &s.value {
            record = record.payload(value.as_slice());
        }
        let deadline = Instant::now() + WAIT;
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    producer.poll(Duration::from_millis(20));
                    record = back;
                }
                Err((e, _)) => panic!("send: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
}

/// Flushes and asserts that every record was acknowledged.
fn flush_all(producer: &BaseProducer<Deliveries>, expected: usize) {
    producer.flush(WAIT).expect("flush");
    let ctx = producer.context();
    let failed = ctx.failed.lock().unwrap();
    assert!(failed.is_empty(), "delivery failures: {failed:?}");
    assert_eq!(*ctx.ok.lock().unwrap(), expected, "acknowledged records");
}

/// Compares what was read with what was sent, partition by partition, in send order; offsets
/// must be contiguous from 0.
fn assert_same(sent: &[Sent], read: &[Consumed]) {
    assert_eq!(read.len(), sent.len(), "record count");
    let mut expected: BTreeMap<i32, Vec<(&Sent, ())>> = BTreeMap::new();
    for s in sent {
        expected.entry(partition(s)).or_default().push((s, ()));
    }
    assert_partitions_hold("read back", &expected, read, |_, _, ()| {});
}

/// Forgets the producer's last statistics and waits (at most 5 s; they arrive every 100 ms) for
/// the next ones, returning their count of transmitted records. Call it after a flush, so the
/// count includes every transmission.
fn transmitted_after_flush(producer: &BaseProducer<Deliveries>) -> i64 {
    *producer.context().transmitted.lock().unwrap() = -1;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        producer.poll(Duration::from_millis(50));
        let n = *producer.context().transmitted.lock().unwrap();
        if n >= 0 || Instant::now() >= deadline {
            return n;
        }
    }
}

fn produce_and_check(bootstrap: &str, topic: &str, idempotent: bool) -> Vec<Sent> {
    let sent = records(RECORDS);
    let producer = producer(bootstrap, idempotent);
    send(&producer, topic, &sent);
    flush_all(&producer, sent.len());
    drop(producer);
    let read = read_back(
        bootstrap,
        topic,
        sent.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    assert_same(&sent, &read);
    sent
}

/// read_committed is accepted and shows the non-transactional records `sent`, as written.
fn assert_read_committed_same(bootstrap: &str, topic: &str, sent: &[Sent]) {
    let committed = read_back(bootstrap, topic, sent.len(), WAIT, Isolation::ReadCommitted)
        .expect("read back, read_committed");
    assert_same(sent, &committed);
}

#[test]
fn tansu_reads_back_what_librdkafka_wrote() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("readback", 3).expect("create topic");
    assert_eq!(
        partition_count(&bootstrap, "readback", WAIT).expect("partition count"),
        3
    );

    let sent = produce_and_check(&bootstrap, "readback", false);
    assert_read_committed_same(&bootstrap, "readback", &sent);
}

#[test]
fn tansu_idempotent_writes_read_back() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker
        .create_topic("readback-idem", 3)
        .expect("create topic");
    produce_and_check(&bootstrap, "readback-idem", true);
}

#[test]
fn tansu_empty_topic_and_deadline() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("empty", 2).expect("create topic");
    // Reading to the end of an empty topic returns at once with nothing: `read_back` returns
    // Ok only once every partition has reported its end (a read that ran into its deadline is
    // an error, as the next read shows), so Ok here is "ended at the end of the log", not "ended
    // at the deadline".
    let read = read_back(&bootstrap, "empty", 0, WAIT, Isolation::ReadUncommitted)
        .expect("read empty topic: every partition at its end before the deadline");
    assert!(read.is_empty());
    // Waiting for a record that never comes ends at the deadline with a descriptive error.
    let err = read_back(
        &bootstrap,
        "empty",
        1,
        Duration::from_secs(3),
        Isolation::ReadUncommitted,
    )
    .expect_err("nothing to read");
    assert!(
        matches!(
            err,
            HarnessError::ReadBackIncomplete {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("0=0 1=0"), "{err}");
}

fn mock_with_topic(topic: &str) -> Mock {
    mock_cluster_with_topic(3, topic, PARTITIONS).expect("mock cluster")
}

#[test]
fn mock_reads_back_what_librdkafka_wrote() {
    let mock = mock_with_topic("readback");
    let bootstrap = mock.bootstrap_servers();
    let parts = topic_partitions(&bootstrap, "readback", WAIT).expect("metadata");
    assert_eq!(parts.iter().map(|p| p.id).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(parts.iter().all(|p| p.replicas.len() == 3), "{parts:?}");

    let sent = produce_and_check(&bootstrap, "readback", false);
    assert_read_committed_same(&bootstrap, "readback", &sent);
}

#[test]
fn mock_reads_back_through_produce_errors_and_a_leader_move() {
    const TOPIC: &str = "readback-faults";
    let mock = mock_with_topic(TOPIC);
    let bootstrap = mock.bootstrap_servers();
    assert_eq!(broker_ids(&mock), [1, 2, 3]);
    let before = leaders(&mock, TOPIC, WAIT).expect("leaders");

    let sent = records(RECORDS);
    let producer = producer(&bootstrap, true);
    let (first, second) = sent.split_at(RECORDS / 2);
    send(&producer, TOPIC, first);
    producer.flush(WAIT).expect("flush first half");

    // Mid-stream: partition 0 changes leader and the next three Produce requests fail.
    let old = before[&0];
    let new = broker_ids(&mock)
        .into_iter()
        .find(|&b| b != old)
        .expect("another broker");
    move_leader(&mock, TOPIC, 0, new).expect("move leader");
    inject_produce_errors(
        &mock,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 3],
    );
    send(&producer, TOPIC, second);
    flush_all(&producer, sent.len());
    // The injected errors were met: librdkafka transmitted some records more than once.
    let transmitted = transmitted_after_flush(&producer);
    eprintln!("transmitted {transmitted} records for {RECORDS}");
    assert!(
        transmitted > i64::try_from(RECORDS).unwrap(),
        "transmitted {transmitted} records"
    );
    drop(producer);

    assert_eq!(leaders(&mock, TOPIC, WAIT).expect("leaders")[&0], new);
    let read = read_back(
        &bootstrap,
        TOPIC,
        sent.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    assert_same(&sent, &read);
}

#[test]
fn move_leader_rejects_unknown_brokers() {
    let mock = mock_with_topic("t");
    let err = move_leader(&mock, "t", 0, 4).expect_err("no broker 4");
    assert!(
        matches!(err, HarnessError::NoSuchBroker { broker: 4, .. }),
        "{err}"
    );
    move_leader(&mock, "t", 0, 3).expect("broker 3 exists");
    assert_eq!(leaders(&mock, "t", WAIT).expect("leaders")[&0], 3);
}

/// What each isolation level showed around a transactional workload.
#[derive(Debug)]
struct TxnObservation {
    /// Keys of every record the test wrote, sorted: committed, aborted, then the open transaction.
    committed: Vec<Vec<u8>>,
    aborted: Vec<Vec<u8>>,
    open: Vec<Vec<u8>>,
    /// Sorted keys read with read_uncommitted while the third transaction was open.
    uncommitted_view: Vec<Vec<u8>>,
    /// Sorted keys read with read_committed while the third transaction was open.
    committed_view_open: Vec<Vec<u8>>,
    /// Sorted keys read with read_committed after the third transaction committed.
    committed_view_after: Vec<Vec<u8>>,
    /// Fetch v4 (read_committed) of partition 0 while the third transaction was open.
    fetch_while_open: FetchProbe,
}

fn sorted_keys<'a>(records: impl IntoIterator<Item = &'a Sent>) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = records
        .into_iter()
        .map(|s| s.key.clone().unwrap_or_default())
        .collect();
    keys.sort();
    keys
}

fn union(parts: &[&[Vec<u8>]]) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = parts.iter().flat_map(|p| p.iter().cloned()).collect();
    all.sort();
    all
}

/// Writes 10 committed records, then 5 in an aborted transaction, then 3 in a transaction left
/// open (records go round-robin to partitions 0, 1, 2, so partition 0 gets 4, 2 and 1), with a
/// transactional librdkafka producer; reads back with both isolation levels, commits the open
/// transaction and reads again.
fn transactions_read_back(bootstrap: &str, topic: &str) -> TxnObservation {
    let producer: BaseProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", format!("readback-{topic}"))
        .set("linger.ms", "5")
        .create_with_context(Deliveries::default())
        .expect("create transactional producer");
    producer.init_transactions(WAIT).expect("init transactions");
    let all = records(18);
    let (committed, rest) = all.split_at(10);
    let (aborted, open) = rest.split_at(5);

    producer.begin_transaction().expect("begin 1");
    send(&producer, topic, committed);
    producer.commit_transaction(WAIT).expect("commit 1");
    producer.begin_transaction().expect("begin 2");
    send(&producer, topic, aborted);
    producer.flush(WAIT).expect("flush 2");
    producer.abort_transaction(WAIT).expect("abort 2");
    producer.begin_transaction().expect("begin 3");
    send(&producer, topic, open);
    producer.flush(WAIT).expect("flush 3");

    // `expected == 0`: read every partition to its end (the LSO under read_committed).
    let view = |isolation| {
        let mut keys: Vec<Vec<u8>> = read_back(bootstrap, topic, 0, WAIT, isolation)
            .expect("read back")
            .into_iter()
            .map(|r| r.key.unwrap_or_default())
            .collect();
        keys.sort();
        keys
    };
    let uncommitted_view = view(Isolation::ReadUncommitted);
    let committed_view_open = view(Isolation::ReadCommitted);
    let fetch_while_open = fetch_v4(bootstrap, topic, 0);
    producer.commit_transaction(WAIT).expect("commit 3");
    let committed_view_after = view(Isolation::ReadCommitted);
    TxnObservation {
        committed: sorted_keys(committed),
        aborted: sorted_keys(aborted),
        open: sorted_keys(open),
        uncommitted_view,
        committed_view_open,
        committed_view_after,
        fetch_while_open,
    }
}

/// Tansu 0.6.0 writes transaction markers and holds the last stable offset at the open
/// transaction, but its Fetch response lists no aborted transactions, so a read_committed
/// consumer sees the records of aborted transactions.
#[test]
fn tansu_read_committed_stops_at_the_lso_but_shows_aborted_records() {
    let broker = Tansu::start().expect("start tansu");
    broker
        .create_topic("readback-txn", 3)
        .expect("create topic");
    let seen = transactions_read_back(&broker.bootstrap(), "readback-txn");
    let everything = union(&[&seen.committed, &seen.aborted, &seen.open]);
    assert_eq!(seen.uncommitted_view, everything, "{seen:#?}");
    // Hidden: the open transaction. Not hidden: the aborted one.
    assert_eq!(
        seen.committed_view_open,
        union(&[&seen.committed, &seen.aborted]),
        "{seen:#?}"
    );
    assert_eq!(seen.committed_view_after, everything, "{seen:#?}");
    // Partition 0: offsets 0-3 committed, 4 commit marker, 5 aborted, 6 abort marker, 7 open.
    assert_eq!(
        seen.fetch_while_open,
        FetchProbe {
            error: 0,
            high_watermark: 8,
            last_stable_offset: 7,
            aborted: Some(Vec::new()),
        }
    );
}

/// librdkafka's mock cluster writes no transaction markers, reports the high watermark as the
/// last stable offset and never lists aborted transactions: read_committed reads everything.
#[test]
fn mock_read_committed_is_read_uncommitted() {
    let mock = mock_with_topic("readback-txn");
    let seen = transactions_read_back(&mock.bootstrap_servers(), "readback-txn");
    let everything = union(&[&seen.committed, &seen.aborted, &seen.open]);
    assert_eq!(seen.uncommitted_view, everything, "{seen:#?}");
    assert_eq!(seen.committed_view_open, everything, "{seen:#?}");
    assert_eq!(seen.committed_view_after, everything, "{seen:#?}");
    // Partition 0: 4 committed, 1 aborted, 1 open record and no markers.
    assert_eq!(
        seen.fetch_while_open,
        FetchProbe {
            error: 0,
            high_watermark: 6,
            last_stable_offset: 6,
            aborted: Some(Vec::new()),
        }
    );
}

/// A partition as a read_committed Fetch v4 from offset 0 describes it.
#[derive(Debug, PartialEq, Eq)]
struct FetchProbe {
    error: i16,
    high_watermark: i64,
    last_stable_offset: i64,
    /// `(producer id, first offset)` of each aborted transaction; `None` for a null array.
    aborted: Option<Vec<(i64, i64)>>,
}

/// Sends a hand-encoded Fetch v4 (read_committed, from offset 0) for one partition to the broker
/// that leads it and decodes the partition header of the answer (not the records).
fn fetch_v4(bootstrap: &str, topic: &str, partition: i32) -> FetchProbe {
    // Ask each broker in turn; only the leader answers without NOT_LEADER_OR_FOLLOWER (6).
    let mut last = None;
    for addr in bootstrap.split(',') {
        let FetchAnswer {
            error,
            high_watermark,
            last_stable_offset,
            aborted,
            ..
        } = raw::fetch_v4(addr, topic, partition, 0, true, Duration::from_secs(10));
        let probe = FetchProbe {
            error,
            high_watermark,
            last_stable_offset,
            aborted,
        };
        if probe.error != 6 {
            return probe;
        }
        last = Some(probe);
    }
    last.expect("a bootstrap address")
}
