//! Latencies in whole milliseconds, as Java's `kafka-producer-perf-test` takes them: the
//! difference of two millisecond clock readings.

use std::time::{Duration, Instant};

use super::LatencyRun;

/// `d` in whole milliseconds.
pub(crate) fn whole_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs handed to [`Reports::delivered`](super::Reports::delivered) in one call at most.
const RUNS_PER_CALL: usize = 16;

/// Whole milliseconds counted from an origin: a latency is the difference of two readings,
/// as Java's tool takes it from `System.currentTimeMillis()`. Bucketing a batch's records
/// then needs the bounds of a reading (two instants) rather than a subtraction per record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MillisClock {
    origin: Instant,
}

impl MillisClock {
    /// Counts from a second before now (no send instant it reads comes before that).
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        MillisClock {
            origin: now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
        }
    }

    /// The reading at `t` (0 before the origin).
    fn reading(&self, t: Instant) -> u64 {
        whole_ms(t.saturating_duration_since(self.origin))
    }

    /// The instants at which the reading becomes `ms` and `ms + 1`.
    fn bounds(&self, ms: u64) -> Option<(Instant, Instant)> {
        let lo = self.origin.checked_add(Duration::from_millis(ms))?;
        Some((lo, lo.checked_add(Duration::from_millis(1))?))
    }

    /// The latencies of records sent at `sent` (in any order; in send order, neighbours mostly
    /// share a reading) and acknowledged at `at`, as runs handed to `emit` up to
    /// [`RUNS_PER_CALL`] at a time.
    pub(crate) fn runs(
        &self,
        at: Instant,
        sent: impl Iterator<Item = Instant>,
        mut emit: impl FnMut(&[LatencyRun]),
    ) {
        let at_ms = self.reading(at);
        let mut runs = [LatencyRun { ms: 0, records: 0 }; RUNS_PER_CALL];
        let mut n = 0;
        // Instants in [lo, hi) have the current run's reading; empty until the first record.
        let (mut lo, mut hi) = (at, at);
        for s in sent {
            if !(lo <= s && s < hi) {
                let ms = self.reading(s);
                (lo, hi) = self.bounds(ms).unwrap_or((s, s));
                if n == RUNS_PER_CALL {
                    emit(&runs);
                    n = 0;
                }
                runs[n] = LatencyRun {
                    ms: at_ms.saturating_sub(ms),
                    records: 0,
                };
                n += 1;
            }
            runs[n - 1].records += 1;
        }
        if n > 0 {
            emit(&runs[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{LatencyRun, MillisClock, RUNS_PER_CALL};

    /// Every record's run holds the difference of its two readings, whatever the order of the
    /// send instants, across reading boundaries and over more runs than one call takes.
    #[test]
    fn runs_hold_each_record_s_difference_of_readings() {
        let clock = MillisClock::new();
        let base = clock.origin + Duration::from_secs(2);
        let at = base + Duration::from_micros(40_300);
        // Send order, sub-millisecond steps across boundaries, then a few out of order, then
        // one sent after the acknowledgement's reading (latency 0) and one before the origin.
        let mut sent: Vec<Instant> = (0..200u64)
            .map(|i| base + Duration::from_micros(i * 170))
            .collect();
        sent.extend([base, at, base + Duration::from_micros(33_999)]);
        sent.push(at + Duration::from_micros(500));
        sent.push(
            clock
                .origin
                .checked_sub(Duration::from_millis(5))
                .unwrap_or(clock.origin),
        );
        let mut got = Vec::new();
        let mut calls = 0;
        clock.runs(at, sent.iter().copied(), |runs| {
            assert!(!runs.is_empty() && runs.len() <= RUNS_PER_CALL);
            calls += 1;
            got.extend(
                runs.iter()
                    .flat_map(|r| std::iter::repeat_n(r.ms, r.records as usize)),
            );
        });
        let reading = |t: Instant| t.saturating_duration_since(clock.origin).as_millis() as u64;
        let want: Vec<u64> = sent
            .iter()
            .map(|&s| reading(at).saturating_sub(reading(s)))
            .collect();
        assert_eq!(got, want);
        assert!(calls > 1, "{calls} calls for {} readings", want.len());
        assert_eq!(want[0], 40, "the first record: 40.3 ms, readings 40 apart");
        assert!(want.contains(&0));
    }

    #[test]
    fn runs_of_no_records_emit_nothing() {
        let clock = MillisClock::new();
        let mut called = false;
        clock.runs(Instant::now(), std::iter::empty(), |_| called = true);
        assert!(!called);
        let mut one = Vec::new();
        let now = Instant::now();
        clock.runs(now, std::iter::once(now), |runs| {
            one.extend_from_slice(runs);
        });
        assert_eq!(one, [LatencyRun { ms: 0, records: 1 }]);
    }
}
