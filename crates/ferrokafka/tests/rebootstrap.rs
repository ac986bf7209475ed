//! Re-bootstrap (KIP-899, KIP-1102) on tokio's paused clock: the whole cluster behind the
//! bootstrap address is replaced (new broker ids, new advertised addresses) while a producer
//! runs. With `metadata.recovery.strategy=rebootstrap` (the default) it goes back to the
//! bootstrap address, finds the new cluster and delivers there; with `none` it keeps calling
//! the old brokers and its records time out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{ErrorKind, ProduceError, Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer, Fault};
use ferrokafka_wire::ApiKey;

const BOOTSTRAP_HOST: &str = "kafka.bootstrap.test";

/// Two clusters; the bootstrap address leads to whichever is current.
#[derive(Clone)]
struct Site {
    old: Arc<FakeServer>,
    new: Arc<FakeServer>,
    /// The bootstrap address leads to the new cluster.
    replaced: Arc<Mutex<bool>>,
    /// The old brokers refuse connections.
    old_gone: Arc<Mutex<bool>>,
}

impl Site {
    fn new() -> Self {
        let cluster = |ids: &[i32]| {
            Arc::new(FakeServer::in_memory(
                ClusterConfig::builder()
                    .broker_ids(ids)
                    .topic("t", 3)
                    .build(),
            ))
        };
        Site {
            old: cluster(&[1, 2, 3]),
            new: cluster(&[11, 12, 13]),
            replaced: Arc::default(),
            old_gone: Arc::default(),
        }
    }

    fn connect(&self, host: &str, port: u16) -> std::io::Result<tokio::io::DuplexStream> {
        let replaced = *self.replaced.lock().unwrap();
        if host == BOOTSTRAP_HOST {
            return if replaced {
                self.new.connect_in_memory("broker-11.fake.invalid", 9092)
            } else {
                self.old.connect_in_memory("broker-1.fake.invalid", 9092)
            };
        }
        let new_broker = ["broker-11", "broker-12", "broker-13"]
            .iter()
            .any(|b| host.starts_with(b));
        let old_gone = *self.old_gone.lock().unwrap();
        match (new_broker, old_gone) {
            (true, _) => self.new.connect_in_memory(host, port),
            (false, false) => self.old.connect_in_memory(host, port),
            (false, true) => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "the old cluster is gone",
            )),
        }
    }

    /// Replaces the cluster: the old brokers go away, the bootstrap address leads to the new.
    fn replace(&self) {
        *self.replaced.lock().unwrap() = true;
        *self.old_gone.lock().unwrap() = true;
        self.old.with_cluster(|c| {
            for id in [1, 2, 3] {
                c.broker_down(id);
            }
        });
    }

    /// Replaces the cluster behind the bootstrap address, but the old brokers stay reachable
    /// and hang on every Produce and Metadata request (a cluster being torn down).
    fn replace_leaving_hung_brokers(&self) {
        *self.replaced.lock().unwrap() = true;
        self.old.with_cluster(|c| {
            c.inject(Fault::hang(ApiKey::PRODUCE).times(1000));
            c.inject(Fault::hang(ApiKey::METADATA).times(1000));
        });
    }

    fn producer(&self, strategy: &str) -> Producer {
        self.producer_with(&[("metadata.recovery.strategy", strategy)])
    }

    fn producer_with(&self, settings: &[(&str, &str)]) -> Producer {
        let site = self.clone();
        let mut builder = ProducerConfig::builder()
            .bootstrap_servers(format!("{BOOTSTRAP_HOST}:9092"))
            .transport(move |host: String, port: u16| std::future::ready(site.connect(&host, port)))
            .set("delivery.timeout.ms", "60000");
        for (k, v) in settings {
            builder = builder.set(k, v);
        }
        Producer::new(builder.build().expect("config")).expect("producer")
    }
}

async fn send(p: &Producer, value: &str) -> Result<ferrokafka::RecordMetadata, ProduceError> {
    p.send(ProducerRecord::new("t").with_value(value.to_owned()))
        .await?
        .await
}

fn values(fake: &FakeServer) -> Vec<String> {
    fake.with_cluster(|c| {
        (0..3)
            .flat_map(|p| c.records("t", p))
            .map(|r| String::from_utf8(r.value.expect("a value").to_vec()).unwrap())
            .collect()
    })
}

#[tokio::test(start_paused = true)]
async fn a_replaced_cluster_is_found_again_through_the_bootstrap_address() {
    let site = Site::new();
    let p = site.producer("rebootstrap");
    send(&p, "before")
        .await
        .expect("delivered to the old cluster");
    assert_eq!(values(&site.old), vec!["before"]);

    site.replace();
    let md = send(&p, "after")
        .await
        .expect("delivered to the new cluster");
    assert_eq!(values(&site.new), vec!["after"]);
    assert_eq!(md.offset(), Some(0));
    p.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn without_rebootstrap_the_producer_keeps_calling_the_old_brokers() {
    let site = Site::new();
    let p = site.producer("none");
    send(&p, "before")
        .await
        .expect("delivered to the old cluster");
    site.replace();
    let err = send(&p, "after")
        .await
        .expect_err("the old brokers are gone");
    assert!(
        err.kind() == ErrorKind::DeliveryTimeout && err.to_string().contains("delivery.timeout.ms"),
        "{err}"
    );
    assert!(values(&site.new).is_empty());
    p.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn brokers_that_stop_answering_metadata_trigger_a_rebootstrap_after_the_trigger_time() {
    let site = Site::new();
    let p = site.producer_with(&[
        ("request.timeout.ms", "3000"),
        ("metadata.recovery.rebootstrap.trigger.ms", "10000"),
    ]);
    send(&p, "before")
        .await
        .expect("delivered to the old cluster");
    site.replace_leaving_hung_brokers();
    let start = tokio::time::Instant::now();
    send(&p, "after")
        .await
        .expect("delivered to the new cluster");
    let took = start.elapsed();
    assert_eq!(values(&site.new), vec!["after"]);
    assert!(
        took >= Duration::from_secs(10),
        "the old brokers stay reachable: only the trigger (10 s of no metadata) rebootstraps, \
         after {took:?}"
    );
    p.close(Duration::from_secs(5)).await;
}
