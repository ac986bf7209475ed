//! Draining: grouping by leader, max.request.size, in-flight limits, stamping at drain.

use std::collections::HashMap;

use ferrokafka_records::ProducerStamp;

use crate::util::{Clock, acc, config, ids, put, tp};

#[test]
fn drain_groups_by_leader_and_skips_unknown_leaders() {
    let clock = Clock::new();
    let mut a = acc(config());
    for p in 0..4 {
        put(&mut a, p, p as u64, 10, clock.at(0));
    }
    let leaders: HashMap<_, _> = [(tp(0), 7), (tp(1), 7), (tp(2), 8)].into_iter().collect();
    let ready = a.ready(clock.at(5));
    assert_eq!(ready.ready_partitions.len(), 4);
    let drained = a.drain(
        &ready.ready_partitions,
        |tp| leaders.get(tp).copied(),
        10_000,
        clock.at(5),
        |_| ProducerStamp::NONE,
    );
    let mut per_node: Vec<(i32, Vec<i32>)> = drained
        .by_leader
        .iter()
        .map(|(n, bs)| (*n, bs.iter().map(|b| b.tp.partition).collect()))
        .collect();
    for (_, ps) in &mut per_node {
        ps.sort_unstable();
    }
    assert_eq!(per_node, vec![(7, vec![0, 1]), (8, vec![2])]);
    // Partition 3 has no known leader: still queued.
    assert_eq!(a.queued_count(&tp(3)), 1);
    assert_eq!(a.in_flight_count(&tp(0)), 1);
}

#[test]
fn drain_respects_max_request_size_but_always_takes_one() {
    let clock = Clock::new();
    let mut a = acc(config());
    // Three partitions on one leader, each batch ~ 61 + 310 bytes.
    for p in 0..3 {
        put(&mut a, p * 2, p as u64, 300, clock.at(0));
    }
    let ready = a.ready(clock.at(5)).ready_partitions;
    let drained = a.drain(
        &ready,
        |_| Some(1),
        800,
        clock.at(5),
        |_| ProducerStamp::NONE,
    );
    let first = &drained.by_leader[&1];
    assert_eq!(first.len(), 2);
    assert!(first.iter().map(|b| b.bytes.len()).sum::<usize>() <= 800);

    // The third alone exceeds a 100-byte request, and is still taken: a request has at least one.
    let ready = a.ready(clock.at(5)).ready_partitions;
    assert_eq!(ready.len(), 1);
    let drained = a.drain(
        &ready,
        |_| Some(1),
        100,
        clock.at(5),
        |_| ProducerStamp::NONE,
    );
    assert_eq!(drained.by_leader[&1].len(), 1);
    assert!(a.ready(clock.at(5)).ready_partitions.is_empty());
}

#[test]
fn in_flight_one_mutes_the_partition_until_answered() {
    let clock = Clock::new();
    let mut c = config();
    c.max_in_flight_per_partition = 1;
    let mut a = acc(c);
    put(&mut a, 0, 1, 10, clock.at(0));
    let ready = a.ready(clock.at(5)).ready_partitions;
    let first = a.drain(
        &ready,
        |_| Some(1),
        10_000,
        clock.at(5),
        |_| ProducerStamp::NONE,
    );
    let id = first.by_leader[&1][0].id;

    put(&mut a, 0, 2, 10, clock.at(6));
    // Lingered, but muted: not ready, and a drain naming it anyway takes nothing.
    assert!(a.ready(clock.at(20)).ready_partitions.is_empty());
    let none = a.drain(
        &[tp(0)],
        |_| Some(1),
        10_000,
        clock.at(20),
        |_| ProducerStamp::NONE,
    );
    assert_eq!(none.batch_count(), 0);

    a.complete(id).unwrap();
    assert_eq!(a.ready(clock.at(20)).ready_partitions, vec![tp(0)]);
    let second = a.drain(
        &[tp(0)],
        |_| Some(1),
        10_000,
        clock.at(20),
        |_| ProducerStamp::NONE,
    );
    assert_eq!(ids(&second.by_leader[&1][0].bytes), vec![2]);
}

