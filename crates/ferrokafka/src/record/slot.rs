//! Each batch's delivery slot: who waits for its records' outcomes (futures, callbacks,
//! reporters), how the outcome reaches them once the producer's lock is released, and how a
//! split batch hands its records on to its parts.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ferrokafka_accumulator::SplitOutcome;
use ferrokafka_wire::Topic;

use super::{Callback, DeliveryReporter, RecordMetadata, ReportedBatch};
use crate::error::ProduceError;

mod spares;
pub(crate) use spares::Spares;

/// Who hears of one record's outcome.
pub(crate) enum Listener {
    Callback(Callback),
    Reporter(Arc<dyn DeliveryReporter>, u64),
}

impl Listener {
    /// Runs the callback or the reporter; a panic in it is contained (Java catches callback
    /// exceptions), so the other records' futures and callbacks still complete and the I/O
    /// task survives.
    fn run(self, result: Result<RecordMetadata, ProduceError>) {
        match self {
            Listener::Callback(cb) => contained(move || cb(result)),
            Listener::Reporter(reporter, tag) => report(&reporter, tag, result),
        }
    }
}

/// Runs a listener's code; a panic in it is contained (see [`Listener::run`]).
pub(super) fn contained(f: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

/// Tells `reporter` the outcome of the record sent with `tag`, a panic contained.
fn report(
    reporter: &Arc<dyn DeliveryReporter>,
    tag: u64,
    result: Result<RecordMetadata, ProduceError>,
) {
    contained(move || reporter.report(tag, result));
}

/// One record a finished or split batch tells, in [`in_record_order`].
enum Next<'r> {
    Waiting(Waiting),
    /// A record of the batch's reporter (borrowed from its [`Reported`]).
    Reported(&'r Arc<dyn DeliveryReporter>, ReportedRecord),
}

/// A pending batch's records with listeners, `callbacks` and those of its `reporter`, merged
/// in index order (both lists are in it), so every record hears in order.
fn in_record_order(
    callbacks: Vec<Waiting>,
    reporter: Option<&Arc<dyn DeliveryReporter>>,
    records: Vec<ReportedRecord>,
) -> impl Iterator<Item = Next<'_>> {
    let mut callbacks = callbacks.into_iter().peekable();
    let mut records = records.into_iter().peekable();
    std::iter::from_fn(move || match (callbacks.peek(), records.peek()) {
        (Some(w), Some(r)) if w.index < r.index => callbacks.next().map(Next::Waiting),
        (_, Some(_)) => records
            .next()
            .zip(reporter)
            .map(|(r, reporter)| Next::Reported(reporter, r)),
        (Some(_), None) => callbacks.next().map(Next::Waiting),
        (None, None) => None,
    })
}

impl Reported {
    /// Takes the records `extra` kept for this batch elsewhere (under the producer's lock, while
    /// the batch filled) into a pending slot's own lists: as its reported list when it has none,
    /// the usual case; otherwise with its own, each list kept in index order.
    fn take_in(
        reported: &mut Option<Reported>,
        callbacks: &mut Vec<Waiting>,
        extra: Option<Reported>,
    ) {
        let Some(extra) = extra else {
            return;
        };
        match reported {
            None => *reported = Some(extra),
            Some(own) if Arc::ptr_eq(&own.reporter, &extra.reporter) => {
                own.records.extend(extra.records);
                own.records.sort_by_key(|r| r.index);
            }
            Some(_) => {
                let reporter = extra.reporter;
                callbacks.extend(extra.records.into_iter().map(|r| Waiting {
                    index: r.index,
                    timestamp: r.timestamp,
                    queued_at: r.queued_at,
                    notify: Listener::Reporter(Arc::clone(&reporter), r.tag),
                }));
                callbacks.sort_by_key(|w| w.index);
            }
        }
    }

