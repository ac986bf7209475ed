//! Transactional steps the live transaction suites share (librdkafka's mock cluster, Tansu,
//! Apache Kafka): what a failed transactional call reports, checks of fatal failures, the
//! per-partition view of what a consumer read, and scenario bodies whose producer side is the
//! same on every broker (each suite verifies the broker's side itself).

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka::{
    DeliveryFuture, ErrorKind, GroupMetadata, OffsetToCommit, ProduceError, Producer,
    ProducerRecord, RecordMetadata,
};

use crate::consumed::Consumed;
use crate::producing::{await_all, record, send, within};
use crate::wait::{poll_now, ready_now};

/// What a failed transactional call reports (Java: abortable, fatal or fenced, illegal state).
pub const TXN_KINDS: [ErrorKind; 6] = [
    ErrorKind::TransactionAbortable,
    ErrorKind::TransactionAborted,
    ErrorKind::Fatal,
    ErrorKind::ProducerFenced,
    ErrorKind::InvalidState,
    ErrorKind::NotTransactional,
];

/// The failure of a transactional call, which must be one of [`TXN_KINDS`] (not `Closed`, not
/// `Timeout`).
///
/// # Panics
/// If the call succeeded or failed with another kind.
pub fn txn_failure(result: Result<(), ProduceError>, what: &str) -> ProduceError {
    match result {
        Err(f) if TXN_KINDS.contains(&f.kind()) => f,
        other => panic!("{what}: expected a transaction failure, got {other:?}"),
    }
}

/// Whether `kind` is a fatal transactional state (`Fatal`, or its `ProducerFenced` form).
#[must_use]
pub fn is_fatal(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Fatal | ErrorKind::ProducerFenced)
}

/// The failure of a transactional call, which must be fatal ([`is_fatal`]).
///
/// # Panics
/// If the call succeeded or its failure is not fatal.
pub fn fatal_failure(result: Result<(), ProduceError>, what: &str) -> ProduceError {
    let f = txn_failure(result, what);
    assert!(
        is_fatal(f.kind()),
        "{what}: expected a fatal failure: {f:?}"
    );
    f
}

/// `begin_transaction` on `p` fails fatally (a fatal state is sticky).
///
/// # Panics
/// If `begin_transaction` succeeds or fails otherwise.
pub fn assert_begin_fatal(p: &Producer, what: &str) {
    fatal_failure(p.begin_transaction(), what);
}

/// Per partition, `(key, value)` in offset order.
pub type View = BTreeMap<i32, Vec<(String, String)>>;

/// A non-null UTF-8 key or value.
///
/// # Panics
/// If it is null or not UTF-8.
#[must_use]
pub fn utf8(b: Option<&[u8]>) -> String {
    String::from_utf8(b.expect("not null").to_vec()).expect("utf-8")
}

/// What `records` (sorted by partition and offset, as the consumers return them) hold.
#[must_use]
pub fn view(records: &[Consumed]) -> View {
    let mut out = View::new();
    for r in records {
        out.entry(r.partition)
            .or_default()
            .push((utf8(r.key.as_deref()), utf8(r.value.as_deref())));
    }
    out
}

/// A [`View`] written out: `(partition, [(key, value), ...])`.
#[must_use]
pub fn view_of(entries: &[(i32, &[(&str, &str)])]) -> View {
    entries
        .iter()
        .map(|(p, kv)| {
            let kv = kv.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
            (*p, kv)
        })
        .collect()
}

/// The keys of each partition of `view`, in order.
#[must_use]
pub fn keys_of(view: &View) -> BTreeMap<i32, Vec<String>> {
    view.iter()
        .map(|(p, kv)| (*p, kv.iter().map(|(k, _)| k.clone()).collect()))
        .collect()
}

/// An offset to commit with a transaction (no leader epoch).
#[must_use]
pub fn offset(topic: &str, partition: i32, offset: i64, metadata: Option<&str>) -> OffsetToCommit {
    OffsetToCommit {
        topic: topic.into(),
        partition,
        offset,
        leader_epoch: None,
        metadata: metadata.map(Into::into),
    }
}

/// Ends the open transaction of `p`, committing or aborting it, which must succeed within
/// `wait`.
///
/// # Panics
/// If the call fails or does not return within `wait`.
pub async fn end(p: &Producer, commit: bool, wait: Duration) {
    if commit {
        call(wait, "commit_transaction", p.commit_transaction())
            .await
            .expect("commit_transaction");
    } else {
        call(wait, "abort_transaction", p.abort_transaction())
            .await
            .expect("abort_transaction");
    }
}

