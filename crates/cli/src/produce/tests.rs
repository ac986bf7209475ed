//! The produce loop's tests, against the fake sink: records, keys and headers, the kcat flags,
//! failures and rejections, the memory bound, Ctrl-C, and transactions.

use super::*;
use crate::input::Delimited;
use crate::sink::fake::FakeSink;
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};

fn opts() -> ProduceOptions {
    ProduceOptions {
        topic: "t".into(),
        partition: None,
        key_delimiter: None,
        headers: vec![],
        max_in_flight: 1000,
        max_outstanding_bytes: u64::MAX,
        flush_timeout: Duration::from_secs(1),
        interrupted_flush_timeout: Duration::from_secs(1),
        close_timeout: Duration::from_secs(1),
        transactions: None,
        count_unsent: true,
        fixed_key: None,
        max_records: None,
        tee: false,
        quiet: false,
        verbose: false,
    }
}

/// (key, value) of every record the sink accepted, in order.
fn key_values(sink: &FakeSink) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let accepted = sink.accepted();
    accepted
        .iter()
        .map(|r| (r.key.clone(), r.value.clone()))
        .collect()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn run(opts: &ProduceOptions, sink: &FakeSink, input: &str) -> (ProduceSummary, String) {
    let (s, _, err) = run_with_out(opts, sink, input).await;
    (s, err)
}