    /// The reporter (if any) and its records, for [`in_record_order`].
    fn split_off(
        reported: Option<Reported>,
    ) -> (Option<Arc<dyn DeliveryReporter>>, Vec<ReportedRecord>) {
        reported.map_or((None, Vec::new()), |r| (Some(r.reporter), r.records))
    }
}

/// Who hears of a record's outcome, as a send hands it over: a reporter is borrowed, and a
/// batch keeps one reference to it for all of its records.
pub(crate) enum Listen<'a> {
    Callback(Callback),
    Reporter(&'a Arc<dyn DeliveryReporter>, u64),
}

impl Listen<'_> {
    pub(crate) fn into_owned(self) -> Listener {
        match self {
            Listen::Callback(cb) => Listener::Callback(cb),
            Listen::Reporter(reporter, tag) => Listener::Reporter(Arc::clone(reporter), tag),
        }
    }
}

/// A record waiting for its batch's outcome, with who to tell.
struct Waiting {
    index: i32,
    timestamp: i64,
    queued_at: Instant,
    notify: Listener,
}

/// The outcome of a whole batch.
#[derive(Debug, Clone)]
pub(crate) enum BatchOutcome {
    Delivered {
        base_offset: Option<i64>,
        log_append_time: Option<i64>,
    },
    Failed(ProduceError),
}

/// The records of a batch that report to one reporter (the common case: one reporter for every
/// record), so the batch holds one reference to it rather than one per record.
pub(crate) struct Reported {
    reporter: Arc<dyn DeliveryReporter>,
    records: Vec<ReportedRecord>,
}

/// A record of [`Reported`]: what [`Waiting`] holds, with the reporter's tag for a listener.
pub(super) struct ReportedRecord {
    pub(super) index: i32,
    pub(super) timestamp: i64,
    pub(super) queued_at: Instant,
    pub(super) tag: u64,
}

/// Records of a batch reported together at first, so a reporter's own records go in one
/// allocation of this size rather than growing from one: 16 records (640 bytes) stay within
/// the allocator's per-thread caches, which matters with many partitions, where batches hold
/// a few records each; a busy partition's list grows by doubling from there.
const REPORTED_FIRST_CAPACITY: usize = 16;

enum SlotState {
    Pending {
        wakers: Vec<Waker>,
        /// Records with callbacks, or with a reporter other than `reported`'s, in index order.
        callbacks: Vec<Waiting>,
        /// Records reporting to the batch's first reporter, in index order.
        reported: Option<Reported>,
    },
    /// The outcome, and when it arrived.
    Done(BatchOutcome, Instant),
    /// Split after MESSAGE_TOO_LARGE: where its records went, and the parts' slots by batch.
    Split(Arc<SplitParts>),
}

/// A pending batch as the producer's state keeps it: its slot, and the records that report to
/// the batch's first reporter, listed here under the producer's lock (which every send holds
/// anyway) rather than under the slot's own lock, once per record. The list goes to the slot
/// with the batch's outcome.
pub(crate) struct SlotEntry {
    pub(crate) slot: Arc<BatchSlot>,
    pub(crate) reported: Option<Reported>,
}

impl SlotEntry {
    pub(crate) fn new(slot: Arc<BatchSlot>) -> Self {
        SlotEntry {
            slot,
            reported: None,
        }
    }

    /// Registers `notify` for record `index` (create time `timestamp`, sent at `queued_at`):
    /// a record of the batch's first reporter goes on the list here (made for about
    /// `expected` records, the engine's estimate for a new batch, or a spare list); any other
    /// listener is registered with the slot ([`BatchSlot::try_register`], whose answer this
    /// is).
    pub(crate) fn register(
        &mut self,
        index: i32,
        timestamp: i64,
        queued_at: Instant,
        notify: Listen<'_>,
        spares: &mut Spares,
        expected: usize,
    ) -> Option<Listener> {
        if let Listen::Reporter(reporter, tag) = notify {
            let record = ReportedRecord {
                index,
                timestamp,
                queued_at,
                tag,
            };
            match &mut self.reported {
                None => {
                    let mut records = spares.list(expected);
                    records.push(record);
                    self.reported = Some(Reported {
                        reporter: Arc::clone(reporter),
                        records,
                    });
                    return None;
                }
                Some(r) if Arc::ptr_eq(reporter, &r.reporter) => {
                    r.records.push(record);
                    return None;
                }
                Some(_) => {}
            }
        }
        self.slot.try_register(index, timestamp, queued_at, notify)
    }
}

