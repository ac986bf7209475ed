//! Cost of one partitioning decision: keyed (murmur2, as the Java client and librdkafka's
//! `murmur2_random`), keyless uniform sticky (with and without adaptive load statistics), and
//! librdkafka's other hashes for comparison.
//!
//! Run with `cargo bench -p ferrokafka-partition`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferrokafka_partition::{
    Appended, BuiltInPartitioner, LibrdkafkaKind, LibrdkafkaPartitioner, PartitionLoad,
    Partitioner, Partitions, Record, SplitMix64, hash, select_partition,
};

const TOPIC: &str = "bench-topic";
const PARTITIONS: u32 = 64;
const RECORD_BYTES: usize = 100;

/// 1024 distinct 10-byte keys, cycled through so the branch predictor sees varied lengths' worth
/// of data but the cache stays warm, as in a producer with a modest key space.
fn keys() -> Vec<[u8; 10]> {
    let mut rng = SplitMix64::new(42);
    (0..1024)
        .map(|_| {
            let mut k = [0u8; 10];
            for b in &mut k {
                *b = (rng.next_u64() >> 56) as u8;
            }
            k
        })
        .collect()
}

fn keyed(c: &mut Criterion) {
    let keys = keys();
    let parts = Partitions::all_available(PARTITIONS).unwrap();
    let mut group = c.benchmark_group("keyed");
    group.throughput(Throughput::Elements(1));

    group.bench_function("murmur2_hash_10B", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(hash::murmur2(black_box(&keys[i])))
        });
    });

    let mut java = BuiltInPartitioner::new(16_384, SplitMix64::new(1));
    group.bench_function("java_murmur2_select_10B", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) & 1023;
            let record = Record::new(TOPIC, Some(&keys[i])).with_value_len(RECORD_BYTES);
            black_box(select_partition(&mut java, black_box(&record), &parts).unwrap())
        });
    });

    for kind in [
        LibrdkafkaKind::ConsistentRandom,
        LibrdkafkaKind::Fnv1aRandom,
    ] {
        let mut p = LibrdkafkaPartitioner::new(kind, SplitMix64::new(1));
        group.bench_function(format!("librdkafka_{}_select_10B", kind.name()), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & 1023;
                let record = Record::new(TOPIC, Some(&keys[i]));
                black_box(select_partition(&mut p, black_box(&record), &parts).unwrap())
            });
        });
    }
    group.finish();
}

/// One keyless record: choose (sticky), then report the append, as the accumulator does.
fn keyless_step(p: &mut BuiltInPartitioner, parts: &Partitions<'_>, fill: &mut usize) -> i32 {
    let record = Record::new(TOPIC, None).with_value_len(RECORD_BYTES);
    let partition = select_partition(p, &record, parts).unwrap();
    *fill += RECORD_BYTES;
    let full = *fill >= 16_384;
    if full {
        *fill = 0;
    }
    p.on_append(&record, &Appended::new(partition, RECORD_BYTES, full));
    partition
}

fn keyless(c: &mut Criterion) {
    let parts = Partitions::all_available(PARTITIONS).unwrap();
    let mut group = c.benchmark_group("keyless");
    group.throughput(Throughput::Elements(1));

    let mut uniform = BuiltInPartitioner::new(16_384, SplitMix64::new(1));
    group.bench_function("java_sticky_select_and_append", |b| {
        let mut fill = 0usize;
        b.iter(|| black_box(keyless_step(&mut uniform, &parts, &mut fill)));
    });

    let mut adaptive = BuiltInPartitioner::new(16_384, SplitMix64::new(1));
    let load: Vec<PartitionLoad> = (0..PARTITIONS as i32)
        .map(|p| PartitionLoad::new(p, (p % 5) as u32, 0))
        .collect();
    adaptive.update_load(TOPIC, PARTITIONS, &load);
    group.bench_function("java_sticky_adaptive_select_and_append", |b| {
        let mut fill = 0usize;
        b.iter(|| black_box(keyless_step(&mut adaptive, &parts, &mut fill)));
    });

    group.bench_function("java_update_load_64_partitions", |b| {
        b.iter(|| adaptive.update_load(TOPIC, PARTITIONS, black_box(&load)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = keyed, keyless
}
criterion_main!(benches);
