//! Fuzz entry points for `ferrokafka-fake`: whatever a client sends, the fake cluster never
//! panics, and every answer it writes is a valid frame that decodes as the answer to the
//! request's API and version.

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use ferrokafka_fake::{Cluster, ClusterConfig, ConnId, DEFAULT_API_VERSIONS};
use ferrokafka_wire::frame::decode_response;
use ferrokafka_wire::{ApiKey, RequestHeader};

use crate::Target;

const WALL: i64 = 1_700_000_000_000;

fn cluster() -> (Cluster, ConnId, Instant) {
    let mut c = Cluster::new(
        ClusterConfig::builder()
            .brokers(2)
            .topic("t", 2)
            .transactions_v2(true)
            .build(),
    );
    let conn = c.connect(1).expect("broker 1 is up");
    (c, conn, Instant::now())
}

/// Feeds `frame` and checks every answer decodes.
fn feed(c: &mut Cluster, conn: ConnId, frame: &[u8], now: Instant) {
    c.handle_frame(conn, frame, now, WALL);
    let Ok((api, version)) = RequestHeader::peek_api(frame) else {
        assert!(c.poll_transmit(conn, now).is_none(), "an answer to garbage");
        return;
    };
    // Far enough ahead for any delay the fake adds on its own (empty fetches).
    let later = now + Duration::from_secs(1);
    // Bounded: one request yields at most one answer.
    if let Some(answer) = c.poll_transmit(conn, later) {
        let body = answer.get(4..).expect("a size prefix");
        let version = if api == ApiKey::API_VERSIONS && version > 4 {
            0
        } else {
            version
        };
        decode_response(body, api, version).expect("the fake's answer decodes");
    }
}

/// A raw request frame (without size prefix).
pub fn request_frame(data: &[u8]) {
    let (mut c, conn, now) = cluster();
    feed(&mut c, conn, data, now);
}

/// A request body of a served API: byte 0 picks the API, byte 1 the version in its range, the
/// rest is the body, behind a valid header. Gets the fuzzer past header parsing into the
/// handlers.
pub fn request_body(data: &[u8]) {
    let [pick_api, pick_version, body @ ..] = data else {
        return;
    };
    let (api, lo, hi) = DEFAULT_API_VERSIONS[usize::from(*pick_api) % DEFAULT_API_VERSIONS.len()];
    let span = (hi - lo + 1) as u8;
    let version = lo + i16::from(*pick_version % span);
    let flexible = ferrokafka_wire::messages::is_flexible(api, version).unwrap_or(false);
    let header = RequestHeader::new(api, version, 7, Some("fuzz".to_owned()));
    let header_version = ferrokafka_wire::header::request_header_version(flexible);
    let mut frame = BytesMut::new();
    if header.encode(&mut frame, header_version).is_err() {
        return;
    }
    frame.put_slice(body);
    let (mut c, conn, now) = cluster();
    feed(&mut c, conn, &frame, now);
}

/// The fake cluster's fuzz targets.
pub const TARGETS: &[Target] = &[
    ("fake_request_frame", request_frame),
    ("fake_request_body", request_body),
];
