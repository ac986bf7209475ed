//! An independent read-back consumer built on librdkafka, to check what a producer wrote.
//!
//! The consumer is deliberately not ours: it is librdkafka's (`rdkafka::consumer::BaseConsumer`),
//! so a record that reads back correctly here was encoded in a way a mainstream client accepts.
//!
//! # How it reads
//!
//! [`read_back`] finds the topic's partitions through a Metadata request, then `assign`s every
//! partition from `Offset::Beginning`. There is no consumer group membership: librdkafka wants a
//! `group.id` in its configuration, so a fresh random one is set, but nothing subscribes, joins
//! or commits (`enable.auto.commit=false`, `enable.auto.offset.store=false`). `check.crcs=true`
//! makes librdkafka verify every batch's CRC-32C, and `enable.partition.eof=true` makes it report
//! when a fetch reaches the end of a partition (the high watermark, or the last stable offset
//! with [`Isolation::ReadCommitted`]).
//!
//! It stops when it holds at least `expected` records **and** every partition has reported its
//! end since the last record read from it. So records beyond `expected` (duplicates, say) are
//! returned too, and the caller's `assert_eq!(records.len(), expected)` catches them; with
//! `expected == 0` it simply reads each partition to its end. If the deadline passes first it
//! returns [`HarnessError::ReadBackIncomplete`], whose message says how many records each
//! partition gave and which partitions never reached their end. Records come back sorted by
//! `(partition, offset)`.
//!
//! # Peer support (librdkafka 2.12.1 through rdkafka 0.39)
//!
//! - **Apache Kafka 4.4** (the reference): everything works, including `read_committed`: Kafka
//!   lists aborted transactions in Fetch, so records of aborted transactions are hidden, and the
//!   last stable offset holds back open ones. zstd batches are the one thing this librdkafka
//!   build cannot read (it lacks zstd); the Java consumer ([`crate::kafka::JavaHelper::consume`])
//!   reads them.
//! - **Tansu 0.6.0**: librdkafka's consumer path (ApiVersions, Metadata, ListOffsets, Fetch, and
//!   whatever librdkafka does for its idle `group.id`) works with the default settings; no
//!   `api.version.request`/`broker.version.fallback` or fetch override is needed. Null vs empty
//!   keys and values, header order, duplicate header keys, null vs empty header values and
//!   create-time timestamps all survive, for plain and idempotent producers, and offsets start at
//!   0 and are contiguous.
//! - **Tansu and `read_committed`**: accepted. Tansu writes transaction markers and holds the last
//!   stable offset at an open transaction, so records of an open transaction stay hidden,
//!   but its Fetch response never lists aborted transactions (the array is empty), so records of
//!   an **aborted** transaction are shown to a `read_committed` consumer. A test that checks
//!   aborts must therefore not rely on Tansu hiding them.
//! - **librdkafka's mock cluster**: the same consumer path works (leaders may move; librdkafka
//!   follows). With transactions, the mock writes no markers (committed data occupies contiguous
//!   offsets), reports the high watermark as the last stable offset and lists no aborted
//!   transactions: `read_committed` behaves exactly like `read_uncommitted`.
//!
//! `tests/tests/readback.rs` establishes these facts (it also decodes a raw Fetch v4 response
//! to see the last stable offset and the aborted-transactions array directly).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::HarnessError;
use crate::data::Sent;

pub use crate::consumed::{Consumed, Isolation, TimestampType};

fn client_error(context: impl Into<String>) -> impl FnOnce(KafkaError) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Client { context, source }
}

/// A consumer that is never in a group: a random `group.id` (librdkafka requires one), no
/// commits, CRC checks on, end-of-partition events on; `extra` properties are set last (they
/// may override any of these, `bootstrap.servers` included).
fn consumer(
    bootstrap: &str,
    isolation: Isolation,
    extra: &[(String, String)],
) -> Result<BaseConsumer, HarnessError> {
    let group = format!("ferrokafka-readback-{}", crate::paths::unique_suffix());
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "ferrokafka-readback")
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .set("check.crcs", "true")
        .set("isolation.level", isolation.as_config())
        .set("allow.auto.create.topics", "false");
    for (k, v) in extra {
        config.set(k, v);
    }
    config
        .create()
        .map_err(client_error(format!("create a consumer for {bootstrap}")))
}

