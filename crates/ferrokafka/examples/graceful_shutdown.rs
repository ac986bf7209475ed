//! Produces a record every `INTERVAL_MS` until asked to stop, then shuts down without losing
//! what was already sent: stop sending, `flush`, `close`.
//!
//! ```sh
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --example graceful_shutdown -- [TOPIC]
//! # press Ctrl-C (or `kill -TERM <pid>`) to stop
//! ```
//!
//! It stops on the first of:
//! - Ctrl-C (SIGINT), or SIGTERM on Unix (what `kill`, systemd and Kubernetes send);
//! - `MAX_RECORDS` records sent, if that variable is set: then it stops by itself (scripts and
//!   tests use it).
//!
//! A second Ctrl-C or SIGTERM during the shutdown stops waiting for the flush; `close` still
//! runs, with its own bound.
//!
//! `BOOTSTRAP` defaults to `localhost:9092`, `TOPIC` to `ferrokafka-example-ticks`, `INTERVAL_MS`
//! to 100. Output: one `delivered KEY to TOPIC/PARTITION@OFFSET` line per record, a `stopping
//! (REASON) ...` line, and a summary; exit code 0 when every record sent was delivered, 1
//! otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferrokafka::{Producer, ProducerRecord};

mod common;
use common::Args;

/// How long the shutdown may wait for queued records to be delivered...
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// ...and then for `close` (whatever is still undelivered after it fails with `Aborted`).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves when the process is asked to stop: Ctrl-C everywhere, SIGTERM too on Unix.
///
/// The signal handlers are installed when this future is first polled; until then the signals'
/// default action (ending the process at once) applies.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).expect("install a SIGTERM handler");
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                result.expect("install a Ctrl-C handler");
                "Ctrl-C"
            }
            _ = terminate.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .expect("install a Ctrl-C handler");
        "Ctrl-C"
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let topic = args.next_or("ferrokafka-example-ticks");
    let max_records: Option<u64> = std::env::var("MAX_RECORDS")
        .ok()
        .map(|n| n.parse())
        .transpose()?;
    let interval =
        Duration::from_millis(std::env::var("INTERVAL_MS").map_or(Ok(100), |ms| ms.parse())?);

    let config = args.config("graceful-shutdown-example").build()?;
    let producer = Producer::new(config)?;

    let delivered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut sent: u64 = 0;

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut ticks = tokio::time::interval(interval);
    println!("producing to {topic} every {interval:?}; Ctrl-C to stop");
    let reason = loop {
        if max_records.is_some_and(|max| sent >= max) {
            break "MAX_RECORDS reached";
        }
        tokio::select! {
            // `biased`: look at the signal first, every turn, so it is noticed (and its handler
            // installed, at the first turn) before anything else happens.
            biased;
            reason = &mut shutdown => break reason,
            _ = ticks.tick() => {}
        }

        let key = format!("tick-{sent}");
        let record = ProducerRecord::new(&topic)
            .with_key(key.clone())
            .with_value(format!("tick {sent}"));
        let (delivered, failed) = (delivered.clone(), failed.clone());
        // `send_with_callback` only waits for metadata or buffer space (at most max.block.ms);
        // the callback reports the delivery later, from the producer's I/O task.
        producer
            .send_with_callback(record, move |outcome| match outcome {
                Ok(md) => {
                    delivered.fetch_add(1, Ordering::Relaxed);
                    println!(
                        "delivered {key} to {}/{}@{}",
                        md.topic(),
                        md.partition(),
                        md.offset().unwrap_or(-1)
                    );
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("{key} was not delivered: {e}");
                }
            })
            .await?;
        sent += 1;
    };

    // 1. Nothing new is sent from here on. 2. `flush` sends what is queued at once (without
    // waiting for linger.ms) and waits for the acknowledgements, at most FLUSH_TIMEOUT; a second
    // signal cuts the wait short. 3. `close` waits for what is left (at most CLOSE_TIMEOUT),
    // fails whatever is still undelivered, and ends the I/O task: every callback has run when
    // it returns.
    println!("stopping ({reason}): {sent} records sent, flushing");
    tokio::select! {
        result = producer.flush(FLUSH_TIMEOUT) => {
            if let Err(e) = result {
                eprintln!("flush: {e}");
            }
        }
        reason = shutdown_signal() => eprintln!("{reason} again: not waiting for the flush"),
    }
    producer.close(CLOSE_TIMEOUT).await;

    let (delivered, failed) = (
        delivered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    println!("{sent} records sent, {delivered} delivered, {failed} failed");
    if delivered != sent {
        return Err(format!("{} of {sent} records were not delivered", sent - delivered).into());
    }
    Ok(())
}
