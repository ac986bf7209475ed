//! The ferrokafka `Producer`'s transactions against Apache Kafka 4.4.0, on both transaction
//! protocols: every case runs once on a node formatted with `transaction.version=0` (the classic
//! protocol: AddPartitionsToTxn, Produce ≤ v11) and once with `transaction.version=2` (KIP-890:
//! partitions join through Produce v12, EndTxn v5 bumps the epoch after every transaction).
//!
//! Two independent readers check what Kafka made visible — librdkafka's consumer
//! (`ferrokafka_tests::consume`) and the Java `KafkaConsumer` (`JavaHelper::consume`) — record by
//! record against what was sent, with `read_committed` (aborted records must be invisible, which
//! Tansu could not show) and `read_uncommitted`.
//!
//! The clusters log every request (`kafka.request.logger` at DEBUG, [`Shared::SingleRequestLog`]):
//! each producer gets a unique `client.id`, and the node's log shows, from the broker's side,
//! which APIs and versions it used and the epochs EndTxn carried and returned. (The producer
//! exposes no producer id, epoch or protocol of its own, so the broker's log is the evidence.)
//!
//! Where the two protocols differ, as Java does against the same broker:
//!
//! - fencing: classic AddPartitionsToTxn gets PRODUCER_FENCED (fatal at the commit); on v2 the
//!   zombie's Produce v12 gets INVALID_PRODUCER_EPOCH, abortable (KIP-588), and the abort's
//!   EndTxn then gets PRODUCER_FENCED (fatal);
//! - a transaction the coordinator aborted on timeout: on v2 EndTxn(abort) from the old epoch is
//!   accepted and the producer goes on; on the classic protocol it is answered PRODUCER_FENCED
//!   (fatal, Java's EndTxnHandler too) and only a new instance goes on;
//! - an abort after a Produce error bumps the epoch with InitProducerId on the classic protocol
//!   (KIP-360), through EndTxn v5 on v2;
//! - retries the broker asks for (CONCURRENT_TRANSACTIONS while the previous transaction's
//!   markers are written: InitProducerId after an abort, TxnOffsetCommit v5 right after an
//!   EndTxn) are logged too; the request counts only count successful requests.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use ferrokafka::{
    ErrorKind, GroupMetadata, OffsetToCommit, ProduceError, Producer, ProducerConfig,
    ProducerRecord,
};
use ferrokafka_tests::consume::{Consumed, Isolation, read_back};
use ferrokafka_tests::kafka::{CommittedOffset, JavaHelper, KafkaCluster, Shared, shared};
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::wait::poll_now;

const WAIT: Duration = Duration::from_secs(60);

const API_PRODUCE: i16 = 0;
const API_INIT_PRODUCER_ID: i16 = 22;
const API_ADD_PARTITIONS_TO_TXN: i16 = 24;
const API_ADD_OFFSETS_TO_TXN: i16 = 25;
const API_END_TXN: i16 = 26;
const API_TXN_OFFSET_COMMIT: i16 = 28;

// ---------------------------------------------------------------------------------------------
// Running a case on both protocols
// ---------------------------------------------------------------------------------------------

/// The transaction protocol a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    /// `transaction.version=0`.
    V0,
    /// `transaction.version=2` (KIP-890).
    V2,
}

/// What a case gets: the cluster and a prefix for its topic, group and transactional ids.
struct Case {
    kafka: &'static KafkaCluster,
    proto: Proto,
    bootstrap: String,
    prefix: String,
}

impl Case {
    /// `kt-<case>-<proto>-<what>`: unique per case and protocol.
    fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    fn topic(&self, what: &str, partitions: u32) -> String {
        let name = self.name(what);
        self.kafka
            .create_topic(&name, partitions, 1, &[])
            .unwrap_or_else(|e| panic!("create topic {name}: {e}"));
        name
    }

    /// A transactional producer whose `client.id` is its `transactional.id`.
    fn producer(&self, txn_id: &str, extra: &[(&str, &str)]) -> Producer {
        let mut props = vec![
            ("bootstrap.servers", self.bootstrap.as_str()),
            ("transactional.id", txn_id),
            ("client.id", txn_id),
        ];
        props.extend_from_slice(extra);
        Producer::new(ProducerConfig::from_properties(props).expect("valid config"))
            .expect("producer")
    }
}

fn run<F: Future<Output = ()>>(proto: Proto, case: &str, body: fn(Case) -> F) {
    let kafka = shared(match proto {
        Proto::V0 => Shared::SingleTv0RequestLog,
        Proto::V2 => Shared::SingleRequestLog,
    });
    let tag = match proto {
        Proto::V0 => "tv0",
        Proto::V2 => "tv2",
    };
    let case = Case {
        kafka,
        proto,
        bootstrap: kafka.bootstrap(),
        prefix: format!("kt-{case}-{tag}"),
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(body(case));
}

/// Two tests per case: `<case>::tv0` and `<case>::tv2`.
macro_rules! on_both_protocols {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn tv0() {
                super::run(super::Proto::V0, stringify!($case), super::$case);
            }
            #[test]
            fn tv2() {
                super::run(super::Proto::V2, stringify!($case), super::$case);
            }
        }
    )*};
}

on_both_protocols!(
    commit_spans_partitions_and_topics,
    aborted_records_are_invisible,
    newer_producer_fences_older_one,
    fencing_an_open_transaction,
    offsets_commit_with_the_transaction,
    protocol_seen_by_the_broker,
    calls_in_the_wrong_state_fail_at_once,
    transactions_in_a_row,
    abort_with_records_in_flight,
    empty_transactions_complete,
    abortable_error_then_next_transaction,
    coordinator_aborts_a_timed_out_transaction,
    close_aborts_an_open_transaction,
    init_with_a_timeout_over_the_broker_maximum,
    interleaved_producers_one_aborts,
    compressed_transactions,
);

// ---------------------------------------------------------------------------------------------
// Producer helpers
// ---------------------------------------------------------------------------------------------

/// Runs a call with a bound, so a hang fails the test instead of stalling it.
async fn bounded<T>(what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT + Duration::from_secs(5), call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return"))
}

