//! Producer interceptors against the in-memory fake on tokio's paused clock: `on_send` may
//! replace a record (in the order interceptors were added), `on_acknowledgement` sees every
//! outcome once (before the record's callback, and for sends refused before queueing), `close`
//! runs once, and a failing or panicking interceptor never affects delivery.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferrokafka::interceptor::{InterceptorError, ProducerInterceptor};
use ferrokafka::{ProduceError, Producer, ProducerConfig, ProducerRecord, RecordMetadata};
use ferrokafka_fake::{ClusterConfig, FakeServer};

type Log = Arc<Mutex<Vec<String>>>;

/// Adds header `name` and logs what it sees.
struct Tagger {
    name: &'static str,
    log: Log,
}

impl ProducerInterceptor for Tagger {
    fn on_send(&self, record: &ProducerRecord) -> Result<Option<ProducerRecord>, InterceptorError> {
        let seen: Vec<&str> = record.headers().iter().map(|h| h.key.as_str()).collect();
        self.log
            .lock()
            .unwrap()
            .push(format!("{} on_send sees {seen:?}", self.name));
        Ok(Some(record.clone().with_header(self.name, Some("1"))))
    }

    fn on_acknowledgement(&self, outcome: Result<&RecordMetadata, &ProduceError>) {
        let what = match outcome {
            Ok(md) => format!("offset {:?}", md.offset()),
            Err(e) => format!("error {e}"),
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("{} ack {what}", self.name));
    }

    fn close(&self) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} close", self.name));
    }
}

/// Fails or panics everywhere.
struct Broken {
    panic: bool,
}

impl ProducerInterceptor for Broken {
    fn on_send(&self, _: &ProducerRecord) -> Result<Option<ProducerRecord>, InterceptorError> {
        assert!(!self.panic, "on_send panics");
        Err("on_send refuses".into())
    }

    fn on_acknowledgement(&self, _: Result<&RecordMetadata, &ProduceError>) {
        assert!(!self.panic, "on_acknowledgement panics");
    }

    fn close(&self) {
        assert!(!self.panic, "close panics");
    }
}

fn fake() -> FakeServer {
    FakeServer::in_memory(ClusterConfig::builder().brokers(1).topic("t", 1).build())
}

fn producer(
    fake: &FakeServer,
    interceptors: Vec<
        Box<dyn FnOnce(ferrokafka::ProducerConfigBuilder) -> ferrokafka::ProducerConfigBuilder>,
    >,
) -> Producer {
    let mut builder = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport());
    for add in interceptors {
        builder = add(builder);
    }
    Producer::new(builder.build().expect("config")).expect("producer")
}

fn stored_headers(fake: &FakeServer) -> Vec<(String, Vec<String>)> {
    fake.with_cluster(|c| c.records("t", 0))
        .into_iter()
        .map(|r| {
            let value = String::from_utf8(r.value.expect("a value").to_vec()).unwrap();
            let headers = r.headers.iter().map(|h| h.key.clone()).collect();
            (value, headers)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn interceptors_transform_in_order_and_see_every_outcome_before_the_callback() {
    let fake = fake();
    let log: Log = Arc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let p = producer(
        &fake,
        vec![
            Box::new(move |b| {
                b.interceptor(Tagger {
                    name: "first",
                    log: l1,
                })
            }),
            Box::new(move |b| {
                b.interceptor(Tagger {
                    name: "second",
                    log: l2,
                })
            }),
        ],
    );
    let md = p
        .send(ProducerRecord::new("t").with_value("a"))
        .await
        .expect("send")
        .await
        .expect("delivered");
    assert_eq!(md.offset(), Some(0));
    let cb_log = log.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    p.send_with_callback(ProducerRecord::new("t").with_value("b"), move |outcome| {
        cb_log
            .lock()
            .unwrap()
            .push(format!("callback offset {:?}", outcome.unwrap().offset()));
        let _ = tx.send(());
    })
    .await
    .expect("send");
    rx.await.expect("callback ran");
    // Refused before queueing (no such partition): the interceptors hear of it too.
    let refused = p
        .send(ProducerRecord::new("t").with_value("c").with_partition(7))
        .await;
    assert!(refused.is_err(), "partition 7 of a 1-partition topic");
    p.close(Duration::from_secs(5)).await;
    p.close(Duration::from_secs(5)).await;

    let log = log.lock().unwrap().clone();
    let refused_line = log
        .iter()
        .position(|l| l.starts_with("first ack error"))
        .expect("refusal acknowledged");
    assert!(
        log[refused_line + 1].starts_with("second ack error"),
        "{log:#?}"
    );
    let expected_start = vec![
        "first on_send sees []".to_owned(),
        "second on_send sees [\"first\"]".to_owned(),
        "first ack offset Some(0)".to_owned(),
        "second ack offset Some(0)".to_owned(),
        "first on_send sees []".to_owned(),
        "second on_send sees [\"first\"]".to_owned(),
        "first ack offset Some(1)".to_owned(),
        "second ack offset Some(1)".to_owned(),
        "callback offset Some(1)".to_owned(),
    ];
    assert_eq!(log[..9], expected_start[..], "{log:#?}");
    assert_eq!(
        log.iter()
            .filter(|l| l.ends_with("close"))
            .cloned()
            .collect::<Vec<_>>(),
        vec!["first close", "second close"],
        "closed once, in order"
    );
    assert_eq!(
        stored_headers(&fake),
        vec![
            (
                "a".to_owned(),
                vec!["first".to_owned(), "second".to_owned()]
            ),
            (
                "b".to_owned(),
                vec!["first".to_owned(), "second".to_owned()]
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_or_panicking_interceptor_never_affects_delivery() {
    let fake = fake();
    let log: Log = Arc::default();
    let l = log.clone();
    let p = producer(
        &fake,
        vec![
            Box::new(|b| b.interceptor(Broken { panic: false })),
            Box::new(|b| b.interceptor(Broken { panic: true })),
            Box::new(move |b| {
                b.interceptor(Tagger {
                    name: "after",
                    log: l,
                })
            }),
        ],
    );
    for v in ["x", "y"] {
        let md = p
            .send(ProducerRecord::new("t").with_value(Bytes::from(v)))
            .await
            .expect("send")
            .await
            .expect("delivered despite the broken interceptors");
        assert!(md.offset().is_some());
    }
    p.close(Duration::from_secs(5)).await;
    assert_eq!(
        stored_headers(&fake),
        vec![
            ("x".to_owned(), vec!["after".to_owned()]),
            ("y".to_owned(), vec!["after".to_owned()]),
        ],
        "the broken interceptors left the records as they were; the next one still ran"
    );
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("after ack offset"))
            .count(),
        2,
        "{log:#?}"
    );
    assert!(log.contains(&"after close".to_owned()), "{log:#?}");
}
