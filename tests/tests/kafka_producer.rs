//! The ferrokafka `Producer` against Apache Kafka 4.4.0 itself (one shared single-node KRaft
//! cluster per run of this binary, `ferrokafka_tests::kafka`), every test reading back with
//! independent consumers — Kafka's own `KafkaConsumer` (through the Java helper) and librdkafka's
//! (`ferrokafka_tests::consume`) — and comparing record by record.
//!
//! - every `acks` level × every codec: keys, values, headers (order, duplicates, null and empty
//!   values), create-time timestamps, null and empty keys and values and per-partition send
//!   order survive; the offsets the producer reports are the offsets read (`None` with acks=0);
//!   the log segments on the broker's disk hold batches that really carry the codec (and a
//!   producer id and sequences exactly when idempotence is on);
//! - keyed records land on the Java murmur2 partition; keyless records stick and spread; an
//!   explicit partition wins; on a LogAppendTime topic the producer reports Kafka's timestamp;
//! - broker limits: a topic's small `max.message.bytes` makes the producer split batches after
//!   MESSAGE_TOO_LARGE, live; a single record over it fails alone and, under idempotence, the
//!   records pipelined behind it still arrive in order; an acks=0 producer reconnects after Kafka
//!   closes the connection over a failed acks=0 request; a `producer_byte_rate` client quota makes
//!   the broker throttle and the producer reports the throttle times
//!   (`produce-throttle-time-avg`/`-max`);
//! - the versions negotiated with Kafka 4.4's ApiVersions answer, pinned per API;
//! - the `ferrokafka-cli` binary: `produce` (keys, headers, codec), `perf`, and transactional
//!   `produce` read back by a `read_committed` consumer.
//!
//! Kafka vs Tansu: Kafka never answers acks=0 Produce requests, so pipelined acks=0 requests are
//! tested here as a Java client would send them; a failed acks=0 request makes Kafka close the
//! connection instead. A new topic's leaders are listed a moment before the broker can take
//! Produce requests for them (see [`create`]). Kafka applies time retention to the record
//! timestamps (7 days by default, checked every 5 minutes), so the records carry timestamps of
//! the last minutes instead of a fixed date in the past. The librdkafka built here lacks zstd:
//! zstd topics are read back by the Java consumer only.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrokafka::{Producer, ProducerConfig, ProducerRecord, RecordMetadata};
use ferrokafka_partition::hash::murmur2_partition;
use ferrokafka_tests::consume::{Consumed, Isolation, TimestampType, by_partition, read_back};
use ferrokafka_tests::data::{Rng, Sent, mixed_records};
use ferrokafka_tests::kafka::{JavaHelper, KafkaCluster, Shared, shared};
use ferrokafka_tests::paths::cli_binary;
use ferrokafka_tests::producing::{assert_read_back, await_all, send_all};
use ferrokafka_tests::raw::{Cursor, crc32c};
use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, SUPPORTED_APIS};

const WAIT: Duration = Duration::from_secs(60);
const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
const ACKS: [&str; 3] = ["0", "1", "all"];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn kafka() -> &'static KafkaCluster {
    shared(Shared::Single)
}

/// Creates a topic on the shared cluster (replication 1) and waits until the broker leads every
/// partition.
///
/// The Admin client reports leaders (and Metadata lists them) as soon as the broker's metadata
/// cache has the topic, a moment before its replica manager has created the logs and become
/// leader; a Produce in that window fails with NOT_LEADER_OR_FOLLOWER, and with acks=0 Kafka then
/// closes the connection, losing the requests pipelined behind it (as it would for the Java
/// client). Reading the empty topic with the Java consumer asks every partition's leader for
/// its offsets (ListOffsets, retried until the leader answers), which closes that window.
fn create(topic: &str, partitions: u32, configs: &[(&str, &str)]) {
    kafka()
        .create_topic(topic, partitions, 1, configs)
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    let empty = JavaHelper::shared()
        .expect("java helper")
        .consume(
            &kafka().bootstrap(),
            topic,
            Isolation::ReadUncommitted,
            0,
            WAIT,
        )
        .unwrap_or_else(|e| panic!("wait for the leaders of {topic}: {e}"));
    assert!(empty.is_empty(), "new topic {topic} holds {empty:?}");
}

