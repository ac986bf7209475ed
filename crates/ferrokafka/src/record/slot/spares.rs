//! Slots and reported lists of finished batches, kept for new batches.

use std::sync::{Arc, PoisonError};

use ferrokafka_wire::Topic;

use super::{BatchSlot, REPORTED_FIRST_CAPACITY, ReportedRecord, SlotState};

/// Slots and reported lists of finished batches, kept for new batches. With many partitions
/// each lingering a few records, a batch is made and finished hundreds of thousands of times a
/// second; its slot and list are allocated by the sending thread and let go of by the I/O
/// thread, and an allocation freed by another thread than the one that made it takes the
/// allocator's lock for that thread's heap, which the sending thread keeps taking too. Reused,
/// neither is allocated nor freed. A slot is kept only when nothing else holds it (no delivery
/// future of its records is alive). Small lists are kept by count; a few large ones (a busy
/// partition's, thousands of records each) by their total size: allocated afresh, each was new
/// memory the kernel had to fault in page by page as records were listed.
#[derive(Default)]
pub(crate) struct Spares {
    slots: Vec<Arc<BatchSlot>>,
    lists: Vec<Vec<ReportedRecord>>,
    /// Lists over [`SPARE_LIST_CAPACITY`], oldest first, at most [`LARGE_LISTS`] of them and
    /// [`LARGE_LISTS_CAPACITY`] records' capacity in all.
    large: Vec<Vec<ReportedRecord>>,
}

/// Spare slots kept, at most (a slot is about 150 bytes). Spares are what finished batches
/// left, so they never outnumber the batches that were alive at once: keeping them adds
/// nothing to the peak. With a thousand partitions, one pass of the driver finishes a
/// thousand batches or more (every broker's answer for every partition it leads) before the
/// sending thread makes the next ones; with 256 lists kept, more than half of the lists were
/// freed and allocated again, each by another thread than the one that made it.
const SPARE_SLOTS: usize = 2048;
/// Spare reported lists kept, at most (each of at most [`SPARE_LIST_CAPACITY`] records).
const SPARE_LISTS: usize = 2048;
/// Largest reported list kept (in records of 40 bytes): a busy partition's batches are few.
const SPARE_LIST_CAPACITY: usize = 64;
/// Largest list allocated up front for the records a batch is expected to hold (2.5 MiB of
/// records); a batch of more grows its list from there.
const EXPECTED_LIST_CAPACITY: usize = 1 << 16;
/// Capacity, in records, of the large lists kept (1.25 MiB): three or four lists of a busy
/// partition's 1 MiB batches of 100-byte records.
const LARGE_LISTS_CAPACITY: usize = 1 << 15;
/// Large lists kept, at most: with many partitions, lists of a hundred records or so would
/// otherwise fill the budget, for little.
const LARGE_LISTS: usize = 8;

impl Spares {
    /// A slot for a new batch of `topic`'s `partition`: a spare one if there is one. A spare
    /// slot of the same topic keeps its name: every batch's slot names one of a few topics,
    /// and taking a reference to the name touches a count every thread keeps touching.
    pub(crate) fn slot(&mut self, topic: &Topic, partition: i32) -> Arc<BatchSlot> {
        if let Some(mut slot) = self.slots.pop()
            && let Some(s) = Arc::get_mut(&mut slot)
        {
            if !s.topic.same(topic) {
                s.topic = topic.clone();
            }
            s.partition = partition;
            return slot;
        }
        BatchSlot::new(topic.clone(), partition)
    }

