//! The sender: connections, negotiation, Produce assembly, response routing, retries.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use ferrokafka_accumulator::{
    AppendError, BatchId, DrainedBatch, FailReason, RecordAccumulator, StampRequest, TopicPartition,
};
use ferrokafka_metadata::{Metadata, MetadataError};
use ferrokafka_partition::{Appended as PartitionAppended, Partitioner, Partitions};
use ferrokafka_records::{Header, ProducerStamp};
use ferrokafka_txn::{ProducerIdAndEpoch, Stamp, TransactionManager};
use ferrokafka_wire::frame::Correlator;
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, TopicProduceData,
};
use ferrokafka_wire::messages::{
    ApiVersionsRequest, ApiVersionsResponse, ProduceRequest, ProduceResponse, RequestBody,
    ResponseBody, SUPPORTED_APIS,
};
use ferrokafka_wire::negotiate::{Negotiated, NegotiationError};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::config::EngineConfig;
use crate::event::{ConnId, DeliveryError, Event, Io};
use crate::metrics::Counters;

mod auth;
mod conn;
mod txn;
use txn::{CoordinatorKind, TxnCtx};
pub use txn::{GroupMetadata, OffsetToCommit};

/// Produce is capped at v11 until transactions v2 (KIP-890) is wired: v12 promises implicit
/// partition registration, and v13 needs topic ids.
const PRODUCE_VERSION_CAP: i16 = 11;

/// How many acks=0 correlation ids a connection remembers (see `Conn::unanswered`).
const MAX_UNANSWERED_IDS: usize = 4096;

/// A record handed to [`Engine::append`]. Key and value are already serialized.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingRecord<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// Key bytes.
    pub key: Option<&'a [u8]>,
    /// Value bytes.
    pub value: Option<&'a [u8]>,
    /// Headers, in order.
    pub headers: &'a [Header],
    /// Create time in milliseconds since the epoch (the engine has no clock).
    pub timestamp: i64,
}

/// Where an appended record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// Its batch: delivery events name it.
    pub batch: BatchId,
    /// Its index in the batch (offset = base offset + index).
    pub index: i32,
    /// The chosen partition.
    pub partition: i32,
    /// Whether the sender has new work (a batch became full or a new one started): the
    /// driver should pump the engine soon.
    pub wake_sender: bool,
}

/// Why [`Engine::append`] did not take a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The topic's metadata is not known yet; it has been requested. Retry after the engine
    /// progressed, and ask [`Engine::check_topic`] whether to keep waiting.
    #[error("metadata for topic `{0}` not available yet")]
    TopicPending(String),
    /// `buffer.memory` is exhausted; retry after deliveries freed memory, up to `max.block.ms`.
    #[error("buffer.memory exhausted")]
    WouldBlock,
    /// The record can never be sent.
    #[error(
        "record of {size} bytes is larger than {setting} = {limit}; it was not sent (RecordTooLargeException)"
    )]
    RecordTooLarge {
        /// Upper bound of the record's size in a batch of its own.
        size: usize,
        /// The limit.
        limit: usize,
        /// The setting.
        setting: &'static str,
    },
    /// The producer is closing.
    #[error("producer is closed")]
    Closed,
    /// The explicit partition does not exist, or the partitioner failed.
    #[error(transparent)]
    Partition(#[from] ferrokafka_partition::Error),
    /// The record itself is invalid (e.g. a timestamp below -1).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Waiting for the topic's metadata failed (not available within `max.block.ms`, or a
    /// non-retriable topic error such as authorization).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The idempotent producer is in a fatal state.
    #[error("idempotent producer failed: {0}")]
    Fatal(String),
    /// The transaction state does not allow sending (no transaction begun, abortable or
    /// fatal error).
    #[error("{0}")]
    Transaction(String),
    /// SASL authentication with the cluster failed (Java's `AuthenticationException`): the
    /// message names the broker, the mechanism and what the broker said.
    #[error("{0}")]
    Authentication(String),
}

#[derive(Debug)]
enum ConnState {
    Connecting,
    Negotiating,
    /// SaslHandshake and SaslAuthenticate rounds (first authentication or KIP-368
    /// re-authentication); nothing else is sent meanwhile.
    Authenticating(Box<auth::Auth>),
    Ready(Box<Versions>),
}

#[derive(Debug, Clone)]
struct Versions {
    produce: Result<i16, NegotiationError>,
    metadata: Result<i16, NegotiationError>,
    init_producer_id: Result<i16, NegotiationError>,
    find_coordinator: Result<i16, NegotiationError>,
    add_partitions: Result<i16, NegotiationError>,
    add_offsets: Result<i16, NegotiationError>,
    end_txn: Result<i16, NegotiationError>,
    txn_offset_commit: Result<i16, NegotiationError>,
    /// The broker finalized `transaction.version` >= 2 and has the v2 request versions
    /// (Produce 12, EndTxn 5, TxnOffsetCommit 5): KIP-890 part 2 applies.
    transactions_v2: bool,
    produce_v2: Result<i16, NegotiationError>,
    /// SaslAuthenticate version for KIP-368 re-authentication (0 without SASL).
    sasl_authenticate: i16,
    end_txn_v2: Result<i16, NegotiationError>,
    txn_offset_commit_v2: Result<i16, NegotiationError>,
}

#[derive(Debug)]
struct Conn {
    node: i32,
    /// `host:port`, for error messages.
    addr: String,
    state: ConnState,
    correlator: Correlator<Pending>,
    /// Send times of the requests awaiting an answer, oldest first (parallel to the
    /// correlator's queue).
    sent_at: VecDeque<Instant>,
    /// When a request was last queued or an answer last arrived (`connections.max.idle.ms`).
    last_used: Instant,
    /// The tracing span of each request awaiting an answer (parallel to `sent_at`): its answer
    /// is handled inside it.
    request_spans: VecDeque<tracing::Span>,
    /// The connection's tracing span (broker id and address).
    span: tracing::Span,
    opened_at: Instant,
    throttled_until: Option<Instant>,
    /// Correlation ids of requests sent expecting no answer (acks=0 Produce), newest last.
    /// Some brokers (Tansu) answer them anyway; such answers are skipped, not treated as a
    /// protocol violation.
    unanswered: VecDeque<i32>,
    /// When the SASL session ends (KIP-368 `session_lifetime_ms`): re-authenticate before.
    reauth_at: Option<Instant>,
    /// `reauth_at` passed: no new requests until the connection re-authenticated.
    reauth_due: bool,
    /// `Io::Send`s queued on this connection, and how many the driver reported written.
    sends_queued: u64,
    sends_written: u64,
    /// acks=0 requests not yet written, with the number of their `Io::Send`: their batches
    /// are delivered when the driver reports the write (and count as in flight until then).
    acks0: VecDeque<(u64, Vec<SentBatch>)>,
}

impl Conn {
    fn in_flight(&self) -> usize {
        self.correlator.in_flight() + self.acks0.len()
    }
    fn is_ready(&self) -> bool {
        matches!(self.state, ConnState::Ready(_)) && !self.reauth_due
    }
}

#[derive(Debug)]
enum Pending {
    ApiVersions {
        version: i16,
    },
    Metadata,
    InitProducerId,
    Produce(Vec<SentBatch>),
    FindCoordinator(CoordinatorKind),
    AddPartitions,
    AddOffsets,
    TxnOffsetCommit,
    EndTxn {
        commit: bool,
        returns_identity: bool,
    },
    SaslHandshake,
    SaslAuthenticate,
}

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

#[derive(Debug, Default)]
struct TopicCache {
    count: u32,
    available: Vec<i32>,
    /// `TopicPartition` of every partition, built once per metadata update rather than once
    /// per appended record.
    partitions: Vec<TopicPartition>,
}

