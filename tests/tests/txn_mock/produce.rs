//! Produce inside a transaction: `NOT_LEADER_FOR_PARTITION` with five requests in flight
//! (ordering through retries), `INVALID_RECORD` (abortable, KIP-360 epoch bump after the
//! abort), producer-id errors, an abortable error with requests in flight, an abort whose epoch
//! bump fails, and a Produce failure during the commit.

use std::time::Instant;

use ferrokafka::{ErrorKind, Producer};
use ferrokafka_tests::mock::{inject_produce_errors, leaders, move_leader};

use super::{
    Api, E, PIPELINED, SMALL_BATCHES, TOPIC, WAIT, abort, abortable_then_aborted, all_delivered,
    all_failed, bounded, cluster, commit, committed_txn, committed_txn_to, indices, invalid_record,
    outcomes, send_lenient, send_range,
};

#[test]
fn produce_not_leader_in_transaction_is_retried_in_order() {
    const RECORDS: usize = 600;
    let c = cluster(3);
    // Small batches and five requests in flight per connection: several requests per partition
    // are in flight when one fails, and the mock refuses the later ones out of sequence.
    let current = leaders(&c.mock, TOPIC, WAIT).expect("leaders");
    let (delivered, retries) = c.with_txn(&PIPELINED, async |p| {
        let mut delivered = committed_txn(p, 0..30).await;
        p.begin_transaction().expect("begin");
        let mut pending = send_range(p, 100..100 + RECORDS / 2, None).await;
        inject_produce_errors(
            &c.mock,
            &[
                E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                E::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            ],
        );
        // A real leader move in the middle too.
        let to = current[&1] % 3 + 1;
        move_leader(&c.mock, TOPIC, 1, to).expect("move leader");
        pending.extend(send_range(p, 100 + RECORDS / 2..100 + RECORDS, None).await);
        commit(p).await.expect("commit_transaction");
        delivered.extend(all_delivered(outcomes(pending).await));
        (
            delivered,
            p.metrics().get("record-retry-total").unwrap_or(0.0),
        )
    });
    eprintln!("record-retry-total {retries}");
    assert!(retries > 0.0, "the injected errors caused retries");
    c.assert_committed(&delivered);
}

