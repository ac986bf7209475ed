//! Rack-aware partitioning (KIP-1123) against the in-memory fake on tokio's paused clock:
//! three brokers in racks a, b and c lead six partitions; with `client.rack=b` and
//! `partitioner.rack.aware=true` every keyless record goes to a partition led in rack b (saving
//! cross-zone traffic), keyed records keep their hash partition, and with no partition led in
//! the client's rack, keyless records spread over all of them.

use std::collections::BTreeSet;
use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer};
use ferrokafka_partition::hash::murmur2_partition;

const PARTITIONS: i32 = 6;

fn fake() -> FakeServer {
    FakeServer::in_memory(
        ClusterConfig::builder()
            .brokers(3)
            .rack(1, "a")
            .rack(2, "b")
            .rack(3, "c")
            .topic("t", PARTITIONS)
            .build(),
    )
}

fn producer(fake: &FakeServer, rack: &str, aware: bool) -> Producer {
    let config = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport())
        .client_rack(rack)
        .partitioner_rack_aware(aware)
        // Small batches: the sticky partitioner moves on often, so a spread would show.
        .batch_size(64)
        .build()
        .expect("config");
    Producer::new(config).expect("producer")
}

/// Sends `n` keyless records, one at a time; returns the partitions they went to.
async fn keyless(p: &Producer, n: usize) -> BTreeSet<i32> {
    let mut used = BTreeSet::new();
    for i in 0..n {
        let md = p
            .send(ProducerRecord::new("t").with_value(format!("value-{i:04}-padding-padding")))
            .await
            .expect("send")
            .await
            .expect("delivered");
        used.insert(md.partition());
    }
    used
}

fn led_in(fake: &FakeServer, broker: i32) -> BTreeSet<i32> {
    fake.with_cluster(|c| {
        (0..PARTITIONS)
            .filter(|&p| c.leader("t", p).map(|(id, _)| id) == Some(broker))
            .collect()
    })
}

#[tokio::test(start_paused = true)]
async fn keyless_records_stay_in_the_clients_rack_and_keyed_ones_keep_their_partition() {
    let fake = fake();
    let in_b = led_in(&fake, 2);
    assert!(
        !in_b.is_empty() && in_b.len() < PARTITIONS as usize,
        "broker 2 (rack b) leads some partitions, not all: {in_b:?}"
    );
    let p = producer(&fake, "b", true);
    let used = keyless(&p, 200).await;
    assert!(
        used.is_subset(&in_b),
        "keyless records went to {used:?}, rack b leads {in_b:?}"
    );
    for i in 0..50 {
        let key = format!("key-{i}");
        let md = p
            .send(
                ProducerRecord::new("t")
                    .with_key(key.clone())
                    .with_value("v"),
            )
            .await
            .expect("send")
            .await
            .expect("delivered");
        assert_eq!(
            md.partition(),
            murmur2_partition(key.as_bytes(), PARTITIONS as u32),
            "a keyed record never changes partition"
        );
    }
    p.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn without_a_partition_led_in_the_rack_or_without_the_switch_every_partition_is_used() {
    let fake = fake();
    let nowhere = producer(&fake, "z", true);
    let used = keyless(&nowhere, 300).await;
    assert!(used.len() > 2, "fallback to every partition: {used:?}");
    nowhere.close(Duration::from_secs(5)).await;

    let off = producer(&fake, "b", false);
    let used = keyless(&off, 300).await;
    let in_b = led_in(&fake, 2);
    assert!(
        !used.is_subset(&in_b),
        "the rack is ignored when the switch is off: {used:?}"
    );
    off.close(Duration::from_secs(5)).await;
}
