//! [`ProducerConfig`]: the Java producer's settings (Kafka 3.9/4.0 names and defaults).
//!
//! Two ways in, one validation: the typed [`ProducerConfigBuilder`]
//! (`ProducerConfig::builder().bootstrap_servers("b:9092").linger(..).build()?`) and string
//! properties ([`ProducerConfigBuilder::set`], [`ProducerConfig::from_properties`]). Durations are
//! given in milliseconds as strings and as [`Duration`] in the builder; sizes are bytes.
//!
//! `linger.ms` defaults to 5 ms, the Kafka 4.0 default (KIP-1030; it was 0 before 4.0).
//!
//! [`ProducerConfigBuilder::build`] applies Java's cross-checks: `delivery.timeout.ms` must cover
//! `linger.ms + request.timeout.ms`; idempotence is turned off (with a [`ConfigWarning`]) when the
//! user did not set `enable.idempotence` but chose settings it cannot work with, and is an error
//! when they set it to true explicitly; `transactional.id` requires idempotence.

use std::time::Duration;

use ferrokafka_accumulator::AccumulatorConfig;
use ferrokafka_metadata::{BrokerAddress, MetadataConfig, parse_bootstrap};
use ferrokafka_partition::PartitionerConfig;
use ferrokafka_records::{Compression, CompressionType};

use crate::transport::{Transport, TransportChoice};

mod checks;
mod error;
mod keys;
mod security;
#[cfg(test)]
mod tests;

use checks::{check_ranges, cross_check};
pub use error::{ConfigError, ConfigWarning};
pub use keys::KNOWN_KEYS;
pub use security::{PemSource, Secret, SecurityConfig, SecurityProtocol, SslConfig, TokenSource};

/// `acks`: how many replicas must acknowledge a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Acks {
    /// `acks=0`: no acknowledgement.
    None,
    /// `acks=1`: the leader only.
    Leader,
    /// `acks=all` (or `-1`, the default): every in-sync replica.
    #[default]
    All,
}

impl Acks {
    /// The value sent in Produce requests (0, 1 or -1).
    pub const fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// Makes the application's partitioner for each producer.
type MakePartitioner = dyn Fn() -> Box<dyn crate::partitioner::Partitioner> + Send + Sync;

/// The application's partitioner factory, if any. Compared by identity.
#[derive(Clone, Default)]
pub(crate) struct CustomPartitioner(pub(crate) Option<std::sync::Arc<MakePartitioner>>);

impl std::fmt::Debug for CustomPartitioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Custom" } else { "None" })
    }
}

impl PartialEq for CustomPartitioner {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// `metadata.recovery.strategy` (KIP-899): what to do when the brokers of the last known
/// metadata cannot be reached or metadata cannot be refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MetadataRecoveryStrategy {
    /// `none`: keep trying the brokers of the last known metadata.
    None,
    /// `rebootstrap` (the default, as in the Java 4.x client): fetch metadata from
    /// `bootstrap.servers` again, so a cluster replaced behind its bootstrap address is found.
    #[default]
    Rebootstrap,
}

