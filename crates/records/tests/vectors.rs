//! Known vectors: CRC-32C check values and complete batch encodings published with Sarama's
//! `record_test.go` (CRCs independently recomputed over bytes [21..]).

use bytes::BytesMut;
use ferrokafka_records::{
    BatchBuilder, BatchHeader, Compression, CompressionType, ControlRecord, ControlRecordType,
    DecodeError, DecodeOptions, Header, ProducerStamp, RECORD_BATCH_OVERHEAD, batches,
    write_record,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn crc32c_vectors() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    // Kafka's Crc32CTest.testValue.
    assert_eq!(crc32c::crc32c(b"Some String"), 608_512_271);
    // RFC 3720 section B.4.
    assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
    assert_eq!(crc32c::crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    let inc: Vec<u8> = (0u8..32).collect();
    assert_eq!(crc32c::crc32c(&inc), 0x46DD_794E);
    let dec: Vec<u8> = (0u8..32).rev().collect();
    assert_eq!(crc32c::crc32c(&dec), 0x113F_DB5C);
    assert_eq!(crc32c::crc32c(&[]), 0);
}

/// Sarama's header: all zeros except what each vector sets.
fn sarama_header(attributes: i16, base_timestamp: i64, record_count: i32) -> BatchHeader {
    BatchHeader {
        base_offset: 0,
        batch_length: 0,
        partition_leader_epoch: 0,
        crc: 0,
        attributes,
        last_offset_delta: 0,
        base_timestamp,
        max_timestamp: 0,
        producer_id: 0,
        producer_epoch: 0,
        base_sequence: 0,
        record_count,
    }
}

fn assemble(mut header: BatchHeader, section: &[u8]) -> Vec<u8> {
    let mut batch = vec![0u8; RECORD_BATCH_OVERHEAD];
    batch.extend_from_slice(section);
    header.write_with_crc(&mut batch);
    batch
}

#[test]
fn empty_batch_and_empty_control_batch() {
    let batch = assemble(sarama_header(0, 0, 0), &[]);
    assert_eq!(batch.len(), 61);
    assert_eq!(batch[8..12], 49i32.to_be_bytes());
    assert_eq!(batch[17..21], [0x59, 0x5F, 0xB7, 0xDD]);
    let decoded: Vec<_> = batches(&batch, DecodeOptions::default()).collect();
    assert_eq!(decoded.len(), 1);
    let b = decoded[0].as_ref().unwrap();
    assert_eq!(b.records().count(), 0);

    let control = assemble(sarama_header(0x20, 0, 0), &[]);
    assert_eq!(control[17..21], [0x51, 0x2E, 0x43, 0xD9]);
    let b = batches(&control, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert!(b.is_control());
    assert_eq!(b.control_records().unwrap().count(), 0);
}

const ONE_RECORD: &str = "0000000000000000 00000046 00000000 02 547961fd 0000 00000000 \
     000001588dcd5938 0000000000000000 0000000000000000 0000 00000000 00000001 \
     28 00 0a 00 08 01020304 06 050607 02 06 08090a 04 0b0c";

fn sarama_record_section() -> BytesMut {
    let mut records = BytesMut::new();
    let header = Header::new(
        String::from_utf8(vec![8, 9, 10]).unwrap(),
        Some(&[0x0b, 0x0c][..]),
    );
    write_record(
        &mut records,
        0,
        5,
        Some(&[1, 2, 3, 4]),
        Some(&[5, 6, 7]),
        &[header],
    )
    .unwrap();
    records
}

#[test]
fn one_record_batch_is_byte_exact() {
    let expected = hex(ONE_RECORD);
    assert_eq!(expected.len(), 82);
    let batch = assemble(
        sarama_header(0, 1_479_847_795_000, 1),
        &sarama_record_section(),
    );
    assert_eq!(batch, expected);

    let b = batches(&expected, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert!(!b.is_decompressed());
    let recs: Vec<_> = b.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.timestamp, 1_479_847_795_005);
    assert_eq!(r.key, Some(&[1u8, 2, 3, 4][..]));
    assert_eq!(r.value, Some(&[5u8, 6, 7][..]));
    let hs: Vec<_> = r.headers.iter().collect();
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0].key, &[8u8, 9, 10][..]);
    assert_eq!(hs[0].value, Some(&[0x0bu8, 0x0c][..]));
    // Sequence 0 + delta 0 (Sarama writes producer fields as 0).
    assert_eq!(r.sequence, 0);
}

#[test]
fn sarama_lz4_batch_decodes() {
    let record = sarama_record_section();
    let mut section = hex("04224D18 6470B9 15000080");
    section.extend_from_slice(&record);
    section.extend_from_slice(&hex("00000000 0C3BEF92"));
    let batch = assemble(sarama_header(3, 1_479_847_795_000, 1), &section);
    assert_eq!(batch[8..12], 89i32.to_be_bytes());
    assert_eq!(batch[17..21], [0xA9, 0x4A, 0x77, 0xC5]);
    let b = batches(&batch, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.compression(), CompressionType::Lz4);
    assert_eq!(b.records_section(), &record[..]);
    let r = b.records().next().unwrap().unwrap();
    assert_eq!(r.value, Some(&[5u8, 6, 7][..]));
}

