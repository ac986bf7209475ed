//! Live wire tests: ApiVersions and Metadata with negotiated versions against
//! real peers nobody here wrote — the Tansu broker and librdkafka's mock cluster —
//! and version negotiation against a mock restricted to older versions.
//!
//! The client side is the harness's minimal blocking `WireClient`; it exercises
//! `ferrokafka-wire` end to end: framing, headers, correlation, the ApiVersions
//! fallback, negotiation and body decoding.

use ferrokafka_tests::tansu::Tansu;
use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::messages::ApiVersionsResponse;
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, ErrorCode, SUPPORTED_APIS};
use rdkafka::mocking::MockCluster;
use rdkafka::types::RDKafkaApiKey;

fn expected_version(broker: &ApiVersionsResponse, api: ApiKey, ours_max: i16) -> i16 {
    let (_, theirs) = broker.range(api).expect("broker supports the API");
    theirs.min(ours_max)
}

#[test]
fn tansu_api_versions_and_metadata_with_negotiated_versions() {
    let broker = Tansu::start().expect("start tansu");
    broker.create_topic("live-wire", 3).expect("create topic");

    let mut conn = WireClient::connect(&broker.bootstrap()).expect("connect");
    let (versions, used) = conn.api_versions().expect("ApiVersions");
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

    let md = conn
        .metadata(metadata_version, Some(&["live-wire"]))
        .expect("Metadata");
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
        let md = conn.metadata(v, Some(&["live-wire"])).expect("Metadata");
        assert_eq!(md.topics.len(), 1, "Metadata v{v}");
    }
}

#[test]
fn mock_cluster_api_versions_fallback_and_metadata() {
    let mock = MockCluster::new(3).expect("mock cluster");
    mock.create_topic("live-wire", 4, 3).expect("create topic");
    let mut conn = WireClient::connect(&mock.bootstrap_servers()).expect("connect");

    let (versions, used) = conn.api_versions().expect("ApiVersions");
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

    let md = conn
        .metadata(metadata_version, Some(&["live-wire"]))
        .expect("Metadata");
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

    let mut conn = WireClient::connect(&mock.bootstrap_servers()).expect("connect");
    let (versions, _) = conn.api_versions().expect("ApiVersions");
    assert_eq!(versions.range(ApiKey::METADATA), Some((0, 4)));

    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions).expect("negotiate");
    assert_eq!(negotiated.version(ApiKey::METADATA), Ok(4));
    assert_eq!(negotiated.version(ApiKey::PRODUCE), Ok(5));

    // Metadata v4 is not flexible: classic strings and arrays on the wire.
    let md = conn.metadata(4, Some(&["old"])).expect("Metadata");
    assert_eq!(md.topics[0].name.as_deref(), Some("old"));
    assert_eq!(md.topics[0].partitions.len(), 1);

    // Produce restricted below our minimum: a clear error naming both ranges.
    mock.apiversion(RDKafkaApiKey::Produce, Some(0), Some(2))
        .expect("restrict Produce");
    let mut conn = WireClient::connect(&mock.bootstrap_servers()).expect("connect");
    let (versions, _) = conn.api_versions().expect("ApiVersions");
    let err = Negotiated::new(SUPPORTED_APIS, &versions)
        .expect("negotiate")
        .version(ApiKey::PRODUCE)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no common version of Produce (key 0): this client supports 3..=13, the broker 0..=2"
    );
}
