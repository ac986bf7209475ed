//! The cluster state machine: brokers, topics, partitions, the transaction coordinator, the
//! connections and their outgoing answers.
//!
//! # Method families (the poll order)
//!
//! - **Inputs**: [`Cluster::connect`] a client to a broker, then [`Cluster::handle_frame`] for
//!   each request frame it sends (`now` and the wall-clock milliseconds passed in);
//!   [`Cluster::disconnect`] when the client goes away.
//! - **Outputs**: [`Cluster::poll_transmit`] gives the next answer due on a connection (answers
//!   leave in request order: a delayed or held answer holds back the ones behind it, as a
//!   Kafka broker's one-request-at-a-time connections do); [`Cluster::poll_timeout`] says when
//!   the next delayed answer is due; [`Cluster::is_closed`] whether the fake closed the
//!   connection (the driver then closes the socket).
//! - **Commands**: topics ([`Cluster::create_topic`]), faults ([`Cluster::inject`],
//!   [`Cluster::release_held`], [`Cluster::broker_down`], [`Cluster::move_leader`], ...).
//! - **Inspection**: [`Cluster::records`], [`Cluster::producer_state`],
//!   [`Cluster::transaction`], [`Cluster::high_watermark`], ...
//!
//! Nothing here reads a clock, sleeps or touches a socket.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokafka_wire::frame::{decode_request, encode_response};
use ferrokafka_wire::messages::{ApiVersionsResponse, RequestBody, ResponseBody};
use ferrokafka_wire::{ApiKey, ErrorCode, RequestHeader, Uuid};

use crate::config::{ClusterConfig, TopicConfig};
use crate::faults::{Applied, Faults};
use crate::log::Log;
use crate::producer_state::ProducerEntry;
use crate::txn::{GroupOffsets, TxnState};

/// The most partitions the whole cluster holds (a bound on what requests can make it allocate).
pub const MAX_PARTITIONS: usize = 100_000;

/// A client connection to one broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// Why a connection cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// No broker with this id.
    UnknownBroker(i32),
    /// The broker is down.
    BrokerDown(i32),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownBroker(id) => write!(f, "no broker {id} in the fake cluster"),
            Self::BrokerDown(id) => write!(f, "broker {id} is down"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Why a topic cannot be created.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicError {
    /// It exists.
    AlreadyExists(String),
    /// Zero or negative partitions, or an empty name.
    Invalid(String),
}

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AlreadyExists(t) => write!(f, "topic {t} exists already"),
            Self::Invalid(why) => write!(f, "invalid topic: {why}"),
        }
    }
}

impl std::error::Error for TopicError {}

/// One broker.
#[derive(Debug, Clone)]
pub(crate) struct Broker {
    pub(crate) host: String,
    pub(crate) port: i32,
    pub(crate) rack: Option<String>,
    pub(crate) up: bool,
}

/// One partition.
#[derive(Debug, Default)]
pub(crate) struct Partition {
    pub(crate) leader: i32,
    pub(crate) leader_epoch: i32,
    pub(crate) replicas: Vec<i32>,
    pub(crate) log: Log,
    pub(crate) producers: BTreeMap<i64, ProducerEntry>,
}

/// One topic.
#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) id: Uuid,
    pub(crate) config: TopicConfig,
    pub(crate) partitions: Vec<Partition>,
}

#[derive(Debug)]
struct Outgoing {
    frame: Option<Bytes>,
    not_before: Instant,
    held: bool,
    /// Close the connection once this entry is reached (after sending `frame`, if any).
    close: bool,
}

#[derive(Debug)]
struct Conn {
    broker: i32,
    out: VecDeque<Outgoing>,
    closed: bool,
    /// A hang fault hit it: nothing more is read from it.
    hung: bool,
}

