//! The engine in one thread with a simulated clock against a scripted broker.
//!
//! [`Sim`] plays the driver: it performs the engine's I/O against [`Broker`], a fake cluster
//! that decodes every request with the wire crate and answers with encoded responses (so the
//! engine's real encode/decode paths run). Scenarios override answers with a hook. Every loop
//! is bounded.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrokafka_engine::sasl::{Credentials, Mechanism};
use ferrokafka_engine::{
    BatchId, ConnId, DeliveryError, Engine, EngineConfig, Event, GroupMetadata, Io, OffsetToCommit,
    OutgoingRecord, SaslConfig, SendError, TxnCall, TxnFailureKind, TxnStateKind,
};
use ferrokafka_metadata::BrokerAddress;
use ferrokafka_records::{DecodeOptions, batches};
use ferrokafka_wire::frame::{decode_request, encode_response, split_frame};
use ferrokafka_wire::header::RequestHeader;
use ferrokafka_wire::messages::api_versions::{ApiVersion, FinalizedFeatureKey};
use ferrokafka_wire::messages::find_coordinator::Coordinator;
use ferrokafka_wire::messages::metadata::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use ferrokafka_wire::messages::produce::{PartitionProduceResponse, TopicProduceResponse};
use ferrokafka_wire::messages::txn::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use ferrokafka_wire::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, ApiVersionsResponse, EndTxnResponse,
    FindCoordinatorResponse, InitProducerIdResponse, MetadataResponse, ProduceRequest,
    ProduceResponse, RequestBody, ResponseBody, SUPPORTED_APIS, SaslAuthenticateResponse,
    SaslHandshakeResponse, TxnOffsetCommitResponse,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

/// What the hook decides for one request.
enum Answer {
    /// The default answer.
    Default,
    /// This body instead.
    With(ResponseBody),
    /// No answer at all (the request hangs).
    Silence,
    /// Close the connection.
    Disconnect,
}

type Hook = Box<dyn FnMut(&RequestHeader, &RequestBody, u32) -> Answer>;

/// One record the broker stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    producer_id: i64,
    epoch: i16,
    sequence: i32,
    transactional: bool,
}

struct Broker {
    /// Broker ids 1..=n, all on host `b<id>`.
    brokers: i32,
    /// topic → partition count; every partition led by `leader(topic, p)`.
    topics: BTreeMap<String, i32>,
    leaders: HashMap<(String, i32), i32>,
    log: HashMap<(String, i32), Vec<Stored>>,
    /// Requests seen per API key.
    seen: HashMap<i16, u32>,
    produce_requests: Vec<ProduceRequest>,
    /// Every request's API key, in arrival order.
    order: Vec<ApiKey>,
    /// (topic, partition, producer id) → (epoch, last sequence written).
    producer_state: HashMap<(String, i32, i64), (i16, i32)>,
    /// EndTxn requests: `committed` flags.
    end_txns: Vec<bool>,
    /// Partitions added with AddPartitionsToTxn.
    added: Vec<(String, i32)>,
    /// Offsets committed with TxnOffsetCommit: (group, topic, partition, offset).
    txn_offsets: Vec<(String, String, i32, i64)>,
    hook: Option<Hook>,
    reachable: bool,
    /// Answer acks=0 Produce requests anyway, as Tansu does.
    answers_acks_zero: bool,
    /// Finalize `transaction.version` = 2 (KIP-890 transactions v2).
    transactions_v2: bool,
    /// Produce request versions seen.
    produce_versions: Vec<i16>,
}

impl Broker {
    fn new(brokers: i32) -> Self {
        Self {
            brokers,
            topics: BTreeMap::new(),
            leaders: HashMap::new(),
            log: HashMap::new(),
            seen: HashMap::new(),
            produce_requests: Vec::new(),
            order: Vec::new(),
            producer_state: HashMap::new(),
            end_txns: Vec::new(),
            added: Vec::new(),
            txn_offsets: Vec::new(),
            hook: None,
            reachable: true,
            answers_acks_zero: false,
            transactions_v2: false,
            produce_versions: Vec::new(),
        }
    }

    fn topic(mut self, name: &str, partitions: i32) -> Self {
        self.topics.insert(name.to_owned(), partitions);
        self
    }

    fn leader(&self, topic: &str, p: i32) -> i32 {
        *self
            .leaders
            .get(&(topic.to_owned(), p))
            .unwrap_or(&(1 + p % self.brokers))
    }

    /// The broker's idempotence check (Kafka's ProducerStateManager, simplified): per
    /// partition, a producer's batches must continue its last sequence; a higher epoch must
    /// start at 0; a repeat of the last batch is a duplicate.
    fn check_sequence(&mut self, topic: &str, partition: i32, data: Option<&[u8]>) -> ErrorCode {
        let Some(Ok(batch)) = data.and_then(|d| batches(d, DecodeOptions::default()).next()) else {
            return ErrorCode::NONE;
        };
        let h = *batch.header();
        if h.producer_id < 0 {
            return ErrorCode::NONE;
        }
        let last = (h.base_sequence + h.last_offset_delta).max(h.base_sequence);
        let key = (topic.to_owned(), partition, h.producer_id);
        let code = match self.producer_state.get(&key) {
            None if h.base_sequence == 0 => ErrorCode::NONE,
            None => ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
            Some(&(epoch, _)) if h.producer_epoch < epoch => ErrorCode::INVALID_PRODUCER_EPOCH,
            Some(&(epoch, _)) if h.producer_epoch > epoch => {
                if h.base_sequence == 0 {
                    ErrorCode::NONE
                } else {
                    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                }
            }
            Some(&(_, prev_last)) if h.base_sequence == prev_last + 1 => ErrorCode::NONE,
            Some(&(_, prev_last)) if h.base_sequence <= prev_last => {
                ErrorCode::DUPLICATE_SEQUENCE_NUMBER
            }
            Some(_) => ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
        };
        if code == ErrorCode::NONE {
            self.producer_state.insert(key, (h.producer_epoch, last));
        }
        code
    }

    fn stored(&self, topic: &str, p: i32) -> Vec<Stored> {
        self.log
            .get(&(topic.to_owned(), p))
            .cloned()
            .unwrap_or_default()
    }

    fn answer(&mut self, node: i32, header: &RequestHeader, body: &RequestBody) -> Answer {
        self.order.push(header.api_key);
        if header.api_key == ApiKey::PRODUCE {
            self.produce_versions.push(header.api_version);
        }
        let n = self.seen.entry(header.api_key.0).or_default();
        *n += 1;
        let count = *n;
        if let Some(hook) = &mut self.hook {
            match hook(header, body, count) {
                Answer::Default => {}
                other => return other,
            }
        }
        Answer::With(self.default_answer(node, body))
    }

