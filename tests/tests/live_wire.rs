//! Live wire tests: ApiVersions and Metadata with negotiated versions against
//! real peers nobody here wrote — the Tansu broker and librdkafka's mock cluster —
//! and version negotiation against a mock restricted to older versions.
//!
//! The client side is deliberately minimal (blocking std sockets, one request at
//! a time); it exercises `ferrokafka-wire` end to end: framing, headers,
//! correlation, the ApiVersions v0 fallback, negotiation and body decoding.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use ferrokafka_tests::tansu::Tansu;
use ferrokafka_wire::frame::{Correlator, DEFAULT_MAX_FRAME_SIZE, encode_request, split_frame};
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::{
    ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse, metadata,
};
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, ErrorCode, RequestBody, ResponseBody, SUPPORTED_APIS};
use rdkafka::mocking::MockCluster;
use rdkafka::types::RDKafkaApiKey;

/// One blocking connection speaking the Kafka protocol.
struct Conn {
    stream: TcpStream,
    correlator: Correlator<()>,
    rx: BytesMut,
}

impl Conn {
    fn connect(bootstrap: &str) -> Conn {
        let addr = bootstrap.split(',').next().expect("bootstrap address");
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            stream,
            correlator: Correlator::new(),
            rx: BytesMut::new(),
        }
    }

    /// Sends a request and returns the raw response frame (header included).
    fn exchange(&mut self, api: ApiKey, body: &RequestBody, version: i16) -> BytesMut {
        let id = self.correlator.register(api, version, true, ());
        let mut out = BytesMut::new();
        encode_request(&mut out, id, Some("ferrokafka-live-test"), body, version).unwrap();
        self.stream.write_all(&out).unwrap();
        loop {
            if let Some(frame) = split_frame(&mut self.rx, DEFAULT_MAX_FRAME_SIZE).unwrap() {
                return frame;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).expect("read response");
            assert!(n > 0, "broker closed the connection");
            self.rx.extend_from_slice(&chunk[..n]);
        }
    }

    fn request(&mut self, body: RequestBody, version: i16) -> ResponseBody {
        let frame = self.exchange(body.api_key(), &body, version);
        let matched = self
            .correlator
            .match_response(&frame)
            .unwrap_or_else(|e| panic!("matching response {:02x?}: {e}", &frame[..]));
        let (header, body) = matched.response.expect("response decodes");
        assert_eq!(header.correlation_id, matched_id(&frame));
        body
    }

    /// ApiVersions the way the Java client does it: our highest version first;
    /// on UNSUPPORTED_VERSION the broker answers with a v0 body listing its
    /// ApiVersions range, and we retry with its highest version.
    /// Returns the response and the version that succeeded.
    fn api_versions(&mut self) -> (ApiVersionsResponse, i16) {
        let req = ApiVersionsRequest {
            client_software_name: "ferrokafka".into(),
            client_software_version: "0.1.0".into(),
            ..Default::default()
        };
        let mut version = ApiVersionsRequest::MAX_VERSION;
        for _ in 0..2 {
            let ResponseBody::ApiVersions(resp) = self.request(req.clone().into(), version) else {
                panic!("expected an ApiVersions response");
            };
            if ErrorCode(resp.error_code) == ErrorCode::UNSUPPORTED_VERSION {
                // KIP-511: retry with the broker's highest ApiVersions version, or 0
                // when its answer did not say.
                version = resp
                    .range(ApiKey::API_VERSIONS)
                    .map_or(0, |(_, max)| max.min(ApiVersionsRequest::MAX_VERSION));
                continue;
            }
            assert_eq!(ErrorCode(resp.error_code), ErrorCode::NONE);
            return (resp, version);
        }
        panic!("ApiVersions did not succeed after the fallback");
    }

    fn metadata(&mut self, version: i16, topics: Option<&[&str]>) -> MetadataResponse {
        let req = MetadataRequest {
            topics: topics.map(|t| {
                t.iter()
                    .map(|name| metadata::MetadataRequestTopic {
                        name: Some((*name).to_owned()),
                        ..Default::default()
                    })
                    .collect()
            }),
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        match self.request(req.into(), version) {
            ResponseBody::Metadata(m) => m,
            other => panic!("expected Metadata, got {other:?}"),
        }
    }
}

fn matched_id(frame: &[u8]) -> i32 {
    i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]])
}

fn expected_version(broker: &ApiVersionsResponse, api: ApiKey, ours_max: i16) -> i16 {
    let (_, theirs) = broker.range(api).expect("broker supports the API");
    theirs.min(ours_max)
}

