//! What the engine needs to know beyond the accumulator's and the metadata policy's settings.

use std::time::Duration;

use ferrokafka_accumulator::AccumulatorConfig;
use ferrokafka_metadata::{BrokerAddress, MetadataConfig};

use crate::sasl::{Credentials, Mechanism};

/// SASL authentication of every connection (`security.protocol` `SASL_PLAINTEXT` or
/// `SASL_SSL`; TLS itself is the driver's).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaslConfig {
    /// `sasl.mechanism`.
    pub mechanism: Mechanism,
    /// User and password for PLAIN and SCRAM; OAUTHBEARER tokens come through
    /// [`Engine::set_oauth_token`](crate::Engine::set_oauth_token).
    pub credentials: Option<Credentials>,
}

impl SaslConfig {
    /// A SASL setting.
    pub fn new(mechanism: Mechanism, credentials: Option<Credentials>) -> Self {
        Self {
            mechanism,
            credentials,
        }
    }
}

/// The sender's settings (Java names in the field docs). The facade builds this from its
/// validated `ProducerConfig`; the engine trusts it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// `bootstrap.servers`, parsed.
    pub bootstrap: Vec<BrokerAddress>,
    /// `client.id`, sent in every request header.
    pub client_id: String,
    /// `acks`: 0, 1 or -1 (all).
    pub acks: i16,
    /// `request.timeout.ms`: how long a request may stay unanswered before its connection is
    /// dropped and its batches retried; also the Produce request's broker-side timeout.
    pub request_timeout: Duration,
    /// `retries`: resends of a batch after a retriable error (bounded by `delivery.timeout.ms`
    /// anyway).
    pub retries: u32,
    /// `max.in.flight.requests.per.connection`: unanswered requests per broker connection.
    pub max_in_flight_per_connection: usize,
    /// `reconnect.backoff.ms`.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`.
    pub reconnect_backoff_max: Duration,
    /// `socket.connection.setup.timeout.ms`.
    pub connection_setup_timeout: Duration,
    /// `connections.max.idle.ms`: a connection with nothing in flight and no request for this
    /// long is closed (reopened when needed).
    pub connections_max_idle: Duration,
    /// `client.rack` when `partitioner.rack.aware` is on (KIP-1123): keyless records go to
    /// partitions whose leader is in this rack, when any is available.
    pub preferred_rack: Option<String>,
    /// `metadata.recovery.strategy=rebootstrap` (KIP-899, the default): when no known broker
    /// can be reached, or no Metadata answer came for `rebootstrap_trigger`, or a broker answers
    /// REBOOTSTRAP_REQUIRED, metadata is fetched from the bootstrap servers again.
    pub rebootstrap: bool,
    /// `metadata.recovery.rebootstrap.trigger.ms` (KIP-1102).
    pub rebootstrap_trigger: Duration,
    /// `enable.idempotence`.
    pub idempotence: bool,
    /// `transactional.id`: enables transactions (implies idempotence).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (sent in InitProducerId).
    pub transaction_timeout: Duration,
    /// The accumulator's settings (`batch.size`, `linger.ms`, `buffer.memory`, ...).
    pub accumulator: AccumulatorConfig,
    /// The metadata policy's settings.
    pub metadata: MetadataConfig,
    /// SASL on every connection, after ApiVersions and before anything else.
    pub sasl: Option<SaslConfig>,
    /// Seed of the small PRNG that draws each retry's backoff jitter (±20 % of
    /// `retry.backoff.ms · 2^(attempts−1)`, capped at `retry.backoff.max.ms`, as Java since
    /// KIP-580); a given seed gives reproducible runs and simulations. The facade seeds it
    /// for every producer, as Java always jitters. `None` (the default here) retries after
    /// exactly the exponential backoff, for drivers and simulations that pin retry times.
    pub retry_jitter_seed: Option<u64>,
}

impl EngineConfig {
    /// Java defaults around the given bootstrap list.
    pub fn new(bootstrap: Vec<BrokerAddress>) -> Self {
        Self {
            bootstrap,
            client_id: "ferrokafka".to_owned(),
            acks: -1,
            request_timeout: Duration::from_secs(30),
            retries: i32::MAX as u32,
            max_in_flight_per_connection: 5,
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            connection_setup_timeout: Duration::from_secs(10),
            connections_max_idle: Duration::from_secs(540),
            preferred_rack: None,
            rebootstrap: true,
            rebootstrap_trigger: Duration::from_secs(300),
            idempotence: false,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
            accumulator: AccumulatorConfig::default(),
            metadata: MetadataConfig::default(),
            sasl: None,
            retry_jitter_seed: None,
        }
    }
}
