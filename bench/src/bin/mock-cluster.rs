//! `mock-cluster --brokers N --topic T --partitions P`: hosts librdkafka's mock cluster in a
//! process of its own (so its CPU time is not charged to the client being measured), creates
//! the topic, prints the bootstrap servers on one stdout line, and runs until stdin closes.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rdkafka::mocking::MockCluster;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-cluster: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut brokers: i32 = 3;
    let mut partitions: i32 = 6;
    let mut topics: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--brokers" => brokers = value.parse().context("--brokers")?,
            "--partitions" => partitions = value.parse().context("--partitions")?,
            "--topic" => topics.push(value),
            other => bail!(
                "unknown argument {other:?}; usage: mock-cluster [--brokers N] [--partitions P] \
                 --topic T..."
            ),
        }
    }
    let mock = MockCluster::new(brokers).context("start the mock cluster")?;
    for topic in &topics {
        mock.create_topic(topic, partitions, brokers)
            .with_context(|| format!("create topic {topic}"))?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", mock.bootstrap_servers())?;
    out.flush()?;
    drop(out);
    // Serve until whoever started us closes our stdin (or exits).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(mock);
    Ok(())
}
