//! `ferrokafka-cli`: kcat-style `produce` and a `kafka-producer-perf-test`-style `perf`.
//!
//! Neither command creates topics: a missing topic surfaces as the producer's error.
//! Exit codes: 0 success, 1 some record failed (or the producer could not start),
//! 2 usage or configuration error.
#![forbid(unsafe_code)]

mod args;
mod input;
mod interrupt;
mod perf;
mod pipeline;
mod produce;
mod properties;
mod sink;
mod values;

use std::time::Duration;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::sink::OpenError;

pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
/// Stopped by Ctrl-C (128 + SIGINT, the shell's convention).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Deliveries allowed outstanding at once. High on purpose: `buffer.memory` is the real bound,
/// as in the Java tool, which awaits nothing before the next send.
const MAX_IN_FLIGHT: usize = 1_000_000;
/// How long the final `flush` may take (deliveries are bounded by delivery.timeout.ms anyway).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the final `flush` may take after Ctrl-C (a second Ctrl-C exits at once).
const INTERRUPTED_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `close` may take once every delivery has completed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);
/// `buffer.memory`'s default: the CLI's own bound on outstanding deliveries when unset.
const DEFAULT_BUFFER_MEMORY: u64 = 32 * 1024 * 1024;

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help/version exit 0, usage errors exit 2 (clap's convention).
        Err(e) => e.exit(),
    };
    let code = run(cli).await;
    // Exit here rather than return: tokio's stdin reader is a blocking thread that may still be
    // waiting for input (after Ctrl-C, or a fatal error with stdin still open), and dropping
    // the runtime would wait for it forever.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(i32::from(code));
}

