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

/// One workload of the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cell {
    /// What `--cells` names it.
    pub(super) id: &'static str,
    pub(super) key_size: usize,
    pub(super) value_size: usize,
    pub(super) compression: &'static str,
    pub(super) acks: &'static str,
    pub(super) idempotence: bool,
    pub(super) partitions: u32,
    /// Latency cells: records/s to send at.
    pub(super) throughput: Option<u64>,
}

const fn cell(id: &'static str, key_size: usize, value_size: usize) -> Cell {
    Cell {
        id,
        key_size,
        value_size,
        compression: "none",
        acks: "all",
        idempotence: true,
        partitions: 6,
        throughput: None,
    }
}

const fn compressed(mut c: Cell, compression: &'static str) -> Cell {
    c.compression = compression;
    c
}

const fn acks1(mut c: Cell) -> Cell {
    c.acks = "1";
    c.idempotence = false;
    c
}

const fn partitions(mut c: Cell, n: u32) -> Cell {
    c.partitions = n;
    c
}

const fn at_rate(mut c: Cell, rate: u64) -> Cell {
    c.throughput = Some(rate);
    c
}

/// The rate of the latency cells.
pub(super) const LATENCY_RATE: u64 = 100_000;

/// The matrix, in table order.
pub(super) const CELLS: [Cell; 13] = [
    cell("keyless", 0, 100),
    cell("keyed", 10, 100),
    cell("keyless-1k", 0, 1024),
    cell("keyed-1k", 10, 1024),
    acks1(cell("keyless-acks1", 0, 100)),
    acks1(cell("keyed-acks1", 10, 100)),
    compressed(cell("keyless-lz4", 0, 100), "lz4"),
    compressed(cell("keyed-lz4", 10, 100), "lz4"),
    compressed(cell("keyless-zstd", 0, 100), "zstd"),
    compressed(cell("keyed-zstd", 10, 100), "zstd"),
    partitions(cell("keyed-p1000", 10, 100), 1000),
    at_rate(cell("latency-keyless", 0, 100), LATENCY_RATE),
    at_rate(cell("latency-keyed", 10, 100), LATENCY_RATE),
];

impl Cell {
    /// A one-line description for the table.
    pub(super) fn describe(&self) -> String {
        let mut s = format!(
            "{} {}",
            if self.key_size > 0 {
                "keyed"
            } else {
                "keyless"
            },
            if self.value_size >= 1024 {
                format!("{} KiB", self.value_size / 1024)
            } else {
                format!("{} B", self.value_size)
            }
        );
        if self.compression != "none" {
            let _ = write!(s, " {}", self.compression);
        }
        let _ = write!(
            s,
            " acks={}{}",
            self.acks,
            if self.idempotence { " idem" } else { "" }
        );
        if self.partitions != 6 {
            let _ = write!(s, " {}p", self.partitions);
        }
        if let Some(r) = self.throughput {
            let _ = write!(s, " @{}/s", thousands(r as f64));
        }
        s
    }

    /// The topic of the cell on a shared broker (Kafka): one per partition count.
    pub(super) fn topic(&self) -> String {
        if self.partitions == 6 {
            TOPIC.to_string()
        } else {
            format!("{TOPIC}-p{}", self.partitions)
        }
    }

    /// Records per run: `records` for 100-byte values, scaled down with the value size (the
    /// same bytes per run), `latency_records` at a fixed rate.
    pub(super) fn records(&self, records: u64, latency_records: u64) -> u64 {
        if self.throughput.is_some() {
            latency_records
        } else {
            (records * 110 / (self.key_size + self.value_size).max(1) as u64).clamp(1, records)
        }
    }
}

/// The clients `--clients` may name, in table order.
pub(super) const MATRIX_CLIENTS: [&str; 7] = [
    "librdkafka",
    "ferrokafka",
    "ferrokafka-cli",
    "krafka",
    "kacrab",
    "rskafka",
    "java",
];

/// The clients whose failures fail the run; the others are reported as not available.
const REQUIRED: [&str; 3] = ["librdkafka", "ferrokafka", "ferrokafka-cli"];

/// The pure-Rust peers (the `rust-peers` feature of ferrokafka-bench).
const PEERS: [&str; 3] = ["krafka", "kacrab", "rskafka"];

#[derive(Debug, Clone)]
pub(super) struct MatrixOptions {
    pub(super) brokers: Vec<Broker>,
    pub(super) clients: Vec<String>,
    pub(super) cells: Vec<Cell>,
    pub(super) runs: usize,
    pub(super) records: u64,
    pub(super) kafka_records: u64,
    pub(super) latency_records: u64,
    pub(super) timeout: Duration,
    pub(super) jvm_opts: Vec<String>,
}

