//! The refresh policy, as transcripts with simulated time, plus a proptest over
//! random transcripts.

use ferrokafka_metadata::{
    Metadata, MetadataConfig, MetadataError, TopicStatus, is_stale_metadata_error,
};
use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::messages::metadata::MetadataResponseTopic;
use proptest::prelude::*;

use crate::util::*;

/// A policy with default config, created at t=0, whose first (bootstrap)
/// request has been answered with no topics at t=0.
fn warmed(clock: &Clock) -> Metadata {
    let mut m = Metadata::new(MetadataConfig::default(), clock.at(0));
    assert!(m.poll_request(clock.at(0)).is_some());
    m.handle_response(&response(vec![]), clock.at(0));
    m
}

/// Adds the topic `answer` names at t=0 and answers its first request with `answer` at
/// `at_ms`.
fn answer_new(m: &mut Metadata, clock: &Clock, answer: MetadataResponseTopic, at_ms: u64) {
    let name = answer.name.clone().expect("a named topic");
    m.add_topic(&name, clock.at(0));
    m.poll_request(clock.at(0)).unwrap();
    m.handle_response(&response(vec![answer]), clock.at(at_ms));
}

#[test]
fn first_request_is_immediate_and_lists_nothing() {
    let clock = Clock::new();
    let mut m = Metadata::new(MetadataConfig::default(), clock.at(0));
    assert_eq!(m.poll_timeout(), Some(clock.at(0)));
    let req = m.poll_request(clock.at(0)).unwrap();
    assert_eq!(
        req.topics,
        Some(vec![]),
        "an empty list (v1+) asks for no topics"
    );
    assert!(req.allow_auto_topic_creation);
    assert!(m.is_in_flight());
    assert_eq!(m.poll_timeout(), None);
    assert!(m.poll_request(clock.at(5)).is_none(), "one in flight");
}

#[test]
fn new_topic_is_fetched_promptly_and_response_fills_model() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    assert!(m.add_topic("orders", clock.at(10)));
    assert!(!m.add_topic("orders", clock.at(10)));
    assert_eq!(
        m.topic_state("orders"),
        TopicStatus::Pending {
            since: clock.at(10)
        }
    );
    // The spacing of retry.backoff.ms since t=0 is skipped for a new topic.
    assert_eq!(m.poll_timeout(), Some(clock.at(10)));
    let req = m.poll_request(clock.at(10)).unwrap();
    assert_eq!(names(&req), ["orders"]);

    m.handle_response(
        &response(vec![topic("orders", vec![part(0, 1, 1), part(1, 2, 1)])]),
        clock.at(20),
    );
    assert_eq!(m.topic_state("orders"), TopicStatus::Known(2));
    assert_eq!(m.cluster().leader_for("orders", 1), Some(2));
    assert_eq!(
        m.check_wait("orders", clock.at(10), ms(60_000), clock.at(20)),
        Ok(Some(2))
    );
}

#[test]
fn nothing_requested_again_before_max_age() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic("t", vec![part(0, 1, 1)]), 0);
    assert_eq!(m.poll_timeout(), Some(clock.at(300_000)));
    for t in (1_000..300_000).step_by(37_000) {
        m.touch("t", clock.at(t));
        assert!(m.poll_request(clock.at(t)).is_none(), "at {t}");
    }
    m.touch("t", clock.at(299_999));
    assert!(m.poll_request(clock.at(299_999)).is_none());
    let req = m.poll_request(clock.at(300_000)).unwrap();
    assert_eq!(names(&req), ["t"]);
}

#[test]
fn allow_auto_topic_creation_is_configurable() {
    let clock = Clock::new();
    let config = MetadataConfig {
        allow_auto_topic_creation: false,
        ..MetadataConfig::default()
    };
    let mut m = Metadata::new(config, clock.at(0));
    assert!(
        !m.poll_request(clock.at(0))
            .unwrap()
            .allow_auto_topic_creation
    );
}

