//! MESSAGE_TOO_LARGE: splitting keeps order and maps every handle.

use ferrokafka_accumulator::{BatchError, RecordHandle};
use ferrokafka_records::ProducerStamp;

use crate::util::{Clock, acc, config, ids, put, tp};

#[test]
fn split_preserves_order_and_maps_handles() {
    let clock = Clock::new();
    let mut c = config();
    c.batch_size = 5000;
    let mut a = acc(c);
    let handles: Vec<RecordHandle> = (0..10)
        .map(|id| put(&mut a, 0, id, 100, clock.at(0)).handle)
        .collect();
    let big = handles[0].batch;
    assert!(handles.iter().all(|h| h.batch == big));
    let d = a.drain(
        &[tp(0)],
        |_| Some(1),
        10_000,
        clock.at(5),
        |_| ProducerStamp::idempotent(3, 0, 100),
    );
    assert_eq!(d.by_leader[&1][0].record_count, 10);
    // A newer batch waits behind it.
    put(&mut a, 0, 10, 100, clock.at(6));

    let outcome = a.split_and_reenqueue(big, 400).unwrap();
    assert!(outcome.parts.len() >= 3);
    assert_eq!(
        outcome.parts.iter().map(|p| p.record_count).sum::<i32>(),
        10
    );
    assert_eq!(a.in_flight_count(&tp(0)), 0);

    // Drain everything; the parts come first, in order, continuing the original sequence.
    let mut seen = Vec::new();
    let mut sequences = Vec::new();
    let mut first_ids = Vec::new();
    for _ in 0..=outcome.parts.len() {
        let d = a.drain(
            &[tp(0)],
            |_| Some(1),
            10_000,
            clock.at(10),
            |req| req.previous.unwrap_or(ProducerStamp::NONE),
        );
        let b = &d.by_leader[&1][0];
        assert!(b.bytes.len() <= 400 || b.record_count == 1);
        first_ids.push(b.id);
        sequences.push(b.stamp.base_sequence);
        seen.extend(ids(&b.bytes));
        a.complete(b.id).unwrap();
    }
    assert_eq!(seen, (0..=10).collect::<Vec<u64>>());
    let part_ids: Vec<_> = outcome.parts.iter().map(|p| p.batch).collect();
    assert_eq!(first_ids[..part_ids.len()], part_ids[..]);
    assert_eq!(sequences[0], 100);
    assert_eq!(
        sequences[1],
        100 + outcome.parts[0].record_count,
        "sequences continue"
    );

    // Every original handle maps to its record's new place, in order.
    let mapped: Vec<RecordHandle> = handles
        .iter()
        .map(|h| outcome.locate(h.index).unwrap())
        .collect();
    let mut sorted = mapped.clone();
    sorted.sort();
    assert_eq!(mapped, sorted);
    assert_eq!(
        mapped[0],
        RecordHandle {
            batch: part_ids[0],
            index: 0
        }
    );
    assert!(outcome.locate(10).is_none());
}

#[test]
fn a_single_record_batch_cannot_be_split() {
    let clock = Clock::new();
    let mut a = acc(config());
    let r = put(&mut a, 0, 1, 500, clock.at(0));
    a.drain(
        &[tp(0)],
        |_| Some(1),
        10_000,
        clock.at(5),
        |_| ProducerStamp::NONE,
    );
    assert_eq!(
        a.split_and_reenqueue(r.handle.batch, 100),
        Err(BatchError::SingleRecord(r.handle.batch))
    );
    // Still in flight: the caller fails it.
    assert_eq!(a.fail(r.handle.batch).unwrap().record_count, 1);
    assert_eq!(a.memory_used(), 0);
}
