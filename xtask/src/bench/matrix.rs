//! `cargo xtask bench matrix` and `cargo xtask bench quick` (issue 15): the workload matrix,
//! every client on the same broker in the same run, alternating, and one table of medians and
//! their ratios to librdkafka.
//!
//! Cells ([`CELLS`]): keyless and keyed (10-byte keys) records of 100 B and 1 KiB values;
//! compression none, lz4, zstd; acks=all with idempotence against acks=1 without; 6 against
//! 1,000 partitions (keyed); and latency at a fixed 100,000 records/s. Every cell uses
//! linger.ms=5 and batch.size=1048576. Clients: librdkafka and ferrokafka (`bench-client`),
//! `ferrokafka-cli perf` (column "ferrokafka-cli": run under `bench-client --exec`, which
//! measures the child's CPU time and peak RSS from outside, as `bench-client` measures itself;
//! its records/s is the wrapper's wall clock from spawn to exit, its latency the final line's
//! percentiles), the pure-Rust peers krafka, kacrab and rskafka (`bench-client` built with the
//! `rust-peers` feature), and the Java producer (bench/java/FerroKafkaBench.java).
//!
//! On the mock each cell gets a fresh `mock-cluster` process with its topic; on Kafka one
//! single-node cluster serves every cell, a topic per partition count. A measurement counts
//! when every record was acknowledged and the topic's high watermarks advanced by exactly the
//! record count. A client that cannot run (not built, or failing in a cell) is reported as
//! "not available" with the reason; only failures of librdkafka, ferrokafka and ferrokafka-cli
//! make the exit code a failure.
//!
//! `quick`: the two headline cells (keyless and keyed, 100 B, idempotence on, acks=all) on the
//! mock, librdkafka vs ferrokafka vs ferrokafka-cli, 2,000,000 records per run, 5 runs (about
//! a minute of measuring on 2 cores).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::util::take_option;

use super::*;

mod cells;
mod options;
mod results;

use cells::*;
use options::*;
use results::*;

pub(super) use results::parse_client_json;

/// What runs the clients.
struct Runner {
    bins: Bins,
    cli: PathBuf,
}