#[test]
fn tansu_api_versions_and_metadata_with_negotiated_versions() {
    let broker = Tansu::start().expect("start tansu");
    broker.create_topic("live-wire", 3).expect("create topic");

    let mut conn = Conn::connect(&broker.bootstrap());
    let (versions, used) = conn.api_versions();
    // Tansu advertises ApiVersions 0–4, so our v4 request is accepted directly.
    assert_eq!(used, 4);
    assert!(!versions.api_keys.is_empty());

    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions).expect("negotiate");
    let metadata_version = negotiated.version(ApiKey::METADATA).unwrap();
    assert_eq!(
        metadata_version,
        expected_version(&versions, ApiKey::METADATA, 13)
    );
    let produce_version = negotiated.version(ApiKey::PRODUCE).unwrap();
    assert_eq!(
        produce_version,
        expected_version(&versions, ApiKey::PRODUCE, 13)
    );

    let md = conn.metadata(metadata_version, Some(&["live-wire"]));
    assert_eq!(md.brokers.len(), 1, "{md:?}");
    let addr = format!("{}:{}", md.brokers[0].host, md.brokers[0].port);
    assert_eq!(addr, broker.bootstrap());
    let topic = md
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some("live-wire"))
        .expect("topic listed");
    assert_eq!(ErrorCode(topic.error_code), ErrorCode::NONE);
    let mut partitions: Vec<i32> = topic.partitions.iter().map(|p| p.partition_index).collect();
    partitions.sort_unstable();
    assert_eq!(partitions, vec![0, 1, 2]);
    assert!(
        topic
            .partitions
            .iter()
            .all(|p| p.leader_id == md.brokers[0].node_id)
    );

    // Every Metadata version the broker supports decodes.
    let (min, max) = versions.range(ApiKey::METADATA).unwrap();
    for v in min.max(0)..=max.min(13) {
        let md = conn.metadata(v, Some(&["live-wire"]));
        assert_eq!(md.topics.len(), 1, "Metadata v{v}");
    }
}

#[test]
fn mock_cluster_api_versions_fallback_and_metadata() {
    let mock = MockCluster::new(3).expect("mock cluster");
    mock.create_topic("live-wire", 4, 3).expect("create topic");
    let mut conn = Conn::connect(&mock.bootstrap_servers());

    let (versions, used) = conn.api_versions();
    let (_, mock_max) = versions.range(ApiKey::API_VERSIONS).unwrap();
    // The mock supports fewer ApiVersions versions than our 4, so the fallback ran:
    // its UNSUPPORTED_VERSION answer gives no usable range, and we retried with v0.
    assert!(mock_max < 4, "mock ApiVersions max {mock_max}");
    assert_eq!(used, 0, "fallback retried with version 0");

    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions).expect("negotiate");
    let metadata_version = negotiated.version(ApiKey::METADATA).unwrap();
    assert_eq!(
        metadata_version,
        expected_version(&versions, ApiKey::METADATA, 13)
    );

    let md = conn.metadata(metadata_version, Some(&["live-wire"]));
    assert_eq!(md.brokers.len(), 3);
    let topic = &md.topics[0];
    assert_eq!(topic.name.as_deref(), Some("live-wire"));
    assert_eq!(topic.partitions.len(), 4);
    for p in &topic.partitions {
        assert_eq!(p.replica_nodes.len(), 3, "replication factor 3");
        assert!(
            md.brokers.iter().any(|b| b.node_id == p.leader_id),
            "leader is a listed broker"
        );
    }
}

#[test]
fn restricted_mock_versions_make_negotiation_pick_older_versions() {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic("old", 1, 1).expect("create topic");
    mock.apiversion(RDKafkaApiKey::Metadata, Some(0), Some(4))
        .expect("restrict Metadata");
    mock.apiversion(RDKafkaApiKey::Produce, Some(0), Some(5))
        .expect("restrict Produce");

    let mut conn = Conn::connect(&mock.bootstrap_servers());
    let (versions, _) = conn.api_versions();
    assert_eq!(versions.range(ApiKey::METADATA), Some((0, 4)));

    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions).expect("negotiate");
    assert_eq!(negotiated.version(ApiKey::METADATA), Ok(4));
    assert_eq!(negotiated.version(ApiKey::PRODUCE), Ok(5));

    // Metadata v4 is not flexible: classic strings and arrays on the wire.
    let md = conn.metadata(4, Some(&["old"]));
    assert_eq!(md.topics[0].name.as_deref(), Some("old"));
    assert_eq!(md.topics[0].partitions.len(), 1);

    // Produce restricted below our minimum: a clear error naming both ranges.
    mock.apiversion(RDKafkaApiKey::Produce, Some(0), Some(2))
        .expect("restrict Produce");
    let mut conn = Conn::connect(&mock.bootstrap_servers());
    let (versions, _) = conn.api_versions();
    let err = Negotiated::new(SUPPORTED_APIS, &versions)
        .expect("negotiate")
        .version(ApiKey::PRODUCE)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no common version of Produce (key 0): this client supports 3..=13, the broker 0..=2"
    );
}