#[test]
fn partition_error_refreshes_after_exponential_capped_backoff() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic("t", vec![part(0, 1, 1)]), 0);

    // A produce to partition 0 fails with NOT_LEADER_OR_FOLLOWER at t=1000.
    assert!(m.handle_partition_error("t", 0, ErrorCode::NOT_LEADER_OR_FOLLOWER, clock.at(1000)));
    assert_eq!(
        m.poll_timeout(),
        Some(clock.at(100)),
        "spacing since the last answer has passed"
    );
    let mut t = 1000;
    assert!(m.poll_request(clock.at(t)).is_some());
    // The cluster keeps answering with the same leader: no progress, so the
    // gaps between refreshes double from retry.backoff.ms up to retry.backoff.max.ms.
    let mut gaps = Vec::new();
    for _ in 0..7 {
        m.handle_response(
            &response(vec![topic("t", vec![part(0, 1, 1)])]),
            clock.at(t),
        );
        m.handle_partition_error("t", 0, ErrorCode::NOT_LEADER_OR_FOLLOWER, clock.at(t));
        let next = m.poll_timeout().unwrap();
        let gap = next.duration_since(clock.at(t));
        assert!(m.poll_request(next.checked_sub(ms(1)).unwrap()).is_none());
        assert!(m.poll_request(next).is_some());
        gaps.push(gap.as_millis());
        t += gap.as_millis() as u64;
    }
    assert_eq!(gaps, [100, 200, 400, 800, 1000, 1000, 1000]);

    // A new leader resets the growth.
    m.handle_response(
        &response(vec![topic("t", vec![part(0, 2, 2)])]),
        clock.at(t),
    );
    assert_eq!(m.cluster().leader_for("t", 0), Some(2));
    m.handle_partition_error("t", 0, ErrorCode::NOT_LEADER_OR_FOLLOWER, clock.at(t));
    assert_eq!(m.poll_timeout(), Some(clock.at(t + 100)));
}

#[test]
fn only_stale_metadata_errors_request_updates() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    for code in [
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode::LEADER_NOT_AVAILABLE,
        ErrorCode::NOT_LEADER_OR_FOLLOWER,
        ErrorCode::KAFKA_STORAGE_ERROR,
        ErrorCode::FENCED_LEADER_EPOCH,
        ErrorCode::NETWORK_EXCEPTION,
        ErrorCode::REPLICA_NOT_AVAILABLE,
        ErrorCode::UNKNOWN_TOPIC_ID,
        ErrorCode::INCONSISTENT_TOPIC_ID,
        ErrorCode::LISTENER_NOT_FOUND,
    ] {
        assert!(is_stale_metadata_error(code), "{code}");
    }
    for code in [
        ErrorCode::NONE,
        ErrorCode::UNKNOWN_LEADER_EPOCH,
        ErrorCode::MESSAGE_TOO_LARGE,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    ] {
        assert!(!is_stale_metadata_error(code), "{code}");
        assert!(!m.handle_partition_error("t", 0, code, clock.at(1)));
    }
    assert!(!m.update_due(clock.at(1)));
    assert!(m.poll_request(clock.at(1000)).is_none());
}

#[test]
fn stale_partition_errors_in_an_answer_ask_again() {
    let clock = Clock::new();
    // The answer's topic error for the named topic, partition 1's error, and whether
    // another update is due after it.
    let cases = [
        (
            "t",
            ErrorCode::NONE,
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            true,
        ),
        ("t", ErrorCode::NONE, ErrorCode::LEADER_NOT_AVAILABLE, true),
        ("t", ErrorCode::NONE, ErrorCode::UNKNOWN_LEADER_EPOCH, false),
        ("t", ErrorCode::NONE, ErrorCode::NONE, false),
        // Partition errors count even under a topic error.
        (
            "t",
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            true,
        ),
        // Only topics of interest count.
        (
            "other",
            ErrorCode::NONE,
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            false,
        ),
    ];
    for by_value in [false, true] {
        for (name, topic_error, partition_error, due) in cases {
            let mut m = warmed(&clock);
            m.add_topic("t", clock.at(0));
            m.poll_request(clock.at(0)).unwrap();
            let mut p1 = part(1, 1, 3);
            p1.error_code = partition_error.0;
            let mut named = topic(name, vec![part(0, 1, 3), p1]);
            named.error_code = topic_error.0;
            let mut topics = vec![named];
            if name != "t" {
                topics.push(topic("t", vec![part(0, 1, 3), part(1, 1, 3)]));
            }
            let resp = response(topics);
            if by_value {
                m.handle_response_owned(resp, clock.at(10));
            } else {
                m.handle_response(&resp, clock.at(10));
            }
            assert_eq!(
                m.update_due(clock.at(10)),
                due,
                "{name}: {topic_error} / {partition_error}, by value: {by_value}"
            );
        }
    }
}

