//! Shared helpers: drive a manager into each state through public calls and events only.

#![allow(dead_code, unreachable_pub)]

use ferrokafka_txn::{ProducerIdAndEpoch, StateKind, TransactionManager};
use ferrokafka_wire::{ApiKey, ErrorCode};

/// Partition key used by the tests.
pub type Tp = (&'static str, i32);

pub const PID: ProducerIdAndEpoch = ProducerIdAndEpoch {
    producer_id: 4000,
    epoch: 3,
};

/// A transactional manager whose coordinator supports epoch bumps (InitProducerId v3+).
pub fn txn() -> TransactionManager<Tp> {
    let mut m = TransactionManager::new(true, 5).unwrap();
    m.set_capabilities(true, false);
    m
}

/// A transactional manager driven into `kind` through calls and responses.
pub fn txn_in(kind: StateKind) -> TransactionManager<Tp> {
    let mut m = txn();
    use StateKind as S;
    if kind == S::Uninitialized {
        return m;
    }
    m.init_transactions().unwrap();
    if kind == S::Initializing {
        return m;
    }
    m.handle_init_producer_id(Ok(PID)).unwrap();
    if kind == S::Ready {
        return m;
    }
    m.begin_transaction().unwrap();
    match kind {
        S::InTransaction => {}
        S::CommittingTransaction => m.commit_transaction().unwrap(),
        S::AbortingTransaction => m.abort_transaction().unwrap(),
        S::AbortableError => {
            m.handle_produce_error(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
                .unwrap();
        }
        S::FatalError => {
            m.handle_coordinator_error(ApiKey::ADD_PARTITIONS_TO_TXN, ErrorCode::PRODUCER_FENCED)
                .unwrap();
        }
        _ => unreachable!("all states handled above"),
    }
    assert_eq!(m.state().kind(), kind, "helper failed to reach {kind}");
    m
}
