//! A record that times out without ever being sent says why (no more "delivery.timeout.ms
//! expired ... after 0 attempt(s)" alone): the partition has no known leader, or its leader
//! cannot be reached. On tokio's paused clock against the in-memory fake.

use std::time::Duration;

use ferrokafka::{ProduceError, Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer};

fn producer(bootstrap: String, transport: impl ferrokafka::transport::Transport) -> Producer {
    let config = ProducerConfig::builder()
        .bootstrap_servers(bootstrap)
        .transport(transport)
        .set("request.timeout.ms", "1000")
        .set("delivery.timeout.ms", "3000")
        .set("linger.ms", "0")
        .build()
        .expect("config");
    Producer::new(config).expect("producer")
}

async fn send(p: &Producer) -> Result<ferrokafka::RecordMetadata, ProduceError> {
    p.send(ProducerRecord::new("t").with_value("v"))
        .await?
        .await
}

#[tokio::test(start_paused = true)]
async fn a_partition_without_a_leader_is_named_as_the_reason() {
    // Four brokers: partition 0's replicas are 1, 2 and 3, all down; broker 4 answers Metadata.
    let fake = FakeServer::in_memory(ClusterConfig::builder().brokers(4).topic("t", 1).build());
    fake.with_cluster(|c| {
        for id in [1, 2, 3] {
            c.broker_down(id);
        }
    });
    assert_eq!(
        fake.with_cluster(|c| c.leader("t", 0)).map(|(id, _)| id),
        Some(-1)
    );
    let p = producer(fake.bootstrap(), fake.transport());
    let e = send(&p).await.expect_err("no leader");
    let text = e.to_string();
    assert!(text.contains("delivery.timeout.ms"), "{text}");
    assert!(text.contains("the partition has no known leader"), "{text}");
    assert!(!e.outcome_unknown(), "never sent: {text}");
    p.close(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_cannot_be_reached_is_named_as_the_reason() {
    // Broker 1 leads partition 0 but no connection to it gets through (a network partition);
    // broker 2 answers Metadata.
    let fake = FakeServer::in_memory(ClusterConfig::builder().brokers(2).topic("t", 1).build());
    assert_eq!(
        fake.with_cluster(|c| c.leader("t", 0)).map(|(id, _)| id),
        Some(1)
    );
    let inner = fake.transport();
    let transport = move |host: String, port: u16| {
        let refused = host.starts_with("broker-1.");
        let connecting = inner(host, port);
        async move {
            if refused {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "unreachable",
                ))
            } else {
                connecting.await
            }
        }
    };
    let p = producer("broker-2.fake.invalid:9092".to_owned(), transport);
    let e = send(&p).await.expect_err("the leader is unreachable");
    let text = e.to_string();
    assert!(text.contains("delivery.timeout.ms"), "{text}");
    assert!(
        text.contains("its leader (broker 1) could not be reached"),
        "{text}"
    );
    assert!(!e.outcome_unknown(), "never sent: {text}");
    p.close(Duration::from_secs(1)).await;
}
