//! Chooses each record's partition with the application's own rule: keys starting with `vip-`
//! go to partition 0 (say, a partition with a dedicated, faster consumer), every other key is
//! hashed over the remaining partitions.
//!
//! ```sh
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --example custom_partitioner -- [TOPIC] [PARTITIONS]
//! ```
//!
//! The producer has no hook for a partitioner of your own: its `partitioner` setting chooses one
//! of the built-in ones by name (Java's default murmur2 and round robin, librdkafka's seven).
//! An application rule is applied before `send`: compute the partition and set it with
//! [`ProducerRecord::with_partition`], which bypasses the configured partitioner.
//!
//! The rule needs the topic's partition count. The producer does not offer to look it up before
//! the first send (Java has `partitionsFor`), so it is an argument here; `partition_count` checks
//! it against the cluster's metadata once the first record has gone out. A partition beyond the
//! topic's fails `send` at once.
//!
//! `BOOTSTRAP` defaults to `localhost:9092`, `TOPIC` to `ferrokafka-example-partitioned`,
//! `PARTITIONS` to 3 (at least 2). Output: one `delivered KEY to TOPIC/PARTITION@OFFSET` line per
//! record; exit code 0 when every record was delivered where the rule put it, 1 otherwise.

use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};

/// The partition for `key` among `partitions` (at least 2).
fn partition_for(key: &str, partitions: i32) -> i32 {
    if key.starts_with("vip-") {
        0
    } else {
        let others = u64::from(partitions.unsigned_abs() - 1);
        1 + (fnv1a(key.as_bytes()) % others) as i32
    }
}

/// 32-bit FNV-1a. A partitioner's hash must give the same answer in every process and every
/// version of the program, or a key's records end up on two partitions: `std`'s `DefaultHasher`
/// promises neither (and `HashMap`'s `RandomState` is seeded per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    u64::from(hash)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = std::env::var("BOOTSTRAP").unwrap_or_else(|_| "localhost:9092".to_owned());
    let mut args = std::env::args().skip(1);
    let topic = args
        .next()
        .unwrap_or_else(|| "ferrokafka-example-partitioned".to_owned());
    let partitions: i32 = args.next().map_or(Ok(3), |n| n.parse())?;
    if partitions < 2 {
        return Err(
            "PARTITIONS must be at least 2 (one for vip- keys, the rest for others)".into(),
        );
    }

    let config = ProducerConfig::builder()
        .bootstrap_servers(&bootstrap)
        .client_id("custom-partitioner-example")
        .set("max.block.ms", "10000")
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
        let partition = partition_for(customer, partitions);
        let record = ProducerRecord::new(&topic)
            .with_key(customer)
            .with_value(format!("event {round} of {customer}"))
            .with_partition(partition);
        deliveries.push((customer, partition, producer.send(record).await?));
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
    for (key, chosen, delivery) in deliveries {
        match delivery.await {
            Ok(md) if md.partition() == chosen => println!(
                "delivered {key} to {}/{}@{}",
                md.topic(),
                md.partition(),
                md.offset().unwrap_or(-1)
            ),
            Ok(md) => {
                failed += 1;
                eprintln!("{key} went to partition {}, not {chosen}", md.partition());
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
