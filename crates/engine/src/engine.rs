//! The [`Engine`] type: its state, its constructor, its inspection methods and its outputs.
//!
//! Its behaviour is split by responsibility into the child modules, each an `impl Engine` block
//! with one job: [`commands`] (what the application asks), [`inputs`] (what the driver reports),
//! [`run`] (the sender's round and its order), [`conn`] (connections and requests), [`versions`]
//! (ApiVersions negotiation), [`auth`] (SASL), [`cluster`] (metadata, topic cache,
//! re-bootstrap), [`produce`] (drain, Produce requests and answers, splits), [`retry`] (requeue
//! or fail), [`idempotence`] (stamps, sequences, epoch bumps), [`delivery`] (one event per
//! batch, expiry, finishing a batch) and [`txn`] (transactions and their coordinators).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use ferrokafka_accumulator::{BatchId, RecordAccumulator, TopicPartition};
use ferrokafka_metadata::Metadata;
use ferrokafka_partition::{PartitionSet, Partitioner};
use ferrokafka_records::ProducerStamp;
use ferrokafka_txn::{ProducerIdAndEpoch, TransactionManager};

use crate::config::EngineConfig;
use crate::event::{ConnId, Event, Io, SetupError};
use crate::metrics::Counters;

mod auth;
mod batches;
mod broker;
mod cluster;
mod commands;
mod conn;
mod delivery;
mod idempotence;
mod inputs;
mod produce;
mod retry;
mod run;
mod topics;
mod txn;
mod versions;

use batches::Batches;
use broker::{BrokerConn, ConnState, Pending};
use cluster::bootstrap_node;
pub use commands::{Appended, OutgoingRecord, SendError};
use txn::TxnCtx;
pub use txn::{GroupMetadata, OffsetToCommit};
use versions::Versions;

#[derive(Debug, Clone)]
struct SentBatch {
    id: BatchId,
    tp: TopicPartition,
    record_count: i32,
    attempts: u32,
    stamp: ProducerStamp,
}

#[derive(Debug, Default)]
struct Node {
    conn: Option<ConnId>,
    failures: u32,
    retry_at: Option<Instant>,
}

#[derive(Debug)]
struct TopicCache {
    count: u32,
    /// The partitions with a leader (those of the preferred rack first, KIP-1123), checked
    /// once per metadata update rather than once per appended record.
    available: Result<PartitionSet, ferrokafka_partition::Error>,
    /// `TopicPartition` of every partition, built once per metadata update rather than once
    /// per appended record.
    partitions: Vec<TopicPartition>,
    /// Where each partition's queue is in the accumulator, once a record went there (an
    /// append then finds the queue without a lookup by partition).
    /// (A `Cell`: the cache is read, not written, on that path.)
    slots: Vec<std::cell::Cell<Option<ferrokafka_accumulator::QueueSlot>>>,
}

