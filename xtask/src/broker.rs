//! `cargo xtask broker start|stop|status` and `cargo xtask demo`.
//!
//! `broker start` leaves a Tansu broker running after xtask exits and records it in
//! `target/peers/broker.pid` (three lines: pid, bootstrap address, log file). `stop` and `status`
//! read that file; before signalling a pid they check it still belongs to a process named `tansu`,
//! so a stale file never makes us kill an unrelated process.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ferrokafka_tests::paths::peers_dir;
use ferrokafka_tests::tansu::{self, Tansu};
use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, SUPPORTED_APIS};

use crate::util::take_option;

const DEFAULT_PORT: u16 = 9092;

/// What `broker start` recorded.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    pid: u32,
    addr: String,
    log: PathBuf,
}

impl Record {
    fn render(&self) -> String {
        format!("{}\n{}\n{}\n", self.pid, self.addr, self.log.display())
    }

    fn parse(text: &str) -> Option<Record> {
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let addr = lines.next()?.trim().to_string();
        let log = PathBuf::from(lines.next().unwrap_or_default().trim());
        Some(Record { pid, addr, log })
    }
}

fn pid_file() -> PathBuf {
    peers_dir().join("broker.pid")
}

fn read_record() -> Result<Option<Record>> {
    let path = pid_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Ok(Some(Record::parse(&text).with_context(|| {
                format!("{} is malformed", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

/// Whether `pid` is a live (not zombie) process named `tansu` (Linux `/proc`).
fn is_tansu(pid: u32) -> bool {
    let named =
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "tansu");
    // `/proc/PID/stat` is "pid (comm) STATE ..."; a zombie has exited but is not reaped yet.
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false);
    named && !zombie
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let mut args = args.to_vec();
    let port = take_option(&mut args, "--port")?
        .map(|p| {
            p.parse::<u16>()
                .with_context(|| format!("bad --port {p:?}"))
        })
        .transpose()?;
    let Some(sub) = args.first().cloned() else {
        bail!("usage: cargo xtask broker start [--port P] | stop | status");
    };
    if args.len() > 1 {
        bail!("unexpected arguments {:?}", &args[1..]);
    }
    if port.is_some() && sub != "start" {
        bail!("--port only applies to `broker start`");
    }
    match sub.as_str() {
        "start" => start(port.unwrap_or(DEFAULT_PORT)),
        "stop" => stop(),
        "status" => status(),
        other => bail!("unknown broker command `{other}` (start, stop, status)"),
    }
}

fn start(port: u16) -> Result<ExitCode> {
    if let Some(rec) = read_record()?
        && is_tansu(rec.pid)
    {
        println!("tansu already running (pid {}) at {}", rec.pid, rec.addr);
        println!("{}", rec.addr);
        return Ok(ExitCode::SUCCESS);
    }
    let bin = tansu::install()?;
    println!("tansu: {} ({})", bin.display(), tansu::version_of(&bin)?);
    let broker =
        Tansu::start_on(port, true).with_context(|| format!("start tansu on 127.0.0.1:{port}"))?;
    let rec = Record {
        pid: 0,
        addr: broker.bootstrap(),
        log: broker.log_path().to_path_buf(),
    };
    let pid = broker.detach();
    let rec = Record { pid, ..rec };
    let path = pid_file();
    std::fs::write(&path, rec.render()).with_context(|| format!("write {}", path.display()))?;
    println!(
        "tansu started (pid {pid}), log {}, pid file {}",
        rec.log.display(),
        path.display()
    );
    println!("{}", rec.addr);
    Ok(ExitCode::SUCCESS)
}

fn signal(pid: u32, sig: &str) -> Result<()> {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .context("run kill")?;
    if !st.success() && is_tansu(pid) {
        bail!("kill {sig} {pid} failed ({st})");
    }
    Ok(())
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !is_tansu(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !is_tansu(pid)
}

fn stop() -> Result<ExitCode> {
    let Some(rec) = read_record()? else {
        println!(
            "no broker recorded in {}; nothing to stop",
            pid_file().display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    if is_tansu(rec.pid) {
        signal(rec.pid, "-TERM")?;
        if !wait_gone(rec.pid, Duration::from_secs(5)) {
            signal(rec.pid, "-KILL")?;
            if !wait_gone(rec.pid, Duration::from_secs(5)) {
                bail!("tansu (pid {}) did not exit", rec.pid);
            }
        }
        println!("tansu (pid {}) at {} stopped", rec.pid, rec.addr);
    } else {
        println!(
            "tansu (pid {}) was not running; removing the stale record",
            rec.pid
        );
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
    match read_record()? {
        Some(rec) if is_tansu(rec.pid) => {
            let reachable = TcpStream::connect(&rec.addr).is_ok();
            println!(
                "tansu running (pid {}) at {} ({}), log {}",
                rec.pid,
                rec.addr,
                if reachable {
                    "accepting connections"
                } else {
                    "NOT accepting connections"
                },
                rec.log.display()
            );
            Ok(if reachable {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(rec) => {
            println!(
                "tansu not running (stale record: pid {} at {})",
                rec.pid, rec.addr
            );
            Ok(ExitCode::FAILURE)
        }
        None => {
            println!("tansu not running (no {})", pid_file().display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `cargo xtask demo`: start a broker, talk Kafka to it through `ferrokafka-wire`
/// (ApiVersions, version negotiation, Metadata), stop it. Producing records lands
/// with the producer.
pub(crate) fn demo() -> Result<ExitCode> {
    let bin = tansu::install()?;
    let version = tansu::version_of(&bin)?;
    let broker = Tansu::start()?;
    println!(
        "started {version} at {} (pid {})",
        broker.bootstrap(),
        broker.pid().unwrap_or(0)
    );
    broker.create_topic("demo", 3)?;
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
    use super::Record;
    use std::path::PathBuf;

    #[test]
    fn pid_records_round_trip() {
        let rec = Record {
            pid: 4242,
            addr: "127.0.0.1:9092".into(),
            log: PathBuf::from("/t/peers/logs/tansu.log"),
        };
        assert_eq!(Record::parse(&rec.render()), Some(rec));
        assert_eq!(Record::parse("not a pid\n"), None);
        assert_eq!(Record::parse(""), None);
    }
}
