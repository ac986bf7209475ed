//! Features that depend on the shape of the cluster, on real Kafka: rack-aware partitioning
//! (KIP-1123) on the shared three-node cluster, whose nodes 1, 2 and 3 are in racks `rack-a`,
//! `rack-b` and `rack-c` (`broker.rack`, reported by Metadata), and re-bootstrap (KIP-899,
//! KIP-1102) when the whole cluster behind the bootstrap address is replaced.
//!
//! These live in the fault binary because they need its three-node cluster: the replacement
//! test starts one single-node cluster of its own (node 101, its own ports and cluster id) as
//! the cluster that is replaced, and the shared cluster (nodes 1 to 3) is the replacement, so
//! nothing here stops or restarts a shared node. Both take `fault_session()`: no other fault
//! test may move leaders meanwhile. On failure each prints the end of every broker's log.
//!
//! Same features on the in-memory fake: `crates/ferrokafka/tests/rack_aware.rs` and
//! `crates/ferrokafka/tests/rebootstrap.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use ferrokafka::{
    DeliveryFuture, ProduceError, Producer, ProducerConfig, ProducerRecord, RecordMetadata,
};
use ferrokafka_partition::hash::murmur2_partition;
use ferrokafka_tests::consume::{Consumed, Isolation};
use ferrokafka_tests::kafka::{
    JavaHelper, KafkaCluster, KafkaOptions, Shared, THREE_NODE_RACKS, shared,
};
use ferrokafka_tests::producing::runtime;
use ferrokafka_tests::proxy::Proxy;
use ferrokafka_tests::wire_client::WireClient;

use crate::partitions::{create_topic, wait_for_partitions};
use crate::{RESOLVE, WAIT, producer_config};

/// Runs `body`; if it panics, prints the end of every node's log of `clusters` first.
fn with_logs<T>(clusters: &[&KafkaCluster], body: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(panic) => {
            for c in clusters {
                eprintln!(
                    "==== broker logs of the cluster in {} ====\n{}",
                    c.dir().display(),
                    c.log_tails()
                );
            }
            std::panic::resume_unwind(panic)
        }
    }
}

/// Awaits a delivery, at most [`RESOLVE`] (the producer must resolve it sooner).
async fn outcome(delivery: DeliveryFuture, what: &str) -> Result<RecordMetadata, ProduceError> {
    tokio::time::timeout(RESOLVE, delivery)
        .await
        .unwrap_or_else(|_| panic!("the delivery of {what} did not resolve within {RESOLVE:?}"))
}

/// Hands `records` (`(key, value)`) to `producer`, then awaits every delivery; panics naming
/// the first that fails. Returns the deliveries by value.
async fn deliver_all(
    producer: &Producer,
    topic: &str,
    records: &[(Option<String>, String)],
) -> BTreeMap<String, RecordMetadata> {
    let mut pending = Vec::with_capacity(records.len());
    for (key, value) in records {
        let mut record = ProducerRecord::new(topic).with_value(value.clone());
        if let Some(k) = key {
            record = record.with_key(k.clone());
        }
        let delivery = producer
            .send(record)
            .await
            .unwrap_or_else(|e| panic!("the send of {value} was refused: {e}"));
        pending.push((value.clone(), delivery));
    }
    let mut delivered = BTreeMap::new();
    for (value, delivery) in pending {
        let md = outcome(delivery, &value)
            .await
            .unwrap_or_else(|e| panic!("{value} was not delivered: {e}"));
        delivered.insert(value, md);
    }
    delivered
}

/// Reads `topic` back with Kafka's `KafkaConsumer` and checks it holds exactly the records of
/// `delivered`, each once, at the partition and offset its delivery reported.
fn check_log(
    bootstrap: &str,
    topic: &str,
    delivered: &BTreeMap<String, RecordMetadata>,
) -> Vec<Consumed> {
    let read = JavaHelper::shared()
        .expect("Java helper")
        .consume(
            bootstrap,
            topic,
            Isolation::ReadUncommitted,
            delivered.len(),
            WAIT,
        )
        .unwrap_or_else(|e| panic!("Java read-back of {topic} from {bootstrap}: {e}"));
    let mut seen = BTreeSet::new();
    for r in &read {
        let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
        let md = delivered.get(&value).unwrap_or_else(|| {
            panic!(
                "{topic} at {bootstrap} holds {value:?} (partition {}, offset {}), which was \
                 not delivered there",
                r.partition, r.offset
            )
        });
        assert_eq!(
            (r.partition, Some(r.offset)),
            (md.partition(), md.offset()),
            "{value}: read back at (partition, offset), delivery reported"
        );
        assert!(seen.insert(value.clone()), "{value} is in the log twice");
    }
    assert_eq!(
        read.len(),
        delivered.len(),
        "records of {topic} at {bootstrap}"
    );
    read
}

