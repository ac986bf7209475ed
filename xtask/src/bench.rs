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
//! (whose watermarks fall short, see [`measure`]).
//! Transactional runs: each committed transaction writes one commit marker (a control record
//! taking an offset) per partition it wrote to, and the client reports that count; librdkafka's
//! mock acknowledges EndTxn without writing markers, so there the watermarks advance by the
//! record count (the check also accepts records + markers, exactly, for a mock that writes
//! them), on Kafka by exactly records + markers, and on Tansu by no more than records + markers.

// Record counts, byte counts and clock ticks stay far below 2^52.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use ferrokafka_tests::kafka::{self, JavaHelper, KafkaCluster, KafkaDist, KafkaOptions};
use ferrokafka_tests::tansu::Tansu;
use serde_json::Value;

use crate::util::{cargo, take_option};

mod security;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broker {
    Mock,
    Tansu,
    Kafka,
}

impl Broker {
    fn name(self) -> &'static str {
        match self {
            Broker::Mock => "mock",
            Broker::Tansu => "tansu",
            Broker::Kafka => "kafka",
        }
    }

    fn parse(name: &str) -> Result<Broker> {
        match name {
            "mock" => Ok(Broker::Mock),
            "tansu" => Ok(Broker::Tansu),
            "kafka" => Ok(Broker::Kafka),
            other => bail!("unknown broker {other:?} (mock, tansu or kafka)"),
        }
    }
}

/// The clients `--clients` may name.
const CLIENTS: [&str; 3] = ["librdkafka", "ferrokafka", "java"];

/// The Kafka topic's `retention.bytes` (per partition) and `segment.bytes`: a series of
/// measurements writes several GB, of which the broker keeps the last few hundred MB.
const KAFKA_RETENTION_BYTES: u64 = 128 << 20;
const KAFKA_SEGMENT_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone)]
struct Options {
    mock_records: u64,
    tansu_records: u64,
    kafka_records: u64,
    runs: usize,
    brokers: Vec<Broker>,
    /// Whether `--brokers` was given (the suite's default is every broker).
    brokers_given: bool,
    /// `--clients`; `None`: librdkafka and ferrokafka, plus java on Kafka ([`Options::clients`]).
    clients: Option<Vec<String>>,
    partitions: u32,
    mock_brokers: u32,
    compression: String,
    idempotence: String,
    transaction_size: Option<u64>,
    /// Whether a record count option was given (the modes then keep the counts).
    records_given: bool,
    /// Whether `--idempotence` or `--transaction-size` was given (the modes set them).
    semantics_given: bool,
    timeout: Duration,
    extra: Vec<String>,
    features: Option<String>,
    no_ferrokafka: bool,
    /// `--jvm-opt`: options for the Java client's JVM.
    jvm_opts: Vec<String>,
}

fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != name);
    args.len() != before
}

fn parse_number<T: std::str::FromStr>(name: &str, v: Option<String>, default: T) -> Result<T> {
    match v {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} takes a number, got {v:?}")),
    }
}

