//! Sends Rust structs as JSON values: serde does the encoding, `JsonSerializer` (feature `json`)
//! turns it into a record value, `StringSerializer` the key.
//!
//! ```sh
//! BOOTSTRAP=localhost:9092 cargo run -p ferrokafka --features json --example json_serializer -- [TOPIC]
//! ```
//!
//! In your own `Cargo.toml`: `ferrokafka = { version = "...", features = ["json"] }` and
//! `serde = { version = "1", features = ["derive"] }`.
//!
//! `BOOTSTRAP` defaults to `localhost:9092`, `TOPIC` to `ferrokafka-example-orders`. Output: one
//! `delivered KEY to TOPIC/PARTITION@OFFSET: JSON` line per order; exit code 0 when all were
//! delivered, 1 otherwise.

use std::time::Duration;

use ferrokafka::serialize::{JsonSerializer, StringSerializer};
use ferrokafka::{Producer, ProducerRecord};
use serde::Serialize;

mod common;
use common::Args;

/// An order, as the topic's consumers expect it.
#[derive(Debug, Serialize)]
struct Order {
    id: u32,
    customer: String,
    lines: Vec<OrderLine>,
    total_cents: u64,
    /// Left out of the JSON when there is none (serde attributes work as usual).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct OrderLine {
    sku: String,
    quantity: u32,
}

fn order(id: u32, customer: &str, lines: &[(&str, u32)], total_cents: u64) -> Order {
    Order {
        id,
        customer: customer.to_owned(),
        lines: lines
            .iter()
            .map(|&(sku, quantity)| OrderLine {
                sku: sku.to_owned(),
                quantity,
            })
            .collect(),
        total_cents,
        note: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::from_env();
    let topic = args.next_or("ferrokafka-example-orders");

    let config = args.config("json-serializer-example").build()?;
    let producer = Producer::new(config)?;

    let mut orders = vec![
        order(1, "alice", &[("tea-earl-grey", 2)], 1_190),
        order(2, "bob", &[("coffee-beans", 1), ("mug", 2)], 3_450),
        order(3, "alice", &[("scones", 6)], 900),
    ];
    orders.push(Order {
        note: Some("leave at the door".to_owned()),
        ..order(4, "carol", &[("teapot", 1)], 2_500)
    });

    let mut deliveries = Vec::new();
    for order in &orders {
        // Key: the customer, so one customer's orders stay in order on one partition.
        // `serialized` runs both serializers; a failure has `kind()` `ErrorKind::Serialization`,
        // returned before anything is queued.
        let record = ProducerRecord::serialized(
            &topic,
            Some(order.customer.as_str()),
            Some(order),
            &StringSerializer,
            &JsonSerializer,
        )?
        // Headers are bytes too; a content type helps consumers in other languages.
        .with_header("content-type", Some("application/json"));
        let json = String::from_utf8_lossy(record.value().expect("a value was set")).into_owned();
        deliveries.push((order.customer.clone(), json, producer.send(record).await?));
    }

    let mut failed = 0;
    for (customer, json, delivery) in deliveries {
        match delivery.await {
            Ok(md) => println!(
                "delivered {customer} to {}/{}@{}: {json}",
                md.topic(),
                md.partition(),
                md.offset().unwrap_or(-1)
            ),
            Err(e) => {
                failed += 1;
                eprintln!("order of {customer} was not delivered: {e}");
            }
        }
    }
    producer.close(Duration::from_secs(10)).await;
    if failed > 0 {
        return Err(format!("{failed} orders were not delivered").into());
    }
    Ok(())
}
