//! `produce`: one record per input line, kcat -P style.
//!
//! * Lines end at `\n`, which is stripped (a `\r` before it is kept, as kcat does);
//!   a last line without `\n` is still a record; an empty line is a record with an
//!   empty (not null) value. `-D DELIM` separates records by another delimiter; files given
//!   as arguments are one record each, or, with `-l`, one file read like stdin.
//! * `-k KEY` gives every record the same key; `-c N` stops after N records; `-T` echoes each
//!   record sent to stdout; `-q` prints errors only; `-v` reports each delivery.
//! * With `-K DELIM` the line splits at the first DELIM into key and value. A line
//!   without DELIM becomes a record with a null key and the whole line as value
//!   (kcat's behaviour: the key is only set when the delimiter is found).
//! * Sends are pipelined: deliveries stay outstanding while further lines are read and sent,
//!   bounded by a count and by memory (record bytes plus a per-delivery overhead, at most
//!   `buffer.memory`), so a stalled broker cannot make the CLI grow without bound.
//! * Failed deliveries are reported on stderr as they complete; a rejected `send`
//!   counts as a failed record, and a fatal rejection stops reading input.
//! * Summary on stderr: `N records produced (X bytes), F failed`; bytes are key +
//!   value bytes of the delivered records. In transactions a record counts as produced only
//!   once its transaction committed; records of a transaction that was aborted or failed to
//!   commit are counted apart ("written but not committed").
//! * After a fatal error the rest of the input is not sent; when the input is not a terminal
//!   its remaining lines are counted and reported as not sent.
//! * Ctrl-C (the [`Interrupt`]) stops reading, aborts an open transaction, flushes for at most
//!   `interrupted_flush_timeout` and prints the summary.
//! * With `--transactional-id`: `init_transactions` first, then one transaction per
//!   `--txn-records` lines (all input by default): begin, the records, then commit. With
//!   `--abort` each transaction's records are flushed (so they reach the log) and the
//!   transaction is aborted; the summary then says how many transactions were aborted.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::input::RecordSource;
use crate::interrupt::Interrupt;
use crate::pipeline::{drain_all, drain_while};
use crate::sink::{Delivered, DeliveryFailure, OutRecord, Sink, failed};
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};

/// What one outstanding delivery costs the CLI beyond its record's bytes (its future, its
/// slot in the producer), for the memory bound.
pub(crate) const DELIVERY_OVERHEAD: u64 = 256;

#[derive(Debug, Clone)]
pub(crate) struct ProduceOptions {
    pub(crate) topic: String,
    pub(crate) partition: Option<i32>,
    pub(crate) key_delimiter: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
    pub(crate) max_in_flight: usize,
    /// Bound on outstanding deliveries' bytes (record bytes + [`DELIVERY_OVERHEAD`] each).
    pub(crate) max_outstanding_bytes: u64,
    pub(crate) flush_timeout: Duration,
    /// The flush bound after Ctrl-C.
    pub(crate) interrupted_flush_timeout: Duration,
    pub(crate) close_timeout: Duration,
    /// `Some` for transactional runs.
    pub(crate) transactions: Option<TxnOptions>,
    /// After a fatal error, read the rest of the input to count the lines never sent (off for
    /// a terminal, which would wait for the user).
    pub(crate) count_unsent: bool,
    /// `-k`: the key of every record (instead of `-K` splitting, or none).
    pub(crate) fixed_key: Option<Bytes>,
    /// `-c`: stop after this many records.
    pub(crate) max_records: Option<u64>,
    /// `-T`: echo every record handed to the producer to `out`, followed by a newline.
    pub(crate) tee: bool,
    /// `-q`: no summary, errors only.
    pub(crate) quiet: bool,
    /// `-v`: one line per delivery (partition and offset).
    pub(crate) verbose: bool,
}

/// How a transactional run cuts its input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxnOptions {
    /// Lines per transaction; `None` is all input in one.
    pub(crate) records: Option<u64>,
    /// Abort instead of committing.
    pub(crate) abort: bool,
}

