//! The cluster model: filling it from responses, KIP-320 epochs, KIP-951 hints.

use std::collections::BTreeMap;

use bytes::BytesMut;
use ferrokafka_metadata::{Cluster, PartitionInfo, TopicInfo};
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::metadata::{
    MetadataResponse, MetadataResponsePartition, MetadataResponseTopic,
};
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

/// The merge rule in its plainest form (maps everywhere, the response read by
/// reference), to check the model and both ways of merging against.
#[derive(Default)]
struct Reference {
    topics: BTreeMap<String, TopicInfo>,
    epochs: BTreeMap<(String, i32), i32>,
}

impl Reference {
    fn update(&mut self, resp: &MetadataResponse) -> Vec<(String, i32)> {
        let mut rejected = Vec::new();
        for t in &resp.topics {
            let Some(name) = t.name.clone() else {
                continue;
            };
            let error = ErrorCode(t.error_code);
            // A repeated index keeps its last entry.
            let mut partitions = BTreeMap::new();
            if error.is_none() {
                for p in &t.partitions {
                    let new = PartitionInfo {
                        index: p.partition_index,
                        leader: (p.leader_id >= 0).then_some(p.leader_id),
                        leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                        replicas: p.replica_nodes.as_slice().into(),
                        isr: p.isr_nodes.as_slice().into(),
                        offline: p.offline_replicas.as_slice().into(),
                        error: ErrorCode(p.error_code),
                    };
                    let key = (name.clone(), new.index);
                    let info = match (new.leader_epoch, self.epochs.get(&key).copied()) {
                        (Some(e), Some(s)) if e < s => {
                            rejected.push(key);
                            let old = self.topics.get(&name).and_then(|o| o.partition(new.index));
                            old.cloned().unwrap_or(PartitionInfo {
                                leader: None,
                                leader_epoch: Some(s),
                                ..new
                            })
                        }
                        (Some(e), _) => {
                            self.epochs.insert(key, e);
                            new
                        }
                        (None, _) => new,
                    };
                    partitions.insert(info.index, info);
                }
            }
            let info = TopicInfo {
                name: name.clone(),
                topic_id: t.topic_id,
                error,
                is_internal: t.is_internal,
                partitions: partitions.into_values().collect(),
            };
            self.topics.insert(name, info);
        }
        rejected
    }

    /// A hint whose leader is a known broker.
    fn hint(&mut self, topic: &str, partition: i32, leader: i32, epoch: i32) -> bool {
        let key = (topic.to_owned(), partition);
        let seen = self.epochs.get(&key).copied();
        let Some(p) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.iter_mut().find(|p| p.index == partition))
        else {
            return false;
        };
        if leader < 0 || epoch < 0 || p.leader_epoch.max(seen).is_some_and(|e| epoch <= e) {
            return false;
        }
        p.leader = Some(leader);
        p.leader_epoch = Some(epoch);
        p.error = ErrorCode::NONE;
        self.epochs.insert(key, epoch);
        true
    }

    fn retain(&mut self, keep: &str) {
        self.topics.retain(|t, _| keep.contains(t.as_str()));
        self.epochs.retain(|(t, _), _| keep.contains(t.as_str()));
    }
}

/// A partition of a generated answer: index, leader, epoch, error.
type PartitionSpec = (i32, i32, i32, i16);
/// A topic of a generated answer: name index (3 = null name), error, partitions in answer order.
type TopicSpec = (u8, i16, Vec<PartitionSpec>);

/// One step of [`merging_matches_the_plain_rule_by_value_and_by_reference`].
#[derive(Debug, Clone)]
enum Step {
    /// An answer at a version, encoded and decoded so that it is read as a decoded
    /// answer is.
    Answer(i16, Vec<TopicSpec>),
    Hint(u8, i32, i32, i32),
    Retain(String),
}

