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

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::{Duration, Instant};

use ferrokafka::{
    DeliveryFuture, ErrorKind, GroupMetadata, OffsetToCommit, ProduceError, Producer,
    ProducerConfig, ProducerRecord, RecordMetadata,
};
use ferrokafka_tests::consume::{Isolation, by_partition, read_back};
use ferrokafka_tests::data::{index_of, value};
use ferrokafka_tests::mock::{
    Mock, clear_errors, inject_errors, inject_produce_errors, leaders, mock_cluster_with_topic,
    move_leader,
};
use ferrokafka_tests::producing::runtime;
use ferrokafka_tests::wait::{poll_now, wait_until};
use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::messages::{InitProducerIdRequest, RequestBody, ResponseBody};
use rdkafka::mocking::MockCoordinator;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

const TOPIC: &str = "t";
const PARTITIONS: i32 = 3;
const TID: &str = "tx-1";
/// Upper bound for every single wait (a call, a delivery, a read-back).
const WAIT: Duration = Duration::from_secs(20);

type E = RDKafkaRespErr;
type Api = RDKafkaApiKey;

fn new_mock(brokers: i32) -> Mock {
    mock_cluster_with_topic(brokers, TOPIC, PARTITIONS).expect("mock cluster")
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

fn txn_producer(bootstrap: &str) -> Producer {
    Producer::new(config(bootstrap, Some(TID), &[])).expect("producer")
}

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
    let mut pending = Vec::with_capacity(range.len());
    for i in range {
        let delivery = bounded("send", producer.send(record(i, partition)))
            .await
            .unwrap_or_else(|e| panic!("send of record {i} was refused: {e:?}"));
        pending.push((i, delivery));
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

/// The kind of a failed transactional call.
fn txn_kind(what: &str, result: Result<(), ProduceError>) -> ErrorKind {
    match result {
        Err(f) if TXN_KINDS.contains(&f.kind()) => {
            eprintln!("{what}: {:?}: {f}", f.kind());
            f.kind()
        }
        other => panic!("{what}: expected a transactional failure, got {other:?}"),
    }
}

/// What a failed transactional call reports (Java: abortable, fatal or fenced, illegal state).
const TXN_KINDS: [ErrorKind; 6] = [
    ErrorKind::TransactionAbortable,
    ErrorKind::TransactionAborted,
    ErrorKind::Fatal,
    ErrorKind::ProducerFenced,
    ErrorKind::InvalidState,
    ErrorKind::NotTransactional,
];

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

/// One transaction of `range` (keyed records) that must commit; returns the deliveries.
async fn committed_txn(producer: &Producer, range: Range<usize>) -> Vec<(usize, RecordMetadata)> {
    producer.begin_transaction().expect("begin_transaction");
    let pending = send_range(producer, range, None).await;
    commit(producer).await.expect("commit_transaction");
    all_delivered(outcomes(pending).await)
}

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

fn none() -> BTreeSet<usize> {
    BTreeSet::new()
}

/// The log holds nothing at all.
fn assert_log_empty(bootstrap: &str) {
    let read = read_back(bootstrap, TOPIC, 0, WAIT, Isolation::ReadCommitted).expect("read back");
    assert!(read.is_empty(), "nothing may be in the log: {read:?}");
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

// ------------------------------------------------------------------------------------------
// 1. InitProducerId.

#[test]
fn init_producer_id_retriable_errors_are_retried() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        Api::InitProducerId,
        &[
            E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
            E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
        ],
    );
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        let started = Instant::now();
        init(&p)
            .await
            .expect("init_transactions after retriable errors");
        eprintln!("init_transactions took {:?}", started.elapsed());
        let delivered = committed_txn(&p, 0..30).await;
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

#[test]
fn init_producer_id_authorization_failure_is_abortable_and_init_can_be_called_again() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        Api::InitProducerId,
        &[E::RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
    );
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        // Java's InitProducerIdHandler puts a transactional producer in ABORTABLE_ERROR on an
        // authorization failure (so that init can be retried once the ACLs are fixed).
        assert_eq!(
            txn_kind("init_transactions", init(&p).await),
            ErrorKind::TransactionAbortable
        );
        assert!(
            p.begin_transaction().is_err(),
            "no transaction without an id"
        );
        init(&p).await.expect("init_transactions again");
        let delivered = committed_txn(&p, 0..10).await;
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

#[test]
fn init_producer_id_fenced_is_fatal() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        Api::InitProducerId,
        &[E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED],
    );
    let rt = runtime();
    rt.block_on(async {
        let p = txn_producer(&bootstrap);
        assert!(matches!(
            txn_kind("init_transactions", init(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        // Fatal is sticky: nothing works any more.
        assert!(matches!(
            txn_kind("init_transactions again", init(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        assert!(matches!(
            p.begin_transaction(),
            Err(f) if matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced)
        ));
        assert!(bounded("send", p.send(record(0, None))).await.is_err());
        p.close(Duration::from_secs(5)).await;
    });
    drop(rt);
    clear_errors(&mock, Api::InitProducerId);
    assert_log_empty(&bootstrap);
}

// ------------------------------------------------------------------------------------------
// 2. AddPartitionsToTxn.

/// Init, then inject `errors` on AddPartitionsToTxn, then one transaction that must commit.
fn add_partitions_recovers(errors: &[RDKafkaRespErr]) {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(&mock, Api::AddPartitionsToTxn, errors);
        let started = Instant::now();
        let delivered = committed_txn(&p, 0..60).await;
        eprintln!("{errors:?}: transaction took {:?}", started.elapsed());
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

#[test]
fn add_partitions_retriable_errors_are_retried() {
    add_partitions_recovers(&[
        E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
        E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
        E::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ]);
}

#[test]
fn add_partitions_not_coordinator_rediscovers() {
    add_partitions_recovers(&[
        E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
    ]);
}

#[test]
fn add_partitions_topic_authorization_failed_is_abortable() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (failed, delivered) = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(
            &mock,
            Api::AddPartitionsToTxn,
            &[E::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
        );
        p.begin_transaction().expect("begin 1");
        // Sends after the AddPartitionsToTxn answer are refused (the transaction failed).
        let (pending, refused) = send_lenient(&p, 0..20, None).await;
        for (i, e) in &refused {
            assert!(
                e.kind() == ErrorKind::TransactionAbortable
                    && e.to_string().contains("TOPIC_AUTHORIZATION_FAILED"),
                "send {i} refused with {e:?}"
            );
        }
        assert_eq!(
            txn_kind("commit 1", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        // Abortable: the transaction may only be aborted.
        assert!(p.begin_transaction().is_err());
        abort(&p).await.expect("abort 1");
        let failed = outcomes(pending).await;
        // Transaction 2 goes through.
        let delivered = committed_txn(&p, 100..160).await;
        p.close(Duration::from_secs(5)).await;
        (failed, delivered)
    });
    drop(rt);
    // The partitions were never added, so nothing of transaction 1 may have been sent: the
    // records fail as soon as the transaction is abortable (Java `abortUndrainedBatches`), or
    // at the abort.
    all_failed(&failed, "TransactionAbortable or TransactionAborted", |e| {
        matches!(
            e.kind(),
            ErrorKind::TransactionAbortable | ErrorKind::TransactionAborted
        )
    });
    assert_log(&bootstrap, &delivered, &none());
}

/// A fencing error on AddPartitionsToTxn is fatal: commit, abort and begin fail Fatal, the
/// records fail, nothing is written.
fn add_partitions_fatal(error: RDKafkaRespErr) {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let failed = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(&mock, Api::AddPartitionsToTxn, &[error]);
        p.begin_transaction().expect("begin");
        let (pending, refused) = send_lenient(&p, 0..20, None).await;
        for (i, e) in &refused {
            assert!(refused_as_fatal(e), "send {i} refused with {e:?}");
        }
        assert!(matches!(
            txn_kind("commit", commit(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        assert!(matches!(
            txn_kind("abort", abort(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        assert!(matches!(
            p.begin_transaction(),
            Err(f) if matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced)
        ));
        let failed = outcomes(pending).await;
        p.close(Duration::from_secs(5)).await;
        failed
    });
    drop(rt);
    all_failed(&failed, "a failed delivery", |e| {
        matches!(
            e.kind(),
            ErrorKind::Fatal | ErrorKind::ProducerFenced | ErrorKind::TransactionAborted
        )
    });
    assert_log_empty(&bootstrap);
}

#[test]
fn add_partitions_invalid_producer_epoch_is_fatal() {
    add_partitions_fatal(E::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH);
}

#[test]
fn add_partitions_producer_fenced_is_fatal() {
    add_partitions_fatal(E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
}

// ------------------------------------------------------------------------------------------
// 3. EndTxn.

#[test]
fn end_txn_retriable_errors_are_retried_on_commit_and_abort() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (delivered, aborted) = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(
            &mock,
            Api::EndTxn,
            &[
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            ],
        );
        let mut delivered = committed_txn(&p, 0..40).await;
        // An abort through the same errors.
        inject_errors(
            &mock,
            Api::EndTxn,
            &[
                E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            ],
        );
        p.begin_transaction().expect("begin 2");
        let pending = send_range(&p, 100..120, None).await;
        bounded("flush", p.flush(WAIT)).await.expect("flush");
        abort(&p).await.expect("abort 2");
        let aborted: BTreeSet<usize> = outcomes(pending)
            .await
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        delivered.extend(committed_txn(&p, 200..240).await);
        p.close(Duration::from_secs(5)).await;
        (delivered, aborted)
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &aborted);
}

#[test]
fn end_txn_producer_fenced_is_fatal() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let written = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(&mock, Api::EndTxn, &[E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
        p.begin_transaction().expect("begin");
        let pending = send_range(&p, 0..20, None).await;
        assert!(matches!(
            txn_kind("commit", commit(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        assert!(matches!(
            p.begin_transaction(),
            Err(f) if matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced)
        ));
        assert!(matches!(
            txn_kind("abort", abort(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        // The records were written before EndTxn (a real broker would abort them later).
        let written = all_delivered(outcomes(pending).await);
        p.close(Duration::from_secs(5)).await;
        written
    });
    drop(rt);
    // Without markers, the written records stay readable on the mock; each exactly once.
    let aborted: BTreeSet<usize> = written.iter().map(|(i, _)| *i).collect();
    assert_log(&bootstrap, &[], &aborted);
}

// ------------------------------------------------------------------------------------------
// 4. FindCoordinator.

#[test]
fn find_coordinator_not_available_is_retried() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        Api::FindCoordinator,
        &[
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        ],
    );
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        let started = Instant::now();
        init(&p).await.expect("init_transactions");
        eprintln!("init_transactions took {:?}", started.elapsed());
        let delivered = committed_txn(&p, 0..30).await;
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

// ------------------------------------------------------------------------------------------
// 5. Produce inside a transaction.

#[test]
fn produce_not_leader_in_transaction_is_retried_in_order() {
    const RECORDS: usize = 600;
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    // Small batches and five requests in flight per connection: several requests per partition
    // are in flight when one fails, and the mock refuses the later ones out of sequence.
    let cfg = config(
        &bootstrap,
        Some(TID),
        &[
            ("batch.size", "256"),
            ("linger.ms", "2"),
            ("max.in.flight.requests.per.connection", "5"),
        ],
    );
    let current = leaders(&mock, TOPIC, WAIT).expect("leaders");
    let (delivered, retries) = rt.block_on(async {
        let p = Producer::new(cfg).expect("producer");
        init(&p).await.expect("init_transactions");
        let mut delivered = committed_txn(&p, 0..30).await;
        p.begin_transaction().expect("begin");
        let mut pending = send_range(&p, 100..100 + RECORDS / 2, None).await;
        inject_produce_errors(
            &mock,
            &[
                E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                E::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            ],
        );
        // A real leader move in the middle too.
        let to = current[&1] % 3 + 1;
        move_leader(&mock, TOPIC, 1, to).expect("move leader");
        pending.extend(send_range(&p, 100 + RECORDS / 2..100 + RECORDS, None).await);
        commit(&p).await.expect("commit_transaction");
        delivered.extend(all_delivered(outcomes(pending).await));
        let retries = p.metrics().get("record-retry-total").unwrap_or(0.0);
        p.close(Duration::from_secs(5)).await;
        (delivered, retries)
    });
    drop(rt);
    eprintln!("record-retry-total {retries}");
    assert!(retries > 0.0, "the injected errors caused retries");
    assert_log(&bootstrap, &delivered, &none());
}

#[test]
fn produce_invalid_record_in_transaction_is_abortable() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (failed, delivered) = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        p.begin_transaction().expect("begin 1");
        // One batch, one request (partition 0 only), refused before anything is appended.
        inject_produce_errors(&mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        let pending = send_range(&p, 0..10, Some(0)).await;
        let failed = outcomes(pending).await;
        assert_eq!(
            txn_kind("commit 1", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        abort(&p).await.expect("abort 1");
        // The abort bumps the epoch (KIP-360; the mock's InitProducerId is v4); the next
        // transaction works, on partition 0 too.
        let mut delivered = committed_txn(&p, 100..160).await;
        p.begin_transaction().expect("begin 3");
        let pending = send_range(&p, 200..210, Some(0)).await;
        commit(&p).await.expect("commit 3");
        delivered.extend(all_delivered(outcomes(pending).await));
        p.close(Duration::from_secs(5)).await;
        (failed, delivered)
    });
    drop(rt);
    all_failed(&failed, "INVALID_RECORD", |e| {
        e.kind() == ErrorKind::Broker && e.kafka_code().is_some_and(|code| code.0 == 87)
    });
    assert_log(&bootstrap, &delivered, &none());
}

// ------------------------------------------------------------------------------------------
// 6. The coordinator moved or down.

/// Pins the transaction coordinator of [`TID`] to `broker`.
fn set_coordinator(mock: &Mock, broker: i32) {
    mock.coordinator(MockCoordinator::Transaction(TID.to_owned()), broker)
        .expect("set the transaction coordinator");
}

#[test]
fn coordinator_moved_mid_transaction() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    set_coordinator(&mock, 1);
    let rt = runtime();
    let p = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        p
    });
    // Transaction 1: partitions added at broker 1, then the coordinator moves to 2 before
    // EndTxn (which broker 1 answers NOT_COORDINATOR).
    let mut delivered = rt.block_on(async {
        p.begin_transaction().expect("begin 1");
        all_delivered(outcomes(send_range(&p, 0..30, None).await).await)
    });
    set_coordinator(&mock, 2);
    rt.block_on(async { commit(&p).await.expect("commit 1 at the new coordinator") });
    // Transaction 2: the coordinator moves to 3 before AddPartitionsToTxn.
    set_coordinator(&mock, 3);
    delivered.extend(rt.block_on(committed_txn(&p, 100..130)));
    // Transaction 3: moved back to 1 between the sends and the commit, with records still
    // queued (linger).
    let pending = rt.block_on(async {
        p.begin_transaction().expect("begin 3");
        send_range(&p, 200..230, None).await
    });
    set_coordinator(&mock, 1);
    delivered.extend(rt.block_on(async {
        commit(&p).await.expect("commit 3");
        all_delivered(outcomes(pending).await)
    }));
    rt.block_on(p.close(Duration::from_secs(5)));
    drop(p);
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

/// Coordinator on broker 1, partition leaders on 2 and 3; broker 1 goes down once the records
/// of a transaction are written. `moved`: the coordinator also moves to broker 2 (and broker 1
/// stays down), else broker 1 comes back after two seconds.
fn coordinator_down(moved: bool, with_request_in_flight: bool) {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    set_coordinator(&mock, 1);
    for (partition, broker) in [(0, 2), (1, 3), (2, 2)] {
        move_leader(&mock, TOPIC, partition, broker).expect("move leader");
    }
    let rt = runtime();
    let p = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        p
    });
    let mut delivered = rt.block_on(committed_txn(&p, 0..30));
    rt.block_on(async {
        p.begin_transaction().expect("begin 2");
        delivered.extend(all_delivered(
            outcomes(send_range(&p, 100..130, None).await).await,
        ));
    });
    let started = Instant::now();
    let fail = |mock: &Mock| {
        if moved {
            set_coordinator(mock, 2);
        }
        mock.broker_down(1).expect("broker down");
    };
    let commit_task = if with_request_in_flight {
        // The EndTxn goes out first, then the broker goes down under it.
        mock.broker_round_trip_time(1, Duration::from_millis(500))
            .expect("rtt");
        let to_coordinator = || p.metrics().node(1, "request-total").unwrap_or(0.0);
        let before = to_coordinator();
        let q = p.clone();
        let task = rt.spawn(async move { commit(&q).await });
        // Broker 1 leads no partition: the next request it gets is the commit's EndTxn.
        wait_until(
            "the EndTxn request to the coordinator (broker 1)",
            WAIT,
            || to_coordinator() > before,
        );
        fail(&mock);
        task
    } else {
        fail(&mock);
        let q = p.clone();
        rt.spawn(async move { commit(&q).await })
    };
    if !moved {
        std::thread::sleep(Duration::from_secs(2));
        mock.broker_round_trip_time(1, Duration::ZERO).expect("rtt");
        mock.broker_up(1).expect("broker up");
    }
    let result = rt.block_on(async { bounded("commit task", commit_task).await });
    eprintln!(
        "moved {moved}, in flight {with_request_in_flight}: commit {result:?} after {:?}",
        started.elapsed()
    );
    result.expect("commit task").expect("commit 2");
    delivered.extend(rt.block_on(committed_txn(&p, 200..230)));
    rt.block_on(p.close(Duration::from_secs(5)));
    drop(p);
    drop(rt);
    if moved {
        mock.broker_up(1).expect("broker up");
    }
    assert_log(&bootstrap, &delivered, &none());
}

#[test]
fn coordinator_down_then_back_with_end_txn_in_flight() {
    coordinator_down(false, true);
}

#[test]
fn coordinator_down_then_back_before_commit() {
    coordinator_down(false, false);
}

#[test]
fn coordinator_down_and_moved_with_end_txn_in_flight() {
    coordinator_down(true, true);
}

/// The coordinator's broker dies while no coordinator request is in flight, and the
/// transaction coordinator moves to broker 2. Java's `Sender.maybeSendAndPollTransactionalRequest`
/// calls `lookupCoordinator` when the coordinator node does not become ready within
/// `request.timeout.ms` (`awaitNodeReady`), so the commit reaches broker 2. The engine only
/// forgets the coordinator when a coordinator request is lost or answered NOT_COORDINATOR
/// (`txn_request_lost`, `after_coordinator_error`); `send_coordinator_request` just calls
/// `ensure_connecting(node)` again and again, and connection failures never reach the
/// transaction code. Observed: `commit_transaction` times out again and again while broker 1
/// stays down, though the coordinator is available on broker 2.
#[test]
// Regression (fixed): a coordinator whose broker is down is never rediscovered unless a coordinator request was in flight; commit hangs while the new coordinator is up
fn coordinator_down_and_moved_before_commit() {
    coordinator_down(true, false);
}

// ------------------------------------------------------------------------------------------
// 7. Idempotent (not transactional) producer, five requests in flight.

fn idempotent_with_errors(errors: &[RDKafkaRespErr]) {
    const RECORDS: usize = 900;
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let cfg = config(
        &bootstrap,
        None,
        &[
            ("batch.size", "256"),
            ("linger.ms", "2"),
            ("max.in.flight.requests.per.connection", "5"),
        ],
    );
    let (delivered, retries) = rt.block_on(async {
        let p = Producer::new(cfg).expect("producer");
        let mut pending = send_range(&p, 0..30, None).await;
        bounded("flush", p.flush(WAIT)).await.expect("flush");
        inject_produce_errors(&mock, errors);
        pending.extend(send_range(&p, 30..RECORDS, None).await);
        bounded("flush", p.flush(WAIT)).await.expect("flush");
        let delivered = all_delivered(outcomes(pending).await);
        let retries = p.metrics().get("record-retry-total").unwrap_or(0.0);
        p.close(Duration::from_secs(5)).await;
        (delivered, retries)
    });
    drop(rt);
    eprintln!("{errors:?}: record-retry-total {retries}");
    assert!(retries > 0.0, "the injected errors caused retries");
    // Exactly once; the order is not checked (the mock does not validate sequences of
    // non-transactional producers, see the module docs): compare as sets per partition, and
    // report reorderings.
    let read = read_back(
        &bootstrap,
        TOPIC,
        delivered.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    assert_eq!(read.len(), delivered.len(), "records in the log");
    let mut want: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, md) in &delivered {
        want.entry(md.partition()).or_default().push(*i);
        let at = read
            .iter()
            .find(|r| r.partition == md.partition() && Some(r.offset) == md.offset())
            .unwrap_or_else(|| panic!("record {i}: nothing at its reported offset"));
        assert_eq!(
            index_of(at.value.as_deref()),
            Some(*i),
            "record {i}: offset"
        );
    }
    for (p, records) in by_partition(&read) {
        let got: Vec<usize> = records
            .iter()
            .map(|r| index_of(r.value.as_deref()).expect("ours"))
            .collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        let w = want.get(&p).cloned().unwrap_or_default();
        assert_eq!(
            sorted, w,
            "partition {p}: exactly the delivered records, once"
        );
        if got != sorted {
            eprintln!("partition {p}: reordered in the log (mock quirk)");
        }
    }
}

#[test]
fn idempotent_retriable_produce_errors_five_in_flight() {
    idempotent_with_errors(&[
        E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        E::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
    ]);
}

/// One `OUT_OF_ORDER_SEQUENCE_NUMBER` on the first request after a flush (head batches, nothing
/// earlier unresolved), then a `NOT_LEADER_FOR_PARTITION`: Java's `TransactionManager.canRetry`
/// retries every `OUT_OF_ORDER_SEQUENCE_NUMBER` of an idempotent (non-transactional) producer,
/// bumping the epoch when the batch is the next in sequence; no record may be lost or doubled.
#[test]
fn idempotent_out_of_order_sequence_once_five_in_flight() {
    idempotent_with_errors(&[
        E::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
        E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
    ]);
}

// ------------------------------------------------------------------------------------------
// 8. Fencing.

/// The producer id and epoch of the first batch in `partition`, read with one raw Fetch v4
/// from `addr` (the leader).
fn first_batch_producer(addr: &str, partition: i32) -> (i64, i16) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut body = Vec::new();
    body.extend_from_slice(&1i16.to_be_bytes()); // Fetch
    body.extend_from_slice(&4i16.to_be_bytes()); // v4
    body.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&1i16.to_be_bytes());
    body.push(b'f'); // client id
    body.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
    body.extend_from_slice(&0i32.to_be_bytes()); // max wait
    body.extend_from_slice(&0i32.to_be_bytes()); // min bytes
    body.extend_from_slice(&(1i32 << 20).to_be_bytes()); // max bytes
    body.push(0); // read_uncommitted
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&i16::try_from(TOPIC.len()).expect("short").to_be_bytes());
    body.extend_from_slice(TOPIC.as_bytes());
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&partition.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes()); // fetch offset
    body.extend_from_slice(&(1i32 << 20).to_be_bytes());
    stream
        .write_all(&u32::try_from(body.len()).expect("small").to_be_bytes())
        .and_then(|()| stream.write_all(&body))
        .expect("send Fetch");
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).expect("Fetch response size");
    let mut resp = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut resp).expect("Fetch response");
    let i16_at = |at: usize| i16::from_be_bytes(resp[at..at + 2].try_into().expect("2"));
    let i32_at = |at: usize| i32::from_be_bytes(resp[at..at + 4].try_into().expect("4"));
    let i64_at = |at: usize| i64::from_be_bytes(resp[at..at + 8].try_into().expect("8"));
    let mut at = 4 + 4 + 4; // correlation id, throttle time, topic count
    at += 2 + usize::try_from(i16_at(at)).expect("name length");
    at += 4 + 4; // partition count, index
    assert_eq!(i16_at(at), 0, "Fetch error code");
    at += 2 + 8 + 8;
    let aborted = usize::try_from(i32_at(at).max(0)).expect("count");
    at += 4 + 16 * aborted;
    assert!(i32_at(at) > 61, "partition {partition} holds a batch");
    at += 4;
    // Batch v2: base offset 8, length 4, leader epoch 4, magic 1, crc 4, attributes 2,
    // last offset delta 4, timestamps 16, then the producer id (8) and epoch (2).
    (i64_at(at + 43), i16_at(at + 51))
}

/// The coordinator bumps the epoch of `(producer_id, epoch)` of [`TID`] (InitProducerId v3
/// with the current identity, KIP-360): what a real coordinator does when a newer instance
/// with the same `transactional.id` initializes. Returns the new epoch.
fn bump_epoch_at_coordinator(coordinator: &str, producer_id: i64, epoch: i16) -> i16 {
    let mut client = WireClient::connect(coordinator).expect("connect to the coordinator");
    let req = InitProducerIdRequest {
        transactional_id: Some(TID.to_owned()),
        transaction_timeout_ms: 60_000,
        producer_id,
        producer_epoch: epoch,
        ..Default::default()
    };
    match client
        .request(&RequestBody::InitProducerId(req), 3)
        .expect("InitProducerId v3")
    {
        ResponseBody::InitProducerId(r) => {
            assert_eq!(r.error_code, 0, "InitProducerId with the current id");
            assert_eq!(r.producer_id, producer_id, "same producer id");
            r.producer_epoch
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

/// `stage`: where the fenced producer notices: its next AddPartitionsToTxn (a new
/// transaction), its EndTxn (records already written), or its next Produce (partition already
/// added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FencedAt {
    AddPartitions,
    EndTxn,
    Produce,
}

fn fenced(stage: FencedAt) {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (a, mut delivered) = rt.block_on(async {
        let a = txn_producer(&bootstrap);
        init(&a).await.expect("init_transactions");
        let delivered = committed_txn(&a, 0..10).await;
        (a, delivered)
    });
    // On the mock, a second producer with the same transactional.id gets a new producer id and
    // does not fence the first (see the module docs); it must still initialize.
    rt.block_on(async {
        let b = txn_producer(&bootstrap);
        init(&b).await.expect("second producer init_transactions");
        b.close(Duration::from_secs(5)).await;
    });
    let (pid, epoch) = first_batch_producer(&bootstrap, 0);
    let mut open = Vec::new();
    match stage {
        FencedAt::AddPartitions => {}
        FencedAt::EndTxn => {
            open = rt.block_on(async {
                a.begin_transaction().expect("begin");
                all_delivered(outcomes(send_range(&a, 100..110, None).await).await)
            });
        }
        FencedAt::Produce => {
            // Add partition 1 to the transaction with one record, then fence, then produce.
            open = rt.block_on(async {
                a.begin_transaction().expect("begin");
                all_delivered(outcomes(send_range(&a, 100..101, Some(1)).await).await)
            });
        }
    }
    let new_epoch = bump_epoch_at_coordinator(&bootstrap, pid, epoch);
    eprintln!("{stage:?}: producer {pid} epoch {epoch} bumped to {new_epoch}");
    assert!(new_epoch > epoch);
    let failed = rt.block_on(async {
        let pending = match stage {
            FencedAt::AddPartitions => {
                a.begin_transaction().expect("begin");
                send_lenient(&a, 200..210, None).await
            }
            FencedAt::EndTxn => (Vec::new(), Vec::new()),
            FencedAt::Produce => send_lenient(&a, 200..210, Some(1)).await,
        };
        let (pending, refused) = pending;
        for (i, e) in &refused {
            assert!(refused_as_fatal(e), "send {i} refused with {e:?}");
        }
        let kind = txn_kind("commit", commit(&a).await);
        let failed = outcomes(pending).await;
        if stage == FencedAt::Produce {
            // The Produce error itself is abortable (INVALID_PRODUCER_EPOCH on Produce, KIP-588);
            // the abort's EndTxn is then refused, which is fatal.
            assert_eq!(kind, ErrorKind::TransactionAbortable);
            assert!(matches!(
                txn_kind("abort", abort(&a).await),
                ErrorKind::Fatal | ErrorKind::ProducerFenced
            ));
        } else {
            assert!(matches!(kind, ErrorKind::Fatal | ErrorKind::ProducerFenced));
            assert!(matches!(
                txn_kind("abort", abort(&a).await),
                ErrorKind::Fatal | ErrorKind::ProducerFenced
            ));
        }
        assert!(matches!(
            a.begin_transaction(),
            Err(f) if matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced)
        ));
        a.close(Duration::from_secs(5)).await;
        failed
    });
    drop(a);
    drop(rt);
    for (i, r) in &failed {
        assert!(r.is_err(), "record {i} of the fenced producer: {r:?}");
    }
    // Records of the fenced transaction may be in the log (no markers on the mock).
    let aborted: BTreeSet<usize> = open.iter().map(|(i, _)| *i).collect();
    delivered.retain(|(i, _)| !aborted.contains(i));
    assert_log(&bootstrap, &delivered, &aborted);
}

#[test]
fn fenced_at_add_partitions_is_fatal() {
    fenced(FencedAt::AddPartitions);
}

#[test]
fn fenced_at_end_txn_is_fatal() {
    fenced(FencedAt::EndTxn);
}

#[test]
fn fenced_at_produce_is_abortable_then_fatal() {
    fenced(FencedAt::Produce);
}

// ------------------------------------------------------------------------------------------
// More: errors seen by the caller after a fatal error, timeouts, aborts with requests in flight,
// empty transactions, offsets in a transaction.

/// After a fatal transactional error, `send` must say why (the engine's own doc of
/// `SendError::Transaction`: "no transaction begun, abortable or fatal error"; Java's
/// `maybeAddPartition` throws the fatal error, e.g. `ProducerFencedException`).
///
/// Observed: `Send(Closed)` ("producer is closed") although nobody closed the producer. In
/// `Engine::run`, a fatal transaction state calls `acc.abort_all()`, which sets the
/// accumulator's `closing` flag; `Engine::append` checks `acc.is_closing()` before the
/// transaction manager's `send()`, so the fatal reason is masked as `Closed`.
#[test]
// Regression (fixed): send after a fatal transactional error (PRODUCER_FENCED) returns SendError::Closed instead of the fatal error
fn send_after_a_fatal_error_names_it() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(&mock, Api::EndTxn, &[E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
        p.begin_transaction().expect("begin");
        let pending = send_range(&p, 0..5, None).await;
        assert!(matches!(
            txn_kind("commit", commit(&p).await),
            ErrorKind::Fatal | ErrorKind::ProducerFenced
        ));
        drop(outcomes(pending).await);
        let refused = bounded("send", p.send(record(9, None)))
            .await
            .expect_err("a fenced producer refuses sends");
        assert!(
            matches!(
                &refused,
                e if e.kind() == ErrorKind::ProducerFenced
                    && e.to_string().contains("PRODUCER_FENCED")
            ),
            "send after PRODUCER_FENCED: {refused:?}"
        );
        p.close(Duration::from_secs(5)).await;
    });
}

/// A commit that takes longer than `max.block.ms` returns `Timeout`; calling it again waits for
/// the same commit, which succeeds once the coordinator is back.
#[test]
fn commit_timeout_then_called_again_succeeds() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    set_coordinator(&mock, 1);
    for (partition, broker) in [(0, 2), (1, 3), (2, 2)] {
        move_leader(&mock, TOPIC, partition, broker).expect("move leader");
    }
    let rt = runtime();
    let cfg = config(&bootstrap, Some(TID), &[("max.block.ms", "1000")]);
    let p = rt.block_on(async {
        let p = Producer::new(cfg).expect("producer");
        init(&p).await.expect("init_transactions");
        p
    });
    let mut delivered = rt.block_on(async {
        p.begin_transaction().expect("begin");
        all_delivered(outcomes(send_range(&p, 0..30, None).await).await)
    });
    mock.broker_down(1).expect("broker down");
    rt.block_on(async {
        for attempt in 0..2 {
            let r = bounded("commit", p.commit_transaction()).await;
            assert!(
                // "{operation} did not finish within ..."
                r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Timeout
                    && e.to_string()
                        .starts_with("commit_transaction did not finish")),
                "attempt {attempt}: {r:?}"
            );
            // Bounded by max.block.ms: the call's own timer (1000 ms here) ended it, and the
            // error says so; nothing else produces this error for commit_transaction.
            let text = r
                .as_ref()
                .map_err(ToString::to_string)
                .expect_err("timed out");
            assert!(
                text.contains("within 1000 ms"),
                "attempt {attempt}: bounded by max.block.ms: {text}"
            );
        }
        // Still committing: no new transaction yet.
        assert!(matches!(
            p.begin_transaction(),
            Err(f) if f.kind() == ErrorKind::InvalidState
        ));
    });
    mock.broker_up(1).expect("broker up");
    rt.block_on(async {
        commit(&p)
            .await
            .expect("commit once the coordinator is back");
    });
    delivered.extend(rt.block_on(committed_txn(&p, 100..130)));
    rt.block_on(p.close(Duration::from_secs(5)));
    drop(p);
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

/// `abort_transaction` while Produce requests are in flight (slow brokers): what was in flight
/// is awaited, what was not sent fails `TransactionAborted`, and the next transaction commits.
#[test]
fn abort_with_produce_requests_in_flight() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let p = rt.block_on(async {
        let p = Producer::new(config(&bootstrap, Some(TID), &[("batch.size", "256")]))
            .expect("producer");
        init(&p).await.expect("init_transactions");
        p
    });
    let mut delivered = rt.block_on(committed_txn(&p, 0..30));
    mock.broker_round_trip_time(-1, Duration::from_millis(300))
        .expect("rtt");
    let outcomes1 = rt.block_on(async {
        p.begin_transaction().expect("begin 2");
        let pending = send_range(&p, 100..400, None).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        abort(&p).await.expect("abort 2");
        outcomes(pending).await
    });
    mock.broker_round_trip_time(-1, Duration::ZERO)
        .expect("rtt");
    let (mut written, mut aborted_unsent) = (0, 0);
    for (i, r) in &outcomes1 {
        match r {
            Ok(_) => written += 1,
            Err(e) if e.kind() == ErrorKind::TransactionAborted => aborted_unsent += 1,
            Err(e) => panic!("record {i}: {e:?}"),
        }
    }
    eprintln!("aborted transaction: {written} records written, {aborted_unsent} never sent");
    delivered.extend(rt.block_on(committed_txn(&p, 500..560)));
    rt.block_on(p.close(Duration::from_secs(5)));
    drop(p);
    drop(rt);
    let aborted: BTreeSet<usize> = outcomes1.iter().map(|(i, _)| *i).collect();
    assert_log(&bootstrap, &delivered, &aborted);
    // Only the records reported written can be in the log.
    let read = read_back(&bootstrap, TOPIC, 0, WAIT, Isolation::ReadUncommitted).expect("read");
    let in_log = read
        .iter()
        .filter(|r| index_of(r.value.as_deref()).is_some_and(|i| aborted.contains(&i)))
        .count();
    assert_eq!(
        in_log, written,
        "aborted records in the log = those reported written"
    );
}

#[test]
fn empty_transactions_commit_and_abort() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        p.begin_transaction().expect("begin 1");
        commit(&p).await.expect("empty commit");
        p.begin_transaction().expect("begin 2");
        abort(&p).await.expect("empty abort");
        let delivered = committed_txn(&p, 0..20).await;
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

fn consumed_offsets() -> Vec<OffsetToCommit> {
    (0..PARTITIONS)
        .map(|partition| OffsetToCommit {
            topic: TOPIC.to_owned(),
            partition,
            offset: 42,
            leader_epoch: None,
            metadata: None,
        })
        .collect()
}

async fn send_offsets(producer: &Producer) -> Result<(), ProduceError> {
    until_done("send_offsets_to_transaction", || {
        producer.send_offsets_to_transaction(consumed_offsets(), GroupMetadata::new("g"))
    })
    .await
}

/// Retriable and coordinator-moving errors on AddOffsetsToTxn and TxnOffsetCommit.
#[test]
fn send_offsets_retriable_errors_are_retried() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(
            &mock,
            Api::AddOffsetsToTxn,
            &[
                E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            ],
        );
        inject_errors(
            &mock,
            Api::TxnOffsetCommit,
            &[
                E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            ],
        );
        p.begin_transaction().expect("begin");
        let pending = send_range(&p, 0..20, None).await;
        send_offsets(&p).await.expect("send_offsets_to_transaction");
        commit(&p).await.expect("commit");
        let delivered = all_delivered(outcomes(pending).await);
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

/// GROUP_AUTHORIZATION_FAILED on TxnOffsetCommit is abortable; after the abort the next
/// transaction (with offsets) commits.
#[test]
fn send_offsets_group_authorization_failed_is_abortable() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (aborted, delivered) = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(
            &mock,
            Api::TxnOffsetCommit,
            &[E::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED],
        );
        p.begin_transaction().expect("begin 1");
        let pending = send_range(&p, 0..20, None).await;
        assert_eq!(
            txn_kind("send_offsets", send_offsets(&p).await),
            ErrorKind::TransactionAbortable
        );
        assert_eq!(
            txn_kind("commit 1", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        abort(&p).await.expect("abort 1");
        let aborted: BTreeSet<usize> = outcomes(pending)
            .await
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        p.begin_transaction().expect("begin 2");
        let pending = send_range(&p, 100..120, None).await;
        send_offsets(&p).await.expect("send_offsets 2");
        commit(&p).await.expect("commit 2");
        let delivered = all_delivered(outcomes(pending).await);
        p.close(Duration::from_secs(5)).await;
        (aborted, delivered)
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &aborted);
}

/// A Produce failure that arrives while the commit is already under way (the records were
/// lingering when `commit_transaction` was called, so the commit's flush sent them). Java does
/// not bump the epoch then (`maybeTransitionToErrorState`: no bump while completing) but closes
/// the sequence gap of the failed batch (`handleFailedBatch` → `adjustSequencesDueToFailedBatch`),
/// so after the abort the next transaction writes to the same partition from the failed
/// batch's sequence.
///
/// Observed: every later transaction on that partition fails `Abortable` with
/// `Produce returned OUT_OF_ORDER_SEQUENCE_NUMBER(45)` (3 of 3 here). Reading: the failed batch
/// goes through `requeue_or_fail` → `sequence_done(false)` (`Sequences::fail`: the partition
/// becomes "unresolved", its next sequence stays after the failed batch) and
/// `TransactionManager::handle_produce_error`, which drops the KIP-360 bump because the state is
/// `CommittingTransaction` (`bump_epoch && !completing`). Nothing renumbers the partition for a
/// transactional producer (`bump_epoch_locally` is idempotent-only), so after the abort the next
/// batch carries sequence 10 where the broker expects 0. Its OUT_OF_ORDER_SEQUENCE_NUMBER is not
/// retried for a transactional producer (`reset_retry` needs `txn.is_none()`) and, arriving
/// during the commit again, again triggers no bump: the partition stays poisoned. The same
/// would happen on a real broker, which never appended the failed batch.
#[test]
// Regression (fixed): a Produce failure during commit leaves a sequence gap (no epoch bump, no renumbering); every later transaction on that partition fails OUT_OF_ORDER_SEQUENCE_NUMBER
fn produce_error_during_commit_then_abort_then_same_partition() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let cfg = config(&bootstrap, Some(TID), &[("linger.ms", "1000")]);
    let (failed, delivered) = rt.block_on(async {
        let p = Producer::new(cfg).expect("producer");
        init(&p).await.expect("init_transactions");
        let mut delivered = committed_txn(&p, 0..10).await;
        p.begin_transaction().expect("begin 2");
        let pending = send_range(&p, 100..110, Some(0)).await;
        inject_produce_errors(&mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        // The commit flushes the lingering batch, which the broker refuses.
        assert_eq!(
            txn_kind("commit 2", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        abort(&p).await.expect("abort 2");
        let failed = outcomes(pending).await;
        // Three more transactions on partition 0, each committed the same way; a failed one is
        // aborted and noted.
        let mut later_failures = Vec::new();
        for n in 3..6 {
            p.begin_transaction().expect("begin");
            let start = n * 100;
            let pending = send_range(&p, start..start + 10, Some(0)).await;
            match commit(&p).await {
                Ok(()) => delivered.extend(all_delivered(outcomes(pending).await)),
                Err(e) => {
                    later_failures.push(format!("transaction {n}: {e}"));
                    abort(&p).await.expect("abort");
                    drop(outcomes(pending).await);
                }
            }
        }
        p.close(Duration::from_secs(5)).await;
        assert!(
            later_failures.is_empty(),
            "transactions after the aborted one failed: {later_failures:#?}"
        );
        (failed, delivered)
    });
    drop(rt);
    all_failed(&failed, "INVALID_RECORD", |e| {
        e.kind() == ErrorKind::Broker && e.kafka_code().is_some_and(|code| code.0 == 87)
    });
    assert_log(&bootstrap, &delivered, &none());
}

/// Two tasks commit the same transaction at once: both get its outcome.
#[test]
fn concurrent_commit_calls_share_the_outcome() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(
            &mock,
            Api::EndTxn,
            &[E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS],
        );
        p.begin_transaction().expect("begin");
        let pending = send_range(&p, 0..30, None).await;
        let (a, b) = tokio::join!(commit(&p), commit(&p));
        a.expect("first commit call");
        b.expect("second commit call");
        let delivered = all_delivered(outcomes(pending).await);
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}

/// `close` with a transaction open: every delivery future resolves within the close timeout.
#[test]
fn close_with_an_open_transaction_resolves_every_delivery() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    rt.block_on(async {
        let p = Producer::new(config(&bootstrap, Some(TID), &[("linger.ms", "1000")]))
            .expect("producer");
        init(&p).await.expect("init_transactions");
        p.begin_transaction().expect("begin");
        let mut pending = send_range(&p, 0..30, None).await;
        bounded("close", p.close(Duration::from_secs(3))).await;
        // Every delivery is resolved by the time close returns: each future is ready on its
        // first poll, without waiting for anything.
        let resolved: Vec<_> = pending
            .iter_mut()
            .map(|(i, delivery)| {
                let outcome = poll_now(delivery)
                    .unwrap_or_else(|| panic!("record {i} still pending after close returned"));
                (*i, outcome)
            })
            .collect();
        eprintln!(
            "close: {} of {} delivered",
            resolved.iter().filter(|(_, r)| r.is_ok()).count(),
            resolved.len()
        );
        assert!(p.begin_transaction().is_err(), "closed");
    });
}

/// Thirty transactions in a row through a rotating set of faults, every fourth one aborted
/// after its records were written: the committed records are in the log exactly once, in send
/// order per partition, and nothing else but records of the aborted transactions.
#[test]
fn thirty_transactions_through_rotating_faults() {
    const PER_TXN: usize = 40;
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    set_coordinator(&mock, 1);
    let rt = runtime();
    let cfg = config(
        &bootstrap,
        Some(TID),
        &[("batch.size", "256"), ("linger.ms", "2")],
    );
    let p = rt.block_on(async {
        let p = Producer::new(cfg).expect("producer");
        init(&p).await.expect("init_transactions");
        p
    });
    let mut delivered = Vec::new();
    let mut aborted = BTreeSet::new();
    let started = Instant::now();
    for n in 0..30usize {
        let step = i32::try_from(n).expect("small");
        match n % 6 {
            1 => inject_errors(
                &mock,
                Api::AddPartitionsToTxn,
                &[E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS],
            ),
            2 => inject_errors(
                &mock,
                Api::EndTxn,
                &[E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS],
            ),
            3 => inject_produce_errors(
                &mock,
                &[
                    E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                    E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                ],
            ),
            4 => move_leader(&mock, TOPIC, step % PARTITIONS, step % 3 + 1).expect("move"),
            5 => set_coordinator(&mock, step % 3 + 1),
            _ => {}
        }
        let range = n * 1000..n * 1000 + PER_TXN;
        let abort_it = n % 4 == 3;
        rt.block_on(async {
            p.begin_transaction()
                .unwrap_or_else(|e| panic!("begin {n}: {e:?}"));
            let pending = send_range(&p, range.clone(), None).await;
            if abort_it {
                bounded("flush", p.flush(WAIT)).await.expect("flush");
                abort(&p)
                    .await
                    .unwrap_or_else(|e| panic!("abort {n}: {e:?}"));
                aborted.extend(range.clone());
                drop(outcomes(pending).await);
            } else {
                commit(&p)
                    .await
                    .unwrap_or_else(|e| panic!("commit {n}: {e:?}"));
                delivered.extend(all_delivered(outcomes(pending).await));
            }
        });
    }
    eprintln!("30 transactions in {:?}", started.elapsed());
    rt.block_on(p.close(Duration::from_secs(5)));
    drop(p);
    drop(rt);
    assert_log(&bootstrap, &delivered, &aborted);
}

/// A producer-id error on Produce inside a transaction (the broker lost the producer's state):
/// abortable with a KIP-360 epoch bump; after the abort the next transaction commits.
/// `INVALID_PRODUCER_ID_MAPPING` skips EndTxn (Java: the coordinator has no mapping to end the
/// transaction with) and goes straight to InitProducerId with the current identity.
fn produce_producer_id_error_is_abortable(error: RDKafkaRespErr) {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (failed, delivered) = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        let mut delivered = committed_txn(&p, 0..30).await;
        p.begin_transaction().expect("begin 2");
        inject_produce_errors(&mock, &[error]);
        let pending = send_range(&p, 100..110, Some(0)).await;
        let failed = outcomes(pending).await;
        assert_eq!(
            txn_kind("commit 2", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        abort(&p).await.expect("abort 2");
        delivered.extend(committed_txn(&p, 200..260).await);
        p.close(Duration::from_secs(5)).await;
        (failed, delivered)
    });
    drop(rt);
    all_failed(&failed, "the injected error", |e| {
        e.kind() == ErrorKind::Broker
    });
    assert_log(&bootstrap, &delivered, &none());
}

#[test]
fn produce_unknown_producer_id_in_transaction_is_abortable() {
    produce_producer_id_error_is_abortable(E::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
}

/// Observed: `abort_transaction` never completes: it returns `Timeout` after `max.block.ms`, and
/// calling it again (as the API says to) fails `InvalidState`: "abort_transaction is not allowed
/// in state READY". Reading: `TransactionManager::pending_request` sends InitProducerId instead
/// of EndTxn (`skip_end_txn`), whose success takes the state from ABORTING_TRANSACTION to READY
/// (`handle_init_producer_id`); but `resolve_txn_calls` completes `AbortTransaction` only on
/// `(Ready, ended == Some(false))`, and `TxnCtx::ended` is set only by a successful EndTxn
/// (`handle_end_txn`), never by `handle_txn_init_producer_id`. The waiter is left hanging and
/// the state moved on, so the abort can neither be awaited nor repeated.
#[test]
// Regression (fixed): after INVALID_PRODUCER_ID_MAPPING, abort_transaction (which skips EndTxn) never resolves: Timeout, then InvalidState in READY
fn produce_invalid_producer_id_mapping_in_transaction_is_abortable() {
    produce_producer_id_error_is_abortable(E::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING);
}

/// INVALID_PRODUCER_EPOCH on Produce inside a transaction is abortable (KIP-588); an epoch bump
/// follows the abort, and the next transaction commits.
#[test]
fn produce_invalid_producer_epoch_in_transaction_is_abortable() {
    produce_producer_id_error_is_abortable(E::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH);
}

/// UNKNOWN_PRODUCER_ID on EndTxn(commit) (the coordinator lost the producer id): abortable
/// with an epoch bump when the coordinator supports it; abort, then the next transaction commits.
#[test]
fn end_txn_unknown_producer_id_is_abortable() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let (written, delivered) = rt.block_on(async {
        let p = txn_producer(&bootstrap);
        init(&p).await.expect("init_transactions");
        inject_errors(
            &mock,
            Api::EndTxn,
            &[E::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID],
        );
        p.begin_transaction().expect("begin 1");
        let pending = send_range(&p, 0..20, None).await;
        assert_eq!(
            txn_kind("commit 1", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        abort(&p).await.expect("abort 1");
        let written: BTreeSet<usize> = outcomes(pending)
            .await
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let delivered = committed_txn(&p, 100..160).await;
        p.close(Duration::from_secs(5)).await;
        (written, delivered)
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &written);
}

/// A non-retriable Produce error on one request while later requests of the same partitions are
/// in flight (five per connection, small batches): the later ones are refused out of sequence
/// by the mock; the transaction is abortable; after the abort (and epoch bump) the next
/// transaction commits on every partition.
#[test]
fn produce_abortable_error_with_requests_in_flight() {
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let cfg = config(
        &bootstrap,
        Some(TID),
        &[("batch.size", "256"), ("linger.ms", "2")],
    );
    let (written, delivered) = rt.block_on(async {
        let p = Producer::new(cfg).expect("producer");
        init(&p).await.expect("init_transactions");
        let mut delivered = committed_txn(&p, 0..60).await;
        p.begin_transaction().expect("begin 2");
        let (mut pending, _) = send_lenient(&p, 1000..1100, None).await;
        inject_produce_errors(&mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        let (more, refused) = send_lenient(&p, 1100..1400, None).await;
        pending.extend(more);
        for (i, e) in &refused {
            assert!(
                e.kind() == ErrorKind::TransactionAbortable,
                "send {i}: {e:?}"
            );
        }
        let outcomes2 = outcomes(pending).await;
        let failures = outcomes2.iter().filter(|(_, r)| r.is_err()).count();
        eprintln!(
            "transaction 2: {failures} of {} accepted records failed, {} sends refused",
            outcomes2.len(),
            refused.len()
        );
        assert!(failures > 0);
        assert_eq!(
            txn_kind("commit 2", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        abort(&p).await.expect("abort 2");
        let written: BTreeSet<usize> = outcomes2.iter().map(|(i, _)| *i).collect();
        delivered.extend(committed_txn(&p, 2000..2300).await);
        p.close(Duration::from_secs(5)).await;
        (written, delivered)
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &written);
}

/// An abort that needs a KIP-360 epoch bump (after an abortable Produce error in the
/// transaction), whose InitProducerId fails with TRANSACTIONAL_ID_AUTHORIZATION_FAILED
/// (abortable for InitProducerId). Java makes the InitProducerId the abort's result
/// (`beginCompletingTransaction` returns `initializeTransactions(...)` when `epochBumpRequired`),
/// and its handler fails that result (`abortableError` → `result.fail`): the abort call fails
/// promptly and may be called again.
///
/// Observed: the abort call returns `Timeout` after `max.block.ms` (3 s here); a second abort
/// then succeeds (EndTxn again, then the bump). Reading: the failed InitProducerId moves the
/// state INITIALIZING → ABORTABLE_ERROR, and `resolve_txn_calls` has no arm for
/// `(AbortTransaction, AbortableError)`, so the waiting abort is never told. Same family as
/// `produce_invalid_producer_id_mapping_in_transaction_is_abortable`: the abort's completion is
/// tied to `ended == Some(false)` and READY only.
#[test]
// Regression (fixed): abort whose epoch-bump InitProducerId fails (abortable) never resolves: Timeout after max.block.ms instead of the error
fn abort_whose_epoch_bump_fails_reports_the_error() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let delivered = rt.block_on(async {
        let p = Producer::new(config(&bootstrap, Some(TID), &[("max.block.ms", "3000")]))
            .expect("producer");
        init(&p).await.expect("init_transactions");
        p.begin_transaction().expect("begin 1");
        inject_produce_errors(&mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        let pending = send_range(&p, 0..10, Some(0)).await;
        drop(outcomes(pending).await);
        assert_eq!(
            txn_kind("commit 1", commit(&p).await),
            ErrorKind::TransactionAbortable
        );
        inject_errors(
            &mock,
            Api::InitProducerId,
            &[E::RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
        );
        let started = Instant::now();
        let first = bounded("abort 1", p.abort_transaction()).await;
        eprintln!("abort 1: {first:?} after {:?}", started.elapsed());
        assert!(
            matches!(&first, Err(f) if f.kind() == ErrorKind::TransactionAbortable),
            "the abort reports the failed epoch bump: {first:?}"
        );
        abort(&p).await.expect("abort again");
        let delivered = committed_txn(&p, 100..130).await;
        p.close(Duration::from_secs(5)).await;
        delivered
    });
    drop(rt);
    assert_log(&bootstrap, &delivered, &none());
}