    fn default_answer(&mut self, node: i32, body: &RequestBody) -> ResponseBody {
        match body {
            RequestBody::ApiVersions(_) => ResponseBody::ApiVersions(ApiVersionsResponse {
                api_keys: SUPPORTED_APIS
                    .iter()
                    .map(|&(k, min, max)| ApiVersion::new(k, min, max))
                    .collect(),
                finalized_features: if self.transactions_v2 {
                    vec![FinalizedFeatureKey::new("transaction.version", 0, 2)]
                } else {
                    Vec::new()
                },
                ..Default::default()
            }),
            RequestBody::Metadata(_) => {
                let brokers = (1..=self.brokers)
                    .map(|id| MetadataResponseBroker {
                        node_id: id,
                        host: format!("b{id}"),
                        port: 9092,
                        ..Default::default()
                    })
                    .collect();
                let topics = self
                    .topics
                    .iter()
                    .map(|(name, &n)| MetadataResponseTopic {
                        name: Some(name.clone()),
                        partitions: (0..n)
                            .map(|p| MetadataResponsePartition {
                                partition_index: p,
                                leader_id: self.leader(name, p),
                                leader_epoch: 0,
                                replica_nodes: vec![self.leader(name, p)],
                                isr_nodes: vec![self.leader(name, p)],
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect();
                ResponseBody::Metadata(MetadataResponse {
                    brokers,
                    topics,
                    controller_id: 1,
                    ..Default::default()
                })
            }
            RequestBody::InitProducerId(_) => {
                ResponseBody::InitProducerId(InitProducerIdResponse {
                    producer_id: 1000,
                    producer_epoch: 0,
                    ..Default::default()
                })
            }
            RequestBody::Produce(req) => {
                self.produce_requests.push(req.clone());
                let mut responses = Vec::new();
                for t in &req.topic_data {
                    let mut parts = Vec::new();
                    for p in &t.partition_data {
                        let mut error = if self.leader(&t.name, p.index) == node {
                            ErrorCode::NONE
                        } else {
                            ErrorCode::NOT_LEADER_OR_FOLLOWER
                        };
                        if error == ErrorCode::NONE {
                            error = self.check_sequence(&t.name, p.index, p.records.as_deref());
                        }
                        let mut base = -1;
                        if error == ErrorCode::NONE {
                            let log = self.log.entry((t.name.clone(), p.index)).or_default();
                            base = log.len() as i64;
                            let data = p.records.as_deref().unwrap_or_default();
                            for batch in batches(data, DecodeOptions::default()) {
                                let batch = batch.expect("valid batch");
                                let h = *batch.header();
                                for r in batch.records() {
                                    let r = r.expect("valid record");
                                    let offset = log.len() as i64;
                                    log.push(Stored {
                                        offset,
                                        key: r.key.map(<[u8]>::to_vec),
                                        value: r.value.map(<[u8]>::to_vec),
                                        producer_id: h.producer_id,
                                        epoch: h.producer_epoch,
                                        sequence: r.sequence,
                                        transactional: h.is_transactional(),
                                    });
                                }
                            }
                        }
                        parts.push(PartitionProduceResponse {
                            index: p.index,
                            error_code: error.0,
                            base_offset: base,
                            ..Default::default()
                        });
                    }
                    responses.push(TopicProduceResponse {
                        name: t.name.clone(),
                        partition_responses: parts,
                        ..Default::default()
                    });
                }
                ResponseBody::Produce(ProduceResponse {
                    responses,
                    ..Default::default()
                })
            }
            RequestBody::FindCoordinator(req) => {
                let coordinator = |key: String| Coordinator {
                    key,
                    node_id: 1,
                    host: "b1".into(),
                    port: 9092,
                    ..Default::default()
                };
                ResponseBody::FindCoordinator(FindCoordinatorResponse {
                    node_id: 1,
                    host: "b1".into(),
                    port: 9092,
                    coordinators: req
                        .coordinator_keys
                        .iter()
                        .cloned()
                        .map(coordinator)
                        .collect(),
                    ..Default::default()
                })
            }
            RequestBody::AddPartitionsToTxn(req) => {
                for t in &req.topics {
                    for p in &t.partitions {
                        self.added.push((t.name.clone(), *p));
                    }
                }
                ResponseBody::AddPartitionsToTxn(AddPartitionsToTxnResponse {
                    results_by_topic: req
                        .topics
                        .iter()
                        .map(|t| AddPartitionsToTxnTopicResult {
                            name: t.name.clone(),
                            results_by_partition: t
                                .partitions
                                .iter()
                                .map(|&p| AddPartitionsToTxnPartitionResult {
                                    partition_index: p,
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
            }
            RequestBody::AddOffsetsToTxn(_) => {
                ResponseBody::AddOffsetsToTxn(AddOffsetsToTxnResponse::default())
            }
            RequestBody::TxnOffsetCommit(req) => {
                for t in &req.topics {
                    for p in &t.partitions {
                        self.txn_offsets.push((
                            req.group_id.clone(),
                            t.name.clone(),
                            p.partition_index,
                            p.committed_offset,
                        ));
                    }
                }
                ResponseBody::TxnOffsetCommit(TxnOffsetCommitResponse::default())
            }
            RequestBody::EndTxn(req) => {
                self.end_txns.push(req.committed);
                // Only EndTxn v5 carries these: transactions v2 bumps the epoch every time.
                ResponseBody::EndTxn(EndTxnResponse {
                    producer_id: req.producer_id,
                    producer_epoch: req.producer_epoch + 1,
                    ..Default::default()
                })
            }
            other => panic!("unexpected request {:?}", other.api_key()),
        }
    }
}

struct Sim {
    engine: Engine,
    now: Instant,
    broker: Broker,
    /// Open connections → broker node id.
    open: HashMap<ConnId, i32>,
    /// Frames waiting to be delivered to the engine.
    inbox: Vec<(ConnId, BytesMut)>,
    events: Vec<Event>,
    connects: u32,
    /// Connections whose broker stopped answering (a `Silence`): it processes nothing more
    /// on them, as a hung broker would, so answers never come out of order.
    stalled: std::collections::HashSet<ConnId>,
    /// Hold back `handle_written` reports (a slow socket).
    hold_writes: bool,
    held_writes: Vec<ConnId>,
}

impl Sim {
    fn new(config: EngineConfig, broker: Broker) -> Self {
        let now = Instant::now();
        let partitioner = ferrokafka_partition::by_name("").unwrap();
        Self {
            engine: Engine::new(config, partitioner, now).unwrap(),
            now,
            broker,
            open: HashMap::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            connects: 0,
            stalled: std::collections::HashSet::new(),
            hold_writes: false,
            held_writes: Vec::new(),
        }
    }

    /// Runs the engine until it has nothing more to do right now (bounded).
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(io) = self.engine.poll_io(self.now) {
                progressed = true;
                self.perform(io);
            }
            for (conn, frame) in std::mem::take(&mut self.inbox) {
                progressed = true;
                self.engine.handle_frame(conn, &frame, self.now);
            }
            while let Some(ev) = self.engine.poll_event() {
                progressed = true;
                self.events.push(ev);
            }
            if !progressed {
                return;
            }
        }
        panic!("engine did not settle in 10,000 rounds");
    }

    fn perform(&mut self, io: Io) {
        match io {
            Io::Connect { conn, host, port } => {
                self.connects += 1;
                assert_eq!(port, 9092);
                let node = host
                    .strip_prefix('b')
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if self.broker.reachable {
                    self.open.insert(conn, node);
                    self.engine.handle_connected(conn, self.now);
                } else {
                    self.engine.handle_disconnect(conn, self.now);
                }
            }
            Io::Send { conn, data } => {
                let Some(&node) = self.open.get(&conn) else {
                    return;
                };
                // The bytes are on the wire (acks=0 requests are delivered now), unless the
                // test holds the write reports back.
                if self.hold_writes {
                    self.held_writes.push(conn);
                } else {
                    self.engine.handle_written(conn, self.now);
                }
                if self.stalled.contains(&conn) {
                    return;
                }
                let mut buf = BytesMut::from(&data[..]);
                while let Some(frame) = split_frame(&mut buf, 1 << 30).unwrap() {
                    let (header, body) =
                        decode_request(&frame).expect("engine sends valid requests");
                    let acks_zero = matches!(&body, RequestBody::Produce(p) if p.acks == 0)
                        && !self.broker.answers_acks_zero;
                    match self.broker.answer(node, &header, &body) {
                        Answer::With(resp) => {
                            if acks_zero {
                                continue;
                            }
                            let mut out = BytesMut::new();
                            encode_response(
                                &mut out,
                                header.correlation_id,
                                &resp,
                                header.api_version,
                            )
                            .unwrap();
                            let frame = split_frame(&mut out, 1 << 30).unwrap().unwrap();
                            self.inbox.push((conn, frame));
                        }
                        Answer::Silence => {
                            self.stalled.insert(conn);
                            return;
                        }
                        Answer::Disconnect => {
                            self.open.remove(&conn);
                            self.engine.handle_disconnect(conn, self.now);
                            return;
                        }
                        Answer::Default => unreachable!(),
                    }
                }
            }
            Io::Close { conn } => {
                self.open.remove(&conn);
            }
        }
    }

    /// Advances the clock to the engine's next timer (at most `max`), then settles.
    fn tick(&mut self, max: Duration) {
        let target = self.now + max;
        let next = self.engine.poll_timeout().map_or(target, |t| t.min(target));
        self.now = next.max(self.now);
        self.engine.handle_timeout(self.now);
        self.settle();
    }

    /// Runs for `total` simulated time in timer steps (bounded).
    fn run_for(&mut self, total: Duration) {
        let end = self.now + total;
        for _ in 0..100_000 {
            if self.now >= end {
                return;
            }
            let step = end - self.now;
            self.tick(step.min(Duration::from_millis(100)));
        }
        panic!("run_for did not finish");
    }

    /// Appends a record, settling until the topic's metadata is known (bounded).
    fn append(&mut self, topic: &str, key: Option<&[u8]>, value: &[u8]) -> (BatchId, i32, i32) {
        let since = self.now;
        for _ in 0..1_000 {
            let rec = OutgoingRecord {
                topic,
                partition: None,
                key,
                value: Some(value),
                headers: &[],
                timestamp: 1_700_000_000_000,
            };
            match self.engine.append(&rec, self.now) {
                Ok(a) => return (a.batch, a.index, a.partition),
                Err(SendError::TopicPending(_)) => {
                    let ready = self.engine.check_topic(topic, since, self.now);
                    assert!(ready.is_ok(), "{ready:?}");
                    self.tick(Duration::from_millis(10));
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        panic!("topic never became known");
    }

    /// Appends to an explicit partition (metadata known or awaited, bounded).
    fn append_to(&mut self, topic: &str, partition: i32, value: &[u8]) -> BatchId {
        let since = self.now;
        for _ in 0..1_000 {
            let rec = OutgoingRecord {
                topic,
                partition: Some(partition),
                key: None,
                value: Some(value),
                headers: &[],
                timestamp: 1_700_000_000_000,
            };
            match self.engine.append(&rec, self.now) {
                Ok(a) => return a.batch,
                Err(SendError::TopicPending(_)) => {
                    assert!(self.engine.check_topic(topic, since, self.now).is_ok());
                    self.tick(Duration::from_millis(10));
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        panic!("topic never became known");
    }

    fn delivered(&self) -> HashMap<BatchId, Option<i64>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Delivered {
                    batch, base_offset, ..
                } => Some((*batch, *base_offset)),
                _ => None,
            })
            .collect()
    }

    fn failed(&self) -> Vec<(BatchId, DeliveryError)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { batch, error, .. } => Some((*batch, error.clone())),
                _ => None,
            })
            .collect()
    }
}

fn config() -> EngineConfig {
    let mut c = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
    c.accumulator.linger = Duration::from_millis(5);
    c.accumulator.retry_backoff = Duration::from_millis(100);
    c.accumulator.retry_backoff_max = Duration::from_secs(1);
    c.accumulator.delivery_timeout = Duration::from_secs(120);
    c.request_timeout = Duration::from_secs(30);
    c
}

fn values_of(stored: &[Stored]) -> Vec<Vec<u8>> {
    stored.iter().map(|s| s.value.clone().unwrap()).collect()
}

#[test]
fn records_are_delivered_with_offsets_in_order() {
    let mut sim = Sim::new(config(), Broker::new(3).topic("t", 3));
    let mut sent: HashMap<i32, Vec<Vec<u8>>> = HashMap::new();
    let mut handles = Vec::new();
    for i in 0..300u32 {
        let key = format!("key-{i}");
        let value = format!("value-{i}").into_bytes();
        let (batch, index, p) = sim.append("t", Some(key.as_bytes()), &value);
        sent.entry(p).or_default().push(value);
        handles.push((batch, index, p));
        if i % 50 == 0 {
            sim.tick(Duration::from_millis(2));
        }
    }
    sim.run_for(Duration::from_millis(50));
    let delivered = sim.delivered();
    assert!(sim.failed().is_empty(), "{:?}", sim.failed());
    for p in 0..3 {
        let stored = sim.broker.stored("t", p);
        assert_eq!(
            values_of(&stored),
            sent.get(&p).cloned().unwrap_or_default()
        );
    }
    // Each record's offset (base + index) points at its own value in the log.
    for (batch, index, p) in handles {
        let base = delivered[&batch].expect("acks=all returns offsets");
        let stored = sim.broker.stored("t", p);
        let rec = &stored[(base + i64::from(index)) as usize];
        assert_eq!(rec.offset, base + i64::from(index));
    }
    assert!(!sim.engine.has_incomplete());
    // Versions were negotiated first on every connection.
    assert!(sim.broker.seen[&ApiKey::API_VERSIONS.0] >= 1);
}

#[test]
fn keyed_records_use_java_murmur2() {
    let mut sim = Sim::new(config(), Broker::new(1).topic("t", 12));
    // toPositive(murmur2("kafka")) % 12 == 4 (checked against the Java client).
    let (_, _, p) = sim.append("t", Some(b"kafka"), b"v");
    assert_eq!(p, 4);
}

#[test]
fn not_leader_is_retried_after_metadata_refresh_and_order_is_kept() {
    let mut c = config();
    c.max_in_flight_per_connection = 1;
    c.accumulator.max_in_flight_per_partition = 1;
    let mut broker = Broker::new(2).topic("t", 1);
    broker.leaders.insert(("t".into(), 0), 1);
    let mut sim = Sim::new(c, broker);
    let (b1, _, _) = sim.append("t", None, b"first");
    sim.run_for(Duration::from_millis(20));
    assert!(sim.delivered().contains_key(&b1));
    // The leader moves to broker 2; broker 1 answers NOT_LEADER_OR_FOLLOWER until metadata
    // says so.
    sim.broker.leaders.insert(("t".into(), 0), 2);
    let (b2, _, _) = sim.append("t", None, b"second");
    sim.run_for(Duration::from_millis(10));
    let (b3, _, _) = sim.append("t", None, b"third");
    sim.run_for(Duration::from_secs(2));
    let delivered = sim.delivered();
    assert!(
        delivered.contains_key(&b2) && delivered.contains_key(&b3),
        "{:?}",
        sim.events
    );
    assert_eq!(
        values_of(&sim.broker.stored("t", 0)),
        vec![b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
    );
    assert!(sim.engine.counters().records_retried >= 1);
    assert!(
        sim.broker.seen[&ApiKey::METADATA.0] >= 2,
        "metadata refreshed"
    );
}

#[test]
fn injected_retriable_errors_are_retried_with_backoff() {
    let mut c = config();
    c.max_in_flight_per_connection = 1;
    c.accumulator.max_in_flight_per_partition = 1;
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n <= 3 {
            let code = [
                ErrorCode::REQUEST_TIMED_OUT,
                ErrorCode::NOT_ENOUGH_REPLICAS,
                ErrorCode::NETWORK_EXCEPTION,
            ][n as usize - 1];
            return produce_error(body, code);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    let (b, _, _) = sim.append("t", None, b"x");
    // Backoff: 100 ms, 200 ms, 400 ms (exponential): not delivered after 250 ms.
    sim.run_for(Duration::from_millis(250));
    assert!(!sim.delivered().contains_key(&b));
    sim.run_for(Duration::from_secs(2));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert_eq!(sim.broker.seen[&ApiKey::PRODUCE.0], 4);
    assert_eq!(values_of(&sim.broker.stored("t", 0)), vec![b"x".to_vec()]);
}

#[test]
fn non_retriable_error_fails_the_batch_only() {
    let mut c = config();
    c.accumulator.max_in_flight_per_partition = 1;
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            let RequestBody::Produce(req) = body else {
                unreachable!()
            };
            let t = &req.topic_data[0];
            return Answer::With(ResponseBody::Produce(ProduceResponse {
                responses: vec![TopicProduceResponse {
                    name: t.name.clone(),
                    partition_responses: vec![PartitionProduceResponse {
                        index: 0,
                        error_code: ErrorCode::INVALID_RECORD.0,
                        error_message: Some("bad record".into()),
                        base_offset: -1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }));
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    let (b1, _, _) = sim.append("t", None, b"bad");
    sim.run_for(Duration::from_millis(20));
    let (b2, _, _) = sim.append("t", None, b"good");
    sim.run_for(Duration::from_millis(20));
    let failed = sim.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, b1);
    assert!(matches!(
        &failed[0].1,
        DeliveryError::Broker { code, message: Some(m), .. } if *code == ErrorCode::INVALID_RECORD && m == "bad record"
    ));
    assert!(sim.delivered().contains_key(&b2));
}

#[test]
fn unanswered_request_times_out_and_is_retried_on_a_new_connection() {
    let mut c = config();
    c.request_timeout = Duration::from_secs(1);
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, _, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            Answer::Silence
        } else {
            Answer::Default
        }
    }));
    let mut sim = Sim::new(c, broker);
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(Duration::from_millis(900));
    assert!(sim.delivered().is_empty());
    let connects = sim.connects;
    sim.run_for(Duration::from_secs(2));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert!(sim.connects > connects, "a new connection was opened");
}

#[test]
fn delivery_timeout_fails_records_while_the_broker_is_unreachable() {
    let mut c = config();
    c.accumulator.delivery_timeout = Duration::from_secs(3);
    c.request_timeout = Duration::from_secs(1);
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 2));
    let (_, _, _) = sim.append("t", None, b"warm-up");
    sim.run_for(Duration::from_millis(20));
    // The broker goes away: open connections break, new ones are refused.
    sim.broker.reachable = false;
    let open: Vec<ConnId> = sim.open.drain().map(|(c, _)| c).collect();
    for c in open {
        sim.engine.handle_disconnect(c, sim.now);
    }
    let start = sim.now;
    let ids: Vec<BatchId> = (0..5)
        .map(|i| sim.append("t", None, format!("r{i}").as_bytes()).0)
        .collect();
    sim.run_for(Duration::from_secs(5));
    let failed = sim.failed();
    for id in ids {
        let (_, err) = failed.iter().find(|(b, _)| *b == id).expect("failed");
        assert!(
            matches!(err, DeliveryError::DeliveryTimeout { .. }),
            "{err}"
        );
    }
    assert!(!sim.engine.has_incomplete());
    assert!(sim.now - start <= Duration::from_secs(5));
}

#[test]
fn acks_zero_delivers_without_offsets_or_responses() {
    let mut c = config();
    c.acks = 0;
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(Duration::from_millis(20));
    assert_eq!(sim.delivered().get(&b), Some(&None));
    assert_eq!(sim.broker.produce_requests[0].acks, 0);
    assert_eq!(values_of(&sim.broker.stored("t", 0)), vec![b"x".to_vec()]);
}

#[test]
fn idempotent_batches_carry_producer_id_and_sequences() {
    let mut c = config();
    c.idempotence = true;
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    for i in 0..3 {
        sim.append("t", None, format!("a{i}").as_bytes());
    }
    sim.run_for(Duration::from_millis(20));
    for i in 0..2 {
        sim.append("t", None, format!("b{i}").as_bytes());
    }
    sim.run_for(Duration::from_millis(20));
    let stored = sim.broker.stored("t", 0);
    assert_eq!(stored.len(), 5);
    assert!(stored.iter().all(|s| s.producer_id == 1000 && s.epoch == 0));
    let seqs: Vec<i32> = stored.iter().map(|s| s.sequence).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
    assert_eq!(sim.broker.seen[&ApiKey::INIT_PRODUCER_ID.0], 1);
    assert_eq!(sim.engine.producer_id().map(|p| p.producer_id), Some(1000));
}

#[test]
fn message_too_large_splits_the_batch() {
    let mut c = config();
    c.accumulator.batch_size = 1024;
    c.accumulator.linger = Duration::from_millis(50);
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            return produce_error(body, ErrorCode::MESSAGE_TOO_LARGE);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    for i in 0..8 {
        sim.append("t", None, format!("{i:0>100}").as_bytes());
    }
    sim.run_for(Duration::from_millis(500));
    let split = sim
        .events
        .iter()
        .find_map(|e| match e {
            Event::Split(o) => Some(o.clone()),
            _ => None,
        })
        .expect("split");
    assert!(split.parts.len() >= 2);
    let delivered = sim.delivered();
    for part in &split.parts {
        assert!(delivered.contains_key(&part.batch));
    }
    let want: Vec<Vec<u8>> = (0..8).map(|i| format!("{i:0>100}").into_bytes()).collect();
    assert_eq!(values_of(&sim.broker.stored("t", 0)), want);
}

#[test]
fn unsupported_api_versions_falls_back_to_v0() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, _, _| {
        if h.api_key == ApiKey::API_VERSIONS && h.api_version > 0 {
            return Answer::With(ResponseBody::ApiVersions(ApiVersionsResponse {
                error_code: ErrorCode::UNSUPPORTED_VERSION.0,
                api_keys: vec![ApiVersion::new(ApiKey::API_VERSIONS, 0, 0)],
                ..Default::default()
            }));
        }
        Answer::Default
    }));
    let mut sim = Sim::new(config(), broker);
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(Duration::from_millis(20));
    assert!(sim.delivered().contains_key(&b));
    // Every connection (bootstrap, then the leader) asked twice: v4, then v0.
    assert_eq!(sim.broker.seen[&ApiKey::API_VERSIONS.0], 2 * sim.connects);
}

#[test]
fn unknown_topic_fails_after_max_block() {
    let mut c = config();
    c.max_block = Duration::from_secs(2);
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    let since = sim.now;
    let rec = OutgoingRecord {
        topic: "missing",
        partition: None,
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    assert!(matches!(
        sim.engine.append(&rec, sim.now),
        Err(SendError::TopicPending(_))
    ));
    sim.run_for(Duration::from_millis(1500));
    assert_eq!(sim.engine.check_topic("missing", since, sim.now), Ok(false));
    sim.run_for(Duration::from_millis(600));
    let err = sim
        .engine
        .check_topic("missing", since, sim.now)
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    // The producer still works for a known topic.
    let (b, _, _) = sim.append("t", None, b"ok");
    sim.run_for(Duration::from_millis(20));
    assert!(sim.delivered().contains_key(&b));
}

#[test]
fn throttled_connection_is_muted() {
    let mut c = config();
    c.accumulator.linger = Duration::ZERO;
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    // The first Produce is answered with a throttle of 500 ms.
    sim.broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            let RequestBody::Produce(req) = body else {
                unreachable!()
            };
            let t = &req.topic_data[0];
            return Answer::With(ResponseBody::Produce(ProduceResponse {
                responses: vec![TopicProduceResponse {
                    name: t.name.clone(),
                    partition_responses: vec![PartitionProduceResponse {
                        index: 0,
                        base_offset: 0,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                throttle_time_ms: 500,
                ..Default::default()
            }));
        }
        Answer::Default
    }));
    sim.append("t", None, b"a");
    sim.run_for(Duration::from_millis(10));
    assert_eq!(sim.broker.seen[&ApiKey::PRODUCE.0], 1);
    sim.append("t", None, b"b");
    sim.run_for(Duration::from_millis(300));
    assert_eq!(
        sim.broker.seen[&ApiKey::PRODUCE.0],
        1,
        "muted while throttled"
    );
    sim.run_for(Duration::from_millis(300));
    assert_eq!(
        sim.broker.seen[&ApiKey::PRODUCE.0],
        2,
        "sent after the throttle"
    );
    // The throttle times of both answers (500 and 0 ms) feed produce-throttle-time-*.
    sim.run_for(Duration::from_millis(10));
    let counters = sim.engine.counters();
    assert_eq!(counters.produce_responses, 2, "{counters:?}");
    assert_eq!(counters.produce_throttle_time_total_ms, 500, "{counters:?}");
    assert_eq!(counters.produce_throttle_time_max_ms, 500, "{counters:?}");
}

#[test]
fn close_then_abort_fails_what_is_left() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, _, _| {
        if h.api_key == ApiKey::PRODUCE {
            Answer::Silence
        } else {
            Answer::Default
        }
    }));
    let mut sim = Sim::new(config(), broker);
    let (b, _, _) = sim.append("t", None, b"x");
    sim.engine.close();
    sim.run_for(Duration::from_millis(50));
    assert!(sim.engine.has_incomplete());
    let rec = OutgoingRecord {
        topic: "t",
        partition: None,
        key: None,
        value: Some(b"late"),
        headers: &[],
        timestamp: 0,
    };
    assert_eq!(sim.engine.append(&rec, sim.now), Err(SendError::Closed));
    sim.engine.abort();
    sim.settle();
    // Its request was out (never answered): the broker may have written it.
    let failed = sim.failed();
    assert!(
        matches!(failed.as_slice(), [(id, DeliveryError::ClosedInFlight)] if *id == b),
        "{failed:?}"
    );
    assert!(failed[0].1.outcome_unknown());
    assert!(!sim.engine.has_incomplete());
}

#[test]
fn connection_closed_by_the_broker_mid_request_is_retried() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, _, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            Answer::Disconnect
        } else {
            Answer::Default
        }
    }));
    let mut sim = Sim::new(config(), broker);
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(Duration::from_secs(1));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert_eq!(sim.broker.seen[&ApiKey::PRODUCE.0], 2);
    assert_eq!(values_of(&sim.broker.stored("t", 0)), vec![b"x".to_vec()]);
}

