//! `cargo xtask bench`: ferrokafka against librdkafka (and, on Apache Kafka, the Java producer),
//! end to end, on the same brokers in the same run. `cargo xtask bench micro` runs the criterion
//! micro-benchmarks instead.
//!
//! Modes (issue 6): `cargo xtask bench idempotence` runs the comparison with idempotence on and
//! then off; `cargo xtask bench txn` runs it transactionally, 1,000 and then 100,000 records per
//! transaction (`bench-client --transaction-size`: begin, send N, commit, until the record
//! count; the commits are inside the measurement); `cargo xtask bench suite` runs the default
//! comparison, idempotence off and both transaction sizes, one table each, then all tables
//! together (on all three brokers unless `--brokers` says otherwise). The extra modes use smaller
//! record counts (see [`Mode`]) unless `--records` / `--tansu-records` / `--kafka-records` are
//! given, so the suite stays within a few minutes per broker. `cargo xtask bench security`
//! (issue 13, [`security`]) measures every client on PLAINTEXT, SSL and SASL_SSL listeners of
//! one secured Kafka node and gives each client's overhead against PLAINTEXT.
//!
//! xtask links neither Rust client: it builds the `ferrokafka-bench` crate in release and runs
//! its `bench-client` binary once per measurement, so each measurement's CPU time (user + sys,
//! from `/proc/self/stat`) and peak RSS (`VmHWM`) are one client's alone. The Java producer
//! (client `java`) is `bench/java/FerroKafkaBench.java`, compiled here with `javac` against the
//! Kafka jars of the test harness (`ferrokafka_tests::kafka::install`, Maven-fetched once into
//! `target/peers/kafka-4.4.0`) and run in a JVM of its own per measurement, with the JVM's
//! defaults: it sends the same keyed records with the same properties, measures itself the same
//! way (wall clock and `/proc/self/stat` around the producer's life, `VmHWM` at the end) and
//! prints the same JSON line, plus the JVM's whole CPU time (start-up included) for reference.
//! Brokers:
//!
//! - `mock`: librdkafka's mock cluster, hosted by the `mock-cluster` binary in a process of its
//!   own (its CPU is not charged to the client); one cluster for the whole series (the mock keeps
//!   at most 5 MB per partition, so it does not fill up).
//! - `tansu`: the Tansu broker from the test harness, a fresh one (in-memory storage) for every
//!   measurement: it keeps every record in memory (about 125 bytes each), so a broker shared by
//!   the series would grow by hundreds of MB per run and the later runs would meet a fuller one.
//! - `kafka`: Apache Kafka 4.4.0 from the test harness (`KafkaCluster`), one KRaft node
//!   (combined broker and controller) with a 1 GiB heap and the JVM tuned for throughput
//!   (`test_jvm: false`), one for the whole series of a mode; the topic (replication factor 1)
//!   keeps at most [`KAFKA_RETENTION_BYTES`] per partition so the series does not fill the disk.
//!   The clients are librdkafka, ferrokafka and java unless `--clients` says otherwise.
//!
//! For each broker the clients alternate (L F \[J\] L F \[J\] ...) `--runs` times; the table gives
//! each metric's median and the ratios ferrokafka / librdkafka and ferrokafka / java. A
//! measurement counts only when the client saw every delivery succeed and the topic's high
//! watermarks (read before and after by `bench-client --watermarks`, in a separate process)
//! advanced by exactly the record count on the mock and on Kafka, and by no more than it on Tansu
//! (whose watermarks fall short, see [`measure()`]).
//! Transactional runs: each committed transaction writes one commit marker (a control record
//! taking an offset) per partition it wrote to, and the client reports that count; librdkafka's
//! mock acknowledges EndTxn without writing markers, so there the watermarks advance by the
//! record count (the check also accepts records + markers, exactly, for a mock that writes
//! them), on Kafka by exactly records + markers, and on Tansu by no more than records + markers.

// Record counts, byte counts and clock ticks stay far below 2^52.
#![allow(clippy::cast_precision_loss)]

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use ferrokafka_tests::tansu::Tansu;

mod instructions;
mod matrix;
mod measure;
mod options;
mod peers;
mod report;
mod security;

use measure::*;
use options::*;
use peers::*;
use report::*;

