//! Transactions: adding partitions, commit and abort, coordinator errors, fencing, offsets,
//! transactions v2 and epoch bumps on sequence errors.

use crate::*;

pub(crate) fn txn_config() -> EngineConfig {
    let mut c = config();
    c.transactional_id = Some("tx-1".into());
    c.idempotence = true;
    c
}

pub(crate) type TxnEvent = (TxnCall, Result<(), TxnFailureKind>);

/// The event of a transactional call that succeeded.
pub(crate) fn ok(call: TxnCall) -> TxnEvent {
    (call, Ok(()))
}

impl Sim {
    pub(crate) fn txn_events(&self) -> Vec<TxnEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Transaction { call, result } => {
                    Some((*call, result.clone().map_err(|f| f.kind)))
                }
                _ => None,
            })
            .collect()
    }

    pub(crate) fn last_txn_event(&self) -> Option<TxnEvent> {
        self.txn_events().pop()
    }

    pub(crate) fn init(&mut self) {
        self.net.engine.init_transactions().unwrap();
        self.run_for(ms(50));
        assert_eq!(self.last_txn_event(), Some(ok(TxnCall::InitTransactions)));
    }

    /// Begins a transaction, appends `values` to `topic`, commits and runs for `wait`: the
    /// last transaction event.
    pub(crate) fn transact(
        &mut self,
        topic: &str,
        values: &[&str],
        wait: Duration,
    ) -> Option<TxnEvent> {
        self.net.engine.begin_transaction().unwrap();
        for v in values {
            self.append(topic, None, v.as_bytes());
        }
        self.net.engine.commit_transaction().unwrap();
        self.run_for(wait);
        self.last_txn_event()
    }

    /// The coordinator's (status, commits, aborts) of tx-1.
    pub(crate) fn txn(&self) -> (TxnStatus, u64, u64) {
        let t = self.net.cluster.transaction("tx-1").expect("initialised");
        (t.status, t.commits, t.aborts)
    }

    /// COMMIT (true) / ABORT (false) markers of a partition.
    pub(crate) fn markers(&self, topic: &str, partition: i32) -> Vec<bool> {
        let markers = self.net.cluster.markers(topic, partition);
        markers.iter().map(|m| m.commit).collect()
    }
}

#[test]
fn transaction_commits_after_adding_partitions_and_flushing() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("a", 2).topic("b", 1));
    sim.init();
    assert!(sim.order().contains(&ApiKey::FIND_COORDINATOR));
    sim.net.engine.begin_transaction().unwrap();
    for i in 0..6 {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        sim.append(topic, Some(format!("k{i}").as_bytes()), b"v");
    }
    sim.net.engine.commit_transaction().unwrap();
    sim.run_for(ms(100));
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::CommitTransaction)));
    assert_eq!(sim.end_txns(), vec![true]);
    // AddPartitionsToTxn came before the first Produce, EndTxn after the last.
    let order = sim.order();
    let first_add = order
        .iter()
        .position(|a| *a == ApiKey::ADD_PARTITIONS_TO_TXN);
    let first_produce = order.iter().position(|a| *a == ApiKey::PRODUCE);
    let last_produce = order.iter().rposition(|a| *a == ApiKey::PRODUCE);
    let end = order.iter().position(|a| *a == ApiKey::END_TXN);
    assert!(first_add < first_produce && last_produce < end, "{order:?}");
    // In the log: six transactional records, each partition's COMMIT marker after its
    // records, all of them visible to read_committed.
    let mut stored = 0;
    for (t, p) in [("a", 0), ("a", 1), ("b", 0)] {
        let records = sim.net.cluster.records(t, p);
        assert!(
            records
                .iter()
                .all(|s| s.transactional && s.producer_id == 1000)
        );
        assert_eq!(sim.net.cluster.committed_records(t, p), records);
        if let Some(last) = records.last() {
            let markers = sim.net.cluster.markers(t, p);
            assert!(
                matches!(markers.as_slice(), [m] if m.commit && m.offset > last.offset),
                "{markers:?}"
            );
        }
        stored += records.len();
    }
    assert_eq!(stored, 6);
    assert_eq!(sim.txn(), (TxnStatus::CompleteCommit, 1, 0));
    assert_eq!(
        sim.net.engine.transaction_state(),
        Some(TxnStateKind::Ready)
    );
}

