//! A partitioner of the application's own (`ProducerConfigBuilder::custom_partitioner`) chooses
//! every record's partition, except where the record names one; one instance per producer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrokafka::partitioner::{Partitioner, Partitions, Record};
use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer};

/// Everything to the last partition; counts the instances made.
struct Last;

impl Partitioner for Last {
    fn partition(&mut self, _: &Record<'_>, partitions: &Partitions<'_>) -> i32 {
        partitions.count() as i32 - 1
    }
}

#[tokio::test(start_paused = true)]
async fn the_applications_partitioner_places_every_record_without_an_explicit_partition() {
    let fake = FakeServer::in_memory(ClusterConfig::builder().topic("t", 4).build());
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let config = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport())
        .custom_partitioner(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            Last
        })
        .build()
        .expect("config");
    let p = Producer::new(config.clone()).expect("producer");
    for key in ["a", "b", "c"] {
        let md = p
            .send(ProducerRecord::new("t").with_key(key).with_value("v"))
            .await
            .expect("send")
            .await
            .expect("delivered");
        assert_eq!(md.partition(), 3, "{key}");
    }
    let explicit = p
        .send(ProducerRecord::new("t").with_value("v").with_partition(1))
        .await
        .expect("send")
        .await
        .expect("delivered");
    assert_eq!(explicit.partition(), 1, "an explicit partition wins");
    p.close(Duration::from_secs(5)).await;
    let second = Producer::new(config).expect("another producer");
    second.close(Duration::from_secs(5)).await;
    assert_eq!(
        made.load(Ordering::Relaxed),
        2,
        "one partitioner per producer"
    );
}
