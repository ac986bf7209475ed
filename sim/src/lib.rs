//! Seeded deterministic simulation of the producer (the second half of issue 14).
//!
//! The real sans-IO [`Engine`] (with its metadata, accumulator and txn crates) talks to the
//! sans-IO fake cluster ([`Cluster`]) in one thread, over simulated time and a simulated
//! network. A seed draws a [`Scenario`]: the guarantee under test ([`Mode`]), the producer's
//! settings, the application's calls (sends, flushes, transactions begun, committed and
//! aborted, then close) and a fault schedule ([`FaultKind`]) applied through the fake's
//! fault-injection API. [`run`] checks the invariants after every step and at the end:
//!
//! - every record resolves (delivered or failed) within `delivery.timeout.ms` (plus
//!   [`DEADLINE_SLACK_MS`]) of its `append`, and exactly once;
//! - with idempotence (and transactions) no record is ever in the log twice, and every
//!   delivered record is in it; without idempotence (`max.in.flight` 1) every delivered record
//!   is in it at least once; in both, each partition's records first appear in send order;
//! - a record failed with an outcome that is not "unknown" was never written;
//! - a committed transaction's records are all visible to read_committed, an aborted one's
//!   none; the consumer group's offset is the one the last committed transaction sent
//!   (`send_offsets_to_transaction`), an aborted one's never; a completed flush covered every
//!   record appended before it;
//! - no panic (the caller catches it) and no livelock: bounded steps and simulated time.
//!
//! A seed also draws the producer's settings (`linger.ms`, `batch.size`, `delivery.timeout.ms`,
//! `request.timeout.ms`, `retry.backoff.ms`, `max.in.flight.requests.per.connection`), the
//! cluster's (1–4 partitions on 3 brokers, answer latency, transactions v2, the highest Produce
//! version served) and the faults: Produce errors per partition (NOT_LEADER_OR_FOLLOWER,
//! REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND, NETWORK_EXCEPTION,
//! LEADER_NOT_AVAILABLE, KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_OR_PARTITION), coordinator errors on
//! FindCoordinator, InitProducerId, AddPartitionsToTxn and EndTxn (CONCURRENT_TRANSACTIONS,
//! NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE), MESSAGE_TOO_LARGE
//! (splits), connections dropped before or after serving a request, answers delayed per broker
//! (so they reorder across connections; connections are also polled in a drawn order), leader
//! moves and epoch bumps, brokers down and up, throttling, `min.insync.replicas` outages and
//! coordinator moves ([`schedule::CLASSES`] names the classes `--faults` selects).
//!
//! Same seed, same run: the only randomness is [`Rng`], seeded; no clock is read (the
//! `Instant` base is fixed once per run and only offsets matter).

pub mod schedule;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrokafka_engine::{
    BatchId, ConnId, DeliveryError, Engine, EngineConfig, Event, GroupMetadata, Io, OffsetToCommit,
    OutgoingRecord, SendError, TxnCall, TxnFailureKind,
};
use ferrokafka_fake::{Cluster, ClusterConfig, ConnId as FakeConn, Fault};
use ferrokafka_metadata::BrokerAddress;
use ferrokafka_wire::frame::split_frame;
use ferrokafka_wire::{ApiKey, ErrorCode};

pub use schedule::{CLASSES, FaultKind, Mode, Op, Rng, Scenario, TimedFault};

/// How late past `delivery.timeout.ms` a record may resolve: the engine's timers are clamped one
/// millisecond ahead, and the simulation steps to the next timer.
pub const DEADLINE_SLACK_MS: u64 = 5;
/// Steps (one step: apply what is due, settle both sides, check) before a run is a livelock.
pub const MAX_STEPS: u64 = 200_000;
const TOPIC: &str = "sim";
/// The consumer group and input topic of `send_offsets_to_transaction`.
const GROUP: &str = "sim-group";
const INPUT: &str = "sim-input";
const WALL0: i64 = 1_700_000_000_000;

/// Seeds of `0..100_000` (all fault classes) that fail because of engine bugs found by the
/// simulation and not fixed yet, each with the bug: `cargo xtask sim` reports them as known
/// instead of failing, and says when one passes (remove it then). Empty: the bugs found so far
/// are fixed, and their seeds are regression tests (`sim/tests/regressions.rs`).
pub const KNOWN_FAILURES: &[(u64, &str)] = &[];

/// The known engine bug a seed (with every fault class) fails on, if any.
pub fn known_failure(seed: u64) -> Option<&'static str> {
    KNOWN_FAILURES
        .iter()
        .find(|(s, _)| *s == seed)
        .map(|(_, why)| *why)
}

/// Switches that plant known bugs, to show the simulation can fail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plant {
    /// The fake forgets idempotent duplicates and appends them again.
    pub fake_appends_duplicates: bool,
}

