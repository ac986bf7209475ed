//! Metadata (key 3), v0–12.
//!
//! Lists the brokers that are up and the requested topics (all topics for a null list, and for
//! an empty list at v0). Each partition names its leader, leader epoch (v7+), replicas and
//! ISR (every replica that is up: the fake never lets a replica fall behind). An unknown topic
//! is created when the cluster auto-creates topics and the request allows it (v4+; always
//! before v4), else answered with UNKNOWN_TOPIC_OR_PARTITION. A partition whose leader is down
//! answers LEADER_NOT_AVAILABLE with leader -1. An injected error fails every topic.

use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::messages::metadata::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use ferrokafka_wire::messages::{MetadataRequest, MetadataResponse};

use crate::cluster::{Cluster, Ctx};
use crate::config::TopicConfig;

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &MetadataRequest,
    error: Option<ErrorCode>,
) -> MetadataResponse {
    let names: Vec<String> = match &req.topics {
        None => cluster.topics.keys().cloned().collect(),
        Some(list) if list.is_empty() && ctx.version == 0 => {
            cluster.topics.keys().cloned().collect()
        }
        Some(list) => list.iter().filter_map(|t| t.name.clone()).collect(),
    };
    let may_create = ctx.version < 4 || req.allow_auto_topic_creation;
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        if !cluster.topics.contains_key(&name)
            && may_create
            && let Some(n) = cluster.config.auto_create_partitions
        {
            let _ = cluster.create_topic(&name, n, TopicConfig::default());
        }
        topics.push(topic(cluster, &name, error));
    }
    let brokers = cluster
        .brokers
        .iter()
        .filter(|(_, b)| b.up)
        .map(|(&id, b)| MetadataResponseBroker {
            node_id: id,
            host: b.host.clone(),
            port: b.port,
            rack: b.rack.clone(),
            ..MetadataResponseBroker::default()
        })
        .collect();
    MetadataResponse {
        throttle_time_ms: cluster.throttle_ms(ferrokafka_wire::ApiKey::METADATA),
        brokers,
        cluster_id: Some(cluster.config.cluster_id.clone()),
        controller_id: cluster.broker_ids().first().copied().unwrap_or(-1),
        topics: topics.into(),
        ..MetadataResponse::default()
    }
}

fn topic(cluster: &Cluster, name: &str, error: Option<ErrorCode>) -> MetadataResponseTopic {
    let Some(t) = cluster.topics.get(name) else {
        return MetadataResponseTopic {
            error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0,
            name: Some(name.to_owned()),
            ..MetadataResponseTopic::default()
        };
    };
    if let Some(e) = error {
        return MetadataResponseTopic {
            error_code: e.0,
            name: Some(name.to_owned()),
            ..MetadataResponseTopic::default()
        };
    }
    let partitions = t
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let isr: Vec<i32> = p
                .replicas
                .iter()
                .copied()
                .filter(|r| cluster.is_up(*r))
                .collect();
            let offline: Vec<i32> = p
                .replicas
                .iter()
                .copied()
                .filter(|r| !cluster.is_up(*r))
                .collect();
            MetadataResponsePartition {
                error_code: if p.leader < 0 {
                    ErrorCode::LEADER_NOT_AVAILABLE.0
                } else {
                    0
                },
                partition_index: i as i32,
                leader_id: p.leader,
                leader_epoch: p.leader_epoch,
                replica_nodes: p.replicas.clone(),
                isr_nodes: isr,
                offline_replicas: offline,
                ..MetadataResponsePartition::default()
            }
        })
        .collect();
    MetadataResponseTopic {
        error_code: 0,
        name: Some(name.to_owned()),
        topic_id: t.id,
        is_internal: false,
        partitions,
        ..MetadataResponseTopic::default()
    }
}
