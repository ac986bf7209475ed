//! One measurement: a client run against a broker with a time limit, its sample, and the
//! checks that every record was stored.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use ferrokafka_tests::kafka::KafkaCluster;
use serde_json::Value;

use super::*;

/// One measurement, as `bench-client` reported it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    pub(super) records: u64,
    /// How far the topic's high watermarks advanced during the measurement.
    pub(super) stored: i64,
    pub(super) seconds: f64,
    pub(super) cpu_s: f64,
    pub(super) peak_rss_kib: u64,
    /// Transactions committed (transactional runs).
    pub(super) transactions: u64,
    /// Commit markers those transactions wrote: one per partition per transaction.
    pub(super) markers: u64,
    /// The Java client's whole-JVM CPU time (start-up and class loading included).
    pub(super) process_cpu_s: Option<f64>,
}

/// Key plus value bytes per record: what "MB/s" counts.
pub(super) const RECORD_BYTES: f64 = 110.0;

impl Sample {
    pub(super) fn records_per_s(&self) -> f64 {
        self.records as f64 / self.seconds
    }

    pub(super) fn mb_per_s(&self) -> f64 {
        self.records_per_s() * RECORD_BYTES / 1e6
    }

    pub(super) fn cpu_per_million(&self) -> f64 {
        self.cpu_s / (self.records as f64 / 1e6)
    }

    pub(super) fn rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }

    pub(super) fn describe(&self) -> String {
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

pub(super) fn measure(
    bins: &Bins,
    client: &str,
    bootstrap: &str,
    broker: Broker,
    opts: &Options,
) -> Result<Sample> {
    measure_at(bins, client, bootstrap, bootstrap, &[], broker, opts)
}

/// [`measure()`] with the client connecting to `bootstrap` with `client_props` (`key=value`,
/// after the `-X` ones) and the high watermarks read through `watermarks` (a PLAINTEXT listener
/// of the same cluster).
pub(super) fn measure_at(
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
    let (stdout, stderr) = run_to_end(&mut cmd, opts.timeout, what)?;
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("{what} printed {stdout:?}; stderr: {}", tail(&stderr)))?;
    let run = matrix::parse_client_json(&v, records)?;
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
        seconds: run.seconds,
        cpu_s: run.cpu_s,
        peak_rss_kib: run.peak_rss_kib,
        transactions,
        markers,
        process_cpu_s: v["process_cpu_s"].as_f64(),
    })
}

/// The sum of the topic's high watermarks, read by `bench-client --watermarks` (librdkafka's
/// ListOffsets, in a process of its own).
pub(super) fn high_watermark_sum(bin: &PathBuf, bootstrap: &str) -> Result<i64> {
    high_watermark_sum_of(bin, bootstrap, TOPIC)
}

/// [`high_watermark_sum`] of `topic`.
pub(super) fn high_watermark_sum_of(bin: &PathBuf, bootstrap: &str, topic: &str) -> Result<i64> {
    let mut cmd = Command::new(bin);
    cmd.args(["--watermarks", bootstrap, topic]);
    let (stdout, _) = run_to_end(
        &mut cmd,
        Duration::from_secs(60),
        "reading the high watermarks (bench-client --watermarks)",
    )?;
    let v: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("bench-client --watermarks printed {stdout:?}"))?;
    v["high_watermark_sum"]
        .as_i64()
        .with_context(|| format!("bench-client --watermarks printed {v}"))
}

/// Reads the high watermarks until that succeeds (60 s at most).
pub(super) fn wait_for_watermarks(bin: &PathBuf, bootstrap: &str) -> Result<()> {
    wait_for_watermarks_of(bin, bootstrap, TOPIC)
}

/// [`wait_for_watermarks`] of `topic`.
pub(super) fn wait_for_watermarks_of(bin: &PathBuf, bootstrap: &str, topic: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match high_watermark_sum_of(bin, bootstrap, topic) {
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
pub(super) fn kafka_log_note(cluster: &KafkaCluster, title: &str) -> Option<String> {
    let log = std::fs::read_to_string(cluster.log_of(1)).unwrap_or_default();
    log_problems_note(&log, title)
}

/// [`kafka_log_note`] of a log's text: each warning or error with the line after it when that
/// is not an entry of its own (the exception an ERROR entry carries: what went wrong).
fn log_problems_note(log: &str, title: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    let bad: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("] WARN ") || lines[i].contains("] ERROR "))
        // A fresh cluster's controller says so once.
        .filter(|&i| !lines[i].contains("Performing controller activation"))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let mut note = format!(
        "{title}, kafka: the broker logged {} warning(s) or error(s); the first:",
        bad.len()
    );
    for &i in bad.iter().take(5) {
        let line: String = lines[i].chars().take(400).collect();
        let _ = write!(note, "\n    {line}");
        if let Some(cause) = lines
            .get(i + 1)
            .filter(|l| !l.starts_with('[') && !l.is_empty())
        {
            let cause: String = cause.trim().chars().take(400).collect();
            let _ = write!(note, "\n      {cause}");
        }
    }
    Some(note)
}

/// Runs `cmd` (`what`, in errors) to its end within `timeout`: its stdout and stderr, or an
/// error when it was killed at `timeout` or failed (with the last lines of its stderr).
pub(super) fn run_to_end(
    cmd: &mut Command,
    timeout: Duration,
    what: &str,
) -> Result<(String, String)> {
    let (status, stdout, stderr) = run_with_timeout(cmd, timeout)?;
    let Some(status) = status else {
        bail!(
            "{what} killed after {} s; stderr: {}",
            timeout.as_secs(),
            tail(&stderr)
        );
    };
    ensure!(
        status.success(),
        "{what} exited with {status}: {}",
        tail(&stderr)
    );
    Ok((stdout, stderr))
}

/// The last few lines of a stderr, for an error message.
pub(super) fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.trim().lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// Runs `cmd`, collecting its stdout and stderr; `None` status when it was killed at `timeout`.
pub(super) fn run_with_timeout(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_error_is_noted_with_the_exception_it_carries() {
        let log = "\
[2026-12-07 10:37:51,000] INFO [Controller id=1] Performing controller activation (x)
[2026-12-07 10:37:52,117] ERROR [ReplicaManager broker=1] Error processing append operation on partition t-3 (kafka.server.ReplicaManager)
org.apache.kafka.common.errors.OutOfOrderSequenceException: Out of order sequence number
\tat kafka.log.UnifiedLog.append(UnifiedLog.scala:1)
[2026-12-07 10:37:53,000] WARN [Log partition=t-5] something (kafka.log.UnifiedLog)
[2026-12-07 10:37:54,000] INFO all fine (x)
";
        let note = log_problems_note(log, "matrix").expect("problems");
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(
            lines[0],
            "matrix, kafka: the broker logged 2 warning(s) or error(s); the first:"
        );
        assert!(lines[1].contains("Error processing append operation"));
        assert_eq!(
            lines[2].trim(),
            "org.apache.kafka.common.errors.OutOfOrderSequenceException: Out of order sequence number"
        );
        // A warning followed by another entry: no cause line.
        assert!(lines[3].contains("] WARN "));
        assert_eq!(lines.len(), 4, "{note}");
        assert!(log_problems_note("[x] INFO fine\n", "matrix").is_none());
    }
}
