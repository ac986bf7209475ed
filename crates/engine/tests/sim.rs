//! The engine in one thread with a simulated clock against the fake cluster.
//!
//! [`Sim`] plays the driver: it performs the engine's I/O against `ferrokafka-fake`'s sans-IO
//! [`Cluster`] (a connect dials a broker by its advertised address `b<id>:9092`, sent bytes
//! are split into request frames, answers come from `poll_transmit`), so the engine's real
//! encode/decode paths run against a broker with real idempotence and transaction state.
//! Scenarios inject faults with the fake's fault API and check the fake's log. What no fake
//! broker does — an error message, an answer to an acks=0 request, SASL — comes from a [`Hook`]
//! that sees each request before the fake. Every loop is bounded; time is simulated.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokafka_engine::sasl::{Credentials, Mechanism};
use ferrokafka_engine::{
    BatchId, ConnId, DeliveryError, Engine, EngineConfig, Event, GroupMetadata, Io, OffsetToCommit,
    OutgoingRecord, SaslConfig, SendError, TxnCall, TxnFailureKind, TxnStateKind,
};
use ferrokafka_fake::{
    Cluster, ClusterBuilder, ClusterConfig, ConnId as FakeConn, DEFAULT_API_VERSIONS, Fault,
    TopicConfig, TxnStatus,
};
use ferrokafka_metadata::BrokerAddress;
use ferrokafka_wire::frame::{decode_request, encode_response, split_frame};
use ferrokafka_wire::header::RequestHeader;
use ferrokafka_wire::messages::api_versions::ApiVersion;
use ferrokafka_wire::messages::produce::{PartitionProduceResponse, TopicProduceResponse};
use ferrokafka_wire::messages::{
    ApiVersionsResponse, ProduceRequest, ProduceResponse, RequestBody, ResponseBody,
    SaslAuthenticateResponse, SaslHandshakeResponse,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

/// What a [`Hook`] does with one request, before the fake sees it.
enum Intercept {
    /// The fake serves and answers it.
    Pass,
    /// The fake never sees it; this is the answer.
    Answer(ResponseBody),
    /// The fake serves it, and this answer is sent too (for an acks=0 Produce, which the fake
    /// does not answer).
    ServeAndAnswer(ResponseBody),
}

type Hook = Box<dyn FnMut(&RequestHeader, &RequestBody) -> Intercept>;

const WALL0: i64 = 1_700_000_000_000;

struct Sim {
    engine: Engine,
    cluster: Cluster,
    start: Instant,
    now: Instant,
    /// Open connections: the engine's id → the fake's.
    open: BTreeMap<ConnId, FakeConn>,
    /// Answers from the hook, each behind what the fake had ready on its connection.
    inbox: Vec<(ConnId, Bytes)>,
    events: Vec<Event>,
    /// Every request the engine wrote, in order (whether the fake read it or not).
    requests: Vec<(RequestHeader, RequestBody)>,
    connects: u32,
    hook: Option<Hook>,
    /// Hold back `handle_written` reports (a slow socket).
    hold_writes: bool,
    held_writes: Vec<ConnId>,
}

fn brokers(n: i32) -> ClusterBuilder {
    ClusterConfig::builder().brokers(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

impl Sim {
    fn new(config: EngineConfig, cluster: ClusterBuilder) -> Self {
        let now = Instant::now();
        let mut cluster = Cluster::new(cluster.build());
        for id in cluster.broker_ids() {
            cluster.set_broker_address(id, &format!("b{id}"), 9092);
        }
        let partitioner = ferrokafka_partition::by_name("").unwrap();
        Self {
            engine: Engine::new(config, partitioner, now).unwrap(),
            cluster,
            start: now,
            now,
            open: BTreeMap::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            requests: Vec::new(),
            connects: 0,
            hook: None,
            hold_writes: false,
            held_writes: Vec::new(),
        }
    }

    fn hook(&mut self, hook: impl FnMut(&RequestHeader, &RequestBody) -> Intercept + 'static) {
        self.hook = Some(Box::new(hook));
    }

    fn wall(&self) -> i64 {
        WALL0 + i64::try_from((self.now - self.start).as_millis()).unwrap()
    }

    /// Runs both sides until neither has anything more to do right now (bounded).
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(io) = self.engine.poll_io(self.now) {
                progressed = true;
                self.perform(io);
            }
            for (conn, frame) in std::mem::take(&mut self.inbox) {
                progressed = true;
                if self.open.contains_key(&conn) {
                    self.engine.handle_frame(conn, &frame[4..], self.now);
                }
            }
            let open: Vec<(ConnId, FakeConn)> = self.open.iter().map(|(a, b)| (*a, *b)).collect();
            for (conn, fake) in open {
                while let Some(frame) = self.cluster.poll_transmit(fake, self.now) {
                    progressed = true;
                    self.engine.handle_frame(conn, &frame[4..], self.now);
                }
                if self.cluster.is_closed(fake) {
                    progressed = true;
                    self.open.remove(&conn);
                    self.cluster.disconnect(fake);
                    self.engine.handle_disconnect(conn, self.now);
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                progressed = true;
                self.events.push(ev);
            }
            if !progressed {
                return;
            }
        }
        panic!("did not settle in 10,000 rounds");
    }

    fn perform(&mut self, io: Io) {
        match io {
            Io::Connect { conn, host, port } => {
                self.connects += 1;
                match self
                    .cluster
                    .broker_at(&host, port)
                    .map(|b| self.cluster.connect(b))
                {
                    Some(Ok(fake)) => {
                        self.open.insert(conn, fake);
                        self.engine.handle_connected(conn, self.now);
                    }
                    _ => self.engine.handle_disconnect(conn, self.now),
                }
            }
            Io::Send { conn, data } => {
                let Some(&fake) = self.open.get(&conn) else {
                    return;
                };
                // The bytes are on the wire (acks=0 requests are delivered now), unless the
                // test holds the write reports back.
                if self.hold_writes {
                    self.held_writes.push(conn);
                } else {
                    self.engine.handle_written(conn, self.now);
                }
                let wall = self.wall();
                let mut buf = BytesMut::from(&data[..]);
                while let Some(frame) = split_frame(&mut buf, 1 << 30).unwrap() {
                    let (header, body) = decode_request(&frame).expect("a valid request");
                    let answer = match self.hook.as_mut().map(|h| h(&header, &body)) {
                        None | Some(Intercept::Pass) => {
                            self.cluster.handle_frame(fake, &frame, self.now, wall);
                            None
                        }
                        Some(Intercept::Answer(answer)) => Some(answer),
                        Some(Intercept::ServeAndAnswer(answer)) => {
                            self.cluster.handle_frame(fake, &frame, self.now, wall);
                            Some(answer)
                        }
                    };
                    if let Some(answer) = answer {
                        while let Some(ready) = self.cluster.poll_transmit(fake, self.now) {
                            self.inbox.push((conn, ready));
                        }
                        let mut out = BytesMut::new();
                        encode_response(
                            &mut out,
                            header.correlation_id,
                            &answer,
                            header.api_version,
                        )
                        .unwrap();
                        self.inbox.push((conn, out.freeze()));
                    }
                    self.requests.push((header, body));
                }
            }
            Io::Close { conn } => {
                if let Some(fake) = self.open.remove(&conn) {
                    self.cluster.disconnect(fake);
                }
            }
        }
    }

    /// Advances the clock to the next timer of either side (at most `max`), then settles.
    fn tick(&mut self, max: Duration) {
        let mut next = self.now + max;
        if let Some(t) = self.engine.poll_timeout() {
            next = next.min(t);
        }
        for fake in self.open.values() {
            if let Some(t) = self.cluster.poll_timeout(*fake) {
                next = next.min(t);
            }
        }
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
            self.tick((end - self.now).min(ms(100)));
        }
        panic!("run_for did not finish");
    }

    /// Appends a record, settling until the topic's metadata is known (bounded):
    /// (batch, index in it, partition).
    fn append_record(&mut self, rec: OutgoingRecord<'_>) -> (BatchId, i32, i32) {
        let since = self.now;
        for _ in 0..1_000 {
            match self.engine.append(&rec, self.now) {
                Ok(a) => return (a.batch, a.index, a.partition),
                Err(SendError::TopicPending(_)) => {
                    let ready = self.engine.check_topic(rec.topic, since, self.now);
                    assert!(ready.is_ok(), "{ready:?}");
                    self.tick(ms(10));
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        panic!("topic never became known");
    }

    fn append(&mut self, topic: &str, key: Option<&[u8]>, value: &[u8]) -> (BatchId, i32, i32) {
        self.append_record(OutgoingRecord {
            key,
            ..record(topic, value)
        })
    }

    /// Appends to an explicit partition.
    fn append_to(&mut self, topic: &str, partition: i32, value: &[u8]) -> BatchId {
        self.append_record(OutgoingRecord {
            partition: Some(partition),
            ..record(topic, value)
        })
        .0
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

    /// The batch's failure, if it has failed.
    fn failure_of(&self, batch: BatchId) -> Option<DeliveryError> {
        self.failed()
            .into_iter()
            .find_map(|(b, e)| (b == batch).then_some(e))
    }

    /// The values in a partition's log, in offset order.
    fn values(&self, topic: &str, partition: i32) -> Vec<String> {
        let records = self.cluster.records(topic, partition).into_iter();
        records
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect()
    }

    /// (producer epoch, sequence) of each record in a partition's log.
    fn stamps(&self, topic: &str, partition: i32) -> Vec<(i16, i32)> {
        let records = self.cluster.records(topic, partition);
        records
            .iter()
            .map(|r| (r.producer_epoch, r.sequence))
            .collect()
    }

    /// Requests of `api` the fake read (answered or not).
    fn served(&self, api: ApiKey) -> u64 {
        self.cluster.requests_served(api)
    }

    /// The API of every request the engine wrote, in order.
    fn order(&self) -> Vec<ApiKey> {
        self.requests.iter().map(|(h, _)| h.api_key).collect()
    }

    /// The `committed` flag of every EndTxn request written.
    fn end_txns(&self) -> Vec<bool> {
        self.requests
            .iter()
            .filter_map(|(_, b)| match b {
                RequestBody::EndTxn(e) => Some(e.committed),
                _ => None,
            })
            .collect()
    }

    /// The Produce versions the fake served.
    fn produce_versions(&self) -> Vec<i16> {
        let seen = self.cluster.versions_seen().into_iter();
        seen.filter_map(|(k, v)| (k == ApiKey::PRODUCE).then_some(v))
            .collect()
    }
}

/// A record for `topic` without key, partition or headers.
fn record<'a>(topic: &'a str, value: &'a [u8]) -> OutgoingRecord<'a> {
    OutgoingRecord {
        topic,
        partition: None,
        key: None,
        value: Some(value),
        headers: &[],
        timestamp: WALL0,
    }
}

/// A Produce answer giving every partition of `req` this error code and message.
fn produce_answer(req: &ProduceRequest, code: ErrorCode, message: Option<&str>) -> ResponseBody {
    let responses = req.topic_data.iter().map(|t| TopicProduceResponse {
        name: t.name.clone(),
        partition_responses: t
            .partition_data
            .iter()
            .map(|p| PartitionProduceResponse {
                index: p.index,
                error_code: code.0,
                error_message: message.map(str::to_owned),
                base_offset: -1,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    });
    ResponseBody::Produce(ProduceResponse {
        responses: responses.collect(),
        ..Default::default()
    })
}

fn config() -> EngineConfig {
    let mut c = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
    c.accumulator.linger = ms(5);
    c.accumulator.retry_backoff = ms(100);
    c.accumulator.retry_backoff_max = secs(1);
    c.accumulator.delivery_timeout = secs(120);
    c.request_timeout = secs(30);
    c
}

#[test]
fn records_are_delivered_with_offsets_in_order() {
    let mut sim = Sim::new(config(), brokers(3).topic("t", 3));
    let mut sent: HashMap<i32, Vec<String>> = HashMap::new();
    let mut handles = Vec::new();
    for i in 0..300u32 {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        let (batch, index, p) = sim.append("t", Some(key.as_bytes()), value.as_bytes());
        sent.entry(p).or_default().push(value.clone());
        handles.push((batch, index, p, value));
        if i % 50 == 0 {
            sim.tick(ms(2));
        }
    }
    sim.run_for(ms(50));
    assert!(sim.failed().is_empty(), "{:?}", sim.failed());
    for p in 0..3 {
        let want = sent.get(&p).cloned().unwrap_or_default();
        assert_eq!(sim.values("t", p), want);
    }
    // Each record's offset (base + index) holds its own value in the log.
    let delivered = sim.delivered();
    let logs: Vec<_> = (0..3).map(|p| sim.cluster.records("t", p)).collect();
    for (batch, index, p, value) in handles {
        let offset = delivered[&batch].expect("acks=all returns offsets") + i64::from(index);
        let rec = logs[p as usize].iter().find(|r| r.offset == offset);
        assert_eq!(rec.and_then(|r| r.value.as_deref()), Some(value.as_bytes()));
    }
    assert!(!sim.engine.has_incomplete());
    // Versions were negotiated first on every connection.
    assert!(sim.served(ApiKey::API_VERSIONS) >= 1);
}

#[test]
fn keyed_records_use_java_murmur2() {
    let mut sim = Sim::new(config(), brokers(1).topic("t", 12));
    // toPositive(murmur2("kafka")) % 12 == 4 (checked against the Java client).
    let (_, _, p) = sim.append("t", Some(b"kafka"), b"v");
    assert_eq!(p, 4);
}

#[test]
fn not_leader_is_retried_after_metadata_refresh_and_order_is_kept() {
    let mut c = config();
    c.max_in_flight_per_connection = 1;
    c.accumulator.max_in_flight_per_partition = 1;
    let mut sim = Sim::new(c, brokers(2).topic("t", 1));
    assert_eq!(sim.cluster.leader("t", 0), Some((1, 0)));
    let (b1, _, _) = sim.append("t", None, b"first");
    sim.run_for(ms(20));
    assert!(sim.delivered().contains_key(&b1));
    // The leader moves to broker 2; broker 1 answers NOT_LEADER_OR_FOLLOWER.
    assert!(sim.cluster.move_leader("t", 0, 2));
    let (b2, _, _) = sim.append("t", None, b"second");
    sim.run_for(ms(10));
    let (b3, _, _) = sim.append("t", None, b"third");
    sim.run_for(secs(2));
    let delivered = sim.delivered();
    assert!(
        delivered.contains_key(&b2) && delivered.contains_key(&b3),
        "{:?}",
        sim.events
    );
    assert_eq!(sim.values("t", 0), ["first", "second", "third"]);
    assert!(sim.engine.counters().records_retried >= 1);
    assert!(sim.served(ApiKey::METADATA) >= 2, "metadata refreshed");
}

#[test]
fn injected_retriable_errors_are_retried_with_backoff() {
    let mut c = config();
    c.max_in_flight_per_connection = 1;
    c.accumulator.max_in_flight_per_partition = 1;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.cluster.inject(Fault::fail(
        ApiKey::PRODUCE,
        &[
            ErrorCode::REQUEST_TIMED_OUT,
            ErrorCode::NOT_ENOUGH_REPLICAS,
            ErrorCode::NETWORK_EXCEPTION,
        ],
    ));
    let (b, _, _) = sim.append("t", None, b"x");
    // Backoff: 100 ms, 200 ms, 400 ms (exponential): not delivered after 250 ms.
    sim.run_for(ms(250));
    assert!(!sim.delivered().contains_key(&b));
    sim.run_for(secs(2));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert_eq!(sim.served(ApiKey::PRODUCE), 4);
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn non_retriable_error_fails_the_batch_only() {
    let mut c = config();
    c.accumulator.max_in_flight_per_partition = 1;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    // The fake sends no error messages: the first Produce is answered here.
    let mut first = true;
    sim.hook(move |_, body| match body {
        RequestBody::Produce(req) if std::mem::take(&mut first) => Intercept::Answer(
            produce_answer(req, ErrorCode::INVALID_RECORD, Some("bad record")),
        ),
        _ => Intercept::Pass,
    });
    let (b1, _, _) = sim.append("t", None, b"bad");
    sim.run_for(ms(20));
    let (b2, _, _) = sim.append("t", None, b"good");
    sim.run_for(ms(20));
    let failed = sim.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, b1);
    assert!(matches!(
        &failed[0].1,
        DeliveryError::Broker { code, message: Some(m), .. } if *code == ErrorCode::INVALID_RECORD && m == "bad record"
    ));
    assert!(sim.delivered().contains_key(&b2));
    assert_eq!(sim.values("t", 0), ["good"]);
}

#[test]
fn unanswered_request_times_out_and_is_retried_on_a_new_connection() {
    let mut c = config();
    c.request_timeout = secs(1);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.cluster.inject(Fault::hang(ApiKey::PRODUCE));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(900));
    assert!(sim.delivered().is_empty());
    let connects = sim.connects;
    sim.run_for(secs(2));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert!(sim.connects > connects, "a new connection was opened");
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn delivery_timeout_fails_records_while_the_broker_is_unreachable() {
    let mut c = config();
    c.accumulator.delivery_timeout = secs(3);
    c.request_timeout = secs(1);
    let mut sim = Sim::new(c, brokers(1).topic("t", 2));
    sim.append("t", None, b"warm-up");
    sim.run_for(ms(20));
    // The broker goes away: the engine sees its connections close, new ones are refused.
    sim.cluster.broker_down(1);
    sim.settle();
    let start = sim.now;
    let ids: Vec<BatchId> = (0..5)
        .map(|i| sim.append("t", None, format!("r{i}").as_bytes()).0)
        .collect();
    sim.run_for(secs(5));
    for id in ids {
        let err = sim.failure_of(id).expect("failed");
        assert!(
            matches!(err, DeliveryError::DeliveryTimeout { .. }),
            "{err}"
        );
    }
    assert!(!sim.engine.has_incomplete());
    assert!(sim.now - start <= secs(5));
}

#[test]
fn acks_zero_delivers_without_offsets_or_responses() {
    let mut c = config();
    c.acks = 0;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(20));
    assert_eq!(sim.delivered().get(&b), Some(&None));
    let acks = sim.requests.iter().find_map(|(_, b)| match b {
        RequestBody::Produce(p) => Some(p.acks),
        _ => None,
    });
    assert_eq!(acks, Some(0));
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn idempotent_batches_carry_producer_id_and_sequences() {
    let mut c = config();
    c.idempotence = true;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    for i in 0..3 {
        sim.append("t", None, format!("a{i}").as_bytes());
    }
    sim.run_for(ms(20));
    for i in 0..2 {
        sim.append("t", None, format!("b{i}").as_bytes());
    }
    sim.run_for(ms(20));
    let stored = sim.cluster.records("t", 0);
    assert_eq!(stored.len(), 5);
    assert!(stored.iter().all(|s| s.producer_id == 1000));
    assert_eq!(
        sim.stamps("t", 0),
        vec![(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)]
    );
    assert_eq!(sim.served(ApiKey::INIT_PRODUCER_ID), 1);
    assert_eq!(sim.engine.producer_id().map(|p| p.producer_id), Some(1000));
    let state = sim.cluster.producer_state("t", 0, 1000).expect("known");
    assert_eq!(state.epoch, 0);
    assert_eq!(state.batches.back().map(|b| b.last_sequence), Some(4));
}

#[test]
fn message_too_large_splits_the_batch() {
    let mut c = config();
    c.accumulator.batch_size = 1024;
    c.accumulator.linger = ms(50);
    // The eight records fit one batch of about 950 bytes; the topic takes 600 at most.
    let topic = TopicConfig {
        max_message_bytes: 600,
        ..TopicConfig::default()
    };
    let mut sim = Sim::new(c, brokers(1).topic_with("t", 1, topic));
    for i in 0..8 {
        sim.append("t", None, format!("{i:0>100}").as_bytes());
    }
    sim.run_for(ms(500));
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
    let want: Vec<String> = (0..8).map(|i| format!("{i:0>100}")).collect();
    assert_eq!(sim.values("t", 0), want);
}

#[test]
fn unsupported_api_versions_falls_back_to_v0() {
    // The broker serves ApiVersions v0 only: it answers v4 with UNSUPPORTED_VERSION (KIP-511).
    let cluster = brokers(1).topic("t", 1);
    let mut sim = Sim::new(config(), cluster.api_versions(ApiKey::API_VERSIONS, 0, 0));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(20));
    assert!(sim.delivered().contains_key(&b));
    // Every connection (bootstrap, then the leader) asked twice: v4, then v0 (served).
    let asked = sim
        .order()
        .iter()
        .filter(|k| **k == ApiKey::API_VERSIONS)
        .count();
    assert_eq!(asked, 2 * sim.connects as usize);
    assert_eq!(sim.served(ApiKey::API_VERSIONS), u64::from(sim.connects));
    assert!(
        sim.cluster
            .versions_seen()
            .contains(&(ApiKey::API_VERSIONS, 0))
    );
}

#[test]
fn unknown_topic_fails_after_max_block() {
    let mut c = config();
    c.max_block = secs(2);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1).auto_create_topics(None));
    let since = sim.now;
    assert!(matches!(
        sim.engine.append(&record("missing", b"x"), sim.now),
        Err(SendError::TopicPending(_))
    ));
    sim.run_for(ms(1500));
    assert_eq!(sim.engine.check_topic("missing", since, sim.now), Ok(false));
    sim.run_for(ms(600));
    let err = sim
        .engine
        .check_topic("missing", since, sim.now)
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert_eq!(sim.cluster.partition_count("missing"), None);
    // The producer still works for a known topic.
    let (b, _, _) = sim.append("t", None, b"ok");
    sim.run_for(ms(20));
    assert!(sim.delivered().contains_key(&b));
}

#[test]
fn throttled_connection_is_muted() {
    let mut c = config();
    c.accumulator.linger = Duration::ZERO;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    // The first Produce is answered with a throttle of 500 ms.
    sim.cluster.set_throttle(ApiKey::PRODUCE, 500);
    sim.append("t", None, b"a");
    sim.run_for(ms(10));
    assert_eq!(sim.served(ApiKey::PRODUCE), 1);
    sim.cluster.set_throttle(ApiKey::PRODUCE, 0);
    sim.append("t", None, b"b");
    sim.run_for(ms(300));
    assert_eq!(sim.served(ApiKey::PRODUCE), 1, "muted while throttled");
    sim.run_for(ms(300));
    assert_eq!(sim.served(ApiKey::PRODUCE), 2, "sent after the throttle");
    // The throttle times of both answers (500 and 0 ms) feed produce-throttle-time-*.
    sim.run_for(ms(10));
    let counters = sim.engine.counters();
    assert_eq!(counters.produce_responses, 2, "{counters:?}");
    assert_eq!(counters.produce_throttle_time_total_ms, 500, "{counters:?}");
    assert_eq!(counters.produce_throttle_time_max_ms, 500, "{counters:?}");
    assert_eq!(sim.values("t", 0), ["a", "b"]);
}

#[test]
fn close_then_abort_fails_what_is_left() {
    let mut sim = Sim::new(config(), brokers(1).topic("t", 1));
    // The broker writes the record but its answer never comes.
    sim.cluster.inject(Fault::hold(ApiKey::PRODUCE));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.engine.close();
    sim.run_for(ms(50));
    assert!(sim.engine.has_incomplete());
    assert_eq!(
        sim.engine.append(&record("t", b"late"), sim.now),
        Err(SendError::Closed)
    );
    sim.engine.abort();
    sim.settle();
    // Its request was out (never answered): the broker may have written it — and did.
    let failed = sim.failed();
    assert!(
        matches!(failed.as_slice(), [(id, DeliveryError::ClosedInFlight)] if *id == b),
        "{failed:?}"
    );
    assert!(failed[0].1.outcome_unknown());
    assert!(!sim.engine.has_incomplete());
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn connection_closed_by_the_broker_mid_request_is_retried() {
    let mut sim = Sim::new(config(), brokers(1).topic("t", 1));
    sim.cluster.inject(Fault::drop_connection(ApiKey::PRODUCE));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(secs(1));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert_eq!(sim.served(ApiKey::PRODUCE), 2);
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn answers_to_acks_zero_requests_are_skipped() {
    // Tansu answers acks=0 Produce requests; the connection must survive them, or requests
    // written behind are lost.
    let mut c = config();
    c.acks = 0;
    c.accumulator.batch_size = 200;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.hook(|_, body| match body {
        RequestBody::Produce(req) if req.acks == 0 => {
            Intercept::ServeAndAnswer(produce_answer(req, ErrorCode::NONE, None))
        }
        _ => Intercept::Pass,
    });
    for i in 0..50 {
        sim.append("t", None, format!("{i:0>50}").as_bytes());
        sim.tick(ms(1));
    }
    sim.run_for(ms(50));
    let want: Vec<String> = (0..50).map(|i| format!("{i:0>50}")).collect();
    assert_eq!(sim.values("t", 0), want);
    assert!(sim.served(ApiKey::PRODUCE) > 5);
    assert_eq!(sim.connects, 2, "no reconnect: bootstrap + leader only");
}

// ------------------------------------------------------------------ transactions

fn txn_config() -> EngineConfig {
    let mut c = config();
    c.transactional_id = Some("tx-1".into());
    c.idempotence = true;
    c
}

type TxnEvent = (TxnCall, Result<(), TxnFailureKind>);

/// The event of a transactional call that succeeded.
fn ok(call: TxnCall) -> TxnEvent {
    (call, Ok(()))
}

impl Sim {
    fn txn_events(&self) -> Vec<TxnEvent> {
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

    fn last_txn_event(&self) -> Option<TxnEvent> {
        self.txn_events().pop()
    }

    fn init(&mut self) {
        self.engine.init_transactions().unwrap();
        self.run_for(ms(50));
        assert_eq!(self.last_txn_event(), Some(ok(TxnCall::InitTransactions)));
    }

    /// Begins a transaction, appends `values` to `topic`, commits and runs for `wait`: the
    /// last transaction event.
    fn transact(&mut self, topic: &str, values: &[&str], wait: Duration) -> Option<TxnEvent> {
        self.engine.begin_transaction().unwrap();
        for v in values {
            self.append(topic, None, v.as_bytes());
        }
        self.engine.commit_transaction().unwrap();
        self.run_for(wait);
        self.last_txn_event()
    }

    /// The coordinator's (status, commits, aborts) of tx-1.
    fn txn(&self) -> (TxnStatus, u64, u64) {
        let t = self.cluster.transaction("tx-1").expect("initialised");
        (t.status, t.commits, t.aborts)
    }

    /// COMMIT (true) / ABORT (false) markers of a partition.
    fn markers(&self, topic: &str, partition: i32) -> Vec<bool> {
        let markers = self.cluster.markers(topic, partition);
        markers.iter().map(|m| m.commit).collect()
    }
}

#[test]
fn transaction_commits_after_adding_partitions_and_flushing() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("a", 2).topic("b", 1));
    sim.init();
    assert!(sim.order().contains(&ApiKey::FIND_COORDINATOR));
    sim.engine.begin_transaction().unwrap();
    for i in 0..6 {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        sim.append(topic, Some(format!("k{i}").as_bytes()), b"v");
    }
    sim.engine.commit_transaction().unwrap();
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
        let records = sim.cluster.records(t, p);
        assert!(
            records
                .iter()
                .all(|s| s.transactional && s.producer_id == 1000)
        );
        assert_eq!(sim.cluster.committed_records(t, p), records);
        if let Some(last) = records.last() {
            let markers = sim.cluster.markers(t, p);
            assert!(
                matches!(markers.as_slice(), [m] if m.commit && m.offset > last.offset),
                "{markers:?}"
            );
        }
        stored += records.len();
    }
    assert_eq!(stored, 6);
    assert_eq!(sim.txn(), (TxnStatus::CompleteCommit, 1, 0));
    assert_eq!(sim.engine.transaction_state(), Some(TxnStateKind::Ready));
}

#[test]
fn abort_fails_unsent_records_and_ends_with_abort() {
    let mut c = txn_config();
    c.accumulator.linger = secs(60); // nothing leaves before the abort
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    let (b, _, _) = sim.append("t", None, b"x");
    // The partition joins the transaction (AddPartitionsToTxn), the record stays queued.
    sim.run_for(ms(5));
    let joined = sim.cluster.transaction("tx-1").unwrap().partitions;
    assert_eq!(joined, BTreeSet::from([("t".to_string(), 0)]));
    sim.engine.abort_transaction().unwrap();
    sim.run_for(ms(50));
    assert!(matches!(
        sim.failed().as_slice(),
        [(id, DeliveryError::TransactionAborted)] if *id == b
    ));
    assert_eq!(sim.end_txns(), vec![false]);
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert!(sim.cluster.records("t", 0).is_empty());
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
    sim.cluster.inject(Fault::fail(
        ApiKey::ADD_PARTITIONS_TO_TXN,
        &[ErrorCode::CONCURRENT_TRANSACTIONS; 2],
    ));
    sim.init();
    let committed = sim.transact("t", &["x"], secs(1));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    assert_eq!(sim.served(ApiKey::ADD_PARTITIONS_TO_TXN), 3);
    assert_eq!(sim.cluster.committed_records("t", 0).len(), 1);
}

#[test]
fn not_coordinator_on_end_txn_rediscovers_the_coordinator() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.cluster
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
    sim.cluster
        .inject(Fault::fail(ApiKey::END_TXN, &[ErrorCode::PRODUCER_FENCED]).times(u32::MAX));
    sim.init();
    let fenced = sim.transact("t", &["x"], ms(200));
    assert_eq!(
        fenced,
        Some((TxnCall::CommitTransaction, Err(TxnFailureKind::Fatal)))
    );
    assert_eq!(
        sim.engine.transaction_state(),
        Some(TxnStateKind::FatalError)
    );
    assert_eq!(
        sim.engine.begin_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Fatal)
    );
    // Nothing was committed.
    assert_eq!(sim.txn(), (TxnStatus::Ongoing, 0, 0));
    assert!(sim.cluster.committed_records("t", 0).is_empty());
}

#[test]
fn failed_batch_makes_the_transaction_abortable() {
    let mut c = txn_config();
    c.retries = 0;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.cluster
        .inject(Fault::fail(ApiKey::PRODUCE, &[ErrorCode::INVALID_RECORD]));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"bad");
    sim.run_for(ms(50));
    assert_eq!(
        sim.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Abortable)
    );
    sim.engine.abort_transaction().unwrap();
    sim.run_for(ms(200));
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert_eq!(sim.engine.transaction_state(), Some(TxnStateKind::Ready));
    let committed = sim.transact("t", &["good"], ms(200));
    assert_eq!(committed, Some(ok(TxnCall::CommitTransaction)));
    let visible = sim.cluster.committed_records("t", 0);
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].value.as_deref(), Some(&b"good"[..]));
    assert_eq!(sim.txn(), (TxnStatus::CompleteCommit, 1, 1));
}