#[test]
fn in_flight_two_allows_two_batches_per_partition() {
    let clock = Clock::new();
    let mut c = config();
    c.max_in_flight_per_partition = 2;
    let mut a = acc(c);
    for (n, t) in [(1u64, 0u64), (2, 10), (3, 20)] {
        put(&mut a, 0, n, 10, clock.at(t));
        let ready = a.ready(clock.at(t + 5)).ready_partitions;
        a.drain(
            &ready,
            |_| Some(1),
            10_000,
            clock.at(t + 5),
            |_| ProducerStamp::NONE,
        );
    }
    assert_eq!(a.in_flight_count(&tp(0)), 2);
    assert_eq!(a.queued_count(&tp(0)), 1);
}

#[test]
fn identity_is_stamped_at_drain_and_kept_on_retry() {
    let clock = Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 0, 2, 10, clock.at(0));
    let mut next_sequence = 40;
    let mut seen = Vec::new();
    let mut stamp = |req: &ferrokafka_accumulator::StampRequest<'_>| {
        seen.push((req.record_count, req.previous));
        req.previous.unwrap_or_else(|| {
            let s = ProducerStamp::idempotent(9, 1, next_sequence);
            next_sequence += req.record_count;
            s
        })
    };
    let d = a.drain(&[tp(0)], |_| Some(1), 10_000, clock.at(5), &mut stamp);
    let sent = d.by_leader[&1][0].clone();
    assert_eq!(sent.stamp, ProducerStamp::idempotent(9, 1, 40));
    assert_eq!(sent.bytes[43..51], 9i64.to_be_bytes());

    a.reenqueue(sent.id, clock.at(6)).unwrap();
    let again = a.drain(&[tp(0)], |_| Some(1), 10_000, clock.at(200), &mut stamp);
    let resent = &again.by_leader[&1][0];
    assert_eq!(resent.id, sent.id);
    assert_eq!(resent.bytes, sent.bytes, "same bytes, same sequence");
    assert_eq!(resent.attempts, 1);
    assert_eq!(seen, vec![(2, None), (2, Some(sent.stamp))]);
}

#[test]
fn drain_rotates_so_no_partition_starves() {
    let clock = crate::util::Clock::new();
    let mut c = config();
    c.max_in_flight_per_partition = 5;
    let mut a = acc(c);
    // Partitions 0, 2, 4 on leader 0, each with several full batches; a request fits one batch.
    for round in 0..3u64 {
        for p in [0, 2, 4] {
            for n in 0..4u64 {
                put(&mut a, p, round * 100 + n, 300, clock.at(0));
            }
        }
    }
    let mut order = Vec::new();
    for _ in 0..3 {
        let ready = a.ready(clock.at(0)).ready_partitions;
        assert_eq!(ready.len(), 3);
        let d = a.drain(
            &ready,
            |_| Some(0),
            500,
            clock.at(0),
            |_| ProducerStamp::NONE,
        );
        let sent = &d.by_leader[&0];
        assert_eq!(sent.len(), 1);
        order.push(sent[0].tp.partition);
    }
    order.sort_unstable();
    assert_eq!(order, vec![0, 2, 4]);
}

#[test]
fn compressed_batches_drain_with_their_records_and_headers() {
    use ferrokafka_records::{Compression, CompressionType, Header};
    let clock = crate::util::Clock::new();
    let mut c = config();
    c.compression = Compression::of(CompressionType::Gzip);
    let mut a = acc(c);
    let headers = [Header::new("h", Some(&b"v"[..]))];
    for id in 0..5u64 {
        let v = crate::util::value(id, 100);
        a.append(
            &tp(0),
            1_000 + id as i64,
            Some(b"k"),
            Some(&v),
            &headers,
            clock.at(0),
        )
        .unwrap();
    }
    let d = crate::util::pump(&mut a, clock.at(5));
    let b = &d.by_leader[&0][0];
    assert!(b.bytes.len() < 5 * 100, "gzip shrank the repetitive values");
    assert_eq!(ids(&b.bytes), vec![0, 1, 2, 3, 4]);
    let batch = ferrokafka_records::batches(&b.bytes, Default::default())
        .next()
        .unwrap()
        .unwrap();
    let first = batch.records().next().unwrap().unwrap();
    assert_eq!(first.key, Some(&b"k"[..]));
    assert_eq!(first.timestamp, 1_000);
    assert_eq!(first.headers.iter().count(), 1);
}

