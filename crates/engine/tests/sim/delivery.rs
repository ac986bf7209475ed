//! Delivery: ordering, partitioning, retries, timeouts, acks=0, idempotent sequences, splits,
//! version fallback, throttling and close.

use crate::*;

#[test]
fn records_are_delivered_with_offsets_in_order() {
    let mut sim = Sim::new(config(), brokers(3).topic("t", 3));
    let mut sent: HashMap<i32, Vec<String>> = HashMap::new();
    let mut handles = Vec::new();
    for i in 0..300u32 {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        let (batch, index, p) = sim.append("t", Some(key.as_bytes()), value.as_bytes());
        sent.entry(p).or_default().push(value.clone());
        handles.push((batch, index, p, value));
        if i % 50 == 0 {
            sim.tick(ms(2));
        }
    }
    sim.run_for(ms(50));
    assert!(sim.failed().is_empty(), "{:?}", sim.failed());
    for p in 0..3 {
        let want = sent.get(&p).cloned().unwrap_or_default();
        assert_eq!(sim.values("t", p), want);
    }
    // Each record's offset (base + index) holds its own value in the log.
    let delivered = sim.delivered();
    let logs: Vec<_> = (0..3).map(|p| sim.net.cluster.records("t", p)).collect();
    for (batch, index, p, value) in handles {
        let offset = delivered[&batch].expect("acks=all returns offsets") + i64::from(index);
        let rec = logs[p as usize].iter().find(|r| r.offset == offset);
        assert_eq!(rec.and_then(|r| r.value.as_deref()), Some(value.as_bytes()));
    }
    assert!(!sim.net.engine.has_incomplete());
    // Versions were negotiated first on every connection.
    assert!(sim.served(ApiKey::API_VERSIONS) >= 1);
}

#[test]
fn keyed_records_use_java_murmur2() {
    let mut sim = Sim::new(config(), brokers(1).topic("t", 12));
    // toPositive(murmur2("kafka")) % 12 == 4 (checked against the Java client).
    let (_, _, p) = sim.append("t", Some(b"kafka"), b"v");
    assert_eq!(p, 4);
}

#[test]
fn not_leader_is_retried_after_metadata_refresh_and_order_is_kept() {
    let mut c = config();
    c.max_in_flight_per_connection = 1;
    c.accumulator.max_in_flight_per_partition = 1;
    let mut sim = Sim::new(c, brokers(2).topic("t", 1));
    assert_eq!(sim.net.cluster.leader("t", 0), Some((1, 0)));
    let (b1, _, _) = sim.append("t", None, b"first");
    sim.run_for(ms(20));
    assert!(sim.delivered().contains_key(&b1));
    // The leader moves to broker 2; broker 1 answers NOT_LEADER_OR_FOLLOWER.
    assert!(sim.net.cluster.move_leader("t", 0, 2));
    let (b2, _, _) = sim.append("t", None, b"second");
    sim.run_for(ms(10));
    let (b3, _, _) = sim.append("t", None, b"third");
    sim.run_for(secs(2));
    let delivered = sim.delivered();
    assert!(
        delivered.contains_key(&b2) && delivered.contains_key(&b3),
        "{:?}",
        sim.events
    );
    assert_eq!(sim.values("t", 0), ["first", "second", "third"]);
    assert!(sim.net.engine.counters().records_retried >= 1);
    assert!(sim.served(ApiKey::METADATA) >= 2, "metadata refreshed");
}

#[test]
fn injected_retriable_errors_are_retried_with_backoff() {
    let mut c = config();
    c.max_in_flight_per_connection = 1;
    c.accumulator.max_in_flight_per_partition = 1;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.net.cluster.inject(Fault::fail(
        ApiKey::PRODUCE,
        &[
            ErrorCode::REQUEST_TIMED_OUT,
            ErrorCode::NOT_ENOUGH_REPLICAS,
            ErrorCode::NETWORK_EXCEPTION,
        ],
    ));
    let (b, _, _) = sim.append("t", None, b"x");
    // Backoff: 100 ms, 200 ms, 400 ms (exponential): not delivered after 250 ms.
    sim.run_for(ms(250));
    assert!(!sim.delivered().contains_key(&b));
    sim.run_for(secs(2));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert_eq!(sim.served(ApiKey::PRODUCE), 4);
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn non_retriable_error_fails_the_batch_only() {
    let mut c = config();
    c.accumulator.max_in_flight_per_partition = 1;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    // The fake sends no error messages: the first Produce is answered here.
    let mut first = true;
    sim.hook(move |_, body| match body {
        RequestBody::Produce(req) if std::mem::take(&mut first) => Intercept::Answer(
            produce_answer(req, ErrorCode::INVALID_RECORD, Some("bad record")),
        ),
        _ => Intercept::Pass,
    });
    let (b1, _, _) = sim.append("t", None, b"bad");
    sim.run_for(ms(20));
    let (b2, _, _) = sim.append("t", None, b"good");
    sim.run_for(ms(20));
    let failed = sim.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, b1);
    assert!(matches!(
        &failed[0].1,
        DeliveryError::Broker { code, message: Some(m), .. } if *code == ErrorCode::INVALID_RECORD && m == "bad record"
    ));
    assert!(sim.delivered().contains_key(&b2));
    assert_eq!(sim.values("t", 0), ["good"]);
}

