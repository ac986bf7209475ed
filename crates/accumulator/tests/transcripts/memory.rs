//! buffer.memory blocks and frees; oversized records are refused.

use ferrokafka_accumulator::{AppendError, RecordAccumulator};

use crate::util::{Clock, acc, config, drain_and_answer_all, ids, ms, pump, put, tp, value};

#[test]
fn memory_budget_blocks_and_frees() {
    let clock = Clock::new();
    let mut c = config();
    c.batch_size = 1000;
    c.buffer_memory = 2000;
    c.linger = ms(1000);
    let mut a = acc(c);
    put(&mut a, 0, 1, 10, clock.at(0));
    put(&mut a, 1, 2, 10, clock.at(0));
    assert_eq!(a.memory_used(), 2000);
    assert!(!a.memory_available(1000));

    // A third partition needs a new batch: refused, nothing appended.
    let err = a
        .append(&tp(2), 0, None, Some(&value(3, 10)), &[], clock.at(1))
        .unwrap_err();
    assert_eq!(err, AppendError::WouldBlock { needed: 1000 });
    assert_eq!(a.queued_count(&tp(2)), 0);
    // Appending to an open batch needs no new memory.
    put(&mut a, 0, 4, 10, clock.at(1));

    // Someone waits for memory: every partition is ready although linger.ms has not passed.
    assert!(a.memory_exhausted());
    assert_eq!(a.ready(clock.at(1)).ready_partitions, vec![tp(0), tp(1)]);
    let d = pump(&mut a, clock.at(1));
    assert!(!a.poll_memory_freed(), "draining frees nothing yet");
    let done = d.by_leader[&0][0].id;
    a.complete(done).unwrap();
    assert!(a.poll_memory_freed());
    assert!(!a.poll_memory_freed(), "the signal fires once per release");
    assert!(!a.memory_exhausted());
    assert!(a.memory_available(1000));
    assert_eq!(
        a.append(&tp(2), 0, None, Some(&value(3, 10)), &[], clock.at(2))
            .map(|r| r.new_batch_created),
        Ok(true)
    );
}

#[test]
fn records_over_max_request_size_are_refused() {
    let clock = Clock::new();
    let mut a = acc(config());
    let err = a
        .append(&tp(0), 0, None, Some(&vec![0u8; 20_000]), &[], clock.at(0))
        .unwrap_err();
    assert!(matches!(
        err,
        AppendError::RecordTooLarge {
            limit: 10_000,
            setting: "max.request.size",
            ..
        }
    ));
    assert!(err.to_string().contains("max.request.size"));
    assert!(!a.has_incomplete());

    let mut c = config();
    c.buffer_memory = 5000;
    let mut a = acc(c);
    let err = a
        .append(&tp(0), 0, None, Some(&vec![0u8; 6000]), &[], clock.at(0))
        .unwrap_err();
    assert!(matches!(
        err,
        AppendError::RecordTooLarge {
            setting: "buffer.memory",
            ..
        }
    ));
}

#[test]
fn a_record_larger_than_batch_size_gets_its_own_batch() {
    let clock = Clock::new();
    let mut a = acc(config());
    let r = put(&mut a, 0, 1, 3000, clock.at(0));
    assert!(r.new_batch_created);
    assert!(r.batch_is_full);
    // It reserved its own size, not just batch.size.
    assert!(a.memory_used() > 3000);
    let r2 = put(&mut a, 0, 2, 10, clock.at(0));
    assert!(r2.new_batch_created);
}

#[test]
fn batch_size_above_buffer_memory_reserves_at_most_the_budget() {
    let clock = Clock::new();
    let mut c = config();
    c.batch_size = 8000;
    c.buffer_memory = 5000;
    let mut a = acc(c);
    let r = put(&mut a, 0, 1, 10, clock.at(0));
    assert!(r.new_batch_created);
    assert_eq!(a.memory_used(), 5000);
    // The budget is spent: another partition waits until the first batch completes.
    let err = a
        .append(&tp(1), 0, None, Some(&value(2, 10)), &[], clock.at(0))
        .unwrap_err();
    assert_eq!(err, AppendError::WouldBlock { needed: 5000 });
    let id = pump(&mut a, clock.at(0)).by_leader[&0][0].id;
    a.complete(id).unwrap();
    assert_eq!(a.memory_used(), 0);
}

