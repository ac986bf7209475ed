//! `cargo xtask broker start|stop|status` and `cargo xtask demo`.
//!
//! `broker start` leaves a broker running after xtask exits: Tansu by default (it starts in
//! milliseconds), or Apache Kafka with `--kind kafka` (a KRaft cluster of `--nodes` combined
//! broker+controller nodes). It records what it started in `target/peers/broker.pid` (four lines:
//! kind, the pids separated by commas, the bootstrap address, the log file or cluster directory).
//! `stop` and `status` read that file; before signalling a pid they check it still belongs to a
//! process of that kind (`tansu`, or a `java` running our broker entry point), so a stale file
//! never makes us kill an unrelated process.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ferrokafka_tests::kafka::{self, KafkaCluster, KafkaOptions};
use ferrokafka_tests::paths::peers_dir;
use ferrokafka_tests::tansu::{self, Tansu};
use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, SUPPORTED_APIS};

use crate::util::take_option;

const DEFAULT_PORT: u16 = 9092;

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tansu,
    Kafka,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind> {
        match s {
            "tansu" => Ok(Kind::Tansu),
            "kafka" => Ok(Kind::Kafka),
            other => bail!("unknown broker kind `{other}` (tansu, kafka)"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Tansu => "tansu",
            Kind::Kafka => "kafka",
        }
    }
}

/// Takes `--kind tansu|kafka` out of `args` (default Tansu).
pub(crate) fn take_kind(args: &mut Vec<String>) -> Result<Kind> {
    take_option(args, "--kind")?.map_or(Ok(Kind::Tansu), |k| Kind::parse(&k))
}

/// What `broker start` recorded.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    kind: Kind,
    pids: Vec<u32>,
    addr: String,
    /// Tansu's log file, or the Kafka cluster's directory (configs, storage, one log per node).
    path: PathBuf,
}

impl Record {
    /// The recorded processes still running.
    fn alive(&self) -> Vec<u32> {
        let pids = self.pids.iter().copied();
        pids.filter(|&p| is_alive(self.kind, p)).collect()
    }

    fn render(&self) -> String {
        let pids: Vec<String> = self.pids.iter().map(ToString::to_string).collect();
        format!(
            "{}\n{}\n{}\n{}\n",
            self.kind.name(),
            pids.join(","),
            self.addr,
            self.path.display()
        )
    }

    fn parse(text: &str) -> Option<Record> {
        let mut lines = text.lines();
        let kind = Kind::parse(lines.next()?.trim()).ok()?;
        let pids = lines
            .next()?
            .split(',')
            .map(|p| p.trim().parse().ok())
            .collect::<Option<Vec<u32>>>()?;
        if pids.is_empty() {
            return None;
        }
        let addr = lines.next()?.trim().to_string();
        let path = PathBuf::from(lines.next().unwrap_or_default().trim());
        Some(Record {
            kind,
            pids,
            addr,
            path,
        })
    }
}

fn pid_file() -> PathBuf {
    peers_dir().join("broker.pid")
}

