//! Tests of [`LazyArray`](super::LazyArray): both forms, every read path, hostile input.

use bytes::BytesMut;

use crate::error::DecodeErrorKind;

use super::*;
use crate::message::Message;
use crate::messages::metadata::{
    MetadataResponse, MetadataResponsePartition, MetadataResponseTopic,
};

const FLEX: Ctx = Ctx {
    version: 12,
    flexible: true,
};

fn encode<W: Wire>(w: &W, ctx: Ctx) -> Vec<u8> {
    let mut buf = Vec::new();
    w.encode(&mut buf, ctx, false).unwrap();
    assert_eq!(buf.len(), w.encoded_len(ctx), "computed size");
    buf
}

fn decode<W: Wire>(bytes: &[u8], ctx: Ctx) -> W {
    let (rest, w) = W::decode(bytes, ctx, false).unwrap();
    assert!(rest.is_empty());
    w
}

fn partition(i: i32) -> MetadataResponsePartition {
    MetadataResponsePartition {
        partition_index: i,
        leader_id: i % 3,
        leader_epoch: i,
        replica_nodes: vec![0, 1, 2],
        isr_nodes: vec![i % 3],
        offline_replicas: vec![],
        ..Default::default()
    }
}

#[test]
fn decoded_arrays_keep_bytes_in_chunks_and_read_back_equal() {
    // 40,000 partitions of ~40 bytes: some two dozen chunks.
    let built: LazyArray<MetadataResponsePartition> = (0..40_000).map(partition).collect();
    assert!(!built.is_encoded());
    let bytes = encode(&built, FLEX);
    let lazy: LazyArray<MetadataResponsePartition> = decode(&bytes, FLEX);
    assert!(lazy.is_encoded());
    assert_eq!(lazy.len(), 40_000);
    let Repr::Encoded(e) = &lazy.repr else {
        panic!("kept encoded")
    };
    assert!(e.chunks.len() > 10);
    assert!(
        e.chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() < 2 * CHUNK)
    );
    // Equal whatever the form, and every way of reading gives the same elements.
    assert_eq!(lazy, built);
    assert_eq!(built, lazy);
    assert!(lazy.iter().map(|p| p.partition_index).eq(0..40_000));
    assert_eq!(lazy.iter().len(), 40_000);
    assert_eq!(lazy.to_vec(), built.as_slice());
    assert_eq!(lazy.clone().into_iter().len(), 40_000);
    assert!(
        lazy.clone()
            .into_iter()
            .map(|p| p.partition_index)
            .eq(0..40_000)
    );
    assert_eq!(lazy[39_999], partition(39_999));
    assert!(!lazy.is_encoded(), "indexing decoded the elements");
    assert_eq!(lazy.iter().nth(7).unwrap().as_ref(), &partition(7));
    assert_eq!(format!("{lazy:?}"), format!("{built:?}"));
    // The same bytes again, copied rather than re-encoded.
    assert_eq!(encode(&lazy, FLEX), bytes);
}

#[test]
fn kept_bytes_reencode_at_other_versions() {
    let built: LazyArray<MetadataResponsePartition> = (0..100).map(partition).collect();
    for (from, to) in [(12, 4), (4, 12), (12, 5), (7, 12), (9, 8)] {
        let ctx = |v: i16| MetadataResponse::ctx(v);
        let lazy: LazyArray<MetadataResponsePartition> =
            decode(&encode(&built, ctx(from)), ctx(from));
        assert!(lazy.is_encoded());
        let direct = encode(
            &built
                .iter()
                .map(|p| {
                    // What survives at the lower of the two versions.
                    let mut p = p.into_owned();
                    if from.min(to) < 7 {
                        p.leader_epoch = -1;
                    }
                    if from.min(to) < 5 {
                        p.offline_replicas = vec![];
                    }
                    p
                })
                .collect::<LazyArray<_>>(),
            ctx(to),
        );
        assert_eq!(encode(&lazy, ctx(to)), direct, "v{from} -> v{to}");
    }
}

#[test]
fn mutation_decodes_first() {
    let built: LazyArray<i32> = (0..10).collect();
    let mut lazy: LazyArray<i32> = decode(&encode(&built, FLEX), FLEX);
    lazy.push(10);
    assert!(!lazy.is_encoded());
    assert_eq!(lazy.into_vec(), (0..=10).collect::<Vec<_>>());
    let empty: LazyArray<i32> = decode(&[1], FLEX);
    assert!(empty.is_empty());
    assert_eq!(empty, LazyArray::default());
}