/// The in-memory cluster.
///
/// # Method families (the poll order)
///
/// - **Inputs**: [`Cluster::connect`] a client to a broker, then [`Cluster::handle_frame`] for
///   each request frame it sends (`now` and the wall-clock milliseconds passed in);
///   [`Cluster::disconnect`] when the client goes away.
/// - **Outputs**: [`Cluster::poll_transmit`] gives the next answer due on a connection (answers
///   leave in request order: a delayed or held answer holds back the ones behind it, as a
///   Kafka broker's one-request-at-a-time connections do); [`Cluster::poll_timeout`] says when
///   the next delayed answer is due; [`Cluster::is_closed`] whether the fake closed the
///   connection (the driver then closes the socket).
/// - **Commands**: topics ([`Cluster::create_topic`]), faults ([`Cluster::inject`],
///   [`Cluster::release_held`], [`Cluster::broker_down`], [`Cluster::move_leader`], ...).
/// - **Inspection**: [`Cluster::records`], [`Cluster::producer_state`],
///   [`Cluster::transaction`], [`Cluster::high_watermark`], ...
///
/// Nothing here reads a clock, sleeps or touches a socket.
#[derive(Debug)]
pub struct Cluster {
    pub(crate) config: ClusterConfig,
    pub(crate) brokers: BTreeMap<i32, Broker>,
    pub(crate) topics: BTreeMap<String, Topic>,
    pub(crate) txns: BTreeMap<String, TxnState>,
    pub(crate) groups: GroupOffsets,
    pub(crate) next_producer_id: i64,
    pub(crate) coordinator_overrides: BTreeMap<String, i32>,
    pub(crate) throttle: BTreeMap<ApiKey, i32>,
    pub(crate) min_insync_failing: BTreeSet<String>,
    pub(crate) faults: Faults,
    /// A planted bug (see [`Cluster::plant_bug_append_duplicates`]).
    pub(crate) planted_append_duplicates: bool,
    next_topic_id: u64,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    requests_served: BTreeMap<ApiKey, u64>,
    versions_seen: BTreeMap<ApiKey, BTreeSet<i16>>,
}

/// What the current request handler needs to know about its request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) broker: i32,
    pub(crate) version: i16,
    pub(crate) wall_ms: i64,
    pub(crate) now: Instant,
}

impl Cluster {
    /// A cluster as configured, with the configured topics created.
    pub fn new(config: ClusterConfig) -> Self {
        let brokers = config
            .brokers
            .iter()
            .map(|b| {
                (
                    b.id,
                    Broker {
                        host: b.host.clone(),
                        port: b.port,
                        rack: b.rack.clone(),
                        up: true,
                    },
                )
            })
            .collect();
        let topics = config.topics.clone();
        let mut cluster = Self {
            config,
            brokers,
            topics: BTreeMap::new(),
            txns: BTreeMap::new(),
            groups: BTreeMap::new(),
            next_producer_id: 1000,
            coordinator_overrides: BTreeMap::new(),
            throttle: BTreeMap::new(),
            min_insync_failing: BTreeSet::new(),
            faults: Faults::default(),
            planted_append_duplicates: false,
            next_topic_id: 1,
            conns: BTreeMap::new(),
            next_conn: 1,
            requests_served: BTreeMap::new(),
            versions_seen: BTreeMap::new(),
        };
        for (name, partitions, topic_config) in topics {
            // Names and counts were validated by the builder; a duplicate keeps the first.
            let _ = cluster.create_topic(&name, partitions, topic_config);
        }
        cluster
    }

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Broker ids, ascending.
    pub fn broker_ids(&self) -> Vec<i32> {
        self.brokers.keys().copied().collect()
    }

    /// Sets the address a broker advertises in Metadata and FindCoordinator (the TCP server
    /// calls this once it has bound its listeners).
    pub fn set_broker_address(&mut self, id: i32, host: &str, port: u16) {
        if let Some(b) = self.brokers.get_mut(&id) {
            host.clone_into(&mut b.host);
            b.port = i32::from(port);
        }
    }

    /// The broker advertised at `host:port` (a simulated network maps the addresses a client
    /// dials to brokers with this).
    pub fn broker_at(&self, host: &str, port: u16) -> Option<i32> {
        self.brokers
            .iter()
            .find(|(_, b)| b.host == host && b.port == i32::from(port))
            .map(|(id, _)| *id)
    }

    // ----- topics -----

