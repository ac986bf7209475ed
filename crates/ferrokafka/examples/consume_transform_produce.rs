//! Exactly-once consume-transform-produce: the output records of a batch of input and the
//! input's consumed offsets are committed in one transaction, so a `read_committed` reader of
//! the output sees each input record's output once, even when the application crashes midway
//! and restarts from the group's committed offsets.
//!
//! ```sh
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --example consume_transform_produce -- \
//!     [INPUT_TOPIC] [OUTPUT_TOPIC] [GROUP]
//! ```
//!
//! ferrokafka is a producer only. The consumer side is simulated here: [`Input::poll`] returns
//! a fixed list of records "consumed" from `INPUT_TOPIC`, as a Kafka consumer (in group `GROUP`,
//! with `enable.auto.commit=false` and `isolation.level=read_committed`) would. Nothing is read
//! from the input topic; its offsets are only committed for the group.
//!
//! Defaults: `BOOTSTRAP` `localhost:9092`, `INPUT_TOPIC` `ferrokafka-example-input`,
//! `OUTPUT_TOPIC` `ferrokafka-example-output`, `GROUP` `ferrokafka-example-group`,
//! `TRANSACTIONAL_ID` `ferrokafka-example-ctp`. Output: a `delivered KEY to TOPIC/PARTITION@OFFSET`
//! line per output record and a `committed transaction N: ... offsets TOPIC/PARTITION=OFFSET ...`
//! line per transaction; exit code 0 when every transaction committed, 1 otherwise.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka::{
    ErrorKind, GroupMetadata, OffsetToCommit, ProduceError, Producer, ProducerRecord,
};

mod common;
use common::Args;

/// A record as a consumer returns it.
struct Consumed {
    topic: String,
    partition: i32,
    offset: i64,
    key: &'static str,
    value: &'static str,
}

/// Stands in for a consumer of `topic` in `group` (subscribed, `enable.auto.commit=false`):
/// hands out a fixed list of records, a few per poll.
struct Input {
    topic: String,
    group: String,
    records: std::vec::IntoIter<(i32, i64, &'static str, &'static str)>,
}

impl Input {
    fn new(topic: &str, group: &str) -> Self {
        // (partition, offset, key, value): two partitions, each in offset order.
        let records = vec![
            (0, 0, "alice", "ordered tea"),
            (1, 0, "bob", "ordered coffee"),
            (0, 1, "alice", "ordered scones"),
            (1, 1, "bob", "cancelled coffee"),
            (0, 2, "carol", "ordered water"),
            (1, 2, "dave", "ordered cake"),
            (0, 3, "alice", "paid"),
        ];
        Self {
            topic: topic.to_owned(),
            group: group.to_owned(),
            records: records.into_iter(),
        }
    }

    /// A real application calls its consumer's `poll` here (e.g. rdkafka's `StreamConsumer`).
    fn poll(&mut self, max_records: usize) -> Vec<Consumed> {
        self.records
            .by_ref()
            .take(max_records)
            .map(|(partition, offset, key, value)| Consumed {
                topic: self.topic.clone(),
                partition,
                offset,
                key,
                value,
            })
            .collect()
    }

    /// The group's identity for `send_offsets_to_transaction`. A real application passes its
    /// consumer's (Java `consumer.groupMetadata()`, rdkafka's `group_metadata()`): with the
    /// generation and member id the group coordinator also fences consumers that were kicked
    /// out of the group (KIP-447). Only the group id, as here, fences by `transactional.id`.
    fn group_metadata(&self) -> GroupMetadata {
        GroupMetadata::new(&self.group)
    }
}

/// The transformation: any function of the input record.
fn transform(record: &Consumed, output_topic: &str) -> ProducerRecord {
    ProducerRecord::new(output_topic)
        .with_key(record.key)
        .with_value(record.value.to_uppercase())
        // Where it came from, for the curious reader of the output topic.
        .with_header(
            "source",
            Some(format!(
                "{}/{}@{}",
                record.topic, record.partition, record.offset
            )),
        )
}

