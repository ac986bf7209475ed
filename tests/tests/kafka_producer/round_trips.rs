//! What is written is what is read: every `acks` level with every codec (1), and partitioning
//! (2): keyed records on the murmur2 partition, keyless records sticky and spread, explicit
//! partitions winning, LogAppendTime topics reporting the broker's timestamp.

use std::collections::BTreeSet;

use ferrokafka_partition::hash::murmur2_partition;
use ferrokafka_tests::consume::TimestampType;
use ferrokafka_tests::data::{
    Sent, explicit_partition_records, keyless_records, random_keyed_records,
};
use ferrokafka_tests::producing::{
    assert_read_back, assert_sticky_and_spread, await_all, send_all,
};

use crate::stored::{codec_id, stored_batches};
use crate::{
    ACKS, CODECS, WAIT, assert_log_holds, base_timestamp, create, mixed_records_to, produce,
    producer, read_both,
};

// ---------------------------------------------------------------------------------------------
// 1. acks × codec round trips
// ---------------------------------------------------------------------------------------------

/// One topic per (acks, codec) combination, 200 records each, several Produce requests each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acks_level_and_codec_round_trips() {
    const RECORDS: usize = 200;
    const PARTITIONS: u32 = 3;
    let mut seed = 0;
    for acks in ACKS {
        for codec in CODECS {
            seed += 1;
            let label = format!("acks={acks} compression.type={codec}");
            let topic = format!("kp-rt-acks-{acks}-{codec}");
            create(&topic, PARTITIONS, &[]);
            let sent = mixed_records_to(RECORDS, PARTITIONS as i32, seed);
            let p = producer(&[
                ("acks", acks),
                ("compression.type", codec),
                ("linger.ms", "5"),
                ("batch.size", "4096"),
            ]);
            let metadata = await_all(send_all(&p, &topic, &sent).await, WAIT).await;
            let requests = p.metrics().get("produce-request-total").unwrap_or(0.0);
            p.close(WAIT).await;
            assert!(requests > 3.0, "{label}: only {requests} Produce requests");
            for (s, md) in sent.iter().zip(&metadata) {
                if let (None, Some(key)) = (s.partition, &s.key) {
                    assert_eq!(
                        md.partition(),
                        murmur2_partition(key, PARTITIONS),
                        "{label}"
                    );
                }
            }
            let read = read_both(&topic, RECORDS, codec).await;
            assert_read_back(&label, &topic, &sent, &metadata, &read, acks != "0");

            // The log segments hold batches carrying the codec; acks=all leaves idempotence on
            // (producer id, sequences counting the partition's records from 0), acks=0 and 1
            // turn it off.
            let mut count = 0;
            for partition in 0..PARTITIONS as i32 {
                for b in stored_batches(&topic, partition) {
                    let at = format!("{label}: batch {partition}@{}", b.base_offset);
                    assert_eq!(b.attributes & 7, codec_id(codec), "{at}: codec");
                    if acks == "all" {
                        assert!(b.producer_id >= 0, "{at}: producer id {}", b.producer_id);
                        assert_eq!(i64::from(b.base_sequence), b.base_offset, "{at}: sequence");
                    } else {
                        assert_eq!((b.producer_id, b.base_sequence), (-1, -1), "{at}");
                    }
                    count += b.count as usize;
                }
            }
            assert_eq!(count, RECORDS, "{label}: records in the log segments");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. partitioning
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_on_the_java_murmur2_partition() {
    const RECORDS: usize = 400;
    const PARTITIONS: u32 = 7;
    let topic = "kp-keyed";
    create(topic, PARTITIONS, &[]);
    let sent = random_keyed_records(RECORDS, base_timestamp());
    let metadata = produce(&[("linger.ms", "5")], topic, &sent).await;
    let mut used = BTreeSet::new();
    for (s, md) in sent.iter().zip(&metadata) {
        let key = s.key.as_deref().unwrap();
        assert_eq!(
            md.partition(),
            murmur2_partition(key, PARTITIONS),
            "{key:?}"
        );
        used.insert(md.partition());
    }
    assert_eq!(
        used.len(),
        PARTITIONS as usize,
        "random keys cover every partition"
    );
    let read = read_both(topic, RECORDS, "none").await;
    for c in &read {
        let key = c
            .key
            .as_deref()
            .expect("keyed record read back with its key");
        assert_eq!(c.partition, murmur2_partition(key, PARTITIONS), "{key:?}");
    }
    assert_read_back("keyed", topic, &sent, &metadata, &read, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_stick_and_spread_and_explicit_partitions_win() {
    const KEYLESS: usize = 400;
    const PARTITIONS: u32 = 5;
    let (keyless, explicit) = ("kp-keyless", "kp-explicit");
    create(keyless, PARTITIONS, &[]);
    create(explicit, PARTITIONS, &[]);
    let base = base_timestamp();
    // batch.size 1000 and 100-byte values: the sticky partition changes about every ten
    // records, so the records visit several partitions in runs.
    let sent = keyless_records(KEYLESS, base);
    let metadata = produce(
        &[("linger.ms", "5"), ("batch.size", "1000")],
        keyless,
        &sent,
    )
    .await;
    assert_sticky_and_spread(&metadata);
    assert_log_holds("keyless", keyless, &sent, &metadata, "none").await;

    // Explicit partitions win over the key's hash and over stickiness.
    let sent = explicit_partition_records(200, PARTITIONS, base);
    let metadata = produce(&[("linger.ms", "5")], explicit, &sent).await;
    assert_log_holds("explicit", explicit, &sent, &metadata, "none").await;
}

/// On a `message.timestamp.type=LogAppendTime` topic Kafka overwrites the timestamps and returns
/// the append time in the Produce answer; the producer reports that time (Java's
/// `RecordMetadata.timestamp()`), which is what consumers read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_append_time_topics_report_the_brokers_timestamp() {
    let topic = "kp-log-append-time";
    create(topic, 2, &[("message.timestamp.type", "LogAppendTime")]);
    let created = base_timestamp();
    let sent: Vec<Sent> = (0..50)
        .map(|i| Sent::plain(Some(format!("k{i}").into_bytes()), vec![b'v'; i], created))
        .collect();
    let metadata = produce(&[("linger.ms", "5")], topic, &sent).await;
    let read = read_both(topic, sent.len(), "none").await;
    assert_eq!(read.len(), sent.len());
    for (s, md) in sent.iter().zip(&metadata) {
        let c = read
            .iter()
            .find(|c| (c.partition, Some(c.offset)) == (md.partition(), md.offset()))
            .unwrap_or_else(|| panic!("{md:?} not read back"));
        assert_eq!(c.key, s.key);
        assert_eq!(c.timestamp_type, TimestampType::LogAppendTime);
        assert!(c.timestamp.is_some_and(|t| t > created), "{c:?}");
        assert_eq!(
            Some(md.timestamp()),
            c.timestamp,
            "reported vs stored timestamp"
        );
    }
}
