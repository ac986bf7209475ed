//! Cluster and topic configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka_wire::ApiKey;

/// The APIs the fake serves and the versions it advertises by default.
///
/// Produce stops at v12 (v13 names topics by id); Fetch, ListOffsets and OffsetFetch stop where
/// the wire crate's declarations stop. EndTxn v5, TxnOffsetCommit v5 and Produce v12 carry
/// transactions v2 semantics only when [`ClusterBuilder::transactions_v2`] is on.
pub const DEFAULT_API_VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::PRODUCE, 3, 12),
    (ApiKey::FETCH, 4, 12),
    (ApiKey::LIST_OFFSETS, 1, 7),
    (ApiKey::METADATA, 0, 12),
    (ApiKey::OFFSET_FETCH, 1, 7),
    (ApiKey::FIND_COORDINATOR, 0, 6),
    (ApiKey::API_VERSIONS, 0, 4),
    (ApiKey::CREATE_TOPICS, 2, 7),
    (ApiKey::INIT_PRODUCER_ID, 0, 5),
    (ApiKey::ADD_PARTITIONS_TO_TXN, 0, 3),
    (ApiKey::ADD_OFFSETS_TO_TXN, 0, 4),
    (ApiKey::END_TXN, 0, 5),
    (ApiKey::TXN_OFFSET_COMMIT, 0, 5),
];

/// Per-topic configuration (the Kafka topic configs the fake honours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// `message.timestamp.type=LogAppendTime`: the broker stamps each batch with its append
    /// time.
    pub log_append_time: bool,
    /// `max.message.bytes`: the largest batch accepted (MESSAGE_TOO_LARGE above it).
    pub max_message_bytes: usize,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            log_append_time: false,
            // Kafka's default, 1 MiB + the batch overhead.
            max_message_bytes: 1_048_588,
        }
    }
}

impl TopicConfig {
    /// Applies one Kafka topic config (`message.timestamp.type`, `max.message.bytes`); other
    /// keys are ignored. Returns false for a value it cannot parse.
    pub fn apply(&mut self, key: &str, value: &str) -> bool {
        match key {
            "message.timestamp.type" => match value {
                "LogAppendTime" => self.log_append_time = true,
                "CreateTime" => self.log_append_time = false,
                _ => return false,
            },
            "max.message.bytes" => match value.parse() {
                Ok(v) => self.max_message_bytes = v,
                Err(_) => return false,
            },
            _ => {}
        }
        true
    }
}

/// One broker's identity and advertised address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Node id.
    pub id: i32,
    /// Advertised host (the server fills in its loopback address).
    pub host: String,
    /// Advertised port (the server fills in the port it bound).
    pub port: i32,
    /// Rack, if any.
    pub rack: Option<String>,
}

/// The cluster configuration; build with [`ClusterConfig::builder`].
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub(crate) brokers: Vec<BrokerConfig>,
    pub(crate) cluster_id: String,
    pub(crate) api_versions: BTreeMap<ApiKey, (i16, i16)>,
    pub(crate) transactions_v2: bool,
    pub(crate) auto_create_partitions: Option<i32>,
    pub(crate) max_transaction_timeout_ms: i32,
    pub(crate) response_delay: Duration,
    pub(crate) topics: Vec<(String, i32, TopicConfig)>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterBuilder::default().build()
    }
}

impl ClusterConfig {
    /// A builder: one broker (id 1), no topics, auto-creation with one partition, the
    /// default API versions, transactions v1.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// The advertised range of `api`, if it is served.
    pub fn api_range(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.api_versions.get(&api).copied()
    }

    /// Whether the cluster runs transactions v2 (KIP-890).
    pub fn transactions_v2(&self) -> bool {
        self.transactions_v2
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }
}

