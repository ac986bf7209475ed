//! The per-record send path without sockets: `Engine::append` (partition, accumulate, build
//! the record into its batch) for 100-byte values, keyless and with 10-byte keys, idempotence
//! on, acks=all, linger.ms=5, batch.size 1 MiB, six partitions; and keyed to 1,000 partitions
//! in rounds of 10,000 records (batches of about ten records, as a thousand partitions
//! lingering 5 ms get at a few million records a second: each record goes to a partition whose
//! state the last thousand appends have mostly pushed out of the nearest caches).
//!
//! The engine is connected to the fake cluster through the in-process driver (sans-IO, no
//! sockets) so that it knows the topic and its leaders; only the `append` calls are timed.
//! Between rounds of appends the driver runs the engine until it is quiet (batches drained,
//! sent, acknowledged, their memory freed), outside the timed part.
//!
//! Run: `cargo bench -p ferrokafka-engine --bench send_path`.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrokafka_engine::{Engine, EngineConfig, Event, OutgoingRecord, SendError};
use ferrokafka_fake::{ClusterConfig, Drive, InProcess};
use ferrokafka_metadata::BrokerAddress;

const TOPIC: &str = "perf";
const VALUE_LEN: usize = 100;
const KEY_LEN: usize = 10;
/// Records appended between two runs of the driver (about 11 MiB of batches).
/// Records appended between two runs of the engine (which drains and answers every batch).
const ROUND: u64 = 100_000;
/// The same with 1,000 partitions.
const ROUND_1000: u64 = 10_000;

struct Bench {
    net: InProcess,
}

impl Drive for Bench {
    type Error = Infallible;
    fn in_process(&mut self) -> &mut InProcess {
        &mut self.net
    }
    fn on_event(&mut self, _event: Event) -> Result<(), Infallible> {
        Ok(())
    }
}

fn connected_engine(partitions: i32) -> Bench {
    let start = Instant::now();
    let mut config = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
    config.acks = -1;
    config.idempotence = true;
    config.accumulator.batch_size = 1 << 20;
    config.accumulator.linger = Duration::from_millis(5);
    config.accumulator.buffer_memory = 64 << 20;
    let partitioner = ferrokafka_partition::by_name("").expect("the default partitioner");
    let engine = Engine::new(config, partitioner, start).expect("engine");
    let cluster = ClusterConfig::builder()
        .brokers(3)
        .topic(TOPIC, partitions)
        .build();
    let mut bench = Bench {
        net: InProcess::new(engine, cluster, start),
    };
    // Ask for the topic until its metadata and the producer id have arrived.
    let probe = [0u8; 1];
    for _ in 0..1_000 {
        let now = bench.net.now;
        let rec = record(None, &probe, 0);
        match bench.net.engine.append(&rec, now) {
            Ok(_) => {
                bench.advance(Duration::from_millis(10)).expect("quiet");
                return bench;
            }
            Err(SendError::TopicPending(_)) => {
                bench.advance(Duration::from_millis(10)).expect("quiet");
            }
            Err(e) => panic!("append failed: {e}"),
        }
    }
    panic!("the topic never became known");
}

fn record<'a>(key: Option<&'a [u8]>, value: &'a [u8], timestamp: i64) -> OutgoingRecord<'a> {
    OutgoingRecord {
        topic: TOPIC,
        partition: None,
        key,
        value: Some(value),
        headers: &[],
        timestamp,
    }
}

/// Appends `n` records, timing only the appends; drains between rounds.
fn append_timed(bench: &mut Bench, n: u64, keyed: bool, round_size: u64) -> Duration {
    let value = [b'v'; VALUE_LEN];
    let mut key = [b'k'; KEY_LEN];
    let mut timed = Duration::ZERO;
    let mut left = n;
    while left > 0 {
        let round = left.min(round_size);
        let now = bench.net.now;
        let wall = bench.net.wall_ms();
        let started = Instant::now();
        for i in 0..round {
            key[..8].copy_from_slice(&i.to_le_bytes());
            let k = keyed.then_some(&key[..]);
            let appended = bench.net.engine.append(&record(k, &value, wall), now);
            black_box(appended.expect("room for the round"));
        }
        timed += started.elapsed();
        left -= round;
        bench
            .advance(Duration::from_millis(10))
            .expect("the engine settles");
    }
    timed
}

fn send_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_append");
    g.throughput(Throughput::Elements(1));
    for (label, keyed, partitions, round) in [
        ("keyless", false, 6, ROUND),
        ("keyed", true, 6, ROUND),
        ("keyed-1000p", true, 1000, ROUND_1000),
    ] {
        let mut bench = connected_engine(partitions);
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_custom(|iters| append_timed(&mut bench, iters, keyed, round));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1));
    targets = send_path
}
criterion_main!(benches);