pub(super) const MATRIX_USAGE: &str = "\
usage: cargo xtask bench matrix [options]   the issue-15 matrix (see below), one ratio table
       cargo xtask bench quick [options]    the two headline cells on the mock: librdkafka,
                                            ferrokafka, ferrokafka-cli; 2,000,000 records, 5 runs

cells (every one linger.ms=5, batch.size=1048576; keys are 10 bytes):
  keyless keyed keyless-1k keyed-1k            100 B / 1 KiB values, acks=all, idempotence on
  keyless-acks1 keyed-acks1                    acks=1, idempotence off
  keyless-lz4 keyed-lz4 keyless-zstd keyed-zstd
  keyed-p1000                                  1,000 partitions (the others have 6)
  latency-keyless latency-keyed                100,000 records/s: p50/p99 delivery latency

options:
  --brokers LIST       mock, kafka (matrix default mock,kafka; quick: mock)
  --clients LIST       librdkafka, ferrokafka, ferrokafka-cli, krafka, kacrab, rskafka, java
                       (matrix default all of them; quick: the first three)
  --cells LIST         cells to run (default all; quick: keyless,keyed)
  --runs N             measurements per (cell, client), alternating (default 3; quick 5)
  --records N          records per run on the mock for 100 B values, scaled down for 1 KiB
                       (default 2000000)
  --kafka-records N    the same on Kafka (default 1000000)
  --latency-records N  records per run in the latency cells (default 500000: 5 s at 100,000/s)
  --timeout-s N        a measurement taking longer is killed and counted as failed (default 300)
  --jvm-opt OPT        option for the Java client's JVM (repeatable)
";

impl MatrixOptions {
    pub(super) fn parse(quick: bool, args: &[String]) -> Result<MatrixOptions> {
        let mut args = args.to_vec();
        let brokers = list(
            take_option(&mut args, "--brokers")?,
            if quick { "mock" } else { "mock,kafka" },
        )
        .iter()
        .map(|b| match Broker::parse(b)? {
            Broker::Tansu => bail!("the matrix runs on mock and kafka, not tansu"),
            b => Ok(b),
        })
        .collect::<Result<Vec<_>>>()?;
        let clients = list(
            take_option(&mut args, "--clients")?,
            &if quick {
                REQUIRED.join(",")
            } else {
                MATRIX_CLIENTS.join(",")
            },
        );
        for c in &clients {
            ensure!(
                MATRIX_CLIENTS.contains(&c.as_str()),
                "unknown client {c:?} (one of {})",
                MATRIX_CLIENTS.join(", ")
            );
        }
        let all_cells: Vec<&str> = CELLS.iter().map(|c| c.id).collect();
        let cells =
            list(
                take_option(&mut args, "--cells")?,
                &if quick {
                    "keyless,keyed".to_string()
                } else {
                    all_cells.join(",")
                },
            )
            .iter()
            .map(|id| {
                CELLS.iter().find(|c| c.id == id).copied().with_context(|| {
                    format!("unknown cell {id:?} (one of {})", all_cells.join(", "))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let runs = parse_number(
            "--runs",
            take_option(&mut args, "--runs")?,
            if quick { 5 } else { 3 },
        )?;
        let records = parse_number("--records", take_option(&mut args, "--records")?, 2_000_000)?;
        let kafka_records = parse_number(
            "--kafka-records",
            take_option(&mut args, "--kafka-records")?,
            1_000_000,
        )?;
        let latency_records = parse_number(
            "--latency-records",
            take_option(&mut args, "--latency-records")?,
            500_000,
        )?;
        let timeout = Duration::from_secs(parse_number(
            "--timeout-s",
            take_option(&mut args, "--timeout-s")?,
            300,
        )?);
        let mut jvm_opts = Vec::new();
        while let Some(o) = take_option(&mut args, "--jvm-opt")? {
            jvm_opts.push(o);
        }
        if !args.is_empty() {
            bail!("unexpected arguments {args:?}\n\n{MATRIX_USAGE}");
        }
        ensure!(runs > 0, "--runs must be positive");
        ensure!(
            records > 0 && kafka_records > 0 && latency_records > 0,
            "record counts must be positive"
        );
        ensure!(
            !brokers.is_empty() && !clients.is_empty() && !cells.is_empty(),
            "nothing to run"
        );
        Ok(MatrixOptions {
            brokers,
            clients,
            cells,
            runs,
            records,
            kafka_records,
            latency_records,
            timeout,
            jvm_opts,
        })
    }

    fn records(&self, broker: Broker, cell: &Cell) -> u64 {
        let base = match broker {
            Broker::Kafka => self.kafka_records,
            Broker::Mock | Broker::Tansu => self.records,
        };
        cell.records(base, self.latency_records)
    }
}

/// One measurement of a cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CellSample {
    pub(super) records: u64,
    pub(super) seconds: f64,
    pub(super) cpu_s: f64,
    pub(super) peak_rss_kib: u64,
    pub(super) p50_ms: Option<f64>,
    pub(super) p99_ms: Option<f64>,
    /// ferrokafka-cli: the records/s of its own final line (timed from its first send).
    pub(super) own_rate: Option<f64>,
    /// What the client could not do as asked.
    pub(super) notes: Vec<String>,
}

impl CellSample {
    fn records_per_s(&self) -> f64 {
        self.records as f64 / self.seconds
    }

    fn cpu_us_per_record(&self) -> f64 {
        self.cpu_s * 1e6 / self.records as f64
    }

    fn rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "{} rec/s, {:.3} CPU µs/record, peak RSS {:.1} MiB ({:.2} s)",
            thousands(self.records_per_s()),
            self.cpu_us_per_record(),
            self.rss_mib(),
            self.seconds
        );
        if let (Some(p50), Some(p99)) = (self.p50_ms, self.p99_ms) {
            let _ = write!(s, "; latency p50 {p50:.2} ms, p99 {p99:.2} ms");
        }
        if let Some(r) = self.own_rate {
            let _ = write!(s, "; its own line: {} rec/s", thousands(r));
        }
        s
    }
}

/// A client's medians in one cell (or why it has none).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CellRow {
    pub(super) client: String,
    pub(super) runs: usize,
    pub(super) records_per_s: f64,
    pub(super) cpu_us: f64,
    pub(super) rss_mib: f64,
    pub(super) p50_ms: Option<f64>,
    pub(super) p99_ms: Option<f64>,
    /// Set when the client has no figures here: why.
    pub(super) missing: Option<String>,
}