/// A timestamp of the last minutes: Kafka deletes segments whose newest record is older than
/// `retention.ms` (7 days), so a fixed date in the past would be deleted under the test.
fn base_timestamp() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    i64::try_from(now).expect("ms fit i64") - 600_000
}

/// [`mixed_records`], with an explicit partition now and then (every 25th record).
fn mixed_records_to(n: usize, partitions: i32, seed: u64) -> Vec<Sent> {
    let mut sent = mixed_records(n, seed, base_timestamp());
    for (i, s) in sent.iter_mut().enumerate() {
        if i % 25 == 24 {
            s.partition = Some(i32::try_from(i).expect("few records") % partitions);
        }
    }
    sent
}

fn producer(extra: &[(&str, &str)]) -> Producer {
    let bootstrap = kafka().bootstrap();
    let mut props = vec![("bootstrap.servers", bootstrap.as_str())];
    props.extend_from_slice(extra);
    Producer::new(ProducerConfig::from_properties(props).expect("valid config")).expect("producer")
}

/// Sends, awaits and closes: what the producer reported for each record.
async fn produce(extra: &[(&str, &str)], topic: &str, sent: &[Sent]) -> Vec<RecordMetadata> {
    let p = producer(extra);
    let futures = send_all(&p, topic, sent).await;
    let metadata = await_all(futures, WAIT).await;
    p.close(WAIT).await;
    metadata
}

/// Reads `topic` with Kafka's own `KafkaConsumer` (the Java helper).
async fn read_java(topic: &str, expected: usize, isolation: Isolation) -> Vec<Consumed> {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        JavaHelper::shared()
            .expect("java helper")
            .consume(&kafka().bootstrap(), &topic, isolation, expected, WAIT)
            .unwrap_or_else(|e| panic!("java read-back of {topic}: {e}"))
    })
    .await
    .expect("java read-back thread")
}

/// Reads `topic` with librdkafka's consumer.
async fn read_rdkafka(topic: &str, expected: usize, isolation: Isolation) -> Vec<Consumed> {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        read_back(&kafka().bootstrap(), &topic, expected, WAIT, isolation)
            .unwrap_or_else(|e| panic!("librdkafka read-back of {topic}: {e}"))
    })
    .await
    .expect("librdkafka read-back thread")
}

/// Reads `topic` with both consumers (the Java one only for zstd, which the librdkafka built
/// here lacks), checks that they agree, and returns the records.
async fn read_both(topic: &str, expected: usize, codec: &str) -> Vec<Consumed> {
    let java = read_java(topic, expected, Isolation::ReadUncommitted).await;
    if codec != "zstd" {
        let rdkafka = read_rdkafka(topic, expected, Isolation::ReadUncommitted).await;
        assert_eq!(
            java, rdkafka,
            "{topic}: the Java and librdkafka consumers disagree"
        );
    }
    java
}

/// A record batch header as stored in a log segment on the broker's disk.
#[derive(Debug)]
struct StoredBatch {
    base_offset: i64,
    attributes: i16,
    producer_id: i64,
    base_sequence: i32,
    count: i32,
}