/// Builds a [`ClusterConfig`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    config: ClusterConfig,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        Self {
            config: ClusterConfig {
                brokers: vec![BrokerConfig {
                    id: 1,
                    host: "127.0.0.1".into(),
                    port: 9092,
                    rack: None,
                }],
                cluster_id: "ferrokafka-fake".into(),
                api_versions: DEFAULT_API_VERSIONS
                    .iter()
                    .map(|&(k, lo, hi)| (k, (lo, hi)))
                    .collect(),
                transactions_v2: false,
                auto_create_partitions: Some(1),
                max_transaction_timeout_ms: 900_000,
                response_delay: Duration::ZERO,
                topics: Vec::new(),
            },
        }
    }
}

impl ClusterBuilder {
    /// `n` brokers with ids 1..=n (n is at least 1).
    pub fn brokers(self, n: i32) -> Self {
        let ids: Vec<i32> = (1..=n.max(1)).collect();
        self.broker_ids(&ids)
    }

    /// Brokers with these ids (at least one; duplicates dropped), for example to stand up a
    /// second cluster whose brokers differ from a first one's.
    pub fn broker_ids(mut self, ids: &[i32]) -> Self {
        let mut ids: Vec<i32> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            ids.push(1);
        }
        self.config.brokers = ids
            .into_iter()
            .map(|id| BrokerConfig {
                id,
                host: "127.0.0.1".into(),
                port: 9091 + id,
                rack: None,
            })
            .collect();
        self
    }

    /// Puts broker `id` in `rack`.
    pub fn rack(mut self, id: i32, rack: &str) -> Self {
        if let Some(b) = self.config.brokers.iter_mut().find(|b| b.id == id) {
            b.rack = Some(rack.to_owned());
        }
        self
    }

    /// A topic created at start.
    pub fn topic(self, name: &str, partitions: i32) -> Self {
        self.topic_with(name, partitions, TopicConfig::default())
    }

    /// A topic created at start, with its configuration.
    pub fn topic_with(mut self, name: &str, partitions: i32, config: TopicConfig) -> Self {
        self.config
            .topics
            .push((name.to_owned(), partitions.max(1), config));
        self
    }

    /// Advertises `api` at `min..=max` (to test negotiation); versions outside what the fake
    /// implements are never advertised.
    pub fn api_versions(mut self, api: ApiKey, min: i16, max: i16) -> Self {
        if let Some(&(_, lo, hi)) = DEFAULT_API_VERSIONS.iter().find(|(k, _, _)| *k == api) {
            let (min, max) = (min.max(lo), max.min(hi));
            if min <= max {
                self.config.api_versions.insert(api, (min, max));
            } else {
                self.config.api_versions.remove(&api);
            }
        }
        self
    }

    /// Stops serving `api` (it leaves ApiVersions; a request for it closes the connection).
    pub fn without_api(mut self, api: ApiKey) -> Self {
        self.config.api_versions.remove(&api);
        self
    }

    /// Finalizes `transaction.version=2` (KIP-890): Produce v12 adds partitions to a
    /// transaction implicitly, TxnOffsetCommit v5 adds its group, EndTxn v5 bumps the epoch
    /// and returns it.
    pub fn transactions_v2(mut self, on: bool) -> Self {
        self.config.transactions_v2 = on;
        self
    }

    /// Creates unknown topics named in Metadata requests that allow it, with `partitions`
    /// partitions (`None`: never).
    pub fn auto_create_topics(mut self, partitions: Option<i32>) -> Self {
        self.config.auto_create_partitions = partitions.map(|p| p.max(1));
        self
    }

    /// `transaction.max.timeout.ms` (InitProducerId above it: INVALID_TRANSACTION_TIMEOUT).
    pub fn max_transaction_timeout_ms(mut self, ms: i32) -> Self {
        self.config.max_transaction_timeout_ms = ms;
        self
    }

    /// Delays every answer by `by` (simulated network latency).
    pub fn response_delay(mut self, by: Duration) -> Self {
        self.config.response_delay = by;
        self
    }

    /// The cluster id reported in Metadata.
    pub fn cluster_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.config.cluster_id);
        self
    }

    /// The configuration.
    pub fn build(self) -> ClusterConfig {
        self.config
    }
}
