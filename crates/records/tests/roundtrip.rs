//! Property tests: arbitrary records round-trip exactly through every codec, a flipped byte is
//! always detected, and hostile input yields typed errors.

use bytes::{Bytes, BytesMut};
use ferrokafka_records::{
    Batch, BatchBuilder, BatchHeader, ClosedBatch, Compression, CompressionType, DecodeError,
    DecodeOptions, DecompressError, Header, ProducerStamp, RECORD_BATCH_OVERHEAD, Record, batches,
    split_batch, write_record,
};
use proptest::prelude::*;

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Bytes>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Bytes::new())),
        4 => proptest::collection::vec(any::<u8>(), 0..max).prop_map(|v| Some(Bytes::from(v))),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    // A small name alphabet so that duplicate names are common.
    (
        prop_oneof![Just("a".to_owned()), Just(String::new()), "[a-zé]{0,6}"],
        opt_bytes(16),
    )
        .prop_map(|(key, value)| Header { key, value })
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(-1i64),
        Just(0i64),
        Just(i64::MAX),
        0i64..4_000_000_000_000,
        any::<i64>().prop_map(|t| t & i64::MAX),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        timestamp(),
        opt_bytes(40),
        opt_bytes(300),
        proptest::collection::vec(header(), 0..4),
    )
        .prop_map(|(timestamp, key, value, headers)| Record {
            timestamp,
            key,
            value,
            headers,
        })
}

fn codec() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::NONE),
        Just(Compression::of(CompressionType::Gzip)),
        Just(Compression::of(CompressionType::Snappy)),
        Just(Compression::of(CompressionType::Lz4)),
        Just(Compression::of(CompressionType::Zstd)),
        (1i32..=9).prop_map(|l| Compression::new(CompressionType::Gzip, Some(l)).unwrap()),
        (-5i32..=19).prop_map(|l| Compression::new(CompressionType::Zstd, Some(l)).unwrap()),
    ]
}

fn stamp() -> impl Strategy<Value = ProducerStamp> {
    prop_oneof![
        Just(ProducerStamp::NONE),
        (any::<i64>(), any::<i16>(), any::<i32>(), any::<bool>()).prop_map(|(p, e, s, t)| {
            ProducerStamp {
                producer_id: p,
                producer_epoch: e,
                base_sequence: s & i32::MAX,
                transactional: t,
            }
        }),
    ]
}

fn build(records: &[Record], compression: Compression, stamp: ProducerStamp) -> ClosedBatch {
    let mut b = BatchBuilder::new(compression, 256);
    for (i, r) in records.iter().enumerate() {
        let expected = b.next_record_size(
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers,
        );
        let before = b.size_in_bytes();
        let delta = b
            .append(
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                &r.headers,
            )
            .unwrap();
        assert_eq!(delta as usize, i);
        assert_eq!(b.size_in_bytes() - before, expected);
    }
    b.close(stamp).unwrap()
}