#[test]
fn answers_to_acks_zero_requests_are_skipped() {
    // Tansu answers acks=0 Produce requests; the connection must survive them, or requests
    // written behind are lost.
    let mut c = config();
    c.acks = 0;
    c.accumulator.batch_size = 200;
    let mut broker = Broker::new(1).topic("t", 1);
    broker.answers_acks_zero = true;
    let mut sim = Sim::new(c, broker);
    for i in 0..50 {
        sim.append("t", None, format!("{i:0>50}").as_bytes());
        sim.tick(Duration::from_millis(1));
    }
    sim.run_for(Duration::from_millis(50));
    let want: Vec<Vec<u8>> = (0..50).map(|i| format!("{i:0>50}").into_bytes()).collect();
    assert_eq!(values_of(&sim.broker.stored("t", 0)), want);
    assert!(sim.broker.produce_requests.len() > 5);
    assert_eq!(sim.connects, 2, "no reconnect: bootstrap + leader only");
}

// ------------------------------------------------------------------ transactions

fn txn_config() -> EngineConfig {
    let mut c = config();
    c.transactional_id = Some("tx-1".into());
    c.idempotence = true;
    c
}

impl Sim {
    fn txn_events(&self) -> Vec<(TxnCall, Result<(), TxnFailureKind>)> {
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

    fn init(&mut self) {
        self.engine.init_transactions().unwrap();
        self.run_for(Duration::from_millis(50));
        assert_eq!(
            self.txn_events().last(),
            Some(&(TxnCall::InitTransactions, Ok(())))
        );
    }

    fn end_answer(code: ErrorCode) -> Answer {
        Answer::With(ResponseBody::EndTxn(EndTxnResponse {
            error_code: code.0,
            ..Default::default()
        }))
    }
}

fn produce_error(body: &RequestBody, code: ErrorCode) -> Answer {
    let RequestBody::Produce(req) = body else {
        unreachable!()
    };
    let t = &req.topic_data[0];
    Answer::With(ResponseBody::Produce(ProduceResponse {
        responses: vec![TopicProduceResponse {
            name: t.name.clone(),
            partition_responses: t
                .partition_data
                .iter()
                .map(|p| PartitionProduceResponse {
                    index: p.index,
                    error_code: code.0,
                    base_offset: -1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }))
}

#[test]
fn transaction_commits_after_adding_partitions_and_flushing() {
    let mut sim = Sim::new(txn_config(), Broker::new(1).topic("a", 2).topic("b", 1));
    sim.init();
    assert!(sim.broker.order.contains(&ApiKey::FIND_COORDINATOR));
    sim.engine.begin_transaction().unwrap();
    for i in 0..6 {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        sim.append(topic, Some(format!("k{i}").as_bytes()), b"v");
    }
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(100));
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::CommitTransaction, Ok(())))
    );
    assert_eq!(sim.broker.end_txns, vec![true]);
    // AddPartitionsToTxn came before the first Produce, EndTxn after the last.
    let first_add = sim
        .broker
        .order
        .iter()
        .position(|a| *a == ApiKey::ADD_PARTITIONS_TO_TXN);
    let first_produce = sim.broker.order.iter().position(|a| *a == ApiKey::PRODUCE);
    let last_produce = sim.broker.order.iter().rposition(|a| *a == ApiKey::PRODUCE);
    let end = sim.broker.order.iter().position(|a| *a == ApiKey::END_TXN);
    assert!(
        first_add < first_produce && last_produce < end,
        "{:?}",
        sim.broker.order
    );
    let mut stored = Vec::new();
    for (t, n) in [("a", 2), ("b", 1)] {
        for p in 0..n {
            stored.extend(sim.broker.stored(t, p));
        }
    }
    assert_eq!(stored.len(), 6);
    assert!(
        stored
            .iter()
            .all(|s| s.transactional && s.producer_id == 1000)
    );
    assert_eq!(sim.engine.transaction_state(), Some(TxnStateKind::Ready));
}

#[test]
fn abort_fails_unsent_records_and_ends_with_abort() {
    let mut c = txn_config();
    c.accumulator.linger = Duration::from_secs(60); // nothing leaves before the abort
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    let (b, _, _) = sim.append("t", None, b"x");
    // The partition joins the transaction (AddPartitionsToTxn), the record stays queued.
    sim.run_for(Duration::from_millis(5));
    assert_eq!(sim.broker.added, vec![("t".to_string(), 0)]);
    sim.engine.abort_transaction().unwrap();
    sim.run_for(Duration::from_millis(50));
    assert!(matches!(
        sim.failed().as_slice(),
        [(id, DeliveryError::TransactionAborted)] if *id == b
    ));
    assert_eq!(sim.broker.end_txns, vec![false]);
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::AbortTransaction, Ok(())))
    );
    assert!(sim.broker.stored("t", 0).is_empty());
    // The next transaction works.
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"y");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(50));
    assert_eq!(values_of(&sim.broker.stored("t", 0)), vec![b"y".to_vec()]);
}

