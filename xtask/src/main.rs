//! `cargo xtask <command>`: project automation for ferrokafka.
//!
//! Commands:
//! - `ci`: fmt, clippy, doc, check-layering, test, sim — the one test command of the project.
//! - `check-layering`: the crate dependency direction and the sans-IO rules.
//! - `broker start [--kind tansu|kafka] [--nodes 1|3] [--port P] | stop | status`: a detached
//!   Tansu broker or Apache Kafka cluster on loopback.
//! - `fuzz [--seconds N] [TARGET...]`: run the cargo-fuzz targets for a while each.
//! - `bench [options]`: ferrokafka vs librdkafka end to end on the mock cluster and Tansu (and,
//!   with `--brokers kafka`, on Apache Kafka with the Java producer too); `bench micro`: the
//!   criterion benchmarks; `bench matrix` / `bench quick`: issue 15's workload matrix / its
//!   headline workloads.
//! - `demo [--kind tansu|kafka]`: start a broker, show negotiation and produce through it.
//! - `sim [--seeds N] [--seed S] [--faults ...]`: the seeded simulation (release, all cores).

mod bench;
mod broker;
mod ci;
mod fuzz;
mod layering;
mod sim;
mod util;

use std::process::ExitCode;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                          fmt --check, clippy -D warnings, doc -D warnings, check-layering, test, sim (stops at the first failure)
  check-layering              check the crate dependency direction and the sans-IO rules
  broker start [--port P]     install Tansu (cached) and start it detached on 127.0.0.1:P (default 9092)
    [--kind kafka [--nodes 1|3] [--transaction-version 0|2]]
                              or Apache Kafka 4.4.0 (jars from Maven Central, cached): a KRaft
                              cluster, node i on port P+i-1
  broker stop                 stop the broker started by `broker start`
  broker status               say whether that broker runs and where
  fuzz [--seconds N] [T...]   run each fuzz target (default: all) for N seconds (default 60) on nightly
  bench [options]             ferrokafka vs librdkafka end to end on the mock cluster and Tansu
                              (median of alternating runs; --brokers kafka: on Apache Kafka, with
                              the Java producer too; `cargo xtask bench --help` for options)
  bench matrix | bench quick  issue 15's workload matrix with every client (librdkafka,
                              ferrokafka, ferrokafka-cli, krafka, kacrab, rskafka, java) on the
                              mock and Kafka, one ratio table / its two headline workloads
  bench micro                 run the criterion benchmarks of the workspace
  sim [--seeds N] [--seed S]  seeded simulation of the engine against the fake cluster, on all
    [--faults c,..] [--keep i,..] [--trace]
                              cores in release mode; a failure prints its replay command and a
                              shrunk fault schedule (`--keep`); `--trace` prints one seed's run
  demo [--kind kafka]         start Tansu (or Apache Kafka), show version negotiation, produce
                              records with delivery reports and a throughput summary, stop it
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let Some((cmd, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(ExitCode::FAILURE);
    };
    match cmd.as_str() {
        "ci" => {
            no_args(cmd, rest)?;
            ci::run()
        }
        "check-layering" => {
            no_args(cmd, rest)?;
            layering::run()
        }
        "broker" => broker::run(rest),
        "fuzz" => fuzz::run(rest),
        "bench" => bench::run(rest),
        "demo" => broker::demo(rest),
        "sim" => sim::run(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

fn no_args(cmd: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        bail!("`{cmd}` takes no arguments, got {rest:?}")
    }
}