/// `cargo xtask bench matrix|quick`.
pub(super) fn run(quick: bool, args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{MATRIX_USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let opts = MatrixOptions::parse(quick, args)?;
    let started = Instant::now();
    let wants = |c: &str| opts.clients.iter().any(|x| x == c);
    let mut unavailable: Vec<(String, String)> = Vec::new();
    let peers = PEERS.iter().any(|p| wants(p));
    let mut runner = build(peers, &mut unavailable)?;
    let built = capabilities(&runner.bins.client)?;
    for c in PEERS.iter().chain(["ferrokafka"].iter()) {
        if wants(c) && !built.iter().any(|b| b == c) && !unavailable.iter().any(|(u, _)| u == c) {
            unavailable.push(((*c).to_string(), "not in this build of bench-client".into()));
        }
    }
    if wants("java") {
        match JavaClient::prepare() {
            Ok(j) => runner.bins.java = Some(j),
            Err(e) => unavailable.push(("java".into(), format!("{e:#}"))),
        }
    }
    let lineup: Vec<String> = opts
        .clients
        .iter()
        .filter(|c| !unavailable.iter().any(|(u, _)| u == *c))
        .cloned()
        .collect();
    ensure!(!lineup.is_empty(), "no client to measure");
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let load_before = super::load_note(cpus);
    println!(
        "ferrokafka-bench {}: {} on {}; {} cells; {} runs per (cell, client), alternating; \
         {cpus} CPUs; {load_before}",
        if quick { "quick" } else { "matrix" },
        lineup.join(", "),
        opts.brokers
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(" and "),
        opts.cells.len(),
        opts.runs,
    );
    let mut measuring = Duration::ZERO;
    let mut results: Vec<(Broker, Cell, Vec<CellRow>)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for &broker in &opts.brokers {
        let kafka = match broker {
            Broker::Kafka => Some(start_matrix_kafka(&runner, &opts)?),
            Broker::Mock | Broker::Tansu => None,
        };
        // Clients that could not connect to this broker: not tried again on it.
        let mut broken: Vec<(String, String)> = Vec::new();
        for cell in &opts.cells {
            let t = Instant::now();
            let rows = run_cell(
                &runner,
                &opts,
                (broker, kafka.as_ref()),
                cell,
                &lineup,
                &mut broken,
                &mut notes,
                &mut failures,
            )?;
            measuring += t.elapsed();
            results.push((broker, *cell, rows));
        }
        if let Some(k) = kafka {
            notes.extend(kafka_log_note(&k, "matrix"));
        }
    }
    for (_, _, rows) in &mut results {
        for (client, _) in &unavailable {
            rows.push(CellRow::missing(
                client,
                "not available (see the notes)".into(),
            ));
        }
    }
    println!(
        "\n== {} ({:.0} s measuring, {:.0} s with the build; load before: {load_before}; after: \
         {})\n",
        if quick { "bench quick" } else { "bench matrix" },
        measuring.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        super::load_note(cpus)
    );
    print!("{}", matrix_table(&results));
    notes.sort();
    notes.dedup();
    for (client, why) in &unavailable {
        println!("note: {client}: not available: {why}");
    }
    for note in &notes {
        println!("note: {note}");
    }
    Ok(super::exit_code(&failures))
}

/// Builds bench-client (with the peers when asked for; without them if that fails) and
/// ferrokafka-cli in release.
fn build(peers: bool, unavailable: &mut Vec<(String, String)>) -> Result<Runner> {
    let mut features = vec!["ferrokafka-bench/rdkafka-zstd"];
    if peers {
        features.push("ferrokafka-bench/rust-peers");
    }
    println!(
        "building ferrokafka-bench and ferrokafka-cli (release; features {})",
        features.join(", ")
    );
    let packages = ["ferrokafka-bench", "ferrokafka-cli"];
    let exes = match build_bins(&packages, &["--features".into(), features.join(",")]) {
        Ok(exes) => exes,
        Err(e) if peers => {
            let why = format!(
                "ferrokafka-bench with its rust-peers feature did not build ({e:#}; cargo's \
                 errors are above)"
            );
            for p in PEERS {
                unavailable.push((p.to_string(), why.clone()));
            }
            println!("building again without the pure-Rust peers");
            build_bins(&packages, &["--features".into(), features[0].to_string()])?
        }
        Err(e) => return Err(e),
    };
    let cli = exes
        .iter()
        .find(|(n, _)| n == "ferrokafka-cli")
        .map(|(_, p)| p.clone())
        .context("cargo build reported no ferrokafka-cli executable")?;
    Ok(Runner {
        bins: bins_of(&exes)?,
        cli,
    })
}

/// One Kafka node for the whole matrix, with a topic per partition count of the cells.
fn start_matrix_kafka(
    runner: &Runner,
    opts: &MatrixOptions,
) -> Result<ferrokafka_tests::kafka::KafkaCluster> {
    let base = Options::parse(&[])?;
    let k = start_kafka(&base)?;
    let mut counts: Vec<u32> = opts.cells.iter().map(|c| c.partitions).collect();
    counts.sort_unstable();
    counts.dedup();
    for cell in opts
        .cells
        .iter()
        .filter(|c| c.partitions != base.partitions)
    {
        if counts.contains(&cell.partitions) {
            create_kafka_topic_named(&k.bootstrap(), &cell.topic(), cell.partitions)?;
            counts.retain(|&n| n != cell.partitions);
        }
    }
    for cell in &opts.cells {
        wait_for_watermarks_of(&runner.bins.client, &k.bootstrap(), &cell.topic())?;
    }
    Ok(k)
}

/// One cell on one broker: a warm-up (Kafka), then the clients alternating `runs` times.
#[allow(clippy::too_many_arguments)]
fn run_cell(
    runner: &Runner,
    opts: &MatrixOptions,
    (broker, kafka): (Broker, Option<&ferrokafka_tests::kafka::KafkaCluster>),
    cell: &Cell,
    lineup: &[String],
    broken: &mut Vec<(String, String)>,
    notes: &mut Vec<String>,
    failures: &mut Vec<String>,
) -> Result<Vec<CellRow>> {
    let records = opts.records(broker, cell);
    println!(
        "\n== {} on {}: {} records per run",
        cell.describe(),
        broker.name(),
        thousands(records as f64)
    );
    let mock = match broker {
        Broker::Mock => Some(MockCluster::start_with(
            &runner.bins.mock,
            3,
            cell.partitions,
            &cell.topic(),
        )?),
        Broker::Kafka | Broker::Tansu => None,
    };
    let bootstrap = match (&mock, kafka) {
        (Some(m), _) => m.bootstrap.clone(),
        (None, Some(k)) => k.bootstrap(),
        _ => bail!("no broker for {}", broker.name()),
    };
    let mut samples: Vec<(String, Vec<CellSample>, Option<String>)> = Vec::new();
    for client in lineup {
        let skip = broken
            .iter()
            .find(|(c, _)| c == client)
            .map(|_| format!("not available on {} (see the notes)", broker.name()));
        samples.push((client.clone(), Vec::new(), skip));
    }
    if broker == Broker::Kafka
        && let Some((client, _, _)) = samples.iter().find(|(_, _, skip)| skip.is_none())
    {
        // A fresh topic's produce path runs interpreted in the broker's JVM at first.
        let label = format!("{:<6} {client:<15} warm-up", broker.name());
        match measure_cell(runner, client, &bootstrap, cell, records, opts) {
            Ok(s) => println!("{label} (not counted): {}", s.describe()),
            Err(e) => println!("{label}: FAILED: {e:#}"),
        }
    }
    for run in 1..=opts.runs {
        for (client, got, skip) in &mut samples {
            if skip.is_some() {
                continue;
            }
            let label = format!("{:<6} {client:<15} run {run}/{}", broker.name(), opts.runs);
            match measure_cell(runner, client, &bootstrap, cell, records, opts) {
                Ok(s) => {
                    println!("{label}: {}", s.describe());
                    for n in &s.notes {
                        notes.push(n.clone());
                    }
                    got.push(s);
                }
                Err(e) => {
                    println!("{label}: FAILED: {e:#}");
                    let what = format!("{} on {} {label}: {e:#}", cell.id, broker.name());
                    if REQUIRED.contains(&client.as_str()) {
                        failures.push(what);
                    } else {
                        // A peer or Java that fails here is not measured again in this cell,
                        // nor in the broker's other cells when it could not connect at all or
                        // hung.
                        let why = reason(&format!("{e:#}"));
                        *skip = Some("not available (see the notes)".into());
                        notes.push(format!(
                            "{client} on {}: not available in {}: {why}",
                            broker.name(),
                            cell.id
                        ));
                        if why.contains("no connection") || why.starts_with("killed after") {
                            broken.push((client.clone(), why));
                        }
                    }
                }
            }
        }
    }
    if let Some(m) = mock {
        m.stop();
    }
    let cli_ran = samples
        .iter()
        .any(|(c, got, _)| c == "ferrokafka-cli" && !got.is_empty());
    if cell.compression != "none" && cli_ran {
        notes.push(format!(
            "{}: ferrokafka-cli compresses its own payload (A-Z letters, as \
             kafka-producer-perf-test), the other clients the bench's pseudo-random values",
            cell.id
        ));
    }
    if cell.throughput.is_some() {
        notes.push(
            "latency cells: records sent in a client's first second are not timed (start-up: \
             connections, metadata, producer id), except by ferrokafka-cli, whose percentiles \
             cover every record"
                .into(),
        );
    }
    if cell.throughput.is_some() && cli_ran {
        notes.push(
            "latency cells: ferrokafka-cli's percentiles are whole milliseconds (its final \
             line); the others' are microsecond-bucketed"
                .into(),
        );
    }
    Ok(samples
        .into_iter()
        .map(|(client, got, skip)| match skip {
            Some(why) if got.is_empty() => CellRow::missing(&client, why),
            _ if got.is_empty() => CellRow::missing(&client, "every run failed".into()),
            _ => CellRow::of(&client, &got),
        })
        .collect())
}

/// One measurement of `client` in `cell`, with the high watermark check.
fn measure_cell(
    runner: &Runner,
    client: &str,
    bootstrap: &str,
    cell: &Cell,
    records: u64,
    opts: &MatrixOptions,
) -> Result<CellSample> {
    let topic = cell.topic();
    let before = high_watermark_sum_of(&runner.bins.client, bootstrap, &topic)?;
    let sample = match client {
        "ferrokafka-cli" => measure_cli(runner, bootstrap, cell, records, opts)?,
        _ => measure_client(runner, client, bootstrap, cell, records, opts)?,
    };
    let stored = high_watermark_sum_of(&runner.bins.client, bootstrap, &topic)? - before;
    ensure!(
        stored == records as i64,
        "the client counted {records} records delivered but the topic's high watermarks \
         advanced by {stored}"
    );
    Ok(sample)
}

/// `bench-client` or the Java client: the workload's arguments, then its JSON line.
fn measure_client(
    runner: &Runner,
    client: &str,
    bootstrap: &str,
    cell: &Cell,
    records: u64,
    opts: &MatrixOptions,
) -> Result<CellSample> {
    let mut cmd = if client == "java" {
        runner
            .bins
            .java
            .as_ref()
            .context("the Java client was not prepared")?
            .command(&opts.jvm_opts)
    } else {
        let mut cmd = Command::new(&runner.bins.client);
        cmd.args(["--client", client]);
        cmd
    };
    cmd.args(["--bootstrap", bootstrap])
        .args(["--topic", &cell.topic()])
        .args(["--records", &records.to_string()])
        .args(["--key-size", &cell.key_size.to_string()])
        .args(["--value-size", &cell.value_size.to_string()])
        .args(["--acks", cell.acks])
        .args(["--linger-ms", "5", "--batch-size", "1048576"])
        .args(["--compression", cell.compression])
        .args(["--idempotence", &cell.idempotence.to_string()]);
    if let Some(rate) = cell.throughput {
        cmd.args(["--throughput", &rate.to_string()]);
    }
    let (stdout, stderr) = run_to_end(&mut cmd, opts.timeout, client)?;
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("{client} printed {stdout:?}; stderr: {}", tail(&stderr)))?;
    parse_client_json(&v, records)
}