fn list(v: Option<String>, default: &str) -> Vec<String> {
    v.as_deref()
        .unwrap_or(default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut args = args.to_vec();
        let mut extra = Vec::new();
        let records_given = args.iter().any(|a| {
            a.starts_with("--records")
                || a.starts_with("--tansu-records")
                || a.starts_with("--kafka-records")
        });
        let semantics_given = args
            .iter()
            .any(|a| a.starts_with("--idempotence") || a.starts_with("--transaction-size"));
        while let Some(kv) = take_option(&mut args, "-X")? {
            ensure!(kv.contains('='), "-X takes key=value, got {kv:?}");
            extra.push(kv);
        }
        let mock_records =
            parse_number("--records", take_option(&mut args, "--records")?, 5_000_000)?;
        let tansu_records = parse_number(
            "--tansu-records",
            take_option(&mut args, "--tansu-records")?,
            5_000_000,
        )?;
        let kafka_records = parse_number(
            "--kafka-records",
            take_option(&mut args, "--kafka-records")?,
            5_000_000,
        )?;
        let runs = parse_number("--runs", take_option(&mut args, "--runs")?, 5)?;
        let partitions = parse_number("--partitions", take_option(&mut args, "--partitions")?, 6)?;
        let mock_brokers = parse_number(
            "--mock-brokers",
            take_option(&mut args, "--mock-brokers")?,
            3,
        )?;
        let timeout = Duration::from_secs(parse_number(
            "--timeout-s",
            take_option(&mut args, "--timeout-s")?,
            300,
        )?);
        let brokers_option = take_option(&mut args, "--brokers")?;
        let brokers_given = brokers_option.is_some();
        let brokers = list(brokers_option, "mock,tansu")
            .iter()
            .map(|b| Broker::parse(b))
            .collect::<Result<Vec<_>>>()?;
        let clients = take_option(&mut args, "--clients")?.map(|v| list(Some(v), ""));
        for c in clients.iter().flatten() {
            ensure!(
                CLIENTS.contains(&c.as_str()),
                "unknown client {c:?} (librdkafka, ferrokafka or java)"
            );
        }
        let features = take_option(&mut args, "--features")?;
        let no_ferrokafka = take_flag(&mut args, "--no-ferrokafka");
        let mut jvm_opts = Vec::new();
        while let Some(o) = take_option(&mut args, "--jvm-opt")? {
            jvm_opts.push(o);
        }
        let compression = take_option(&mut args, "--compression")?.unwrap_or_else(|| "none".into());
        let idempotence = take_option(&mut args, "--idempotence")?.unwrap_or_else(|| "true".into());
        ensure!(
            idempotence == "true" || idempotence == "false",
            "--idempotence takes true or false"
        );
        let transaction_size = take_option(&mut args, "--transaction-size")?
            .map(|v| parse_number("--transaction-size", Some(v), 0_u64))
            .transpose()?;
        ensure!(
            transaction_size != Some(0),
            "--transaction-size must be positive"
        );
        ensure!(
            transaction_size.is_none() || idempotence == "true",
            "--transaction-size needs --idempotence true"
        );
        if !args.is_empty() {
            bail!("unexpected arguments {args:?}\n\n{USAGE}");
        }
        ensure!(runs > 0, "--runs must be positive");
        ensure!(
            mock_records > 0 && tansu_records > 0 && kafka_records > 0,
            "record counts must be positive"
        );
        ensure!(
            !brokers.is_empty() && clients.as_ref().is_none_or(|c| !c.is_empty()),
            "nothing to run"
        );
        Ok(Options {
            mock_records,
            tansu_records,
            kafka_records,
            runs,
            brokers,
            brokers_given,
            clients,
            partitions,
            mock_brokers,
            compression,
            idempotence,
            transaction_size,
            records_given,
            semantics_given,
            timeout,
            extra,
            features,
            no_ferrokafka,
            jvm_opts,
        })
    }

    fn records(&self, broker: Broker) -> u64 {
        match broker {
            Broker::Mock => self.mock_records,
            Broker::Tansu => self.tansu_records,
            Broker::Kafka => self.kafka_records,
        }
    }

    /// The clients measured on `broker`: `--clients`, or librdkafka and ferrokafka, plus java
    /// on Kafka.
    fn clients(&self, broker: Broker) -> Vec<String> {
        match &self.clients {
            Some(given) => given.clone(),
            None => CLIENTS
                .iter()
                .filter(|&&c| c != "java" || broker == Broker::Kafka)
                .map(|c| (*c).to_string())
                .collect(),
        }
    }

    /// What the measurements of these options do, for titles.
    fn semantics(&self) -> String {
        match self.transaction_size {
            Some(n) => format!(
                "transactional, {} records per transaction",
                thousands(n as f64)
            ),
            None if self.idempotence == "true" => "idempotence on".into(),
            None => "idempotence off".into(),
        }
    }
}

/// A series of measurements with one set of options: one table.
#[derive(Debug, Clone)]
struct Mode {
    title: String,
    opts: Options,
}

/// Records per measurement in the idempotence modes (mock, Tansu, Kafka), unless given.
const IDEMPOTENCE_RECORDS: (u64, u64, u64) = (2_000_000, 2_000_000, 2_000_000);
/// Records per measurement in the transactional modes (mock, Tansu, Kafka), unless given.
const TXN_RECORDS: (u64, u64, u64) = (1_000_000, 1_000_000, 1_000_000);