fn txn_failure(result: Result<(), ProduceError>, what: &str) -> ProduceError {
    match result {
        // The kinds a transactional call fails with (besides Closed and Timeout).
        Err(f) if TXN_KINDS.contains(&f.kind()) => f,
        other => panic!("{what}: expected a transaction failure, got {other:?}"),
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

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

/// Per partition, `(key, value)` in offset order.
type View = BTreeMap<i32, Vec<(String, String)>>;

fn utf8(b: Option<&[u8]>) -> String {
    String::from_utf8(b.expect("not null").to_vec()).expect("utf-8")
}

fn view(records: &[Consumed]) -> View {
    let mut out = View::new();
    for r in records {
        out.entry(r.partition)
            .or_default()
            .push((utf8(r.key.as_deref()), utf8(r.value.as_deref())));
    }
    out
}

/// Reads `topic` with librdkafka and with the Java consumer (same isolation); both must return
/// the same records (offsets, keys, values, headers, timestamps), sorted by partition and offset.
fn read_both(case: &Case, topic: &str, expected: usize, isolation: Isolation) -> Vec<Consumed> {
    let java = JavaHelper::shared()
        .expect("java helper")
        .consume(&case.bootstrap, topic, isolation, expected, WAIT)
        .unwrap_or_else(|e| panic!("java consume {topic} ({isolation:?}): {e}"));
    let rdkafka = read_back(&case.bootstrap, topic, expected, WAIT, isolation)
        .unwrap_or_else(|e| panic!("librdkafka consume {topic} ({isolation:?}): {e}"));
    assert_eq!(
        view(&java),
        view(&rdkafka),
        "{topic} {isolation:?}: the Java consumer and librdkafka disagree"
    );
    assert_eq!(java, rdkafka, "{topic} {isolation:?}: records differ");
    java
}

/// Asserts both consumers see exactly `want` (per partition, in order) under `isolation`.
fn assert_visible(case: &Case, topic: &str, isolation: Isolation, want: &View) {
    let expected = want.values().map(Vec::len).sum();
    let got = read_both(case, topic, expected, isolation);
    let got_view = view(&got);
    let want: View = want
        .iter()
        .filter(|(_, kv)| !kv.is_empty())
        .map(|(p, kv)| (*p, kv.clone()))
        .collect();
    assert_eq!(
        got_view, want,
        "{topic} {isolation:?}: what the consumers see"
    );
}

/// Polls the group's committed offsets until `done` holds or [`WAIT`] passes; returns the last
/// answer. `commit_transaction` returns once the coordinator logged the commit; the offsets
/// become visible when the COMMIT marker reaches the offsets topic, a moment later.
fn wait_committed(
    case: &Case,
    group: &str,
    done: impl Fn(&[CommittedOffset]) -> bool,
) -> Vec<CommittedOffset> {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = committed(case, group);
        if done(&got) || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The group's committed offsets, as the Java Admin client lists them.
fn committed(case: &Case, group: &str) -> Vec<CommittedOffset> {
    JavaHelper::shared()
        .expect("java helper")
        .committed(&case.bootstrap, group)
        .unwrap_or_else(|e| panic!("committed offsets of {group}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The broker's request log
// ---------------------------------------------------------------------------------------------

/// One request the broker completed for a client, from its request log.
#[derive(Debug, Clone)]
struct Logged {
    api_key: i16,
    version: i16,
    /// The whole log line (header, request and response as JSON).
    line: String,
}

impl Logged {
    /// Whether every error code in the response is 0.
    fn succeeded(&self) -> bool {
        let Some(start) = self.line.find("\"response\":{") else {
            return false;
        };
        let response = &self.line[start..];
        response
            .match_indices("\"errorCode\":")
            .all(|(at, pat)| response[at + pat.len()..].starts_with('0'))
    }

    /// An integer field of the request (`"request":{...}`) or response JSON.
    fn field(&self, part: &str, name: &str) -> Option<i64> {
        let start = self.line.find(&format!("\"{part}\":{{"))?;
        json_int(&self.line[start..], name)
    }
}

/// The first `"name":<integer>` in `text`.
fn json_int(text: &str, name: &str) -> Option<i64> {
    let pat = format!("\"{name}\":");
    let at = text.find(&pat)? + pat.len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// Every request of `client_id` the node logged, in completion order.
fn requests_of(case: &Case, client_id: &str) -> Vec<Logged> {
    let log = case.kafka.log_of(1);
    let text =
        std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("read {}: {e}", log.display()));
    let marker = format!("\"clientId\":\"{client_id}\"");
    text.lines()
        .filter(|l| l.contains("Completed request:") && l.contains(&marker))
        .filter_map(|l| {
            Some(Logged {
                api_key: json_int(l, "requestApiKey")? as i16,
                version: json_int(l, "requestApiVersion")? as i16,
                line: l.to_string(),
            })
        })
        .collect()
}

/// Waits (bounded) until the node logged at least `n` requests of `api_key` from `client_id`:
/// a request is logged when its response is sent, which may be just after the client saw it.
fn logged_requests(case: &Case, client_id: &str, api_key: i16, n: usize) -> Vec<Logged> {
    let deadline = Instant::now() + WAIT;
    loop {
        let all = requests_of(case, client_id);
        if all.iter().filter(|r| r.api_key == api_key).count() >= n || Instant::now() >= deadline {
            return all;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(requests: &[Logged], api_key: i16) -> usize {
    requests.iter().filter(|r| r.api_key == api_key).count()
}

fn versions(requests: &[Logged], api_key: i16) -> Vec<i16> {
    requests
        .iter()
        .filter(|r| r.api_key == api_key)
        .map(|r| r.version)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One transaction over three partitions of one topic and two of another: invisible to
/// `read_committed` while open, then every record exactly once, in order, at the offsets the
/// producer reported, for both consumers.
async fn commit_spans_partitions_and_topics(case: Case) {
    const PER_PARTITION: usize = 8;
    let topics = [(case.topic("orders", 3), 3), (case.topic("audit", 2), 2)];
    let txn_id = case.name("txn");
    let p = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init", p.init_transactions())
        .await
        .expect("init_transactions");
    p.begin_transaction().expect("begin");
    let mut expected: BTreeMap<String, View> = BTreeMap::new();
    let mut futures = Vec::new();
    for i in 0..PER_PARTITION {
        for (t, n) in &topics {
            for part in 0..*n {
                let (k, v) = (format!("{t}-{part}-k{i}"), format!("v{i}"));
                futures.push(send(&p, record(t, part, &k, &v)).await);
                expected
                    .entry(t.clone())
                    .or_default()
                    .entry(part)
                    .or_default()
                    .push((k, v));
            }
        }
    }
    let metadata = await_all(futures, WAIT).await;
    // Acknowledged but open: read_committed sees nothing, read_uncommitted everything.
    for (t, _) in &topics {
        assert_visible(&case, t, Isolation::ReadCommitted, &View::new());
        assert_visible(&case, t, Isolation::ReadUncommitted, &expected[t]);
    }
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit_transaction");

    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for md in &metadata {
        let n = next
            .entry((md.topic().to_owned(), md.partition()))
            .or_insert(0);
        assert_eq!(md.offset(), Some(*n), "{md:?}");
        *n += 1;
    }
    for (t, _) in &topics {
        assert_visible(&case, t, Isolation::ReadCommitted, &expected[t]);
        let got = read_both(&case, t, 0, Isolation::ReadCommitted);
        for r in &got {
            assert!(r.offset < PER_PARTITION as i64, "{t}: {r:?}");
        }
    }
    p.close(WAIT).await;
}

/// Aborted transactions interleaved with committed ones in the same partitions: read_committed
/// consumers see only the committed records, in order; read_uncommitted ones see everything.
async fn aborted_records_are_invisible(case: Case) {
    const PARTITIONS: i32 = 2;
    const PER_TXN: usize = 5;
    let topic = case.topic("abort", PARTITIONS as u32);
    let p = case.producer(&case.name("txn"), &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");
    let mut committed_view = View::new();
    let mut all_view = View::new();
    // Abort, commit, abort, abort, commit: every outcome follows another of both kinds.
    let plan = [
        ("a0", false),
        ("c1", true),
        ("a2", false),
        ("a3", false),
        ("c4", true),
    ];
    for (tag, commit) in plan {
        p.begin_transaction().expect("begin");
        let mut futures = Vec::new();
        for i in 0..PER_TXN {
            for part in 0..PARTITIONS {
                let (k, v) = (format!("{tag}-{part}-{i}"), tag.to_string());
                futures.push(send(&p, record(&topic, part, &k, &v)).await);
                all_view
                    .entry(part)
                    .or_default()
                    .push((k.clone(), v.clone()));
                if commit {
                    committed_view.entry(part).or_default().push((k, v));
                }
            }
        }
        // Acknowledged before the transaction ends: the records are in the log either way.
        await_all(futures, WAIT).await;
        if commit {
            bounded("commit", p.commit_transaction())
                .await
                .expect("commit");
        } else {
            bounded("abort", p.abort_transaction())
                .await
                .expect("abort");
        }
    }
    assert_visible(&case, &topic, Isolation::ReadCommitted, &committed_view);
    assert_visible(&case, &topic, Isolation::ReadUncommitted, &all_view);
    p.close(WAIT).await;
}

/// A second producer with the same transactional.id fences the first: the first's next commit
/// fails with `TxnFailureKind::Fatal` (sticky), its record never becomes visible, the second
/// commits.
async fn newer_producer_fences_older_one(case: Case) {
    let topic = case.topic("fence", 1);
    let txn_id = case.name("txn");
    let first = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init 1", first.init_transactions())
        .await
        .expect("init first");
    first.begin_transaction().expect("begin first");
    let before = send(&first, record(&topic, 0, "first-committed", "1")).await;
    bounded("commit 1", first.commit_transaction())
        .await
        .expect("first commits before being fenced");
    await_all(vec![before], WAIT).await;

    let second = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init 2", second.init_transactions())
        .await
        .expect("init second (fences the first)");

    // The zombie: begin is local, send queues, the commit finds out.
    first.begin_transaction().expect("begin is local");
    let zombie = send(&first, record(&topic, 0, "zombie", "z")).await;
    let failure = txn_failure(
        bounded("zombie commit", first.commit_transaction()).await,
        "commit of the fenced producer",
    );
    eprintln!("{}: zombie commit: {failure:?}", case.prefix);
    match case.proto {
        // AddPartitionsToTxn meets the new epoch first: PRODUCER_FENCED, fatal.
        Proto::V0 => assert!(
            matches!(failure.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
            "{failure:?}"
        ),
        // No AddPartitionsToTxn: the Produce v12 is rejected with INVALID_PRODUCER_EPOCH, which
        // Java (KIP-588) treats as abortable, since the producer cannot tell a fence from a
        // stale request; the abort's EndTxn then learns it was fenced (fatal, below).
        Proto::V2 => {
            assert_eq!(
                failure.kind(),
                ErrorKind::TransactionAbortable,
                "{failure:?}"
            );
            assert!(
                failure.to_string().contains("INVALID_PRODUCER_EPOCH"),
                "{failure:?}"
            );
        }
    }
    let zombie_outcome = tokio::time::timeout(WAIT, zombie)
        .await
        .expect("zombie delivery resolves");
    eprintln!("{}: zombie delivery: {zombie_outcome:?}", case.prefix);
    assert!(zombie_outcome.is_err(), "{zombie_outcome:?}");
    // The abort finds out (v2) or the fatal error is sticky (v0).
    let again = txn_failure(
        bounded("abort", first.abort_transaction()).await,
        "abort of the fenced producer",
    );
    assert!(
        matches!(again.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
        "{again:?}"
    );
    match first.begin_transaction() {
        Err(f) if TXN_KINDS.contains(&f.kind()) => {
            assert!(
                matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
                "{f:?}"
            );
        }
        other => panic!("begin of the fenced producer: {other:?}"),
    }

    second.begin_transaction().expect("begin second");
    let after = send(&second, record(&topic, 0, "second-committed", "2")).await;
    bounded("commit 2", second.commit_transaction())
        .await
        .expect("second commits");
    await_all(vec![after], WAIT).await;

    let want: View = [(
        0,
        vec![
            ("first-committed".into(), "1".into()),
            ("second-committed".into(), "2".into()),
        ],
    )]
    .into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let all = read_both(&case, &topic, 2, Isolation::ReadUncommitted);
    assert!(
        all.iter().all(|r| r.key.as_deref() != Some(b"zombie")),
        "the fenced producer's record was written: {:?}",
        view(&all)
    );
    first.close(Duration::from_secs(5)).await;
    second.close(WAIT).await;
}

/// The first producer's transaction is open (its record acknowledged) when a second one with
/// the same transactional.id initializes: Kafka aborts it (the record stays invisible to
/// read_committed), and the first producer's commit fails fatally.
async fn fencing_an_open_transaction(case: Case) {
    let topic = case.topic("fence-open", 1);
    let txn_id = case.name("txn");
    let first = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init 1", first.init_transactions())
        .await
        .expect("init first");
    first.begin_transaction().expect("begin first");
    let open = send(&first, record(&topic, 0, "open", "o")).await;
    await_all(vec![open], WAIT).await;

    let second = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init 2", second.init_transactions())
        .await
        .expect("init second");
    let zombie = txn_failure(
        bounded("zombie commit", first.commit_transaction()).await,
        "commit of the fenced producer",
    );
    eprintln!("{}: zombie commit: {zombie:?}", case.prefix);
    assert!(
        matches!(zombie.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
        "{zombie:?}"
    );
    first.close(Duration::from_secs(5)).await;

    second.begin_transaction().expect("begin second");
    let d = send(&second, record(&topic, 0, "second", "s")).await;
    bounded("commit 2", second.commit_transaction())
        .await
        .expect("second commits");
    await_all(vec![d], WAIT).await;
    let want: View = [(0, vec![("second".into(), "s".into())])].into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let all: View = [(
        0,
        vec![("open".into(), "o".into()), ("second".into(), "s".into())],
    )]
    .into();
    assert_visible(&case, &topic, Isolation::ReadUncommitted, &all);
    second.close(WAIT).await;
}

fn offset(topic: &str, partition: i32, offset: i64, metadata: Option<&str>) -> OffsetToCommit {
    OffsetToCommit {
        topic: topic.into(),
        partition,
        offset,
        leader_epoch: None,
        metadata: metadata.map(Into::into),
    }
}

/// `send_offsets_to_transaction`: the group's offsets appear only once the transaction commits,
/// never for an aborted one; the metadata string is kept.
async fn offsets_commit_with_the_transaction(case: Case) {
    let consumed = case.topic("consumed", 2);
    let produced = case.topic("produced", 1);
    let (aborted_group, group) = (case.name("group-aborted"), case.name("group"));
    let p = case.producer(&case.name("txn"), &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");

    p.begin_transaction().expect("begin aborted");
    let lost = send(&p, record(&produced, 0, "aborted", "a")).await;
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(
            vec![offset(&consumed, 0, 1000, None)],
            GroupMetadata::new(aborted_group.clone()),
        ),
    )
    .await
    .expect("send_offsets_to_transaction (to be aborted)");
    await_all(vec![lost], WAIT).await;
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort");
    assert_eq!(committed(&case, &aborted_group), Vec::new(), "aborted");

    // Offsets alone, aborted: the coordinator knows the transaction (v2: from TxnOffsetCommit
    // v5 alone), so the abort must reach it, or the next transaction would wait on this one.
    p.begin_transaction().expect("begin offsets-only abort");
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(
            vec![offset(&consumed, 1, 2000, None)],
            GroupMetadata::new(aborted_group.clone()),
        ),
    )
    .await
    .expect("send_offsets_to_transaction (offsets only, to be aborted)");
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort offsets only");
    assert_eq!(committed(&case, &aborted_group), Vec::new(), "aborted");

    p.begin_transaction().expect("begin");
    let out = send(&p, record(&produced, 0, "result", "r")).await;
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(
            vec![
                offset(&consumed, 0, 42, Some("m0")),
                offset(&consumed, 1, 7, None),
            ],
            GroupMetadata::new(group.clone()),
        ),
    )
    .await
    .expect("send_offsets_to_transaction");
    await_all(vec![out], WAIT).await;
    assert_eq!(
        committed(&case, &group),
        Vec::new(),
        "pending transactional offsets are not committed yet"
    );
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit");
    let want = vec![
        CommittedOffset {
            topic: consumed.clone(),
            partition: 0,
            offset: 42,
            metadata: Some("m0".into()),
        },
        CommittedOffset {
            topic: consumed.clone(),
            partition: 1,
            offset: 7,
            metadata: Some(String::new()),
        },
    ];
    // A null metadata string is stored as "" by Kafka; accept either spelling for it.
    let normalized = |got: Vec<CommittedOffset>| -> Vec<CommittedOffset> {
        got.into_iter()
            .map(|mut c| {
                if c.metadata.is_none() {
                    c.metadata = Some(String::new());
                }
                c
            })
            .collect()
    };
    let got = wait_committed(&case, &group, |got| normalized(got.to_vec()) == want);
    assert_eq!(normalized(got.clone()), want, "{got:?}");
    assert_eq!(committed(&case, &aborted_group), Vec::new(), "aborted");

    // Offsets alone, no record: the transaction still reaches the coordinator (v2: through
    // TxnOffsetCommit v5 alone), so the commit is real and the group moves.
    p.begin_transaction().expect("begin offsets only");
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(
            vec![offset(&consumed, 0, 43, Some("m1"))],
            GroupMetadata::new(group.clone()),
        ),
    )
    .await
    .expect("send_offsets_to_transaction (offsets only)");
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit offsets only");
    let moved = |got: &[CommittedOffset]| got.first().is_some_and(|c| c.offset == 43);
    let got = wait_committed(&case, &group, moved);
    assert_eq!(
        got.iter()
            .map(|c| (c.partition, c.offset, c.metadata.clone()))
            .collect::<Vec<_>>(),
        vec![(0, 43, Some("m1".into())), (1, 7, got[1].metadata.clone())],
        "{got:?}"
    );
    let want: View = [(0, vec![("result".into(), "r".into())])].into();
    assert_visible(&case, &produced, Isolation::ReadCommitted, &want);
    p.close(WAIT).await;
}

/// What the broker saw, from its request log: on transactions v2 one InitProducerId for any
/// number of transactions, no AddPartitionsToTxn or AddOffsetsToTxn, Produce v12+, and every
/// EndTxn (v5+) returns the epoch bumped by one, which the next transaction uses; on the classic
/// protocol AddPartitionsToTxn and AddOffsetsToTxn, Produce ≤ v11, EndTxn ≤ v4, one epoch.
async fn protocol_seen_by_the_broker(case: Case) {
    const TXNS: usize = 4;
    let topic = case.topic("proto", 2);
    let consumed = case.topic("proto-in", 1);
    let group = case.name("group");
    let txn_id = case.name("txn");
    let p = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");
    let mut want = View::new();
    for t in 0..TXNS {
        p.begin_transaction().expect("begin");
        // Transaction 1 sends offsets after its records, transaction 2 before them.
        let offsets = |t: usize| {
            bounded(
                "send_offsets",
                p.send_offsets_to_transaction(
                    vec![offset(&consumed, 0, 5 + t as i64, None)],
                    GroupMetadata::new(group.clone()),
                ),
            )
        };
        if t == 2 {
            offsets(t).await.expect("send_offsets_to_transaction");
        }
        let mut futures = Vec::new();
        for part in 0..2 {
            let (k, v) = (format!("t{t}-{part}"), format!("v{t}"));
            futures.push(send(&p, record(&topic, part, &k, &v)).await);
            want.entry(part).or_default().push((k, v));
        }
        if t == 1 {
            offsets(t).await.expect("send_offsets_to_transaction");
        }
        await_all(futures, WAIT).await;
        bounded("commit", p.commit_transaction())
            .await
            .expect("commit");
    }
    p.close(WAIT).await;
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let got = wait_committed(&case, &group, |got| {
        got.first().is_some_and(|c| c.offset == 7)
    });
    assert_eq!(
        got.iter()
            .map(|c| (c.partition, c.offset))
            .collect::<Vec<_>>(),
        [(0, 7)],
        "{got:?}"
    );

    let requests = logged_requests(&case, &txn_id, API_END_TXN, TXNS);
    let summary: Vec<(i16, i16)> = requests
        .iter()
        .filter(|r| r.api_key != 3 && r.api_key != 18 && r.api_key != 10)
        .map(|r| (r.api_key, r.version))
        .collect();
    eprintln!(
        "{}: (api key, version) the broker logged: {summary:?}",
        case.prefix
    );
    // Retried requests (CONCURRENT_TRANSACTIONS while the previous transaction completes,
    // COORDINATOR_LOAD_IN_PROGRESS on a fresh node) are logged too; count the successful ones.
    for r in requests.iter().filter(|r| !r.succeeded()) {
        eprintln!("{}: retried: {}", case.prefix, r.line);
    }
    let requests: Vec<Logged> = requests.into_iter().filter(Logged::succeeded).collect();
    assert_eq!(count(&requests, API_INIT_PRODUCER_ID), 1, "{summary:?}");
    assert_eq!(count(&requests, API_END_TXN), TXNS, "{summary:?}");
    assert_eq!(count(&requests, API_TXN_OFFSET_COMMIT), 2, "{summary:?}");
    let produce = versions(&requests, API_PRODUCE);
    assert!(produce.len() >= TXNS, "{summary:?}");
    let end_txns: Vec<&Logged> = requests
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .collect();
    let epochs: Vec<(Option<i64>, Option<i64>)> = end_txns
        .iter()
        .map(|r| {
            (
                r.field("request", "producerEpoch"),
                r.field("response", "producerEpoch"),
            )
        })
        .collect();
    eprintln!(
        "{}: EndTxn (request epoch, response epoch): {epochs:?}",
        case.prefix
    );
    for r in &end_txns {
        assert_eq!(r.field("response", "errorCode"), Some(0), "{}", r.line);
    }
    let first = epochs[0].0.expect("EndTxn request epoch");
    match case.proto {
        Proto::V2 => {
            assert_eq!(
                count(&requests, API_ADD_PARTITIONS_TO_TXN),
                0,
                "{summary:?}"
            );
            assert_eq!(count(&requests, API_ADD_OFFSETS_TO_TXN), 0, "{summary:?}");
            assert!(produce.iter().all(|&v| v >= 12), "{summary:?}");
            assert!(
                versions(&requests, API_END_TXN).iter().all(|&v| v >= 5),
                "{summary:?}"
            );
            assert!(
                versions(&requests, API_TXN_OFFSET_COMMIT)
                    .iter()
                    .all(|&v| v >= 5),
                "{summary:?}"
            );
            // Each EndTxn returns the next epoch, and the next transaction ends with it.
            for (i, (sent, returned)) in epochs.iter().enumerate() {
                let i = i as i64;
                assert_eq!(*sent, Some(first + i), "{epochs:?}");
                assert_eq!(*returned, Some(first + i + 1), "{epochs:?}");
            }
        }
        Proto::V0 => {
            assert!(
                count(&requests, API_ADD_PARTITIONS_TO_TXN) >= TXNS,
                "{summary:?}"
            );
            assert_eq!(count(&requests, API_ADD_OFFSETS_TO_TXN), 2, "{summary:?}");
            assert!(produce.iter().all(|&v| v <= 11), "{summary:?}");
            assert!(
                versions(&requests, API_END_TXN).iter().all(|&v| v <= 4),
                "{summary:?}"
            );
            assert!(
                epochs.iter().all(|(sent, _)| *sent == Some(first)),
                "{epochs:?}"
            );
        }
    }
}

/// Calls in the wrong state fail at once with `InvalidState` / `NotTransactional`, and leave the
/// producer usable.
async fn calls_in_the_wrong_state_fail_at_once(case: Case) {
    let topic = case.topic("state", 1);
    let plain = Producer::new(
        ProducerConfig::from_properties([("bootstrap.servers", case.bootstrap.as_str())])
            .expect("config"),
    )
    .expect("producer");
    let f = txn_failure(
        plain.init_transactions().await,
        "init without transactional.id",
    );
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    match plain.begin_transaction() {
        Err(f) if TXN_KINDS.contains(&f.kind()) => {
            assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
        }
        other => panic!("begin without transactional.id: {other:?}"),
    }
    let f = txn_failure(
        plain.commit_transaction().await,
        "commit without transactional.id",
    );
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    let d = send(&plain, record(&topic, 0, "plain", "p")).await;
    await_all(vec![d], WAIT).await;
    plain.close(WAIT).await;

    let p = case.producer(&case.name("txn"), &[("linger.ms", "5")]);
    let invalid = |r: Result<(), ProduceError>, what: &str, call: &str| {
        let f = txn_failure(r, what);
        assert_eq!(f.kind(), ErrorKind::InvalidState, "{what}: {f:?}");
        assert!(f.to_string().contains(call), "{what}: {f:?}");
    };
    invalid(p.begin_transaction(), "begin before init", "begin");
    invalid(p.commit_transaction().await, "commit before init", "commit");
    invalid(p.abort_transaction().await, "abort before init", "abort");
    bounded("init", p.init_transactions()).await.expect("init");
    invalid(
        bounded("init twice", p.init_transactions()).await,
        "init twice",
        "init",
    );
    invalid(
        p.commit_transaction().await,
        "commit without begin",
        "commit",
    );
    invalid(p.abort_transaction().await, "abort without begin", "abort");
    invalid(
        p.send_offsets_to_transaction(vec![offset(&topic, 0, 1, None)], GroupMetadata::new("g"))
            .await,
        "send_offsets without begin",
        "send_offsets",
    );
    match p.send(record(&topic, 0, "outside", "o")).await {
        Err(e) if e.kind() == ErrorKind::InvalidState => {
            let message = e.to_string();
            assert!(message.contains("send"), "{message}");
        }
        Err(other) => panic!("send without begin: expected an invalid state, got {other:?}"),
        Ok(_) => panic!("send without begin was queued"),
    }
    p.begin_transaction().expect("begin");
    invalid(p.begin_transaction(), "begin twice", "begin");
    let d = send(&p, record(&topic, 0, "inside", "i")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit");
    await_all(vec![d], WAIT).await;
    let want: View = [(
        0,
        vec![("plain".into(), "p".into()), ("inside".into(), "i".into())],
    )]
    .into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    p.close(WAIT).await;
}

/// Several transactions in a row (keyed records, several batches each, one commit called twice
/// at once): every record once, in per-partition send order, at the offsets the producer
/// reported.
async fn transactions_in_a_row(case: Case) {
    const TXNS: usize = 4;
    const PER_TXN: usize = 40;
    let topic = case.topic("row", 3);
    let p = case.producer(
        &case.name("txn"),
        &[("linger.ms", "5"), ("batch.size", "1024")],
    );
    bounded("init", p.init_transactions()).await.expect("init");
    let mut sent = View::new();
    let mut offsets: BTreeMap<String, (i32, i64)> = BTreeMap::new();
    for t in 0..TXNS {
        p.begin_transaction().expect("begin");
        let mut futures = Vec::new();
        for i in 0..PER_TXN {
            let key = format!("t{t}-r{i}");
            let value = format!("{key}-{}", "v".repeat(i % 30));
            let f = p
                .send(
                    ProducerRecord::new(topic.as_str())
                        .with_key(key.clone())
                        .with_value(value.clone()),
                )
                .await
                .expect("send");
            futures.push((key, value, f));
        }
        if t == 0 {
            let other = p.clone();
            let (a, b) = tokio::join!(
                bounded("commit", p.commit_transaction()),
                bounded("commit (clone)", other.commit_transaction())
            );
            a.expect("commit");
            b.expect("concurrent commit");
        } else {
            bounded("commit", p.commit_transaction())
                .await
                .expect("commit");
        }
        for (key, value, mut f) in futures {
            let md = poll_now(&mut f)
                .expect("resolved by the commit")
                .expect("delivered");
            sent.entry(md.partition())
                .or_default()
                .push((key.clone(), value));
            offsets.insert(key, (md.partition(), md.offset().expect("offset")));
        }
    }
    assert_visible(&case, &topic, Isolation::ReadCommitted, &sent);
    let got = read_both(&case, &topic, TXNS * PER_TXN, Isolation::ReadCommitted);
    for r in &got {
        let key = utf8(r.key.as_deref());
        assert_eq!(offsets.get(&key), Some(&(r.partition, r.offset)), "{key}");
    }
    p.close(WAIT).await;
}

/// Abort right after a burst of sends (no linger): every future resolves, delivered or
/// `TransactionAborted`; none of the burst is visible to read_committed, the delivered ones are
/// to read_uncommitted; the next transaction commits.
async fn abort_with_records_in_flight(case: Case) {
    const BURST: usize = 400;
    let topic = case.topic("race", 3);
    let p = case.producer(
        &case.name("txn"),
        &[("linger.ms", "0"), ("batch.size", "512")],
    );
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    let first = send(&p, record(&topic, 0, "first", "f")).await;
    futures.push((0, "first".to_string(), "f", first));
    let (_, _, _, first) = futures.last_mut().expect("a future");
    tokio::time::timeout(WAIT, first)
        .await
        .expect("first delivery")
        .expect("first delivered");
    for i in 0..BURST {
        let part = (i % 3) as i32;
        let key = format!("burst-{i}");
        let f = send(&p, record(&topic, part, &key, "b")).await;
        futures.push((part, key, "b", f));
    }
    // A quarter of the burst acknowledged: the rest is in flight or queued when the abort comes.
    let (_, _, _, quarter) = &mut futures[BURST / 4];
    tokio::time::timeout(WAIT, quarter)
        .await
        .expect("a burst delivery")
        .expect("burst record delivered");
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort_transaction");
    let mut delivered = View::new();
    let mut aborted = 0;
    for (part, key, value, mut f) in futures {
        match poll_now(&mut f) {
            Some(Ok(md)) => {
                assert_eq!(md.partition(), part);
                delivered.entry(part).or_default().push((key, value.into()));
            }
            Some(Err(e)) if e.kind() == ErrorKind::TransactionAborted => aborted += 1,
            other => panic!("{key}: {other:?} after abort_transaction returned"),
        }
    }
    let n: usize = delivered.values().map(Vec::len).sum();
    eprintln!(
        "{}: {n} delivered before the abort, {aborted} failed unsent",
        case.prefix
    );
    assert_eq!(n + aborted, BURST + 1);
    assert!(n > BURST / 4 / 3, "delivered before the abort: {n}");

    p.begin_transaction().expect("begin after abort");
    let after = send(&p, record(&topic, 1, "after", "a")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit after abort");
    await_all(vec![after], WAIT).await;
    let want: View = [(1, vec![("after".into(), "a".into())])].into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let mut all = delivered;
    all.entry(1).or_default().push(("after".into(), "a".into()));
    assert_visible(&case, &topic, Isolation::ReadUncommitted, &all);
    p.close(WAIT).await;
}

/// Begin then commit, and begin then abort, with nothing sent: both succeed without an EndTxn
/// (Kafka would answer INVALID_TXN_STATE for a transaction it never saw), and the producer goes
/// on.
async fn empty_transactions_complete(case: Case) {
    let topic = case.topic("empty", 1);
    let txn_id = case.name("txn");
    let p = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin 1");
    bounded("commit", p.commit_transaction())
        .await
        .expect("empty commit");
    p.begin_transaction().expect("begin 2");
    bounded("abort", p.abort_transaction())
        .await
        .expect("empty abort");
    p.begin_transaction().expect("begin 3");
    let d = send(&p, record(&topic, 0, "k", "v")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit");
    await_all(vec![d], WAIT).await;
    p.begin_transaction().expect("begin 4");
    bounded("commit", p.commit_transaction())
        .await
        .expect("empty commit after a real one");
    p.close(WAIT).await;
    let want: View = [(0, vec![("k".into(), "v".into())])].into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let requests = logged_requests(&case, &txn_id, API_END_TXN, 1);
    let end_txns: Vec<&Logged> = requests
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .collect();
    assert_eq!(
        end_txns.len(),
        1,
        "one EndTxn, for the transaction with data"
    );
    assert_eq!(end_txns[0].field("response", "errorCode"), Some(0));
}

/// A record the broker refuses (over the topic's `max.message.bytes`) makes the transaction
/// abortable: the commit fails with `Abortable`, the other records of the transaction are not
/// visible, `abort_transaction` succeeds, and the next transaction commits with the same
/// producer (classic: an epoch bump through InitProducerId, KIP-360; v2: EndTxn's new epoch).
async fn abortable_error_then_next_transaction(case: Case) {
    let topic = case.name("too-large");
    case.kafka
        .create_topic(&topic, 2, 1, &[("max.message.bytes", "2000")])
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    let txn_id = case.name("txn");
    let p = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");

    p.begin_transaction().expect("begin");
    let ok = send(&p, record(&topic, 0, "lost", "l")).await;
    await_all(vec![ok], WAIT).await;
    let big = send(&p, record(&topic, 1, "big", &"x".repeat(10_000))).await;
    let refused = tokio::time::timeout(WAIT, big)
        .await
        .expect("the big record resolves");
    eprintln!("{}: big record: {refused:?}", case.prefix);
    assert!(refused.is_err(), "{refused:?}");
    let failure = txn_failure(
        bounded("commit", p.commit_transaction()).await,
        "commit after a refused record",
    );
    eprintln!("{}: commit: {failure:?}", case.prefix);
    assert_eq!(
        failure.kind(),
        ErrorKind::TransactionAbortable,
        "{failure:?}"
    );
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort after an abortable error");

    // A transaction whose only record is refused: the broker never added a partition to it
    // (the size check comes first), and the abort still completes.
    p.begin_transaction().expect("begin");
    let big = send(&p, record(&topic, 0, "big-alone", &"x".repeat(10_000))).await;
    let refused = tokio::time::timeout(WAIT, big)
        .await
        .expect("the big record resolves");
    assert!(refused.is_err(), "{refused:?}");
    let failure = txn_failure(
        bounded("commit", p.commit_transaction()).await,
        "commit after a refused only record",
    );
    assert_eq!(
        failure.kind(),
        ErrorKind::TransactionAbortable,
        "{failure:?}"
    );
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort of a transaction whose only record was refused");

    for t in 0..2 {
        p.begin_transaction().expect("begin after abort");
        let d = send(&p, record(&topic, t, &format!("kept-{t}"), "k")).await;
        bounded("commit", p.commit_transaction())
            .await
            .expect("commit after abort");
        await_all(vec![d], WAIT).await;
    }
    p.close(WAIT).await;
    let want: View = [
        (0, vec![("kept-0".into(), "k".into())]),
        (1, vec![("kept-1".into(), "k".into())]),
    ]
    .into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);

    let requests = logged_requests(&case, &txn_id, API_END_TXN, 4);
    let summary: Vec<(i16, i16)> = requests
        .iter()
        .filter(|r| ![3, 10, 18].contains(&r.api_key))
        .map(|r| (r.api_key, r.version))
        .collect();
    eprintln!("{}: requests: {summary:?}", case.prefix);
    let ok: Vec<Logged> = requests.into_iter().filter(Logged::succeeded).collect();
    let inits = count(&ok, API_INIT_PRODUCER_ID);
    match case.proto {
        // KIP-360: each abort after a Produce error is followed by an epoch bump.
        Proto::V0 => assert_eq!(inits, 3, "{summary:?}"),
        // KIP-890: EndTxn(abort) returns the next epoch; no InitProducerId.
        Proto::V2 => assert_eq!(inits, 1, "{summary:?}"),
    }
}

/// Waits (bounded) until the node logged a WriteTxnMarkers request writing an ABORT marker to
/// `topic`: the coordinator aborted a transaction on it.
fn wait_for_abort_marker(case: &Case, topic: &str) {
    let log = case.kafka.log_of(1);
    let deadline = Instant::now() + WAIT;
    let name = format!("\"name\":\"{topic}\"");
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().any(|l| {
            l.contains("\"requestApiKeyName\":\"WRITE_TXN_MARKERS\"")
                && l.contains("\"transactionResult\":false")
                && l.contains(&name)
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no ABORT marker for {topic} within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The coordinator aborts a transaction open longer than `transaction.timeout.ms` (and bumps
/// the epoch): the producer's next record and its commit fail (abortable, INVALID_PRODUCER_EPOCH);
/// on v2 `abort_transaction` recovers and the same producer commits the next transaction, on the
/// classic protocol the abort finds the producer fenced (as Java) and a new instance commits.
async fn coordinator_aborts_a_timed_out_transaction(case: Case) {
    let topic = case.topic("timeout", 1);
    let txn_id = case.name("txn");
    let p = case.producer(
        &txn_id,
        &[("linger.ms", "5"), ("transaction.timeout.ms", "1000")],
    );
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin");
    let d = send(&p, record(&topic, 0, "timed-out", "t")).await;
    await_all(vec![d], WAIT).await;
    wait_for_abort_marker(&case, &topic);

    let late = send(&p, record(&topic, 0, "late", "l")).await;
    let late = tokio::time::timeout(WAIT, late)
        .await
        .expect("the late record resolves");
    eprintln!("{}: record after the timeout: {late:?}", case.prefix);
    let commit = bounded("commit", p.commit_transaction()).await;
    eprintln!("{}: commit after the timeout: {commit:?}", case.prefix);
    let abort = bounded("abort", p.abort_transaction()).await;
    eprintln!("{}: abort after the timeout: {abort:?}", case.prefix);
    assert!(late.is_err(), "{late:?}");
    let failure = txn_failure(commit, "commit after the timeout");
    assert_eq!(
        failure.kind(),
        ErrorKind::TransactionAbortable,
        "{failure:?}"
    );
    let p = match case.proto {
        // KIP-890: the coordinator accepts EndTxn(abort) from the epoch it bumped past, and the
        // same producer goes on.
        Proto::V2 => {
            abort.expect("abort after the coordinator's timeout abort");
            p
        }
        // Classic protocol: EndTxn with the pre-timeout epoch is answered PRODUCER_FENCED, fatal
        // in Java too (its EndTxnHandler); a new instance takes over.
        Proto::V0 => {
            let f = txn_failure(abort, "abort after the timeout");
            assert!(
                matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
                "{f:?}"
            );
            assert!(f.to_string().contains("PRODUCER_FENCED"), "{f:?}");
            p.close(Duration::from_secs(5)).await;
            let p = case.producer(&txn_id, &[("linger.ms", "5")]);
            bounded("init again", p.init_transactions())
                .await
                .expect("init again");
            p
        }
    };

    p.begin_transaction().expect("begin after abort");
    let d = send(&p, record(&topic, 0, "next", "n")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit after abort");
    await_all(vec![d], WAIT).await;
    p.close(WAIT).await;
    let want: View = [(0, vec![("next".into(), "n".into())])].into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let requests = requests_of(&case, &txn_id);
    let summary: Vec<(i16, i16, bool)> = requests
        .iter()
        .filter(|r| ![3, 10, 18].contains(&r.api_key))
        .map(|r| (r.api_key, r.version, r.succeeded()))
        .collect();
    eprintln!("{}: requests (key, version, ok): {summary:?}", case.prefix);
}

/// Closing a producer with an open transaction aborts it (EndTxn(abort), as Java's close): its
/// records stay invisible, and the next instance's init finds nothing to abort.
async fn close_aborts_an_open_transaction(case: Case) {
    let topic = case.topic("close", 2);
    let txn_id = case.name("txn");
    let p = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    for part in 0..2 {
        futures.push(send(&p, record(&topic, part, &format!("open-{part}"), "o")).await);
    }
    await_all(futures, WAIT).await;
    bounded("close", p.close(WAIT)).await;

    let requests = logged_requests(&case, &txn_id, API_END_TXN, 1);
    let end_txns: Vec<&Logged> = requests
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .collect();
    assert_eq!(end_txns.len(), 1, "EndTxn at close");
    let end = end_txns[0];
    assert!(end.line.contains("\"committed\":false"), "{}", end.line);
    assert!(end.succeeded(), "{}", end.line);

    let next = case.producer(&txn_id, &[("linger.ms", "5")]);
    bounded("init next", next.init_transactions())
        .await
        .expect("init next");
    next.begin_transaction().expect("begin next");
    let d = send(&next, record(&topic, 1, "next", "n")).await;
    bounded("commit next", next.commit_transaction())
        .await
        .expect("commit next");
    await_all(vec![d], WAIT).await;
    next.close(WAIT).await;
    let want: View = [(1, vec![("next".into(), "n".into())])].into();
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let all: View = [
        (0, vec![("open-0".into(), "o".into())]),
        (
            1,
            vec![("open-1".into(), "o".into()), ("next".into(), "n".into())],
        ),
    ]
    .into();
    assert_visible(&case, &topic, Isolation::ReadUncommitted, &all);
}

/// `transaction.timeout.ms` above the broker's `transaction.max.timeout.ms` (15 min by default):
/// InitProducerId is answered INVALID_TRANSACTION_TIMEOUT, which is fatal (as Java), and the
/// call returns instead of retrying until `max.block.ms`.
async fn init_with_a_timeout_over_the_broker_maximum(case: Case) {
    let p = case.producer(
        &case.name("txn"),
        &[
            ("transaction.timeout.ms", "1000000"),
            ("max.block.ms", "50000"),
        ],
    );
    let f = txn_failure(
        bounded("init", p.init_transactions()).await,
        "init with a timeout over the broker maximum",
    );
    eprintln!("{}: init: {f:?}", case.prefix);
    assert!(
        matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
        "{f:?}"
    );
    assert!(
        f.to_string().contains("INVALID_TRANSACTION_TIMEOUT"),
        "{f:?}"
    );
    match p.begin_transaction() {
        Err(f) if TXN_KINDS.contains(&f.kind()) => {
            assert!(
                matches!(f.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
                "{f:?}"
            );
        }
        other => panic!("begin after a fatal init: {other:?}"),
    }
    p.close(Duration::from_secs(5)).await;
}

/// Two transactional producers interleave their records in the same partitions; one aborts,
/// the other commits: read_committed consumers skip exactly the aborted producer's records.
async fn interleaved_producers_one_aborts(case: Case) {
    const ROUNDS: usize = 6;
    let topic = case.topic("interleaved", 2);
    let a = case.producer(&case.name("txn-a"), &[("linger.ms", "0")]);
    let b = case.producer(&case.name("txn-b"), &[("linger.ms", "0")]);
    bounded("init a", a.init_transactions())
        .await
        .expect("init a");
    bounded("init b", b.init_transactions())
        .await
        .expect("init b");
    a.begin_transaction().expect("begin a");
    b.begin_transaction().expect("begin b");
    let mut kept = View::new();
    let mut all = View::new();
    for i in 0..ROUNDS {
        for part in 0..2 {
            // Each record acknowledged before the next: a strict interleaving in the log.
            for (p, tag) in [(&a, "a"), (&b, "b")] {
                let (k, v) = (format!("{tag}-{part}-{i}"), tag.to_string());
                let d = send(p, record(&topic, part, &k, &v)).await;
                await_all(vec![d], WAIT).await;
                all.entry(part).or_default().push((k.clone(), v.clone()));
                if tag == "b" {
                    kept.entry(part).or_default().push((k, v));
                }
            }
        }
    }
    bounded("abort a", a.abort_transaction())
        .await
        .expect("abort a");
    bounded("commit b", b.commit_transaction())
        .await
        .expect("commit b");
    a.close(WAIT).await;
    b.close(WAIT).await;
    assert_visible(&case, &topic, Isolation::ReadCommitted, &kept);
    assert_visible(&case, &topic, Isolation::ReadUncommitted, &all);
}

/// Every compression codec in a transaction: one committed and one aborted transaction each,
/// several records per batch; the consumers decompress the committed ones and skip the others.
/// zstd is read by the Java consumer only: the harness's librdkafka is built without zstd.
async fn compressed_transactions(case: Case) {
    const PER_TXN: usize = 12;
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let topic = case.topic(&format!("compressed-{codec}"), 1);
        let mut want = View::new();
        let mut all = View::new();
        let p = case.producer(
            &case.name(&format!("txn-{codec}")),
            &[("linger.ms", "50"), ("compression.type", codec)],
        );
        bounded("init", p.init_transactions()).await.expect("init");
        for commit in [false, true] {
            p.begin_transaction().expect("begin");
            let mut futures = Vec::new();
            for i in 0..PER_TXN {
                let k = format!("{codec}-{commit}-{i}");
                let v = format!("{codec} {}", "payload ".repeat(i + 1));
                futures.push(send(&p, record(&topic, 0, &k, &v)).await);
                all.entry(0).or_default().push((k.clone(), v.clone()));
                if commit {
                    want.entry(0).or_default().push((k, v));
                }
            }
            await_all(futures, WAIT).await;
            if commit {
                bounded("commit", p.commit_transaction())
                    .await
                    .expect("commit");
            } else {
                bounded("abort", p.abort_transaction())
                    .await
                    .expect("abort");
            }
        }
        p.close(WAIT).await;
        if codec == "zstd" {
            for (isolation, want) in [
                (Isolation::ReadCommitted, &want),
                (Isolation::ReadUncommitted, &all),
            ] {
                let got = JavaHelper::shared()
                    .expect("java helper")
                    .consume(&case.bootstrap, &topic, isolation, PER_TXN, WAIT)
                    .unwrap_or_else(|e| panic!("java consume {topic} ({isolation:?}): {e}"));
                assert_eq!(&view(&got), want, "{topic} {isolation:?}");
            }
        } else {
            assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
            assert_visible(&case, &topic, Isolation::ReadUncommitted, &all);
        }
    }
}
