//! What every example reads first: the broker to bootstrap from, its positional arguments
//! (each with a default) and the configuration all of them start from.

use ferrokafka::{ProducerConfig, ProducerConfigBuilder};

/// An example's command line and environment.
pub(crate) struct Args {
    /// `BOOTSTRAP`, or `localhost:9092`.
    pub(crate) bootstrap: String,
    positional: std::iter::Skip<std::env::Args>,
}

impl Args {
    pub(crate) fn from_env() -> Self {
        Self {
            bootstrap: std::env::var("BOOTSTRAP").unwrap_or_else(|_| "localhost:9092".to_owned()),
            positional: std::env::args().skip(1),
        }
    }

    /// The next positional argument, or `default`.
    pub(crate) fn next_or(&mut self, default: &str) -> String {
        self.positional.next().unwrap_or_else(|| default.to_owned())
    }

    /// The Java client's property names and defaults (acks=all and idempotence are on, so a
    /// retried request never writes a record twice), for `BOOTSTRAP`, as `client_id`, giving up
    /// after 10 s when the cluster cannot be reached (`max.block.ms`).
    pub(crate) fn config(&self, client_id: &str) -> ProducerConfigBuilder {
        ProducerConfig::builder()
            .bootstrap_servers(&self.bootstrap)
            .client_id(client_id)
            .set("max.block.ms", "10000")
    }
}
