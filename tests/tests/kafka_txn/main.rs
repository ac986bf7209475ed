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

mod commit;
mod errors;
mod fencing;
mod offsets;
mod protocol;

use std::future::Future;
use std::time::{Duration, Instant};

use ferrokafka::{Producer, ProducerConfig};
use ferrokafka_tests::consume::{Consumed, Isolation, read_back};
use ferrokafka_tests::kafka::{CommittedOffset, JavaHelper, KafkaCluster, Shared, shared};
use ferrokafka_tests::producing::runtime;
use ferrokafka_tests::txn::{View, call, init, view};

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

    /// [`Case::producer`], once `init_transactions` succeeded.
    async fn ready(&self, txn_id: &str, extra: &[(&str, &str)]) -> Producer {
        let p = self.producer(txn_id, extra);
        init(&p, WAIT).await;
        p
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
    runtime().block_on(body(case));
}

/// Two tests per case: `<case>::tv0` and `<case>::tv2`.
macro_rules! on_both_protocols {
    ($($module:ident::$case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn tv0() {
                super::run(super::Proto::V0, stringify!($case), super::$module::$case);
            }
            #[test]
            fn tv2() {
                super::run(super::Proto::V2, stringify!($case), super::$module::$case);
            }
        }
    )*};
}

on_both_protocols!(
    commit::commit_spans_partitions_and_topics,
    commit::aborted_records_are_invisible,
    fencing::newer_producer_fences_older_one,
    fencing::fencing_an_open_transaction,
    offsets::offsets_commit_with_the_transaction,
    protocol::protocol_seen_by_the_broker,
    errors::calls_in_the_wrong_state_fail_at_once,
    commit::transactions_in_a_row,
    errors::abort_with_records_in_flight,
    protocol::empty_transactions_complete,
    errors::abortable_error_then_next_transaction,
    fencing::coordinator_aborts_a_timed_out_transaction,
    protocol::close_aborts_an_open_transaction,
    fencing::init_with_a_timeout_over_the_broker_maximum,
    commit::interleaved_producers_one_aborts,
    commit::compressed_transactions,
);

/// Runs a transactional call with a bound, so a hang fails the test instead of stalling it.
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    call(WAIT, what, fut).await
}

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

/// Reads `topic` with the Java consumer only (it reads zstd, which this librdkafka cannot).
fn read_java(case: &Case, topic: &str, expected: usize, isolation: Isolation) -> Vec<Consumed> {
    JavaHelper::shared()
        .expect("java helper")
        .consume(&case.bootstrap, topic, isolation, expected, WAIT)
        .unwrap_or_else(|e| panic!("java consume {topic} ({isolation:?}): {e}"))
}

/// Reads `topic` with librdkafka and with the Java consumer (same isolation); both must return
/// the same records (offsets, keys, values, headers, timestamps), sorted by partition and offset.
fn read_both(case: &Case, topic: &str, expected: usize, isolation: Isolation) -> Vec<Consumed> {
    let java = read_java(case, topic, expected, isolation);
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
    let want: View = want
        .iter()
        .filter(|(_, kv)| !kv.is_empty())
        .map(|(p, kv)| (*p, kv.clone()))
        .collect();
    assert_eq!(
        view(&got),
        want,
        "{topic} {isolation:?}: what the consumers see"
    );
}

/// Both consumers see `committed` with read_committed and `all` with read_uncommitted.
fn assert_visible_both(case: &Case, topic: &str, committed: &View, all: &View) {
    assert_visible(case, topic, Isolation::ReadCommitted, committed);
    assert_visible(case, topic, Isolation::ReadUncommitted, all);
}

/// Calls `fetch` every 100 ms until `done` holds of its answer or [`WAIT`] passes; returns the
/// last answer (the caller asserts on it, naming what it waited for).
fn poll_until<T>(mut fetch: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = fetch();
        if done(&got) || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls the group's committed offsets until `done` holds or [`WAIT`] passes; returns the last
/// answer. `commit_transaction` returns once the coordinator logged the commit; the offsets
/// become visible when the COMMIT marker reaches the offsets topic, a moment later.
fn wait_committed(
    case: &Case,
    group: &str,
    done: impl Fn(&[CommittedOffset]) -> bool,
) -> Vec<CommittedOffset> {
    poll_until(|| committed(case, group), |got| done(got))
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

/// The node's log (the request log is in it), as it is now.
fn node_log(case: &Case) -> String {
    let log = case.kafka.log_of(1);
    std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("read {}: {e}", log.display()))
}

/// Every request of `client_id` the node logged, in completion order.
fn requests_of(case: &Case, client_id: &str) -> Vec<Logged> {
    let text = node_log(case);
    let marker = format!("\"clientId\":\"{client_id}\"");
    text.lines()
        .filter(|l| l.contains("Completed request:") && l.contains(&marker))
        .filter_map(|l| {
            Some(Logged {
                api_key: i16::try_from(json_int(l, "requestApiKey")?).ok()?,
                version: i16::try_from(json_int(l, "requestApiVersion")?).ok()?,
                line: l.to_string(),
            })
        })
        .collect()
}

/// Waits (bounded) until the node logged at least `n` requests of `api_key` from `client_id`:
/// a request is logged when its response is sent, which may be just after the client saw it.
fn logged_requests(case: &Case, client_id: &str, api_key: i16, n: usize) -> Vec<Logged> {
    poll_until(
        || requests_of(case, client_id),
        |all| count(all, api_key) >= n,
    )
}

fn count(requests: &[Logged], api_key: i16) -> usize {
    requests.iter().filter(|r| r.api_key == api_key).count()
}

fn versions(requests: &[Logged], api_key: i16) -> Vec<i16> {
    of_api(requests, api_key).map(|r| r.version).collect()
}

/// The requests of one API.
fn of_api(requests: &[Logged], api_key: i16) -> impl Iterator<Item = &Logged> {
    requests.iter().filter(move |r| r.api_key == api_key)
}

/// `(api key, version)` of every request but the routine ones (Metadata, FindCoordinator,
/// ApiVersions), for the test's output and failure messages.
fn summary(requests: &[Logged]) -> Vec<(i16, i16)> {
    requests
        .iter()
        .filter(|r| ![3, 10, 18].contains(&r.api_key))
        .map(|r| (r.api_key, r.version))
        .collect()
}

/// Waits (bounded) until the node logged a WriteTxnMarkers request writing an ABORT marker to
/// `topic`: the coordinator aborted a transaction on it.
fn wait_for_abort_marker(case: &Case, topic: &str) {
    let name = format!("\"name\":\"{topic}\"");
    let marked = |text: &String| {
        text.lines().any(|l| {
            l.contains("\"requestApiKeyName\":\"WRITE_TXN_MARKERS\"")
                && l.contains("\"transactionResult\":false")
                && l.contains(&name)
        })
    };
    let log = case.kafka.log_of(1);
    let text = poll_until(|| std::fs::read_to_string(&log).unwrap_or_default(), marked);
    assert!(marked(&text), "no ABORT marker for {topic} within {WAIT:?}");
}