// ------------------------------------------------------------------------------------------
// 7. Rack-aware partitioning on brokers with `broker.rack`.

/// Partitions of the rack-aware test's topic: two led in each rack.
const RACK_PARTITIONS: u32 = 6;
/// Keyless records per producer: enough for the sticky partitioner to move many times.
const KEYLESS: usize = 200;

/// Each broker's rack and each partition's leader, in node `1`'s metadata.
fn racks_and_leaders(
    cluster: &KafkaCluster,
    topic: &str,
) -> (BTreeMap<i32, Option<String>>, BTreeMap<i32, i32>) {
    let mut client = WireClient::connect(&format!("127.0.0.1:{}", cluster.port_of(1)))
        .unwrap_or_else(|e| panic!("connect to node 1: {e}"));
    let md = client
        .metadata(12, Some(&[topic]))
        .unwrap_or_else(|e| panic!("metadata of {topic}: {e}"));
    let racks = md
        .brokers
        .iter()
        .map(|b| (b.node_id, b.rack.clone()))
        .collect();
    let mut leaders = BTreeMap::new();
    for t in md
        .topics
        .iter()
        .filter(|t| t.name.as_deref() == Some(topic))
    {
        for p in &t.partitions {
            leaders.insert(p.partition_index, p.leader_id);
        }
    }
    (racks, leaders)
}

fn rack_producer(bootstrap: &str, rack: &str) -> ProducerConfig {
    producer_config(
        bootstrap,
        &[
            ("client.id", "ferrokafka-rack-aware"),
            ("client.rack", rack),
            ("partitioner.rack.aware", "true"),
            // Small batches, no lingering: the sticky partitioner moves on after a record or
            // two, so a spread over partitions would show.
            ("batch.size", "64"),
            ("linger.ms", "0"),
        ],
    )
}

fn keyless(prefix: &str) -> Vec<(Option<String>, String)> {
    (0..KEYLESS)
        .map(|i| (None, format!("{prefix}-{i:04}-padding-padding")))
        .collect()
}