/// Splits one line (without its `\n`) into key and value.
pub(crate) fn split_line(line: &[u8], delimiter: Option<&[u8]>) -> (Option<Bytes>, Bytes) {
    if let Some(d) = delimiter.filter(|d| !d.is_empty())
        && let Some(at) = line.windows(d.len()).position(|w| w == d)
    {
        return (
            Some(Bytes::copy_from_slice(&line[..at])),
            Bytes::copy_from_slice(&line[at + d.len()..]),
        );
    }
    (None, Bytes::copy_from_slice(line))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProduceSummary {
    pub(crate) produced: u64,
    pub(crate) bytes: u64,
    pub(crate) failed: u64,
    pub(crate) input_error: bool,
    pub(crate) committed: u64,
    pub(crate) aborted: u64,
    pub(crate) txn_failed: bool,
    /// Delivered records whose transaction was aborted or failed to commit.
    pub(crate) uncommitted: u64,
    /// Input lines never sent because a fatal error stopped the run (`None`: not counted).
    pub(crate) unsent_lines: Option<u64>,
    /// Ctrl-C stopped the run.
    pub(crate) interrupted: bool,
    /// Of `failed`, records whose request was never answered: the broker may have written them.
    pub(crate) outcome_unknown: u64,
}

impl ProduceSummary {
    pub(crate) fn exit_code(&self) -> u8 {
        if self.interrupted {
            EXIT_INTERRUPTED
        } else if self.failed == 0 && !self.input_error && !self.txn_failed {
            EXIT_OK
        } else {
            EXIT_FAILED
        }
    }
}

struct Tally<'w> {
    summary: ProduceSummary,
    err: &'w mut dyn Write,
    transactional: bool,
    /// Records and bytes delivered in the open transaction; produced once it commits.
    in_txn_delivered: (u64, u64),
    /// Bytes of the outstanding deliveries, for the memory bound.
    outstanding_bytes: u64,
    verbose: bool,
}

impl Tally<'_> {
    fn done(&mut self, (result, line, size): (Result<Delivered, DeliveryFailure>, u64, u64)) {
        self.outstanding_bytes = self
            .outstanding_bytes
            .saturating_sub(size + DELIVERY_OVERHEAD);
        if self.verbose
            && let Ok(d) = &result
        {
            let offset = d
                .offset
                .map_or_else(|| "unknown".to_owned(), |o| o.to_string());
            let _ = writeln!(
                self.err,
                "line {line}: delivered to partition {} at offset {offset}",
                d.partition
            );
        }
        match result {
            Ok(_) if self.transactional => {
                self.in_txn_delivered.0 += 1;
                self.in_txn_delivered.1 += size;
            }
            Ok(_) => {
                self.summary.produced += 1;
                self.summary.bytes += size;
            }
            Err(e) => {
                self.summary.failed += 1;
                if e.outcome_unknown {
                    self.summary.outcome_unknown += 1;
                }
                let _ = writeln!(self.err, "delivery failed for line {line}: {e}");
            }
        }
    }

    /// The open transaction ended: its delivered records count as produced if it committed.
    fn settle_transaction(&mut self, committed: bool) {
        let (records, bytes) = std::mem::take(&mut self.in_txn_delivered);
        if committed {
            self.summary.produced += records;
            self.summary.bytes += bytes;
        } else {
            self.summary.uncommitted += records;
        }
    }
}

/// Reads `input` to its end (or until `stop`), counting records.
async fn count_lines<R: RecordSource>(input: &mut R, stop: &Interrupt) -> Option<u64> {
    let mut n = 0u64;
    let mut buf = Vec::new();
    loop {
        tokio::select! {
            read = input.next_record(&mut buf) => match read {
                Ok(false) => return Some(n),
                Ok(true) => n += 1,
                Err(_) => return None,
            },
            () = stop.wait() => return None,
        }
    }
}