/// `ferrokafka-cli perf` under `bench-client --exec`.
fn measure_cli(
    runner: &Runner,
    bootstrap: &str,
    cell: &Cell,
    records: u64,
    opts: &MatrixOptions,
) -> Result<CellSample> {
    let mut cmd = Command::new(&runner.bins.client);
    cmd.arg("--exec")
        .arg(&runner.cli)
        .args(["perf", "-b", bootstrap, "-t", &cell.topic()])
        .args(["--num-records", &records.to_string()])
        .args(["--record-size", &cell.value_size.to_string()])
        .args(["--key-size", &cell.key_size.to_string()])
        .args(["-X", &format!("acks={}", cell.acks)])
        .args(["-X", "linger.ms=5", "-X", "batch.size=1048576"])
        .args(["-X", &format!("compression.type={}", cell.compression)])
        .args(["-X", &format!("enable.idempotence={}", cell.idempotence)]);
    if let Some(rate) = cell.throughput {
        cmd.args(["--throughput", &rate.to_string()]);
    }
    let (stdout, _) = run_to_end(&mut cmd, opts.timeout, "bench-client --exec")?;
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("bench-client --exec printed {stdout:?}"))?;
    parse_cli_exec(&v, records, cell.throughput.is_some())
}

/// The gist of a client's failure: from its "no connection: ..." line when it has one (a JVM's
/// stderr has warnings before it), else the whole message.
pub(super) fn reason(error: &str) -> String {
    match error.rfind("no connection: ") {
        Some(at) => error[at..]
            .split(" | ")
            .next()
            .unwrap_or_default()
            .to_string(),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_matrix_covers_the_issue_workloads() {
        let ids: Vec<&str> = CELLS.iter().map(|c| c.id).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "cell ids are unique");
        let get = |id: &str| *CELLS.iter().find(|c| c.id == id).unwrap();
        assert_eq!(get("keyless").key_size, 0);
        assert_eq!(get("keyed").key_size, 10);
        assert_eq!(get("keyed-1k").value_size, 1024);
        let a1 = get("keyless-acks1");
        assert_eq!((a1.acks, a1.idempotence), ("1", false));
        assert_eq!(get("keyed-zstd").compression, "zstd");
        assert_eq!(get("keyed-p1000").partitions, 1000);
        assert_eq!(get("keyed-p1000").topic(), "ferrokafka-bench-p1000");
        assert_eq!(get("keyed").topic(), TOPIC);
        assert_eq!(get("latency-keyless").throughput, Some(100_000));
        assert!(CELLS.iter().all(|c| c.acks == "all" || !c.idempotence));
        assert_eq!(get("keyed-lz4").describe(), "keyed 100 B lz4 acks=all idem");
        assert_eq!(
            get("latency-keyed").describe(),
            "keyed 100 B acks=all idem @100,000/s"
        );
        assert_eq!(get("keyless-1k").describe(), "keyless 1 KiB acks=all idem");
        // Record counts keep the bytes per run: 1 KiB cells send about a tenth as many.
        assert_eq!(get("keyed").records(1_000_000, 5), 1_000_000);
        assert_eq!(get("keyed-1k").records(1_000_000, 5), 106_382);
        assert_eq!(get("keyless").records(1_000_000, 5), 1_000_000);
        assert_eq!(get("latency-keyed").records(1_000_000, 5), 5);
    }

    #[test]
    fn quick_and_matrix_options() {
        let q = MatrixOptions::parse(true, &[]).unwrap();
        assert_eq!(q.brokers, vec![Broker::Mock]);
        assert_eq!(
            q.clients,
            vec!["librdkafka", "ferrokafka", "ferrokafka-cli"]
        );
        assert_eq!(
            q.cells.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec!["keyless", "keyed"]
        );
        assert_eq!((q.records, q.runs), (2_000_000, 5));
        assert_eq!(MatrixOptions::parse(false, &[]).unwrap().runs, 3);
        let m = MatrixOptions::parse(false, &[]).unwrap();
        assert_eq!(m.brokers, vec![Broker::Mock, Broker::Kafka]);
        assert_eq!(m.clients.len(), MATRIX_CLIENTS.len());
        assert_eq!(m.cells.len(), CELLS.len());
        let m = MatrixOptions::parse(
            false,
            &args("--cells keyed-p1000,keyless --clients librdkafka,rskafka --runs 2"),
        )
        .unwrap();
        assert_eq!(m.cells[0].partitions, 1000);
        assert_eq!(m.clients, vec!["librdkafka", "rskafka"]);
        assert_eq!(m.runs, 2);
        assert!(MatrixOptions::parse(false, &args("--cells nope")).is_err());
        assert!(MatrixOptions::parse(false, &args("--clients kcat")).is_err());
        assert!(MatrixOptions::parse(false, &args("--brokers tansu")).is_err());
        assert!(MatrixOptions::parse(false, &args("--runs 0")).is_err());
        assert!(MatrixOptions::parse(false, &args("stray")).is_err());
    }

    #[test]
    fn perf_final_lines_are_parsed_and_window_lines_skipped() {
        let out = "\
500000 records sent, 99990.0 records/sec (9.54 MB/sec), 3.1 ms avg latency, 40.0 ms max latency.
1000000 records sent, 123456.789000 records/sec (11.77 MB/sec), 2.45 ms avg latency, 51.00 ms max latency, 2 ms 50th, 7 ms 95th, 12 ms 99th, 30 ms 99.9th.
";
        let l = parse_perf_line(out).unwrap();
        assert_eq!(l.sent, 1_000_000);
        assert!((l.records_per_s - 123_456.789).abs() < 1e-6);
        assert_eq!((l.p50_ms, l.p99_ms), (2.0, 12.0));
        assert!(parse_perf_line("500 records sent, 1.0 records/sec (0.00 MB/sec), 1 ms avg latency, 2 ms max latency.\n").is_err());
    }

    #[test]
    fn exec_and_client_json_become_samples_only_when_every_record_arrived() {
        let line = "10 records sent, 5.0 records/sec (0.00 MB/sec), 1.00 ms avg latency, 3.00 ms max latency, 1 ms 50th, 2 ms 95th, 3 ms 99th, 3 ms 99.9th.";
        let v = serde_json::json!({
            "exit_code": 0, "seconds": 2.0, "cpu_user_s": 0.5, "cpu_sys_s": 0.25,
            "peak_rss_kib": 2048, "stdout": line, "stderr": ""
        });
        let s = parse_cli_exec(&v, 10, true).unwrap();
        assert_eq!((s.cpu_s, s.peak_rss_kib), (0.75, 2048));
        assert_eq!((s.p50_ms, s.p99_ms), (Some(1.0), Some(3.0)));
        assert_eq!(parse_cli_exec(&v, 10, false).unwrap().p99_ms, None);
        assert!(parse_cli_exec(&v, 11, false).is_err());
        let mut failed = v.clone();
        failed["exit_code"] = 1.into();
        assert!(parse_cli_exec(&failed, 10, false).is_err());

        let c = serde_json::json!({
            "delivered": 10, "failures": 0, "seconds": 1.0, "cpu_user_s": 0.1,
            "cpu_sys_s": 0.1, "peak_rss_kib": 1024, "latency_p50_ms": 0.5,
            "latency_p99_ms": 4.0, "notes": ["rskafka: no idempotence (not supported)"]
        });
        let s = parse_client_json(&c, 10).unwrap();
        assert_eq!(s.p99_ms, Some(4.0));
        assert_eq!(s.notes.len(), 1);
        assert!((s.cpu_us_per_record() - 20_000.0).abs() < 1e-9);
        assert!(parse_client_json(&c, 11).is_err());
    }

    #[test]
    fn a_failure_is_reduced_to_its_no_connection_line() {
        let java = "java exited with exit status: 1: [..] WARN throttled | [..] WARN again | \
                    no connection: java: no metadata for t within 20 s";
        assert_eq!(
            reason(java),
            "no connection: java: no metadata for t within 20 s"
        );
        let kacrab = "kacrab exited with exit status: 1: bench-client: kacrab failed: no \
                      connection: kacrab: broker does not support ApiVersions v3";
        assert_eq!(
            reason(kacrab),
            "no connection: kacrab: broker does not support ApiVersions v3"
        );
        assert_eq!(reason("killed after 300 s"), "killed after 300 s");
    }

    #[test]
    fn the_table_gives_ratios_to_librdkafka_and_says_why_a_client_is_missing() {
        let s = |seconds: f64, cpu_s: f64, kib: u64, p99: Option<f64>| CellSample {
            records: 1_000_000,
            seconds,
            cpu_s,
            peak_rss_kib: kib,
            p50_ms: p99.map(|p| p / 2.0),
            p99_ms: p99,
            own_rate: None,
            notes: Vec::new(),
        };
        let rows = vec![
            CellRow::of("librdkafka", &[s(1.0, 1.0, 40 * 1024, Some(8.0))]),
            CellRow::of(
                "ferrokafka",
                &[
                    s(0.5, 0.5, 20 * 1024, Some(4.0)),
                    s(0.5, 0.5, 20 * 1024, Some(4.0)),
                ],
            ),
            CellRow::missing("krafka", "not available: it broke".into()),
        ];
        let t = matrix_table(&[(Broker::Mock, CELLS[0], rows)]);
        assert!(t.contains("keyless 100 B acks=all idem"), "{t}");
        assert!(t.contains("1,000,000"), "{t}");
        assert!(t.contains("2,000,000"), "{t}");
        let ferro = t.lines().find(|l| l.contains("ferrokafka ")).unwrap();
        assert!(ferro.contains("2.00"), "{ferro}");
        assert!(ferro.contains("0.50"), "{ferro}");
        assert!(
            t.contains("krafka") && t.contains("not available: it broke"),
            "{t}"
        );
    }
}
