//! The Apache Kafka harness itself: a shared single-node cluster answers Metadata, the Java helper
//! creates, describes and reads topics, and what librdkafka writes the Java consumer reads back
//! byte for byte (so later suites can trust both read-back paths).

use std::time::Duration;

use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_tests::kafka::{JavaHelper, Shared, shared};
use ferrokafka_tests::wire_client::WireClient;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn the_cluster_answers_metadata_with_its_node() {
    let kafka = shared(Shared::Single);
    let mut client = WireClient::connect(&kafka.bootstrap()).expect("connect");
    let (versions, _) = client.api_versions().expect("ApiVersions");
    assert!(!versions.api_keys.is_empty());
    let md = client.metadata(12, Some(&[])).expect("Metadata");
    let ids: Vec<i32> = md.brokers.iter().map(|b| b.node_id).collect();
    assert_eq!(ids, kafka.node_ids());
}

#[test]
fn the_java_helper_creates_describes_and_reads_topics() {
    let kafka = shared(Shared::Single);
    let topic = "harness-java-readback";
    kafka
        .create_topic(topic, 3, 1, &[("max.message.bytes", "100000")])
        .expect("create topic");
    let parts = JavaHelper::shared()
        .expect("helper")
        .describe(&kafka.bootstrap(), topic)
        .expect("describe");
    assert_eq!(parts.len(), 3);
    assert!(
        parts.iter().all(|p| p.leader == 1 && p.isr == vec![1]),
        "{parts:?}"
    );

    // librdkafka writes; both consumers read the same records back.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .create()
        .expect("producer");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..30u32 {
            let key = format!("k{i}");
            let value = if i == 7 { None } else { Some(format!("v{i}")) };
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "h",
                    value: Some("x"),
                })
                .insert(Header {
                    key: "null",
                    value: None::<&[u8]>,
                });
            let mut rec = FutureRecord::to(topic)
                .key(&key)
                .partition((i % 3) as i32)
                .headers(headers);
            if let Some(v) = &value {
                rec = rec.payload(v);
            }
            producer.send(rec, WAIT).await.expect("librdkafka delivery");
        }
    });
    let java = JavaHelper::shared()
        .expect("helper")
        .consume(
            &kafka.bootstrap(),
            topic,
            Isolation::ReadCommitted,
            30,
            WAIT,
        )
        .expect("java consume");
    let rdkafka = read_back(
        &kafka.bootstrap(),
        topic,
        30,
        WAIT,
        Isolation::ReadCommitted,
    )
    .expect("librdkafka consume");
    assert_eq!(java.len(), 30);
    assert_eq!(java, rdkafka);
    let seven = java
        .iter()
        .find(|r| r.key.as_deref() == Some(b"k7"))
        .unwrap();
    assert_eq!(seven.value, None);
    assert_eq!(
        seven.headers,
        vec![
            ("h".to_string(), Some(b"x".to_vec())),
            ("null".to_string(), None)
        ]
    );
}

#[test]
fn helper_errors_name_the_command() {
    let kafka = shared(Shared::Single);
    let err = JavaHelper::shared()
        .expect("helper")
        .describe(&kafka.bootstrap(), "no-such-topic-anywhere")
        .expect_err("unknown topic");
    let msg = err.to_string();
    assert!(msg.contains("describe"), "{msg}");
    assert!(msg.contains("UnknownTopicOrPartition"), "{msg}");
}
