//! What the perf run measures: the latency histogram, the running totals, the 5 s windows and
//! their lines in the Java tool's format.

use std::time::Duration;

use crate::sink::LatencyRun;

/// Log-linear histogram over whole milliseconds (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
}

/// Values below 2^EXACT_BITS get one bucket each.
const EXACT_BITS: u32 = 10;
const EXACT: u64 = 1 << EXACT_BITS;
const HALF: u64 = EXACT / 2;
/// Largest recorded value; anything above is clamped (about 49 days).
const MAX_MS: u64 = u32::MAX as u64;

impl LatencyHistogram {
    pub(crate) fn new() -> Self {
        let buckets = Self::index(MAX_MS) + 1;
        Self {
            counts: vec![0; buckets],
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < EXACT {
            return v as usize;
        }
        let msb = v.ilog2();
        let shift = msb - (EXACT_BITS - 1);
        let mantissa = v >> shift; // in [HALF, EXACT)
        (EXACT + u64::from(shift - 1) * HALF + (mantissa - HALF)) as usize
    }

    /// The smallest value that falls into bucket `i`.
    fn lower_bound(i: usize) -> u64 {
        let i = i as u64;
        if i < EXACT {
            return i;
        }
        let shift = (i - EXACT) / HALF + 1;
        let mantissa = (i - EXACT) % HALF + HALF;
        mantissa << shift
    }

    #[cfg(test)]
    pub(crate) fn record(&mut self, ms: u64) {
        self.record_n(ms, 1);
    }

    /// `n` values of `ms` at once.
    pub(crate) fn record_n(&mut self, ms: u64, n: u64) {
        self.counts[Self::index(ms.min(MAX_MS))] += n;
        self.total += n;
    }

    /// Value at 0-based sorted rank `floor(p * count)`; 0 when empty.
    pub(crate) fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p * f64_from(self.total)) as u64).min(self.total - 1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return Self::lower_bound(i);
            }
        }
        unreachable!("rank {rank} below total {}", self.total)
    }
}

/// Latencies are whole milliseconds, as the Java tool's (the difference of two millisecond
/// clock readings), summed as such.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: Duration,
    count: u64,
    bytes: u64,
    total_latency_ms: u64,
    max_latency_ms: u64,
}

/// Running totals, the current 5 s window and the latency histogram.
#[derive(Debug, Clone)]
pub(crate) struct Stats {
    start: Duration,
    interval: Duration,
    count: u64,
    bytes: u64,
    total_latency_ms: u64,
    max_latency_ms: u64,
    histogram: LatencyHistogram,
    window: Window,
}

fn per_sec(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { amount / secs } else { 0.0 }
}

fn avg_ms(total_ms: u64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        f64_from(total_ms) / f64_from(count)
    }
}

const MB: f64 = 1024.0 * 1024.0;

/// Counts and byte totals stay far below 2^53, where `f64` is exact.
#[expect(
    clippy::cast_precision_loss,
    reason = "values below 2^53 convert exactly"
)]
pub(super) fn f64_from(v: u64) -> f64 {
    v as f64
}

/// Formats like Java's `%.<prec>f`: Java rounds the shortest decimal representation
/// of the double half-up (`2.125` → `2.13`, `1.005` → `1.01`), where Rust's `{:.2}`
/// rounds the exact binary value half-to-even. Rust's `{}` prints that shortest
/// representation without an exponent, so rounding its digits reproduces Java.
pub(crate) fn java_fixed(v: f64, prec: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let shortest = format!("{}", v.abs());
    let (int_part, frac_part) = shortest.split_once('.').unwrap_or((&shortest, ""));
    let mut digits: Vec<u8> = int_part.bytes().collect();
    let frac = frac_part.as_bytes();
    digits.extend((0..prec).map(|i| frac.get(i).copied().unwrap_or(b'0')));
    if frac.get(prec).is_some_and(|&d| d >= b'5') {
        // Add one unit in the last kept place, carrying leftwards.
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - prec;
    let mut out = String::with_capacity(digits.len() + 2);
    if v < 0.0 {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[..split]).expect("ascii digits"));
    if prec > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(&digits[split..]).expect("ascii digits"));
    }
    out
}