const USAGE: &str = "\
usage: cargo xtask bench [options]     ferrokafka vs librdkafka (and Java on Kafka), end to end
       cargo xtask bench idempotence [options]   the same with idempotence on, then off
       cargo xtask bench txn [options]           transactional: 1,000 then 100,000 records
                                                 per transaction
       cargo xtask bench suite [options]         the default run, idempotence off, and both
                                                 transaction sizes, on mock, tansu and kafka
                                                 (unless --brokers is given)
       cargo xtask bench security [options]      the cost of TLS and SASL: one Kafka node with
                                                 PLAINTEXT, SSL and SASL_SSL listeners, every
                                                 client on each (see below)
       cargo xtask bench matrix [options]        issue 15's workload matrix (keyless/keyed,
                                                 100 B/1 KiB, none/lz4/zstd, acks 1/all, 6/1,000
                                                 partitions, latency at 100,000 records/s) with
                                                 librdkafka, ferrokafka, ferrokafka-cli, krafka,
                                                 kacrab, rskafka and java on mock and kafka; one
                                                 table of ratios to librdkafka
       cargo xtask bench quick [options]         its two headline cells on the mock (librdkafka,
                                                 ferrokafka, ferrokafka-cli), under two minutes
                                                 (`cargo xtask bench matrix --help`)
       cargo xtask bench instructions [options]  instructions per record (valgrind's
                                                 callgrind) of librdkafka, ferrokafka and
                                                 ferrokafka-cli perf on the mock; the yardstick
                                                 that holds on a noisy machine
                                                 (`cargo xtask bench instructions --help`)
       cargo xtask bench micro         the criterion micro-benchmarks (cargo bench --workspace)

options (the workload defaults are the spec's: 10-byte keys, 100-byte values, acks=all,
linger.ms=5, batch.size=1048576, no compression):
  --records N          records per measurement on the mock cluster (default 5000000; in the
                       idempotence and txn modes 2000000 and 1000000 per transaction size)
  --tansu-records N    records per measurement on Tansu (default 5000000; in the idempotence
                       and txn modes 2000000 and 1000000)
  --kafka-records N    records per measurement on Apache Kafka (default 5000000; in the
                       idempotence and txn modes 2000000 and 1000000)
  --runs N             measurements per (broker, client), alternating clients (default 5)
  --brokers LIST       comma-separated: mock, tansu, kafka (default mock,tansu; the suite's
                       default is all three). kafka: Apache Kafka 4.4.0, one KRaft node, jars
                       fetched with Maven on first use (needs mvn, java and javac 17+)
  --clients LIST       comma-separated: librdkafka, ferrokafka, java (default librdkafka and
                       ferrokafka, plus java on kafka; java runs the Java producer of Kafka
                       4.4.0, bench/java/FerroKafkaBench.java)
  --partitions N       partitions of the topic (default 6)
  --mock-brokers N     brokers in the mock cluster (default 3)
  --compression C      none, gzip, snappy, lz4, zstd (default none; librdkafka here has no zstd)
  --idempotence B      true or false, the same for every client (default true, Java's default
                       with acks=all; not with the idempotence, txn and suite modes)
  --transaction-size N transactional, N records per transaction (default: not transactional;
                       not with the idempotence, txn and suite modes)
  --timeout-s N        a measurement taking longer is killed and counted as failed (default 300)
  -X key=value         extra property for every client (repeatable)
  --features LIST      extra cargo features for the ferrokafka-bench build
  --no-ferrokafka      build ferrokafka-bench without the ferrokafka client (librdkafka only)
  --jvm-opt OPT        option for the Java client's JVM, e.g. --jvm-opt -Xmx256m (repeatable;
                       default none: the JVM's defaults)

