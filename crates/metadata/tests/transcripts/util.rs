//! Builders that make tests read like transcripts, and the simulated clock.

use std::time::{Duration, Instant};

use ferrokafka_wire::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use ferrokafka_wire::messages::produce::NodeEndpoint;

/// Milliseconds.
pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// A simulated clock: one real base instant plus offsets.
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            base: Instant::now(),
        }
    }

    /// The instant `t` milliseconds after the base.
    pub(crate) fn at(&self, t: u64) -> Instant {
        self.base + ms(t)
    }
}

/// A broker entry `id` at `host-{id}:9092`.
pub(crate) fn broker(id: i32) -> MetadataResponseBroker {
    MetadataResponseBroker {
        node_id: id,
        host: format!("host-{id}"),
        port: 9092,
        ..Default::default()
    }
}

/// A partition `index` led by `leader` at `epoch`, replicated on 0..3.
pub(crate) fn part(index: i32, leader: i32, epoch: i32) -> MetadataResponsePartition {
    MetadataResponsePartition {
        partition_index: index,
        leader_id: leader,
        leader_epoch: epoch,
        replica_nodes: vec![0, 1, 2],
        isr_nodes: vec![0, 1, 2],
        ..Default::default()
    }
}

/// A healthy topic.
pub(crate) fn topic(
    name: &str,
    partitions: Vec<MetadataResponsePartition>,
) -> MetadataResponseTopic {
    MetadataResponseTopic {
        name: Some(name.to_owned()),
        partitions: partitions.into(),
        ..Default::default()
    }
}

/// A topic answered with a topic-level error.
pub(crate) fn topic_err(name: &str, code: i16) -> MetadataResponseTopic {
    MetadataResponseTopic {
        error_code: code,
        name: Some(name.to_owned()),
        ..Default::default()
    }
}

/// A response with brokers 0..3, controller 0 and the given topics.
pub(crate) fn response(topics: Vec<MetadataResponseTopic>) -> MetadataResponse {
    MetadataResponse {
        brokers: (0..3).map(broker).collect(),
        cluster_id: Some("cluster-a".into()),
        controller_id: 0,
        topics: topics.into(),
        ..Default::default()
    }
}

/// Topic names listed by a request.
pub(crate) fn names(req: &MetadataRequest) -> Vec<String> {
    req.topics
        .as_ref()
        .map(|ts| ts.iter().filter_map(|t| t.name.clone()).collect())
        .unwrap_or_default()
}

/// A KIP-951 endpoint.
pub(crate) fn endpoint(id: i32, host: &str, port: i32) -> NodeEndpoint {
    NodeEndpoint {
        node_id: id,
        host: host.into(),
        port,
        rack: Some("r1".into()),
        ..Default::default()
    }
}
