//! What the delivery callbacks and the sending loop share: the statistics, the failure
//! counts, the lines waiting to be printed, and the number of deliveries outstanding.
//!
//! A delivery is reported by a callback on the producer's I/O task (as Java's tool does):
//! it takes the time (the producer's acknowledgement instant, else the clock), records the
//! latency and, when a window closes or a record failed,
//! leaves a line for the sending loop to print. The loop only looks at the lines when
//! [`Tally::has_lines`] says there are some, so a record costs it no lock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

use super::{Clock, Stats};
use crate::sink::{Delivered, DeliveryFailure, LatencyRun, Reports, whole_ms};

/// How many failure messages are printed before the rest are only counted.
const MAX_PRINTED_FAILURES: u64 = 10;

/// Where a waiting line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Out,
    Err,
}

/// The counts behind the lock.
#[derive(Debug)]
pub(crate) struct Counts {
    pub(crate) stats: Stats,
    pub(crate) failed: u64,
    /// Of `failed`, deliveries whose request was never answered (may have been written).
    pub(crate) outcome_unknown: u64,
    lines: Vec<(Stream, String)>,
}

impl Counts {
    fn failure(&mut self, what: &str, seq: u64, msg: &str) {
        self.failed += 1;
        if self.failed <= MAX_PRINTED_FAILURES {
            self.lines.push((
                Stream::Err,
                format!("{what} failed for record {seq}: {msg}"),
            ));
        } else if self.failed == MAX_PRINTED_FAILURES + 1 {
            self.lines.push((
                Stream::Err,
                "(more failures: only counted from here on)".to_owned(),
            ));
        }
    }
}

/// What the sending loop alone writes, on a cache line of its own: a count that both the loop
/// and the reports changed per record would move between their cores every time.
#[derive(Default)]
#[repr(align(128))]
struct LoopCounts {
    /// Records handed to the producer.
    sent: AtomicU64,
    /// `ReportCounts::done` as the loop last read it.
    seen_done: AtomicU64,
}

/// What the reports (and refusals) write, on a cache line of its own.
#[derive(Default)]
#[repr(align(128))]
struct ReportCounts {
    /// Reported or refused records.
    done: AtomicU64,
}

/// Shared by the sending loop and every outstanding delivery's callback.
pub(crate) struct Tally<C> {
    clock: C,
    record_bytes: u64,
    counts: Mutex<Counts>,
    has_lines: AtomicBool,
    looped: LoopCounts,
    reported_count: ReportCounts,
    /// Raised by a report while the loop waits (for room, or for the last deliveries).
    reported: Notify,
    /// Whether the loop is waiting on `reported` (reports skip the notification otherwise).
    waiting: AtomicBool,
}

impl<C: Clock> Tally<C> {
    pub(crate) fn new(clock: C, record_bytes: u64, stats: Stats) -> Self {
        Tally {
            clock,
            record_bytes,
            counts: Mutex::new(Counts {
                stats,
                failed: 0,
                outcome_unknown: 0,
                lines: Vec::new(),
            }),
            has_lines: AtomicBool::new(false),
            looped: LoopCounts::default(),
            reported_count: ReportCounts::default(),
            reported: Notify::new(),
            waiting: AtomicBool::new(false),
        }
    }

    pub(crate) fn clock(&self) -> &C {
        &self.clock
    }

