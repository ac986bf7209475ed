//! The cluster model: filling it from responses, KIP-320 epochs, KIP-951 hints.

use ferrokafka_metadata::Cluster;
use ferrokafka_wire::{ErrorCode, Uuid};
use proptest::prelude::*;

use crate::util::*;

#[test]
fn response_fills_the_model() {
    let mut resp = response(vec![topic(
        "t",
        vec![part(0, 1, 5), part(1, -1, 5), part(2, 2, 7)],
    )]);
    resp.brokers[1].rack = Some("rack-b".into());
    resp.topics[0].topic_id = Uuid([7; 16]);
    resp.topics[0].partitions[1].offline_replicas = vec![1];
    let c = Cluster::from_response(&resp);

    assert_eq!(c.cluster_id(), Some("cluster-a"));
    assert_eq!(c.controller(), Some(0));
    assert_eq!(c.brokers().count(), 3);
    let b1 = c.broker(1).unwrap();
    assert_eq!(
        (b1.host.as_str(), b1.port, b1.rack.as_deref()),
        ("host-1", 9092, Some("rack-b"))
    );
    assert_eq!(c.partition_count("t"), Some(3));
    assert_eq!(c.available_partitions("t"), vec![0, 2]);
    assert_eq!(c.leader_for("t", 0), Some(1));
    assert_eq!(c.leader_for("t", 1), None);
    assert_eq!(c.leader_broker("t", 2).unwrap().host, "host-2");
    let p1 = c.partition("t", 1).unwrap();
    assert_eq!(p1.leader_epoch, Some(5));
    assert_eq!(*p1.offline, [1]);
    assert_eq!(*p1.replicas, [0, 1, 2]);
    assert_eq!(c.topic("t").unwrap().topic_id, Uuid([7; 16]));
    assert_eq!(c.partition_count("nope"), None);
    assert!(c.available_partitions("nope").is_empty());
}

#[test]
fn missing_controller_and_bad_ports() {
    let mut resp = response(vec![]);
    resp.controller_id = -1;
    resp.brokers[2].port = 0;
    resp.brokers[1].port = 70_000;
    let c = Cluster::from_response(&resp);
    assert_eq!(c.controller(), None);
    assert!(c.broker(0).is_some());
    assert!(c.broker(1).is_none() && c.broker(2).is_none());
}