#[test]
fn failure_backs_off_exponentially() {
    let clock = Clock::new();
    let mut m = Metadata::new(MetadataConfig::default(), clock.at(0));
    let mut t = 0;
    let mut gaps = Vec::new();
    for _ in 0..6 {
        assert!(m.poll_request(clock.at(t)).is_some());
        m.handle_failure(clock.at(t));
        let next = m.poll_timeout().unwrap();
        assert!(m.poll_request(next.checked_sub(ms(1)).unwrap()).is_none());
        let gap = next.duration_since(clock.at(t)).as_millis() as u64;
        gaps.push(gap);
        t += gap;
    }
    assert_eq!(gaps, [100, 200, 400, 800, 1000, 1000]);
    // Success resets it.
    m.poll_request(clock.at(t)).unwrap();
    m.handle_response(&response(vec![]), clock.at(t));
    m.request_update();
    assert_eq!(m.poll_timeout(), Some(clock.at(t + 100)));
}

#[test]
fn injected_jitter_scales_backoff() {
    let clock = Clock::new();
    let mut m = Metadata::new(MetadataConfig::default(), clock.at(0));
    m.set_backoff_jitter(1.2);
    m.poll_request(clock.at(0)).unwrap();
    m.handle_failure(clock.at(0));
    assert_eq!(m.poll_timeout(), Some(clock.at(120)));
}

#[test]
fn top_level_error_counts_as_failure() {
    let clock = Clock::new();
    let mut m = Metadata::new(MetadataConfig::default(), clock.at(0));
    m.poll_request(clock.at(0)).unwrap();
    let mut resp = response(vec![]);
    resp.error_code = ErrorCode::REBOOTSTRAP_REQUIRED.0;
    m.handle_response(&resp, clock.at(0));
    assert!(!m.is_in_flight());
    assert_eq!(m.cluster().brokers().count(), 0);
    assert_eq!(m.poll_timeout(), Some(clock.at(100)));
}

#[test]
fn idle_topics_are_dropped() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    m.add_topic("busy", clock.at(0));
    m.add_topic("idle", clock.at(0));
    m.poll_request(clock.at(0)).unwrap();
    m.handle_response(
        &response(vec![
            topic("busy", vec![part(0, 1, 1)]),
            topic("idle", vec![part(0, 1, 1)]),
        ]),
        clock.at(0),
    );
    m.touch("busy", clock.at(200_000));
    m.touch("nobody", clock.at(200_000));
    // Exactly metadata.max.idle.ms of idleness is still fine (Java: now > last use + idle).
    assert_eq!(
        names(&m.clone().poll_request(clock.at(300_000)).unwrap()),
        ["busy", "idle"]
    );
    let req = m.poll_request(clock.at(300_001)).unwrap();
    assert_eq!(names(&req), ["busy"]);
    assert_eq!(m.topics().collect::<Vec<_>>(), ["busy"]);
    assert_eq!(m.topic_state("idle"), TopicStatus::Unregistered);
    assert!(m.cluster().topic("idle").is_none());
    // A late answer still naming it does not bring it back.
    m.handle_response(
        &response(vec![
            topic("busy", vec![part(0, 1, 1)]),
            topic("idle", vec![part(0, 1, 1)]),
        ]),
        clock.at(300_011),
    );
    assert!(m.cluster().topic("idle").is_none());
}

