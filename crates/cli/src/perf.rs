//! `perf`: a producer throughput/latency test shaped like Apache Kafka's
//! `kafka-producer-perf-test` (`ProducerPerformance`).
//!
//! * One payload of `record-size` pseudo-random uppercase letters is prepared once and
//!   shared (`Bytes` clone) by every record; records have no key.
//! * Latency is measured per record from just before `send` to the delivery's completion.
//! * Every 5 s (checked when a delivery completes, as the Java tool does) a window line:
//!   `X records sent, Y records/sec (Z MB/sec), A ms avg latency, B ms max latency.`
//! * Final line, Java's format (`%d`, `%f`, `%.2f`; percentiles as whole milliseconds):
//!   `N records sent, X records/sec (Y MB/sec), A ms avg latency, B ms max latency,
//!   P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th.`
//! * Only successful deliveries count as "sent" (as in the Java tool); failures are
//!   reported on stderr and make the exit code 1.
//! * MB is 1024 * 1024 bytes; rates use the elapsed time since the start.
//!
//! Percentiles come from a log-linear histogram of whole-millisecond latencies instead
//! of Java's sampled array: exact below 1024 ms, within 1/512 (0.2%) above, with a
//! fixed ~96 KiB of memory whatever the record count. A percentile p is the value of
//! the element at 0-based rank `floor(p * count)` in sorted order, Java's indexing.

#[cfg(test)]
use std::cell::Cell;
use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::FuturesUnordered;

use crate::interrupt::Interrupt;
use crate::pipeline::{drain_all, drain_ready, drain_while, make_room};
use crate::sink::{Delivered, DeliveryFailure, OutRecord, Sink, failed};
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};

/// How many failure messages are printed before the rest are only counted.
const MAX_PRINTED_FAILURES: u64 = 10;

pub(crate) const REPORTING_INTERVAL: Duration = Duration::from_secs(5);

/// Time source; tests use `FakeClock` so nothing really sleeps.
pub(crate) trait Clock {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
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

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// A clock that only moves when slept on (or advanced by hand).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct FakeClock {
    now: Cell<Duration>,
    pub(crate) slept: Cell<Duration>,
}

#[cfg(test)]
impl FakeClock {
    pub(crate) fn advance(&self, d: Duration) {
        self.now.set(self.now.get() + d);
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.now.get()
    }

    async fn sleep(&self, d: Duration) {
        self.now.set(self.now.get() + d);
        self.slept.set(self.slept.get() + d);
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

    /// How long to sleep before sending record number `sent_so_far`.
    pub(crate) fn delay(&self, sent_so_far: u64, now: Duration) -> Option<Duration> {
        if self.records_per_sec <= 0.0 || !self.records_per_sec.is_finite() {
            return None;
        }
        let due_ns = (f64_from(sent_so_far) * 1e9 / self.records_per_sec).round();
        let due = self.start + Duration::from_nanos(due_ns as u64);
        due.checked_sub(now).filter(|d| !d.is_zero())
    }
}

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

