//! Fuzz entry points for `ferrokafka-wire`: the frame splitter with header and
//! body decoding, and every request and response body at every version.
//!
//! Body targets use the first input byte to pick the version and decode the rest.
//! Whatever decodes must re-encode, and the re-encoding must decode to the same
//! value (the bytes may differ: varints and tagged fields have several spellings).

use bytes::BytesMut;
use ferrokafka_wire::SUPPORTED_APIS;
use ferrokafka_wire::frame::{Correlator, decode_request, split_frame};
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::*;

use crate::Target;

/// Decodes `data[1..]` as `T` at the version picked by `data[0]`; anything that
/// decodes must survive encode → decode unchanged.
fn body<T: Message>(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let span = (T::MAX_VERSION - T::MIN_VERSION + 1) as u8;
    let version = T::MIN_VERSION + i16::from(pick % span);
    if let Ok(msg) = T::decode_body(rest, version) {
        let mut buf = BytesMut::new();
        msg.encode_body(&mut buf, version)
            .expect("a decoded message re-encodes at its version");
        assert_eq!(buf.len(), msg.body_len(version), "computed size");
        let again = T::decode_body(&buf, version).expect("re-encoded bytes decode");
        assert_eq!(again, msg, "decode(encode(m)) == m");
    }
}

/// Splits frames (1 MiB limit) and decodes each as a request, and as the
/// response to an API and version picked by the first two input bytes.
pub fn frame(data: &[u8]) {
    let [a, v, rest @ ..] = data else {
        return;
    };
    let (api, min, max) = SUPPORTED_APIS[usize::from(*a) % SUPPORTED_APIS.len()];
    let version = min + (i16::from(*v) % (max - min + 1));
    let mut buf = BytesMut::from(rest);
    let mut correlator: Correlator<()> = Correlator::new();
    // Bounded: at most 64 frames per input.
    for _ in 0..64 {
        let Ok(Some(frame)) = split_frame(&mut buf, 1 << 20) else {
            break;
        };
        let _ = decode_request(&frame);
        // Responses carry correlation ids 0, 1, 2, … in order; anything else is refused.
        correlator.register(api, version, true, ());
        if let Ok(matched) = correlator.match_response(&frame) {
            let _ = matched.response;
        }
    }
}

/// Fuzzes `ApiVersionsRequest` at every version.
pub fn request_api_versions(data: &[u8]) {
    body::<ApiVersionsRequest>(data);
}

/// Fuzzes `ApiVersionsResponse` at every version.
pub fn response_api_versions(data: &[u8]) {
    body::<ApiVersionsResponse>(data);
}

/// Fuzzes `MetadataRequest` at every version.
pub fn request_metadata(data: &[u8]) {
    body::<MetadataRequest>(data);
}

/// Fuzzes `MetadataResponse` at every version.
pub fn response_metadata(data: &[u8]) {
    body::<MetadataResponse>(data);
}

/// Fuzzes `ProduceRequest` at every version.
pub fn request_produce(data: &[u8]) {
    body::<ProduceRequest>(data);
}

/// Fuzzes `ProduceResponse` at every version.
pub fn response_produce(data: &[u8]) {
    body::<ProduceResponse>(data);
}

/// Fuzzes `InitProducerIdRequest` at every version.
pub fn request_init_producer_id(data: &[u8]) {
    body::<InitProducerIdRequest>(data);
}

/// Fuzzes `InitProducerIdResponse` at every version.
pub fn response_init_producer_id(data: &[u8]) {
    body::<InitProducerIdResponse>(data);
}

/// Fuzzes `FindCoordinatorRequest` at every version.
pub fn request_find_coordinator(data: &[u8]) {
    body::<FindCoordinatorRequest>(data);
}

/// Fuzzes `FindCoordinatorResponse` at every version.
pub fn response_find_coordinator(data: &[u8]) {
    body::<FindCoordinatorResponse>(data);
}

/// Fuzzes `AddPartitionsToTxnRequest` at every version.
pub fn request_add_partitions_to_txn(data: &[u8]) {
    body::<AddPartitionsToTxnRequest>(data);
}

/// Fuzzes `AddPartitionsToTxnResponse` at every version.
pub fn response_add_partitions_to_txn(data: &[u8]) {
    body::<AddPartitionsToTxnResponse>(data);
}

/// Fuzzes `AddOffsetsToTxnRequest` at every version.
pub fn request_add_offsets_to_txn(data: &[u8]) {
    body::<AddOffsetsToTxnRequest>(data);
}

/// Fuzzes `AddOffsetsToTxnResponse` at every version.
pub fn response_add_offsets_to_txn(data: &[u8]) {
    body::<AddOffsetsToTxnResponse>(data);
}

