//! When a partition becomes ready: linger, size, flush, close.

use crate::util::{Clock, acc, config, ms, pump, put, tp};

#[test]
fn linger_is_honoured() {
    let clock = Clock::new();
    let mut a = acc(config());
    let r = put(&mut a, 0, 1, 10, clock.at(0));
    assert!(r.new_batch_created);
    assert!(!r.batch_is_full);

    // t=0..4: lingering; the accumulator asks to be woken at creation + linger.ms (5).
    let check = a.ready(clock.at(0));
    assert!(check.ready_partitions.is_empty());
    assert_eq!(check.next_wakeup, Some(clock.at(5)));
    assert!(a.ready(clock.at(4)).ready_partitions.is_empty());
    assert_eq!(pump(&mut a, clock.at(4)).batch_count(), 0);

    // t=5: linger over.
    assert_eq!(a.ready(clock.at(5)).ready_partitions, vec![tp(0)]);
    assert_eq!(pump(&mut a, clock.at(5)).batch_count(), 1);
}

#[test]
fn full_batch_is_ready_at_once() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(10_000);
    let mut a = acc(c);
    // 300-byte values: three fit under batch.size 1000, the fourth opens a new batch.
    let mut results = Vec::new();
    for id in 0..4 {
        results.push(put(&mut a, 0, id, 300, clock.at(0)));
    }
    assert!(!results[2].new_batch_created);
    assert!(results[3].new_batch_created);
    assert!(results[3].batch_is_full);
    assert_eq!(results[3].handle.index, 0);
    assert_eq!(a.queued_count(&tp(0)), 2);

    let check = a.ready(clock.at(0));
    assert_eq!(check.ready_partitions, vec![tp(0)]);
    let drained = pump(&mut a, clock.at(0));
    let sent = &drained.by_leader[&0];
    assert_eq!(sent.len(), 1, "one batch per partition per drain");
    assert_eq!(crate::util::ids(&sent[0].bytes), vec![0, 1, 2]);
    // The second batch is alone now and not full: it lingers.
    assert!(a.ready(clock.at(1)).ready_partitions.is_empty());
}

#[test]
fn flush_makes_everything_ready_until_done() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 1, 2, 10, clock.at(0));
    assert!(a.ready(clock.at(1)).ready_partitions.is_empty());

    a.begin_flush();
    assert!(a.flush_in_progress());
    assert_eq!(a.ready(clock.at(1)).ready_partitions, vec![tp(0), tp(1)]);
    a.flush_done();
    assert!(a.ready(clock.at(1)).ready_partitions.is_empty());
}

#[test]
fn close_makes_everything_ready_and_refuses_appends() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 3, 1, 10, clock.at(0));
    a.close();
    assert!(a.is_closing());
    assert_eq!(a.ready(clock.at(0)).ready_partitions, vec![tp(3)]);
    let err = a
        .append(&tp(3), 0, None, Some(b"late"), &[], clock.at(0))
        .unwrap_err();
    assert_eq!(err, ferrokafka_accumulator::AppendError::Closed);
    // Draining empties it.
    let drained = pump(&mut a, clock.at(0));
    let id = drained.by_leader[&1][0].id;
    a.complete(id).unwrap();
    assert!(!a.has_incomplete());
}
