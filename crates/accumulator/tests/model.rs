//! Property test: random append / ready+drain / complete / fail / reenqueue / split / expire /
//! flush / advance sequences against a model. Every appended record ends completed, failed, or
//! still in exactly one live batch, never twice; drained bytes hold exactly the records the model
//! expects; and with `max.in.flight.requests.per.connection = 1` each partition's drained batches
//! start at its oldest unfinished record, so records go out (and complete) in append order.
//! Each run ends either with `abort_all` (which must hand back every live record) or with `close`
//! and a bounded drain-and-complete loop (which must empty the accumulator: no stuck batch).
//! Lives in `tests/` because it reads the clock once for a base instant.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferrokafka_accumulator::{
    AccumulatorConfig, AppendError, BatchId, Drained, RecordAccumulator, TopicPartition,
};
use ferrokafka_records::{DecodeOptions, ProducerStamp, batches};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append { partition: i32, len: usize },
    Pump,
    Complete(usize),
    Fail(usize),
    Reenqueue(usize),
    Split(usize, usize),
    Advance(u64),
    Expire,
    ToggleFlush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3i32, 8..400usize).prop_map(|(partition, len)| Op::Append { partition, len }),
        3 => Just(Op::Pump),
        2 => any::<usize>().prop_map(Op::Complete),
        1 => any::<usize>().prop_map(Op::Fail),
        2 => any::<usize>().prop_map(Op::Reenqueue),
        1 => (any::<usize>(), 150..900usize).prop_map(|(k, l)| Op::Split(k, l)),
        3 => (0..400u64).prop_map(Op::Advance),
        1 => Just(Op::Expire),
        1 => Just(Op::ToggleFlush),
    ]
}

/// What the test knows independently of the accumulator.
#[derive(Default)]
struct Model {
    next_record: u64,
    /// Records of each live batch, by index.
    batches: HashMap<BatchId, Vec<u64>>,
    partition_of: HashMap<u64, i32>,
    /// Appended and not yet completed or failed, per partition.
    pending: BTreeMap<i32, BTreeSet<u64>>,
    in_flight: BTreeSet<BatchId>,
    completed: BTreeSet<u64>,
    failed: BTreeSet<u64>,
    /// Last completed record per partition (order check).
    last_completed: HashMap<i32, u64>,
    /// Batches that were sent before (retried) or are split parts: resent only alone.
    resent: BTreeSet<BatchId>,
}

impl Model {
    fn finish(&mut self, id: BatchId, ok: bool, ordered: bool) {
        let records = self.batches.remove(&id).expect("live batch");
        self.in_flight.remove(&id);
        for r in records {
            let p = self.partition_of[&r];
            assert!(
                self.pending.get_mut(&p).unwrap().remove(&r),
                "finished twice"
            );
            if ok {
                if ordered {
                    if let Some(last) = self.last_completed.get(&p) {
                        assert!(*last < r, "partition {p} completed {r} after {last}");
                    }
                    self.last_completed.insert(p, r);
                }
                assert!(self.completed.insert(r));
            } else {
                assert!(self.failed.insert(r));
            }
        }
    }

    fn in_flight_in(&self, partition: i32) -> usize {
        self.in_flight
            .iter()
            .filter(|id| self.partition_of[&self.batches[id][0]] == partition)
            .count()
    }

    fn pick(&self, k: usize) -> Option<BatchId> {
        let n = self.in_flight.len();
        (n > 0).then(|| *self.in_flight.iter().nth(k % n).unwrap())
    }
}

fn decode_ids(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    for batch in batches(bytes, DecodeOptions::default()) {
        for r in batch.unwrap().records() {
            let v = r.unwrap().value.unwrap();
            out.push(u64::from_be_bytes(v[..8].try_into().unwrap()));
        }
    }
    out
}

/// How a run ends: abort everything, or close and drain until empty.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Abort,
    CloseAndDrain,
}

