//! Transaction flows read as transcripts: calls, the request the manager waits on, responses.

mod common;

use common::{PID, Tp, txn, txn_in};
use ferrokafka_txn::{
    Call, CoordinatorRequest, ErrorClass, FailureReason, ProducerIdAndEpoch, StateKind,
    TransactionManager, TxnError, TxnState,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

const A: Tp = ("orders", 0);
const B: Tp = ("orders", 1);

fn bumped(p: ProducerIdAndEpoch) -> ProducerIdAndEpoch {
    ProducerIdAndEpoch::new(p.producer_id, p.epoch + 1)
}

#[test]
fn commit_then_begin_again() {
    let mut m = txn();
    assert_eq!(m.pending_request(), None);
    m.init_transactions().unwrap();
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::InitProducerId {
            current: ProducerIdAndEpoch::NONE
        })
    );
    // The coordinator is loading, then moved: the state waits.
    let r = m.handle_init_producer_id(Err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS));
    assert_eq!(r, Ok(ErrorClass::Retry));
    let r = m.handle_init_producer_id(Err(ErrorCode::NOT_COORDINATOR));
    assert_eq!(r, Ok(ErrorClass::RediscoverCoordinator));
    assert_eq!(m.state(), &TxnState::Initializing);
    assert_eq!(m.handle_init_producer_id(Ok(PID)), Ok(ErrorClass::Success));
    assert_eq!(m.state(), &TxnState::Ready);
    assert_eq!(m.producer(), PID);

    m.begin_transaction().unwrap();
    m.send().unwrap();
    m.send_offsets_to_transaction().unwrap();
    let stamp = m.sequences_mut().assign(&A, 10).unwrap();
    assert_eq!(
        (ProducerIdAndEpoch::from(stamp), stamp.base_sequence),
        (PID, 0)
    );
    m.sequences_mut().complete(&A, 0).unwrap();
    m.commit_transaction().unwrap();
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::EndTxn {
            commit: true,
            producer: PID
        })
    );
    assert_eq!(
        m.handle_end_txn(Err(ErrorCode::CONCURRENT_TRANSACTIONS)),
        Ok(ErrorClass::Retry)
    );
    assert_eq!(m.state(), &TxnState::CommittingTransaction);
    m.handle_end_txn(Ok(None)).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
    // Same identity: the partition's sequence carries on.
    assert_eq!(m.sequences().next_sequence(&A), 10);
    m.begin_transaction().unwrap();
}

#[test]
fn abortable_produce_error_bumps_the_epoch_after_the_abort() {
    let mut m = txn_in(StateKind::InTransaction);
    m.sequences_mut().assign(&A, 4).unwrap();
    m.sequences_mut().fail(&A, 0).unwrap();
    let class = m
        .handle_produce_error(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: true });
    assert!(m.epoch_bump_required());
    let reason = FailureReason::Broker {
        api: ApiKey::PRODUCE,
        code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
    };
    assert_eq!(m.state(), &TxnState::AbortableError(reason));
    assert_eq!(
        m.send(),
        Err(TxnError::Abortable {
            call: Call::Send,
            reason
        })
    );
    assert!(matches!(
        m.commit_transaction(),
        Err(TxnError::Abortable { .. })
    ));
    m.abort_transaction().unwrap();
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::EndTxn {
            commit: false,
            producer: PID
        })
    );
    m.handle_end_txn(Ok(None)).unwrap();
    // KIP-360: InitProducerId with the current id and epoch instead of READY.
    assert_eq!(m.state(), &TxnState::Initializing);
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::InitProducerId { current: PID })
    );
    m.handle_init_producer_id(Ok(bumped(PID))).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
    assert!(!m.epoch_bump_required());
    assert_eq!(m.sequences().next_sequence(&A), 0);
    m.begin_transaction().unwrap();
    assert_eq!(
        ProducerIdAndEpoch::from(m.sequences_mut().assign(&A, 1).unwrap()),
        bumped(PID)
    );
}

