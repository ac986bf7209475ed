//! Calls in the wrong state (failing at once, leaving the producer usable) and empty
//! transactions (completed without an EndTxn) on Tansu.

use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::record;
use ferrokafka_tests::txn::{commit_one, empty_commit_and_abort, wrong_state_calls};

use super::raw_log::{COMMIT, ended, first_producer, raw_log};
use super::recorded::{API_END_TXN, RecordedTansu, Request};
use super::{WAIT, producer, read_keys, ready, tansu_with, txn_producer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_the_wrong_state_fail_at_once() {
    let (_broker, bootstrap) = tansu_with("state", 1);
    let plain = producer(&bootstrap, &[]);
    let p = txn_producer(&bootstrap, "tx-state", &[("linger.ms", "5")]);
    // State errors are immediate: each call is answered on its first poll, before any request.
    wrong_state_calls((&plain, &p), "state", (WAIT, true)).await;
    let keys = read_keys(&bootstrap, "state", 2, Isolation::ReadCommitted).await;
    assert_eq!(keys, ["plain", "inside"]);
    p.close(WAIT).await;
}

/// Begin then commit, and begin then abort, with nothing sent: both succeed on Tansu and the
/// producer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_transactions_complete() {
    let (broker, bootstrap) = RecordedTansu::with_topic("empty", 1);
    let p = ready(&bootstrap, "tx-empty", &[("linger.ms", "5")]).await;
    empty_commit_and_abort(&p, WAIT).await;
    let end_txns = broker.end_txns(0);
    eprintln!("empty: EndTxn (committed, answer) for the two empty transactions: {end_txns:?}");
    // Whatever EndTxn goes out (see `empty_transactions_send_no_end_txn`), Tansu 0.6.0 accepts
    // it for an empty transaction (error code 0).
    assert!(
        end_txns.iter().all(|(_, answer)| *answer == Some(0)),
        "{end_txns:?}"
    );
    commit_one(&p, record("empty", 0, "k", "v"), WAIT).await;
    let logs = raw_log(&bootstrap, "empty", 1).await;
    let (pid, epoch) = first_producer(&logs[&0]);
    assert_eq!(logs[&0], ended(pid, epoch, &["k"], COMMIT));
    p.close(WAIT).await;
}

/// Java's `TransactionManager` completes a transaction that never added a partition or offsets
/// locally (`transactionStarted` is false: no EndTxn). A Kafka coordinator answers EndTxn for a
/// transaction in state Empty (right after InitProducerId) with INVALID_TXN_STATE, and EndTxn(abort)
/// after a completed commit too, which Java treats as fatal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// Regression: an empty transaction used to send EndTxn (Kafka answers INVALID_TXN_STATE).
async fn empty_transactions_send_no_end_txn() {
    let broker = RecordedTansu::start();
    let bootstrap = broker.bootstrap();
    let p = ready(&bootstrap, "tx-empty", &[("linger.ms", "5")]).await;
    empty_commit_and_abort(&p, WAIT).await;
    let end_txns: Vec<bool> = broker
        .requests()
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .map(Request::end_txn_committed)
        .collect();
    assert_eq!(end_txns, Vec::<bool>::new(), "EndTxn (committed?) sent");
    p.close(WAIT).await;
}
