//! Record batches as Kafka stored them in its log segments on disk, read without any client
//! code.

use std::path::PathBuf;

use ferrokafka_tests::raw::{Cursor, crc32c};

use crate::kafka;

/// A record batch header as stored in a log segment on the broker's disk.
#[derive(Debug)]
pub(crate) struct StoredBatch {
    pub(crate) base_offset: i64,
    pub(crate) attributes: i16,
    pub(crate) producer_id: i64,
    pub(crate) base_sequence: i32,
    pub(crate) count: i32,
}

/// Every batch of one partition, read from the broker's log segments (`*.log` files hold the
/// batches exactly as Produce carried them, offsets assigned): no client code involved. CRC-32C
/// checked.
pub(crate) fn stored_batches(topic: &str, partition: i32) -> Vec<StoredBatch> {
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

/// The compression codec id (`attributes & 7`) of `codec`.
pub(crate) fn codec_id(codec: &str) -> i16 {
    match codec {
        "none" => 0,
        "gzip" => 1,
        "snappy" => 2,
        "lz4" => 3,
        "zstd" => 4,
        other => panic!("no codec {other}"),
    }
}