#[test]
fn abort_fails_unsent_records_and_ends_with_abort() {
    let mut c = txn_config();
    c.accumulator.linger = secs(60); // nothing leaves before the abort
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.init();
    sim.net.engine.begin_transaction().unwrap();
    let (b, _, _) = sim.append("t", None, b"x");
    // The partition joins the transaction (AddPartitionsToTxn), the record stays queued.
    sim.run_for(ms(5));
    let joined = sim.net.cluster.transaction("tx-1").unwrap().partitions;
    assert_eq!(joined, BTreeSet::from([("t".to_string(), 0)]));
    sim.net.engine.abort_transaction().unwrap();
    sim.run_for(ms(50));
    assert!(matches!(
        sim.failed().as_slice(),
        [(id, DeliveryError::TransactionAborted)] if *id == b
    ));
    assert_eq!(sim.end_txns(), vec![false]);
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert!(sim.net.cluster.records("t", 0).is_empty());
    assert_eq!(sim.markers("t", 0), vec![false]);
    // The next transaction works.
    assert_eq!(
        sim.transact("t", &["y"], ms(50)),
        Some(ok(TxnCall::CommitTransaction))
    );
    assert_eq!(sim.values("t", 0), ["y"]);
    assert_eq!(sim.markers("t", 0), vec![false, true]);
    assert_eq!(sim.txn(), (TxnStatus::CompleteCommit, 1, 1));
}

#[test]
fn concurrent_transactions_on_add_partitions_is_retried() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.net.cluster.inject(Fault::fail(
        ApiKey::ADD_PARTITIONS_TO_TXN,
        &[ErrorCode::CONCURRENT_TRANSACTIONS; 2],
    ));
    sim.init();
    let committed = sim.transact("t", &["x"], secs(1));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    assert_eq!(sim.served(ApiKey::ADD_PARTITIONS_TO_TXN), 3);
    assert_eq!(sim.net.cluster.committed_records("t", 0).len(), 1);
}

#[test]
fn not_coordinator_on_end_txn_rediscovers_the_coordinator() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.net
        .cluster
        .inject(Fault::fail(ApiKey::END_TXN, &[ErrorCode::NOT_COORDINATOR]));
    sim.init();
    let finds = sim.served(ApiKey::FIND_COORDINATOR);
    let committed = sim.transact("t", &["x"], secs(1));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    assert_eq!(sim.served(ApiKey::FIND_COORDINATOR), finds + 1);
    assert_eq!(sim.served(ApiKey::END_TXN), 2);
    // The second EndTxn committed, once.
    assert_eq!(sim.markers("t", 0), vec![true]);
    assert_eq!(sim.txn(), (TxnStatus::CompleteCommit, 1, 0));
}

#[test]
fn producer_fenced_is_fatal() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.net
        .cluster
        .inject(Fault::fail(ApiKey::END_TXN, &[ErrorCode::PRODUCER_FENCED]).times(u32::MAX));
    sim.init();
    let fenced = sim.transact("t", &["x"], ms(200));
    assert_eq!(
        fenced,
        Some((TxnCall::CommitTransaction, Err(TxnFailureKind::Fatal)))
    );
    assert_eq!(
        sim.net.engine.transaction_state(),
        Some(TxnStateKind::FatalError)
    );
    assert_eq!(
        sim.net.engine.begin_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Fatal)
    );
    // Nothing was committed.
    assert_eq!(sim.txn(), (TxnStatus::Ongoing, 0, 0));
    assert!(sim.net.cluster.committed_records("t", 0).is_empty());
}

