//! Fencing on Tansu: a newer producer with the same `transactional.id` fences the older one
//! (same producer id, higher epoch), also while the older one's transaction is open (Tansu's
//! unanswered EndTxn, pinned).

use std::time::Duration;

use ferrokafka::ErrorKind;
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::txn::{commit_one, fence_older_producer, is_fatal};

use super::raw_log::{ABORT, COMMIT, Seg, committed_view, ended, first_producer, raw_log};
use super::recorded::RecordedTansu;
use super::{WAIT, bounded, read_keys, ready, tansu_with, txn_producer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_producer_fences_older_one() {
    let (_broker, bootstrap) = tansu_with("fence", 1);
    let make = || txn_producer(&bootstrap, "tx-fence", &[("linger.ms", "5")]);
    let (first, second) = fence_older_producer(make, "fence", (WAIT, "fence"), |failure| {
        assert!(is_fatal(failure.kind()), "{failure:?}");
        assert!(
            failure.to_string().contains("commit_transaction"),
            "{failure:?}"
        );
    })
    .await;

    let keys = read_keys(&bootstrap, "fence", 2, Isolation::ReadUncommitted).await;
    assert_eq!(
        keys,
        ["first-committed", "second-committed"],
        "the zombie record is not written"
    );
    let logs = raw_log(&bootstrap, "fence", 1).await;
    let log = &logs[&0];
    let (pid, epoch) = first_producer(log);
    let Some(Seg::Data {
        producer_id: pid2,
        epoch: epoch2,
        ..
    }) = log.get(2)
    else {
        panic!("fence/0: {log:?}");
    };
    eprintln!("fence: first {pid}/{epoch}, second {pid2}/{epoch2}");
    // Same transactional.id: the same producer id, a higher epoch.
    assert_eq!(*pid2, pid, "{log:?}");
    assert!(*epoch2 > epoch, "{log:?}");
    assert_eq!(
        log,
        &[
            ended(pid, epoch, &["first-committed"], COMMIT),
            ended(pid, *epoch2, &["second-committed"], COMMIT),
        ]
        .concat()
    );
    first.close(Duration::from_secs(5)).await;
    second.close(WAIT).await;
}

/// The first producer's transaction is open (its record acknowledged) when a second one with
/// the same `transactional.id` initializes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_an_open_transaction() {
    let (broker, bootstrap) = RecordedTansu::with_topic("fence-open", 1);
    let extra = [("linger.ms", "5"), ("max.block.ms", "3000")];
    let first = ready(&bootstrap, "tx-fence-open", &extra).await;
    first.begin_transaction().expect("begin first");
    let open = send(&first, record("fence-open", 0, "open", "o")).await;
    await_all(vec![open], WAIT).await;
    let (hw, lso, _) = committed_view(&bootstrap, "fence-open", 0).await;
    assert_eq!((hw, lso), (1, 0), "the first transaction is open");

    let second = ready(&bootstrap, "tx-fence-open", &[("linger.ms", "5")]).await;
    // The second init aborted the open transaction (ABORT marker at offset 1): nothing open.
    let (hw, lso, _) = committed_view(&bootstrap, "fence-open", 0).await;
    assert_eq!((hw, lso), (2, 2), "after the second init");

    let before = broker.requests().len();
    let zombie = bounded("zombie commit", first.commit_transaction()).await;
    eprintln!("fence-open: zombie commit: {zombie:?}");
    let end_txns = broker.end_txns(before);
    eprintln!("fence-open: zombie EndTxn requests (committed, answer): {end_txns:?}");
    // --- PEER LIMITATION (Tansu 0.6.0), pinned on purpose ----------------------------------
    // A Kafka coordinator answers the zombie's EndTxn with PRODUCER_FENCED (the producer then
    // fails the commit as Fatal, as `newer_producer_fences_older_one` shows for
    // AddPartitionsToTxn). Tansu 0.6.0 logs `Storage(Api(ProducerFenced))` and closes the
    // connection without answering; the producer takes that as a lost request and sends
    // EndTxn again (Java does the same on a disconnect), until commit_transaction gives up
    // after max.block.ms.
    assert!(
        // "{operation} did not finish within ..."
        zombie
            .as_ref()
            .is_err_and(|e| e.kind() == ErrorKind::Timeout
                && e.to_string()
                    .starts_with("commit_transaction did not finish")),
        "{zombie:?}"
    );
    assert!(end_txns.len() >= 2, "EndTxn retried: {end_txns:?}");
    assert!(
        end_txns.iter().all(|&e| e == (true, None)),
        "Tansu now answers the fenced EndTxn; update this test: {end_txns:?}"
    );
    first.close(Duration::from_secs(2)).await;

    commit_one(&second, record("fence-open", 0, "second", "s"), WAIT).await;

    let logs = raw_log(&bootstrap, "fence-open", 1).await;
    let log = &logs[&0];
    let (pid, epoch) = first_producer(log);
    // Tansu stamps the ABORT marker with the fenced epoch (Kafka would use the bumped one).
    assert_eq!(
        log,
        &[
            ended(pid, epoch, &["open"], ABORT),
            ended(pid, epoch + 1, &["second"], COMMIT),
        ]
        .concat(),
        "fence-open/0: raw log"
    );
    let (hw, lso, _) = committed_view(&bootstrap, "fence-open", 0).await;
    assert_eq!((hw, lso), (4, 4));
    second.close(WAIT).await;
}
