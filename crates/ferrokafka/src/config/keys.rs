//! String properties: the known keys, parsing of their values, and key suggestions.

use std::time::Duration;

use ferrokafka_records::CompressionType;

use super::{Acks, ConfigError, ProducerConfigBuilder};

/// Every property key [`ProducerConfigBuilder::set`] accepts.
pub const KNOWN_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "acks",
    "linger.ms",
    "batch.size",
    "buffer.memory",
    "compression.type",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "max.block.ms",
    "max.request.size",
    "request.timeout.ms",
    "delivery.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "max.in.flight.requests.per.connection",
    "metadata.max.age.ms",
    "metadata.max.idle.ms",
    "metadata.recovery.strategy",
    "metadata.recovery.rebootstrap.trigger.ms",
    "partitioner",
    "partitioner.class",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "partitioner.ignore.keys",
    "partitioner.rack.aware",
    "client.rack",
    "client.dns.lookup",
    "enable.idempotence",
    "transactional.id",
    "transaction.timeout.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "connections.max.idle.ms",
    "socket.connection.setup.timeout.ms",
];

pub(super) const PARTITIONER_NAMES: &str = "empty (built-in), a Java class name \
(org.apache.kafka.clients.producer.RoundRobinPartitioner, \
org.apache.kafka.clients.producer.internals.DefaultPartitioner, \
org.apache.kafka.clients.producer.UniformStickyPartitioner) or a librdkafka name \
(random, consistent, consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random)";

fn invalid(key: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key,
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

fn millis(key: &'static str, v: &str) -> Result<Duration, ConfigError> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| invalid(key, v, "a non-negative integer number of milliseconds"))
}

fn bytes(key: &'static str, v: &str) -> Result<usize, ConfigError> {
    v.parse::<usize>()
        .map_err(|_| invalid(key, v, "a non-negative integer number of bytes"))
}

fn int(key: &'static str, v: &str) -> Result<i32, ConfigError> {
    v.parse::<i32>()
        .map_err(|_| invalid(key, v, "an integer (32-bit)"))
}

fn boolean(key: &'static str, v: &str) -> Result<bool, ConfigError> {
    // Java's boolean parser is case-insensitive.
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(key, v, "true or false")),
    }
}