fn run(ops: &[Op], max_in_flight: usize, ending: Ending, base: Instant) {
    let mut config = AccumulatorConfig::default();
    config.batch_size = 600;
    config.buffer_memory = 3000;
    config.max_request_size = 5000;
    config.delivery_timeout = Duration::from_secs(2);
    config.max_in_flight_per_partition = max_in_flight;
    let mut acc = RecordAccumulator::new(config).unwrap();
    let ordered = max_in_flight == 1;
    let mut m = Model::default();
    let mut t = 0u64;
    let mut flushing = None;
    for op in ops {
        let now = base + Duration::from_millis(t);
        match op {
            Op::Append { partition, len } => {
                let id = m.next_record;
                let mut v = id.to_be_bytes().to_vec();
                v.resize(*len, 7);
                let tp = TopicPartition::new("t", *partition);
                match acc.append(&tp, t as i64, None, Some(&v), &[], now) {
                    Ok(r) => {
                        let records = m.batches.entry(r.handle.batch).or_default();
                        assert_eq!(r.handle.index as usize, records.len());
                        assert_eq!(r.new_batch_created, records.is_empty());
                        records.push(id);
                        m.partition_of.insert(id, *partition);
                        m.pending.entry(*partition).or_default().insert(id);
                        m.next_record += 1;
                    }
                    Err(AppendError::WouldBlock { .. }) => {}
                    Err(e) => panic!("unexpected append error {e}"),
                }
            }
            Op::Pump => {
                let drained = drain_ready(&mut acc, now);
                assert!(drained.failed.is_empty());
                for b in drained.by_leader.values().flatten() {
                    if m.resent.contains(&b.id) {
                        assert_eq!(m.in_flight_in(b.tp.partition), 0, "resent while others fly");
                    }
                    assert!(m.in_flight_in(b.tp.partition) < max_in_flight);
                    assert!(m.in_flight.insert(b.id), "drained twice");
                    let ids = decode_ids(&b.bytes);
                    assert_eq!(&ids, &m.batches[&b.id], "bytes hold the model's records");
                    if ordered {
                        let oldest = m.pending[&b.tp.partition].first().copied();
                        assert_eq!(ids.first().copied(), oldest, "drained out of order");
                    }
                }
            }
            Op::Complete(k) | Op::Fail(k) => {
                if let Some(id) = m.pick(*k) {
                    let ok = matches!(op, Op::Complete(_));
                    let done = if ok { acc.complete(id) } else { acc.fail(id) }.unwrap();
                    assert_eq!(done.record_count as usize, m.batches[&id].len());
                    m.finish(id, ok, ordered);
                }
            }
            Op::Reenqueue(k) => {
                if let Some(id) = m.pick(*k) {
                    acc.reenqueue(id, now).unwrap();
                    m.in_flight.remove(&id);
                    m.resent.insert(id);
                }
            }
            Op::Split(k, limit) => {
                if let Some(id) = m.pick(*k) {
                    match acc.split_and_reenqueue(id, *limit) {
                        Ok(outcome) => {
                            let records = m.batches.remove(&id).unwrap();
                            m.in_flight.remove(&id);
                            let mut covered = 0;
                            for part in &outcome.parts {
                                let from = part.first_index as usize;
                                let to = from + part.record_count as usize;
                                assert_eq!(from, covered);
                                covered = to;
                                m.batches.insert(part.batch, records[from..to].to_vec());
                                m.resent.insert(part.batch);
                            }
                            assert_eq!(covered, records.len());
                        }
                        Err(ferrokafka_accumulator::BatchError::SingleRecord(_)) => {
                            assert_eq!(m.batches[&id].len(), 1);
                        }
                        Err(e) => panic!("split failed: {e}"),
                    }
                }
            }
            Op::Advance(d) => t += d,
            Op::Expire => {
                for b in acc.expire(now) {
                    assert!(
                        !m.in_flight.contains(&b.id),
                        "in-flight batches never expire"
                    );
                    m.finish(b.id, false, ordered);
                }
            }
            Op::ToggleFlush => {
                flushing = match flushing.take() {
                    Some(id) => {
                        acc.end_flush(id);
                        None
                    }
                    None => Some(acc.begin_flush()),
                };
            }
        }
        // The accumulator's live batches are exactly the model's, with the same sizes.
        let live = acc.batches();
        assert_eq!(live.len(), m.batches.len());
        for b in &live {
            assert_eq!(b.record_count as usize, m.batches[&b.id].len());
            assert_eq!(b.in_flight, m.in_flight.contains(&b.id));
        }
        assert!(acc.memory_used() <= 3000);
    }
    // Every record is in exactly one place.
    let queued: usize = m.batches.values().map(Vec::len).sum();
    assert_eq!(
        queued + m.completed.len() + m.failed.len(),
        m.next_record as usize
    );
    assert!(m.completed.is_disjoint(&m.failed));
    match ending {
        Ending::Abort => {
            // Abort hands back every remaining record.
            let aborted: i32 = acc.abort_all().iter().map(|b| b.record_count).sum();
            assert_eq!(aborted as usize, queued);
        }
        Ending::CloseAndDrain => {
            // Close: everything becomes ready; answering every drained batch with success
            // empties the accumulator within a bounded number of rounds (no stuck batch).
            acc.close();
            let mut rounds = 0;
            while acc.has_incomplete() {
                rounds += 1;
                assert!(rounds <= 1000, "close did not drain the accumulator");
                t += 1000; // past any retry backoff (retry.backoff.max.ms)
                let now = base + Duration::from_millis(t);
                for b in acc.expire(now) {
                    m.finish(b.id, false, ordered);
                }
                for id in std::mem::take(&mut m.in_flight) {
                    acc.complete(id).unwrap();
                    m.in_flight.insert(id);
                    m.finish(id, true, ordered);
                }
                let drained = drain_ready(&mut acc, now);
                for b in drained.by_leader.values().flatten() {
                    assert_eq!(&decode_ids(&b.bytes), &m.batches[&b.id]);
                    m.in_flight.insert(b.id);
                }
            }
            assert!(m.batches.is_empty());
            assert_eq!(
                m.completed.len() + m.failed.len(),
                m.next_record as usize,
                "every record ended completed or failed"
            );
        }
    }
    assert_eq!(acc.memory_used(), 0);
    assert!(!acc.has_incomplete());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_loss_no_duplicates_and_order_with_one_in_flight(
        ops in proptest::collection::vec(op(), 0..80),
        drain_at_end in any::<bool>(),
    ) {
        let ending = if drain_at_end { Ending::CloseAndDrain } else { Ending::Abort };
        run(&ops, 1, ending, Instant::now());
    }

    #[test]
    fn no_loss_no_duplicates_with_several_in_flight(
        ops in proptest::collection::vec(op(), 0..80),
        in_flight in 2..=5usize,
        drain_at_end in any::<bool>(),
    ) {
        let ending = if drain_at_end { Ending::CloseAndDrain } else { Ending::Abort };
        run(&ops, in_flight, ending, Instant::now());
    }
}

/// Drains every ready partition (leaders: partition parity; 2,000-byte requests; no stamps).
fn drain_ready(acc: &mut RecordAccumulator, now: Instant) -> Drained {
    let ready = acc.ready(now);
    acc.drain(
        &ready.ready_partitions,
        |tp| Some(tp.partition % 2),
        2000,
        now,
        |_| ProducerStamp::NONE,
    )
}