#[test]
fn a_deferred_stamp_leaves_the_batch_queued() {
    let clock = crate::util::Clock::new();
    let mut a = acc(config());
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 1, 2, 10, clock.at(0));
    let d = a.drain_deferrable(
        &[tp(0), tp(1)],
        |_| Some(1),
        10_000,
        clock.at(5),
        |req| (req.tp.partition == 1).then_some(ProducerStamp::NONE),
    );
    let sent: Vec<i32> = d.by_leader[&1].iter().map(|b| b.tp.partition).collect();
    assert_eq!(sent, vec![1]);
    // Partition 0's batch is still queued, not in flight, and drains later.
    assert_eq!(a.queued_count(&tp(0)), 1);
    assert_eq!(a.in_flight_count(&tp(0)), 0);
    let later = a.drain(
        &[tp(0)],
        |_| Some(1),
        10_000,
        clock.at(6),
        |_| ProducerStamp::NONE,
    );
    assert_eq!(later.by_leader[&1][0].tp, tp(0));
}

/// `ready_slots` names by queue slot what `ready` names by partition (partitions made in any
/// order come out in partition order), its lists are refilled rather than appended to, and
/// draining by slot (a slot named twice, ready and lingering, taken once) takes the batches
/// draining by partition would.
#[test]
fn ready_and_drain_by_slot_match_ready_and_drain_by_partition() {
    use ferrokafka_accumulator::ReadySlots;
    let clock = Clock::new();
    let mut c = config();
    c.linger = std::time::Duration::from_millis(10);
    let mut a = acc(c);
    // Partitions 3 and 1 at 0 ms, 2 and 0 at 6 ms: at 12 ms the first two are ready, the
    // others still lingering.
    for (p, at) in [(3, 0), (1, 0), (2, 6), (0, 6)] {
        put(&mut a, p, p as u64, 10, clock.at(at));
    }
    let now = clock.at(12);
    let by_tp = a.ready(now);
    let mut slots = ReadySlots::default();
    // Twice: the second call refills the lists rather than appending to them.
    a.ready_slots(now, &mut slots);
    a.ready_slots(now, &mut slots);
    let names = |list: &[ferrokafka_accumulator::QueueSlot]| -> Vec<i32> {
        list.iter().map(|&s| a.partition_at(s).partition).collect()
    };
    assert_eq!(names(&slots.ready), [1, 3]);
    assert_eq!(names(&slots.lingering), [0, 2]);
    assert_eq!(by_tp.ready_partitions, [tp(1), tp(3)]);
    assert_eq!(by_tp.lingering_partitions, [tp(0), tp(2)]);
    assert_eq!(slots.next_wakeup, by_tp.next_wakeup);
    // Leader 0 for every partition; partition 1 named twice.
    let mut routed: Vec<_> = slots
        .ready
        .iter()
        .chain(&slots.lingering)
        .map(|&s| (s, 0))
        .collect();
    routed.push(routed[0]);
    let drained = a.drain_slots(&routed, 10_000, now, |_| Some(ProducerStamp::NONE));
    let taken: Vec<(i32, Vec<u64>)> = drained.by_leader[&0]
        .iter()
        .map(|b| (b.tp.partition, ids(&b.bytes)))
        .collect();
    let mut partitions: Vec<i32> = taken.iter().map(|(p, _)| *p).collect();
    partitions.sort_unstable();
    assert_eq!(partitions, [0, 1, 2, 3], "each partition once");
    for (p, records) in taken {
        assert_eq!(records, [p as u64]);
        assert_eq!(a.in_flight_count(&tp(p)), 1);
    }
}
