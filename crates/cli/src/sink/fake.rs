//! A scripted in-memory sink for tests.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use std::rc::Rc;
use std::time::Duration;

use std::sync::Arc;

use super::{Delivered, DeliveryFailure, OutRecord, Pending, Rejected, Reports, Sink};

#[derive(Default)]
pub(crate) struct State {
    /// Every record `send` accepted, in order.
    pub(crate) accepted: Vec<OutRecord>,
    /// Number of `send` calls (accepted or not).
    pub(crate) sends: usize,
    /// Accepted but not yet resolved deliveries.
    pub(crate) outstanding: usize,
    pub(crate) max_outstanding: usize,
    pub(crate) closed: bool,
    /// Transactional calls in order: "init", "begin", "commit", "abort", "flush".
    pub(crate) calls: Vec<&'static str>,
    /// `send_reported` deliveries not reported yet: later sends to wait for, outcome,
    /// who hears of it, its number.
    reports: VecDeque<Unreported>,
}

/// Later sends to wait for, outcome, who hears of it, the record's number.
type Unreported = (
    u32,
    Result<Delivered, DeliveryFailure>,
    Arc<dyn Reports>,
    u64,
);

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("sends", &self.sends)
            .field("outstanding", &self.outstanding)
            .field("closed", &self.closed)
            .field("calls", &self.calls)
            .field("unreported", &self.reports.len())
            .finish_non_exhaustive()
    }
}

/// Behaviour is keyed by the 0-based index of the `send` call.
#[derive(Debug, Default)]
pub(crate) struct FakeSink {
    pub(crate) state: Rc<RefCell<State>>,
    /// Deliveries that resolve to this error.
    fail_delivery: HashMap<usize, DeliveryFailure>,
    /// Sends that are rejected (`fatal` flag).
    reject: HashMap<usize, bool>,
    /// Deliveries stay pending for this many polls (models a round trip).
    pending_polls: u32,
    partitions: i32,
    /// The 0-based index of the commit that fails.
    fail_commit: Option<usize>,
}

impl FakeSink {
    pub(crate) fn new() -> Self {
        Self {
            partitions: 3,
            ..Self::default()
        }
    }

    pub(crate) fn fail_delivery(mut self, index: usize, msg: &str) -> Self {
        self.fail_delivery.insert(
            index,
            DeliveryFailure {
                message: msg.to_owned(),
                outcome_unknown: false,
            },
        );
        self
    }

    /// A delivery that fails with an unknown outcome (its request was never answered).
    pub(crate) fn fail_delivery_unknown(mut self, index: usize, msg: &str) -> Self {
        self.fail_delivery.insert(
            index,
            DeliveryFailure {
                message: msg.to_owned(),
                outcome_unknown: true,
            },
        );
        self
    }

    pub(crate) fn reject(mut self, index: usize, fatal: bool) -> Self {
        self.reject.insert(index, fatal);
        self
    }

    pub(crate) fn fail_commit(mut self, index: usize) -> Self {
        self.fail_commit = Some(index);
        self
    }

    pub(crate) fn slow(mut self, pending_polls: u32) -> Self {
        self.pending_polls = pending_polls;
        self
    }

    pub(crate) fn accepted(&self) -> Vec<OutRecord> {
        self.state.borrow().accepted.clone()
    }
}

/// Pending (and immediately re-woken) for the given number of polls.
struct PendingFor(u32);