/// The sans-IO producer core.
///
/// Inputs: [`append`](Self::append), [`begin_flush`](Self::begin_flush),
/// [`close`](Self::close), [`abort`](Self::abort) (commands);
/// [`handle_connected`](Self::handle_connected), [`handle_frame`](Self::handle_frame),
/// [`handle_disconnect`](Self::handle_disconnect), [`handle_timeout`](Self::handle_timeout)
/// (I/O results). Outputs: [`poll_io`](Self::poll_io), [`poll_event`](Self::poll_event),
/// [`poll_timeout`](Self::poll_timeout). Time is always an argument.
pub struct Engine {
    config: EngineConfig,
    acc: RecordAccumulator,
    metadata: Metadata,
    partitioner: Box<dyn Partitioner>,
    topics: HashMap<String, TopicCache>,
    cluster_generation: u64,
    nodes: BTreeMap<i32, Node>,
    conns: HashMap<ConnId, Conn>,
    next_conn: u64,
    io: VecDeque<Io>,
    events: VecDeque<Event>,
    idem: Option<TransactionManager<TopicPartition>>,
    /// Transaction bookkeeping, with a `transactional.id`.
    txn: Option<TxnCtx>,
    /// `close` was called: transactional calls are refused from then on.
    closed: bool,
    /// Addresses learned from FindCoordinator for nodes the metadata does not list.
    extra_addresses: HashMap<i32, (String, u16)>,
    /// Transactions v2 (KIP-890 part 2) in use: decided when InitProducerId goes to the
    /// transaction coordinator.
    txn_v2: bool,
    init_in_flight: bool,
    fatal: Option<String>,
    /// New stamps for in-flight batches renumbered by an epoch bump or a refused batch ahead
    /// of them, taken at their next drain.
    rewrites: HashMap<BatchId, Stamp>,
    /// The producer state (idempotence/transactions) last reported to tracing.
    traced_state: Option<ferrokafka_txn::StateKind>,
    /// The sequence each drained batch was stamped with (idempotence), so a batch that leaves
    /// without an answer (aborted, expired) also leaves the sequence tracker.
    stamped: HashMap<BatchId, (TopicPartition, i32)>,
    /// In-flight batches whose records were failed at `delivery.timeout.ms` while their request
    /// was still out: their answer is bookkept (sequences, epoch) but reported to nobody, and an
    /// idempotent producer holds their partition until then.
    expired_in_flight: HashMap<BatchId, TopicPartition>,
    /// Per retried batch: the last error and how many times it was sent.
    last_error: HashMap<BatchId, (ErrorCode, u32)>,
    /// Retried batches one of whose earlier attempts may be in the log (its answer was lost or
    /// said NOT_ENOUGH_REPLICAS_AFTER_APPEND): their outcome stays unknown whatever the later
    /// attempts say.
    maybe_written: HashSet<BatchId>,
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
    flushes: HashMap<u64, HashSet<BatchId>>,
    next_flush: u64,
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
    ) -> Result<Self, String> {
        if config.bootstrap.is_empty() {
            return Err("bootstrap.servers lists no broker".to_owned());
        }
        let acc = RecordAccumulator::new(config.accumulator.clone()).map_err(|e| e.to_string())?;
        let metadata = Metadata::new(config.metadata.clone(), now);
        let idem = if config.transactional_id.is_some() {
            Some(
                TransactionManager::new(
                    true,
                    config.accumulator.max_in_flight_per_partition.min(5),
                )
                .map_err(|e| e.to_string())?,
            )
        } else if config.idempotence {
            let mut m = TransactionManager::new(
                false,
                config.accumulator.max_in_flight_per_partition.min(5),
            )
            .map_err(|e| e.to_string())?;
            m.start_idempotent_init().map_err(|e| e.to_string())?;
            Some(m)
        } else {
            None
        };
        let counters = Counters {
            buffer_total_bytes: config.accumulator.buffer_memory as u64,
            buffer_available_bytes: config.accumulator.buffer_memory as u64,
            ..Counters::default()
        };
        let txn = config.transactional_id.clone().map(TxnCtx::new);
        let mut nodes = BTreeMap::new();
        for i in 0..config.bootstrap.len() {
            nodes.insert(bootstrap_node(i), Node::default());
        }
        Ok(Self {
            config,
            acc,
            metadata,
            partitioner,
            topics: HashMap::new(),
            cluster_generation: 0,
            nodes,
            conns: HashMap::new(),
            next_conn: 0,
            io: VecDeque::new(),
            events: VecDeque::new(),
            idem,
            txn,
            closed: false,
            extra_addresses: HashMap::new(),
            txn_v2: false,
            init_in_flight: false,
            fatal: None,
            rewrites: HashMap::new(),
            traced_state: None,
            stamped: HashMap::new(),
            expired_in_flight: HashMap::new(),
            last_error: HashMap::new(),
            maybe_written: HashSet::new(),
            last_problem: None,
            auth_failure: None,
            entropy: Vec::new(),
            oauth_token: None,
            flushes: HashMap::new(),
            next_flush: 0,
            counters,
            next_wake: None,
            dirty: true,
            bootstrap_cursor: 0,
            pending_bumps: Vec::new(),
            metadata_wanted_since: None,
            rebootstrapping: false,
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
        self.idem
            .as_ref()
            .map(TransactionManager::producer)
            .filter(|p| p.is_valid())
    }

    // ---------------------------------------------------------------- commands

    /// Partitions and appends one record. On `Err(TopicPending | WouldBlock)` nothing was
    /// appended: retry once the engine made progress.
    pub fn append(
        &mut self,
        record: &OutgoingRecord<'_>,
        now: Instant,
    ) -> Result<Appended, SendError> {
        if let Some(reason) = &self.fatal {
            return Err(SendError::Fatal(reason.clone()));
        }
        if self.txn.is_some()
            && let Some(m) = &self.idem
        {
            // Refused before waiting for metadata: no transaction is open, or it failed (a
            // fatal error names its cause rather than the shutdown it causes).
            m.send()
                .map_err(|e| SendError::Transaction(e.to_string()))?;
        }
        if self.acc.is_closing() {
            return Err(SendError::Closed);
        }
        let Some(cache) = self.topics.get(record.topic) else {
            if self.metadata.add_topic(record.topic, now) {
                self.dirty = true;
            }
            // The metadata may already know it (added earlier, answer arrived).
            if self
                .metadata
                .cluster()
                .partition_count(record.topic)
                .is_some()
            {
                self.refresh_topic_cache(record.topic);
                return self.append(record, now);
            }
            return Err(SendError::TopicPending(record.topic.to_owned()));
        };
        let partitions = Partitions::new(cache.count, &cache.available)?;
        let mut precord = ferrokafka_partition::Record::new(record.topic, record.key)
            .with_value_len(record.value.map_or(0, <[u8]>::len));
        if let Some(p) = record.partition {
            precord = precord.with_partition(p);
        }
        let partition =
            ferrokafka_partition::select_partition(&mut self.partitioner, &precord, &partitions)?;
        let Some(tp) = usize::try_from(partition)
            .ok()
            .and_then(|p| cache.partitions.get(p))
        else {
            return Err(SendError::InvalidRecord(format!(
                "partition {partition} of `{}` is not in its metadata",
                record.topic
            )));
        };
        if self.txn.is_some()
            && let Some(m) = &mut self.idem
        {
            m.add_partition(tp)
                .map_err(|e| SendError::Transaction(e.to_string()))?;
        }
        let result = self
            .acc
            .append(
                tp,
                record.timestamp,
                record.key,
                record.value,
                record.headers,
                now,
            )
            .map_err(|e| match e {
                AppendError::WouldBlock { .. } => SendError::WouldBlock,
                AppendError::RecordTooLarge {
                    size,
                    limit,
                    setting,
                } => SendError::RecordTooLarge {
                    size,
                    limit,
                    setting,
                },
                AppendError::Closed => SendError::Closed,
                other => SendError::InvalidRecord(other.to_string()),
            })?;
        let bytes = record.key.map_or(0, <[u8]>::len) + record.value.map_or(0, <[u8]>::len);
        let size = (bytes
            + record
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, |v| v.len()))
                .sum::<usize>()) as u64;
        self.counters.records_appended += 1;
        self.counters.record_bytes_total += size;
        self.counters.record_bytes_max = self.counters.record_bytes_max.max(size);
        self.partitioner.on_append(
            &precord,
            &PartitionAppended::new(partition, bytes, result.batch_is_full),
        );
        if result.batch_is_full {
            self.partitioner.on_batch_closed(record.topic, partition);
        }
        let wake = result.batch_is_full || result.new_batch_created;
        if wake {
            self.dirty = true;
        }
        Ok(Appended {
            batch: result.handle.batch,
            index: result.handle.index,
            partition,
            wake_sender: wake,
        })
    }

    /// Whether `topic`'s partitions are known (a `send` to it waits for memory, not metadata).
    pub fn has_topic(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// For a `send` that has waited for `topic` since `since`: `Ok(true)` when its metadata is
    /// known (append again), `Ok(false)` to keep waiting, or the error to fail the send with
    /// (`max.block.ms` passed, or a non-retriable topic error).
    pub fn check_topic(
        &mut self,
        topic: &str,
        since: Instant,
        now: Instant,
    ) -> Result<bool, SendError> {
        if self.topics.contains_key(topic) {
            return Ok(true);
        }
        if let Some(failure) = &self.auth_failure {
            return Err(SendError::Authentication(failure.clone()));
        }
        match self
            .metadata
            .check_wait(topic, since, self.config.max_block, now)?
        {
            Some(_) => {
                self.refresh_topic_cache(topic);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Starts a flush: every batch existing now becomes ready regardless of `linger.ms`.
    /// Returns a token for [`flush_complete`](Self::flush_complete).
    pub fn begin_flush(&mut self) -> u64 {
        self.acc.begin_flush();
        let ids: HashSet<BatchId> = self.acc.batches().into_iter().map(|b| b.id).collect();
        self.next_flush += 1;
        self.flushes.insert(self.next_flush, ids);
        self.dirty = true;
        self.next_flush
    }

    /// Whether every batch that existed when flush `token` began is finished. A finished
    /// flush is ended (so `linger.ms` applies again once no other flush runs).
    pub fn flush_complete(&mut self, token: u64) -> bool {
        match self.flushes.get(&token) {
            Some(ids) if ids.is_empty() => {
                self.flushes.remove(&token);
                self.acc.flush_done();
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    /// Abandons flush `token` (its caller timed out).
    pub fn cancel_flush(&mut self, token: u64) {
        if self.flushes.remove(&token).is_some() {
            self.acc.flush_done();
        }
    }

    /// Starts closing: no more appends; everything queued is sent at once.
    pub fn close(&mut self) {
        // Java aborts an open transaction on close rather than leave it to the coordinator's
        // timeout (which would hold read_committed consumers at the last stable offset).
        if self.txn.is_some()
            && matches!(
                self.transaction_state(),
                Some(
                    ferrokafka_txn::StateKind::InTransaction
                        | ferrokafka_txn::StateKind::AbortableError
                )
            )
        {
            let _ = self.abort_transaction();
        }
        self.closed = true;
        self.acc.close();
        self.dirty = true;
    }

    /// Whether anything is still to be done before a close can end: records queued or in
    /// flight, or a transaction completing.
    pub fn has_pending_work(&self) -> bool {
        self.acc.has_incomplete()
            || matches!(
                self.transaction_state(),
                Some(
                    ferrokafka_txn::StateKind::CommittingTransaction
                        | ferrokafka_txn::StateKind::AbortingTransaction
                )
            )
    }

    /// Whether records are still queued or in flight.
    pub fn has_incomplete(&self) -> bool {
        self.acc.has_incomplete()
    }

    /// Fails every queued and in-flight batch with [`DeliveryError::Aborted`] (close timed out
    /// or the producer was dropped) and closes every connection.
    pub fn abort(&mut self) {
        let in_flight: HashSet<BatchId> = self
            .acc
            .batches()
            .into_iter()
            .filter(|b| b.in_flight)
            .map(|b| b.id)
            .collect();
        for failed in self.acc.abort_all() {
            // A request still out, or an earlier one whose answer was lost, may have been
            // written: say so, distinct from "never sent".
            let error = if in_flight.contains(&failed.id) || self.maybe_written.remove(&failed.id) {
                DeliveryError::ClosedInFlight
            } else {
                DeliveryError::Aborted
            };
            self.push_failed(failed.id, failed.tp, failed.record_count, error);
        }
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.conns.remove(&id);
            self.io.push_back(Io::Close { conn: id });
        }
        for node in self.nodes.values_mut() {
            node.conn = None;
        }
    }

    // ---------------------------------------------------------------- I/O inputs

    /// The TCP connection `conn` is open.
    pub fn handle_connected(&mut self, conn: ConnId, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.state = ConnState::Negotiating;
        // The reconnect backoff resets once the connection is ready (negotiated, and
        // authenticated with SASL), not when TCP connects: a broker that refuses the handshake
        // must not be hammered.
        self.send_api_versions(conn, <ApiVersionsRequest as Message>::MAX_VERSION, now);
        self.dirty = true;
    }

    /// The connection failed to open, broke, or was closed by the peer.
    pub fn handle_disconnect(&mut self, conn: ConnId, now: Instant) {
        self.drop_conn(conn, now, false);
    }

    /// Like [`handle_disconnect`](Self::handle_disconnect), with what the driver saw (the
    /// connect error, a frame over the size limit, the peer closing), kept for error messages
    /// ([`last_connection_problem`](Self::last_connection_problem)).
    pub fn handle_broken(&mut self, conn: ConnId, reason: &str, now: Instant) {
        self.note_problem(conn, reason);
        self.drop_conn(conn, now, false);
    }

    /// One complete response frame (without its size prefix) arrived on `conn`.
    pub fn handle_frame(&mut self, conn: ConnId, frame: &[u8], now: Instant) {
        self.dirty = true;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(id) = frame
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            && let Some(pos) = c.unanswered.iter().position(|&u| u == id)
        {
            // An answer to an acks=0 request: nothing waits for it.
            c.unanswered.drain(..=pos);
            return;
        }
        let matched = match c.correlator.match_response(frame) {
            Ok(m) => m,
            Err(e) => {
                self.note_problem(conn, &format!("answered out of step: {e}"));
                self.drop_conn(conn, now, true);
                return;
            }
        };
        c.last_used = now;
        let node = c.node;
        let sent = c.sent_at.pop_front();
        let rtt = sent.map(|t| now.saturating_duration_since(t));
        for n in [
            &mut self.counters.network,
            self.counters.by_node.entry(node).or_default(),
        ] {
            n.responses += 1;
            n.incoming_bytes += frame.len() as u64 + 4;
            if let Some(rtt) = rtt {
                n.latency_total += rtt;
                n.latency_max = n.latency_max.max(rtt);
                n.latencies += 1;
            }
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let request_span = c
            .request_spans
            .pop_front()
            .unwrap_or_else(tracing::Span::none);
        let _entered = request_span.enter();
        if let Some(sent) = sent {
            let rtt = now.saturating_duration_since(sent);
            self.counters.request_latency_total += rtt;
            self.counters.request_latency_max = self.counters.request_latency_max.max(rtt);
            self.counters.requests_timed += 1;
        }
        tracing::debug!(
            rtt_ms = sent.map(|t| now.saturating_duration_since(t).as_millis()),
            "answer received"
        );
        let body = match matched.response {
            Ok((_, body)) => body,
            Err(e) => {
                self.note_problem(
                    conn,
                    &format!(
                        "its {} v{} answer did not decode: {e}",
                        matched.api_key, matched.version
                    ),
                );
                // Its request is lost; treat it like a broken connection for it and
                // everything behind it.
                self.fail_pending(matched.context, now);
                self.drop_conn(conn, now, true);
                return;
            }
        };
        match (matched.context, body) {
            (Pending::ApiVersions { version }, ResponseBody::ApiVersions(resp)) => {
                self.handle_api_versions(conn, version, &resp, now);
            }
            (Pending::Metadata, ResponseBody::Metadata(resp)) => {
                if ErrorCode(resp.error_code) == ErrorCode::REBOOTSTRAP_REQUIRED {
                    // KIP-1102 (Metadata v13): this broker says our metadata is too stale.
                    self.metadata.handle_failure(now);
                    if self.config.rebootstrap {
                        self.start_rebootstrap("a broker answered REBOOTSTRAP_REQUIRED");
                    }
                    return;
                }
                let before = self.leaders_snapshot();
                self.metadata_wanted_since = None;
                self.counters.last_metadata_at = Some(now);
                if self.rebootstrapping {
                    tracing::info!(brokers = resp.brokers.len(), "rebootstrapped");
                    self.rebootstrapping = false;
                }
                self.metadata.handle_response_owned(resp, now);
                self.on_metadata_updated(&before);
            }
            (Pending::InitProducerId, ResponseBody::InitProducerId(resp)) => {
                self.init_in_flight = false;
                self.throttle(conn, resp.throttle_time_ms, now);
                if self.txn.is_some() {
                    self.handle_txn_init_producer_id(
                        resp.error_code,
                        resp.producer_id,
                        resp.producer_epoch,
                        now,
                    );
                } else {
                    self.handle_init_producer_id(
                        resp.error_code,
                        resp.producer_id,
                        resp.producer_epoch,
                    );
                }
            }
            (Pending::FindCoordinator(kind), ResponseBody::FindCoordinator(resp)) => {
                self.handle_find_coordinator(kind, &resp, now);
            }
            (Pending::AddPartitions, ResponseBody::AddPartitionsToTxn(resp)) => {
                self.handle_add_partitions(&resp, now);
            }
            (Pending::AddOffsets, ResponseBody::AddOffsetsToTxn(resp)) => {
                self.handle_add_offsets(&resp, now);
            }
            (Pending::TxnOffsetCommit, ResponseBody::TxnOffsetCommit(resp)) => {
                self.handle_txn_offset_commit(&resp, now);
            }
            (
                Pending::EndTxn {
                    commit,
                    returns_identity,
                },
                ResponseBody::EndTxn(resp),
            ) => {
                self.handle_end_txn(commit, returns_identity, &resp, now);
            }
            (Pending::SaslHandshake, ResponseBody::SaslHandshake(resp)) => {
                self.handle_sasl_handshake(conn, &resp, now);
            }
            (Pending::SaslAuthenticate, ResponseBody::SaslAuthenticate(resp)) => {
                self.handle_sasl_authenticate(conn, &resp, now);
            }
            (Pending::Produce(batches), ResponseBody::Produce(resp)) => {
                self.counters.produce_requests += 1;
                // Java's produce-throttle-time sensor records every Produce response's
                // throttle_time_ms (0 included); before v6 the broker delayed the answer instead.
                let throttle_ms = u64::try_from(resp.throttle_time_ms).unwrap_or(0);
                self.counters.produce_responses += 1;
                self.counters.produce_throttle_time_total_ms += throttle_ms;
                self.counters.produce_throttle_time_max_ms =
                    self.counters.produce_throttle_time_max_ms.max(throttle_ms);
                if matched.version >= 6 {
                    self.throttle(conn, resp.throttle_time_ms, now);
                }
                self.handle_produce_response(batches, resp, now);
            }
            (ctx, body) => {
                self.note_problem(
                    conn,
                    &format!(
                        "answered a {} request with {}",
                        matched.api_key,
                        body.api_key()
                    ),
                );
                self.fail_pending(ctx, now);
                self.drop_conn(conn, now, true);
            }
        }
    }

    /// The driver wrote one `Io::Send` of `conn` completely to its socket (reported in the
    /// order the sends were given). acks=0 batches are delivered here.
    pub fn handle_written(&mut self, conn: ConnId, now: Instant) {
        let _ = now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.sends_written += 1;
        let written = c.sends_written;
        let mut done = Vec::new();
        while c.acks0.front().is_some_and(|(n, _)| *n <= written) {
            done.extend(c.acks0.pop_front().expect("front checked").1);
        }
        if done.is_empty() {
            return;
        }
        self.dirty = true;
        for b in done {
            self.sequence_done(&b, true);
            let _ = self.acc.complete(b.id);
            self.push_delivered(b.id, b.tp, None, None, b.record_count);
        }
    }

    /// A timer armed at [`poll_timeout`](Self::poll_timeout) fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        self.dirty = true;
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

    /// Why a batch of `topic`-`partition` is still unacknowledged when no Kafka error says it.
    fn unsent_reason(&self, topic: &str, partition: i32) -> String {
        let problem = self
            .last_problem
            .as_deref()
            .map(|p| format!(" (last connection problem: {p})"))
            .unwrap_or_default();
        if self
            .idem
            .as_ref()
            .is_some_and(|idem| !idem.producer().is_valid())
        {
            return format!("no producer id yet (InitProducerId not answered){problem}");
        }
        let Some(leader) = self.metadata.cluster().leader_for(topic, partition) else {
            return format!("the partition has no known leader{problem}");
        };
        let ready = self
            .nodes
            .get(&leader)
            .and_then(|n| n.conn)
            .is_some_and(|c| self.conns.get(&c).is_some_and(Conn::is_ready));
        if ready {
            format!("sent to its leader (broker {leader}) without an answer in time{problem}")
        } else {
            format!("its leader (broker {leader}) could not be reached{problem}")
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_wake
    }

    /// Whether the accumulator has memory again after an append returned `WouldBlock`.
    pub fn poll_memory_freed(&mut self) -> bool {
        self.acc.poll_memory_freed()
    }

    // ---------------------------------------------------------------- the sender

    fn run(&mut self, now: Instant) {
        let mut wake: Option<Instant> = None;
        // A wake in the past would make the driver spin: whatever could run now just ran, so
        // anything "due" is waiting on something else (a connection, a backoff) that has its
        // own wake. Clamp to a millisecond ahead.
        let floor = now + Duration::from_millis(1);
        let mut wake_at =
            |t: Instant| wake = Some(wake.map_or(t.max(floor), |w: Instant| w.min(t.max(floor))));

        self.check_timeouts(now, &mut wake_at);
        self.reauthenticate_due(now, &mut wake_at);

        for failed in self.acc.expire(now) {
            let last_error = self.last_error.get(&failed.id).map(|(code, _)| *code);
            let error = DeliveryError::DeliveryTimeout {
                topic: failed.tp.topic.clone(),
                partition: failed.tp.partition,
                attempts: self
                    .last_error
                    .get(&failed.id)
                    .map_or(0, |(_, sends)| *sends),
                last_error,
                // NETWORK_EXCEPTION is ours (a lost connection), never a broker's answer: say
                // what was lost.
                reason: match last_error {
                    Some(ErrorCode::NETWORK_EXCEPTION) => self.last_problem.clone(),
                    Some(_) => None,
                    None => Some(self.unsent_reason(&failed.tp.topic, failed.tp.partition)),
                },
                // One of its requests was lost rather than refused: it may be in the log.
                maybe_written: failed.ever_sent && self.maybe_written.remove(&failed.id),
            };
            self.note_expired();
            self.push_failed(failed.id, failed.tp, failed.record_count, error);
        }
        self.expire_in_flight(now);

        // Metadata.
        if let Some(t) = self.metadata.poll_timeout().filter(|t| *t > now) {
            wake_at(t);
        }
        let wants_metadata = self.metadata.update_due(now) && !self.metadata.is_in_flight();
        if wants_metadata && self.config.rebootstrap && !self.rebootstrapping {
            let since = *self.metadata_wanted_since.get_or_insert(now);
            let due = since + self.config.rebootstrap_trigger;
            if due <= now {
                self.start_rebootstrap(
                    "no Metadata answer within metadata.recovery.rebootstrap.trigger.ms",
                );
            } else {
                wake_at(due);
            }
        }
        if wants_metadata {
            // While rebootstrapping, metadata comes from a bootstrap server only.
            let ready = if self.rebootstrapping {
                self.least_loaded_ready(now)
                    .filter(|c| self.conns.get(c).is_some_and(|c| c.node < 0))
            } else {
                self.least_loaded_ready(now)
            };
            if let Some(conn) = ready {
                if let Some(req) = self.metadata.poll_request(now) {
                    self.send_metadata(conn, req, now);
                }
            } else {
                self.connect_any(now, &mut wake_at);
            }
        }

        // Idempotence: a producer id before anything is drained.
        let mut can_drain = true;
        if self.txn.is_some() {
            self.drive_txn(now, &mut wake_at);
        }
        if let Some(idem) = &self.idem
            && !idem.producer().is_valid()
        {
            can_drain = false;
            if self.txn.is_none() && !self.init_in_flight && self.fatal.is_none() {
                if let Some(conn) = self.least_loaded_ready(now) {
                    self.send_init_producer_id(conn, now);
                } else {
                    self.connect_any(now, &mut wake_at);
                }
            }
        }
        let txn_fatal = match self.idem.as_ref().map(TransactionManager::state) {
            Some(ferrokafka_txn::TxnState::FatalError(reason)) => Some(reason.to_string()),
            _ => None,
        };
        if let Some(reason) = self.fatal.clone().or(txn_fatal) {
            for failed in self.acc.abort_all() {
                self.push_failed(
                    failed.id,
                    failed.tp,
                    failed.record_count,
                    DeliveryError::Fatal(reason.clone()),
                );
            }
            can_drain = false;
        }

        if let Some(ferrokafka_txn::TxnState::AbortableError(reason)) =
            self.idem.as_ref().map(TransactionManager::state)
            && self.txn.is_some()
        {
            // Java `abortUndrainedBatches`: nothing more of a failed transaction is sent.
            let reason = reason.to_string();
            for failed in self.acc.abort_queued() {
                self.push_failed(
                    failed.id,
                    failed.tp,
                    failed.record_count,
                    DeliveryError::TransactionAbortable(reason.clone()),
                );
            }
        }
        if can_drain {
            self.resolve_sequences();
            self.drain(now, &mut wake_at);
        }
        if self.txn.is_some() {
            // Deliveries or errors during this run may have decided a pending call.
            self.resolve_txn_calls();
        }
        for t in self.nodes.values().filter_map(|n| n.retry_at) {
            if t > now {
                wake_at(t);
            }
        }
        if let Some(m) = &self.idem
            && self.traced_state != Some(m.state().kind())
        {
            let to = m.state().kind();
            if matches!(to, ferrokafka_txn::StateKind::FatalError) {
                tracing::error!(state = ?m.state(), "the producer is in a fatal state");
            } else {
                tracing::debug!(from = ?self.traced_state, to = ?to, "producer state changed");
            }
            self.traced_state = Some(to);
        }
        self.next_wake = wake;
    }

    fn drain(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        let ready = self.acc.ready(now);
        if let Some(t) = ready.next_wakeup {
            wake_at(t);
        }
        if ready.ready_partitions.is_empty() {
            return;
        }
        // Which leaders can take a request now.
        let mut sendable: HashMap<i32, ConnId> = HashMap::new();
        let mut leaders: HashSet<i32> = HashSet::new();
        for tp in &ready.ready_partitions {
            let Some(leader) = self.metadata.cluster().leader_for(&tp.topic, tp.partition) else {
                self.metadata.request_update();
                self.dirty = true;
                continue;
            };
            if leaders.contains(&leader) {
                continue;
            }
            if let Some(conn) = self.ready_conn(leader) {
                let c = &self.conns[&conn];
                let throttled = c.throttled_until.is_some_and(|t| t > now);
                if let Some(t) = c.throttled_until.filter(|t| *t > now) {
                    wake_at(t);
                }
                if !throttled && c.in_flight() < self.config.max_in_flight_per_connection {
                    sendable.insert(leader, conn);
                }
            } else {
                self.ensure_connecting(leader, now);
            }
            leaders.insert(leader);
        }
        if sendable.is_empty() {
            return;
        }
        let cluster = self.metadata.cluster();
        let txm = self.idem.as_ref();
        let transactional = self.txn.is_some();
        let allowed: HashSet<&TopicPartition> = ready
            .ready_partitions
            .iter()
            .filter(|tp| !transactional || txm.is_some_and(|m| m.may_send_to(tp)))
            .collect();
        let leader_of = |tp: &TopicPartition| {
            if !allowed.contains(tp) {
                return None;
            }
            cluster
                .leader_for(&tp.topic, tp.partition)
                .filter(|l| sendable.contains_key(l))
        };
        let idem = &mut self.idem;
        let rewrites = &mut self.rewrites;
        let stamped = &mut self.stamped;
        let drained = self.acc.drain_deferrable(
            &ready.ready_partitions,
            leader_of,
            self.config.accumulator.max_request_size,
            now,
            |req| {
                let stamp = stamp_for(idem.as_mut(), rewrites, req, transactional)?;
                if stamp.base_sequence >= 0 {
                    stamped.insert(req.batch, (req.tp.clone(), stamp.base_sequence));
                }
                Some(stamp)
            },
        );
        let drained_any = drained.batch_count() > 0;
        for failed in drained.failed {
            let msg = match &failed.reason {
                FailReason::Encode(e) => e.to_string(),
                other => format!("{other:?}"),
            };
            self.push_failed(
                failed.id,
                failed.tp,
                failed.record_count,
                DeliveryError::Encode(msg),
            );
        }
        if drained_any {
            // More may be ready: a drain takes one batch per partition.
            self.dirty = true;
        }
        for (leader, batches) in drained.by_leader {
            let Some(&conn) = sendable.get(&leader) else {
                continue;
            };
            self.send_produce(conn, batches, now);
        }
    }

    fn send_produce(&mut self, conn: ConnId, batches: Vec<DrainedBatch>, now: Instant) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let ConnState::Ready(versions) = &c.state else {
            return;
        };
        let produce = if self.txn_v2 {
            &versions.produce_v2
        } else {
            &versions.produce
        };
        let version = match produce {
            Ok(v) => *v,
            Err(e) => {
                let msg = format!("broker {} cannot take Produce: {e}", c.node);
                for b in batches {
                    let _ = self.acc.fail(b.id);
                    self.push_failed(
                        b.id,
                        b.tp,
                        b.record_count,
                        DeliveryError::Fatal(msg.clone()),
                    );
                }
                return;
            }
        };
        let mut topic_data: Vec<TopicProduceData> = Vec::new();
        let mut sent = Vec::with_capacity(batches.len());
        for b in batches {
            self.counters.batches_sent += 1;
            self.counters.records_in_requests += b.record_count as u64;
            self.counters.batch_bytes += b.bytes.len() as u64;
            self.counters.batch_bytes_max = self.counters.batch_bytes_max.max(b.bytes.len() as u64);
            let topic = crate::metrics::topic_counters(&mut self.counters.by_topic, &b.tp.topic);
            topic.bytes += b.bytes.len() as u64;
            if b.compression_ratio > 0.0 {
                // compression-rate-avg: compressed / uncompressed bytes.
                #[allow(clippy::cast_precision_loss)] // batch sizes are far below 2^52
                let uncompressed = b.bytes.len() as f64 / f64::from(b.compression_ratio);
                self.counters.uncompressed_bytes += uncompressed as u64;
                topic.uncompressed_bytes += uncompressed as u64;
            }
            if b.attempts > 0 {
                self.counters.records_retried += b.record_count as u64;
                topic.records_retried += b.record_count as u64;
            } else {
                self.counters.queue_time_total += b.queue_time;
                self.counters.queue_time_max = self.counters.queue_time_max.max(b.queue_time);
                self.counters.queue_time_batches += 1;
            }
            let part = PartitionProduceData {
                index: b.tp.partition,
                records: Some(b.bytes.clone()),
                ..Default::default()
            };
            match topic_data.iter_mut().find(|t| t.name == b.tp.topic) {
                Some(t) => t.partition_data.push(part),
                None => topic_data.push(TopicProduceData {
                    name: b.tp.topic.clone(),
                    partition_data: vec![part],
                    ..Default::default()
                }),
            }
            sent.push(SentBatch {
                id: b.id,
                tp: b.tp,
                record_count: b.record_count,
                attempts: b.attempts,
                stamp: b.stamp,
            });
        }
        if self.txn_v2
            && let Some(t) = &mut self.txn
        {
            // Under v2 the partition joins the transaction with this Produce.
            t.started = true;
        }
        let req = ProduceRequest {
            transactional_id: self.txn.as_ref().map(|t| t.id.clone()),
            acks: self.config.acks,
            timeout_ms: duration_ms_i32(self.config.request_timeout),
            topic_data,
            ..Default::default()
        };
        let acks_zero = self.config.acks == 0;
        if acks_zero {
            // No answer will come: the records are delivered once the driver reports the
            // request written (`handle_written`).
            match self.send_unanswered(conn, &RequestBody::Produce(req), version, now) {
                Some(send_no) => {
                    self.counters.produce_requests += 1;
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.acks0.push_back((send_no, sent));
                    }
                }
                None => self.requeue_or_fail(sent, ErrorCode::NETWORK_EXCEPTION, None, now),
            }
            return;
        }
        let body = RequestBody::Produce(req);
        if let Err(Pending::Produce(batches)) =
            self.send_request_with(conn, &body, version, Pending::Produce(sent), now)
        {
            self.requeue_or_fail(batches, ErrorCode::NETWORK_EXCEPTION, None, now);
        }
    }

    fn handle_produce_response(
        &mut self,
        batches: Vec<SentBatch>,
        resp: ProduceResponse,
        now: Instant,
    ) {
        let mut by_tp: HashMap<(&str, i32), &PartitionProduceResponse> = HashMap::new();
        for t in &resp.responses {
            for p in &t.partition_responses {
                by_tp.insert((t.name.as_str(), p.index), p);
            }
        }
        let mut retry = Vec::new();
        for b in batches {
            let Some(p) = by_tp.get(&(b.tp.topic.as_str(), b.tp.partition)).copied() else {
                // The broker broke the protocol. Java treats it as UNKNOWN_SERVER_ERROR; the
                // message says what really happened.
                retry.push((
                    b,
                    ErrorCode::UNKNOWN_SERVER_ERROR,
                    Some("the broker's Produce response did not mention this partition".to_owned()),
                ));
                continue;
            };
            let code = ErrorCode(p.error_code);
            if p.current_leader.leader_id >= 0 {
                self.metadata.handle_leader_hint(
                    &b.tp.topic,
                    b.tp.partition,
                    p.current_leader.leader_id,
                    p.current_leader.leader_epoch,
                    &resp.node_endpoints,
                );
            }
            match code {
                ErrorCode::NONE => {
                    self.sequence_done(&b, true);
                    let _ = self.acc.complete(b.id);
                    let lat = (p.log_append_time_ms >= 0).then_some(p.log_append_time_ms);
                    self.push_delivered(b.id, b.tp, Some(p.base_offset), lat, b.record_count);
                }
                ErrorCode::DUPLICATE_SEQUENCE_NUMBER if self.idem.is_some() => {
                    self.sequence_done(&b, true);
                    let _ = self.acc.complete(b.id);
                    let offset = (p.base_offset >= 0).then_some(p.base_offset);
                    self.push_delivered(b.id, b.tp, offset, None, b.record_count);
                }
                ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE
                    if b.record_count > 1 && !self.expired_in_flight.contains_key(&b.id) =>
                {
                    self.split(b, now);
                }
                _ => {
                    retry.push((b, code, p.error_message.clone()));
                }
            }
        }
        for (b, code, message) in retry {
            self.requeue_or_fail(vec![b], code, message, now);
        }
    }

    fn split(&mut self, b: SentBatch, now: Instant) {
        // Java splits into batch.size pieces (uncompressed); the accumulator halves the limit
        // for a batch already within it, so repeated refusals always make progress.
        let limit = self.config.accumulator.batch_size;
        match self.acc.split_and_reenqueue(b.id, limit) {
            Ok(outcome) => {
                self.counters.batch_splits += 1;
                // Under idempotence the parts carry consecutive sequences from the original's
                // base (records' split), so they go out in its place with no epoch bump.
                for ids in self.flushes.values_mut() {
                    if ids.remove(&outcome.original) {
                        ids.extend(outcome.parts.iter().map(|p| p.batch));
                    }
                }
                if let Some(e) = self.last_error.remove(&outcome.original) {
                    for p in &outcome.parts {
                        self.last_error.insert(p.batch, e);
                    }
                }
                if self.maybe_written.remove(&outcome.original) {
                    self.maybe_written
                        .extend(outcome.parts.iter().map(|p| p.batch));
                }
                // The parts take the original's place in the sequence tracker, each with its
                // slice of the original's (possibly renumbered) range, so each is completed,
                // failed or renumbered on its own (Java `splitAndReenqueue`).
                let tracked = self.stamped.remove(&outcome.original);
                let rewrite = self.rewrites.remove(&outcome.original);
                if let Some((tp, base)) = tracked
                    && let Some(idem) = &mut self.idem
                {
                    let counts: Vec<i32> = outcome.parts.iter().map(|p| p.record_count).collect();
                    if let Ok(bases) = idem.sequences_mut().split(&tp, base, &counts) {
                        for (part, part_base) in outcome.parts.iter().zip(bases) {
                            self.stamped.insert(part.batch, (tp.clone(), part_base));
                            if let Some(r) = rewrite {
                                self.rewrites.insert(
                                    part.batch,
                                    Stamp {
                                        producer: r.producer,
                                        base_sequence: part_base,
                                    },
                                );
                            }
                        }
                    }
                }
                self.events.push_back(Event::Split(outcome));
            }
            Err(_) => {
                self.requeue_or_fail(vec![b], ErrorCode::MESSAGE_TOO_LARGE, None, now);
            }
        }
    }

    /// Retriable errors go back to the queue (order kept); the rest fail their records.
    fn requeue_or_fail(
        &mut self,
        batches: Vec<SentBatch>,
        code: ErrorCode,
        message: Option<String>,
        now: Instant,
    ) {
        for b in batches {
            self.metadata
                .handle_partition_error(&b.tp.topic, b.tp.partition, code, now);
            // Its records already failed at delivery.timeout.ms: no retry, only the bookkeeping.
            let expired = self.expired_in_flight.contains_key(&b.id);
            let sequence_retry = !expired
                && self.idem.is_some()
                && matches!(
                    code,
                    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID
                )
                && self.is_behind_earlier_batch(&b);
            // Java (KIP-360): UNKNOWN_PRODUCER_ID for the partition's next batch means the broker
            // lost the producer's state (e.g. retention removed it); an idempotent producer
            // bumps its epoch, restarting the partition's sequences, and resends.
            // The same for OUT_OF_ORDER_SEQUENCE_NUMBER on the next batch: a real gap, closed by
            // the bump (Java `canRetry` retries every sequence error of an idempotent producer).
            let reset_retry = !expired
                && self.idem.is_some()
                && self.txn.is_none()
                && matches!(
                    code,
                    ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                )
                && !sequence_retry
                && b.attempts < self.config.retries;
            if reset_retry && !self.pending_bumps.contains(&b.tp) {
                // The broker refused this head batch, so nothing of the partition behind it can
                // have been appended either: renumbering its in-flight batches is safe. One bump
                // for every partition that asks in this round (`resolve_sequences`, before the
                // next drain), not one each: a second bump would leave the first one's
                // renumbered batches under an epoch already passed.
                self.pending_bumps.push(b.tp.clone());
                self.dirty = true;
            }
            let retriable = code.is_retriable() || sequence_retry || reset_retry;
            if retriable && !expired && b.attempts < self.config.retries {
                tracing::info!(
                    topic = %b.tp.topic,
                    partition = b.tp.partition,
                    error = ?code,
                    attempt = b.attempts + 1,
                    "retrying a batch"
                );
                self.last_error.insert(b.id, (code, b.attempts + 1));
                if matches!(
                    code,
                    ErrorCode::REQUEST_TIMED_OUT
                        | ErrorCode::NETWORK_EXCEPTION
                        | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                ) {
                    self.maybe_written.insert(b.id);
                }
                if self.acc.reenqueue(b.id, now).is_ok() {
                    self.dirty = true;
                }
                continue;
            }
            // A batch the broker refused was never appended: its sequences are given back and
            // the batches behind it renumbered (Java `adjustSequencesDueToFailedBatch`). One
            // that may have been appended (timeouts, lost connection) leaves a gap instead.
            // An earlier attempt counts too: a batch appended once and then refused on a retry
            // (NOT_ENOUGH_REPLICAS after NOT_ENOUGH_REPLICAS_AFTER_APPEND, or after a lost
            // answer) is in the log, and its sequences must not be given to another batch.
            let maybe_appended = self.maybe_written.contains(&b.id)
                || matches!(
                    code,
                    ErrorCode::REQUEST_TIMED_OUT
                        | ErrorCode::NETWORK_EXCEPTION
                        | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                );
            let released = !maybe_appended && self.release_refused(&b);
            if !released {
                self.sequence_done(&b, false);
            }
            if self.txn.is_some() {
                // Inside a transaction a lost batch makes the transaction abortable (or the
                // producer fatal); the epoch bump, if any, follows the abort.
                if let Some(m) = &mut self.idem {
                    let _ = m.handle_produce_error(code);
                }
            }
            // Otherwise the gap it left is closed by an epoch bump once nothing of the partition
            // is in flight any more (`resolve_sequences`).
            let _ = self.acc.fail(b.id);
            let error = DeliveryError::Broker {
                topic: b.tp.topic.clone(),
                partition: b.tp.partition,
                code,
                message: message.clone(),
            };
            self.push_failed(b.id, b.tp, b.record_count, error);
        }
    }

    /// Whether an earlier batch of the same partition is still unresolved, so an
    /// out-of-sequence answer for this one is a consequence of that one's failure.
    fn is_behind_earlier_batch(&self, b: &SentBatch) -> bool {
        let Some(idem) = &self.idem else {
            return false;
        };
        idem.sequences()
            .in_flight(&b.tp)
            .first()
            .is_some_and(|first| first.base_sequence != b.stamp.base_sequence)
    }

    /// Gives a refused batch's sequences back; false if it carries no current sequence.
    fn release_refused(&mut self, b: &SentBatch) -> bool {
        let base = self.tracked_base(b);
        let Some(idem) = &mut self.idem else {
            return false;
        };
        if base < 0 {
            return false;
        }
        match idem.sequences_mut().release_refused(&b.tp, base) {
            Ok(rewrites) => {
                // Its range now belongs to the batches behind it: `finish` must not fail it
                // again (that would drop the batch renumbered into its base).
                self.stamped.remove(&b.id);
                for r in rewrites {
                    note_rewrite(&mut self.rewrites, &mut self.stamped, r);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// The base sequence the tracker holds for `b`: the one it was sent with, or its
    /// renumbered one if an epoch bump or a refused batch ahead of it moved it since.
    fn tracked_base(&self, b: &SentBatch) -> i32 {
        self.stamped
            .get(&b.id)
            .map_or(b.stamp.base_sequence, |(_, base)| *base)
    }

    fn sequence_done(&mut self, b: &SentBatch, ok: bool) {
        let base = self.tracked_base(b);
        // Settled here, once: `finish` must not fail the same base again later, when another
        // batch may have been renumbered into it.
        self.stamped.remove(&b.id);
        let Some(idem) = &mut self.idem else {
            return;
        };
        if base < 0 {
            return;
        }
        let seqs = idem.sequences_mut();
        let _ = if ok {
            seqs.complete(&b.tp, base)
        } else {
            seqs.fail(&b.tp, base)
        };
    }

    /// Java `maybeResolveSequences`: a partition left with a gap by a batch that failed for good
    /// (or expired after being sent) gets its epoch bump once none of its batches is in flight:
    /// until then an unanswered batch may still land in the log, and renumbering it under the
    /// new epoch would write it twice. New batches of the partition wait meanwhile
    /// ([`stamp_for`]).
    fn resolve_sequences(&mut self) {
        if self.txn.is_some() {
            return;
        }
        let Some(idem) = &self.idem else {
            return;
        };
        let seqs = idem.sequences();
        let mut due: Vec<TopicPartition> = seqs
            .unresolved_partitions()
            .filter(|tp| {
                seqs.in_flight(tp).is_empty() && !self.expired_in_flight.values().any(|t| t == *tp)
            })
            .cloned()
            .collect();
        for tp in std::mem::take(&mut self.pending_bumps) {
            if !due.contains(&tp) {
                due.push(tp);
            }
        }
        if !due.is_empty() {
            self.bump_epoch(due);
        }
    }

    /// A local epoch bump (KIP-360) renumbering `affected` from 0. Only partitions none of whose
    /// in-flight batches can be in the log are named (a refused head batch, or nothing in
    /// flight); the others finish their in-flight batches under the old epoch and then restart
    /// at 0 (Java renumbers only the partitions that asked for the bump).
    fn bump_epoch(&mut self, affected: Vec<TopicPartition>) {
        let Some(idem) = &mut self.idem else {
            return;
        };
        tracing::info!(
            producer_id = idem.producer().producer_id,
            from_epoch = idem.producer().epoch,
            partitions = ?affected,
            "bumping the producer epoch (KIP-360)"
        );
        match idem.bump_epoch_locally(affected) {
            Ok(rewrites) => {
                for r in rewrites {
                    note_rewrite(&mut self.rewrites, &mut self.stamped, r);
                }
            }
            // Not READY (a new producer id is on its way after an exhausted epoch): the new id
            // restarts every sequence anyway.
            Err(ferrokafka_txn::TxnError::LocalBumpNotAllowed { .. }) => {}
            Err(e) => self.fatal = Some(e.to_string()),
        }
        if let Some(idem) = &mut self.idem {
            for r in idem.take_rewrites() {
                note_rewrite(&mut self.rewrites, &mut self.stamped, r);
            }
            if !idem.producer().is_valid() {
                let _ = idem.start_idempotent_init();
            }
        }
        self.dirty = true;
    }

    fn handle_init_producer_id(&mut self, error_code: i16, id: i64, epoch: i16) {
        let Some(idem) = &mut self.idem else {
            return;
        };
        let code = ErrorCode(error_code);
        match idem.handle_init_producer_id(init_producer_id_result(code, id, epoch)) {
            Ok(ferrokafka_txn::ErrorClass::Fatal) => {
                self.fatal = Some(format!("InitProducerId failed with {code:?}"));
            }
            Ok(_) => {
                if idem.producer().is_valid() {
                    tracing::info!(
                        producer_id = idem.producer().producer_id,
                        epoch = idem.producer().epoch,
                        "producer id assigned"
                    );
                } else if code != ErrorCode::NONE {
                    tracing::info!(error = ?code, "InitProducerId failed; retrying");
                }
                for r in idem.take_rewrites() {
                    note_rewrite(&mut self.rewrites, &mut self.stamped, r);
                }
                if !idem.producer().is_valid() {
                    let _ = idem.start_idempotent_init();
                }
            }
            Err(e) => self.fatal = Some(e.to_string()),
        }
        self.dirty = true;
    }

    fn handle_api_versions(
        &mut self,
        conn: ConnId,
        version: i16,
        resp: &ApiVersionsResponse,
        now: Instant,
    ) {
        let code = ErrorCode(resp.error_code);
        if code == ErrorCode::UNSUPPORTED_VERSION && version > 0 {
            let next = resp
                .range(ApiKey::API_VERSIONS)
                .map_or(0, |(_, max)| max.min(version - 1));
            self.send_api_versions(conn, next, now);
            return;
        }
        let Ok(negotiated) = Negotiated::new(SUPPORTED_APIS, resp) else {
            self.drop_conn(conn, now, true);
            return;
        };
        let versions = Versions {
            produce: negotiated.version_capped(ApiKey::PRODUCE, PRODUCE_VERSION_CAP),
            metadata: negotiated.version(ApiKey::METADATA),
            init_producer_id: negotiated.version(ApiKey::INIT_PRODUCER_ID),
            find_coordinator: negotiated.version(ApiKey::FIND_COORDINATOR),
            // Transactions v1: AddPartitionsToTxn v4+ is the broker-to-broker form, EndTxn v5
            // and TxnOffsetCommit v5 belong to KIP-890 v2.
            add_partitions: negotiated.version_capped(ApiKey::ADD_PARTITIONS_TO_TXN, 3),
            add_offsets: negotiated.version(ApiKey::ADD_OFFSETS_TO_TXN),
            end_txn: negotiated.version_capped(ApiKey::END_TXN, 4),
            txn_offset_commit: negotiated.version_capped(ApiKey::TXN_OFFSET_COMMIT, 4),
            transactions_v2: resp.transactions_v2()
                && negotiated.version(ApiKey::PRODUCE).is_ok_and(|v| v >= 12)
                && negotiated.version(ApiKey::END_TXN).is_ok_and(|v| v >= 5)
                && negotiated
                    .version(ApiKey::TXN_OFFSET_COMMIT)
                    .is_ok_and(|v| v >= 5),
            produce_v2: negotiated.version_capped(ApiKey::PRODUCE, 12),
            sasl_authenticate: negotiated.version(ApiKey::SASL_AUTHENTICATE).unwrap_or(0),
            end_txn_v2: negotiated.version(ApiKey::END_TXN),
            txn_offset_commit_v2: negotiated.version(ApiKey::TXN_OFFSET_COMMIT),
        };
        if let Some(c) = self.conns.get(&conn) {
            tracing::debug!(
                parent: &c.span,
                produce = ?versions.produce,
                metadata = ?versions.metadata,
                init_producer_id = ?versions.init_producer_id,
                transactions_v2 = versions.transactions_v2,
                "API versions negotiated"
            );
        }
        if self.config.sasl.is_some() {
            self.start_authentication(conn, Box::new(versions), &negotiated, now);
        } else if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Ready(Box::new(versions));
            self.connection_ready(conn);
        }
        self.dirty = true;
    }

    /// KIP-899: metadata comes from the bootstrap servers again. Connections for metadata go to
    /// them (not to the brokers of the last known metadata) until a Metadata answer arrives.
    pub(super) fn start_rebootstrap(&mut self, why: &str) {
        if self.rebootstrapping {
            return;
        }
        tracing::info!(reason = why, "rebootstrapping from bootstrap.servers");
        self.rebootstrapping = true;
        self.counters.rebootstraps += 1;
        self.metadata.request_update();
        self.dirty = true;
    }

    /// A connection can carry requests: its node's reconnect backoff starts over.
    fn connection_ready(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get(&conn) {
            tracing::debug!(parent: &c.span, "connection ready");
        }
        if let Some(node) = self.conns.get(&conn).map(|c| c.node)
            && let Some(n) = self.nodes.get_mut(&node)
        {
            n.failures = 0;
        }
    }

    // ---------------------------------------------------------------- metadata

    /// Leaders of every partition of the topics in use, for tracing what a Metadata answer
    /// changed.
    fn leaders_snapshot(&self) -> Vec<(String, Vec<Option<i32>>)> {
        if !tracing::enabled!(tracing::Level::INFO) {
            return Vec::new();
        }
        let cluster = self.metadata.cluster();
        self.topics
            .iter()
            .map(|(t, cache)| {
                let leaders = (0..cache.count as i32)
                    .map(|p| cluster.leader_for(t, p))
                    .collect();
                (t.clone(), leaders)
            })
            .collect()
    }

    fn on_metadata_updated(&mut self, before: &[(String, Vec<Option<i32>>)]) {
        self.cluster_generation += 1;
        let names: Vec<String> = self.topics.keys().cloned().collect();
        for t in names {
            self.refresh_topic_cache(&t);
        }
        if tracing::enabled!(tracing::Level::INFO) {
            let cluster = self.metadata.cluster();
            for (topic, leaders) in before {
                let moved: Vec<(i32, Option<i32>, Option<i32>)> = leaders
                    .iter()
                    .enumerate()
                    .filter_map(|(p, old)| {
                        let p = p as i32;
                        let new = cluster.leader_for(topic, p);
                        (new != *old).then_some((p, *old, new))
                    })
                    .collect();
                if !moved.is_empty() {
                    tracing::info!(
                        topic = %topic,
                        partitions = moved.len(),
                        "partition leaders changed"
                    );
                    for (p, old, new) in moved {
                        tracing::debug!(topic = %topic, partition = p, old = ?old, new = ?new, "leader moved");
                    }
                }
            }
            tracing::debug!(
                brokers = cluster.brokers().count(),
                topics = self.topics.len(),
                "metadata updated"
            );
        }
        // Nodes no longer in the cluster keep their connections until they fail.
        self.dirty = true;
    }

    fn refresh_topic_cache(&mut self, topic: &str) {
        let cluster = self.metadata.cluster();
        match cluster.partition_count(topic) {
            Some(n) if n > 0 => {
                let cache = TopicCache {
                    count: n as u32,
                    available: rack_preferred(
                        cluster,
                        topic,
                        cluster.available_partitions(topic),
                        self.config.preferred_rack.as_deref(),
                    ),
                    partitions: (0..n as i32)
                        .map(|p| TopicPartition::new(topic, p))
                        .collect(),
                };
                self.topics.insert(topic.to_owned(), cache);
            }
            _ => {
                self.topics.remove(topic);
            }
        }
    }

    // ---------------------------------------------------------------- events

    fn push_delivered(
        &mut self,
        batch: BatchId,
        tp: TopicPartition,
        base_offset: Option<i64>,
        log_append_time: Option<i64>,
        record_count: i32,
    ) {
        if self.settle_expired(batch, &tp) {
            return;
        }
        self.counters.records_sent += record_count as u64;
        crate::metrics::topic_counters(&mut self.counters.by_topic, &tp.topic).records_sent +=
            record_count as u64;
        self.finish(batch);
        self.events.push_back(Event::Delivered {
            batch,
            tp,
            base_offset,
            log_append_time,
            record_count,
        });
    }

    fn push_failed(
        &mut self,
        batch: BatchId,
        tp: TopicPartition,
        record_count: i32,
        error: DeliveryError,
    ) {
        if self.settle_expired(batch, &tp) {
            return;
        }
        tracing::warn!(
            topic = %tp.topic,
            partition = tp.partition,
            records = record_count,
            error = %error,
            "delivery failed"
        );
        self.counters.records_errored += record_count as u64;
        crate::metrics::topic_counters(&mut self.counters.by_topic, &tp.topic).records_errored +=
            record_count as u64;
        self.finish(batch);
        self.events.push_back(Event::Failed {
            batch,
            tp,
            record_count,
            error,
        });
    }

    /// `delivery.timeout.ms` bounds in-flight batches too (Java's `getExpiredInflightBatches`):
    /// their records fail now, with an outcome-unknown error, while the batch stays in flight
    /// until its request is answered or lost. An idempotent producer sends nothing more to the
    /// partition until then (its sequence is unresolved: the answer decides whether the epoch
    /// must be bumped); in a transaction the expiry makes the transaction abortable.
    fn expire_in_flight(&mut self, now: Instant) {
        for failed in self.acc.expire_in_flight(now) {
            let (last_error, attempts) = self
                .last_error
                .get(&failed.id)
                .map_or((None, 0), |(code, sends)| (Some(*code), *sends));
            let leader = self
                .metadata
                .cluster()
                .leader_broker(&failed.tp.topic, failed.tp.partition)
                .map_or_else(
                    || "its leader".to_owned(),
                    |b| format!("broker {} ({}:{})", b.id, b.host, b.port),
                );
            let problem = self
                .last_problem
                .as_deref()
                .map(|p| format!(" (last connection problem: {p})"))
                .unwrap_or_default();
            let error = DeliveryError::DeliveryTimeout {
                topic: failed.tp.topic.clone(),
                partition: failed.tp.partition,
                attempts: attempts + 1,
                last_error,
                reason: Some(format!(
                    "its request to {leader} was not answered in time{problem}"
                )),
                maybe_written: true,
            };
            if self.txn.is_some() {
                if let Some(m) = &mut self.idem {
                    let _ = m.handle_batch_expired();
                }
            } else if self.idem.is_some() {
                self.acc.hold(&failed.tp);
            }
            self.counters.records_errored += failed.record_count as u64;
            self.expired_in_flight.insert(failed.id, failed.tp.clone());
            self.events.push_back(Event::Failed {
                batch: failed.id,
                tp: failed.tp,
                record_count: failed.record_count,
                error,
            });
        }
    }

    /// For a batch whose records were already failed by [`expire_in_flight`]: its answer came
    /// (or its request was lost); finish its bookkeeping silently. Returns whether it was one.
    fn settle_expired(&mut self, batch: BatchId, tp: &TopicPartition) -> bool {
        if self.expired_in_flight.remove(&batch).is_none() {
            return false;
        }
        self.finish(batch);
        if !self.expired_in_flight.values().any(|t| t == tp) {
            self.acc.release(tp);
        }
        self.dirty = true;
        true
    }

    fn finish(&mut self, batch: BatchId) {
        self.last_error.remove(&batch);
        self.maybe_written.remove(&batch);
        self.rewrites.remove(&batch);
        if let Some((tp, base)) = self.stamped.remove(&batch)
            && let Some(m) = &mut self.idem
        {
            // Already gone if the batch was answered; otherwise (aborted, expired) it leaves a
            // gap that the next epoch bump closes.
            let _ = m.sequences_mut().fail(&tp, base);
        }
        for ids in self.flushes.values_mut() {
            ids.remove(&batch);
        }
    }

    /// In a transaction an expired batch makes it abortable. (An idempotent producer's sent
    /// batch leaves a gap instead, marked by the tracker when the batch is finished:
    /// `resolve_sequences` bumps the epoch once the partition is quiet.)
    fn note_expired(&mut self) {
        if self.txn.is_some()
            && let Some(m) = &mut self.idem
        {
            let _ = m.handle_batch_expired();
        }
    }
}

/// Records that an in-flight batch of `r.partition` was renumbered: its next drain takes the
/// new stamp, and the sequence tracker is told the new number if it leaves unanswered.
fn note_rewrite(
    rewrites: &mut HashMap<BatchId, Stamp>,
    stamped: &mut HashMap<BatchId, (TopicPartition, i32)>,
    r: ferrokafka_txn::Rewrite<TopicPartition>,
) {
    for (batch, (tp, base)) in stamped.iter_mut() {
        if *tp == r.partition && *base == r.old_base_sequence {
            *base = r.new.base_sequence;
            rewrites.insert(*batch, r.new);
        }
    }
}

/// The stamp for a batch at drain: none without idempotence; a fresh sequence on first drain;
/// on a retry the new stamp a renumbering gave it, else its own (even under an older epoch, as
/// Java: the broker still accepts it on that partition). `None` defers the batch: a new batch
/// of a partition that still has batches in flight under an older identity (or too many in
/// flight) waits, rather than go out without a sequence.
fn stamp_for(
    idem: Option<&mut TransactionManager<TopicPartition>>,
    rewrites: &mut HashMap<BatchId, Stamp>,
    req: &StampRequest<'_>,
    transactional: bool,
) -> Option<ProducerStamp> {
    let Some(idem) = idem else {
        return Some(ProducerStamp::NONE);
    };
    let fresh = req.previous.is_none_or(|p| p.base_sequence < 0);
    if fresh && !transactional && idem.sequences().is_unresolved(req.tp) {
        // Numbered after a gap, it would be refused: wait for the epoch bump.
        return None;
    }
    // The latest renumbering of this batch, even under an epoch a later bump has passed (its
    // partition then finishes its in-flight batches under that epoch before restarting at 0):
    // its original stamp would no longer match the tracker.
    if let Some(new) = rewrites.remove(&req.batch) {
        return Some(to_producer_stamp(new, transactional));
    }
    if let Some(prev) = req.previous
        && prev.base_sequence >= 0
    {
        return Some(prev);
    }
    idem.sequences_mut()
        .assign(req.tp, req.record_count)
        .ok()
        .map(|stamp| to_producer_stamp(stamp, transactional))
}

fn to_producer_stamp(s: Stamp, transactional: bool) -> ProducerStamp {
    ProducerStamp {
        producer_id: s.producer.producer_id,
        producer_epoch: s.producer.epoch,
        base_sequence: s.base_sequence,
        transactional,
    }
}

/// An InitProducerId answer as the txn crate takes it: the identity, or the error code.
fn init_producer_id_result(
    code: ErrorCode,
    id: i64,
    epoch: i16,
) -> Result<ProducerIdAndEpoch, ErrorCode> {
    if code == ErrorCode::NONE {
        Ok(ProducerIdAndEpoch::new(id, epoch))
    } else {
        Err(code)
    }
}

/// KIP-1123: of the partitions with a leader, those led by a broker in `rack`, unless there
/// are none (or no rack is preferred): then all of them. Keyed records never look at this list
/// (their partition is the key's hash over every partition), so only keyless ones change.
fn rack_preferred(
    cluster: &ferrokafka_metadata::Cluster,
    topic: &str,
    available: Vec<i32>,
    rack: Option<&str>,
) -> Vec<i32> {
    let Some(rack) = rack else {
        return available;
    };
    let local: Vec<i32> = available
        .iter()
        .copied()
        .filter(|&p| {
            cluster
                .leader_broker(topic, p)
                .and_then(|b| b.rack.as_deref())
                == Some(rack)
        })
        .collect();
    if local.is_empty() { available } else { local }
}

fn bootstrap_node(index: usize) -> i32 {
    -1 - index as i32
}

fn duration_ms_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
