//! The simulated clock and helpers that keep the transcripts short.

use std::time::{Duration, Instant};

use ferrokafka_accumulator::{
    AccumulatorConfig, AppendResult, Drained, RecordAccumulator, TopicPartition,
};
use ferrokafka_records::{DecodeOptions, ProducerStamp, batches};

/// A simulated clock: one real base instant plus offsets in milliseconds.
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            base: Instant::now(),
        }
    }

    pub(crate) fn at(&self, t: u64) -> Instant {
        self.base + Duration::from_millis(t)
    }
}

pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

pub(crate) fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// Defaults with small sizes so a few records fill a batch.
pub(crate) fn config() -> AccumulatorConfig {
    let mut c = AccumulatorConfig::default();
    c.batch_size = 1000;
    c.buffer_memory = 100_000;
    c.max_request_size = 10_000;
    c
}

pub(crate) fn acc(config: AccumulatorConfig) -> RecordAccumulator {
    RecordAccumulator::new(config).expect("valid config")
}

/// A value of `len` bytes (at least 8) whose first 8 bytes carry `id`.
pub(crate) fn value(id: u64, len: usize) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.resize(len.max(8), 0xab);
    v
}

/// Appends record `id` with a `len`-byte value to partition `p`.
pub(crate) fn put(
    acc: &mut RecordAccumulator,
    p: i32,
    id: u64,
    len: usize,
    now: Instant,
) -> AppendResult {
    acc.append(&tp(p), 0, None, Some(&value(id, len)), &[], now)
        .expect("append")
}

/// `ready` then `drain`, partitions 0..=9 led by node `p % 2`, no producer identity.
pub(crate) fn pump(acc: &mut RecordAccumulator, now: Instant) -> Drained {
    let ready = acc.ready(now);
    acc.drain(
        &ready.ready_partitions,
        |tp| Some(tp.partition % 2),
        10_000,
        now,
        |_| ProducerStamp::NONE,
    )
}

/// Drains every ready partition's head batch (leaders `p % 2`, no request size limit, no
/// producer identity), lets go of the bytes and answers each batch: how many there were.
pub(crate) fn drain_and_answer_all(acc: &mut RecordAccumulator, now: Instant) -> usize {
    let ready = acc.ready(now);
    let drained = acc.drain(
        &ready.ready_partitions,
        |tp| Some(tp.partition % 2),
        usize::MAX,
        now,
        |_| ProducerStamp::NONE,
    );
    let sent: Vec<_> = drained.by_leader.values().flatten().map(|b| b.id).collect();
    drop(drained);
    for &id in &sent {
        acc.complete(id).expect("in flight");
    }
    sent.len()
}

/// The record ids (first 8 value bytes) in a closed batch, in order.
pub(crate) fn ids(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    for batch in batches(bytes, DecodeOptions::default()) {
        let batch = batch.expect("batch decodes");
        for r in batch.records() {
            let v = r.expect("record decodes").value.expect("value");
            out.push(u64::from_be_bytes(v[..8].try_into().expect("8 bytes")));
        }
    }
    out
}