/// Every batch of one partition, read from the broker's log segments (`*.log` files hold the
/// batches exactly as Produce carried them, offsets assigned): no client code involved. CRC-32C
/// checked.
fn stored_batches(topic: &str, partition: i32) -> Vec<StoredBatch> {
    let dir = kafka()
        .dir()
        .join("node-1")
        .join("data")
        .join(format!("{topic}-{partition}"));
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    let mut out = Vec::new();
    for segment in segments {
        let data = std::fs::read(&segment).expect("read segment");
        let mut rest = data.as_slice();
        while rest.len() >= 12 {
            let len = i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
            if len == 0 || rest.len() < 12 + len {
                break; // preallocated tail or a batch being written
            }
            let (batch, tail) = rest.split_at(12 + len);
            rest = tail;
            let mut c = Cursor::new(batch);
            let base_offset = c.i64();
            c.i32(); // length
            c.i32(); // partition leader epoch
            assert_eq!(
                c.take(1)[0],
                2,
                "magic at {topic}/{partition}@{base_offset}"
            );
            let crc = c.i32() as u32;
            assert_eq!(crc32c(&batch[c.at..]), crc, "CRC at {topic}/{partition}");
            let attributes = c.i16();
            c.i32(); // last offset delta
            c.i64(); // base timestamp
            c.i64(); // max timestamp
            let producer_id = c.i64();
            c.i16(); // epoch
            let base_sequence = c.i32();
            let count = c.i32();
            out.push(StoredBatch {
                base_offset,
                attributes,
                producer_id,
                base_sequence,
                count,
            });
        }
    }
    out
}

fn codec_id(codec: &str) -> i16 {
    match codec {
        "none" => 0,
        "gzip" => 1,
        "snappy" => 2,
        "lz4" => 3,
        "zstd" => 4,
        other => panic!("no codec {other}"),
    }
}

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
            let futures = send_all(&p, &topic, &sent).await;
            let metadata = await_all(futures, WAIT).await;
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
    let mut rng = Rng(0x5eed);
    let base = base_timestamp();
    let sent: Vec<Sent> = (0..RECORDS)
        .map(|i| {
            // Random binary keys of 0..40 bytes (the empty key is hashed like any other).
            let len = if i == 0 { 0 } else { rng.below(40) };
            Sent::plain(
                Some(rng.bytes(len)),
                format!("v{i}").into_bytes(),
                base + i as i64,
            )
        })
        .collect();
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
    let sent: Vec<Sent> = (0..KEYLESS)
        .map(|i| {
            let mut v = format!("keyless-{i}-").into_bytes();
            v.resize(100, b'.');
            Sent::plain(None, v, base + i as i64)
        })
        .collect();
    let metadata = produce(
        &[("linger.ms", "5"), ("batch.size", "1000")],
        keyless,
        &sent,
    )
    .await;
    let sequence: Vec<i32> = metadata.iter().map(RecordMetadata::partition).collect();
    let switches = sequence.windows(2).filter(|w| w[0] != w[1]).count();
    let distinct: BTreeSet<i32> = sequence.iter().copied().collect();
    assert!(
        distinct.len() >= 3,
        "keyless records used only {distinct:?}"
    );
    // Per-record random or round-robin choices would switch 80% or 100% of the time.
    assert!(
        (2..KEYLESS / 4).contains(&switches),
        "{switches} switches over {KEYLESS} records is not sticky"
    );
    let read = read_both(keyless, KEYLESS, "none").await;
    assert_read_back("keyless", keyless, &sent, &metadata, &read, true);

    // Explicit partitions win over the key's hash and over stickiness.
    let sent: Vec<Sent> = (0..200)
        .map(|i| Sent {
            partition: Some((i * 3 % PARTITIONS as usize) as i32),
            ..Sent::plain(
                (i % 2 == 0).then(|| format!("k{i}").into_bytes()),
                format!("explicit-{i}").into_bytes(),
                base + i as i64,
            )
        })
        .collect();
    let metadata = produce(&[("linger.ms", "5")], explicit, &sent).await;
    let read = read_both(explicit, sent.len(), "none").await;
    assert_read_back("explicit", explicit, &sent, &metadata, &read, true);
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

// ---------------------------------------------------------------------------------------------
// 3. broker limits
// ---------------------------------------------------------------------------------------------

