//! Sequence numbers: start at 0, advance at drain, wrap at i32::MAX, per-partition independence,
//! in-flight ordering and limits, epoch bumps and new identities.

use ferrokafka_txn::{
    EpochBump, InFlightBatch, ProducerIdAndEpoch, Rewrite, SequenceError, Sequences,
    increment_sequence, is_next_sequence,
};

type Tp = (&'static str, i32);
const A: Tp = ("a", 0);
const B: Tp = ("b", 1);
const P: ProducerIdAndEpoch = ProducerIdAndEpoch {
    producer_id: 77,
    epoch: 0,
};

fn seqs() -> Sequences<Tp> {
    let mut s = Sequences::new(5).unwrap();
    s.set_producer(P);
    s
}

fn bases(s: &Sequences<Tp>, tp: &Tp) -> Vec<i32> {
    s.in_flight(tp).iter().map(|b| b.base_sequence).collect()
}

#[test]
fn increment_wraps_like_the_broker() {
    assert_eq!(increment_sequence(0, 1), 1);
    assert_eq!(increment_sequence(i32::MAX - 1, 1), i32::MAX);
    assert_eq!(increment_sequence(i32::MAX, 1), 0);
    assert_eq!(increment_sequence(i32::MAX - 2, 5), 2);
    assert_eq!(increment_sequence(i32::MAX, i32::MAX), i32::MAX - 1);
    assert!(is_next_sequence(5, 6));
    assert!(is_next_sequence(i32::MAX, 0));
    assert!(!is_next_sequence(i32::MAX, i32::MIN));
    assert!(!is_next_sequence(5, 7));
    assert!(!is_next_sequence(5, 0));
}

#[test]
fn first_batch_starts_at_zero_and_advances_by_record_count() {
    let mut s = seqs();
    assert_eq!(s.next_sequence(&A), 0);
    let st = s.assign(&A, 3).unwrap();
    assert_eq!(st, P.stamp(0, false));
    assert_eq!(s.assign(&A, 10).unwrap().base_sequence, 3);
    assert_eq!(s.next_sequence(&A), 13);
    assert_eq!(
        s.in_flight(&A),
        vec![
            InFlightBatch {
                base_sequence: 0,
                record_count: 3
            },
            InFlightBatch {
                base_sequence: 3,
                record_count: 10
            }
        ]
    );
}

#[test]
fn sequence_wraps_from_max_to_zero_and_in_flight_stays_in_send_order() {
    let mut s = seqs();
    // One huge batch brings next to i32::MAX - 1 through the public API.
    s.assign(&A, i32::MAX - 1).unwrap();
    s.complete(&A, 0).unwrap();
    assert_eq!(s.next_sequence(&A), i32::MAX - 1);
    assert_eq!(s.assign(&A, 1).unwrap().base_sequence, i32::MAX - 1);
    assert_eq!(s.assign(&A, 1).unwrap().base_sequence, i32::MAX);
    assert_eq!(s.assign(&A, 2).unwrap().base_sequence, 0);
    assert_eq!(s.assign(&A, 1).unwrap().base_sequence, 2);
    assert_eq!(bases(&s, &A), vec![i32::MAX - 1, i32::MAX, 0, 2]);
    // Each batch's last sequence is followed by the next batch's base, by the broker's rule.
    let inflight = s.in_flight(&A);
    for w in inflight.windows(2) {
        assert!(
            is_next_sequence(w[0].last_sequence(), w[1].base_sequence),
            "{w:?}"
        );
    }
    // A batch straddling the wrap.
    let mut s = seqs();
    s.assign(&A, i32::MAX).unwrap();
    s.complete(&A, 0).unwrap();
    let st = s.assign(&A, 3).unwrap();
    assert_eq!(st.base_sequence, i32::MAX);
    assert_eq!(s.in_flight(&A)[0].last_sequence(), 1);
    assert_eq!(s.next_sequence(&A), 2);
}

#[test]
fn partitions_are_independent() {
    let mut s = seqs();
    s.assign(&A, 5).unwrap();
    s.assign(&A, 5).unwrap();
    assert_eq!(s.assign(&B, 2).unwrap().base_sequence, 0);
    assert_eq!(s.next_sequence(&A), 10);
    assert_eq!(s.next_sequence(&B), 2);
    s.fail(&A, 5).unwrap();
    assert_eq!(s.unresolved_partitions().collect::<Vec<_>>(), vec![&A]);
    assert_eq!(bases(&s, &B), vec![0]);
}

#[test]
fn in_flight_limit_and_completion() {
    let mut s = Sequences::<Tp>::new(2).unwrap();
    assert_eq!(s.assign(&A, 1), Err(SequenceError::NoProducerId));
    s.set_producer(P);
    assert_eq!(s.assign(&A, 0), Err(SequenceError::InvalidRecordCount(0)));
    s.assign(&A, 1).unwrap();
    s.assign(&A, 1).unwrap();
    assert_eq!(
        s.assign(&A, 1),
        Err(SequenceError::TooManyInFlight { limit: 2 })
    );
    assert_eq!(s.next_sequence(&A), 2, "a refused batch takes no sequence");
    assert_eq!(s.complete(&A, 7), Err(SequenceError::UnknownBatch(7)));
    assert_eq!(s.complete(&A, 0).unwrap().record_count, 1);
    assert_eq!(s.last_acked(&A), Some(0));
    assert_eq!(s.assign(&A, 4).unwrap().base_sequence, 2);
    assert_eq!(bases(&s, &A), vec![1, 2]);
    assert!(matches!(
        Sequences::<Tp>::new(0),
        Err(SequenceError::InvalidInFlightLimit(0))
    ));
    assert!(matches!(
        Sequences::<Tp>::new(6),
        Err(SequenceError::InvalidInFlightLimit(6))
    ));
}

#[test]
fn local_epoch_bump_renumbers_affected_partitions_from_zero() {
    let mut s = seqs();
    s.assign(&A, 2).unwrap(); // 0
    s.assign(&A, 3).unwrap(); // 2
    s.assign(&A, 4).unwrap(); // 5
    s.assign(&B, 1).unwrap(); // 0 on B
    s.fail(&A, 0).unwrap(); // gap on A
    assert!(s.is_unresolved(&A));
    let bump = s.bump_epoch_locally([A]);
    let new = ProducerIdAndEpoch::new(77, 1);
    assert_eq!(
        bump,
        EpochBump::Bumped {
            producer: new,
            rewrites: vec![
                Rewrite {
                    partition: A,
                    old_base_sequence: 2,
                    new: new.stamp(0, false)
                },
                Rewrite {
                    partition: A,
                    old_base_sequence: 5,
                    new: new.stamp(3, false)
                },
            ]
        }
    );
    assert_eq!(s.unresolved_partitions().count(), 0);
    assert_eq!(s.next_sequence(&A), 7);
    assert_eq!(s.assign(&A, 1).unwrap(), new.stamp(7, false));
    // B still has a batch in flight under epoch 0: a new batch waits, then restarts at 0.
    assert_eq!(s.next_sequence(&B), 0);
    assert_eq!(s.assign(&B, 1), Err(SequenceError::StaleInFlight));
    s.complete(&B, 0).unwrap();
    assert_eq!(s.assign(&B, 1).unwrap(), new.stamp(0, false));
}

#[test]
fn a_bump_renumbers_only_the_named_partitions_and_leaves_the_others_stale() {
    let mut s = seqs();
    s.assign(&A, 2).unwrap(); // 0
    s.assign(&B, 1).unwrap(); // 0 on B
    s.assign(&B, 2).unwrap(); // 1 on B
    s.fail(&B, 0).unwrap(); // gap on B, but B's batch at 1 may be in the log
    assert!(s.is_unresolved(&B));
    let EpochBump::Bumped { producer, rewrites } = s.bump_epoch_locally([A]) else {
        panic!("bumped expected");
    };
    assert_eq!(producer, ProducerIdAndEpoch::new(77, 1));
    assert_eq!(
        rewrites
            .iter()
            .map(|r| (r.partition, r.old_base_sequence, r.new.base_sequence))
            .collect::<Vec<_>>(),
        vec![(A, 0, 0)],
        "B's in-flight batch keeps its old stamp"
    );
    assert!(!s.is_unresolved(&B), "the gap belonged to the old epoch");
    assert_eq!(bases(&s, &B), vec![1]);
    assert_eq!(s.assign(&B, 1), Err(SequenceError::StaleInFlight));
    s.complete(&B, 1).unwrap();
    assert_eq!(s.assign(&B, 1).unwrap().base_sequence, 0);
    assert_eq!(ProducerIdAndEpoch::from(s.assign(&B, 1).unwrap()), producer);
}

#[test]
fn split_parts_replace_the_batch_with_slices_of_its_range() {
    let mut s = seqs();
    s.assign(&A, 2).unwrap(); // 0..=1
    s.assign(&A, 6).unwrap(); // 2..=7
    s.assign(&A, 1).unwrap(); // 8
    assert_eq!(s.split(&A, 2, &[3, 3]), Ok(vec![2, 5]));
    assert_eq!(bases(&s, &A), vec![0, 2, 5, 8]);
    assert!(s.split(&A, 2, &[1, 1]).is_err(), "counts must add up");
    assert!(s.split(&A, 3, &[1]).is_err(), "no batch starts at 3");
    // The first part refused: its three sequences come back, the later batches move down.
    let rewrites = s.release_refused(&A, 2).unwrap();
    assert_eq!(
        rewrites
            .iter()
            .map(|r| (r.old_base_sequence, r.new.base_sequence))
            .collect::<Vec<_>>(),
        vec![(5, 2), (8, 5)]
    );
    assert_eq!(s.next_sequence(&A), 6);
}

#[test]
fn epoch_exhaustion_needs_a_new_producer_id() {
    let mut s = Sequences::<Tp>::new(5).unwrap();
    s.set_producer(ProducerIdAndEpoch::new(9, i16::MAX));
    s.assign(&A, 2).unwrap();
    s.assign(&A, 2).unwrap();
    assert_eq!(s.bump_epoch_locally([A]), EpochBump::NeedsNewProducerId);
    assert_eq!(s.producer(), ProducerIdAndEpoch::NONE);
    assert_eq!(s.assign(&B, 1), Err(SequenceError::NoProducerId));
    let fresh = ProducerIdAndEpoch::new(10, 0);
    let rewrites = s.set_producer(fresh);
    assert_eq!(
        rewrites
            .iter()
            .map(|r| (r.old_base_sequence, r.new.base_sequence))
            .collect::<Vec<_>>(),
        vec![(0, 0), (2, 2)]
    );
    assert!(
        rewrites
            .iter()
            .all(|r| ProducerIdAndEpoch::from(r.new) == fresh)
    );
    assert_eq!(s.assign(&A, 1).unwrap().base_sequence, 4);
}

#[test]
fn a_new_identity_restarts_idle_partitions_at_zero() {
    let mut s = seqs();
    s.assign(&A, 5).unwrap();
    s.complete(&A, 0).unwrap();
    s.assign(&B, 5).unwrap();
    s.complete(&B, 0).unwrap();
    // E.g. EndTxn v5 under transactions v2 returned a bumped epoch.
    let rewrites = s.set_producer(ProducerIdAndEpoch::new(77, 1));
    assert!(rewrites.is_empty());
    assert_eq!(s.next_sequence(&A), 0);
    assert_eq!(s.next_sequence(&B), 0);
    assert_eq!(s.last_acked(&A), None);
    assert_eq!(s.assign(&A, 1).unwrap().base_sequence, 0);
    // Re-adopting the same identity keeps the sequences.
    s.set_producer(ProducerIdAndEpoch::new(77, 1));
    assert_eq!(s.next_sequence(&A), 1);
}

#[test]
fn a_refused_batch_gives_its_sequences_back() {
    let mut s = seqs();
    s.assign(&A, 3).unwrap(); // 0..=2
    s.assign(&A, 2).unwrap(); // 3..=4, refused
    s.assign(&A, 4).unwrap(); // 5..=8
    s.assign(&A, 1).unwrap(); // 9
    let rewrites = s.release_refused(&A, 3).unwrap();
    assert_eq!(
        rewrites,
        vec![
            Rewrite {
                partition: A,
                old_base_sequence: 5,
                new: P.stamp(3, false),
            },
            Rewrite {
                partition: A,
                old_base_sequence: 9,
                new: P.stamp(7, false),
            },
        ]
    );
    assert_eq!(bases(&s, &A), vec![0, 3, 7]);
    assert_eq!(s.next_sequence(&A), 8);
    assert_eq!(
        s.unresolved_partitions().count(),
        0,
        "no gap, no bump needed"
    );
    assert_eq!(
        s.release_refused(&A, 42),
        Err(SequenceError::UnknownBatch(42))
    );
}

#[test]
fn releasing_the_last_batch_wraps_back() {
    let mut s = seqs();
    s.assign(&B, 1).unwrap();
    let rewrites = s.release_refused(&B, 0).unwrap();
    assert!(rewrites.is_empty());
    assert_eq!(s.next_sequence(&B), 0);
}