    pub(crate) fn record(&mut self, ms: u64) {
        self.counts[Self::index(ms.min(MAX_MS))] += 1;
        self.total += 1;
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

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: Duration,
    count: u64,
    bytes: u64,
    total_latency: Duration,
    max_latency: Duration,
}

/// Running totals, the current 5 s window and the latency histogram.
#[derive(Debug, Clone)]
pub(crate) struct Stats {
    start: Duration,
    interval: Duration,
    count: u64,
    bytes: u64,
    total_latency: Duration,
    max_latency: Duration,
    histogram: LatencyHistogram,
    window: Window,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn per_sec(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { amount / secs } else { 0.0 }
}

fn avg_ms(total: Duration, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        ms(total) / f64_from(count)
    }
}

const MB: f64 = 1024.0 * 1024.0;

/// Counts and byte totals stay far below 2^53, where `f64` is exact.
#[expect(
    clippy::cast_precision_loss,
    reason = "values below 2^53 convert exactly"
)]
fn f64_from(v: u64) -> f64 {
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
            total_latency: Duration::ZERO,
            max_latency: Duration::ZERO,
            histogram: LatencyHistogram::new(),
            window: Window {
                start,
                ..Window::default()
            },
        }
    }

    /// Records one successful delivery completed at `now`; returns a progress line
    /// when the current window has lasted at least the reporting interval.
    pub(crate) fn record(
        &mut self,
        latency: Duration,
        bytes: u64,
        now: Duration,
    ) -> Option<String> {
        self.count += 1;
        self.bytes += bytes;
        self.total_latency += latency;
        self.max_latency = self.max_latency.max(latency);
        self.histogram.record(latency.as_millis() as u64);
        let w = &mut self.window;
        w.count += 1;
        w.bytes += bytes;
        w.total_latency += latency;
        w.max_latency = w.max_latency.max(latency);
        let elapsed = now.saturating_sub(w.start);
        if elapsed < self.interval {
            return None;
        }
        let line = format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency.",
            w.count,
            java_fixed(per_sec(f64_from(w.count), elapsed), 1),
            java_fixed(per_sec(f64_from(w.bytes), elapsed) / MB, 2),
            java_fixed(avg_ms(w.total_latency, w.count), 1),
            java_fixed(ms(w.max_latency), 1),
        );
        self.window = Window {
            start: now,
            ..Window::default()
        };
        Some(line)
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The final summary line, elapsed time measured up to `now`.
    pub(crate) fn total_line(&self, now: Duration) -> String {
        let elapsed = now.saturating_sub(self.start);
        let h = &self.histogram;
        format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency, \
             {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            java_fixed(per_sec(f64_from(self.count), elapsed), 6),
            java_fixed(per_sec(f64_from(self.bytes), elapsed) / MB, 2),
            java_fixed(avg_ms(self.total_latency, self.count), 2),
            java_fixed(ms(self.max_latency), 2),
            h.percentile(0.5),
            h.percentile(0.95),
            h.percentile(0.99),
            h.percentile(0.999),
        )
    }
}

