//! Smoke tests of the Tansu harness: install, start, connect, create a topic, stop.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use ferrokafka_tests::tansu::{self, Tansu};

/// An ApiVersions v0 request (header v1: api key 18, version 0, correlation id 7, client id "h").
/// Hand-encoded so that this smoke test depends on nothing but the harness.
const API_VERSIONS_V0: [u8; 15] = [
    0, 0, 0, 11, // size
    0, 18, // api key: ApiVersions
    0, 0, // api version 0
    0, 0, 0, 7, // correlation id
    0, 1, b'h', // client id
];

#[test]
fn binary_is_installed_and_pinned() {
    let bin = tansu::install().expect("install tansu");
    assert!(bin.is_file(), "{} is not a file", bin.display());
    assert_eq!(
        tansu::version_of(&bin).expect("tansu --version"),
        "tansu 0.6.0"
    );
}

#[test]
fn broker_starts_answers_and_stops() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    assert_eq!(bootstrap, format!("127.0.0.1:{}", broker.port()));

    // It speaks Kafka: an ApiVersions v0 request gets a response with our correlation id and
    // error code 0.
    let mut stream = TcpStream::connect(&bootstrap).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&API_VERSIONS_V0).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).expect("response size");
    let size = u32::from_be_bytes(size) as usize;
    assert!(
        (6..1 << 20).contains(&size),
        "implausible response size {size}"
    );
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body).expect("response body");
    assert_eq!(&body[..4], &7i32.to_be_bytes(), "correlation id");
    assert_eq!(&body[4..6], &0i16.to_be_bytes(), "error code");
    let _ = stream.shutdown(Shutdown::Both);

    let pid = broker.pid().expect("running broker has a pid");
    let log = broker.log_path().to_path_buf();
    drop(broker);
    // The process is gone (killed and reaped) and its log removed.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || !is_tansu(pid));
    assert!(!log.exists(), "log {} left behind", log.display());
    assert!(
        TcpStream::connect(&bootstrap).is_err(),
        "{bootstrap} still accepts connections"
    );
}

fn is_tansu(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "tansu")
}

#[test]
fn topics_can_be_created() {
    let broker = Tansu::start().expect("start tansu");
    broker
        .create_topic("harness-smoke", 4)
        .expect("create topic");
    // `tansu topic list` lists it.
    let out = std::process::Command::new(broker.binary())
        .args([
            "topic",
            "list",
            "--broker",
            &format!("tcp://{}", broker.bootstrap()),
        ])
        .output()
        .expect("tansu topic list");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "topic list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listed.contains("harness-smoke"),
        "topic not listed: {listed}"
    );
}

#[test]
fn brokers_run_side_by_side() {
    let a = Tansu::start().expect("start first");
    let b = Tansu::start().expect("start second");
    assert_ne!(a.port(), b.port());
    TcpStream::connect(a.bootstrap()).expect("connect first");
    TcpStream::connect(b.bootstrap()).expect("connect second");
}

#[test]
fn a_taken_port_is_refused() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().unwrap().port();
    let err = Tansu::start_on(port, false).expect_err("port is taken");
    assert!(
        matches!(err, ferrokafka_tests::HarnessError::PortInUse { port: p } if p == port),
        "{err}"
    );
}