impl CellRow {
    pub(super) fn of(client: &str, samples: &[CellSample]) -> CellRow {
        let m = |f: &dyn Fn(&CellSample) -> f64| median(samples.iter().map(f).collect());
        let lat = |f: &dyn Fn(&CellSample) -> Option<f64>| {
            let xs: Vec<f64> = samples.iter().filter_map(f).collect();
            (!xs.is_empty()).then(|| median(xs))
        };
        CellRow {
            client: client.to_string(),
            runs: samples.len(),
            records_per_s: m(&CellSample::records_per_s),
            cpu_us: m(&CellSample::cpu_us_per_record),
            rss_mib: m(&CellSample::rss_mib),
            p50_ms: lat(&|s| s.p50_ms),
            p99_ms: lat(&|s| s.p99_ms),
            missing: None,
        }
    }

    pub(super) fn missing(client: &str, why: String) -> CellRow {
        CellRow {
            client: client.to_string(),
            runs: 0,
            records_per_s: f64::NAN,
            cpu_us: f64::NAN,
            rss_mib: f64::NAN,
            p50_ms: None,
            p99_ms: None,
            missing: Some(why),
        }
    }
}

/// The figures of the final line of `ferrokafka-cli perf` (kafka-producer-perf-test's):
/// `N records sent, X records/sec (Y MB/sec), A ms avg latency, B ms max latency, P50 ms 50th,
/// P95 ms 95th, P99 ms 99th, P999 ms 99.9th.`
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PerfLine {
    pub(super) sent: u64,
    pub(super) records_per_s: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
}

/// Finds and parses the last final line in `stdout` (window lines have no percentiles).
pub(super) fn parse_perf_line(stdout: &str) -> Result<PerfLine> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" records sent, ") && l.contains(" 50th"))
        .with_context(|| format!("no final line in ferrokafka-cli's output {stdout:?}"))?;
    let fields: Vec<&str> = line.trim().trim_end_matches('.').split(", ").collect();
    ensure!(fields.len() == 8, "unexpected final line {line:?}");
    let first = |s: &str| -> Result<f64> {
        s.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no number at the start of {s:?} in {line:?}"))
    };
    Ok(PerfLine {
        sent: first(fields[0])? as u64,
        records_per_s: first(fields[1])?,
        p50_ms: first(fields[4])?,
        p99_ms: first(fields[6])?,
    })
}

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
    let (status, stdout, stderr) = run_with_timeout(&mut cmd, opts.timeout)?;
    let Some(status) = status else {
        bail!(
            "killed after {} s; stderr: {}",
            opts.timeout.as_secs(),
            tail(&stderr)
        );
    };
    ensure!(
        status.success(),
        "{client} exited with {status}: {}",
        tail(&stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("{client} printed {stdout:?}; stderr: {}", tail(&stderr)))?;
    parse_client_json(&v, records)
}