/// `max.message.bytes=4096` on the topic, `batch.size` 64 KiB and a linger longer than the
/// test, then a flush: each partition's first batch is ten times over the limit, Kafka answers MESSAGE_TOO_LARGE, and the producer splits them
/// (again and again) until they fit. Every record arrives, in order, exactly once; under
/// idempotence the split parts continue the original's sequences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_too_large_splits_batches_live() {
    const RECORDS: usize = 240;
    let cases = [
        ("kp-split-idem", "all", "none"),
        ("kp-split-acks1-gzip", "1", "gzip"),
    ];
    for (topic, acks, codec) in cases {
        create(topic, 2, &[("max.message.bytes", "4096")]);
        let base = base_timestamp();
        let mut rng = Rng(7);
        let sent: Vec<Sent> = (0..RECORDS)
            .map(|i| Sent {
                partition: Some((i % 2) as i32),
                headers: vec![("n".into(), Some(i.to_string().into_bytes()))],
                // Random bytes: gzip cannot make the batches fit.
                ..Sent::plain(Some(format!("k{i}").into_bytes()), rng.bytes(300), base)
            })
            .collect();
        let p = producer(&[
            ("acks", acks),
            ("compression.type", codec),
            ("batch.size", "65536"),
            ("linger.ms", "60000"),
        ]);
        // Nothing leaves before the flush: each partition's records form one ~40 KB batch.
        let futures = send_all(&p, topic, &sent).await;
        p.flush(WAIT).await.expect("flush");
        let metadata = await_all(futures, WAIT).await;
        let m = p.metrics();
        p.close(WAIT).await;
        let label = format!("{topic} (acks={acks}, {codec})");
        assert_eq!(m.get("record-error-total"), Some(0.0), "{label}");
        let read = read_both(topic, RECORDS, codec).await;
        assert_read_back(&label, topic, &sent, &metadata, &read, true);
        // What is stored fits the limit, so batches were split: more batches than a 64 KiB
        // batch.size would give (two partitions of 36 KB each).
        let mut batches = 0;
        for partition in 0..2 {
            for b in stored_batches(topic, partition) {
                assert!(
                    b.count <= 13,
                    "{label}: a batch of {} records fits 4096",
                    b.count
                );
                if acks == "all" {
                    assert_eq!(i64::from(b.base_sequence), b.base_offset, "{label}");
                }
                batches += 1;
            }
        }
        assert!(batches >= 2 * 9, "{label}: only {batches} stored batches");
    }
}

/// A record larger than the topic's `max.message.bytes` (but within `max.request.size`) is
/// refused by Kafka with MESSAGE_TOO_LARGE: only that record fails. Under idempotence the records
/// pipelined behind it on the same partition carry later sequences than the one Kafka never
/// wrote; they must still be delivered (Java: an epoch bump for the partition, then the
/// out-of-order answers are retried with new sequences), in send order, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_record_fails_alone_and_the_records_behind_it_arrive() {
    let topic = "kp-oversized";
    create(topic, 1, &[("max.message.bytes", "4096")]);
    let base = base_timestamp();
    let p = producer(&[("linger.ms", "0"), ("batch.size", "1000")]);
    let record = |name: &str, len: usize| {
        let mut v = name.as_bytes().to_vec();
        v.resize(len, b'.');
        Sent::plain(Some(name.as_bytes().to_vec()), v, base)
    };
    // Sends without waiting: small records around two oversized ones, several requests in
    // flight at once.
    let mut futures = Vec::new();
    let mut expect_ok = Vec::new();
    for round in 0..3 {
        for i in 0..6 {
            let big = round < 2 && i == 2;
            let s = record(&format!("r{round}-{i}"), if big { 6000 } else { 300 });
            let f = p.send(s.to_record(topic)).await.expect("queued");
            futures.push((s.clone(), big, f));
            if !big {
                expect_ok.push(s);
            }
        }
    }
    let mut metadata = Vec::new();
    for (s, big, f) in futures {
        let key = String::from_utf8_lossy(s.key.as_deref().unwrap()).into_owned();
        let result = tokio::time::timeout(WAIT, f)
            .await
            .unwrap_or_else(|_| panic!("{key}: delivery did not resolve"));
        match (big, result) {
            (true, Err(e)) => {
                let msg = e.to_string();
                assert!(msg.contains("MESSAGE_TOO_LARGE"), "{key}: {msg}");
            }
            (true, Ok(md)) => panic!("{key}: 6000 bytes accepted by a 4096 topic: {md:?}"),
            (false, Ok(md)) => metadata.push(md),
            (false, Err(e)) => panic!("{key}: a small record failed: {e}"),
        }
    }
    let m = p.metrics();
    p.close(WAIT).await;
    eprintln!(
        "oversized: {} Produce requests, {:?} records retried",
        m.get("produce-request-total").unwrap_or(0.0),
        m.get("record-retry-total")
    );
    assert_eq!(m.get("record-error-total"), Some(2.0));
    let read = read_both(topic, expect_ok.len(), "none").await;
    assert_read_back("oversized", topic, &expect_ok, &metadata, &read, true);
}