impl SlotEntry {
    /// Completes the entry's batch ([`BatchSlot::complete`], with the records listed here); its
    /// slot and reported list go to `spares` if nothing else holds them.
    pub(crate) fn complete(self, outcome: BatchOutcome, spares: &mut Spares) {
        if let Some(list) = self.slot.complete(outcome, self.reported) {
            spares.keep_list(list);
        }
        spares.keep_slot(self.slot);
    }
}

/// What a pending slot held when it was completed or split: its wakers, callbacks and reported
/// list.
type PendingLists = (Vec<Waker>, Vec<Waiting>, Option<Reported>);

impl SlotState {
    /// Pending, with nobody waiting yet.
    fn empty() -> Self {
        SlotState::Pending {
            wakers: Vec::new(),
            callbacks: Vec::new(),
            reported: None,
        }
    }

    /// The lists of a slot that was pending, with `extra` (the [`SlotEntry`]'s list) taken in;
    /// `None` for a slot that no longer was and has no `extra` to tell. (A slot is completed or
    /// split once, while pending; were it not, `extra`'s records would still hear.)
    fn pending_with(self, extra: Option<Reported>) -> Option<PendingLists> {
        let (wakers, mut callbacks, mut reported) = match self {
            SlotState::Pending {
                wakers,
                callbacks,
                reported,
            } => (wakers, callbacks, reported),
            _ if extra.is_some() => (Vec::new(), Vec::new(), None),
            _ => return None,
        };
        Reported::take_in(&mut reported, &mut callbacks, extra);
        Some((wakers, callbacks, reported))
    }
}

/// Shared state of one batch: its records' futures and callbacks wait here.
pub(crate) struct BatchSlot {
    topic: Topic,
    partition: i32,
    state: Mutex<SlotState>,
}

impl BatchSlot {
    pub(crate) fn new(topic: Topic, partition: i32) -> Arc<Self> {
        Arc::new(Self {
            topic,
            partition,
            state: Mutex::new(SlotState::empty()),
        })
    }

    pub(crate) fn topic(&self) -> &Topic {
        &self.topic
    }