/// The first Ctrl-C raises `stop` (the command stops reading, flushes for a bounded time and
/// prints its summary); a second one exits at once.
///
/// The handler is installed here, before the command starts, not when the watching task first
/// runs: on a loaded machine that task could run after a Ctrl-C, which was then lost.
fn watch_ctrl_c(stop: interrupt::Interrupt) {
    #[cfg(unix)]
    let Ok(mut signals) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    else {
        return;
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut ctrl_c = async || signals.recv().await.is_some();
        #[cfg(not(unix))]
        let ctrl_c = async || tokio::signal::ctrl_c().await.is_ok();
        if !ctrl_c().await {
            return;
        }
        eprintln!("ferrokafka-cli: interrupted: finishing up (Ctrl-C again to exit at once)");
        stop.trigger();
        if ctrl_c().await {
            eprintln!("ferrokafka-cli: interrupted again: exiting without waiting for deliveries");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// The last value of `key` among the properties.
fn property<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `buffer.memory` as given (the producer validates it), or its default.
fn buffer_memory(props: &[(String, String)]) -> u64 {
    property(props, "buffer.memory")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_BUFFER_MEMORY)
}

async fn open_sink(props: &[(String, String)]) -> Result<sink::ProducerSink, u8> {
    let opened = sink::open(props).await.map_err(|e| match e {
        OpenError::Config(msg) => {
            eprintln!("ferrokafka-cli: invalid configuration: {msg}");
            EXIT_USAGE
        }
        OpenError::Other(msg) => {
            eprintln!("ferrokafka-cli: cannot start the producer: {msg}");
            EXIT_FAILED
        }
    })?;
    let (sink, warnings) = opened;
    for w in warnings {
        eprintln!("ferrokafka-cli: warning: {w}");
    }
    Ok(sink)
}

/// `-F FILE`'s properties followed by the `-X` ones (which win).
fn with_config_file(
    file: Option<&std::path::Path>,
    cli_properties: Vec<values::Property>,
) -> Result<Vec<values::Property>, u8> {
    let Some(path) = file else {
        return Ok(cli_properties);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("ferrokafka-cli: cannot read {}: {e}", path.display());
        EXIT_USAGE
    })?;
    let mut props = properties::parse_properties_file(&text).map_err(|e| {
        eprintln!("ferrokafka-cli: {}: {e}", path.display());
        EXIT_USAGE
    })?;
    props.extend(cli_properties);
    Ok(props)
}

async fn run(cli: Cli) -> u8 {
    let stop = interrupt::Interrupt::new();
    watch_ctrl_c(stop.clone());
    match cli.command {
        Command::Produce(a) => {
            if a.verbose {
                // The producer's own story (connections, requests, retries) at debug.
                let _ = tracing_subscriber::fmt()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
                    .try_init();
            }
            if a.file_records && a.files.len() != 1 {
                eprintln!(
                    "ferrokafka-cli: -l reads records from one file; {} given",
                    a.files.len()
                );
                return EXIT_USAGE;
            }
            let properties = match with_config_file(a.config_file.as_deref(), a.properties) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let mut props = properties::producer_properties(
                &a.target.brokers,
                a.compression.as_deref(),
                &properties,
            );
            if let Some(id) = &a.transactional_id {
                props.retain(|(k, _)| k != "transactional.id");
                props.push(("transactional.id".to_owned(), id.clone()));
            }
            // `--transactional-id ID` and `-X transactional.id=ID` are the same thing.
            let transactional = property(&props, "transactional.id").is_some();
            if !transactional && (a.txn_records.is_some() || a.abort) {
                eprintln!(
                    "ferrokafka-cli: --txn-records and --abort need a transactional id \
                     (--transactional-id ID or -X transactional.id=ID)"
                );
                return EXIT_USAGE;
            }
            let transactions = transactional.then_some(produce::TxnOptions {
                records: a.txn_records,
                abort: a.abort,
            });
            let records_file = match a.files.first().filter(|_| a.file_records) {
                Some(path) => match tokio::fs::File::open(path).await {
                    Ok(f) => Some(f),
                    Err(e) => {
                        eprintln!("ferrokafka-cli: {}: {e}", path.display());
                        return EXIT_USAGE;
                    }
                },
                None => None,
            };
            let sink = match open_sink(&props).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let opts = produce::ProduceOptions {
                topic: a.target.topic,
                partition: a.partition,
                key_delimiter: a.key_delimiter.map(|d| d.0),
                headers: a.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                max_in_flight: MAX_IN_FLIGHT,
                max_outstanding_bytes: buffer_memory(&props),
                flush_timeout: FLUSH_TIMEOUT,
                interrupted_flush_timeout: INTERRUPTED_FLUSH_TIMEOUT,
                close_timeout: CLOSE_TIMEOUT,
                transactions,
                count_unsent: !a.files.is_empty()
                    || !std::io::IsTerminal::is_terminal(&std::io::stdin()),
                fixed_key: a.key.map(bytes::Bytes::from),
                max_records: a.count,
                tee: a.tee,
                quiet: a.quiet,
                verbose: a.verbose,
            };
            let delimiter = a.delimiter.map_or_else(|| b"\n".to_vec(), |d| d.0);
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            let summary = if let Some(file) = records_file {
                let input = input::Delimited::new(tokio::io::BufReader::new(file), delimiter);
                produce::run_produce(&opts, &sink, input, &mut out, &mut err, &stop).await
            } else if a.files.is_empty() {
                let stdin = tokio::io::BufReader::new(tokio::io::stdin());
                let input = input::Delimited::new(stdin, delimiter);
                produce::run_produce(&opts, &sink, input, &mut out, &mut err, &stop).await
            } else {
                let input = input::WholeFiles::new(a.files);
                produce::run_produce(&opts, &sink, input, &mut out, &mut err, &stop).await
            };
            summary.exit_code()
        }
        Command::Perf(a) => {
            let properties = match with_config_file(a.config_file.as_deref(), a.properties) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let props = properties::producer_properties(&a.target.brokers, None, &properties);
            let transaction_duration = props
                .iter()
                .any(|(k, _)| k == "transactional.id")
                .then(|| Duration::from_millis(a.transaction_duration_ms));
            let sink = match open_sink(&props).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let opts = perf::PerfOptions {
                topic: a.target.topic,
                num_records: a.num_records,
                record_size: a.record_size as usize,
                key_size: a.key_size as usize,
                throughput: a.throughput,
                // Every record has the same size: the memory bound is a count.
                max_in_flight: MAX_IN_FLIGHT.min(
                    usize::try_from(
                        buffer_memory(&props)
                            / (u64::from(a.record_size)
                                + u64::from(a.key_size)
                                + produce::DELIVERY_OVERHEAD),
                    )
                    .unwrap_or(usize::MAX)
                    .max(1),
                ),
                flush_timeout: FLUSH_TIMEOUT,
                interrupted_flush_timeout: INTERRUPTED_FLUSH_TIMEOUT,
                close_timeout: CLOSE_TIMEOUT,
                transaction_duration,
                print_metrics: a.print_metrics,
            };
            let summary = perf::run_perf(
                &opts,
                &sink,
                perf::SystemClock::new(),
                &mut std::io::stdout(),
                &mut std::io::stderr(),
                &stop,
            )
            .await;
            summary.exit_code()
        }
    }
}