/// Fuzzes `EndTxnRequest` at every version.
pub fn request_end_txn(data: &[u8]) {
    body::<EndTxnRequest>(data);
}

/// Fuzzes `EndTxnResponse` at every version.
pub fn response_end_txn(data: &[u8]) {
    body::<EndTxnResponse>(data);
}

/// Fuzzes `TxnOffsetCommitRequest` at every version.
pub fn request_txn_offset_commit(data: &[u8]) {
    body::<TxnOffsetCommitRequest>(data);
}

/// Fuzzes `TxnOffsetCommitResponse` at every version.
pub fn response_txn_offset_commit(data: &[u8]) {
    body::<TxnOffsetCommitResponse>(data);
}

/// Fuzzes `SaslHandshakeRequest` at every version.
pub fn request_sasl_handshake(data: &[u8]) {
    body::<SaslHandshakeRequest>(data);
}

/// Fuzzes `SaslHandshakeResponse` at every version.
pub fn response_sasl_handshake(data: &[u8]) {
    body::<SaslHandshakeResponse>(data);
}

/// Fuzzes `SaslAuthenticateRequest` at every version.
pub fn request_sasl_authenticate(data: &[u8]) {
    body::<SaslAuthenticateRequest>(data);
}

/// Fuzzes `SaslAuthenticateResponse` at every version.
pub fn response_sasl_authenticate(data: &[u8]) {
    body::<SaslAuthenticateResponse>(data);
}

/// Fuzzes `CreateTopicsRequest` at every version.
pub fn request_create_topics(data: &[u8]) {
    body::<CreateTopicsRequest>(data);
}

/// Fuzzes `CreateTopicsResponse` at every version.
pub fn response_create_topics(data: &[u8]) {
    body::<CreateTopicsResponse>(data);
}

/// Fuzzes `FetchRequest` at every version.
pub fn request_fetch(data: &[u8]) {
    body::<FetchRequest>(data);
}

/// Fuzzes `FetchResponse` at every version.
pub fn response_fetch(data: &[u8]) {
    body::<FetchResponse>(data);
}

/// Fuzzes `ListOffsetsRequest` at every version.
pub fn request_list_offsets(data: &[u8]) {
    body::<ListOffsetsRequest>(data);
}

/// Fuzzes `ListOffsetsResponse` at every version.
pub fn response_list_offsets(data: &[u8]) {
    body::<ListOffsetsResponse>(data);
}

/// Fuzzes `OffsetFetchRequest` at every version.
pub fn request_offset_fetch(data: &[u8]) {
    body::<OffsetFetchRequest>(data);
}

/// Fuzzes `OffsetFetchResponse` at every version.
pub fn response_offset_fetch(data: &[u8]) {
    body::<OffsetFetchResponse>(data);
}

/// The wire crate's fuzz targets.
pub const TARGETS: &[Target] = &[
    ("wire_frame", frame),
    ("wire_request_api_versions", request_api_versions),
    ("wire_response_api_versions", response_api_versions),
    ("wire_request_metadata", request_metadata),
    ("wire_response_metadata", response_metadata),
    ("wire_request_produce", request_produce),
    ("wire_response_produce", response_produce),
    ("wire_request_init_producer_id", request_init_producer_id),
    ("wire_response_init_producer_id", response_init_producer_id),
    ("wire_request_find_coordinator", request_find_coordinator),
    ("wire_response_find_coordinator", response_find_coordinator),
    (
        "wire_request_add_partitions_to_txn",
        request_add_partitions_to_txn,
    ),
    (
        "wire_response_add_partitions_to_txn",
        response_add_partitions_to_txn,
    ),
    (
        "wire_request_add_offsets_to_txn",
        request_add_offsets_to_txn,
    ),
    (
        "wire_response_add_offsets_to_txn",
        response_add_offsets_to_txn,
    ),
    ("wire_request_end_txn", request_end_txn),
    ("wire_response_end_txn", response_end_txn),
    ("wire_request_txn_offset_commit", request_txn_offset_commit),
    (
        "wire_response_txn_offset_commit",
        response_txn_offset_commit,
    ),
    ("wire_request_sasl_handshake", request_sasl_handshake),
    ("wire_response_sasl_handshake", response_sasl_handshake),
    ("wire_request_sasl_authenticate", request_sasl_authenticate),
    (
        "wire_response_sasl_authenticate",
        response_sasl_authenticate,
    ),
    ("wire_request_create_topics", request_create_topics),
    ("wire_response_create_topics", response_create_topics),
    ("wire_request_fetch", request_fetch),
    ("wire_response_fetch", response_fetch),
    ("wire_request_list_offsets", request_list_offsets),
    ("wire_response_list_offsets", response_list_offsets),
    ("wire_request_offset_fetch", request_offset_fetch),
    ("wire_response_offset_fetch", response_offset_fetch),
];