#[test]
fn failed_batch_makes_the_transaction_abortable() {
    let mut c = txn_config();
    c.retries = 0;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.net
        .cluster
        .inject(Fault::fail(ApiKey::PRODUCE, &[ErrorCode::INVALID_RECORD]));
    sim.init();
    sim.net.engine.begin_transaction().unwrap();
    sim.append("t", None, b"bad");
    sim.run_for(ms(50));
    assert_eq!(
        sim.net.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Abortable)
    );
    sim.net.engine.abort_transaction().unwrap();
    sim.run_for(ms(200));
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert_eq!(
        sim.net.engine.transaction_state(),
        Some(TxnStateKind::Ready)
    );
    let committed = sim.transact("t", &["good"], ms(200));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    let visible = sim.net.cluster.committed_records("t", 0);
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].value.as_deref(), Some(&b"good"[..]));
    assert_eq!(sim.txn(), (TxnStatus::CompleteCommit, 1, 1));
}

#[test]
fn send_offsets_adds_the_group_then_commits_offsets_to_its_coordinator() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.init();
    sim.net.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    let offset = OffsetToCommit {
        topic: "in".into(),
        partition: 3,
        offset: 42,
        leader_epoch: None,
        metadata: None,
    };
    sim.net
        .engine
        .send_offsets_to_transaction(vec![offset], GroupMetadata::new("g1"))
        .unwrap();
    sim.run_for(ms(50));
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::SendOffsets)));
    let order = sim.order();
    let add = order.iter().position(|a| *a == ApiKey::ADD_OFFSETS_TO_TXN);
    let commit = order.iter().position(|a| *a == ApiKey::TXN_OFFSET_COMMIT);
    assert!(add.is_some() && add < commit);
    // Pending in the transaction, committed with it.
    let pending = sim.net.cluster.transaction("tx-1").unwrap().pending_offsets;
    let pending: Vec<_> = pending
        .iter()
        .map(|o| (o.group.as_str(), o.topic.as_str(), o.partition, o.offset))
        .collect();
    assert_eq!(pending, vec![("g1", "in", 3, 42)]);
    assert_eq!(sim.net.cluster.committed_offset("g1", "in", 3), None);
    sim.net.engine.commit_transaction().unwrap();
    sim.run_for(ms(50));
    assert_eq!(sim.end_txns(), vec![true]);
    assert_eq!(sim.net.cluster.committed_offset("g1", "in", 3), Some(42));
}

#[test]
fn transactional_calls_are_checked_against_the_state() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    assert_eq!(
        sim.net.engine.begin_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::InvalidState)
    );
    sim.init();
    let rec = OutgoingRecord {
        partition: Some(0),
        ..record("t", b"x")
    };
    assert!(matches!(
        sim.net.engine.append(&rec, sim.net.now),
        Err(SendError::Transaction(_))
    ));
    assert_eq!(
        sim.net.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::InvalidState)
    );
    let mut plain = Sim::new(config(), brokers(1).topic("t", 1));
    assert_eq!(
        plain.net.engine.init_transactions().map_err(|f| f.kind),
        Err(TxnFailureKind::NotTransactional)
    );
}

#[test]
fn transactions_v2_adds_partitions_implicitly_and_adopts_the_end_txn_epoch() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1).transactions_v2(true));
    sim.init();
    for round in 0..2 {
        sim.net.engine.begin_transaction().unwrap();
        sim.append("t", None, format!("r{round}-a").as_bytes());
        sim.append("t", None, format!("r{round}-b").as_bytes());
        if round == 0 {
            let offset = OffsetToCommit {
                topic: "in".into(),
                partition: 0,
                offset: 7,
                leader_epoch: None,
                metadata: None,
            };
            sim.net
                .engine
                .send_offsets_to_transaction(vec![offset], GroupMetadata::new("g"))
                .unwrap();
            sim.run_for(ms(20));
        }
        sim.net.engine.commit_transaction().unwrap();
        sim.run_for(ms(50));
        assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::CommitTransaction)));
    }
    // No AddPartitionsToTxn or AddOffsetsToTxn: Produce v12 and TxnOffsetCommit v5 add them.
    assert!(!sim.order().contains(&ApiKey::ADD_PARTITIONS_TO_TXN));
    assert!(!sim.order().contains(&ApiKey::ADD_OFFSETS_TO_TXN));
    assert_eq!(sim.served(ApiKey::TXN_OFFSET_COMMIT), 1);
    assert_eq!(sim.net.cluster.committed_offset("g", "in", 0), Some(7));
    assert_eq!(sim.produce_versions(), vec![12]);
    // EndTxn v5 returned epoch + 1: the second transaction uses it, sequences from 0.
    assert_eq!(sim.stamps("t", 0), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
    assert_eq!(sim.markers("t", 0), vec![true, true]);
    assert_eq!(sim.net.cluster.committed_records("t", 0).len(), 4);
}

