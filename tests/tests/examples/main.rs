//! Runs every example of the facade crate (`crates/ferrokafka/examples/`) the way a user would —
//! its own process, the broker's address in `BOOTSTRAP`, topics as arguments — against a local
//! Tansu broker, checks its exit code and output, and reads back what it wrote with librdkafka
//! (`ferrokafka_tests::consume`), record by record against the delivery reports it printed.
//!
//! The example binaries are built here, once per run of this test binary: `cargo build
//! --workspace --example ...` into this binary's target directory and profile. A test cannot
//! depend on another package's examples, and building makes sure they are not stale. It selects
//! the packages (`--workspace`) and so the features of `cargo test --workspace`, which builds the
//! examples itself: in CI the build is a no-op. (`cargo test -p ferrokafka-tests --test examples`
//! alone resolves features for fewer packages, so its first run builds the examples' dependencies
//! once more, with the workspace's features.)
//!
//! The broker is one Tansu shared by the tests that run at the same time, stopped when the last
//! of them is done (a broker kept in a `static` would outlive this process: nothing drops a
//! static at exit). Each test uses topics of its own.
//!
//! Every wait is bounded; an example that does not finish in time is killed and its output shown.
//!
//! Modules: `running` (building and running the examples, the broker), `sends` (the examples that
//! send and report), `shutdown_and_txn` (consume-transform-produce and graceful shutdown).

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka_tests::consume::{Consumed, Isolation, read_back};

mod running;
mod sends;
mod shutdown_and_txn;

/// Every example in `crates/ferrokafka/examples/`; `every_example_is_run_here` keeps the list
/// complete.
const EXAMPLES: [&str; 6] = [
    "basic_send",
    "json_serializer",
    "callbacks_bounded",
    "consume_transform_produce",
    "custom_partitioner",
    "graceful_shutdown",
];

/// Bound of every wait: an example's run, a line of its output, a read-back.
const WAIT: Duration = Duration::from_secs(60);

/// One `delivered KEY to TOPIC/PARTITION@OFFSET[...]` line of an example.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Delivered {
    key: String,
    topic: String,
    partition: i32,
    offset: i64,
    /// What follows the position (`: JSON` for the JSON example).
    rest: String,
}

fn delivered(stdout: &[String]) -> Vec<Delivered> {
    stdout
        .iter()
        .filter_map(|line| line.strip_prefix("delivered "))
        .map(|line| {
            let parse = || {
                let (key, rest) = line.split_once(" to ")?;
                let (position, rest) = rest.split_once(':').unwrap_or((rest, ""));
                let (topic_partition, offset) = position.rsplit_once('@')?;
                let (topic, partition) = topic_partition.rsplit_once('/')?;
                Some(Delivered {
                    key: key.to_owned(),
                    topic: topic.to_owned(),
                    partition: partition.parse().ok()?,
                    offset: offset.parse().ok()?,
                    rest: rest.trim().to_owned(),
                })
            };
            parse().unwrap_or_else(|| panic!("bad delivery report: delivered {line}"))
        })
        .collect()
}

fn read(bootstrap: &str, topic: &str, expected: usize, isolation: Isolation) -> Vec<Consumed> {
    let records = read_back(bootstrap, topic, expected, WAIT, isolation)
        .unwrap_or_else(|e| panic!("read back {topic}: {e}"));
    assert_eq!(records.len(), expected, "records in {topic}: {records:#?}");
    records
}

fn text(bytes: Option<&Vec<u8>>) -> &str {
    std::str::from_utf8(bytes.expect("not null")).expect("UTF-8")
}

fn header<'a>(record: &'a Consumed, name: &str) -> Option<&'a str> {
    record
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| text(v.as_ref()))
}

/// Checks that every record read back is one the example reported at that partition and
/// offset, with that key, and that every report was read back: returns the reports in the
/// order of `records`.
fn matched<'a>(records: &[Consumed], reports: &'a [Delivered], topic: &str) -> Vec<&'a Delivered> {
    assert_eq!(records.len(), reports.len(), "reported vs read back");
    let by_position: BTreeMap<(i32, i64), &Delivered> = reports
        .iter()
        .map(|d| {
            assert_eq!(d.topic, topic, "{d:?}");
            ((d.partition, d.offset), d)
        })
        .collect();
    assert_eq!(
        by_position.len(),
        reports.len(),
        "two reports of one offset"
    );
    records
        .iter()
        .map(|r| {
            let d = by_position
                .get(&(r.partition, r.offset))
                .unwrap_or_else(|| panic!("{r:?} was read back but not reported"));
            assert_eq!(
                text(r.key.as_ref()),
                d.key,
                "key at {}@{}",
                r.partition,
                r.offset
            );
            *d
        })
        .collect()
}
