//! The run's accounting: each delivery's outcome counted (transactions counted once they end),
//! and the summary printed at the end.

use std::io::Write;

use crate::sink::{Delivered, DeliveryFailure};
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};

use super::DELIVERY_OVERHEAD;

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

pub(super) struct Tally<'w> {
    pub(super) summary: ProduceSummary,
    pub(super) err: &'w mut dyn Write,
    transactional: bool,
    /// Records and bytes delivered in the open transaction; produced once it commits.
    in_txn_delivered: (u64, u64),
    /// Bytes of the outstanding deliveries, for the memory bound.
    pub(super) outstanding_bytes: u64,
    verbose: bool,
}

impl<'w> Tally<'w> {
    pub(super) fn new(err: &'w mut dyn Write, transactional: bool, verbose: bool) -> Self {
        Self {
            summary: ProduceSummary::default(),
            err,
            transactional,
            in_txn_delivered: (0, 0),
            outstanding_bytes: 0,
            verbose,
        }
    }

    pub(super) fn done(
        &mut self,
        (result, line, size): (Result<Delivered, DeliveryFailure>, u64, u64),
    ) {
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
    pub(super) fn settle_transaction(&mut self, committed: bool) {
        let (records, bytes) = std::mem::take(&mut self.in_txn_delivered);
        if committed {
            self.summary.produced += records;
            self.summary.bytes += bytes;
        } else {
            self.summary.uncommitted += records;
        }
    }

    /// Prints the summary on `err` (with `quiet`, only the lines a fatal error left unsent)
    /// and returns it.
    pub(super) fn report(&mut self, quiet: bool, stopped: bool) -> ProduceSummary {
        let s = self.summary;
        if !quiet {
            let _ = write!(
                self.err,
                "{} records produced ({} bytes), {} failed",
                s.produced, s.bytes, s.failed
            );
            if s.outcome_unknown > 0 {
                let _ = write!(
                    self.err,
                    " ({} of them may have been written: their requests were never answered)",
                    s.outcome_unknown
                );
            }
            let _ = writeln!(self.err);
            if self.transactional {
                let _ = write!(
                    self.err,
                    "{} transactions committed, {} aborted",
                    s.committed, s.aborted
                );
                if s.uncommitted > 0 {
                    let _ = write!(
                        self.err,
                        ", {} records written but not committed",
                        s.uncommitted
                    );
                }
                let _ = writeln!(self.err);
            }
        }
        if stopped {
            match s.unsent_lines {
                Some(n) => {
                    let _ = writeln!(self.err, "{n} input lines not sent");
                }
                None if !quiet => {
                    let _ = writeln!(self.err, "the rest of the input was not sent");
                }
                None => {}
            }
        }
        s
    }
}
