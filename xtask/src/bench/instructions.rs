//! `cargo xtask bench instructions`: instructions per record, counted by valgrind's callgrind
//! over every thread of the client process, for librdkafka, the ferrokafka library and
//! `ferrokafka-cli perf` sending the same records to one mock cluster (in its own process, not
//! counted). Wall-clock figures move from run to run on a shared machine; these counts move by
//! about 1 %, so they show what a change to the send path costs or saves.
//!
//! The workloads are the matrix's headline cells (100-byte values, keyless and with 10-byte
//! keys, acks=all with idempotence, linger.ms=5); `--partitions` and `--batch-size` give the
//! many-partition yardstick (e.g. `--partitions 1000 --batch-size 560`: batches of a few records,
//! so the per-batch path shows). Each client runs once per workload under
//! `valgrind --tool=callgrind`; the profiles stay in `target/bench/callgrind/` for
//! `callgrind_annotate`. A run counts only when every record was delivered.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::util::take_option;

use super::*;

const USAGE: &str = "\
usage: cargo xtask bench instructions [options]
  instructions per record (valgrind --tool=callgrind, every thread of the client process) of
  librdkafka, the ferrokafka library and ferrokafka-cli perf, to one mock cluster

  --records N          records per run (default 200000)
  --partitions N       partitions of the mock's topic (default 6)
  --batch-size N       batch.size of every client (default 1048576)
  --workloads LIST     comma-separated: keyless, keyed (10-byte keys) (default both)
  --clients LIST       comma-separated: librdkafka, ferrokafka, ferrokafka-cli (default all)
  --timeout-s N        a run taking longer is killed and fails the command (default 600)
";

const CLIENTS: [&str; 3] = ["librdkafka", "ferrokafka", "ferrokafka-cli"];

#[derive(Debug, Clone, PartialEq)]
struct InstrOptions {
    records: u64,
    partitions: u32,
    batch_size: u64,
    /// Key sizes: 0 (keyless) and/or 10.
    workloads: Vec<(&'static str, usize)>,
    clients: Vec<String>,
    timeout: Duration,
}

impl InstrOptions {
    fn parse(args: &[String]) -> Result<InstrOptions> {
        let mut args = args.to_vec();
        let records = number_option(&mut args, "--records", 200_000)?;
        let partitions = number_option(&mut args, "--partitions", 6)?;
        let batch_size = number_option(&mut args, "--batch-size", 1_048_576)?;
        let workloads = list(take_option(&mut args, "--workloads")?, "keyless,keyed")
            .iter()
            .map(|w| match w.as_str() {
                "keyless" => Ok(("keyless", 0)),
                "keyed" => Ok(("keyed", 10)),
                other => bail!("unknown workload {other:?} (keyless or keyed)"),
            })
            .collect::<Result<Vec<_>>>()?;
        let clients = list(take_option(&mut args, "--clients")?, &CLIENTS.join(","));
        for c in &clients {
            ensure!(
                CLIENTS.contains(&c.as_str()),
                "unknown client {c:?} (one of {})",
                CLIENTS.join(", ")
            );
        }
        let timeout = Duration::from_secs(number_option(&mut args, "--timeout-s", 600)?);
        if !args.is_empty() {
            bail!("unexpected arguments {args:?}\n\n{USAGE}");
        }
        ensure!(
            records > 0 && partitions > 0,
            "--records and --partitions must be positive"
        );
        ensure!(
            !workloads.is_empty() && !clients.is_empty(),
            "nothing to run"
        );
        Ok(InstrOptions {
            records,
            partitions,
            batch_size,
            workloads,
            clients,
            timeout,
        })
    }
}

/// The instruction total of a callgrind profile: its `summary:` line (or, failing that, its
/// `totals:` line), the first event being instructions (`Ir`).
fn profile_total(profile: &str) -> Result<u64> {
    let line = profile
        .lines()
        .find(|l| l.starts_with("summary:"))
        .or_else(|| profile.lines().find(|l| l.starts_with("totals:")))
        .context("the profile has no summary: or totals: line")?;
    let first = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("no count in {line:?}"))?;
    first
        .parse()
        .with_context(|| format!("not a count: {first:?} in {line:?}"))
}