#[test]
fn invalid_producer_id_mapping_skips_end_txn() {
    let mut m = txn_in(StateKind::InTransaction);
    let class = m
        .handle_coordinator_error(
            ApiKey::ADD_PARTITIONS_TO_TXN,
            ErrorCode::INVALID_PRODUCER_ID_MAPPING,
        )
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: true });
    m.abort_transaction().unwrap();
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::InitProducerId { current: PID })
    );
    // EndTxn is not expected ... but InitProducerId is, straight from ABORTING_TRANSACTION.
    m.handle_init_producer_id(Ok(bumped(PID))).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
    assert_eq!(m.producer(), bumped(PID));
}

#[test]
fn without_epoch_bump_support_unknown_producer_id_is_fatal() {
    let mut m = txn_in(StateKind::CommittingTransaction);
    m.set_capabilities(false, false);
    let class = m
        .handle_end_txn(Err(ErrorCode::UNKNOWN_PRODUCER_ID))
        .unwrap();
    assert_eq!(class, ErrorClass::Fatal);
    assert_eq!(m.state().kind(), StateKind::FatalError);
    assert!(matches!(m.abort_transaction(), Err(TxnError::Fatal { .. })));
}

#[test]
fn failed_commit_becomes_abortable_and_aborting_ignores_further_abortable_errors() {
    let mut m = txn_in(StateKind::CommittingTransaction);
    let class = m
        .handle_end_txn(Err(ErrorCode::TRANSACTION_ABORTABLE))
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(m.state().kind(), StateKind::AbortableError);
    m.abort_transaction().unwrap();
    // Skipped while aborting: still ABORTING_TRANSACTION, no bump requested.
    m.handle_produce_error(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
        .unwrap();
    m.handle_end_txn(Err(ErrorCode::TRANSACTION_ABORTABLE))
        .unwrap();
    assert_eq!(m.state(), &TxnState::AbortingTransaction);
    assert!(!m.epoch_bump_required());
    m.handle_end_txn(Ok(None)).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
}

#[test]
fn produce_failure_while_committing_is_abortable_without_bump() {
    let mut m = txn_in(StateKind::CommittingTransaction);
    let class = m
        .handle_produce_error(ErrorCode::NOT_ENOUGH_REPLICAS)
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(m.state().kind(), StateKind::AbortableError);
    assert!(!m.epoch_bump_required());
}

#[test]
fn transactions_v2_end_txn_returns_a_new_identity_and_sequences_restart() {
    let mut m = txn_in(StateKind::InTransaction);
    m.set_capabilities(true, true);
    m.sequences_mut().assign(&A, 3).unwrap();
    m.sequences_mut().assign(&B, 2).unwrap();
    m.sequences_mut().complete(&A, 0).unwrap();
    m.sequences_mut().complete(&B, 0).unwrap();
    m.commit_transaction().unwrap();
    m.handle_end_txn(Ok(Some(bumped(PID)))).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
    assert_eq!(m.producer(), bumped(PID));
    assert_eq!(m.sequences().next_sequence(&A), 0);
    assert_eq!(m.sequences().next_sequence(&B), 0);
    // Under v2 a produce failure needs no client-side bump: EndTxn bumps anyway.
    m.begin_transaction().unwrap();
    let class = m.handle_produce_error(ErrorCode::INVALID_RECORD).unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: false });
    m.abort_transaction().unwrap();
    let exhausted = ProducerIdAndEpoch::new(PID.producer_id + 1, 0);
    m.handle_end_txn(Ok(Some(exhausted))).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
    assert_eq!(m.producer(), exhausted);
}

#[test]
fn authorization_failure_during_init_can_be_retried() {
    let mut m = txn();
    m.init_transactions().unwrap();
    let class = m
        .handle_init_producer_id(Err(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED))
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(m.state().kind(), StateKind::AbortableError);
    assert!(matches!(
        m.begin_transaction(),
        Err(TxnError::Abortable { .. })
    ));
    m.init_transactions().unwrap();
    assert_eq!(m.state(), &TxnState::Initializing);
    m.handle_init_producer_id(Ok(PID)).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
}

