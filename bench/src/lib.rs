//! End-to-end producer benchmark: one measurement per process.
//!
//! `cargo xtask bench` builds this crate in release, starts the brokers and runs the
//! `bench-client` binary once per (broker, client, repetition), so each measurement's CPU time
//! and peak RSS belong to one client alone. The `mock-cluster` binary hosts librdkafka's mock
//! cluster in a process of its own, so the mock's CPU is not charged to the client either.
//!
//! Both clients get the same workload properties under the same names (`bootstrap.servers`,
//! `acks`, `linger.ms`, `batch.size`, `compression.type`, `enable.idempotence` mean the same in
//! librdkafka and in the Java producer whose configuration ferrokafka follows), the same keys and
//! the same values, and must see every delivery acknowledged before the clock stops.

// Record counts, byte counts and clock ticks stay far below 2^52.
#![allow(clippy::cast_precision_loss)]

pub mod latency;
pub mod rdk;

#[cfg(any(feature = "ferrokafka-client", feature = "rust-peers"))]
pub mod drive;
#[cfg(feature = "ferrokafka-client")]
pub mod ferro;
#[cfg(feature = "rust-peers")]
pub mod peers;

pub use latency::{LATENCY_WARMUP, Latencies, Pacer};

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

/// Which client a measurement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Librdkafka,
    Ferrokafka,
    /// The pure-Rust peers (feature `rust-peers`, bench/src/peers/).
    Krafka,
    Kacrab,
    Rskafka,
}

impl Client {
    pub const ALL: [Client; 5] = [
        Client::Librdkafka,
        Client::Ferrokafka,
        Client::Krafka,
        Client::Kacrab,
        Client::Rskafka,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Client::Librdkafka => "librdkafka",
            Client::Ferrokafka => "ferrokafka",
            Client::Krafka => "krafka",
            Client::Kacrab => "kacrab",
            Client::Rskafka => "rskafka",
        }
    }

    fn parse(s: &str) -> Result<Client> {
        Client::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .with_context(|| {
                format!("unknown client {s:?} (librdkafka, ferrokafka, krafka, kacrab or rskafka)")
            })
    }

    /// Whether this build of the crate can run the client (its cargo feature is on).
    pub fn built(self) -> bool {
        match self {
            Client::Librdkafka => true,
            Client::Ferrokafka => FERROKAFKA_BUILT,
            Client::Krafka | Client::Kacrab | Client::Rskafka => PEERS_BUILT,
        }
    }
}

/// Whether this build can run the ferrokafka client.
pub const FERROKAFKA_BUILT: bool = cfg!(feature = "ferrokafka-client");

/// Whether this build can run the pure-Rust peers (krafka, kacrab, rskafka).
pub const PEERS_BUILT: bool = cfg!(feature = "rust-peers");

/// The exit code of `bench-client --client ferrokafka` in a build without the
/// `ferrokafka-client` feature, so the orchestrator can tell "not built" from a failure.
pub const EXIT_NOT_BUILT: u8 = 3;

/// One measurement's parameters (the command line of `bench-client`).
#[derive(Debug, Clone)]
pub struct Params {
    pub client: Client,
    pub bootstrap: String,
    pub topic: String,
    pub records: u64,
    pub key_size: usize,
    pub value_size: usize,
    pub acks: String,
    pub linger_ms: u64,
    pub batch_size: u64,
    pub compression: String,
    pub idempotence: bool,
    /// ferrokafka only: how many delivery futures may be outstanding at once.
    pub max_pending: usize,
    /// How long the final flush may take.
    pub flush_timeout: Duration,
    /// Extra `key=value` properties, applied after the workload's.
    pub extra: Vec<(String, String)>,
    /// Transactional runs: records per transaction (begin, send N, commit, until `records`).
    pub transaction_size: Option<u64>,
    /// The `transactional.id` of a transactional run: `--transactional-id`, or one made unique
    /// per run (client, process id, time) so no run fences or resumes another's.
    pub transactional_id: Option<String>,
    /// `--throughput N`: send at most N records/s (paced from the start), and measure each
    /// record's delivery latency (send call to delivery report). `None`: as fast as possible,
    /// no latency measured.
    pub throughput: Option<u64>,
}