#[test]
fn topic_error_has_no_partitions() {
    let c = Cluster::from_response(&response(vec![topic_err("t", 3)]));
    let t = c.topic("t").unwrap();
    assert_eq!(t.error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(c.partition_count("t"), None);
}

#[test]
fn older_leader_epoch_is_ignored() {
    let mut c = Cluster::from_response(&response(vec![topic(
        "t",
        vec![part(0, 1, 10), part(1, 2, 3)],
    )]));
    // A lagging broker answers with epoch 9 for partition 0, and a newer one for 1.
    let rejected = c.update(&response(vec![topic(
        "t",
        vec![part(0, 2, 9), part(1, 0, 4)],
    )]));
    assert_eq!(rejected, vec![("t".to_owned(), 0)]);
    assert_eq!(c.leader_for("t", 0), Some(1));
    assert_eq!(c.partition("t", 0).unwrap().leader_epoch, Some(10));
    assert_eq!(c.leader_for("t", 1), Some(0));
    assert_eq!(c.last_seen_epoch("t", 1), Some(4));
    // The same epoch is accepted (Java: newEpoch >= currentEpoch).
    c.update(&response(vec![topic(
        "t",
        vec![part(0, 2, 10), part(1, 0, 4)],
    )]));
    assert_eq!(c.leader_for("t", 0), Some(2));
}

#[test]
fn older_epoch_after_topic_error_lists_partition_without_leader() {
    let mut c = Cluster::from_response(&response(vec![topic("t", vec![part(0, 1, 10)])]));
    c.update(&response(vec![topic_err("t", 5)]));
    assert_eq!(c.partition_count("t"), None);
    c.update(&response(vec![topic("t", vec![part(0, 1, 8)])]));
    assert_eq!(c.partition_count("t"), Some(1));
    assert_eq!(c.leader_for("t", 0), None);
    assert!(c.available_partitions("t").is_empty());
}

#[test]
fn unknown_epochs_are_accepted() {
    let mut c = Cluster::from_response(&response(vec![topic("t", vec![part(0, 1, 10)])]));
    c.update(&response(vec![topic("t", vec![part(0, 2, -1)])]));
    assert_eq!(c.leader_for("t", 0), Some(2));
    assert_eq!(c.partition("t", 0).unwrap().leader_epoch, None);
    assert_eq!(c.last_seen_epoch("t", 0), Some(10));
}

#[test]
fn topics_absent_from_response_are_kept_and_null_names_ignored() {
    let mut c = Cluster::from_response(&response(vec![topic("a", vec![part(0, 1, 1)])]));
    let mut by_id = topic("x", vec![part(0, 1, 1)]);
    by_id.name = None;
    c.update(&response(vec![topic("b", vec![part(0, 1, 1)]), by_id]));
    assert_eq!(c.partition_count("a"), Some(1));
    assert_eq!(c.partition_count("b"), Some(1));
    assert_eq!(c.topics().count(), 2);
    c.retain_topics(|t| t == "b");
    assert!(c.topic("a").is_none());
    assert_eq!(c.last_seen_epoch("a", 0), None);
}

#[test]
fn leader_hint_with_newer_epoch_applies_and_adds_broker() {
    let mut c = Cluster::from_response(&response(vec![topic("t", vec![part(0, 1, 5)])]));
    assert!(c.apply_leader_hint("t", 0, 7, 6, &[endpoint(7, "new-host", 9093)]));
    assert_eq!(c.leader_for("t", 0), Some(7));
    assert_eq!(c.partition("t", 0).unwrap().leader_epoch, Some(6));
    let b = c.broker(7).unwrap();
    assert_eq!(
        (b.host.as_str(), b.port, b.rack.as_deref()),
        ("new-host", 9093, Some("r1"))
    );
    // A metadata answer from before the move cannot undo it.
    c.update(&response(vec![topic("t", vec![part(0, 1, 5)])]));
    assert_eq!(c.leader_for("t", 0), Some(7));
    assert_eq!(c.partition("t", 0).unwrap().leader_epoch, Some(6));
}

#[test]
fn leader_hint_to_known_broker_needs_no_endpoint() {
    let mut c = Cluster::from_response(&response(vec![topic("t", vec![part(0, 1, 5)])]));
    assert!(c.apply_leader_hint("t", 0, 2, 9, &[]));
    assert_eq!(c.leader_for("t", 0), Some(2));
}

#[test]
fn stale_or_unusable_leader_hints_are_ignored() {
    let mut c = Cluster::from_response(&response(vec![topic("t", vec![part(0, 1, 5)])]));
    let before = c.clone();
    assert!(!c.apply_leader_hint("t", 0, 2, 5, &[]), "same epoch");
    assert!(!c.apply_leader_hint("t", 0, 2, 4, &[]), "older epoch");
    assert!(!c.apply_leader_hint("t", 0, -1, 9, &[]), "no leader");
    assert!(!c.apply_leader_hint("t", 0, 2, -1, &[]), "no epoch");
    assert!(!c.apply_leader_hint("t", 9, 2, 9, &[]), "unknown partition");
    assert!(!c.apply_leader_hint("u", 0, 2, 9, &[]), "unknown topic");
    assert!(
        !c.apply_leader_hint("t", 0, 8, 9, &[endpoint(7, "h", 1)]),
        "leader endpoint missing"
    );
    assert!(
        !c.apply_leader_hint("t", 0, 8, 9, &[endpoint(8, "h", 0)]),
        "leader endpoint unusable"
    );
    assert_eq!(c, before);
}

#[test]
fn hinted_leader_survives_a_lagging_broker_list() {
    let mut c = Cluster::from_response(&response(vec![topic("t", vec![part(0, 1, 5)])]));
    assert!(c.apply_leader_hint("t", 0, 7, 6, &[endpoint(7, "new-host", 9093)]));
    // A lagging broker knows neither the move nor broker 7.
    c.update(&response(vec![topic("t", vec![part(0, 1, 5)])]));
    assert_eq!(c.leader_broker("t", 0).unwrap().host, "new-host");
    // Once the cluster agrees on another leader, broker 7 is gone.
    c.update(&response(vec![topic("t", vec![part(0, 2, 7)])]));
    assert!(c.broker(7).is_none());
}

proptest! {
    /// Whatever order answers and hints arrive in, a partition's epoch never
    /// goes backwards and its leader is always from the newest epoch seen.
    #[test]
    fn epochs_never_go_backwards(
        steps in proptest::collection::vec((any::<bool>(), 0i32..3, -1i32..12), 0..40)
    ) {
        let mut c = Cluster::default();
        let mut best: Option<i32> = None;
        for (is_hint, leader, epoch) in steps {
            if is_hint {
                let applied = c.apply_leader_hint("t", 0, leader, epoch, &[]);
                if applied {
                    prop_assert!(best.is_none_or(|b| epoch > b));
                }
            } else {
                c.update(&response(vec![topic("t", vec![part(0, leader, epoch)])]));
            }
            if epoch >= 0 && c.partition("t", 0).and_then(|p| p.leader_epoch) == Some(epoch) {
                best = Some(best.map_or(epoch, |b| b.max(epoch)));
            }
            let p = c.partition("t", 0);
            if let (Some(p), Some(b)) = (p, best) {
                prop_assert_eq!(p.leader_epoch.unwrap_or(b).max(b), b);
                prop_assert_eq!(c.last_seen_epoch("t", 0), Some(b));
            }
        }
    }
}
