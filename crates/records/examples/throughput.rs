//! Records/s and MB/s per second of *CPU time* for build + close and decode, per codec.
//!
//! Criterion (`benches/batch.rs`) measures wall-clock time, which on a loaded shared machine
//! mostly measures the run queue. This example reads the thread's on-CPU nanoseconds from
//! `/proc/thread-self/schedstat` (Linux) around each run, so the figures are per core-second of
//! actual execution. Run: `cargo run --release -p ferrokafka-records --example throughput`.

#![allow(clippy::cast_precision_loss)] // throughput figures

use std::time::Duration;

#[path = "../benches/workload/mod.rs"]
mod workload;
use workload::{KEY_LEN, VALUE_LEN, build, records_for, values};

use ferrokafka_records::{Compression, CompressionType, DecodeOptions, batches};

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
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
