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

mod tally;

pub(crate) use tally::ProduceSummary;
use tally::Tally;

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
    let mut tally = Tally::new(err, opts.transactions.is_some(), opts.verbose);
    // A fatal error stopped the run before the input ended.
    let mut stopped = false;
    let mut inflight = FuturesUnordered::new();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut in_txn = 0u64; // records in the open transaction; 0 = none open
    // One shared name for every record.
    let topic = ferrokafka::Topic::from(opts.topic.as_str());
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
            topic: topic.clone(),
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
    tally.report(opts.quiet, stopped)
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
mod tests;