#[test]
fn fencing_is_fatal_and_sticky() {
    let mut m = txn_in(StateKind::InTransaction);
    m.handle_coordinator_error(ApiKey::ADD_OFFSETS_TO_TXN, ErrorCode::PRODUCER_FENCED)
        .unwrap();
    for call in [Call::Send, Call::CommitTransaction] {
        let got = if call == Call::Send {
            m.send()
        } else {
            m.commit_transaction()
        };
        assert!(matches!(got, Err(TxnError::Fatal { call: c, .. }) if c == call));
    }
    assert!(m.handle_end_txn(Ok(None)).is_err());
    assert!(m.handle_init_producer_id(Ok(PID)).is_err());
    assert_eq!(m.state().kind(), StateKind::FatalError);
    assert_eq!(m.pending_request(), None);
}

#[test]
fn expired_batch_makes_the_transaction_abortable_with_bump() {
    let mut m = txn_in(StateKind::InTransaction);
    m.handle_batch_expired().unwrap();
    assert_eq!(
        m.state(),
        &TxnState::AbortableError(FailureReason::BatchExpired)
    );
    assert!(m.epoch_bump_required());
    let mut r = txn_in(StateKind::Ready);
    assert!(matches!(
        r.handle_batch_expired(),
        Err(TxnError::InvalidTransition { .. })
    ));
}

#[test]
fn idempotent_producer_flow_and_local_epoch_bump() {
    let mut m: TransactionManager<Tp> = TransactionManager::new(false, 5).unwrap();
    assert_eq!(
        m.init_transactions(),
        Err(TxnError::NotTransactional {
            call: Call::InitTransactions
        })
    );
    assert_eq!(
        m.begin_transaction(),
        Err(TxnError::NotTransactional {
            call: Call::BeginTransaction
        })
    );
    // Records may be appended before the id arrives.
    m.send().unwrap();
    m.start_idempotent_init().unwrap();
    m.send().unwrap();
    m.handle_init_producer_id(Ok(ProducerIdAndEpoch::new(5, i16::MAX - 1)))
        .unwrap();
    m.sequences_mut().assign(&A, 2).unwrap();
    m.sequences_mut().assign(&A, 2).unwrap();
    m.sequences_mut().fail(&A, 0).unwrap();
    let rewrites = m.bump_epoch_locally([A]).unwrap();
    assert_eq!(m.producer(), ProducerIdAndEpoch::new(5, i16::MAX));
    assert_eq!(rewrites.len(), 1);
    assert_eq!(rewrites[0].old_base_sequence, 2);
    assert_eq!(rewrites[0].new.base_sequence, 0);
    // Exhausted epoch: drop the id, READY → UNINITIALIZED, init again.
    assert_eq!(m.bump_epoch_locally([A]).unwrap(), Vec::new());
    assert_eq!(m.state(), &TxnState::Uninitialized);
    m.start_idempotent_init().unwrap();
    assert!(m.take_rewrites().is_empty());
    let fresh = ProducerIdAndEpoch::new(6, 0);
    m.handle_init_producer_id(Ok(fresh)).unwrap();
    assert_eq!(m.state(), &TxnState::Ready);
    // The in-flight batch of A was renumbered under the new id when it was adopted.
    let rewrites = m.take_rewrites();
    assert_eq!(rewrites.len(), 1);
    assert_eq!(
        (
            rewrites[0].partition,
            ProducerIdAndEpoch::from(rewrites[0].new)
        ),
        (A, fresh)
    );
    assert_eq!(rewrites[0].new.base_sequence, 0);
    assert!(m.take_rewrites().is_empty());
    assert_eq!(m.sequences().next_sequence(&A), 2);
    // A fatal Produce error ends an idempotent producer too; others are the sender's business.
    assert_eq!(
        m.handle_produce_error(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
        Ok(ErrorClass::Batch)
    );
    assert_eq!(m.state(), &TxnState::Ready);
    m.handle_produce_error(ErrorCode::CLUSTER_AUTHORIZATION_FAILED)
        .unwrap();
    assert!(matches!(m.send(), Err(TxnError::Fatal { .. })));
}

#[test]
fn partitions_join_the_transaction_through_add_partitions_to_txn() {
    let mut m = txn_in(StateKind::Ready);
    assert!(matches!(
        m.add_partition(&A),
        Err(TxnError::InvalidState {
            call: Call::Send,
            ..
        })
    ));
    m.begin_transaction().unwrap();
    m.add_partition(&A).unwrap();
    m.add_partition(&B).unwrap();
    m.add_partition(&A).unwrap();
    assert!(!m.may_send_to(&A), "not yet added to the transaction");
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::AddPartitionsToTxn)
    );
    assert_eq!(m.take_partitions_to_add(), vec![A, B]);
    assert_eq!(m.pending_request(), None);
    // A retriable answer: the same partitions are asked for again.
    assert_eq!(
        m.handle_add_partitions([ErrorCode::CONCURRENT_TRANSACTIONS, ErrorCode::NONE]),
        Ok(ErrorClass::Retry)
    );
    assert_eq!(m.take_partitions_to_add(), vec![A, B]);
    assert_eq!(
        m.handle_add_partitions([ErrorCode::NONE, ErrorCode::NONE]),
        Ok(ErrorClass::Success)
    );
    assert!(m.may_send_to(&A) && m.may_send_to(&B));
    m.add_partition(&A).unwrap();
    assert_eq!(m.pending_request(), None, "already in the transaction");
    assert!(
        m.handle_add_partitions([ErrorCode::NONE]).is_err(),
        "nothing pending"
    );
    m.commit_transaction().unwrap();
    m.handle_end_txn(Ok(None)).unwrap();
    assert!(!m.may_send_to(&A), "a new transaction starts empty");
}