/// The offsets to commit for a batch: per partition, the offset of the *next* record to
/// consume (the last processed one + 1), as Kafka expects.
fn next_offsets(batch: &[Consumed]) -> Vec<OffsetToCommit> {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for r in batch {
        let offset = next.entry((r.topic.as_str(), r.partition)).or_insert(0);
        *offset = (*offset).max(r.offset + 1);
    }
    next.into_iter()
        .map(|((topic, partition), offset)| OffsetToCommit {
            topic: topic.to_owned(),
            partition,
            offset,
            leader_epoch: None, // a real consumer knows it: pass the record's leader epoch
            metadata: None,
        })
        .collect()
}

/// One transaction: the batch's output records and its input offsets.
async fn process(
    producer: &Producer,
    batch: &[Consumed],
    output_topic: &str,
    group: &GroupMetadata,
) -> Result<Vec<OffsetToCommit>, ProduceError> {
    producer.begin_transaction()?;
    let mut deliveries = Vec::with_capacity(batch.len());
    for record in batch {
        deliveries.push((
            record.key,
            producer.send(transform(record, output_topic)).await?,
        ));
    }
    let offsets = next_offsets(batch);
    producer
        .send_offsets_to_transaction(offsets.clone(), group.clone())
        .await?;
    // Sends whatever of the transaction is still queued, then commits records and offsets
    // together. A consumer with isolation.level=read_committed sees the records only now.
    producer.commit_transaction().await?;
    for (key, delivery) in deliveries {
        // Committed, so every record was delivered.
        let md = delivery.await?;
        println!(
            "delivered {key} to {}/{}@{}",
            md.topic(),
            md.partition(),
            md.offset().unwrap_or(-1)
        );
    }
    Ok(offsets)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let input_topic = args.next_or("ferrokafka-example-input");
    let output_topic = args.next_or("ferrokafka-example-output");
    let group = args.next_or("ferrokafka-example-group");
    // One transactional id per instance of the application, stable across its restarts: a new
    // instance with the same id fences the old one (its transactions can no longer commit) and
    // aborts whatever transaction the old one left open.
    let transactional_id =
        std::env::var("TRANSACTIONAL_ID").unwrap_or_else(|_| "ferrokafka-example-ctp".to_owned());

    // max.block.ms (see `common`) also bounds each transactional call.
    let config = args
        .config("consume-transform-produce-example")
        .transactional_id(&transactional_id) // requires idempotence, on by default
        .build()?;
    let producer = Producer::new(config)?;
    // Once, before the first transaction: finds the transaction coordinator, gets the producer
    // id and epoch, fences older instances.
    producer.init_transactions().await?;

    let mut input = Input::new(&input_topic, &group);
    let group_metadata = input.group_metadata();
    let mut transactions = 0;
    loop {
        let batch = input.poll(3);
        if batch.is_empty() {
            break; // a real application keeps polling
        }
        match process(&producer, &batch, &output_topic, &group_metadata).await {
            Ok(offsets) => {
                transactions += 1;
                let offsets: Vec<String> = offsets
                    .iter()
                    .map(|o| format!("{}/{}={}", o.topic, o.partition, o.offset))
                    .collect();
                println!(
                    "committed transaction {transactions}: {} records; group {group} offsets {}",
                    batch.len(),
                    offsets.join(" ")
                );
            }
            // A newer instance with the same transactional.id took over: it goes on with the
            // work, this one steps down.
            Err(e) if e.kind() == ErrorKind::ProducerFenced => {
                producer.close(Duration::from_secs(10)).await;
                return Err(format!("fenced by a newer instance: {e}").into());
            }
            // An unrecoverable error: this producer is done.
            Err(e) if e.is_fatal() => {
                producer.close(Duration::from_secs(10)).await;
                return Err(format!("fatal, giving up: {e}").into());
            }
            // Anything else (a record failed, a timeout): abort. Neither the output records nor
            // the offsets become visible. A real application then rewinds its consumer to the
            // group's committed offsets and processes the batch again.
            Err(e) => {
                eprintln!("transaction failed, aborting: {e}");
                producer.abort_transaction().await?;
                producer.close(Duration::from_secs(10)).await;
                return Err(e.into());
            }
        }
    }
    producer.close(Duration::from_secs(10)).await;
    println!("{transactions} transactions committed");
    Ok(())
}