/// `len` pseudo-random bytes in `A..=Z` (as the Java tool's payload), from a fixed seed.
pub(crate) fn make_payload(len: usize) -> Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'A' + (x % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

#[derive(Debug, Clone)]
pub(crate) struct PerfOptions {
    pub(crate) topic: String,
    pub(crate) num_records: u64,
    pub(crate) record_size: usize,
    pub(crate) throughput: f64,
    pub(crate) max_in_flight: usize,
    pub(crate) flush_timeout: Duration,
    /// The flush bound after Ctrl-C.
    pub(crate) interrupted_flush_timeout: Duration,
    pub(crate) close_timeout: Duration,
    /// With `transactional.id` (through `-X`): commit a transaction every this long (Java's
    /// `--transaction-duration-ms`).
    pub(crate) transaction_duration: Option<Duration>,
    /// `--print-metrics`: the producer's metrics on `out` before it closes.
    pub(crate) print_metrics: bool,
}

/// Java's `ToolsUtils.printMetrics` layout: a header, then `name : value` with three decimals,
/// names padded to the longest.
fn print_metrics(out: &mut dyn Write, metrics: &[(String, f64)]) {
    let width = metrics
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0)
        .max(11);
    let _ = writeln!(out, "\n{:<width$}   Value", "Metric Name");
    for (name, value) in metrics {
        let _ = writeln!(out, "{name:<width$} : {value:.3}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PerfSummary {
    pub(crate) sent: u64,
    pub(crate) failed: u64,
    /// Ctrl-C stopped sending before `num_records`.
    pub(crate) interrupted: bool,
}

impl PerfSummary {
    pub(crate) fn exit_code(&self) -> u8 {
        if self.interrupted {
            EXIT_INTERRUPTED
        } else if self.failed == 0 {
            EXIT_OK
        } else {
            EXIT_FAILED
        }
    }
}

struct Tracker<'a, C> {
    stats: Stats,
    failed: u64,
    /// Of `failed`, deliveries whose request was never answered (may have been written).
    outcome_unknown: u64,
    record_bytes: u64,
    clock: &'a C,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl<C: Clock> Tracker<'_, C> {
    fn failure(&mut self, what: &str, seq: u64, msg: &str) {
        self.failed += 1;
        if self.failed <= MAX_PRINTED_FAILURES {
            let _ = writeln!(self.err, "{what} failed for record {seq}: {msg}");
        } else if self.failed == MAX_PRINTED_FAILURES + 1 {
            let _ = writeln!(self.err, "(more failures: only counted from here on)");
        }
    }

    fn done(
        &mut self,
        (result, seq, sent_at): (Result<Delivered, DeliveryFailure>, u64, Duration),
    ) {
        let now = self.clock.now();
        match result {
            Ok(_) => {
                let latency = now.saturating_sub(sent_at);
                if let Some(line) = self.stats.record(latency, self.record_bytes, now) {
                    let _ = writeln!(self.out, "{line}");
                }
            }
            Err(e) => {
                if e.outcome_unknown {
                    self.outcome_unknown += 1;
                }
                self.failure("delivery", seq, &e.message);
            }
        }
    }
}

/// Runs the test; progress and the final line go to `out`, failures to `err`.
pub(crate) async fn run_perf<S: Sink, C: Clock>(
    opts: &PerfOptions,
    sink: &S,
    clock: &C,
    out: &mut dyn Write,
    err: &mut dyn Write,
    stop: &Interrupt,
) -> PerfSummary {
    let payload = make_payload(opts.record_size);
    let start = clock.now();
    let throttler = Throttler::new(opts.throughput, start);
    let mut t = Tracker {
        stats: Stats::new(start, REPORTING_INTERVAL),
        failed: 0,
        outcome_unknown: 0,
        record_bytes: opts.record_size as u64,
        clock,
        out,
        err,
    };
    let mut inflight = FuturesUnordered::new();
    let mut txn_started = None;
    if opts.transaction_duration.is_some() {
        let begun = match sink.init_transactions().await {
            Ok(()) => sink.begin_transaction(),
            Err(e) => Err(e),
        };
        if let Err(e) = begun {
            let _ = writeln!(t.err, "starting the first transaction failed: {e}");
            sink.close(opts.close_timeout).await;
            return PerfSummary {
                sent: 0,
                failed: opts.num_records,
                interrupted: false,
            };
        }
        txn_started = Some(clock.now());
    }
    let mut interrupted = false;
    for seq in 0..opts.num_records {
        if stop.is_set() {
            let _ = writeln!(
                t.err,
                "interrupted after {seq} records: flushing what was sent"
            );
            interrupted = true;
            break;
        }
        if let (Some(every), Some(started)) = (opts.transaction_duration, txn_started)
            && clock.now().saturating_sub(started) >= every
        {
            let ended = drain_while(sink.end_transaction(true), &mut inflight, |c| t.done(c)).await;
            let begun = match ended {
                Ok(()) => sink
                    .begin_transaction()
                    .map_err(|e| failed("begin_transaction", &e)),
                Err(e) => Err(failed("commit_transaction", &e)),
            };
            if let Err(message) = begun {
                let _ = writeln!(t.err, "{message}");
                break;
            }
            txn_started = Some(clock.now());
        }
        if let Some(d) = throttler.delay(seq, clock.now()) {
            drain_while(clock.sleep(d), &mut inflight, |c| t.done(c)).await;
        }
        make_room(&mut inflight, opts.max_in_flight, |c| t.done(c)).await;
        let record = OutRecord {
            topic: opts.topic.clone(),
            partition: None,
            key: None,
            value: Some(payload.clone()),
            headers: Vec::new(),
        };
        // Latency runs from here (as Java's sendStartMs), so blocking in `send` counts.
        drain_ready(&mut inflight, |c| t.done(c));
        let sent_at = clock.now();
        match drain_while(sink.send(record), &mut inflight, |c| t.done(c)).await {
            Ok(pending) => inflight.push(async move { (pending.await, seq, sent_at) }),
            Err(rejected) => {
                t.failure("send", seq, &rejected.message);
                if rejected.fatal {
                    let _ = writeln!(t.err, "stopping: the producer cannot accept more records");
                    break;
                }
            }
        }
    }
    if txn_started.is_some()
        && let Err(e) = drain_while(sink.end_transaction(true), &mut inflight, |c| t.done(c)).await
    {
        let _ = writeln!(t.err, "{}", failed("commit_transaction", &e));
    }
    // As the Java tool: flush, then report.
    let flush_timeout = if interrupted {
        opts.flush_timeout.min(opts.interrupted_flush_timeout)
    } else {
        opts.flush_timeout
    };
    if let Err(e) = drain_while(sink.flush(flush_timeout), &mut inflight, |c| t.done(c)).await {
        let _ = writeln!(t.err, "flush failed: {e}");
    }
    drain_all(&mut inflight, |c| t.done(c)).await;
    let _ = writeln!(t.out, "{}", t.stats.total_line(clock.now()));
    if t.failed > 0 {
        let _ = write!(t.err, "{} records failed.", t.failed);
        if t.outcome_unknown > 0 {
            let _ = write!(
                t.err,
                " {} of them may have been written (their requests were never answered).",
                t.outcome_unknown
            );
        }
        let _ = writeln!(t.err);
    }
    if opts.print_metrics {
        print_metrics(t.out, &sink.metrics());
    }
    sink.close(opts.close_timeout).await;
    PerfSummary {
        sent: t.stats.count(),
        failed: t.failed,
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::sink::fake::FakeSink;
    use crate::sink::{Pending, Rejected};

    fn ms_d(v: u64) -> Duration {
        Duration::from_millis(v)
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
            assert_eq!(s.record(ms_d(v), 1000, Duration::from_secs(1)), None);
        }
        assert_eq!(
            s.total_line(Duration::from_secs(2)),
            "100 records sent, 50.000000 records/sec (0.05 MB/sec), 50.50 ms avg latency, \
             100.00 ms max latency, 51 ms 50th, 96 ms 95th, 100 ms 99th, 100 ms 99.9th."
        );
    }

    #[test]
    fn total_line_sub_millisecond_and_empty() {
        let mut s = Stats::new(ms_d(1000), Duration::from_secs(3600));
        s.record(Duration::from_micros(1500), 1 << 20, ms_d(1100));
        s.record(Duration::from_micros(2750), 1 << 20, ms_d(1200));
        assert_eq!(
            s.total_line(ms_d(1500)),
            "2 records sent, 4.000000 records/sec (4.00 MB/sec), 2.13 ms avg latency, \
             2.75 ms max latency, 2 ms 50th, 2 ms 95th, 2 ms 99th, 2 ms 99.9th."
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
        assert_eq!(s.record(ms_d(10), mib, ms_d(1000)), None);
        assert_eq!(s.record(ms_d(20), mib, ms_d(2000)), None);
        assert_eq!(
            s.record(Duration::from_micros(30_500), mib, ms_d(5000))
                .as_deref(),
            Some(
                "3 records sent, 0.6 records/sec (0.60 MB/sec), 20.2 ms avg latency, 30.5 ms max latency."
            )
        );
        assert_eq!(s.record(ms_d(4), 0, ms_d(6000)), None);
        assert_eq!(
            s.record(ms_d(2), 0, ms_d(10_000)).as_deref(),
            Some(
                "2 records sent, 0.4 records/sec (0.00 MB/sec), 3.0 ms avg latency, 4.0 ms max latency."
            )
        );
        assert_eq!(s.count(), 5, "totals are not reset by windows");
    }

    #[test]
    fn throttler_sleeps_only_when_ahead_of_schedule() {
        let start = Duration::from_secs(10);
        for t in [0.0, -1.0, -0.5] {
            assert_eq!(
                Throttler::new(t, start).delay(1_000_000, start),
                None,
                "T={t}"
            );
        }
        let th = Throttler::new(100.0, start);
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
        assert_eq!(clock.slept.get(), ms_d(3996));
        // Time spent elsewhere is not slept again.
        let clock = FakeClock::default();
        let th = Throttler::new(250.0, clock.now());
        clock.advance(ms_d(2000));
        assert_eq!(th.delay(400, clock.now()), None, "due at 1.6 s, now 2 s");
        assert_eq!(th.delay(600, clock.now()), Some(ms_d(400)));
    }

    #[test]
    fn payload_is_uppercase_letters_and_varied() {
        let p = make_payload(1000);
        assert_eq!(p.len(), 1000);
        assert!(p.iter().all(u8::is_ascii_uppercase));
        let distinct: std::collections::HashSet<u8> = p.iter().copied().collect();
        assert!(distinct.len() > 20, "{}", distinct.len());
        assert_eq!(make_payload(1000), p, "deterministic");
        assert!(make_payload(0).is_empty());
    }

    fn opts(n: u64, size: usize, throughput: f64) -> PerfOptions {
        PerfOptions {
            topic: "perf".into(),
            num_records: n,
            record_size: size,
            throughput,
            max_in_flight: 100,
            flush_timeout: Duration::from_secs(1),
            interrupted_flush_timeout: Duration::from_secs(1),
            close_timeout: Duration::from_secs(1),
            transaction_duration: None,
            print_metrics: false,
        }
    }

    #[tokio::test]
    async fn ctrl_c_stops_sending_and_still_prints_the_total() {
        let sink = FakeSink::new();
        let clock = FakeClock::default();
        let stop = Interrupt::new();
        stop.trigger();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let s = run_perf(
            &opts(100, 10, -1.0),
            &sink,
            &clock,
            &mut out,
            &mut err,
            &stop,
        )
        .await;
        assert!(s.interrupted);
        assert_eq!(s.exit_code(), EXIT_INTERRUPTED);
        assert_eq!(sink.state.borrow().sends, 0);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("0 records sent"), "{out}");
        assert!(sink.state.borrow().closed);
    }

    #[tokio::test]
    async fn print_metrics_lists_every_metric_after_the_total_line_as_java_does() {
        let clock = FakeClock::default();
        let sink = FakeSink::new();
        let mut o = opts(3, 10, -1.0);
        o.print_metrics = true;
        let (_, out, _) = run(&o, &sink, &clock).await;
        let name = "producer-topic-metrics:byte-rate:{client-id=fake, topic=t}";
        let width = name.len();
        let expected = format!(
            "\n{:<width$}   Value\n{:<width$} : 3.000\n{name} : 12.500\n",
            "Metric Name", "producer-metrics:record-send-total:{client-id=fake}"
        );
        assert!(out.ends_with(&expected), "{out}");
        assert!(
            out.starts_with("3 records sent"),
            "the total line comes first: {out}"
        );
        o.print_metrics = false;
        let (_, out, _) = run(&o, &FakeSink::new(), &clock).await;
        assert!(!out.contains("Metric Name"), "{out}");
    }

    #[tokio::test]
    async fn transactional_runs_commit_every_transaction_duration() {
        let clock = FakeClock::default();
        let sink = FakeSink::new();
        let mut o = opts(10, 10, 10.0); // one record every 100 ms of fake time
        o.transaction_duration = Some(ms_d(300));
        let (s, _, _) = run(&o, &sink, &clock).await;
        assert_eq!(s.sent, 10);
        let calls = sink.state.borrow().calls.clone();
        assert_eq!(calls.first(), Some(&"init"));
        let commits = calls.iter().filter(|c| **c == "commit").count();
        let begins = calls.iter().filter(|c| **c == "begin").count();
        // Records at 0, 100, ..., 900 ms; the check runs before each record's throttle wait,
        // so transactions end before records 4 and 7 (clock at 300 and 600 ms), then at the end.
        assert_eq!(commits, 3, "{calls:?}");
        assert_eq!(begins, commits);
    }

    async fn run<S: Sink>(
        o: &PerfOptions,
        sink: &S,
        clock: &FakeClock,
    ) -> (PerfSummary, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = run_perf(o, sink, clock, &mut out, &mut err, &Interrupt::new()).await;
        (
            s,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[tokio::test]
    async fn throttled_run_end_to_end() {
        let sink = FakeSink::new();
        let clock = FakeClock::default();
        let (s, out, err) = run(&opts(1000, 100, 500.0), &sink, &clock).await;
        assert_eq!(
            s,
            PerfSummary {
                sent: 1000,
                failed: 0,
                interrupted: false,
            }
        );
        assert_eq!(s.exit_code(), EXIT_OK);
        assert_eq!(err, "");
        assert_eq!(
            out,
            "1000 records sent, 500.500501 records/sec (0.05 MB/sec), 0.00 ms avg latency, \
             0.00 ms max latency, 0 ms 50th, 0 ms 95th, 0 ms 99th, 0 ms 99.9th.\n"
        );
        assert_eq!(clock.slept.get(), ms_d(1998));
        let recs = sink.accepted();
        assert_eq!(recs.len(), 1000);
        assert!(recs.iter().all(|r| r.topic == "perf"
            && r.key.is_none()
            && r.partition.is_none()
            && r.value.as_ref().map(|v| v.len()) == Some(100)));
        assert!(sink.state.borrow().closed);
    }

    #[tokio::test]
    async fn progress_line_after_five_seconds() {
        let sink = FakeSink::new();
        let clock = FakeClock::default();
        let (s, out, _) = run(&opts(6000, 100, 1000.0), &sink, &clock).await;
        assert_eq!(s.sent, 6000);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            vec![
                "5001 records sent, 1000.2 records/sec (0.10 MB/sec), 0.0 ms avg latency, 0.0 ms max latency.",
                "6000 records sent, 1000.166694 records/sec (0.10 MB/sec), 0.00 ms avg latency, \
                 0.00 ms max latency, 0 ms 50th, 0 ms 95th, 0 ms 99th, 0 ms 99.9th.",
            ]
        );
    }

    /// Every delivery takes 3 ms of fake time.
    struct SlowSink {
        clock: Rc<FakeClock>,
    }

    impl Sink for SlowSink {
        async fn send(&self, _record: OutRecord) -> Result<Pending, Rejected> {
            let clock = Rc::clone(&self.clock);
            Ok(Box::pin(async move {
                clock.advance(ms_d(3));
                Ok(Delivered {
                    partition: 0,
                    offset: None,
                })
            }))
        }
        async fn flush(&self, _timeout: Duration) -> Result<(), String> {
            Ok(())
        }
        async fn close(&self, _timeout: Duration) {}
        async fn init_transactions(&self) -> Result<(), String> {
            Err("perf takes transactional settings through -X only".to_owned())
        }
        fn begin_transaction(&self) -> Result<(), String> {
            Err("not transactional".to_owned())
        }
        async fn end_transaction(&self, _commit: bool) -> Result<(), String> {
            Err("not transactional".to_owned())
        }
    }

    #[tokio::test]
    async fn latency_is_measured_from_send_to_delivery() {
        let clock = Rc::new(FakeClock::default());
        let sink = SlowSink {
            clock: Rc::clone(&clock),
        };
        let (s, out, _) = run(&opts(10, 10, -1.0), &sink, &clock).await;
        assert_eq!(s.sent, 10);
        assert_eq!(
            out,
            "10 records sent, 333.333333 records/sec (0.00 MB/sec), 3.00 ms avg latency, \
             3.00 ms max latency, 3 ms 50th, 3 ms 95th, 3 ms 99th, 3 ms 99.9th.\n"
        );
    }

    #[tokio::test]
    async fn failures_are_counted_reported_and_fail_the_run() {
        let sink = FakeSink::new()
            .fail_delivery(3, "REQUEST_TIMED_OUT")
            .reject(5, false);
        let clock = FakeClock::default();
        let (s, out, err) = run(&opts(10, 8, -1.0), &sink, &clock).await;
        assert_eq!(
            s,
            PerfSummary {
                sent: 8,
                failed: 2,
                interrupted: false
            }
        );
        assert_eq!(s.exit_code(), EXIT_FAILED);
        assert!(out.starts_with("8 records sent, "), "{out}");
        assert!(
            err.contains("delivery failed for record 3: REQUEST_TIMED_OUT\n"),
            "{err}"
        );
        assert!(
            err.contains("send failed for record 5: rejected send 5\n"),
            "{err}"
        );
        assert!(err.ends_with("2 records failed.\n"), "{err}");
    }

    #[tokio::test]
    async fn fatal_rejection_stops_the_run() {
        let sink = FakeSink::new().slow(1).reject(4, true);
        let clock = FakeClock::default();
        let (s, out, err) = run(&opts(10, 8, -1.0), &sink, &clock).await;
        assert_eq!(
            s,
            PerfSummary {
                sent: 4,
                failed: 1,
                interrupted: false
            }
        );
        assert_eq!(sink.state.borrow().sends, 5);
        assert!(out.starts_with("4 records sent, "), "{out}");
        assert!(err.contains("stopping"), "{err}");
    }

    #[tokio::test]
    async fn failure_messages_are_capped_but_all_counted() {
        let sink = (0..25).fold(FakeSink::new(), |s, i| s.fail_delivery(i, "boom"));
        let clock = FakeClock::default();
        let (s, out, err) = run(&opts(30, 1, -1.0), &sink, &clock).await;
        assert_eq!(
            s,
            PerfSummary {
                sent: 5,
                failed: 25,
                interrupted: false,
            }
        );
        assert_eq!(err.matches("delivery failed for record").count(), 10);
        assert_eq!(err.matches("only counted").count(), 1, "{err}");
        assert!(err.ends_with("25 records failed.\n"), "{err}");
        assert!(out.starts_with("5 records sent, "), "{out}");
    }

    #[tokio::test]
    async fn zero_records() {
        let sink = FakeSink::new();
        let clock = FakeClock::default();
        let (s, out, _) = run(&opts(0, 100, 10.0), &sink, &clock).await;
        assert_eq!(
            s,
            PerfSummary {
                sent: 0,
                failed: 0,
                interrupted: false
            }
        );
        assert!(
            out.starts_with("0 records sent, 0.000000 records/sec"),
            "{out}"
        );
    }
}