/// The sans-IO producer core.
///
/// Its methods come in four families; time is always an argument, never read:
///
/// - **Commands** from the application: [`append`](Self::append),
///   [`check_topic`](Self::check_topic), [`begin_flush`](Self::begin_flush) /
///   [`flush_complete`](Self::flush_complete), [`close`](Self::close), [`abort`](Self::abort),
///   and the transactional calls ([`init_transactions`](Self::init_transactions) ...).
/// - **I/O inputs** from the driver: [`handle_connected`](Self::handle_connected),
///   [`handle_frame`](Self::handle_frame), [`handle_written`](Self::handle_written),
///   [`handle_disconnect`](Self::handle_disconnect) / [`handle_broken`](Self::handle_broken),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Outputs** for the driver: [`poll_io`](Self::poll_io) (what to connect, send, close),
///   [`poll_event`](Self::poll_event) (delivery, split and transaction outcomes),
///   [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout` at the latest).
/// - **Inspection**: [`config`](Self::config), [`metadata`](Self::metadata),
///   [`counters`](Self::counters), [`producer_id`](Self::producer_id),
///   [`has_pending_work`](Self::has_pending_work),
///   [`last_connection_problem`](Self::last_connection_problem) ...
///
/// Inputs only record what happened and mark the engine dirty; the work happens in one round
/// run by `poll_io` when anything changed, in this order: request timeouts and
/// re-authentication, expiry (queued, then in-flight batches), metadata (and re-bootstrap),
/// transactions, the producer id, fatal and abortable states, sequence resolution (epoch
/// bumps), the drain into Produce requests, pending transactional calls; then the earliest
/// wake becomes `poll_timeout`. The driver polls `poll_io` until it returns `None`, then
/// `poll_event` until `None`, then sleeps until `poll_timeout` or the next input.
pub struct Engine {
    config: EngineConfig,
    acc: RecordAccumulator,
    /// The accumulator's ready lists of the last drain, kept for their capacity.
    ready_slots: ferrokafka_accumulator::ReadySlots,
    metadata: Metadata,
    partitioner: Box<dyn Partitioner>,
    /// Looked up on every append: the topic of the last lookup first, then by a fast hasher,
    /// seeded per engine.
    topics: topics::TopicCaches,
    cluster_generation: u64,
    nodes: BTreeMap<i32, Node>,
    conns: HashMap<ConnId, BrokerConn>,
    next_conn: u64,
    io: VecDeque<Io>,
    events: VecDeque<Event>,
    /// Plain, idempotent or transactional, with the state each needs.
    mode: Mode,
    /// `close` was called: transactional calls are refused from then on.
    closed: bool,
    /// Addresses learned from FindCoordinator for nodes the metadata does not list.
    extra_addresses: HashMap<i32, (String, u16)>,
    /// Transactions v2 (KIP-890 part 2) in use: decided when InitProducerId goes to the
    /// transaction coordinator.
    txn_v2: bool,
    init_in_flight: bool,
    /// Per-batch state of drained batches: tracked sequences, pending renumberings, expiry,
    /// last error, whether an attempt may be in the log.
    batches: Batches,
    /// The producer state (idempotence/transactions) last reported to tracing.
    traced_state: Option<ferrokafka_txn::StateKind>,
    /// The broker and what went wrong the last time a connection was given up on (timeouts,
    /// undecodable or out-of-step answers, what the driver reported): the cause named in
    /// errors that no Kafka error code explains.
    last_problem: Option<String>,
    /// The last SASL authentication failure, until an authentication succeeds: `send` reports
    /// it at once instead of waiting `max.block.ms` for metadata (Java's AuthenticationException).
    auth_failure: Option<String>,
    /// Random bytes from the driver, for SCRAM client nonces ([`Engine::add_entropy`]).
    entropy: Vec<u8>,
    /// The current OAUTHBEARER token ([`Engine::set_oauth_token`]).
    oauth_token: Option<String>,
    counters: Counters,
    next_wake: Option<Instant>,
    dirty: bool,
    bootstrap_cursor: usize,
    /// Partitions whose head batch was refused as out of sequence (or for an unknown producer
    /// id) this round: one epoch bump renumbers them all before the next drain.
    pending_bumps: Vec<TopicPartition>,
    /// Since when metadata has been wanted without an answer (KIP-1102's trigger).
    metadata_wanted_since: Option<Instant>,
    /// Re-bootstrapping (KIP-899): new connections for metadata go to the bootstrap servers,
    /// not the brokers of the last known metadata, until a Metadata answer comes.
    rebootstrapping: bool,
    /// State of the retry-jitter PRNG (`EngineConfig::retry_jitter_seed`).
    jitter: Option<u64>,
}

/// What the producer guarantees, with the state each guarantee needs: one of three, never a
/// transaction context without its manager.
#[derive(Debug)]
enum Mode {
    /// No producer id: batches carry no sequences (`enable.idempotence=false`).
    Plain,
    /// A producer id from any broker and sequences per partition (`enable.idempotence`).
    Idempotent(TransactionManager<TopicPartition>),
    /// A `transactional.id`: the producer id from the transaction coordinator, and the
    /// transaction's bookkeeping.
    Transactional(TransactionManager<TopicPartition>, Box<TxnCtx>),
}

impl Mode {
    /// The producer-id and sequence state machine, unless plain.
    fn manager(&self) -> Option<&TransactionManager<TopicPartition>> {
        match self {
            Mode::Plain => None,
            Mode::Idempotent(m) | Mode::Transactional(m, _) => Some(m),
        }
    }

    fn manager_mut(&mut self) -> Option<&mut TransactionManager<TopicPartition>> {
        match self {
            Mode::Plain => None,
            Mode::Idempotent(m) | Mode::Transactional(m, _) => Some(m),
        }
    }

    /// The transaction's bookkeeping, if transactional.
    fn txn(&self) -> Option<&TxnCtx> {
        match self {
            Mode::Transactional(_, t) => Some(&**t),
            _ => None,
        }
    }

