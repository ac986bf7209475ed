//! The examples that send records and report their deliveries: `basic_send`, `json_serializer`,
//! `callbacks_bounded`, `custom_partitioner`; and the check that every example is run here.

use std::collections::{BTreeMap, BTreeSet};

use ferrokafka_tests::consume::Isolation;

use crate::running::{Running, broker_with};
use crate::{EXAMPLES, delivered, header, matched, read, text};

#[test]
fn every_example_is_run_here() {
    let dir = ferrokafka_tests::paths::workspace_root().join("crates/ferrokafka/examples");
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = EXAMPLES.iter().map(|&n| n.to_owned()).collect();
    assert_eq!(
        found, listed,
        "examples on disk vs examples run by this test"
    );
}

#[test]
fn basic_send() {
    let topic = "examples-basic-send";
    let (_broker, bootstrap) = broker_with(&[(topic, 3)]);

    let run = Running::run_ok("basic_send", &bootstrap, &[topic, "20"], &[]);
    let reports = delivered(&run.stdout);
    let keys: BTreeSet<String> = reports.iter().map(|d| d.key.clone()).collect();
    let expected: BTreeSet<String> = (0..20).map(|i| format!("key-{i}")).collect();
    assert_eq!(keys, expected, "one delivery report per record");
    assert_eq!(run.line("20 records sent"), "20 records sent, 0 failed");

    let records = read(&bootstrap, topic, 20, Isolation::ReadUncommitted);
    for (record, report) in records.iter().zip(matched(&records, &reports, topic)) {
        let i = report.key.strip_prefix("key-").expect("key-N");
        assert_eq!(text(record.value.as_ref()), format!("message {i}"));
        assert_eq!(header(record, "example"), Some("basic_send"));
    }
}

#[test]
fn json_serializer() {
    let topic = "examples-json";
    let (_broker, bootstrap) = broker_with(&[(topic, 3)]);

    let run = Running::run_ok("json_serializer", &bootstrap, &[topic], &[]);
    let reports = delivered(&run.stdout);
    assert_eq!(reports.len(), 4, "{:?}", run.stdout);

    let records = read(&bootstrap, topic, 4, Isolation::ReadUncommitted);
    for (record, report) in records.iter().zip(matched(&records, &reports, topic)) {
        let value = text(record.value.as_ref());
        // The value is the JSON the example printed, of the customer in the key.
        assert_eq!(value, report.rest);
        assert!(
            value.starts_with('{') && value.contains(&format!(r#""customer":"{}""#, report.key)),
            "{value}"
        );
        assert_eq!(header(record, "content-type"), Some("application/json"));
    }
    // serde's encoding: fields in declaration order, `None` skipped, compact.
    let first = records
        .iter()
        .find(|r| text(r.value.as_ref()).starts_with(r#"{"id":1,"#))
        .expect("order 1");
    assert_eq!(
        text(first.value.as_ref()),
        r#"{"id":1,"customer":"alice","lines":[{"sku":"tea-earl-grey","quantity":2}],"total_cents":1190}"#
    );
    // One customer's orders share a partition (keyed), in order.
    let alice: Vec<i32> = records
        .iter()
        .filter(|r| text(r.key.as_ref()) == "alice")
        .map(|r| r.partition)
        .collect();
    assert_eq!(alice.len(), 2);
    assert_eq!(alice[0], alice[1]);
}

#[test]
fn callbacks_bounded() {
    let topic = "examples-callbacks";
    let (_broker, bootstrap) = broker_with(&[(topic, 3)]);

    let run = Running::run_ok("callbacks_bounded", &bootstrap, &[topic], &[]);
    let summary = run.line("1000 records delivered");
    let peak: usize = summary
        .split_once("at most ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("peak in flight in {summary:?}"));
    assert!(
        summary.contains(", 0 failed,") && (1..=100).contains(&peak),
        "{summary}"
    );
    // "partition P: N records, offsets A..=B"
    let reported: BTreeMap<i32, (usize, i64, i64)> = run
        .stdout
        .iter()
        .filter_map(|l| l.strip_prefix("partition "))
        .map(|l| {
            let parse = || {
                let (partition, rest) = l.split_once(": ")?;
                let (count, rest) = rest.split_once(" records, offsets ")?;
                let (first, last) = rest.split_once("..=")?;
                Some((
                    partition.parse().ok()?,
                    (count.parse().ok()?, first.parse().ok()?, last.parse().ok()?),
                ))
            };
            parse().unwrap_or_else(|| panic!("bad partition line: partition {l}"))
        })
        .collect();

    let records = read(&bootstrap, topic, 1000, Isolation::ReadUncommitted);
    let mut seen = BTreeSet::new();
    let mut per_partition: BTreeMap<i32, (usize, i64, i64)> = BTreeMap::new();
    for r in &records {
        let i: usize = text(r.value.as_ref())
            .strip_prefix("record-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(seen.insert(i), "record-{i} twice");
        assert_eq!(text(r.key.as_ref()), format!("key-{}", i % 50));
        let e = per_partition
            .entry(r.partition)
            .or_insert((0, r.offset, r.offset));
        e.0 += 1;
        e.1 = e.1.min(r.offset);
        e.2 = e.2.max(r.offset);
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(
        per_partition, reported,
        "read back vs the callbacks' report"
    );
}

#[test]
fn custom_partitioner() {
    let topic = "examples-partitioner";
    let (_broker, bootstrap) = broker_with(&[(topic, 3)]);

    let run = Running::run_ok("custom_partitioner", &bootstrap, &[topic, "3"], &[]);
    let reports = delivered(&run.stdout);
    assert_eq!(reports.len(), 14, "{:?}", run.stdout);

    let records = read(&bootstrap, topic, 14, Isolation::ReadUncommitted);
    matched(&records, &reports, topic);
    // The rule: vip- keys on partition 0, every other key on one partition of the others.
    let mut partitions_of: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for r in &records {
        partitions_of
            .entry(text(r.key.as_ref()))
            .or_default()
            .insert(r.partition);
    }
    for (key, partitions) in &partitions_of {
        assert_eq!(partitions.len(), 1, "{key} on {partitions:?}");
        let on_zero = partitions.contains(&0);
        assert_eq!(on_zero, key.starts_with("vip-"), "{key} on {partitions:?}");
    }
    let used: BTreeSet<i32> = records.iter().map(|r| r.partition).collect();
    assert_eq!(
        used.len(),
        3,
        "the other keys spread over partitions 1 and 2"
    );

    // A wrong partition count is noticed at the first send: exit code 1, nothing more sent.
    let wrong = Running::run("custom_partitioner", &bootstrap, &[topic, "2"], &[]);
    assert_eq!(wrong.status.code(), Some(1), "stderr: {}", wrong.stderr);
    assert!(
        wrong.stderr.contains("has 3 partitions, not 2"),
        "stderr: {}",
        wrong.stderr
    );
}
