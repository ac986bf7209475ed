//! The raw log of a Tansu partition, read with hand-encoded Fetch v4 requests and a RecordBatch
//! v2 decoder (no ferrokafka or librdkafka code): data batches with their transactional bit,
//! producer id, epoch and base sequence, and control batches with their marker type, merged
//! into [`Seg`]ments.

use std::collections::BTreeMap;

use ferrokafka_tests::raw::{self, Cursor, FetchAnswer};
use ferrokafka_tests::txn::utf8;

use super::WAIT;

/// Control record types (the key of a control record: version i16, type i16).
pub(crate) const ABORT: i16 = 0;
pub(crate) const COMMIT: i16 = 1;

/// A record's key and value (`None` = null).
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// One v2 record batch as the broker stored it (CRC-32C checked).
#[derive(Debug, Clone)]
struct RawBatch {
    base_offset: i64,
    last_offset_delta: i32,
    attributes: i16,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    /// `(key, value)` of each record (uncompressed batches only).
    records: Vec<KeyValue>,
}

impl RawBatch {
    fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta) + 1
    }

    /// The control record's type (ABORT = 0, COMMIT = 1).
    fn control_type(&self) -> i16 {
        assert!(self.is_control());
        assert_eq!(self.records.len(), 1, "one control record: {self:?}");
        let key = self.records[0].0.as_deref().expect("control record key");
        assert_eq!(key.len(), 4, "control key: version i16 + type i16");
        assert_eq!(
            i16::from_be_bytes([key[0], key[1]]),
            0,
            "control key version"
        );
        i16::from_be_bytes([key[2], key[3]])
    }
}

/// A run of a partition's log: consecutive data batches of one producer, or a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Data {
        producer_id: i64,
        epoch: i16,
        transactional: bool,
        /// Keys, in offset order.
        keys: Vec<String>,
    },
    Marker {
        producer_id: i64,
        epoch: i16,
        /// ABORT or COMMIT.
        kind: i16,
    },
}

pub(crate) fn data(producer_id: i64, epoch: i16, keys: Vec<String>) -> Seg {
    Seg::Data {
        producer_id,
        epoch,
        transactional: true,
        keys,
    }
}

/// A transaction's data segment and the marker (ABORT or COMMIT) that ended it.
pub(crate) fn ended(producer_id: i64, epoch: i16, keys: &[&str], kind: i16) -> [Seg; 2] {
    let keys = keys.iter().map(|k| (*k).to_owned()).collect();
    [
        data(producer_id, epoch, keys),
        marker(producer_id, epoch, kind),
    ]
}

pub(crate) fn marker(producer_id: i64, epoch: i16, kind: i16) -> Seg {
    Seg::Marker {
        producer_id,
        epoch,
        kind,
    }
}

/// Merges consecutive data batches of the same producer into one segment; checks that offsets
/// are contiguous and that base sequences continue within a producer epoch.
fn segments(batches: &[RawBatch]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    let mut next_offset = 0;
    let mut next_seq: BTreeMap<(i64, i16), i32> = BTreeMap::new();
    for b in batches {
        assert_eq!(b.base_offset, next_offset, "offsets are contiguous: {b:?}");
        next_offset = b.next_offset();
        if b.is_control() {
            out.push(marker(b.producer_id, b.producer_epoch, b.control_type()));
            continue;
        }
        let count = i32::try_from(b.records.len()).unwrap();
        let expected_seq = next_seq
            .entry((b.producer_id, b.producer_epoch))
            .or_insert(0);
        assert_eq!(
            b.base_sequence, *expected_seq,
            "sequence continues for producer {}/{}",
            b.producer_id, b.producer_epoch
        );
        *expected_seq += count;
        let keys: Vec<String> = b.records.iter().map(|(k, _)| utf8(k.as_deref())).collect();
        match out.last_mut() {
            Some(Seg::Data {
                producer_id,
                epoch,
                transactional,
                keys: run,
            }) if *producer_id == b.producer_id
                && *epoch == b.producer_epoch
                && *transactional == b.is_transactional() =>
            {
                run.extend(keys);
            }
            _ => out.push(Seg::Data {
                producer_id: b.producer_id,
                epoch: b.producer_epoch,
                transactional: b.is_transactional(),
                keys,
            }),
        }
    }
    out
}

/// Fetch v4 for one partition from `offset`, hand-encoded; `read_committed` sets the isolation.
fn fetch_v4(
    addr: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    read_committed: bool,
) -> FetchAnswer {
    let answer = raw::fetch_v4(addr, topic, partition, offset, read_committed, WAIT);
    assert_eq!(answer.error, 0, "fetch error code for {topic}/{partition}");
    answer
}

/// Every batch of one partition, read_uncommitted, from offset 0 to the high watermark.
fn raw_log_blocking(addr: &str, topic: &str, partition: i32) -> Vec<RawBatch> {
    let mut out: Vec<RawBatch> = Vec::new();
    let mut next = 0i64;
    loop {
        let answer = fetch_v4(addr, topic, partition, next, false);
        if next >= answer.high_watermark {
            break;
        }
        let before = out.len();
        split_batches(&answer.records, &mut out);
        assert!(
            out.len() > before,
            "{topic}/{partition}: no progress at offset {next}"
        );
        next = out.last().map_or(next, RawBatch::next_offset);
    }
    out
}

/// The log of each of `partitions`, as segments.
pub(crate) async fn raw_log(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> BTreeMap<i32, Vec<Seg>> {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        (0..partitions)
            .map(|p| (p, segments(&raw_log_blocking(&b, &t, p))))
            .collect()
    })
    .await
    .expect("raw fetch thread")
}

/// A read_committed Fetch v4 from offset 0: `(high watermark, last stable offset, aborted)`.
pub(crate) async fn committed_view(
    bootstrap: &str,
    topic: &str,
    partition: i32,
) -> (i64, i64, Option<Vec<(i64, i64)>>) {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let a = fetch_v4(&b, &t, partition, 0, true);
        (a.high_watermark, a.last_stable_offset, a.aborted)
    })
    .await
    .expect("raw fetch thread")
}

/// Splits a Fetch records section into v2 batches (a trailing partial batch is ignored).
fn split_batches(buf: &[u8], out: &mut Vec<RawBatch>) {
    for (h, section) in raw::split_batches(buf, "") {
        let base_offset = h.base_offset;
        assert_eq!(h.attributes & 7, 0, "uncompressed batches only");
        let mut c = Cursor::new(section);
        let mut records = Vec::new();
        for _ in 0..h.count {
            let len = c.varint() as usize;
            let end = c.at + len;
            c.take(1); // attributes
            c.varint(); // timestamp delta
            c.varint(); // offset delta
            let key = c.nullable();
            let value = c.nullable();
            for _ in 0..c.varint() {
                let name_len = c.varint() as usize;
                c.take(name_len);
                c.nullable();
            }
            assert_eq!(c.at, end, "record length in batch {base_offset}");
            records.push((key, value));
        }
        assert_eq!(c.at, section.len(), "trailing bytes in batch {base_offset}");
        out.push(RawBatch {
            base_offset,
            last_offset_delta: h.last_offset_delta,
            attributes: h.attributes,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            records,
        });
    }
}

/// The producer id and epoch stamped on the first data segment of a log.
pub(crate) fn first_producer(log: &[Seg]) -> (i64, i16) {
    log.iter()
        .find_map(|s| match s {
            Seg::Data {
                producer_id, epoch, ..
            } => Some((*producer_id, *epoch)),
            Seg::Marker { .. } => None,
        })
        .expect("a data segment")
}
