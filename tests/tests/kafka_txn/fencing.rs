//! Fencing and fatal states: a newer producer with the same `transactional.id` (before and
//! while a transaction is open), the coordinator aborting a timed-out transaction, and a
//! transaction timeout the broker refuses.

use std::time::Duration;

use ferrokafka::ErrorKind;
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::{await_all, record, send, within};
use ferrokafka_tests::txn::{
    assert_begin_fatal, commit_one, fatal_failure, fence_older_producer, is_fatal, txn_failure,
    view, view_of,
};

use super::{
    Case, Proto, WAIT, assert_visible, assert_visible_both, bounded, read_both, requests_of,
    wait_for_abort_marker,
};

/// A second producer with the same transactional.id fences the first: the first's next commit
/// fails with `TxnFailureKind::Fatal` (sticky), its record never becomes visible, the second
/// commits.
pub(super) async fn newer_producer_fences_older_one(case: Case) {
    let topic = case.topic("fence", 1);
    let txn_id = case.name("txn");
    let make = || case.producer(&txn_id, &[("linger.ms", "5")]);
    let (first, second) = fence_older_producer(make, &topic, (WAIT, &case.prefix), |failure| {
        match case.proto {
            // AddPartitionsToTxn meets the new epoch first: PRODUCER_FENCED, fatal.
            Proto::V0 => assert!(is_fatal(failure.kind()), "{failure:?}"),
            // No AddPartitionsToTxn: the Produce v12 is rejected with INVALID_PRODUCER_EPOCH,
            // which Java (KIP-588) treats as abortable, since the producer cannot tell a fence
            // from a stale request; the abort's EndTxn then learns it was fenced (fatal).
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
    })
    .await;

    let want = view_of(&[(0, &[("first-committed", "1"), ("second-committed", "2")])]);
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
pub(super) async fn fencing_an_open_transaction(case: Case) {
    let topic = case.topic("fence-open", 1);
    let txn_id = case.name("txn");
    let first = case.ready(&txn_id, &[("linger.ms", "5")]).await;
    first.begin_transaction().expect("begin first");
    let open = send(&first, record(&topic, 0, "open", "o")).await;
    await_all(vec![open], WAIT).await;

    let second = case.ready(&txn_id, &[("linger.ms", "5")]).await;
    let zombie = fatal_failure(
        bounded("zombie commit", first.commit_transaction()).await,
        "commit of the fenced producer",
    );
    eprintln!("{}: zombie commit: {zombie:?}", case.prefix);
    first.close(Duration::from_secs(5)).await;

    commit_one(&second, record(&topic, 0, "second", "s"), WAIT).await;
    let want = view_of(&[(0, &[("second", "s")])]);
    let all = view_of(&[(0, &[("open", "o"), ("second", "s")])]);
    assert_visible_both(&case, &topic, &want, &all);
    second.close(WAIT).await;
}

/// The coordinator aborts a transaction open longer than `transaction.timeout.ms` (and bumps
/// the epoch): the producer's next record and its commit fail (abortable, INVALID_PRODUCER_EPOCH);
/// on v2 `abort_transaction` recovers and the same producer commits the next transaction, on the
/// classic protocol the abort finds the producer fenced (as Java) and a new instance commits.
pub(super) async fn coordinator_aborts_a_timed_out_transaction(case: Case) {
    let topic = case.topic("timeout", 1);
    let txn_id = case.name("txn");
    let extra = [("linger.ms", "5"), ("transaction.timeout.ms", "1000")];
    let p = case.ready(&txn_id, &extra).await;
    p.begin_transaction().expect("begin");
    let d = send(&p, record(&topic, 0, "timed-out", "t")).await;
    await_all(vec![d], WAIT).await;
    wait_for_abort_marker(&case, &topic);

    let late = send(&p, record(&topic, 0, "late", "l")).await;
    let late = within(WAIT, "the late record", late).await;
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
            let f = fatal_failure(abort, "abort after the timeout");
            assert!(f.to_string().contains("PRODUCER_FENCED"), "{f:?}");
            p.close(Duration::from_secs(5)).await;
            case.ready(&txn_id, &[("linger.ms", "5")]).await
        }
    };

    commit_one(&p, record(&topic, 0, "next", "n"), WAIT).await;
    p.close(WAIT).await;
    let want = view_of(&[(0, &[("next", "n")])]);
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let requests = requests_of(&case, &txn_id);
    let summary: Vec<(i16, i16, bool)> = requests
        .iter()
        .filter(|r| ![3, 10, 18].contains(&r.api_key))
        .map(|r| (r.api_key, r.version, r.succeeded()))
        .collect();
    eprintln!("{}: requests (key, version, ok): {summary:?}", case.prefix);
}

/// `transaction.timeout.ms` above the broker's `transaction.max.timeout.ms` (15 min by default):
/// InitProducerId is answered INVALID_TRANSACTION_TIMEOUT, which is fatal (as Java), and the
/// call returns instead of retrying until `max.block.ms`.
pub(super) async fn init_with_a_timeout_over_the_broker_maximum(case: Case) {
    let p = case.producer(
        &case.name("txn"),
        &[
            ("transaction.timeout.ms", "1000000"),
            ("max.block.ms", "50000"),
        ],
    );
    let f = fatal_failure(
        bounded("init", p.init_transactions()).await,
        "init with a timeout over the broker maximum",
    );
    eprintln!("{}: init: {f:?}", case.prefix);
    assert!(
        f.to_string().contains("INVALID_TRANSACTION_TIMEOUT"),
        "{f:?}"
    );
    assert_begin_fatal(&p, "begin after a fatal init");
    p.close(Duration::from_secs(5)).await;
}