#[test]
fn unanswered_request_times_out_and_is_retried_on_a_new_connection() {
    let mut c = config();
    c.request_timeout = secs(1);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.net.cluster.inject(Fault::hang(ApiKey::PRODUCE));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(900));
    assert!(sim.delivered().is_empty());
    let connects = sim.connects;
    sim.run_for(secs(2));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert!(sim.connects > connects, "a new connection was opened");
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn delivery_timeout_fails_records_while_the_broker_is_unreachable() {
    let mut c = config();
    c.accumulator.delivery_timeout = secs(3);
    c.request_timeout = secs(1);
    let mut sim = Sim::new(c, brokers(1).topic("t", 2));
    sim.append("t", None, b"warm-up");
    sim.run_for(ms(20));
    // The broker goes away: the engine sees its connections close, new ones are refused.
    sim.net.cluster.broker_down(1);
    sim.settle();
    let start = sim.net.now;
    let ids: Vec<BatchId> = (0..5)
        .map(|i| sim.append("t", None, format!("r{i}").as_bytes()).0)
        .collect();
    sim.run_for(secs(5));
    for id in ids {
        let err = sim.failure_of(id).expect("failed");
        assert!(
            matches!(err, DeliveryError::DeliveryTimeout { .. }),
            "{err}"
        );
    }
    assert!(!sim.net.engine.has_incomplete());
    assert!(sim.net.now - start <= secs(5));
}

#[test]
fn acks_zero_delivers_without_offsets_or_responses() {
    let mut c = config();
    c.acks = 0;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(20));
    assert_eq!(sim.delivered().get(&b), Some(&None));
    let acks = sim.requests.iter().find_map(|(_, b)| match b {
        RequestBody::Produce(p) => Some(p.acks),
        _ => None,
    });
    assert_eq!(acks, Some(0));
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn idempotent_batches_carry_producer_id_and_sequences() {
    let mut c = config();
    c.idempotence = true;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    for i in 0..3 {
        sim.append("t", None, format!("a{i}").as_bytes());
    }
    sim.run_for(ms(20));
    for i in 0..2 {
        sim.append("t", None, format!("b{i}").as_bytes());
    }
    sim.run_for(ms(20));
    let stored = sim.net.cluster.records("t", 0);
    assert_eq!(stored.len(), 5);
    assert!(stored.iter().all(|s| s.producer_id == 1000));
    assert_eq!(
        sim.stamps("t", 0),
        vec![(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)]
    );
    assert_eq!(sim.served(ApiKey::INIT_PRODUCER_ID), 1);
    assert_eq!(
        sim.net.engine.producer_id().map(|p| p.producer_id),
        Some(1000)
    );
    let state = sim.net.cluster.producer_state("t", 0, 1000).expect("known");
    assert_eq!(state.epoch, 0);
    assert_eq!(state.batches.back().map(|b| b.last_sequence), Some(4));
}

#[test]
fn message_too_large_splits_the_batch() {
    let mut c = config();
    c.accumulator.batch_size = 1024;
    c.accumulator.linger = ms(50);
    // The eight records fit one batch of about 950 bytes; the topic takes 600 at most.
    let topic = TopicConfig {
        max_message_bytes: 600,
        ..TopicConfig::default()
    };
    let mut sim = Sim::new(c, brokers(1).topic_with("t", 1, topic));
    for i in 0..8 {
        sim.append("t", None, format!("{i:0>100}").as_bytes());
    }
    sim.run_for(ms(500));
    let split = sim
        .events
        .iter()
        .find_map(|e| match e {
            Event::Split(o) => Some(o.clone()),
            _ => None,
        })
        .expect("split");
    assert!(split.parts.len() >= 2);
    let delivered = sim.delivered();
    for part in &split.parts {
        assert!(delivered.contains_key(&part.batch));
    }
    let want: Vec<String> = (0..8).map(|i| format!("{i:0>100}")).collect();
    assert_eq!(sim.values("t", 0), want);
}

#[test]
fn unsupported_api_versions_falls_back_to_v0() {
    // The broker serves ApiVersions v0 only: it answers v4 with UNSUPPORTED_VERSION (KIP-511).
    let cluster = brokers(1).topic("t", 1);
    let mut sim = Sim::new(config(), cluster.api_versions(ApiKey::API_VERSIONS, 0, 0));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(20));
    assert!(sim.delivered().contains_key(&b));
    // Every connection (bootstrap, then the leader) asked twice: v4, then v0 (served).
    let asked = sim
        .order()
        .iter()
        .filter(|k| **k == ApiKey::API_VERSIONS)
        .count();
    assert_eq!(asked, 2 * sim.connects as usize);
    assert_eq!(sim.served(ApiKey::API_VERSIONS), u64::from(sim.connects));
    assert!(
        sim.net
            .cluster
            .versions_seen()
            .contains(&(ApiKey::API_VERSIONS, 0))
    );
}