impl Stats {
    pub(crate) fn new(start: Duration, interval: Duration) -> Self {
        Self {
            start,
            interval,
            count: 0,
            bytes: 0,
            total_latency_ms: 0,
            max_latency_ms: 0,
            histogram: LatencyHistogram::new(),
            window: Window {
                start,
                ..Window::default()
            },
        }
    }

    /// Records one successful delivery (`latency_ms` whole milliseconds) completed at `now`;
    /// returns a progress line when the current window has lasted at least the reporting
    /// interval.
    #[cfg(test)]
    pub(crate) fn record(&mut self, latency_ms: u64, bytes: u64, now: Duration) -> Option<String> {
        self.record_runs(
            &[LatencyRun {
                ms: latency_ms,
                records: 1,
            }],
            bytes,
            now,
        )
        .1
    }

    /// Records deliveries all completed at `now` (a batch's), as runs of records with the
    /// same latency: the window can only close at the first of them, so it is checked once.
    /// Returns how many records there were, and the line of a window that closed.
    pub(crate) fn record_runs(
        &mut self,
        runs: &[LatencyRun],
        bytes: u64,
        now: Duration,
    ) -> (u64, Option<String>) {
        let Some(at) = runs.iter().position(|r| r.records > 0) else {
            return (0, None);
        };
        // As if recorded one by one: the first record closes a due window, the rest go into
        // the next one.
        let first = runs[at];
        self.add(first.ms, 1, bytes);
        let line = self.close_window_if_due(now);
        let mut n = first.records;
        self.add(first.ms, first.records - 1, bytes);
        for run in &runs[at + 1..] {
            self.add(run.ms, run.records, bytes);
            n += run.records;
        }
        (n, line)
    }

    /// `records` deliveries of `ms` into the histogram and the current window (the totals take the
    /// window when it closes).
    fn add(&mut self, ms: u64, records: u64, bytes: u64) {
        if records == 0 {
            return;
        }
        self.histogram.record_n(ms, records);
        let w = &mut self.window;
        w.count += records;
        w.bytes = w.bytes.saturating_add(bytes.saturating_mul(records));
        w.total_latency_ms = w
            .total_latency_ms
            .saturating_add(ms.saturating_mul(records));
        w.max_latency_ms = w.max_latency_ms.max(ms);
    }