/// acks=0 gets no answers, so Kafka reports a failed acks=0 Produce (here MESSAGE_TOO_LARGE) by
/// closing the connection; requests already written behind it are lost, as with the Java client.
/// The producer must notice the close, reconnect, and deliver what it sends afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks0_producer_recovers_when_kafka_closes_the_connection() {
    const AFTER: usize = 50;
    let topic = "kp-acks0-close";
    create(topic, 1, &[("max.message.bytes", "4096")]);
    let base = base_timestamp();
    let p = producer(&[("acks", "0"), ("linger.ms", "0")]);
    let oversized = p
        .send(ProducerRecord::new(topic).with_value(vec![b'x'; 6000]))
        .await
        .expect("queued");
    p.flush(WAIT).await.expect("flush");
    let md = tokio::time::timeout(WAIT, oversized)
        .await
        .expect("resolves")
        .expect("acks=0: delivered once written");
    assert_eq!(md.offset(), None);
    // Probes until one is in the log (the broker's segment on disk): the first ones may be
    // written to the connection Kafka is closing. Bounded.
    let mut probes = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while stored_batches(topic, 0).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no acks=0 record reached Kafka after {probes} probes"
        );
        let f = p
            .send(ProducerRecord::new(topic).with_value(format!("probe-{probes}")))
            .await
            .expect("queued");
        p.flush(WAIT).await.expect("flush");
        tokio::time::timeout(WAIT, f)
            .await
            .expect("resolves")
            .expect("written");
        probes += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent: Vec<Sent> = (0..AFTER)
        .map(|i| Sent::plain(None, format!("after-{i}").into_bytes(), base + i as i64))
        .collect();
    let metadata = await_all(send_all(&p, topic, &sent).await, WAIT).await;
    p.close(WAIT).await;
    assert!(metadata.iter().all(|md| md.offset().is_none()));
    let stored: usize = stored_batches(topic, 0)
        .iter()
        .map(|b| b.count as usize)
        .sum();
    eprintln!("acks0 close: {probes} probes, {stored} records stored in all");
    let read = read_both(topic, AFTER + 1, "none").await;
    let values: Vec<Vec<u8>> = read.iter().filter_map(|c| c.value.clone()).collect();
    let (probes_read, after) = values.split_at(values.len() - AFTER);
    assert!(
        !probes_read.is_empty() && probes_read.iter().all(|v| v.starts_with(b"probe-")),
        "before the last {AFTER}: {probes_read:?}"
    );
    let want: Vec<Vec<u8>> = sent.iter().filter_map(|s| s.value.clone()).collect();
    assert_eq!(
        after,
        want.as_slice(),
        "every record sent after the reconnection"
    );
}

