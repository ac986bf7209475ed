//! rskafka (crates.io `rskafka`): a low-level client with no producer-wide partitioner. One
//! `PartitionClient` per partition, each behind a `BatchProducer` (linger, a `RecordAggregator`
//! of `batch.size` bytes, compression); `produce(record)` resolves once the record's batch is
//! acknowledged, so the adapter keeps those futures outstanding like delivery futures.
//!
//! What it lacks, said in the run's notes: idempotence (it has no producer id), acks (it
//! always asks for acks=all), a partitioner (ours: keyed records go to murmur2(key) mod
//! partitions, Java's default; keyless ones stick to a partition for `batch.size` bytes of
//! keys and values, then move to the next, like Java's sticky partitioner).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use ferrokafka_partition::hash::murmur2_partition;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rskafka::chrono::{DateTime, Utc};
use rskafka::client::ClientBuilder;
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::producer::BatchProducerBuilder;
use rskafka::client::producer::aggregator::RecordAggregator;
use rskafka::record::Record;

use crate::drive::{Tally, Timed, pace, pacer};
use crate::{Outcome, Params, Workload};

pub(super) async fn produce(p: &Params, w: &Workload) -> Result<Outcome> {
    let compression = match p.compression.as_str() {
        "none" => Compression::NoCompression,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => bail!("rskafka: compression {other} is not built in here (none, lz4, zstd)"),
    };
    let mut tally = Tally::new(p);
    let notes = &mut tally.outcome.notes;
    if p.idempotence {
        notes.push("rskafka: no idempotence (not supported)".into());
    }
    if p.acks != "all" && p.acks != "-1" {
        notes.push(format!(
            "rskafka: acks={} not supported, sends acks=all",
            p.acks
        ));
    }
    notes.push("rskafka: partitioning by the adapter (murmur2 for keys, sticky otherwise)".into());
    notes.extend(super::unmapped("rskafka", p, &[]));
    let brokers = p
        .bootstrap
        .split(',')
        .map(|b| b.trim().to_string())
        .collect();
    let client = super::connect(
        "rskafka",
        ClientBuilder::new(brokers)
            .client_id("ferrokafka-bench")
            .build(),
    )
    .await?;
    let topics = super::connect("rskafka", client.list_topics()).await?;
    let partitions: Vec<i32> = topics
        .iter()
        .find(|t| t.name == p.topic)
        .with_context(|| format!("rskafka: no topic {}", p.topic))?
        .partitions
        .iter()
        .copied()
        .collect();
    ensure!(
        !partitions.is_empty(),
        "rskafka: topic {} has no partitions",
        p.topic
    );
    // Its aggregator counts keys and values only, not the record framing (about 20 bytes a
    // record with its varints and wall-clock timestamps): so that a full batch stays within
    // batch.size on the wire (and under the broker's message.max.bytes), aggregate that much
    // less.
    let payload = (p.key_size + p.value_size).max(1) as u64;
    let aggregate = (p.batch_size * payload / (payload + RECORD_FRAMING)) as usize;
    tally.outcome.notes.push(format!(
        "rskafka: batch.size applied to keys+values ({aggregate} bytes), its aggregator's measure"
    ));
    let mut producers = Vec::with_capacity(partitions.len());
    for &partition in &partitions {
        let pc = client
            .partition_client(p.topic.as_str(), partition, UnknownTopicHandling::Retry)
            .await
            .with_context(|| format!("rskafka partition client {partition}"))?;
        producers.push(
            BatchProducerBuilder::new(Arc::new(pc))
                .with_linger(Duration::from_millis(p.linger_ms))
                .with_compression(compression)
                .build(RecordAggregator::new(aggregate)),
        );
    }
    let pacer = pacer(p);
    let mut key = w.key_buf();
    let mut sticky = Sticky::new(producers.len(), p.batch_size);
    let mut pending = FuturesUnordered::new();
    for i in 0..p.records {
        let value = w.value(i).to_vec();
        let (slot, key) = if p.keyed() {
            w.key_into(i, &mut key);
            let count = u32::try_from(producers.len()).unwrap_or(u32::MAX);
            // The Java client's default partitioner, as ferrokafka's.
            let slot = usize::try_from(murmur2_partition(&key, count)).unwrap_or(0);
            (slot, Some(key.to_vec()))
        } else {
            (sticky.next(value.len()), None)
        };
        let record = Record {
            key,
            value: Some(value),
            headers: BTreeMap::new(),
            timestamp: now(),
        };
        let sent = pace(
            pacer.as_ref(),
            i,
            &mut pending,
            |r: rskafka::client::producer::Result<i64>, l| tally.settle(r.map(|_| 0), l),
        )
        .await;
        let produced = Box::pin(producers[slot].produce(record));
        pending.push(Timed::new(produced, sent));
        // Poll at once: the record joins its batch (and the batch's linger starts) only when
        // its future first runs.
        while let Some(Some((result, latency))) = futures::FutureExt::now_or_never(pending.next()) {
            // (The partition matters to transactional runs only.)
            tally.settle(result.map(|_| 0), latency);
        }
        while pending.len() >= p.max_pending {
            if let Some((result, latency)) = pending.next().await {
                tally.settle(result.map(|_| 0), latency);
            }
        }
    }
    for producer in &producers {
        producer.flush().await.context("rskafka flush")?;
    }
    while let Some((result, latency)) = pending.next().await {
        tally.settle(result.map(|_| 0), latency);
    }
    Ok(tally.outcome)
}

/// Bytes a record takes on the wire besides its key and value, at most, for 100-byte values:
/// length, attributes, timestamp and offset deltas, key and value lengths, header count.
const RECORD_FRAMING: u64 = 20;

/// The record timestamp: the wall clock (rskafka's chrono is built without its clock).
fn now() -> DateTime<Utc> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Keyless records: one partition until `batch_size` bytes of values went to it, then the
/// next.
struct Sticky {
    partitions: usize,
    batch_size: u64,
    current: usize,
    filled: u64,
}

impl Sticky {
    fn new(partitions: usize, batch_size: u64) -> Sticky {
        Sticky {
            partitions,
            batch_size,
            current: 0,
            filled: 0,
        }
    }

    fn next(&mut self, bytes: usize) -> usize {
        if self.filled + bytes as u64 > self.batch_size && self.filled > 0 {
            self.current = (self.current + 1) % self.partitions;
            self.filled = 0;
        }
        self.filled += bytes as u64;
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_moves_on_after_a_batch() {
        let mut s = Sticky::new(3, 250);
        let got: Vec<usize> = (0..8).map(|_| s.next(100)).collect();
        assert_eq!(got, vec![0, 0, 1, 1, 2, 2, 0, 0]);
    }
}
