//! Reading a topic back without librdkafka (whose build here has no zstd): hand-encoded Fetch
//! v4 requests, the v2 record batches split and their records decoded here, zstd inflated by the
//! reference libzstd.

use ferrokafka_tests::consume::{Consumed, TimestampType};
use ferrokafka_tests::raw::{self, Cursor};

use crate::WAIT;

/// A v2 record batch as stored by the broker (CRC-32C checked).
pub(crate) struct RawBatch {
    pub(crate) partition: i32,
    pub(crate) base_offset: i64,
    last_offset_delta: i32,
    pub(crate) attributes: i16,
    base_timestamp: i64,
    pub(crate) producer_id: i64,
    pub(crate) base_sequence: i32,
    pub(crate) count: i32,
    /// The records section, still compressed.
    payload: Vec<u8>,
}

/// Fetches every batch of `topic` (`partitions` partitions, all led by the broker at
/// `bootstrap`) with hand-encoded Fetch v4 requests: no ferrokafka or librdkafka code involved.
pub(crate) async fn raw_batches(bootstrap: &str, topic: &str, partitions: i32) -> Vec<RawBatch> {
    let (b, t) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for partition in 0..partitions {
            let mut next = 0i64;
            loop {
                let (high_watermark, records) = fetch_v4(&b, &t, partition, next);
                let before = out.len();
                split_batches(&records, partition, &mut out);
                if let Some(last) = out[before..].last() {
                    next = last.base_offset + i64::from(last.last_offset_delta) + 1;
                }
                if next >= high_watermark {
                    break;
                }
                assert!(
                    out.len() > before,
                    "{t}/{partition}: no progress at offset {next}"
                );
            }
        }
        out
    })
    .await
    .expect("raw fetch thread")
}

/// Reads `topic` back without librdkafka (whose build here has no zstd): [`raw_batches`], then
/// the records decoded here, the compressed ones inflated by the reference libzstd.
pub(crate) async fn read_raw(bootstrap: &str, topic: &str, partitions: i32) -> Vec<Consumed> {
    let mut out = Vec::new();
    for batch in raw_batches(bootstrap, topic, partitions).await {
        decode_records(&batch, &mut out);
    }
    out
}

/// Fetch v4, read_uncommitted, one partition from `offset`: the high watermark and the records.
fn fetch_v4(addr: &str, topic: &str, partition: i32, offset: i64) -> (i64, Vec<u8>) {
    let answer = raw::fetch_v4(addr, topic, partition, offset, false, WAIT);
    assert_eq!(answer.error, 0, "fetch error code for {topic}/{partition}");
    (answer.high_watermark, answer.records)
}

/// Splits a Fetch records section into v2 batches (a trailing partial batch is ignored).
fn split_batches(buf: &[u8], partition: i32, out: &mut Vec<RawBatch>) {
    for (h, payload) in raw::split_batches(buf, &format!("{partition}/")) {
        out.push(RawBatch {
            partition,
            base_offset: h.base_offset,
            last_offset_delta: h.last_offset_delta,
            attributes: h.attributes,
            base_timestamp: h.base_timestamp,
            producer_id: h.producer_id,
            base_sequence: h.base_sequence,
            count: h.count,
            payload: payload.to_vec(),
        });
    }
}

/// Decodes the records of an uncompressed or zstd batch.
fn decode_records(batch: &RawBatch, out: &mut Vec<Consumed>) {
    let timestamp_type = if batch.attributes & 8 == 0 {
        TimestampType::CreateTime
    } else {
        TimestampType::LogAppendTime
    };
    let inflated;
    let records: &[u8] = match batch.attributes & 7 {
        0 => &batch.payload,
        4 => {
            inflated = zstd_reference_decompress(&batch.payload);
            &inflated
        }
        other => panic!("decode_records handles no codec {other}"),
    };
    let mut r = Cursor::new(records);
    for _ in 0..batch.count {
        let len = r.varint() as usize;
        let end = r.at + len;
        r.take(1); // attributes
        let timestamp = batch.base_timestamp + r.varint();
        let offset = batch.base_offset + r.varint();
        let key = r.nullable();
        let value = r.nullable();
        let headers = (0..r.varint())
            .map(|_| {
                let name_len = r.varint() as usize;
                let name = String::from_utf8(r.take(name_len).to_vec()).unwrap();
                (name, r.nullable())
            })
            .collect();
        assert_eq!(r.at, end, "record length at offset {offset}");
        out.push(Consumed {
            partition: batch.partition,
            offset,
            key,
            value,
            headers,
            timestamp: Some(timestamp),
            timestamp_type,
        });
    }
    assert_eq!(
        r.at,
        records.len(),
        "trailing bytes in batch at {}",
        batch.base_offset
    );
}

/// Inflates a zstd frame with the reference libzstd (through the `zstd` crate's streaming
/// decoder, not ferrokafka's codec code), so no `zstd` binary is needed on the machine.
fn zstd_reference_decompress(data: &[u8]) -> Vec<u8> {
    zstd::stream::decode_all(data).expect("the reference zstd decoder reads the batch")
}