#[test]
fn concurrent_transactions_on_add_partitions_is_retried() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::ADD_PARTITIONS_TO_TXN && n <= 2 {
            let RequestBody::AddPartitionsToTxn(req) = body else {
                unreachable!()
            };
            return Answer::With(ResponseBody::AddPartitionsToTxn(
                AddPartitionsToTxnResponse {
                    results_by_topic: vec![AddPartitionsToTxnTopicResult {
                        name: req.topics[0].name.clone(),
                        results_by_partition: vec![AddPartitionsToTxnPartitionResult {
                            partition_index: 0,
                            partition_error_code: ErrorCode::CONCURRENT_TRANSACTIONS.0,
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ));
        }
        Answer::Default
    }));
    let mut sim = Sim::new(txn_config(), broker);
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.broker.seen[&ApiKey::ADD_PARTITIONS_TO_TXN.0], 3);
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::CommitTransaction, Ok(())))
    );
    assert_eq!(sim.broker.stored("t", 0).len(), 1);
}

#[test]
fn not_coordinator_on_end_txn_rediscovers_the_coordinator() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, _, n| {
        if h.api_key == ApiKey::END_TXN && n == 1 {
            return Sim::end_answer(ErrorCode::NOT_COORDINATOR);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(txn_config(), broker);
    sim.init();
    let finds = sim.broker.seen[&ApiKey::FIND_COORDINATOR.0];
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.broker.seen[&ApiKey::FIND_COORDINATOR.0], finds + 1);
    assert_eq!(sim.broker.seen[&ApiKey::END_TXN.0], 2);
    assert_eq!(
        sim.broker.end_txns,
        vec![true],
        "the second EndTxn got the default answer"
    );
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::CommitTransaction, Ok(())))
    );
}

