//! The `ferrokafka-cli` binary as a user runs it: against Tansu (a real broker) and the harness's
//! hostile brokers, its exit codes and what it prints on stderr. Every wait is bounded; nothing
//! asserts on elapsed time.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStderr, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_tests::hostile::{ApiKey, Behaviour, HostileBroker};
use ferrokafka_tests::tansu::Tansu;

const WAIT: Duration = Duration::from_secs(60);

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka-cli"))
}

/// Runs the CLI to completion with `stdin`; returns (exit code, stderr).
fn run(args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    let (code, _, stderr) = run_out(args, stdin);
    (code, stderr)
}

/// Lines of the child's stderr as they come, on a thread (so a test can wait for one).
fn stderr_lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits (bounded) until a line containing `needle` arrives; returns everything read so far.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    for _ in 0..600 {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no stderr line with {needle:?}; got {seen:#?}");
}

/// `produce -b BOOTSTRAP -t TOPIC`, then `extra`.
fn produce_args<'a>(bootstrap: &'a str, topic: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["produce", "-b", bootstrap, "-t", topic];
    args.extend_from_slice(extra);
    args
}

/// Starts `produce -b BOOTSTRAP -t TOPIC EXTRA...` and writes `input` to its stdin, which stays
/// open: (the child, its stderr lines, its stdin).
fn start_produce(
    bootstrap: &str,
    topic: &str,
    extra: &[&str],
    input: &[u8],
) -> (Child, mpsc::Receiver<String>, ChildStdin) {
    let mut child = cli()
        .args(produce_args(bootstrap, topic, extra))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrokafka-cli");
    let rx = stderr_lines(child.stderr.take().expect("piped"));
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input).expect("write");
    stdin.flush().expect("flush");
    (child, rx, stdin)
}

fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -INT {}", child.id());
}

/// Waits (bounded) for the child to exit; returns its exit code.
fn wait_exit(child: &mut Child) -> Option<i32> {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("ferrokafka-cli did not exit");
}

#[test]
fn ctrl_c_stops_reading_flushes_and_prints_the_summary() {
    let broker = Tansu::start().expect("tansu");
    broker.create_topic("cli-ctrl-c", 1).expect("topic");
    let (mut child, rx, stdin) = start_produce(
        &broker.bootstrap(),
        "cli-ctrl-c",
        &["-X", "linger.ms=0"],
        b"one\ntwo\nthree\n",
    );
    // The three records are in the log; stdin stays open, so only Ctrl-C ends the run.
    let stored = read_back(
        &broker.bootstrap(),
        "cli-ctrl-c",
        3,
        WAIT,
        Isolation::ReadUncommitted,
    )
    .expect("read back");
    assert_eq!(stored.len(), 3);
    interrupt(&child);
    let mut seen = Vec::new();
    wait_for_line(&rx, "records produced", &mut seen);
    let code = wait_exit(&mut child);
    let text = seen.join("\n");
    assert_eq!(code, Some(130), "{text}");
    assert!(text.contains("interrupted after line 3"), "{text}");
    assert!(text.contains("3 records produced"), "{text}");
    drop(stdin);
}

#[test]
fn a_second_ctrl_c_exits_without_waiting_for_deliveries() {
    let broker = HostileBroker::start(Behaviour::SilentOn(ApiKey::PRODUCE)).unwrap();
    let (mut child, rx, stdin) = start_produce(
        &broker.bootstrap(),
        "t",
        &["-X", "linger.ms=0", "-X", "acks=1"],
        b"never answered\n",
    );
    let mut seen = Vec::new();
    // The warning line comes first: the producer is up.
    wait_for_line(&rx, "idempotence disabled", &mut seen);
    // Interrupted only once the record's Produce request reached the broker (sooner, the
    // command could stop before reading the line and have nothing to flush).
    for _ in 0..600 {
        if broker.ignored() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        broker.ignored() > 0,
        "the Produce request never came: {seen:#?}"
    );
    interrupt(&child);
    wait_for_line(&rx, "interrupted", &mut seen);
    // The flush now waits on a broker that never answers; a second Ctrl-C ends it.
    interrupt(&child);
    let code = wait_exit(&mut child);
    wait_for_line(&rx, "interrupted again", &mut seen);
    assert_eq!(code, Some(130), "{seen:#?}");
    drop(stdin);
}

