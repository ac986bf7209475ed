//! `AccumulatorConfig`: the Java producer settings the accumulator obeys, with Java's defaults.

use std::time::Duration;

use ferrokafka_records::Compression;

use ferrokafka_records::ConfigError;

/// Java's retry jitter (`CommonClientConfigs.RETRY_BACKOFF_JITTER`): ±20 %.
pub const RETRY_BACKOFF_JITTER: f64 = 0.2;

/// Settings of the accumulator, named after the Java producer configs they mirror.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccumulatorConfig {
    /// `batch.size` (bytes, default 16384): a batch is full once its estimated size reaches this.
    pub batch_size: usize,
    /// `linger.ms` (default 5 ms, the Java 4.0 default): how long a non-full batch waits.
    pub linger: Duration,
    /// How much sooner than `linger.ms` a batch may count as having lingered (default 0; at
    /// most half of `linger.ms` is used). Not a Java setting: a driver whose timers fire late
    /// by up to this much (tokio rounds every deadline up to the next millisecond) sets it, so
    /// a batch leaves within `linger.ms` rather than after it. Java's sender, which counts whole
    /// milliseconds, likewise sends a batch up to 1 ms before its `linger.ms` is up.
    pub linger_slack: Duration,
    /// `buffer.memory` (bytes, default 33554432): the budget all unfinished batches draw from.
    pub buffer_memory: usize,
    /// `max.request.size` (bytes, default 1048576): the largest record (as a one-record batch
    /// upper bound) `append` accepts. `drain` takes its own per-request limit.
    pub max_request_size: usize,
    /// `delivery.timeout.ms` (default 120000): a queued batch older than this (from creation) is
    /// expired by [`RecordAccumulator::expire`](crate::RecordAccumulator::expire).
    pub delivery_timeout: Duration,
    /// `retry.backoff.ms` (default 100): backoff before the first retry of a batch.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms` (default 1000): cap of the exponential retry backoff.
    pub retry_backoff_max: Duration,
    /// `max.in.flight.requests.per.connection` (default 5), applied per partition: a partition
    /// with this many drained, unanswered batches is muted. 1 gives strict ordering.
    pub max_in_flight_per_partition: usize,
    /// `compression.type` (and level) new batches are closed with (default none).
    pub compression: Compression,
}

impl Default for AccumulatorConfig {
    fn default() -> Self {
        AccumulatorConfig {
            batch_size: 16384,
            linger: Duration::from_millis(5),
            linger_slack: Duration::ZERO,
            buffer_memory: 33_554_432,
            max_request_size: 1_048_576,
            delivery_timeout: Duration::from_secs(120), // 120000 ms
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1), // 1000 ms
            max_in_flight_per_partition: 5,
            compression: Compression::NONE,
        }
    }
}

impl AccumulatorConfig {
    /// Checks the values the accumulator cannot work with (each error names the Java setting).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |setting: &'static str, reason: &'static str| {
            Err(ConfigError::Invalid { setting, reason })
        };
        if self.max_in_flight_per_partition == 0 {
            return bad(
                "max.in.flight.requests.per.connection",
                "must be at least 1",
            );
        }
        if self.max_request_size == 0 {
            return bad("max.request.size", "must be at least 1");
        }
        if self.buffer_memory == 0 {
            return bad("buffer.memory", "must be at least 1");
        }
        if self.retry_backoff_max < self.retry_backoff {
            return bad("retry.backoff.max.ms", "must not be below retry.backoff.ms");
        }
        Ok(())
    }

    /// Backoff before retry number `attempts` (1 for the first retry):
    /// `retry.backoff.ms · 2^(attempts−1)`, capped at `retry.backoff.max.ms`, then scaled by
    /// `1 + 0.2 · jitter` where `jitter` is a caller-drawn sample in `[-1, 1]` (0 = no jitter;
    /// the crate draws no randomness itself). The result never exceeds `retry.backoff.max.ms`.
    pub fn retry_backoff_for(&self, attempts: u32, jitter: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(31);
        let base = self
            .retry_backoff
            .checked_mul(1u32 << exp)
            .unwrap_or(self.retry_backoff_max)
            .min(self.retry_backoff_max);
        let jitter = if jitter.is_finite() {
            jitter.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        base.mul_f64(1.0 + RETRY_BACKOFF_JITTER * jitter)
            .min(self.retry_backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_defaults() {
        let c = AccumulatorConfig::default();
        assert_eq!(c.batch_size, 16384);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!(c.buffer_memory, 33_554_432);
        assert_eq!(c.max_request_size, 1_048_576);
        assert_eq!(c.delivery_timeout, Duration::from_secs(120));
        assert_eq!(c.max_in_flight_per_partition, 5);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let c = AccumulatorConfig::default();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(c.retry_backoff_for(1, 0.0), ms(100));
        assert_eq!(c.retry_backoff_for(2, 0.0), ms(200));
        assert_eq!(c.retry_backoff_for(4, 0.0), ms(800));
        assert_eq!(c.retry_backoff_for(5, 0.0), ms(1000));
        assert_eq!(c.retry_backoff_for(u32::MAX, 0.0), ms(1000));
        assert_eq!(c.retry_backoff_for(1, -1.0), ms(80));
        assert_eq!(c.retry_backoff_for(1, 1.0), ms(120));
        assert_eq!(c.retry_backoff_for(5, 1.0), ms(1000));
    }

    #[test]
    fn invalid_settings_are_named() {
        let c = AccumulatorConfig {
            max_in_flight_per_partition: 0,
            ..AccumulatorConfig::default()
        };
        let err = c.validate().unwrap_err();
        assert!(
            err.to_string()
                .contains("max.in.flight.requests.per.connection")
        );
    }
}
