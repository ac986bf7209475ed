//! Errors the caller sees and recovers from: calls in the wrong state, an abort racing records
//! in flight, a record the broker refuses (abortable), then the next transaction.

use ferrokafka::{ErrorKind, Producer, ProducerConfig};
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::{await_all, record, send, within};
use ferrokafka_tests::txn::{
    commit_one, delivered_at, end, outcomes_after_abort, send_burst, send_tracked, txn_failure,
    view_of, wrong_state_calls,
};

use super::{
    API_END_TXN, API_INIT_PRODUCER_ID, Case, Logged, Proto, WAIT, assert_visible,
    assert_visible_both, bounded, count, logged_requests, summary,
};

/// Calls in the wrong state fail at once with `InvalidState` / `NotTransactional`, and leave the
/// producer usable.
pub(super) async fn calls_in_the_wrong_state_fail_at_once(case: Case) {
    let topic = case.topic("state", 1);
    let plain = Producer::new(
        ProducerConfig::from_properties([("bootstrap.servers", case.bootstrap.as_str())])
            .expect("config"),
    )
    .expect("producer");
    let p = case.producer(&case.name("txn"), &[("linger.ms", "5")]);
    wrong_state_calls((&plain, &p), &topic, (WAIT, false)).await;
    let want = view_of(&[(0, &[("plain", "p"), ("inside", "i")])]);
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    p.close(WAIT).await;
}

/// Abort right after a burst of sends (no linger): every future resolves, delivered or
/// `TransactionAborted`; none of the burst is visible to read_committed, the delivered ones are
/// to read_uncommitted; the next transaction commits.
pub(super) async fn abort_with_records_in_flight(case: Case) {
    const BURST: usize = 400;
    let topic = case.topic("race", 3);
    let extra = [("linger.ms", "0"), ("batch.size", "512")];
    let p = case.ready(&case.name("txn"), &extra).await;
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    send_tracked(&p, &mut futures, (&topic, 0), ("first".into(), "f")).await;
    delivered_at(&mut futures, 0, "the first delivery", WAIT).await;
    send_burst(&p, &mut futures, (&topic, 3), BURST).await;
    // A quarter of the burst acknowledged: the rest is in flight or queued when the abort comes.
    delivered_at(&mut futures, BURST / 4, "a burst delivery", WAIT).await;
    end(&p, false, WAIT).await;
    let (delivered, aborted) = outcomes_after_abort(futures);
    let n: usize = delivered.values().map(Vec::len).sum();
    eprintln!(
        "{}: {n} delivered before the abort, {aborted} failed unsent",
        case.prefix
    );
    assert_eq!(n + aborted, BURST + 1);
    assert!(n > BURST / 4 / 3, "delivered before the abort: {n}");

    commit_one(&p, record(&topic, 1, "after", "a"), WAIT).await;
    let want = view_of(&[(1, &[("after", "a")])]);
    let mut all = delivered;
    all.entry(1).or_default().push(("after".into(), "a".into()));
    assert_visible_both(&case, &topic, &want, &all);
    p.close(WAIT).await;
}

/// Sends the record `key` of `size` bytes to `topic`/`partition` of the open transaction of
/// `p`, which the broker refuses; the commit then fails `TransactionAbortable` and the abort
/// succeeds.
async fn refused_then_aborted(p: &Producer, (topic, partition): (&str, i32), key: &str) {
    let big = send(p, record(topic, partition, key, &"x".repeat(10_000))).await;
    let refused = within(WAIT, "the big record", big).await;
    eprintln!("{key}: {refused:?}");
    assert!(refused.is_err(), "{refused:?}");
    let failure = txn_failure(
        bounded("commit", p.commit_transaction()).await,
        "commit after a refused record",
    );
    eprintln!("{key}: commit: {failure:?}");
    assert_eq!(
        failure.kind(),
        ErrorKind::TransactionAbortable,
        "{failure:?}"
    );
    bounded("abort", p.abort_transaction())
        .await
        .unwrap_or_else(|e| panic!("abort after the refused {key}: {e:?}"));
}

/// A record the broker refuses (over the topic's `max.message.bytes`) makes the transaction
/// abortable: the commit fails with `Abortable`, the other records of the transaction are not
/// visible, `abort_transaction` succeeds, and the next transaction commits with the same
/// producer (classic: an epoch bump through InitProducerId, KIP-360; v2: EndTxn's new epoch).
pub(super) async fn abortable_error_then_next_transaction(case: Case) {
    let topic = case.name("too-large");
    case.kafka
        .create_topic(&topic, 2, 1, &[("max.message.bytes", "2000")])
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    let txn_id = case.name("txn");
    let p = case.ready(&txn_id, &[("linger.ms", "5")]).await;

    p.begin_transaction().expect("begin");
    let ok = send(&p, record(&topic, 0, "lost", "l")).await;
    await_all(vec![ok], WAIT).await;
    refused_then_aborted(&p, (&topic, 1), "big").await;

    // A transaction whose only record is refused: the broker never added a partition to it
    // (the size check comes first), and the abort still completes.
    p.begin_transaction().expect("begin");
    refused_then_aborted(&p, (&topic, 0), "big-alone").await;

    for t in 0..2 {
        commit_one(&p, record(&topic, t, &format!("kept-{t}"), "k"), WAIT).await;
    }
    p.close(WAIT).await;
    let want = view_of(&[(0, &[("kept-0", "k")]), (1, &[("kept-1", "k")])]);
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);

    let requests = logged_requests(&case, &txn_id, API_END_TXN, 4);
    let summary = summary(&requests);
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
