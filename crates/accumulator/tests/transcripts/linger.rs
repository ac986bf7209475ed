//! When a partition becomes ready: linger, size, flush, close.

use ferrokafka_accumulator::{BatchId, FlushId, RecordAccumulator};

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
fn linger_slack_makes_a_batch_ready_that_much_sooner_up_to_half_the_linger() {
    let clock = Clock::new();
    let mut c = config();
    c.linger_slack = ms(1);
    let mut a = acc(c.clone());
    put(&mut a, 0, 1, 10, clock.at(0));
    // linger.ms 5, slack 1: woken at 4 and ready then, not before.
    assert_eq!(a.ready(clock.at(0)).next_wakeup, Some(clock.at(4)));
    assert!(a.ready(clock.at(3)).ready_partitions.is_empty());
    assert_eq!(a.ready(clock.at(4)).ready_partitions, vec![tp(0)]);

    // linger.ms 2: the slack is capped at half of it, so ready at 1.
    c.linger = ms(2);
    let mut a = acc(c);
    put(&mut a, 0, 1, 10, clock.at(0));
    assert_eq!(a.ready(clock.at(0)).next_wakeup, Some(clock.at(1)));
    assert!(a.ready(clock.at(0)).ready_partitions.is_empty());
    assert_eq!(a.ready(clock.at(1)).ready_partitions, vec![tp(0)]);
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
fn only_the_append_that_makes_the_head_sendable_says_it_became_full() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(10_000);
    let mut a = acc(c);
    // 300-byte values, three to a batch (batch.size 1000): records 3 and 6 open the second and
    // third batches. Only record 3 changes the head from lingering to sendable.
    let results: Vec<_> = (0..8)
        .map(|id| put(&mut a, 0, id, 300, clock.at(0)))
        .collect();
    let became: Vec<bool> = results.iter().map(|r| r.became_full).collect();
    assert_eq!(
        became,
        vec![false, false, false, true, false, false, false, false]
    );
    // Java's batchIsFull stays true from record 3 on.
    let full: Vec<bool> = results.iter().map(|r| r.batch_is_full).collect();
    assert_eq!(
        full,
        vec![false, false, false, true, true, true, true, true]
    );
    assert_eq!(a.ready(clock.at(0)).ready_partitions, vec![tp(0)]);

    // The head goes; two batches are left (the second is sendable because the third waits
    // behind it), so more records change nothing. Once the queue is down to one open batch,
    // the record that fills it is the one that makes it sendable.
    assert_eq!(pump(&mut a, clock.at(0)).batch_count(), 1);
    assert!(!put(&mut a, 0, 8, 300, clock.at(0)).became_full);
    assert_eq!(pump(&mut a, clock.at(0)).batch_count(), 1);
    assert_eq!(a.queued_count(&tp(0)), 1);
    assert!(
        a.ready(clock.at(0)).ready_partitions.is_empty(),
        "3 records: not full"
    );
    let r = put(&mut a, 0, 9, 300, clock.at(0));
    assert!(r.new_batch_created && r.became_full);
}

#[test]
fn a_record_of_batch_size_alone_becomes_full_at_once() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(10_000);
    let mut a = acc(c);
    let r = put(&mut a, 0, 1, 1000, clock.at(0));
    assert!(r.new_batch_created && r.batch_is_full && r.became_full);
    assert_eq!(a.ready(clock.at(0)).ready_partitions, vec![tp(0)]);
}

#[test]
fn flush_makes_everything_ready_until_done() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 1, 2, 10, clock.at(0));
    assert!(a.ready(clock.at(1)).ready_partitions.is_empty());

    let flush = a.begin_flush();
    assert!(a.flush_in_progress());
    assert_eq!(a.ready(clock.at(1)).ready_partitions, vec![tp(0), tp(1)]);
    a.end_flush(flush);
    assert!(a.ready(clock.at(1)).ready_partitions.is_empty());
}

#[test]
fn a_flush_waits_for_the_batches_that_existed_when_it_began() {
    let clock = Clock::new();
    let (mut a, flush, sent) = flushing_two_sent(&clock);
    assert_eq!(sent.len(), 2);
    // A batch created after the flush began is not waited for.
    put(&mut a, 2, 3, 10, clock.at(2));
    a.complete(sent[0]).unwrap();
    assert!(!a.flush_finished(flush), "one batch is still in flight");
    // A retried batch is still waited for.
    a.reenqueue(sent[1], clock.at(3)).unwrap();
    assert!(
        !a.flush_finished(flush),
        "the retried batch is queued again"
    );
    let d = pump(&mut a, clock.at(10_000));
    let again = d.by_leader.values().flatten().find(|b| b.id == sent[1]);
    assert!(again.is_some(), "the retried batch is drained again");
    a.fail(sent[1]).unwrap();
    assert!(a.flush_finished(flush), "both batches are finished");
    assert!(!a.flush_in_progress(), "a finished flush ends");
    assert!(a.has_incomplete(), "the later batch is still there");
}

#[test]
fn a_flush_ends_when_its_batches_expire_even_in_flight() {
    let clock = Clock::new();
    let (mut a, flush, sent) = flushing_two_sent(&clock);
    a.reenqueue(sent[0], clock.at(2)).unwrap();
    let timeout = config().delivery_timeout;
    let late = clock.at(0) + timeout;
    assert_eq!(a.expire(late).len(), 1, "the queued retry expires");
    assert!(
        !a.flush_finished(flush),
        "the other batch's request is still out"
    );
    assert_eq!(a.expire_in_flight(late).len(), 1);
    assert!(
        a.flush_finished(flush),
        "an in-flight batch whose records failed is not waited for"
    );
    assert!(a.has_in_flight(), "its request is still out");
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

/// Two one-record batches (partitions 0 and 1), a flush begun, both drained: the accumulator,
/// the flush and the batches in flight.
fn flushing_two_sent(clock: &Clock) -> (RecordAccumulator, FlushId, Vec<BatchId>) {
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 1, 2, 10, clock.at(0));
    let flush = a.begin_flush();
    let d = pump(&mut a, clock.at(1));
    let sent: Vec<_> = d.by_leader.values().flatten().map(|b| b.id).collect();
    (a, flush, sent)
}
