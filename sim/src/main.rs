//! `ferrokafka-sim`: runs seeds of the simulation on every core (`cargo xtask sim` builds and
//! runs it in release mode).
//!
//! ```text
//! ferrokafka-sim [--seeds N] [--seed S] [--faults class,class,...] [--keep i,j,...]
//! ```
//! `--seeds N` runs seeds S..S+N (S defaults to 0); `--seed S` alone runs that seed; `--keep`
//! replays only those faults of the seed's schedule (what a shrunk failure prints); `--trace`
//! prints one seed's run step by step; `--plant duplicates` plants the fake's known bug
//! (idempotent duplicates appended again) to watch the simulation catch it.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrokafka_sim::{
    CLASSES, Failure, KNOWN_FAILURES, Plant, Scenario, known_failure, run_catching, shrink,
    with_faults,
};

struct Args {
    first: u64,
    count: u64,
    classes: Vec<String>,
    keep: Option<Vec<usize>>,
    threads: usize,
    trace: bool,
    range: bool,
    plant: Plant,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        first: 0,
        count: 1,
        classes: CLASSES.iter().map(|c| (*c).to_owned()).collect(),
        keep: None,
        threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        trace: false,
        range: false,
        plant: Plant::default(),
    };
    let mut seeds = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seeds" => seeds = Some(value()?.parse().map_err(|e| format!("--seeds: {e}"))?),
            "--seed" => out.first = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--threads" => out.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--faults" => {
                let v = value()?;
                out.classes = if v == "none" {
                    Vec::new()
                } else {
                    v.split(',').map(str::to_owned).collect()
                };
                if let Some(bad) = out.classes.iter().find(|c| !CLASSES.contains(&c.as_str())) {
                    return Err(format!(
                        "unknown fault class `{bad}`; known: {}",
                        CLASSES.join(",")
                    ));
                }
            }
            "--trace" => out.trace = true,
            "--plant" => match value()?.as_str() {
                "duplicates" => out.plant.fake_appends_duplicates = true,
                other => return Err(format!("unknown planted bug `{other}` (known: duplicates)")),
            },
            "--keep" => {
                let v = value()?;
                let keep: Result<Vec<usize>, _> = if v.is_empty() {
                    Ok(Vec::new())
                } else {
                    v.split(',').map(str::parse).collect()
                };
                out.keep = Some(keep.map_err(|e| format!("--keep: {e}"))?);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    out.count = seeds.unwrap_or(1);
    out.range = seeds.is_some();
    Ok(out)
}

