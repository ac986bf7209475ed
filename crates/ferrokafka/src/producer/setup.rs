//! What `Producer::new` derives from the configuration: the engine's settings, the
//! OAUTHBEARER token source, a seed for the partitioner and the retry jitter.

#[allow(clippy::wildcard_imports)]
use super::*;

/// A seed from the process's hash randomness and the clock: partitioners of different
/// producers should not pick the same sticky partitions.
pub(super) fn entropy_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The OAUTHBEARER token source, with the built-in OIDC provider built (it reaches `https`
/// endpoints with the producer's own trust settings).
#[cfg_attr(not(feature = "oidc"), allow(clippy::unnecessary_wraps))]
pub(super) fn oauth_source(
    config: &ProducerConfig,
) -> Result<Option<crate::config::TokenSource>, ProduceError> {
    #[cfg(feature = "oidc")]
    if let Some(crate::config::TokenSource::Oidc {
        url,
        client_id,
        client_secret,
        scope,
    }) = &config.security.oauth
    {
        let tls = crate::tls::client_config(&config.security.ssl)?;
        let provider = crate::oidc::OidcTokenProvider::new(
            url,
            client_id.clone(),
            client_secret.clone(),
            scope.clone(),
            tls,
        )
        .map_err(|e| {
            ProduceError::from(crate::ConfigError::InvalidValue {
                key: "sasl.oauthbearer.token.endpoint.url",
                value: url.clone(),
                expected: e,
            })
        })?;
        return Ok(Some(crate::config::TokenSource::Provider(
            std::sync::Arc::new(provider),
        )));
    }
    Ok(config.security.oauth.clone())
}

pub(super) fn engine_config(c: &ProducerConfig) -> EngineConfig {
    let mut e = EngineConfig::new(c.bootstrap_servers.clone());
    e.client_id.clone_from(&c.client_id);
    e.acks = c.acks.as_i16();
    e.request_timeout = c.request_timeout;
    e.retries = u32::try_from(c.retries).unwrap_or(0);
    e.max_in_flight_per_connection = c.max_in_flight_requests_per_connection;
    e.reconnect_backoff = c.reconnect_backoff;
    e.reconnect_backoff_max = c.reconnect_backoff_max;
    e.connection_setup_timeout = c.socket_connection_setup_timeout;
    e.connections_max_idle = c.connections_max_idle;
    e.rebootstrap =
        c.metadata_recovery_strategy == crate::config::MetadataRecoveryStrategy::Rebootstrap;
    e.rebootstrap_trigger = c.metadata_recovery_rebootstrap_trigger;
    e.preferred_rack =
        (c.partitioner_rack_aware && !c.client_rack.is_empty()).then(|| c.client_rack.clone());
    e.idempotence = c.enable_idempotence;
    e.transaction_timeout = c.transaction_timeout;
    e.transactional_id.clone_from(&c.transactional_id);
    e.accumulator = c.to_accumulator_config();
    e.metadata = c.to_metadata_config();
    e.sasl.clone_from(&c.security.sasl);
    // Java spreads retries of many producers apart with ±20 % jitter (KIP-580).
    e.retry_jitter_seed = Some(entropy_seed());
    e
}
