//! Writes seed inputs for the records fuzz targets: `cargo run -p ferrokafka-records --example
//! fuzz_seeds -- fuzz/corpus`. Each seed is a small valid input (a batch per codec, control
//! batch, several batches back to back; compressed payloads for each decompressor).

use std::path::Path;

use bytes::BytesMut;
use ferrokafka_records::{
    BatchBuilder, BatchHeader, Compression, CompressionType, ControlRecord, Header, ProducerStamp,
    RECORD_BATCH_OVERHEAD, compress, write_record,
};

fn batch(kind: CompressionType, n: usize) -> Vec<u8> {
    let mut b = BatchBuilder::new(Compression::of(kind), 0);
    for i in 0..n {
        let headers = [
            Header::new("h", Some(&b"x"[..])),
            Header::new("h", None::<bytes::Bytes>),
        ];
        let value = format!("value-{i}").repeat(3);
        let key = (i % 2 == 0).then_some(&b"key"[..]);
        let hs: &[Header] = if i % 3 == 0 { &headers } else { &[] };
        b.append(
            1_700_000_000_000 + i as i64 * 7 - 5,
            key,
            Some(value.as_bytes()),
            hs,
        )
        .expect("append");
    }
    let stamp = ProducerStamp::idempotent(1000, 2, 40);
    b.close(stamp).expect("close").into_bytes().to_vec()
}

fn control_batch() -> Vec<u8> {
    let (key, value) = ControlRecord::marker_bytes(false, 3);
    let mut section = BytesMut::new();
    write_record(&mut section, 0, 0, Some(&key), Some(&value), &[]).expect("record");
    let mut h = BatchHeader {
        base_offset: 100,
        batch_length: 0,
        partition_leader_epoch: 4,
        crc: 0,
        attributes: 0x30,
        last_offset_delta: 0,
        base_timestamp: 10,
        max_timestamp: 10,
        producer_id: 1000,
        producer_epoch: 2,
        base_sequence: -1,
        record_count: 1,
    };
    let mut out = vec![0u8; RECORD_BATCH_OVERHEAD];
    out.extend_from_slice(&section);
    h.write_with_crc(&mut out);
    out
}

fn write(dir: &Path, target: &str, name: &str, data: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join(name), data).expect("write seed");
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: fuzz_seeds <corpus dir>");
    let dir = Path::new(&dir);
    for kind in CompressionType::ALL {
        write(
            dir,
            "records_batch_decode",
            &format!("seed-{kind}"),
            &batch(kind, 5),
        );
    }
    write(
        dir,
        "records_batch_decode",
        "seed-control",
        &control_batch(),
    );
    let mut two = batch(CompressionType::None, 2);
    two.extend(batch(CompressionType::Lz4, 3));
    write(dir, "records_batch_decode", "seed-two-batches", &two);

    let payload = b"The quick brown fox jumps over the lazy dog. ".repeat(20);
    for kind in [
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ] {
        let target = format!("records_{kind}");
        let mut out = BytesMut::new();
        compress(Compression::of(kind), &payload, &mut out).expect("compress");
        write(dir, &target, "seed-text", &out);
        let mut empty = BytesMut::new();
        compress(Compression::of(kind), &[], &mut empty).expect("compress");
        write(dir, &target, "seed-empty", &empty);
    }
    let raw = snap::raw::Encoder::new()
        .compress_vec(&payload)
        .expect("snappy");
    write(dir, "records_snappy", "seed-raw", &raw);
}