    pub(crate) fn partition(&self) -> i32 {
        self.partition
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `notify` for record `index` if the batch still waits for its outcome (the
    /// producer's lock may be held: nothing runs); otherwise hands it back.
    pub(crate) fn try_register(
        &self,
        index: i32,
        timestamp: i64,
        queued_at: Instant,
        notify: Listen<'_>,
    ) -> Option<Listener> {
        match &mut *self.lock() {
            SlotState::Pending {
                callbacks,
                reported,
                ..
            } => {
                let notify = match (notify, reported) {
                    (Listen::Reporter(reporter, tag), reported @ None) => {
                        let mut records = Vec::with_capacity(REPORTED_FIRST_CAPACITY);
                        records.push(ReportedRecord {
                            index,
                            timestamp,
                            queued_at,
                            tag,
                        });
                        *reported = Some(Reported {
                            reporter: Arc::clone(reporter),
                            records,
                        });
                        return None;
                    }
                    (Listen::Reporter(reporter, tag), Some(r))
                        if Arc::ptr_eq(reporter, &r.reporter) =>
                    {
                        r.records.push(ReportedRecord {
                            index,
                            timestamp,
                            queued_at,
                            tag,
                        });
                        return None;
                    }
                    (other, _) => other.into_owned(),
                };
                callbacks.push(Waiting {
                    index,
                    timestamp,
                    queued_at,
                    notify,
                });
                None
            }
            SlotState::Done(..) | SlotState::Split(_) => Some(notify.into_owned()),
        }
    }

    /// Registers who hears of record `index`'s outcome (create time `timestamp`, sent at
    /// `queued_at`).
    fn notify(self: &Arc<Self>, index: i32, timestamp: i64, queued_at: Instant, notify: Listener) {
        let mut state = self.lock();
        let later = match &mut *state {
            // Registered after queueing (in a split part, say): kept with the callbacks.
            SlotState::Pending { callbacks, .. } => {
                callbacks.push(Waiting {
                    index,
                    timestamp,
                    queued_at,
                    notify,
                });
                return;
            }
            SlotState::Done(outcome, at) => {
                Err(self.result_for(outcome, index, timestamp, queued_at, *at))
            }
            SlotState::Split(parts) => Ok(parts.locate(index)),
        };
        drop(state);
        match later {
            Err(result) => notify.run(result),
            Ok((part, index)) => part.notify(index, timestamp, queued_at, notify),
        }
    }

    pub(super) fn result_for(
        &self,
        outcome: &BatchOutcome,
        index: i32,
        timestamp: i64,
        sent_at: Instant,
        acknowledged_at: Instant,
    ) -> Result<RecordMetadata, ProduceError> {
        match outcome {
            BatchOutcome::Delivered {
                base_offset,
                log_append_time,
            } => Ok(RecordMetadata {
                topic: self.topic.clone(),
                partition: self.partition,
                offset: base_offset.map(|b| b + i64::from(index)),
                timestamp: log_append_time.unwrap_or(timestamp),
                sent_at,
                acknowledged_at,
            }),
            BatchOutcome::Failed(e) => Err(e.clone()),
        }
    }

    /// Completes the batch: wakes its futures and runs its callbacks (outside the lock), and
    /// reports the records of `extra` (the [`SlotEntry`]'s list) with the slot's own. Returns
    /// the reported list, emptied, for a later batch.
    fn complete(
        &self,
        outcome: BatchOutcome,
        extra: Option<Reported>,
    ) -> Option<Vec<ReportedRecord>> {
        // One clock reading for the whole batch.
        let now = crate::producer::clock_now();
        let previous = std::mem::replace(&mut *self.lock(), SlotState::Done(outcome.clone(), now));
        let (wakers, callbacks, reported) = previous.pending_with(extra)?;
        {
            for w in wakers {
                w.wake();
            }
            let (reporter, records) = Reported::split_off(reported);
            // The reporter hears its records a run at a time: those between two callbacks
            // (by index) in one call, so every record still hears in order.
            let mut rest = records.as_slice();
            let report_run = |run: &[ReportedRecord]| {
                if let Some(reporter) = &reporter
                    && !run.is_empty()
                {
                    let batch = ReportedBatch {
                        slot: self,
                        outcome: &outcome,
                        acknowledged_at: now,
                        records: run,
                    };
                    contained(|| reporter.report_batch(&batch));
                }
            };
            for w in callbacks {
                let (run, after) = rest.split_at(rest.partition_point(|r| r.index < w.index));
                report_run(run);
                rest = after;
                w.notify
                    .run(self.result_for(&outcome, w.index, w.timestamp, w.queued_at, now));
            }
            report_run(rest);
            let mut records = records;
            records.clear();
            Some(records)
        }
    }

    /// The batch was split: its records, with those of `extra` (the [`SlotEntry`]'s list), now
    /// live in the parts.
    pub(crate) fn split(&self, parts: Arc<SplitParts>, extra: Option<Reported>) {
        let previous = std::mem::replace(&mut *self.lock(), SlotState::Split(parts.clone()));
        if let Some((wakers, callbacks, reported)) = previous.pending_with(extra) {
            // Handed on in index order, so each part keeps its records' order.
            let (reporter, records) = Reported::split_off(reported);
            for next in in_record_order(callbacks, reporter.as_ref(), records) {
                let (index, timestamp, queued_at, notify) = match next {
                    Next::Waiting(w) => (w.index, w.timestamp, w.queued_at, w.notify),
                    Next::Reported(reporter, r) => (
                        r.index,
                        r.timestamp,
                        r.queued_at,
                        Listener::Reporter(Arc::clone(reporter), r.tag),
                    ),
                };
                let (part, index) = parts.locate(index);
                part.notify(index, timestamp, queued_at, notify);
            }
            for w in wakers {
                w.wake();
            }
        }
    }
}

/// Where a queued record is: its batch's slot (none when a listener was registered as the
/// record was queued), its index there, its create time and when it was sent.
#[derive(Clone)]
pub(crate) struct Queued {
    pub(crate) slot: Option<Arc<BatchSlot>>,
    pub(crate) index: i32,
    pub(crate) timestamp: i64,
    pub(crate) sent_at: Instant,
}

impl Queued {
    /// Registers who hears of this record's outcome.
    pub(crate) fn notify(self, notify: Listener) {
        if let Some(slot) = &self.slot {
            slot.notify(self.index, self.timestamp, self.sent_at, notify);
        }
    }

    /// A future of this record's outcome (a place queued without a listener has its batch).
    pub(crate) fn future(self) -> DeliveryFuture {
        DeliveryFuture {
            slot: self
                .slot
                .expect("a record queued without a listener keeps its batch"),
            index: self.index,
            timestamp: self.timestamp,
            queued_at: self.sent_at,
        }
    }
}

/// A split batch's parts: the accumulator's account of where each record went, and the slot of
/// each part (in the same order).
pub(crate) struct SplitParts {
    pub(crate) outcome: SplitOutcome,
    pub(crate) slots: Vec<Arc<BatchSlot>>,
}

impl SplitParts {
    /// The part holding the original batch's record `index`, and the record's index in it
    /// (`SplitOutcome::locate`; an index out of range, which a split never leaves, goes to the
    /// last part).
    fn locate(&self, index: i32) -> (Arc<BatchSlot>, i32) {
        let found = self.outcome.locate(index).and_then(|h| {
            let at = self.outcome.parts.iter().position(|p| p.batch == h.batch)?;
            Some((self.slots.get(at)?.clone(), h.index))
        });
        found.unwrap_or_else(|| {
            let first = self.outcome.parts.last().map_or(0, |p| p.first_index);
            let last = self.slots.last().expect("a split has parts").clone();
            (last, index - first)
        })
    }
}

/// Resolves to the record's [`RecordMetadata`] once the broker acknowledged it, or to the
/// error that ended its delivery. Dropping it does not cancel the record.
#[must_use = "a delivery future does nothing unless polled; drop it to ignore the outcome"]
pub struct DeliveryFuture {
    slot: Arc<BatchSlot>,
    index: i32,
    timestamp: i64,
    queued_at: Instant,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("topic", &self.slot.topic)
            .field("partition", &self.slot.partition)
            .field("index", &self.index)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let slot = self.slot.clone();
            let mut state = slot.lock();
            match &mut *state {
                SlotState::Done(outcome, at) => {
                    return Poll::Ready(slot.result_for(
                        outcome,
                        self.index,
                        self.timestamp,
                        self.queued_at,
                        *at,
                    ));
                }
                SlotState::Split(parts) => {
                    let (part, index) = parts.locate(self.index);
                    drop(state);
                    self.index = index;
                    self.slot = part;
                }
                SlotState::Pending { wakers, .. } => {
                    // Only the last waker is compared: a batch can hold thousands of records,
                    // each future registers once, and re-polls by the same task hit the end.
                    if !wakers.last().is_some_and(|w| w.will_wake(cx.waker())) {
                        wakers.push(cx.waker().clone());
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
