//! `bench-client`: one producer measurement in a process of its own; prints one JSON line.
//! See `ferrokafka_bench::USAGE`, and `cargo xtask bench`, which runs it.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use ferrokafka_bench::{
    Client, Cpu, EXIT_NOT_BUILT, FERROKAFKA_BUILT, Params, Report, USAGE, Workload, peak_rss_kib,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args == ["--capabilities"] {
        // For the orchestrator: which clients this build can run.
        let clients: &[&str] = if FERROKAFKA_BUILT {
            &["librdkafka", "ferrokafka"]
        } else {
            &["librdkafka"]
        };
        println!("{}", serde_json::json!({ "clients": clients }));
        return ExitCode::SUCCESS;
    }
    if args.first().is_some_and(|a| a == "--watermarks") {
        return watermarks(&args[1..]);
    }
    let params = match Params::parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench-client: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if params.client == Client::Ferrokafka && !FERROKAFKA_BUILT {
        eprintln!(
            "bench-client: this build has no ferrokafka client; rebuild ferrokafka-bench with \
             `--features ferrokafka-client`"
        );
        return ExitCode::from(EXIT_NOT_BUILT);
    }
    match measure(&params) {
        Ok(report) => {
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-client: {} failed: {e:#}", params.client.name());
            ExitCode::FAILURE
        }
    }
}

/// `--watermarks BOOTSTRAP TOPIC`: prints `{"high_watermark_sum": N}`.
fn watermarks(args: &[String]) -> ExitCode {
    let [bootstrap, topic] = args else {
        eprintln!("bench-client: usage: bench-client --watermarks BOOTSTRAP TOPIC");
        return ExitCode::FAILURE;
    };
    match ferrokafka_bench::rdk::high_watermark_sum(bootstrap, topic) {
        Ok(sum) => {
            println!("{}", serde_json::json!({ "high_watermark_sum": sum }));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-client: watermarks of {topic}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the client between two readings of the clock and of this process's CPU time; the
/// producer's creation, connection set-up and final flush are all inside.
fn measure(p: &Params) -> Result<Report> {
    let workload = Workload::new(p.key_size, p.value_size);
    let cpu_before = Cpu::now()?;
    let started = Instant::now();
    let outcome = match p.client {
        Client::Librdkafka => ferrokafka_bench::rdk::run(p, &workload)?,
        Client::Ferrokafka => ferrokafka(p, &workload)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu = Cpu::now()?.since(cpu_before);
    Ok(Report {
        client: p.client,
        records: p.records,
        outcome,
        seconds,
        cpu,
        peak_rss_kib: peak_rss_kib()?,
    })
}

#[cfg(feature = "ferrokafka-client")]
fn ferrokafka(p: &Params, w: &Workload) -> Result<ferrokafka_bench::Outcome> {
    ferrokafka_bench::ferro::run(p, w)
}

#[cfg(not(feature = "ferrokafka-client"))]
fn ferrokafka(_: &Params, _: &Workload) -> Result<ferrokafka_bench::Outcome> {
    anyhow::bail!("built without the ferrokafka-client feature")
}
