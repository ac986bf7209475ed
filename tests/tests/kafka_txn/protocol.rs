//! What the broker saw, from its request log: the APIs, versions and epochs of each protocol,
//! no EndTxn for an empty transaction, and the EndTxn(abort) of `close`.

use ferrokafka::GroupMetadata;
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::txn::{View, commit_one, empty_commit_and_abort, end, offset, view_of};

use super::{
    API_ADD_OFFSETS_TO_TXN, API_ADD_PARTITIONS_TO_TXN, API_END_TXN, API_INIT_PRODUCER_ID,
    API_PRODUCE, API_TXN_OFFSET_COMMIT, Case, Logged, Proto, WAIT, assert_visible,
    assert_visible_both, bounded, count, logged_requests, of_api, summary, versions,
    wait_committed,
};

/// What the broker saw, from its request log: on transactions v2 one InitProducerId for any
/// number of transactions, no AddPartitionsToTxn or AddOffsetsToTxn, Produce v12+, and every
/// EndTxn (v5+) returns the epoch bumped by one, which the next transaction uses; on the classic
/// protocol AddPartitionsToTxn and AddOffsetsToTxn, Produce ≤ v11, EndTxn ≤ v4, one epoch.
pub(super) async fn protocol_seen_by_the_broker(case: Case) {
    const TXNS: usize = 4;
    let topic = case.topic("proto", 2);
    let consumed = case.topic("proto-in", 1);
    let group = case.name("group");
    let txn_id = case.name("txn");
    let p = case.ready(&txn_id, &[("linger.ms", "5")]).await;
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
        end(&p, true, WAIT).await;
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
    let summary = summary(&requests);
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
    let end_txns: Vec<&Logged> = of_api(&requests, API_END_TXN).collect();
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
    let end_txn_versions = versions(&requests, API_END_TXN);
    match case.proto {
        Proto::V2 => {
            assert_eq!(
                count(&requests, API_ADD_PARTITIONS_TO_TXN),
                0,
                "{summary:?}"
            );
            assert_eq!(count(&requests, API_ADD_OFFSETS_TO_TXN), 0, "{summary:?}");
            assert!(produce.iter().all(|&v| v >= 12), "{summary:?}");
            assert!(end_txn_versions.iter().all(|&v| v >= 5), "{summary:?}");
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
            assert!(end_txn_versions.iter().all(|&v| v <= 4), "{summary:?}");
            assert!(
                epochs.iter().all(|(sent, _)| *sent == Some(first)),
                "{epochs:?}"
            );
        }
    }
}

/// Begin then commit, and begin then abort, with nothing sent: both succeed without an EndTxn
/// (Kafka would answer INVALID_TXN_STATE for a transaction it never saw), and the producer goes
/// on.
pub(super) async fn empty_transactions_complete(case: Case) {
    let topic = case.topic("empty", 1);
    let txn_id = case.name("txn");
    let p = case.ready(&txn_id, &[("linger.ms", "5")]).await;
    empty_commit_and_abort(&p, WAIT).await;
    commit_one(&p, record(&topic, 0, "k", "v"), WAIT).await;
    p.begin_transaction().expect("begin 4");
    bounded("commit", p.commit_transaction())
        .await
        .expect("empty commit after a real one");
    p.close(WAIT).await;
    let want = view_of(&[(0, &[("k", "v")])]);
    assert_visible(&case, &topic, Isolation::ReadCommitted, &want);
    let requests = logged_requests(&case, &txn_id, API_END_TXN, 1);
    let end_txns: Vec<&Logged> = of_api(&requests, API_END_TXN).collect();
    assert_eq!(
        end_txns.len(),
        1,
        "one EndTxn, for the transaction with data"
    );
    assert_eq!(end_txns[0].field("response", "errorCode"), Some(0));
}

/// Closing a producer with an open transaction aborts it (EndTxn(abort), as Java's close): its
/// records stay invisible, and the next instance's init finds nothing to abort.
pub(super) async fn close_aborts_an_open_transaction(case: Case) {
    let topic = case.topic("close", 2);
    let txn_id = case.name("txn");
    let p = case.ready(&txn_id, &[("linger.ms", "5")]).await;
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    for part in 0..2 {
        futures.push(send(&p, record(&topic, part, &format!("open-{part}"), "o")).await);
    }
    await_all(futures, WAIT).await;
    bounded("close", p.close(WAIT)).await;

    let requests = logged_requests(&case, &txn_id, API_END_TXN, 1);
    let end_txns: Vec<&Logged> = of_api(&requests, API_END_TXN).collect();
    assert_eq!(end_txns.len(), 1, "EndTxn at close");
    let end = end_txns[0];
    assert!(end.line.contains("\"committed\":false"), "{}", end.line);
    assert!(end.succeeded(), "{}", end.line);

    let next = case.ready(&txn_id, &[("linger.ms", "5")]).await;
    commit_one(&next, record(&topic, 1, "next", "n"), WAIT).await;
    next.close(WAIT).await;
    let want = view_of(&[(1, &[("next", "n")])]);
    let all = view_of(&[
        (0, &[("open-0", "o")]),
        (1, &[("open-1", "o"), ("next", "n")]),
    ]);
    assert_visible_both(&case, &topic, &want, &all);
}
