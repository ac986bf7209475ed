//! `cargo xtask ci` and `cargo xtask bench micro`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::util::{cargo, status};

/// One CI step.
struct Step {
    name: &'static str,
    run: fn() -> Result<bool>,
}

fn fmt() -> Result<bool> {
    status(cargo().args(["fmt", "--all", "--check"]))
}

fn clippy() -> Result<bool> {
    status(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Rustdoc with every warning an error (broken or private intra-doc links, bad code block
/// attributes, ...), for the library and binary targets of every member, without their
/// dependencies' docs. The dependencies' metadata is the one the clippy step just built; only the
/// members are checked again (clippy's metadata of them is not reusable) and documented: about
/// 17 s on two cores.
fn doc() -> Result<bool> {
    status(
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )
}

fn layering() -> Result<bool> {
    crate::layering::check()
}

fn test() -> Result<bool> {
    status(cargo().args(["test", "--workspace"]))
}

const STEPS: &[Step] = &[
    Step {
        name: "cargo fmt --all --check",
        run: fmt,
    },
    Step {
        name: "cargo clippy --workspace --all-targets -- -D warnings",
        run: clippy,
    },
    Step {
        name: "RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps",
        run: doc,
    },
    Step {
        name: "cargo xtask check-layering",
        run: layering,
    },
    Step {
        name: "cargo test --workspace",
        run: test,
    },
    Step {
        name: "cargo xtask sim --seeds 100000 (release, all cores)",
        run: crate::sim::ci,
    },
];

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

pub(crate) fn run() -> Result<ExitCode> {
    let started = Instant::now();
    let mut done: Vec<(&str, Duration, bool)> = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        println!(
            "\n==== ci step {}/{}: {} ====",
            i + 1,
            STEPS.len(),
            step.name
        );
        let t = Instant::now();
        let ok = (step.run)()?;
        let took = t.elapsed();
        println!(
            "==== {}: {} in {} ====",
            step.name,
            if ok { "ok" } else { "FAILED" },
            secs(took)
        );
        done.push((step.name, took, ok));
        if !ok {
            break;
        }
    }
    println!("\n==== ci summary ====");
    for (name, took, ok) in &done {
        println!(
            "{:>8}  {:<6}  {name}",
            secs(*took),
            if *ok { "ok" } else { "FAILED" }
        );
    }
    for step in &STEPS[done.len()..] {
        println!("{:>8}  {:<6}  {}", "-", "skip", step.name);
    }
    let all_ok = done.len() == STEPS.len() && done.iter().all(|d| d.2);
    println!(
        "{:>8}  total: {}",
        secs(started.elapsed()),
        if all_ok { "ok" } else { "FAILED" }
    );
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cargo xtask bench micro`: the criterion micro-benchmarks of every crate.
pub(crate) fn bench() -> Result<ExitCode> {
    println!("running the criterion benchmarks of the workspace (cargo bench --workspace)");
    let ok = status(cargo().args(["bench", "--workspace"]))?;
    println!(
        "\nthese are the per-layer micro-benchmarks; `cargo xtask bench` (without `micro`) runs \
         the end-to-end comparison with librdkafka"
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
