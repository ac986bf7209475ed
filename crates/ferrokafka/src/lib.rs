//! A pure-Rust Apache Kafka producer.
//!
//! Configure with the Java client's settings, `send` records asynchronously, get one delivery
//! report per record, `flush`, `close`:
//!
//! ```no_run
//! use std::time::Duration;
//! use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ProducerConfig::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .set("linger.ms", "5")
//!     .set("compression.type", "zstd")
//!     .build()?;
//! let producer = Producer::new(config)?; // spawns its I/O task on the current tokio runtime
//!
//! // `send` waits (asynchronously) only for metadata or buffer space, at most max.block.ms,
//! // and returns the delivery future.
//! let delivery = producer
//!     .send(ProducerRecord::new("events").with_key("user-1").with_value("clicked"))
//!     .await?;
//! let md = delivery.await?;
//! println!("written to {}[{}] at offset {:?}", md.topic(), md.partition(), md.offset());
//!
//! // The callback form.
//! producer
//!     .send_with_callback(ProducerRecord::new("events").with_value("x"), |result| {
//!         if let Err(e) = result {
//!             eprintln!("delivery failed: {e}");
//!         }
//!     })
//!     .await?;
//! producer.flush(Duration::from_secs(30)).await?;
//! producer.close(Duration::from_secs(30)).await; // no future is left unresolved
//! # Ok(())
//! # }
//! ```
//!
//! Behind `send`: the partitioner (Java murmur2 for keys, uniform sticky without), the record
//! accumulator (`batch.size`, `linger.ms`, `buffer.memory`), and the sender
//! (`ferrokafka-engine`, sans-IO) pumped by a tokio task with one connection per broker:
//! ApiVersions negotiation, Produce requests per leader, retries with backoff until
//! `delivery.timeout.ms`, idempotence (on by default, as in Java 3.0+), `acks=0` resolving on
//! write. Metrics use the Java names ([`Producer::metrics`]).
//!
//! Every call and every delivery fails with one type, [`ProduceError`]: branch on its
//! [`kind`](ProduceError::kind) ([`ErrorKind`]) and ask its predicates (`is_retriable`,
//! `is_abortable`, `is_fatal`, `outcome_unknown`) what to do; configuration fails earlier, with
//! [`ConfigError`].
//!
//! Connections are TCP (with TLS and SASL when configured) unless
//! [`ProducerConfigBuilder::transport`] supplies them: tests can connect the producer to an
//! in-memory fake cluster and run it on tokio's paused clock (see [`transport`]).
//!
//! Configuration is [`ProducerConfig`]: the Java producer's settings and defaults, a typed
//! builder and string properties (`set("linger.ms", "5")`), validated once, with Java's
//! cross-checks:
//!
//! ```
//! use std::time::Duration;
//! use ferrokafka::{Acks, ConfigWarning, ProducerConfig};
//!
//! let typed = ProducerConfig::builder()
//!     .bootstrap_servers("broker1:9092,broker2:9092")
//!     .linger(Duration::from_millis(20))
//!     .acks(Acks::Leader)
//!     .build()?;
//! let props = ProducerConfig::from_properties([
//!     ("bootstrap.servers", "broker1:9092,broker2:9092"),
//!     ("linger.ms", "20"),
//!     ("acks", "1"),
//! ])?;
//! assert_eq!(typed, props);
//! // `acks=1` without an explicit `enable.idempotence` turns idempotence off, as in Java.
//! assert!(!typed.enable_idempotence);
//! assert!(matches!(typed.warnings()[0], ConfigWarning::IdempotenceDisabled { key: "acks", .. }));
//!
//! let err = ProducerConfig::from_properties([("bootstrap.servers", "b:9092"), ("linger.msec", "5")]);
//! assert!(err.unwrap_err().to_string().contains("did you mean `linger.ms`"));
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod driver;
mod error;
pub mod interceptor;
mod metrics;
mod oauth;
#[cfg(feature = "oidc")]
mod oidc;
pub mod partitioner;
mod producer;
mod record;
pub mod serialize;
mod tls;
pub mod transport;

pub use config::{
    Acks, ConfigError, ConfigWarning, MetadataRecoveryStrategy, ProducerConfig,
    ProducerConfigBuilder,
};
pub use error::{ErrorKind, ProduceError};
pub use ferrokafka_engine::{GroupMetadata, OffsetToCommit};
pub use ferrokafka_records::{CompressionType, Header};
pub use ferrokafka_wire::Topic;
pub use metrics::{MetricValue, Metrics};
pub use oauth::{OAuthBearerToken, OAuthBearerTokenProvider, TokenFuture};
pub use producer::{Producer, TrySend};
pub use record::{
    BorrowedRecord, Callback, DeliveryFuture, DeliveryReporter, ProducerRecord, RecordMetadata,
    ReportedBatch, ReportedDelivery,
};