#[test]
fn topic_added_while_in_flight_triggers_another_request() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    m.add_topic("a", clock.at(0));
    m.poll_request(clock.at(0)).unwrap();
    m.add_topic("b", clock.at(5));
    assert!(m.poll_request(clock.at(5)).is_none());
    m.handle_response(
        &response(vec![topic("a", vec![part(0, 1, 1)])]),
        clock.at(10),
    );
    assert!(m.update_due(clock.at(10)));
    let req = m.poll_request(clock.at(110)).unwrap();
    assert_eq!(names(&req), ["a", "b"]);
}

#[test]
fn unknown_topic_waits_then_fails_naming_max_block() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic_err("ghost", 3), 10);
    assert_eq!(
        m.topic_state("ghost"),
        TopicStatus::Error(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
    );
    assert!(
        m.update_due(clock.at(10)),
        "a retriable topic error asks again"
    );
    assert_eq!(
        m.check_wait("ghost", clock.at(0), ms(60_000), clock.at(59_999)),
        Ok(None)
    );
    let err = m
        .check_wait("ghost", clock.at(0), ms(60_000), clock.at(60_000))
        .unwrap_err();
    assert_eq!(
        err,
        MetadataError::TopicNotAvailable {
            topic: "ghost".into(),
            waited: ms(60_000),
            last_error: Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
            listed_without_partitions: false,
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("`ghost`") && msg.contains("max.block.ms") && msg.contains("60000"),
        "{msg}"
    );
}

#[test]
fn crate_doc_example_runs() {
    // The steps of the example in the crate docs, from a fresh policy.
    let clock = Clock::new();
    let start = clock.at(0);
    let mut md = Metadata::new(MetadataConfig::default(), start);
    md.add_topic("orders", start);
    let req = md.poll_request(start).unwrap();
    assert_eq!(names(&req), ["orders"]);
    assert!(md.poll_request(start).is_none());
    let later = clock.at(20);
    let mut answer = response(vec![topic_err("orders", 3)]);
    answer.brokers.clear();
    md.handle_response(&answer, later);
    assert!(matches!(md.topic_state("orders"), TopicStatus::Error(_)));
    assert_eq!(md.check_wait("orders", start, ms(60_000), later), Ok(None));
    assert_eq!(md.poll_timeout(), Some(clock.at(120)));
}

#[test]
fn a_topic_listed_with_zero_partitions_times_out_saying_so() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic("empty", vec![]), 10);
    let err = m
        .check_wait("empty", clock.at(0), ms(1_000), clock.at(1_000))
        .unwrap_err();
    assert!(
        matches!(
            err,
            MetadataError::TopicNotAvailable {
                listed_without_partitions: true,
                last_error: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("lists it with zero partitions"),
        "{err}"
    );
}

#[test]
fn unknown_topic_is_asked_with_growing_backoff_until_created() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    m.add_topic("new", clock.at(0));
    let mut t = 0;
    let mut gaps = Vec::new();
    for _ in 0..5 {
        let req = m.poll_request(clock.at(t)).unwrap();
        assert_eq!(names(&req), ["new"]);
        m.handle_response(&response(vec![topic_err("new", 5)]), clock.at(t));
        let next = m.poll_timeout().unwrap();
        let gap = next.duration_since(clock.at(t)).as_millis() as u64;
        gaps.push(gap);
        t += gap;
    }
    assert_eq!(gaps, [100, 100, 200, 400, 800]);
    m.poll_request(clock.at(t)).unwrap();
    m.handle_response(
        &response(vec![topic("new", vec![part(0, 1, 0)])]),
        clock.at(t),
    );
    assert_eq!(m.topic_state("new"), TopicStatus::Known(1));
    assert!(!m.update_due(clock.at(t + 1000)));
    assert_eq!(m.poll_timeout(), Some(clock.at(t + 300_000)));
}

#[test]
fn pending_topic_times_out_without_error() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    m.add_topic("p", clock.at(0));
    let err = m
        .check_wait("p", clock.at(0), ms(50), clock.at(80))
        .unwrap_err();
    assert!(matches!(
        err,
        MetadataError::TopicNotAvailable {
            last_error: None,
            ..
        }
    ));
    assert!(!err.to_string().contains("last error"));
}