/// A validated producer configuration. Build one with [`ProducerConfig::builder`] or
/// [`ProducerConfig::from_properties`]; every field is named after its Java setting.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// `bootstrap.servers` (required): the initial brokers.
    pub bootstrap_servers: Vec<BrokerAddress>,
    /// `client.id` (default empty).
    pub client_id: String,
    /// `acks` (default all).
    pub acks: Acks,
    /// `linger.ms` (default 5, the Kafka 4.0 default from KIP-1030).
    pub linger: Duration,
    /// `batch.size` in bytes (default 16384).
    pub batch_size: usize,
    /// `buffer.memory` in bytes (default 33554432).
    pub buffer_memory: usize,
    /// `compression.type` and the level of that codec (`compression.<codec>.level`).
    pub compression: Compression,
    /// `compression.gzip.level` (default -1 = zlib's default).
    pub gzip_level: i32,
    /// `compression.lz4.level` (default 9).
    pub lz4_level: i32,
    /// `compression.zstd.level` (default 3).
    pub zstd_level: i32,
    /// `max.block.ms` (default 60000).
    pub max_block: Duration,
    /// `max.request.size` in bytes (default 1048576).
    pub max_request_size: usize,
    /// `request.timeout.ms` (default 30000).
    pub request_timeout: Duration,
    /// `delivery.timeout.ms` (default 120000).
    pub delivery_timeout: Duration,
    /// `retries` (default `i32::MAX`).
    pub retries: i32,
    /// `retry.backoff.ms` (default 100).
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms` (default 1000); raised to `retry.backoff.ms` when below it.
    pub retry_backoff_max: Duration,
    /// `max.in.flight.requests.per.connection` (default 5).
    pub max_in_flight_requests_per_connection: usize,
    /// `metadata.max.age.ms` (default 300000).
    pub metadata_max_age: Duration,
    /// `metadata.max.idle.ms` (default 300000, at least 5000).
    pub metadata_max_idle: Duration,
    /// `metadata.recovery.strategy` (default `rebootstrap`).
    pub metadata_recovery_strategy: MetadataRecoveryStrategy,
    /// `metadata.recovery.rebootstrap.trigger.ms` (default 300000): rebootstrap when no
    /// metadata could be obtained for this long (KIP-1102).
    pub metadata_recovery_rebootstrap_trigger: Duration,
    /// `partitioner` / `partitioner.class` (default empty = the built-in partitioner): a Java
    /// class name or a librdkafka partitioner name, as `ferrokafka_partition::by_name_with` takes.
    pub partitioner: String,
    /// `partitioner.adaptive.partitioning.enable` (default true).
    pub partitioner_adaptive_partitioning: bool,
    /// `partitioner.availability.timeout.ms` (default 0 = off).
    pub partitioner_availability_timeout: Duration,
    /// `partitioner.ignore.keys` (default false).
    pub partitioner_ignore_keys: bool,
    /// `partitioner.rack.aware` (default false, KIP-1123): with `client.rack` set, keyless
    /// records go to partitions whose leader is in the client's rack when there are any.
    pub partitioner_rack_aware: bool,
    /// `client.rack` (default empty): the rack (availability zone) the client runs in.
    pub client_rack: String,
    /// `enable.idempotence` (default true), after the cross-checks.
    pub enable_idempotence: bool,
    /// `transactional.id` (default none).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (default 60000).
    pub transaction_timeout: Duration,
    /// `reconnect.backoff.ms` (default 50).
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms` (default 1000); raised to `reconnect.backoff.ms` when below it.
    pub reconnect_backoff_max: Duration,
    /// `connections.max.idle.ms` (default 540000).
    pub connections_max_idle: Duration,
    /// `socket.connection.setup.timeout.ms` (default 10000).
    pub socket_connection_setup_timeout: Duration,
    /// `security.protocol` with its `ssl.*` and `sasl.*` settings.
    pub security: SecurityConfig,
    /// What the cross-checks changed (e.g. idempotence disabled, and why).
    pub warnings: Vec<ConfigWarning>,
    /// Where connections come from ([`ProducerConfigBuilder::transport`]; TCP by default).
    /// Configurations compare equal only with the same transport instance.
    pub(crate) transport: TransportChoice,
    /// Interceptors, in order ([`ProducerConfigBuilder::interceptor`]). Compared by identity.
    pub(crate) interceptors: crate::interceptor::Interceptors,
    /// The application's partitioner ([`ProducerConfigBuilder::custom_partitioner`]), which
    /// replaces `partitioner`. Compared by identity.
    pub(crate) custom_partitioner: CustomPartitioner,
}

impl ProducerConfig {
    /// A builder holding the Java defaults (and no `bootstrap.servers` yet).
    pub fn builder() -> ProducerConfigBuilder {
        ProducerConfigBuilder::default()
    }