/// A new batch reserves one step of `buffer.memory` (16 KiB, below a larger `batch.size`)
/// and its reservation grows with it: many partitions' small batches fit in a budget that
/// would hold two batches reserved at `batch.size` up front. A record whose growth the
/// budget cannot cover waits, as a new batch would, and makes every batch ready.
#[test]
fn a_batch_reserves_memory_as_it_grows() {
    const STEP: usize = 16 * 1024;
    let clock = Clock::new();
    let mut c = config();
    c.batch_size = 100_000;
    c.buffer_memory = 12 * STEP + 3_000;
    c.max_request_size = 1_000_000;
    c.linger = ms(1000);
    let mut a = acc(c);
    for p in 0..12 {
        let r = put(&mut a, p, u64::try_from(p).unwrap(), 1_000, clock.at(0));
        assert!(r.new_batch_created);
        assert!(!r.batch_is_full);
    }
    assert_eq!(a.memory_used(), 12 * STEP, "one step per batch");
    assert!(!a.memory_exhausted());
    // Partition 0's batch fills its step: the next records grow its reservation by what they
    // need (the budget has 3,000 bytes left, not another step).
    let mut id = 100;
    while a.memory_used() == 12 * STEP {
        put(&mut a, 0, id, 1_000, clock.at(1));
        id += 1;
    }
    let grown = a.memory_used() - 12 * STEP;
    assert!(grown > 0 && grown <= 3_000, "{grown}");
    assert!(!a.memory_exhausted(), "the smaller reservation succeeded");
    // Until the budget cannot cover the next record: it waits, nothing is appended.
    let err = loop {
        match a.append(&tp(0), 0, None, Some(&value(id, 1_000)), &[], clock.at(1)) {
            Ok(r) => assert!(!r.new_batch_created, "the open batch takes it"),
            Err(e) => break e,
        }
        id += 1;
    };
    assert!(
        matches!(err, AppendError::WouldBlock { needed } if needed > 0 && needed < 2_000),
        "{err:?}"
    );
    assert!(a.memory_exhausted());
    assert_eq!(
        a.ready(clock.at(1)).ready_partitions.len(),
        12,
        "someone waits for memory: every partition is ready"
    );
    // Draining and completing partition 0's batch gives back all it reserved.
    let used = a.memory_used();
    let d = pump(&mut a, clock.at(1));
    let first = d.by_leader[&0]
        .iter()
        .find(|b| b.tp == tp(0))
        .expect("partition 0 drained")
        .id;
    a.complete(first).unwrap();
    assert!(
        a.memory_used() <= used - STEP - grown,
        "{}",
        a.memory_used()
    );
    assert!(!a.memory_exhausted());
    put(&mut a, 0, id, 1_000, clock.at(2));
}

