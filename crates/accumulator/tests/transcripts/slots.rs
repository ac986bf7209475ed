//! Appends through a kept queue slot (`append_via`): the same batches as by partition, and a
//! slot of another partition or accumulator never misroutes a record.

use std::time::Instant;

use ferrokafka_accumulator::{QueueSlot, RecordAccumulator};

use crate::util::{Clock, acc, config, ids, pump, tp, value};

fn put_via(
    acc: &mut RecordAccumulator,
    hint: &mut Option<QueueSlot>,
    p: i32,
    id: u64,
    now: Instant,
) {
    acc.append_via(hint, &tp(p), 0, None, Some(&value(id, 10)), &[], now)
        .expect("append");
}

/// Partition → record ids, from one drain at `now`.
fn drained_ids(acc: &mut RecordAccumulator, now: Instant) -> Vec<(i32, Vec<u64>)> {
    let mut out: Vec<(i32, Vec<u64>)> = pump(acc, now)
        .by_leader
        .into_values()
        .flatten()
        .map(|b| (b.tp.partition, ids(&b.bytes)))
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn a_kept_slot_finds_its_partition_and_a_wrong_one_is_looked_past() {
    let clock = Clock::new();
    let mut a = acc(config());
    let (mut s0, mut s1) = (None, None);
    put_via(&mut a, &mut s0, 0, 1, clock.at(0));
    put_via(&mut a, &mut s1, 1, 2, clock.at(0));
    // Each partition's queue left its slot, and they differ.
    assert!(s0.is_some() && s1.is_some());
    assert_ne!(s0, s1);
    let kept0 = s0;
    put_via(&mut a, &mut s0, 0, 3, clock.at(1));
    assert_eq!(s0, kept0, "the kept slot served");
    // Partition 0's slot offered for a record of partition 1: the record goes to partition 1,
    // and the hint now holds partition 1's slot.
    let mut wrong = kept0;
    put_via(&mut a, &mut wrong, 1, 4, clock.at(1));
    assert_eq!(wrong, s1);
    assert_eq!(
        drained_ids(&mut a, clock.at(5)),
        vec![(0, vec![1, 3]), (1, vec![2, 4])]
    );

    // A slot of another accumulator: looked past as well. This accumulator's first queue is
    // partition 1's, so slot 0 here is not partition 0's.
    let mut b = acc(config());
    put_via(&mut b, &mut None, 1, 5, clock.at(0));
    let mut foreign = kept0;
    put_via(&mut b, &mut foreign, 0, 6, clock.at(0));
    assert_ne!(foreign, kept0);
    assert_eq!(
        drained_ids(&mut b, clock.at(5)),
        vec![(0, vec![6]), (1, vec![5])]
    );
}
