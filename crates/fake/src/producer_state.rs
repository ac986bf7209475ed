//! The idempotent producer state a partition leader keeps (Kafka's `ProducerStateManager`,
//! KIP-98 and KIP-360), per producer id:
//!
//! - the current epoch: a batch with an older epoch is refused with INVALID_PRODUCER_EPOCH
//!   (Produce's answer to a fenced or bumped producer, KIP-588);
//! - the metadata of the last five batches appended (first and last sequence, base offset,
//!   append time): a batch whose sequences equal one of them is a retry of a batch already in
//!   the log and is answered with success and the **original** offsets, without appending
//!   again (DUPLICATE_SEQUENCE_NUMBER is never returned by a modern broker; inject it as a
//!   fault to test a client's handling);
//! - sequence continuity: the next batch must start at last sequence + 1 (wrapping after
//!   `i32::MAX` to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER;
//! - a new epoch must start at sequence 0; a producer id the partition has never seen with a
//!   non-zero first sequence is UNKNOWN_PRODUCER_ID.

use std::collections::VecDeque;

use ferrokafka_wire::ErrorCode;

/// How many batches per producer are remembered for duplicate detection (Kafka's
/// `NUM_BATCHES_TO_RETAIN`, which is also the client's `max.in.flight.requests.per.connection`
/// limit under idempotence).
pub const RETAINED_BATCHES: usize = 5;

/// The metadata of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// First sequence.
    pub first_sequence: i32,
    /// Last sequence.
    pub last_sequence: i32,
    /// Offset of its first record.
    pub base_offset: i64,
    /// Its log append time, or -1 (CreateTime).
    pub log_append_time: i64,
}

/// What a partition remembers of one producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    /// Current epoch.
    pub epoch: i16,
    /// The last batches appended under this epoch, oldest first (at most five).
    pub batches: VecDeque<BatchMetadata>,
}

/// The verdict on an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Append it.
    Append,
    /// A retry of a batch already in the log: answer with its original offsets.
    Duplicate(BatchMetadata),
    /// Refuse it with this error.
    Reject(ErrorCode),
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) && next >= 0 || (next == 0 && last == i32::MAX)
}

/// The last sequence of a batch of `count` records from `first`, wrapping like Kafka.
pub fn last_sequence(first: i32, count: i32) -> i32 {
    let span = count.max(1) - 1;
    if first > i32::MAX - span {
        span - (i32::MAX - first) - 1
    } else {
        first + span
    }
}

impl ProducerEntry {
    /// Decides what to do with a batch of `epoch` whose sequences are `first..=last`.
    /// `entry` is `None` for a producer id this partition has never seen.
    pub fn check(entry: Option<&ProducerEntry>, epoch: i16, first: i32, last: i32) -> Verdict {
        let Some(e) = entry else {
            return if first == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(ErrorCode::UNKNOWN_PRODUCER_ID)
            };
        };
        if epoch < e.epoch {
            return Verdict::Reject(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if epoch > e.epoch {
            return if first == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        if let Some(dup) = e
            .batches
            .iter()
            .find(|b| b.first_sequence == first && b.last_sequence == last)
        {
            return Verdict::Duplicate(*dup);
        }
        match e.batches.back() {
            None if first == 0 => Verdict::Append,
            Some(b) if in_sequence(b.last_sequence, first) => Verdict::Append,
            _ => Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
        }
    }

    /// Records an appended batch (after [`Verdict::Append`]).
    pub fn record(entry: &mut Option<ProducerEntry>, epoch: i16, batch: BatchMetadata) {
        let e = entry.get_or_insert_with(|| ProducerEntry {
            epoch,
            batches: VecDeque::new(),
        });
        if epoch != e.epoch {
            e.epoch = epoch;
            e.batches.clear();
        }
        if e.batches.len() == RETAINED_BATCHES {
            e.batches.pop_front();
        }
        e.batches.push_back(batch);
    }

    /// Records a transaction marker written with `epoch`: a newer epoch (transactions v2 bump
    /// the epoch at every commit or abort) forgets the batches, so the next one starts at 0.
    pub fn record_marker(entry: &mut Option<ProducerEntry>, epoch: i16) {
        let e = entry.get_or_insert_with(|| ProducerEntry {
            epoch,
            batches: VecDeque::new(),
        });
        if epoch > e.epoch {
            e.epoch = epoch;
            e.batches.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(first: i32, count: i32, base_offset: i64) -> BatchMetadata {
        BatchMetadata {
            first_sequence: first,
            last_sequence: last_sequence(first, count),
            base_offset,
            log_append_time: -1,
        }
    }

    /// Appends batches of `count` records from sequence 0 under epoch 0.
    fn with_batches(n: i32, count: i32) -> Option<ProducerEntry> {
        let mut e = None;
        for i in 0..n {
            let m = meta(i * count, count, i64::from(i * count) + 100);
            assert_eq!(
                ProducerEntry::check(e.as_ref(), 0, m.first_sequence, m.last_sequence),
                Verdict::Append
            );
            ProducerEntry::record(&mut e, 0, m);
        }
        e
    }

    #[test]
    fn a_duplicate_of_any_of_the_last_five_batches_gets_its_original_offsets() {
        let e = with_batches(7, 3); // batches at sequences 0,3,...,18; the last five: 6..=18
        for i in 2..7 {
            let first = i * 3;
            assert_eq!(
                ProducerEntry::check(e.as_ref(), 0, first, first + 2),
                Verdict::Duplicate(meta(first, 3, i64::from(first) + 100)),
                "batch {i}"
            );
        }
        // The sixth-newest batch is forgotten: its retry is out of order, as in Kafka.
        assert_eq!(
            ProducerEntry::check(e.as_ref(), 0, 3, 5),
            Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
    }

    #[test]
    fn a_gap_is_out_of_order_and_the_next_sequence_appends() {
        let e = with_batches(2, 4); // sequences 0..=7
        assert_eq!(ProducerEntry::check(e.as_ref(), 0, 8, 9), Verdict::Append);
        assert_eq!(
            ProducerEntry::check(e.as_ref(), 0, 9, 9),
            Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(
            ProducerEntry::check(e.as_ref(), 0, 12, 13),
            Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
    }

    #[test]
    fn an_older_epoch_is_fenced_and_a_newer_one_starts_at_zero() {
        let mut e = with_batches(1, 1);
        ProducerEntry::record_marker(&mut e, 3);
        assert_eq!(
            ProducerEntry::check(e.as_ref(), 2, 1, 1),
            Verdict::Reject(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(ProducerEntry::check(e.as_ref(), 3, 0, 0), Verdict::Append);
        assert_eq!(
            ProducerEntry::check(e.as_ref(), 4, 5, 5),
            Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(ProducerEntry::check(e.as_ref(), 4, 0, 0), Verdict::Append);
    }

    #[test]
    fn an_unknown_producer_must_start_at_zero() {
        assert_eq!(
            ProducerEntry::check(None, 0, 5, 6),
            Verdict::Reject(ErrorCode::UNKNOWN_PRODUCER_ID)
        );
        assert_eq!(ProducerEntry::check(None, 0, 0, 6), Verdict::Append);
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        assert_eq!(last_sequence(i32::MAX - 1, 4), 1);
        assert_eq!(last_sequence(0, 1), 0);
        let mut e = None;
        ProducerEntry::record(&mut e, 0, meta(i32::MAX - 2, 3, 0));
        assert_eq!(ProducerEntry::check(e.as_ref(), 0, 0, 4), Verdict::Append);
    }
}
