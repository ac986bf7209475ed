//! EndTxn, AddOffsetsToTxn and TxnOffsetCommit errors: retriable codes on commit and on abort,
//! `PRODUCER_FENCED` (fatal), `UNKNOWN_PRODUCER_ID` (abortable with an epoch bump),
//! `GROUP_AUTHORIZATION_FAILED` on the offsets (abortable).

use std::collections::BTreeSet;

use ferrokafka::{GroupMetadata, OffsetToCommit, ProduceError, Producer};
use ferrokafka_tests::txn::assert_begin_fatal;

use super::{
    Api, E, PARTITIONS, TOPIC, WAIT, abort, abortable_then_aborted, all_delivered,
    assert_abortable, assert_fatal, bounded, cluster, commit, committed_txn, indices, outcomes,
    send_range, until_done,
};

#[test]
fn end_txn_retriable_errors_are_retried_on_commit_and_abort() {
    let c = cluster(3);
    let (delivered, aborted) = c.with_txn(&[], async |p| {
        c.inject(
            Api::EndTxn,
            &[
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            ],
        );
        let mut delivered = committed_txn(p, 0..40).await;
        // An abort through the same errors.
        c.inject(
            Api::EndTxn,
            &[
                E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            ],
        );
        p.begin_transaction().expect("begin 2");
        let pending = send_range(p, 100..120, None).await;
        bounded("flush", p.flush(WAIT)).await.expect("flush");
        abort(p).await.expect("abort 2");
        let aborted = indices(&outcomes(pending).await);
        delivered.extend(committed_txn(p, 200..240).await);
        (delivered, aborted)
    });
    c.assert_log(&delivered, &aborted);
}

#[test]
fn end_txn_producer_fenced_is_fatal() {
    let c = cluster(3);
    let written = c.with_txn(&[], async |p| {
        c.inject(Api::EndTxn, &[E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
        p.begin_transaction().expect("begin");
        let pending = send_range(p, 0..20, None).await;
        assert_fatal("commit", commit(p).await);
        assert_begin_fatal(p, "begin after a fatal commit");
        assert_fatal("abort", abort(p).await);
        // The records were written before EndTxn (a real broker would abort them later).
        all_delivered(outcomes(pending).await)
    });
    // Without markers, the written records stay readable on the mock; each exactly once.
    let aborted: BTreeSet<usize> = written.iter().map(|(i, _)| *i).collect();
    c.assert_log(&[], &aborted);
}

/// UNKNOWN_PRODUCER_ID on EndTxn(commit) (the coordinator lost the producer id): abortable
/// with an epoch bump when the coordinator supports it; abort, then the next transaction commits.
#[test]
fn end_txn_unknown_producer_id_is_abortable() {
    let c = cluster(3);
    let (written, delivered) = c.with_txn(&[], async |p| {
        c.inject(Api::EndTxn, &[E::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID]);
        p.begin_transaction().expect("begin 1");
        let pending = send_range(p, 0..20, None).await;
        abortable_then_aborted(p, 1).await;
        let written = indices(&outcomes(pending).await);
        (written, committed_txn(p, 100..160).await)
    });
    c.assert_log(&delivered, &written);
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

/// A transaction of `range` with the offsets, which must commit.
async fn committed_with_offsets(
    p: &Producer,
    range: std::ops::Range<usize>,
) -> Vec<(usize, ferrokafka::RecordMetadata)> {
    p.begin_transaction().expect("begin");
    let pending = send_range(p, range, None).await;
    send_offsets(p).await.expect("send_offsets_to_transaction");
    commit(p).await.expect("commit");
    all_delivered(outcomes(pending).await)
}

/// Retriable and coordinator-moving errors on AddOffsetsToTxn and TxnOffsetCommit.
#[test]
fn send_offsets_retriable_errors_are_retried() {
    let c = cluster(3);
    let delivered = c.with_txn(&[], async |p| {
        c.inject(
            Api::AddOffsetsToTxn,
            &[
                E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            ],
        );
        c.inject(
            Api::TxnOffsetCommit,
            &[
                E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            ],
        );
        committed_with_offsets(p, 0..20).await
    });
    c.assert_committed(&delivered);
}

/// GROUP_AUTHORIZATION_FAILED on TxnOffsetCommit is abortable; after the abort the next
/// transaction (with offsets) commits.
#[test]
fn send_offsets_group_authorization_failed_is_abortable() {
    let c = cluster(3);
    let (aborted, delivered) = c.with_txn(&[], async |p| {
        c.inject(
            Api::TxnOffsetCommit,
            &[E::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED],
        );
        p.begin_transaction().expect("begin 1");
        let pending = send_range(p, 0..20, None).await;
        assert_abortable("send_offsets", send_offsets(p).await);
        abortable_then_aborted(p, 1).await;
        let aborted = indices(&outcomes(pending).await);
        (aborted, committed_with_offsets(p, 100..120).await)
    });
    c.assert_log(&delivered, &aborted);
}