#[test]
fn without_transactions_v2_produce_is_capped_at_11() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.init();
    let committed = sim.transact("t", &["x"], ms(50));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    assert_eq!(sim.produce_versions(), vec![11]);
    assert!(sim.order().contains(&ApiKey::ADD_PARTITIONS_TO_TXN));
}

/// Idempotent producer: a sequence error on the partition's next batch bumps the epoch and the
/// batch is resent under it, from sequence 0 (Java `canRetry`).
pub(crate) fn sequence_error_bumps_the_epoch_and_resends(code: ErrorCode) {
    let mut c = config();
    c.idempotence = true;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.append("t", None, b"a");
    sim.run_for(ms(20));
    sim.net
        .cluster
        .inject(Fault::fail(ApiKey::PRODUCE, &[code]));
    let (b, _, _) = sim.append("t", None, b"b");
    sim.run_for(secs(1));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert!(sim.failed().is_empty());
    // The resent batch carries epoch 1 and restarts at sequence 0.
    assert_eq!(sim.stamps("t", 0), vec![(0, 0), (1, 0)]);
    assert_eq!(sim.values("t", 0), ["a", "b"]);
    assert_eq!(sim.served(ApiKey::INIT_PRODUCER_ID), 1, "bumped locally");
}

#[test]
fn unknown_producer_id_bumps_the_epoch_and_resends() {
    sequence_error_bumps_the_epoch_and_resends(ErrorCode::UNKNOWN_PRODUCER_ID);
}

#[test]
fn out_of_order_sequence_on_the_next_batch_bumps_and_resends() {
    sequence_error_bumps_the_epoch_and_resends(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
}

#[test]
fn duplicate_sequence_is_success_without_offset() {
    let mut c = config();
    c.idempotence = true;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.net.cluster.inject(Fault::fail(
        ApiKey::PRODUCE,
        &[ErrorCode::DUPLICATE_SEQUENCE_NUMBER],
    ));
    let (b, _, _) = sim.append("t", None, b"a");
    sim.run_for(ms(20));
    assert_eq!(sim.delivered().get(&b), Some(&None));
    assert!(sim.failed().is_empty());
}

#[test]
fn empty_transactions_end_locally_without_end_txn() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.init();
    let committed = sim.transact("t", &[], ms(20));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    sim.net.engine.begin_transaction().unwrap();
    sim.net.engine.abort_transaction().unwrap();
    sim.run_for(ms(20));
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert!(!sim.order().contains(&ApiKey::END_TXN));
    assert_eq!(sim.txn(), (TxnStatus::Empty, 0, 0));
    // A transaction with records still ends with EndTxn.
    let committed = sim.transact("t", &["x"], ms(20));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    assert_eq!(sim.end_txns(), vec![true]);
}

#[test]
fn abort_before_any_partition_was_added_sends_no_end_txn() {
    let mut c = txn_config();
    c.accumulator.linger = secs(60);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    // AddPartitionsToTxn never reaches the coordinator, which does not know the transaction.
    sim.net
        .cluster
        .inject(Fault::hang(ApiKey::ADD_PARTITIONS_TO_TXN));
    sim.init();
    sim.net.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.run_for(ms(5));
    sim.net.engine.abort_transaction().unwrap();
    sim.run_for(secs(40));
    assert!(!sim.order().contains(&ApiKey::END_TXN), "{:?}", sim.order());
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert_eq!(sim.txn(), (TxnStatus::Empty, 0, 0));
    assert!(sim.net.cluster.records("t", 0).is_empty());
}

