//! Seeded deterministic simulation of the producer (the second half of issue 14).
//!
//! The real sans-IO [`Engine`] (with its metadata, accumulator and txn crates) talks to the
//! sans-IO fake cluster ([`ferrokafka_fake::Cluster`]) in one thread, over simulated time and a
//! simulated network. A seed draws a [`Scenario`]: the guarantee under test ([`Mode`]), the
//! producer's settings, the application's calls (sends, flushes, transactions begun, committed
//! and aborted, then close) and a fault schedule ([`FaultKind`]) applied through the fake's
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

mod app;
mod events;
mod faults;
mod invariants;
mod network;
pub mod schedule;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use ferrokafka_engine::{
    BatchId, ConnId, DeliveryError, Engine, EngineConfig, Event, GroupMetadata, Io, OffsetToCommit,
    OutgoingRecord, SendError, TxnCall, TxnFailureKind,
};
use ferrokafka_fake::{ClusterConfig, ConnId as FakeConn, Drive, Fault, InProcess, Unsettled};
use ferrokafka_metadata::BrokerAddress;
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
    /// The engine, the fake cluster and the simulated network between them.
    net: InProcess,
    rng: Rng,
    step: u64,
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
        cfg.reconnect_backoff = Duration::from_millis(20);
        cfg.reconnect_backoff_max = Duration::from_millis(500);
        cfg.connection_setup_timeout = Duration::from_secs(1);
        cfg.accumulator.linger = Duration::from_millis(sc.linger_ms);
        cfg.accumulator.batch_size = sc.batch_size;
        cfg.accumulator.delivery_timeout = Duration::from_millis(sc.delivery_timeout_ms);
        cfg.accumulator.retry_backoff = Duration::from_millis(sc.retry_backoff_ms);
        cfg.accumulator.retry_backoff_max = Duration::from_millis(sc.retry_backoff_ms * 4);
        let cluster = ClusterConfig::builder()
            .brokers(sc.brokers)
            .topic(TOPIC, sc.partitions)
            .response_delay(Duration::from_millis(sc.latency_ms))
            .transactions_v2(sc.transactions_v2)
            .api_versions(ApiKey::PRODUCE, 3, sc.produce_max_version)
            .build();
        let partitioner = ferrokafka_partition::by_name("").expect("the default partitioner");
        let engine = Engine::new(cfg, partitioner, start).expect("a valid engine config");
        let mut net = InProcess::new(engine, cluster, start);
        if plant.fake_appends_duplicates {
            net.cluster.plant_bug_append_duplicates();
        }
        Self {
            sc,
            net,
            rng: Rng::new(sc.seed.wrapping_mul(31).wrapping_add(7)),
            step: 0,
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
        ms(self.net.now - self.net.start)
    }

    fn at(&self, t_ms: u64) -> Instant {
        self.net.start + Duration::from_millis(t_ms)
    }

    fn wall(&self) -> i64 {
        self.net.wall_ms()
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

    // ------------------------------------------------------------ the loop

    fn next_wake(&self) -> Instant {
        let mut next = self.net.next_timer(Duration::from_millis(100));
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
        next.max(self.net.now)
    }

    fn run_all(&mut self) -> Result<(), Failure> {
        if self.sc.mode == Mode::Transactional {
            if self.net.engine.init_transactions().is_err() {
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
            self.net.engine.handle_timeout(self.net.now);
            self.settle()?;
            self.drive_app()?;
            self.settle()?;
            self.check_step()?;
            if let Some(closed) = self.close_started {
                let all_resolved = self.recs.iter().all(|r| r.outcome.is_some());
                if !self.net.engine.has_pending_work() && all_resolved {
                    return self.check_end();
                }
                // A close that waits too long is cut short, as `close(timeout)` does.
                if self.now_ms() > closed + 2 * self.sc.delivery_timeout_ms {
                    self.net.engine.abort();
                    self.settle()?;
                    return self.check_end();
                }
            }
            if self.now_ms() > horizon {
                return Err(self.fail("livelock: simulated time ran past the horizon"));
            }
            self.net.now = self.next_wake();
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
