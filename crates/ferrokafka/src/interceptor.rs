//! Producer interceptors (Java's `ProducerInterceptor`, `interceptor.classes`): code that sees
//! every record on its way in and every outcome on its way out, for tracing headers, auditing,
//! metrics or policy, without touching the application's sends.
//!
//! Interceptors run in the order they were added ([`ProducerConfigBuilder::interceptor`]).
//! [`on_send`](ProducerInterceptor::on_send) runs in `send` before the record is partitioned and
//! queued, and may replace the record; [`on_acknowledgement`](ProducerInterceptor::on_acknowledgement)
//! runs on the producer's I/O task when the record's delivery is decided (before the record's
//! own callback, as in Java), and also when `send` itself fails. An interceptor that returns an
//! error or panics is contained: the failure is logged (`tracing`, WARN), the record goes on as
//! the previous interceptor left it, and no delivery is ever affected.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use ferrokafka::interceptor::{InterceptorError, ProducerInterceptor};
//! use ferrokafka::{Header, ProduceError, ProducerConfig, ProducerRecord, RecordMetadata};
//!
//! /// Stamps every record with the service's name and counts what was acknowledged.
//! #[derive(Default)]
//! struct Audit {
//!     acknowledged: AtomicU64,
//! }
//!
//! impl ProducerInterceptor for Audit {
//!     fn on_send(&self, record: &ProducerRecord) -> Result<Option<ProducerRecord>, InterceptorError> {
//!         Ok(Some(record.clone().with_header("origin", Some("billing"))))
//!     }
//!
//!     fn on_acknowledgement(&self, outcome: Result<&RecordMetadata, &ProduceError>) {
//!         if outcome.is_ok() {
//!             self.acknowledged.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! let config = ProducerConfig::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .interceptor(Audit::default())
//!     .build()
//!     .unwrap();
//! # let _ = config;
//! ```
//!
//! [`ProducerConfigBuilder::interceptor`]: crate::ProducerConfigBuilder::interceptor

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::{ProduceError, ProducerRecord, RecordMetadata};

/// What an interceptor may return as a failure (logged, never fatal).
pub type InterceptorError = Box<dyn std::error::Error + Send + Sync>;

/// Sees every record sent and every outcome. Every method has a default that does nothing.
pub trait ProducerInterceptor: Send + Sync + 'static {
    /// Called in `send` before the record is partitioned and queued: `Ok(Some(record))`
    /// replaces it (for the next interceptor and the producer), `Ok(None)` keeps it. An error
    /// (or a panic) keeps it too, and is logged.
    fn on_send(&self, record: &ProducerRecord) -> Result<Option<ProducerRecord>, InterceptorError> {
        let _ = record;
        Ok(None)
    }

    /// Called once per record with its outcome: where it was written, or why it was not
    /// (including a `send` that failed before queueing). Runs on the producer's I/O task:
    /// keep it short.
    fn on_acknowledgement(&self, outcome: Result<&RecordMetadata, &ProduceError>) {
        let _ = outcome;
    }

    /// Called once when the producer closes.
    fn close(&self) {}
}

/// The interceptors of a configuration, in order. Compared by identity.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(pub(crate) Vec<Arc<dyn ProducerInterceptor>>);

impl Interceptors {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs every `on_send` in order; failures keep the record as it was.
    pub(crate) fn on_send(&self, mut record: ProducerRecord) -> ProducerRecord {
        for (i, interceptor) in self.0.iter().enumerate() {
            match catch_unwind(AssertUnwindSafe(|| interceptor.on_send(&record))) {
                Ok(Ok(Some(replaced))) => record = replaced,
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(
                    interceptor = i,
                    topic = %record.topic,
                    error = %e,
                    "interceptor on_send failed; the record goes on unchanged"
                ),
                Err(_) => tracing::warn!(
                    interceptor = i,
                    topic = %record.topic,
                    "interceptor on_send panicked; the record goes on unchanged"
                ),
            }
        }
        record
    }

    /// Runs every `on_acknowledgement`; a panic is logged and the next one still runs.
    pub(crate) fn on_acknowledgement(&self, outcome: Result<&RecordMetadata, &ProduceError>) {
        for (i, interceptor) in self.0.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| interceptor.on_acknowledgement(outcome))).is_err() {
                tracing::warn!(interceptor = i, "interceptor on_acknowledgement panicked");
            }
        }
    }

    pub(crate) fn close(&self) {
        for (i, interceptor) in self.0.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| interceptor.close())).is_err() {
                tracing::warn!(interceptor = i, "interceptor close panicked");
            }
        }
    }
}

impl fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} interceptor(s)", self.0.len())
    }
}

impl PartialEq for Interceptors {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| Arc::ptr_eq(a, b))
    }
}