fn replay_command(seed: u64, classes: &[String], keep: Option<&[usize]>, plant: Plant) -> String {
    let mut cmd = vec!["cargo xtask sim".to_owned(), format!("--seed {seed}")];
    if plant.fake_appends_duplicates {
        cmd.push("--plant duplicates".to_owned());
    }
    if classes.len() != CLASSES.len() {
        let list = if classes.is_empty() {
            "none".to_owned()
        } else {
            classes.join(",")
        };
        cmd.push(format!("--faults {list}"));
    }
    if let Some(keep) = keep {
        let list: Vec<String> = keep.iter().map(ToString::to_string).collect();
        cmd.push(format!("--keep '{}'", list.join(",")));
    }
    cmd.join(" ")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ferrokafka-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A panic is reported as a failure of its seed; keep the default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let classes: Vec<&str> = args.classes.iter().map(String::as_str).collect();
    if args.trace {
        let mut sc = Scenario::generate(args.first, &classes);
        if let Some(keep) = &args.keep {
            sc = with_faults(&sc, keep);
        }
        println!("{sc:#?}");
        let (result, trace) = ferrokafka_sim::run_traced(&sc, args.plant);
        for line in trace {
            println!("{line}");
        }
        println!("{result:?}");
        return if result.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let next = AtomicU64::new(0);
    let failures: Mutex<Vec<(u64, Failure)>> = Mutex::new(Vec::new());
    let totals = Mutex::new([0u64; 7]);
    // The most any record's resolution took past its delivery.timeout.ms (negative: before).
    let latest = Mutex::new(i64::MIN);
    std::thread::scope(|s| {
        for _ in 0..args.threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= args.count {
                        break;
                    }
                    let seed = args.first + i;
                    let mut sc = Scenario::generate(seed, &classes);
                    if let Some(keep) = &args.keep {
                        sc = with_faults(&sc, keep);
                    }
                    match run_catching(&sc, args.plant) {
                        Ok(sum) => {
                            let mut t = totals
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            for (i, v) in [
                                sum.records,
                                sum.delivered,
                                sum.committed + sum.aborted,
                                sc.faults.len() as u64,
                                sum.splits,
                                sum.timed_out,
                                sum.txn_errors,
                            ]
                            .into_iter()
                            .enumerate()
                            {
                                t[i] += v;
                            }
                            let late = i64::try_from(sum.slowest_ms).unwrap_or(i64::MAX)
                                - i64::try_from(sc.delivery_timeout_ms).unwrap_or(0);
                            let mut l = latest
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            *l = (*l).max(late);
                        }
                        Err(f) => failures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((seed, f)),
                    }
                }
            });
        }
    });
    let totals = totals
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut failures = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort_by_key(|(s, _)| *s);
    // In a range of seeds (`--seeds`), those failing on engine bugs already reported count as
    // known, with the full schedule only (the list is for every fault class, unfiltered); a
    // single `--seed` replay shows its failure.
    let full = args.range && args.classes.len() == CLASSES.len() && args.keep.is_none();
    let (known, failures): (Vec<_>, Vec<_>) = failures
        .into_iter()
        .partition(|(seed, _)| full && known_failure(*seed).is_some());
    let range = args.first..args.first + args.count;
    let now_passing: Vec<u64> = KNOWN_FAILURES
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| full && range.contains(s) && !known.iter().any(|(k, _)| k == s))
        .collect();
    println!(
        "simulated {} seed(s) from {}: {} passed ({} records, {} delivered, {} transactions, {} faults, {} splits, {} records timed out, {} transactional calls failed), {} known engine bug(s), {} failed",
        args.count,
        args.first,
        args.count - failures.len() as u64 - known.len() as u64,
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        totals[4],
        totals[5],
        totals[6],
        known.len(),
        failures.len()
    );
    let latest = latest
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if latest > i64::MIN {
        println!(
            "slowest resolution: {latest:+} ms against delivery.timeout.ms (allowed: +{} ms)",
            ferrokafka_sim::DEADLINE_SLACK_MS
        );
    }
    for (seed, failure) in &known {
        println!(
            "known: seed {seed} ({}; replay: cargo xtask sim --seed {seed}): {}",
            known_failure(*seed).unwrap_or_default(),
            failure.message.chars().take(120).collect::<String>()
        );
    }
    for seed in &now_passing {
        println!("seed {seed} is in KNOWN_FAILURES but passes now: remove it (sim/src/lib.rs)");
    }
    for (seed, failure) in failures.iter().skip(5) {
        println!("seed {seed} FAILED: {failure}");
    }
    for (seed, failure) in failures.iter().take(5) {
        let mut sc = Scenario::generate(*seed, &classes);
        if let Some(keep) = &args.keep {
            sc = with_faults(&sc, keep);
        }
        println!("\nseed {seed} FAILED ({:?}): {failure}", sc.mode);
        println!(
            "  replay: {}",
            replay_command(*seed, &args.classes, args.keep.as_deref(), args.plant)
        );
        let (keep, last) = shrink(&sc, args.plant, failure.clone());
        // Indices are into the (possibly --keep-filtered) schedule; map back to the seed's.
        let original: Vec<usize> = match &args.keep {
            Some(k) => keep.iter().filter_map(|i| k.get(*i).copied()).collect(),
            None => keep.clone(),
        };
        println!(
            "  shrunk to {} of {} fault(s): {last}",
            keep.len(),
            sc.faults.len()
        );
        for i in &keep {
            println!("    {}", sc.faults[*i]);
        }
        println!(
            "  replay shrunk: {}",
            replay_command(*seed, &args.classes, Some(&original), args.plant)
        );
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