/// A partition's later batch reserves twice what its last batch held (at most the 16 KiB
/// step), not a whole step: partitions whose batches stay small leave the budget to records
/// rather than to unused steps. Its reservation still grows as the batch does.
#[test]
fn a_later_batch_reserves_twice_what_its_partitions_last_batch_held() {
    const STEP: usize = 16 * 1024;
    const PARTITIONS: i32 = 8;
    let clock = Clock::new();
    let mut c = config();
    c.batch_size = 100_000;
    c.buffer_memory = 8 * STEP + 16 * 1024;
    c.max_request_size = 1_000_000;
    c.linger = ms(10);
    let mut a = acc(c);
    let mut id = 0;
    for p in 0..PARTITIONS {
        for _ in 0..4 {
            put(&mut a, p, id, 100, clock.at(0));
            id += 1;
        }
    }
    assert_eq!(
        a.memory_used(),
        8 * STEP,
        "a partition's first batch takes a step"
    );
    // All eight go out and stay in flight, holding their steps.
    let drained = pump(&mut a, clock.at(10));
    let mut held: Vec<(i32, usize)> = drained
        .by_leader
        .values()
        .flatten()
        .map(|b| (b.tp.partition, b.bytes.len()))
        .collect();
    held.sort_unstable();
    assert_eq!(held.len(), 8);
    // Each partition's next batch reserves its last batch and a quarter: all eight fit in the 16 KiB
    // left, where a step each would have found the budget spent after the first.
    let mut expected = 8 * STEP;
    for &(p, len) in &held {
        let r = put(&mut a, p, id, 100, clock.at(11));
        id += 1;
        assert!(r.new_batch_created);
        expected += 2 * len;
        assert!(2 * len < STEP / 8, "{len}");
        assert_eq!(a.memory_used(), expected, "partition {p}");
    }
    assert!(!a.memory_exhausted());
    // A batch that outgrows its reservation grows it (doubled) while the budget lasts.
    let before = a.memory_used();
    for _ in 0..20 {
        let r = put(&mut a, 0, id, 100, clock.at(11));
        id += 1;
        assert!(!r.new_batch_created, "the open batch takes it");
    }
    let grown = a.memory_used() - before;
    assert!(grown >= 2 * held[0].1, "{grown}");
    assert!(a.memory_used() <= 8 * STEP + 16 * 1024);
    // Completing the first batches gives their steps back.
    for b in drained.by_leader.values().flatten() {
        a.complete(b.id).unwrap();
    }
    assert_eq!(a.memory_used(), expected - 8 * STEP + grown);
}

/// An answered batch's buffer serves a later batch once nothing else holds it. A large one
/// (64 KiB or more) answered while the request that carried it still holds it (the answer can
/// come before the writer lets go of the bytes) is not reused at once: the new batch gets its
/// own, and the buffer is kept at a later answer, once the request let go of it. A batch that
/// does not find one then looks again. (A small one is left to the allocator.)
#[test]
fn an_answered_large_batchs_buffer_is_kept_once_the_request_let_go_of_it() {
    let clock = Clock::new();
    let large = || {
        let mut c = config();
        c.linger = ms(0);
        c.batch_size = 200_000;
        c.buffer_memory = 10_000_000;
        c.max_request_size = 1_000_000;
        c
    };
    let mut a = acc(large());
    // Batches of one 70,000-byte record: buffers over 64 KiB.
    let send = |a: &mut RecordAccumulator, id: u64, at: u64| {
        put(a, 0, id, 70_000, clock.at(at));
        let drained = pump(a, clock.at(at));
        let b = &drained.by_leader[&0][0];
        (b.id, b.bytes.clone())
    };
    // Answered while the request still holds the bytes: not reused.
    let (first, held) = send(&mut a, 1, 0);
    a.complete(first).unwrap();
    assert_eq!(a.pooled_buffers(), 0, "the request still holds it");
    let (second, bytes) = send(&mut a, 2, 1);
    assert_ne!(bytes.as_ptr(), held.as_ptr(), "both are alive");
    assert_eq!(ids(&bytes), [2]);
    drop(held);
    // The next answer finds the first buffer let go of, and keeps it with its own.
    let second_at = bytes.as_ptr();
    drop(bytes);
    a.complete(second).unwrap();
    assert_eq!(a.pooled_buffers(), 2, "both kept");
    let (third, bytes) = send(&mut a, 3, 2);
    assert_eq!(a.pooled_buffers(), 1, "one taken by the new batch");
    assert_eq!(bytes.as_ptr(), second_at, "the most recently kept");
    assert_eq!(ids(&bytes), [3]);
    drop(bytes);
    a.complete(third).unwrap();
    // Answered while held, let go of before any other answer: a new batch that finds no kept
    // buffer looks again, and takes it.
    let mut a = acc(large());
    let (warm_up, bytes) = send(&mut a, 0, 9);
    drop(bytes);
    a.complete(warm_up).unwrap();
    let (first, held) = send(&mut a, 1, 10);
    let first_at = held.as_ptr();
    a.complete(first).unwrap();
    assert_eq!(a.pooled_buffers(), 0);
    drop(held);
    let (second, bytes) = send(&mut a, 2, 11);
    assert_eq!(bytes.as_ptr(), first_at, "the first batch's buffer");
    assert_eq!(a.pooled_buffers(), 0);
    drop(bytes);
    a.complete(second).unwrap();
    assert_eq!(a.pooled_buffers(), 1);
}

