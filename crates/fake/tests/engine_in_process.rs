//! The sans-IO engine driven against the sans-IO fake, in one thread, with simulated time and a
//! simulated network: the shape of the seeded simulation (the second half of issue 14), through
//! the crate's [`InProcess`] driver with no hooks; the clock jumps to the next timer of either
//! side. Every loop is bounded.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::time::{Duration, Instant};

use ferrokafka_engine::{BatchId, Engine, EngineConfig, Event, OutgoingRecord, SendError};
use ferrokafka_fake::{ClusterConfig, Drive, Fault, InProcess};
use ferrokafka_metadata::BrokerAddress;
use ferrokafka_wire::{ApiKey, ErrorCode};

struct Sim {
    net: InProcess,
    events: Vec<Event>,
}

impl Drive for Sim {
    type Error = Infallible;

    fn in_process(&mut self) -> &mut InProcess {
        &mut self.net
    }

    fn on_event(&mut self, event: Event) -> Result<(), Infallible> {
        self.events.push(event);
        Ok(())
    }
}

impl Sim {
    fn new(config: EngineConfig, cluster: ClusterConfig) -> Self {
        let now = Instant::now();
        let partitioner = ferrokafka_partition::by_name("").expect("default partitioner");
        let engine = Engine::new(config, partitioner, now).expect("engine");
        Self {
            net: InProcess::new(engine, cluster, now),
            events: Vec::new(),
        }
    }

    /// Jumps to the next timer of either side (at most `max` ahead), then settles (bounded).
    fn tick(&mut self, max: Duration) {
        self.advance(max).expect("the engine and the fake settle");
    }

    fn append(&mut self, topic: &str, key: &[u8], value: &[u8]) -> BatchId {
        let since = self.net.now;
        for _ in 0..1_000 {
            let rec = OutgoingRecord {
                topic,
                partition: None,
                key: Some(key),
                value: Some(value),
                headers: &[],
                timestamp: self.net.wall_ms(),
            };
            match self.net.engine.append(&rec, self.net.now) {
                Ok(a) => return a.batch,
                Err(SendError::TopicPending(_)) => {
                    assert!(
                        self.net
                            .engine
                            .check_topic(topic, since, Duration::from_secs(60), self.net.now)
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
    sim.net
        .cluster
        .inject(Fault::drop_after_serving(ApiKey::PRODUCE).times(2));
    sim.net.cluster.inject(
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
            assert!(sim.net.cluster.move_leader("t", 0, 3));
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
    assert_eq!(sim.net.cluster.pending_faults(), 0, "every fault fired");

    // Each record exactly once, and per key in send order.
    let mut per_key: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
    let mut total = 0;
    for p in 0..3 {
        for r in sim.net.cluster.records("t", p) {
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