/// The modes of `cargo xtask bench [SUBCOMMAND]`.
fn modes(subcommand: Option<&str>, base: &Options) -> Result<Vec<Mode>> {
    let Some(sub) = subcommand else {
        return Ok(vec![Mode {
            title: base.semantics(),
            opts: base.clone(),
        }]);
    };
    ensure!(
        !base.semantics_given,
        "`cargo xtask bench {sub}` sets --idempotence and --transaction-size itself"
    );
    let with = |title: &str, records: (u64, u64, u64), idempotence: &str, txn: Option<u64>| {
        let mut opts = base.clone();
        if !base.records_given {
            (opts.mock_records, opts.tansu_records, opts.kafka_records) = records;
        }
        if sub == "suite" && !base.brokers_given {
            opts.brokers = vec![Broker::Mock, Broker::Tansu, Broker::Kafka];
        }
        opts.idempotence = idempotence.to_string();
        opts.transaction_size = txn;
        Mode {
            title: format!("{title}: {}", opts.semantics()),
            opts,
        }
    };
    let default_records = (base.mock_records, base.tansu_records, base.kafka_records);
    let on = with("idempotence", IDEMPOTENCE_RECORDS, "true", None);
    let off = with("idempotence", IDEMPOTENCE_RECORDS, "false", None);
    let txn_small = with("txn", TXN_RECORDS, "true", Some(1_000));
    let txn_large = with("txn", TXN_RECORDS, "true", Some(100_000));
    Ok(match sub {
        "idempotence" => vec![on, off],
        "txn" => vec![txn_small, txn_large],
        "suite" => vec![
            with("default", default_records, "true", None),
            with("idempotence", IDEMPOTENCE_RECORDS, "false", None),
            txn_small,
            txn_large,
        ],
        other => bail!("unknown bench mode {other:?}"),
    })
}

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
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\n{} measurement(s) failed:", failures.len());
        for f in &failures {
            println!("  {f}");
        }
        Ok(ExitCode::FAILURE)
    }
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

/// The bench binaries, built in release, and the Java client when one is measured.
struct Bins {
    client: PathBuf,
    mock: PathBuf,
    java: Option<JavaClient>,
}

fn build(features: Option<&str>, no_ferrokafka: bool) -> Result<Bins> {
    println!("building ferrokafka-bench (release)");
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        "--package",
        "ferrokafka-bench",
        "--bins",
        "--message-format=json-render-diagnostics",
    ]);
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    if no_ferrokafka {
        cmd.arg("--no-default-features");
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    ensure!(
        out.status.success(),
        "cargo build of ferrokafka-bench failed"
    );
    let mut client = None;
    let mut mock = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        match msg["target"]["name"].as_str() {
            Some("bench-client") => client = Some(PathBuf::from(exe)),
            Some("mock-cluster") => mock = Some(PathBuf::from(exe)),
            _ => {}
        }
    }
    Ok(Bins {
        client: client.context("cargo build reported no bench-client executable")?,
        mock: mock.context("cargo build reported no mock-cluster executable")?,
        java: None,
    })
}

