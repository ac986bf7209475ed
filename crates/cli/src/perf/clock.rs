//! Time for the perf run: the clock it reads and sleeps on (a fake one in tests) and the
//! throttler that keeps the send rate at `--throughput`.

#[cfg(test)]
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::stats::f64_from;

/// Time source; tests use `FakeClock` so nothing really sleeps.
pub(crate) trait Clock {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// `at` (an instant someone else read, e.g. the producer's acknowledgement time) as time
    /// since the origin, if this clock runs on real instants.
    fn since_origin(&self, at: Instant) -> Option<Duration>;
    async fn sleep(&self, d: Duration);
}

pub(crate) struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn since_origin(&self, at: Instant) -> Option<Duration> {
        Some(at.saturating_duration_since(self.origin))
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// A clock that only moves when slept on (or advanced by hand); shareable with delivery
/// callbacks as the system clock is.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct FakeClock {
    /// (now, slept in all)
    times: Mutex<(Duration, Duration)>,
}

#[cfg(test)]
impl FakeClock {
    fn times(&self) -> std::sync::MutexGuard<'_, (Duration, Duration)> {
        self.times.lock().expect("not poisoned")
    }

    pub(crate) fn advance(&self, d: Duration) {
        self.times().0 += d;
    }

    /// How long the clock was slept on.
    pub(crate) fn slept(&self) -> Duration {
        self.times().1
    }
}

/// A shared clock is a clock (tests keep a handle on the fake one).
#[cfg(test)]
impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now(&self) -> Duration {
        C::now(self)
    }

    fn since_origin(&self, at: Instant) -> Option<Duration> {
        C::since_origin(self, at)
    }

    async fn sleep(&self, d: Duration) {
        C::sleep(self, d).await;
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.times().0
    }

    fn since_origin(&self, _at: Instant) -> Option<Duration> {
        None
    }

    async fn sleep(&self, d: Duration) {
        let mut t = self.times();
        t.0 += d;
        t.1 += d;
    }
}

/// Keeps the send rate at or below `records_per_sec`: record `i` (0-based) is not sent
/// before `start + i / records_per_sec`; when ahead of that schedule the sender sleeps
/// the difference. Falling behind is never "caught up" by bursting above the rate
/// for longer than the backlog. `records_per_sec <= 0` disables throttling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throttler {
    start: Duration,
    records_per_sec: f64,
}

impl Throttler {
    pub(crate) fn new(records_per_sec: f64, start: Duration) -> Self {
        Self {
            start,
            records_per_sec,
        }
    }

    /// Whether there is a rate to keep (without one, [`delay`](Self::delay) is always `None`
    /// and the clock need not be read for it).
    pub(crate) fn is_active(&self) -> bool {
        self.records_per_sec > 0.0 && self.records_per_sec.is_finite()
    }

    /// How long to sleep before sending record number `sent_so_far`.
    pub(crate) fn delay(&self, sent_so_far: u64, now: Duration) -> Option<Duration> {
        if !self.is_active() {
            return None;
        }
        let due_ns = (f64_from(sent_so_far) * 1e9 / self.records_per_sec).round();
        let due = self.start + Duration::from_nanos(due_ns as u64);
        due.checked_sub(now).filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_d(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn throttler_sleeps_only_when_ahead_of_schedule() {
        let start = Duration::from_secs(10);
        for t in [0.0, -1.0, -0.5] {
            assert!(!Throttler::new(t, start).is_active(), "T={t}");
            assert_eq!(
                Throttler::new(t, start).delay(1_000_000, start),
                None,
                "T={t}"
            );
        }
        let th = Throttler::new(100.0, start);
        assert!(th.is_active());
        assert_eq!(th.delay(0, start), None);
        assert_eq!(th.delay(1, start), Some(ms_d(10)));
        assert_eq!(th.delay(1, start + ms_d(4)), Some(ms_d(6)));
        assert_eq!(th.delay(1, start + ms_d(10)), None, "exactly on schedule");
        assert_eq!(th.delay(5, start + ms_d(100)), None, "behind schedule");
        assert_eq!(th.delay(100, start + ms_d(500)), Some(ms_d(500)));
        assert_eq!(
            Throttler::new(0.5, start).delay(1, start),
            Some(Duration::from_secs(2))
        );
    }

    #[tokio::test]
    async fn throttled_loop_with_fake_clock() {
        let clock = FakeClock::default();
        let th = Throttler::new(250.0, clock.now());
        for i in 0..1000 {
            if let Some(d) = th.delay(i, clock.now()) {
                clock.sleep(d).await;
            }
        }
        // 999 records after the first, 4 ms apart.
        assert_eq!(clock.slept(), ms_d(3996));
        // Time spent elsewhere is not slept again.
        let clock = FakeClock::default();
        let th = Throttler::new(250.0, clock.now());
        clock.advance(ms_d(2000));
        assert_eq!(th.delay(400, clock.now()), None, "due at 1.6 s, now 2 s");
        assert_eq!(th.delay(600, clock.now()), Some(ms_d(400)));
    }
}
