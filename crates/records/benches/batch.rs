//! Build + close and decode throughput for batches of 100-byte values with 10-byte keys, per
//! codec, at 16 KiB (the default `batch.size`) and 1 MiB.
//!
//! Run: `cargo bench -p ferrokafka-records --bench batch`. Criterion reports both records/s
//! (elements) and MB/s of uncompressed record payload (bytes); run it twice with
//! `-- --plotting-backend disabled` if you only need the numbers.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrokafka_records::{Compression, CompressionType, DecodeOptions, batches};

mod workload;
use workload::{KEY_LEN, VALUE_LEN, build, records_for, values};

fn bench(c: &mut Criterion) {
    for (label, batch_size) in [("16KiB", 16 << 10), ("1MiB", 1 << 20)] {
        let n = records_for(batch_size);
        let vals = values(n);
        let payload = (n * (KEY_LEN + VALUE_LEN)) as u64;

        let mut g = c.benchmark_group(format!("build_close/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        for kind in CompressionType::ALL {
            g.bench_function(BenchmarkId::from_parameter(kind), |bench| {
                bench.iter(|| build(Compression::of(kind), &vals, batch_size));
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("build_close_bytes/{label}"));
        g.throughput(Throughput::Bytes(payload));
        for kind in CompressionType::ALL {
            g.bench_function(BenchmarkId::from_parameter(kind), |bench| {
                bench.iter(|| build(Compression::of(kind), &vals, batch_size));
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("decode/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        for kind in CompressionType::ALL {
            let batch = build(Compression::of(kind), &vals, batch_size);
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