impl Params {
    /// Whether records carry a key (`--key-size 0`: keyless, as kafka-producer-perf-test).
    pub fn keyed(&self) -> bool {
        self.key_size > 0
    }
}

pub const USAGE: &str = "\
usage: bench-client --client librdkafka|ferrokafka --bootstrap HOST:PORT --topic T [options]
       bench-client --capabilities    (prints {\"clients\": [...]}: the clients this build runs)
       bench-client --watermarks BOOTSTRAP TOPIC    (prints {\"high_watermark_sum\": N})

  --records N            records to produce (default 1000000)
  --key-size N           key bytes, distinct per record (default 10; 0: keyless records)
  --value-size N         value bytes (default 100)
  --acks A               (default all)
  --linger-ms N          (default 5)
  --batch-size N         (default 1048576)
  --compression C        none, gzip, snappy, lz4, zstd (default none)
  --idempotence B        true or false (default true)
  --max-pending N        ferrokafka: outstanding delivery futures (default 100000)
  --flush-timeout-s N    (default 120; also the limit of each transactional call)
  --transaction-size N   transactional: init_transactions, then begin, send N records, commit,
                         until --records are sent (the last transaction may be shorter); the
                         commits are inside the measurement (default: not transactional)
  --transactional-id ID  (default: unique per run, ferrokafka-bench-CLIENT-PID-NANOS)
  --throughput N         send at most N records/s and measure each record's delivery latency
                         (those sent in the first second are not counted: start-up); default:
                         unthrottled, no latency
  -X key=value           extra client property (repeatable)

Prints one JSON line: client, records, delivered, failures, first_error, seconds, cpu_user_s,
cpu_sys_s, peak_rss_kib, transactions, txn_partitions (the sum over transactions of the
partitions each wrote: one commit marker each, on a broker that writes markers), and with
--throughput latency_p50_ms, latency_p99_ms, latency_p999_ms, latency_max_ms.

       bench-client --exec PROGRAM [ARGS...]
Runs PROGRAM (e.g. `ferrokafka-cli perf ...`) as a child and prints one JSON line: exit_code,
seconds, cpu_user_s, cpu_sys_s (the child's, from this process's cutime/cstime once it has been
waited for), peak_rss_kib (the child's VmHWM, sampled every 5 ms until it exits), stdout, stderr.
";

impl Params {
    pub fn parse(args: &[String]) -> Result<Params> {
        let mut client = None;
        let mut bootstrap = None;
        let mut topic = None;
        let mut p = Params {
            client: Client::Librdkafka,
            bootstrap: String::new(),
            topic: String::new(),
            records: 1_000_000,
            key_size: 10,
            value_size: 100,
            acks: "all".into(),
            linger_ms: 5,
            batch_size: 1_048_576,
            compression: "none".into(),
            idempotence: true,
            max_pending: 100_000,
            flush_timeout: Duration::from_secs(120),
            extra: Vec::new(),
            transaction_size: None,
            transactional_id: None,
            throughput: None,
        };
        let mut transactional_id = None;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--client" => client = Some(Client::parse(&value()?)?),
                "--bootstrap" => bootstrap = Some(value()?),
                "--topic" => topic = Some(value()?),
                "--records" => p.records = number(flag, &value()?)?,
                "--key-size" => p.key_size = number(flag, &value()?)?,
                "--value-size" => p.value_size = number(flag, &value()?)?,
                "--acks" => p.acks = value()?,
                "--linger-ms" => p.linger_ms = number(flag, &value()?)?,
                "--batch-size" => p.batch_size = number(flag, &value()?)?,
                "--compression" => p.compression = value()?,
                "--idempotence" => {
                    p.idempotence = match value()?.as_str() {
                        "true" => true,
                        "false" => false,
                        other => bail!("--idempotence takes true or false, got {other:?}"),
                    }
                }
                "--max-pending" => p.max_pending = number(flag, &value()?)?,
                "--flush-timeout-s" => {
                    p.flush_timeout = Duration::from_secs(number(flag, &value()?)?);
                }
                "--transaction-size" => p.transaction_size = Some(number(flag, &value()?)?),
                "--transactional-id" => transactional_id = Some(value()?),
                "--throughput" => {
                    let n: u64 = number(flag, &value()?)?;
                    ensure!(n > 0, "--throughput must be positive");
                    p.throughput = Some(n);
                }
                "-X" => {
                    let kv = value()?;
                    let (k, v) = kv
                        .split_once('=')
                        .with_context(|| format!("-X takes key=value, got {kv:?}"))?;
                    p.extra.push((k.to_string(), v.to_string()));
                }
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        p.client = client.context("--client is required")?;
        p.bootstrap = bootstrap.context("--bootstrap is required")?;
        p.topic = topic.context("--topic is required")?;
        ensure!(p.records > 0, "--records must be positive");
        ensure!(p.max_pending > 0, "--max-pending must be positive");
        if let Some(n) = p.transaction_size {
            ensure!(n > 0, "--transaction-size must be positive");
            ensure!(
                p.idempotence,
                "--transaction-size needs --idempotence true (transactions are idempotent)"
            );
            p.transactional_id = Some(transactional_id.unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                format!(
                    "ferrokafka-bench-{}-{}-{nanos}",
                    p.client.name(),
                    std::process::id()
                )
            }));
        } else {
            ensure!(
                transactional_id.is_none(),
                "--transactional-id needs --transaction-size"
            );
        }
        Ok(p)
    }

    /// The client properties, identical for both clients: the workload's, then the `-X` ones.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut props: Vec<(String, String)> = [
            ("bootstrap.servers", self.bootstrap.clone()),
            ("acks", self.acks.clone()),
            ("linger.ms", self.linger_ms.to_string()),
            ("batch.size", self.batch_size.to_string()),
            ("compression.type", self.compression.clone()),
            ("enable.idempotence", self.idempotence.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(id) = &self.transactional_id {
            props.push(("transactional.id".into(), id.clone()));
        }
        for (k, v) in &self.extra {
            props.retain(|(pk, _)| pk != k);
            props.push((k.clone(), v.clone()));
        }
        props
    }
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| anyhow::anyhow!("{flag} takes a non-negative integer, got {v:?}"))
}

/// The records: keys distinct per record (the record's index in decimal, zero-padded to the
/// key size, so keys hash over all partitions), values cycled from a pool of pseudo-random
/// buffers (so compression, when asked for, has realistic rather than trivial input).
#[derive(Debug)]
pub struct Workload {
    key_size: usize,
    value_size: usize,
    pool: Vec<u8>,
}

/// A record key being written by [`Workload::key_into`]: its digits (as a byte slice, through
/// `Deref`) and the record whose key follows them.
#[derive(Debug, Clone)]
pub struct Key {
    digits: Vec<u8>,
    next: Option<u64>,
}

impl std::ops::Deref for Key {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.digits
    }
}

/// How many distinct values the pool holds.
const POOL_VALUES: usize = 1024;

impl Workload {
    pub fn new(key_size: usize, value_size: usize) -> Workload {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let pool = (0..POOL_VALUES * value_size)
            .map(|_| {
                // xorshift64*: cheap, deterministic, not compressible to nothing.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect();
        Workload {
            key_size,
            value_size,
            pool,
        }
    }

    /// Writes record `i`'s key into `key` (from [`key_buf`](Self::key_buf)): `i` in decimal,
    /// zero-padded to `key_size` digits (the last `key_size` digits of larger numbers). The
    /// key after the one `key` holds is its successor, one digit changed most times: every
    /// client's loop calls this for each record in turn, and the harness should cost the
    /// clients it measures as little as it can (ten divisions per key were a tenth of the
    /// fastest client's time per record).
    pub fn key_into(&self, i: u64, key: &mut Key) {
        debug_assert_eq!(key.digits.len(), self.key_size);
        if key.next == Some(i) {
            for b in key.digits.iter_mut().rev() {
                if *b == b'9' {
                    *b = b'0';
                } else {
                    *b += 1;
                    break;
                }
            }
        } else {
            let mut n = i;
            for b in key.digits.iter_mut().rev() {
                *b = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        key.next = i.checked_add(1);
    }

    /// A key buffer of the right size, for [`key_into`](Self::key_into).
    pub fn key_buf(&self) -> Key {
        Key {
            digits: vec![b'0'; self.key_size],
            next: None,
        }
    }

    /// The value pool as one buffer, `POOL_VALUES` values back to back.
    pub fn pool(&self) -> &[u8] {
        &self.pool
    }

    /// Record `i`'s value as a range into [`Workload::pool`].
    pub fn value_range(&self, i: u64) -> std::ops::Range<usize> {
        let at = (i as usize % POOL_VALUES) * self.value_size;
        at..at + self.value_size
    }

    pub fn value(&self, i: u64) -> &[u8] {
        &self.pool[self.value_range(i)]
    }
}

/// CPU time of this process so far, from `/proc/self/stat`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub user_s: f64,
    pub sys_s: f64,
}

/// `USER_HZ`, the unit of `/proc/*/stat` times: 100 on every Linux architecture we run on
/// (reading `sysconf(_SC_CLK_TCK)` would need `unsafe`).
const USER_HZ: f64 = 100.0;

impl Cpu {
    pub fn now() -> Result<Cpu> {
        let stat = std::fs::read_to_string("/proc/self/stat").context("read /proc/self/stat")?;
        parse_stat(&stat)
    }

    /// CPU time of this process's children that have been waited for (cutime and cstime of
    /// `/proc/self/stat`): `bench-client --exec` reads it after its one child exited.
    pub fn children() -> Result<Cpu> {
        let stat = std::fs::read_to_string("/proc/self/stat").context("read /proc/self/stat")?;
        parse_stat_fields(&stat, 13)
    }

    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            user_s: self.user_s - earlier.user_s,
            sys_s: self.sys_s - earlier.sys_s,
        }
    }
}

/// Parses utime and stime out of a `/proc/PID/stat` line ("pid (comm) state ppid ...", where
/// utime and stime are fields 14 and 15 counting from 1, and comm may contain spaces).
fn parse_stat(stat: &str) -> Result<Cpu> {
    parse_stat_fields(stat, 11)
}

/// Two consecutive tick fields of a `/proc/PID/stat` line, `at` and `at + 1` counting from
/// the state field (utime and stime at 11, cutime and cstime at 13).
fn parse_stat_fields(stat: &str, at: usize) -> Result<Cpu> {
    let (_, rest) = stat
        .rsplit_once(") ")
        .context("malformed /proc/self/stat")?;
    // `rest` starts at field 3 (state), so utime is its 12th field (index 11).
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    ensure!(fields.len() > at + 1, "short /proc/self/stat");
    let ticks = |i: usize| -> Result<f64> {
        let t: u64 = fields[i]
            .parse()
            .with_context(|| format!("bad /proc/self/stat field {:?}", fields[i]))?;
        Ok(t as f64 / USER_HZ)
    };
    Ok(Cpu {
        user_s: ticks(at)?,
        sys_s: ticks(at + 1)?,
    })
}

/// Peak resident set size of this process in KiB (`VmHWM` in `/proc/self/status`).
pub fn peak_rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    parse_hwm(&status)
}

/// Peak resident set size of process `pid` in KiB, while it runs.
pub fn peak_rss_kib_of(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    parse_hwm(&status)
}

fn parse_hwm(status: &str) -> Result<u64> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    let kib = line.trim().trim_end_matches("kB").trim();
    kib.parse()
        .with_context(|| format!("bad VmHWM value {line:?}"))
}

