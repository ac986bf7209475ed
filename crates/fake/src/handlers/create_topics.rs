//! CreateTopics (key 19), v2–7.
//!
//! Creates each topic with its partition count (-1: one partition) and the configs the fake
//! honours (`message.timestamp.type`, `max.message.bytes`); TOPIC_ALREADY_EXISTS,
//! INVALID_PARTITIONS and INVALID_CONFIG as Kafka answers them. `validate_only` checks without
//! creating. The replication factor is ignored (replicas are the brokers, up to three).

use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::messages::create_topics::CreatableTopicResult;
use ferrokafka_wire::messages::{CreateTopicsRequest, CreateTopicsResponse};

use crate::cluster::{Cluster, Ctx, TopicError};
use crate::config::TopicConfig;

pub(crate) fn handle(
    cluster: &mut Cluster,
    _ctx: Ctx,
    req: &CreateTopicsRequest,
    error: Option<ErrorCode>,
) -> CreateTopicsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = if t.num_partitions == -1 {
                1
            } else {
                t.num_partitions
            };
            let mut config = TopicConfig::default();
            let mut code = error.unwrap_or(ErrorCode::NONE);
            let mut message = None;
            for c in &t.configs {
                if !config.apply(&c.name, c.value.as_deref().unwrap_or_default()) {
                    code = ErrorCode::INVALID_CONFIG;
                    message = Some(format!("invalid value for {}", c.name));
                }
            }
            if code == ErrorCode::NONE {
                if cluster.topics.contains_key(&t.name) {
                    code = ErrorCode::TOPIC_ALREADY_EXISTS;
                    message = Some(format!("Topic '{}' already exists.", t.name));
                } else if partitions < 1 {
                    code = ErrorCode::INVALID_PARTITIONS;
                } else if !req.validate_only {
                    match cluster.create_topic(&t.name, partitions, config) {
                        Ok(()) => {}
                        Err(TopicError::AlreadyExists(_)) => code = ErrorCode::TOPIC_ALREADY_EXISTS,
                        Err(e) => {
                            code = ErrorCode::INVALID_REQUEST;
                            message = Some(e.to_string());
                        }
                    }
                }
            }
            let topic_id = cluster
                .topics
                .get(&t.name)
                .map(|t| t.id)
                .unwrap_or_default();
            CreatableTopicResult {
                name: t.name.clone(),
                topic_id,
                error_code: code.0,
                error_message: message,
                num_partitions: if code == ErrorCode::NONE {
                    partitions
                } else {
                    -1
                },
                replication_factor: if code == ErrorCode::NONE {
                    cluster.brokers.len().min(3) as i16
                } else {
                    -1
                },
                ..CreatableTopicResult::default()
            }
        })
        .collect();
    CreateTopicsResponse {
        throttle_time_ms: cluster.throttle_ms(ferrokafka_wire::ApiKey::CREATE_TOPICS),
        topics,
        ..CreateTopicsResponse::default()
    }
}
