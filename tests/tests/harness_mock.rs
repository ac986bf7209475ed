//! Smoke tests of the mock-cluster harness.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferrokafka_tests::mock::{mock_cluster, mock_cluster_with_topic, restrict_versions};
use rdkafka::types::RDKafkaApiKey;

#[test]
fn mock_cluster_gives_a_reachable_bootstrap_list() {
    let mock = mock_cluster(3).expect("mock cluster");
    let bootstrap = mock.bootstrap_servers();
    let addrs: Vec<&str> = bootstrap.split(',').collect();
    assert_eq!(addrs.len(), 3, "{bootstrap}");
    for addr in addrs {
        assert!(addr.starts_with("127.0.0.1:"), "not loopback: {addr}");
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    }
}

/// Sends a hand-encoded ApiVersions v0 request and returns the advertised
/// `(api_key, min, max)` triples.
fn advertised_versions(addr: &str) -> Vec<(i16, i16, i16)> {
    const REQUEST: [u8; 15] = [0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 9, 0, 1, b'h'];
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&REQUEST).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).unwrap();
    let i16_at = |at: usize| i16::from_be_bytes([body[at], body[at + 1]]);
    assert_eq!(&body[..4], &9i32.to_be_bytes(), "correlation id");
    assert_eq!(i16_at(4), 0, "error code");
    let count = i32::from_be_bytes(body[6..10].try_into().unwrap()) as usize;
    assert_eq!(
        body.len(),
        10 + count * 6,
        "v0 body: error code and the array, nothing after"
    );
    (0..count)
        .map(|n| {
            let at = 10 + n * 6;
            (i16_at(at), i16_at(at + 2), i16_at(at + 4))
        })
        .collect()
}

#[test]
fn topics_and_version_restrictions_take_effect() {
    let mock = mock_cluster_with_topic(1, "harness-mock", 4).expect("mock with topic");
    let before = advertised_versions(&mock.bootstrap_servers());
    let produce = |v: &[(i16, i16, i16)]| *v.iter().find(|e| e.0 == 0).expect("Produce listed");
    let metadata = |v: &[(i16, i16, i16)]| *v.iter().find(|e| e.0 == 3).expect("Metadata listed");
    assert!(
        produce(&before).2 > 5,
        "mock advertises Produce up to {}",
        produce(&before).2
    );

    restrict_versions(
        &mock,
        &[
            (RDKafkaApiKey::Produce, 0, 5),
            (RDKafkaApiKey::Metadata, 1, 4),
        ],
    )
    .expect("restrict versions");
    let after = advertised_versions(&mock.bootstrap_servers());
    assert_eq!(produce(&after), (0, 0, 5));
    assert_eq!(metadata(&after), (3, 1, 4));
}