#[test]
fn send_offsets_adds_the_group_then_commits_offsets_to_its_coordinator() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    let offset = OffsetToCommit {
        topic: "in".into(),
        partition: 3,
        offset: 42,
        leader_epoch: None,
        metadata: None,
    };
    sim.engine
        .send_offsets_to_transaction(vec![offset], GroupMetadata::new("g1"))
        .unwrap();
    sim.run_for(ms(50));
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::SendOffsets)));
    let order = sim.order();
    let add = order.iter().position(|a| *a == ApiKey::ADD_OFFSETS_TO_TXN);
    let commit = order.iter().position(|a| *a == ApiKey::TXN_OFFSET_COMMIT);
    assert!(add.is_some() && add < commit);
    // Pending in the transaction, committed with it.
    let pending = sim.cluster.transaction("tx-1").unwrap().pending_offsets;
    let pending: Vec<_> = pending
        .iter()
        .map(|o| (o.group.as_str(), o.topic.as_str(), o.partition, o.offset))
        .collect();
    assert_eq!(pending, vec![("g1", "in", 3, 42)]);
    assert_eq!(sim.cluster.committed_offset("g1", "in", 3), None);
    sim.engine.commit_transaction().unwrap();
    sim.run_for(ms(50));
    assert_eq!(sim.end_txns(), vec![true]);
    assert_eq!(sim.cluster.committed_offset("g1", "in", 3), Some(42));
}