#[test]
fn producer_fenced_is_fatal() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, _, _| {
        if h.api_key == ApiKey::END_TXN {
            return Sim::end_answer(ErrorCode::PRODUCER_FENCED);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(txn_config(), broker);
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(200));
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::CommitTransaction, Err(TxnFailureKind::Fatal)))
    );
    assert_eq!(
        sim.engine.transaction_state(),
        Some(TxnStateKind::FatalError)
    );
    assert_eq!(
        sim.engine.begin_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Fatal)
    );
}

#[test]
fn failed_batch_makes_the_transaction_abortable() {
    let mut c = txn_config();
    c.retries = 0;
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            return produce_error(body, ErrorCode::INVALID_RECORD);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"bad");
    sim.run_for(Duration::from_millis(50));
    assert_eq!(
        sim.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Abortable)
    );
    sim.engine.abort_transaction().unwrap();
    sim.run_for(Duration::from_millis(200));
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::AbortTransaction, Ok(())))
    );
    assert_eq!(sim.engine.transaction_state(), Some(TxnStateKind::Ready));
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"good");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(200));
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::CommitTransaction, Ok(())))
    );
}

#[test]
fn send_offsets_adds_the_group_then_commits_offsets_to_its_coordinator() {
    let mut sim = Sim::new(txn_config(), Broker::new(1).topic("t", 1));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.engine
        .send_offsets_to_transaction(
            vec![OffsetToCommit {
                topic: "in".into(),
                partition: 3,
                offset: 42,
                leader_epoch: None,
                metadata: None,
            }],
            GroupMetadata::new("g1"),
        )
        .unwrap();
    sim.run_for(Duration::from_millis(50));
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::SendOffsets, Ok(())))
    );
    let add = sim
        .broker
        .order
        .iter()
        .position(|a| *a == ApiKey::ADD_OFFSETS_TO_TXN);
    let commit = sim
        .broker
        .order
        .iter()
        .position(|a| *a == ApiKey::TXN_OFFSET_COMMIT);
    assert!(add.is_some() && add < commit);
    assert_eq!(
        sim.broker.txn_offsets,
        vec![("g1".to_string(), "in".to_string(), 3, 42)]
    );
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.broker.end_txns, vec![true]);
}

