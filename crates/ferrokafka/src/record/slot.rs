//! Each batch's delivery slot: who waits for its records' outcomes (futures, callbacks,
//! reporters), how the outcome reaches them once the producer's lock is released, and how a
//! split batch hands its records on to its parts.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ferrokafka_accumulator::SplitOutcome;
use ferrokafka_wire::Topic;

use super::{Callback, DeliveryReporter, RecordMetadata, ReportedBatch};
use crate::error::ProduceError;

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
    /// a record of the batch's first reporter goes on the list here (a spare list if there is
    /// one); any other listener is registered with the slot ([`BatchSlot::try_register`], whose
    /// answer this is).
    pub(crate) fn register(
        &mut self,
        index: i32,
        timestamp: i64,
        queued_at: Instant,
        notify: Listen<'_>,
        spares: &mut Spares,
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
                    let mut records = spares.list();
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

/// Slots and reported lists of finished batches, kept for new batches. With many partitions
/// each lingering a few records, a batch is made and finished hundreds of thousands of times a
/// second; its slot and list are allocated by the sending thread and let go of by the I/O
/// thread, and an allocation freed by another thread than the one that made it takes the
/// allocator's lock for that thread's heap, which the sending thread keeps taking too. Reused,
/// neither is allocated nor freed. A slot is kept only when nothing else holds it (no delivery
/// future of its records is alive), a list only when it is small.
#[derive(Default)]
pub(crate) struct Spares {
    slots: Vec<Arc<BatchSlot>>,
    lists: Vec<Vec<ReportedRecord>>,
}

/// Spare slots kept, at most (a slot is about 150 bytes).
const SPARE_SLOTS: usize = 1024;
/// Spare reported lists kept, at most.
const SPARE_LISTS: usize = 256;
/// Largest reported list kept (in records of 32 bytes): a busy partition's batches are few.
const SPARE_LIST_CAPACITY: usize = 64;

impl Spares {
    /// A slot for a new batch of `topic`'s `partition`: a spare one if there is one.
    pub(crate) fn slot(&mut self, topic: Topic, partition: i32) -> Arc<BatchSlot> {
        if let Some(mut slot) = self.slots.pop()
            && let Some(s) = Arc::get_mut(&mut slot)
        {
            s.topic = topic;
            s.partition = partition;
            return slot;
        }
        BatchSlot::new(topic, partition)
    }

    /// An empty list for a batch's reported records: a spare one if there is one.
    fn list(&mut self) -> Vec<ReportedRecord> {
        self.lists
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(REPORTED_FIRST_CAPACITY))
    }

    /// Keeps a finished batch's slot for a new batch, if nothing else holds it (then nothing
    /// else can come to: it is pending again, empty).
    fn keep_slot(&mut self, mut slot: Arc<BatchSlot>) {
        if self.slots.len() < SPARE_SLOTS
            && let Some(s) = Arc::get_mut(&mut slot)
        {
            *s.state.get_mut().unwrap_or_else(PoisonError::into_inner) = SlotState::empty();
            self.slots.push(slot);
        }
    }

    /// Keeps a finished batch's reported list (emptied) for a new batch, if it is small.
    fn keep_list(&mut self, mut list: Vec<ReportedRecord>) {
        if self.lists.len() < SPARE_LISTS && list.capacity() <= SPARE_LIST_CAPACITY {
            list.clear();
            self.lists.push(list);
        }
    }

    /// Takes `other`'s spares in (up to the limits; the rest are dropped with `other`'s).
    pub(crate) fn take_from(&mut self, other: &mut Spares) {
        let slots = SPARE_SLOTS
            .saturating_sub(self.slots.len())
            .min(other.slots.len());
        self.slots
            .extend(other.slots.drain(other.slots.len() - slots..));
        let lists = SPARE_LISTS
            .saturating_sub(self.lists.len())
            .min(other.lists.len());
        self.lists
            .extend(other.lists.drain(other.lists.len() - lists..));
    }

    /// How many slots and lists are kept.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.slots.len(), self.lists.len())
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

#[cfg(test)]
mod spares_tests {
    use std::sync::Mutex as StdMutex;

    use super::*;

    /// Remembers what it heard: (tag, partition, offset).
    #[derive(Default)]
    struct Heard(StdMutex<Vec<(u64, i32, Option<i64>)>>);

    impl DeliveryReporter for Heard {
        fn report(&self, tag: u64, outcome: Result<RecordMetadata, ProduceError>) {
            let m = outcome.expect("delivered");
            self.0.lock().unwrap().push((tag, m.partition, m.offset));
        }
    }

    fn delivered(base_offset: i64) -> BatchOutcome {
        BatchOutcome::Delivered {
            base_offset: Some(base_offset),
            log_append_time: None,
        }
    }

    /// A batch of `partition` with records `tags` (indexes 0..) for `reporter`, its slot taken
    /// from `spares`.
    fn batch(
        spares: &mut Spares,
        partition: i32,
        reporter: &Arc<dyn DeliveryReporter>,
        tags: std::ops::Range<u64>,
    ) -> SlotEntry {
        let mut entry = SlotEntry::new(spares.slot(Topic::new("t"), partition));
        let now = Instant::now();
        for (i, tag) in tags.enumerate() {
            let index = i32::try_from(i).unwrap();
            let left = entry.register(index, 0, now, Listen::Reporter(reporter, tag), spares);
            assert!(left.is_none(), "a pending batch takes every listener");
        }
        entry
    }

    #[test]
    fn a_finished_batchs_slot_and_list_serve_the_next_batch_which_reports_its_own_records() {
        let heard = Arc::new(Heard::default());
        let reporter: Arc<dyn DeliveryReporter> = heard.clone();
        let mut spares = Spares::default();
        let first = batch(&mut spares, 3, &reporter, 0..3);
        let slot_at = Arc::as_ptr(&first.slot);
        let list_at = first.reported.as_ref().unwrap().records.as_ptr();
        first.complete(delivered(100), &mut spares);
        assert_eq!(spares.counts(), (1, 1), "nothing else held them");
        let second = batch(&mut spares, 7, &reporter, 10..12);
        assert_eq!(spares.counts(), (0, 0));
        assert_eq!(Arc::as_ptr(&second.slot), slot_at, "the same slot");
        assert_eq!(
            second.reported.as_ref().unwrap().records.as_ptr(),
            list_at,
            "the same list"
        );
        assert_eq!(second.slot.partition(), 7);
        second.complete(delivered(500), &mut spares);
        assert_eq!(
            *heard.0.lock().unwrap(),
            [
                (0, 3, Some(100)),
                (1, 3, Some(101)),
                (2, 3, Some(102)),
                (10, 7, Some(500)),
                (11, 7, Some(501)),
            ],
            "each batch's records with its own partition and offsets, once"
        );
    }

    #[test]
    fn a_slot_a_delivery_future_still_holds_is_not_kept_and_the_future_sees_its_outcome() {
        let reporter: Arc<dyn DeliveryReporter> = Arc::new(Heard::default());
        let mut spares = Spares::default();
        let entry = batch(&mut spares, 1, &reporter, 0..1);
        let future = Queued {
            slot: Some(Arc::clone(&entry.slot)),
            index: 0,
            timestamp: 0,
            sent_at: Instant::now(),
        }
        .future();
        entry.complete(delivered(42), &mut spares);
        assert_eq!(
            spares.counts(),
            (0, 1),
            "the slot is held; the list is free"
        );
        // A new batch gets a new slot; the future still reads its own batch's outcome.
        let next = batch(&mut spares, 2, &reporter, 5..6);
        let done = poll_finished(future);
        assert_eq!(done.partition(), 1);
        assert_eq!(done.offset(), Some(42));
        next.complete(delivered(7), &mut spares);
    }

    #[test]
    fn spares_are_bounded_and_large_lists_are_not_kept() {
        let reporter: Arc<dyn DeliveryReporter> = Arc::new(Heard::default());
        let mut spares = Spares::default();
        let mut finished = Spares::default();
        let entries: Vec<_> = (0..SPARE_SLOTS + 10)
            .map(|p| batch(&mut spares, i32::try_from(p).unwrap(), &reporter, 0..1))
            .collect();
        for e in entries {
            e.complete(delivered(0), &mut finished);
        }
        assert_eq!(finished.counts(), (SPARE_SLOTS, SPARE_LISTS));
        spares.take_from(&mut finished);
        assert_eq!(spares.counts(), (SPARE_SLOTS, SPARE_LISTS));
        let mut more = Spares::default();
        let extra = batch(&mut Spares::default(), 0, &reporter, 0..1);
        extra.complete(delivered(0), &mut more);
        spares.take_from(&mut more);
        assert_eq!(
            spares.counts(),
            (SPARE_SLOTS, SPARE_LISTS),
            "no more than the limits"
        );
        // A list grown past the limit is let go of.
        let mut spares = Spares::default();
        let big = batch(
            &mut spares,
            0,
            &reporter,
            0..(SPARE_LIST_CAPACITY as u64 + 1),
        );
        big.complete(delivered(0), &mut spares);
        assert_eq!(spares.counts(), (1, 0));
    }

    /// Polls a finished delivery future once.
    fn poll_finished(mut future: DeliveryFuture) -> RecordMetadata {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        match Pin::new(&mut future).poll(&mut cx) {
            Poll::Ready(r) => r.expect("delivered"),
            Poll::Pending => panic!("the batch finished"),
        }
    }
}
