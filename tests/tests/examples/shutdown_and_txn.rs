//! `consume_transform_produce` (exactly once, offsets committed with the transactions) and
//! `graceful_shutdown` (stopping by itself, on Ctrl-C and on SIGTERM).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use ferrokafka_tests::consume::Isolation;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::running::{Finished, Running, broker_with};
use crate::{WAIT, delivered, header, matched, read, text};

/// The group's committed offsets of `partitions` of `topic`, read by librdkafka (OffsetFetch).
fn group_offsets(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for partition in 0..partitions {
        tpl.add_partition(topic, partition);
    }
    consumer
        .committed_offsets(tpl, WAIT)
        .expect("committed offsets")
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

#[test]
fn consume_transform_produce() {
    let (input, output, group) = ("examples-ctp-in", "examples-ctp-out", "examples-ctp-group");
    let (_broker, bootstrap) = broker_with(&[(input, 2), (output, 2)]);

    let run = Running::run_ok(
        "consume_transform_produce",
        &bootstrap,
        &[input, output, group],
        &[("TRANSACTIONAL_ID", "examples-ctp")],
    );
    // "committed transaction N: K records; group G offsets TOPIC/P=O ..."
    let commits: Vec<&String> = run
        .stdout
        .iter()
        .filter(|l| l.starts_with("committed transaction "))
        .collect();
    assert_eq!(commits.len(), 3, "{:?}", run.stdout);
    let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
    for line in &commits {
        let (_, offsets) = line
            .split_once(&format!("; group {group} offsets "))
            .unwrap_or_else(|| panic!("{line}"));
        for offset in offsets.split_whitespace() {
            let (tp, o) = offset.rsplit_once('=').expect("TOPIC/P=O");
            let (topic, partition) = tp.rsplit_once('/').expect("TOPIC/P");
            assert_eq!(topic, input);
            let (p, o): (i32, i64) = (partition.parse().unwrap(), o.parse().unwrap());
            let previous = committed.insert(p, o);
            assert!(
                previous.is_none_or(|prev| prev < o),
                "offsets go forward: {line}"
            );
        }
    }
    assert_eq!(run.line("3 transactions"), "3 transactions committed");

    // Committed: a read_committed consumer sees every output record (and reports them).
    let reports = delivered(&run.stdout);
    let records = read(&bootstrap, output, reports.len(), Isolation::ReadCommitted);
    let mut sources = BTreeSet::new();
    for (record, report) in records.iter().zip(matched(&records, &reports, output)) {
        let value = text(record.value.as_ref());
        assert!(
            !value.is_empty() && value == value.to_uppercase(),
            "{value}"
        );
        let source = header(record, "source").expect("source header");
        assert!(sources.insert(source.to_owned()), "{source} twice");
        assert!(!report.key.is_empty());
    }
    // Exactly once: the output holds one record per input offset below the committed ones.
    let expected: BTreeSet<String> = committed
        .iter()
        .flat_map(|(p, &next)| (0..next).map(move |o| format!("{input}/{p}@{o}")))
        .collect();
    assert_eq!(sources, expected);
    // And the group's offsets were committed with the transactions.
    assert_eq!(group_offsets(&bootstrap, group, input, 2), committed);
}

/// Checks a finished `graceful_shutdown` run: stopped for `reason`, every record sent was
/// delivered and reads back.
fn check_shutdown(run: &Finished, reason: &str, bootstrap: &str, topic: &str) {
    run.assert_success("graceful_shutdown");
    let stopping = run.line("stopping (");
    assert!(
        stopping.starts_with(&format!("stopping ({reason}): ")),
        "{stopping}"
    );
    let reports = delivered(&run.stdout);
    let sent = reports.len();
    assert!(sent > 0);
    assert_eq!(
        run.line(&format!("{sent} records sent,")),
        format!("{sent} records sent, {sent} delivered, 0 failed")
    );
    let records = read(bootstrap, topic, sent, Isolation::ReadUncommitted);
    for (record, report) in records.iter().zip(matched(&records, &reports, topic)) {
        let n = report.key.strip_prefix("tick-").expect("tick-N");
        assert_eq!(text(record.value.as_ref()), format!("tick {n}"));
    }
    // Sent in order, one partition (keys differ, but the order of the ticks is the point).
    let keys: Vec<String> = records
        .iter()
        .map(|r| text(r.key.as_ref()).to_owned())
        .collect();
    let expected: Vec<String> = (0..sent).map(|i| format!("tick-{i}")).collect();
    assert_eq!(keys, expected);
}

#[test]
fn graceful_shutdown_stops_by_itself_after_max_records() {
    let topic = "examples-shutdown-max";
    let (_broker, bootstrap) = broker_with(&[(topic, 1)]);

    let run = Running::run(
        "graceful_shutdown",
        &bootstrap,
        &[topic],
        &[("MAX_RECORDS", "15"), ("INTERVAL_MS", "10")],
    );
    check_shutdown(&run, "MAX_RECORDS reached", &bootstrap, topic);
    assert_eq!(delivered(&run.stdout).len(), 15);
}

/// Sends `signal` to the running example once it has delivered a few records.
#[cfg(unix)]
fn graceful_shutdown_on(signal: &str, reason: &str, topic: &str) {
    let (_broker, bootstrap) = broker_with(&[(topic, 1)]);

    // MAX_RECORDS only as a backstop: the signal stops it long before.
    let mut running = Running::start(
        "graceful_shutdown",
        &bootstrap,
        &[topic],
        &[("MAX_RECORDS", "100000"), ("INTERVAL_MS", "10")],
    );
    // The handlers are installed before the first record is sent.
    running.wait_for_lines("delivered ", 5);
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &running.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal}: {status}");
    let run = running.finish();
    check_shutdown(&run, reason, &bootstrap, topic);
}

#[cfg(unix)]
#[test]
fn graceful_shutdown_on_ctrl_c() {
    graceful_shutdown_on("INT", "Ctrl-C", "examples-shutdown-int");
}

#[cfg(unix)]
#[test]
fn graceful_shutdown_on_sigterm() {
    graceful_shutdown_on("TERM", "SIGTERM", "examples-shutdown-term");
}
