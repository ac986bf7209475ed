//! The checks [`ProducerConfigBuilder::build`](super::ProducerConfigBuilder::build) applies:
//! ranges of single values, then Java's cross-checks between settings (timeouts that must cover
//! each other, idempotence turned off or refused by conflicting settings, transactions that
//! need idempotence).

use std::time::Duration;

use super::{Acks, ConfigError, ConfigWarning, ProducerConfig};

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Range checks of single values (one path for typed and string input).
pub(super) fn check_ranges(c: &ProducerConfig) -> Result<(), ConfigError> {
    let int_max = i32::MAX as u128;
    let bad = |key: &'static str, value: String, expected: &str| {
        Err(ConfigError::InvalidValue {
            key,
            value,
            expected: expected.to_owned(),
        })
    };
    let int_ms = [
        ("linger.ms", c.linger),
        ("request.timeout.ms", c.request_timeout),
        ("delivery.timeout.ms", c.delivery_timeout),
        ("transaction.timeout.ms", c.transaction_timeout),
    ];
    for (key, d) in int_ms {
        if ms(d) > int_max {
            return bad(key, ms(d).to_string(), "0..=2147483647 (ms)");
        }
    }
    let long_ms = [
        ("max.block.ms", c.max_block),
        ("retry.backoff.ms", c.retry_backoff),
        ("retry.backoff.max.ms", c.retry_backoff_max),
        ("metadata.max.age.ms", c.metadata_max_age),
        ("metadata.max.idle.ms", c.metadata_max_idle),
        (
            "metadata.recovery.rebootstrap.trigger.ms",
            c.metadata_recovery_rebootstrap_trigger,
        ),
        (
            "partitioner.availability.timeout.ms",
            c.partitioner_availability_timeout,
        ),
        ("reconnect.backoff.ms", c.reconnect_backoff),
        ("reconnect.backoff.max.ms", c.reconnect_backoff_max),
        ("connections.max.idle.ms", c.connections_max_idle),
        (
            "socket.connection.setup.timeout.ms",
            c.socket_connection_setup_timeout,
        ),
    ];
    for (key, d) in long_ms {
        if ms(d) > i64::MAX as u128 {
            return bad(key, ms(d).to_string(), "0..=9223372036854775807 (ms)");
        }
    }
    if ms(c.metadata_max_idle) < 5000 {
        return bad(
            "metadata.max.idle.ms",
            ms(c.metadata_max_idle).to_string(),
            "at least 5000 (ms)",
        );
    }
    let sizes = [
        ("batch.size", c.batch_size, 0),
        ("buffer.memory", c.buffer_memory, 1),
        ("max.request.size", c.max_request_size, 1),
        (
            "max.in.flight.requests.per.connection",
            c.max_in_flight_requests_per_connection,
            1,
        ),
    ];
    for (key, v, min) in sizes {
        let max = if key == "buffer.memory" {
            i64::MAX as usize
        } else {
            i32::MAX as usize
        };
        if v < min || v > max {
            return bad(key, v.to_string(), &format!("{min}..={max}"));
        }
    }
    if c.retries < 0 {
        return bad("retries", c.retries.to_string(), "0..=2147483647");
    }
    Ok(())
}

/// Java's `postProcessAndValidateIdempotenceConfigs` and the timeout/backoff adjustments.
pub(super) fn cross_check(
    c: &mut ProducerConfig,
    idempotence: Option<bool>,
    delivery_timeout_set: bool,
) -> Result<(), ConfigError> {
    let needed = c.linger + c.request_timeout;
    if c.delivery_timeout < needed {
        if delivery_timeout_set {
            return Err(ConfigError::DeliveryTimeoutTooShort {
                delivery_timeout_ms: ms(c.delivery_timeout),
                linger_ms: ms(c.linger),
                request_timeout_ms: ms(c.request_timeout),
            });
        }
        c.warnings.push(ConfigWarning::DeliveryTimeoutRaised {
            from_ms: ms(c.delivery_timeout),
            to_ms: ms(needed),
        });
        c.delivery_timeout = needed;
    }
    if let Some(w) = raise_backoff_max(
        "retry.backoff.max.ms",
        &mut c.retry_backoff_max,
        c.retry_backoff,
    ) {
        c.warnings.push(w);
    }
    if let Some(w) = raise_backoff_max(
        "reconnect.backoff.max.ms",
        &mut c.reconnect_backoff_max,
        c.reconnect_backoff,
    ) {
        c.warnings.push(w);
    }

    let conflict: Option<(&'static str, String)> = if c.max_in_flight_requests_per_connection > 5 {
        Some((
            "max.in.flight.requests.per.connection",
            c.max_in_flight_requests_per_connection.to_string(),
        ))
    } else if c.retries == 0 {
        Some(("retries", "0".to_owned()))
    } else if c.acks != Acks::All {
        Some(("acks", c.acks.name().to_owned()))
    } else {
        None
    };
    c.enable_idempotence = match (idempotence, conflict) {
        (Some(false), _) => false,
        (Some(true), Some((key, value))) => {
            return Err(ConfigError::IdempotenceConflict { key, value });
        }
        (Some(true) | None, None) => true,
        (None, Some((key, value))) => {
            c.warnings
                .push(ConfigWarning::IdempotenceDisabled { key, value });
            false
        }
    };
    // Java validates `transactional.id` with `NonEmptyString`: an empty id is refused, not
    // taken for "no transactions".
    if c.transactional_id.as_deref().is_some_and(str::is_empty) {
        return Err(ConfigError::InvalidValue {
            key: "transactional.id",
            value: String::new(),
            expected: "a non-empty string (or leave it unset for no transactions)".to_owned(),
        });
    }
    if c.transactional_id.is_some() && !c.enable_idempotence {
        return Err(ConfigError::TransactionalIdRequiresIdempotence {
            reason: match conflict_reason(idempotence, &c.warnings) {
                Some(key) => format!("idempotence was disabled because of {key}"),
                None => "enable.idempotence is false".to_owned(),
            },
        });
    }
    Ok(())
}

/// A `*.backoff.max.ms` below its `*.backoff.ms` is raised to it; the warning that says so.
fn raise_backoff_max(
    key: &'static str,
    max: &mut Duration,
    backoff: Duration,
) -> Option<ConfigWarning> {
    if *max >= backoff {
        return None;
    }
    let warning = ConfigWarning::BackoffMaxRaised {
        key,
        from_ms: ms(*max),
        to_ms: ms(backoff),
    };
    *max = backoff;
    Some(warning)
}

fn conflict_reason(explicit: Option<bool>, warnings: &[ConfigWarning]) -> Option<&'static str> {
    if explicit.is_some() {
        return None;
    }
    warnings.iter().find_map(|w| match w {
        ConfigWarning::IdempotenceDisabled { key, .. } => Some(*key),
        _ => None,
    })
}