    /// The counts (a callback that panicked while holding them left them usable).
    pub(crate) fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A record was handed to the producer; its report is due. (The loop alone counts, so a
    /// load and a store do.)
    pub(crate) fn sent(&self) {
        let sent = self.looped.sent.load(Ordering::Relaxed);
        self.looped.sent.store(sent + 1, Ordering::Relaxed);
    }

    /// Records sent and not yet reported or refused.
    pub(crate) fn outstanding(&self) -> u64 {
        let done = self.reported_count.done.load(Ordering::SeqCst);
        self.looped.seen_done.store(done, Ordering::Relaxed);
        self.looped.sent.load(Ordering::SeqCst).saturating_sub(done)
    }

    /// A record the producer refused after [`sent`](Self::sent): it will have no report.
    pub(crate) fn refused(&self, seq: u64, message: &str) {
        self.counts().failure("send", seq, message);
        self.has_lines.store(true, Ordering::Release);
        self.reported_count.done.fetch_add(1, Ordering::SeqCst);
    }

    /// The outcome of record `seq` (its latency as the producer measured it: from the send
    /// call, as Java's tool measures from just before `send`).
    fn report_outcome(&self, seq: u64, result: Result<Delivered, DeliveryFailure>) {
        match result {
            Ok(delivered) => {
                // As the Java tool: the difference of two whole-millisecond readings (of
                // this clock, when it reads the acknowledgement's instant).
                let at = delivered
                    .acknowledged_at
                    .and_then(|at| self.clock.since_origin(at));
                let ms = match at {
                    Some(at) => {
                        whole_ms(at).saturating_sub(whole_ms(at.saturating_sub(delivered.latency)))
                    }
                    None => whole_ms(delivered.latency),
                };
                self.report_delivered(delivered.acknowledged_at, &[LatencyRun { ms, records: 1 }]);
            }
            Err(e) => {
                {
                    let mut counts = self.counts();
                    if e.outcome_unknown {
                        counts.outcome_unknown += 1;
                    }
                    counts.failure("delivery", seq, &e.message);
                    if !counts.lines.is_empty() {
                        self.has_lines.store(true, Ordering::Release);
                    }
                }
                self.reported_done(1);
            }
        }
    }

    /// Several deliveries acknowledged together: one lock, one reading of the time and one
    /// count for all of them. The producer's reading of the acknowledgement serves as now (one
    /// clock read per batch, the producer's, rather than one per record); the clock is read
    /// only without it.
    fn report_delivered(&self, acknowledged_at: Option<std::time::Instant>, runs: &[LatencyRun]) {
        let now = acknowledged_at
            .and_then(|at| self.clock.since_origin(at))
            .unwrap_or_else(|| self.clock.now());
        let done;
        {
            let mut counts = self.counts();
            let line;
            (done, line) = counts.stats.record_runs(runs, self.record_bytes, now);
            if let Some(line) = line {
                counts.lines.push((Stream::Out, line));
            }
            if !counts.lines.is_empty() {
                self.has_lines.store(true, Ordering::Release);
            }
        }
        self.reported_done(done);
    }

    /// `n` records were reported: counted, and the loop woken if it waits.
    fn reported_done(&self, n: u64) {
        self.reported_count.done.fetch_add(n, Ordering::SeqCst);
        // Either the waiting loop sees this count when it checks again after raising
        // `waiting`, or this sees `waiting` (both sequentially consistent).
        if self.waiting.load(Ordering::SeqCst) {
            self.reported.notify_one();
        }
    }

    /// Whether a report left lines to print.
    pub(crate) fn has_lines(&self) -> bool {
        self.has_lines.load(Ordering::Acquire)
    }

    /// Takes the lines waiting to be printed, in the order they were made.
    pub(crate) fn take_lines(&self) -> Vec<(Stream, String)> {
        let mut counts = self.counts();
        self.has_lines.store(false, Ordering::Release);
        std::mem::take(&mut counts.lines)
    }

    /// Waits until fewer than `max` (at least one) deliveries are outstanding.
    pub(crate) async fn outstanding_below(&self, max: usize) {
        let max = (max as u64).max(1);
        // At most this many are outstanding (`done` only grows): while it is below `max`, the
        // loop does not read the reports' count at all.
        let sent = self.looped.sent.load(Ordering::Relaxed);
        if sent.saturating_sub(self.looped.seen_done.load(Ordering::Relaxed)) < max
            || self.outstanding() < max
        {
            return;
        }
        self.waiting.store(true, Ordering::SeqCst);
        loop {
            // Registered before the check, so a report between the two is not missed.
            let reported = self.reported.notified();
            tokio::pin!(reported);
            reported.as_mut().enable();
            if self.outstanding() < max {
                break;
            }
            reported.await;
        }
        self.waiting.store(false, Ordering::SeqCst);
    }

    /// Waits until every delivery has been reported.
    pub(crate) async fn all_reported(&self) {
        self.outstanding_below(1).await;
    }
}

impl<C: Clock + Send + Sync + 'static> Reports for Tally<C> {
    fn report(&self, seq: u64, result: Result<Delivered, DeliveryFailure>) {
        self.report_outcome(seq, result);
    }

