//! What a run measured: one sample per client run, the medians per cell, the clients' JSON
//! parsed, and the one table of ratios.

use super::*;

/// One measurement of a cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub(in crate::bench) struct CellSample {
    pub(super) records: u64,
    pub(in crate::bench) seconds: f64,
    pub(in crate::bench) cpu_s: f64,
    pub(in crate::bench) peak_rss_kib: u64,
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

    pub(super) fn cpu_us_per_record(&self) -> f64 {
        self.cpu_s * 1e6 / self.records as f64
    }

    fn rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }

    pub(super) fn describe(&self) -> String {
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

/// A `bench-client` (or Java) JSON line as a sample; an error unless every record was
/// delivered.
pub(in crate::bench) fn parse_client_json(v: &Value, records: u64) -> Result<CellSample> {
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