/// A broken invariant.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Step at which it was seen.
    pub step: u64,
    /// Simulated milliseconds since the start.
    pub at_ms: u64,
    /// What broke.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} at {}ms: {}",
            self.step, self.at_ms, self.message
        )
    }
}

/// What a passing run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Steps taken.
    pub steps: u64,
    /// Simulated milliseconds.
    pub sim_ms: u64,
    /// Records appended.
    pub records: u64,
    /// Records delivered.
    pub delivered: u64,
    /// Records failed.
    pub failed: u64,
    /// Transactions committed.
    pub committed: u64,
    /// Transactions aborted.
    pub aborted: u64,
    /// Batches split after MESSAGE_TOO_LARGE.
    pub splits: u64,
    /// Records failed by `delivery.timeout.ms`.
    pub timed_out: u64,
    /// Transactional calls that completed with an error.
    pub txn_errors: u64,
    /// The longest a record took to resolve after its `append`, in milliseconds.
    pub slowest_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Failed { maybe_written: bool },
}

#[derive(Debug)]
struct Rec {
    partition: i32,
    appended_ms: u64,
    txn: Option<usize>,
    outcome: Option<Outcome>,
    error: Option<DeliveryError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnEnd {
    Open,
    Committed,
    Aborted,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    No,
    Flush(u64, u64),
    Txn(TxnCall),
    Closed,
}

/// Runs one scenario with the given bugs planted.
///
/// # Errors
/// The first broken invariant.
pub fn run(scenario: &Scenario, plant: Plant) -> Result<Summary, Failure> {
    let mut sim = Sim::new(scenario, plant);
    let result = sim.run_all();
    result.map(|()| sim.summary())
}

/// Runs one scenario and returns its trace (faults applied, connections, events), for
/// `--trace`.
pub fn run_traced(scenario: &Scenario, plant: Plant) -> (Result<Summary, Failure>, Vec<String>) {
    let mut sim = Sim::new(scenario, plant);
    sim.trace = Some(Vec::new());
    let result = sim.run_all().map(|()| sim.summary());
    (result, sim.trace.take().unwrap_or_default())
}

struct Sim<'a> {
    sc: &'a Scenario,
    engine: Engine,
    cluster: Cluster,
    rng: Rng,
    start: Instant,
    now: Instant,
    step: u64,
    open: BTreeMap<ConnId, FakeConn>,
    // application
    next_op: usize,
    op_due_ms: u64,
    blocked: Blocked,
    waiting_send: Option<(u32, u64)>,
    close_started: Option<u64>,
    // faults
    next_fault: usize,
    heals: Vec<(u64, FaultKind)>,
    // bookkeeping
    recs: Vec<Rec>,
    batches: HashMap<BatchId, Vec<(u32, i32)>>,
    txns: Vec<TxnEnd>,
    current_txn: Option<usize>,
    /// Per transaction: the last offset `send_offsets_to_transaction` added to it.
    txn_offsets: Vec<Option<i64>>,
    sending_offset: Option<i64>,
    /// The group's offset as of the last committed transaction that carried one.
    committed_offset: Option<i64>,
    flushes: Vec<(u64, Vec<u32>)>,
    seen_hw: Vec<i64>,
    summary: Summary,
    trace: Option<Vec<String>>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, plant: Plant) -> Self {
        let start = Instant::now();
        let mut cfg = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
        cfg.idempotence = sc.mode != Mode::AtLeastOnce;
        if sc.mode == Mode::Transactional {
            cfg.transactional_id = Some("sim-txn".to_owned());
            cfg.transaction_timeout = Duration::from_secs(60);
        }
        // As the facade does: the one Java key sets both.
        cfg.max_in_flight_per_connection = sc.max_in_flight;
        cfg.accumulator.max_in_flight_per_partition = sc.max_in_flight;
        cfg.request_timeout = Duration::from_millis(sc.request_timeout_ms);
        cfg.max_block = Duration::from_millis(sc.delivery_timeout_ms);
        cfg.reconnect_backoff = Duration::from_millis(20);
        cfg.reconnect_backoff_max = Duration::from_millis(500);
        cfg.connection_setup_timeout = Duration::from_secs(1);
        cfg.accumulator.linger = Duration::from_millis(sc.linger_ms);
        cfg.accumulator.batch_size = sc.batch_size;
        cfg.accumulator.delivery_timeout = Duration::from_millis(sc.delivery_timeout_ms);
        cfg.accumulator.retry_backoff = Duration::from_millis(sc.retry_backoff_ms);
        cfg.accumulator.retry_backoff_max = Duration::from_millis(sc.retry_backoff_ms * 4);
        let mut cluster = Cluster::new(
            ClusterConfig::builder()
                .brokers(sc.brokers)
                .topic(TOPIC, sc.partitions)
                .response_delay(Duration::from_millis(sc.latency_ms))
                .transactions_v2(sc.transactions_v2)
                .api_versions(ApiKey::PRODUCE, 3, sc.produce_max_version)
                .build(),
        );
        for id in cluster.broker_ids() {
            cluster.set_broker_address(id, &format!("b{id}"), 9092);
        }
        if plant.fake_appends_duplicates {
            cluster.plant_bug_append_duplicates();
        }
        let partitioner = ferrokafka_partition::by_name("").expect("the default partitioner");
        let engine = Engine::new(cfg, partitioner, start).expect("a valid engine config");
        Self {
            sc,
            engine,
            cluster,
            rng: Rng::new(sc.seed.wrapping_mul(31).wrapping_add(7)),
            start,
            now: start,
            step: 0,
            open: BTreeMap::new(),
            next_op: 0,
            op_due_ms: 0,
            blocked: Blocked::No,
            waiting_send: None,
            close_started: None,
            next_fault: 0,
            heals: Vec::new(),
            recs: Vec::new(),
            batches: HashMap::new(),
            txns: Vec::new(),
            current_txn: None,
            txn_offsets: Vec::new(),
            sending_offset: None,
            committed_offset: None,
            flushes: Vec::new(),
            seen_hw: vec![-1; usize::try_from(sc.partitions).unwrap_or(0)],
            summary: Summary::default(),
            trace: None,
        }
    }

    fn now_ms(&self) -> u64 {
        ms(self.now - self.start)
    }

    fn at(&self, t_ms: u64) -> Instant {
        self.start + Duration::from_millis(t_ms)
    }

    fn wall(&self) -> i64 {
        WALL0 + i64::try_from(self.now_ms()).unwrap_or(0)
    }

    fn log(&mut self, what: impl FnOnce() -> String) {
        let at = self.now_ms();
        if let Some(t) = &mut self.trace {
            t.push(format!("{at:>6}ms {}", what()));
        }
    }

    fn fail(&self, message: impl Into<String>) -> Failure {
        Failure {
            step: self.step,
            at_ms: self.now_ms(),
            message: message.into(),
        }
    }

    fn summary(&self) -> Summary {
        let mut s = self.summary;
        s.steps = self.step;
        s.sim_ms = self.now_ms();
        s
    }

    // ------------------------------------------------------------ network

    fn perform(&mut self, io: Io) {
        self.log(|| match &io {
            Io::Send { conn, data } => format!("send {conn:?} {} bytes", data.len()),
            other => format!("{other:?}"),
        });
        match io {
            Io::Connect { conn, host, port } => {
                let fake = self
                    .cluster
                    .broker_at(&host, port)
                    .and_then(|b| self.cluster.connect(b).ok());
                if let Some(fake) = fake {
                    self.open.insert(conn, fake);
                    self.engine.handle_connected(conn, self.now);
                } else {
                    self.engine.handle_disconnect(conn, self.now);
                }
            }
            Io::Send { conn, data } => {
                let Some(&fake) = self.open.get(&conn) else {
                    return;
                };
                self.engine.handle_written(conn, self.now);
                let mut buf = BytesMut::from(&data[..]);
                let wall = self.wall();
                while let Ok(Some(frame)) = split_frame(&mut buf, 1 << 30) {
                    self.cluster.handle_frame(fake, &frame, self.now, wall);
                }
            }
            Io::Close { conn } => {
                if let Some(fake) = self.open.remove(&conn) {
                    self.cluster.disconnect(fake);
                }
            }
        }
    }

    /// Runs both sides until neither has anything to do now; connections are polled in an
    /// order drawn from the seed (answers of different connections interleave differently).
    fn settle(&mut self) -> Result<(), Failure> {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(io) = self.engine.poll_io(self.now) {
                progressed = true;
                self.perform(io);
            }
            let mut conns: Vec<(ConnId, FakeConn)> =
                self.open.iter().map(|(a, b)| (*a, *b)).collect();
            for i in (1..conns.len()).rev() {
                let j = usize::try_from(self.rng.below(i as u64 + 1)).unwrap_or(0);
                conns.swap(i, j);
            }
            for (conn, fake) in conns {
                if let Some(frame) = self.cluster.poll_transmit(fake, self.now) {
                    progressed = true;
                    self.engine.handle_frame(conn, &frame[4..], self.now);
                }
                if self.cluster.is_closed(fake) && self.open.contains_key(&conn) {
                    progressed = true;
                    self.log(|| format!("fake closed {conn:?}"));
                    self.open.remove(&conn);
                    self.cluster.disconnect(fake);
                    self.engine.handle_disconnect(conn, self.now);
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                progressed = true;
                self.on_event(ev)?;
            }
            if !progressed {
                return Ok(());
            }
        }
        Err(self.fail("livelock: the engine and the fake did not settle in 10,000 rounds"))
    }

    // ------------------------------------------------------------ events

    fn resolve(
        &mut self,
        batch: BatchId,
        outcome: Outcome,
        error: Option<&DeliveryError>,
        count: i32,
    ) -> Result<(), Failure> {
        let Some(members) = self.batches.remove(&batch) else {
            return Err(self.fail(format!("an event for unknown or finished batch {batch}")));
        };
        if usize::try_from(count).ok() != Some(members.len()) {
            return Err(self.fail(format!(
                "batch {batch} resolved with {count} records, {} were appended to it",
                members.len()
            )));
        }
        for (id, _) in members {
            let step = self.step;
            let r = &mut self.recs[id as usize];
            if r.outcome.is_some() {
                return Err(Failure {
                    step,
                    at_ms: ms(self.now - self.start),
                    message: format!("record {id} resolved twice"),
                });
            }
            r.outcome = Some(outcome);
            r.error = error.cloned();
            let took = ms(self.now - self.start).saturating_sub(r.appended_ms);
            self.summary.slowest_ms = self.summary.slowest_ms.max(took);
            match outcome {
                Outcome::Delivered => self.summary.delivered += 1,
                Outcome::Failed { .. } => self.summary.failed += 1,
            }
        }
        Ok(())
    }

    fn on_event(&mut self, ev: Event) -> Result<(), Failure> {
        if self.trace.is_some() {
            let members = match &ev {
                Event::Delivered { batch, .. } | Event::Failed { batch, .. } => format!(
                    " records {:?}",
                    self.batches
                        .get(batch)
                        .map(|m| m.iter().map(|(id, _)| *id).collect::<Vec<_>>())
                ),
                _ => String::new(),
            };
            self.log(|| format!("event {ev:?}{members}"));
        }
        match ev {
            Event::Delivered {
                batch,
                record_count,
                ..
            } => self.resolve(batch, Outcome::Delivered, None, record_count),
            Event::Failed {
                batch,
                record_count,
                error,
                ..
            } => {
                let outcome = Outcome::Failed {
                    maybe_written: error.outcome_unknown(),
                };
                if matches!(error, DeliveryError::DeliveryTimeout { .. }) {
                    self.summary.timed_out += u64::try_from(record_count).unwrap_or(0);
                }
                self.resolve(batch, outcome, Some(&error), record_count)
            }
            Event::Split(split) => {
                self.summary.splits += 1;
                let Some(members) = self.batches.remove(&split.original) else {
                    return Err(self.fail(format!("split of unknown batch {}", split.original)));
                };
                for (id, index) in members {
                    let Some(h) = split.locate(index) else {
                        return Err(self.fail(format!("split lost record {id}")));
                    };
                    self.batches.entry(h.batch).or_default().push((id, h.index));
                }
                for v in self.batches.values_mut() {
                    v.sort_by_key(|(_, i)| *i);
                }
                Ok(())
            }
            Event::Transaction { call, result } => self.on_txn(call, result.map_err(|e| e.kind)),
            _ => Ok(()),
        }
    }

    fn on_txn(&mut self, call: TxnCall, result: Result<(), TxnFailureKind>) -> Result<(), Failure> {
        if self.blocked == Blocked::Txn(call) {
            self.blocked = Blocked::No;
        }
        if result.is_err() {
            self.summary.txn_errors += 1;
        }
        match (call, result) {
            (TxnCall::SendOffsets, Ok(())) => {
                if let (Some(t), Some(o)) = (self.current_txn, self.sending_offset.take()) {
                    self.txn_offsets[t] = Some(o);
                }
            }
            (TxnCall::CommitTransaction, Ok(())) => {
                if let Some(t) = self.current_txn.take() {
                    self.txns[t] = TxnEnd::Committed;
                    self.summary.committed += 1;
                    self.check_txn(t)?;
                }
            }
            (TxnCall::AbortTransaction, Ok(())) => {
                if let Some(t) = self.current_txn.take() {
                    self.txns[t] = TxnEnd::Aborted;
                    self.summary.aborted += 1;
                    self.check_txn(t)?;
                }
            }
            (TxnCall::CommitTransaction | TxnCall::SendOffsets, Err(TxnFailureKind::Abortable)) => {
                // The application aborts and goes on.
                if self.engine.abort_transaction().is_ok() {
                    self.blocked = Blocked::Txn(TxnCall::AbortTransaction);
                } else {
                    self.give_up_txn();
                }
            }
            (TxnCall::InitTransactions, Ok(()))
            | (TxnCall::SendOffsets, Err(TxnFailureKind::Aborted)) => {}
            (_, Err(_)) => self.give_up_txn(),
        }
        Ok(())
    }

    /// The application stops using transactions after a failure it cannot handle: it closes.
    fn give_up_txn(&mut self) {
        if let Some(t) = self.current_txn.take() {
            self.txns[t] = TxnEnd::Unknown;
        }
        self.next_op = self.sc.ops.len();
        self.blocked = Blocked::No;
    }

    // ------------------------------------------------------------ application

    fn try_send(&mut self, key: u32, since_ms: u64) -> Result<bool, Failure> {
        let id = u32::try_from(self.recs.len()).unwrap_or(u32::MAX);
        let key_bytes = format!("k{key}");
        let value = id.to_string();
        let rec = OutgoingRecord {
            topic: TOPIC,
            partition: None,
            key: Some(key_bytes.as_bytes()),
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: self.wall(),
        };
        match self.engine.append(&rec, self.now) {
            Ok(a) => {
                self.log(|| format!("append record {id} -> p{} {:?}", a.partition, a.batch));
                self.recs.push(Rec {
                    partition: a.partition,
                    appended_ms: self.now_ms(),
                    txn: self.current_txn,
                    outcome: None,
                    error: None,
                });
                self.summary.records += 1;
                self.batches.entry(a.batch).or_default().push((id, a.index));
                Ok(true)
            }
            Err(SendError::TopicPending(_)) => {
                let since = self.at(since_ms);
                match self.engine.check_topic(TOPIC, since, self.now) {
                    Ok(true) => self.try_send(key, since_ms),
                    Ok(false) => Ok(false),
                    // max.block.ms passed: the send fails, nothing was appended.
                    Err(_) => Ok(true),
                }
            }
            Err(SendError::WouldBlock) => {
                if self.now_ms() > since_ms + self.sc.delivery_timeout_ms {
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            // Refused (transaction state, closed, fatal): the application sees the error.
            Err(_) => Ok(true),
        }
    }

    /// Performs the application's calls that are due (sequentially: a blocked call waits).
    fn drive_app(&mut self) -> Result<(), Failure> {
        for _ in 0..1_000 {
            if let Some((key, since)) = self.waiting_send {
                if !self.try_send(key, since)? {
                    return Ok(());
                }
                self.waiting_send = None;
            }
            match self.blocked {
                Blocked::No => {}
                Blocked::Flush(token, began) => {
                    if self.engine.flush_complete(token) {
                        self.blocked = Blocked::No;
                    } else if self.now_ms() > began + self.sc.delivery_timeout_ms * 3 {
                        return Err(self.fail("flush never completed"));
                    } else {
                        return Ok(());
                    }
                }
                Blocked::Txn(_) | Blocked::Closed => return Ok(()),
            }
            if self.next_op >= self.sc.ops.len() {
                if self.close_started.is_none() {
                    self.close_started = Some(self.now_ms());
                    self.engine.close();
                    if self.sc.drop_at_end {
                        self.log(|| "drop: close(0) aborts what is left".to_owned());
                        self.engine.abort();
                    }
                    self.blocked = Blocked::Closed;
                }
                return Ok(());
            }
            if self.now_ms() < self.op_due_ms {
                return Ok(());
            }
            let op = self.sc.ops[self.next_op].1;
            self.next_op += 1;
            if let Some((gap, _)) = self.sc.ops.get(self.next_op) {
                self.op_due_ms = self.now_ms() + gap;
            }
            match op {
                Op::Send { key } => self.waiting_send = Some((key, self.now_ms())),
                Op::Flush => {
                    let token = self.engine.begin_flush();
                    let pending: Vec<u32> = (0..self.recs.len())
                        .filter(|i| self.recs[*i].outcome.is_none())
                        .filter_map(|i| u32::try_from(i).ok())
                        .collect();
                    self.flushes.push((token, pending));
                    self.blocked = Blocked::Flush(token, self.now_ms());
                }
                Op::SendOffsets { offset } => {
                    let offsets = vec![OffsetToCommit {
                        topic: INPUT.to_owned(),
                        partition: 0,
                        offset,
                        leader_epoch: None,
                        metadata: None,
                    }];
                    if self
                        .engine
                        .send_offsets_to_transaction(offsets, GroupMetadata::new(GROUP))
                        .is_ok()
                    {
                        self.sending_offset = Some(offset);
                        self.blocked = Blocked::Txn(TxnCall::SendOffsets);
                    }
                }
                Op::Begin => {
                    if self.engine.begin_transaction().is_ok() {
                        self.txn_offsets.push(None);
                        self.txns.push(TxnEnd::Open);
                        self.current_txn = Some(self.txns.len() - 1);
                    }
                }
                Op::Commit => {
                    if self.engine.commit_transaction().is_ok() {
                        self.blocked = Blocked::Txn(TxnCall::CommitTransaction);
                    }
                }
                Op::Abort => {
                    if self.engine.abort_transaction().is_ok() {
                        self.blocked = Blocked::Txn(TxnCall::AbortTransaction);
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ faults

    fn apply_fault(&mut self, kind: &FaultKind) {
        let c = &mut self.cluster;
        match kind {
            FaultKind::ProduceErrors { partition, codes } => {
                c.inject(Fault::fail(ApiKey::PRODUCE, codes).on_partition(TOPIC, *partition));
            }
            FaultKind::RequestErrors { api, codes } => c.inject(Fault::fail(*api, codes)),
            FaultKind::TooLarge { partition } => c.inject(
                Fault::fail(ApiKey::PRODUCE, &[ErrorCode::MESSAGE_TOO_LARGE])
                    .on_partition(TOPIC, *partition),
            ),
            FaultKind::DropUnserved { api } => c.inject(Fault::drop_connection(*api)),
            FaultKind::DropAfterServing { api } => c.inject(Fault::drop_after_serving(*api)),
            FaultKind::DropConnections { broker } => {
                c.drop_connections(*broker);
            }
            FaultKind::Delay {
                api,
                broker,
                ms,
                times,
            } => c.inject(
                Fault::delay(*api, Duration::from_millis(*ms))
                    .on_broker(*broker)
                    .times(*times),
            ),
            FaultKind::LeaderMove { partition, to } => {
                if c.is_up(*to) {
                    c.move_leader(TOPIC, *partition, *to);
                }
            }
            FaultKind::BumpEpoch { partition } => {
                c.bump_leader_epoch(TOPIC, *partition);
            }
            FaultKind::BrokerDown { broker, for_ms } => {
                // Keep one broker up: the cluster as a whole stays available.
                let up = c.broker_ids().into_iter().filter(|b| c.is_up(*b)).count();
                if up > 1 && c.is_up(*broker) {
                    c.broker_down(*broker);
                    let at = self.now_ms() + for_ms;
                    self.heals.push((at, kind.clone()));
                }
            }
            FaultKind::Throttle { ms, for_ms } => {
                c.set_throttle(ApiKey::PRODUCE, *ms);
                let at = self.now_ms() + for_ms;
                self.heals.push((at, kind.clone()));
            }
            FaultKind::NotEnoughReplicas { for_ms } => {
                c.set_not_enough_replicas(TOPIC, true);
                let at = self.now_ms() + for_ms;
                self.heals.push((at, kind.clone()));
            }
            FaultKind::CoordinatorMove { to } => {
                if c.is_up(*to) {
                    c.move_coordinator("sim-txn", *to);
                    c.move_coordinator(GROUP, *to);
                }
            }
        }
    }

    fn heal(&mut self, kind: &FaultKind) {
        match kind {
            FaultKind::BrokerDown { broker, .. } => self.cluster.broker_up(*broker),
            FaultKind::Throttle { .. } => self.cluster.set_throttle(ApiKey::PRODUCE, 0),
            FaultKind::NotEnoughReplicas { .. } => {
                self.cluster.set_not_enough_replicas(TOPIC, false);
            }
            _ => {}
        }
    }

    fn apply_due_faults(&mut self) {
        let now = self.now_ms();
        while let Some(f) = self.sc.faults.get(self.next_fault) {
            if f.at_ms > now {
                break;
            }
            self.next_fault += 1;
            let kind = f.kind.clone();
            self.log(|| format!("fault {kind:?}"));
            self.apply_fault(&kind);
        }
        let (due, later): (Vec<_>, Vec<_>) = self.heals.drain(..).partition(|(at, _)| *at <= now);
        self.heals = later;
        for (_, kind) in due {
            self.heal(&kind);
        }
    }

    // ------------------------------------------------------------ invariants

    /// The ids of our records in a partition's log, in offset order.
    fn log_ids(&self, partition: i32, committed_only: bool) -> Result<Vec<u32>, Failure> {
        let records = if committed_only {
            self.cluster.committed_records(TOPIC, partition)
        } else {
            self.cluster.records(TOPIC, partition)
        };
        records
            .iter()
            .map(|r| {
                r.value
                    .as_deref()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|id| (*id as usize) < self.recs.len())
                    .ok_or_else(|| {
                        self.fail(format!(
                            "partition {partition} holds a record never sent: {r:?}"
                        ))
                    })
            })
            .collect()
    }

    /// Order, duplicates and placement of one partition's log.
    fn check_log(&self, partition: i32) -> Result<(), Failure> {
        let ids = self.log_ids(partition, false)?;
        let mut seen = HashSet::new();
        let mut last_first: Option<u32> = None;
        for id in ids {
            let r = &self.recs[id as usize];
            if r.partition != partition {
                return Err(self.fail(format!(
                    "record {id} sent to partition {} found in partition {partition}",
                    r.partition
                )));
            }
            if seen.insert(id) {
                if last_first.is_some_and(|l| l > id) {
                    return Err(self.fail(format!(
                        "partition {partition}: record {id} first written after record {}, sent later",
                        last_first.unwrap_or(0)
                    )));
                }
                last_first = Some(id);
            } else if self.sc.mode != Mode::AtLeastOnce {
                return Err(self.fail(format!(
                    "partition {partition}: record {id} written twice with idempotence"
                )));
            }
            // Transactional records are judged by read_committed visibility instead. A broker
            // refusal (`DeliveryError::Broker`) speaks for the last attempt only and carries no
            // maybe-written flag: an earlier attempt whose answer was lost may be in the log
            // (without idempotence nothing tells the broker it is a retry), so it is left out.
            let broker_refusal = matches!(r.error, Some(DeliveryError::Broker { .. }));
            if let (
                Some(Outcome::Failed {
                    maybe_written: false,
                }),
                None,
                false,
            ) = (r.outcome, r.txn, broker_refusal)
            {
                return Err(self.fail(format!(
                    "record {id} is in the log although it failed with a certain outcome: {:?}",
                    r.error
                )));
            }
        }
        Ok(())
    }

    /// Per step: the logs that grew, and every record's deadline.
    fn check_step(&mut self) -> Result<(), Failure> {
        for p in 0..self.sc.partitions {
            let hw = self.cluster.high_watermark(TOPIC, p).unwrap_or(0);
            let i = usize::try_from(p).unwrap_or(0);
            if hw != self.seen_hw[i] {
                self.seen_hw[i] = hw;
                self.check_log(p)?;
            }
        }
        let now = self.now_ms();
        let limit = self.sc.delivery_timeout_ms + DEADLINE_SLACK_MS;
        if let Some((id, r)) = self
            .recs
            .iter()
            .enumerate()
            .find(|(_, r)| r.outcome.is_none() && now > r.appended_ms + limit)
        {
            return Err(self.fail(format!(
                "record {id} (appended at {}ms) unresolved past delivery.timeout.ms = {}ms",
                r.appended_ms, self.sc.delivery_timeout_ms
            )));
        }
        for (token, ids) in &self.flushes {
            if self.engine.flush_complete(*token)
                && let Some(id) = ids
                    .iter()
                    .find(|id| self.recs[**id as usize].outcome.is_none())
            {
                return Err(self.fail(format!(
                    "flush {token} completed before record {id} resolved"
                )));
            }
        }
        self.flushes.retain(|(_, ids)| {
            ids.iter()
                .any(|id| self.recs[*id as usize].outcome.is_none())
        });
        Ok(())
    }

    /// A finished transaction: committed → every record visible once to read_committed;
    /// aborted → none.
    fn check_txn(&mut self, t: usize) -> Result<(), Failure> {
        let group = self.cluster.committed_offset(GROUP, INPUT, 0);
        match self.txns[t] {
            TxnEnd::Committed => {
                if let Some(o) = self.txn_offsets[t] {
                    self.committed_offset = Some(o);
                }
                if group != self.committed_offset {
                    return Err(self.fail(format!(
                        "transaction {t} committed with offset {:?}: the group's offset is {group:?}, expected {:?}",
                        self.txn_offsets[t], self.committed_offset
                    )));
                }
            }
            TxnEnd::Aborted if group != self.committed_offset => {
                return Err(self.fail(format!(
                    "transaction {t} aborted (offset {:?}): the group's offset moved to {group:?} from {:?}",
                    self.txn_offsets[t], self.committed_offset
                )));
            }
            _ => {}
        }
        self.check_records_of_txn(t)
    }

    fn check_records_of_txn(&self, t: usize) -> Result<(), Failure> {
        let mut visible: HashMap<u32, usize> = HashMap::new();
        for p in 0..self.sc.partitions {
            for id in self.log_ids(p, true)? {
                *visible.entry(id).or_default() += 1;
            }
        }
        for (id, r) in self.recs.iter().enumerate() {
            if r.txn != Some(t) {
                continue;
            }
            let n = visible
                .get(&u32::try_from(id).unwrap_or(0))
                .copied()
                .unwrap_or(0);
            match self.txns[t] {
                TxnEnd::Committed if n != 1 || r.outcome != Some(Outcome::Delivered) => {
                    let log: Vec<(i64, i64, i16, bool)> = self
                        .cluster
                        .records(TOPIC, r.partition)
                        .iter()
                        .filter(|x| x.value.as_deref() == Some(id.to_string().as_bytes()))
                        .map(|x| (x.offset, x.producer_id, x.producer_epoch, x.transactional))
                        .collect();
                    return Err(self.fail(format!(
                        "transaction {t} committed, but record {id} is visible {n} time(s) to \
                         read_committed (outcome {:?}, {:?}); in the log at {log:?}, last stable \
                         offset {:?}, markers {:?}",
                        r.outcome,
                        r.error,
                        self.cluster.last_stable_offset(TOPIC, r.partition),
                        self.cluster.markers(TOPIC, r.partition),
                    )));
                }
                TxnEnd::Aborted if n != 0 => {
                    return Err(self.fail(format!(
                        "transaction {t} aborted, but record {id} is visible to read_committed"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_end(&mut self) -> Result<(), Failure> {
        if let Some(id) = self.recs.iter().position(|r| r.outcome.is_none()) {
            return Err(self.fail(format!("record {id} never resolved")));
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for p in 0..self.sc.partitions {
            self.check_log(p)?;
            for id in self.log_ids(p, false)? {
                *counts.entry(id).or_default() += 1;
            }
        }
        for (id, r) in self.recs.iter().enumerate() {
            let n = counts
                .get(&u32::try_from(id).unwrap_or(0))
                .copied()
                .unwrap_or(0);
            if r.outcome == Some(Outcome::Delivered) && n == 0 {
                return Err(self.fail(format!("record {id} acknowledged but not in the log")));
            }
        }
        for t in 0..self.txns.len() {
            self.check_records_of_txn(t)?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ the loop

    fn next_wake(&self) -> Instant {
        let mut next = self.now + Duration::from_millis(100);
        if let Some(t) = self.engine.poll_timeout() {
            next = next.min(t);
        }
        for fake in self.open.values() {
            if let Some(t) = self.cluster.poll_timeout(*fake) {
                next = next.min(t);
            }
        }
        if self.blocked == Blocked::No
            && self.waiting_send.is_none()
            && self.next_op < self.sc.ops.len()
        {
            next = next.min(self.at(self.op_due_ms));
        }
        if let Some(f) = self.sc.faults.get(self.next_fault) {
            next = next.min(self.at(f.at_ms));
        }
        for (at, _) in &self.heals {
            next = next.min(self.at(*at));
        }
        next.max(self.now)
    }

    fn run_all(&mut self) -> Result<(), Failure> {
        if self.sc.mode == Mode::Transactional {
            if self.engine.init_transactions().is_err() {
                return Err(self.fail("init_transactions refused"));
            }
            self.blocked = Blocked::Txn(TxnCall::InitTransactions);
        }
        let horizon: u64 = self.sc.ops.iter().map(|(g, _)| *g).sum::<u64>()
            + self.sc.faults.last().map_or(0, |f| f.at_ms)
            + 20 * self.sc.delivery_timeout_ms
            + 60_000;
        while self.step < MAX_STEPS {
            self.step += 1;
            self.apply_due_faults();
            self.engine.handle_timeout(self.now);
            self.settle()?;
            self.drive_app()?;
            self.settle()?;
            self.check_step()?;
            if let Some(closed) = self.close_started {
                let all_resolved = self.recs.iter().all(|r| r.outcome.is_some());
                if !self.engine.has_pending_work() && all_resolved {
                    return self.check_end();
                }
                // A close that waits too long is cut short, as `close(timeout)` does.
                if self.now_ms() > closed + 2 * self.sc.delivery_timeout_ms {
                    self.engine.abort();
                    self.settle()?;
                    return self.check_end();
                }
            }
            if self.now_ms() > horizon {
                return Err(self.fail("livelock: simulated time ran past the horizon"));
            }
            self.now = self.next_wake();
        }
        Err(self.fail(format!("livelock: no end after {MAX_STEPS} steps")))
    }
}

/// The scenario with only the faults at `keep` (indices into the seed's schedule).
pub fn with_faults(scenario: &Scenario, keep: &[usize]) -> Scenario {
    let mut s = scenario.clone();
    s.faults = keep
        .iter()
        .filter_map(|i| scenario.faults.get(*i).cloned())
        .collect();
    s
}

/// Runs a scenario, turning a panic into a failure.
pub fn run_catching(scenario: &Scenario, plant: Plant) -> Result<Summary, Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(scenario, plant))) {
        Ok(r) => r,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(Failure {
                step: 0,
                at_ms: 0,
                message: format!("panic: {msg}"),
            })
        }
    }
}

/// Drops faults one by one while the run still fails; returns the indices kept (into the
/// original schedule) and the last failure.
pub fn shrink(scenario: &Scenario, plant: Plant, failure: Failure) -> (Vec<usize>, Failure) {
    let mut keep: Vec<usize> = (0..scenario.faults.len()).collect();
    let mut last = failure;
    let mut i = 0;
    while i < keep.len() {
        let mut trial = keep.clone();
        trial.remove(i);
        match run_catching(&with_faults(scenario, &trial), plant) {
            Err(f) => {
                keep = trial;
                last = f;
            }
            Ok(_) => i += 1,
        }
    }
    (keep, last)
}
