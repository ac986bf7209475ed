//! `ferrokafka-cli`: kcat-style `produce` and a `kafka-producer-perf-test`-style `perf`.
//!
//! Neither command creates topics: a missing topic surfaces as the producer's error.
//! Exit codes: 0 success, 1 some record failed (or the producer could not start),
//! 2 usage or configuration error.
#![forbid(unsafe_code)]

mod args;
mod perf;
mod pipeline;
mod produce;
mod sink;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::sink::OpenError;

pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;

/// Deliveries allowed outstanding at once. High on purpose: `buffer.memory` is the real bound,
/// as in the Java tool, which awaits nothing before the next send.
const MAX_IN_FLIGHT: usize = 1_000_000;
/// How long the final `flush` may take (deliveries are bounded by delivery.timeout.ms anyway).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(180);
/// How long `close` may take once every delivery has completed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help/version exit 0, usage errors exit 2 (clap's convention).
        Err(e) => e.exit(),
    };
    ExitCode::from(run(cli).await)
}

async fn open_sink(props: &[(String, String)]) -> Result<sink::ProducerSink, u8> {
    sink::open(props).await.map_err(|e| match e {
        OpenError::Config(msg) => {
            eprintln!("ferrokafka-cli: invalid configuration: {msg}");
            EXIT_USAGE
        }
        OpenError::Other(msg) => {
            eprintln!("ferrokafka-cli: cannot start the producer: {msg}");
            EXIT_FAILED
        }
    })
}

async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Produce(a) => {
            let mut props =
                args::producer_properties(&a.brokers, a.compression.as_deref(), &a.properties);
            if let Some(id) = &a.transactional_id {
                props.retain(|(k, _)| k != "transactional.id");
                props.push(("transactional.id".to_owned(), id.clone()));
            }
            let transactions = a.transactional_id.as_ref().map(|_| produce::TxnOptions {
                records: a.txn_records,
                abort: a.abort,
            });
            let sink = match open_sink(&props).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let opts = produce::ProduceOptions {
                topic: a.topic,
                partition: a.partition,
                key_delimiter: a.key_delimiter.map(|d| d.0),
                headers: a.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                max_in_flight: MAX_IN_FLIGHT,
                flush_timeout: FLUSH_TIMEOUT,
                close_timeout: CLOSE_TIMEOUT,
                transactions,
            };
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let summary = produce::run_produce(&opts, &sink, stdin, &mut std::io::stderr()).await;
            summary.exit_code()
        }
        Command::Perf(a) => {
            let props = args::producer_properties(&a.brokers, None, &a.properties);
            let transaction_duration = props
                .iter()
                .any(|(k, _)| k == "transactional.id")
                .then(|| Duration::from_millis(a.transaction_duration_ms));
            let sink = match open_sink(&props).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let opts = perf::PerfOptions {
                topic: a.topic,
                num_records: a.num_records,
                record_size: a.record_size as usize,
                throughput: a.throughput,
                max_in_flight: MAX_IN_FLIGHT,
                flush_timeout: FLUSH_TIMEOUT,
                close_timeout: CLOSE_TIMEOUT,
                transaction_duration,
            };
            let clock = perf::SystemClock::new();
            let summary = perf::run_perf(
                &opts,
                &sink,
                &clock,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            )
            .await;
            summary.exit_code()
        }
    }
}