    /// Builds a configuration from `(key, value)` string pairs, as a Java `Properties`.
    pub fn from_properties<I, K, V>(props: I) -> Result<ProducerConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut b = ProducerConfig::builder();
        for (k, v) in props {
            b = b.set(k.as_ref(), v.as_ref());
        }
        b.build()
    }

    /// What the cross-checks changed.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The accumulator's settings.
    pub fn to_accumulator_config(&self) -> AccumulatorConfig {
        let mut c = AccumulatorConfig::default();
        c.batch_size = self.batch_size;
        c.linger = self.linger;
        // A batch may leave half a millisecond before its linger.ms is up: Java's sender, which
        // counts whole milliseconds, sends it anywhere in the millisecond before, half a
        // millisecond early on average. (The driver's alarm wakes it on time for that; tokio's
        // timers alone fire up to a millisecond or two late.)
        c.linger_slack = Duration::from_micros(500);
        c.buffer_memory = self.buffer_memory;
        c.max_request_size = self.max_request_size;
        c.delivery_timeout = self.delivery_timeout;
        c.retry_backoff = self.retry_backoff;
        c.retry_backoff_max = self.retry_backoff_max;
        c.max_in_flight_per_partition = self.max_in_flight_requests_per_connection;
        c.compression = self.compression;
        c
    }

    /// The metadata refresh settings.
    pub fn to_metadata_config(&self) -> MetadataConfig {
        MetadataConfig {
            max_age: self.metadata_max_age,
            retry_backoff: self.retry_backoff,
            retry_backoff_max: self.retry_backoff_max,
            max_idle: self.metadata_max_idle,
            ..MetadataConfig::default()
        }
    }

    /// The partitioner settings (with the partition crate's default seed: a producer should
    /// replace [`PartitionerConfig::seed`] with real entropy). Build the partitioner with
    /// `ferrokafka_partition::by_name_with(&config.partitioner, &config.partitioner_config())`.
    pub fn partitioner_config(&self) -> PartitionerConfig {
        let mut c = PartitionerConfig::default();
        c.batch_size = u32::try_from(self.batch_size).unwrap_or(u32::MAX);
        c.adaptive_partitioning = self.partitioner_adaptive_partitioning;
        c.availability_timeout_ms =
            u64::try_from(self.partitioner_availability_timeout.as_millis()).unwrap_or(u64::MAX);
        c.ignore_keys = self.partitioner_ignore_keys;
        c
    }
}

/// Collects settings (typed or as strings); [`build`](Self::build) validates them all.
#[derive(Debug, Clone)]
pub struct ProducerConfigBuilder {
    config: ProducerConfig,
    security: security::Pending,
    /// The application's OAUTHBEARER provider (a [`TokenSource::Provider`]).
    oauth_provider: Option<TokenSource>,
    bootstrap: Option<String>,
    compression_type: CompressionType,
    idempotence: Option<bool>,
    delivery_timeout_set: bool,
    error: Option<ConfigError>,
}

impl Default for ProducerConfigBuilder {
    // Written in milliseconds, as Java documents them.
    #[allow(clippy::duration_suboptimal_units)]
    fn default() -> Self {
        ProducerConfigBuilder {
            config: ProducerConfig {
                bootstrap_servers: Vec::new(),
                client_id: String::new(),
                acks: Acks::All,
                linger: Duration::from_millis(5),
                batch_size: 16_384,
                buffer_memory: 33_554_432,
                compression: Compression::NONE,
                gzip_level: -1,
                lz4_level: 9,
                zstd_level: 3,
                max_block: Duration::from_millis(60_000),
                max_request_size: 1_048_576,
                request_timeout: Duration::from_millis(30_000),
                delivery_timeout: Duration::from_millis(120_000),
                retries: i32::MAX,
                retry_backoff: Duration::from_millis(100),
                retry_backoff_max: Duration::from_millis(1000),
                max_in_flight_requests_per_connection: 5,
                metadata_max_age: Duration::from_millis(300_000),
                metadata_max_idle: Duration::from_millis(300_000),
                metadata_recovery_strategy: MetadataRecoveryStrategy::Rebootstrap,
                metadata_recovery_rebootstrap_trigger: Duration::from_millis(300_000),
                partitioner: String::new(),
                partitioner_adaptive_partitioning: true,
                partitioner_availability_timeout: Duration::ZERO,
                partitioner_ignore_keys: false,
                partitioner_rack_aware: false,
                client_rack: String::new(),
                enable_idempotence: true,
                transactional_id: None,
                transaction_timeout: Duration::from_millis(60_000),
                reconnect_backoff: Duration::from_millis(50),
                reconnect_backoff_max: Duration::from_millis(1000),
                connections_max_idle: Duration::from_millis(540_000),
                socket_connection_setup_timeout: Duration::from_millis(10_000),
                security: SecurityConfig::default(),
                warnings: Vec::new(),
                transport: TransportChoice::default(),
                interceptors: crate::interceptor::Interceptors::default(),
                custom_partitioner: CustomPartitioner::default(),
            },
            security: security::Pending::default(),
            oauth_provider: None,
            bootstrap: None,
            compression_type: CompressionType::None,
            idempotence: None,
            delivery_timeout_set: false,
            error: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$field = value;
                self
            }
        )*
    };
}

