//! `connections.max.idle.ms` on tokio's paused clock against the in-memory fake: a connection
//! with nothing in flight for that long is closed (counted in `connection-close-total`) and
//! reopened by the next request; a connection in use is never closed for idleness.

use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer};

fn one_broker() -> FakeServer {
    FakeServer::in_memory(ClusterConfig::builder().brokers(1).topic("t", 1).build())
}

fn producer(fake: &FakeServer, idle_ms: Option<&str>) -> Producer {
    let mut builder = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport());
    if let Some(ms) = idle_ms {
        builder = builder.set("connections.max.idle.ms", ms);
    }
    Producer::new(builder.build().expect("config")).expect("producer")
}

async fn send(p: &Producer, value: &str) -> i64 {
    p.send(ProducerRecord::new("t").with_value(value.to_owned()))
        .await
        .expect("send")
        .await
        .expect("delivered")
        .offset()
        .expect("an offset")
}

fn metric(p: &Producer, name: &str) -> f64 {
    p.metrics()
        .get(name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn open_at_fake(fake: &FakeServer) -> usize {
    fake.with_cluster(|c| c.connections().len())
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_and_reopened_by_the_next_request() {
    let fake = one_broker();
    let p = producer(&fake, Some("1000"));
    assert_eq!(send(&p, "a").await, 0);
    assert!(open_at_fake(&fake) >= 1);
    assert_eq!(metric(&p, "connection-close-total"), 0.0);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(open_at_fake(&fake), 0, "every idle connection is closed");
    assert_eq!(metric(&p, "connection-count"), 0.0);
    let closed = metric(&p, "connection-close-total");
    assert!(closed >= 1.0, "connection-close-total {closed}");

    let created = metric(&p, "connection-creation-total");
    assert_eq!(
        send(&p, "b").await,
        1,
        "the next record goes out on a new connection"
    );
    assert!(metric(&p, "connection-creation-total") > created);
    assert_eq!(metric(&p, "connection-count"), 1.0);
    p.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_in_use_is_not_closed_and_the_default_is_nine_minutes() {
    let fake = one_broker();
    let busy = producer(&fake, Some("1000"));
    // A record every 600 ms for 6 s: never 1 s without a request.
    for i in 0..10 {
        send(&busy, &format!("v{i}")).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    // The bootstrap connection, unused after the first Metadata answer, was closed; the
    // broker's connection, used every 600 ms, never was (no connection opened since).
    assert_eq!(metric(&busy, "connection-creation-total"), 2.0);
    assert_eq!(metric(&busy, "connection-close-total"), 1.0);
    assert_eq!(metric(&busy, "connection-count"), 1.0);
    busy.close(Duration::from_secs(5)).await;

    let fake2 = one_broker();
    let default = producer(&fake2, None);
    send(&default, "a").await;
    tokio::time::sleep(Duration::from_secs(8 * 60)).await;
    assert_eq!(
        metric(&default, "connection-close-total"),
        0.0,
        "open after 8 minutes"
    );
    // Metadata refreshes (metadata.max.age.ms, 5 minutes) keep one connection busy; the other
    // one (the bootstrap connection) has been idle for over nine minutes by now.
    tokio::time::sleep(Duration::from_secs(12 * 60)).await;
    assert!(
        metric(&default, "connection-close-total") >= 1.0,
        "an unused connection is closed after 540000 ms"
    );
    default.close(Duration::from_secs(5)).await;
}
