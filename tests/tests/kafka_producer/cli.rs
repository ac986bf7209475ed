//! The `ferrokafka-cli` binary against Kafka (5): `produce` with keys, headers and a codec,
//! `perf`, and transactional `produce` read back by a `read_committed` consumer.

use std::time::Duration;

use ferrokafka_partition::hash::murmur2_partition;
use ferrokafka_tests::consume::{Isolation, TimestampType, by_partition};
use ferrokafka_tests::paths::run_cli;

use crate::{create, kafka, read_both, read_java, read_rdkafka};

// ---------------------------------------------------------------------------------------------
// 5. the CLI
// ---------------------------------------------------------------------------------------------

/// How long one run of the CLI may take.
const CLI_LIMIT: Duration = Duration::from_secs(120);

/// A header as the consumers report it.
fn hdr(name: &str, value: Option<&str>) -> (String, Option<Vec<u8>>) {
    (name.to_string(), value.map(|v| v.as_bytes().to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_produce_with_keys_headers_and_codec_reads_back() {
    let topic = "kp-cli-produce";
    create(topic, 3, &[]);
    let lines: Vec<String> = (0..60)
        .map(|i| match i % 10 {
            3 => format!("no-delimiter-{i}"),
            4 => format!("k{i}:"),
            5 => format!(":value-{i}"),
            _ => format!("k{}:value-{i}:with:colons", i % 7),
        })
        .collect();
    let input = lines.join("\n") + "\n";
    let bootstrap = kafka().bootstrap();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "produce",
                "-b",
                &bootstrap,
                "-t",
                topic,
                "-K",
                ":",
                "-H",
                "source=cli",
                "-H",
                "trace",
                "-H",
                "empty=",
                "-H",
                "source=again",
                "-z",
                "gzip",
                "-X",
                "linger.ms=5",
            ],
            input.as_bytes(),
            CLI_LIMIT,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("60 records produced"), "{stderr}");
    let read = read_both(topic, lines.len(), "gzip").await;
    assert_eq!(read.len(), lines.len());
    for c in &read {
        assert_eq!(
            c.headers,
            vec![
                hdr("source", Some("cli")),
                hdr("trace", None),
                hdr("empty", Some("")),
                hdr("source", Some("again")),
            ]
        );
        assert_eq!(c.timestamp_type, TimestampType::CreateTime);
    }
    // Each line becomes the record it describes, keyed ones on their murmur2 partition, in
    // input order per partition.
    let want: Vec<(Option<Vec<u8>>, Vec<u8>)> = lines
        .iter()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (Some(k.as_bytes().to_vec()), v.as_bytes().to_vec()),
            None => (None, l.as_bytes().to_vec()),
        })
        .collect();
    for (partition, records) in by_partition(&read) {
        let got: Vec<(Option<Vec<u8>>, Vec<u8>)> = records
            .iter()
            .map(|c| (c.key.clone(), c.value.clone().expect("no null values")))
            .collect();
        for (k, _) in &got {
            if let Some(k) = k {
                assert_eq!(partition, murmur2_partition(k, 3), "{k:?}");
            }
        }
        let in_order: Vec<_> = want.iter().filter(|w| got.contains(w)).cloned().collect();
        assert_eq!(got, in_order, "partition {partition} in input order");
    }
    let mut all: Vec<_> = read
        .iter()
        .map(|c| (c.key.clone(), c.value.clone().unwrap()))
        .collect();
    let mut expected = want.clone();
    all.sort();
    expected.sort();
    assert_eq!(all, expected, "every line read back once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_perf_writes_the_records_it_counts() {
    const RECORDS: usize = 500;
    let topic = "kp-cli-perf";
    create(topic, 2, &[]);
    let bootstrap = kafka().bootstrap();
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_cli(
            &[
                "perf",
                "-b",
                &bootstrap,
                "-t",
                topic,
                "--num-records",
                &RECORDS.to_string(),
                "--record-size",
                "100",
                "-X",
                "linger.ms=5",
            ],
            b"",
            CLI_LIMIT,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains(&format!("{RECORDS} records sent")),
        "{output}"
    );
    let read = read_both(topic, RECORDS, "none").await;
    assert_eq!(read.len(), RECORDS);
    assert!(
        read.iter()
            .all(|c| c.value.as_ref().is_some_and(|v| v.len() == 100))
    );
}

/// `produce --transactional-id`: committed transactions are visible to `read_committed`
/// consumers; an aborted run's records are in the log but hidden from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_transactional_produce_is_read_committed() {
    let topic = "kp-cli-txn";
    create(topic, 2, &[]);
    let bootstrap = kafka().bootstrap();
    let committed: Vec<String> = (0..40)
        .map(|i| format!("c{}:committed-{i}", i % 5))
        .collect();
    let aborted: Vec<String> = (0..10).map(|i| format!("a{i}:aborted-{i}")).collect();
    let txn_id = format!("kp-cli-txn-{}", std::process::id());
    let (b, c, a, id) = (
        bootstrap.clone(),
        committed.join("\n"),
        aborted.join("\n"),
        txn_id,
    );
    let (first, second) = tokio::task::spawn_blocking(move || {
        let common = [
            "produce",
            "-b",
            &b,
            "-t",
            topic,
            "-K",
            ":",
            "--transactional-id",
            &id,
        ];
        let first = run_cli(
            &[&common[..], &["--txn-records", "15"]].concat(),
            c.as_bytes(),
            CLI_LIMIT,
        );
        let second = run_cli(
            &[&common[..], &["--abort"]].concat(),
            a.as_bytes(),
            CLI_LIMIT,
        );
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!(first.0, Some(0), "{}", first.1);
    assert_eq!(second.0, Some(0), "{}", second.1);
    let read = read_java(topic, committed.len(), Isolation::ReadCommitted).await;
    let rd = read_rdkafka(topic, committed.len(), Isolation::ReadCommitted).await;
    assert_eq!(read, rd, "Java and librdkafka read_committed agree");
    let mut values: Vec<String> = read
        .iter()
        .map(|c| String::from_utf8(c.value.clone().unwrap()).unwrap())
        .collect();
    values.sort();
    let mut want: Vec<String> = (0..40).map(|i| format!("committed-{i}")).collect();
    want.sort();
    assert_eq!(values, want, "exactly the committed records");
    // read_uncommitted sees the aborted records too (and no control records).
    let all = read_java(
        topic,
        committed.len() + aborted.len(),
        Isolation::ReadUncommitted,
    )
    .await;
    assert_eq!(all.len(), committed.len() + aborted.len());
}
