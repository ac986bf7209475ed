//! The `ferrokafka-fake` binary: `--brokers 3 --topic orders:6` serves three brokers, prints
//! the bootstrap address first, and a client sees the topic with six partitions led across the
//! brokers; closing stdin stops it (`--exit-on-stdin-eof`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

#[test]
fn the_binary_serves_the_topics_it_was_given_and_prints_its_bootstrap() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokafka-fake"))
        .args([
            "--brokers",
            "3",
            "--topic",
            "orders:6",
            "--exit-on-stdin-eof",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ferrokafka-fake");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("a first line");
    let bootstrap = first
        .trim()
        .strip_prefix("bootstrap: ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_owned();
    assert_eq!(bootstrap.split(',').count(), 3, "{bootstrap}");

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("producer");
    let md = producer
        .client()
        .fetch_metadata(Some("orders"), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(md.brokers().len(), 3);
    let topic = &md.topics()[0];
    assert_eq!(topic.partitions().len(), 6);
    let leaders: std::collections::BTreeSet<i32> =
        topic.partitions().iter().map(|p| p.leader()).collect();
    assert_eq!(leaders.len(), 3, "leaders spread over the brokers");
    producer
        .send(
            BaseRecord::<(), _>::to("orders")
                .payload("hello")
                .partition(5),
        )
        .map_err(|(e, _)| e)
        .expect("send");
    producer.flush(Duration::from_secs(10)).expect("delivered");

    // The rest of its output names each broker.
    let mut rest = String::new();
    for _ in 0..3 {
        stdout.read_line(&mut rest).expect("a broker line");
    }
    assert_eq!(rest.matches("broker ").count(), 3, "{rest}");

    // Closing stdin stops it.
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "ferrokafka-fake did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}