/// With many partitions each lingering a batch of a few records, the answered batches' buffers
/// are kept for the next round of batches (as many as a sixteenth of `buffer.memory` holds),
/// and every kept buffer of the right size serves a new batch; one much larger than new
/// batches need goes when none serves.
#[test]
fn answered_buffers_are_kept_within_the_pools_budget_and_serve_new_batches() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(0);
    let budget = c.buffer_memory / 16;
    let mut a = acc(c);
    let round = |a: &mut RecordAccumulator, first_id: u64, at: u64| {
        for p in 0..40 {
            put(a, p, first_id + p as u64, 100, clock.at(at));
        }
        let drained = pump(a, clock.at(at));
        let mut sent: Vec<_> = drained
            .by_leader
            .values()
            .flatten()
            .map(|b| (b.id, b.bytes.clone()))
            .collect();
        assert_eq!(sent.len(), 40, "one batch per partition");
        sent.sort_by_key(|(_, bytes)| ids(bytes));
        for (i, (_, bytes)) in sent.iter().enumerate() {
            assert_eq!(
                ids(bytes),
                [first_id + i as u64],
                "each batch holds its own record"
            );
        }
        sent
    };
    let answer = |a: &mut RecordAccumulator, sent: Vec<(_, bytes::Bytes)>| {
        let at: std::collections::HashSet<_> =
            sent.iter().map(|(_, bytes)| bytes.as_ptr()).collect();
        for (id, bytes) in sent {
            drop(bytes);
            a.complete(id).unwrap();
        }
        at
    };
    // A partition's first batch has a buffer of a step (batch.size here, 1,000 bytes): six
    // are a sixteenth of buffer.memory.
    let first = round(&mut a, 0, 0);
    answer(&mut a, first);
    assert_eq!(a.pooled_buffers(), 6);
    assert_eq!(a.pooled_capacity(), 6 * 1000);
    // The next batches need twice a one-record batch: the kept buffers are too large for them,
    // and each batch that finds none lets the oldest go.
    let second = round(&mut a, 100, 1);
    assert_eq!(a.pooled_buffers(), 0, "the large ones went");
    let second_at = answer(&mut a, second);
    let kept = a.pooled_buffers();
    assert!(kept > 6, "kept {kept}");
    assert!(a.pooled_capacity() > budget / 2, "{}", a.pooled_capacity());
    assert!(
        a.pooled_capacity() <= budget,
        "{} > {budget}",
        a.pooled_capacity()
    );
    // Each of those serves a batch of the third round (at least those: a buffer that was not
    // kept was freed, and the allocator may hand it out again).
    let third = round(&mut a, 200, 2);
    let reused = third
        .iter()
        .filter(|(_, bytes)| second_at.contains(&bytes.as_ptr()))
        .count();
    assert!(reused >= kept, "{reused} of the {kept} kept buffers reused");
    assert_eq!(a.pooled_buffers(), 0);
}

