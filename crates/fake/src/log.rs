//! One partition's append-only log: stored batches with their offsets assigned, the high
//! watermark, the open transactions that hold the last stable offset back, and the index of
//! aborted transactions a read_committed consumer skips.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use ferrokafka_records::{
    BatchHeader, ControlRecord, DecodeOptions, RECORD_BATCH_OVERHEAD, batches, write_record,
};

/// Attribute bit of a LogAppendTime batch.
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
/// Attribute bit of a transactional batch.
const TRANSACTIONAL_BIT: i16 = 0x10;
/// Attribute bit of a control batch.
const CONTROL_BIT: i16 = 0x20;

/// A batch as the log holds it: offsets assigned, bytes as a consumer will read them.
#[derive(Debug, Clone)]
pub(crate) struct StoredBatch {
    pub(crate) last_offset: i64,
    pub(crate) bytes: Bytes,
}

/// An aborted transaction of one producer in this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    /// Offset of the ABORT marker.
    pub(crate) last_offset: i64,
}

/// The log of one partition.
#[derive(Debug, Default)]
pub(crate) struct Log {
    batches: Vec<StoredBatch>,
    /// Next offset to assign (= high watermark: every replica is in sync in the fake).
    end_offset: i64,
    /// Producer id → first offset of its open transaction here.
    open_txns: BTreeMap<i64, i64>,
    aborted: Vec<AbortedTxn>,
}

impl Log {
    /// The high watermark.
    pub(crate) fn high_watermark(&self) -> i64 {
        self.end_offset
    }

    /// The last stable offset: the first offset of the oldest open transaction, or the high
    /// watermark.
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.open_txns
            .values()
            .copied()
            .min()
            .unwrap_or(self.end_offset)
    }

    /// The first offset still held (nothing is ever deleted).
    #[allow(clippy::unused_self)] // the log would know once retention exists
    pub(crate) fn log_start_offset(&self) -> i64 {
        0
    }

    /// Appends a validated batch: assigns offsets from the end of the log, stamps the leader
    /// epoch and, for a LogAppendTime topic, the append time (recomputing the CRC). Returns the
    /// base offset.
    pub(crate) fn append(
        &mut self,
        raw: &[u8],
        header: &BatchHeader,
        leader_epoch: i32,
        log_append_time: Option<i64>,
    ) -> i64 {
        let base = self.end_offset;
        let mut bytes = BytesMut::from(raw);
        let mut h = *header;
        h.base_offset = base;
        h.partition_leader_epoch = leader_epoch;
        if let Some(t) = log_append_time {
            h.attributes |= TIMESTAMP_TYPE_BIT;
            h.max_timestamp = t;
        }
        // The batch was checked to be whole and at least a header long.
        h.write_with_crc(&mut bytes);
        let last = base + i64::from(header.last_offset_delta.max(0));
        if header.is_transactional() && header.producer_id >= 0 {
            self.open_txns.entry(header.producer_id).or_insert(base);
        }
        self.batches.push(StoredBatch {
            last_offset: last,
            bytes: bytes.freeze(),
        });
        self.end_offset = last + 1;
        base
    }

    /// Writes a COMMIT or ABORT marker for `producer_id` (even if it wrote nothing here, as
    /// Kafka does for every partition added to the transaction). Returns the marker's offset.
    pub(crate) fn write_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        leader_epoch: i32,
        wall_ms: i64,
    ) -> i64 {
        let offset = self.end_offset;
        let (key, value) = ControlRecord::marker_bytes(commit, coordinator_epoch);
        let mut batch = BytesMut::zeroed(RECORD_BATCH_OVERHEAD);
        // A record of two small fields cannot fail to encode.
        let _ = write_record(&mut batch, 0, 0, Some(&key), Some(&value), &[]);
        let mut header = BatchHeader {
            base_offset: offset,
            batch_length: 0,
            partition_leader_epoch: leader_epoch,
            crc: 0,
            attributes: TRANSACTIONAL_BIT | CONTROL_BIT,
            last_offset_delta: 0,
            base_timestamp: wall_ms,
            max_timestamp: wall_ms,
            producer_id,
            producer_epoch,
            base_sequence: -1,
            record_count: 1,
        };
        header.write_with_crc(&mut batch);
        self.batches.push(StoredBatch {
            last_offset: offset,
            bytes: batch.freeze(),
        });
        if let Some(first) = self.open_txns.remove(&producer_id)
            && !commit
        {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset: first,
                last_offset: offset,
            });
        }
        self.end_offset = offset + 1;
        offset
    }

    /// Whole batches from the one holding `offset` up to (excluding) `limit`, at most
    /// `max_bytes` (but at least one batch, as Kafka does so that a big batch never blocks a
    /// consumer).
    pub(crate) fn read(&self, offset: i64, limit: i64, max_bytes: usize) -> Vec<Bytes> {
        let start = self.batches.partition_point(|b| b.last_offset < offset);
        let mut out = Vec::new();
        let mut size = 0usize;
        for b in &self.batches[start..] {
            if b.last_offset >= limit {
                break;
            }
            if !out.is_empty() && size + b.bytes.len() > max_bytes {
                break;
            }
            size += b.bytes.len();
            out.push(b.bytes.clone());
        }
        out
    }

    /// Aborted transactions overlapping `[from, to)`.
    pub(crate) fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= from && a.first_offset < to)
            .copied()
            .collect()
    }

    /// Every stored batch, in offset order.
    pub(crate) fn batches(&self) -> &[StoredBatch] {
        &self.batches
    }

    /// Offset of the first record at or after `timestamp` (ListOffsets by time), or `None`.
    pub(crate) fn offset_for_time(&self, timestamp: i64) -> Option<(i64, i64)> {
        for b in &self.batches {
            for batch in batches(&b.bytes, DecodeOptions::default()).flatten() {
                if batch.is_control() {
                    continue;
                }
                for r in batch.records().flatten() {
                    if r.timestamp >= timestamp {
                        return Some((r.offset, r.timestamp));
                    }
                }
            }
        }
        None
    }
}