/// A `bench-client` (or Java) JSON line as a sample; an error unless every record was
/// delivered.
pub(super) fn parse_client_json(v: &Value, records: u64) -> Result<CellSample> {
    let num = |k: &str| {
        v[k].as_f64()
            .with_context(|| format!("the output lacks {k}: {v}"))
    };
    let delivered = num("delivered")? as u64;
    let failed = num("failures")? as u64;
    ensure!(
        failed == 0 && delivered == records,
        "{delivered} of {records} records delivered, {failed} failed (first error: {})",
        v["first_error"]
    );
    Ok(CellSample {
        records,
        seconds: num("seconds")?,
        cpu_s: num("cpu_user_s")? + num("cpu_sys_s")?,
        peak_rss_kib: num("peak_rss_kib")? as u64,
        p50_ms: v["latency_p50_ms"].as_f64(),
        p99_ms: v["latency_p99_ms"].as_f64(),
        own_rate: None,
        notes: v["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    })
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
    let (status, stdout, stderr) = run_with_timeout(&mut cmd, opts.timeout)?;
    let Some(status) = status else {
        bail!(
            "killed after {} s; stderr: {}",
            opts.timeout.as_secs(),
            tail(&stderr)
        );
    };
    ensure!(
        status.success(),
        "bench-client --exec exited with {status}: {}",
        tail(&stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("bench-client --exec printed {stdout:?}"))?;
    parse_cli_exec(&v, records, cell.throughput.is_some())
}

/// The JSON of `bench-client --exec ferrokafka-cli perf ...` as a sample.
pub(super) fn parse_cli_exec(v: &Value, records: u64, latency: bool) -> Result<CellSample> {
    let num = |k: &str| {
        v[k].as_f64()
            .with_context(|| format!("--exec output lacks {k}: {v}"))
    };
    let out = v["stdout"].as_str().unwrap_or_default();
    ensure!(
        v["exit_code"].as_i64() == Some(0),
        "ferrokafka-cli perf exited with {}: {}",
        v["exit_code"],
        tail(v["stderr"].as_str().unwrap_or_default())
    );
    let line = parse_perf_line(out)?;
    ensure!(
        line.sent == records,
        "ferrokafka-cli perf sent {} of {records} records",
        line.sent
    );
    Ok(CellSample {
        records,
        seconds: num("seconds")?,
        cpu_s: num("cpu_user_s")? + num("cpu_sys_s")?,
        peak_rss_kib: num("peak_rss_kib")? as u64,
        p50_ms: latency.then_some(line.p50_ms),
        p99_ms: latency.then_some(line.p99_ms),
        own_rate: Some(line.records_per_s),
        notes: Vec::new(),
    })
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

/// The last few lines of a stderr, for an error message.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.trim().lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// The one table: per broker and cell, each client's medians and its ratios to librdkafka's.
pub(super) fn matrix_table(results: &[(Broker, Cell, Vec<CellRow>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "medians of alternating runs; x = ratio to librdkafka in the same cell (records/s: \
         higher is better; CPU per record, peak RSS, latency: lower is better); CPU = user+sys \
         of the client process"
    );
    let _ = writeln!(
        out,
        "{:<6} {:<40} {:<15} {:>4} {:>11} {:>6} {:>9} {:>6} {:>8} {:>6} {:>8} {:>8} {:>6}",
        "broker",
        "cell",
        "client",
        "runs",
        "records/s",
        "x",
        "CPU µs/r",
        "x",
        "RSS MiB",
        "x",
        "p50 ms",
        "p99 ms",
        "x"
    );
    for (broker, cell, rows) in results {
        let base = rows
            .iter()
            .find(|r| r.client == "librdkafka" && r.missing.is_none());
        let ratio = |a: f64, b: Option<f64>| match b {
            Some(b) if b > 0.0 && a.is_finite() => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
        for (i, r) in rows.iter().enumerate() {
            let (b, c) = if i == 0 {
                (broker.name().to_string(), cell.describe())
            } else {
                (String::new(), String::new())
            };
            if let Some(why) = &r.missing {
                let _ = writeln!(out, "{b:<6} {c:<40} {:<15}    - {why}", r.client);
                continue;
            }
            let _ = writeln!(
                out,
                "{b:<6} {c:<40} {:<15} {:>4} {:>11} {:>6} {:>9.3} {:>6} {:>8.1} {:>6} {:>8} {:>8} {:>6}",
                r.client,
                r.runs,
                thousands(r.records_per_s),
                ratio(r.records_per_s, base.map(|b| b.records_per_s)),
                r.cpu_us,
                ratio(r.cpu_us, base.map(|b| b.cpu_us)),
                r.rss_mib,
                ratio(r.rss_mib, base.map(|b| b.rss_mib)),
                opt(r.p50_ms),
                opt(r.p99_ms),
                match r.p99_ms {
                    Some(p) => ratio(p, base.and_then(|b| b.p99_ms)),
                    None => "-".into(),
                },
            );
        }
    }
    out
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
