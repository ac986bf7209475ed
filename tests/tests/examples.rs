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

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use ferrokafka_tests::consume::{Consumed, Isolation, read_back};
use ferrokafka_tests::tansu::Tansu;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

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

// ---------------------------------------------------------------------------------------------
// Building and running the examples
// ---------------------------------------------------------------------------------------------

/// The path of example `name`, built (once per run) with the rest.
fn example(name: &str) -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR
        .get_or_init(build_examples)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// `cargo build --workspace --example ...` into this test binary's target directory and
/// profile; returns `<target>/<profile>/examples`.
fn build_examples() -> Result<PathBuf, String> {
    // <target>/<profile>/deps/examples-HASH → <target>/<profile>
    let exe = std::env::current_exe().map_err(|e| format!("test executable: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in <target>/<profile>/deps", exe.display()))?;
    let target = profile_dir
        .parent()
        .ok_or_else(|| format!("{} has no parent", profile_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--workspace"]);
    for name in EXAMPLES {
        cmd.args(["--example", name]);
    }
    // `dev` and `test` build into `debug`; every other profile into its own name.
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
        None => return Err(format!("profile of {}", exe.display())),
    }
    cmd.arg("--target-dir")
        .arg(target)
        .current_dir(ferrokafka_tests::paths::workspace_root())
        .stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| format!("run cargo build for the examples: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build --workspace --example ... failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dir = profile_dir.join("examples");
    for name in EXAMPLES {
        let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if !bin.is_file() {
            return Err(format!("{} missing after the build", bin.display()));
        }
    }
    Ok(dir)
}

/// The broker of the tests running now (started by the first of them).
fn broker() -> Arc<Tansu> {
    static SHARED: Mutex<Weak<Tansu>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(broker) = shared.upgrade() {
        return broker;
    }
    let broker = Arc::new(Tansu::start().expect("start tansu"));
    *shared = Arc::downgrade(&broker);
    broker
}

/// The shared broker ([`broker`]) with `topics` (name, partitions) created for this test, and its
/// bootstrap address.
fn broker_with(topics: &[(&str, u32)]) -> (Arc<Tansu>, String) {
    let broker = broker();
    for &(topic, partitions) in topics {
        broker
            .create_topic(topic, partitions)
            .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    }
    let bootstrap = broker.bootstrap();
    (broker, bootstrap)
}

/// A running example: its stdout line by line, its stderr whole.
struct Running {
    name: String,
    child: Option<Child>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Receiver<String>,
}

/// What a finished example did.
struct Finished {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: String,
}

impl Finished {
    /// Panics with the output unless the example exited 0.
    fn assert_success(&self, name: &str) {
        assert!(
            self.status.success(),
            "{name} exited with {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout.join("\n"),
            self.stderr
        );
    }

    /// The first stdout line starting with `prefix`.
    fn line(&self, prefix: &str) -> &str {
        self.stdout
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "no line starting with {prefix:?} in:\n{}",
                    self.stdout.join("\n")
                )
            })
    }
}

impl Running {
    fn start(name: &str, bootstrap: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .env("BOOTSTRAP", bootstrap)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start example {name}: {e}"));
        let (line_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, stderr) = mpsc::channel();
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        Running {
            name: name.to_owned(),
            child: Some(child),
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Runs an example to its end.
    fn run(name: &str, bootstrap: &str, args: &[&str], env: &[(&str, &str)]) -> Finished {
        Running::start(name, bootstrap, args, env).finish()
    }

    /// Runs an example to its end, which must be a success ([`Finished::assert_success`]).
    fn run_ok(name: &str, bootstrap: &str, args: &[&str], env: &[(&str, &str)]) -> Finished {
        let run = Running::run(name, bootstrap, args, env);
        run.assert_success(name);
        run
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits (bounded) until `count` stdout lines so far start with `prefix`.
    fn wait_for_lines(&mut self, prefix: &str, count: usize) {
        let deadline = Instant::now() + WAIT;
        while self.stdout.iter().filter(|l| l.starts_with(prefix)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(e) => {
                    let why = match e {
                        RecvTimeoutError::Timeout => format!("not within {WAIT:?}"),
                        RecvTimeoutError::Disconnected => "stdout closed".to_owned(),
                    };
                    let name = self.name.clone();
                    let finished = self.finish_now();
                    panic!(
                        "{name}: {count} lines starting with {prefix:?} expected, {why}\n\
                         status: {}\nstdout:\n{}\nstderr:\n{}",
                        finished.status,
                        finished.stdout.join("\n"),
                        finished.stderr
                    );
                }
            }
        }
    }

    /// Waits (bounded) for the example to exit and collects its output; kills it on timeout.
    fn finish(mut self) -> Finished {
        let deadline = Instant::now() + WAIT;
        let child = self.child.as_mut().expect("running");
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let name = self.name.clone();
                    let finished = self.finish_now();
                    panic!(
                        "{name} still running after {WAIT:?}; killed\nstdout:\n{}\nstderr:\n{}",
                        finished.stdout.join("\n"),
                        finished.stderr
                    );
                }
                Err(e) => panic!("wait for {}: {e}", self.name),
            }
        }
        self.finish_now()
    }

    /// Kills the example if it still runs, reaps it and collects its output (bounded).
    fn finish_now(&mut self) -> Finished {
        let mut child = self.child.take().expect("running");
        let _ = child.kill(); // an error means it had exited
        let status = child.wait().expect("reap the example");
        // It exited: its pipes are at their end, the reader threads finish.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => break,
            }
        }
        let stderr = self
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        Finished {
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test leaves no example running.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

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
