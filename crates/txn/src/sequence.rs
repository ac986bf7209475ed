//! Producer identity and per-partition sequence numbers (KIP-98 idempotence, KIP-360 epoch
//! bumps).
//!
//! Rules this file implements (Java `TransactionManager` / `TxnPartitionMap`, broker
//! `ProducerAppendInfo`):
//!
//! - Sequences are per (producer id, epoch, partition), start at 0 and advance by each batch's
//!   record count **when the batch is drained** ([`Sequences::assign`]), never at append.
//! - After `i32::MAX` comes 0: the broker accepts `next == last + 1 || (next == 0 && last ==
//!   i32::MAX)`.
//! - At most 5 batches per partition are in flight (the broker remembers the last 5 batches per
//!   producer to detect duplicates). They are kept in sequence order; a retried batch keeps the
//!   stamp it was first given, so it is not re-assigned.
//! - A new epoch starts at sequence 0. After a new identity ([`Sequences::set_producer`]) an
//!   idle partition starts from 0 at once; a partition with batches still in flight under the
//!   old identity lets them finish first ([`SequenceError::StaleInFlight`] until then), then
//!   restarts at 0. Partitions named in a local epoch bump instead have their in-flight batches
//!   renumbered from 0 under the new epoch ([`Rewrite`]), as Java's `startSequencesAtBeginning`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;

use foldhash::fast::FixedState;

use ferrokafka_records::{ProducerStamp, increment_sequence};

use crate::error::SequenceError;

/// The broker's limit on in-flight batches per partition for an idempotent producer.
pub const MAX_IN_FLIGHT_PER_PARTITION: usize = 5;

/// A producer id and epoch, as InitProducerId (or EndTxn v5) returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerIdAndEpoch {
    /// Producer id; -1 when none is known.
    pub producer_id: i64,
    /// Producer epoch; -1 when none is known.
    pub epoch: i16,
}

impl ProducerIdAndEpoch {
    /// No identity yet (what InitProducerId v3+ sends when it has none).
    pub const NONE: ProducerIdAndEpoch = ProducerIdAndEpoch {
        producer_id: -1,
        epoch: -1,
    };

    /// A producer id and epoch.
    pub const fn new(producer_id: i64, epoch: i16) -> Self {
        ProducerIdAndEpoch { producer_id, epoch }
    }

    /// Whether this is a real identity (both fields non-negative).
    pub const fn is_valid(self) -> bool {
        self.producer_id >= 0 && self.epoch >= 0
    }

    /// The batch-header stamp of a batch under this identity starting at `base_sequence`.
    pub const fn stamp(self, base_sequence: i32, transactional: bool) -> ProducerStamp {
        ProducerStamp {
            producer_id: self.producer_id,
            producer_epoch: self.epoch,
            base_sequence,
            transactional,
        }
    }
}

impl From<ProducerStamp> for ProducerIdAndEpoch {
    /// The identity a stamp carries.
    fn from(stamp: ProducerStamp) -> Self {
        ProducerIdAndEpoch::new(stamp.producer_id, stamp.producer_epoch)
    }
}

impl Default for ProducerIdAndEpoch {
    fn default() -> Self {
        Self::NONE
    }
}

/// One batch in flight on a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightBatch {
    /// Sequence of its first record.
    pub base_sequence: i32,
    /// Records in it.
    pub record_count: i32,
}

impl InFlightBatch {
    /// Sequence of its last record (wrapping).
    pub fn last_sequence(self) -> i32 {
        increment_sequence(self.base_sequence, self.record_count - 1)
    }
}

/// An in-flight batch renumbered by a local epoch bump: re-stamp it before its next send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite<K> {
    /// Its partition.
    pub partition: K,
    /// Its base sequence under the old identity.
    pub old_base_sequence: i32,
    /// Its new stamp.
    pub new: ProducerStamp,
}

/// The result of [`Sequences::bump_epoch_locally`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EpochBump<K> {
    /// The epoch went up by one; these in-flight batches were renumbered from 0.
    Bumped {
        /// The new identity.
        producer: ProducerIdAndEpoch,
        /// Batches to re-stamp.
        rewrites: Vec<Rewrite<K>>,
    },
    /// The epoch was already `i16::MAX`: the identity is dropped and InitProducerId must be sent
    /// again; the affected partitions are renumbered when the new id is set.
    NeedsNewProducerId,
}