    fn close_window_if_due(&mut self, now: Duration) -> Option<String> {
        let w = self.window;
        let elapsed = now.saturating_sub(w.start);
        if elapsed < self.interval {
            return None;
        }
        let line = format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency.",
            w.count,
            java_fixed(per_sec(f64_from(w.count), elapsed), 1),
            java_fixed(per_sec(f64_from(w.bytes), elapsed) / MB, 2),
            java_fixed(avg_ms(w.total_latency_ms, w.count), 1),
            java_fixed(f64_from(w.max_latency_ms), 1),
        );
        self.fold(&w);
        self.window = Window {
            start: now,
            ..Window::default()
        };
        Some(line)
    }

    /// Adds a window's figures to the totals.
    fn fold(&mut self, w: &Window) {
        self.count += w.count;
        self.bytes += w.bytes;
        self.total_latency_ms = self.total_latency_ms.saturating_add(w.total_latency_ms);
        self.max_latency_ms = self.max_latency_ms.max(w.max_latency_ms);
    }

    /// Deliveries recorded so far.
    pub(crate) fn count(&self) -> u64 {
        self.count + self.window.count
    }

    /// The final summary line, elapsed time measured up to `now`.
    pub(crate) fn total_line(&self, now: Duration) -> String {
        let elapsed = now.saturating_sub(self.start);
        // The totals with the open window's deliveries.
        let w = &self.window;
        let count = self.count + w.count;
        let bytes = self.bytes + w.bytes;
        let total_latency_ms = self.total_latency_ms.saturating_add(w.total_latency_ms);
        let max_latency_ms = self.max_latency_ms.max(w.max_latency_ms);
        let h = &self.histogram;
        format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency, \
             {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            count,
            java_fixed(per_sec(f64_from(count), elapsed), 6),
            java_fixed(per_sec(f64_from(bytes), elapsed) / MB, 2),
            java_fixed(avg_ms(total_latency_ms, count), 2),
            java_fixed(f64_from(max_latency_ms), 2),
            h.percentile(0.5),
            h.percentile(0.95),
            h.percentile(0.99),
            h.percentile(0.999),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::REPORTING_INTERVAL;

    fn ms_d(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn run(ms: u64, records: u64) -> LatencyRun {
        LatencyRun { ms, records }
    }

    #[test]
    fn java_fixed_rounds_half_up_on_shortest_digits() {
        assert_eq!(java_fixed(2.125, 2), "2.13");
        assert_eq!(java_fixed(1.005, 2), "1.01");
        assert_eq!(java_fixed(0.05, 1), "0.1");
        assert_eq!(java_fixed(9.995, 2), "10.00");
        assert_eq!(java_fixed(99.96, 1), "100.0");
        assert_eq!(java_fixed(1000.0 / 1.998, 6), "500.500501");
        assert_eq!(java_fixed(0.0, 2), "0.00");
        assert_eq!(java_fixed(3.0, 6), "3.000000");
        assert_eq!(java_fixed(1.04, 1), "1.0");
        assert_eq!(java_fixed(-2.5, 0), "-3");
        assert_eq!(java_fixed(123_456_789.0, 0), "123456789");
        assert_eq!(java_fixed(1e21, 1), "1000000000000000000000.0");
    }

    #[test]
    fn histogram_is_exact_below_1024_ms_with_java_ranks() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.percentile(0.5), 0, "empty histogram");
        for v in (1..=1000).rev() {
            h.record(v);
        }
        assert_eq!(h.percentile(0.5), 501);
        assert_eq!(h.percentile(0.95), 951);
        assert_eq!(h.percentile(0.99), 991);
        assert_eq!(h.percentile(0.999), 1000);
        assert_eq!(h.percentile(0.0), 1);
        assert_eq!(h.percentile(1.0), 1000, "rank clamps to the last element");
    }

    #[test]
    fn histogram_small_sample_ranks() {
        let mut h = LatencyHistogram::new();
        for v in [7, 3, 3, 900] {
            h.record(v);
        }
        // sorted: 3 3 7 900; rank floor(p * 4)
        assert_eq!(h.percentile(0.5), 7);
        assert_eq!(h.percentile(0.25), 3);
        assert_eq!(h.percentile(0.95), 900);
    }

    #[test]
    fn histogram_buckets_are_contiguous_with_bounded_error() {
        assert_eq!(
            LatencyHistogram::new().counts.len(),
            12_288,
            "fixed ~96 KiB"
        );
        let mut v = 0u64;
        while v <= MAX_MS {
            let i = LatencyHistogram::index(v);
            let lo = LatencyHistogram::lower_bound(i);
            let next = LatencyHistogram::lower_bound(i + 1);
            assert!(lo <= v && v < next, "v={v} bucket [{lo}, {next})");
            assert!((v - lo) * 512 <= v, "v={v} lo={lo}");
            if v >= EXACT {
                assert_eq!(LatencyHistogram::index(next), i + 1);
            }
            v = v * 3 / 2 + 1;
        }
        let mut h = LatencyHistogram::new();
        h.record(123_456);
        let p = h.percentile(0.5);
        assert!(p <= 123_456 && 123_456 - p <= 123_456 / 512, "{p}");
        h.record(u64::MAX);
        assert!(h.percentile(0.99) <= MAX_MS && h.percentile(0.99) > MAX_MS - MAX_MS / 512);
    }

    #[test]
    fn total_line_exact_format() {
        let mut s = Stats::new(Duration::ZERO, Duration::from_secs(3600));
        for v in 1..=100 {
            assert_eq!(s.record(v, 1000, Duration::from_secs(1)), None);
        }
        assert_eq!(
            s.total_line(Duration::from_secs(2)),
            "100 records sent, 50.000000 records/sec (0.05 MB/sec), 50.50 ms avg latency, \
             100.00 ms max latency, 51 ms 50th, 96 ms 95th, 100 ms 99th, 100 ms 99.9th."
        );
    }

    #[test]
    fn total_line_averages_whole_milliseconds_and_empty() {
        let mut s = Stats::new(ms_d(1000), Duration::from_secs(3600));
        s.record(1, 1 << 20, ms_d(1100));
        s.record(2, 1 << 20, ms_d(1200));
        s.record(2, 1 << 20, ms_d(1300));
        assert_eq!(
            s.total_line(ms_d(1600)),
            "3 records sent, 5.000000 records/sec (5.00 MB/sec), 1.67 ms avg latency, \
             2.00 ms max latency, 2 ms 50th, 2 ms 95th, 2 ms 99th, 2 ms 99.9th."
        );
        let empty = Stats::new(Duration::ZERO, REPORTING_INTERVAL);
        assert_eq!(
            empty.total_line(Duration::ZERO),
            "0 records sent, 0.000000 records/sec (0.00 MB/sec), 0.00 ms avg latency, \
             0.00 ms max latency, 0 ms 50th, 0 ms 95th, 0 ms 99th, 0 ms 99.9th."
        );
    }

    #[test]
    fn window_lines_every_interval_then_reset() {
        let mut s = Stats::new(Duration::ZERO, REPORTING_INTERVAL);
        let mib = 1 << 20;
        assert_eq!(s.record(10, mib, ms_d(1000)), None);
        assert_eq!(s.record(20, mib, ms_d(2000)), None);
        assert_eq!(
            s.record(31, mib, ms_d(5000)).as_deref(),
            Some(
                "3 records sent, 0.6 records/sec (0.60 MB/sec), 20.3 ms avg latency, 31.0 ms max latency."
            )
        );
        assert_eq!(s.record(4, 0, ms_d(6000)), None);
        assert_eq!(
            s.record(2, 0, ms_d(10_000)).as_deref(),
            Some(
                "2 records sent, 0.4 records/sec (0.00 MB/sec), 3.0 ms avg latency, 4.0 ms max latency."
            )
        );
        assert_eq!(s.count(), 5, "totals are not reset by windows");
    }

    /// Deliveries recorded together (one `now`) give the lines, counts and totals of the same
    /// deliveries recorded one at a time.
    #[test]
    fn recording_a_batch_at_once_equals_recording_its_deliveries_one_by_one() {
        let batches: [(u64, &[u64]); 4] = [
            (1_000, &[3, 4, 5]),
            (5_000, &[7, 1]),
            (7_500, &[2, 2, 9, 1_500, 1_500]),
            (12_000, &[6]),
        ];
        let mut one = Stats::new(Duration::ZERO, REPORTING_INTERVAL);
        let mut all = Stats::new(Duration::ZERO, REPORTING_INTERVAL);
        for (now, latencies) in batches {
            let now = ms_d(now);
            let lines_one: Vec<String> = latencies
                .iter()
                .filter_map(|&l| one.record(l, 100, now))
                .collect();
            // Equal neighbours as one run; a run of none is skipped.
            let mut runs = vec![run(0, 0)];
            for &l in latencies {
                match runs.last_mut() {
                    Some(last) if last.ms == l => last.records += 1,
                    _ => runs.push(run(l, 1)),
                }
            }
            let (n, line) = all.record_runs(&runs, 100, now);
            assert_eq!(n, latencies.len() as u64);
            assert_eq!(line.into_iter().collect::<Vec<_>>(), lines_one);
            assert_eq!(all.count(), one.count());
        }
        assert_eq!(all.count(), 11);
        assert_eq!(all.total_line(ms_d(13_000)), one.total_line(ms_d(13_000)));
        assert!(
            all.total_line(ms_d(13_000))
                .starts_with("11 records sent, 0.846154 records/sec"),
            "{}",
            all.total_line(ms_d(13_000))
        );
        assert_eq!(all.record_runs(&[run(5, 0)], 100, ms_d(14_000)), (0, None));
    }
}