#[test]
fn add_partitions_failure_takes_the_most_severe_class() {
    let mut m = txn_in(StateKind::InTransaction);
    m.add_partition(&A).unwrap();
    m.add_partition(&B).unwrap();
    m.take_partitions_to_add();
    let class = m
        .handle_add_partitions([
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            ErrorCode::OPERATION_NOT_ATTEMPTED,
        ])
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(m.state().kind(), StateKind::AbortableError);
    assert!(!m.may_send_to(&A));
    m.abort_transaction().unwrap();
    m.handle_end_txn(Ok(None)).unwrap();

    m.begin_transaction().unwrap();
    m.add_partition(&A).unwrap();
    m.take_partitions_to_add();
    let class = m
        .handle_add_partitions([
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            ErrorCode::PRODUCER_FENCED,
        ])
        .unwrap();
    assert_eq!(class, ErrorClass::Fatal);
    assert!(!m.may_send_to(&A));
}

#[test]
fn under_transactions_v2_partitions_join_implicitly() {
    let mut m = txn_in(StateKind::InTransaction);
    m.set_capabilities(true, true);
    m.add_partition(&A).unwrap();
    assert!(m.may_send_to(&A));
    assert_eq!(m.pending_request(), None);
    assert!(m.take_partitions_to_add().is_empty());
}

#[test]
fn new_partitions_are_added_before_end_txn_commit() {
    let mut m = txn_in(StateKind::InTransaction);
    m.add_partition(&A).unwrap();
    m.commit_transaction().unwrap();
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::AddPartitionsToTxn)
    );
    assert_eq!(m.take_partitions_to_add(), vec![A]);
    assert_eq!(
        m.pending_request(),
        None,
        "EndTxn waits for AddPartitionsToTxn"
    );
    m.handle_add_partitions([ErrorCode::NONE]).unwrap();
    assert_eq!(
        m.pending_request(),
        Some(CoordinatorRequest::EndTxn {
            commit: true,
            producer: PID
        })
    );
    // An abort drops partitions that were never asked for.
    let mut m = txn_in(StateKind::InTransaction);
    m.add_partition(&B).unwrap();
    m.abort_transaction().unwrap();
    assert!(m.take_partitions_to_add().is_empty());
    assert!(matches!(
        m.pending_request(),
        Some(CoordinatorRequest::EndTxn { commit: false, .. })
    ));
}

#[test]
fn idempotent_producer_recovers_from_an_abortable_init_failure() {
    let mut m: TransactionManager<Tp> = TransactionManager::new(false, 5).unwrap();
    m.start_idempotent_init().unwrap();
    let class = m
        .handle_init_producer_id(Err(ErrorCode::TRANSACTION_ABORTABLE))
        .unwrap();
    assert_eq!(class, ErrorClass::Abortable { bump_epoch: false });
    assert_eq!(m.state().kind(), StateKind::AbortableError);
    m.start_idempotent_init().unwrap();
    assert_eq!(m.state(), &TxnState::Initializing);
    m.handle_init_producer_id(Ok(PID)).unwrap();
    m.send().unwrap();
}