impl ProducerConfigBuilder {
    /// `bootstrap.servers`: a comma-separated `host:port` list.
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap = Some(servers.into());
        self
    }

    /// `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }

    /// `client.rack`: the rack (availability zone) the client runs in; with
    /// `partitioner.rack.aware`, keyless records prefer partitions led in this rack.
    pub fn client_rack(mut self, rack: impl Into<String>) -> Self {
        self.config.client_rack = rack.into();
        self
    }

    /// `compression.type`.
    pub fn compression_type(mut self, kind: CompressionType) -> Self {
        self.compression_type = kind;
        self
    }

    /// `delivery.timeout.ms`.
    pub fn delivery_timeout(mut self, value: Duration) -> Self {
        self.config.delivery_timeout = value;
        self.delivery_timeout_set = true;
        self
    }

    /// `partitioner`: a Java class name or librdkafka partitioner name.
    pub fn partitioner(mut self, name: impl Into<String>) -> Self {
        self.config.partitioner = name.into();
        self
    }

    /// A partitioner of the application's own (Java's `partitioner.class` set to your class):
    /// `make` builds one for each producer made from this configuration. It replaces the
    /// `partitioner` setting; a record's explicit partition still wins over it. See
    /// [`crate::partitioner`] for the trait and an example.
    pub fn custom_partitioner<P, F>(mut self, make: F) -> Self
    where
        P: crate::partitioner::Partitioner + 'static,
        F: Fn() -> P + Send + Sync + 'static,
    {
        self.config.custom_partitioner = CustomPartitioner(Some(std::sync::Arc::new(move || {
            Box::new(make()) as Box<dyn crate::partitioner::Partitioner>
        })));
        self
    }

    /// `enable.idempotence`, set explicitly.
    pub fn enable_idempotence(mut self, value: bool) -> Self {
        self.idempotence = Some(value);
        self
    }

    /// `transactional.id`.
    pub fn transactional_id(mut self, id: impl Into<String>) -> Self {
        self.config.transactional_id = Some(id.into());
        self
    }

    setters! {
        /// `acks`.
        acks: Acks => acks;
        /// `linger.ms`.
        linger: Duration => linger;
        /// `batch.size` in bytes.
        batch_size: usize => batch_size;
        /// `buffer.memory` in bytes.
        buffer_memory: usize => buffer_memory;
        /// `compression.gzip.level`.
        gzip_level: i32 => gzip_level;
        /// `compression.lz4.level`.
        lz4_level: i32 => lz4_level;
        /// `compression.zstd.level`.
        zstd_level: i32 => zstd_level;
        /// `max.block.ms`.
        max_block: Duration => max_block;
        /// `max.request.size` in bytes.
        max_request_size: usize => max_request_size;
        /// `request.timeout.ms`.
        request_timeout: Duration => request_timeout;
        /// `retries`.
        retries: i32 => retries;
        /// `retry.backoff.ms`.
        retry_backoff: Duration => retry_backoff;
        /// `retry.backoff.max.ms`.
        retry_backoff_max: Duration => retry_backoff_max;
        /// `max.in.flight.requests.per.connection`.
        max_in_flight_requests_per_connection: usize => max_in_flight_requests_per_connection;
        /// `metadata.max.age.ms`.
        metadata_max_age: Duration => metadata_max_age;
        /// `metadata.max.idle.ms`.
        metadata_max_idle: Duration => metadata_max_idle;
        /// `metadata.recovery.strategy`.
        metadata_recovery_strategy: MetadataRecoveryStrategy => metadata_recovery_strategy;
        /// `metadata.recovery.rebootstrap.trigger.ms`.
        metadata_recovery_rebootstrap_trigger: Duration => metadata_recovery_rebootstrap_trigger;
        /// `partitioner.adaptive.partitioning.enable`.
        partitioner_adaptive_partitioning: bool => partitioner_adaptive_partitioning;
        /// `partitioner.availability.timeout.ms`.
        partitioner_availability_timeout: Duration => partitioner_availability_timeout;
        /// `partitioner.ignore.keys`.
        partitioner_ignore_keys: bool => partitioner_ignore_keys;
        /// `partitioner.rack.aware`.
        partitioner_rack_aware: bool => partitioner_rack_aware;
        /// `transaction.timeout.ms`.
        transaction_timeout: Duration => transaction_timeout;
        /// `reconnect.backoff.ms`.
        reconnect_backoff: Duration => reconnect_backoff;
        /// `reconnect.backoff.max.ms`.
        reconnect_backoff_max: Duration => reconnect_backoff_max;
        /// `connections.max.idle.ms`.
        connections_max_idle: Duration => connections_max_idle;
        /// `socket.connection.setup.timeout.ms`.
        socket_connection_setup_timeout: Duration => socket_connection_setup_timeout;
    }

    /// The application's OAUTHBEARER token provider (with `security.protocol=SASL_*` and
    /// `sasl.mechanism=OAUTHBEARER`); without one, the built-in unsecured token of
    /// `sasl.oauthbearer.config` is used (test clusters only).
    pub fn oauth_token_provider(
        mut self,
        provider: std::sync::Arc<dyn crate::OAuthBearerTokenProvider>,
    ) -> Self {
        self.oauth_provider = Some(TokenSource::Provider(provider));
        self
    }

    /// Adds an interceptor (Java `interceptor.classes`): it sees every record before it is
    /// queued and every outcome; interceptors run in the order added. See
    /// [`crate::interceptor`].
    pub fn interceptor(
        mut self,
        interceptor: impl crate::interceptor::ProducerInterceptor,
    ) -> Self {
        self.config
            .interceptors
            .0
            .push(std::sync::Arc::new(interceptor));
        self
    }

    /// Where the producer's connections come from (default: TCP,
    /// [`TcpTransport`](crate::transport::TcpTransport)). TLS and SASL still apply on top of
    /// the streams it returns. Meant for tests — in-memory connections to a fake cluster let a
    /// producer run on tokio's paused clock — and for tunnels or proxies; see
    /// [`crate::transport`].
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.config.transport = TransportChoice(Some(std::sync::Arc::new(transport)));
        self
    }

    /// Sets a Java-named property from its string value. An unknown key or malformed value is
    /// remembered and reported by [`build`](Self::build) (the first one wins).
    pub fn set(mut self, key: &str, value: &str) -> Self {
        if self.error.is_none()
            && let Err(e) = keys::apply(&mut self, key, value)
        {
            self.error = Some(e);
        }
        self
    }

    /// Validates everything and applies Java's cross-checks.
    pub fn build(self) -> Result<ProducerConfig, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut c = self.config;
        c.warnings.clear();
        let servers = self.bootstrap.ok_or(ConfigError::MissingBootstrapServers)?;
        c.bootstrap_servers = parse_bootstrap(&servers)?;
        security::finish(&mut c.security, &self.security, self.oauth_provider)?;
        if c.security.protocol.tls() && !c.security.ssl.verify_certificates {
            c.warnings
                .push(ConfigWarning::CertificateVerificationDisabled);
        }
        check_ranges(&c)?;
        for (kind, level) in [
            (CompressionType::Gzip, c.gzip_level),
            (CompressionType::Lz4, c.lz4_level),
            (CompressionType::Zstd, c.zstd_level),
        ] {
            Compression::new(kind, Some(level)).map_err(|e| ConfigError::InvalidValue {
                key: kind.level_setting().unwrap_or("compression.type"),
                value: level.to_string(),
                expected: e.to_string(),
            })?;
        }
        let level = match self.compression_type {
            CompressionType::Gzip => Some(c.gzip_level),
            CompressionType::Lz4 => Some(c.lz4_level),
            CompressionType::Zstd => Some(c.zstd_level),
            _ => None,
        };
        c.compression = Compression {
            kind: self.compression_type,
            level,
        };
        ferrokafka_partition::by_name_with(&c.partitioner, &PartitionerConfig::default()).map_err(
            |_| ConfigError::InvalidValue {
                key: "partitioner",
                value: c.partitioner.clone(),
                expected: keys::PARTITIONER_NAMES.to_owned(),
            },
        )?;
        cross_check(&mut c, self.idempotence, self.delivery_timeout_set)?;
        Ok(c)
    }
}