/// Produces every line of `input`; reports on `err`; returns the summary.
pub(crate) async fn run_produce<S: Sink, R: RecordSource>(
    opts: &ProduceOptions,
    sink: &S,
    mut input: R,
    out: &mut dyn Write,
    err: &mut dyn Write,
    stop: &Interrupt,
) -> ProduceSummary {
    let mut tally = Tally {
        summary: ProduceSummary::default(),
        err,
        transactional: opts.transactions.is_some(),
        in_txn_delivered: (0, 0),
        outstanding_bytes: 0,
        verbose: opts.verbose,
    };
    // A fatal error stopped the run before the input ended.
    let mut stopped = false;
    let mut inflight = FuturesUnordered::new();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut in_txn = 0u64; // records in the open transaction; 0 = none open
    if opts.transactions.is_some()
        && let Err(e) = sink.init_transactions().await
    {
        let _ = writeln!(tally.err, "{}", failed("init_transactions", &e));
        tally.summary.txn_failed = true;
        sink.close(opts.close_timeout).await;
        return tally.summary;
    }
    loop {
        if opts.max_records.is_some_and(|max| line_no >= max) {
            break;
        }
        let read = drain_while(
            async {
                tokio::select! {
                    read = input.next_record(&mut buf) => Some(read),
                    () = stop.wait() => None,
                }
            },
            &mut inflight,
            |d| tally.done(d),
        )
        .await;
        let Some(read) = read else {
            let _ = writeln!(
                tally.err,
                "interrupted after line {line_no}: input not read further"
            );
            tally.summary.interrupted = true;
            break;
        };
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let _ = writeln!(tally.err, "error reading input after line {line_no}: {e}");
                tally.summary.input_error = true;
                break;
            }
        }
        line_no += 1;
        let (key, value) = match &opts.fixed_key {
            Some(k) => (Some(k.clone()), Bytes::copy_from_slice(&buf)),
            None => split_line(&buf, opts.key_delimiter.as_deref()),
        };
        let size = (key.as_ref().map_or(0, Bytes::len) + value.len()) as u64;
        let record = OutRecord {
            topic: opts.topic.clone(),
            partition: opts.partition,
            key,
            value: Some(value),
            headers: opts.headers.clone(),
        };
        if opts.transactions.is_some() {
            if in_txn == 0
                && let Err(e) = sink.begin_transaction()
            {
                let _ = writeln!(tally.err, "{}", failed("begin_transaction", &e));
                tally.summary.txn_failed = true;
                // This line was read but is never sent.
                tally.summary.unsent_lines = Some(1);
                stopped = true;
                break;
            }
            in_txn += 1;
        }
        // Room by count and by memory; an empty queue always has room.
        let weight = size + DELIVERY_OVERHEAD;
        while !inflight.is_empty()
            && (inflight.len() >= opts.max_in_flight.max(1)
                || tally.outstanding_bytes + weight > opts.max_outstanding_bytes)
        {
            if let Some(d) = inflight.next().await {
                tally.done(d);
            }
        }
        let sent = drain_while(sink.send(record), &mut inflight, |d| tally.done(d)).await;
        let full = opts
            .transactions
            .and_then(|t| t.records)
            .is_some_and(|n| in_txn >= n);
        match sent {
            Ok(pending) => {
                if opts.tee {
                    let _ = out.write_all(&buf).and_then(|()| out.write_all(b"\n"));
                }
                let line = line_no;
                tally.outstanding_bytes += weight;
                inflight.push(async move { (pending.await, line, size) });
            }
            Err(rejected) => {
                tally.summary.failed += 1;
                let _ = writeln!(
                    tally.err,
                    "send failed for line {line_no}: {}",
                    rejected.message
                );
                if rejected.fatal {
                    let _ = writeln!(
                        tally.err,
                        "stopping: the producer cannot accept more records"
                    );
                    stopped = true;
                    break;
                }
            }
        }
        if full {
            let ok = end_transaction(opts, sink, &mut inflight, &mut tally, false).await;
            // Ended either way: a failed commit is not tried again.
            in_txn = 0;
            if !ok {
                stopped = true;
                break;
            }
        }
    }
    if stopped && opts.count_unsent {
        let rest = count_lines(&mut input, stop).await;
        tally.summary.unsent_lines = match (tally.summary.unsent_lines, rest) {
            (Some(a), Some(b)) => Some(a + b),
            (None, rest) => rest,
            (Some(_), None) => None,
        };
    }
    if in_txn > 0 {
        let interrupted = tally.summary.interrupted;
        if interrupted {
            let _ = writeln!(tally.err, "interrupted: aborting the open transaction");
        }
        end_transaction(opts, sink, &mut inflight, &mut tally, interrupted).await;
    }
    let flush_timeout = if tally.summary.interrupted {
        opts.flush_timeout.min(opts.interrupted_flush_timeout)
    } else {
        opts.flush_timeout
    };
    let flushed = drain_while(sink.flush(flush_timeout), &mut inflight, |d| {
        tally.done(d);
    })
    .await;
    if let Err(e) = flushed {
        let _ = writeln!(tally.err, "flush failed: {e}");
    }
    drain_all(&mut inflight, |d| tally.done(d)).await;
    sink.close(opts.close_timeout).await;
    let _ = out.flush();
    let s = tally.summary;
    if opts.quiet {
        if stopped && let Some(n) = s.unsent_lines {
            let _ = writeln!(tally.err, "{n} input lines not sent");
        }
        return s;
    }
    let _ = write!(
        tally.err,
        "{} records produced ({} bytes), {} failed",
        s.produced, s.bytes, s.failed
    );
    if s.outcome_unknown > 0 {
        let _ = write!(
            tally.err,
            " ({} of them may have been written: their requests were never answered)",
            s.outcome_unknown
        );
    }
    let _ = writeln!(tally.err);
    if opts.transactions.is_some() {
        let _ = write!(
            tally.err,
            "{} transactions committed, {} aborted",
            s.committed, s.aborted
        );
        if s.uncommitted > 0 {
            let _ = write!(
                tally.err,
                ", {} records written but not committed",
                s.uncommitted
            );
        }
        let _ = writeln!(tally.err);
    }
    if stopped {
        match s.unsent_lines {
            Some(n) => {
                let _ = writeln!(tally.err, "{n} input lines not sent");
            }
            None => {
                let _ = writeln!(tally.err, "the rest of the input was not sent");
            }
        }
    }
    s
}