#[test]
fn non_retriable_topic_error_fails_at_once() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic_err("secret", 29), 1);
    let err = m
        .check_wait("secret", clock.at(0), ms(60_000), clock.at(1))
        .unwrap_err();
    assert_eq!(
        err,
        MetadataError::TopicFailed {
            topic: "secret".into(),
            error: ErrorCode::TOPIC_AUTHORIZATION_FAILED
        }
    );
}

#[test]
fn older_leader_epoch_in_response_is_ignored() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic("t", vec![part(0, 1, 10)]), 0);
    m.request_update();
    m.poll_request(clock.at(100)).unwrap();
    m.handle_response(
        &response(vec![topic("t", vec![part(0, 2, 9)])]),
        clock.at(100),
    );
    assert_eq!(m.cluster().leader_for("t", 0), Some(1));
    assert!(m.update_due(clock.at(100)), "a stale answer asks again");
}

#[test]
fn kip951_hint_applies_and_clears_staleness() {
    let clock = Clock::new();
    let mut m = warmed(&clock);
    answer_new(&mut m, &clock, topic("t", vec![part(0, 1, 3)]), 0);
    m.handle_partition_error("t", 0, ErrorCode::NOT_LEADER_OR_FOLLOWER, clock.at(50));
    assert!(m.handle_leader_hint("t", 0, 5, 4, &[endpoint(5, "b5", 9095)]));
    assert_eq!(m.cluster().leader_broker("t", 0).unwrap().host, "b5");
    assert!(
        !m.handle_leader_hint("t", 0, 1, 3, &[]),
        "older hint ignored"
    );
    assert_eq!(m.cluster().leader_for("t", 0), Some(5));
}

