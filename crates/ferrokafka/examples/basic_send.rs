//! Sends a few keyed records and prints where each one was written (its delivery report).
//!
//! ```sh
//! cargo xtask broker start          # a local broker on 127.0.0.1:9092, if you have none
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --example basic_send -- [TOPIC] [COUNT]
//! ```
//!
//! `BOOTSTRAP` defaults to `localhost:9092`, `TOPIC` to `ferrokafka-example`, `COUNT` to 10.
//! Output: one `delivered KEY to TOPIC/PARTITION@OFFSET` line per record. The exit code is 0 when
//! every record was delivered and 1 otherwise.

use std::time::Duration;

use ferrokafka::{Producer, ProducerRecord};

mod common;
use common::Args;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let topic = args.next_or("ferrokafka-example");
    let count: usize = args.next_or("10").parse()?;

    // The Java client's property names and defaults (see `common`). A bad key or value fails
    // here, naming it.
    let config = args
        .config("basic-send-example")
        .set("linger.ms", "5") // wait up to 5 ms to fill a batch
        .build()?;
    // Spawns the producer's I/O task on this tokio runtime; connections open on the first send.
    let producer = Producer::new(config)?;

    // `send` queues the record and returns its delivery future without waiting for the broker
    // (it only waits for the topic's metadata, or for buffer space). Queueing every record
    // before awaiting any lets them travel together in batches.
    let mut deliveries = Vec::with_capacity(count);
    for i in 0..count {
        let key = format!("key-{i}");
        let record = ProducerRecord::new(&topic)
            .with_key(key.clone()) // records with the same key go to the same partition
            .with_value(format!("message {i}"))
            .with_header("example", Some("basic_send"));
        deliveries.push((key, producer.send(record).await?));
    }

    // Each future resolves once the broker acknowledged its record, or with the error that ended
    // its delivery (after the retries `delivery.timeout.ms` allows).
    let mut failed = 0;
    for (key, delivery) in deliveries {
        match delivery.await {
            // The offset is `None` only with acks=0 (no acknowledgement, no offset).
            Ok(md) => println!(
                "delivered {key} to {}/{}@{}",
                md.topic(),
                md.partition(),
                md.offset().unwrap_or(-1)
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{key} was not delivered: {e}");
            }
        }
    }

    // Metrics have the Java client's names.
    let sent = producer.metrics().get("record-send-total").unwrap_or(0.0);
    println!("{sent} records sent, {failed} failed");

    // `close` sends what is still queued and waits for it (at most the timeout). Dropping the
    // producer does the same in the background; closing explicitly lets you wait for it.
    producer.close(Duration::from_secs(10)).await;
    if failed > 0 {
        return Err(format!("{failed} of {count} records were not delivered").into());
    }
    Ok(())
}
