//! Records/s and MB/s per second of *CPU time* for build + close and decode, per codec.
//!
//! Criterion (`benches/batch.rs`) measures wall-clock time, which on a loaded shared machine
//! mostly measures the run queue. This example reads the thread's on-CPU nanoseconds from
//! `/proc/thread-self/schedstat` (Linux) around each run, so the figures are per core-second of
//! actual execution. Run: `cargo run --release -p ferrokafka-records --example throughput`.

#![allow(clippy::cast_precision_loss)] // throughput figures

use std::time::Duration;

use ferrokafka_records::{
    BatchBuilder, Compression, CompressionType, DecodeOptions, ProducerStamp, batches,
};

const KEY_LEN: usize = 10;
const VALUE_LEN: usize = 100;

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

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

fn records_for(batch_size: usize) -> usize {
    let mut b = BatchBuilder::new(Compression::NONE, batch_size);
    let (key, value) = ([7u8; KEY_LEN], [1u8; VALUE_LEN]);
    let mut n = 0;
    while b.has_room_for(batch_size, 0, Some(&key), Some(&value), &[]) {
        b.append(0, Some(&key), Some(&value), &[]).unwrap();
        n += 1;
    }
    n
}

fn build(c: Compression, vals: &[[u8; VALUE_LEN]], cap: usize) -> bytes::Bytes {
    let mut b = BatchBuilder::new(c, cap);
    let key = *b"key-000000";
    for (i, v) in vals.iter().enumerate() {
        b.append(1_700_000_000_000 + i as i64, Some(&key), Some(v), &[])
            .unwrap();
    }
    b.close(ProducerStamp::idempotent(1, 0, 0))
        .unwrap()
        .into_bytes()
}

/// Runs `f` repeatedly for about `budget` of CPU time; returns CPU ns per call.
fn measure(budget: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let start = cpu_ns().expect("/proc/thread-self/schedstat");
    let mut calls = 0u64;
    loop {
        for _ in 0..16 {
            f();
        }
        calls += 16;
        let spent = cpu_ns().unwrap() - start;
        if spent >= budget.as_nanos() as u64 {
            return spent as f64 / calls as f64;
        }
    }
}

fn main() {
    let budget = Duration::from_millis(
        std::env::args()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(1500),
    );
    println!(
        "| batch | codec | op | records/batch | records/s (CPU) | MB/s payload (CPU) | batch bytes |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, size) in [("16 KiB", 16usize << 10), ("1 MiB", 1 << 20)] {
        let n = records_for(size);
        let vals = values(n);
        let payload = (n * (KEY_LEN + VALUE_LEN)) as f64;
        for kind in CompressionType::ALL {
            let c = Compression::of(kind);
            let batch = build(c, &vals, size);
            let ns = measure(budget, || {
                std::hint::black_box(build(c, &vals, size));
            });
            let rps = n as f64 / ns * 1e9;
            println!(
                "| {label} | {kind} | build+close | {n} | {:.2} M | {:.0} | {} |",
                rps / 1e6,
                payload / ns * 1e3,
                batch.len()
            );
            let ns = measure(budget, || {
                let mut total = 0usize;
                for b in batches(&batch, DecodeOptions::default()) {
                    for r in b.unwrap().records() {
                        total += r.unwrap().value.map_or(0, <[u8]>::len);
                    }
                }
                assert_eq!(total, n * VALUE_LEN);
            });
            let rps = n as f64 / ns * 1e9;
            println!(
                "| {label} | {kind} | decode | {n} | {:.2} M | {:.0} | {} |",
                rps / 1e6,
                payload / ns * 1e3,
                batch.len()
            );
        }
    }
}
