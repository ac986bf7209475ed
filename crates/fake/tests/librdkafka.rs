//! librdkafka (through the `rdkafka` crate) against the fake over TCP: it produces
//! idempotently and transactionally, and its consumer reads back exactly what was written —
//! with read_committed, nothing of an aborted transaction.
//!
//! librdkafka's blocking calls run on the test thread; the fake's tasks run on a separate
//! tokio runtime. The read-back consumer is the harness's (`ferrokafka_tests::consume`):
//! `assign` from the beginning, no group membership.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka_fake::{ClusterConfig, FakeServer, TopicConfig};
use ferrokafka_tests::consume::{Isolation, TimestampType, read_back};
use ferrokafka_tests::producing::runtime;
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, FutureProducer, FutureRecord, Producer};

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn librdkafka_produces_idempotently_and_reads_back_exactly() {
    let rt = runtime();
    let fake = rt
        .block_on(FakeServer::start(
            ClusterConfig::builder()
                .brokers(3)
                .topic("events", 3)
                .build(),
        ))
        .expect("fake");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", fake.bootstrap())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let n = 300;
    let keys: Vec<String> = (0..n).map(|i| format!("k{}", i % 17)).collect();
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let sent: Vec<(i32, i64)> = rt.block_on(async {
        let mut futures = Vec::new();
        for (key, value) in keys.iter().zip(&values) {
            futures
                .push(producer.send(FutureRecord::to("events").key(key).payload(value), TIMEOUT));
        }
        let mut out = Vec::new();
        for f in futures {
            let d = f.await.expect("delivery");
            out.push((d.partition, d.offset));
        }
        out
    });
    assert_eq!(sent.len(), n);

    let records = read_back(
        &fake.bootstrap(),
        "events",
        n,
        TIMEOUT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    assert_eq!(records.len(), n, "every record exactly once");
    // Per key, values in send order (one key always lands in one partition).
    let mut per_key: BTreeMap<Vec<u8>, Vec<u32>> = BTreeMap::new();
    for r in &records {
        let v: u32 = std::str::from_utf8(&r.value.clone().unwrap()[1..])
            .unwrap()
            .parse()
            .unwrap();
        per_key.entry(r.key.clone().unwrap()).or_default().push(v);
    }
    for (key, values) in &per_key {
        assert!(values.is_sorted(), "key {key:?} out of order: {values:?}");
    }
    // Offsets are contiguous from 0 in each partition and match the delivery reports.
    let mut delivered: Vec<(i32, i64)> = sent.clone();
    delivered.sort_unstable();
    let read: Vec<(i32, i64)> = records.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(read, delivered);
    // One idempotent producer id, remembered by every partition it wrote to.
    let states = fake.with_cluster(|c| {
        (0..3)
            .filter_map(|p| {
                let pid = c.records("events", p).first()?.producer_id;
                Some((pid, c.producer_state("events", p, pid)?))
            })
            .collect::<Vec<_>>()
    });
    assert!(!states.is_empty());
    assert!(states.iter().all(|(pid, s)| *pid >= 0 && s.epoch == 0));
}

#[test]
fn librdkafka_transactions_commit_and_abort_and_read_committed_hides_the_aborted() {
    let rt = runtime();
    let fake = rt
        .block_on(FakeServer::start(
            ClusterConfig::builder().brokers(3).topic("txn", 2).build(),
        ))
        .expect("fake");
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", fake.bootstrap())
        .set("transactional.id", "rdkafka-txn")
        .set("linger.ms", "1")
        .create()
        .expect("producer");
    producer.init_transactions(TIMEOUT).expect("init");
    for (round, commit) in [(0, true), (1, false), (2, true)] {
        producer.begin_transaction().expect("begin");
        for i in 0..10 {
            let key = format!("k{i}");
            let value = format!("{}-{round}-{i}", if commit { "c" } else { "a" });
            let record = BaseRecord::to("txn").key(&key).payload(&value);
            producer.send(record).map_err(|(e, _)| e).expect("send");
        }
        if commit {
            producer.commit_transaction(TIMEOUT).expect("commit");
        } else {
            producer.flush(TIMEOUT).expect("flush");
            producer.abort_transaction(TIMEOUT).expect("abort");
        }
    }

    let committed = read_back(
        &fake.bootstrap(),
        "txn",
        20,
        TIMEOUT,
        Isolation::ReadCommitted,
    )
    .expect("read committed");
    assert_eq!(committed.len(), 20, "the two committed transactions only");
    assert!(
        committed
            .iter()
            .all(|r| r.value.as_deref().is_some_and(|v| v.starts_with(b"c-"))),
        "an aborted record is visible to read_committed"
    );
    let all = read_back(
        &fake.bootstrap(),
        "txn",
        30,
        TIMEOUT,
        Isolation::ReadUncommitted,
    )
    .expect("read uncommitted");
    assert_eq!(
        all.len(),
        30,
        "read_uncommitted sees the aborted records too"
    );

    let (txn, markers) = fake.with_cluster(|c| {
        let markers: Vec<_> = (0..2).flat_map(|p| c.markers("txn", p)).collect();
        (c.transaction("rdkafka-txn").expect("txn state"), markers)
    });
    assert_eq!((txn.commits, txn.aborts), (2, 1));
    // One ABORT marker in each partition the aborted transaction touched (one or both).
    let aborts = markers.iter().filter(|m| !m.commit).count();
    assert!((1..=2).contains(&aborts), "{markers:?}");
    eprintln!(
        "librdkafka used: {:?}",
        fake.with_cluster(|c| c.versions_seen())
    );
}

#[test]
fn librdkafka_reads_the_append_time_of_a_log_append_time_topic() {
    let rt = runtime();
    let fake = rt
        .block_on(FakeServer::start(
            ClusterConfig::builder()
                .topic_with(
                    "stamped",
                    1,
                    TopicConfig {
                        log_append_time: true,
                        ..TopicConfig::default()
                    },
                )
                .build(),
        ))
        .expect("fake");
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", fake.bootstrap())
        .create()
        .expect("producer");
    let record = BaseRecord::<(), _>::to("stamped")
        .payload("v")
        .timestamp(1_000);
    producer.send(record).map_err(|(e, _)| e).expect("send");
    producer.flush(TIMEOUT).expect("flush");
    let records = read_back(
        &fake.bootstrap(),
        "stamped",
        1,
        TIMEOUT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].timestamp_type, TimestampType::LogAppendTime);
    let stored = fake.with_cluster(|c| c.records("stamped", 0));
    assert_eq!(records[0].timestamp, Some(stored[0].timestamp));
    assert_ne!(
        records[0].timestamp,
        Some(1_000),
        "the create time was replaced"
    );
}
