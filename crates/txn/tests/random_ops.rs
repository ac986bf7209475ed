//! Property tests: random call/event sequences never panic, only take transitions the table
//! allows, and never leave FATAL_ERROR; random sequence operations keep the per-partition
//! numbering consistent with a simple model.

use ferrokafka_txn::{
    ProducerIdAndEpoch, SequenceError, Sequences, StateKind, TransactionManager, TxnState,
    increment_sequence, is_next_sequence,
};
use ferrokafka_wire::{ApiKey, ErrorCode};
use proptest::prelude::*;

const CODES: &[ErrorCode] = &[
    ErrorCode::NONE,
    ErrorCode::NOT_COORDINATOR,
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::CONCURRENT_TRANSACTIONS,
    ErrorCode::PRODUCER_FENCED,
    ErrorCode::INVALID_PRODUCER_EPOCH,
    ErrorCode::INVALID_TXN_STATE,
    ErrorCode::TRANSACTION_ABORTABLE,
    ErrorCode::UNKNOWN_PRODUCER_ID,
    ErrorCode::INVALID_PRODUCER_ID_MAPPING,
    ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::UNSUPPORTED_VERSION,
];

const APIS: &[ApiKey] = &[
    ApiKey::FIND_COORDINATOR,
    ApiKey::ADD_PARTITIONS_TO_TXN,
    ApiKey::ADD_OFFSETS_TO_TXN,
    ApiKey::TXN_OFFSET_COMMIT,
];

#[derive(Debug, Clone)]
enum Op {
    Init,
    IdempotentInit,
    Begin,
    Send,
    SendOffsets,
    Commit,
    Abort,
    InitPid(Result<i16, usize>),
    EndTxn(Result<bool, usize>),
    Coordinator(usize, usize),
    Produce(usize),
    Expired,
    Bump(bool),
    Capabilities(bool, bool),
    AddPartition(i32),
    TakeToAdd,
    AddPartitions(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let code = 0..CODES.len();
    prop_oneof![
        Just(Op::Init),
        Just(Op::IdempotentInit),
        Just(Op::Begin),
        Just(Op::Send),
        Just(Op::SendOffsets),
        Just(Op::Commit),
        Just(Op::Abort),
        prop_oneof![(0..3_i16).prop_map(Ok), code.clone().prop_map(Err)].prop_map(Op::InitPid),
        prop_oneof![any::<bool>().prop_map(Ok), code.clone().prop_map(Err)].prop_map(Op::EndTxn),
        (0..APIS.len(), code.clone()).prop_map(|(a, c)| Op::Coordinator(a, c)),
        code.prop_map(Op::Produce),
        Just(Op::Expired),
        any::<bool>().prop_map(Op::Bump),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::Capabilities(a, b)),
        (0..3_i32).prop_map(Op::AddPartition),
        Just(Op::TakeToAdd),
        (0..CODES.len()).prop_map(Op::AddPartitions),
    ]
}