    fn delivered(&self, acknowledged_at: Option<std::time::Instant>, runs: &[LatencyRun]) {
        self.report_delivered(acknowledged_at, runs);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::perf::{FakeClock, REPORTING_INTERVAL};

    fn delivered() -> Delivered {
        Delivered {
            partition: 0,
            offset: Some(0),
            latency: Duration::from_millis(2),
            acknowledged_at: None,
        }
    }

    /// The loop waits for room and for the last report while reports arrive from other
    /// threads, one at a time; none is missed (each wait ends only once its count is met).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waits_end_when_reports_from_other_threads_make_room() {
        let tally = Arc::new(Tally::new(
            FakeClock::default(),
            10,
            Stats::new(Duration::ZERO, REPORTING_INTERVAL),
        ));
        for round in 0..200u64 {
            for _ in 0..3 {
                tally.sent();
            }
            let reporter = Arc::clone(&tally);
            let thread = std::thread::spawn(move || {
                for seq in 0..3 {
                    std::thread::yield_now();
                    reporter.report(round * 3 + seq, Ok(delivered()));
                }
            });
            tally.outstanding_below(3).await;
            tally.all_reported().await;
            assert_eq!(tally.outstanding(), 0);
            thread.join().expect("reporter thread");
        }
        let counts = tally.counts();
        assert_eq!(counts.stats.count(), 600);
        assert_eq!(counts.failed, 0);
    }

    /// A clock that must not be read; it places instants after its origin.
    struct AckOnly(std::time::Instant);

    impl Clock for AckOnly {
        fn now(&self) -> Duration {
            panic!("the clock was read")
        }
        fn since_origin(&self, at: std::time::Instant) -> Option<Duration> {
            Some(at.saturating_duration_since(self.0))
        }
        async fn sleep(&self, _d: Duration) {}
    }

    #[test]
    fn a_delivery_is_placed_by_its_acknowledgement_time_without_reading_the_clock() {
        let origin = std::time::Instant::now();
        let tally = Tally::new(
            AckOnly(origin),
            10,
            Stats::new(Duration::ZERO, REPORTING_INTERVAL),
        );
        let at = |d| Some(origin + d);
        for (seq, after) in [(0, Duration::from_secs(1)), (1, REPORTING_INTERVAL)] {
            tally.sent();
            let mut d = delivered();
            d.acknowledged_at = at(after);
            tally.report(seq, Ok(d));
            // The window closes when an acknowledgement comes at its end, not before.
            assert_eq!(tally.has_lines(), seq == 1, "record {seq}");
        }
        let lines = tally.take_lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].1.starts_with("2 records sent, 0.4 records/sec"),
            "{lines:?}"
        );
    }

    /// A batch's deliveries in one call count as that many reports; the window closes at the
    /// first acknowledgement at its end, and the clock is never read.
    #[test]
    fn deliveries_reported_together_count_each_record_and_close_the_window_on_time() {
        let origin = std::time::Instant::now();
        let tally = Tally::new(
            AckOnly(origin),
            10,
            Stats::new(Duration::ZERO, REPORTING_INTERVAL),
        );
        for _ in 0..5 {
            tally.sent();
        }
        let latencies = |records| [LatencyRun { ms: 2, records }];
        tally.delivered(Some(origin + Duration::from_secs(1)), &latencies(3));
        assert_eq!(tally.outstanding(), 2);
        assert!(!tally.has_lines(), "the window is still open");
        tally.delivered(Some(origin + REPORTING_INTERVAL), &latencies(2));
        assert_eq!(tally.outstanding(), 0);
        assert_eq!(tally.counts().stats.count(), 5);
        let lines = tally.take_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].1.starts_with("4 records sent, 0.8 records/sec"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_refused_send_is_counted_and_needs_no_report() {
        let tally = Tally::new(
            FakeClock::default(),
            10,
            Stats::new(Duration::ZERO, REPORTING_INTERVAL),
        );
        tally.sent();
        tally.refused(7, "too large");
        assert_eq!(tally.outstanding(), 0);
        assert!(tally.has_lines());
        assert_eq!(
            tally.take_lines(),
            vec![(
                Stream::Err,
                "send failed for record 7: too large".to_owned()
            )]
        );
        assert!(!tally.has_lines());
        assert_eq!(tally.counts().failed, 1);
    }
}