#[test]
fn rack_aware_keyless_records_stay_in_the_clients_rack() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    with_logs(&[cluster], || rack_aware(cluster));
    eprintln!(
        "rack_aware_keyless_records_stay_in_the_clients_rack: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn rack_aware(cluster: &KafkaCluster) {
    let topic = "changes-rack-aware";
    // Replication factor 1: a partition's leader cannot move to another rack mid-test.
    cluster
        .create_topic(topic, RACK_PARTITIONS, 1, &[])
        .unwrap_or_else(|e| panic!("create {topic}: {e}"));
    let n = usize::try_from(RACK_PARTITIONS).expect("few");
    let created = wait_for_partitions(
        cluster,
        topic,
        "every partition of the new topic has a leader",
        |ps| ps.len() == n && ps.iter().all(|p| p.leader >= 0),
    );
    // Kafka places single replicas unevenly at times: move them so that each node leads two
    // partitions (partition p on node p % 3 + 1), so rack-b leads two and the sticky
    // partitioner has a choice within the rack.
    let planned = |p: i32| p % 3 + 1;
    let bootstrap = cluster.bootstrap();
    for p in created
        .iter()
        .filter(|p| p.replicas != [planned(p.partition)])
    {
        JavaHelper::shared()
            .expect("Java helper")
            .reassign(&bootstrap, topic, p.partition, &[planned(p.partition)])
            .unwrap_or_else(|e| {
                panic!(
                    "move partition {} to node {}: {e}",
                    p.partition,
                    planned(p.partition)
                )
            });
    }
    wait_for_partitions(
        cluster,
        topic,
        "partition p is led by node p % 3 + 1, its only replica",
        |ps| {
            ps.len() == n
                && ps
                    .iter()
                    .all(|p| p.leader == planned(p.partition) && p.replicas == [p.leader])
        },
    );
    let (racks, leaders) = racks_and_leaders(cluster, topic);
    for (i, rack) in THREE_NODE_RACKS.iter().enumerate() {
        let id = i32::try_from(i + 1).expect("three nodes");
        assert_eq!(
            racks.get(&id).cloned().flatten().as_deref(),
            Some(*rack),
            "Metadata reports node {id}'s broker.rack (all racks: {racks:?})"
        );
    }
    let rack_of = |p: i32| racks.get(&leaders[&p]).cloned().flatten();
    let in_b: BTreeSet<i32> = leaders
        .keys()
        .copied()
        .filter(|&p| rack_of(p).as_deref() == Some("rack-b"))
        .collect();
    eprintln!("leaders {leaders:?}; partitions led in rack-b {in_b:?}");
    assert_eq!(
        in_b,
        BTreeSet::from([1, 4]),
        "node 2, in rack-b, leads partitions 1 and 4 (leaders {leaders:?})"
    );

    let rt = runtime();
    let (in_rack, keyed, nowhere) = rt.block_on(async {
        let b = Producer::new(rack_producer(&bootstrap, "rack-b")).expect("producer");
        let in_rack = deliver_all(&b, topic, &keyless("b")).await;
        let keyed_records: Vec<(Option<String>, String)> = (0..60)
            .map(|i| (Some(format!("key-{i}")), format!("keyed-{i}")))
            .collect();
        let keyed = deliver_all(&b, topic, &keyed_records).await;
        b.close(Duration::from_secs(10)).await;

        let z = Producer::new(rack_producer(&bootstrap, "rack-z")).expect("producer");
        let nowhere = deliver_all(&z, topic, &keyless("z")).await;
        z.close(Duration::from_secs(10)).await;
        (in_rack, keyed, nowhere)
    });

    let used = |d: &BTreeMap<String, RecordMetadata>| -> BTreeSet<i32> {
        d.values().map(RecordMetadata::partition).collect()
    };
    let used_b = used(&in_rack);
    let used_z = used(&nowhere);
    eprintln!("client.rack=rack-b used partitions {used_b:?}; client.rack=rack-z used {used_z:?}");
    assert!(
        used_b.is_subset(&in_b),
        "keyless records of a rack-b client went to partitions {used_b:?}; rack-b leads {in_b:?}"
    );
    assert_eq!(
        used_b, in_b,
        "the sticky partitioner moved among every partition led in rack-b"
    );
    for (value, md) in &keyed {
        let i = value.strip_prefix("keyed-").expect("a keyed record");
        let key = format!("key-{i}");
        assert_eq!(
            md.partition(),
            murmur2_partition(key.as_bytes(), RACK_PARTITIONS),
            "{key} keeps its murmur2 partition whatever the rack"
        );
    }
    assert!(
        used(&keyed).len() > in_b.len(),
        "keyed records go outside rack-b too: {:?}",
        used(&keyed)
    );
    assert!(
        used_z.len() > in_b.len() && !used_z.is_subset(&in_b),
        "with no broker in rack-z, keyless records spread over every partition, used {used_z:?}"
    );

    let mut all = in_rack;
    all.extend(keyed);
    all.extend(nowhere);
    let read = check_log(&bootstrap, topic, &all);
    for r in &read {
        let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
        if value.starts_with("b-") {
            assert!(
                in_b.contains(&r.partition),
                "{value} read back from partition {} ({:?}), not led in rack-b",
                r.partition,
                rack_of(r.partition)
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// 8. The whole cluster behind the bootstrap address replaced while producers run.

#[test]
fn cluster_replaced_behind_the_bootstrap_address() {
    let started = Instant::now();
    let new = shared(Shared::ThreeNodes);
    let _session = new.fault_session();
    // The cluster that is replaced: node 101, its own ports and cluster id.
    let t = Instant::now();
    let old = KafkaCluster::start(KafkaOptions {
        first_node_id: 101,
        heap_mb: 384,
        ..KafkaOptions::single(2)
    })
    .unwrap_or_else(|e| panic!("cannot start the cluster to replace: {e}"));
    eprintln!(
        "cluster to replace (node 101) up at {} in {:.1} s",
        old.bootstrap(),
        t.elapsed().as_secs_f64()
    );
    with_logs(&[&old, new], || replaced(&old, new));
    eprintln!(
        "cluster_replaced_behind_the_bootstrap_address: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn replaced(old: &KafkaCluster, new: &KafkaCluster) {
    let topic = "changes-replaced";
    old.create_topic(topic, 3, 1, &[])
        .unwrap_or_else(|e| panic!("create {topic} on the old cluster: {e}"));
    let proxy = Proxy::start(&old.bootstrap()).expect("proxy");
    let new_node = format!("127.0.0.1:{}", new.port_of(1));

    let rt = runtime();
    let (rebootstrap, none) = {
        let _entered = rt.enter();
        let rebootstrap = Producer::new(producer_config(&proxy.bootstrap(), &[]))
            .expect("producer with metadata.recovery.strategy=rebootstrap");
        let none = Producer::new(producer_config(
            &proxy.bootstrap(),
            &[
                ("client.id", "ferrokafka-no-rebootstrap"),
                ("metadata.recovery.strategy", "none"),
                // Short: its record after the replacement is meant to time out.
                ("request.timeout.ms", "3000"),
                ("delivery.timeout.ms", "5000"),
            ],
        ))
        .expect("producer with metadata.recovery.strategy=none");
        (rebootstrap, none)
    };
    let records = |prefix: &str| -> Vec<(Option<String>, String)> {
        (0..30)
            .map(|i| (Some(format!("k-{i}")), format!("{prefix}-{i}")))
            .collect()
    };

    // Before: both deliver to the old cluster through the proxy.
    let mut before = rt.block_on(deliver_all(&rebootstrap, topic, &records("old")));
    before.extend(rt.block_on(deliver_all(&none, topic, &[(None, "none-old".into())])));
    check_log(&old.bootstrap(), topic, &before);

    // The replacement gets the topic; the bootstrap address leads to it; the old cluster goes.
    create_topic(new, topic, "1");
    proxy
        .set_target(&new_node)
        .expect("switch the proxy to the new cluster");
    let cut = proxy.cut();
    for id in old.node_ids() {
        old.stop(id, Duration::from_secs(30));
        assert!(!old.is_up(id), "node {id} of the old cluster is stopped");
    }
    eprintln!(
        "proxy now leads to node 1 of the new cluster ({new_node}); {cut} connection(s) to the \
         old one cut; the old cluster is stopped"
    );

    // After: the default strategy finds the new cluster through the bootstrap address; `none`
    // keeps calling the old broker until its record times out.
    let switched = Instant::now();
    let (after, stuck) = rt.block_on(async {
        let stuck = none
            .send(ProducerRecord::new(topic).with_value("none-new"))
            .await
            .expect("queued");
        let after = deliver_all(&rebootstrap, topic, &records("new")).await;
        eprintln!(
            "the new cluster acknowledged every record {:.1} s after the switch",
            switched.elapsed().as_secs_f64()
        );
        (after, outcome(stuck, "none-new").await)
    });
    match &stuck {
        Err(e)
            if e.kind() == ferrokafka::ErrorKind::DeliveryTimeout
                && e.to_string().contains("delivery.timeout.ms") => {}
        other => panic!(
            "with metadata.recovery.strategy=none the record must time out (the old broker is \
             gone), got {other:?}"
        ),
    }
    assert!(
        proxy.forwarded_to(&new_node) > 0,
        "the producer reached the new cluster through the bootstrap address"
    );
    eprintln!(
        "connections through the proxy: {} to the old cluster, {} to the new one",
        proxy.forwarded_to(&old.bootstrap()),
        proxy.forwarded_to(&new_node)
    );
    check_log(&new.bootstrap(), topic, &after);
    rt.block_on(async {
        rebootstrap.close(Duration::from_secs(10)).await;
        none.close(Duration::from_secs(10)).await;
    });
}
