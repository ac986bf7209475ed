//! The sans-IO engine driven against the sans-IO fake, in one thread, with simulated time and a
//! simulated network: the shape of the seeded simulation (the second half of issue 14). The
//! engine's `Io` is performed against [`Cluster`]: a connect dials a broker by its advertised
//! address, sent bytes are split into frames for `handle_frame`, answers come from
//! `poll_transmit`; the clock jumps to the next timer of either side. Every loop is bounded.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrokafka_engine::{
    BatchId, ConnId, Engine, EngineConfig, Event, Io, OutgoingRecord, SendError,
};
use ferrokafka_fake::{Cluster, ClusterConfig, ConnId as FakeConn, Fault};
use ferrokafka_metadata::BrokerAddress;
use ferrokafka_wire::frame::split_frame;
use ferrokafka_wire::{ApiKey, ErrorCode};

const WALL0: i64 = 1_700_000_000_000;

struct Sim {
    engine: Engine,
    cluster: Cluster,
    start: Instant,
    now: Instant,
    open: BTreeMap<ConnId, FakeConn>,
    events: Vec<Event>,
}

impl Sim {
    fn new(config: EngineConfig, cluster: ClusterConfig) -> Self {
        let now = Instant::now();
        let mut cluster = Cluster::new(cluster);
        for id in cluster.broker_ids() {
            cluster.set_broker_address(id, &format!("b{id}"), 9092);
        }
        let partitioner = ferrokafka_partition::by_name("").expect("default partitioner");
        Self {
            engine: Engine::new(config, partitioner, now).expect("engine"),
            cluster,
            start: now,
            now,
            open: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn wall(&self) -> i64 {
        WALL0 + (self.now - self.start).as_millis() as i64
    }

    fn perform(&mut self, io: Io) {
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

    /// Runs both sides until neither has anything to do right now (bounded).
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(io) = self.engine.poll_io(self.now) {
                progressed = true;
                self.perform(io);
            }
            let conns: Vec<(ConnId, FakeConn)> = self.open.iter().map(|(a, b)| (*a, *b)).collect();
            for (conn, fake) in conns {
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

    /// Jumps to the next timer of either side (at most `max` ahead), then settles.
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

    fn append(&mut self, topic: &str, key: &[u8], value: &[u8]) -> BatchId {
        let since = self.now;
        for _ in 0..1_000 {
            let rec = OutgoingRecord {
                topic,
                partition: None,
                key: Some(key),
                value: Some(value),
                headers: &[],
                timestamp: self.wall(),
            };
            match self.engine.append(&rec, self.now) {
                Ok(a) => return a.batch,
                Err(SendError::TopicPending(_)) => {
                    assert!(
                        self.engine
                            .check_topic(topic, since, Duration::from_secs(60), self.now)
                            .is_ok()
                    );
                    self.tick(Duration::from_millis(10));
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        panic!("the topic never became known");
    }

    fn resolved(&self) -> HashSet<BatchId> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Delivered { batch, .. } | Event::Failed { batch, .. } => Some(*batch),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn the_idempotent_engine_writes_each_record_once_in_order_through_faults() {
    let mut config = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
    config.idempotence = true;
    config.accumulator.linger = Duration::from_millis(5);
    config.accumulator.retry_backoff = Duration::from_millis(50);
    config.request_timeout = Duration::from_secs(5);
    let mut sim = Sim::new(
        config,
        ClusterConfig::builder()
            .brokers(3)
            .topic("t", 3)
            .response_delay(Duration::from_millis(1))
            .build(),
    );
    // Lost answers (appended, then the connection drops), a retriable error on one
    // partition, and a leader move half-way.
    sim.cluster
        .inject(Fault::drop_after_serving(ApiKey::PRODUCE).times(2));
    sim.cluster.inject(
        Fault::fail(
            ApiKey::PRODUCE,
            &[ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND],
        )
        .on_partition("t", 1)
        .times(2),
    );
    let mut batches = HashSet::new();
    let n = 300u32;
    for i in 0..n {
        batches.insert(sim.append(
            "t",
            format!("k{}", i % 11).as_bytes(),
            format!("{i}").as_bytes(),
        ));
        if i == n / 2 {
            assert!(sim.cluster.move_leader("t", 0, 3));
        }
        if i % 20 == 0 {
            sim.tick(Duration::from_millis(3));
        }
    }
    for _ in 0..10_000 {
        if batches.is_subset(&sim.resolved()) {
            break;
        }
        sim.tick(Duration::from_millis(100));
    }
    assert!(batches.is_subset(&sim.resolved()), "every batch resolved");
    let failed: Vec<_> = sim
        .events
        .iter()
        .filter(|e| matches!(e, Event::Failed { .. }))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(sim.cluster.pending_faults(), 0, "every fault fired");

    // Each record exactly once, and per key in send order.
    let mut per_key: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
    let mut total = 0;
    for p in 0..3 {
        for r in sim.cluster.records("t", p) {
            total += 1;
            let v: u32 = std::str::from_utf8(r.value.as_deref().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            per_key.entry(r.key.unwrap().to_vec()).or_default().push(v);
        }
    }
    assert_eq!(total, n as usize, "exactly once");
    for (key, values) in per_key {
        assert!(values.is_sorted(), "{key:?}: {values:?}");
    }
}