/// What one client did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub delivered: u64,
    pub failures: u64,
    pub first_error: Option<String>,
    /// Transactions committed (0 when not transactional).
    pub transactions: u64,
    /// The sum over the committed transactions of the partitions each wrote to.
    pub txn_partitions: u64,
    /// Delivery latencies (runs with `--throughput`).
    pub latencies: Option<Latencies>,
    /// What the client could not do as asked (a setting it lacks), for the report.
    pub notes: Vec<String>,
}

/// The partitions one transaction wrote to, from its delivery reports: a bit per partition
/// below 64 (the common case, one `or` per record), a set for the others.
#[derive(Debug, Clone, Default)]
pub struct PartitionSet {
    low: u64,
    high: std::collections::BTreeSet<i32>,
}

impl PartitionSet {
    pub fn insert(&mut self, partition: i32) {
        match u32::try_from(partition) {
            Ok(p) if p < 64 => self.low |= 1 << p,
            _ => {
                self.high.insert(partition);
            }
        }
    }

    /// Adds the partitions of a bit mask (bit `p` for partition `p`).
    pub fn insert_mask(&mut self, mask: u64) {
        self.low |= mask;
    }

    pub fn len(&self) -> u64 {
        u64::from(self.low.count_ones()) + self.high.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The count, leaving the set empty for the next transaction.
    pub fn take_len(&mut self) -> u64 {
        let n = self.len();
        *self = PartitionSet::default();
        n
    }
}

/// One measurement, printed as a JSON line.
#[derive(Debug, Clone)]
pub struct Report {
    pub client: Client,
    pub records: u64,
    pub outcome: Outcome,
    pub seconds: f64,
    pub cpu: Cpu,
    pub peak_rss_kib: u64,
}

impl Report {
    pub fn to_json(&self) -> String {
        let mut v = serde_json::json!({
                "client": self.client.name(),
                "records": self.records,
                "delivered": self.outcome.delivered,
                "failures": self.outcome.failures,
                "first_error": self.outcome.first_error,
                "seconds": self.seconds,
                "cpu_user_s": self.cpu.user_s,
                "cpu_sys_s": self.cpu.sys_s,
                "peak_rss_kib": self.peak_rss_kib,
                "transactions": self.outcome.transactions,
                "txn_partitions": self.outcome.txn_partitions,
                "notes": self.outcome.notes,
        });
        if let Some(l) = self.outcome.latencies.as_ref().filter(|l| l.count() > 0) {
            let ms = |q: f64| l.quantile_us(q) as f64 / 1000.0;
            v["latency_p50_ms"] = ms(0.5).into();
            v["latency_p99_ms"] = ms(0.99).into();
            v["latency_p999_ms"] = ms(0.999).into();
            v["latency_max_ms"] = (l.max_us() as f64 / 1000.0).into();
        }
        let mut out = String::new();
        let _ = write!(out, "{v}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn stat_fields_are_found_past_a_comm_with_spaces() {
        let stat = "1234 (bench client) R 1 2 3 4 5 6 7 8 9 10 250 75 310 45 20 0 3 0";
        let cpu = parse_stat(stat).unwrap();
        assert_eq!(cpu.user_s, 2.5);
        assert_eq!(cpu.sys_s, 0.75);
        let children = parse_stat_fields(stat, 13).unwrap();
        assert_eq!(children.user_s, 3.1);
        assert_eq!(children.sys_s, 0.45);
        assert!(parse_stat_fields("1 (x) R 1 2 3 4 5 6 7 8 9 10 250 75", 13).is_err());
        assert!(Cpu::now().unwrap().user_s >= 0.0);
    }

    #[test]
    fn hwm_is_read_in_kib() {
        assert_eq!(
            parse_hwm("VmPeak:\t  100 kB\nVmHWM:\t    5120 kB\n").unwrap(),
            5120
        );
        assert!(peak_rss_kib().unwrap() > 0);
    }

    #[test]
    fn keys_are_distinct_decimal_and_values_come_from_the_pool() {
        let w = Workload::new(10, 100);
        let mut k = w.key_buf();
        w.key_into(1_234_567, &mut k);
        assert_eq!(&k[..], b"0001234567");
        // In turn: each the successor of the one before, carries included.
        for i in 1_234_568..1_240_123 {
            w.key_into(i, &mut k);
            assert_eq!(&k[..], format!("{i:010}").as_bytes());
        }
        // Out of turn: written afresh.
        w.key_into(42, &mut k);
        assert_eq!(&k[..], b"0000000042");
        w.key_into(9_999_999_999, &mut k);
        assert_eq!(&k[..], b"9999999999");
        w.key_into(10_000_000_000, &mut k);
        assert_eq!(&k[..], b"0000000000", "the last ten digits");
        let mut short = Workload::new(2, 10).key_buf();
        for i in 95..205 {
            Workload::new(2, 10).key_into(i, &mut short);
            assert_eq!(&short[..], format!("{:02}", i % 100).as_bytes());
        }
        assert_eq!(w.value(3).len(), 100);
        assert_ne!(w.value(3), w.value(4));
        assert_eq!(w.value(3), w.value(3 + POOL_VALUES as u64));
    }

    #[test]
    fn params_parse_and_give_both_clients_the_same_properties() {
        let p = Params::parse(&args(
            "--client ferrokafka --bootstrap b:1 --topic t --records 5 -X linger.ms=7 -X client.id=x",
        ))
        .unwrap();
        assert_eq!(p.client, Client::Ferrokafka);
        assert_eq!(p.records, 5);
        let props = p.properties();
        let get = |k: &str| {
            props
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("linger.ms"), Some("7"));
        assert_eq!(get("acks"), Some("all"));
        assert_eq!(get("batch.size"), Some("1048576"));
        assert_eq!(get("client.id"), Some("x"));
        assert_eq!(props.iter().filter(|(k, _)| k == "linger.ms").count(), 1);
        assert!(Params::parse(&args("--client kafka --bootstrap b --topic t")).is_err());
        assert!(Params::parse(&args("--bootstrap b --topic t")).is_err());
        assert!(p.transactional_id.is_none());
        assert!(!props.iter().any(|(k, _)| k == "transactional.id"));
    }

    #[test]
    fn transactional_runs_get_a_unique_transactional_id() {
        let base = "--client librdkafka --bootstrap b:1 --topic t --transaction-size 1000";
        let a = Params::parse(&args(base)).unwrap();
        let b = Params::parse(&args(base)).unwrap();
        assert_eq!(a.transaction_size, Some(1000));
        let id = a.transactional_id.clone().unwrap();
        assert!(id.starts_with("ferrokafka-bench-librdkafka-"), "{id}");
        assert_ne!(a.transactional_id, b.transactional_id);
        assert!(
            a.properties()
                .iter()
                .any(|(k, v)| k == "transactional.id" && *v == id)
        );
        let named = Params::parse(&args(&format!("{base} --transactional-id x"))).unwrap();
        assert_eq!(named.transactional_id.as_deref(), Some("x"));
        assert!(Params::parse(&args(&format!("{base} --idempotence false"))).is_err());
        assert!(
            Params::parse(&args(
                "--client librdkafka --bootstrap b --topic t --transactional-id x"
            ))
            .is_err()
        );
        assert!(Params::parse(&args(&format!("{base} --transaction-size 0"))).is_err());
    }

    #[test]
    fn partition_sets_count_each_partition_once() {
        let mut s = PartitionSet::default();
        assert!(s.is_empty());
        for p in [0, 5, 5, 63, 64, 64, 1000] {
            s.insert(p);
        }
        s.insert_mask(0b11);
        assert_eq!(s.len(), 6);
        assert_eq!(s.take_len(), 6);
        assert!(s.is_empty());
    }
}