    fn txn_mut(&mut self) -> Option<&mut TxnCtx> {
        match self {
            Mode::Transactional(_, t) => Some(&mut **t),
            _ => None,
        }
    }

    /// Both halves of a transactional producer.
    fn parts_mut(&mut self) -> Option<(&mut TransactionManager<TopicPartition>, &mut TxnCtx)> {
        match self {
            Mode::Transactional(m, t) => Some((m, &mut **t)),
            _ => None,
        }
    }

    fn is_transactional(&self) -> bool {
        matches!(self, Mode::Transactional(..))
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("conns", &self.conns.len())
            .field("nodes", &self.nodes.len())
            .field("pending_io", &self.io.len())
            .field("pending_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A new engine. Nothing happens until the first `poll_io`, which connects to a bootstrap
    /// broker.
    pub fn new(
        config: EngineConfig,
        partitioner: Box<dyn Partitioner>,
        now: Instant,
    ) -> Result<Self, SetupError> {
        if config.bootstrap.is_empty() {
            return Err(SetupError::NoBootstrapServers);
        }
        let acc = RecordAccumulator::new(config.accumulator.clone())?;
        let metadata = Metadata::new(config.metadata.clone(), now);
        let in_flight = config.accumulator.max_in_flight_per_partition.min(5);
        let mode = if let Some(id) = &config.transactional_id {
            Mode::Transactional(
                TransactionManager::new(true, in_flight)?,
                Box::new(TxnCtx::new(id.clone())),
            )
        } else if config.idempotence {
            let mut m = TransactionManager::new(false, in_flight)?;
            m.start_idempotent_init()?;
            Mode::Idempotent(m)
        } else {
            Mode::Plain
        };
        let counters = Counters {
            buffer_total_bytes: config.accumulator.buffer_memory as u64,
            buffer_available_bytes: config.accumulator.buffer_memory as u64,
            ..Counters::default()
        };
        let mut nodes = BTreeMap::new();
        for i in 0..config.bootstrap.len() {
            nodes.insert(bootstrap_node(i), Node::default());
        }
        let config_jitter = config.retry_jitter_seed;
        Ok(Self {
            config,
            acc,
            ready_slots: ferrokafka_accumulator::ReadySlots::default(),
            metadata,
            partitioner,
            topics: topics::TopicCaches::default(),
            cluster_generation: 0,
            nodes,
            conns: HashMap::new(),
            next_conn: 0,
            io: VecDeque::new(),
            events: VecDeque::new(),
            mode,
            closed: false,
            extra_addresses: HashMap::new(),
            txn_v2: false,
            init_in_flight: false,
            batches: Batches::default(),
            traced_state: None,
            last_problem: None,
            auth_failure: None,
            entropy: Vec::new(),
            oauth_token: None,
            counters,
            next_wake: None,
            dirty: true,
            bootstrap_cursor: 0,
            pending_bumps: Vec::new(),
            metadata_wanted_since: None,
            rebootstrapping: false,
            jitter: config_jitter,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The metadata policy and cluster model.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Counters for the metrics.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.connections_open = self.conns.len() as u64;
        c.requests_in_flight = self.conns.values().map(|c| c.sent_at.len() as u64).sum();
        c.buffer_available_bytes = self
            .config
            .accumulator
            .buffer_memory
            .saturating_sub(self.acc.memory_used()) as u64;
        c
    }

    /// The producer id and epoch in use (idempotence), if any.
    pub fn producer_id(&self) -> Option<ProducerIdAndEpoch> {
        self.mode
            .manager()
            .map(TransactionManager::producer)
            .filter(|p| p.is_valid())
    }

    // ---------------------------------------------------------------- outputs

    /// The next I/O to perform. Runs the sender when anything changed since the last run.
    pub fn poll_io(&mut self, now: Instant) -> Option<Io> {
        if self.io.is_empty() && self.dirty {
            self.dirty = false;
            self.run(now);
        }
        self.io.pop_front()
    }

    /// The next delivery outcome.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The broker and what went wrong the last time a connection was given up on, if any
    /// (e.g. "bootstrap broker 127.0.0.1:9092: no answer to Metadata v12 within
    /// request.timeout.ms (30000 ms)").
    pub fn last_connection_problem(&self) -> Option<&str> {
        self.last_problem.as_deref()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_wake
    }
}

fn duration_ms_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