fn read_record() -> Result<Option<Record>> {
    let path = pid_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(Record::parse(&text).with_context(|| {
            format!("{} is malformed; remove it", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

/// Whether `pid` is a live (not zombie) process of that kind (Linux `/proc`).
fn is_alive(kind: Kind, pid: u32) -> bool {
    let ours = match kind {
        Kind::Tansu => {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "tansu")
        }
        Kind::Kafka => std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("FerroKafkaHelper\0broker")),
    };
    // `/proc/PID/stat` is "pid (comm) STATE ..."; a zombie has exited but is not reaped yet.
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false);
    ours && !zombie
}

/// The value of option `name`, which must be one of `choices`.
fn take_choice(args: &mut Vec<String>, name: &str, choices: [u8; 2]) -> Result<Option<u8>> {
    take_option(args, name)?
        .map(|v| match choices.iter().find(|c| c.to_string() == v) {
            Some(&c) => Ok(c),
            None => bail!("{name} must be {} or {}, not {v:?}", choices[0], choices[1]),
        })
        .transpose()
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    const USAGE: &str = "usage: cargo xtask broker start [--kind tansu|kafka] [--nodes 1|3] \
                         [--port P] [--transaction-version 0|2] | stop | status";
    let mut args = args.to_vec();
    let port = take_option(&mut args, "--port")?
        .map(|p| {
            p.parse::<u16>()
                .with_context(|| format!("bad --port {p:?}"))
        })
        .transpose()?;
    let kind_given = args.iter().any(|a| a.starts_with("--kind"));
    let kind = take_kind(&mut args)?;
    let nodes = take_choice(&mut args, "--nodes", [1, 3])?;
    let tv = take_choice(&mut args, "--transaction-version", [0, 2])?;
    let Some(sub) = args.first().cloned() else {
        bail!("{USAGE}");
    };
    if args.len() > 1 {
        bail!("unexpected arguments {:?}\n{USAGE}", &args[1..]);
    }
    if (port.is_some() || kind_given || nodes.is_some() || tv.is_some()) && sub != "start" {
        bail!("--port, --kind, --nodes and --transaction-version only apply to `broker start`");
    }
    if kind == Kind::Tansu && (nodes.is_some() || tv.is_some()) {
        bail!("--nodes and --transaction-version need --kind kafka");
    }
    match sub.as_str() {
        "start" => match kind {
            Kind::Tansu => start_tansu(port.unwrap_or(DEFAULT_PORT)),
            Kind::Kafka => start_kafka(
                port.unwrap_or(DEFAULT_PORT),
                nodes.unwrap_or(1),
                tv.unwrap_or(2),
            ),
        },
        "stop" => stop(),
        "status" => status(),
        other => bail!("unknown broker command `{other}` (start, stop, status)"),
    }
}

/// Refuses to start a second broker while the recorded one runs.
fn already_running() -> Result<bool> {
    if let Some(rec) = read_record()?
        && !rec.alive().is_empty()
    {
        println!(
            "{} already running (pids {:?}) at {}; `cargo xtask broker stop` first to change it",
            rec.kind.name(),
            rec.pids,
            rec.addr
        );
        println!("{}", rec.addr);
        return Ok(true);
    }
    Ok(false)
}

fn write_record(rec: &Record) -> Result<()> {
    let path = pid_file();
    std::fs::write(&path, rec.render()).with_context(|| format!("write {}", path.display()))
}

fn start_tansu(port: u16) -> Result<ExitCode> {
    if already_running()? {
        return Ok(ExitCode::SUCCESS);
    }
    let bin = tansu::install()?;
    println!("tansu: {} ({})", bin.display(), tansu::version_of(&bin)?);
    let broker =
        Tansu::start_on(port, true).with_context(|| format!("start tansu on 127.0.0.1:{port}"))?;
    let addr = broker.bootstrap();
    let log = broker.log_path().to_path_buf();
    let pid = broker.detach();
    write_record(&Record {
        kind: Kind::Tansu,
        pids: vec![pid],
        addr: addr.clone(),
        path: log.clone(),
    })?;
    println!(
        "tansu started (pid {pid}), log {}, pid file {}",
        log.display(),
        pid_file().display()
    );
    println!("{addr}");
    Ok(ExitCode::SUCCESS)
}

fn start_kafka(port: u16, nodes: u8, transaction_version: u8) -> Result<ExitCode> {
    if already_running()? {
        return Ok(ExitCode::SUCCESS);
    }
    for i in 0..u16::from(nodes) {
        let p = port + i;
        if TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], p)),
            Duration::from_millis(250),
        )
        .is_ok()
        {
            bail!("127.0.0.1:{p} is already in use");
        }
    }
    println!(
        "Apache Kafka {} (jars cached under {}), {nodes} node(s), transaction.version={transaction_version}",
        kafka::VERSION,
        peers_dir().display()
    );
    let started = Instant::now();
    let cluster = KafkaCluster::start(KafkaOptions {
        nodes,
        transaction_version,
        port: Some(port),
        heap_mb: 1024,
        test_jvm: false,
        detached: true,
        ..KafkaOptions::default()
    })?;
    let addr = cluster.bootstrap();
    let dir = cluster.dir().to_path_buf();
    let pids = cluster.detach();
    write_record(&Record {
        kind: Kind::Kafka,
        pids: pids.clone(),
        addr: addr.clone(),
        path: dir.clone(),
    })?;
    println!(
        "kafka started in {:.1} s (pids {pids:?}); configs, storage and node logs in {}; pid file {}",
        started.elapsed().as_secs_f64(),
        dir.display(),
        pid_file().display()
    );
    println!("{addr}");
    Ok(ExitCode::SUCCESS)
}