/// A `producer_byte_rate` quota on the producer's `client.id`: Kafka answers Produce requests
/// with `throttle_time_ms` > 0 (KIP-219) and the producer reports it in
/// `produce-throttle-time-avg`/`-max`. Everything is still delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_quota_throttles_and_the_producer_reports_it() {
    const ROUND: usize = 100;
    const MAX_ROUNDS: usize = 8;
    let topic = "kp-quota";
    let client_id = format!("kp-quota-client-{}", std::process::id());
    create(topic, 1, &[]);
    {
        let cid = client_id.clone();
        tokio::task::spawn_blocking(move || {
            JavaHelper::shared()
                .expect("java helper")
                .set_producer_quota(&kafka().bootstrap(), &cid, Some(2048))
                .expect("set quota");
        })
        .await
        .unwrap();
    }
    // Kafka measures the rate over at least 10 one-second windows, so about 20 KiB must pass
    // before a 2 KiB/s quota is exceeded; the quota also reaches the broker asynchronously.
    // Rounds of 100 records of 200 bytes until a response carries a throttle time (bounded).
    let p = producer(&[("client.id", &client_id), ("linger.ms", "5")]);
    let base = base_timestamp();
    let mut sent = Vec::new();
    let mut metadata = Vec::new();
    for round in 0..MAX_ROUNDS {
        let batch: Vec<Sent> = (0..ROUND)
            .map(|i| {
                let n = round * ROUND + i;
                let mut v = format!("quota-{n}-").into_bytes();
                v.resize(200, b'q');
                Sent::plain(None, v, base + n as i64)
            })
            .collect();
        let futures = send_all(&p, topic, &batch).await;
        metadata.extend(await_all(futures, WAIT).await);
        sent.extend(batch);
        if p.metrics().get("produce-throttle-time-max").unwrap_or(0.0) > 0.0 {
            break;
        }
    }
    let m = p.metrics();
    p.close(WAIT).await;
    let (avg, max) = (
        m.get("produce-throttle-time-avg")
            .expect("throttle avg metric"),
        m.get("produce-throttle-time-max")
            .expect("throttle max metric"),
    );
    eprintln!(
        "quota: {} records, throttle avg {avg} ms, max {max} ms",
        sent.len()
    );
    assert!(
        max > 0.0,
        "no Produce response was throttled after {} records",
        sent.len()
    );
    assert!(avg > 0.0 && avg <= max, "avg {avg}, max {max}");
    assert_eq!(m.get("record-error-total"), Some(0.0));
    {
        let cid = client_id.clone();
        tokio::task::spawn_blocking(move || {
            JavaHelper::shared()
                .expect("java helper")
                .set_producer_quota(&kafka().bootstrap(), &cid, None)
                .expect("remove quota");
        })
        .await
        .unwrap();
    }
    let read = read_both(topic, sent.len(), "none").await;
    assert_read_back("quota", topic, &sent, &metadata, &read, true);
}

// ---------------------------------------------------------------------------------------------
// 4. negotiation
// ---------------------------------------------------------------------------------------------

