//! The transition table and every (state, call) and (state, event) pair, against expectations
//! written here independently of the implementation (Java `TransactionManager.State`).

mod common;

use common::{PID, txn_in};
use ferrokafka_txn::{
    Call, ErrorClass, FailureReason, ProducerIdAndEpoch, StateKind, TxnError, TxnState,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

use StateKind::{
    AbortableError as AbE, AbortingTransaction as Abt, CommittingTransaction as Com,
    FatalError as Fat, InTransaction as InT, Initializing as Ini, Ready as Rdy,
    Uninitialized as Uni,
};

/// Java's valid transitions as (from, to) pairs, FATAL_ERROR reachable from all eight.
const ALLOWED: &[(StateKind, StateKind)] = &[
    (Rdy, Uni),
    (AbE, Uni),
    (Uni, Ini),
    (Abt, Ini),
    (Ini, Rdy),
    (Com, Rdy),
    (Abt, Rdy),
    (Rdy, InT),
    (InT, Com),
    (InT, Abt),
    (AbE, Abt),
    (InT, AbE),
    (Com, AbE),
    (AbE, AbE),
    (Ini, AbE),
    (Uni, Fat),
    (Ini, Fat),
    (Rdy, Fat),
    (InT, Fat),
    (Com, Fat),
    (Abt, Fat),
    (AbE, Fat),
    (Fat, Fat),
];

#[test]
fn transition_table_matches_java_for_all_64_pairs() {
    let mut checked = 0;
    for from in StateKind::ALL {
        for to in StateKind::ALL {
            let expected = ALLOWED.contains(&(from, to));
            assert_eq!(
                from.can_transition_to(to),
                expected,
                "{from} -> {to}: expected allowed={expected}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 64);
    assert_eq!(ALLOWED.len(), 23);
}

#[test]
fn fatal_is_terminal_in_the_table() {
    for to in StateKind::ALL {
        assert_eq!(Fat.can_transition_to(to), to == Fat, "FATAL_ERROR -> {to}");
    }
}

#[test]
fn helper_reaches_every_state() {
    for kind in StateKind::ALL {
        assert_eq!(txn_in(kind).state().kind(), kind);
    }
}

/// What a call is expected to do in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Succeeds, leaving the manager in this state.
    Ok(StateKind),
    /// `TxnError::InvalidState` naming the call and state.
    Invalid,
    /// `TxnError::Abortable`.
    Abortable,
    /// `TxnError::Fatal`.
    Fatal,
}

fn expected_call(call: Call, state: StateKind) -> Expect {
    use Expect::{Abortable, Fatal, Invalid, Ok};
    match (state, call) {
        (Fat, _) => Fatal,
        (AbE, Call::AbortTransaction) => Ok(Abt),
        (AbE, _) => Abortable,
        (Uni, Call::InitTransactions) => Ok(Ini),
        (Ini, Call::InitTransactions) => Ok(Ini),
        (Rdy, Call::BeginTransaction) => Ok(InT),
        (InT, Call::Send | Call::SendOffsetsToTransaction) => Ok(InT),
        (InT, Call::CommitTransaction) => Ok(Com),
        (Com, Call::CommitTransaction) => Ok(Com),
        (InT, Call::AbortTransaction) => Ok(Abt),
        (Abt, Call::AbortTransaction) => Ok(Abt),
        _ => Invalid,
    }
}

fn run_call(
    m: &mut ferrokafka_txn::TransactionManager<common::Tp>,
    call: Call,
) -> Result<(), TxnError> {
    match call {
        Call::InitTransactions => m.init_transactions(),
        Call::BeginTransaction => m.begin_transaction(),
        Call::Send => m.send(),
        Call::SendOffsetsToTransaction => m.send_offsets_to_transaction(),
        Call::CommitTransaction => m.commit_transaction(),
        Call::AbortTransaction => m.abort_transaction(),
        _ => unreachable!("unknown call"),
    }
}

#[test]
fn every_state_and_call_pair() {
    let mut checked = 0;
    for state in StateKind::ALL {
        for call in Call::ALL {
            let mut m = txn_in(state);
            let before = *m.state();
            let got = run_call(&mut m, call);
            match expected_call(call, state) {
                Expect::Ok(after) => {
                    assert_eq!(got, Ok(()), "{call} in {state}");
                    assert_eq!(m.state().kind(), after, "{call} in {state}");
                }
                Expect::Invalid => {
                    assert_eq!(
                        got,
                        Err(TxnError::InvalidState { call, state }),
                        "{call} in {state}"
                    );
                    assert_eq!(m.state(), &before);
                }
                Expect::Abortable => {
                    assert!(
                        matches!(got, Err(TxnError::Abortable { call: c, .. }) if c == call),
                        "{call} in {state}: {got:?}"
                    );
                    assert_eq!(m.state(), &before);
                }
                Expect::Fatal => {
                    assert!(
                        matches!(got, Err(TxnError::Fatal { call: c, .. }) if c == call),
                        "{call} in {state}: {got:?}"
                    );
                    assert_eq!(m.state(), &before);
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 48);
}

#[test]
fn errors_name_the_call_and_the_state() {
    let mut m = txn_in(Rdy);
    let err = m.commit_transaction().unwrap_err();
    assert_eq!(
        err.to_string(),
        "commit_transaction is not allowed in state READY"
    );
    let mut m = txn_in(Fat);
    let err = m.begin_transaction().unwrap_err().to_string();
    assert!(
        err.starts_with("begin_transaction failed: the producer is in a fatal state"),
        "{err}"
    );
    assert!(err.contains("PRODUCER_FENCED"), "{err}");
    let m = txn_in(AbE);
    let err = m.send().unwrap_err().to_string();
    assert!(
        err.contains("must be aborted") && err.contains("TOPIC_AUTHORIZATION_FAILED"),
        "{err}"
    );
}

/// Events applied in every state.
#[derive(Debug, Clone, Copy)]
enum Event {
    InitPidOk,
    EndTxnOk,
    ProduceAbortable,
    CoordinatorFatal,
    CoordinatorRetry,
    CoordinatorRediscover,
}

const EVENTS: [Event; 6] = [
    Event::InitPidOk,
    Event::EndTxnOk,
    Event::ProduceAbortable,
    Event::CoordinatorFatal,
    Event::CoordinatorRetry,
    Event::CoordinatorRediscover,
];

/// Expected result: `Ok(state after)` or `Err(())` with the state unchanged.
fn expected_event(event: Event, state: StateKind) -> Result<StateKind, ()> {
    match event {
        Event::InitPidOk => match state {
            Ini => Ok(Rdy),
            _ => Err(()),
        },
        Event::EndTxnOk => match state {
            Com | Abt => Ok(Rdy),
            _ => Err(()),
        },
        Event::ProduceAbortable => match state {
            InT | Com | AbE | Ini => Ok(AbE),
            // Skipped while aborting.
            Abt => Ok(Abt),
            Uni | Rdy | Fat => Err(()),
            _ => unreachable!(),
        },
        Event::CoordinatorFatal => Ok(Fat),
        Event::CoordinatorRetry | Event::CoordinatorRediscover => Ok(state),
    }
}

#[test]
fn every_state_and_event_pair() {
    for state in StateKind::ALL {
        for event in EVENTS {
            let mut m = txn_in(state);
            let before = *m.state();
            let got = match event {
                Event::InitPidOk => m.handle_init_producer_id(Ok(ProducerIdAndEpoch::new(7, 0))),
                Event::EndTxnOk => m.handle_end_txn(Ok(None)),
                Event::ProduceAbortable => m.handle_produce_error(ErrorCode::INVALID_RECORD),
                Event::CoordinatorFatal => {
                    m.handle_coordinator_error(ApiKey::END_TXN, ErrorCode::INVALID_TXN_STATE)
                }
                Event::CoordinatorRetry => m.handle_coordinator_error(
                    ApiKey::ADD_PARTITIONS_TO_TXN,
                    ErrorCode::CONCURRENT_TRANSACTIONS,
                ),
                Event::CoordinatorRediscover => m.handle_coordinator_error(
                    ApiKey::ADD_OFFSETS_TO_TXN,
                    ErrorCode::NOT_COORDINATOR,
                ),
            };
            if let Ok(after) = expected_event(event, state) {
                assert!(got.is_ok(), "{event:?} in {state}: {got:?}");
                assert_eq!(m.state().kind(), after, "{event:?} in {state}");
            } else {
                assert!(got.is_err(), "{event:?} in {state}: {got:?}");
                assert_eq!(m.state(), &before, "{event:?} in {state}");
            }
            if state == Fat {
                // Sticky: the first reason survives.
                assert_eq!(m.state(), &before);
            }
            if matches!(event, Event::CoordinatorRetry) {
                assert_eq!(got, Ok(ErrorClass::Retry));
            }
            if matches!(event, Event::CoordinatorRediscover) {
                assert_eq!(got, Ok(ErrorClass::RediscoverCoordinator));
            }
        }
    }
}

#[test]
fn fatal_keeps_the_first_reason() {
    let mut m = txn_in(Fat);
    m.handle_produce_error(ErrorCode::CLUSTER_AUTHORIZATION_FAILED)
        .unwrap();
    assert_eq!(
        m.state(),
        &TxnState::FatalError(FailureReason::Broker {
            api: ApiKey::ADD_PARTITIONS_TO_TXN,
            code: ErrorCode::PRODUCER_FENCED
        })
    );
    assert_eq!(m.producer(), PID);
}

/// An idempotent-only producer: transactional calls are refused in every state, `send` is
/// allowed until an error state.
#[test]
fn idempotent_producer_calls_in_every_reachable_state() {
    use ferrokafka_txn::TransactionManager;
    let reach = |kind: StateKind| {
        let mut m: TransactionManager<common::Tp> = TransactionManager::new(false, 5).unwrap();
        if kind != Uni {
            m.start_idempotent_init().unwrap();
        }
        if matches!(kind, Rdy | Fat) {
            m.handle_init_producer_id(Ok(PID)).unwrap();
        }
        if kind == Fat {
            m.handle_produce_error(ErrorCode::PRODUCER_FENCED).unwrap();
        }
        assert_eq!(m.state().kind(), kind);
        m
    };
    for state in [Uni, Ini, Rdy, Fat] {
        for call in Call::ALL {
            let mut m = reach(state);
            let got = run_call(&mut m, call);
            match call {
                Call::Send if state == Fat => {
                    assert!(
                        matches!(got, Err(TxnError::Fatal { .. })),
                        "{call} in {state}"
                    );
                }
                Call::Send => assert_eq!(got, Ok(()), "{call} in {state}"),
                _ => assert_eq!(
                    got,
                    Err(TxnError::NotTransactional { call }),
                    "{call} in {state}"
                ),
            }
            assert_eq!(m.state().kind(), state);
        }
        let mut m = reach(state);
        let bump = m.bump_epoch_locally(Vec::new());
        if state == Rdy {
            assert_eq!(bump, Ok(Vec::new()));
            assert_eq!(
                m.producer(),
                ProducerIdAndEpoch::new(PID.producer_id, PID.epoch + 1)
            );
        } else {
            assert_eq!(
                bump,
                Err(TxnError::LocalBumpNotAllowed {
                    transactional: false,
                    state
                })
            );
        }
    }
    let mut t = txn_in(Rdy);
    assert_eq!(
        t.bump_epoch_locally(Vec::new()),
        Err(TxnError::LocalBumpNotAllowed {
            transactional: true,
            state: Rdy
        })
    );
}
