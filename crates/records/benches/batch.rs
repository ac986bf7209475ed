//! Build + close and decode throughput for batches of 100-byte values with 10-byte keys, per
//! codec, at 16 KiB (the default `batch.size`) and 1 MiB.
//!
//! Run: `cargo bench -p ferrokafka-records --bench batch`. Criterion reports both records/s
//! (elements) and MB/s of uncompressed record payload (bytes); run it twice with
//! `-- --plotting-backend disabled` if you only need the numbers.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrokafka_records::{
    BatchBuilder, Compression, CompressionType, DecodeOptions, ProducerStamp, batches,
};

const KEY_LEN: usize = 10;
const VALUE_LEN: usize = 100;

/// Values that compress somewhat, like real payloads: a repeating text with a counter mixed in.
fn values(n: usize) -> Vec<[u8; VALUE_LEN]> {
    let text = b"ferrokafka record payload: the quick brown fox jumps over the lazy dog ".repeat(2);
    (0..n)
        .map(|i| {
            let mut v = [0u8; VALUE_LEN];
            v.copy_from_slice(&text[..VALUE_LEN]);
            v[..8].copy_from_slice(&(i as u64).to_le_bytes());
            v
        })
        .collect()
}

/// How many records fill a batch of `batch_size` bytes uncompressed.
fn records_for(batch_size: usize) -> usize {
    let mut b = BatchBuilder::new(Compression::NONE, batch_size);
    let key = [7u8; KEY_LEN];
    let value = [1u8; VALUE_LEN];
    let mut n = 0;
    while b.has_room_for(
        batch_size,
        1_700_000_000_000 + n,
        Some(&key),
        Some(&value),
        &[],
    ) {
        b.append(1_700_000_000_000 + n, Some(&key), Some(&value), &[])
            .unwrap();
        n += 1;
    }
    n as usize
}

fn build(
    compression: Compression,
    n: usize,
    values: &[[u8; VALUE_LEN]],
    cap: usize,
) -> bytes::Bytes {
    let mut b = BatchBuilder::new(compression, cap);
    let key = *b"key-000000";
    for (i, v) in values.iter().take(n).enumerate() {
        b.append(1_700_000_000_000 + i as i64, Some(&key), Some(v), &[])
            .unwrap();
    }
    b.close(ProducerStamp::idempotent(1, 0, 0))
        .unwrap()
        .into_bytes()
}

fn bench(c: &mut Criterion) {
    for (label, batch_size) in [("16KiB", 16 << 10), ("1MiB", 1 << 20)] {
        let n = records_for(batch_size);
        let vals = values(n);
        let payload = (n * (KEY_LEN + VALUE_LEN)) as u64;

        let mut g = c.benchmark_group(format!("build_close/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        for kind in CompressionType::ALL {
            g.bench_function(BenchmarkId::from_parameter(kind), |bench| {
                bench.iter(|| build(Compression::of(kind), n, &vals, batch_size));
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("build_close_bytes/{label}"));
        g.throughput(Throughput::Bytes(payload));
        for kind in CompressionType::ALL {
            g.bench_function(BenchmarkId::from_parameter(kind), |bench| {
                bench.iter(|| build(Compression::of(kind), n, &vals, batch_size));
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("decode/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        for kind in CompressionType::ALL {
            let batch = build(Compression::of(kind), n, &vals, batch_size);
            g.bench_function(BenchmarkId::from_parameter(kind), |bench| {
                bench.iter(|| {
                    let mut total = 0usize;
                    for b in batches(&batch, DecodeOptions::default()) {
                        for r in b.unwrap().records() {
                            total += r.unwrap().value.map_or(0, <[u8]>::len);
                        }
                    }
                    assert_eq!(total, n * VALUE_LEN);
                    total
                });
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
