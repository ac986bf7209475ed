//! Retries: back to the head, in order, after an exponential backoff.

use ferrokafka_accumulator::Retry;
use ferrokafka_records::ProducerStamp;
use ferrokafka_wire::ErrorCode;

use crate::util::{Clock, acc, config, ids, ms, pump, put, tp};

#[test]
fn retried_batch_goes_back_to_the_head_after_its_backoff() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    let first = pump(&mut a, clock.at(5));
    let a_id = first.by_leader[&0][0].id;

    // A newer batch arrives while the first is in flight.
    put(&mut a, 0, 2, 10, clock.at(6));
    // The first fails retriably at t=10: back at the head, backing off 100 ms.
    assert_eq!(a.reenqueue(a_id, clock.at(10)).unwrap(), clock.at(110));
    assert_eq!(a.queued_count(&tp(0)), 2);

    // t=50: the head backs off, so the partition is not ready although the newer batch lingered;
    // the wake-up is the end of the backoff.
    let check = a.ready(clock.at(50));
    assert!(check.ready_partitions.is_empty());
    assert_eq!(check.next_wakeup, Some(clock.at(110)));
    assert_eq!(
        a.drain(
            &[tp(0)],
            |_| Some(0),
            10_000,
            clock.at(50),
            |_| ProducerStamp::NONE
        )
        .batch_count(),
        0,
        "drain re-checks the backoff"
    );

    // t=110: the retried batch goes first, then the newer one.
    let again = pump(&mut a, clock.at(110));
    assert_eq!(again.by_leader[&0][0].id, a_id);
    assert_eq!(ids(&again.by_leader[&0][0].bytes), vec![1]);
    let next = pump(&mut a, clock.at(110));
    assert_eq!(ids(&next.by_leader[&0][0].bytes), vec![2]);
}

#[test]
fn backoff_is_exponential_and_capped() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    let mut t = 5;
    let mut waits = Vec::new();
    for _ in 0..6 {
        let d = pump(&mut a, clock.at(t));
        let id = d.by_leader[&0][0].id;
        let until = a.reenqueue(id, clock.at(t)).unwrap();
        waits.push(until.duration_since(clock.at(t)));
        t += 2000;
    }
    assert_eq!(
        waits,
        vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
    // A caller-drawn jitter sample scales it by up to ±20 %.
    let d = pump(&mut a, clock.at(t));
    let id = d.by_leader[&0][0].id;
    let retry = Retry::after(ErrorCode::NOT_LEADER_OR_FOLLOWER, false, -1.0);
    let until = a.retry(id, retry, clock.at(t)).unwrap();
    assert_eq!(until.duration_since(clock.at(t)), ms(800));
}

#[test]
fn a_retried_batch_remembers_its_last_error_and_whether_it_may_be_written() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    a.begin_flush();
    let d = pump(&mut a, clock.at(0));
    let id = d.by_leader[&0][0].id;
    let lost = Retry::after(ErrorCode::NETWORK_EXCEPTION, true, 0.0);
    a.retry(id, lost, clock.at(1)).unwrap();
    assert!(a.maybe_written(id), "a queued retry keeps the mark");
    let d = pump(&mut a, clock.at(10_000));
    assert_eq!(d.by_leader[&0][0].attempts, 1);
    let refused = Retry::after(ErrorCode::NOT_ENOUGH_REPLICAS, false, 0.0);
    a.retry(id, refused, clock.at(10_001)).unwrap();
    let expired = a.expire(clock.at(0) + config().delivery_timeout);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].attempts, 2);
    assert_eq!(expired[0].last_error, Some(ErrorCode::NOT_ENOUGH_REPLICAS));
    assert!(
        expired[0].maybe_written,
        "a later refusal does not clear an earlier attempt's mark"
    );
}

#[test]
fn several_retried_batches_return_in_order() {
    let clock = Clock::new();
    let mut a = acc(config());
    let mut sent = Vec::new();
    for n in 0..3u64 {
        let t = n * 10;
        put(&mut a, 0, n, 10, clock.at(t));
        let d = pump(&mut a, clock.at(t + 5));
        sent.push(d.by_leader[&0][0].id);
    }
    put(&mut a, 0, 99, 10, clock.at(40));
    // Answers arrive out of order: the third, then the first, then the second.
    for i in [2, 0, 1] {
        a.reenqueue(sent[i], clock.at(50)).unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        let d = pump(&mut a, clock.at(200));
        let b = &d.by_leader[&0][0];
        order.extend(ids(&b.bytes));
        a.complete(b.id).unwrap();
    }
    assert_eq!(order, vec![0, 1, 2, 99]);
    assert!(!a.has_incomplete());
}

#[test]
fn answers_for_unknown_batches_are_refused() {
    let clock = Clock::new();
    let mut a = acc(config());
    let r = put(&mut a, 0, 1, 10, clock.at(0));
    let id = r.handle.batch;
    // Queued, not in flight.
    assert!(matches!(
        a.complete(id),
        Err(ferrokafka_accumulator::BatchError::NotInFlight(x)) if x == id
    ));
    pump(&mut a, clock.at(5));
    a.complete(id).unwrap();
    // A second answer for the same batch is refused too.
    assert!(a.fail(id).is_err());
    assert!(a.reenqueue(id, clock.at(6)).is_err());
}

#[test]
fn a_resent_batch_waits_until_it_is_the_only_one_in_flight() {
    let clock = Clock::new();
    let mut a = acc(config()); // max.in.flight 5
    put(&mut a, 0, 1, 10, clock.at(0));
    let first = pump(&mut a, clock.at(5)).by_leader[&0][0].id;
    put(&mut a, 0, 2, 10, clock.at(6));
    let second = pump(&mut a, clock.at(11)).by_leader[&0][0].id;
    assert_eq!(a.in_flight_count(&tp(0)), 2);

    // The first fails retriably; the second is still in flight.
    a.reenqueue(first, clock.at(12)).unwrap();
    // After the backoff the retry still waits: the second is unanswered.
    assert!(a.ready(clock.at(500)).ready_partitions.is_empty());
    assert_eq!(pump(&mut a, clock.at(500)).batch_count(), 0);

    // The second comes back too (out of sequence behind the failed first): both queue in order.
    a.reenqueue(second, clock.at(501)).unwrap();
    let d = pump(&mut a, clock.at(700));
    assert_eq!(d.by_leader[&0][0].id, first);
    // The second, also a resent batch, waits for the first's answer.
    assert_eq!(pump(&mut a, clock.at(700)).batch_count(), 0);
    a.complete(first).unwrap();
    let d = pump(&mut a, clock.at(700));
    assert_eq!(d.by_leader[&0][0].id, second);
    assert_eq!(ids(&d.by_leader[&0][0].bytes), vec![2]);
}