/// The version negotiated for every API we implement, from Kafka 4.4.0's ApiVersions answer.
/// Kafka 4.x dropped the oldest versions (KIP-896) and advertises newer ones than we implement
/// for some APIs; the table pins what a connection to it uses.
#[test]
fn negotiated_versions_with_kafka_4_4_are_pinned() {
    let mut client = WireClient::connect(&kafka().bootstrap()).expect("connect");
    let (versions, used) = client.api_versions().expect("ApiVersions");
    assert_eq!(used, 4, "ApiVersions version that succeeded");
    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions).expect("negotiate");
    for &(api, ours_min, ours_max) in SUPPORTED_APIS {
        eprintln!(
            "{api:?}: ours {ours_min}..={ours_max}, Kafka {:?}, negotiated {:?}",
            versions.range(api),
            negotiated.range(api)
        );
    }
    // (API, Kafka 4.4.0's advertised range, the common range: its max is the version used).
    // Kafka 4.x still advertises Produce and Metadata from v0 although KIP-896 removed their
    // oldest versions (kept for old clients' negotiation); our Produce starts at v3. Kafka is
    // ahead of us on ApiVersions (v5), AddPartitionsToTxn (v4-5: v4 is the brokers' batched
    // verification form) and TxnOffsetCommit (v6).
    type Row = (ApiKey, (i16, i16), (i16, i16));
    let pinned: &[Row] = &[
        (ApiKey::PRODUCE, (0, 13), (3, 13)),
        (ApiKey::METADATA, (0, 13), (0, 13)),
        (ApiKey::FIND_COORDINATOR, (0, 6), (0, 6)),
        (ApiKey::SASL_HANDSHAKE, (0, 1), (0, 1)),
        (ApiKey::API_VERSIONS, (0, 5), (0, 4)),
        (ApiKey::CREATE_TOPICS, (2, 7), (2, 7)),
        (ApiKey::INIT_PRODUCER_ID, (0, 5), (0, 5)),
        (ApiKey::ADD_PARTITIONS_TO_TXN, (0, 5), (0, 3)),
        (ApiKey::ADD_OFFSETS_TO_TXN, (0, 4), (0, 4)),
        (ApiKey::END_TXN, (0, 5), (0, 5)),
        (ApiKey::TXN_OFFSET_COMMIT, (0, 6), (0, 5)),
        (ApiKey::SASL_AUTHENTICATE, (0, 2), (0, 2)),
    ];
    let got: Vec<Row> = SUPPORTED_APIS
        .iter()
        .map(|&(api, _, _)| {
            (
                api,
                versions
                    .range(api)
                    .expect("Kafka 4.4 lists every API we implement"),
                negotiated.range(api).expect("a common version"),
            )
        })
        .collect();
    assert_eq!(got, pinned);
}

// ---------------------------------------------------------------------------------------------
// 5. the CLI
// ---------------------------------------------------------------------------------------------

/// Runs the CLI with `stdin` as its input; returns (exit code, stderr).
fn run_cli(args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = Command::new(cli_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrokafka-cli");
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin).expect("write the CLI's stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait for ferrokafka-cli");
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), stderr)
}

