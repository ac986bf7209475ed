//! Fault-injection evidence for the idempotent and transactional ferrokafka producer against
//! librdkafka's mock cluster.
//!
//! Every test drives a real `ferrokafka::Producer` on a tokio runtime the test builds, against
//! `rdkafka::mocking::MockCluster` (which is `!Send`, so it is created and manipulated on the
//! test's own thread, between or beside `block_on` sections). Errors are injected per API
//! (`request_errors`: the next N requests of that API, on whichever broker gets them). What was
//! written is read back with librdkafka's consumer and compared partition by partition with the
//! send order: every committed record exactly once, at the offset its delivery reported, in send
//! order, and nothing else but records of aborted transactions.
//!
//! One test per error class:
//! - InitProducerId: retriable and coordinator-moving codes are retried; an authorization failure
//!   is abortable (Java `InitProducerIdHandler`: `init_transactions` may be called again);
//!   `PRODUCER_FENCED` is fatal.
//! - AddPartitionsToTxn: retriable codes, `NOT_COORDINATOR` (rediscovery),
//!   `TOPIC_AUTHORIZATION_FAILED` (abortable, then abort and a next transaction), and
//!   `INVALID_PRODUCER_EPOCH` / `PRODUCER_FENCED` (fatal).
//! - EndTxn: retriable codes on commit and on abort, `PRODUCER_FENCED` (fatal).
//! - FindCoordinator: `COORDINATOR_NOT_AVAILABLE` several times.
//! - Produce inside a transaction: `NOT_LEADER_FOR_PARTITION` with five requests in flight per
//!   connection (the mock validates sequences of transactional producers, so this checks
//!   ordering through retries for real), and `INVALID_RECORD` (abortable, with a KIP-360 epoch
//!   bump after the abort).
//! - The coordinator moved between brokers, down and back, down and moved.
//! - An idempotent (not transactional) producer with retriable Produce errors, five in flight.
//! - Fencing: the coordinator bumps the epoch of the producer's id (as a newer instance's
//!   InitProducerId does on a real broker), sent here with a raw InitProducerId v3.
//! - Also: AddOffsetsToTxn / TxnOffsetCommit errors, producer-id errors on Produce and EndTxn
//!   (abortable with a KIP-360 epoch bump), an abortable Produce error with requests in flight,
//!   a commit outlasting `max.block.ms` then called again, concurrent commit calls, an abort with
//!   Produce requests in flight, `close` with a transaction open, empty transactions, and thirty
//!   transactions through rotating faults.
//! - Ignored, BUG: `send` after a fatal error says `Closed`; a coordinator whose broker is down
//!   is not rediscovered unless a request was in flight; a Produce failure during a commit
//!   poisons the partition's sequences for every later transaction; the abort after
//!   `INVALID_PRODUCER_ID_MAPPING` never resolves; an abort whose epoch bump fails never
//!   resolves.
//!
//! Mock quirks (librdkafka 2.12.1) that shape these tests:
//! - The mock writes no commit/abort markers and serves `read_committed` like
//!   `read_uncommitted`, so records of an aborted transaction that reached the log stay visible:
//!   the log checks allow them (and only them) besides the committed records.
//! - InitProducerId without a current producer id always creates a *new* producer id (epoch 0)
//!   and never touches the old one, so a second producer with the same `transactional.id` does
//!   not fence the first on the mock (a real coordinator bumps the epoch of the one producer id
//!   of the `transactional.id`). The fencing tests bump the epoch with InitProducerId v3 and the
//!   first producer's id and epoch instead (KIP-360), which the mock does implement.
//! - Sequences are validated only for transactional producers; for the idempotent-only test the
//!   mock cannot refuse a reordered pipelined request, so that test checks exactly-once but
//!   not the order (the transactional `NOT_LEADER_FOR_PARTITION` test checks the order).
//! - `broker_down` keeps the listening socket: TCP connects succeed and requests go unanswered
//!   until `broker_up`.

mod add_partitions;
mod coordinator;
mod end_txn;
mod fencing;
mod idempotent;
mod init;
mod lifecycle;
mod produce;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

use ferrokafka::{
    DeliveryFuture, ErrorKind, ProduceError, Producer, ProducerConfig, ProducerRecord,
    RecordMetadata,
};
use ferrokafka_tests::consume::{Isolation, by_partition, read_back};
use ferrokafka_tests::data::{index_of, value};
use ferrokafka_tests::mock::{Mock, inject_errors, mock_cluster_with_topic};
use ferrokafka_tests::producing::runtime;
use ferrokafka_tests::txn::{is_fatal, txn_failure};
use rdkafka::mocking::MockCoordinator;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use tokio::runtime::Runtime;