/// Runs on newline-delimited `input`; returns the summary, stdout and stderr.
async fn run_with_out(
    opts: &ProduceOptions,
    sink: &FakeSink,
    input: &str,
) -> (ProduceSummary, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let input = Delimited::new(input.as_bytes(), b"\n".to_vec());
    let s = run_produce(opts, sink, input, &mut out, &mut err, &Interrupt::new()).await;
    (
        s,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn split_without_delimiter_keeps_whole_line() {
    assert_eq!(split_line(b"a:b", None), (None, b("a:b")));
}

#[test]
fn split_at_first_delimiter() {
    let d: &[u8] = b":";
    assert_eq!(split_line(b"k:v:w", Some(d)), (Some(b("k")), b("v:w")));
    assert_eq!(split_line(b":v", Some(d)), (Some(b("")), b("v")));
    assert_eq!(split_line(b"k:", Some(d)), (Some(b("k")), b("")));
    assert_eq!(
        split_line(b"no delimiter", Some(d)),
        (None, b("no delimiter"))
    );
    let multi: &[u8] = b"::";
    assert_eq!(split_line(b"a:b::c", Some(multi)), (Some(b("a:b")), b("c")));
    assert_eq!(split_line(b"", Some(multi)), (None, b("")));
}

#[tokio::test]
async fn produces_each_line_with_key_headers_and_partition() {
    let sink = FakeSink::new();
    let mut o = opts();
    o.key_delimiter = Some(b"=".to_vec());
    o.partition = Some(2);
    o.headers = vec![("h1".into(), Some(b("x"))), ("h2".into(), None)];
    let (s, err) = run(&o, &sink, "k1=v1\nnokey\n\nk3=v=3\r\nlast=line").await;
    assert_eq!(
        s,
        ProduceSummary {
            produced: 5,
            bytes: 4 + 5 + 6 + 8, // the empty line adds nothing
            failed: 0,
            ..ProduceSummary::default()
        }
    );
    assert_eq!(s.exit_code(), EXIT_OK);
    assert_eq!(err, "5 records produced (23 bytes), 0 failed\n");
    assert_eq!(
        key_values(&sink),
        vec![
            (Some(b("k1")), Some(b("v1"))),
            (None, Some(b("nokey"))),
            (None, Some(b(""))),
            (Some(b("k3")), Some(b("v=3\r"))),
            (Some(b("last")), Some(b("line"))),
        ]
    );
    for r in &sink.accepted() {
        assert_eq!(r.topic, "t");
        assert_eq!(r.partition, Some(2));
        assert_eq!(r.headers, o.headers);
    }
    assert!(sink.state.borrow().closed);
}

#[tokio::test]
async fn one_key_for_every_record_with_k() {
    let sink = FakeSink::new();
    let mut o = opts();
    o.fixed_key = Some(b("user-7"));
    let (s, _) = run(&o, &sink, "a:1\nb\n").await;
    assert_eq!(s.produced, 2);
    assert_eq!(s.bytes, 3 + 6 + 1 + 6, "the key's bytes count");
    assert_eq!(
        key_values(&sink),
        vec![
            (Some(b("user-7")), Some(b("a:1"))),
            (Some(b("user-7")), Some(b("b"))),
        ]
    );
}

#[tokio::test]
async fn c_stops_after_n_records_and_leaves_the_rest_unread() {
    let sink = FakeSink::new();
    let mut o = opts();
    o.max_records = Some(2);
    let (s, err) = run(&o, &sink, "a\nb\nc\nd\n").await;
    assert_eq!(s.produced, 2);
    assert_eq!(s.exit_code(), EXIT_OK);
    assert_eq!(sink.state.borrow().sends, 2);
    assert_eq!(err, "2 records produced (2 bytes), 0 failed\n");
    o.max_records = Some(0);
    let sink = FakeSink::new();
    let (s, _) = run(&o, &sink, "a\n").await;
    assert_eq!((s.produced, sink.state.borrow().sends), (0, 0));
}

#[tokio::test]
async fn t_echoes_the_records_sent_but_not_the_rejected_ones() {
    let sink = FakeSink::new().reject(1, false);
    let mut o = opts();
    o.tee = true;
    o.key_delimiter = Some(b":".to_vec());
    let (s, out, _) = run_with_out(&o, &sink, "k:v\nrejected\nlast").await;
    assert_eq!((s.produced, s.failed), (2, 1));
    assert_eq!(
        out, "k:v\nlast\n",
        "the record as read, key delimiter included"
    );
}

#[tokio::test]
async fn q_prints_errors_only_and_v_each_delivery() {
    let sink = FakeSink::new().fail_delivery(1, "boom");
    let mut o = opts();
    o.quiet = true;
    let (s, err) = run(&o, &sink, "a\nb\nc\n").await;
    assert_eq!((s.produced, s.failed), (2, 1));
    assert_eq!(err, "delivery failed for line 2: boom\n");

    let sink = FakeSink::new();
    let mut o = opts();
    o.verbose = true;
    o.partition = Some(0);
    let (_, err) = run(&o, &sink, "a\nb\n").await;
    assert_eq!(
        err,
        "line 1: delivered to partition 0 at offset 0\n\
         line 2: delivered to partition 0 at offset 1\n\
         2 records produced (2 bytes), 0 failed\n"
    );
}

#[tokio::test]
async fn empty_input_produces_nothing_and_succeeds() {
    let sink = FakeSink::new();
    let (s, err) = run(&opts(), &sink, "").await;
    assert_eq!(s, ProduceSummary::default());
    assert_eq!(s.exit_code(), EXIT_OK);
    assert_eq!(err, "0 records produced (0 bytes), 0 failed\n");
}

#[tokio::test]
async fn delivery_failures_are_reported_and_fail_the_exit_code() {
    let sink = FakeSink::new()
        .fail_delivery(1, "NOT_LEADER_OR_FOLLOWER")
        .fail_delivery(3, "boom");
    let (s, err) = run(&opts(), &sink, "a\nbb\nccc\ndddd\n").await;
    assert_eq!((s.produced, s.bytes, s.failed), (2, 4, 2));
    assert_eq!(s.exit_code(), EXIT_FAILED);
    assert!(
        err.contains("delivery failed for line 2: NOT_LEADER_OR_FOLLOWER\n"),
        "{err}"
    );
    assert!(err.contains("delivery failed for line 4: boom\n"), "{err}");
    assert!(
        err.ends_with("2 records produced (4 bytes), 2 failed\n"),
        "{err}"
    );
}

#[tokio::test]
async fn failures_of_unknown_outcome_are_counted_apart() {
    let sink = FakeSink::new()
        .fail_delivery(0, "NOT_LEADER_OR_FOLLOWER")
        .fail_delivery_unknown(1, "delivery.timeout.ms expired; the outcome is unknown");
    let (s, err) = run(&opts(), &sink, "a\nb\nc\n").await;
    assert_eq!((s.produced, s.failed, s.outcome_unknown), (1, 2, 1));
    assert!(
        err.ends_with(
            "1 records produced (1 bytes), 2 failed (1 of them may have been written: their \
             requests were never answered)\n"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn non_fatal_rejection_counts_and_continues() {
    let sink = FakeSink::new().reject(1, false);
    let (s, err) = run(&opts(), &sink, "a\nb\nc\n").await;
    assert_eq!((s.produced, s.failed), (2, 1));
    assert_eq!(s.exit_code(), EXIT_FAILED);
    assert!(
        err.contains("send failed for line 2: rejected send 1\n"),
        "{err}"
    );
    assert_eq!(sink.state.borrow().sends, 3);
}

#[tokio::test]
async fn fatal_rejection_stops_reading_but_waits_for_earlier_deliveries() {
    let sink = FakeSink::new().slow(1).reject(2, true);
    let (s, err) = run(&opts(), &sink, "a\nb\nc\nd\ne\n").await;
    assert_eq!((s.produced, s.failed), (2, 1));
    assert_eq!(
        sink.state.borrow().sends,
        3,
        "nothing sent after the fatal rejection"
    );
    assert!(err.contains("stopping"), "{err}");
    assert!(
        err.ends_with("2 records produced (2 bytes), 1 failed\n2 input lines not sent\n"),
        "{err}"
    );
    assert_eq!(s.unsent_lines, Some(2));
}

#[tokio::test]
async fn unsent_lines_are_not_counted_when_the_input_is_a_terminal() {
    let sink = FakeSink::new().reject(0, true);
    let mut o = opts();
    o.count_unsent = false;
    let (s, err) = run(&o, &sink, "a\nb\nc\n").await;
    assert_eq!(s.unsent_lines, None);
    assert!(
        err.ends_with("the rest of the input was not sent\n"),
        "{err}"
    );
}

#[tokio::test]
async fn outstanding_deliveries_are_bounded_by_memory() {
    let line = "x".repeat(100);
    let input = format!("{line}\n").repeat(50);
    let sink = FakeSink::new().slow(5);
    let mut o = opts();
    // Two deliveries (2 × (100 + overhead)) fit, a third does not.
    o.max_outstanding_bytes = 2 * (100 + DELIVERY_OVERHEAD) + 10;
    let (s, _) = run(&o, &sink, &input).await;
    assert_eq!(s.produced, 50);
    let max = sink.state.borrow().max_outstanding;
    assert_eq!(max, 2, "max outstanding {max}");
}

#[tokio::test]
async fn ctrl_c_stops_reading_flushes_and_prints_the_summary() {
    let sink = FakeSink::new().slow(3);
    let (mut feed, input) = tokio::io::duplex(1024);
    tokio::io::AsyncWriteExt::write_all(&mut feed, b"a\nb\nc\n")
        .await
        .unwrap();
    // `feed` stays open: without the interrupt the run would wait for more input.
    let stop = Interrupt::new();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let o = opts();
    let (s, ()) = tokio::join!(
        run_produce(
            &o,
            &sink,
            Delimited::new(tokio::io::BufReader::new(input), b"\n".to_vec()),
            &mut out,
            &mut err,
            &stop
        ),
        async {
            for _ in 0..10_000 {
                if sink.state.borrow().sends == 3 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            stop.trigger();
        }
    );
    let err = String::from_utf8(err).unwrap();
    assert!(s.interrupted);
    assert_eq!(s.exit_code(), EXIT_INTERRUPTED);
    assert_eq!((s.produced, s.failed), (3, 0), "{err}");
    assert!(err.contains("interrupted after line 3"), "{err}");
    assert!(
        err.ends_with("3 records produced (3 bytes), 0 failed\n"),
        "{err}"
    );
    assert!(sink.state.borrow().closed);
    drop(feed);
}

#[tokio::test]
async fn sends_are_pipelined_and_bounded() {
    let input: String = (0..200)
        .map(|i| format!("line {i}\n"))
        .collect::<Vec<_>>()
        .concat();
    let sink = FakeSink::new().slow(5);
    let (s, _) = run(&opts(), &sink, &input).await;
    assert_eq!(s.produced, 200);
    let max = sink.state.borrow().max_outstanding;
    assert!(
        max > 1,
        "deliveries must overlap, max outstanding was {max}"
    );

    let sink = FakeSink::new().slow(5);
    let mut o = opts();
    o.max_in_flight = 7;
    let (s, _) = run(&o, &sink, &input).await;
    assert_eq!(s.produced, 200);
    let max = sink.state.borrow().max_outstanding;
    assert!(
        max <= 7 && max > 1,
        "max outstanding {max} with a bound of 7"
    );
    assert_eq!(sink.state.borrow().outstanding, 0);
}

// Transactions

async fn run_txn(
    records: Option<u64>,
    abort: bool,
    input: &str,
) -> (ProduceSummary, FakeSink, String) {
    let opts = ProduceOptions {
        transactions: Some(TxnOptions { records, abort }),
        ..opts()
    };
    let sink = FakeSink::new().slow(2);
    let (summary, err) = run(&opts, &sink, input).await;
    (summary, sink, err)
}

#[tokio::test]
async fn one_transaction_per_n_lines_then_the_rest() {
    let (summary, sink, err) = run_txn(Some(2), false, "a\nb\nc\nd\ne\n").await;
    assert_eq!(summary.produced, 5);
    assert_eq!(summary.committed, 3);
    assert_eq!(summary.exit_code(), EXIT_OK);
    assert_eq!(
        sink.state.borrow().calls,
        [
            "init", "begin", "commit", "begin", "commit", "begin", "commit", "flush"
        ]
    );
    assert!(err.contains("3 transactions committed, 0 aborted"), "{err}");
}

#[tokio::test]
async fn a_failed_commit_is_not_retried_and_its_records_are_not_produced() {
    let opts = ProduceOptions {
        transactions: Some(TxnOptions {
            records: Some(2),
            abort: false,
        }),
        ..opts()
    };
    // The second commit fails: lines 1-2 committed, 3-4 written but not committed, 5-6
    // never sent.
    let sink = FakeSink::new().slow(2).fail_commit(1);
    let (s, err) = run(&opts, &sink, "a\nb\nc\nd\ne\nf\n").await;
    assert_eq!(
        sink.state.borrow().calls,
        ["init", "begin", "commit", "begin", "commit", "flush"],
        "one commit per transaction, none repeated"
    );
    assert_eq!(err.matches("commit_transaction failed").count(), 1, "{err}");
    assert_eq!((s.produced, s.uncommitted, s.committed), (2, 2, 1));
    assert_eq!(s.unsent_lines, Some(2));
    assert_eq!(s.exit_code(), EXIT_FAILED);
    assert!(
        err.contains("1 transactions committed, 0 aborted, 2 records written but not committed"),
        "{err}"
    );
    assert!(err.ends_with("2 input lines not sent\n"), "{err}");
}

#[tokio::test]
async fn all_input_in_one_transaction_by_default() {
    let (summary, sink, _) = run_txn(None, false, "a\nb\nc\n").await;
    assert_eq!(summary.committed, 1);
    assert_eq!(
        sink.state.borrow().calls,
        ["init", "begin", "commit", "flush"]
    );
}

#[tokio::test]
async fn abort_flushes_then_aborts_every_transaction() {
    let (summary, sink, err) = run_txn(Some(2), true, "a\nb\nc\n").await;
    assert_eq!(summary.aborted, 2);
    assert_eq!(summary.committed, 0);
    // The fake refuses an abort with deliveries outstanding: flushed first.
    assert_eq!(
        sink.state.borrow().calls,
        [
            "init", "begin", "flush", "abort", "begin", "flush", "abort", "flush"
        ]
    );
    assert_eq!(summary.exit_code(), EXIT_OK);
    assert!(err.contains("0 transactions committed, 2 aborted"), "{err}");
}