/// Ends the open transaction: commit (which flushes), or flush then abort (`--abort`, or
/// `force_abort` after Ctrl-C). Returns whether the run can go on.
async fn end_transaction<S: Sink>(
    opts: &ProduceOptions,
    sink: &S,
    inflight: &mut FuturesUnordered<
        impl std::future::Future<Output = (Result<Delivered, DeliveryFailure>, u64, u64)>,
    >,
    tally: &mut Tally<'_>,
    force_abort: bool,
) -> bool {
    let Some(mut t) = opts.transactions else {
        return true;
    };
    t.abort |= force_abort;
    if t.abort {
        // Flushed first, so the aborted records reach the log (and the abort marker
        // follows them): this mode exists to test read_committed consumers.
        let flushed =
            drain_while(sink.flush(opts.flush_timeout), inflight, |d| tally.done(d)).await;
        drain_all(inflight, |d| tally.done(d)).await;
        if let Err(e) = flushed {
            let _ = writeln!(tally.err, "flush failed: {e}");
        }
    }
    let ended = drain_while(sink.end_transaction(!t.abort), inflight, |d| tally.done(d)).await;
    drain_all(inflight, |d| tally.done(d)).await;
    match ended {
        Ok(()) if t.abort => {
            tally.summary.aborted += 1;
            tally.settle_transaction(false);
            true
        }
        Ok(()) => {
            tally.summary.committed += 1;
            tally.settle_transaction(true);
            true
        }
        Err(e) => {
            let what = if t.abort { "abort" } else { "commit" };
            let _ = writeln!(tally.err, "{}", failed(&format!("{what}_transaction"), &e));
            tally.summary.txn_failed = true;
            tally.settle_transaction(false);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Delimited;
    use crate::sink::fake::FakeSink;

    fn opts() -> ProduceOptions {
        ProduceOptions {
            topic: "t".into(),
            partition: None,
            key_delimiter: None,
            headers: vec![],
            max_in_flight: 1000,
            max_outstanding_bytes: u64::MAX,
            flush_timeout: Duration::from_secs(1),
            interrupted_flush_timeout: Duration::from_secs(1),
            close_timeout: Duration::from_secs(1),
            transactions: None,
            count_unsent: true,
            fixed_key: None,
            max_records: None,
            tee: false,
            quiet: false,
            verbose: false,
        }
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    async fn run(opts: &ProduceOptions, sink: &FakeSink, input: &str) -> (ProduceSummary, String) {
        let (s, _, err) = run_with_out(opts, sink, input).await;
        (s, err)
    }

    /// Runs on newline-delimited `input`; returns the summary, stdout and stderr.
    async fn run_with_out(
        opts: &ProduceOptions,
        sink: &FakeSink,
        input: &str,
    ) -> (ProduceSummary, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let input = Delimited::new(input.as_bytes(), b"\n".to_vec());
        let s = run_produce(opts, sink, input, &mut out, &mut err, &Interrupt::new()).await;
        (
            s,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn split_without_delimiter_keeps_whole_line() {
        assert_eq!(split_line(b"a:b", None), (None, b("a:b")));
    }

    #[test]
    fn split_at_first_delimiter() {
        let d: &[u8] = b":";
        assert_eq!(split_line(b"k:v:w", Some(d)), (Some(b("k")), b("v:w")));
        assert_eq!(split_line(b":v", Some(d)), (Some(b("")), b("v")));
        assert_eq!(split_line(b"k:", Some(d)), (Some(b("k")), b("")));
        assert_eq!(
            split_line(b"no delimiter", Some(d)),
            (None, b("no delimiter"))
        );
        let multi: &[u8] = b"::";
        assert_eq!(split_line(b"a:b::c", Some(multi)), (Some(b("a:b")), b("c")));
        assert_eq!(split_line(b"", Some(multi)), (None, b("")));
    }

    #[tokio::test]
    async fn produces_each_line_with_key_headers_and_partition() {
        let sink = FakeSink::new();
        let mut o = opts();
        o.key_delimiter = Some(b"=".to_vec());
        o.partition = Some(2);
        o.headers = vec![("h1".into(), Some(b("x"))), ("h2".into(), None)];
        let (s, err) = run(&o, &sink, "k1=v1\nnokey\n\nk3=v=3\r\nlast=line").await;
        assert_eq!(
            s,
            ProduceSummary {
                produced: 5,
                bytes: 4 + 5 + 6 + 8, // the empty line adds nothing
                failed: 0,
                ..ProduceSummary::default()
            }
        );
        assert_eq!(s.exit_code(), EXIT_OK);
        assert_eq!(err, "5 records produced (23 bytes), 0 failed\n");
        let recs = sink.accepted();
        let kv: Vec<(Option<Bytes>, Option<Bytes>)> = recs
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect();
        assert_eq!(
            kv,
            vec![
                (Some(b("k1")), Some(b("v1"))),
                (None, Some(b("nokey"))),
                (None, Some(b(""))),
                (Some(b("k3")), Some(b("v=3\r"))),
                (Some(b("last")), Some(b("line"))),
            ]
        );
        for r in &recs {
            assert_eq!(r.topic, "t");
            assert_eq!(r.partition, Some(2));
            assert_eq!(r.headers, o.headers);
        }
        assert!(sink.state.borrow().closed);
    }

    #[tokio::test]
    async fn one_key_for_every_record_with_k() {
        let sink = FakeSink::new();
        let mut o = opts();
        o.fixed_key = Some(b("user-7"));
        let (s, _) = run(&o, &sink, "a:1\nb\n").await;
        assert_eq!(s.produced, 2);
        assert_eq!(s.bytes, 3 + 6 + 1 + 6, "the key's bytes count");
        let kv: Vec<_> = sink
            .accepted()
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect();
        assert_eq!(
            kv,
            vec![
                (Some(b("user-7")), Some(b("a:1"))),
                (Some(b("user-7")), Some(b("b"))),
            ]
        );
    }

    #[tokio::test]
    async fn c_stops_after_n_records_and_leaves_the_rest_unread() {
        let sink = FakeSink::new();
        let mut o = opts();
        o.max_records = Some(2);
        let (s, err) = run(&o, &sink, "a\nb\nc\nd\n").await;
        assert_eq!(s.produced, 2);
        assert_eq!(s.exit_code(), EXIT_OK);
        assert_eq!(sink.state.borrow().sends, 2);
        assert_eq!(err, "2 records produced (2 bytes), 0 failed\n");
        o.max_records = Some(0);
        let sink = FakeSink::new();
        let (s, _) = run(&o, &sink, "a\n").await;
        assert_eq!((s.produced, sink.state.borrow().sends), (0, 0));
    }

    #[tokio::test]
    async fn t_echoes_the_records_sent_but_not_the_rejected_ones() {
        let sink = FakeSink::new().reject(1, false);
        let mut o = opts();
        o.tee = true;
        o.key_delimiter = Some(b":".to_vec());
        let (s, out, _) = run_with_out(&o, &sink, "k:v\nrejected\nlast").await;
        assert_eq!((s.produced, s.failed), (2, 1));
        assert_eq!(
            out, "k:v\nlast\n",
            "the record as read, key delimiter included"
        );
    }

    #[tokio::test]
    async fn q_prints_errors_only_and_v_each_delivery() {
        let sink = FakeSink::new().fail_delivery(1, "boom");
        let mut o = opts();
        o.quiet = true;
        let (s, err) = run(&o, &sink, "a\nb\nc\n").await;
        assert_eq!((s.produced, s.failed), (2, 1));
        assert_eq!(err, "delivery failed for line 2: boom\n");

        let sink = FakeSink::new();
        let mut o = opts();
        o.verbose = true;
        o.partition = Some(0);
        let (_, err) = run(&o, &sink, "a\nb\n").await;
        assert_eq!(
            err,
            "line 1: delivered to partition 0 at offset 0\n\
             line 2: delivered to partition 0 at offset 1\n\
             2 records produced (2 bytes), 0 failed\n"
        );
    }

    #[tokio::test]
    async fn empty_input_produces_nothing_and_succeeds() {
        let sink = FakeSink::new();
        let (s, err) = run(&opts(), &sink, "").await;
        assert_eq!(s, ProduceSummary::default());
        assert_eq!(s.exit_code(), EXIT_OK);
        assert_eq!(err, "0 records produced (0 bytes), 0 failed\n");
    }

    #[tokio::test]
    async fn delivery_failures_are_reported_and_fail_the_exit_code() {
        let sink = FakeSink::new()
            .fail_delivery(1, "NOT_LEADER_OR_FOLLOWER")
            .fail_delivery(3, "boom");
        let (s, err) = run(&opts(), &sink, "a\nbb\nccc\ndddd\n").await;
        assert_eq!((s.produced, s.bytes, s.failed), (2, 4, 2));
        assert_eq!(s.exit_code(), EXIT_FAILED);
        assert!(
            err.contains("delivery failed for line 2: NOT_LEADER_OR_FOLLOWER\n"),
            "{err}"
        );
        assert!(err.contains("delivery failed for line 4: boom\n"), "{err}");
        assert!(
            err.ends_with("2 records produced (4 bytes), 2 failed\n"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn failures_of_unknown_outcome_are_counted_apart() {
        let sink = FakeSink::new()
            .fail_delivery(0, "NOT_LEADER_OR_FOLLOWER")
            .fail_delivery_unknown(1, "delivery.timeout.ms expired; the outcome is unknown");
        let (s, err) = run(&opts(), &sink, "a\nb\nc\n").await;
        assert_eq!((s.produced, s.failed, s.outcome_unknown), (1, 2, 1));
        assert!(
            err.ends_with(
                "1 records produced (1 bytes), 2 failed (1 of them may have been written: their \
                 requests were never answered)\n"
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn non_fatal_rejection_counts_and_continues() {
        let sink = FakeSink::new().reject(1, false);
        let (s, err) = run(&opts(), &sink, "a\nb\nc\n").await;
        assert_eq!((s.produced, s.failed), (2, 1));
        assert_eq!(s.exit_code(), EXIT_FAILED);
        assert!(
            err.contains("send failed for line 2: rejected send 1\n"),
            "{err}"
        );
        assert_eq!(sink.state.borrow().sends, 3);
    }

    #[tokio::test]
    async fn fatal_rejection_stops_reading_but_waits_for_earlier_deliveries() {
        let sink = FakeSink::new().slow(1).reject(2, true);
        let (s, err) = run(&opts(), &sink, "a\nb\nc\nd\ne\n").await;
        assert_eq!((s.produced, s.failed), (2, 1));
        assert_eq!(
            sink.state.borrow().sends,
            3,
            "nothing sent after the fatal rejection"
        );
        assert!(err.contains("stopping"), "{err}");
        assert!(
            err.ends_with("2 records produced (2 bytes), 1 failed\n2 input lines not sent\n"),
            "{err}"
        );
        assert_eq!(s.unsent_lines, Some(2));
    }

    #[tokio::test]
    async fn unsent_lines_are_not_counted_when_the_input_is_a_terminal() {
        let sink = FakeSink::new().reject(0, true);
        let mut o = opts();
        o.count_unsent = false;
        let (s, err) = run(&o, &sink, "a\nb\nc\n").await;
        assert_eq!(s.unsent_lines, None);
        assert!(
            err.ends_with("the rest of the input was not sent\n"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn outstanding_deliveries_are_bounded_by_memory() {
        let line = "x".repeat(100);
        let input = format!("{line}\n").repeat(50);
        let sink = FakeSink::new().slow(5);
        let mut o = opts();
        // Two deliveries (2 × (100 + overhead)) fit, a third does not.
        o.max_outstanding_bytes = 2 * (100 + DELIVERY_OVERHEAD) + 10;
        let (s, _) = run(&o, &sink, &input).await;
        assert_eq!(s.produced, 50);
        let max = sink.state.borrow().max_outstanding;
        assert_eq!(max, 2, "max outstanding {max}");
    }

    #[tokio::test]
    async fn ctrl_c_stops_reading_flushes_and_prints_the_summary() {
        let sink = FakeSink::new().slow(3);
        let (mut feed, input) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut feed, b"a\nb\nc\n")
            .await
            .unwrap();
        // `feed` stays open: without the interrupt the run would wait for more input.
        let stop = Interrupt::new();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let o = opts();
        let (s, ()) = tokio::join!(
            run_produce(
                &o,
                &sink,
                Delimited::new(tokio::io::BufReader::new(input), b"\n".to_vec()),
                &mut out,
                &mut err,
                &stop
            ),
            async {
                for _ in 0..10_000 {
                    if sink.state.borrow().sends == 3 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                stop.trigger();
            }
        );
        let err = String::from_utf8(err).unwrap();
        assert!(s.interrupted);
        assert_eq!(s.exit_code(), EXIT_INTERRUPTED);
        assert_eq!((s.produced, s.failed), (3, 0), "{err}");
        assert!(err.contains("interrupted after line 3"), "{err}");
        assert!(
            err.ends_with("3 records produced (3 bytes), 0 failed\n"),
            "{err}"
        );
        assert!(sink.state.borrow().closed);
        drop(feed);
    }

    #[tokio::test]
    async fn sends_are_pipelined_and_bounded() {
        let input: String = (0..200)
            .map(|i| format!("line {i}\n"))
            .collect::<Vec<_>>()
            .concat();
        let sink = FakeSink::new().slow(5);
        let (s, _) = run(&opts(), &sink, &input).await;
        assert_eq!(s.produced, 200);
        let max = sink.state.borrow().max_outstanding;
        assert!(
            max > 1,
            "deliveries must overlap, max outstanding was {max}"
        );

        let sink = FakeSink::new().slow(5);
        let mut o = opts();
        o.max_in_flight = 7;
        let (s, _) = run(&o, &sink, &input).await;
        assert_eq!(s.produced, 200);
        let max = sink.state.borrow().max_outstanding;
        assert!(
            max <= 7 && max > 1,
            "max outstanding {max} with a bound of 7"
        );
        assert_eq!(sink.state.borrow().outstanding, 0);
    }
}

#[cfg(test)]
mod txn_tests {
    use super::*;
    use crate::input::Delimited;
    use crate::sink::fake::FakeSink;

    async fn run_txn(
        records: Option<u64>,
        abort: bool,
        input: &str,
    ) -> (ProduceSummary, FakeSink, String) {
        let opts = ProduceOptions {
            topic: "t".into(),
            partition: None,
            key_delimiter: None,
            headers: vec![],
            max_in_flight: 1000,
            max_outstanding_bytes: u64::MAX,
            flush_timeout: Duration::from_secs(1),
            interrupted_flush_timeout: Duration::from_secs(1),
            close_timeout: Duration::from_secs(1),
            transactions: Some(TxnOptions { records, abort }),
            count_unsent: true,
            fixed_key: None,
            max_records: None,
            tee: false,
            quiet: false,
            verbose: false,
        };
        let sink = FakeSink::new().slow(2);
        let mut err = Vec::new();
        let summary = run_produce(
            &opts,
            &sink,
            Delimited::new(input.as_bytes(), b"\n".to_vec()),
            &mut Vec::new(),
            &mut err,
            &Interrupt::new(),
        )
        .await;
        (summary, sink, String::from_utf8(err).unwrap())
    }

    #[tokio::test]
    async fn one_transaction_per_n_lines_then_the_rest() {
        let (summary, sink, err) = run_txn(Some(2), false, "a\nb\nc\nd\ne\n").await;
        assert_eq!(summary.produced, 5);
        assert_eq!(summary.committed, 3);
        assert_eq!(summary.exit_code(), crate::EXIT_OK);
        assert_eq!(
            sink.state.borrow().calls,
            [
                "init", "begin", "commit", "begin", "commit", "begin", "commit", "flush"
            ]
        );
        assert!(err.contains("3 transactions committed, 0 aborted"), "{err}");
    }

    #[tokio::test]
    async fn a_failed_commit_is_not_retried_and_its_records_are_not_produced() {
        let opts = ProduceOptions {
            topic: "t".into(),
            partition: None,
            key_delimiter: None,
            headers: vec![],
            max_in_flight: 1000,
            max_outstanding_bytes: u64::MAX,
            flush_timeout: Duration::from_secs(1),
            interrupted_flush_timeout: Duration::from_secs(1),
            close_timeout: Duration::from_secs(1),
            transactions: Some(TxnOptions {
                records: Some(2),
                abort: false,
            }),
            count_unsent: true,
            fixed_key: None,
            max_records: None,
            tee: false,
            quiet: false,
            verbose: false,
        };
        // The second commit fails: lines 1-2 committed, 3-4 written but not committed, 5-6
        // never sent.
        let sink = FakeSink::new().slow(2).fail_commit(1);
        let mut err = Vec::new();
        let s = run_produce(
            &opts,
            &sink,
            Delimited::new("a\nb\nc\nd\ne\nf\n".as_bytes(), b"\n".to_vec()),
            &mut Vec::new(),
            &mut err,
            &Interrupt::new(),
        )
        .await;
        let err = String::from_utf8(err).unwrap();
        assert_eq!(
            sink.state.borrow().calls,
            ["init", "begin", "commit", "begin", "commit", "flush"],
            "one commit per transaction, none repeated"
        );
        assert_eq!(err.matches("commit_transaction failed").count(), 1, "{err}");
        assert_eq!((s.produced, s.uncommitted, s.committed), (2, 2, 1));
        assert_eq!(s.unsent_lines, Some(2));
        assert_eq!(s.exit_code(), crate::EXIT_FAILED);
        assert!(
            err.contains(
                "1 transactions committed, 0 aborted, 2 records written but not committed"
            ),
            "{err}"
        );
        assert!(err.ends_with("2 input lines not sent\n"), "{err}");
    }

    #[tokio::test]
    async fn all_input_in_one_transaction_by_default() {
        let (summary, sink, _) = run_txn(None, false, "a\nb\nc\n").await;
        assert_eq!(summary.committed, 1);
        assert_eq!(
            sink.state.borrow().calls,
            ["init", "begin", "commit", "flush"]
        );
    }

    #[tokio::test]
    async fn abort_flushes_then_aborts_every_transaction() {
        let (summary, sink, err) = run_txn(Some(2), true, "a\nb\nc\n").await;
        assert_eq!(summary.aborted, 2);
        assert_eq!(summary.committed, 0);
        // The fake refuses an abort with deliveries outstanding: flushed first.
        assert_eq!(
            sink.state.borrow().calls,
            [
                "init", "begin", "flush", "abort", "begin", "flush", "abort", "flush"
            ]
        );
        assert_eq!(summary.exit_code(), crate::EXIT_OK);
        assert!(err.contains("0 transactions committed, 2 aborted"), "{err}");
    }
}