/// `cargo xtask bench instructions`.
pub(super) fn run(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let opts = InstrOptions::parse(args)?;
    let version = match Command::new("valgrind").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => bail!("valgrind --version exited with {}", out.status),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("valgrind is not installed (on Debian: apt-get install -y valgrind)")
        }
        Err(e) => return Err(e).context("run valgrind --version"),
    };
    println!("building ferrokafka-bench and ferrokafka-cli (release)");
    let exes = build_bins(
        &["ferrokafka-bench", "ferrokafka-cli"],
        &["--features".into(), "ferrokafka-bench/rdkafka-zstd".into()],
    )?;
    let bins = bins_of(&exes)?;
    let cli = exes
        .iter()
        .find(|(n, _)| n == "ferrokafka-cli")
        .map(|(_, p)| p.clone())
        .context("cargo build reported no ferrokafka-cli executable")?;
    let out_dir = crate::util::workspace_root().join("target/bench/callgrind");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let mock = MockCluster::start_with(&bins.mock, 3, opts.partitions, TOPIC)?;
    println!(
        "{version}; {} records per run, 100-byte values, acks=all, idempotence, linger.ms=5, \
         batch.size={}, {} partitions on the mock (3 brokers)",
        opts.records, opts.batch_size, opts.partitions
    );
    let mut rows = Vec::new();
    for &(workload, key_size) in &opts.workloads {
        for client in &opts.clients {
            let profile = out_dir.join(format!("{client}-{workload}-{}p.out", opts.partitions));
            let mut cmd = Command::new("valgrind");
            cmd.args(["--tool=callgrind", "--quiet"])
                .arg(format!("--callgrind-out-file={}", profile.display()));
            if client == "ferrokafka-cli" {
                cmd.arg(&cli)
                    .args(["perf", "-b", &mock.bootstrap, "-t", TOPIC])
                    .args(["--num-records", &opts.records.to_string()])
                    .args(["--record-size", "100"])
                    .args(["--key-size", &key_size.to_string()])
                    .args(["-X", "acks=all", "-X", "enable.idempotence=true"])
                    .args(["-X", "linger.ms=5"])
                    .args(["-X", &format!("batch.size={}", opts.batch_size)]);
            } else {
                cmd.arg(&bins.client)
                    .args(["--client", client, "--bootstrap", &mock.bootstrap])
                    .args(["--topic", TOPIC])
                    .args(["--records", &opts.records.to_string()])
                    .args(["--key-size", &key_size.to_string(), "--value-size", "100"])
                    .args(["--acks", "all", "--idempotence", "true", "--linger-ms", "5"])
                    .args(["--batch-size", &opts.batch_size.to_string()]);
            }
            let total = count(&mut cmd, client, opts.records, &profile, opts.timeout)
                .with_context(|| format!("{client}, {workload}"))?;
            let per_record = total as f64 / opts.records as f64;
            println!("{workload:<8} {client:<15} {per_record:>8.0} instructions per record");
            rows.push((workload, client.clone(), per_record));
        }
    }
    mock.stop();
    println!("\n{}", instructions_table(&rows));
    println!("profiles: {}", out_dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs `cmd` (a client under callgrind) and returns the instructions its profile counted; an
/// error unless it delivered every record.
fn count(
    cmd: &mut Command,
    client: &str,
    records: u64,
    profile: &Path,
    timeout: Duration,
) -> Result<u64> {
    let _ = std::fs::remove_file(profile);
    let (stdout, _) = run_to_end(cmd, timeout, client)?;
    if client != "ferrokafka-cli" {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .context("bench-client printed no JSON line")?;
        let v: Value = serde_json::from_str(line).context("bench-client's JSON line")?;
        matrix::parse_client_json(&v, records)?;
    }
    let text =
        std::fs::read_to_string(profile).with_context(|| format!("read {}", profile.display()))?;
    profile_total(&text)
}

/// Per workload: each client's instructions per record and its ratio to librdkafka's.
fn instructions_table(rows: &[(&str, String, f64)]) -> String {
    let mut out = String::from("workload client          instructions/record   x librdkafka\n");
    for &(workload, ref client, per_record) in rows {
        let base = rows
            .iter()
            .find(|(w, c, _)| *w == workload && c == "librdkafka")
            .map(|r| r.2);
        let ratio = base.map_or_else(|| "-".to_string(), |b| format!("{:.2}", per_record / b));
        let _ = writeln!(
            out,
            "{workload:<8} {client:<15} {per_record:>20.0}   {ratio:>12}"
        );
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
    fn the_defaults_are_the_headline_workloads_for_every_client() {
        let o = InstrOptions::parse(&[]).unwrap();
        assert_eq!(o.records, 200_000);
        assert_eq!(o.partitions, 6);
        assert_eq!(o.batch_size, 1_048_576);
        assert_eq!(o.workloads, vec![("keyless", 0), ("keyed", 10)]);
        assert_eq!(o.clients, CLIENTS.map(str::to_string).to_vec());
        let o = InstrOptions::parse(&args(
            "--records 1000 --partitions 1000 --batch-size 560 --workloads keyed --clients ferrokafka",
        ))
        .unwrap();
        assert_eq!((o.records, o.partitions, o.batch_size), (1000, 1000, 560));
        assert_eq!(o.workloads, vec![("keyed", 10)]);
        assert_eq!(o.clients, vec!["ferrokafka".to_string()]);
        assert!(InstrOptions::parse(&args("--workloads both")).is_err());
        assert!(InstrOptions::parse(&args("--clients java")).is_err());
        assert!(InstrOptions::parse(&args("--records 0")).is_err());
        assert!(InstrOptions::parse(&args("--frobnicate")).is_err());
    }

    #[test]
    fn a_profiles_total_is_its_summary_line() {
        let profile =
            "version: 1\ncmd: x\nevents: Ir\nfn=(1) main\n0 5\nsummary: 342640596\ntotals: 1\n";
        assert_eq!(profile_total(profile).unwrap(), 342_640_596);
        assert_eq!(profile_total("events: Ir\ntotals: 77\n").unwrap(), 77);
        assert!(profile_total("events: Ir\n").is_err());
        assert!(profile_total("summary: lots\n").is_err());
    }

    #[test]
    fn the_table_gives_each_clients_ratio_to_librdkafka_per_workload() {
        let rows = vec![
            ("keyless", "librdkafka".to_string(), 4000.0),
            ("keyless", "ferrokafka".to_string(), 1700.0),
            ("keyed", "ferrokafka".to_string(), 1800.0),
        ];
        let t = instructions_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[1].contains("librdkafka") && lines[1].ends_with("1.00"),
            "{t}"
        );
        assert!(
            lines[2].contains("1700") && lines[2].ends_with("0.42"),
            "{t}"
        );
        // No librdkafka run for keyed: no ratio.
        assert!(lines[3].ends_with('-'), "{t}");
    }
}