#[test]
fn transactional_calls_are_checked_against_the_state() {
    let mut sim = Sim::new(txn_config(), Broker::new(1).topic("t", 1));
    assert_eq!(
        sim.engine.begin_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::InvalidState)
    );
    let rec = OutgoingRecord {
        topic: "t",
        partition: Some(0),
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    sim.init();
    assert!(matches!(
        sim.engine.append(&rec, sim.now),
        Err(SendError::Transaction(_))
    ));
    assert_eq!(
        sim.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::InvalidState)
    );
    let mut plain = Sim::new(config(), Broker::new(1).topic("t", 1));
    assert_eq!(
        plain.engine.init_transactions().map_err(|f| f.kind),
        Err(TxnFailureKind::NotTransactional)
    );
    let _ = &mut plain;
}

#[test]
fn transactions_v2_adds_partitions_implicitly_and_adopts_the_end_txn_epoch() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.transactions_v2 = true;
    let mut sim = Sim::new(txn_config(), broker);
    sim.init();
    for round in 0..2 {
        sim.engine.begin_transaction().unwrap();
        sim.append("t", None, format!("r{round}-a").as_bytes());
        sim.append("t", None, format!("r{round}-b").as_bytes());
        if round == 0 {
            sim.engine
                .send_offsets_to_transaction(
                    vec![OffsetToCommit {
                        topic: "in".into(),
                        partition: 0,
                        offset: 7,
                        leader_epoch: None,
                        metadata: None,
                    }],
                    GroupMetadata::new("g"),
                )
                .unwrap();
            sim.run_for(Duration::from_millis(20));
        }
        sim.engine.commit_transaction().unwrap();
        sim.run_for(Duration::from_millis(50));
        assert_eq!(
            sim.txn_events().last(),
            Some(&(TxnCall::CommitTransaction, Ok(())))
        );
    }
    // No AddPartitionsToTxn or AddOffsetsToTxn: Produce v12 and TxnOffsetCommit v5 add them.
    assert!(!sim.broker.order.contains(&ApiKey::ADD_PARTITIONS_TO_TXN));
    assert!(!sim.broker.order.contains(&ApiKey::ADD_OFFSETS_TO_TXN));
    assert_eq!(sim.broker.txn_offsets.len(), 1);
    assert!(sim.broker.produce_versions.iter().all(|v| *v == 12));
    // EndTxn v5 returned epoch + 1: the second transaction uses it, sequences from 0.
    let stored = sim.broker.stored("t", 0);
    let stamps: Vec<(i16, i32)> = stored.iter().map(|s| (s.epoch, s.sequence)).collect();
    assert_eq!(stamps, vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
}

#[test]
fn without_transactions_v2_produce_is_capped_at_11() {
    let mut sim = Sim::new(txn_config(), Broker::new(1).topic("t", 1));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(50));
    assert!(sim.broker.produce_versions.iter().all(|v| *v == 11));
    assert!(sim.broker.order.contains(&ApiKey::ADD_PARTITIONS_TO_TXN));
}

/// Idempotent producer: a sequence error on the partition's next batch bumps the epoch and the
/// batch is resent under it, from sequence 0 (Java `canRetry`).
fn sequence_error_bumps_the_epoch_and_resends(code: ErrorCode) {
    let mut c = config();
    c.idempotence = true;
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(move |h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n == 2 {
            return produce_error(body, code);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    sim.append("t", None, b"a");
    sim.run_for(Duration::from_millis(20));
    let (b, _, _) = sim.append("t", None, b"b");
    sim.run_for(Duration::from_secs(1));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert!(sim.failed().is_empty());
    let stamps: Vec<(i16, i32)> = sim
        .broker
        .stored("t", 0)
        .iter()
        .map(|s| (s.epoch, s.sequence))
        .collect();
    // The resent batch carries epoch 1 and restarts at sequence 0.
    assert_eq!(stamps, vec![(0, 0), (1, 0)]);
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
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|h, body, n| {
        if h.api_key == ApiKey::PRODUCE && n == 1 {
            return produce_error(body, ErrorCode::DUPLICATE_SEQUENCE_NUMBER);
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    let (b, _, _) = sim.append("t", None, b"a");
    sim.run_for(Duration::from_millis(20));
    assert_eq!(sim.delivered().get(&b), Some(&None));
    assert!(sim.failed().is_empty());
}

#[test]
fn empty_transactions_end_locally_without_end_txn() {
    let mut sim = Sim::new(txn_config(), Broker::new(1).topic("t", 1));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(20));
    sim.engine.begin_transaction().unwrap();
    sim.engine.abort_transaction().unwrap();
    sim.run_for(Duration::from_millis(20));
    let events = sim.txn_events();
    assert_eq!(
        events[events.len() - 2..],
        [
            (TxnCall::CommitTransaction, Ok(())),
            (TxnCall::AbortTransaction, Ok(()))
        ]
    );
    assert!(!sim.broker.order.contains(&ApiKey::END_TXN));
    // A transaction with records still ends with EndTxn.
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.engine.commit_transaction().unwrap();
    sim.run_for(Duration::from_millis(20));
    assert_eq!(sim.broker.end_txns, vec![true]);
}

#[test]
fn abort_before_any_partition_was_added_sends_no_end_txn() {
    let mut c = txn_config();
    c.accumulator.linger = Duration::from_secs(60);
    let mut broker = Broker::new(1).topic("t", 1);
    // AddPartitionsToTxn never answers: the coordinator does not know the transaction.
    broker.hook = Some(Box::new(|h, _, _| {
        if h.api_key == ApiKey::ADD_PARTITIONS_TO_TXN {
            Answer::Silence
        } else {
            Answer::Default
        }
    }));
    let mut sim = Sim::new(c, broker);
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.run_for(Duration::from_millis(5));
    sim.broker.hook = None;
    sim.engine.abort_transaction().unwrap();
    sim.run_for(Duration::from_secs(40));
    assert!(
        !sim.broker.order.contains(&ApiKey::END_TXN),
        "{:?}",
        sim.broker.order
    );
    assert_eq!(
        sim.txn_events().last(),
        Some(&(TxnCall::AbortTransaction, Ok(())))
    );
}

#[test]
fn counters_measure_compression() {
    let mut c = config();
    c.accumulator.compression =
        ferrokafka_records::Compression::new(ferrokafka_records::CompressionType::Lz4, None)
            .unwrap();
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    for _ in 0..50 {
        sim.append("t", None, &[b'a'; 200]);
    }
    sim.run_for(Duration::from_millis(20));
    let counters = sim.engine.counters();
    assert_eq!(counters.records_sent, 50);
    assert!(counters.batch_bytes > 0);
    // Repetitive values compress well: compressed / uncompressed well below 1.
    assert!(
        counters.uncompressed_bytes > 4 * counters.batch_bytes,
        "{counters:?}"
    );
}

#[test]
fn epoch_bump_while_another_partition_is_in_flight_never_sends_without_sequence() {
    let mut c = config();
    c.idempotence = true;
    c.request_timeout = Duration::from_secs(1);
    let mut broker = Broker::new(2).topic("t", 2);
    let mut p1_requests = 0;
    let mut p0_requests = 0;
    broker.hook = Some(Box::new(move |h, body, _| {
        if h.api_key != ApiKey::PRODUCE {
            return Answer::Default;
        }
        let RequestBody::Produce(req) = body else {
            unreachable!()
        };
        let partition = req.topic_data[0].partition_data[0].index;
        if partition == 1 {
            p1_requests += 1;
            if p1_requests == 1 {
                return Answer::Silence; // in flight under epoch 0 while p0 bumps
            }
        } else {
            p0_requests += 1;
            if p0_requests == 2 {
                return produce_error(body, ErrorCode::UNKNOWN_PRODUCER_ID);
            }
        }
        Answer::Default
    }));
    let mut sim = Sim::new(c, broker);
    let rec = |p: i32, v: &str| (p, v.as_bytes().to_vec());
    let mut sent = Vec::new();
    for (p, v) in [rec(1, "p1-a"), rec(0, "p0-a")] {
        sim.append_to("t", p, &v);
        sent.push((p, v));
    }
    sim.run_for(Duration::from_millis(20));
    for (p, v) in [rec(0, "p0-b"), rec(1, "p1-b")] {
        sim.append_to("t", p, &v);
        sent.push((p, v));
        sim.run_for(Duration::from_millis(20));
    }
    sim.run_for(Duration::from_secs(3));
    assert!(sim.failed().is_empty(), "{:?}", sim.failed());
    for p in 0..2 {
        let stored = sim.broker.stored("t", p);
        assert!(
            stored
                .iter()
                .all(|s| s.producer_id == 1000 && s.sequence >= 0),
            "partition {p}: {stored:?}"
        );
        let want: Vec<Vec<u8>> = sent
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|(_, v)| v.clone())
            .collect();
        assert_eq!(values_of(&stored), want, "partition {p}");
    }
}

#[test]
fn acks_zero_delivers_when_written_and_counts_unwritten_requests_in_flight() {
    let mut c = config();
    c.acks = 0;
    c.max_in_flight_per_connection = 2;
    c.accumulator.max_in_flight_per_partition = 5;
    c.accumulator.batch_size = 100;
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    sim.append("t", None, b"warm-up");
    sim.run_for(Duration::from_millis(20));
    sim.hold_writes = true;
    let ids: Vec<BatchId> = (0..4)
        .map(|i| sim.append("t", None, format!("{i:0>90}").as_bytes()).0)
        .collect();
    sim.run_for(Duration::from_millis(20));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|id| !delivered.contains_key(id)),
        "nothing written yet"
    );
    // Unwritten acks=0 requests count as in flight: at most 2 on the connection.
    assert_eq!(sim.broker.produce_requests.len(), 1 + 2);
    sim.hold_writes = false;
    for conn in std::mem::take(&mut sim.held_writes) {
        sim.engine.handle_written(conn, sim.now);
    }
    sim.run_for(Duration::from_millis(20));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|id| delivered.get(id) == Some(&None)),
        "{:?}",
        sim.events
    );
}

