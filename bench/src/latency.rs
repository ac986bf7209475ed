//! Latency at a fixed rate: the [`Pacer`] that holds a client to `--throughput` records/s,
//! and the [`Latencies`] histogram of delivery latencies (send call to delivery report).
//!
//! The histogram is log-linear over microseconds: exact below 128 µs, then 64 buckets per
//! power of two (each bucket at most 1/64 ≈ 1.6% wide), a fixed 30 KiB whatever the record
//! count, so measuring does not grow the client's RSS with the run's length.

use std::time::{Duration, Instant};

/// Values below this are counted exactly.
const LINEAR: u64 = 128;
/// Buckets per power of two above [`LINEAR`].
const PER_OCTAVE: u64 = 64;
/// Bucket count: the linear part, then octaves 2^7 .. 2^63.
const BUCKETS: usize = (LINEAR + (63 - 7 + 1) * PER_OCTAVE) as usize;

/// A histogram of latencies in microseconds.
#[derive(Debug, Clone)]
pub struct Latencies {
    counts: Vec<u64>,
    count: u64,
    max_us: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            counts: vec![0; BUCKETS],
            count: 0,
            max_us: 0,
        }
    }
}

/// The bucket of `us`.
fn index(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let msb = 63 - u64::from(us.leading_zeros()); // 7..=63
    let shift = msb - 6; // so that us >> shift is in 64..128
    (LINEAR + (msb - 7) * PER_OCTAVE + ((us >> shift) - PER_OCTAVE)) as usize
}

/// The smallest value of bucket `i`.
fn lower_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let octave = (i - LINEAR) / PER_OCTAVE;
    let mantissa = (i - LINEAR) % PER_OCTAVE + PER_OCTAVE;
    mantissa << (octave + 1)
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.record_us(us);
    }

    pub fn record_us(&mut self, us: u64) {
        self.counts[index(us)] += 1;
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// The `q` quantile (0 ≤ q ≤ 1) in microseconds: the value of the element at 0-based rank
    /// `floor(q * count)` in sorted order (Java's perf-test indexing), as its bucket's lower
    /// bound (never above the maximum seen); 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64) as u64).min(self.count - 1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen > rank {
                return lower_bound(i).min(self.max_us);
            }
        }
        self.max_us
    }
}

/// Records sent in the first this long of a latency run are not counted: their latency is the
/// client's start-up (connections, metadata, producer id), not its steady state.
pub const LATENCY_WARMUP: Duration = Duration::from_secs(1);

/// Holds a sender to `rate` records/s: record `i` is due `i / rate` seconds after the start.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    rate: u64,
}

impl Pacer {
    pub fn new(start: Instant, rate: u64) -> Pacer {
        Pacer {
            start,
            rate: rate.max(1),
        }
    }

    /// When record `i` is due, from the start.
    pub fn due(&self, i: u64) -> Duration {
        let nanos = u128::from(i) * 1_000_000_000 / u128::from(self.rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Whether record `i`'s latency counts (it is due after [`LATENCY_WARMUP`]).
    pub fn counted(&self, i: u64) -> bool {
        self.due(i) >= LATENCY_WARMUP
    }

    /// How long to wait at `now` before sending record `i`; `None` when it is due already.
    pub fn wait(&self, i: u64, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.start);
        self.due(i).checked_sub(elapsed).filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_every_value() {
        assert_eq!(index(0), 0);
        assert_eq!(index(127), 127);
        assert_eq!(index(128), 128);
        assert_eq!(lower_bound(128), 128);
        assert_eq!(index(255), 191);
        assert_eq!(lower_bound(191), 254);
        assert_eq!(index(256), 192);
        assert_eq!(lower_bound(192), 256);
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        // Every bucket's lower bound falls in that bucket, and the next bucket starts above it.
        for i in 0..BUCKETS - 1 {
            assert_eq!(index(lower_bound(i)), i, "bucket {i}");
            assert_eq!(index(lower_bound(i + 1) - 1), i, "end of bucket {i}");
        }
    }

    #[test]
    fn quantiles_follow_java_ranks_and_stay_within_a_bucket() {
        let mut l = Latencies::default();
        assert_eq!(l.quantile_us(0.5), 0);
        for us in 1..=100 {
            l.record_us(us);
        }
        // Rank floor(0.5 * 100) = 50: the 51st smallest, 51 µs (exact below 128 µs).
        assert_eq!(l.quantile_us(0.5), 51);
        assert_eq!(l.quantile_us(0.99), 100);
        assert_eq!(l.quantile_us(1.0), 100);
        assert_eq!(l.count(), 100);
        let mut l = Latencies::default();
        for _ in 0..99 {
            l.record(Duration::from_millis(5));
        }
        l.record(Duration::from_millis(250));
        let p50 = l.quantile_us(0.5);
        assert!((4_922..=5_000).contains(&p50), "{p50}");
        let p99 = l.quantile_us(0.99);
        assert!((246_000..=250_000).contains(&p99), "{p99}");
        assert_eq!(l.max_us(), 250_000);
    }

    #[test]
    fn the_pacer_spaces_records_by_the_rate() {
        let start = Instant::now();
        let p = Pacer::new(start, 100_000);
        assert_eq!(p.due(0), Duration::ZERO);
        assert_eq!(p.due(1), Duration::from_micros(10));
        assert_eq!(p.due(100_000), Duration::from_secs(1));
        assert_eq!(p.wait(0, start), None);
        assert_eq!(
            p.wait(50_000, start + Duration::from_millis(200)),
            Some(Duration::from_millis(300))
        );
        assert_eq!(p.wait(50_000, start + Duration::from_secs(1)), None);
        assert!(!p.counted(99_999));
        assert!(p.counted(100_000));
    }
}