fn apply(m: &mut TransactionManager<i32>, op: &Op) {
    // Results are allowed to be errors; the properties are about the state.
    let _ = match *op {
        Op::Init => m.init_transactions().map(|()| None),
        Op::IdempotentInit => m.start_idempotent_init().map(|()| None),
        Op::Begin => m.begin_transaction().map(|()| None),
        Op::Send => m.send().map(|()| None),
        Op::SendOffsets => m.send_offsets_to_transaction().map(|()| None),
        Op::Commit => m.commit_transaction().map(|()| None),
        Op::Abort => m.abort_transaction().map(|()| None),
        Op::InitPid(r) => m
            .handle_init_producer_id(
                r.map(|e| ProducerIdAndEpoch::new(100, i16::MAX - 2 + e))
                    .map_err(|c| CODES[c]),
            )
            .map(Some),
        Op::EndTxn(r) => m
            .handle_end_txn(
                r.map(|v2| v2.then(|| ProducerIdAndEpoch::new(101, 0)))
                    .map_err(|c| CODES[c]),
            )
            .map(Some),
        Op::Coordinator(a, c) => m.handle_coordinator_error(APIS[a], CODES[c]).map(Some),
        Op::Produce(c) => m.handle_produce_error(CODES[c]).map(Some),
        Op::Expired => m.handle_batch_expired().map(|()| None),
        Op::Bump(with_partition) => {
            let affected = if with_partition { vec![0] } else { vec![] };
            m.bump_epoch_locally(affected).map(|_| None)
        }
        Op::AddPartition(tp) => m.add_partition(&tp).map(|()| None),
        Op::TakeToAdd => {
            m.take_partitions_to_add();
            Ok(None)
        }
        Op::AddPartitions(c) => m.handle_add_partitions([CODES[c]]).map(Some),
        Op::Capabilities(bump, v2) => {
            m.set_capabilities(bump, v2);
            Ok(None)
        }
    };
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn check_run(transactional: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut m = TransactionManager::<i32>::new(transactional, 5).unwrap();
    let mut fatal: Option<TxnState> = None;
    for op in ops {
        let before = *m.state();
        apply(&mut m, op);
        let after = *m.state();
        let (from, to) = (before.kind(), after.kind());
        // init_transactions / start_idempotent_init after an abortable failure *during* init are
        // the calls that take two steps (ABORTABLE_ERROR -> UNINITIALIZED -> INITIALIZING); check both.
        let two_step = matches!(op, Op::Init | Op::IdempotentInit)
            && from.can_transition_to(StateKind::Uninitialized)
            && StateKind::Uninitialized.can_transition_to(to);
        prop_assert!(
            from == to || from.can_transition_to(to) || two_step,
            "{op:?}: illegal {from} -> {to}"
        );
        if let Some(f) = fatal {
            prop_assert_eq!(after, f, "fatal must be sticky (after {:?})", op);
        } else if to == StateKind::FatalError {
            fatal = Some(after);
        }
        if transactional {
            prop_assert!(
                to != StateKind::InTransaction || m.send().is_ok(),
                "send must be allowed in a transaction"
            );
        }
        prop_assert!(
            m.send().is_ok()
                || matches!(to, StateKind::FatalError | StateKind::AbortableError)
                || transactional
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn transactional_random_ops(ops in proptest::collection::vec(op(), 0..60)) {
        check_run(true, &ops)?;
    }

    #[test]
    fn idempotent_random_ops(ops in proptest::collection::vec(op(), 0..60)) {
        check_run(false, &ops)?;
    }
}

#[derive(Debug, Clone)]
enum SeqOp {
    Assign(i32, i32),
    CompleteHead(i32),
    FailHead(i32),
    Bump(i32),
    NewProducer,
}

fn seq_op() -> impl Strategy<Value = SeqOp> {
    let tp = 0..3_i32;
    prop_oneof![
        4 => (tp.clone(), prop_oneof![1..5_i32, Just(i32::MAX - 3)]).prop_map(|(t, n)| SeqOp::Assign(t, n)),
        3 => tp.clone().prop_map(SeqOp::CompleteHead),
        1 => tp.clone().prop_map(SeqOp::FailHead),
        1 => tp.prop_map(SeqOp::Bump),
        1 => Just(SeqOp::NewProducer),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// The in-flight batches of a partition under the current identity are consecutive by the
    /// broker's rule, at most 5, and `next_sequence` follows the last one.
    #[test]
    fn sequences_stay_consecutive(ops in proptest::collection::vec(seq_op(), 0..80)) {
        let mut s = Sequences::<i32>::new(5).unwrap();
        let mut pid = 1_i64;
        s.set_producer(ProducerIdAndEpoch::new(pid, 0));
        for op in &ops {
            match *op {
                SeqOp::Assign(tp, n) => {
                    let before_next = s.next_sequence(&tp);
                    match s.assign(&tp, n) {
                        Ok(st) => {
                            prop_assert_eq!(st.base_sequence, before_next);
                            prop_assert_eq!(ProducerIdAndEpoch::from(st), s.producer());
                            prop_assert_eq!(s.next_sequence(&tp), increment_sequence(before_next, n));
                        }
                        Err(SequenceError::TooManyInFlight { limit }) => {
                            prop_assert_eq!(s.in_flight(&tp).len(), limit);
                        }
                        Err(SequenceError::StaleInFlight) => {
                            prop_assert!(!s.in_flight(&tp).is_empty());
                        }
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
                SeqOp::CompleteHead(tp) => {
                    if let Some(head) = s.in_flight(&tp).first().copied() {
                        s.complete(&tp, head.base_sequence).unwrap();
                    }
                }
                SeqOp::FailHead(tp) => {
                    if let Some(head) = s.in_flight(&tp).first().copied() {
                        s.fail(&tp, head.base_sequence).unwrap();
                    }
                }
                SeqOp::Bump(tp) => {
                    let _ = s.bump_epoch_locally([tp]);
                    if !s.producer().is_valid() {
                        pid += 1;
                        s.set_producer(ProducerIdAndEpoch::new(pid, 0));
                    }
                }
                SeqOp::NewProducer => {
                    pid += 1;
                    s.set_producer(ProducerIdAndEpoch::new(pid, 0));
                }
            }
            let unresolved: Vec<i32> = s.unresolved_partitions().copied().collect();
            for tp in 0..3 {
                let inflight = s.in_flight(&tp);
                prop_assert!(inflight.len() <= 5);
                if unresolved.contains(&tp) {
                    continue;
                }
                for w in inflight.windows(2) {
                    prop_assert!(is_next_sequence(w[0].last_sequence(), w[1].base_sequence), "{w:?}");
                }
            }
        }
    }
}
