//! Driving the producer under test: the helpers every live suite used to carry its own copy
//! of. Every wait is bounded and its failure names what it waited for.

#[cfg(feature = "mock")]
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use ferrokafka::{DeliveryFuture, Producer, ProducerRecord, RecordMetadata};
use tokio::runtime::Runtime;

#[cfg(feature = "mock")]
use crate::consume::{Consumed, assert_partitions_hold};
use crate::data::Sent;

/// The runtime the blocking (`#[test]`) suites drive the producer on: two worker threads, I/O
/// and time enabled.
///
/// # Panics
/// If the runtime cannot be built.
#[must_use]
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A record with an explicit partition, a key and a value.
#[must_use]
pub fn record(topic: &str, partition: i32, key: &str, value: &str) -> ProducerRecord {
    ProducerRecord::new(topic)
        .with_partition(partition)
        .with_key(key.to_owned())
        .with_value(value.to_owned())
}

/// Sends `r`, which must be accepted.
///
/// # Panics
/// If the send is refused.
pub async fn send(p: &Producer, r: ProducerRecord) -> DeliveryFuture {
    p.send(r).await.expect("send queued")
}

/// Sends every record of `sent` to `topic`, in order, and returns their delivery futures.
///
/// # Panics
/// If a send is refused.
pub async fn send_all(producer: &Producer, topic: &str, sent: &[Sent]) -> Vec<DeliveryFuture> {
    let mut futures = Vec::with_capacity(sent.len());
    for (i, s) in sent.iter().enumerate() {
        let f = producer
            .send(s.to_record(topic))
            .await
            .unwrap_or_else(|e| panic!("send #{i} to {topic}: {e}"));
        futures.push(f);
    }
    futures
}

/// Awaits every delivery, each within `wait`; panics on a delivery error or one that does not
/// resolve, naming the record by its position.
///
/// # Panics
/// If a delivery fails or does not resolve within `wait`.
pub async fn await_all(futures: Vec<DeliveryFuture>, wait: Duration) -> Vec<RecordMetadata> {
    let mut out = Vec::with_capacity(futures.len());
    for (i, f) in futures.into_iter().enumerate() {
        let md = tokio::time::timeout(wait, f)
            .await
            .unwrap_or_else(|_| panic!("delivery #{i} did not resolve within {wait:?}"))
            .unwrap_or_else(|e| panic!("delivery #{i} failed: {e}"));
        out.push(md);
    }
    out
}

/// Awaits `call` for at most `limit`, so a hang fails the test instead of stalling it.
///
/// # Panics
/// If `call` does not finish within `limit`.
pub async fn within<T>(limit: Duration, what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// Checks `cond` every few milliseconds (on the runtime's clock) until it holds; panics, naming
/// `what`, if it still does not after `limit`.
///
/// # Panics
/// If `cond` does not hold within `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(limit, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out after {limit:?} waiting for {what}"
    );
}

/// The producer's metric `name` (Java's name).
///
/// # Panics
/// If the producer has no such metric.
#[must_use]
pub fn metric(p: &Producer, name: &str) -> f64 {
    p.metrics()
        .get(name)
        .unwrap_or_else(|| panic!("the producer has no metric {name}"))
}

/// Compares what was read with what was sent, record by record, partition by partition in
/// send order. `metadata[i]` is what the producer reported for `sent[i]`; with `offsets` the
/// reported offsets must be the consumed ones, otherwise they must be `None` (acks=0).
///
/// # Panics
/// On the first difference, naming `label`, the partition and the record.
#[cfg(feature = "mock")]
pub fn assert_read_back(
    label: &str,
    topic: &str,
    sent: &[Sent],
    metadata: &[RecordMetadata],
    read: &[Consumed],
    offsets: bool,
) {
    assert_eq!(read.len(), sent.len(), "{label}: record count");
    let mut expected: BTreeMap<i32, Vec<(&Sent, &RecordMetadata)>> = BTreeMap::new();
    for (s, md) in sent.iter().zip(metadata) {
        assert_eq!(md.topic(), topic, "{label}: metadata topic");
        assert_eq!(md.timestamp(), s.timestamp, "{label}: metadata timestamp");
        if let Some(p) = s.partition {
            assert_eq!(md.partition(), p, "{label}: explicit partition");
        }
        expected.entry(md.partition()).or_default().push((s, md));
    }
    assert_partitions_hold(label, &expected, read, |at, h, md| {
        if offsets {
            assert_eq!(md.offset(), Some(h.offset), "reported offset at {at}");
        } else {
            assert_eq!(md.offset(), None, "acks=0 reports no offset, at {at}");
        }
    });
}

/// Each delivered record (send index, what its delivery reported) is in the log at the
/// partition and offset its delivery reported; `indices` is the log as
/// [`crate::data::indices_by_partition`] gives it.
///
/// # Panics
/// If a delivery reported no offset, or the log holds another record (or none) there.
#[cfg(feature = "mock")]
pub fn assert_at_reported_offsets<'a>(
    delivered: impl IntoIterator<Item = (usize, &'a RecordMetadata)>,
    indices: &BTreeMap<i32, Vec<Option<usize>>>,
) {
    for (i, md) in delivered {
        let offset = md
            .offset()
            .unwrap_or_else(|| panic!("record {i}: acks=all must report an offset"));
        let at = indices
            .get(&md.partition())
            .and_then(|log| log.get(usize::try_from(offset).expect("an offset")));
        assert_eq!(
            at,
            Some(&Some(i)),
            "record {i}: its delivery reported partition {} offset {offset}",
            md.partition()
        );
    }
}

/// The partitions keyless records went to (in send order, as `metadata` reports them) show a
/// sticky partitioner that spreads: at least three partitions used, and consecutive records
/// sharing a partition far more often than a per-record random or round-robin choice would give
/// (between 2 and a quarter of the records' switches; those would switch 80% or 100% of the
/// time). Returns the number of switches, for the log.
///
/// # Panics
/// If the records used fewer than three partitions or switched too often or never.
pub fn assert_sticky_and_spread(metadata: &[RecordMetadata]) -> usize {
    let sequence: Vec<i32> = metadata.iter().map(RecordMetadata::partition).collect();
    let switches = sequence.windows(2).filter(|w| w[0] != w[1]).count();
    let distinct: std::collections::BTreeSet<i32> = sequence.iter().copied().collect();
    eprintln!(
        "keyless: {switches} partition switches over {} records, partitions {distinct:?}",
        sequence.len()
    );
    assert!(
        distinct.len() >= 3,
        "keyless records should spread over several partitions, used {distinct:?}"
    );
    assert!(
        (2..sequence.len() / 4).contains(&switches),
        "{switches} switches over {} records is not sticky",
        sequence.len()
    );
    switches
}
