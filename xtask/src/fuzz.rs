//! `cargo xtask fuzz [--seconds N] [TARGET...]`: each cargo-fuzz target for a while.
//!
//! Logs go to `target/fuzz-logs/TARGET.log`, inputs the fuzzer finds to
//! `target/fuzz-corpus/TARGET/` (the committed seeds in `fuzz/corpus/TARGET/` are read, never
//! written), crashes to `fuzz/artifacts/` (ignored by git).

use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, status, take_option, workspace_root};

const DEFAULT_SECONDS: u64 = 60;

/// The `[[bin]]` names of a Cargo.toml, in order (a line scan: enough for our fuzz manifest).
pub(crate) fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin
            && let Some(value) = line.strip_prefix("name").map(str::trim_start)
            && let Some(value) = value.strip_prefix('=')
        {
            names.push(value.trim().trim_matches('"').to_string());
            in_bin = false;
        }
    }
    names
}

/// The number of executions libFuzzer reports ("Done 123 runs in 10 second(s)", or the last
/// "#123" status line).
pub(crate) fn exec_count(output: &str) -> Option<u64> {
    for line in output.lines().rev() {
        if let Some(rest) = line.trim().strip_prefix("Done ")
            && let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok())
        {
            return Some(n);
        }
    }
    output.lines().rev().find_map(|line| {
        let rest = line.trim().strip_prefix('#')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn ensure_cargo_fuzz() -> Result<()> {
    let ok = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    println!("cargo-fuzz is missing; installing it (cargo install cargo-fuzz --locked)");
    if !status(cargo().args(["install", "cargo-fuzz", "--locked"]))? {
        bail!("cargo install cargo-fuzz failed");
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let mut args = args.to_vec();
    let seconds = take_option(&mut args, "--seconds")?
        .map(|s| {
            s.parse::<u64>()
                .with_context(|| format!("bad --seconds {s:?}"))
        })
        .transpose()?
        .unwrap_or(DEFAULT_SECONDS);
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        bail!("unknown option {flag}");
    }
    let root = workspace_root();
    let manifest_path = root.join("fuzz").join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("read {}", manifest_path.display()))?;
    let all = bin_names(&manifest);
    let targets = if args.is_empty() { all.clone() } else { args };
    for t in &targets {
        if !all.contains(t) {
            bail!("unknown fuzz target `{t}`; known: {}", all.join(", "));
        }
    }
    ensure_cargo_fuzz()?;
    let logs = root.join("target").join("fuzz-logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("create {}", logs.display()))?;
    let scratch_root = root.join("target").join("fuzz-corpus");

    let mut results = Vec::new();
    for target in &targets {
        println!("==== fuzz {target} for {seconds} s ====");
        let t = Instant::now();
        // libFuzzer writes new inputs into the first corpus directory it is given. Give it a
        // scratch one under target/ and the committed seeds second, so a run never adds
        // hundreds of files to `fuzz/corpus` (minimize and commit those deliberately).
        let scratch = scratch_root.join(target);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("create {}", scratch.display()))?;
        let seeds = root.join("fuzz").join("corpus").join(target);
        // Run from the workspace root: cargo-fuzz finds `fuzz/` there.
        let out = Command::new("cargo")
            .current_dir(&root)
            .args(["+nightly", "fuzz", "run", "--features", "libfuzzer", target])
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .stdin(Stdio::null())
            .output()
            .context("run cargo +nightly fuzz")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let log = logs.join(format!("{target}.log"));
        std::fs::write(&log, &text).with_context(|| format!("write {}", log.display()))?;
        let execs = exec_count(&text);
        let ok = out.status.success();
        if !ok {
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            for line in tail.into_iter().rev() {
                println!("  | {line}");
            }
        }
        println!(
            "{target}: {} in {:.0} s, {} executions (log {})",
            if ok { "pass" } else { "FAIL" },
            t.elapsed().as_secs_f64(),
            execs.map_or_else(|| "?".to_string(), |n| n.to_string()),
            log.display()
        );
        results.push((target.clone(), ok, execs));
    }
    println!("\n==== fuzz summary ====");
    for (target, ok, execs) in &results {
        println!(
            "{:<6} {:>12}  {target}",
            if *ok { "pass" } else { "FAIL" },
            execs.map_or_else(|| "?".to_string(), |n| n.to_string())
        );
    }
    Ok(if results.iter().all(|r| r.1) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::{bin_names, exec_count};

    #[test]
    fn bin_names_come_from_bin_sections_only() {
        let manifest = r#"
[package]
name = "ferrokafka-fuzz"

[[bin]]
name = "wire_frame"
path = "fuzz_targets/wire_frame.rs"

[dependencies]
name_like = "1"

[[bin]]
path = "fuzz_targets/records.rs"
name="records_batch"
"#;
        assert_eq!(bin_names(manifest), vec!["wire_frame", "records_batch"]);
    }

    #[test]
    fn exec_counts_are_parsed() {
        let out = "#2\tINITED cov: 10\n#4096\tpulse  cov: 12\nDone 12345 runs in 5 second(s)\n";
        assert_eq!(exec_count(out), Some(12345));
        assert_eq!(exec_count("#1\tINITED\n#77\tNEW cov: 3\n"), Some(77));
        assert_eq!(exec_count("error: no such target\n"), None);
    }
}