    /// Creates a topic with `partitions` partitions, replicas spread over the brokers (up to
    /// three), leaders round-robin.
    pub fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        config: TopicConfig,
    ) -> Result<(), TopicError> {
        if name.is_empty() || name.len() > 249 {
            return Err(TopicError::Invalid(format!(
                "name {name:?} must have 1 to 249 characters"
            )));
        }
        if !(1..=100_000).contains(&partitions) {
            return Err(TopicError::Invalid(format!(
                "{partitions} partitions (1 to 100000 allowed)"
            )));
        }
        if self.topics.contains_key(name) {
            return Err(TopicError::AlreadyExists(name.to_owned()));
        }
        // CreateTopics and auto-creation come from the wire: bound what they can allocate.
        let total: usize = self.topics.values().map(|t| t.partitions.len()).sum();
        if total + partitions as usize > MAX_PARTITIONS {
            return Err(TopicError::Invalid(format!(
                "the cluster would hold more than {MAX_PARTITIONS} partitions"
            )));
        }
        let ids: Vec<i32> = self.brokers.keys().copied().collect();
        let rf = ids.len().min(3);
        let parts = (0..partitions as usize)
            .map(|p| {
                let replicas: Vec<i32> = (0..rf).map(|r| ids[(p + r) % ids.len()]).collect();
                Partition {
                    leader: replicas.first().copied().unwrap_or(-1),
                    leader_epoch: 0,
                    replicas,
                    ..Partition::default()
                }
            })
            .collect();
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&0x6665_726b_6166_6b61u64.to_be_bytes());
        id[8..].copy_from_slice(&self.next_topic_id.to_be_bytes());
        self.next_topic_id += 1;
        self.topics.insert(
            name.to_owned(),
            Topic {
                id: Uuid(id),
                config,
                partitions: parts,
            },
        );
        Ok(())
    }

    /// Topic names.
    pub fn topic_names(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// Number of partitions of a topic.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.topics.get(topic).map(|t| t.partitions.len() as i32)
    }

    pub(crate) fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        let t = self.topics.get(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| t.partitions.get(p))
    }

    pub(crate) fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut Partition> {
        let t = self.topics.get_mut(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| t.partitions.get_mut(p))
    }

    // ----- connections -----

    /// Opens a connection to broker `broker`.
    pub fn connect(&mut self, broker: i32) -> Result<ConnId, ConnectError> {
        let b = self
            .brokers
            .get(&broker)
            .ok_or(ConnectError::UnknownBroker(broker))?;
        if !b.up {
            return Err(ConnectError::BrokerDown(broker));
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                broker,
                out: VecDeque::new(),
                closed: false,
                hung: false,
            },
        );
        Ok(id)
    }

    /// Forgets a connection (the client closed it).
    pub fn disconnect(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// Whether the fake closed the connection (a dropped-connection fault, a broker taken
    /// down, a request it cannot parse). The driver closes the socket once
    /// [`Cluster::poll_transmit`] returns `None`.
    pub fn is_closed(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_none_or(|c| c.closed)
    }

    /// The next answer due on `conn` at `now`, in request order.
    pub fn poll_transmit(&mut self, conn: ConnId, now: Instant) -> Option<Bytes> {
        let c = self.conns.get_mut(&conn)?;
        loop {
            let head = c.out.front()?;
            if head.held || head.not_before > now {
                return None;
            }
            let head = c.out.pop_front()?;
            if head.close {
                c.closed = true;
                c.out.clear();
            }
            if let Some(frame) = head.frame {
                return Some(frame);
            }
        }
    }

    /// When the next delayed answer on `conn` is due (`None`: nothing waits on time).
    pub fn poll_timeout(&self, conn: ConnId) -> Option<Instant> {
        let head = self.conns.get(&conn)?.out.front()?;
        (!head.held).then_some(head.not_before)
    }

    /// Open connections.
    pub fn connections(&self) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| !c.closed)
            .map(|(id, _)| *id)
            .collect()
    }

    /// How many requests of `api` the cluster has served (answered or not).
    pub fn requests_served(&self, api: ApiKey) -> u64 {
        self.requests_served.get(&api).copied().unwrap_or(0)
    }

    /// Every (API, version) clients have used, e.g. to see what a client negotiated.
    pub fn versions_seen(&self) -> Vec<(ApiKey, i16)> {
        self.versions_seen
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (*k, *v)))
            .collect()
    }

    /// Handles one request frame (without its size prefix) received on `conn` at `now`;
    /// `wall_ms` is the wall-clock time in epoch milliseconds (for LogAppendTime and markers).
    /// The answer, if any, is queued for [`Cluster::poll_transmit`].
    pub fn handle_frame(&mut self, conn: ConnId, frame: &[u8], now: Instant, wall_ms: i64) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.closed || c.hung {
            return;
        }
        let broker = c.broker;
        if !self.brokers.get(&broker).is_some_and(|b| b.up) {
            self.close(conn);
            return;
        }
        let Ok((api, version)) = RequestHeader::peek_api(frame) else {
            self.close(conn);
            return;
        };
        let Some((min, max)) = self.config.api_range(api) else {
            // Kafka closes the connection on an API it does not serve.
            self.close(conn);
            return;
        };
        if api == ApiKey::API_VERSIONS && !(min..=max).contains(&version) {
            // KIP-511: answer a too-new ApiVersions with a v0 body naming our range.
            let Some(correlation_id) = frame.get(4..8).map(|b| {
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                i32::from_be_bytes(a)
            }) else {
                self.close(conn);
                return;
            };
            let mut body = self.api_versions_response();
            body.error_code = ErrorCode::UNSUPPORTED_VERSION.0;
            self.queue(conn, correlation_id, &body.into(), 0, now, None);
            return;
        }
        if !(min..=max).contains(&version) {
            self.close(conn);
            return;
        }
        let Ok((header, body)) = decode_request(frame) else {
            self.close(conn);
            return;
        };
        self.expire_transactions(now, wall_ms);
        *self.requests_served.entry(api).or_default() += 1;
        self.versions_seen.entry(api).or_default().insert(version);
        let fault = self.faults.take(api, broker, None);
        if fault == Some(Applied::DropConnection) {
            self.close(conn);
            return;
        }
        if fault == Some(Applied::Hang) {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.hung = true;
            }
            return;
        }
        let ctx = Ctx {
            broker,
            version,
            wall_ms,
            now,
        };
        let error = match &fault {
            Some(Applied::Error(code)) => Some(*code),
            _ => None,
        };
        let wait = self.config.response_delay;
        let Some((response, extra)) = self.dispatch(ctx, body, error) else {
            // acks=0: no answer; a drop-after-serving fault still closes.
            if fault == Some(Applied::DropAfterServing) {
                self.close(conn);
            }
            return;
        };
        let id = header.correlation_id;
        match fault {
            Some(Applied::DropAfterServing) => self.close(conn),
            Some(Applied::Delay(d)) => {
                let at = now.checked_add(d).unwrap_or(now);
                self.queue(conn, id, &response, version, at, None);
            }
            Some(Applied::Hold) => self.queue(conn, id, &response, version, now, Some(true)),
            _ => {
                let at = now.checked_add(wait.saturating_add(extra)).unwrap_or(now);
                self.queue(conn, id, &response, version, at, None);
            }
        }
    }

    fn queue(
        &mut self,
        conn: ConnId,
        correlation_id: i32,
        body: &ResponseBody,
        version: i16,
        not_before: Instant,
        held: Option<bool>,
    ) {
        let mut buf = BytesMut::new();
        let frame = match encode_response(&mut buf, correlation_id, body, version) {
            Ok(()) => Some(buf.freeze()),
            // A response we cannot encode is a bug in a handler; close rather than lie.
            Err(_) => None,
        };
        let close = frame.is_none();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.out.push_back(Outgoing {
                frame,
                not_before,
                held: held.unwrap_or(false),
                close,
            });
        }
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.closed = true;
            c.out.clear();
        }
    }

    fn dispatch(
        &mut self,
        ctx: Ctx,
        body: RequestBody,
        error: Option<ErrorCode>,
    ) -> Option<(ResponseBody, Duration)> {
        use crate::handlers::*;
        let body: ResponseBody = match body {
            RequestBody::ApiVersions(_) => {
                let mut r = self.api_versions_response();
                if let Some(e) = error {
                    r.error_code = e.0;
                }
                r.into()
            }
            RequestBody::Metadata(r) => metadata::handle(self, ctx, &r, error).into(),
            RequestBody::Produce(r) => produce::handle(self, ctx, &r, error)?.into(),
            RequestBody::Fetch(r) => {
                let (resp, any) = fetch::handle(self, ctx, &r, error);
                let wait = if any {
                    Duration::ZERO
                } else {
                    let ms = r.max_wait_ms.clamp(0, fetch::MAX_EMPTY_WAIT_MS);
                    Duration::from_millis(ms as u64)
                };
                return Some((resp.into(), wait));
            }
            RequestBody::ListOffsets(r) => list_offsets::handle(self, ctx, &r, error).into(),
            RequestBody::FindCoordinator(r) => {
                find_coordinator::handle(self, ctx, &r, error).into()
            }
            RequestBody::InitProducerId(r) => init_producer_id::handle(self, ctx, &r, error).into(),
            RequestBody::AddPartitionsToTxn(r) => {
                add_partitions_to_txn::handle(self, ctx, &r, error).into()
            }
            RequestBody::AddOffsetsToTxn(r) => {
                add_offsets_to_txn::handle(self, ctx, &r, error).into()
            }
            RequestBody::TxnOffsetCommit(r) => {
                txn_offset_commit::handle(self, ctx, &r, error).into()
            }
            RequestBody::EndTxn(r) => end_txn::handle(self, ctx, &r, error).into(),
            RequestBody::CreateTopics(r) => create_topics::handle(self, ctx, &r, error).into(),
            RequestBody::OffsetFetch(r) => offset_fetch::handle(self, ctx, &r, error).into(),
            // Never advertised (the fake does not authenticate): close rather than answer.
            _ => return None,
        };
        Some((body, Duration::ZERO))
    }

    pub(crate) fn api_versions_response(&self) -> ApiVersionsResponse {
        crate::handlers::api_versions::response(self)
    }

    /// Throttle time to report for `api`.
    pub(crate) fn throttle_ms(&self, api: ApiKey) -> i32 {
        self.throttle.get(&api).copied().unwrap_or(0)
    }

    /// Allocates a fresh producer id.
    pub(crate) fn allocate_producer_id(&mut self) -> i64 {
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        id
    }

    /// The broker coordinating `key` (a group or a transactional id): an override, else a
    /// stable hash of the key over the brokers that are up.
    pub(crate) fn coordinator_for(&self, key: &str) -> Option<i32> {
        if let Some(&b) = self.coordinator_overrides.get(key) {
            return self.brokers.get(&b).is_some_and(|b| b.up).then_some(b);
        }
        let up: Vec<i32> = self
            .brokers
            .iter()
            .filter(|(_, b)| b.up)
            .map(|(id, _)| *id)
            .collect();
        if up.is_empty() {
            return None;
        }
        // FNV-1a: stable across runs and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in key.bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Some(up[(h % up.len() as u64) as usize])
    }

    /// Aborts every open transaction older than its timeout, as a coordinator does: the epoch
    /// is bumped (fencing the producer, which learns it on its next coordinator call) and ABORT
    /// markers carry the new epoch. Called before each request is handled, so a client or a
    /// consumer always sees the outcome; call it directly to expire without a request.
    /// Returns the transactional ids aborted.
    pub fn expire_transactions(&mut self, now: Instant, wall_ms: i64) -> Vec<String> {
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.expired(now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            let Some(t) = self.txns.get_mut(id) else {
                continue;
            };
            t.producer_epoch = t.producer_epoch.saturating_add(1);
            let epoch = t.producer_epoch;
            crate::handlers::end_txn::complete(self, id, false, wall_ms, epoch);
        }
        expired
    }
}

mod commands;
mod inspect;
pub use inspect::{StoredMarker, StoredRecord};