impl std::future::Future for PendingFor {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 == 0 {
            std::task::Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl FakeSink {
    /// The scripted fate of the next `send` call: refused, or accepted with the outcome
    /// its delivery will have.
    fn accept(&self, record: OutRecord) -> Result<Result<Delivered, DeliveryFailure>, Rejected> {
        let mut st = self.state.borrow_mut();
        let index = st.sends;
        st.sends += 1;
        if let Some(&fatal) = self.reject.get(&index) {
            return Err(Rejected {
                message: format!("rejected send {index}"),
                fatal,
            });
        }
        let partition = record.partition.unwrap_or(index as i32 % self.partitions);
        let offset = st
            .accepted
            .iter()
            .filter(|r| r.partition == record.partition)
            .count();
        st.accepted.push(record);
        st.outstanding += 1;
        st.max_outstanding = st.max_outstanding.max(st.outstanding);
        Ok(match self.fail_delivery.get(&index) {
            Some(msg) => Err(msg.clone()),
            None => Ok(Delivered {
                partition,
                offset: Some(offset as i64),
                latency: Duration::ZERO,
                acknowledged_at: None,
            }),
        })
    }

    /// A reported send: accepted (or refused) at once, reported once its round trip is
    /// over.
    fn queue_reported(
        &self,
        record: &OutRecord,
        key: Option<&[u8]>,
        reports: &Arc<dyn Reports>,
        seq: u64,
    ) -> Result<(), Rejected> {
        let mut record = record.clone();
        if let Some(k) = key {
            record.key = Some(Bytes::copy_from_slice(k));
        }
        let result = self.accept(record)?;
        self.state.borrow_mut().reports.push_back((
            self.pending_polls,
            result,
            Arc::clone(reports),
            seq,
        ));
        self.report_due(false);
        Ok(())
    }

    /// Reports the reported deliveries whose round trip is over: each waits for
    /// `pending_polls` later sends (or a flush, commit or close, which report them all).
    fn report_due(&self, all: bool) {
        loop {
            let due = {
                let mut st = self.state.borrow_mut();
                match st.reports.front_mut() {
                    Some(front) if all || front.0 == 0 => st.reports.pop_front(),
                    Some(_) | None => None,
                }
            };
            let Some((_, result, reports, seq)) = due else {
                break;
            };
            self.state.borrow_mut().outstanding -= 1;
            reports.report(seq, result);
        }
        for r in &mut self.state.borrow_mut().reports {
            r.0 = r.0.saturating_sub(1);
        }
    }
}

impl Sink for FakeSink {
    async fn send(&self, record: OutRecord) -> Result<Pending, Rejected> {
        let result = self.accept(record)?;
        let state = Rc::clone(&self.state);
        let pending_polls = self.pending_polls;
        Ok(Box::pin(async move {
            PendingFor(pending_polls).await;
            state.borrow_mut().outstanding -= 1;
            result
        }))
    }

    async fn send_reported(
        &self,
        record: &OutRecord,
        key: Option<&[u8]>,
        reports: &Arc<dyn Reports>,
        seq: u64,
    ) -> Result<(), Rejected> {
        self.queue_reported(record, key, reports, seq)
    }

    /// Odd records only, so a run takes both of the loop's paths.
    fn try_send_reported(
        &self,
        record: &OutRecord,
        key: Option<&[u8]>,
        reports: &Arc<dyn Reports>,
        seq: u64,
    ) -> Option<Result<(), Rejected>> {
        (seq % 2 == 1).then(|| self.queue_reported(record, key, reports, seq))
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), String> {
        self.report_due(true);
        self.state.borrow_mut().calls.push("flush");
        Ok(())
    }

    async fn init_transactions(&self) -> Result<(), String> {
        self.state.borrow_mut().calls.push("init");
        Ok(())
    }

    fn begin_transaction(&self) -> Result<(), String> {
        self.state.borrow_mut().calls.push("begin");
        Ok(())
    }

    async fn end_transaction(&self, commit: bool) -> Result<(), String> {
        if commit {
            self.report_due(true);
        }
        let mut st = self.state.borrow_mut();
        if st.outstanding > 0 && !commit {
            return Err("abort with deliveries outstanding".to_owned());
        }
        let commits_before = st.calls.iter().filter(|c| **c == "commit").count();
        st.calls.push(if commit { "commit" } else { "abort" });
        if commit && self.fail_commit == Some(commits_before) {
            return Err("TRANSACTION_ABORTABLE: injected".to_owned());
        }
        Ok(())
    }

    async fn close(&self, _timeout: Duration) {
        self.report_due(true);
        self.state.borrow_mut().closed = true;
    }

    fn metrics(&self) -> Vec<(String, f64)> {
        let sent = f64::from(u32::try_from(self.state.borrow().accepted.len()).unwrap_or(0));
        vec![
            (
                "producer-metrics:record-send-total:{client-id=fake}".to_owned(),
                sent,
            ),
            (
                "producer-topic-metrics:byte-rate:{client-id=fake, topic=t}".to_owned(),
                12.5,
            ),
        ]
    }
}
