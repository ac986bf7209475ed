//! `bench-client`: one producer measurement in a process of its own; prints one JSON line.
//! See `ferrokafka_bench::USAGE`, and `cargo xtask bench`, which runs it.

use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ferrokafka_bench::{
    Client, Cpu, EXIT_NOT_BUILT, Params, Report, USAGE, Workload, peak_rss_kib, peak_rss_kib_of,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args == ["--capabilities"] {
        // For the orchestrator: which clients this build can run.
        let clients: Vec<&str> = Client::ALL
            .into_iter()
            .filter(|c| c.built())
            .map(Client::name)
            .collect();
        println!("{}", serde_json::json!({ "clients": clients }));
        return ExitCode::SUCCESS;
    }
    if args.first().is_some_and(|a| a == "--exec") {
        return match exec(&args[1..]) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bench-client --exec: {e:#}");
                ExitCode::FAILURE
            }
        };
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
    if !params.client.built() {
        eprintln!(
            "bench-client: this build has no {} client; rebuild ferrokafka-bench with \
             `--features {}`",
            params.client.name(),
            if params.client == Client::Ferrokafka {
                "ferrokafka-client"
            } else {
                "rust-peers"
            }
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
        Client::Krafka | Client::Kacrab | Client::Rskafka => peers(p, &workload)?,
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

#[cfg(feature = "rust-peers")]
fn peers(p: &Params, w: &Workload) -> Result<ferrokafka_bench::Outcome> {
    ferrokafka_bench::peers::run(p, w)
}

#[cfg(not(feature = "rust-peers"))]
fn peers(_: &Params, _: &Workload) -> Result<ferrokafka_bench::Outcome> {
    anyhow::bail!("built without the rust-peers feature")
}

/// How often `--exec` samples its child's peak RSS.
const RSS_SAMPLE: Duration = Duration::from_millis(5);

/// `--exec PROGRAM ARGS...`: runs the program, measures it from outside (see the usage), and
/// returns the JSON line.
fn exec(args: &[String]) -> Result<String> {
    let (program, rest) = args.split_first().context("--exec needs a program")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {program}"))?;
    let pid = child.id();
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    // VmHWM only grows; the last sample before the child exits is its peak, give or take what
    // it allocated in its last few milliseconds.
    let mut peak = 0;
    let status = loop {
        if let Ok(kib) = peak_rss_kib_of(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(RSS_SAMPLE);
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu = Cpu::children()?;
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(serde_json::json!({
        "exit_code": status.code(),
        "seconds": seconds,
        "cpu_user_s": cpu.user_s,
        "cpu_sys_s": cpu.sys_s,
        "peak_rss_kib": peak,
        "stdout": stdout,
        "stderr": stderr,
    })
    .to_string())
}
