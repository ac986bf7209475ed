//! Chooses each record's partition with the application's own rule: keys starting with `vip-`
//! go to partition 0 (say, a partition with a dedicated, faster consumer), every other key is
//! hashed over the remaining partitions.
//!
//! ```sh
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --example custom_partitioner -- [TOPIC] [PARTITIONS]
//! ```
//!
//! The rule is a [`Partitioner`] of the application's own, handed to the producer with
//! `ProducerConfigBuilder::custom_partitioner` (Java's `partitioner.class`): the producer asks it
//! for every record without an explicit partition, with the topic's partition count from the
//! cluster's metadata. Its hash must be stable across processes and versions of the program, or
//! a key's records end up on two partitions: `std`'s `DefaultHasher` promises neither, so this
//! uses Kafka's murmur2.
//!
//! After the first send the example checks the topic has the `PARTITIONS` the caller expects
//! (the rule needs at least 2).
//!
//! `BOOTSTRAP` defaults to `localhost:9092`, `TOPIC` to `ferrokafka-example-partitioned`,
//! `PARTITIONS` to 3 (at least 2). Output: one `delivered KEY to TOPIC/PARTITION@OFFSET` line per
//! record; exit code 0 when every record was delivered where the rule put it, 1 otherwise.

use std::time::Duration;

use ferrokafka::partitioner::{Partitioner, Partitions, Record, murmur2};
use ferrokafka::{Producer, ProducerRecord};

mod common;
use common::Args;

/// Keys starting with `vip-` go to partition 0 (say, one with a dedicated, faster consumer);
/// every other key is hashed over the remaining partitions.
struct VipFirst;

impl Partitioner for VipFirst {
    fn partition(&mut self, record: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
        let key = record.key.unwrap_or_default();
        let count = partitions.count();
        if key.starts_with(b"vip-") || count < 2 {
            0
        } else {
            1 + (murmur2(key) % (count - 1)) as i32
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let topic = args.next_or("ferrokafka-example-partitioned");
    let partitions: i32 = args.next_or("3").parse()?;
    if partitions < 2 {
        return Err(
            "PARTITIONS must be at least 2 (one for vip- keys, the rest for others)".into(),
        );
    }

    let config = args
        .config("custom-partitioner-example")
        // One `VipFirst` per producer made from this configuration.
        .custom_partitioner(|| VipFirst)
        .build()?;
    let producer = Producer::new(config)?;

    let customers = [
        "vip-ada",
        "bob",
        "carol",
        "vip-grace",
        "dave",
        "erin",
        "frank",
    ];
    let mut deliveries = Vec::new();
    for (round, customer) in (0..2).flat_map(|round| customers.map(|c| (round, c))) {
        let record = ProducerRecord::new(&topic)
            .with_key(customer)
            .with_value(format!("event {round} of {customer}"));
        deliveries.push((customer, producer.send(record).await?));
        if deliveries.len() == 1 {
            // The first send waited for the topic's metadata: check the count we were given.
            let actual = producer.partition_count(&topic);
            if actual != Some(partitions.unsigned_abs() as usize) {
                producer.close(Duration::from_secs(10)).await;
                let actual = actual.map_or("unknown".to_owned(), |n| n.to_string());
                return Err(format!("{topic} has {actual} partitions, not {partitions}").into());
            }
        }
    }

    let mut failed = 0;
    for (key, delivery) in deliveries {
        match delivery.await {
            Ok(md) if (md.partition() == 0) == key.starts_with("vip-") => println!(
                "delivered {key} to {}/{}@{}",
                md.topic(),
                md.partition(),
                md.offset().unwrap_or(-1)
            ),
            Ok(md) => {
                failed += 1;
                eprintln!(
                    "{key} went to partition {}, against the rule",
                    md.partition()
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("{key} was not delivered: {e}");
            }
        }
    }
    producer.close(Duration::from_secs(10)).await;
    if failed > 0 {
        return Err(format!("{failed} records were not delivered as chosen").into());
    }
    Ok(())
}
