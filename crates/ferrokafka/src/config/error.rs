//! Errors and warnings of [`ProducerConfig`](super::ProducerConfig) validation.

use ferrokafka_metadata::BootstrapError;

/// Why a producer configuration was rejected. Every variant names the Java setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A property key this client does not know.
    #[error("unknown producer config `{key}`{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The closest known key, when one is close.
        suggestion: Option<&'static str>,
    },
    /// A value that cannot be parsed or is out of range.
    #[error("invalid value `{value}` for `{key}`: expected {expected}")]
    InvalidValue {
        /// The setting.
        key: &'static str,
        /// The value as given (or formatted).
        value: String,
        /// The accepted values or range.
        expected: String,
    },
    /// `bootstrap.servers` was not given.
    #[error("missing required config `bootstrap.servers`")]
    MissingBootstrapServers,
    /// `bootstrap.servers` is malformed (the message names the setting).
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// `delivery.timeout.ms` was set below `linger.ms + request.timeout.ms`.
    #[error(
        "`delivery.timeout.ms` ({delivery_timeout_ms}) must be at least `linger.ms` ({linger_ms}) + `request.timeout.ms` ({request_timeout_ms})"
    )]
    DeliveryTimeoutTooShort {
        /// `delivery.timeout.ms`.
        delivery_timeout_ms: u128,
        /// `linger.ms`.
        linger_ms: u128,
        /// `request.timeout.ms`.
        request_timeout_ms: u128,
    },
    /// `enable.idempotence=true` was set explicitly with a setting it cannot work with.
    #[error(
        "`enable.idempotence` is true but `{key}` is `{value}`: the idempotent producer needs acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5"
    )]
    IdempotenceConflict {
        /// The conflicting setting.
        key: &'static str,
        /// Its value.
        value: String,
    },
    /// `transactional.id` was set while idempotence is off.
    #[error("cannot set `transactional.id` without idempotence: {reason}")]
    TransactionalIdRequiresIdempotence {
        /// Why idempotence is off.
        reason: String,
    },
}

/// A change the cross-checks made to the configuration, as Java logs them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigWarning {
    /// Idempotence was turned off because the user did not set `enable.idempotence` and `key`
    /// has a value the idempotent producer cannot use.
    IdempotenceDisabled {
        /// The setting that disabled idempotence.
        key: &'static str,
        /// Its value.
        value: String,
    },
    /// `delivery.timeout.ms` was not set and its default was below `linger.ms +
    /// request.timeout.ms`, so it was raised to that sum.
    DeliveryTimeoutRaised {
        /// The value before.
        from_ms: u128,
        /// The value after.
        to_ms: u128,
    },
    /// `enable.ssl.certificate.verification=false`: any broker certificate is accepted.
    CertificateVerificationDisabled,
    /// A backoff maximum (`key`) below its base was raised to the base (a static backoff).
    BackoffMaxRaised {
        /// `retry.backoff.max.ms` or `reconnect.backoff.max.ms`.
        key: &'static str,
        /// The value before.
        from_ms: u128,
        /// The value after.
        to_ms: u128,
    },
}

impl std::fmt::Display for ConfigWarning {
    /// One line, as Java logs these adjustments at WARN.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigWarning::IdempotenceDisabled { key, value } => write!(
                f,
                "idempotence disabled because `{key}` is `{value}` (the idempotent producer needs \
                 acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5); set \
                 enable.idempotence=false to silence this"
            ),
            ConfigWarning::DeliveryTimeoutRaised { from_ms, to_ms } => write!(
                f,
                "`delivery.timeout.ms` raised from its default {from_ms} to {to_ms} \
                 (linger.ms + request.timeout.ms)"
            ),
            ConfigWarning::CertificateVerificationDisabled => f.write_str(
                "enable.ssl.certificate.verification=false: broker certificates are NOT \
                 verified; anyone between you and the brokers can read and change the traffic \
                 (use this for test setups only)",
            ),
            ConfigWarning::BackoffMaxRaised {
                key,
                from_ms,
                to_ms,
            } => write!(
                f,
                "`{key}` raised from {from_ms} to {to_ms}: it may not be below its base backoff"
            ),
        }
    }
}
