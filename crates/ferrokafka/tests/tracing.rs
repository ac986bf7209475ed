//! The producer's `tracing` output for one send, captured on tokio's paused clock against the
//! in-memory fake: a span per connection (broker id, address) and per request (API, version,
//! correlation id), the connection's life and the producer id as events, INFO quiet in the
//! steady state, and nothing of the configuration's secrets.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer, Fault};
use ferrokafka_wire::{ApiKey, ErrorCode};
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("utf-8 output")
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn subscriber(out: &Captured, level: tracing::Level) -> impl tracing::Subscriber + use<> {
    tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_max_level(level)
        .with_ansi(false)
        .without_time()
        .finish()
}

const SECRET: &str = "hunter2-do-not-log";

/// One idempotent producer of the in-memory fake sends `values` to `t` and closes, with a
/// fault applied first; returns what the subscriber captured at `level`.
fn traced_run(level: tracing::Level, faults: Vec<Fault>, values: &[&str]) -> String {
    let out = Captured::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    // tracing-core computes a new callsite's interest with the registering thread's own
    // subscriber while only one dispatcher is registered: a callsite first hit by another test's
    // thread would be cached as "never" for this one too. A second registered dispatcher, alive
    // for the whole run, makes it ask every registered dispatcher instead.
    let _second_dispatcher = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::subscriber::with_default(subscriber(&out, level), || {
        // Callsites hit before this subscriber existed: recompute their interest.
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            let fake =
                FakeServer::in_memory(ClusterConfig::builder().brokers(1).topic("t", 1).build());
            for f in faults {
                fake.with_cluster(|c| c.inject(f));
            }
            let config = ProducerConfig::builder()
                .bootstrap_servers(fake.bootstrap())
                .transport(fake.transport())
                // Secrets the producer holds but never uses on a PLAINTEXT connection.
                .set("ssl.key.password", SECRET)
                .set("ssl.keystore.password", SECRET)
                .build()
                .expect("config");
            let producer = Producer::new(config).expect("producer");
            for v in values {
                let delivery = producer
                    .send(ProducerRecord::new("t").with_value((*v).to_owned()))
                    .await
                    .expect("send");
                delivery.await.expect("delivered");
            }
            producer.close(Duration::from_secs(5)).await;
        });
    });
    out.text()
}

#[test]
fn one_send_at_debug_shows_connection_and_request_spans_and_no_secret() {
    let text = traced_run(tracing::Level::TRACE, Vec::new(), &["v"]);
    assert!(!text.contains(SECRET), "a secret was logged:\n{text}");
    // The bootstrap connection and the broker's, each in its span.
    assert!(
        text.contains("kafka_connection{broker=-1 addr=broker-1.fake.invalid:9092"),
        "{text}"
    );
    assert!(
        text.contains("kafka_connection{broker=1 addr=broker-1.fake.invalid:9092"),
        "{text}"
    );
    for event in ["connecting", "API versions negotiated", "connection ready"] {
        assert!(text.contains(event), "no {event:?} event:\n{text}");
    }
    // Requests in their own spans, nested in their connection's, with API, version and
    // correlation id; the answer handled inside them.
    for api in ["ApiVersions", "Metadata", "InitProducerId", "Produce"] {
        let line = text
            .lines()
            .find(|l| {
                l.contains(&format!("kafka_request{{api={api} version="))
                    && l.contains("answer received")
            })
            .unwrap_or_else(|| panic!("no answered {api} request span:\n{text}"));
        assert!(line.contains("correlation_id="), "{line}");
        assert!(line.contains("kafka_connection{broker="), "{line}");
    }
    assert!(text.contains("producer id assigned"), "{text}");
}

#[test]
fn info_is_quiet_in_the_steady_state_and_retries_say_why() {
    let quiet = traced_run(tracing::Level::INFO, Vec::new(), &["a", "b", "c"]);
    // Only the producer id, once.
    let lines: Vec<&str> = quiet.lines().collect();
    assert_eq!(lines.len(), 1, "{quiet}");
    assert!(lines[0].contains("producer id assigned"), "{quiet}");

    let fault = Fault::fail(ApiKey::PRODUCE, &[ErrorCode::NOT_ENOUGH_REPLICAS]);
    let noisy = traced_run(tracing::Level::INFO, vec![fault], &["a"]);
    let retry = noisy
        .lines()
        .find(|l| l.contains("retrying a batch"))
        .unwrap_or_else(|| panic!("no retry event:\n{noisy}"));
    for field in [
        "topic=t",
        "partition=0",
        "error=NOT_ENOUGH_REPLICAS",
        "attempt=1",
    ] {
        assert!(retry.contains(field), "{field} missing: {retry}");
    }
    // At debug it is handled inside the span of the Produce request answered with the error.
    let fault = Fault::fail(ApiKey::PRODUCE, &[ErrorCode::NOT_ENOUGH_REPLICAS]);
    let debug = traced_run(tracing::Level::DEBUG, vec![fault], &["a"]);
    let retry = debug
        .lines()
        .find(|l| l.contains("retrying a batch"))
        .unwrap_or_else(|| panic!("no retry event:\n{debug}"));
    assert!(
        retry.contains("kafka_connection{broker=1") && retry.contains("kafka_request{api=Produce"),
        "{retry}"
    );
}