/// With many partitions lingering a few records each, how many records a partition's batch
/// holds changes from round to round (by two or three times here). Buffers are allocated in
/// size classes, and a kept one from half to twice a batch's class serves it: from the third
/// round on, every batch takes an answered batch's buffer rather than a new one.
#[test]
fn batches_whose_sizes_vary_from_round_to_round_take_kept_buffers() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(0);
    c.batch_size = 100_000;
    c.buffer_memory = 10_000_000;
    c.max_request_size = 10_000_000;
    let mut a = acc(c);
    let partitions = 20;
    let mut next_id = 0u64;
    let mut made = 0u64;
    let mut reused_before = 0;
    for (round, per_partition) in [3usize, 8, 5, 12, 4, 9, 3, 7].into_iter().enumerate() {
        let at = round as u64;
        for p in 0..partitions {
            for _ in 0..per_partition {
                put(&mut a, p, next_id, 100, clock.at(at));
                next_id += 1;
            }
        }
        let ready = a.ready(clock.at(at));
        let drained = a.drain(
            &ready.ready_partitions,
            |tp| Some(tp.partition % 2),
            usize::MAX,
            clock.at(at),
            |_| ferrokafka_records::ProducerStamp::NONE,
        );
        let sent: Vec<_> = drained.by_leader.values().flatten().map(|b| b.id).collect();
        assert_eq!(sent.len(), partitions as usize, "a batch per partition");
        drop(drained);
        for id in sent {
            a.complete(id).unwrap();
        }
        match round {
            // The first batches' buffers are a step each (16 KiB): too large for the second
            // round's, which are allocated in their class.
            1 => reused_before = a.pooled_buffers_reused(),
            2.. => made += partitions as u64,
            0 => {}
        }
    }
    let reused = a.pooled_buffers_reused() - reused_before;
    assert_eq!(
        reused, made,
        "every batch from the third round on took a kept buffer"
    );
}

/// With `buffer.memory` spent on batches (a broker that cannot keep up), answered batches'
/// buffers are not kept: the memory is for batches. Once batches leave room, they are again.
#[test]
fn no_buffer_is_kept_while_batches_hold_nearly_all_of_buffer_memory() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(0);
    c.buffer_memory = 32 * c.batch_size;
    let mut a = acc(c);
    // A batch on each of 32 partitions: each reserves a step of `batch.size`, all of it.
    for p in 0..32 {
        put(&mut a, p, p as u64, 100, clock.at(0));
    }
    let drained = pump(&mut a, clock.at(0));
    let sent: Vec<_> = drained.by_leader.values().flatten().map(|b| b.id).collect();
    assert_eq!(sent.len(), 32);
    drop(drained);
    // The first answer leaves one step free: half of it is less than its buffer.
    a.complete(sent[0]).unwrap();
    assert_eq!(a.pooled_buffers(), 0);
    for id in &sent[1..] {
        a.complete(*id).unwrap();
    }
    assert!(
        a.pooled_buffers() > 0,
        "with room again, answered buffers are kept"
    );
    assert!(a.pooled_capacity() <= a.config().buffer_memory / 16);
}

/// A compressed batch is written to a buffer of its codec's own: the buffer its records were
/// appended to is free once it is closed, and is kept for a later batch then. The codec's output
/// is not kept when the batch is answered (it is sized for the compressed bytes, not records).
#[test]
fn a_compressed_batchs_records_buffer_is_kept_when_it_is_closed_and_its_output_is_not() {
    use ferrokafka_records::{Compression, CompressionType};
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(0);
    c.compression = Compression::of(CompressionType::Gzip);
    let step = c.batch_size;
    let mut a = acc(c);
    put(&mut a, 0, 1, 100, clock.at(0));
    let drained = pump(&mut a, clock.at(0));
    let first = &drained.by_leader[&0][0];
    assert_eq!(ids(&first.bytes), [1]);
    assert_eq!(a.pooled_buffers(), 1, "the records' buffer, free at close");
    assert_eq!(
        a.pooled_capacity(),
        step,
        "a first batch's buffer is one step"
    );
    let (first_id, first_bytes) = (first.id, first.bytes.clone());
    drop(drained);
    drop(first_bytes);
    a.complete(first_id).unwrap();
    assert_eq!(a.pooled_buffers(), 1, "the codec's output is not kept");
    assert_eq!(a.pooled_capacity(), step);
    // A partition's first batch needs a step too: it takes the kept buffer.
    put(&mut a, 1, 2, 100, clock.at(1));
    assert_eq!(a.pooled_buffers(), 0);
    let drained = pump(&mut a, clock.at(1));
    assert_eq!(ids(&drained.by_leader[&1][0].bytes), [2]);
}

