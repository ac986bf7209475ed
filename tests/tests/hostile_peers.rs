//! A broken or hostile peer costs the user a clear error naming the broker and what went
//! wrong with it, within the configured bounds: never a hang, never a bare "topic not present".

use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_tests::hostile::{Behaviour, HostileBroker};
use ferrokafka_wire::ApiKey;

/// Sends one record to a producer bootstrapped at `broker` and returns the error text of the
/// send or of its delivery.
async fn first_error(broker: &HostileBroker, extra: &[(&str, &str)]) -> String {
    let boot = broker.bootstrap();
    let mut props = vec![
        ("bootstrap.servers", boot.as_str()),
        ("max.block.ms", "3000"),
        ("request.timeout.ms", "1500"),
        ("delivery.timeout.ms", "4000"),
        ("linger.ms", "0"),
        ("socket.connection.setup.timeout.ms", "1000"),
    ];
    props.extend_from_slice(extra);
    let config = ProducerConfig::from_properties(props).expect("config");
    let producer = Producer::new(config).expect("producer");
    let outcome = match producer
        .send(ProducerRecord::new("t").with_value("v"))
        .await
    {
        Ok(delivery) => match tokio::time::timeout(Duration::from_secs(60), delivery).await {
            Ok(Ok(md)) => panic!("a hostile broker acknowledged a record: {md:?}"),
            Ok(Err(e)) => e.to_string(),
            Err(elapsed) => panic!("the delivery future did not resolve: {elapsed}"),
        },
        Err(e) => e.to_string(),
    };
    producer.close(Duration::from_secs(5)).await;
    outcome
}

/// Asserts that `error` names the broker and contains every one of `causes`.
fn assert_names(error: &str, broker: &HostileBroker, causes: &[&str]) {
    assert!(
        error.contains(&broker.bootstrap()),
        "the error does not name the broker {}: {error}",
        broker.bootstrap()
    );
    for cause in causes {
        assert!(
            error.contains(cause),
            "the error does not say {cause:?}: {error}"
        );
    }
}

#[tokio::test]
async fn a_silent_broker_is_named_with_the_request_it_never_answered() {
    let broker = HostileBroker::start(Behaviour::Silent).unwrap();
    let e = first_error(&broker, &[]).await;
    assert_names(
        &e,
        &broker,
        &[
            "not present in metadata",
            "no answer to ApiVersions",
            "request.timeout.ms (1500 ms)",
        ],
    );
    assert!(broker.connections() >= 1);
}

#[tokio::test]
async fn garbage_is_named_as_an_out_of_step_answer() {
    let broker = HostileBroker::start(Behaviour::Garbage).unwrap();
    let e = first_error(&broker, &[]).await;
    assert_names(&e, &broker, &["answered out of step", "correlation id"]);
}

#[tokio::test]
async fn a_huge_length_prefix_is_named_with_the_frame_limit() {
    let broker = HostileBroker::start(Behaviour::HugeLength).unwrap();
    let e = first_error(&broker, &[]).await;
    assert_names(
        &e,
        &broker,
        &["bad frame", "frame of 2147483632 bytes exceeds the maximum"],
    );
}

#[tokio::test]
async fn a_wrong_correlation_id_is_named_with_both_ids() {
    let broker = HostileBroker::start(Behaviour::WrongCorrelation).unwrap();
    let e = first_error(&broker, &[]).await;
    assert_names(&e, &broker, &["correlation id 1000000, expected 0"]);
}

#[tokio::test]
async fn silence_on_metadata_is_named() {
    let broker = HostileBroker::start(Behaviour::SilentOn(ApiKey::METADATA)).unwrap();
    let e = first_error(&broker, &[]).await;
    assert_names(&e, &broker, &["no answer to Metadata v"]);
}

#[tokio::test]
async fn silence_on_init_producer_id_is_named_instead_of_zero_attempts() {
    let broker = HostileBroker::start(Behaviour::SilentOn(ApiKey::INIT_PRODUCER_ID)).unwrap();
    let e = first_error(&broker, &[]).await;
    assert_names(
        &e,
        &broker,
        &[
            "delivery.timeout.ms expired",
            "no producer id yet",
            "no answer to InitProducerId v",
        ],
    );
}

#[tokio::test]
async fn silence_on_produce_is_named() {
    let broker = HostileBroker::start(Behaviour::SilentOn(ApiKey::PRODUCE)).unwrap();
    let e = first_error(&broker, &[("enable.idempotence", "false"), ("acks", "1")]).await;
    assert_names(
        &e,
        &broker,
        &[
            "delivery.timeout.ms expired",
            "no answer to Produce v",
            // Sent and never answered: the record may be in the log.
            "the outcome is unknown",
        ],
    );
}

#[tokio::test]
async fn a_produce_answer_without_the_partition_says_so() {
    let broker = HostileBroker::start(Behaviour::ProduceWithoutPartitions).unwrap();
    let e = first_error(&broker, &[]).await;
    assert!(
        e.contains("the broker's Produce response did not mention this partition"),
        "{e}"
    );
}

#[tokio::test]
async fn a_topic_listed_with_zero_partitions_is_named_as_such() {
    let broker = HostileBroker::start(Behaviour::TopicsWithoutPartitions).unwrap();
    let e = first_error(&broker, &[]).await;
    assert!(e.contains("not present in metadata"), "{e}");
    assert!(
        e.contains("the cluster lists it with zero partitions"),
        "{e}"
    );
}
