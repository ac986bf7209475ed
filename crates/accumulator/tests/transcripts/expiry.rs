//! delivery.timeout.ms expiry and abort on close.

use ferrokafka_accumulator::{AppendError, BatchError, BatchId, FailReason, RecordAccumulator};

use crate::util::{Clock, acc, config, ms, pump, put, tp};

#[test]
fn queued_batches_expire_at_the_delivery_timeout() {
    let clock = Clock::new();
    let mut c = config();
    c.delivery_timeout = ms(1000);
    c.linger = ms(5000); // never ready by linger in this transcript
    let mut a = acc(c);
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 0, 2, 10, clock.at(1));
    put(&mut a, 1, 3, 10, clock.at(500));

    assert_eq!(a.ready(clock.at(10)).next_wakeup, Some(clock.at(1000)));
    assert!(a.expire(clock.at(999)).is_empty());
    let expired = a.expire(clock.at(1000));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].tp, tp(0));
    assert_eq!(expired[0].record_count, 2);
    assert_eq!(expired[0].reason, FailReason::DeliveryTimeout);
    assert!(!expired[0].ever_sent);
    assert_eq!(a.queued_count(&tp(0)), 0);

    let later = a.expire(clock.at(1500));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].tp, tp(1));
    assert_eq!(a.memory_used(), 0);
}

#[test]
fn in_flight_batches_expire_only_after_coming_back() {
    let clock = Clock::new();
    let mut c = config();
    c.delivery_timeout = ms(1000);
    let mut a = acc(c);
    put(&mut a, 0, 1, 10, clock.at(0));
    let id = pump(&mut a, clock.at(5)).by_leader[&0][0].id;
    assert!(
        a.expire(clock.at(5000)).is_empty(),
        "in flight: the request owns it"
    );
    // The engine's request timed out: it re-enqueues, and the batch expires from the queue.
    a.reenqueue(id, clock.at(5000)).unwrap();
    let expired = a.expire(clock.at(5000));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, id);
    assert!(expired[0].ever_sent);
    assert_eq!(a.memory_used(), 0);
}

#[test]
fn in_flight_batches_are_reported_once_at_the_delivery_timeout_and_stay_in_flight() {
    let clock = Clock::new();
    let mut c = config();
    c.delivery_timeout = ms(1000);
    c.max_in_flight_per_partition = 1;
    let mut a = acc(c);
    put(&mut a, 0, 1, 10, clock.at(0));
    let id = pump(&mut a, clock.at(5)).by_leader[&0][0].id;
    put(&mut a, 0, 1, 10, clock.at(6));
    assert_eq!(
        a.ready(clock.at(10)).next_wakeup,
        Some(clock.at(1000)),
        "the in-flight batch's delivery timeout is a wake-up"
    );
    assert!(a.expire_in_flight(clock.at(999)).is_empty());
    let expired = a.expire_in_flight(clock.at(1000));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, id);
    assert!(expired[0].ever_sent);
    assert_eq!(expired[0].reason, FailReason::DeliveryTimeout);
    assert!(a.is_expired(id));
    assert!(
        a.expire_in_flight(clock.at(5000)).is_empty(),
        "reported once"
    );
    // Still in flight: it holds its slot (the partition stays muted at 1 in flight) and its
    // memory until its request is answered.
    assert_eq!(a.in_flight_count(&tp(0)), 1);
    assert!(a.ready(clock.at(1000)).ready_partitions.is_empty());
    a.complete(id).unwrap();
    assert!(!a.is_expired(id));
    assert_eq!(a.in_flight_count(&tp(0)), 0);
    assert_eq!(a.ready(clock.at(1000)).ready_partitions, vec![tp(0)]);
}

#[test]
fn a_held_partition_is_not_drained_until_released() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    a.hold(&tp(0));
    assert!(a.ready(clock.at(10_000)).ready_partitions.is_empty());
    a.release(&tp(0));
    assert_eq!(a.ready(clock.at(10_000)).ready_partitions, vec![tp(0)]);
}

#[test]
fn abort_all_returns_every_batch() {
    let clock = Clock::new();
    let (mut a, sent) = one_in_flight_two_queued(&clock);

    let aborted = a.abort_all();
    assert_eq!(aborted.len(), 3);
    assert!(aborted.iter().all(|b| b.reason == FailReason::Aborted));
    assert_eq!(aborted.iter().map(|b| b.record_count).sum::<i32>(), 3);
    assert!(!a.has_incomplete());
    assert_eq!(a.memory_used(), 0);
    assert_eq!(a.complete(sent), Err(BatchError::NotInFlight(sent)));
    assert_eq!(
        a.append(&tp(0), 0, None, None, &[], clock.at(7)),
        Err(AppendError::Closed)
    );
}

#[test]
fn abort_queued_keeps_in_flight_batches_and_appends() {
    let clock = Clock::new();
    let (mut a, sent) = one_in_flight_two_queued(&clock);

    let aborted = a.abort_queued();
    assert_eq!(aborted.len(), 2);
    assert!(
        aborted
            .iter()
            .all(|b| b.reason == FailReason::Aborted && !b.ever_sent)
    );
    assert!(a.has_in_flight());
    assert_eq!(a.queued_count(&tp(0)), 0);
    // The in-flight batch still gets its answer, and the producer keeps taking records.
    a.complete(sent).unwrap();
    assert!(!a.has_incomplete());
    assert_eq!(a.memory_used(), 0);
    put(&mut a, 0, 4, 10, clock.at(7));
    assert_eq!(a.queued_count(&tp(0)), 1);
}

/// An accumulator with one batch of partition 0 in flight (returned) and one more batch queued
/// on each of partitions 0 and 1.
fn one_in_flight_two_queued(clock: &Clock) -> (RecordAccumulator, BatchId) {
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    let sent = pump(&mut a, clock.at(5)).by_leader[&0][0].id;
    put(&mut a, 0, 2, 10, clock.at(6));
    put(&mut a, 1, 3, 10, clock.at(6));
    (a, sent)
}