    /// An empty list for a batch's reported records, `expected` of them about (0: unknown): a
    /// spare one if there is one and that many fit a spare's size, otherwise one allocated
    /// for them all (at most [`EXPECTED_LIST_CAPACITY`]), so a busy partition's list is not
    /// copied at each doubling as it fills.
    pub(super) fn list(&mut self, expected: usize) -> Vec<ReportedRecord> {
        if expected > SPARE_LIST_CAPACITY {
            let expected = expected.min(EXPECTED_LIST_CAPACITY);
            // A kept large list of enough, and not more than four times that, capacity; when
            // none is, the oldest goes (its size is not the one batches have now).
            let fits = |l: &Vec<ReportedRecord>| (expected..=4 * expected).contains(&l.capacity());
            if let Some(at) = self.large.iter().rposition(fits) {
                return self.large.remove(at);
            }
            if !self.large.is_empty() {
                self.large.remove(0);
            }
            return Vec::with_capacity(expected);
        }
        self.lists
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(REPORTED_FIRST_CAPACITY))
    }

    /// Keeps a finished batch's slot for a new batch, if nothing else holds it (then nothing
    /// else can come to: it is pending again, empty).
    pub(super) fn keep_slot(&mut self, mut slot: Arc<BatchSlot>) {
        if self.slots.len() < SPARE_SLOTS
            && let Some(s) = Arc::get_mut(&mut slot)
        {
            *s.state.get_mut().unwrap_or_else(PoisonError::into_inner) = SlotState::empty();
            self.slots.push(slot);
        }
    }

    /// Keeps a finished batch's reported list (emptied) for a new batch: a small one while
    /// fewer than [`SPARE_LISTS`] are kept, a large one while fewer than [`LARGE_LISTS`] are
    /// and they stay within [`LARGE_LISTS_CAPACITY`].
    pub(super) fn keep_list(&mut self, mut list: Vec<ReportedRecord>) {
        list.clear();
        if list.capacity() <= SPARE_LIST_CAPACITY {
            if self.lists.len() < SPARE_LISTS {
                self.lists.push(list);
            }
        } else if self.large.len() < LARGE_LISTS
            && self.large.iter().map(Vec::capacity).sum::<usize>() + list.capacity()
                <= LARGE_LISTS_CAPACITY
        {
            self.large.push(list);
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
        for list in other.large.drain(..) {
            self.keep_list(list);
        }
    }

    /// How many slots and lists are kept.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.slots.len(), self.lists.len())
    }

    /// The capacities of the large lists kept, oldest first.
    #[cfg(test)]
    pub(crate) fn large_capacities(&self) -> Vec<usize> {
        self.large.iter().map(Vec::capacity).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use super::super::*;
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
        let mut entry = SlotEntry::new(spares.slot(&Topic::new("t"), partition));
        let now = Instant::now();
        for (i, tag) in tags.enumerate() {
            let index = i32::try_from(i).unwrap();
            let left = entry.register(index, 0, now, Listen::Reporter(reporter, tag), spares, 0);
            assert!(left.is_none(), "a pending batch takes every listener");
        }
        entry
    }

    /// A spare slot takes the new batch's topic: the same name handle is kept as it is, another
    /// topic replaces it.
    #[test]
    fn a_spare_slot_names_the_new_batchs_topic() {
        let mut spares = Spares::default();
        let a = Topic::new("a");
        let b = Topic::new("b");
        let first = spares.slot(&a, 0);
        let at = Arc::as_ptr(&first);
        spares.keep_slot(first);
        let again = spares.slot(&a, 1);
        assert_eq!(Arc::as_ptr(&again), at, "the spare");
        assert!(again.topic().same(&a));
        assert_eq!(again.partition(), 1);
        spares.keep_slot(again);
        let other = spares.slot(&b, 2);
        assert_eq!(Arc::as_ptr(&other), at, "the spare again");
        assert!(other.topic().same(&b) && other.topic().as_str() == "b");
        assert_eq!(other.partition(), 2);
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
    fn spares_are_bounded() {
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
        // A list grown past a small one's size is kept with the large ones, which are bounded
        // by their total capacity.
        let mut spares = Spares::default();
        let big = batch(
            &mut spares,
            0,
            &reporter,
            0..(SPARE_LIST_CAPACITY as u64 + 1),
        );
        big.complete(delivered(0), &mut spares);
        assert_eq!(spares.counts(), (1, 0));
        assert_eq!(spares.large_capacities(), [2 * SPARE_LIST_CAPACITY]);
        let mut finished = Spares::default();
        let size = LARGE_LISTS_CAPACITY / 3;
        for _ in 0..4 {
            finished.keep_list(Vec::with_capacity(size));
        }
        assert_eq!(finished.large_capacities(), [size; 3]);
        spares.take_from(&mut finished);
        assert_eq!(
            spares.large_capacities(),
            [2 * SPARE_LIST_CAPACITY, size, size],
            "within the budget"
        );
        assert!(finished.large_capacities().is_empty());
        let mut many = Spares::default();
        for _ in 0..LARGE_LISTS + 2 {
            many.keep_list(Vec::with_capacity(2 * SPARE_LIST_CAPACITY));
        }
        assert_eq!(many.large_capacities().len(), LARGE_LISTS, "by count too");
    }

    /// A kept large list serves a batch expected to hold as many records (not one that needs
    /// more, nor one four times smaller); a batch none serves lets the oldest go.
    #[test]
    fn a_kept_large_list_serves_a_batch_of_about_its_size() {
        let mut spares = Spares::default();
        for capacity in [1_000, 5_000] {
            spares.keep_list(Vec::with_capacity(capacity));
        }
        let list = spares.list(4_000);
        assert_eq!(list.capacity(), 5_000, "the newest that fits");
        assert_eq!(spares.large_capacities(), [1_000]);
        let list = spares.list(300);
        assert_eq!(list.capacity(), 1_000);
        assert!(spares.large_capacities().is_empty());
        spares.keep_list(list);
        let list = spares.list(100);
        assert_eq!(list.capacity(), 100, "1,000 is too large for 100");
        assert!(spares.large_capacities().is_empty(), "the oldest went");
        spares.keep_list(Vec::with_capacity(1_000));
        let list = spares.list(2_000);
        assert_eq!(list.capacity(), 2_000, "1,000 is too small for 2,000");
    }

    /// A batch expected to hold more records than a spare list is made for gets a list for
    /// them all (up to the limit), and the spares stay for small batches.
    #[test]
    fn a_list_is_made_for_the_records_a_batch_is_expected_to_hold() {
        let reporter: Arc<dyn DeliveryReporter> = Arc::new(Heard::default());
        let mut spares = Spares::default();
        batch(&mut spares, 0, &reporter, 0..1).complete(delivered(0), &mut spares);
        assert_eq!(spares.counts(), (1, 1));
        let mut entry = SlotEntry::new(spares.slot(&Topic::new("t"), 0));
        let now = Instant::now();
        let listen = Listen::Reporter(&reporter, 0);
        assert!(
            entry
                .register(0, 0, now, listen, &mut spares, 5_000)
                .is_none()
        );
        let records = &entry.reported.as_ref().expect("listed").records;
        assert_eq!(records.len(), 1);
        assert!(records.capacity() >= 5_000, "{}", records.capacity());
        assert_eq!(spares.counts(), (0, 1), "the spare list stays");
        let mut huge = SlotEntry::new(spares.slot(&Topic::new("t"), 1));
        let listen = Listen::Reporter(&reporter, 0);
        assert!(
            huge.register(0, 0, now, listen, &mut spares, usize::MAX)
                .is_none()
        );
        let capacity = huge.reported.as_ref().expect("listed").records.capacity();
        assert!(capacity < 2 * EXPECTED_LIST_CAPACITY, "{capacity}");
        let mut small = SlotEntry::new(spares.slot(&Topic::new("t"), 2));
        let listen = Listen::Reporter(&reporter, 0);
        assert!(small.register(0, 0, now, listen, &mut spares, 10).is_none());
        assert_eq!(spares.counts(), (0, 0), "a small batch takes the spare");
        for e in [entry, huge, small] {
            e.complete(delivered(0), &mut spares);
        }
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