#[test]
fn x_transactional_id_produces_in_a_transaction() {
    let broker = Tansu::start().expect("tansu");
    broker.create_topic("cli-x-txn", 1).expect("topic");
    let (code, err) = run(
        &produce_args(
            &broker.bootstrap(),
            "cli-x-txn",
            &["-X", "transactional.id=cli-x-txn-id", "--txn-records", "2"],
        ),
        b"a\nb\nc\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("3 records produced"), "{err}");
    assert!(err.contains("2 transactions committed, 0 aborted"), "{err}");
    let stored = read_back(
        &broker.bootstrap(),
        "cli-x-txn",
        3,
        WAIT,
        Isolation::ReadCommitted,
    )
    .expect("read back");
    assert_eq!(stored.len(), 3);
}

#[test]
fn bad_arguments_fail_at_once_with_a_usage_error_naming_the_cause() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["produce", "-b", "tcp://127.0.0.1:9092", "-t", "t"],
            "did you mean `127.0.0.1:9092`",
        ),
        (
            &produce_args("127.0.0.1:9", "t", &["-X", "transactional.id="]),
            "`transactional.id`",
        ),
        (
            &["produce", "-b", "127.0.0.1:9", "-t", "t", "-p", "-1"],
            "-1 is not in 0..",
        ),
        (
            &[
                "perf",
                "-b",
                "127.0.0.1:9",
                "-t",
                "t",
                "--num-records",
                "-5",
                "--record-size",
                "1",
            ],
            "-5 is not in 0..",
        ),
        (
            &["produce", "-b", "127.0.0.1:9", "-t", "t", "--abort"],
            "need a transactional id",
        ),
    ];
    for (args, needle) in cases {
        let (code, err) = run(args, b"x\n");
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn after_a_fatal_error_the_lines_never_sent_are_counted() {
    // Nothing listens: the first send fails after max.block.ms and the rest is never sent.
    let (code, err) = run(
        &produce_args("127.0.0.1:9", "t", &["-X", "max.block.ms=300"]),
        b"1\n2\n3\n4\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("stopping: the producer cannot accept more records"),
        "{err}"
    );
    assert!(
        err.contains("0 records produced (0 bytes), 1 failed"),
        "{err}"
    );
    assert!(err.contains("3 input lines not sent"), "{err}");
}

#[test]
fn a_properties_file_configures_the_producer_and_x_wins_over_it() {
    let broker = Tansu::start().expect("tansu");
    broker.create_topic("cli-props-file", 1).expect("topic");
    let dir = std::env::temp_dir().join(format!("ferrokafka-cli-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("client.properties");
    std::fs::write(
        &file,
        "# like the Kafka tools' client.properties\nacks = 1\nlinger.ms=0\ncompression.type=zstd\n",
    )
    .unwrap();
    let file = file.to_str().unwrap().to_owned();
    let (code, err) = run(
        &produce_args(
            &broker.bootstrap(),
            "cli-props-file",
            &["-F", &file, "-X", "compression.type=none"],
        ),
        b"a\nb\n",
    );
    assert_eq!(code, Some(0), "{err}");
    // acks=1 from the file turned idempotence off, with the warning Java logs.
    assert!(
        err.contains("idempotence disabled because `acks` is `1`"),
        "{err}"
    );
    assert!(err.contains("2 records produced"), "{err}");

    let (code, err) = run(
        &produce_args(
            "127.0.0.1:9",
            "t",
            &["-F", "/nonexistent/client.properties"],
        ),
        b"",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/nonexistent/client.properties"), "{err}");
}

/// Runs the CLI to completion with `stdin`; returns (exit code, stdout, stderr).
fn run_out(args: &[&str], stdin: &[u8]) -> (Option<i32>, String, String) {
    let mut child = cli()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrokafka-cli");
    // A usage error exits before reading its input: a closed pipe is fine then.
    if let Err(e) = child.stdin.take().expect("piped").write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    let out = child.wait_with_output().expect("wait for ferrokafka-cli");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kcat_flags_file_records_delimiter_key_tee_count_verbose_and_quiet() {
    let broker = Tansu::start().expect("tansu");
    broker.create_topic("cli-kcat-flags", 1).expect("topic");
    let dir = std::env::temp_dir().join(format!("ferrokafka-cli-kcat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let records = dir.join("records.txt");
    std::fs::write(&records, "alpha;beta\ngamma;delta;epsilon").unwrap();
    let doc1 = dir.join("doc1.json");
    std::fs::write(&doc1, "{\"a\": 1,\n \"b\": 2}\n").unwrap();
    let doc2 = dir.join("doc2.json");
    std::fs::write(&doc2, "[]").unwrap();
    let bootstrap = broker.bootstrap();
    let topic = "cli-kcat-flags";

    // -l FILE with -D: records split on ';' only; -k keys them all; -c stops after 3; -T echoes
    // them on stdout; -v reports each delivery; -P is accepted.
    let records_path = records.to_str().unwrap();
    let (code, out, err) = run_out(
        &[
            "produce",
            "-P",
            "-b",
            &bootstrap,
            "-t",
            topic,
            "-l",
            "-D",
            ";",
            "-k",
            "user-7",
            "-T",
            "-c",
            "3",
            "-v",
            records_path,
        ],
        b"stdin is not read with -l\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out, "alpha\nbeta\ngamma\ndelta\n",
        "-T echoes what was sent"
    );
    for (line, offset) in [(1, 0), (2, 1), (3, 2)] {
        assert!(
            err.contains(&format!(
                "line {line}: delivered to partition 0 at offset {offset}"
            )),
            "{err}"
        );
    }
    assert!(err.contains("3 records produced"), "{err}");
    assert!(
        err.contains("kafka_request{api=Produce"),
        "-v shows the producer's tracing at debug: {err}"
    );

    // Files without -l: each whole file is one record; -q prints nothing on success.
    let (code, out, err) = run_out(
        &[
            "produce",
            "-q",
            "-b",
            &bootstrap,
            "-t",
            topic,
            doc1.to_str().unwrap(),
            doc2.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!((out.as_str(), err.as_str()), ("", ""), "quiet on success");

    let stored =
        read_back(&bootstrap, topic, 5, WAIT, Isolation::ReadUncommitted).expect("read back");
    type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);
    let got: Vec<KeyValue<'_>> = stored
        .iter()
        .map(|r| (r.key.as_deref(), r.value.as_deref()))
        .collect();
    let key: &[u8] = b"user-7";
    assert_eq!(
        got,
        vec![
            (Some(key), Some(&b"alpha"[..])),
            (Some(key), Some(&b"beta\ngamma"[..])),
            (Some(key), Some(&b"delta"[..])),
            (None, Some(&b"{\"a\": 1,\n \"b\": 2}\n"[..])),
            (None, Some(&b"[]"[..])),
        ]
    );

    // Usage errors at once: -l with two files, -l without a file, -k with -K, -q with -v, a
    // missing -l file.
    for (args, needle) in [
        (vec!["-l", records_path, doc1.to_str().unwrap()], "one file"),
        (vec!["-l"], "FILE"),
        (vec!["-k", "k", "-K", ":"], "cannot be used with"),
        (vec!["-q", "-v"], "cannot be used with"),
        (
            vec!["-l", "/nonexistent/records.txt"],
            "/nonexistent/records.txt",
        ),
    ] {
        let mut full = vec!["produce", "-b", "127.0.0.1:9", "-t", "t"];
        full.extend(args.iter().copied());
        let (code, err) = run(&full, b"");
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn perf_print_metrics_lists_the_java_metric_groups() {
    let broker = Tansu::start().expect("tansu");
    broker.create_topic("cli-perf-metrics", 2).expect("topic");
    let (code, out, err) = run_out(
        &[
            "perf",
            "-b",
            &broker.bootstrap(),
            "-t",
            "cli-perf-metrics",
            "--num-records",
            "500",
            "--record-size",
            "100",
            "--print-metrics",
            "-X",
            "client.id=perf-client",
        ],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("500 records sent"), "{out}");
    let metric = |name: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{out}"));
        line.rsplit(" : ")
            .next()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no value in {line}"))
    };
    assert!(out.contains("Metric Name"), "{out}");
    assert_eq!(
        metric("producer-metrics:record-send-total:{client-id=perf-client}"),
        500.0
    );
    assert!(metric("producer-metrics:request-latency-avg:{client-id=perf-client}") >= 0.0);
    assert_eq!(
        metric(
            "producer-topic-metrics:record-send-total:{client-id=perf-client, topic=cli-perf-metrics}"
        ),
        500.0
    );
    assert!(
        out.lines().any(|l| l.starts_with(
            "producer-node-metrics:request-total:{client-id=perf-client, node-id=node-"
        )),
        "{out}"
    );
}