#[test]
fn transactional_calls_are_checked_against_the_state() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1));
    assert_eq!(
        sim.engine.begin_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::InvalidState)
    );
    sim.init();
    let rec = OutgoingRecord {
        partition: Some(0),
        ..record("t", b"x")
    };
    assert!(matches!(
        sim.engine.append(&rec, sim.now),
        Err(SendError::Transaction(_))
    ));
    assert_eq!(
        sim.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::InvalidState)
    );
    let mut plain = Sim::new(config(), brokers(1).topic("t", 1));
    assert_eq!(
        plain.engine.init_transactions().map_err(|f| f.kind),
        Err(TxnFailureKind::NotTransactional)
    );
}

#[test]
fn transactions_v2_adds_partitions_implicitly_and_adopts_the_end_txn_epoch() {
    let mut sim = Sim::new(txn_config(), brokers(1).topic("t", 1).transactions_v2(true));
    sim.init();
    for round in 0..2 {
        sim.engine.begin_transaction().unwrap();
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
            sim.engine
                .send_offsets_to_transaction(vec![offset], GroupMetadata::new("g"))
                .unwrap();
            sim.run_for(ms(20));
        }
        sim.engine.commit_transaction().unwrap();
        sim.run_for(ms(50));
        assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::CommitTransaction)));
    }
    // No AddPartitionsToTxn or AddOffsetsToTxn: Produce v12 and TxnOffsetCommit v5 add them.
    assert!(!sim.order().contains(&ApiKey::ADD_PARTITIONS_TO_TXN));
    assert!(!sim.order().contains(&ApiKey::ADD_OFFSETS_TO_TXN));
    assert_eq!(sim.served(ApiKey::TXN_OFFSET_COMMIT), 1);
    assert_eq!(sim.cluster.committed_offset("g", "in", 0), Some(7));
    assert_eq!(sim.produce_versions(), vec![12]);
    // EndTxn v5 returned epoch + 1: the second transaction uses it, sequences from 0.
    assert_eq!(sim.stamps("t", 0), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
    assert_eq!(sim.markers("t", 0), vec![true, true]);
    assert_eq!(sim.cluster.committed_records("t", 0).len(), 4);
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
fn sequence_error_bumps_the_epoch_and_resends(code: ErrorCode) {
    let mut c = config();
    c.idempotence = true;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.append("t", None, b"a");
    sim.run_for(ms(20));
    sim.cluster.inject(Fault::fail(ApiKey::PRODUCE, &[code]));
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
    sim.cluster.inject(Fault::fail(
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
    sim.engine.begin_transaction().unwrap();
    sim.engine.abort_transaction().unwrap();
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
    sim.cluster
        .inject(Fault::hang(ApiKey::ADD_PARTITIONS_TO_TXN));
    sim.init();
    sim.engine.begin_transaction().unwrap();
    sim.append("t", None, b"x");
    sim.run_for(ms(5));
    sim.engine.abort_transaction().unwrap();
    sim.run_for(secs(40));
    assert!(!sim.order().contains(&ApiKey::END_TXN), "{:?}", sim.order());
    assert_eq!(sim.last_txn_event(), Some(ok(TxnCall::AbortTransaction)));
    assert_eq!(sim.txn(), (TxnStatus::Empty, 0, 0));
    assert!(sim.cluster.records("t", 0).is_empty());
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
    let counters = sim.engine.counters();
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
    sim.cluster
        .inject(Fault::hang(ApiKey::PRODUCE).on_broker(2));
    let mut sent: Vec<(i32, &str)> = Vec::new();
    for (p, v) in [(1, "p1-a"), (0, "p0-a")] {
        sim.append_to("t", p, v.as_bytes());
        sent.push((p, v));
    }
    sim.run_for(ms(20));
    // Partition 0's next batch: UNKNOWN_PRODUCER_ID.
    sim.cluster.inject(
        Fault::fail(ApiKey::PRODUCE, &[ErrorCode::UNKNOWN_PRODUCER_ID]).on_partition("t", 0),
    );
    for (p, v) in [(0, "p0-b"), (1, "p1-b")] {
        sim.append_to("t", p, v.as_bytes());
        sent.push((p, v));
        sim.run_for(ms(20));
    }
    sim.run_for(secs(3));
    assert!(sim.failed().is_empty(), "{:?}", sim.failed());
    assert_eq!(sim.cluster.pending_faults(), 0);
    assert_eq!(
        sim.stamps("t", 0),
        [(0, 0), (1, 0)],
        "partition 0 bumped the epoch"
    );
    for p in 0..2 {
        let stored = sim.cluster.records("t", p);
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
        sim.engine.handle_written(conn, sim.now);
    }
    sim.run_for(ms(20));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|id| delivered.get(id) == Some(&None)),
        "{:?}",
        sim.events
    );
    assert_eq!(sim.cluster.records("t", 0).len(), 5);
}

// ------------------------------------------------------------------ delivery.timeout.ms bound

impl Sim {
    /// The broker never answers the first `silent` Produce requests (each hangs its
    /// connection) and answers the rest.
    fn silent_on_first_produces(mut self, silent: u32) -> Self {
        self.cluster
            .inject(Fault::hang(ApiKey::PRODUCE).times(silent));
        self
    }
}

#[test]
fn an_in_flight_batch_fails_exactly_at_the_delivery_timeout() {
    // The report: a 10 s delivery timeout with a 7 s request timeout failed records at 14 s
    // (the second request's timeout). The bound holds while the batch is in flight.
    let mut c = config();
    c.accumulator.delivery_timeout = secs(10);
    c.request_timeout = secs(7);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1)).silent_on_first_produces(u32::MAX);
    let (b, _, _) = sim.append("t", None, b"x");
    // The batch was created now (the append waited for metadata first).
    let created = sim.now;
    sim.run_for(ms(9_999));
    assert_eq!(sim.failure_of(b), None, "still within delivery.timeout.ms");
    assert_eq!(
        sim.served(ApiKey::PRODUCE),
        2,
        "sent, timed out at 7 s, sent again: in flight at the deadline"
    );
    sim.run_for(ms(1));
    assert_eq!(sim.now - created, secs(10));
    let err = sim
        .failure_of(b)
        .expect("failed at exactly delivery.timeout.ms");
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
    sim.run_for(secs(10));
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
    c.accumulator.delivery_timeout = secs(3);
    c.request_timeout = secs(1);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.append("t", None, b"warm-up");
    sim.run_for(ms(20));
    // The broker goes away: the engine sees its connections close, new ones are refused.
    sim.cluster.broker_down(1);
    sim.settle();
    let (b, _, _) = sim.append("t", None, b"x");
    // The batch was created now (the append waited for metadata first).
    let created = sim.now;
    sim.run_for(secs(3));
    assert_eq!(sim.now - created, secs(3));
    let err = sim.failure_of(b).expect("failed");
    assert!(
        !err.outcome_unknown(),
        "never sent: certainly not written: {err}"
    );
    assert_eq!(sim.values("t", 0), ["warm-up"]);
}