/// The broker's check that `next` directly follows `last`.
pub fn is_next_sequence(last: i32, next: i32) -> bool {
    (last != i32::MAX && next == last + 1) || (next == 0 && last == i32::MAX)
}

/// Sequence state of one partition.
#[derive(Debug, Clone)]
struct PartitionSequences {
    /// The identity `next` and `in_flight` belong to. If it differs from the current identity the
    /// partition is stale: its sequences restart at 0 once nothing is in flight.
    producer: ProducerIdAndEpoch,
    /// Base sequence of the next new batch.
    next: i32,
    /// In-flight batches in sequence (= assignment) order.
    in_flight: VecDeque<InFlightBatch>,
    /// Last sequence the broker acknowledged, if any.
    last_acked: Option<i32>,
}

/// Per-partition sequence numbers and in-flight batches of one producer, keyed by `K` (the
/// caller's topic-partition type).
#[derive(Debug, Clone)]
pub struct Sequences<K> {
    producer: ProducerIdAndEpoch,
    /// Whether the stamps handed out carry the transactional flag.
    transactional: bool,
    max_in_flight: usize,
    /// By partition, found by hash: every drained batch and every answer looks its partition
    /// up (nothing walks them in order).
    partitions: HashMap<K, PartitionSequences, FixedState>,
    /// Partitions to renumber from 0 once a new identity is known (after an exhausted epoch).
    pending_rewrite: BTreeSet<K>,
    /// Partitions where a sent batch failed for good, leaving a gap only an epoch bump closes.
    unresolved: BTreeSet<K>,
}

impl<K: Ord + Hash + Clone> Sequences<K> {
    /// A tracker with no identity, allowing `max_in_flight` (1..=5) batches per partition.
    pub fn new(max_in_flight: usize) -> Result<Self, SequenceError> {
        if !(1..=MAX_IN_FLIGHT_PER_PARTITION).contains(&max_in_flight) {
            return Err(SequenceError::InvalidInFlightLimit(max_in_flight));
        }
        Ok(Sequences {
            producer: ProducerIdAndEpoch::NONE,
            transactional: false,
            max_in_flight,
            partitions: HashMap::default(),
            pending_rewrite: BTreeSet::new(),
            unresolved: BTreeSet::new(),
        })
    }

    /// Makes the stamps it hands out ([`Sequences::assign`], [`Rewrite::new`]) transactional
    /// (a transactional producer's batches) or not (the default).
    pub fn set_transactional(&mut self, transactional: bool) {
        self.transactional = transactional;
    }

    /// The current identity.
    pub fn producer(&self) -> ProducerIdAndEpoch {
        self.producer
    }

    /// Adopts a new identity (InitProducerId, or EndTxn v5 under transactions v2). Every
    /// partition restarts at 0 (idle ones now, busy ones once their in-flight batches finish);
    /// partitions waiting for a renumbering after an exhausted epoch are renumbered now.
    pub fn set_producer(&mut self, producer: ProducerIdAndEpoch) -> Vec<Rewrite<K>> {
        self.producer = producer;
        self.partitions
            .retain(|_, p| p.producer == producer || !p.in_flight.is_empty());
        // Gaps belong to the old identity: under the new one every partition restarts at 0.
        self.unresolved.clear();
        let pending = std::mem::take(&mut self.pending_rewrite);
        self.rewrite(pending)
    }

    /// Base sequence the next new batch of `partition` would get.
    pub fn next_sequence(&self, partition: &K) -> i32 {
        match self.partitions.get(partition) {
            Some(p) if p.producer == self.producer => p.next,
            _ => 0,
        }
    }