const TOPIC: &str = "t";
const PARTITIONS: i32 = 3;
const TID: &str = "tx-1";
/// Upper bound for every single wait (a call, a delivery, a read-back).
const WAIT: Duration = Duration::from_secs(20);

type E = RDKafkaRespErr;
type Api = RDKafkaApiKey;

// ------------------------------------------------------------------------------------------
// The cluster and the producer under test.

/// A mock cluster with [`TOPIC`] and its bootstrap address.
struct Cluster {
    mock: Mock,
    bootstrap: String,
}

/// A mock cluster of `brokers` brokers with [`TOPIC`] (replicated on every broker).
fn cluster(brokers: i32) -> Cluster {
    let mock = mock_cluster_with_topic(brokers, TOPIC, PARTITIONS).expect("mock cluster");
    let bootstrap = mock.bootstrap_servers();
    Cluster { mock, bootstrap }
}

impl Cluster {
    /// Makes the next requests of `api` fail with `errors`, one per request.
    fn inject(&self, api: Api, errors: &[E]) {
        inject_errors(&self.mock, api, errors);
    }

    /// Pins the transaction coordinator of [`TID`] to `broker`.
    fn set_coordinator(&self, broker: i32) {
        self.mock
            .coordinator(MockCoordinator::Transaction(TID.to_owned()), broker)
            .expect("set the transaction coordinator");
    }

    /// A transactional producer (settings `overrides`) on a fresh runtime, not initialized.
    fn session(&self, overrides: &[(&str, &str)]) -> Session {
        Session::new(config(&self.bootstrap, Some(TID), overrides))
    }

    /// [`Cluster::session`], once `init_transactions` succeeded.
    fn ready(&self, overrides: &[(&str, &str)]) -> Session {
        let s = self.session(overrides);
        s.run(async { init(&s.p).await.expect("init_transactions") });
        s
    }

    /// Runs `body` with a [`Cluster::ready`] producer, then closes it (and its runtime).
    fn with_txn<T>(&self, overrides: &[(&str, &str)], body: impl AsyncFnOnce(&Producer) -> T) -> T {
        let s = self.ready(overrides);
        let out = s.run(body(&s.p));
        s.close();
        out
    }

    /// Reads the topic back and checks it holds `committed` as [`assert_log`] says.
    fn assert_log(&self, committed: &[(usize, RecordMetadata)], aborted: &BTreeSet<usize>) {
        assert_log(&self.bootstrap, committed, aborted);
    }

    /// [`Cluster::assert_log`] with no aborted transaction.
    fn assert_committed(&self, committed: &[(usize, RecordMetadata)]) {
        assert_log(&self.bootstrap, committed, &BTreeSet::new());
    }

    /// The log holds nothing at all.
    fn assert_log_empty(&self) {
        let read = read_back(&self.bootstrap, TOPIC, 0, WAIT, Isolation::ReadCommitted)
            .expect("read back");
        assert!(read.is_empty(), "nothing may be in the log: {read:?}");
    }
}

/// A runtime and a producer on it. The mock is `!Send`, so it stays on the test's thread and
/// is changed between the steps a test runs here.
struct Session {
    // Dropped in this order: the producer before its runtime.
    p: Producer,
    rt: Runtime,
}

impl Session {
    fn new(config: ProducerConfig) -> Session {
        let rt = runtime();
        let p = rt.block_on(async { Producer::new(config).expect("producer") });
        Session { p, rt }
    }

    /// Runs `fut` to completion on the session's runtime.
    fn run<T>(&self, fut: impl Future<Output = T>) -> T {
        self.rt.block_on(fut)
    }

    /// Closes the producer (5 s) and shuts the runtime down.
    fn close(self) {
        self.rt.block_on(self.p.close(Duration::from_secs(5)));
        drop(self.p);
        drop(self.rt);
    }
}

/// The settings shared by every test; `tid` makes the producer transactional; `overrides` win.
fn config(bootstrap: &str, tid: Option<&str>, overrides: &[(&str, &str)]) -> ProducerConfig {
    let mut props: BTreeMap<&str, &str> = BTreeMap::from([
        ("bootstrap.servers", bootstrap),
        ("linger.ms", "5"),
        ("retry.backoff.ms", "20"),
        ("request.timeout.ms", "3000"),
        ("delivery.timeout.ms", "20000"),
        ("max.block.ms", "10000"),
        ("reconnect.backoff.ms", "20"),
        ("reconnect.backoff.max.ms", "200"),
    ]);
    if let Some(tid) = tid {
        props.insert("transactional.id", tid);
    }
    for &(k, v) in overrides {
        props.insert(k, v);
    }
    ProducerConfig::from_properties(props).expect("valid producer config")
}