#[test]
fn an_idempotent_partition_waits_for_its_expired_batch_then_goes_on_under_a_new_epoch() {
    let mut c = config();
    c.idempotence = true;
    c.accumulator.delivery_timeout = secs(10);
    c.request_timeout = secs(7);
    // The first two Produce requests (the batch and its retry) are never answered.
    let mut sim = Sim::new(c, brokers(1).topic("t", 1)).silent_on_first_produces(2);
    let (first, _, _) = sim.append("t", None, b"lost");
    sim.run_for(secs(10));
    assert!(
        sim.failure_of(first).is_some_and(|e| e.outcome_unknown()),
        "{:?} {:?}",
        sim.events,
        sim.order()
    );
    // Sent after the expiry, while the expired batch's request is still out: held back.
    let (second, _, _) = sim.append("t", None, b"after");
    sim.run_for(secs(2));
    assert_eq!(
        sim.served(ApiKey::PRODUCE),
        2,
        "nothing more is sent to the partition while its expired batch is unresolved"
    );
    assert!(!sim.delivered().contains_key(&second));
    // The retry's request times out (lost): the gap it may leave is closed by an epoch bump,
    // and the held record goes out under the new epoch from sequence 0.
    sim.run_for(secs(10));
    assert!(sim.delivered().contains_key(&second), "{:?}", sim.events);
    assert_eq!(sim.values("t", 0), ["after"]);
    assert_eq!(sim.stamps("t", 0), vec![(1, 0)]);
    assert!(!sim.engine.has_incomplete());
}

