//! `perf`: a producer throughput/latency test shaped like Apache Kafka's
//! `kafka-producer-perf-test` (`ProducerPerformance`).
//!
//! * One record, a payload of `record-size` pseudo-random uppercase letters and no key, is
//!   prepared once and sent again and again (the producer copies it into its batch). With
//!   `--key-size S` each send also carries a key of S bytes: the record's number in decimal,
//!   zero-padded, written into one buffer (keyed records, as librdkafka's and our bench
//!   clients send them).
//! * Latency is measured per record from the producer's send call to the delivery's
//!   completion (the producer reads both instants, as librdkafka's
//!   `rd_kafka_message_latency`), in whole milliseconds as the Java tool takes it: the
//!   difference of two millisecond clock readings. Averages and maxima are of those.
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

mod clock;
mod stats;
mod tally;

#[cfg(test)]
pub(crate) use clock::FakeClock;
pub(crate) use clock::{Clock, SystemClock, Throttler};
pub(crate) use stats::Stats;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrokafka::Topic;

use crate::interrupt::Interrupt;
use crate::sink::{OutRecord, Reports, Sink, failed};
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use tally::{Stream, Tally};

pub(crate) const REPORTING_INTERVAL: Duration = Duration::from_secs(5);

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
    /// Bytes of each record's key (0: keyless).
    pub(crate) key_size: usize,
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

/// Moves `key`, zero-padded decimal digits, on to the next number (wrapping to all zeros
/// after all nines): record `n`'s key is the last `key.len()` digits of `n`, written by
/// counting rather than by dividing `n` ten times per record.
fn next_key(key: &mut [u8]) {
    for b in key.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return;
        }
    }
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

/// Prints the lines the delivery reports left.
fn print_lines<C: Clock>(tally: &Tally<C>, out: &mut dyn Write, err: &mut dyn Write) {
    for (stream, line) in tally.take_lines() {
        let _ = match stream {
            Stream::Out => writeln!(out, "{line}"),
            Stream::Err => writeln!(err, "{line}"),
        };
    }
}

