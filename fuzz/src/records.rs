//! Fuzz entry points for `ferrokafka-records` (batch decoding and every decompressor).
//!
//! `batch_decode` decodes a buffer of batches twice: once without the CRC check, so that the
//! fuzzer reaches the record parser and decompressors without having to forge a CRC-32C, and once
//! with it. Every batch that decodes is rebuilt with `BatchBuilder` and must decode to the same
//! records. The decompressor targets feed raw bytes to one codec behind a 64 KiB bound; whatever
//! decompresses must be within the bound and survive compress → decompress unchanged.

use bytes::BytesMut;
use ferrokafka_records::{
    BatchBuilder, Compression, CompressionType, DecodeOptions, DecompressError, ProducerStamp,
    Record, batches, compress, decompress,
};

use crate::Target;

/// The records crate's fuzz targets.
pub const TARGETS: &[Target] = &[
    ("records_batch_decode", batch_decode),
    ("records_gzip", gzip),
    ("records_snappy", snappy),
    ("records_lz4", lz4),
    ("records_zstd", zstd),
];

const LIMIT: usize = 64 << 10;

/// Decodes every batch in `data`; rebuilds each one that decodes and checks it round-trips.
pub fn batch_decode(data: &[u8]) {
    for verify_crc in [false, true] {
        let options = DecodeOptions {
            max_decompressed_size: LIMIT,
            verify_crc,
        };
        for batch in batches(data, options) {
            let Ok(batch) = batch else { break };
            if let Some(markers) = batch.control_records() {
                for m in markers {
                    let _ = m;
                }
            }
            let mut records: Vec<Record> = Vec::new();
            let mut ok = true;
            for r in batch.records() {
                let Ok(r) = r else {
                    ok = false;
                    break;
                };
                assert_eq!(r.headers.iter().count(), r.headers.len());
                records.push(r.to_owned_record());
            }
            if !ok || records.iter().any(|r| r.timestamp < -1) {
                continue;
            }
            // Header keys were converted lossily; compare against what was decoded.
            let mut builder = BatchBuilder::new(Compression::NONE, 0);
            for r in &records {
                builder
                    .append(
                        r.timestamp,
                        r.key.as_deref(),
                        r.value.as_deref(),
                        &r.headers,
                    )
                    .expect("a decoded record re-appends");
            }
            let closed = builder.close(ProducerStamp::NONE).expect("close");
            let again = batches(closed.bytes(), DecodeOptions::with_limit(LIMIT))
                .next()
                .expect("one batch")
                .expect("rebuilt batch decodes");
            let rebuilt: Vec<Record> = again
                .records()
                .map(|r| r.expect("rebuilt record decodes").to_owned_record())
                .collect();
            // LogAppendTime batches report maxTimestamp for every record; the rebuild is
            // CreateTime, so compare everything but the timestamp in that case.
            for (a, b) in rebuilt.iter().zip(&records) {
                assert_eq!(
                    (&a.key, &a.value, &a.headers),
                    (&b.key, &b.value, &b.headers)
                );
            }
            assert_eq!(rebuilt.len(), records.len());
        }
    }
}

fn codec(kind: CompressionType, data: &[u8]) {
    match decompress(kind, data, LIMIT) {
        Ok(out) => {
            assert!(out.len() <= LIMIT);
            let mut again = BytesMut::new();
            compress(Compression::of(kind), &out, &mut again).expect("compress");
            let back = decompress(kind, &again, LIMIT).expect("our own output decompresses");
            assert_eq!(back, out);
        }
        Err(DecompressError::TooLarge { limit, .. }) => assert_eq!(limit, LIMIT),
        Err(_) => {}
    }
}

/// gzip decompression behind the bound.
pub fn gzip(data: &[u8]) {
    codec(CompressionType::Gzip, data);
}

/// snappy (xerial-framed or raw) decompression behind the bound.
pub fn snappy(data: &[u8]) {
    codec(CompressionType::Snappy, data);
}

/// lz4 frame decompression behind the bound.
pub fn lz4(data: &[u8]) {
    codec(CompressionType::Lz4, data);
}

/// zstd decompression behind the bound.
pub fn zstd(data: &[u8]) {
    codec(CompressionType::Zstd, data);
}
