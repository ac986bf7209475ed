//! Sends many records with delivery callbacks, keeping at most `MAX_IN_FLIGHT` of them sent but
//! not yet acknowledged.
//!
//! ```sh
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --example callbacks_bounded -- [TOPIC] [COUNT]
//! ```
//!
//! The producer bounds its own memory already (`buffer.memory`: `send` waits while the buffer is
//! full). Bounding in the application as well limits what is outstanding in *your* terms: the
//! state each callback holds on to, or the input not yet confirmed to wherever it came from.
//! A semaphore does it: a permit is taken before each send and released by its callback.
//!
//! `BOOTSTRAP` defaults to `localhost:9092`, `TOPIC` to `ferrokafka-example-callbacks`, `COUNT`
//! to 1000. Output: a `partition P: N records, offsets A..=B` line per partition written, then a
//! summary; exit code 0 when every record was delivered, 1 otherwise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{ProduceError, Producer, ProducerRecord, RecordMetadata};
use tokio::sync::Semaphore;

mod common;
use common::Args;

/// At most this many records sent and not yet acknowledged.
const MAX_IN_FLIGHT: usize = 100;

/// What the callbacks saw.
#[derive(Debug, Default)]
struct Report {
    /// Per partition: (records, lowest offset, highest offset).
    partitions: BTreeMap<i32, (u64, i64, i64)>,
    failed: u64,
    first_error: Option<ProduceError>,
}

impl Report {
    fn record(&mut self, outcome: Result<RecordMetadata, ProduceError>) {
        match outcome {
            Ok(md) => {
                let offset = md.offset().unwrap_or(-1);
                let entry = self
                    .partitions
                    .entry(md.partition())
                    .or_insert((0, offset, offset));
                entry.0 += 1;
                entry.1 = entry.1.min(offset);
                entry.2 = entry.2.max(offset);
            }
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let topic = args.next_or("ferrokafka-example-callbacks");
    let count: usize = args.next_or("1000").parse()?;

    let config = args.config("callbacks-bounded-example").build()?;
    let producer = Producer::new(config)?;

    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let report = Arc::new(Mutex::new(Report::default()));
    let mut peak_in_flight = 0;
    for i in 0..count {
        // Waits while MAX_IN_FLIGHT records are unacknowledged.
        let permit = permits.clone().acquire_owned().await?;
        peak_in_flight = peak_in_flight.max(MAX_IN_FLIGHT - permits.available_permits());

        let record = ProducerRecord::new(&topic)
            .with_key(format!("key-{}", i % 50))
            .with_value(format!("record-{i}"));
        let report = report.clone();
        // The callback runs once, on the producer's I/O task, when the record is acknowledged
        // or has failed: keep it short and never block in it (send its outcome to a channel if
        // there is more to do). If `send_with_callback` itself fails, the record was not queued,
        // the callback never runs and is dropped, and so is its permit.
        producer
            .send_with_callback(record, move |outcome| {
                report
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .record(outcome);
                drop(permit); // the slot is free again
            })
            .await?;
    }

    // Every permit back means every callback has run. Bounded, like every wait should be.
    let all = u32::try_from(MAX_IN_FLIGHT)?;
    let _all_done = tokio::time::timeout(Duration::from_secs(60), permits.acquire_many(all))
        .await
        .map_err(|_| "records still unacknowledged after 60 s")??;
    producer.close(Duration::from_secs(10)).await;

    let report = report
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (partition, (records, first, last)) in &report.partitions {
        println!("partition {partition}: {records} records, offsets {first}..={last}");
    }
    let delivered: u64 = report.partitions.values().map(|p| p.0).sum();
    println!(
        "{delivered} records delivered, {} failed, at most {peak_in_flight} in flight \
         (limit {MAX_IN_FLIGHT})",
        report.failed
    );
    if let Some(e) = &report.first_error {
        return Err(format!(
            "{} records were not delivered; first error: {e}",
            report.failed
        )
        .into());
    }
    Ok(())
}