// ------------------------------------------------------------------ delivery.timeout.ms bound

/// A broker that never answers the first `silent` Produce requests (each on its own
/// connection, which then stalls) and answers the rest.
fn silent_on_first_produces(silent: u32) -> Broker {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(move |h, _, n| {
        if h.api_key == ApiKey::PRODUCE && n <= silent {
            Answer::Silence
        } else {
            Answer::Default
        }
    }));
    broker
}

/// Produce requests the broker received (answered or not).
fn produce_count(sim: &Sim) -> u32 {
    sim.broker
        .seen
        .get(&ApiKey::PRODUCE.0)
        .copied()
        .unwrap_or(0)
}

/// The batch's failure, if it has failed.
fn failure_of(sim: &Sim, batch: BatchId) -> Option<DeliveryError> {
    sim.failed()
        .into_iter()
        .find_map(|(b, e)| (b == batch).then_some(e))
}

#[test]
fn an_in_flight_batch_fails_exactly_at_the_delivery_timeout() {
    // The report: a 10 s delivery timeout with a 7 s request timeout failed records at 14 s
    // (the second request's timeout). The bound holds while the batch is in flight.
    let mut c = config();
    c.accumulator.delivery_timeout = Duration::from_secs(10);
    c.request_timeout = Duration::from_secs(7);
    let mut sim = Sim::new(c, silent_on_first_produces(u32::MAX));
    let (b, _, _) = sim.append("t", None, b"x");
    // The batch was created now (the append waited for metadata first).
    let created = sim.now;
    sim.run_for(Duration::from_millis(9_999));
    assert_eq!(
        failure_of(&sim, b),
        None,
        "still within delivery.timeout.ms"
    );
    assert_eq!(
        produce_count(&sim),
        2,
        "sent, timed out at 7 s, sent again: in flight at the deadline"
    );
    sim.run_for(Duration::from_millis(1));
    assert_eq!(sim.now - created, Duration::from_secs(10));
    let err = failure_of(&sim, b).expect("failed at exactly delivery.timeout.ms");
    assert!(
        matches!(
            err,
            DeliveryError::DeliveryTimeout {
                maybe_written: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    assert!(err.to_string().contains("may have written it"), "{err}");
    // Reported once: the second request's later timeout adds no event.
    sim.run_for(Duration::from_secs(10));
    assert_eq!(
        sim.events
            .iter()
            .filter(|e| matches!(e, Event::Failed { batch, .. } | Event::Delivered { batch, .. } if *batch == b))
            .count(),
        1
    );
    assert!(!sim.engine.has_incomplete());
}

#[test]
fn a_queued_batch_never_sent_fails_at_the_delivery_timeout_as_not_written() {
    let mut c = config();
    c.accumulator.delivery_timeout = Duration::from_secs(3);
    c.request_timeout = Duration::from_secs(1);
    let mut sim = Sim::new(c, Broker::new(1).topic("t", 1));
    let (_, _, _) = sim.append("t", None, b"warm-up");
    sim.run_for(Duration::from_millis(20));
    sim.broker.reachable = false;
    let open: Vec<ConnId> = sim.open.drain().map(|(c, _)| c).collect();
    for c in open {
        sim.engine.handle_disconnect(c, sim.now);
    }
    let (b, _, _) = sim.append("t", None, b"x");
    // The batch was created now (the append waited for metadata first).
    let created = sim.now;
    sim.run_for(Duration::from_secs(3));
    assert_eq!(sim.now - created, Duration::from_secs(3));
    let err = failure_of(&sim, b).expect("failed");
    assert!(
        !err.outcome_unknown(),
        "never sent: certainly not written: {err}"
    );
}

#[test]
fn an_idempotent_partition_waits_for_its_expired_batch_then_goes_on_under_a_new_epoch() {
    let mut c = config();
    c.idempotence = true;
    c.accumulator.delivery_timeout = Duration::from_secs(10);
    c.request_timeout = Duration::from_secs(7);
    // The first two Produce requests (the batch and its retry) are never answered.
    let mut sim = Sim::new(c, silent_on_first_produces(2));
    let (first, _, _) = sim.append("t", None, b"lost");
    sim.run_for(Duration::from_secs(10));
    assert!(
        failure_of(&sim, first).is_some_and(|e| e.outcome_unknown()),
        "{:?} {:?}",
        sim.events,
        sim.broker.order
    );
    // Sent after the expiry, while the expired batch's request is still out: held back.
    let (second, _, _) = sim.append("t", None, b"after");
    sim.run_for(Duration::from_secs(2));
    assert_eq!(
        produce_count(&sim),
        2,
        "nothing more is sent to the partition while its expired batch is unresolved"
    );
    assert!(!sim.delivered().contains_key(&second));
    // The retry's request times out (lost): the gap it may leave is closed by an epoch bump,
    // and the held record goes out under the new epoch from sequence 0.
    sim.run_for(Duration::from_secs(10));
    assert!(sim.delivered().contains_key(&second), "{:?}", sim.events);
    let stored = sim.broker.stored("t", 0);
    let after: Vec<&Stored> = stored
        .iter()
        .filter(|s| s.value.as_deref() == Some(b"after".as_slice()))
        .collect();
    assert_eq!(after.len(), 1, "{stored:?}");
    assert_eq!((after[0].epoch, after[0].sequence), (1, 0), "{stored:?}");
    assert!(!sim.engine.has_incomplete());
}

#[test]
fn an_in_flight_expiry_makes_the_transaction_abortable() {
    let mut c = txn_config();
    c.accumulator.delivery_timeout = Duration::from_secs(10);
    c.request_timeout = Duration::from_secs(7);
    let mut sim = Sim::new(c, silent_on_first_produces(u32::MAX));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(Duration::from_secs(10));
    assert!(failure_of(&sim, b).is_some_and(|e| e.outcome_unknown()));
    assert_eq!(
        sim.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Abortable)
    );
}

// ------------------------------------------------------------------ SASL

/// A hook that plays a broker's SASL side for PLAIN: the mechanisms it enables, the one
/// password it accepts for "alice", and the session lifetime it grants (KIP-368, 0: none).
fn sasl_broker(
    enabled: &'static [&'static str],
    password: &'static str,
    lifetime_ms: i64,
) -> Broker {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(move |h, body, _| match body {
        RequestBody::SaslHandshake(req) => {
            let ok = enabled.contains(&req.mechanism.as_str());
            Answer::With(ResponseBody::SaslHandshake(SaslHandshakeResponse {
                error_code: if ok {
                    0
                } else {
                    ErrorCode::UNSUPPORTED_SASL_MECHANISM.0
                },
                mechanisms: enabled.iter().map(|m| (*m).to_owned()).collect(),
                ..Default::default()
            }))
        }
        RequestBody::SaslAuthenticate(req) => {
            let expected = format!("\0alice\0{password}");
            let ok = req.auth_bytes.as_ref() == expected.as_bytes();
            Answer::With(ResponseBody::SaslAuthenticate(SaslAuthenticateResponse {
                error_code: if ok {
                    0
                } else {
                    ErrorCode::SASL_AUTHENTICATION_FAILED.0
                },
                error_message: (!ok)
                    .then(|| "Authentication failed: Invalid username or password".to_owned()),
                session_lifetime_ms: if ok && h.api_version >= 1 {
                    lifetime_ms
                } else {
                    0
                },
                ..Default::default()
            }))
        }
        _ => Answer::Default,
    }));
    broker
}

