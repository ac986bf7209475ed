//! [`MetadataConfig`]: the Java producer's metadata settings, with its defaults.

use std::time::Duration;

/// Settings of the refresh policy, named after the Java client's configs.
/// Not `#[non_exhaustive]`, so callers can write
/// `MetadataConfig { max_age, ..MetadataConfig::default() }`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataConfig {
    /// `metadata.max.age.ms` (default 300000): refresh at least this often even
    /// when nothing went wrong, so new partitions and leaders are discovered.
    pub max_age: Duration,
    /// `retry.backoff.ms` (default 100): the base of the backoff between two
    /// metadata requests, and the minimum spacing of refreshes.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms` (default 1000): the cap of the exponential backoff.
    /// A value below `retry.backoff.ms` is raised to it, as in Java.
    pub retry_backoff_max: Duration,
    /// `metadata.max.idle.ms` (default 300000): a topic not used by any send for
    /// this long is forgotten and no longer listed in requests.
    pub max_idle: Duration,
    /// `allow.auto.create.topics` (default true): the `AllowAutoTopicCreation`
    /// flag of Metadata v4+ requests.
    pub allow_auto_topic_creation: bool,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            max_idle: Duration::from_secs(300),
            allow_auto_topic_creation: true,
        }
    }
}

impl MetadataConfig {
    /// The backoff after `attempts` consecutive unsuccessful tries (0 for the
    /// first retry), as Java's `ExponentialBackoff` with base 2:
    /// `retry.backoff.ms * 2^attempts * jitter`, capped at `retry.backoff.max.ms`.
    ///
    /// `jitter` is the random factor Java draws from `[0.8, 1.2)`; here the caller
    /// injects it (1.0 for none) so the result is deterministic. It is clamped
    /// to `[0.0, 2.0]`; a NaN counts as 1.0.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let base = self.retry_backoff;
        let cap = self.retry_backoff_max.max(base);
        if base.is_zero() {
            return Duration::ZERO;
        }
        let jitter = if jitter.is_nan() {
            1.0
        } else {
            jitter.clamp(0.0, 2.0)
        };
        // Once 2^attempts exceeds cap/base the cap wins, so the exponent never
        // needs to exceed about 64; limit it to keep the float finite.
        let exp = attempts.min(64) as i32;
        let term = base.as_secs_f64() * 2f64.powi(exp) * jitter;
        if term >= cap.as_secs_f64() {
            cap
        } else {
            Duration::from_secs_f64(term)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn java_defaults() {
        let c = MetadataConfig::default();
        assert_eq!(c.max_age, ms(300_000));
        assert_eq!(c.retry_backoff, ms(100));
        assert_eq!(c.retry_backoff_max, ms(1000));
        assert_eq!(c.max_idle, ms(300_000));
        assert!(c.allow_auto_topic_creation);
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let c = MetadataConfig::default();
        let got: Vec<_> = (0..6).map(|a| c.backoff(a, 1.0)).collect();
        assert_eq!(
            got,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(c.backoff(u32::MAX, 1.0), ms(1000));
    }

    #[test]
    fn backoff_jitter_is_injected_and_clamped() {
        let c = MetadataConfig::default();
        assert_eq!(c.backoff(0, 0.8), ms(80));
        assert_eq!(c.backoff(1, 1.2), ms(240));
        assert_eq!(c.backoff(3, 1.2), ms(960));
        assert_eq!(c.backoff(0, f64::NAN), ms(100));
        assert_eq!(c.backoff(0, -5.0), Duration::ZERO);
    }

    #[test]
    fn backoff_max_below_base_is_raised() {
        let c = MetadataConfig {
            retry_backoff: ms(500),
            retry_backoff_max: ms(10),
            ..MetadataConfig::default()
        };
        assert_eq!(c.backoff(0, 1.0), ms(500));
        assert_eq!(c.backoff(5, 1.0), ms(500));
    }
}