fn step() -> impl Strategy<Value = Step> {
    let partition = (
        0i32..6,
        -1i32..3,
        -1i32..10,
        prop_oneof![Just(0i16), Just(6), Just(9)],
    );
    let topic = (
        0u8..4,
        prop_oneof![4 => Just(0i16), 1 => Just(3)],
        proptest::collection::vec(partition, 0..8),
    );
    prop_oneof![
        4 => (prop_oneof![Just(5i16), Just(12)], proptest::collection::vec(topic, 0..4))
            .prop_map(|(v, ts)| Step::Answer(v, ts)),
        2 => (0u8..3, 0i32..6, -1i32..3, -1i32..12).prop_map(|(t, p, l, e)| Step::Hint(t, p, l, e)),
        1 => "[abc]{0,3}".prop_map(Step::Retain),
    ]
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn answer(version: i16, topics: &[TopicSpec]) -> MetadataResponse {
    let topics = topics
        .iter()
        // A null name needs v12.
        .filter(|(t, _, _)| version >= 12 || usize::from(*t) < NAMES.len())
        .map(|(t, error, parts)| MetadataResponseTopic {
            name: NAMES.get(usize::from(*t)).map(|n| (*n).to_owned()),
            error_code: *error,
            partitions: parts
                .iter()
                .map(|&(index, leader, epoch, error)| MetadataResponsePartition {
                    error_code: error,
                    ..part(index, leader, epoch)
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let built = response(topics);
    let mut bytes = BytesMut::new();
    built.encode_body(&mut bytes, version).unwrap();
    let decoded = MetadataResponse::decode_body(&bytes, version).unwrap();
    assert!(decoded.topics.is_empty() || decoded.topics.is_encoded());
    decoded
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Merging by reference and by value give the same model and the same rejected
    /// partitions, and both agree with the plain rule: epochs per partition, answers
    /// in any order, repeated indices (the last one counts), topic errors, hints.
    #[test]
    fn merging_matches_the_plain_rule_by_value_and_by_reference(
        steps in proptest::collection::vec(step(), 0..12)
    ) {
        let mut by_ref = Cluster::default();
        let mut by_value = Cluster::default();
        let mut plain = Reference::default();
        for step in steps {
            match step {
                Step::Answer(version, topics) => {
                    let resp = answer(version, &topics);
                    let rejected = by_ref.update(&resp);
                    prop_assert_eq!(&by_value.update_owned(resp.clone()), &rejected);
                    prop_assert_eq!(&plain.update(&resp), &rejected);
                }
                Step::Hint(t, p, leader, epoch) => {
                    let applied = by_ref.apply_leader_hint(NAMES[usize::from(t)], p, leader, epoch, &[]);
                    prop_assert_eq!(
                        by_value.apply_leader_hint(NAMES[usize::from(t)], p, leader, epoch, &[]),
                        applied
                    );
                    prop_assert_eq!(plain.hint(NAMES[usize::from(t)], p, leader, epoch), applied);
                }
                Step::Retain(keep) => {
                    by_ref.retain_topics(|t| keep.contains(t));
                    by_value.retain_topics(|t| keep.contains(t));
                    plain.retain(&keep);
                }
            }
            prop_assert_eq!(&by_ref, &by_value);
            let topics: Vec<&TopicInfo> = by_ref.topics().collect();
            let expected: Vec<&TopicInfo> = plain.topics.values().collect();
            prop_assert_eq!(topics, expected);
            for name in NAMES {
                for p in -1..7 {
                    prop_assert_eq!(
                        by_ref.last_seen_epoch(name, p),
                        plain.epochs.get(&(name.to_owned(), p)).copied()
                    );
                }
            }
        }
    }
}

#[test]
fn many_partitions_out_of_order_merge_like_in_order() {
    // 20,000 partitions answered in decreasing order, then again in a shuffled order
    // with older epochs for some: the same model as the increasing answers give.
    let n = 20_000;
    let parts = |order: &mut dyn Iterator<Item = i32>, epoch: &dyn Fn(i32) -> i32| {
        order.map(|i| part(i, i % 3, epoch(i))).collect::<Vec<_>>()
    };
    let mut sorted = Cluster::default();
    let mut unsorted = Cluster::default();
    sorted.update(&response(vec![topic("t", parts(&mut (0..n), &|_| 5))]));
    unsorted.update(&response(vec![topic(
        "t",
        parts(&mut (0..n).rev(), &|_| 5),
    )]));
    assert_eq!(sorted, unsorted);
    let epoch = |i: i32| if i % 7 == 0 { 4 } else { 6 };
    let rejected = sorted.update(&response(vec![topic("t", parts(&mut (0..n), &epoch))]));
    let shuffled = (0..n).map(|i| (i * 7919) % n);
    let rejected_too = unsorted.update(&response(vec![topic(
        "t",
        parts(&mut { shuffled }, &epoch),
    )]));
    assert_eq!(sorted, unsorted);
    assert_eq!(rejected.len(), rejected_too.len());
    assert_eq!(rejected.len(), (0..n).filter(|i| i % 7 == 0).count());
    assert_eq!(sorted.last_seen_epoch("t", 7), Some(5));
    assert_eq!(sorted.last_seen_epoch("t", 8), Some(6));
    assert_eq!(sorted.partition_count("t"), Some(n as usize));
}
