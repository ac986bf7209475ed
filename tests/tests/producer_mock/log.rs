//! What the mock's log holds: read back and compared with what was delivered
//! ([`assert_log_matches`]), and how the producer batched it ([`batches_in_log`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use ferrokafka::RecordMetadata;
use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_tests::data::{
    check_records, index_of_prefix as index_of, indices_by_partition, mismatch,
};
use ferrokafka_tests::producing::assert_at_reported_offsets;
use ferrokafka_tests::raw;

use crate::{Mode, TOPIC, WAIT};

/// What [`assert_log_matches`] requires of the order within a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Send order.
    Send,
    /// Any order (the mock cannot enforce idempotent ordering; see the module docs).
    Any,
}

/// Reads the topic back and checks that it holds exactly the `delivered` records: each once, at
/// the offset its delivery reported, offsets contiguous from 0, no duplicates, no gaps, nothing
/// else, and (with [`Order::Send`]) per partition in send order.
pub(crate) fn assert_log_matches(
    bootstrap: &str,
    delivered: &[(usize, RecordMetadata)],
    order: Order,
) {
    let read = read_back(
        bootstrap,
        TOPIC,
        delivered.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    let mut want: BTreeMap<i32, Vec<Option<usize>>> = BTreeMap::new();
    for (i, md) in delivered {
        assert_eq!(md.topic(), TOPIC);
        want.entry(md.partition()).or_default().push(Some(*i));
    }
    for records in want.values_mut() {
        records.sort_unstable();
    }
    let got_indices = indices_by_partition(&read, index_of);
    let compared = match order {
        Order::Send => got_indices.clone(),
        Order::Any => got_indices
            .iter()
            .map(|(p, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                (*p, v)
            })
            .collect(),
    };
    if compared != want {
        let log = if read.len() <= 200 {
            format!("\n  log: {got_indices:?}")
        } else {
            String::new()
        };
        panic!(
            "the log differs from what was delivered ({order:?} order): {}{log}",
            describe_mismatch(&want, &compared)
        );
    }
    assert_eq!(read.len(), delivered.len(), "records in the log");
    check_records(&read, index_of);
    assert_at_reported_offsets(delivered.iter().map(|(i, md)| (*i, md)), &got_indices);
}

/// A readable account of how `got` differs from `want` (per partition: lengths, duplicates,
/// missing records, the first position that differs).
fn describe_mismatch(
    want: &BTreeMap<i32, Vec<Option<usize>>>,
    got: &BTreeMap<i32, Vec<Option<usize>>>,
) -> String {
    let mut out = String::new();
    let partitions: std::collections::BTreeSet<i32> =
        want.keys().chain(got.keys()).copied().collect();
    let empty = Vec::new();
    for p in partitions {
        let w = want.get(&p).unwrap_or(&empty);
        let g = got.get(&p).unwrap_or(&empty);
        if w == g {
            continue;
        }
        let _ = write!(out, "\n  partition {p}: {}", mismatch(w, g));
    }
    out
}

/// The order a test with injected faults can check: with five requests in flight, the mock
/// appends a request that follows a failed one (Kafka would refuse it as out of sequence).
pub(crate) fn pipelined_order(mode: Mode) -> Order {
    if mode == Mode::Idempotent {
        Order::Any
    } else {
        Order::Send
    }
}

/// The record batches (message sets) of `partition`, as `(base offset, record count)`, read with
/// raw Fetch v4 requests from the broker at `addr` (the leader). The mock answers a Fetch with
/// one message set, exactly as the producer sent it, so this shows how records were batched.
pub(crate) fn batches_in_log(addr: &str, partition: i32) -> Vec<(i64, i32)> {
    let mut batches = Vec::new();
    let mut offset = 0i64;
    for _ in 0..1000 {
        let answer = raw::fetch_v4(
            addr,
            TOPIC,
            partition,
            offset,
            false,
            Duration::from_secs(10),
        );
        assert_eq!(answer.error, 0, "Fetch error code");
        let set = raw::split_batches(&answer.records, &format!("{partition}/"));
        if set.is_empty() {
            return batches;
        }
        for (h, _) in set {
            batches.push((h.base_offset, h.count));
            offset = h.base_offset + i64::from(h.count);
        }
    }
    panic!("more than 1000 Fetch requests for partition {partition}");
}