/// The clients this build of `bench-client` can run.
fn capabilities(client: &PathBuf) -> Result<Vec<String>> {
    let out = Command::new(client)
        .arg("--capabilities")
        .output()
        .with_context(|| format!("run {}", client.display()))?;
    ensure!(out.status.success(), "bench-client --capabilities failed");
    let v: Value = serde_json::from_slice(&out.stdout).context("bench-client --capabilities")?;
    Ok(v["clients"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect())
}

/// The Java client's source, compiled by [`JavaClient::prepare`].
const JAVA_SOURCE: &str = include_str!("../../bench/java/FerroKafkaBench.java");
const JAVA_CLASS: &str = "FerroKafkaBench";

/// The Java producer: Kafka's jars (the test harness's) and our compiled
/// `bench/java/FerroKafkaBench.java`.
#[derive(Debug)]
struct JavaClient {
    dist: KafkaDist,
    classes: PathBuf,
}

/// `bin/NAME` of `FERROKAFKA_JAVA_HOME` or `JAVA_HOME` when it exists there, else `NAME` from
/// `PATH` (the JDK the Kafka harness uses).
fn jdk_tool(name: &str) -> PathBuf {
    [kafka::JAVA_HOME_ENV, "JAVA_HOME"]
        .iter()
        .filter_map(std::env::var_os)
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join("bin").join(name))
        .find(|tool| tool.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl JavaClient {
    /// Fetches Kafka's jars (once, with Maven, through the test harness) and compiles the client
    /// into `<kafka home>/bench-<hash of the source>/` unless that is there already.
    fn prepare() -> Result<JavaClient> {
        println!(
            "preparing the Java client (Kafka {} jars, javac)",
            kafka::VERSION
        );
        let dist = kafka::install().context("fetch Apache Kafka's jars")?;
        // FNV-1a of the source: the same in every build, so an edit recompiles.
        let hash = JAVA_SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let classes = dist.home.join(format!("bench-{hash:016x}"));
        if !classes.join(format!("{JAVA_CLASS}.class")).is_file() {
            let staging = dist
                .home
                .join(format!(".bench-staging-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging)
                .with_context(|| format!("create {}", staging.display()))?;
            let source = staging.join(format!("{JAVA_CLASS}.java"));
            std::fs::write(&source, JAVA_SOURCE)
                .with_context(|| format!("write {}", source.display()))?;
            let javac = jdk_tool("javac");
            let out = Command::new(&javac)
                .arg("-nowarn")
                .arg("-d")
                .arg(&staging)
                .arg("-cp")
                .arg(format!("{}/*", dist.libs.display()))
                .arg(&source)
                .stdin(Stdio::null())
                .output()
                .with_context(|| {
                    format!("run {} (a JDK 17 or later is needed)", javac.display())
                })?;
            ensure!(
                out.status.success(),
                "javac {} failed: {}{}",
                source.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::remove_file(&source).ok();
            if std::fs::rename(&staging, &classes).is_err() {
                // Another run compiled it first; ours is the same.
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        Ok(JavaClient { dist, classes })
    }

    /// `java [JVM_OPTS] -cp <Kafka's jars>:<our classes> FerroKafkaBench`, the JVM's defaults
    /// otherwise, logging warnings to stderr.
    fn command(&self, jvm_opts: &[String]) -> Command {
        let mut cmd = Command::new(jdk_tool("java"));
        cmd.args(jvm_opts)
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dist.tool_log4j().display()
            ))
            .arg("-cp")
            .arg(format!(
                "{}/*:{}",
                self.dist.libs.display(),
                self.classes.display()
            ))
            .arg(JAVA_CLASS);
        cmd
    }
}

/// A single-node Apache Kafka for a series of measurements (see the module docs), with the
/// topic created.
fn start_kafka(opts: &Options) -> Result<KafkaCluster> {
    let started = Instant::now();
    let cluster = KafkaCluster::start(KafkaOptions {
        nodes: 1,
        heap_mb: 1024,
        test_jvm: false,
        // Delete segments past retention soon after they close.
        broker_props: vec![("log.retention.check.interval.ms".into(), "10000".into())],
        ..KafkaOptions::default()
    })
    .context("start Apache Kafka")?;
    let bootstrap = cluster.bootstrap();
    create_kafka_topic(&bootstrap, opts)?;
    println!(
        "kafka {} up at {bootstrap} in {:.1} s ({})",
        kafka::VERSION,
        started.elapsed().as_secs_f64(),
        cluster.dir().display()
    );
    Ok(cluster)
}

/// Creates the bench topic on the Kafka at `bootstrap` (a PLAINTEXT listener): replication 1,
/// [`KAFKA_RETENTION_BYTES`] per partition.
fn create_kafka_topic(bootstrap: &str, opts: &Options) -> Result<()> {
    let (retention, segment) = (
        KAFKA_RETENTION_BYTES.to_string(),
        KAFKA_SEGMENT_BYTES.to_string(),
    );
    // A helper JVM of our own for the one Admin call, gone before the first measurement.
    JavaHelper::start()
        .and_then(|mut helper| {
            helper.create_topic(
                bootstrap,
                TOPIC,
                opts.partitions,
                1,
                &[
                    ("retention.bytes", retention.as_str()),
                    ("segment.bytes", segment.as_str()),
                ],
            )
        })
        .context("create the Kafka topic")?;
    Ok(())
}

/// The `mock-cluster` child; closing its stdin stops it.
struct MockCluster {
    child: Child,
    stdin: Option<ChildStdin>,
    bootstrap: String,
}

impl MockCluster {
    fn start(bin: &PathBuf, opts: &Options) -> Result<MockCluster> {
        let mut child = Command::new(bin)
            .args(["--brokers", &opts.mock_brokers.to_string()])
            .args(["--partitions", &opts.partitions.to_string()])
            .args(["--topic", TOPIC])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        let stdout = child.stdout.take().context("mock-cluster stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("read the mock cluster's bootstrap servers")?;
        let bootstrap = line.trim().to_string();
        if bootstrap.is_empty() {
            let _ = child.kill();
            let status = child.wait()?;
            bail!("mock-cluster exited ({status}) without printing its bootstrap servers");
        }
        Ok(MockCluster {
            child,
            stdin,
            bootstrap,
        })
    }

    fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One measurement, as `bench-client` reported it.
#[derive(Debug, Clone, Copy)]
struct Sample {
    records: u64,
    /// How far the topic's high watermarks advanced during the measurement.
    stored: i64,
    seconds: f64,
    cpu_s: f64,
    peak_rss_kib: u64,
    /// Transactions committed (transactional runs).
    transactions: u64,
    /// Commit markers those transactions wrote: one per partition per transaction.
    markers: u64,
    /// The Java client's whole-JVM CPU time (start-up and class loading included).
    process_cpu_s: Option<f64>,
}

/// Key plus value bytes per record: what "MB/s" counts.
const RECORD_BYTES: f64 = 110.0;

impl Sample {
    fn records_per_s(&self) -> f64 {
        self.records as f64 / self.seconds
    }

    fn mb_per_s(&self) -> f64 {
        self.records_per_s() * RECORD_BYTES / 1e6
    }

    fn cpu_per_million(&self) -> f64 {
        self.cpu_s / (self.records as f64 / 1e6)
    }

    fn rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }

    fn describe(&self) -> String {
        let mut line = format!(
            "{} rec/s, {:.1} MB/s, {:.2} CPU s per M records, peak RSS {:.1} MiB ({:.2} s)",
            thousands(self.records_per_s()),
            self.mb_per_s(),
            self.cpu_per_million(),
            self.rss_mib(),
            self.seconds
        );
        if let Some(total) = self.process_cpu_s {
            let _ = write!(line, "; whole JVM {total:.2} CPU s");
        }
        if self.transactions > 0 {
            let _ = write!(
                line,
                "; {} transactions, {} markers",
                thousands(self.transactions as f64),
                thousands(self.markers as f64)
            );
        }
        let with_markers = (self.records + self.markers) as i64;
        if self.markers > 0 && self.stored == with_markers {
            let _ = write!(
                line,
                "; high watermarks +{} (records + markers)",
                thousands(self.stored as f64)
            );
        } else if self.stored != self.records as i64 {
            let _ = write!(
                line,
                "; high watermarks +{} ({} short{})",
                thousands(self.stored as f64),
                thousands((with_markers - self.stored) as f64),
                if self.markers > 0 {
                    " of records + markers"
                } else {
                    ""
                }
            );
        }
        line
    }
}

fn measure(
    bins: &Bins,
    client: &str,
    bootstrap: &str,
    broker: Broker,
    opts: &Options,
) -> Result<Sample> {
    measure_at(bins, client, bootstrap, bootstrap, &[], broker, opts)
}

/// [`measure`] with the client connecting to `bootstrap` with `client_props` (`key=value`,
/// after the `-X` ones) and the high watermarks read through `watermarks` (a PLAINTEXT listener
/// of the same cluster).
fn measure_at(
    bins: &Bins,
    client: &str,
    bootstrap: &str,
    watermarks: &str,
    client_props: &[String],
    broker: Broker,
    opts: &Options,
) -> Result<Sample> {
    let records = opts.records(broker);
    let mut cmd = if client == "java" {
        bins.java
            .as_ref()
            .context("the Java client was not prepared")?
            .command(&opts.jvm_opts)
    } else {
        let mut cmd = Command::new(&bins.client);
        cmd.args(["--client", client]);
        cmd
    };
    let what = if client == "java" {
        "the Java client"
    } else {
        "bench-client"
    };
    cmd.args(["--bootstrap", bootstrap])
        .args(["--topic", TOPIC])
        .args(["--records", &records.to_string()])
        .args(["--key-size", "10", "--value-size", "100"])
        .args([
            "--acks",
            "all",
            "--linger-ms",
            "5",
            "--batch-size",
            "1048576",
        ])
        .args(["--compression", &opts.compression])
        .args(["--idempotence", &opts.idempotence]);
    if let Some(n) = opts.transaction_size {
        cmd.args(["--transaction-size", &n.to_string()]);
    }
    for kv in opts.extra.iter().chain(client_props) {
        cmd.args(["-X", kv]);
    }
    let before = high_watermark_sum(&bins.client, watermarks)?;
    let (status, stdout, stderr) = run_with_timeout(&mut cmd, opts.timeout)?;
    let Some(status) = status else {
        bail!(
            "killed after {} s; stderr: {}",
            opts.timeout.as_secs(),
            stderr.trim()
        );
    };
    ensure!(
        status.success(),
        "{what} exited with {status}: {}",
        stderr.trim()
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("{what} printed {stdout:?}; stderr: {}", stderr.trim()))?;
    let num = |k: &str| {
        v[k].as_f64()
            .with_context(|| format!("{what} output lacks {k}: {v}"))
    };
    let delivered = num("delivered")? as u64;
    let failed = num("failures")? as u64;
    ensure!(
        failed == 0 && delivered == records,
        "{delivered} of {records} records delivered, {failed} failed (first error: {})",
        v["first_error"]
    );
    let transactions = v["transactions"].as_u64().unwrap_or(0);
    let markers = v["txn_partitions"].as_u64().unwrap_or(0);
    if let Some(size) = opts.transaction_size {
        ensure!(
            transactions == records.div_ceil(size) && markers >= transactions,
            "{transactions} transactions committed ({markers} partition markers) for \
             {records} records of {size} per transaction"
        );
    }
    let stored = high_watermark_sum(&bins.client, watermarks)? - before;
    // The mock's offsets are exact: the records, plus the commit markers (one control record
    // per partition per transaction) of a mock that writes them (librdkafka 2.12's does not).
    // Kafka's are exact too, and it writes the markers. Tansu 0.6.0's high watermarks advance
    // by fewer than the records it acknowledged (about the first batch per partition of each
    // producer session, with either client), so there only a surplus over records + markers
    // (duplicates) is an error.
    let with_markers = (records + markers) as i64;
    let ok = match broker {
        Broker::Mock => stored == records as i64 || stored == with_markers,
        Broker::Kafka => stored == with_markers,
        Broker::Tansu => stored <= with_markers,
    };
    ensure!(
        ok,
        "the client counted {records} records delivered{} but the topic's high watermarks \
         advanced by {stored}",
        if markers > 0 {
            format!(" in {transactions} transactions ({markers} commit markers)")
        } else {
            String::new()
        }
    );
    Ok(Sample {
        records,
        stored,
        seconds: num("seconds")?,
        cpu_s: num("cpu_user_s")? + num("cpu_sys_s")?,
        peak_rss_kib: num("peak_rss_kib")? as u64,
        transactions,
        markers,
        process_cpu_s: v["process_cpu_s"].as_f64(),
    })
}

/// The sum of the topic's high watermarks, read by `bench-client --watermarks` (librdkafka's
/// ListOffsets, in a process of its own).
fn high_watermark_sum(bin: &PathBuf, bootstrap: &str) -> Result<i64> {
    let mut cmd = Command::new(bin);
    cmd.args(["--watermarks", bootstrap, TOPIC]);
    let (status, stdout, stderr) = run_with_timeout(&mut cmd, Duration::from_secs(60))?;
    ensure!(
        status.is_some_and(|s| s.success()),
        "reading the high watermarks failed: {}",
        stderr.trim()
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("bench-client --watermarks printed {stdout:?}"))?;
    v["high_watermark_sum"]
        .as_i64()
        .with_context(|| format!("bench-client --watermarks printed {v}"))
}

/// Reads the high watermarks until that succeeds (60 s at most).
fn wait_for_watermarks(bin: &PathBuf, bootstrap: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match high_watermark_sum(bin, bootstrap) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context("the new topic's high watermarks stayed unreadable"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// The broker's warnings and errors during a series (the node's log is deleted with the
/// cluster), as a note: how many, and the first few.
fn kafka_log_note(cluster: &KafkaCluster, title: &str) -> Option<String> {
    let log = std::fs::read_to_string(cluster.log_of(1)).unwrap_or_default();
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("] WARN ") || l.contains("] ERROR "))
        // A fresh cluster's controller says so once.
        .filter(|l| !l.contains("Performing controller activation"))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let mut note = format!(
        "{title}, kafka: the broker logged {} warning(s) or error(s); the first:",
        bad.len()
    );
    for line in bad.iter().take(5) {
        let line: String = line.chars().take(400).collect();
        let _ = write!(note, "\n    {line}");
    }
    Some(note)
}

/// Runs `cmd`, collecting its stdout and stderr; `None` status when it was killed at `timeout`.
fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(Option<std::process::ExitStatus>, String, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {cmd:?}"))?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok((status, stdout, stderr))
}

/// One line of the table: a client's medians on a broker.
#[derive(Debug, Clone)]
struct Row {
    broker: Broker,
    client: String,
    runs: usize,
    records_per_s: f64,
    mb_per_s: f64,
    cpu_per_million: f64,
    rss_mib: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        f64::midpoint(xs[n / 2 - 1], xs[n / 2])
    }
}

impl Row {
    fn median(broker: Broker, client: &str, samples: &[Sample]) -> Row {
        let m = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
        Row {
            broker,
            client: client.to_string(),
            runs: samples.len(),
            records_per_s: m(Sample::records_per_s),
            mb_per_s: m(Sample::mb_per_s),
            cpu_per_million: m(Sample::cpu_per_million),
            rss_mib: m(Sample::rss_mib),
        }
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn table(rows: &[Row], opts: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "medians; MB = 10^6 bytes of key+value; CPU = user+sys of the client process per \
         million records (lower is better); RSS = peak resident set (lower is better)"
    );
    let _ = writeln!(
        out,
        "{:<6} {:<22} {:>9} {:>5} {:>12} {:>8} {:>14} {:>13}",
        "broker", "client", "records", "runs", "records/s", "MB/s", "CPU s/M rec", "peak RSS MiB"
    );
    for &broker in &opts.brokers {
        let of = |c: &str| rows.iter().find(|r| r.broker == broker && r.client == c);
        for r in rows.iter().filter(|r| r.broker == broker) {
            let _ = writeln!(
                out,
                "{:<6} {:<22} {:>9} {:>5} {:>12} {:>8.1} {:>14.3} {:>13.1}",
                broker.name(),
                r.client,
                thousands(opts.records(broker) as f64),
                r.runs,
                thousands(r.records_per_s),
                r.mb_per_s,
                r.cpu_per_million,
                r.rss_mib
            );
        }
        for other in ["librdkafka", "java"] {
            if let (Some(f), Some(o)) = (of("ferrokafka"), of(other)) {
                let _ = writeln!(
                    out,
                    "{:<6} {:<22} {:>9} {:>5} {:>11.2}x {:>7.2}x {:>13.2}x {:>12.2}x",
                    broker.name(),
                    format!("ferrokafka/{other}"),
                    "",
                    "",
                    f.records_per_s / o.records_per_s,
                    f.mb_per_s / o.mb_per_s,
                    f.cpu_per_million / o.cpu_per_million,
                    f.rss_mib / o.rss_mib
                );
            }
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
    fn options_default_to_the_spec_workload_and_take_overrides() {
        let o = Options::parse(&[]).unwrap();
        assert_eq!(o.mock_records, 5_000_000);
        assert_eq!(o.runs, 5);
        assert_eq!(o.brokers, vec![Broker::Mock, Broker::Tansu]);
        assert_eq!(o.clients(Broker::Mock), vec!["librdkafka", "ferrokafka"]);
        assert_eq!(o.clients(Broker::Tansu), vec!["librdkafka", "ferrokafka"]);
        assert_eq!(
            o.clients(Broker::Kafka),
            vec!["librdkafka", "ferrokafka", "java"]
        );
        assert_eq!(o.compression, "none");
        let o = Options::parse(&args(
            "--records 10 --brokers tansu --runs 1 -X a=b -X c=d --compression lz4",
        ))
        .unwrap();
        assert_eq!(o.mock_records, 10);
        assert_eq!(o.brokers, vec![Broker::Tansu]);
        assert_eq!(o.extra, vec!["a=b", "c=d"]);
        assert_eq!(o.compression, "lz4");
        let o = Options::parse(&args(
            "--brokers kafka --kafka-records 9 --clients java,ferrokafka",
        ))
        .unwrap();
        assert_eq!(o.brokers, vec![Broker::Kafka]);
        assert_eq!(o.records(Broker::Kafka), 9);
        assert_eq!(o.clients(Broker::Mock), vec!["java", "ferrokafka"]);
        assert_eq!(o.jvm_opts, Vec::<String>::new());
        let o = Options::parse(&args("--jvm-opt -Xmx256m --jvm-opt -XX:+UseSerialGC")).unwrap();
        assert_eq!(o.jvm_opts, vec!["-Xmx256m", "-XX:+UseSerialGC"]);
        assert!(Options::parse(&args("--brokers redpanda")).is_err());
        assert!(Options::parse(&args("--clients kcat")).is_err());
        assert!(Options::parse(&args("--runs 0")).is_err());
        assert!(Options::parse(&args("stray")).is_err());
        assert!(Options::parse(&args("-X novalue")).is_err());
        assert!(
            Options::parse(&args("--no-ferrokafka"))
                .unwrap()
                .no_ferrokafka
        );
        assert!(!Options::parse(&[]).unwrap().no_ferrokafka);
    }

    #[test]
    fn modes_set_idempotence_and_transactions_and_scale_the_record_counts() {
        let base = Options::parse(&[]).unwrap();
        let plain = modes(None, &base).unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].opts.mock_records, 5_000_000);
        assert_eq!(plain[0].opts.transaction_size, None);
        let suite = modes(Some("suite"), &base).unwrap();
        let got: Vec<_> = suite
            .iter()
            .map(|m| {
                (
                    m.opts.idempotence.as_str(),
                    m.opts.transaction_size,
                    m.opts.mock_records,
                    m.opts.tansu_records,
                    m.opts.kafka_records,
                )
            })
            .collect();
        let (i, t) = (IDEMPOTENCE_RECORDS, TXN_RECORDS);
        assert_eq!(
            got,
            vec![
                ("true", None, 5_000_000, 5_000_000, 5_000_000),
                ("false", None, i.0, i.1, i.2),
                ("true", Some(1_000), t.0, t.1, t.2),
                ("true", Some(100_000), t.0, t.1, t.2),
            ]
        );
        let every = vec![Broker::Mock, Broker::Tansu, Broker::Kafka];
        assert!(suite.iter().all(|m| m.opts.brokers == every));
        assert_eq!(modes(None, &base).unwrap()[0].opts.brokers.len(), 2);
        let mock_only = Options::parse(&args("--brokers mock")).unwrap();
        assert!(
            modes(Some("suite"), &mock_only)
                .unwrap()
                .iter()
                .all(|m| m.opts.brokers == [Broker::Mock])
        );
        let idem = modes(Some("idempotence"), &base).unwrap();
        assert_eq!(idem.len(), 2);
        assert_eq!(idem[1].opts.idempotence, "false");
        let given = Options::parse(&args("--records 7")).unwrap();
        let txn = modes(Some("txn"), &given).unwrap();
        assert!(txn.iter().all(|m| m.opts.mock_records == 7));
        assert!(txn[0].title.contains("1,000 records per transaction"));
        let sized = Options::parse(&args("--transaction-size 10")).unwrap();
        assert_eq!(sized.transaction_size, Some(10));
        assert!(modes(Some("txn"), &sized).is_err());
        assert!(Options::parse(&args("--transaction-size 10 --idempotence false")).is_err());
        assert!(Options::parse(&args("--transaction-size 0")).is_err());
    }

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
    }

    #[test]
    fn the_table_has_a_ratio_line_only_when_both_clients_ran() {
        let opts = Options::parse(&args("--brokers mock --records 1000000")).unwrap();
        let s = |seconds, cpu_s, kib| Sample {
            records: 1_000_000,
            stored: 1_000_000,
            seconds,
            cpu_s,
            peak_rss_kib: kib,
            transactions: 0,
            markers: 0,
            process_cpu_s: None,
        };
        let l = Row::median(Broker::Mock, "librdkafka", &[s(1.0, 1.0, 40 * 1024)]);
        let t = table(std::slice::from_ref(&l), &opts);
        assert!(t.contains("1,000,000"), "{t}");
        assert!(!t.contains("ferrokafka/librdkafka"), "{t}");
        let f = Row::median(Broker::Mock, "ferrokafka", &[s(0.5, 0.5, 20 * 1024)]);
        let t = table(&[l.clone(), f.clone()], &opts);
        assert!(t.contains("ferrokafka/librdkafka"), "{t}");
        assert!(!t.contains("ferrokafka/java"), "{t}");
        assert!(t.contains("2.00x"), "{t}");
        assert!(t.contains("0.50x"), "{t}");
        let j = Row::median(Broker::Mock, "java", &[s(2.0, 2.0, 80 * 1024)]);
        let t = table(&[l, f, j], &opts);
        assert!(t.contains("ferrokafka/java"), "{t}");
        assert!(t.contains("4.00x"), "{t}");
        assert!(t.contains("0.25x"), "{t}");
    }
}