/// One step of the random transcripts.
#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Add(u8),
    Touch(u8),
    Poll,
    Respond { leader: i32, epoch: i32, err: bool },
    Fail,
    PartitionError(u8),
    Hint { leader: i32, epoch: i32 },
    RequestUpdate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..400_000).prop_map(Op::Advance),
        (0u64..2_000).prop_map(Op::Advance),
        (0u8..4).prop_map(Op::Add),
        (0u8..4).prop_map(Op::Touch),
        Just(Op::Poll),
        (-1i32..4, -1i32..20, any::<bool>()).prop_map(|(leader, epoch, err)| Op::Respond {
            leader,
            epoch,
            err
        }),
        Just(Op::Fail),
        (0u8..4).prop_map(Op::PartitionError),
        (-1i32..8, -1i32..20).prop_map(|(leader, epoch)| Op::Hint { leader, epoch }),
        Just(Op::RequestUpdate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_transcripts_keep_invariants(ops in proptest::collection::vec(op(), 0..60)) {
        let clock = Clock::new();
        let mut t = 0u64;
        let mut m = Metadata::new(MetadataConfig::default(), clock.at(t));
        let mut in_flight = false;
        for op in ops {
            let now = clock.at(t);
            match op {
                Op::Advance(d) => t += d,
                Op::Add(i) => { m.add_topic(&format!("t{i}"), now); }
                Op::Touch(i) => m.touch(&format!("t{i}"), now),
                Op::Poll => {
                    let req = m.poll_request(now);
                    if in_flight {
                        prop_assert!(req.is_none(), "request while one is in flight");
                    }
                    if let Some(req) = req {
                        in_flight = true;
                        let listed = names(&req);
                        let interest: Vec<String> = m.topics().map(str::to_owned).collect();
                        prop_assert_eq!(listed, interest);
                    }
                }
                Op::Respond { leader, epoch, err } => {
                    let topics = m
                        .topics()
                        .map(|n| if err { topic_err(n, 5) } else { topic(n, vec![part(0, leader, epoch), part(1, 1, 2)]) })
                        .collect();
                    m.handle_response(&response(topics), now);
                    in_flight = false;
                    for name in m.topics() {
                        if let Some(p) = m.cluster().partition(name, 0)
                            && let (Some(e), Some(seen)) = (p.leader_epoch, m.cluster().last_seen_epoch(name, 0))
                        {
                            prop_assert!(e <= seen);
                        }
                    }
                }
                Op::Fail => {
                    m.handle_failure(now);
                    in_flight = false;
                }
                Op::PartitionError(i) => {
                    m.handle_partition_error(&format!("t{i}"), 0, ErrorCode::NOT_LEADER_OR_FOLLOWER, now);
                }
                Op::Hint { leader, epoch } => {
                    let before = m.cluster().last_seen_epoch("t0", 0);
                    if m.handle_leader_hint("t0", 0, leader, epoch, &[endpoint(leader, "h", 1)]) {
                        prop_assert!(before.is_none_or(|b| epoch > b));
                    }
                }
                Op::RequestUpdate => m.request_update(),
            }
            prop_assert_eq!(m.is_in_flight(), in_flight);
            // Whatever the state, the wake-up time is either in the future or
            // means a request is ready right now.
            let now = clock.at(t);
            match m.poll_timeout() {
                None => prop_assert!(m.is_in_flight()),
                Some(wake) if wake <= now => {
                    let mut probe = m.clone();
                    prop_assert!(probe.poll_request(now).is_some(), "timer in the past but no request");
                }
                Some(_) => {
                    let mut probe = m.clone();
                    prop_assert!(probe.poll_request(now).is_none(), "request ready before the timer");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `handle_response_owned` (which consumes the answer while merging it) leaves the
    /// policy exactly as `handle_response` does, stale partitions and topics included.
    #[test]
    fn answers_by_value_and_by_reference_are_handled_alike(
        ops in proptest::collection::vec(op(), 0..60)
    ) {
        let clock = Clock::new();
        let mut t = 0u64;
        let mut by_ref = Metadata::new(MetadataConfig::default(), clock.at(t));
        let mut by_value = by_ref.clone();
        for op in ops {
            let now = clock.at(t);
            for m in [&mut by_ref, &mut by_value] {
                match &op {
                    Op::Advance(_) | Op::Respond { .. } => {}
                    Op::Add(i) => { m.add_topic(&format!("t{i}"), now); }
                    Op::Touch(i) => m.touch(&format!("t{i}"), now),
                    Op::Poll => { m.poll_request(now); }
                    Op::Fail => m.handle_failure(now),
                    Op::PartitionError(i) => {
                        m.handle_partition_error(&format!("t{i}"), 0, ErrorCode::NOT_LEADER_OR_FOLLOWER, now);
                    }
                    Op::Hint { leader, epoch } => {
                        m.handle_leader_hint("t0", 0, *leader, *epoch, &[endpoint(*leader, "h", 1)]);
                    }
                    Op::RequestUpdate => m.request_update(),
                }
            }
            match op {
                Op::Advance(d) => t += d,
                Op::Respond { leader, epoch, err } => {
                    // Topic errors, or partition 1 with a stale-metadata error when the
                    // epoch is odd; plus a topic nobody asked for.
                    let mut topics: Vec<_> = by_ref
                        .topics()
                        .chain(["other"])
                        .map(|n| if err { topic_err(n, 5) } else {
                            let mut p1 = part(1, 1, 2);
                            if epoch % 2 == 1 {
                                p1.error_code = ErrorCode::NOT_LEADER_OR_FOLLOWER.0;
                            }
                            topic(n, vec![part(0, leader, epoch), p1])
                        })
                        .collect();
                    topics.rotate_left(1);
                    let mut bytes = bytes::BytesMut::new();
                    ferrokafka_wire::Message::encode_body(&response(topics), &mut bytes, 12).unwrap();
                    let resp: ferrokafka_wire::messages::MetadataResponse =
                        ferrokafka_wire::Message::decode_body(&bytes, 12).unwrap();
                    by_ref.handle_response(&resp, now);
                    by_value.handle_response_owned(resp, now);
                }
                _ => {}
            }
            prop_assert_eq!(format!("{by_ref:?}"), format!("{by_value:?}"));
        }
    }
}