/// Small batches and five requests in flight per connection: several requests per partition
/// are in flight when one fails.
const PIPELINED: [(&str, &str); 3] = [
    ("batch.size", "256"),
    ("linger.ms", "2"),
    ("max.in.flight.requests.per.connection", "5"),
];

/// Small batches, short linger.
const SMALL_BATCHES: [(&str, &str); 2] = [("batch.size", "256"), ("linger.ms", "2")];

// ------------------------------------------------------------------------------------------
// Sending and awaiting.

/// Record `i`: keyed (so spread over the partitions by the key hash), or to `partition`.
fn record(i: usize, partition: Option<i32>) -> ProducerRecord {
    let r = ProducerRecord::new(TOPIC)
        .with_key(format!("k-{i}"))
        .with_value(value(i));
    match partition {
        Some(p) => r.with_partition(p),
        None => r,
    }
}

type Pending = Vec<(usize, DeliveryFuture)>;
type Outcomes = Vec<(usize, Result<RecordMetadata, ProduceError>)>;

/// Awaits `fut`, at most [`WAIT`].
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {WAIT:?}"))
}

/// Sends `range` in order (each send must be accepted).
async fn send_range(producer: &Producer, range: Range<usize>, partition: Option<i32>) -> Pending {
    let (pending, refused) = send_lenient(producer, range, partition).await;
    if let Some((i, e)) = refused.first() {
        panic!("send of record {i} was refused: {e:?}");
    }
    pending
}

/// Sends `range` in order; a transaction that already failed refuses sends, so refusals are
/// collected (with their record index) instead of failing the test.
async fn send_lenient(
    producer: &Producer,
    range: Range<usize>,
    partition: Option<i32>,
) -> (Pending, Vec<(usize, ProduceError)>) {
    let mut pending = Vec::with_capacity(range.len());
    let mut refused = Vec::new();
    for i in range {
        match bounded("send", producer.send(record(i, partition))).await {
            Ok(delivery) => pending.push((i, delivery)),
            Err(e) => refused.push((i, e)),
        }
    }
    (pending, refused)
}

/// A refusal of `send` after a fatal transactional error. `SendError::Closed` is accepted here
/// although it is wrong (see `send_after_a_fatal_error_names_it`).
fn refused_as_fatal(e: &ProduceError) -> bool {
    // A transactional refusal (invalid state, abortable, fatal or fenced), a fatal
    // idempotent state, or Closed.
    matches!(
        e.kind(),
        ErrorKind::InvalidState
            | ErrorKind::TransactionAbortable
            | ErrorKind::Fatal
            | ErrorKind::ProducerFenced
            | ErrorKind::Closed
    )
}

/// Every refused send was refused as [`refused_as_fatal`] says.
fn assert_refused_as_fatal(refused: &[(usize, ProduceError)]) {
    for (i, e) in refused {
        assert!(refused_as_fatal(e), "send {i} refused with {e:?}");
    }
}

/// Awaits every delivery, each at most [`WAIT`].
async fn outcomes(pending: Pending) -> Outcomes {
    let mut out = Vec::with_capacity(pending.len());
    for (i, delivery) in pending {
        out.push((i, bounded("a delivery", delivery).await));
    }
    out
}

/// The outcomes, which must all be successes.
fn all_delivered(outcomes: Outcomes) -> Vec<(usize, RecordMetadata)> {
    outcomes
        .into_iter()
        .map(|(i, r)| (i, r.unwrap_or_else(|e| panic!("record {i} failed: {e:?}"))))
        .collect()
}

/// Sends `range` and awaits the deliveries, which must all succeed.
async fn delivered_now(
    producer: &Producer,
    range: Range<usize>,
    partition: Option<i32>,
) -> Vec<(usize, RecordMetadata)> {
    all_delivered(outcomes(send_range(producer, range, partition).await).await)
}

/// The record indices of `outcomes`, whatever each outcome.
fn indices(outcomes: &Outcomes) -> BTreeSet<usize> {
    outcomes.iter().map(|(i, _)| *i).collect()
}

/// Every outcome is a failure accepted by `ok`.
fn all_failed(outcomes: &Outcomes, what: &str, ok: impl Fn(&ProduceError) -> bool) {
    for (i, r) in outcomes {
        match r {
            Err(e) if ok(e) => {}
            other => panic!("record {i}: expected {what}, got {other:?}"),
        }
    }
}

/// A Produce refused with `INVALID_RECORD` (87).
fn invalid_record(e: &ProduceError) -> bool {
    e.kind() == ErrorKind::Broker && e.kafka_code().is_some_and(|code| code.0 == 87)
}

// ------------------------------------------------------------------------------------------
// Transactional calls.

/// The kind of a failed transactional call.
fn txn_kind(what: &str, result: Result<(), ProduceError>) -> ErrorKind {
    let f = txn_failure(result, what);
    eprintln!("{what}: {:?}: {f}", f.kind());
    f.kind()
}

