//! `Metrics::publish` (feature `metrics`): a snapshot handed to the `metrics` crate facade as
//! gauges, so its exporters see the Java-named metrics with their groups and tags. Driven on
//! the in-memory fake cluster with tokio's paused clock; the recorder is the `metrics-util`
//! debugging one.

use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

#[test]
fn a_published_snapshot_becomes_labelled_gauges() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let metrics = runtime.block_on(async {
        let fake = FakeServer::in_memory(ClusterConfig::builder().brokers(1).topic("t", 1).build());
        let config = ProducerConfig::builder()
            .bootstrap_servers(fake.bootstrap())
            .transport(fake.transport())
            .build()
            .expect("config");
        let producer = Producer::new(config).expect("producer");
        for i in 0..5 {
            producer
                .send(ProducerRecord::new("t").with_value(format!("v{i}")))
                .await
                .expect("send")
                .await
                .expect("delivered");
        }
        let m = producer.metrics();
        producer.close(Duration::from_secs(5)).await;
        m
    });
    metrics::with_local_recorder(&recorder, || metrics.publish("app-1"));

    type Gauge = (String, Vec<(String, String)>, f64);
    let gauges: Vec<Gauge> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Gauge(v) => {
                let labels = key
                    .key()
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                Some((key.key().name().to_owned(), labels, v.into_inner()))
            }
            _ => None,
        })
        .collect();
    let find = |name: &str, label: (&str, &str)| {
        gauges
            .iter()
            .find(|(n, labels, _)| {
                n == name
                    && labels.contains(&("client_id".to_owned(), "app-1".to_owned()))
                    && labels.contains(&(label.0.to_owned(), label.1.to_owned()))
            })
            .map_or_else(
                || panic!("no gauge {name} with {label:?} in {gauges:#?}"),
                |(_, _, v)| *v,
            )
    };
    assert_eq!(
        find(
            "kafka.producer.record-send-total",
            ("group", "producer-metrics")
        ),
        5.0
    );
    assert_eq!(
        find("kafka.producer.record-send-total", ("topic", "t")),
        5.0
    );
    assert!(find("kafka.producer.request-total", ("node_id", "node-1")) >= 5.0);
    assert_eq!(gauges.len(), metrics.all().len(), "one gauge per metric");
}
