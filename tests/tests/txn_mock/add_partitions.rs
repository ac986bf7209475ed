//! AddPartitionsToTxn errors: retriable codes and `NOT_COORDINATOR` (rediscovery) are retried,
//! `TOPIC_AUTHORIZATION_FAILED` is abortable (then abort and a next transaction),
//! `INVALID_PRODUCER_EPOCH` / `PRODUCER_FENCED` are fatal.

use std::time::Instant;

use ferrokafka::ErrorKind;
use ferrokafka_tests::txn::assert_begin_fatal;

use super::{
    Api, E, abort, all_failed, assert_abortable, assert_fatal, assert_refused_as_fatal, cluster,
    commit, committed_txn, outcomes, send_lenient,
};

/// Init, then inject `errors` on AddPartitionsToTxn, then one transaction that must commit.
fn add_partitions_recovers(errors: &[E]) {
    let c = cluster(3);
    let delivered = c.with_txn(&[], async |p| {
        c.inject(Api::AddPartitionsToTxn, errors);
        let started = Instant::now();
        let delivered = committed_txn(p, 0..60).await;
        eprintln!("{errors:?}: transaction took {:?}", started.elapsed());
        delivered
    });
    c.assert_committed(&delivered);
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
    let c = cluster(3);
    let (failed, delivered) = c.with_txn(&[], async |p| {
        c.inject(
            Api::AddPartitionsToTxn,
            &[E::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
        );
        p.begin_transaction().expect("begin 1");
        // Sends after the AddPartitionsToTxn answer are refused (the transaction failed).
        let (pending, refused) = send_lenient(p, 0..20, None).await;
        for (i, e) in &refused {
            assert!(
                e.kind() == ErrorKind::TransactionAbortable
                    && e.to_string().contains("TOPIC_AUTHORIZATION_FAILED"),
                "send {i} refused with {e:?}"
            );
        }
        assert_abortable("commit 1", commit(p).await);
        // Abortable: the transaction may only be aborted.
        assert!(p.begin_transaction().is_err());
        abort(p).await.expect("abort 1");
        let failed = outcomes(pending).await;
        // Transaction 2 goes through.
        (failed, committed_txn(p, 100..160).await)
    });
    // The partitions were never added, so nothing of transaction 1 may have been sent: the
    // records fail as soon as the transaction is abortable (Java `abortUndrainedBatches`), or
    // at the abort.
    all_failed(&failed, "TransactionAbortable or TransactionAborted", |e| {
        matches!(
            e.kind(),
            ErrorKind::TransactionAbortable | ErrorKind::TransactionAborted
        )
    });
    c.assert_committed(&delivered);
}

/// A fencing error on AddPartitionsToTxn is fatal: commit, abort and begin fail Fatal, the
/// records fail, nothing is written.
fn add_partitions_fatal(error: E) {
    let c = cluster(3);
    let failed = c.with_txn(&[], async |p| {
        c.inject(Api::AddPartitionsToTxn, &[error]);
        p.begin_transaction().expect("begin");
        let (pending, refused) = send_lenient(p, 0..20, None).await;
        assert_refused_as_fatal(&refused);
        assert_fatal("commit", commit(p).await);
        assert_fatal("abort", abort(p).await);
        assert_begin_fatal(p, "begin after a fatal error");
        outcomes(pending).await
    });
    all_failed(&failed, "a failed delivery", |e| {
        matches!(
            e.kind(),
            ErrorKind::Fatal | ErrorKind::ProducerFenced | ErrorKind::TransactionAborted
        )
    });
    c.assert_log_empty();
}

#[test]
fn add_partitions_invalid_producer_epoch_is_fatal() {
    add_partitions_fatal(E::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH);
}

#[test]
fn add_partitions_producer_fenced_is_fatal() {
    add_partitions_fatal(E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
}