/// A transactional call failed fatally ([`is_fatal`]).
fn assert_fatal(what: &str, result: Result<(), ProduceError>) {
    let kind = txn_kind(what, result);
    assert!(is_fatal(kind), "{what}: {kind:?}");
}

/// A transactional call failed as abortable.
fn assert_abortable(what: &str, result: Result<(), ProduceError>) {
    assert_eq!(
        txn_kind(what, result),
        ErrorKind::TransactionAbortable,
        "{what}"
    );
}

/// Calls a transactional operation until it stops timing out (max.block.ms); at most three
/// times (the call goes on in the background, and calling again awaits the same outcome).
async fn until_done<F, Fut>(what: &str, mut call: F) -> Result<(), ProduceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), ProduceError>>,
{
    for attempt in 1..=3 {
        match bounded(what, call()).await {
            Err(e) if e.kind() == ErrorKind::Timeout => {
                eprintln!("{what}: attempt {attempt} timed out, calling again");
            }
            other => return other,
        }
    }
    panic!("{what} timed out three times");
}

async fn init(producer: &Producer) -> Result<(), ProduceError> {
    until_done("init_transactions", || producer.init_transactions()).await
}

async fn commit(producer: &Producer) -> Result<(), ProduceError> {
    until_done("commit_transaction", || producer.commit_transaction()).await
}

async fn abort(producer: &Producer) -> Result<(), ProduceError> {
    until_done("abort_transaction", || producer.abort_transaction()).await
}

/// The commit of transaction `n` fails as abortable, and its abort succeeds.
async fn abortable_then_aborted(producer: &Producer, n: usize) {
    assert_abortable(&format!("commit {n}"), commit(producer).await);
    abort(producer)
        .await
        .unwrap_or_else(|e| panic!("abort {n}: {e:?}"));
}

/// One transaction of `range` (to `partition`, or keyed) that must commit; returns the
/// deliveries.
async fn committed_txn_to(
    producer: &Producer,
    range: Range<usize>,
    partition: Option<i32>,
) -> Vec<(usize, RecordMetadata)> {
    producer.begin_transaction().expect("begin_transaction");
    let pending = send_range(producer, range, partition).await;
    commit(producer).await.expect("commit_transaction");
    all_delivered(outcomes(pending).await)
}

/// One transaction of `range` (keyed records) that must commit; returns the deliveries.
async fn committed_txn(producer: &Producer, range: Range<usize>) -> Vec<(usize, RecordMetadata)> {
    committed_txn_to(producer, range, None).await
}

// ------------------------------------------------------------------------------------------
// The log.

/// Reads the topic back (read_committed, which the mock serves like read_uncommitted) and
/// checks: each `committed` record exactly once, at the offset its delivery reported, per
/// partition in send order; anything else in the log is a record of `aborted`.
fn assert_log(bootstrap: &str, committed: &[(usize, RecordMetadata)], aborted: &BTreeSet<usize>) {
    let read = read_back(
        bootstrap,
        TOPIC,
        committed.len(),
        WAIT,
        Isolation::ReadCommitted,
    )
    .expect("read back");
    let mut want: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    let mut offsets: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (i, md) in committed {
        assert_eq!(md.topic(), TOPIC);
        want.entry(md.partition()).or_default().push(*i);
        let offset = md
            .offset()
            .unwrap_or_else(|| panic!("record {i}: acks=all reports an offset"));
        offsets.insert((md.partition(), offset), *i);
    }
    for v in want.values_mut() {
        v.sort_unstable();
    }
    let mut got: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    let mut extra = Vec::new();
    for (p, records) in by_partition(&read) {
        for r in records {
            let i = index_of(r.value.as_deref())
                .unwrap_or_else(|| panic!("a record this test did not write: {r:?}"));
            if aborted.contains(&i) {
                extra.push(i);
                continue;
            }
            got.entry(p).or_default().push(i);
            if let Some(&at) = offsets.get(&(p, r.offset)) {
                assert_eq!(
                    at, i,
                    "partition {p} offset {}: delivery of {at} reported it",
                    r.offset
                );
            }
        }
    }
    assert_eq!(
        got, want,
        "committed records per partition, exactly once, in send order (log on the left)"
    );
    for ((p, offset), i) in &offsets {
        assert!(
            read.iter().any(|r| r.partition == *p
                && r.offset == *offset
                && index_of(r.value.as_deref()) == Some(*i)),
            "record {i}: not at partition {p} offset {offset} as its delivery reported"
        );
    }
    if !extra.is_empty() {
        eprintln!(
            "{} record(s) of aborted transactions in the log (the mock keeps them)",
            extra.len()
        );
    }
}