#[test]
fn unknown_topic_fails_after_max_block() {
    let c = config();
    let mut sim = Sim::new(c, brokers(1).topic("t", 1).auto_create_topics(None));
    let since = sim.net.now;
    assert!(matches!(
        sim.net.engine.append(&record("missing", b"x"), sim.net.now),
        Err(SendError::TopicPending(_))
    ));
    sim.run_for(ms(1500));
    assert_eq!(
        sim.net
            .engine
            .check_topic("missing", since, secs(2), sim.net.now),
        Ok(false)
    );
    sim.run_for(ms(600));
    let err = sim
        .net
        .engine
        .check_topic("missing", since, secs(2), sim.net.now)
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert_eq!(sim.net.cluster.partition_count("missing"), None);
    // The producer still works for a known topic.
    let (b, _, _) = sim.append("t", None, b"ok");
    sim.run_for(ms(20));
    assert!(sim.delivered().contains_key(&b));
}

#[test]
fn throttled_connection_is_muted() {
    let mut c = config();
    c.accumulator.linger = Duration::ZERO;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    // The first Produce is answered with a throttle of 500 ms.
    sim.net.cluster.set_throttle(ApiKey::PRODUCE, 500);
    sim.append("t", None, b"a");
    sim.run_for(ms(10));
    assert_eq!(sim.served(ApiKey::PRODUCE), 1);
    sim.net.cluster.set_throttle(ApiKey::PRODUCE, 0);
    sim.append("t", None, b"b");
    sim.run_for(ms(300));
    assert_eq!(sim.served(ApiKey::PRODUCE), 1, "muted while throttled");
    sim.run_for(ms(300));
    assert_eq!(sim.served(ApiKey::PRODUCE), 2, "sent after the throttle");
    // The throttle times of both answers (500 and 0 ms) feed produce-throttle-time-*.
    sim.run_for(ms(10));
    let counters = sim.net.engine.counters();
    assert_eq!(counters.produce_responses, 2, "{counters:?}");
    assert_eq!(counters.produce_throttle_time_total_ms, 500, "{counters:?}");
    assert_eq!(counters.produce_throttle_time_max_ms, 500, "{counters:?}");
    assert_eq!(sim.values("t", 0), ["a", "b"]);
}

#[test]
fn close_then_abort_fails_what_is_left() {
    let mut sim = Sim::new(config(), brokers(1).topic("t", 1));
    // The broker writes the record but its answer never comes.
    sim.net.cluster.inject(Fault::hold(ApiKey::PRODUCE));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.net.engine.close();
    sim.run_for(ms(50));
    assert!(sim.net.engine.has_incomplete());
    assert_eq!(
        sim.net.engine.append(&record("t", b"late"), sim.net.now),
        Err(SendError::Closed)
    );
    sim.net.engine.abort();
    sim.settle();
    // Its request was out (never answered): the broker may have written it — and did.
    let failed = sim.failed();
    assert!(
        matches!(failed.as_slice(), [(id, DeliveryError::ClosedInFlight)] if *id == b),
        "{failed:?}"
    );
    assert!(failed[0].1.outcome_unknown());
    assert!(!sim.net.engine.has_incomplete());
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn connection_closed_by_the_broker_mid_request_is_retried() {
    let mut sim = Sim::new(config(), brokers(1).topic("t", 1));
    sim.net
        .cluster
        .inject(Fault::drop_connection(ApiKey::PRODUCE));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(secs(1));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    assert_eq!(sim.served(ApiKey::PRODUCE), 2);
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn answers_to_acks_zero_requests_are_skipped() {
    // Tansu answers acks=0 Produce requests; the connection must survive them, or requests
    // written behind are lost.
    let mut c = config();
    c.acks = 0;
    c.accumulator.batch_size = 200;
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.hook(|_, body| match body {
        RequestBody::Produce(req) if req.acks == 0 => {
            Intercept::ServeAndAnswer(produce_answer(req, ErrorCode::NONE, None))
        }
        _ => Intercept::Pass,
    });
    for i in 0..50 {
        sim.append("t", None, format!("{i:0>50}").as_bytes());
        sim.tick(ms(1));
    }
    sim.run_for(ms(50));
    let want: Vec<String> = (0..50).map(|i| format!("{i:0>50}")).collect();
    assert_eq!(sim.values("t", 0), want);
    assert!(sim.served(ApiKey::PRODUCE) > 5);
    assert_eq!(sim.connects, 2, "no reconnect: bootstrap + leader only");
}