#[test]
fn an_in_flight_expiry_makes_the_transaction_abortable() {
    let mut c = txn_config();
    c.accumulator.delivery_timeout = secs(10);
    c.request_timeout = secs(7);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1)).silent_on_first_produces(u32::MAX);
    sim.init();
    sim.engine.begin_transaction().unwrap();
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(secs(10));
    assert!(sim.failure_of(b).is_some_and(|e| e.outcome_unknown()));
    assert_eq!(
        sim.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Abortable)
    );
}

// ------------------------------------------------------------------ SASL

/// The fake does not authenticate: this hook plays a broker's SASL side in front of it —
/// ApiVersions offering the SASL APIs, the mechanisms it enables, the one secret it accepts
/// (PLAIN: the password of "alice"; OAUTHBEARER: the token), and the session lifetime it
/// grants (KIP-368, 0: none).
fn sasl_hook(
    enabled: &'static [&'static str],
    password: &'static str,
    lifetime_ms: i64,
) -> impl FnMut(&RequestHeader, &RequestBody) -> Intercept {
    move |h, body| match body {
        RequestBody::ApiVersions(_) => {
            let sasl = [
                (ApiKey::SASL_HANDSHAKE, 0, 1),
                (ApiKey::SASL_AUTHENTICATE, 0, 2),
            ];
            let api_keys = DEFAULT_API_VERSIONS.iter().chain(&sasl);
            Intercept::Answer(ResponseBody::ApiVersions(ApiVersionsResponse {
                api_keys: api_keys
                    .map(|&(k, min, max)| ApiVersion::new(k, min, max))
                    .collect(),
                ..Default::default()
            }))
        }
        RequestBody::SaslHandshake(req) => {
            let ok = enabled.contains(&req.mechanism.as_str());
            Intercept::Answer(ResponseBody::SaslHandshake(SaslHandshakeResponse {
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
            let ok = if enabled.contains(&"OAUTHBEARER") {
                req.auth_bytes.as_ref()
                    == format!("n,,\x01auth=Bearer {password}\x01\x01").as_bytes()
            } else {
                req.auth_bytes.as_ref() == format!("\0alice\0{password}").as_bytes()
            };
            Intercept::Answer(ResponseBody::SaslAuthenticate(SaslAuthenticateResponse {
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
        _ => Intercept::Pass,
    }
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

fn sasl_sim(
    config: EngineConfig,
    hook: impl FnMut(&RequestHeader, &RequestBody) -> Intercept + 'static,
) -> Sim {
    let mut sim = Sim::new(config, brokers(1).topic("t", 1));
    sim.hook(hook);
    sim
}

#[test]
fn plain_authenticates_every_connection_before_anything_else() {
    let c = sasl_config(Mechanism::Plain, "right");
    let mut sim = sasl_sim(c, sasl_hook(&["PLAIN"], "right", 0));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(50));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    let order = sim.order();
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
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn a_wrong_password_fails_send_at_once_and_reconnects_back_off() {
    let mut c = sasl_config(Mechanism::Plain, "wrong");
    c.reconnect_backoff = ms(50);
    c.reconnect_backoff_max = secs(1);
    let mut sim = sasl_sim(c, sasl_hook(&["PLAIN"], "right", 0));
    let since = sim.now;
    assert!(matches!(
        sim.engine.append(&record("t", b"x"), sim.now),
        Err(SendError::TopicPending(_))
    ));
    sim.run_for(ms(20));
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
    sim.run_for(secs(10));
    let c = sim.engine.counters();
    assert!(
        (5..=20).contains(&c.connections_created),
        "{} connections",
        c.connections_created
    );
    assert_eq!(c.authentications_failed, c.connections_created);
    assert_eq!(c.authentications_succeeded, 0);
    assert_eq!(sim.served(ApiKey::METADATA), 0, "nothing passed the hook");
}

#[test]
fn a_mechanism_the_broker_does_not_enable_is_named_with_what_it_offers() {
    let hook = sasl_hook(&["PLAIN", "SCRAM-SHA-256"], "x", 0);
    let mut sim = sasl_sim(sasl_config(Mechanism::ScramSha512, "x"), hook);
    sim.engine.add_entropy(&[7; 24]);
    let since = sim.now;
    let _ = sim.engine.append(&record("t", b"x"), sim.now);
    sim.run_for(ms(20));
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
    let hook = sasl_hook(&["PLAIN"], "right", 1_000);
    let mut sim = sasl_sim(sasl_config(Mechanism::Plain, "right"), hook);
    let mut ids = Vec::new();
    for i in 0..50 {
        let (b, _, _) = sim.append("t", None, format!("r{i}").as_bytes());
        ids.push(b);
        sim.run_for(ms(100));
    }
    sim.run_for(ms(200));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|b| delivered.contains_key(b)),
        "{:?}",
        sim.failed()
    );
    let want: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
    assert_eq!(sim.values("t", 0), want);
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
    let hook = sasl_hook(&["OAUTHBEARER"], "the-token", 0);
    let mut c = config();
    c.sasl = Some(SaslConfig::new(Mechanism::OAuthBearer, None));
    let mut sim = sasl_sim(c, hook);
    let since = sim.now;
    let _ = sim.engine.append(&record("t", b"x"), sim.now);
    sim.run_for(ms(200));
    // The handshake is done, the connection waits for a token; nothing failed.
    assert_eq!(
        sim.order().last(),
        Some(&ApiKey::SASL_HANDSHAKE),
        "{:?}",
        sim.order()
    );
    assert!(sim.engine.check_topic("t", since, sim.now).is_ok());
    assert_eq!(sim.engine.counters().authentications_failed, 0);
    sim.engine.set_oauth_token("the-token".into(), sim.now);
    let (b, _, _) = sim.append("t", None, b"y");
    sim.run_for(ms(50));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    let c = sim.engine.counters();
    assert_eq!(c.authentications_succeeded, c.connections_created);
    assert_eq!(c.authentications_failed, 0);
}
