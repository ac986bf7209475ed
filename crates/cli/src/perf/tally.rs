//! What the delivery callbacks and the sending loop share: the statistics, the failure
//! counts, the lines waiting to be printed, and the number of deliveries outstanding.
//!
//! A delivery is reported by a callback on the producer's I/O task (as Java's tool does):
//! it reads the clock, records the latency and, when a window closes or a record failed,
//! leaves a line for the sending loop to print. The loop only looks at the lines when
//! [`Tally::has_lines`] says there are some, so a record costs it no lock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

use super::{Clock, Stats};
use crate::sink::{Delivered, DeliveryFailure, Reports};

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

/// Shared by the sending loop and every outstanding delivery's callback.
pub(crate) struct Tally<C> {
    clock: C,
    record_bytes: u64,
    counts: Mutex<Counts>,
    has_lines: AtomicBool,
    outstanding: AtomicUsize,
    /// Raised by every report; the loop waits on it for room and for the last deliveries.
    reported: Notify,
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
            outstanding: AtomicUsize::new(0),
            reported: Notify::new(),
        }
    }

    pub(crate) fn clock(&self) -> &C {
        &self.clock
    }

    /// The counts (a callback that panicked while holding them left them usable).
    pub(crate) fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A record was handed to the producer; its report is due.
    pub(crate) fn sent(&self) {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
    }

    /// A record the producer refused after [`sent`](Self::sent): it will have no report.
    pub(crate) fn refused(&self, seq: u64, message: &str) {
        self.counts().failure("send", seq, message);
        self.has_lines.store(true, Ordering::Release);
        self.outstanding.fetch_sub(1, Ordering::AcqRel);
    }

    /// The outcome of record `seq` (its latency as the producer measured it: from the send
    /// call, as Java's tool measures from just before `send`).
    fn report_outcome(&self, seq: u64, result: Result<Delivered, DeliveryFailure>) {
        let now = self.clock.now();
        {
            let mut counts = self.counts();
            let line = match result {
                Ok(delivered) => counts
                    .stats
                    .record(delivered.latency, self.record_bytes, now)
                    .map(|line| (Stream::Out, line)),
                Err(e) => {
                    if e.outcome_unknown {
                        counts.outcome_unknown += 1;
                    }
                    counts.failure("delivery", seq, &e.message);
                    None
                }
            };
            if let Some(line) = line {
                counts.lines.push(line);
            }
            if !counts.lines.is_empty() {
                self.has_lines.store(true, Ordering::Release);
            }
        }
        self.outstanding.fetch_sub(1, Ordering::AcqRel);
        self.reported.notify_one();
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
        loop {
            // Registered before the check, so a report between the two is not missed.
            let reported = self.reported.notified();
            if self.outstanding.load(Ordering::Acquire) < max.max(1) {
                return;
            }
            reported.await;
        }
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
}
