//! Metadata (key 3), versions 0–13, flexible from 9.
//!
//! In v0 an empty topic list means "all topics"; from v1 a null list means all
//! topics and an empty one means none. v10 adds topic ids, v12 allows a null name
//! (lookup by id), v13 adds a top-level error code (KIP-1102).

use crate::api::ApiKey;
use crate::lazy::LazyArray;
use crate::macros::{api_message, wire_struct};
use crate::types::Uuid;

wire_struct! {
    /// Metadata request.
    pub struct MetadataRequest {
        /// Topics to describe; null (v1+) for all topics. The default, an empty
        /// list, asks for no topics from v1 and for all topics in v0.
        topics: Option<Vec<MetadataRequestTopic>> [..] null [1..] = Some(Vec::new()),
        /// Whether the broker may auto-create the topics (v4+).
        allow_auto_topic_creation: bool [4..] = true,
        /// Whether to include cluster authorized operations (v8–10).
        include_cluster_authorized_operations: bool [8..=10],
        /// Whether to include topic authorized operations.
        include_topic_authorized_operations: bool [8..],
    }
}
api_message!(MetadataRequest, ApiKey::METADATA, versions 0..=13, flexible(9..));

wire_struct! {
    /// A topic in a Metadata request.
    pub struct MetadataRequestTopic {
        /// Topic id (v10+).
        topic_id: Uuid [10..],
        /// Topic name; null (v10+) to look up by id.
        name: Option<String> [..] null [10..],
    }
}

wire_struct! {
    /// Metadata response.
    pub struct MetadataResponse {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 [3..],
        /// Brokers in the cluster.
        brokers: Vec<MetadataResponseBroker> [..],
        /// Cluster id.
        cluster_id: Option<String> [2..] null [2..],
        /// Controller broker id, -1 if unknown.
        controller_id: i32 [1..] = -1,
        /// Topics, kept encoded until read (a cluster can have very many).
        topics: LazyArray<MetadataResponseTopic> [..],
        /// Cluster authorized operations (v8–10).
        cluster_authorized_operations: i32 [8..=10] = i32::MIN,
        /// Top-level error (v13+).
        error_code: i16 [13..],
    }
}
api_message!(MetadataResponse, ApiKey::METADATA, versions 0..=13, flexible(9..));

wire_struct! {
    /// A broker in a Metadata response.
    pub struct MetadataResponseBroker {
        /// Broker id.
        node_id: i32 [..],
        /// Host name.
        host: String [..],
        /// Port.
        port: i32 [..],
        /// Rack, if configured.
        rack: Option<String> [1..] null [1..],
    }
}

wire_struct! {
    /// A topic in a Metadata response.
    pub struct MetadataResponseTopic {
        /// Topic-level error.
        error_code: i16 [..],
        /// Topic name (null possible from v12).
        name: Option<String> [..] null [12..],
        /// Topic id (v10+).
        topic_id: Uuid [10..],
        /// Whether the topic is internal.
        is_internal: bool [1..],
        /// Partitions, kept encoded until read (a topic can have a million).
        partitions: LazyArray<MetadataResponsePartition> [..],
        /// Topic authorized operations (v8+).
        topic_authorized_operations: i32 [8..] = i32::MIN,
    }
}

wire_struct! {
    /// A partition in a Metadata response.
    pub struct MetadataResponsePartition {
        /// Partition-level error.
        error_code: i16 [..],
        /// Partition index.
        partition_index: i32 [..],
        /// Leader broker id, -1 if none.
        leader_id: i32 [..],
        /// Leader epoch (v7+), -1 if unknown.
        leader_epoch: i32 [7..] = -1,
        /// Replicas.
        replica_nodes: Vec<i32> [..],
        /// In-sync replicas.
        isr_nodes: Vec<i32> [..],
        /// Offline replicas (v5+).
        offline_replicas: Vec<i32> [5..],
    }
}