/// Awaits a transactional call for at most `wait` and five seconds: a call may itself return
/// `Timeout` after `max.block.ms`, which the suites set no longer than `wait`.
///
/// # Panics
/// If `fut` does not finish in that time.
pub async fn call<T>(wait: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    within(wait + Duration::from_secs(5), what, fut).await
}

/// `init_transactions` on `p`, which must succeed within `wait`.
///
/// # Panics
/// If it fails or does not return within `wait`.
pub async fn init(p: &Producer, wait: Duration) {
    call(wait, "init_transactions", p.init_transactions())
        .await
        .expect("init_transactions");
}

/// One transaction of the single record `r`, which must commit and be delivered.
///
/// # Panics
/// If a call fails or does not return within `wait`.
pub async fn commit_one(p: &Producer, r: ProducerRecord, wait: Duration) -> RecordMetadata {
    p.begin_transaction().expect("begin_transaction");
    let d = send(p, r).await;
    end(p, true, wait).await;
    await_all(vec![d], wait).await.remove(0)
}

/// Sends `key`/`value` to `topic`/`partition` and notes it in each of `views`.
pub async fn send_noted(
    p: &Producer,
    (topic, partition): (&str, i32),
    (key, value): (&str, &str),
    views: &mut [&mut View],
) -> DeliveryFuture {
    let d = send(p, record(topic, partition, key, value)).await;
    for v in views {
        v.entry(partition)
            .or_default()
            .push((key.to_owned(), value.to_owned()));
    }
    d
}

/// Sends `per_partition` records to every partition of every topic, interleaved (so every
/// request carries several partitions); `kv(topic, partition, i)` names record `i`. Returns what
/// was sent, per topic, and the delivery futures.
pub async fn send_spanning(
    p: &Producer,
    topics: &[(String, i32)],
    per_partition: usize,
    kv: impl Fn(&str, i32, usize) -> (String, String),
) -> (BTreeMap<String, View>, Vec<DeliveryFuture>) {
    let mut expected: BTreeMap<String, View> = BTreeMap::new();
    let mut futures = Vec::new();
    for i in 0..per_partition {
        for (t, n) in topics {
            for part in 0..*n {
                let (k, v) = kv(t, part, i);
                let view = expected.entry(t.clone()).or_default();
                futures.push(send_noted(p, (t, part), (&k, &v), &mut [view]).await);
            }
        }
    }
    (expected, futures)
}

/// The offsets reported for each topic-partition are 0, 1, 2, ... in delivery order.
///
/// # Panics
/// On an offset out of that sequence.
pub fn assert_offsets_from_zero(metadata: &[RecordMetadata]) {
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for md in metadata {
        let n = next
            .entry((md.topic().to_owned(), md.partition()))
            .or_insert(0);
        assert_eq!(md.offset(), Some(*n), "{md:?}");
        *n += 1;
    }
}

/// A record sent in a transaction that may be aborted: partition, key, value and delivery.
pub type Tracked = (i32, String, String, DeliveryFuture);

/// Sends `key`/`value` to `topic`/`partition` and adds it to `futures`.
pub async fn send_tracked(
    p: &Producer,
    futures: &mut Vec<Tracked>,
    (topic, partition): (&str, i32),
    (key, value): (String, &str),
) {
    let f = send(p, record(topic, partition, &key, value)).await;
    futures.push((partition, key, value.to_owned(), f));
}

/// Sends `n` records `burst-<i>` (value `b`) to the partitions `0..partitions` of `topic` in
/// turn, adding them to `futures`.
pub async fn send_burst(
    p: &Producer,
    futures: &mut Vec<Tracked>,
    (topic, partitions): (&str, i32),
    n: usize,
) {
    for (i, part) in (0..n).zip((0..partitions).cycle()) {
        send_tracked(p, futures, (topic, part), (format!("burst-{i}"), "b")).await;
    }
}

/// Waits (at most `wait`) for the delivery of `futures[at]` (`what`), which must succeed.
///
/// # Panics
/// If it fails or does not resolve within `wait`.
pub async fn delivered_at(futures: &mut [Tracked], at: usize, what: &str, wait: Duration) {
    let (_, _, _, f) = &mut futures[at];
    within(wait, what, f)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
}