fn hdr(name: &str, value: Option<&str>) -> (String, Option<Vec<u8>>) {
    (name.to_string(), value.map(|v| v.as_bytes().to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_produce_with_keys_headers_and_codec_reads_back() {
    let topic = "kp-cli-produce";
    create(topic, 3, &[]);
    let lines: Vec<String> = (0..60)
        .map(|i| match i % 10 {
            3 => format!("no-delimiter-{i}"),
            4 => format!("k{i}:"),
            5 => format!(":value-{i}"),
            _ => format!("k{}:value-{i}:with:colons", i % 7),
        })
        .collect();
    let input = lines.join("\n") + "\n";
    let bootstrap = kafka().bootstrap();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "produce",
                "-b",
                &bootstrap,
                "-t",
                topic,
                "-K",
                ":",
                "-H",
                "source=cli",
                "-H",
                "trace",
                "-H",
                "empty=",
                "-H",
                "source=again",
                "-z",
                "gzip",
                "-X",
                "linger.ms=5",
            ],
            input.as_bytes(),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("60 records produced"), "{stderr}");
    let read = read_both(topic, lines.len(), "gzip").await;
    assert_eq!(read.len(), lines.len());
    for c in &read {
        assert_eq!(
            c.headers,
            vec![
                hdr("source", Some("cli")),
                hdr("trace", None),
                hdr("empty", Some("")),
                hdr("source", Some("again")),
            ]
        );
        assert_eq!(c.timestamp_type, TimestampType::CreateTime);
    }
    // Each line becomes the record it describes, keyed ones on their murmur2 partition, in
    // input order per partition.
    let want: Vec<(Option<Vec<u8>>, Vec<u8>)> = lines
        .iter()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (Some(k.as_bytes().to_vec()), v.as_bytes().to_vec()),
            None => (None, l.as_bytes().to_vec()),
        })
        .collect();
    for (partition, records) in by_partition(&read) {
        let got: Vec<(Option<Vec<u8>>, Vec<u8>)> = records
            .iter()
            .map(|c| (c.key.clone(), c.value.clone().expect("no null values")))
            .collect();
        for (k, _) in &got {
            if let Some(k) = k {
                assert_eq!(partition, murmur2_partition(k, 3), "{k:?}");
            }
        }
        let in_order: Vec<_> = want.iter().filter(|w| got.contains(w)).cloned().collect();
        assert_eq!(got, in_order, "partition {partition} in input order");
    }
    let mut all: Vec<_> = read
        .iter()
        .map(|c| (c.key.clone(), c.value.clone().unwrap()))
        .collect();
    let mut expected = want.clone();
    all.sort();
    expected.sort();
    assert_eq!(all, expected, "every line read back once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_perf_writes_the_records_it_counts() {
    const RECORDS: usize = 500;
    let topic = "kp-cli-perf";
    create(topic, 2, &[]);
    let bootstrap = kafka().bootstrap();
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "perf",
                "-b",
                &bootstrap,
                "-t",
                topic,
                "--num-records",
                &RECORDS.to_string(),
                "--record-size",
                "100",
                "-X",
                "linger.ms=5",
            ],
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains(&format!("{RECORDS} records sent")),
        "{output}"
    );
    let read = read_both(topic, RECORDS, "none").await;
    assert_eq!(read.len(), RECORDS);
    assert!(
        read.iter()
            .all(|c| c.value.as_ref().is_some_and(|v| v.len() == 100))
    );
}

/// `produce --transactional-id`: committed transactions are visible to `read_committed`
/// consumers; an aborted run's records are in the log but hidden from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_transactional_produce_is_read_committed() {
    let topic = "kp-cli-txn";
    create(topic, 2, &[]);
    let bootstrap = kafka().bootstrap();
    let committed: Vec<String> = (0..40)
        .map(|i| format!("c{}:committed-{i}", i % 5))
        .collect();
    let aborted: Vec<String> = (0..10).map(|i| format!("a{i}:aborted-{i}")).collect();
    let txn_id = format!("kp-cli-txn-{}", std::process::id());
    let (b, c, a, id) = (
        bootstrap.clone(),
        committed.join("\n"),
        aborted.join("\n"),
        txn_id,
    );
    let (first, second) = tokio::task::spawn_blocking(move || {
        let common = [
            "produce",
            "-b",
            &b,
            "-t",
            topic,
            "-K",
            ":",
            "--transactional-id",
            &id,
        ];
        let first = run_cli(
            &[&common[..], &["--txn-records", "15"]].concat(),
            c.as_bytes(),
        );
        let second = run_cli(&[&common[..], &["--abort"]].concat(), a.as_bytes());
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!(first.0, Some(0), "{}", first.1);
    assert_eq!(second.0, Some(0), "{}", second.1);
    let read = read_java(topic, committed.len(), Isolation::ReadCommitted).await;
    let rd = read_rdkafka(topic, committed.len(), Isolation::ReadCommitted).await;
    assert_eq!(read, rd, "Java and librdkafka read_committed agree");
    let mut values: Vec<String> = read
        .iter()
        .map(|c| String::from_utf8(c.value.clone().unwrap()).unwrap())
        .collect();
    values.sort();
    let mut want: Vec<String> = (0..40).map(|i| format!("committed-{i}")).collect();
    want.sort();
    assert_eq!(values, want, "exactly the committed records");
    // read_uncommitted sees the aborted records too (and no control records).
    let all = read_java(
        topic,
        committed.len() + aborted.len(),
        Isolation::ReadUncommitted,
    )
    .await;
    assert_eq!(all.len(), committed.len() + aborted.len());
}