/// What a partition's new batch is sized for (the buffer's reservation, `expected_records`)
/// follows its last batch, or half the figure before when the last was under a quarter of it:
/// a sticky partitioner
/// leaves a full batch, then one of a record or two on each partition it moves on from, and
/// the full batch after that small one should not start small and be copied as it grows.
#[test]
fn after_a_small_batch_a_partitions_next_batch_is_sized_for_half_the_larger_one_before() {
    let clock = Clock::new();
    let mut c = config();
    c.batch_size = 100_000;
    c.buffer_memory = 1_000_000;
    c.max_request_size = 1_000_000;
    c.linger = ms(0);
    let mut a = acc(c);
    // Drains partition 0's open batch and completes it; the bytes it built.
    let cycle = |a: &mut RecordAccumulator, at: u64| {
        let drained = pump(a, clock.at(at));
        let batches: Vec<_> = drained.by_leader.values().flatten().collect();
        assert_eq!(batches.len(), 1);
        let len = batches[0].bytes.len();
        a.complete(batches[0].id).unwrap();
        len
    };
    let first = put(&mut a, 0, 0, 100, clock.at(0));
    assert_eq!(first.expected_records, 0, "nothing known of a first batch");
    for id in 1..40 {
        put(&mut a, 0, id, 100, clock.at(0));
    }
    let large = cycle(&mut a, 0);
    let used = a.memory_used();
    let r = put(&mut a, 0, 40, 100, clock.at(1));
    assert!(r.new_batch_created);
    assert_eq!(
        r.expected_records, 50,
        "a quarter more than the last batch's 40"
    );
    assert_eq!(a.memory_used() - used, 2 * large);
    let small = cycle(&mut a, 1);
    assert!(small < large / 10, "{small} {large}");
    // After the one-record batch: half the 40-record batch before it.
    let used = a.memory_used();
    let r = put(&mut a, 0, 41, 100, clock.at(2));
    assert!(r.new_batch_created);
    assert_eq!(r.expected_records, 25, "a quarter more than 20");
    assert_eq!(a.memory_used() - used, 2 * (large / 2));
    assert_eq!(cycle(&mut a, 2), small);
    // Another small one: halved again.
    let used = a.memory_used();
    let r = put(&mut a, 0, 42, 100, clock.at(3));
    assert_eq!(r.expected_records, 12, "a quarter more than 10");
    assert_eq!(a.memory_used() - used, 2 * (large / 4));
    assert_eq!(cycle(&mut a, 3), small);
    // A batch of over a quarter of the figure is taken as it is: three records.
    for id in 43..46 {
        put(&mut a, 0, id, 100, clock.at(4));
    }
    let three = cycle(&mut a, 4);
    assert!(three > large / 16, "{three} {large}");
    let used = a.memory_used();
    let r = put(&mut a, 0, 46, 100, clock.at(5));
    assert_eq!(r.expected_records, 3, "three and a quarter");
    assert_eq!(a.memory_used() - used, 2 * three);
}

/// However small the answered batches' buffers, no more than 1,024 are kept.
#[test]
fn at_most_1024_buffers_are_kept() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(0);
    c.buffer_memory = 64 << 20;
    let mut a = acc(c);
    for p in 0..1100 {
        put(&mut a, p, p as u64, 100, clock.at(0));
    }
    assert_eq!(drain_and_answer_all(&mut a, clock.at(0)), 1100);
    assert_eq!(a.pooled_buffers(), 1024);
    assert!(a.pooled_capacity() < (64 << 20) / 4);
}

/// Large buffers (64 KiB or more) are kept past a sixteenth of `buffer.memory`: up to eight of
/// them, within a quarter of it.
#[test]
fn up_to_eight_large_buffers_are_kept_within_a_quarter_of_buffer_memory() {
    let clock = Clock::new();
    let mut c = config();
    c.linger = ms(0);
    c.batch_size = 200_000;
    c.buffer_memory = 4_000_000;
    c.max_request_size = 1_000_000;
    let mut a = acc(c);
    for p in 0..10 {
        put(&mut a, p, p as u64, 100_000, clock.at(0));
    }
    assert_eq!(drain_and_answer_all(&mut a, clock.at(0)), 10);
    assert_eq!(a.pooled_buffers(), 8, "two are a sixteenth");
    assert!(a.pooled_capacity() <= 4_000_000 / 4);
}