/// Applies one string property to the builder.
pub(super) fn apply(
    b: &mut ProducerConfigBuilder,
    key: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let v = value.trim();
    let c = &mut b.config;
    match key {
        "bootstrap.servers" => b.bootstrap = Some(v.to_owned()),
        "client.id" => v.clone_into(&mut c.client_id),
        "acks" => {
            c.acks = match v {
                "all" | "-1" => Acks::All,
                "1" => Acks::Leader,
                "0" => Acks::None,
                _ => return Err(invalid("acks", v, "all, -1, 0 or 1")),
            }
        }
        "linger.ms" => c.linger = millis("linger.ms", v)?,
        "batch.size" => c.batch_size = bytes("batch.size", v)?,
        "buffer.memory" => c.buffer_memory = bytes("buffer.memory", v)?,
        "compression.type" => {
            b.compression_type = v
                .parse::<CompressionType>()
                .map_err(|_| invalid("compression.type", v, "none, gzip, snappy, lz4 or zstd"))?;
        }
        "compression.gzip.level" => c.gzip_level = int("compression.gzip.level", v)?,
        "compression.lz4.level" => c.lz4_level = int("compression.lz4.level", v)?,
        "compression.zstd.level" => c.zstd_level = int("compression.zstd.level", v)?,
        "max.block.ms" => c.max_block = millis("max.block.ms", v)?,
        "max.request.size" => c.max_request_size = bytes("max.request.size", v)?,
        "request.timeout.ms" => c.request_timeout = millis("request.timeout.ms", v)?,
        "delivery.timeout.ms" => {
            c.delivery_timeout = millis("delivery.timeout.ms", v)?;
            b.delivery_timeout_set = true;
        }
        "retries" => c.retries = int("retries", v)?,
        "retry.backoff.ms" => c.retry_backoff = millis("retry.backoff.ms", v)?,
        "retry.backoff.max.ms" => c.retry_backoff_max = millis("retry.backoff.max.ms", v)?,
        "max.in.flight.requests.per.connection" => {
            c.max_in_flight_requests_per_connection = v.parse::<usize>().map_err(|_| {
                invalid(
                    "max.in.flight.requests.per.connection",
                    v,
                    "an integer of at least 1",
                )
            })?;
        }
        "metadata.max.age.ms" => c.metadata_max_age = millis("metadata.max.age.ms", v)?,
        "metadata.max.idle.ms" => c.metadata_max_idle = millis("metadata.max.idle.ms", v)?,
        "metadata.recovery.strategy" => {
            c.metadata_recovery_strategy = match v.to_ascii_lowercase().as_str() {
                "rebootstrap" => super::MetadataRecoveryStrategy::Rebootstrap,
                "none" => super::MetadataRecoveryStrategy::None,
                _ => {
                    return Err(invalid(
                        "metadata.recovery.strategy",
                        v,
                        "rebootstrap or none",
                    ));
                }
            };
        }
        "metadata.recovery.rebootstrap.trigger.ms" => {
            c.metadata_recovery_rebootstrap_trigger =
                millis("metadata.recovery.rebootstrap.trigger.ms", v)?;
        }
        "partitioner" | "partitioner.class" => v.clone_into(&mut c.partitioner),
        "partitioner.adaptive.partitioning.enable" => {
            c.partitioner_adaptive_partitioning =
                boolean("partitioner.adaptive.partitioning.enable", v)?;
        }
        "partitioner.availability.timeout.ms" => {
            c.partitioner_availability_timeout = millis("partitioner.availability.timeout.ms", v)?;
        }
        "partitioner.rack.aware" => {
            c.partitioner_rack_aware = boolean("partitioner.rack.aware", v)?;
        }
        "client.rack" => v.clone_into(&mut c.client_rack),
        // Every connection resolves its host again and tries each address in turn (the TCP
        // transport): Java's default, `use_all_dns_ips`, is the only behaviour.
        "client.dns.lookup" => match v {
            "use_all_dns_ips" => {}
            "resolve_canonical_bootstrap_servers_only" => {
                return Err(invalid(
                    "client.dns.lookup",
                    v,
                    "use_all_dns_ips (resolve_canonical_bootstrap_servers_only, a reverse lookup \
                     for Kerberos, is not supported)",
                ));
            }
            _ => return Err(invalid("client.dns.lookup", v, "use_all_dns_ips")),
        },
        "partitioner.ignore.keys" => {
            c.partitioner_ignore_keys = boolean("partitioner.ignore.keys", v)?;
        }
        "enable.idempotence" => b.idempotence = Some(boolean("enable.idempotence", v)?),
        "transactional.id" => c.transactional_id = Some(v.to_owned()),
        "transaction.timeout.ms" => {
            c.transaction_timeout = millis("transaction.timeout.ms", v)?;
        }
        "reconnect.backoff.ms" => c.reconnect_backoff = millis("reconnect.backoff.ms", v)?,
        "reconnect.backoff.max.ms" => {
            c.reconnect_backoff_max = millis("reconnect.backoff.max.ms", v)?;
        }
        "connections.max.idle.ms" => {
            c.connections_max_idle = millis("connections.max.idle.ms", v)?;
        }
        "socket.connection.setup.timeout.ms" => {
            c.socket_connection_setup_timeout = millis("socket.connection.setup.timeout.ms", v)?;
        }
        other => {
            if !super::security::apply(&mut c.security, &mut b.security, other, v)? {
                return Err(ConfigError::UnknownKey {
                    key: other.to_owned(),
                    suggestion: suggest(other),
                });
            }
        }
    }
    Ok(())
}

/// The known key closest to `key` by edit distance, if it is within a third of its length.
pub(super) fn suggest(key: &str) -> Option<&'static str> {
    let (best, dist) = KNOWN_KEYS
        .iter()
        .chain(super::security::SECURITY_KEYS)
        .map(|k| (*k, levenshtein(key, k)))
        .min_by_key(|(_, d)| *d)?;
    (dist <= (best.len() / 3).max(2)).then_some(best)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
