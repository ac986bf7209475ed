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
//!
//! Modules by theme: `round_trips` (1, 2), `limits` (3), `negotiation` (4), `cli` (5); `stored`
//! reads the broker's log segments.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrokafka::{Producer, ProducerConfig, RecordMetadata};
use ferrokafka_tests::consume::{Consumed, Isolation, read_back};
use ferrokafka_tests::data::{Sent, mixed_records};
use ferrokafka_tests::kafka::{JavaHelper, KafkaCluster, Shared, shared};
use ferrokafka_tests::producing::{assert_read_back, await_all, send_all};

mod cli;
mod limits;
mod negotiation;
mod round_trips;
mod stored;

const WAIT: Duration = Duration::from_secs(60);
const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
const ACKS: [&str; 3] = ["0", "1", "all"];

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

/// Reads `topic` back with both consumers ([`read_both`]) and checks it holds `sent` at the
/// offsets `metadata` reported ([`assert_read_back`], labelled `label`).
async fn assert_log_holds(
    label: &str,
    topic: &str,
    sent: &[Sent],
    metadata: &[RecordMetadata],
    codec: &str,
) {
    let read = read_both(topic, sent.len(), codec).await;
    assert_read_back(label, topic, sent, metadata, &read, true);
}