fn decode_all(bytes: &[u8]) -> Result<Vec<(BatchHeader, Vec<Record>)>, DecodeError> {
    let mut out = Vec::new();
    for batch in batches(bytes, DecodeOptions::with_limit(1 << 20)) {
        let batch = batch?;
        let records = batch
            .records()
            .map(|r| r.map(|r| r.to_owned_record()))
            .collect::<Result<Vec<_>, _>>()?;
        out.push((*batch.header(), records));
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn records_round_trip_exactly(
        records in proptest::collection::vec(record(), 1..20),
        compression in codec(),
        stamp in stamp(),
    ) {
        let closed = build(&records, compression, stamp);
        let decoded = decode_all(closed.bytes()).unwrap();
        prop_assert_eq!(decoded.len(), 1);
        let (h, got) = &decoded[0];
        prop_assert_eq!(got, &records);
        prop_assert_eq!(h.compression().unwrap(), compression.kind);
        prop_assert_eq!(h.record_count as usize, records.len());
        prop_assert_eq!(h.last_offset_delta as usize, records.len() - 1);
        prop_assert_eq!(h.producer_id, stamp.producer_id);
        prop_assert_eq!(h.producer_epoch, stamp.producer_epoch);
        prop_assert_eq!(h.base_sequence, stamp.base_sequence);
        prop_assert_eq!(h.is_transactional(), stamp.transactional);
        prop_assert_eq!(h.base_timestamp, records[0].timestamp);
        prop_assert_eq!(h.max_timestamp, records.iter().map(|r| r.timestamp).max().unwrap());
        prop_assert_eq!(h, closed.header());
    }

    #[test]
    fn restamp_keeps_records_and_crc_valid(
        records in proptest::collection::vec(record(), 1..8),
        compression in codec(),
        first in stamp(),
        second in stamp(),
    ) {
        let mut closed = build(&records, compression, first);
        let records_before = closed.bytes().slice(RECORD_BATCH_OVERHEAD..);
        closed.restamp(second);
        prop_assert_eq!(closed.bytes().slice(RECORD_BATCH_OVERHEAD..), records_before);
        let fresh = build(&records, compression, second);
        // Same bytes as closing with the second stamp in the first place.
        prop_assert_eq!(closed.bytes(), fresh.bytes());
        let decoded = decode_all(closed.bytes()).unwrap();
        prop_assert_eq!(&decoded[0].1, &records);
    }

    /// Every byte the CRC covers, and the magic, length and CRC fields themselves, are checked:
    /// flipping any of them is an error. Flipping baseOffset or partitionLeaderEpoch (which the
    /// broker rewrites and the CRC deliberately does not cover) shows up in the decoded header.
    #[test]
    fn any_flipped_byte_is_detected(
        records in proptest::collection::vec(record(), 1..6),
        compression in codec(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let closed = build(&records, compression, ProducerStamp::NONE);
        let mut bytes = closed.bytes().to_vec();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        match decode_all(&bytes) {
            Err(_) => {}
            Ok(decoded) => {
                prop_assert!(
                    (0..8).contains(&i) || (12..16).contains(&i),
                    "flip at {} went unnoticed", i
                );
                prop_assert_ne!(&decoded[0].0, closed.header());
                prop_assert_eq!(&decoded[0].1, &records);
            }
        }
    }

    #[test]
    fn truncation_anywhere_is_an_error(
        records in proptest::collection::vec(record(), 1..6),
        compression in codec(),
        cut in any::<prop::sample::Index>(),
    ) {
        let closed = build(&records, compression, ProducerStamp::NONE);
        let n = cut.index(closed.len());
        prop_assert!(decode_all(&closed.bytes()[..n]).is_err() || n == 0);
    }

    #[test]
    fn several_batches_in_one_buffer(
        a in proptest::collection::vec(record(), 1..5),
        b in proptest::collection::vec(record(), 1..5),
        ca in codec(),
        cb in codec(),
    ) {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(build(&a, ca, ProducerStamp::NONE).bytes());
        buf.extend_from_slice(build(&b, cb, ProducerStamp::NONE).bytes());
        let decoded = decode_all(&buf).unwrap();
        prop_assert_eq!(decoded.len(), 2);
        prop_assert_eq!(&decoded[0].1, &a);
        prop_assert_eq!(&decoded[1].1, &b);
    }

    #[test]
    fn split_preserves_order_and_respects_the_limit(
        records in proptest::collection::vec(record(), 1..40),
        compression in codec(),
        limit in 100usize..2000,
        base_sequence in 0i32..i32::MAX,
    ) {
        let stamp = ProducerStamp { producer_id: 5, producer_epoch: 1, base_sequence, transactional: true };
        let closed = build(&records, compression, stamp);
        let parts = split_batch(closed.bytes(), limit, Compression::NONE, DecodeOptions::default()).unwrap();
        let mut all = Vec::new();
        let mut seq = base_sequence;
        for p in &parts {
            prop_assert!(p.record_count() >= 1);
            prop_assert!(p.len() <= limit || p.record_count() == 1, "{} > {}", p.len(), limit);
            prop_assert_eq!(p.header().base_sequence, seq);
            prop_assert!(p.header().is_transactional());
            seq = ferrokafka_records::increment_sequence(seq, p.record_count());
            all.extend(decode_all(p.bytes()).unwrap().remove(0).1);
        }
        prop_assert_eq!(all, records);
    }

    /// Arbitrary bytes never panic the decoder, with or without CRC checking.
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        for verify_crc in [true, false] {
            let opts = DecodeOptions { max_decompressed_size: 1 << 16, verify_crc };
            for batch in batches(&data, opts) {
                let Ok(batch) = batch else { break };
                for r in batch.records() {
                    let Ok(r) = r else { break };
                    let _ = r.headers.iter().count();
                }
            }
        }
    }
}

/// A batch header with a valid CRC over an arbitrary records section.
fn forged(count: i32, attributes: i16, section: &[u8]) -> Vec<u8> {
    let mut h = BatchHeader {
        base_offset: 0,
        batch_length: 0,
        partition_leader_epoch: -1,
        crc: 0,
        attributes,
        last_offset_delta: count - 1,
        base_timestamp: 0,
        max_timestamp: 0,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        record_count: count,
    };
    let mut batch = vec![0u8; RECORD_BATCH_OVERHEAD];
    batch.extend_from_slice(section);
    h.write_with_crc(&mut batch);
    batch
}

fn first_error(bytes: &[u8]) -> DecodeError {
    decode_all(bytes).unwrap_err()
}

#[test]
fn typed_errors_for_bad_input() {
    let mut one = BytesMut::new();
    write_record(&mut one, 0, 0, Some(b"k"), Some(b"v"), &[]).unwrap();

    // Wrong magic.
    let mut bad = forged(1, 0, &one);
    bad[16] = 1;
    assert_eq!(first_error(&bad), DecodeError::UnsupportedMagic(1));
    // Wrong CRC.
    let mut bad = forged(1, 0, &one);
    bad[20] ^= 0xFF;
    assert!(matches!(first_error(&bad), DecodeError::CrcMismatch { .. }));
    // Length shorter than a header, and longer than the input.
    let mut bad = forged(1, 0, &one);
    bad[8..12].copy_from_slice(&10i32.to_be_bytes());
    assert_eq!(first_error(&bad), DecodeError::InvalidBatchLength(10));
    let mut bad = forged(1, 0, &one);
    bad[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(first_error(&bad), DecodeError::Truncated { .. }));
    // Count larger than the section can hold, negative, too small, too large.
    assert_eq!(
        first_error(&forged(1000, 0, &one)),
        DecodeError::InvalidRecordCount(1000)
    );
    assert_eq!(
        first_error(&forged(-1, 0, &one)),
        DecodeError::InvalidRecordCount(-1)
    );
    assert_eq!(
        first_error(&forged(0, 0, &one)),
        DecodeError::TrailingBytes(one.len())
    );
    let mut long = BytesMut::new();
    write_record(&mut long, 0, 0, None, Some(&[7u8; 30]), &[]).unwrap();
    assert_eq!(
        first_error(&forged(2, 0, &long)),
        DecodeError::RecordCountMismatch {
            declared: 2,
            actual: 1
        }
    );
    // Record length prefix beyond the section.
    let mut sec = one.to_vec();
    sec[0] = 0x7E; // zigzag 63
    assert_eq!(
        first_error(&forged(1, 0, &sec)),
        DecodeError::InvalidRecordLength(63)
    );
    // Unknown codec 5.
    assert_eq!(
        first_error(&forged(1, 5, &one)),
        DecodeError::UnknownCompression(5)
    );
    // Corrupt compressed data for every codec.
    for codec in [1i16, 2, 3, 4] {
        let e = first_error(&forged(
            1,
            codec,
            b"\x01\x02\x03\x04\x05\x06\x07\x08 not compressed",
        ));
        assert!(
            matches!(e, DecodeError::Decompress(DecompressError::Corrupt { .. })),
            "{codec}: {e}"
        );
    }
}

#[test]
fn decompression_bomb_is_bounded() {
    let mut b = BatchBuilder::new(Compression::of(CompressionType::Zstd), 0);
    let big = vec![0u8; 1 << 20];
    b.append(0, None, Some(&big), &[]).unwrap();
    let closed = b.close(ProducerStamp::NONE).unwrap();
    assert!(closed.len() < 1000, "zeros compress well: {}", closed.len());
    let err = Batch::parse(closed.bytes(), DecodeOptions::with_limit(64 << 10)).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Decompress(DecompressError::TooLarge {
            codec: CompressionType::Zstd,
            limit: 64 << 10
        })
    );
    assert!(Batch::parse(closed.bytes(), DecodeOptions::with_limit(2 << 20)).is_ok());
}

#[test]
fn uncompressed_records_borrow_from_the_input() {
    let mut b = BatchBuilder::new(Compression::NONE, 0);
    b.append(1, Some(b"key"), Some(b"value"), &[]).unwrap();
    let closed = b.close(ProducerStamp::NONE).unwrap();
    let bytes = closed.bytes();
    let batch = Batch::parse(bytes, DecodeOptions::default()).unwrap();
    assert!(!batch.is_decompressed());
    let r = batch.records().next().unwrap().unwrap();
    let v = r.value.unwrap();
    let range = bytes.as_ptr_range();
    assert!(range.contains(&v.as_ptr()));
}