#[test]
fn sarama_raw_snappy_batch_decodes() {
    let record = sarama_record_section();
    assert_eq!(record.len(), 21);
    // Raw snappy: uncompressed length 21, then one literal of 21 bytes (tag (21-1)<<2).
    let mut section = vec![0x15, 0x50];
    section.extend_from_slice(&record);
    let batch = assemble(sarama_header(2, 1_479_847_795_000, 1), &section);
    assert_eq!(batch[8..12], 72i32.to_be_bytes());
    assert_eq!(batch[17..21], [0x15, 0x00, 0x9F, 0x61]);
    let b = batches(&batch, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.compression(), CompressionType::Snappy);
    let r = b.records().next().unwrap().unwrap();
    assert_eq!(r.key, Some(&[1u8, 2, 3, 4][..]));
}

#[test]
fn sarama_gzip_batch_attributes_and_length() {
    // The gzip vector's bytes depend on the gzip writer; check that ours round-trips the same
    // record section and that the attribute and CRC coverage rules hold.
    let record = sarama_record_section();
    let mut section = BytesMut::new();
    ferrokafka_records::compress(
        Compression::of(CompressionType::Gzip),
        &record,
        &mut section,
    )
    .unwrap();
    let batch = assemble(sarama_header(1, 1_479_847_795_000, 1), &section);
    assert_eq!(batch[21..23], [0x00, 0x01]);
    let b = batches(&batch, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.records_section(), &record[..]);
}

#[test]
fn builder_writes_java_defaults() {
    let mut b = BatchBuilder::new(Compression::NONE, 1024);
    b.append(1000, Some(b"k"), Some(b"v"), &[]).unwrap();
    b.append(990, None, None, &[]).unwrap();
    let closed = b.close(ProducerStamp::NONE).unwrap();
    let bytes = closed.bytes();
    assert_eq!(bytes[0..8], [0; 8]);
    assert_eq!(bytes[12..16], (-1i32).to_be_bytes());
    assert_eq!(bytes[16], 2);
    assert_eq!(bytes[23..27], 1i32.to_be_bytes());
    assert_eq!(bytes[27..35], 1000i64.to_be_bytes());
    assert_eq!(bytes[35..43], 1000i64.to_be_bytes());
    assert_eq!(
        bytes[43..61],
        hex("ffffffffffffffff ffff ffffffff 00000002")[..]
    );
    let b = batches(bytes, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    let ts: Vec<i64> = b.records().map(|r| r.unwrap().timestamp).collect();
    assert_eq!(ts, [1000, 990]);
}

#[test]
fn control_markers_are_recognised() {
    let mut section = BytesMut::new();
    let (key, value) = ControlRecord::marker_bytes(true, 7);
    write_record(&mut section, 0, 0, Some(&key), Some(&value), &[]).unwrap();
    let mut h = sarama_header(0x30, 5, 1);
    h.producer_id = 9;
    let batch = assemble(h, &section);
    let b = batches(&batch, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert!(b.is_control() && b.is_transactional());
    let marks: Vec<_> = b
        .control_records()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        marks,
        [ControlRecord {
            version: 0,
            kind: ControlRecordType::Commit,
            coordinator_epoch: Some(7)
        }]
    );
    // A data batch has no control records.
    let data = assemble(sarama_header(0, 0, 0), &[]);
    let b = batches(&data, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert!(b.control_records().is_none());
    // A malformed marker is an error, not a panic.
    let mut section = BytesMut::new();
    write_record(&mut section, 0, 0, Some(&[0, 0]), None, &[]).unwrap();
    let batch = assemble(sarama_header(0x20, 0, 1), &section);
    let b = batches(&batch, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert!(matches!(
        b.control_records().unwrap().next(),
        Some(Err(DecodeError::InvalidControlRecord(_)))
    ));
}

#[test]
fn log_append_time_reports_max_timestamp_and_sequences_wrap() {
    let mut section = BytesMut::new();
    write_record(&mut section, 0, 0, None, Some(b"a"), &[]).unwrap();
    write_record(&mut section, 1, 3, None, Some(b"b"), &[]).unwrap();
    let mut h = sarama_header(0x08, 100, 2);
    h.max_timestamp = 999;
    h.last_offset_delta = 1;
    h.base_offset = 50;
    h.base_sequence = i32::MAX;
    let batch = assemble(h, &section);
    let b = batches(&batch, DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        b.header().timestamp_type(),
        ferrokafka_records::TimestampType::LogAppendTime
    );
    let recs: Vec<_> = b.records().map(Result::unwrap).collect();
    assert_eq!(recs[0].timestamp, 999);
    assert_eq!(recs[1].timestamp, 999);
    assert_eq!(recs[1].timestamp_delta, 3);
    assert_eq!((recs[0].offset, recs[1].offset), (50, 51));
    // The sequence after i32::MAX is 0 (Java DefaultRecordBatch.incrementSequence).
    assert_eq!((recs[0].sequence, recs[1].sequence), (i32::MAX, 0));
}