/// A partition as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The partition id.
    pub id: i32,
    /// The leader's broker id (-1 when leaderless).
    pub leader: i32,
    /// The replica broker ids.
    pub replicas: Vec<i32>,
}

/// Asks the cluster for `topic`'s partitions, sorted by id, retrying until the topic has at
/// least one partition or `timeout` passes (a just-created topic may not be visible yet).
pub fn topic_partitions(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<PartitionInfo>, HarnessError> {
    let consumer = consumer(bootstrap, Isolation::ReadUncommitted, &[])?;
    partitions_with(&consumer, topic, timeout)
}

/// The number of partitions of `topic` (see [`topic_partitions`]).
pub fn partition_count(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
) -> Result<usize, HarnessError> {
    topic_partitions(bootstrap, topic, timeout).map(|p| p.len())
}

fn partitions_with(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<PartitionInfo>, HarnessError> {
    let deadline = Instant::now() + timeout;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let last = match consumer.fetch_metadata(Some(topic), remaining) {
            Ok(metadata) => {
                let found = metadata.topics().iter().find(|t| t.name() == topic);
                match found {
                    Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                        let mut parts: Vec<PartitionInfo> = t
                            .partitions()
                            .iter()
                            .map(|p| PartitionInfo {
                                id: p.id(),
                                leader: p.leader(),
                                replicas: p.replicas().to_vec(),
                            })
                            .collect();
                        parts.sort_by_key(|p| p.id);
                        return Ok(parts);
                    }
                    Some(t) => match t.error() {
                        Some(e) => format!("topic error {e:?}"),
                        None => "no partitions".to_string(),
                    },
                    None => "topic not in the response".to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(HarnessError::Metadata {
                topic: topic.to_string(),
                detail: last,
            });
        }
        std::thread::sleep(Duration::from_millis(50).min(remaining));
    }
}

/// Reads `topic` from the beginning of every partition; see the [module docs](self) for when it
/// stops. Returns the records sorted by `(partition, offset)`.
///
/// `expected` is a lower bound, not a cap: everything up to each partition's end is returned, so
/// compare `records.len()` with what you wrote.
pub fn read_back(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
    isolation: Isolation,
) -> Result<Vec<Consumed>, HarnessError> {
    read_back_with(
        &[("bootstrap.servers".to_string(), bootstrap.to_string())],
        topic,
        expected,
        timeout,
        isolation,
    )
}

/// [`read_back`] with client properties of the caller's: `bootstrap.servers` and whatever the
/// cluster asks of its clients (`security.protocol`, `ssl.ca.location`,
/// `ssl.certificate.location`, `ssl.key.location`, `sasl.mechanism`, `sasl.username`,
/// `sasl.password`, `sasl.oauthbearer.config`, ...), set after the read-back's own settings.
///
/// The librdkafka built here has OpenSSL (the `ssl` feature of `rdkafka`), so SSL, SASL_SSL and
/// SCRAM work; PLAIN and OAUTHBEARER's unsecured JWT
/// (`enable.sasl.oauthbearer.unsecure.jwt=true`) are built into librdkafka; GSSAPI is not built.
/// A failure to authenticate is retried by librdkafka until `timeout`, then reported with its
/// last error.
pub fn read_back_with(
    props: &[(String, String)],
    topic: &str,
    expected: usize,
    timeout: Duration,
    isolation: Isolation,
) -> Result<Vec<Consumed>, HarnessError> {
    let deadline = Instant::now() + timeout;
    let bootstrap = props
        .iter()
        .rev()
        .find(|(k, _)| k == "bootstrap.servers")
        .map_or("", |(_, v)| v.as_str());
    let consumer = consumer(bootstrap, isolation, props)?;
    let partitions = partitions_with(&consumer, topic, timeout)?;
    let mut assignment = TopicPartitionList::with_capacity(partitions.len());
    for p in &partitions {
        assignment
            .add_partition_offset(topic, p.id, Offset::Beginning)
            .map_err(client_error(format!("assign {topic}/{}", p.id)))?;
    }
    consumer
        .assign(&assignment)
        .map_err(client_error(format!("assign {topic}")))?;

    let mut records = Vec::with_capacity(expected);
    let mut at_end: BTreeSet<i32> = BTreeSet::new();
    let mut last_error: Option<String> = None;
    loop {
        if records.len() >= expected && at_end.len() == partitions.len() {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(incomplete(
                topic,
                expected,
                &records,
                &partitions,
                &at_end,
                last_error,
            ));
        }
        let wait = (deadline - now).min(Duration::from_millis(100));
        match consumer.poll(wait) {
            None => {}
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                records.push(to_consumed(&message));
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                return Err(HarnessError::Client {
                    context: format!("consume {topic}"),
                    source: e,
                });
            }
            // Transient (a broker going away, a leader moving): librdkafka recovers by itself.
            Some(Err(e)) => last_error = Some(e.to_string()),
        }
    }
    records.sort_by_key(|r: &Consumed| (r.partition, r.offset));
    Ok(records)
}

fn incomplete(
    topic: &str,
    expected: usize,
    records: &[Consumed],
    partitions: &[PartitionInfo],
    at_end: &BTreeSet<i32>,
    last_error: Option<String>,
) -> HarnessError {
    let mut per_partition: BTreeMap<i32, usize> = partitions.iter().map(|p| (p.id, 0)).collect();
    for r in records {
        *per_partition.entry(r.partition).or_default() += 1;
    }
    let mut detail = String::from("records per partition:");
    for (partition, n) in &per_partition {
        let _ = write!(detail, " {partition}={n}");
    }
    let not_at_end: Vec<i32> = partitions
        .iter()
        .map(|p| p.id)
        .filter(|id| !at_end.contains(id))
        .collect();
    if !not_at_end.is_empty() {
        let _ = write!(detail, "; never reached the end of {not_at_end:?}");
    }
    if let Some(e) = last_error {
        let _ = write!(detail, "; last consumer error: {e}");
    }
    HarnessError::ReadBackIncomplete {
        topic: topic.to_string(),
        expected,
        got: records.len(),
        detail,
    }
}

fn to_consumed(message: &impl Message) -> Consumed {
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|header| (header.key.to_string(), header.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    let (timestamp, timestamp_type) = match message.timestamp() {
        Timestamp::NotAvailable => (None, TimestampType::NotAvailable),
        Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    Consumed {
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
        timestamp,
        timestamp_type,
    }
}

/// Groups records by partition, keeping their order (they are already sorted by offset when they
/// come from [`read_back`]).
pub fn by_partition(records: &[Consumed]) -> BTreeMap<i32, Vec<&Consumed>> {
    let mut map: BTreeMap<i32, Vec<&Consumed>> = BTreeMap::new();
    for r in records {
        map.entry(r.partition).or_default().push(r);
    }
    map
}

/// Checks that `read` holds exactly the records of `expected` (per partition, in order): the
/// same partitions, as many records in each, offsets contiguous from 0, and each record's key,
/// value, headers and create-time timestamp as sent. `check` then sees each pair (the failure
/// location, the record read, what the caller keeps with the sent record). `label` starts every
/// failure message.
///
/// # Panics
/// On the first difference.
pub fn assert_partitions_hold<T>(
    label: &str,
    expected: &BTreeMap<i32, Vec<(&Sent, T)>>,
    read: &[Consumed],
    mut check: impl FnMut(&str, &Consumed, &T),
) {
    let got = by_partition(read);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{label}: partitions written vs read"
    );
    for (partition, want) in expected {
        let have = &got[partition];
        assert_eq!(
            have.len(),
            want.len(),
            "{label}: records in partition {partition}"
        );
        for (n, (h, (w, extra))) in have.iter().zip(want).enumerate() {
            let at = format!("{label}: partition {partition}, record {n}");
            assert_eq!(
                h.offset,
                i64::try_from(n).expect("a small count"),
                "offset at {at}"
            );
            assert_eq!(h.key, w.key, "key at {at}");
            assert_eq!(h.value, w.value, "value at {at}");
            assert_eq!(h.headers, w.headers, "headers at {at}");
            assert_eq!(h.timestamp, Some(w.timestamp), "timestamp at {at}");
            assert_eq!(h.timestamp_type, TimestampType::CreateTime, "{at}");
            check(&at, h, extra);
        }
    }
}