#[test]
fn counters_measure_compression() {
    let mut c = config();
    c.accumulator.compression =
        ferrokafka_records::Compression::new(ferrokafka_records::CompressionType::Lz4, None)
            .unwrap();
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    for _ in 0..50 {
        sim.append("t", None, &[b'a'; 200]);
    }
    sim.run_for(ms(20));
    let counters = sim.net.engine.counters();
    assert_eq!(counters.records_sent, 50);
    assert!(counters.batch_bytes > 0);
    // Repetitive values compress well: compressed / uncompressed well below 1.
    assert!(
        counters.uncompressed_bytes > 4 * counters.batch_bytes,
        "{counters:?}"
    );
    // And the broker decompressed them all.
    assert_eq!(sim.values("t", 0), vec!["a".repeat(200); 50]);
}

#[test]
fn epoch_bump_while_another_partition_is_in_flight_never_sends_without_sequence() {
    let mut c = config();
    c.idempotence = true;
    c.request_timeout = secs(1);
    // Partition 0 is led by broker 1, partition 1 by broker 2.
    let mut sim = Sim::new(c, brokers(2).topic("t", 2));
    // Partition 1's first Produce stays in flight under epoch 0 while partition 0 bumps.
    sim.net
        .cluster
        .inject(Fault::hang(ApiKey::PRODUCE).on_broker(2));
    let mut sent: Vec<(i32, &str)> = Vec::new();
    for (p, v) in [(1, "p1-a"), (0, "p0-a")] {
        sim.append_to("t", p, v.as_bytes());
        sent.push((p, v));
    }
    sim.run_for(ms(20));
    // Partition 0's next batch: UNKNOWN_PRODUCER_ID.
    sim.net.cluster.inject(
        Fault::fail(ApiKey::PRODUCE, &[ErrorCode::UNKNOWN_PRODUCER_ID]).on_partition("t", 0),
    );
    for (p, v) in [(0, "p0-b"), (1, "p1-b")] {
        sim.append_to("t", p, v.as_bytes());
        sent.push((p, v));
        sim.run_for(ms(20));
    }
    sim.run_for(secs(3));
    assert!(sim.failed().is_empty(), "{:?}", sim.failed());
    assert_eq!(sim.net.cluster.pending_faults(), 0);
    assert_eq!(
        sim.stamps("t", 0),
        [(0, 0), (1, 0)],
        "partition 0 bumped the epoch"
    );
    for p in 0..2 {
        let stored = sim.net.cluster.records("t", p);
        assert!(
            stored
                .iter()
                .all(|s| s.producer_id == 1000 && s.sequence >= 0),
            "partition {p}: {stored:?}"
        );
        let want: Vec<&str> = sent.iter().filter(|(q, _)| *q == p).map(|s| s.1).collect();
        assert_eq!(sim.values("t", p), want, "partition {p}");
    }
}

#[test]
fn acks_zero_delivers_when_written_and_counts_unwritten_requests_in_flight() {
    let mut c = config();
    c.acks = 0;
    c.max_in_flight_per_connection = 2;
    c.accumulator.max_in_flight_per_partition = 5;
    c.accumulator.batch_size = 100;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.append("t", None, b"warm-up");
    sim.run_for(ms(20));
    sim.hold_writes = true;
    let ids: Vec<BatchId> = (0..4)
        .map(|i| sim.append("t", None, format!("{i:0>90}").as_bytes()).0)
        .collect();
    sim.run_for(ms(20));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|id| !delivered.contains_key(id)),
        "nothing written yet"
    );
    // Unwritten acks=0 requests count as in flight: at most 2 on the connection.
    assert_eq!(sim.served(ApiKey::PRODUCE), 1 + 2);
    sim.hold_writes = false;
    for conn in std::mem::take(&mut sim.held_writes) {
        sim.net.engine.handle_written(conn, sim.net.now);
    }
    sim.run_for(ms(20));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|id| delivered.get(id) == Some(&None)),
        "{:?}",
        sim.events
    );
    assert_eq!(sim.net.cluster.records("t", 0).len(), 5);
}