#[test]
fn produce_invalid_record_in_transaction_is_abortable() {
    let c = cluster(3);
    let (failed, delivered) = c.with_txn(&[], async |p| {
        p.begin_transaction().expect("begin 1");
        // One batch, one request (partition 0 only), refused before anything is appended.
        inject_produce_errors(&c.mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        let failed = outcomes(send_range(p, 0..10, Some(0)).await).await;
        abortable_then_aborted(p, 1).await;
        // The abort bumps the epoch (KIP-360; the mock's InitProducerId is v4); the next
        // transaction works, on partition 0 too.
        let mut delivered = committed_txn(p, 100..160).await;
        delivered.extend(committed_txn_to(p, 200..210, Some(0)).await);
        (failed, delivered)
    });
    all_failed(&failed, "INVALID_RECORD", invalid_record);
    c.assert_committed(&delivered);
}

/// A producer-id error on Produce inside a transaction (the broker lost the producer's state):
/// abortable with a KIP-360 epoch bump; after the abort the next transaction commits.
/// `INVALID_PRODUCER_ID_MAPPING` skips EndTxn (Java: the coordinator has no mapping to end the
/// transaction with) and goes straight to InitProducerId with the current identity.
fn produce_producer_id_error_is_abortable(error: E) {
    let c = cluster(3);
    let (failed, delivered) = c.with_txn(&[], async |p| {
        let mut delivered = committed_txn(p, 0..30).await;
        p.begin_transaction().expect("begin 2");
        inject_produce_errors(&c.mock, &[error]);
        let failed = outcomes(send_range(p, 100..110, Some(0)).await).await;
        abortable_then_aborted(p, 2).await;
        delivered.extend(committed_txn(p, 200..260).await);
        (failed, delivered)
    });
    all_failed(&failed, "the injected error", |e| {
        e.kind() == ErrorKind::Broker
    });
    c.assert_committed(&delivered);
}

#[test]
fn produce_unknown_producer_id_in_transaction_is_abortable() {
    produce_producer_id_error_is_abortable(E::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
}

/// Observed: `abort_transaction` never completes: it returns `Timeout` after `max.block.ms`, and
/// calling it again (as the API says to) fails `InvalidState`: "abort_transaction is not allowed
/// in state READY". Reading: `TransactionManager::pending_request` sends InitProducerId instead
/// of EndTxn (`skip_end_txn`), whose success takes the state from ABORTING_TRANSACTION to READY
/// (`handle_init_producer_id`); but `resolve_txn_calls` completes `AbortTransaction` only on
/// `(Ready, ended == Some(false))`, and `TxnCtx::ended` is set only by a successful EndTxn
/// (`handle_end_txn`), never by `handle_txn_init_producer_id`. The waiter is left hanging and
/// the state moved on, so the abort can neither be awaited nor repeated.
#[test]
// Regression (fixed): after INVALID_PRODUCER_ID_MAPPING, abort_transaction (which skips EndTxn) never resolves: Timeout, then InvalidState in READY
fn produce_invalid_producer_id_mapping_in_transaction_is_abortable() {
    produce_producer_id_error_is_abortable(E::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING);
}

/// INVALID_PRODUCER_EPOCH on Produce inside a transaction is abortable (KIP-588); an epoch bump
/// follows the abort, and the next transaction commits.
#[test]
fn produce_invalid_producer_epoch_in_transaction_is_abortable() {
    produce_producer_id_error_is_abortable(E::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH);
}

/// A non-retriable Produce error on one request while later requests of the same partitions are
/// in flight (five per connection, small batches): the later ones are refused out of sequence
/// by the mock; the transaction is abortable; after the abort (and epoch bump) the next
/// transaction commits on every partition.
#[test]
fn produce_abortable_error_with_requests_in_flight() {
    let c = cluster(3);
    let (written, delivered) = c.with_txn(&SMALL_BATCHES, async |p| {
        let mut delivered = committed_txn(p, 0..60).await;
        p.begin_transaction().expect("begin 2");
        let (mut pending, _) = send_lenient(p, 1000..1100, None).await;
        inject_produce_errors(&c.mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        let (more, refused) = send_lenient(p, 1100..1400, None).await;
        pending.extend(more);
        for (i, e) in &refused {
            assert!(
                e.kind() == ErrorKind::TransactionAbortable,
                "send {i}: {e:?}"
            );
        }
        let outcomes2 = outcomes(pending).await;
        let failures = outcomes2.iter().filter(|(_, r)| r.is_err()).count();
        eprintln!(
            "transaction 2: {failures} of {} accepted records failed, {} sends refused",
            outcomes2.len(),
            refused.len()
        );
        assert!(failures > 0);
        abortable_then_aborted(p, 2).await;
        delivered.extend(committed_txn(p, 2000..2300).await);
        (indices(&outcomes2), delivered)
    });
    c.assert_log(&delivered, &written);
}

/// An abort that needs a KIP-360 epoch bump (after an abortable Produce error in the
/// transaction), whose InitProducerId fails with TRANSACTIONAL_ID_AUTHORIZATION_FAILED
/// (abortable for InitProducerId). Java makes the InitProducerId the abort's result
/// (`beginCompletingTransaction` returns `initializeTransactions(...)` when `epochBumpRequired`),
/// and its handler fails that result (`abortableError` → `result.fail`): the abort call fails
/// promptly and may be called again.
///
/// Observed: the abort call returns `Timeout` after `max.block.ms` (3 s here); a second abort
/// then succeeds (EndTxn again, then the bump). Reading: the failed InitProducerId moves the
/// state INITIALIZING → ABORTABLE_ERROR, and `resolve_txn_calls` has no arm for
/// `(AbortTransaction, AbortableError)`, so the waiting abort is never told. Same family as
/// `produce_invalid_producer_id_mapping_in_transaction_is_abortable`: the abort's completion is
/// tied to `ended == Some(false)` and READY only.
#[test]
// Regression (fixed): abort whose epoch-bump InitProducerId fails (abortable) never resolves: Timeout after max.block.ms instead of the error
fn abort_whose_epoch_bump_fails_reports_the_error() {
    let c = cluster(1);
    let delivered = c.with_txn(&[("max.block.ms", "3000")], async |p| {
        p.begin_transaction().expect("begin 1");
        inject_produce_errors(&c.mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        drop(outcomes(send_range(p, 0..10, Some(0)).await).await);
        super::assert_abortable("commit 1", commit(p).await);
        c.inject(
            Api::InitProducerId,
            &[E::RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
        );
        let started = Instant::now();
        let first = bounded("abort 1", p.abort_transaction()).await;
        eprintln!("abort 1: {first:?} after {:?}", started.elapsed());
        assert!(
            matches!(&first, Err(f) if f.kind() == ErrorKind::TransactionAbortable),
            "the abort reports the failed epoch bump: {first:?}"
        );
        abort(p).await.expect("abort again");
        committed_txn(p, 100..130).await
    });
    c.assert_committed(&delivered);
}

/// Transactions `3..6` on partition 0, each committed (deliveries noted in `delivered`) or, if
/// the commit fails, aborted and noted in the returned failures.
async fn later_transactions_on_partition_0(
    p: &Producer,
    delivered: &mut Vec<(usize, ferrokafka::RecordMetadata)>,
) -> Vec<String> {
    let mut later_failures = Vec::new();
    for n in 3..6 {
        p.begin_transaction().expect("begin");
        let start = n * 100;
        let pending = send_range(p, start..start + 10, Some(0)).await;
        match commit(p).await {
            Ok(()) => delivered.extend(all_delivered(outcomes(pending).await)),
            Err(e) => {
                later_failures.push(format!("transaction {n}: {e}"));
                abort(p).await.expect("abort");
                drop(outcomes(pending).await);
            }
        }
    }
    later_failures
}

/// A Produce failure that arrives while the commit is already under way (the records were
/// lingering when `commit_transaction` was called, so the commit's flush sent them). Java does
/// not bump the epoch then (`maybeTransitionToErrorState`: no bump while completing) but closes
/// the sequence gap of the failed batch (`handleFailedBatch` → `adjustSequencesDueToFailedBatch`),
/// so after the abort the next transaction writes to the same partition from the failed
/// batch's sequence.
///
/// Observed: every later transaction on that partition fails `Abortable` with
/// `Produce returned OUT_OF_ORDER_SEQUENCE_NUMBER(45)` (3 of 3 here). Reading: the failed batch
/// goes through `requeue_or_fail` → `sequence_done(false)` (`Sequences::fail`: the partition
/// becomes "unresolved", its next sequence stays after the failed batch) and
/// `TransactionManager::handle_produce_error`, which drops the KIP-360 bump because the state is
/// `CommittingTransaction` (`bump_epoch && !completing`). Nothing renumbers the partition for a
/// transactional producer (`bump_epoch_locally` is idempotent-only), so after the abort the next
/// batch carries sequence 10 where the broker expects 0. Its OUT_OF_ORDER_SEQUENCE_NUMBER is not
/// retried for a transactional producer (`reset_retry` needs `txn.is_none()`) and, arriving
/// during the commit again, again triggers no bump: the partition stays poisoned. The same
/// would happen on a real broker, which never appended the failed batch.
#[test]
// Regression (fixed): a Produce failure during commit leaves a sequence gap (no epoch bump, no renumbering); every later transaction on that partition fails OUT_OF_ORDER_SEQUENCE_NUMBER
fn produce_error_during_commit_then_abort_then_same_partition() {
    let c = cluster(1);
    let (failed, delivered) = c.with_txn(&[("linger.ms", "1000")], async |p| {
        let mut delivered = committed_txn(p, 0..10).await;
        p.begin_transaction().expect("begin 2");
        let pending = send_range(p, 100..110, Some(0)).await;
        inject_produce_errors(&c.mock, &[E::RD_KAFKA_RESP_ERR_INVALID_RECORD]);
        // The commit flushes the lingering batch, which the broker refuses.
        abortable_then_aborted(p, 2).await;
        let failed = outcomes(pending).await;
        // Three more transactions on partition 0, each committed the same way; a failed one is
        // aborted and noted.
        let later_failures = later_transactions_on_partition_0(p, &mut delivered).await;
        assert!(
            later_failures.is_empty(),
            "transactions after the aborted one failed: {later_failures:#?}"
        );
        (failed, delivered)
    });
    all_failed(&failed, "INVALID_RECORD", invalid_record);
    c.assert_committed(&delivered);
}