/// Runs the test; progress and the final line go to `out`, failures to `err`.
///
/// Each record's outcome is reported on the producer's I/O task (no future or callback per
/// record) with the latency the producer measured; the loop prints what the reports left at
/// its next record.
pub(crate) async fn run_perf<S: Sink, C: Clock + Send + Sync + 'static>(
    opts: &PerfOptions,
    sink: &S,
    clock: C,
    out: &mut dyn Write,
    err: &mut dyn Write,
    stop: &Interrupt,
) -> PerfSummary {
    let payload = make_payload(opts.record_size);
    let start = clock.now();
    let throttler = Throttler::new(opts.throughput, start);
    // Decided once: without a rate the loop never reads the clock for it.
    let throttled = throttler.is_active();
    let stats = Stats::new(start, REPORTING_INTERVAL);
    let tally = Arc::new(Tally::new(clock, opts.record_size as u64, stats));
    let clock = tally.clock();
    let reports: Arc<dyn Reports> = Arc::clone(&tally) as Arc<dyn Reports>;
    let mut txn_started = None;
    if opts.transaction_duration.is_some() {
        let begun = match sink.init_transactions().await {
            Ok(()) => sink.begin_transaction(),
            Err(e) => Err(e),
        };
        if let Err(e) = begun {
            let _ = writeln!(err, "starting the first transaction failed: {e}");
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
    // Record 0's key; each send moves it on (`next_key`).
    let mut key = vec![b'0'; opts.key_size];
    // Every record is the same but for its key: one, sent again and again (the producer copies
    // it).
    let record = OutRecord {
        topic: Topic::from(opts.topic.as_str()),
        partition: None,
        key: None,
        value: Some(payload),
        headers: Vec::new(),
    };
    for seq in 0..opts.num_records {
        if tally.has_lines() {
            print_lines(&tally, out, err);
        }
        if stop.is_set() {
            let _ = writeln!(
                err,
                "interrupted after {seq} records: flushing what was sent"
            );
            interrupted = true;
            break;
        }
        if let (Some(every), Some(started)) = (opts.transaction_duration, txn_started)
            && clock.now().saturating_sub(started) >= every
        {
            let begun = match sink.end_transaction(true).await {
                Ok(()) => sink
                    .begin_transaction()
                    .map_err(|e| failed("begin_transaction", &e)),
                Err(e) => Err(failed("commit_transaction", &e)),
            };
            if let Err(message) = begun {
                print_lines(&tally, out, err);
                let _ = writeln!(err, "{message}");
                break;
            }
            txn_started = Some(clock.now());
        }
        if throttled && let Some(d) = throttler.delay(seq, clock.now()) {
            clock.sleep(d).await;
        }
        tally.outstanding_below(opts.max_in_flight).await;
        // The producer measures latency from its send call (as Java's tool from just before
        // `send`), so blocking in `send` counts.
        tally.sent();
        let this_key = (!key.is_empty()).then_some(key.as_slice());
        // At once when the record can be queued without waiting (no future per record).
        let sent = match sink.try_send_reported(&record, this_key, &reports, seq) {
            Some(sent) => sent,
            None => sink.send_reported(&record, this_key, &reports, seq).await,
        };
        next_key(&mut key);
        if let Err(rejected) = sent {
            tally.refused(seq, &rejected.message);
            if rejected.fatal {
                print_lines(&tally, out, err);
                let _ = writeln!(err, "stopping: the producer cannot accept more records");
                break;
            }
        }
    }
    if txn_started.is_some()
        && let Err(e) = sink.end_transaction(true).await
    {
        print_lines(&tally, out, err);
        let _ = writeln!(err, "{}", failed("commit_transaction", &e));
    }
    // As the Java tool: flush, then report.
    let flush_timeout = if interrupted {
        opts.flush_timeout.min(opts.interrupted_flush_timeout)
    } else {
        opts.flush_timeout
    };
    if let Err(e) = sink.flush(flush_timeout).await {
        print_lines(&tally, out, err);
        let _ = writeln!(err, "flush failed: {e}");
    }
    tally.all_reported().await;
    print_lines(&tally, out, err);
    let (sent, failed_count, outcome_unknown, total_line) = {
        let counts = tally.counts();
        (
            counts.stats.count(),
            counts.failed,
            counts.outcome_unknown,
            counts.stats.total_line(clock.now()),
        )
    };
    let _ = writeln!(out, "{total_line}");
    if failed_count > 0 {
        let _ = write!(err, "{failed_count} records failed.");
        if outcome_unknown > 0 {
            let _ = write!(
                err,
                " {outcome_unknown} of them may have been written (their requests were never answered)."
            );
        }
        let _ = writeln!(err);
    }
    if opts.print_metrics {
        print_metrics(out, &sink.metrics());
    }
    sink.close(opts.close_timeout).await;
    PerfSummary {
        sent,
        failed: failed_count,
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_count_up_as_the_last_digits_of_the_record_number() {
        for width in [1usize, 2, 3] {
            let mut key = vec![b'0'; width];
            let modulus = 10u64.pow(u32::try_from(width).unwrap());
            for n in 0..1_200u64 {
                let expected = format!("{:0width$}", n % modulus);
                assert_eq!(std::str::from_utf8(&key).unwrap(), expected, "record {n}");
                super::next_key(&mut key);
            }
        }
        // No key: nothing to count.
        super::next_key(&mut []);
    }

    use super::*;
    use crate::sink::fake::FakeSink;
    use crate::sink::{Delivered, Pending, Rejected};

    fn ms_d(v: u64) -> Duration {
        Duration::from_millis(v)
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

    /// The summary of a run that was not interrupted.
    fn finished(sent: u64, failed: u64) -> PerfSummary {
        PerfSummary {
            sent,
            failed,
            interrupted: false,
        }
    }

    fn opts(n: u64, size: usize, throughput: f64) -> PerfOptions {
        PerfOptions {
            topic: "perf".into(),
            num_records: n,
            record_size: size,
            key_size: 0,
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
        let clock = Arc::new(FakeClock::default());
        let stop = Interrupt::new();
        stop.trigger();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let s = run_perf(
            &opts(100, 10, -1.0),
            &sink,
            clock,
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
        let clock = Arc::new(FakeClock::default());
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
        let clock = Arc::new(FakeClock::default());
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
        clock: &Arc<FakeClock>,
    ) -> (PerfSummary, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = run_perf(
            o,
            sink,
            Arc::clone(clock),
            &mut out,
            &mut err,
            &Interrupt::new(),
        )
        .await;
        (
            s,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[tokio::test]
    async fn throttled_run_end_to_end() {
        let sink = FakeSink::new();
        let clock = Arc::new(FakeClock::default());
        let (s, out, err) = run(&opts(1000, 100, 500.0), &sink, &clock).await;
        assert_eq!(s, finished(1000, 0));
        assert_eq!(s.exit_code(), EXIT_OK);
        assert_eq!(err, "");
        assert_eq!(
            out,
            "1000 records sent, 500.500501 records/sec (0.05 MB/sec), 0.00 ms avg latency, \
             0.00 ms max latency, 0 ms 50th, 0 ms 95th, 0 ms 99th, 0 ms 99.9th.\n"
        );
        assert_eq!(clock.slept(), ms_d(1998));
        let recs = sink.accepted();
        assert_eq!(recs.len(), 1000);
        assert!(recs.iter().all(|r| r.topic == "perf"
            && r.key.is_none()
            && r.partition.is_none()
            && r.value.as_ref().map(|v| v.len()) == Some(100)));
        assert!(sink.state.borrow().closed);
    }

    #[tokio::test]
    async fn keyed_runs_give_each_record_its_number_as_a_padded_key() {
        let sink = FakeSink::new();
        let clock = Arc::new(FakeClock::default());
        let mut o = opts(1012, 10, -1.0);
        o.key_size = 3;
        let (s, _, err) = run(&o, &sink, &clock).await;
        assert_eq!((s, err.as_str()), (finished(1012, 0), ""));
        let keys: Vec<Vec<u8>> = sink
            .accepted()
            .iter()
            .map(|r| r.key.as_deref().expect("every record is keyed").to_vec())
            .collect();
        assert_eq!(keys.len(), 1012);
        assert_eq!(keys[0], b"000");
        assert_eq!(keys[7], b"007");
        assert_eq!(keys[999], b"999");
        assert_eq!(keys[1000], b"000", "the last digits of the number");
        assert_eq!(keys[1011], b"011");
        assert!(
            sink.accepted()
                .iter()
                .all(|r| r.value.as_ref().map(|v| v.len()) == Some(10))
        );
    }

    #[tokio::test]
    async fn progress_line_after_five_seconds() {
        let sink = FakeSink::new();
        let clock = Arc::new(FakeClock::default());
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
        clock: Arc<FakeClock>,
    }

    impl Sink for SlowSink {
        async fn send(&self, _record: OutRecord) -> Result<Pending, Rejected> {
            let clock = Arc::clone(&self.clock);
            Ok(Box::pin(async move {
                clock.advance(ms_d(3));
                Ok(Delivered {
                    partition: 0,
                    offset: None,
                    latency: ms_d(3),
                    acknowledged_at: None,
                })
            }))
        }
        async fn send_reported(
            &self,
            _record: &OutRecord,
            _key: Option<&[u8]>,
            reports: &Arc<dyn Reports>,
            seq: u64,
        ) -> Result<(), Rejected> {
            self.clock.advance(ms_d(3));
            reports.report(
                seq,
                Ok(Delivered {
                    partition: 0,
                    offset: None,
                    latency: ms_d(3),
                    acknowledged_at: None,
                }),
            );
            Ok(())
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
        let clock = Arc::new(FakeClock::default());
        let sink = SlowSink {
            clock: Arc::clone(&clock),
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
        let clock = Arc::new(FakeClock::default());
        let (s, out, err) = run(&opts(10, 8, -1.0), &sink, &clock).await;
        assert_eq!(s, finished(8, 2));
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
        let clock = Arc::new(FakeClock::default());
        let (s, out, err) = run(&opts(10, 8, -1.0), &sink, &clock).await;
        assert_eq!(s, finished(4, 1));
        assert_eq!(sink.state.borrow().sends, 5);
        assert!(out.starts_with("4 records sent, "), "{out}");
        assert!(err.contains("stopping"), "{err}");
    }

    #[tokio::test]
    async fn failure_messages_are_capped_but_all_counted() {
        let sink = (0..25).fold(FakeSink::new(), |s, i| s.fail_delivery(i, "boom"));
        let clock = Arc::new(FakeClock::default());
        let (s, out, err) = run(&opts(30, 1, -1.0), &sink, &clock).await;
        assert_eq!(s, finished(5, 25));
        assert_eq!(err.matches("delivery failed for record").count(), 10);
        assert_eq!(err.matches("only counted").count(), 1, "{err}");
        assert!(err.ends_with("25 records failed.\n"), "{err}");
        assert!(out.starts_with("5 records sent, "), "{out}");
    }

    #[tokio::test]
    async fn zero_records() {
        let sink = FakeSink::new();
        let clock = Arc::new(FakeClock::default());
        let (s, out, _) = run(&opts(0, 100, 10.0), &sink, &clock).await;
        assert_eq!(s, finished(0, 0));
        assert!(
            out.starts_with("0 records sent, 0.000000 records/sec"),
            "{out}"
        );
    }
}