fn signal(kind: Kind, pid: u32, sig: &str) -> Result<()> {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .context("run kill")?;
    if !st.success() && is_alive(kind, pid) {
        bail!("kill {sig} {pid} failed ({st})");
    }
    Ok(())
}

fn wait_gone(kind: Kind, pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !is_alive(kind, pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !is_alive(kind, pid)
}

fn stop() -> Result<ExitCode> {
    let Some(rec) = read_record()? else {
        println!(
            "no broker recorded in {}; nothing to stop",
            pid_file().display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let name = rec.kind.name();
    // A Kafka node's controlled shutdown takes a few seconds; Tansu exits at once.
    let grace = match rec.kind {
        Kind::Tansu => Duration::from_secs(5),
        Kind::Kafka => Duration::from_secs(30),
    };
    let alive = rec.alive();
    for &pid in &alive {
        signal(rec.kind, pid, "-TERM")?;
    }
    for &pid in &alive {
        if !wait_gone(rec.kind, pid, grace) {
            signal(rec.kind, pid, "-KILL")?;
            if !wait_gone(rec.kind, pid, Duration::from_secs(5)) {
                bail!("{name} (pid {pid}) did not exit");
            }
        }
    }
    if alive.is_empty() {
        println!(
            "{name} (pids {:?}) was not running; removing the stale record",
            rec.pids
        );
    } else {
        println!("{name} (pids {alive:?}) at {} stopped", rec.addr);
    }
    if rec.kind == Kind::Kafka && rec.path.starts_with(peers_dir()) && rec.path.is_dir() {
        std::fs::remove_dir_all(&rec.path)
            .with_context(|| format!("remove {}", rec.path.display()))?;
    }
    remove(&pid_file())?;
    Ok(ExitCode::SUCCESS)
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn status() -> Result<ExitCode> {
    let Some(rec) = read_record()? else {
        println!("no broker running (no {})", pid_file().display());
        return Ok(ExitCode::FAILURE);
    };
    let name = rec.kind.name();
    let alive = rec.alive();
    if alive.is_empty() {
        println!(
            "{name} not running (stale record: pids {:?} at {})",
            rec.pids, rec.addr
        );
        return Ok(ExitCode::FAILURE);
    }
    let reachable: Vec<&str> = rec
        .addr
        .split(',')
        .filter(|a| TcpStream::connect(a).is_ok())
        .collect();
    let all = alive.len() == rec.pids.len() && reachable.len() == rec.addr.split(',').count();
    println!(
        "{name} running (pids {alive:?} of {:?}) at {} ({} of the addresses accepting connections), {}",
        rec.pids,
        rec.addr,
        reachable.len(),
        rec.path.display()
    );
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A broker the demo started; dropping it stops it.
enum DemoBroker {
    Tansu(Tansu),
    Kafka(KafkaCluster),
}

impl DemoBroker {
    fn bootstrap(&self) -> String {
        match self {
            DemoBroker::Tansu(b) => b.bootstrap(),
            DemoBroker::Kafka(c) => c.bootstrap(),
        }
    }
}

/// `cargo xtask demo [--kind tansu|kafka]`: start a broker, talk Kafka to it through
/// `ferrokafka-wire` (ApiVersions, version negotiation, Metadata), produce through the producer,
/// stop it.
pub(crate) fn demo(args: &[String]) -> Result<ExitCode> {
    let mut args = args.to_vec();
    let kind = take_kind(&mut args)?;
    if !args.is_empty() {
        bail!("usage: cargo xtask demo [--kind tansu|kafka]; unexpected {args:?}");
    }
    let broker = match kind {
        Kind::Tansu => {
            let bin = tansu::install()?;
            let version = tansu::version_of(&bin)?;
            let broker = Tansu::start()?;
            println!(
                "started {version} at {} (pid {})",
                broker.bootstrap(),
                broker.pid().unwrap_or(0)
            );
            broker.create_topic("demo", 3)?;
            DemoBroker::Tansu(broker)
        }
        Kind::Kafka => {
            println!(
                "starting Apache Kafka {} (one KRaft node; the first run fetches its jars with Maven)",
                kafka::VERSION
            );
            let started = Instant::now();
            let cluster = KafkaCluster::start(KafkaOptions {
                heap_mb: 1024,
                test_jvm: false,
                ..KafkaOptions::default()
            })?;
            println!(
                "started Apache Kafka {} at {} in {:.1} s (pid {})",
                kafka::VERSION,
                cluster.bootstrap(),
                started.elapsed().as_secs_f64(),
                cluster.pid_of(1).unwrap_or(0)
            );
            cluster.create_topic("demo", 3, 1, &[])?;
            DemoBroker::Kafka(cluster)
        }
    };
    println!("created topic `demo` with 3 partitions");

    let mut client = WireClient::connect(&broker.bootstrap())?;
    let (versions, used) = client.api_versions()?;
    println!(
        "\nApiVersions v{used}: the broker lists {} APIs",
        versions.api_keys.len()
    );
    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions)?;
    println!(
        "{:<20} {:>10} {:>10} {:>10}",
        "API", "ours", "broker", "use"
    );
    for &(api, min, max) in SUPPORTED_APIS {
        let broker_range = versions
            .range(api)
            .map_or_else(|| "-".to_owned(), |(lo, hi)| format!("{lo}..={hi}"));
        let chosen = negotiated
            .version(api)
            .map_or_else(|_| "none".to_owned(), |v| format!("v{v}"));
        println!(
            "{:<20} {:>10} {:>10} {:>10}",
            api.to_string(),
            format!("{min}..={max}"),
            broker_range,
            chosen
        );
    }

    let metadata_version = negotiated.version(ApiKey::METADATA)?;
    let md = client.metadata(metadata_version, Some(&["demo"]))?;
    println!(
        "\nMetadata v{metadata_version}: cluster {:?}, {} broker(s)",
        md.cluster_id.as_deref().unwrap_or("-"),
        md.brokers.len()
    );
    for topic in &md.topics {
        let mut partitions: Vec<_> = topic
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.leader_id, p.leader_epoch))
            .collect();
        partitions.sort_unstable();
        for (index, leader, epoch) in partitions {
            println!(
                "  {}[{index}] leader {leader} epoch {epoch}",
                topic.name.as_deref().unwrap_or("?")
            );
        }
    }
    drop(client);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the tokio runtime")?;
    runtime.block_on(produce_demo(&broker.bootstrap()))?;
    drop(broker);
    println!("stopped the broker");
    Ok(ExitCode::SUCCESS)
}

/// Records of the throughput part of the demo.
const DEMO_RECORDS: usize = 1_000_000;
/// Value size of those records (bytes), as in the bench.
const DEMO_VALUE_SIZE: usize = 100;

/// Produces through the facade: a few keyed records with their delivery reports, then a
/// throughput run with a perf summary and the producer's metrics.
async fn produce_demo(bootstrap: &str) -> Result<()> {
    use ferrokafka::{Producer, ProducerConfig, ProducerRecord};

    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", bootstrap),
        ("client.id", "ferrokafka-demo"),
        ("acks", "all"),
        ("linger.ms", "5"),
        ("batch.size", "1048576"),
        ("compression.type", "lz4"),
    ])?;
    println!(
        "\nproducer: acks=all, idempotence {}, linger.ms=5, batch.size=1 MiB, compression lz4",
        if config.enable_idempotence {
            "on"
        } else {
            "off"
        }
    );
    let producer = Producer::new(config)?;

    println!("\ndelivery reports:");
    for (key, value) in [
        ("alice", "signed up"),
        ("bob", "ordered tea"),
        ("carol", "paid 12.50"),
        ("alice", "ordered coffee"),
        ("dave", "left a review"),
    ] {
        let record = ProducerRecord::new("demo")
            .with_key(key.as_bytes().to_vec())
            .with_value(value.as_bytes().to_vec())
            .with_header("source", Some("xtask-demo"));
        let md = producer.send(record).await?.await?;
        println!(
            "  key {key:<6} -> {}[{}] offset {} (timestamp {})",
            md.topic(),
            md.partition(),
            md.offset()
                .map_or_else(|| "-".to_owned(), |o| o.to_string()),
            md.timestamp()
        );
    }

    println!(
        "\nthroughput: {DEMO_RECORDS} records of {DEMO_VALUE_SIZE} bytes with 10-byte keys \
         (xtask is a debug build: `cargo xtask bench` measures optimized builds)"
    );
    let value = bytes::Bytes::from(vec![b'x'; DEMO_VALUE_SIZE]);
    let latencies = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(DEMO_RECORDS)));
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = std::time::Instant::now();
    for i in 0..DEMO_RECORDS {
        let record = ProducerRecord::new("demo")
            .with_key(format!("{:010}", i % 100_000).into_bytes())
            .with_value(value.clone());
        let sent_at = std::time::Instant::now();
        let latencies = latencies.clone();
        let failures = failures.clone();
        producer
            .send_with_callback(record, move |result| {
                if result.is_ok() {
                    latencies
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(sent_at.elapsed());
                } else {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .await?;
    }
    producer.flush(std::time::Duration::from_secs(120)).await?;
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = std::mem::take(
        &mut *latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    lat.sort_unstable();
    let ms = |i: usize| {
        lat.get(i.min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let n = lat.len();
    #[allow(clippy::cast_precision_loss)]
    let (rate, mbps) = (
        n as f64 / elapsed,
        (n * (DEMO_VALUE_SIZE + 10)) as f64 / elapsed / (1024.0 * 1024.0),
    );
    println!(
        "{n} records sent, {rate:.1} records/sec ({mbps:.2} MB/sec), {:.2} ms max latency, \
         {:.0} ms 50th, {:.0} ms 95th, {:.0} ms 99th, {} failed",
        ms(n),
        ms(n / 2),
        ms(n * 95 / 100),
        ms(n * 99 / 100),
        failures.load(std::sync::atomic::Ordering::Relaxed)
    );
    let metrics = producer.metrics();
    println!("\nmetrics:");
    for name in [
        "record-send-total",
        "record-error-total",
        "record-retry-total",
        "request-total",
        "request-latency-avg",
        "request-latency-max",
        "batch-size-avg",
        "records-per-request-avg",
        "buffer-available-bytes",
    ] {
        println!(
            "  {name:<24} {:>14.2}",
            metrics.get(name).unwrap_or(f64::NAN)
        );
    }
    producer.close(std::time::Duration::from_secs(10)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Kind, Record};
    use std::path::PathBuf;

    #[test]
    fn pid_records_round_trip() {
        let rec = Record {
            kind: Kind::Tansu,
            pids: vec![4242],
            addr: "127.0.0.1:9092".into(),
            path: PathBuf::from("/t/peers/logs/tansu.log"),
        };
        assert_eq!(Record::parse(&rec.render()), Some(rec));
        let rec = Record {
            kind: Kind::Kafka,
            pids: vec![1, 2, 3],
            addr: "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094".into(),
            path: PathBuf::from("/t/peers/kafka-runs/detached-1"),
        };
        assert_eq!(Record::parse(&rec.render()), Some(rec));
        assert_eq!(Record::parse("not a pid\n"), None);
        assert_eq!(Record::parse("kafka\n\n127.0.0.1:1\n"), None);
        assert_eq!(Record::parse("redis\n1\n127.0.0.1:1\n"), None);
        assert_eq!(Record::parse(""), None);
    }
}
