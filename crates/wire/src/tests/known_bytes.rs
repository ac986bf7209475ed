//! Hand-checked encodings, written out byte by byte from the protocol guide.

use bytes::BytesMut;

use crate::frame::{Correlator, decode_request, encode_request, split_frame};
use crate::message::Message;
use crate::messages::*;
use crate::{ApiKey, RequestBody, RequestHeader, ResponseBody};

#[test]
fn api_versions_v3_request_with_client_software() {
    let req = ApiVersionsRequest {
        client_software_name: "ferrokafka".into(),
        client_software_version: "0.1.0".into(),
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    encode_request(&mut buf, 1, Some("cli"), &req.clone().into(), 3).unwrap();
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0, 0, 0, 32,              // size
        0, 18, 0, 3,              // api key 18, version 3
        0, 0, 0, 1,               // correlation id
        0, 3, b'c', b'l', b'i',   // client id: classic string even in header v2
        0,                        // header tagged fields
        11, b'f', b'e', b'r', b'r', b'o', b'k', b'a', b'f', b'k', b'a', // compact "ferrokafka"
        6, b'0', b'.', b'1', b'.', b'0',   // compact "0.1.0"
        0,                        // body tagged fields
    ];
    assert_eq!(&buf[..], expected);
    let (header, body) = decode_request(&buf[4..]).unwrap();
    assert_eq!(header.client_id.as_deref(), Some("cli"));
    assert_eq!(body, RequestBody::ApiVersions(req));
}

