//! Differential tests against an independent implementation, the `kafka-protocol` crate, in both
//! directions and for every codec: batches we write decode identically there, and batches it
//! writes decode identically here.
//!
//! kafka-protocol keeps headers in an `IndexMap`, so generated header names are unique here
//! (duplicates are covered by our own round-trip tests).

use bytes::Bytes;
use ferrokafka_records::{
    BatchBuilder, Compression, CompressionType, DecodeOptions, Header, ProducerStamp, Record,
    batches,
};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as KpCompression, Record as KpRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KpTimestampType,
};
use proptest::prelude::*;

fn kp_codec(c: CompressionType) -> KpCompression {
    match c {
        CompressionType::None => KpCompression::None,
        CompressionType::Gzip => KpCompression::Gzip,
        CompressionType::Snappy => KpCompression::Snappy,
        CompressionType::Lz4 => KpCompression::Lz4,
        CompressionType::Zstd => KpCompression::Zstd,
        _ => unreachable!("all codecs are listed"),
    }
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Bytes>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Bytes::new())),
        4 => proptest::collection::vec(any::<u8>(), 0..max).prop_map(|v| Some(Bytes::from(v))),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        prop_oneof![Just(0i64), 0i64..4_000_000_000_000, Just(i64::MAX / 2)],
        opt_bytes(32),
        opt_bytes(200),
        proptest::collection::btree_map("[a-z]{0,5}", opt_bytes(12), 0..4),
    )
        .prop_map(|(timestamp, key, value, headers)| Record {
            timestamp,
            key,
            value,
            headers: headers
                .into_iter()
                .map(|(key, value)| Header { key, value })
                .collect(),
        })
}

fn codec() -> impl Strategy<Value = CompressionType> {
    proptest::sample::select(CompressionType::ALL.to_vec())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Flat {
    offset: i64,
    sequence: i32,
    timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    transactional: bool,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(String, Option<Bytes>)>,
}

fn from_kp(r: &KpRecord) -> Flat {
    assert_eq!(r.timestamp_type, KpTimestampType::Creation);
    Flat {
        offset: r.offset,
        sequence: r.sequence,
        timestamp: r.timestamp,
        producer_id: r.producer_id,
        producer_epoch: r.producer_epoch,
        transactional: r.transactional,
        key: r.key.clone(),
        value: r.value.clone(),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

fn ours_flat(bytes: &[u8]) -> Vec<Flat> {
    let mut out = Vec::new();
    for batch in batches(bytes, DecodeOptions::default()) {
        let batch = batch.expect("our decoder accepts the batch");
        let h = *batch.header();
        for r in batch.records() {
            let r = r.expect("record decodes");
            out.push(Flat {
                offset: r.offset,
                sequence: r.sequence,
                timestamp: r.timestamp,
                producer_id: h.producer_id,
                producer_epoch: h.producer_epoch,
                transactional: h.is_transactional(),
                key: r.key.map(Bytes::copy_from_slice),
                value: r.value.map(Bytes::copy_from_slice),
                headers: r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.key_str().expect("utf-8").to_owned(),
                            h.value.map(Bytes::copy_from_slice),
                        )
                    })
                    .collect(),
            });
        }
    }
    out
}

/// One batch's worth: its records, a codec and a producer stamp.
fn batch_input() -> impl Strategy<Value = (Vec<Record>, CompressionType, ProducerStamp)> {
    let stamp = (0i64..1 << 40, 0i16..i16::MAX, 0i32..1 << 20, any::<bool>()).prop_map(
        |(producer_id, producer_epoch, base_sequence, transactional)| ProducerStamp {
            producer_id,
            producer_epoch,
            base_sequence,
            transactional,
        },
    );
    (proptest::collection::vec(record(), 1..12), codec(), stamp)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// We write, kafka-protocol reads.
    #[test]
    fn ours_decode_identically_in_kafka_protocol(
        (records, codec, stamp) in batch_input(),
    ) {
        let mut b = BatchBuilder::new(Compression::of(codec), 0);
        for r in &records {
            b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers).unwrap();
        }
        let closed = b.close(stamp).unwrap();
        let mut buf = closed.bytes().clone();
        let sets = RecordBatchDecoder::decode_all(&mut buf).expect("kafka-protocol decodes our batch");
        prop_assert_eq!(sets.len(), 1);
        prop_assert_eq!(sets[0].compression, kp_codec(codec));
        let theirs: Vec<Flat> = sets[0].records.iter().map(from_kp).collect();
        prop_assert_eq!(&theirs, &ours_flat(closed.bytes()));
        // And both equal the input.
        for (i, (t, r)) in theirs.iter().zip(&records).enumerate() {
            prop_assert_eq!(t.offset, i as i64);
            prop_assert_eq!(t.sequence, stamp.base_sequence + i as i32);
            prop_assert_eq!(t.timestamp, r.timestamp);
            prop_assert_eq!(&t.key, &r.key);
            prop_assert_eq!(&t.value, &r.value);
        }
    }

    /// kafka-protocol writes, we read.
    #[test]
    fn theirs_decode_identically_here(
        (records, codec, stamp) in batch_input(),
    ) {
        let kp: Vec<KpRecord> = records
            .iter()
            .enumerate()
            .map(|(i, r)| KpRecord {
                transactional: stamp.transactional,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: stamp.producer_id,
                producer_epoch: stamp.producer_epoch,
                timestamp_type: KpTimestampType::Creation,
                offset: i as i64,
                sequence: stamp.base_sequence + i as i32,
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|h| (StrBytes::from_string(h.key.clone()), h.value.clone()))
                    .collect::<IndexMap<_, _>>(),
            })
            .collect();
        let mut buf = bytes::BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &kp,
            &RecordEncodeOptions { version: 2, compression: kp_codec(codec) },
        )
        .expect("kafka-protocol encodes");
        let ours = ours_flat(&buf);
        let expected: Vec<Flat> = kp.iter().map(from_kp).collect();
        prop_assert_eq!(ours, expected);
        let batch = batches(&buf, DecodeOptions::default()).next().unwrap().unwrap();
        prop_assert_eq!(batch.compression(), codec);
    }
}