/// Polls each `(partition, key, value, delivery)` after `abort_transaction` returned: each is
/// resolved, delivered (noted in the returned view, at its partition) or `TransactionAborted`
/// (counted).
///
/// # Panics
/// If a delivery is pending or failed otherwise, or was delivered to another partition.
pub fn outcomes_after_abort(futures: Vec<Tracked>) -> (View, usize) {
    let mut delivered = View::new();
    let mut aborted = 0;
    for (part, key, value, mut f) in futures {
        match poll_now(&mut f) {
            Some(Ok(md)) => {
                assert_eq!(md.partition(), part);
                delivered.entry(part).or_default().push((key, value));
            }
            Some(Err(e)) if e.kind() == ErrorKind::TransactionAborted => aborted += 1,
            other => panic!("{key}: {other:?} after abort_transaction returned"),
        }
    }
    (delivered, aborted)
}

/// Begin then commit, and begin then abort, with nothing sent: both succeed.
///
/// # Panics
/// If a call fails or does not return within `wait`.
pub async fn empty_commit_and_abort(p: &Producer, wait: Duration) {
    p.begin_transaction().expect("begin 1");
    call(wait, "empty commit", p.commit_transaction())
        .await
        .expect("empty commit");
    p.begin_transaction().expect("begin 2");
    call(wait, "empty abort", p.abort_transaction())
        .await
        .expect("empty abort");
}

/// One record of [`transactions_in_a_row`]: key, value and what its delivery reported.
pub type Delivered = (String, String, RecordMetadata);

/// `txns` transactions of `per_txn` keyed records each (`t<t>-r<i>`, the value the key and
/// `i % pad` letters, so a transaction makes several batches); the first is committed by two
/// callers at once (a clone of the producer), which both get the outcome. Committing flushed:
/// every delivery is resolved when the commit returns. Returns, per transaction and partition,
/// the records in send order.
///
/// # Panics
/// If a call fails or does not return within `wait`, or a delivery is not resolved by the commit.
pub async fn transactions_in_a_row(
    p: &Producer,
    topic: &str,
    (txns, per_txn, pad): (usize, usize, usize),
    wait: Duration,
) -> Vec<BTreeMap<i32, Vec<Delivered>>> {
    let mut out = Vec::with_capacity(txns);
    for t in 0..txns {
        p.begin_transaction().expect("begin");
        let mut futures = Vec::new();
        for i in 0..per_txn {
            let key = format!("t{t}-r{i}");
            let value = format!("{key}-{}", "v".repeat(i % pad));
            let r = ProducerRecord::new(topic)
                .with_key(key.clone())
                .with_value(value.clone());
            futures.push((key, value, p.send(r).await.expect("send")));
        }
        if t == 0 {
            let other = p.clone();
            let (a, b) = tokio::join!(
                call(wait, "commit", p.commit_transaction()),
                call(wait, "commit (clone)", other.commit_transaction())
            );
            a.expect("commit");
            b.expect("concurrent commit");
        } else {
            end(p, true, wait).await;
        }
        let mut this_txn: BTreeMap<i32, Vec<Delivered>> = BTreeMap::new();
        for (key, value, mut f) in futures {
            let md = poll_now(&mut f)
                .expect("resolved by the commit")
                .expect("delivered");
            this_txn
                .entry(md.partition())
                .or_default()
                .push((key, value, md));
        }
        out.push(this_txn);
    }
    out
}

/// A second producer (from `make`, same `transactional.id`) fences the first: the first commits
/// `first-committed`, the second initializes, then the first's next transaction (`zombie`) fails
/// at the commit (`zombie_commit` checks how, which differs by protocol), its record fails,
/// abort and begin fail fatally; the second commits `second-committed`. Returns both producers,
/// open, for the caller to check the log and close them.
///
/// # Panics
/// If a step does not go as described within `wait`.
pub async fn fence_older_producer(
    make: impl Fn() -> Producer,
    topic: &str,
    (wait, label): (Duration, &str),
    zombie_commit: impl FnOnce(&ProduceError),
) -> (Producer, Producer) {
    let first = make();
    init(&first, wait).await;
    commit_one(&first, record(topic, 0, "first-committed", "1"), wait).await;

    let second = make();
    call(wait, "init 2", second.init_transactions())
        .await
        .expect("init second (fences the first)");

    // The zombie: begin is local, send queues, the commit finds out.
    first.begin_transaction().expect("begin is local");
    let zombie = send(&first, record(topic, 0, "zombie", "z")).await;
    let failure = txn_failure(
        call(wait, "zombie commit", first.commit_transaction()).await,
        "commit of the fenced producer",
    );
    eprintln!("{label}: zombie commit: {failure:?}");
    zombie_commit(&failure);
    let zombie_outcome = within(wait, "the zombie delivery", zombie).await;
    eprintln!("{label}: zombie delivery: {zombie_outcome:?}");
    assert!(zombie_outcome.is_err(), "{zombie_outcome:?}");
    // The abort finds out (a Produce-level fence) or the fatal error is sticky.
    fatal_failure(
        call(wait, "abort", first.abort_transaction()).await,
        "abort of the fenced producer",
    );
    assert_begin_fatal(&first, "begin of the fenced producer");

    // The new instance works.
    commit_one(&second, record(topic, 0, "second-committed", "2"), wait).await;
    (first, second)
}

