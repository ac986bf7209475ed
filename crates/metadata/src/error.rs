//! Typed errors: bad `bootstrap.servers` entries and topics that never became
//! available within `max.block.ms`.

use std::time::Duration;

use ferrokafka_wire::ErrorCode;

/// A `bootstrap.servers` value that cannot be parsed.
///
/// Every variant that concerns one entry carries that entry verbatim (after
/// trimming) so the user can find it in their configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// The list has no entries at all (empty, blank, or only commas).
    #[error("bootstrap.servers is empty: at least one host:port entry is required")]
    Empty,
    /// An entry has no `:port` suffix.
    #[error("invalid bootstrap.servers entry `{entry}`: missing port (expected host:port)")]
    MissingPort {
        /// The offending entry.
        entry: String,
    },
    /// An entry has no host before the port.
    #[error("invalid bootstrap.servers entry `{entry}`: missing host (expected host:port)")]
    MissingHost {
        /// The offending entry.
        entry: String,
    },
    /// The port is not a number in `1..=65535`.
    #[error(
        "invalid bootstrap.servers entry `{entry}`: port `{port}` is not a number in 1..=65535"
    )]
    InvalidPort {
        /// The offending entry.
        entry: String,
        /// The text found where the port should be.
        port: String,
    },
    /// An entry is written as a URL (`tcp://host:port`, `PLAINTEXT://host:port`): entries are
    /// plain `host:port`, the protocol comes from `security.protocol`.
    #[error(
        "invalid bootstrap.servers entry `{entry}`: `{scheme}://` is not part of an address \
         (entries are host:port; the protocol is set by security.protocol): did you mean `{address}`?"
    )]
    UrlScheme {
        /// The offending entry.
        entry: String,
        /// The scheme found before `://`.
        scheme: String,
        /// The entry without its scheme.
        address: String,
    },
    /// An IPv6 literal opened with `[` is never closed, or text other than
    /// `:port` follows the closing `]`.
    #[error("invalid bootstrap.servers entry `{entry}`: unclosed or malformed `[` IPv6 literal")]
    UnclosedBracket {
        /// The offending entry.
        entry: String,
    },
}

/// Why a record's topic cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The topic did not appear in metadata before `max.block.ms` ran out
    /// (Java: `TimeoutException: Topic X not present in metadata after N ms`).
    #[error(
        "topic `{topic}` not present in metadata after {} ms (max.block.ms){}{}",
        waited.as_millis(),
        last_error.map(|e| format!("; last error from the cluster: {e}")).unwrap_or_default(),
        if *listed_without_partitions { "; the cluster lists it with zero partitions" } else { "" }
    )]
    TopicNotAvailable {
        /// The topic.
        topic: String,
        /// How long the caller waited.
        waited: Duration,
        /// The last topic-level error the cluster reported, if any.
        last_error: Option<ErrorCode>,
        /// The cluster answered for the topic, without an error, but with no partitions: it
        /// exists and cannot take records.
        listed_without_partitions: bool,
    },
    /// The cluster answered with an error that waiting will not cure, such as
    /// `TOPIC_AUTHORIZATION_FAILED` or `INVALID_TOPIC_EXCEPTION`.
    #[error("topic `{topic}` cannot be used: {error}")]
    TopicFailed {
        /// The topic.
        topic: String,
        /// The non-retriable error.
        error: ErrorCode,
    },
}