#[test]
fn consuming_iteration_frees_the_chunks_it_has_passed() {
    let built: LazyArray<i32> = (0..100_000).collect();
    let lazy: LazyArray<i32> = decode(&encode(&built, FLEX), FLEX);
    let mut it = lazy.into_iter();
    let IntoIterRepr::Encoded { chunks, .. } = &it.inner else {
        panic!("kept encoded")
    };
    let total = chunks.len();
    assert!(total > 4);
    // The first chunk's elements, and the first element of the next.
    let per_chunk = CHUNK / 4;
    for i in 0..=per_chunk {
        assert_eq!(it.next(), Some(i as i32));
    }
    let IntoIterRepr::Encoded {
        chunks, current, ..
    } = &it.inner
    else {
        panic!("kept encoded")
    };
    assert_eq!(
        chunks.len(),
        total - 2,
        "first chunk gone, second being read"
    );
    assert_eq!(current.len(), CHUNK - 4);
    assert_eq!(it.len(), 100_000 - per_chunk - 1);
    assert_eq!(it.last(), Some(99_999));
}

/// A Metadata v1 response: no brokers, controller 0, one topic "t" whose
/// partition array is `partitions` (count included).
fn metadata_v1(partitions: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, b't', 0];
    b.extend_from_slice(partitions);
    b
}

/// A v1 partition: no error, `index`, leader 0, replicas `[0]`, isr `[0]`.
fn partition_v1(index: i32) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&index.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    b
}

#[test]
fn malformed_elements_fail_at_decode_time() {
    // Well-formed: two partitions.
    let mut two = vec![0, 0, 0, 2];
    two.extend(partition_v1(0));
    two.extend(partition_v1(1));
    let ok = MetadataResponse::decode_body(&metadata_v1(&two), 1).unwrap();
    let parts = &ok.topics[0].partitions;
    assert!(parts.is_encoded());
    assert_eq!(
        parts.iter().map(|p| p.partition_index).collect::<Vec<_>>(),
        [0, 1]
    );

    // The second partition cut short: an error naming it, at decode time.
    for cut in 1..partition_v1(1).len() {
        let bytes = metadata_v1(&two[..two.len() - cut]);
        let err = MetadataResponse::decode_body(&bytes, 1).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                DecodeErrorKind::Truncated | DecodeErrorKind::InvalidLength(_)
            ),
            "{err}"
        );
        assert_eq!(
            err.location().unwrap().structure,
            "MetadataResponsePartition"
        );
        assert_eq!(err.message(), Some("MetadataResponse"));
    }

    // A replica count far beyond the bytes left.
    let mut bad = vec![0, 0, 0, 1];
    let mut p = partition_v1(0);
    p[10..14].copy_from_slice(&0x7fff_ffffi32.to_be_bytes());
    bad.extend(p);
    let err = MetadataResponse::decode_body(&metadata_v1(&bad), 1).unwrap_err();
    assert_eq!(*err.kind(), DecodeErrorKind::InvalidLength(0x7fff_ffff));
    let at = err.location().unwrap();
    assert_eq!(
        (at.structure, at.field),
        ("MetadataResponsePartition", "replica_nodes")
    );

    // A partition count far beyond the bytes left.
    let err =
        MetadataResponse::decode_body(&metadata_v1(&[0x7f, 0xff, 0xff, 0xff]), 1).unwrap_err();
    assert_eq!(*err.kind(), DecodeErrorKind::InvalidLength(0x7fff_ffff));
    let at = err.location().unwrap();
    assert_eq!(
        (at.structure, at.field),
        ("MetadataResponseTopic", "partitions")
    );

    // A topic count far beyond the bytes left (v12: compact count 2^28).
    let err = MetadataResponse::decode_body(
        &[
            0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0x80, 0x80, 0x80, 0x01,
        ],
        12,
    )
    .unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::InvalidLength(_)),
        "{err}"
    );
    assert_eq!(err.location().unwrap().field, "topics");
}

#[test]
fn flexible_truncations_fail_at_decode_time() {
    let topic = MetadataResponseTopic {
        name: Some("t".into()),
        partitions: (0..3).map(partition).collect(),
        ..Default::default()
    };
    let resp = MetadataResponse {
        topics: vec![topic].into(),
        ..Default::default()
    };
    for version in [9, 12, 13] {
        let mut buf = BytesMut::new();
        resp.encode_body(&mut buf, version).unwrap();
        assert_eq!(MetadataResponse::decode_body(&buf, version).unwrap(), resp);
        for cut in 0..buf.len() {
            assert!(MetadataResponse::decode_body(&buf[..cut], version).is_err());
        }
    }
}