bench security (Apache Kafka only, no --brokers; --kafka-records defaults to 2000000; librdkafka
is built with OpenSSL, the bench crate's `ssl` feature):
  --listeners LIST     comma-separated: plaintext, ssl, sasl_plaintext, sasl_ssl (default
                       plaintext,ssl,sasl_ssl); ratios are against plaintext
  --mechanism M        SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (default SCRAM-SHA-512)
";

const TOPIC: &str = "ferrokafka-bench";

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let (subcommand, rest) = match args.first().map(String::as_str) {
        Some("micro") => {
            crate::no_args("bench micro", &args[1..])?;
            return crate::ci::bench();
        }
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some("security") => return security::run(&args[1..]),
        Some("matrix") => return matrix::run(false, &args[1..]),
        Some("quick") => return matrix::run(true, &args[1..]),
        Some("instructions") => return instructions::run(&args[1..]),
        Some(sub @ ("idempotence" | "txn" | "suite")) => (Some(sub), &args[1..]),
        _ => (None, args),
    };
    let opts = Options::parse(rest)?;
    let modes = modes(subcommand, &opts)?;
    let mut bins = build(opts.features.as_deref(), opts.no_ferrokafka)?;
    let mut runnable = capabilities(&bins.client)?;
    let wanted = |client: &str| {
        modes.iter().any(|m| {
            m.opts
                .brokers
                .iter()
                .any(|&b| m.opts.clients(b).iter().any(|c| c == client))
        })
    };
    if wanted("java") {
        bins.java = Some(JavaClient::prepare()?);
        runnable.push("java".into());
    }
    let mut notes = Vec::new();
    if wanted("ferrokafka") && !runnable.iter().any(|c| c == "ferrokafka") {
        notes.push(
            "ferrokafka: this build of ferrokafka-bench lacks its `ferrokafka-client` feature, \
             so it was not measured"
                .to_string(),
        );
    }
    // The clients measured on each broker.
    let lineup = |m: &Options, b: Broker| -> Vec<String> {
        m.clients(b)
            .into_iter()
            .filter(|c| runnable.contains(c))
            .collect()
    };
    ensure!(
        modes.iter().all(|m| m
            .opts
            .brokers
            .iter()
            .all(|&b| !lineup(&m.opts, b).is_empty())),
        "no client to measure: {}",
        notes.join("; ")
    );

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "ferrokafka-bench: {}; {} measurements per (broker, client), alternating; \
         keys 10 B, values 100 B, acks=all, linger.ms=5, batch.size=1048576, compression={}, \
         {} partitions; {cpus} CPUs",
        modes[0]
            .opts
            .brokers
            .iter()
            .map(|&b| format!("{} on {}", lineup(&modes[0].opts, b).join(" vs "), b.name()))
            .collect::<Vec<_>>()
            .join("; "),
        opts.runs,
        opts.compression,
        opts.partitions,
    );
    let started = Instant::now();
    let mut tables = Vec::new();
    let mut failures = Vec::new();
    for mode in &modes {
        let m = &mode.opts;
        let counts = m
            .brokers
            .iter()
            .map(|&b| format!("{} on {}", thousands(m.records(b) as f64), b.name()))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "\n== {}: enable.idempotence={}{}; records per measurement: {counts}; {}",
            mode.title,
            m.idempotence,
            m.transaction_size
                .map(|n| format!(", transaction size {}", thousands(n as f64)))
                .unwrap_or_default(),
            load_note(cpus),
        );
        let (rows, mut mode_notes) = run_mode(&bins, &|b| lineup(m, b), m, &mut failures)?;
        if m.transaction_size.is_some()
            && m.brokers
                .iter()
                .any(|&b| lineup(m, b).iter().any(|c| c == "librdkafka"))
        {
            mode_notes.push(format!(
                "{}: librdkafka's commits wait for each transaction's last batches to be \
                 acknowledged first (bench/src/rdk.rs `drain`: rdkafka 0.39's own flush inside \
                 commit_transaction polls in 100 ms steps), and those batches wait out linger.ms \
                 (librdkafka sends at once only while a flush call runs, which rdkafka 0.39 never \
                 holds open); ferrokafka's commit sends them at once, as Java's does; \
                 `-X linger.ms=0` takes the linger away for both clients",
                m.semantics()
            ));
        }
        let table = format!("{}\n{}", mode.title, table(&rows, m));
        println!("\n{table}");
        for note in &mode_notes {
            println!("note: {note}");
        }
        notes.extend(mode_notes);
        tables.push(table);
    }
    if tables.len() > 1 {
        println!(
            "\n== all modes ({:.0} s; {})\n",
            started.elapsed().as_secs_f64(),
            load_note(cpus)
        );
        for t in &tables {
            println!("{t}");
        }
        notes.dedup();
        for note in &notes {
            println!("note: {note}");
        }
    }
    Ok(exit_code(&failures))
}

/// Success when every measurement ran; otherwise lists the failed ones.
fn exit_code(failures: &[String]) -> ExitCode {
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("\n{} measurement(s) failed:", failures.len());
    for f in failures {
        println!("  {f}");
    }
    ExitCode::FAILURE
}

/// The 1-minute load average, with a warning when other processes compete for the CPUs.
fn load_note(cpus: usize) -> String {
    match load_average() {
        Some(load) if load > 0.5 * cpus as f64 => format!(
            "1-minute load average {load:.2} on {cpus} CPUs: other processes compete for the \
             CPUs, expect noisy figures"
        ),
        Some(load) => format!("1-minute load average {load:.2}"),
        None => "load average unknown".into(),
    }
}