    /// Batches in flight on `partition`, in sequence order.
    pub fn in_flight(&self, partition: &K) -> Vec<InFlightBatch> {
        self.partitions
            .get(partition)
            .map(|p| p.in_flight.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The last sequence the broker acknowledged on `partition` under the current identity.
    pub fn last_acked(&self, partition: &K) -> Option<i32> {
        self.partitions
            .get(partition)
            .filter(|p| p.producer == self.producer)
            .and_then(|p| p.last_acked)
    }

    /// Partitions where a sent batch failed for good (see [`Sequences::fail`]).
    pub fn unresolved_partitions(&self) -> impl Iterator<Item = &K> {
        self.unresolved.iter()
    }

    /// Whether `partition` has a gap left by a batch that failed for good (see
    /// [`Sequences::fail`]). A new batch numbered after the gap would be refused as out of
    /// sequence; an idempotent producer sends none until the epoch is bumped.
    pub fn is_unresolved(&self, partition: &K) -> bool {
        self.unresolved.contains(partition)
    }

    /// Stamps a batch of `record_count` records being drained for the first time: it gets the
    /// partition's next sequence, which then advances by `record_count` (wrapping), and the batch
    /// joins the in-flight list. Retries keep their stamp and must not call this again.
    pub fn assign(
        &mut self,
        partition: &K,
        record_count: i32,
    ) -> Result<ProducerStamp, SequenceError> {
        if !self.producer.is_valid() {
            return Err(SequenceError::NoProducerId);
        }
        if record_count <= 0 {
            return Err(SequenceError::InvalidRecordCount(record_count));
        }
        let producer = self.producer;
        let limit = self.max_in_flight;
        let entry =
            self.partitions
                .entry(partition.clone())
                .or_insert_with(|| PartitionSequences {
                    producer,
                    next: 0,
                    in_flight: VecDeque::new(),
                    last_acked: None,
                });
        if entry.producer != producer {
            if !entry.in_flight.is_empty() {
                return Err(SequenceError::StaleInFlight);
            }
            *entry = PartitionSequences {
                producer,
                next: 0,
                in_flight: VecDeque::new(),
                last_acked: None,
            };
        }
        if entry.in_flight.len() >= limit {
            return Err(SequenceError::TooManyInFlight { limit });
        }
        let base_sequence = entry.next;
        entry.next = increment_sequence(base_sequence, record_count);
        entry.in_flight.push_back(InFlightBatch {
            base_sequence,
            record_count,
        });
        Ok(producer.stamp(base_sequence, self.transactional))
    }

    /// Removes the in-flight batch with `base_sequence` after the broker acknowledged it.
    pub fn complete(
        &mut self,
        partition: &K,
        base_sequence: i32,
    ) -> Result<InFlightBatch, SequenceError> {
        let (p, batch) = take_batch(&mut self.partitions, partition, base_sequence)?;
        p.last_acked = Some(batch.last_sequence());
        Ok(batch)
    }

    /// Removes the in-flight batch with `base_sequence` that failed for good. Later batches were
    /// numbered after it, so the partition now has a gap: it is reported by
    /// [`Sequences::unresolved_partitions`] until an epoch bump renumbers it.
    pub fn fail(
        &mut self,
        partition: &K,
        base_sequence: i32,
    ) -> Result<InFlightBatch, SequenceError> {
        let (p, batch) = take_batch(&mut self.partitions, partition, base_sequence)?;
        // A stale partition (batches of an older identity finishing) restarts at 0 under the
        // current one anyway: its gap needs no bump.
        if p.producer == self.producer {
            self.unresolved.insert(partition.clone());
        }
        Ok(batch)
    }

    /// Replaces the in-flight batch with `base_sequence` by the parts it was split into (Java
    /// `splitAndReenqueue`): `part_counts` are the parts' record counts in order, summing to the
    /// batch's; each part keeps its slice of the batch's sequence range and is then completed,
    /// failed or released on its own. Returns the parts' base sequences.
    pub fn split(
        &mut self,
        partition: &K,
        base_sequence: i32,
        part_counts: &[i32],
    ) -> Result<Vec<i32>, SequenceError> {
        let (p, idx) = find_batch(&mut self.partitions, partition, base_sequence)?;
        let total: i64 = part_counts.iter().map(|c| i64::from(*c)).sum();
        if part_counts.iter().any(|c| *c <= 0) || total != i64::from(p.in_flight[idx].record_count)
        {
            return Err(SequenceError::InvalidRecordCount(
                i32::try_from(total).unwrap_or(i32::MAX),
            ));
        }
        p.in_flight.remove(idx);
        let mut bases = Vec::with_capacity(part_counts.len());
        let mut base = base_sequence;
        for (i, count) in part_counts.iter().enumerate() {
            p.in_flight.insert(
                idx + i,
                InFlightBatch {
                    base_sequence: base,
                    record_count: *count,
                },
            );
            bases.push(base);
            base = increment_sequence(base, *count);
        }
        Ok(bases)
    }

    /// Removes the in-flight batch with `base_sequence` that the broker *refused* (so it was
    /// never appended) and gives its sequence range back (Java
    /// `adjustSequencesDueToFailedBatch`): the partition's later in-flight batches move down by
    /// its record count — returned as rewrites, to re-stamp before their next send — and so does
    /// the next sequence. No gap is left, so no epoch bump is needed. Batches that may have been
    /// appended (timeouts) must go through [`Sequences::fail`] instead.
    pub fn release_refused(
        &mut self,
        partition: &K,
        base_sequence: i32,
    ) -> Result<Vec<Rewrite<K>>, SequenceError> {
        let producer = self.producer;
        let transactional = self.transactional;
        let (p, idx) = find_batch(&mut self.partitions, partition, base_sequence)?;
        let failed = p.in_flight.remove(idx).expect("index found above");
        let mut rewrites = Vec::new();
        let mut base = failed.base_sequence;
        for later in p.in_flight.iter_mut().skip(idx) {
            rewrites.push(Rewrite {
                partition: partition.clone(),
                old_base_sequence: later.base_sequence,
                new: p.producer.stamp(base, transactional),
            });
            later.base_sequence = base;
            base = increment_sequence(base, later.record_count);
        }
        p.next = base;
        let _ = producer;
        Ok(rewrites)
    }

    /// Idempotent-only epoch bump (KIP-360): the epoch goes up by one without asking the broker,
    /// and the in-flight batches of `affected` partitions are renumbered from 0 (Java
    /// `startSequencesAtBeginning`). Only partitions none of whose in-flight batches can be in
    /// the log may be named: a renumbered batch is a new batch to the broker, so an earlier
    /// attempt already appended would be appended again. Every other partition is left stale: its
    /// in-flight batches finish under the old epoch, then it restarts at 0. At `i16::MAX` the
    /// identity is dropped instead ([`EpochBump::NeedsNewProducerId`]) and the renumbering waits
    /// for the new id.
    pub fn bump_epoch_locally(&mut self, affected: impl IntoIterator<Item = K>) -> EpochBump<K> {
        self.pending_rewrite.extend(affected);
        if !self.producer.is_valid() || self.producer.epoch == i16::MAX {
            self.producer = ProducerIdAndEpoch::NONE;
            return EpochBump::NeedsNewProducerId;
        }
        let producer = ProducerIdAndEpoch::new(self.producer.producer_id, self.producer.epoch + 1);
        let rewrites = self.set_producer(producer);
        EpochBump::Bumped { producer, rewrites }
    }

    /// Renumbers the in-flight batches of `partitions` from 0 under the current identity.
    fn rewrite(&mut self, partitions: BTreeSet<K>) -> Vec<Rewrite<K>> {
        let producer = self.producer;
        let transactional = self.transactional;
        let mut out = Vec::new();
        for tp in partitions {
            self.unresolved.remove(&tp);
            let Some(p) = self.partitions.get_mut(&tp) else {
                continue;
            };
            let mut next = 0;
            for b in &mut p.in_flight {
                out.push(Rewrite {
                    partition: tp.clone(),
                    old_base_sequence: b.base_sequence,
                    new: producer.stamp(next, transactional),
                });
                b.base_sequence = next;
                next = increment_sequence(next, b.record_count);
            }
            p.producer = producer;
            p.next = next;
            p.last_acked = None;
        }
        out
    }
}

/// Removes the batch starting at `base_sequence` from `p`'s in-flight list.
/// `partition`'s state and the index of its in-flight batch with `base_sequence`.
fn find_batch<'a, K: Hash + Eq>(
    partitions: &'a mut HashMap<K, PartitionSequences, FixedState>,
    partition: &K,
    base_sequence: i32,
) -> Result<(&'a mut PartitionSequences, usize), SequenceError> {
    let p = partitions
        .get_mut(partition)
        .ok_or(SequenceError::UnknownBatch(base_sequence))?;
    let idx = p
        .in_flight
        .iter()
        .position(|b| b.base_sequence == base_sequence)
        .ok_or(SequenceError::UnknownBatch(base_sequence))?;
    Ok((p, idx))
}

/// Removes `partition`'s in-flight batch with `base_sequence`, with the partition's state.
fn take_batch<'a, K: Hash + Eq>(
    partitions: &'a mut HashMap<K, PartitionSequences, FixedState>,
    partition: &K,
    base_sequence: i32,
) -> Result<(&'a mut PartitionSequences, InFlightBatch), SequenceError> {
    let (p, idx) = find_batch(partitions, partition, base_sequence)?;
    let batch = p.in_flight.remove(idx).expect("index found above");
    Ok((p, batch))
}