/// A failure with `InvalidState` whose message names `call`.
fn invalid(r: Result<(), ProduceError>, what: &str, call: &str) -> ProduceError {
    let f = txn_failure(r, what);
    assert_eq!(f.kind(), ErrorKind::InvalidState, "{what}: {f:?}");
    assert!(f.to_string().contains(call), "{what}: {f:?}");
    f
}

/// The outcome of `fut` (awaited, or with `immediate` ready on its first poll: a state error
/// found before any request) is an [`invalid`] failure naming `call`.
async fn expect_invalid(
    immediate: bool,
    what: &str,
    call: &str,
    fut: impl Future<Output = Result<(), ProduceError>>,
) -> ProduceError {
    let r = if immediate {
        ready_now(what, fut)
    } else {
        fut.await
    };
    invalid(r, what, call)
}

/// Transactional calls in the wrong state fail with `NotTransactional` (on `plain`, which has
/// no `transactional.id`) or `InvalidState` (on `p`, before `init_transactions`, twice, without
/// a transaction begun); with `immediate` the state errors must be ready on their first poll.
/// None of it breaks either producer: `plain` sends `plain` (and is closed), `p` commits
/// `inside`, both to partition 0 of `topic`; `p` is left open.
///
/// # Panics
/// If a call does not fail as described, or the records are not delivered within `wait`.
pub async fn wrong_state_calls(
    (plain, p): (&Producer, &Producer),
    topic: &str,
    (wait, immediate): (Duration, bool),
) {
    // No transactional.id: every transactional call says so.
    let f = txn_failure(
        plain.init_transactions().await,
        "init without transactional.id",
    );
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    assert!(f.to_string().contains("transactional.id"), "{f:?}");
    let f = txn_failure(plain.begin_transaction(), "begin without transactional.id");
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    let f = txn_failure(
        plain.commit_transaction().await,
        "commit without transactional.id",
    );
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    // ... and it still sends as a plain producer.
    let d = send(plain, record(topic, 0, "plain", "p")).await;
    await_all(vec![d], wait).await;
    plain.close(wait).await;

    // Before init_transactions.
    let f = invalid(p.begin_transaction(), "begin before init", "begin");
    eprintln!("state: begin before init: {f}");
    expect_invalid(
        immediate,
        "commit before init",
        "commit",
        p.commit_transaction(),
    )
    .await;
    expect_invalid(
        immediate,
        "abort before init",
        "abort",
        p.abort_transaction(),
    )
    .await;
    init(p, wait).await;
    invalid(
        call(wait, "init twice", p.init_transactions()).await,
        "init twice",
        "init",
    );
    // Ready, no transaction begun.
    let f = expect_invalid(
        immediate,
        "commit without begin",
        "commit",
        p.commit_transaction(),
    )
    .await;
    eprintln!("state: commit without begin: {f}");
    expect_invalid(
        immediate,
        "abort without begin",
        "abort",
        p.abort_transaction(),
    )
    .await;
    let offsets = vec![offset(topic, 0, 1, None)];
    let send_offsets = p.send_offsets_to_transaction(offsets, GroupMetadata::new("g"));
    expect_invalid(
        immediate,
        "send_offsets without begin",
        "send_offsets",
        send_offsets,
    )
    .await;
    match p.send(record(topic, 0, "outside", "o")).await {
        Err(e) if e.kind() == ErrorKind::InvalidState => {
            let message = e.to_string();
            eprintln!("state: send without begin: {message}");
            assert!(message.contains("send"), "{message}");
        }
        Err(other) => panic!("send without begin: expected an invalid state, got {other:?}"),
        Ok(_) => panic!("send without begin was queued"),
    }
    p.begin_transaction().expect("begin");
    invalid(p.begin_transaction(), "begin twice", "begin");

    // None of it broke the producer.
    let d = send(p, record(topic, 0, "inside", "i")).await;
    end(p, true, wait).await;
    await_all(vec![d], wait).await;
}