#[test]
fn produce_v9_request_header_and_body() {
    let req = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![produce::TopicProduceData {
            name: "t".into(),
            partition_data: vec![produce::PartitionProduceData {
                index: 2,
                records: Some(bytes::Bytes::from_static(&[0xAA, 0xBB])),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    encode_request(&mut buf, 0x0102_0304, None, &req.clone().into(), 9).unwrap();
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0, 0, 0, 32,
        0, 0, 0, 9,               // Produce v9
        1, 2, 3, 4,               // correlation id
        0xff, 0xff,               // null client id
        0,                        // header tagged fields (v2)
        0,                        // compact nullable transactional id: null
        0xff, 0xff,               // acks -1
        0, 0, 0x75, 0x30,         // timeout 30000
        2,                        // one topic (compact: n+1)
        2, b't',                  // compact "t"
        2,                        // one partition
        0, 0, 0, 2,               // index 2
        3, 0xAA, 0xBB,            // compact records, 2 bytes
        0,                        // partition tagged fields
        0,                        // topic tagged fields
        0,                        // request tagged fields
    ];
    assert_eq!(&buf[..], expected);
    assert_eq!(req.body_len(9), expected.len() - 4 - 11);
}

#[test]
fn metadata_v0_request_lists_topics_classically() {
    let req = MetadataRequest {
        topics: Some(vec![metadata::MetadataRequestTopic {
            name: Some("ab".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    req.encode_body(&mut buf, 0).unwrap();
    assert_eq!(&buf[..], &[0, 0, 0, 1, 0, 2, b'a', b'b']);
}

#[test]
fn api_versions_response_v3_reads_finalized_features() {
    // error 0; one api key (Produce 3..11); throttle 0; tagged: tag 2 finalized
    // features [("transaction.version", max 2, min 0)].
    let mut body = vec![0, 0, 2, 0, 0, 0, 3, 0, 11, 0, 0, 0, 0, 0];
    let mut feature = vec![2, 20];
    feature.extend_from_slice(b"transaction.version");
    feature.extend_from_slice(&[0, 2, 0, 0, 0]);
    body.push(1); // one tagged field
    body.push(2); // tag 2
    body.push(feature.len() as u8);
    body.extend_from_slice(&feature);
    let resp = ApiVersionsResponse::decode_body(&body, 3).unwrap();
    assert_eq!(resp.range(ApiKey::PRODUCE), Some((3, 11)));
    assert!(resp.transactions_v2());
    assert_eq!(resp.finalized_level("transaction.version"), Some(2));
}

#[test]
fn api_versions_fallback_reads_a_v0_body() {
    // A broker that does not know v4 answers with a v0 body: UNSUPPORTED_VERSION
    // and its ApiVersions range.
    let body = [0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 2];
    let resp = crate::frame::decode_api_versions_response(&body, 4).unwrap();
    assert_eq!(resp.error_code, 35);
    assert_eq!(resp.range(ApiKey::API_VERSIONS), Some((0, 2)));
}

#[test]
fn api_versions_unparsable_unsupported_version_body_means_retry_with_v0() {
    // What librdkafka's mock cluster sends for an ApiVersions v4 request.
    let body = [
        0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    ];
    let resp = crate::frame::decode_api_versions_response(&body, 4).unwrap();
    assert_eq!(resp.error_code, 35);
    assert!(resp.api_keys.is_empty());
    // Any other error stays an error.
    assert!(crate::frame::decode_api_versions_response(&[0x00, 0x01, 0x01], 4).is_err());
}

#[test]
fn frames_split_and_correlate() {
    let mut corr: Correlator<&'static str> = Correlator::new();
    let id0 = corr.register(ApiKey::END_TXN, 3, true, "first");
    let id1 = corr.register(ApiKey::PRODUCE, 9, false, "acks0");
    let id2 = corr.register(ApiKey::END_TXN, 3, true, "second");
    assert_eq!((id0, id1, id2), (0, 1, 2));
    assert_eq!(corr.in_flight(), 2);

    let mut wire = BytesMut::new();
    for id in [id0, id2] {
        let resp = ResponseBody::EndTxn(EndTxnResponse {
            error_code: 0,
            ..Default::default()
        });
        crate::frame::encode_response(&mut wire, id, &resp, 3).unwrap();
    }
    // Feed one byte short: no frame yet.
    let mut partial = wire.split_to(wire.len() - 1);
    let first = split_frame(&mut partial, 1024).unwrap().unwrap();
    assert!(split_frame(&mut partial, 1024).unwrap().is_none());
    partial.unsplit(wire);
    let second = split_frame(&mut partial, 1024).unwrap().unwrap();
    assert!(partial.is_empty());

    assert_eq!(corr.match_response(&first).unwrap().context, "first");
    let m = corr.match_response(&second).unwrap();
    let (header, _) = m.response.unwrap();
    assert_eq!(
        (m.context, m.api_key, header.correlation_id),
        ("second", ApiKey::END_TXN, 2)
    );
    assert!(matches!(
        corr.match_response(&second),
        Err(crate::frame::CorrelationError::Unexpected(2))
    ));
}

#[test]
fn an_undecodable_answer_still_hands_back_its_context() {
    let mut corr: Correlator<&'static str> = Correlator::new();
    corr.register(ApiKey::METADATA, 12, true, "metadata");
    // Correlation id 0, then a header tag count claiming 5 tags with no bytes.
    let frame = [0, 0, 0, 0, 5];
    let m = corr.match_response(&frame).unwrap();
    assert_eq!(m.context, "metadata");
    assert!(m.response.is_err());
    assert_eq!(corr.in_flight(), 0);
    assert!(matches!(
        corr.match_response(&[0, 0]),
        Err(crate::frame::CorrelationError::Truncated(2))
    ));
}

#[test]
fn a_failed_encode_leaves_earlier_frames_intact() {
    let mut buf = BytesMut::from(&b"earlier"[..]);
    // Metadata v0 cannot carry a null topic list.
    let req = MetadataRequest {
        topics: None,
        ..Default::default()
    };
    assert!(encode_request(&mut buf, 1, None, &req.into(), 0).is_err());
    assert_eq!(&buf[..], b"earlier");
}

#[test]
fn unknown_tags_may_not_shadow_known_ones() {
    let mut resp = ProduceResponse::default();
    resp.unknown_tagged_fields
        .insert(0, bytes::Bytes::from_static(&[1, 2]));
    let err = resp.encode_body(&mut BytesMut::new(), 10).unwrap_err();
    assert_eq!(*err.kind(), crate::EncodeErrorKind::DuplicateTag(0));
    // Before v10 tag 0 is not known at the top level: it travels as an unknown tag.
    let mut buf = BytesMut::new();
    resp.encode_body(&mut buf, 9).unwrap();
    assert_eq!(ProduceResponse::decode_body(&buf, 9).unwrap(), resp);
}

#[test]
fn strings_longer_than_i16_max_are_refused_in_both_forms() {
    let long = "x".repeat(40_000);
    let req = MetadataRequest {
        topics: Some(vec![metadata::MetadataRequestTopic {
            name: Some(long),
            ..Default::default()
        }]),
        ..Default::default()
    };
    for version in [4, 12] {
        let err = req.encode_body(&mut BytesMut::new(), version).unwrap_err();
        assert_eq!(*err.kind(), crate::EncodeErrorKind::TooLong(40_000));
    }
}

#[test]
fn oversized_and_negative_frames_are_refused() {
    let mut buf = BytesMut::from(&[0x00, 0x10, 0x00, 0x00, 1, 2][..]);
    assert!(split_frame(&mut buf, 1024).is_err());
    let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
    assert!(split_frame(&mut buf, 1024).is_err());
}

#[test]
fn request_header_v0_has_no_client_id() {
    let h = RequestHeader::new(ApiKey::PRODUCE, 3, 5, Some("ignored".into()));
    let mut buf = BytesMut::new();
    h.encode(&mut buf, 0).unwrap();
    assert_eq!(&buf[..], &[0, 0, 0, 3, 0, 0, 0, 5]);
}