fn sasl_config(mechanism: Mechanism, password: &str) -> EngineConfig {
    let mut c = config();
    c.sasl = Some(SaslConfig::new(
        mechanism,
        Some(Credentials {
            username: "alice".into(),
            password: password.into(),
        }),
    ));
    c
}

#[test]
fn plain_authenticates_every_connection_before_anything_else() {
    let mut sim = Sim::new(
        sasl_config(Mechanism::Plain, "right"),
        sasl_broker(&["PLAIN"], "right", 0),
    );
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(Duration::from_millis(50));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    let order = &sim.broker.order;
    // Each connection: ApiVersions, SaslHandshake, SaslAuthenticate, then its requests.
    let first_other = order
        .iter()
        .position(|k| *k == ApiKey::METADATA)
        .expect("metadata");
    assert_eq!(
        &order[..first_other],
        &[
            ApiKey::API_VERSIONS,
            ApiKey::SASL_HANDSHAKE,
            ApiKey::SASL_AUTHENTICATE
        ]
    );
    let c = sim.engine.counters();
    assert_eq!(c.authentications_succeeded, c.connections_created);
    assert_eq!(c.authentications_failed, 0);
}

#[test]
fn a_wrong_password_fails_send_at_once_and_reconnects_back_off() {
    let mut c = sasl_config(Mechanism::Plain, "wrong");
    c.reconnect_backoff = Duration::from_millis(50);
    c.reconnect_backoff_max = Duration::from_secs(1);
    let mut sim = Sim::new(c, sasl_broker(&["PLAIN"], "right", 0));
    let since = sim.now;
    let rec = OutgoingRecord {
        topic: "t",
        partition: None,
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    assert!(matches!(
        sim.engine.append(&rec, sim.now),
        Err(SendError::TopicPending(_))
    ));
    sim.run_for(Duration::from_millis(20));
    let err = sim
        .engine
        .check_topic("t", since, sim.now)
        .expect_err("authentication failed");
    let text = err.to_string();
    assert!(matches!(err, SendError::Authentication(_)), "{err:?}");
    assert!(text.contains("bootstrap broker b1:9092"), "{text}");
    assert!(text.contains("PLAIN authentication refused"), "{text}");
    assert!(text.contains("Invalid username or password"), "{text}");
    assert!(!text.contains("wrong"), "the password stays out: {text}");
    // Ten seconds of retrying: exponential backoff up to 1 s, not a storm.
    sim.run_for(Duration::from_secs(10));
    let c = sim.engine.counters();
    assert!(
        (5..=20).contains(&c.connections_created),
        "{} connections",
        c.connections_created
    );
    assert_eq!(c.authentications_failed, c.connections_created);
    assert_eq!(c.authentications_succeeded, 0);
}

#[test]
fn a_mechanism_the_broker_does_not_enable_is_named_with_what_it_offers() {
    let mut sim = Sim::new(
        sasl_config(Mechanism::ScramSha512, "x"),
        sasl_broker(&["PLAIN", "SCRAM-SHA-256"], "x", 0),
    );
    sim.engine.add_entropy(&[7; 24]);
    let since = sim.now;
    let rec = OutgoingRecord {
        topic: "t",
        partition: None,
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    let _ = sim.engine.append(&rec, sim.now);
    sim.run_for(Duration::from_millis(20));
    let text = sim
        .engine
        .check_topic("t", since, sim.now)
        .expect_err("not enabled")
        .to_string();
    assert!(
        text.contains("SCRAM-SHA-512 is not enabled on the broker"),
        "{text}"
    );
    assert!(text.contains("PLAIN, SCRAM-SHA-256"), "{text}");
}

#[test]
fn sessions_are_reauthenticated_before_they_end_without_losing_records() {
    let mut sim = Sim::new(
        sasl_config(Mechanism::Plain, "right"),
        sasl_broker(&["PLAIN"], "right", 1_000),
    );
    let mut ids = Vec::new();
    for i in 0..50 {
        let (b, _, _) = sim.append("t", None, format!("r{i}").as_bytes());
        ids.push(b);
        sim.run_for(Duration::from_millis(100));
    }
    sim.run_for(Duration::from_millis(200));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|b| delivered.contains_key(b)),
        "{:?}",
        sim.failed()
    );
    assert_eq!(sim.broker.stored("t", 0).len(), 50);
    let c = sim.engine.counters();
    // 5 s of sessions lasting 1 s, re-authenticated at 900 ms: several times on each
    // connection (bootstrap and leader are one broker here, one or two connections).
    assert!(
        c.reauthentications_succeeded >= 4,
        "{} re-authentications",
        c.reauthentications_succeeded
    );
    assert_eq!(c.authentications_failed, 0);
}

#[test]
fn oauthbearer_waits_for_the_first_token_then_authenticates_with_it() {
    let mut broker = Broker::new(1).topic("t", 1);
    broker.hook = Some(Box::new(|_, body, _| match body {
        RequestBody::SaslHandshake(_) => {
            Answer::With(ResponseBody::SaslHandshake(SaslHandshakeResponse {
                mechanisms: vec!["OAUTHBEARER".into()],
                ..Default::default()
            }))
        }
        RequestBody::SaslAuthenticate(req) => {
            let ok = req.auth_bytes.as_ref() == b"n,,\x01auth=Bearer the-token\x01\x01";
            Answer::With(ResponseBody::SaslAuthenticate(SaslAuthenticateResponse {
                error_code: if ok {
                    0
                } else {
                    ErrorCode::SASL_AUTHENTICATION_FAILED.0
                },
                ..Default::default()
            }))
        }
        _ => Answer::Default,
    }));
    let mut c = config();
    c.sasl = Some(SaslConfig::new(Mechanism::OAuthBearer, None));
    let mut sim = Sim::new(c, broker);
    let rec = OutgoingRecord {
        topic: "t",
        partition: None,
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    let since = sim.now;
    let _ = sim.engine.append(&rec, sim.now);
    sim.run_for(Duration::from_millis(200));
    // The handshake is done, the connection waits for a token; nothing failed.
    assert_eq!(
        sim.broker.order.last(),
        Some(&ApiKey::SASL_HANDSHAKE),
        "{:?}",
        sim.broker.order
    );
    assert!(sim.engine.check_topic("t", since, sim.now).is_ok());
    assert_eq!(sim.engine.counters().authentications_failed, 0);
    sim.engine.set_oauth_token("the-token".into(), sim.now);
    let (b, _, _) = sim.append("t", None, b"y");
    sim.run_for(Duration::from_millis(50));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    let c = sim.engine.counters();
    assert_eq!(c.authentications_succeeded, c.connections_created);
    assert_eq!(c.authentications_failed, 0);
}