/// One mode's measurements: for each broker, the clients alternating `runs` times. Returns
/// the table rows and notes; failed measurements are added to `failures`.
fn run_mode(
    bins: &Bins,
    clients: &dyn Fn(Broker) -> Vec<String>,
    opts: &Options,
    failures: &mut Vec<String>,
) -> Result<(Vec<Row>, Vec<String>)> {
    let mut rows: Vec<Row> = Vec::new();
    let mut notes = Vec::new();
    for &broker in &opts.brokers {
        let mut samples: Vec<(String, Vec<Sample>)> = clients(broker)
            .into_iter()
            .map(|c| (c, Vec::new()))
            .collect();
        let mut mock = match broker {
            Broker::Mock => Some(MockCluster::start(&bins.mock, opts)?),
            Broker::Tansu | Broker::Kafka => None,
        };
        let kafka = match broker {
            Broker::Kafka => Some(start_kafka(opts)?),
            Broker::Mock | Broker::Tansu => None,
        };
        if let (Some(k), Some((client, _))) = (&kafka, samples.first()) {
            // A fresh topic answers ListOffsets with NOT_LEADER_OR_FOLLOWER for a moment after
            // every partition has a leader; and a fresh broker JVM runs its produce path
            // interpreted at first, which would slow down whichever client came first. So wait
            // for the watermarks, then warm the broker up with one uncounted measurement.
            wait_for_watermarks(&bins.client, &k.bootstrap())?;
            let label = format!("{:<6} {client:<11} warm-up", broker.name());
            match measure(bins, client, &k.bootstrap(), broker, opts) {
                Ok(s) => println!("{label} (not counted): {}", s.describe()),
                Err(e) => {
                    println!("{label}: FAILED: {e:#}");
                    failures.push(format!("{} {label}: {e:#}", opts.semantics()));
                }
            }
        }
        for run in 1..=opts.runs {
            for (client, got) in &mut samples {
                // A fresh Tansu per measurement (see the module docs); the mock and Kafka are
                // shared.
                let tansu = match broker {
                    Broker::Tansu => {
                        let t = Tansu::start().context("start Tansu")?;
                        t.create_topic(TOPIC, opts.partitions)
                            .context("create the Tansu topic")?;
                        Some(t)
                    }
                    Broker::Mock | Broker::Kafka => None,
                };
                let bootstrap = match (&mock, &tansu, &kafka) {
                    (Some(m), _, _) => m.bootstrap.clone(),
                    (_, Some(t), _) => t.bootstrap(),
                    (_, _, Some(k)) => k.bootstrap(),
                    _ => unreachable!("one broker runs"),
                };
                let label = format!("{:<6} {client:<11} run {run}/{}", broker.name(), opts.runs);
                match measure(bins, client, &bootstrap, broker, opts) {
                    Ok(s) => {
                        println!("{label}: {}", s.describe());
                        got.push(s);
                    }
                    Err(e) => {
                        println!("{label}: FAILED: {e:#}");
                        failures.push(format!("{} {label}: {e:#}", opts.semantics()));
                    }
                }
                drop(tansu);
            }
        }
        if let Some(m) = mock.take() {
            m.stop();
        }
        if let Some(k) = kafka {
            notes.extend(kafka_log_note(&k, &opts.semantics()));
        }
        let title = opts.semantics();
        for (client, got) in &samples {
            // Short of the records plus the commit markers (the markers count where they are
            // written, which Tansu does and the mock does not).
            let short: i64 = got
                .iter()
                .filter(|s| s.stored < s.records as i64)
                .map(|s| s.records as i64 - s.stored)
                .sum();
            if short > 0 {
                notes.push(format!(
                    "{title}, {}: {client}'s runs advanced the high watermarks by {} fewer than \
                     the records acknowledged (a Tansu 0.6.0 quirk seen with both clients)",
                    broker.name(),
                    thousands(short as f64),
                ));
            }
        }
        for (client, got) in &samples {
            let whole: Vec<f64> = got
                .iter()
                .filter_map(|s| Some(s.process_cpu_s? / (s.records as f64 / 1e6)))
                .collect();
            if !whole.is_empty() {
                notes.push(format!(
                    "{title}, {}: {client}'s CPU column counts the producer's life, as for the \
                     other clients; the whole JVM, start-up and class loading included, used a \
                     median {:.3} CPU s per million records",
                    broker.name(),
                    median(whole)
                ));
            }
        }
        let runs: Vec<&Sample> = samples.iter().flat_map(|(_, got)| got).collect();
        let markers: u64 = runs.iter().map(|s| s.markers).sum();
        if markers > 0 {
            let counted = runs
                .iter()
                .filter(|s| s.stored == (s.records + s.markers) as i64)
                .count();
            notes.push(format!(
                "{title}, {}: the clients committed {} transactions writing {} commit markers \
                 (one per partition per transaction); the high watermarks counted them in \
                 {counted} of {} runs{}",
                broker.name(),
                thousands(runs.iter().map(|s| s.transactions).sum::<u64>() as f64),
                thousands(markers as f64),
                runs.len(),
                if broker == Broker::Mock {
                    " (librdkafka's mock writes none: its watermarks advanced by the records alone)"
                } else {
                    ""
                },
            ));
        }
        rows.extend(
            samples
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(client, s)| Row::median(broker, client, s)),
        );
    }
    Ok((rows, notes))
}

/// The 1-minute load average (Linux `/proc/loadavg`).
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
