//! Live evidence for the ferrokafka `Producer`'s transactions against the Tansu broker (0.6.0).
//!
//! Two independent readers check what the broker stored:
//!
//! - librdkafka's consumer (`ferrokafka_tests::consume`), with both isolation levels;
//! - a hand-written Fetch v4 + RecordBatch v2 decoder (no ferrokafka or librdkafka code), which
//!   shows the raw log of a partition: data batches with their transactional bit, producer id,
//!   epoch and base sequence, and control batches with their marker type (COMMIT or ABORT).
//!
//! What is shown:
//!
//! 1. one transaction over several partitions of two topics: while it is open the last stable
//!    offset stays at its first record; after the commit every record reads back (both
//!    isolation levels), and every partition's log is the transactional data followed by a
//!    COMMIT marker of the same producer id and epoch;
//! 2. an aborted transaction (its records acknowledged before the abort) is followed by an ABORT
//!    marker, the next committed one by a COMMIT marker;
//! 3. records still queued (`linger.ms` far away) when the transaction aborts fail with
//!    `DeliveryError::TransactionAborted` and never reach the broker;
//! 4. a second producer with the same `transactional.id` fences the first: the first one's next
//!    commit fails with `TxnFailureKind::Fatal`, its record is not written, the second commits
//!    with the same producer id and a higher epoch;
//! 5. `send_offsets_to_transaction`: the group's offsets are committed with the transaction;
//! 6. calls in the wrong state fail at once with `InvalidState` / `NotTransactional`;
//! 7. five transactions in a row: all records once, in order, sequences continuing; two
//!    concurrent `commit_transaction` calls both get the outcome;
//! 8. an abort racing records in flight: every future resolves (delivered or
//!    `TransactionAborted`), and the delivered ones are exactly the data before the ABORT marker;
//! 9. fencing while a transaction is open: the newer producer's init aborts it;
//! 10. empty transactions complete.
//!
//! Some tests run Tansu behind a recording proxy ([`RecordedTansu`]: Tansu advertises the
//! proxy's address, so every connection goes through it) to see the requests the producer sent
//! and the answers it got.
//!
//! Tansu 0.6.0 behaviours pinned here (each a real assertion, so a Tansu change shows up):
//! no aborted-transaction list in Fetch (below); commit markers only on partitions the
//! transaction wrote data to; the ABORT marker of a transaction aborted by a newer producer's
//! init carries the old epoch; no answer (connection closed) to EndTxn from a fenced producer;
//! offset commit metadata is dropped (for librdkafka's OffsetCommit too).
//!
//! Known peer limitation (Tansu 0.6.0): its Fetch responses never list aborted transactions, so
//! a `read_committed` consumer sees the records of aborted transactions. Test 2 pins that
//! behaviour in a separate block, so a Tansu that fixes it makes the test fail and be updated.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

use ferrokafka::{
    ErrorKind, GroupMetadata, OffsetToCommit, ProduceError, Producer, ProducerConfig,
    ProducerRecord,
};
use ferrokafka_tests::consume::{Consumed, Isolation, by_partition, read_back};
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::raw::{self, Cursor, FetchAnswer};
use ferrokafka_tests::tansu::Tansu;
use ferrokafka_tests::wait::{poll_now, ready_now};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

const WAIT: Duration = Duration::from_secs(30);

/// Control record types (the key of a control record: version i16, type i16).
const ABORT: i16 = 0;
const COMMIT: i16 = 1;

// ---------------------------------------------------------------------------------------------
// Producer helpers
// ---------------------------------------------------------------------------------------------

fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("bootstrap.servers", bootstrap)];
    props.extend_from_slice(extra);
    Producer::new(ProducerConfig::from_properties(props).expect("valid config")).expect("producer")
}

fn txn_producer(bootstrap: &str, transactional_id: &str, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("transactional.id", transactional_id)];
    props.extend_from_slice(extra);
    producer(bootstrap, &props)
}

/// Runs a transactional call with a bound, so a hang fails the test instead of stalling it.
async fn bounded<T>(what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT + Duration::from_secs(5), call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return"))
}

fn txn_failure(result: Result<(), ProduceError>, what: &str) -> ProduceError {
    match result {
        // The kinds a transactional call fails with (besides Closed and Timeout).
        Err(f) if TXN_KINDS.contains(&f.kind()) => f,
        other => panic!("{what}: expected a transaction failure, got {other:?}"),
    }
}

/// What a failed transactional call reports (Java: abortable, fatal or fenced, illegal state).
const TXN_KINDS: [ErrorKind; 6] = [
    ErrorKind::TransactionAbortable,
    ErrorKind::TransactionAborted,
    ErrorKind::Fatal,
    ErrorKind::ProducerFenced,
    ErrorKind::InvalidState,
    ErrorKind::NotTransactional,
];

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

/// Reads `topic` back with librdkafka (on a blocking thread: it polls synchronously).
async fn read(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    isolation: Isolation,
) -> Vec<Consumed> {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_back(&b, &t, expected, WAIT, isolation))
        .await
        .expect("read-back thread")
        .unwrap_or_else(|e| panic!("read back {topic} ({isolation:?}): {e}"))
}

/// `(key, value)` of every record, per partition in offset order.
fn key_values(records: &[Consumed]) -> BTreeMap<i32, Vec<(String, String)>> {
    by_partition(records)
        .into_iter()
        .map(|(p, rs)| {
            let kv = rs
                .iter()
                .map(|r| (utf8(r.key.as_deref()), utf8(r.value.as_deref())))
                .collect();
            (p, kv)
        })
        .collect()
}

fn utf8(b: Option<&[u8]>) -> String {
    String::from_utf8(b.expect("not null").to_vec()).expect("utf-8")
}

/// A record's key and value (`None` = null).
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// One v2 record batch as the broker stored it (CRC-32C checked).
#[derive(Debug, Clone)]
struct RawBatch {
    base_offset: i64,
    last_offset_delta: i32,
    attributes: i16,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    /// `(key, value)` of each record (uncompressed batches only).
    records: Vec<KeyValue>,
}

impl RawBatch {
    fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta) + 1
    }

    /// The control record's type (ABORT = 0, COMMIT = 1).
    fn control_type(&self) -> i16 {
        assert!(self.is_control());
        assert_eq!(self.records.len(), 1, "one control record: {self:?}");
        let key = self.records[0].0.as_deref().expect("control record key");
        assert_eq!(key.len(), 4, "control key: version i16 + type i16");
        assert_eq!(
            i16::from_be_bytes([key[0], key[1]]),
            0,
            "control key version"
        );
        i16::from_be_bytes([key[2], key[3]])
    }
}

/// A run of a partition's log: consecutive data batches of one producer, or a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Data {
        producer_id: i64,
        epoch: i16,
        transactional: bool,
        /// Keys, in offset order.
        keys: Vec<String>,
    },
    Marker {
        producer_id: i64,
        epoch: i16,
        /// ABORT or COMMIT.
        kind: i16,
    },
}

fn data(producer_id: i64, epoch: i16, keys: Vec<String>) -> Seg {
    Seg::Data {
        producer_id,
        epoch,
        transactional: true,
        keys,
    }
}

fn marker(producer_id: i64, epoch: i16, kind: i16) -> Seg {
    Seg::Marker {
        producer_id,
        epoch,
        kind,
    }
}

/// Merges consecutive data batches of the same producer into one segment; checks that offsets
/// are contiguous and that base sequences continue within a producer epoch.
fn segments(batches: &[RawBatch]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    let mut next_offset = 0;
    let mut next_seq: BTreeMap<(i64, i16), i32> = BTreeMap::new();
    for b in batches {
        assert_eq!(b.base_offset, next_offset, "offsets are contiguous: {b:?}");
        next_offset = b.next_offset();
        if b.is_control() {
            out.push(marker(b.producer_id, b.producer_epoch, b.control_type()));
            continue;
        }
        let count = i32::try_from(b.records.len()).unwrap();
        let expected_seq = next_seq
            .entry((b.producer_id, b.producer_epoch))
            .or_insert(0);
        assert_eq!(
            b.base_sequence, *expected_seq,
            "sequence continues for producer {}/{}",
            b.producer_id, b.producer_epoch
        );
        *expected_seq += count;
        let keys: Vec<String> = b.records.iter().map(|(k, _)| utf8(k.as_deref())).collect();
        match out.last_mut() {
            Some(Seg::Data {
                producer_id,
                epoch,
                transactional,
                keys: run,
            }) if *producer_id == b.producer_id
                && *epoch == b.producer_epoch
                && *transactional == b.is_transactional() =>
            {
                run.extend(keys);
            }
            _ => out.push(Seg::Data {
                producer_id: b.producer_id,
                epoch: b.producer_epoch,
                transactional: b.is_transactional(),
                keys,
            }),
        }
    }
    out
}

/// Fetch v4 for one partition from `offset`, hand-encoded; `read_committed` sets the isolation.
fn fetch_v4(
    addr: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    read_committed: bool,
) -> FetchAnswer {
    let answer = raw::fetch_v4(addr, topic, partition, offset, read_committed, WAIT);
    assert_eq!(answer.error, 0, "fetch error code for {topic}/{partition}");
    answer
}

/// Every batch of one partition, read_uncommitted, from offset 0 to the high watermark.
fn raw_log_blocking(addr: &str, topic: &str, partition: i32) -> Vec<RawBatch> {
    let mut out: Vec<RawBatch> = Vec::new();
    let mut next = 0i64;
    loop {
        let answer = fetch_v4(addr, topic, partition, next, false);
        if next >= answer.high_watermark {
            break;
        }
        let before = out.len();
        split_batches(&answer.records, &mut out);
        assert!(
            out.len() > before,
            "{topic}/{partition}: no progress at offset {next}"
        );
        next = out.last().map_or(next, RawBatch::next_offset);
    }
    out
}

/// The log of each of `partitions`, as segments.
async fn raw_log(bootstrap: &str, topic: &str, partitions: i32) -> BTreeMap<i32, Vec<Seg>> {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        (0..partitions)
            .map(|p| (p, segments(&raw_log_blocking(&b, &t, p))))
            .collect()
    })
    .await
    .expect("raw fetch thread")
}

/// A read_committed Fetch v4 from offset 0: `(high watermark, last stable offset, aborted)`.
async fn committed_view(
    bootstrap: &str,
    topic: &str,
    partition: i32,
) -> (i64, i64, Option<Vec<(i64, i64)>>) {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let a = fetch_v4(&b, &t, partition, 0, true);
        (a.high_watermark, a.last_stable_offset, a.aborted)
    })
    .await
    .expect("raw fetch thread")
}

/// Splits a Fetch records section into v2 batches (a trailing partial batch is ignored).
fn split_batches(buf: &[u8], out: &mut Vec<RawBatch>) {
    for (h, section) in raw::split_batches(buf, "") {
        let base_offset = h.base_offset;
        assert_eq!(h.attributes & 7, 0, "uncompressed batches only");
        let mut c = Cursor::new(section);
        let mut records = Vec::new();
        for _ in 0..h.count {
            let len = c.varint() as usize;
            let end = c.at + len;
            c.take(1); // attributes
            c.varint(); // timestamp delta
            c.varint(); // offset delta
            let key = c.nullable();
            let value = c.nullable();
            for _ in 0..c.varint() {
                let name_len = c.varint() as usize;
                c.take(name_len);
                c.nullable();
            }
            assert_eq!(c.at, end, "record length in batch {base_offset}");
            records.push((key, value));
        }
        assert_eq!(c.at, section.len(), "trailing bytes in batch {base_offset}");
        out.push(RawBatch {
            base_offset,
            last_offset_delta: h.last_offset_delta,
            attributes: h.attributes,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            records,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// A Tansu broker behind a recording proxy
// ---------------------------------------------------------------------------------------------

/// One request frame a client sent (size prefix removed).
#[derive(Debug, Clone)]
struct Request {
    api_key: i16,
    version: i16,
    frame: Vec<u8>,
    /// The broker's answer (size prefix removed), once it came.
    response: Option<Vec<u8>>,
}

/// Requests and answers seen by the proxy.
#[derive(Debug, Default)]
struct Recorded {
    requests: Vec<Request>,
    /// `(connection, correlation id)` → index in `requests`.
    open: BTreeMap<(u64, i32), usize>,
}

const API_PRODUCE: i16 = 0;
const API_ADD_PARTITIONS_TO_TXN: i16 = 24;
const API_END_TXN: i16 = 26;

/// A Tansu broker whose advertised address is a proxy that records every request: every
/// connection a client opens (bootstrap, leaders, coordinators) goes through it, so the test
/// sees what the producer sent. Dropping it kills the broker.
struct RecordedTansu {
    child: std::process::Child,
    bin: std::path::PathBuf,
    broker_port: u16,
    proxy_port: u16,
    recorded: std::sync::Arc<std::sync::Mutex<Recorded>>,
}

impl Drop for RecordedTansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RecordedTansu {
    fn start() -> Self {
        use std::net::{TcpListener, TcpStream};
        use std::process::{Command, Stdio};
        use std::sync::{Arc, Mutex};
        let bin = ferrokafka_tests::tansu::install().expect("tansu binary");
        let proxy = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let proxy_port = proxy.local_addr().unwrap().port();
        let broker_port = ferrokafka_tests::tansu::free_port().expect("free port");
        // Set RUST_LOG=debug to see every request Tansu handles in this log.
        let logs = ferrokafka_tests::paths::logs_dir();
        std::fs::create_dir_all(&logs).expect("logs dir");
        let log = std::fs::File::create(logs.join(format!("tansu-recorded-{proxy_port}.log")))
            .expect("log file");
        let child = Command::new(&bin)
            .arg("broker")
            .args(["--listener-url", &format!("tcp://127.0.0.1:{broker_port}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{proxy_port}"),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn tansu");
        let recorded: Arc<Mutex<Recorded>> = Arc::default();
        let broker = Self {
            child,
            bin,
            broker_port,
            proxy_port,
            recorded: recorded.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", broker_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not start on {broker_port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::spawn(move || {
            for (conn, client) in (0u64..).zip(proxy.incoming()) {
                let Ok(client) = client else { return };
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", broker_port)) else {
                    return;
                };
                let (up, down) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let rec = recorded.clone();
                std::thread::spawn(move || relay(conn, client, upstream, &rec, true));
                let rec = recorded.clone();
                std::thread::spawn(move || relay(conn, down, up, &rec, false));
            }
        });
        broker
    }

    /// What clients use: the proxy (also the advertised address).
    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.proxy_port)
    }

    fn create_topic(&self, name: &str, partitions: u32) {
        let out = std::process::Command::new(&self.bin)
            .args(["topic", "create", name])
            .args(["--partitions", &partitions.to_string()])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.broker_port)])
            .output()
            .expect("run tansu topic create");
        assert!(out.status.success(), "create {name}: {out:?}");
    }

    fn requests(&self) -> Vec<Request> {
        self.recorded.lock().unwrap().requests.clone()
    }
}

/// Copies size-prefixed frames from `from` to `to`, recording each: requests when
/// `requests`, otherwise answers (matched to their request by correlation id).
fn relay(
    conn: u64,
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    recorded: &std::sync::Mutex<Recorded>,
    requests: bool,
) {
    use std::io::{Read, Write};
    loop {
        let mut size = [0u8; 4];
        if from.read_exact(&mut size).is_err() {
            break;
        }
        let mut frame = vec![0u8; u32::from_be_bytes(size) as usize];
        if from.read_exact(&mut frame).is_err() || frame.len() < 4 {
            break;
        }
        {
            let mut rec = recorded.lock().unwrap();
            if requests {
                let correlation = i32::from_be_bytes(frame[4..8].try_into().unwrap());
                let at = rec.requests.len();
                rec.open.insert((conn, correlation), at);
                rec.requests.push(Request {
                    api_key: i16::from_be_bytes([frame[0], frame[1]]),
                    version: i16::from_be_bytes([frame[2], frame[3]]),
                    frame: frame.clone(),
                    response: None,
                });
            } else {
                let correlation = i32::from_be_bytes(frame[0..4].try_into().unwrap());
                if let Some(at) = rec.open.remove(&(conn, correlation)) {
                    rec.requests[at].response = Some(frame.clone());
                }
            }
        }
        if to.write_all(&size).is_err() || to.write_all(&frame).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Request {
    /// A cursor on the body, past the request header (v1, or v2 with tagged fields when the
    /// request version is flexible).
    fn body(&self, flexible: bool) -> Cursor<'_> {
        let mut c = Cursor::new(&self.frame);
        c.take(8); // api key, version, correlation id
        let client_id = c.i16();
        if client_id > 0 {
            c.take(client_id as usize);
        }
        if flexible {
            c.skip_tags();
        }
        c
    }

    /// EndTxn: the `committed` flag.
    fn end_txn_committed(&self) -> bool {
        assert_eq!(self.api_key, API_END_TXN);
        let flexible = self.version >= 3;
        let mut c = self.body(flexible);
        c.string(flexible); // transactional id
        c.i64(); // producer id
        c.i16(); // epoch
        c.take(1)[0] != 0
    }

    /// EndTxn: the answer's error code, if it came.
    fn end_txn_error(&self) -> Option<i16> {
        assert_eq!(self.api_key, API_END_TXN);
        let response = self.response.as_ref()?;
        let mut c = Cursor::new(response);
        c.i32(); // correlation id
        if self.version >= 3 {
            c.skip_tags(); // response header v1
        }
        c.i32(); // throttle
        Some(c.i16())
    }

    /// AddPartitionsToTxn v0-3: the partitions added, as `topic/partition`.
    fn added_partitions(&self) -> Vec<String> {
        assert_eq!(self.api_key, API_ADD_PARTITIONS_TO_TXN);
        assert!(self.version <= 3, "client form only");
        let flexible = self.version >= 3;
        let mut c = self.body(flexible);
        c.string(flexible); // transactional id
        c.i64(); // producer id
        c.i16(); // epoch
        let mut out = Vec::new();
        for _ in 0..c.array_len(flexible) {
            let topic = c.string(flexible);
            for _ in 0..c.array_len(flexible) {
                out.push(format!("{topic}/{}", c.i32()));
            }
            if flexible {
                c.skip_tags();
            }
        }
        out.sort();
        out
    }
}

/// The producer id and epoch stamped on the first data segment of a log.
fn first_producer(log: &[Seg]) -> (i64, i16) {
    log.iter()
        .find_map(|s| match s {
            Seg::Data {
                producer_id, epoch, ..
            } => Some((*producer_id, *epoch)),
            Seg::Marker { .. } => None,
        })
        .expect("a data segment")
}

// ---------------------------------------------------------------------------------------------
// 1. One transaction over several partitions and two topics
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_spans_partitions_and_topics() {
    const PER_PARTITION: usize = 40;
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    let topics: [(&str, i32); 2] = [("orders", 3), ("audit", 2)];
    for (t, n) in topics {
        broker.create_topic(t, n as u32).expect("create topic");
    }
    let p = txn_producer(&bootstrap, "tx-span", &[("linger.ms", "5")]);
    bounded("init", p.init_transactions())
        .await
        .expect("init_transactions");
    p.begin_transaction().expect("begin");
    // Interleaved over the five partitions, so every request carries several of them.
    let mut expected: BTreeMap<(&str, i32), Vec<(String, String)>> = BTreeMap::new();
    let mut futures = Vec::new();
    for i in 0..PER_PARTITION {
        for (t, n) in topics {
            for part in 0..n {
                let (k, v) = (format!("{t}-{part}-k{i}"), format!("{t}-{part}-v{i}"));
                futures.push(send(&p, record(t, part, &k, &v)).await);
                expected.entry((t, part)).or_default().push((k, v));
            }
        }
    }
    // Acknowledged while the transaction is open: the records are in the log, but the last
    // stable offset stays at the transaction's first record.
    let metadata = await_all(futures, WAIT).await;
    for (t, n) in topics {
        for part in 0..n {
            let (hw, lso, _) = committed_view(&bootstrap, t, part).await;
            assert_eq!(
                (hw, lso),
                (PER_PARTITION as i64, 0),
                "{t}/{part} before the commit: (high watermark, last stable offset)"
            );
        }
    }
    let started = Instant::now();
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit_transaction");
    eprintln!("span: commit took {:?}", started.elapsed());

    // The offsets the producer reported are consecutive from 0 per partition.
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for md in &metadata {
        let n = next
            .entry((md.topic().to_owned(), md.partition()))
            .or_insert(0);
        assert_eq!(md.offset(), Some(*n), "{md:?}");
        *n += 1;
    }

    for (t, n) in topics {
        let want: BTreeMap<i32, Vec<(String, String)>> = (0..n)
            .map(|part| (part, expected[&(t, part)].clone()))
            .collect();
        let total = PER_PARTITION * n as usize;
        for isolation in [Isolation::ReadUncommitted, Isolation::ReadCommitted] {
            let got = read(&bootstrap, t, total, isolation).await;
            assert_eq!(got.len(), total, "{t} {isolation:?}: record count");
            for (part, rs) in by_partition(&got) {
                let offsets: Vec<i64> = rs.iter().map(|r| r.offset).collect();
                let want: Vec<i64> = (0..PER_PARTITION as i64).collect();
                assert_eq!(offsets, want, "{t}/{part} {isolation:?}: offsets");
            }
            assert_eq!(key_values(&got), want, "{t} {isolation:?}: records");
        }
        // The committed view now reaches the end of the log (the marker included).
        for part in 0..n {
            let (hw, lso, aborted) = committed_view(&bootstrap, t, part).await;
            assert_eq!(
                (hw, lso),
                (PER_PARTITION as i64 + 1, PER_PARTITION as i64 + 1)
            );
            assert_eq!(aborted, Some(Vec::new()));
        }
    }

    // The raw log of every partition: this producer's transactional data, then its COMMIT.
    let mut producers = BTreeSet::new();
    for (t, n) in topics {
        let logs = raw_log(&bootstrap, t, n).await;
        for (part, log) in &logs {
            let (pid, epoch) = first_producer(log);
            assert!(pid >= 0 && epoch >= 0, "{t}/{part}: stamped {pid}/{epoch}");
            producers.insert((pid, epoch));
            let keys = expected[&(t, *part)]
                .iter()
                .map(|(k, _)| k.clone())
                .collect();
            assert_eq!(
                log,
                &vec![data(pid, epoch, keys), marker(pid, epoch, COMMIT)],
                "{t}/{part}: raw log"
            );
        }
    }
    assert_eq!(
        producers.len(),
        1,
        "one producer id and epoch: {producers:?}"
    );
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 2. Abort, then commit
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_marker_then_commit_marker() {
    const ABORTED: usize = 15;
    const COMMITTED: usize = 10;
    const PARTITIONS: i32 = 2;
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("abort", 2).expect("create topic");
    let p = txn_producer(&bootstrap, "tx-abort", &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");

    let keys = |tag: &str, part: i32, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{tag}-{part}-{i}")).collect()
    };
    // Transaction A: sent and acknowledged, then aborted.
    p.begin_transaction().expect("begin A");
    let mut futures = Vec::new();
    for part in 0..PARTITIONS {
        for k in keys("aborted", part, ABORTED) {
            futures.push(send(&p, record("abort", part, &k, "a")).await);
        }
    }
    let acked = await_all(futures, WAIT).await;
    assert!(acked.iter().all(|md| md.offset().is_some()));
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort_transaction");

    // Transaction B: committed.
    p.begin_transaction().expect("begin B");
    let mut futures = Vec::new();
    for part in 0..PARTITIONS {
        for k in keys("committed", part, COMMITTED) {
            futures.push(send(&p, record("abort", part, &k, "c")).await);
        }
    }
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit_transaction");
    let committed = await_all(futures, WAIT).await;
    // After the aborted records and the ABORT marker.
    for md in &committed {
        let offset = md.offset().expect("offset");
        assert!(offset > ABORTED as i64, "{md:?}");
    }

    let logs = raw_log(&bootstrap, "abort", PARTITIONS).await;
    for (part, log) in &logs {
        let (pid, epoch) = first_producer(log);
        assert_eq!(
            log,
            &vec![
                data(pid, epoch, keys("aborted", *part, ABORTED)),
                marker(pid, epoch, ABORT),
                data(pid, epoch, keys("committed", *part, COMMITTED)),
                marker(pid, epoch, COMMIT),
            ],
            "abort/{part}: raw log"
        );
    }

    // read_uncommitted sees both transactions' records (this is Kafka behaviour too).
    let total = (ABORTED + COMMITTED) * PARTITIONS as usize;
    let all = read(&bootstrap, "abort", total, Isolation::ReadUncommitted).await;
    assert_eq!(all.len(), total);

    // --- PEER LIMITATION (Tansu 0.6.0), pinned on purpose ----------------------------------
    // A Kafka broker lists the aborted transaction (producer id, first offset 0) in a
    // read_committed Fetch, and a read_committed consumer skips its records. Tansu 0.6.0 writes
    // the ABORT marker (asserted above) but lists no aborted transaction, so librdkafka's
    // read_committed consumer returns the aborted records too. When Tansu fixes this these
    // assertions fail: then assert that read_committed returns only the committed records.
    let end = (ABORTED + COMMITTED + 2) as i64;
    for part in 0..PARTITIONS {
        let (hw, lso, aborted) = committed_view(&bootstrap, "abort", part).await;
        assert_eq!((hw, lso), (end, end), "abort/{part}");
        assert_eq!(
            aborted,
            Some(Vec::new()),
            "abort/{part}: Tansu now lists aborted transactions; update this test"
        );
    }
    let seen = read(&bootstrap, "abort", 0, Isolation::ReadCommitted).await;
    assert_eq!(
        key_values(&seen),
        key_values(&all),
        "Tansu now hides aborted records from read_committed; update this test"
    );
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Records still queued at abort
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_records_fail_with_transaction_aborted() {
    const QUEUED: usize = 40;
    let broker = RecordedTansu::start();
    let bootstrap = broker.bootstrap();
    broker.create_topic("unsent", 2);
    // A linger far longer than the test: nothing is sent unless flushed or committed.
    let p = txn_producer(&bootstrap, "tx-unsent", &[("linger.ms", "60000")]);
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    for i in 0..QUEUED {
        let part = (i % 2) as i32;
        futures.push(send(&p, record("unsent", part, &format!("dropped-{i}"), "x")).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, f) in futures.iter_mut().enumerate() {
        assert!(
            poll_now(f).is_none(),
            "record #{i} resolved before the abort"
        );
    }
    let before_abort = broker.requests().len();
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort_transaction");
    let after_abort = broker.requests().len();
    for (i, f) in futures.iter_mut().enumerate() {
        match poll_now(f) {
            Some(Err(e)) if e.kind() == ErrorKind::TransactionAborted => {}
            other => panic!("record #{i}: expected TransactionAborted, got {other:?}"),
        }
    }

    // What the producer sent for the aborted transaction: the partitions were added when the
    // records were queued (as Java does), no Produce request, then EndTxn(abort).
    let requests = broker.requests();
    let aborted_txn: Vec<&Request> = requests[..after_abort]
        .iter()
        .filter(|r| {
            matches!(
                r.api_key,
                API_PRODUCE | API_ADD_PARTITIONS_TO_TXN | API_END_TXN
            )
        })
        .collect();
    let summary: Vec<(i16, i16)> = aborted_txn.iter().map(|r| (r.api_key, r.version)).collect();
    eprintln!("unsent: requests of the aborted transaction (api key, version): {summary:?}");
    let added: Vec<String> = aborted_txn
        .iter()
        .filter(|r| r.api_key == API_ADD_PARTITIONS_TO_TXN)
        .flat_map(|r| r.added_partitions())
        .collect();
    assert_eq!(added, ["unsent/0", "unsent/1"], "{summary:?}");
    assert!(
        requests[..before_abort]
            .iter()
            .any(|r| r.api_key == API_ADD_PARTITIONS_TO_TXN),
        "AddPartitionsToTxn went out before the abort"
    );
    assert!(
        aborted_txn.iter().all(|r| r.api_key != API_PRODUCE),
        "a queued record was sent: {summary:?}"
    );
    let end = aborted_txn.last().expect("requests");
    assert_eq!(end.api_key, API_END_TXN, "{summary:?}");
    assert!(!end.end_txn_committed(), "EndTxn(abort)");

    // The producer goes on: a committed transaction after the aborted one.
    p.begin_transaction().expect("begin after abort");
    let mut futures = Vec::new();
    for i in 0..4 {
        let part = i % 2;
        futures.push(send(&p, record("unsent", part, &format!("kept-{i}"), "y")).await);
    }
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit after abort");
    await_all(futures, WAIT).await;

    // Only the committed records ever reached the broker.
    let read = read(&bootstrap, "unsent", 4, Isolation::ReadUncommitted).await;
    let mut keys: Vec<String> = read.iter().map(|r| utf8(r.key.as_deref())).collect();
    keys.sort();
    assert_eq!(keys, ["kept-0", "kept-1", "kept-2", "kept-3"]);
    let logs = raw_log(&bootstrap, "unsent", 2).await;
    for (part, log) in &logs {
        let (pid, epoch) = first_producer(log);
        let kept = vec![format!("kept-{part}"), format!("kept-{}", part + 2)];
        // Tansu 0.6.0 behaviour, pinned: the EndTxn(abort) of a transaction that wrote no data
        // leaves no ABORT marker, although both partitions were added to it (a Kafka broker
        // writes a marker to every partition added to the transaction; harmless either way).
        assert_eq!(
            log,
            &vec![data(pid, epoch, kept), marker(pid, epoch, COMMIT)],
            "unsent/{part}: raw log"
        );
    }
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 4. Fencing
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_producer_fences_older_one() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("fence", 1).expect("create topic");
    let first = txn_producer(&bootstrap, "tx-fence", &[("linger.ms", "5")]);
    bounded("init 1", first.init_transactions())
        .await
        .expect("init first");
    first.begin_transaction().expect("begin first");
    let before = send(&first, record("fence", 0, "first-committed", "1")).await;
    bounded("commit 1", first.commit_transaction())
        .await
        .expect("first commits before being fenced");
    await_all(vec![before], WAIT).await;

    let second = txn_producer(&bootstrap, "tx-fence", &[("linger.ms", "5")]);
    bounded("init 2", second.init_transactions())
        .await
        .expect("init second (fences the first)");

    // The zombie: begin is local, send queues, the commit finds out.
    first.begin_transaction().expect("begin is local");
    let zombie = send(&first, record("fence", 0, "zombie", "z")).await;
    let failure = txn_failure(
        bounded("zombie commit", first.commit_transaction()).await,
        "commit of the fenced producer",
    );
    eprintln!("fence: zombie commit: {failure:?}");
    assert!(
        matches!(failure.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
        "{failure:?}"
    );
    assert!(
        failure.to_string().contains("commit_transaction"),
        "{failure:?}"
    );
    let zombie_outcome = tokio::time::timeout(WAIT, zombie)
        .await
        .expect("zombie delivery resolves");
    eprintln!("fence: zombie delivery: {zombie_outcome:?}");
    assert!(zombie_outcome.is_err(), "{zombie_outcome:?}");
    // Fatal is sticky: every later transactional call fails the same way.
    let again = txn_failure(
        bounded("abort", first.abort_transaction()).await,
        "abort of the fenced producer",
    );
    assert!(
        matches!(again.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
        "{again:?}"
    );
    let again = match first.begin_transaction() {
        Err(f) if TXN_KINDS.contains(&f.kind()) => f,
        other => panic!("begin of the fenced producer: {other:?}"),
    };
    assert!(
        matches!(again.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
        "{again:?}"
    );

    // The new instance works.
    second.begin_transaction().expect("begin second");
    let after = send(&second, record("fence", 0, "second-committed", "2")).await;
    bounded("commit 2", second.commit_transaction())
        .await
        .expect("second commits");
    await_all(vec![after], WAIT).await;

    let read = read(&bootstrap, "fence", 2, Isolation::ReadUncommitted).await;
    let keys: Vec<String> = read.iter().map(|r| utf8(r.key.as_deref())).collect();
    assert_eq!(
        keys,
        ["first-committed", "second-committed"],
        "the zombie record is not written"
    );
    let logs = raw_log(&bootstrap, "fence", 1).await;
    let log = &logs[&0];
    let (pid, epoch) = first_producer(log);
    let Some(Seg::Data {
        producer_id: pid2,
        epoch: epoch2,
        ..
    }) = log.get(2)
    else {
        panic!("fence/0: {log:?}");
    };
    eprintln!("fence: first {pid}/{epoch}, second {pid2}/{epoch2}");
    // Same transactional.id: the same producer id, a higher epoch.
    assert_eq!(*pid2, pid, "{log:?}");
    assert!(*epoch2 > epoch, "{log:?}");
    assert_eq!(
        log,
        &vec![
            data(pid, epoch, vec!["first-committed".into()]),
            marker(pid, epoch, COMMIT),
            data(pid, *epoch2, vec!["second-committed".into()]),
            marker(pid, *epoch2, COMMIT),
        ]
    );
    first.close(Duration::from_secs(5)).await;
    second.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 5. send_offsets_to_transaction
// ---------------------------------------------------------------------------------------------

/// The group's committed offsets for `partitions` of `topic`, read by librdkafka (OffsetFetch).
async fn group_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<(i32, Offset, Option<String>)> {
    let (b, g, t) = (bootstrap.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", &g)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for part in 0..partitions {
            tpl.add_partition(&t, part);
        }
        let committed = consumer
            .committed_offsets(tpl, WAIT)
            .expect("committed offsets");
        committed
            .elements()
            .iter()
            .map(|e| {
                let metadata = Some(e.metadata().to_owned()).filter(|m| !m.is_empty());
                (e.partition(), e.offset(), metadata)
            })
            .collect()
    })
    .await
    .expect("consumer thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_with_the_transaction() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("consumed", 2).expect("create topic");
    broker.create_topic("produced", 1).expect("create topic");
    let p = txn_producer(&bootstrap, "tx-offsets", &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");

    // Aborted: the offsets must not be committed.
    p.begin_transaction().expect("begin aborted");
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(
            vec![OffsetToCommit {
                topic: "consumed".into(),
                partition: 0,
                offset: 1000,
                leader_epoch: None,
                metadata: None,
            }],
            GroupMetadata::new("group-aborted"),
        ),
    )
    .await
    .expect("send_offsets_to_transaction (to be aborted)");
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort");

    // Committed: records and offsets together.
    p.begin_transaction().expect("begin");
    let out = send(&p, record("produced", 0, "result", "r")).await;
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(
            vec![
                OffsetToCommit {
                    topic: "consumed".into(),
                    partition: 0,
                    offset: 42,
                    leader_epoch: None,
                    metadata: Some("m0".into()),
                },
                OffsetToCommit {
                    topic: "consumed".into(),
                    partition: 1,
                    offset: 7,
                    leader_epoch: None,
                    metadata: None,
                },
            ],
            GroupMetadata::new("group-committed"),
        ),
    )
    .await
    .expect("send_offsets_to_transaction");
    let pending = group_offsets(&bootstrap, "group-committed", "consumed", 2).await;
    eprintln!("offsets: before the commit: {pending:?}");
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit");
    await_all(vec![out], WAIT).await;

    let committed = group_offsets(&bootstrap, "group-committed", "consumed", 2).await;
    eprintln!("offsets: after the commit: {committed:?}");
    // Tansu 0.6.0 behaviour, pinned: it stores the offsets but returns no commit metadata
    // ("m0" was sent); it drops librdkafka's own OffsetCommit metadata the same way (below).
    assert_eq!(
        committed,
        vec![(0, Offset::Offset(42), None), (1, Offset::Offset(7), None)]
    );
    // Pending transactional offsets were not visible before the commit.
    assert_eq!(
        pending,
        vec![(0, Offset::Invalid, None), (1, Offset::Invalid, None)]
    );
    // librdkafka's OffsetCommit with metadata: Tansu keeps the offset, drops the metadata.
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", "group-librdkafka")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("consumed", 0, Offset::Offset(5))
            .expect("offset");
        tpl.elements_for_topic("consumed")[0].set_metadata("lib-md");
        consumer
            .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
            .expect("librdkafka commit");
    })
    .await
    .expect("consumer thread");
    let by_librdkafka = group_offsets(&bootstrap, "group-librdkafka", "consumed", 1).await;
    assert_eq!(by_librdkafka, vec![(0, Offset::Offset(5), None)]);

    let aborted = group_offsets(&bootstrap, "group-aborted", "consumed", 2).await;
    eprintln!("offsets: aborted group: {aborted:?}");
    assert_eq!(
        aborted,
        vec![(0, Offset::Invalid, None), (1, Offset::Invalid, None)]
    );
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 6. Calls in the wrong state
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_the_wrong_state_fail_at_once() {
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("state", 1).expect("create topic");

    // No transactional.id: every transactional call says so.
    let plain = producer(&bootstrap, &[]);
    let f = txn_failure(
        plain.init_transactions().await,
        "init without transactional.id",
    );
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    assert!(f.to_string().contains("transactional.id"), "{f:?}");
    let f = match plain.begin_transaction() {
        Err(f) if TXN_KINDS.contains(&f.kind()) => f,
        other => panic!("begin without transactional.id: {other:?}"),
    };
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    let f = txn_failure(
        plain.commit_transaction().await,
        "commit without transactional.id",
    );
    assert_eq!(f.kind(), ErrorKind::NotTransactional, "{f:?}");
    // ... and it still sends as a plain producer.
    let d = send(&plain, record("state", 0, "plain", "p")).await;
    await_all(vec![d], WAIT).await;
    plain.close(WAIT).await;

    let p = txn_producer(&bootstrap, "tx-state", &[("linger.ms", "5")]);
    let invalid = |r: Result<(), ProduceError>, what: &str, call: &str| {
        let f = txn_failure(r, what);
        assert_eq!(f.kind(), ErrorKind::InvalidState, "{what}: {f:?}");
        assert!(f.to_string().contains(call), "{what}: {f:?}");
        f
    };
    // Before init_transactions.
    let f = invalid(p.begin_transaction(), "begin before init", "begin");
    eprintln!("state: begin before init: {f}");
    // State errors are immediate: each call is answered on its first poll, before any request.
    invalid(
        ready_now("commit before init", p.commit_transaction()),
        "commit before init",
        "commit",
    );
    invalid(
        ready_now("abort before init", p.abort_transaction()),
        "abort before init",
        "abort",
    );

    bounded("init", p.init_transactions()).await.expect("init");
    invalid(
        bounded("init twice", p.init_transactions()).await,
        "init twice",
        "init",
    );
    // Ready, no transaction begun: the state errors are immediate (ready on the first poll).
    let f = invalid(
        ready_now("commit without begin", p.commit_transaction()),
        "commit without begin",
        "commit",
    );
    eprintln!("state: commit without begin: {f}");
    invalid(
        ready_now("abort without begin", p.abort_transaction()),
        "abort without begin",
        "abort",
    );
    invalid(
        ready_now(
            "send_offsets without begin",
            p.send_offsets_to_transaction(
                vec![OffsetToCommit {
                    topic: "state".into(),
                    partition: 0,
                    offset: 1,
                    leader_epoch: None,
                    metadata: None,
                }],
                GroupMetadata::new("g"),
            ),
        ),
        "send_offsets without begin",
        "send_offsets",
    );
    match p.send(record("state", 0, "outside", "o")).await {
        Err(e) if e.kind() == ErrorKind::InvalidState => {
            let message = e.to_string();
            eprintln!("state: send without begin: {message}");
            assert!(message.contains("send"), "{message}");
        }
        Err(other) => panic!("send without begin: expected an invalid state, got {other:?}"),
        Ok(_) => panic!("send without begin was queued"),
    }
    p.begin_transaction().expect("begin");
    invalid(p.begin_transaction(), "begin twice", "begin");

    // None of it broke the producer.
    let d = send(&p, record("state", 0, "inside", "i")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit");
    await_all(vec![d], WAIT).await;
    let read = read(&bootstrap, "state", 2, Isolation::ReadCommitted).await;
    let keys: Vec<String> = read.iter().map(|r| utf8(r.key.as_deref())).collect();
    assert_eq!(keys, ["plain", "inside"]);
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 7. Several transactions in a row
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_in_a_row_all_commit_in_order() {
    const TXNS: usize = 5;
    const PER_TXN: usize = 200;
    const PARTITIONS: i32 = 3;
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("row", 3).expect("create topic");
    let p = txn_producer(
        &bootstrap,
        "tx-row",
        &[("linger.ms", "5"), ("batch.size", "4096")],
    );
    bounded("init", p.init_transactions()).await.expect("init");
    let started = Instant::now();
    // Per partition, the keys in send order, and per transaction.
    let mut sent: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut per_txn: Vec<BTreeMap<i32, Vec<String>>> = Vec::new();
    let mut metadata = Vec::new();
    for t in 0..TXNS {
        p.begin_transaction().expect("begin");
        let mut futures = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for i in 0..PER_TXN {
            // Keyed (murmur2 partitioning), with a payload to make several batches.
            let key = format!("t{t}-r{i}");
            let value = format!("{key}-{}", "v".repeat(i % 50));
            futures.push(
                p.send(
                    ProducerRecord::new("row")
                        .with_key(key.clone())
                        .with_value(value),
                )
                .await
                .expect("send"),
            );
            keys.push(key);
        }
        if t == 0 {
            // Two callers committing at once (a clone of the producer): both get the outcome.
            let other = p.clone();
            let (a, b) = tokio::join!(
                bounded("commit", p.commit_transaction()),
                bounded("commit (clone)", other.commit_transaction())
            );
            a.expect("commit");
            b.expect("concurrent commit");
        } else {
            bounded("commit", p.commit_transaction())
                .await
                .expect("commit");
        }
        // Committing flushed: every future is already resolved.
        let mut this_txn: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for (mut f, key) in futures.into_iter().zip(keys) {
            let md = poll_now(&mut f)
                .expect("resolved by the commit")
                .expect("delivered");
            sent.entry(md.partition()).or_default().push(key.clone());
            this_txn
                .entry(md.partition())
                .or_default()
                .push(key.clone());
            metadata.push((key, md));
        }
        per_txn.push(this_txn);
    }
    eprintln!("row: {TXNS} transactions took {:?}", started.elapsed());

    let total = TXNS * PER_TXN;
    let got = read(&bootstrap, "row", total, Isolation::ReadCommitted).await;
    assert_eq!(got.len(), total, "record count");
    let distinct: BTreeSet<&[u8]> = got.iter().filter_map(|r| r.key.as_deref()).collect();
    assert_eq!(distinct.len(), total, "no duplicates");
    let got_keys: BTreeMap<i32, Vec<String>> = key_values(&got)
        .into_iter()
        .map(|(p, kv)| (p, kv.into_iter().map(|(k, _)| k).collect()))
        .collect();
    assert_eq!(got_keys, sent, "per-partition order");
    // The offsets the producer reported are the offsets read.
    let read_at: BTreeMap<String, (i32, i64)> = got
        .iter()
        .map(|r| (utf8(r.key.as_deref()), (r.partition, r.offset)))
        .collect();
    for (key, md) in &metadata {
        assert_eq!(
            Some(read_at[key]),
            md.offset().map(|o| (md.partition(), o)),
            "{key}"
        );
    }

    // Raw: per partition, each transaction's data followed by a COMMIT marker; one producer id
    // and epoch; base sequences continue across transactions (checked by `segments`).
    let logs = raw_log(&bootstrap, "row", PARTITIONS).await;
    for (part, log) in &logs {
        let (pid, epoch) = first_producer(log);
        let mut want = Vec::new();
        for txn in &per_txn {
            if let Some(keys) = txn.get(part) {
                want.push(data(pid, epoch, keys.clone()));
                want.push(marker(pid, epoch, COMMIT));
            }
        }
        assert_eq!(log, &want, "row/{part}: raw log");
    }
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 8. Abort racing records in flight
// ---------------------------------------------------------------------------------------------

/// Abort right after a burst of sends (no linger): some records are in flight, some queued.
/// Every future resolves, delivered or `TransactionAborted`; what was delivered is exactly what
/// the log holds before the ABORT marker; the next transaction commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_with_records_in_flight() {
    const BURST: usize = 3000;
    const PARTITIONS: i32 = 3;
    let broker = Tansu::start().expect("start tansu");
    let bootstrap = broker.bootstrap();
    broker.create_topic("race", 3).expect("create topic");
    let p = txn_producer(
        &bootstrap,
        "tx-race",
        &[("linger.ms", "0"), ("batch.size", "2048")],
    );
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    // Once the first record is acknowledged both partitions are in the transaction and the
    // records flow; the abort then lands in the middle of the burst.
    for i in 0..2 {
        let key = format!("first-{i}");
        let part = i % 2;
        futures.push((
            part,
            key.clone(),
            send(&p, record("race", part, &key, "f")).await,
        ));
    }
    let (_, _, first) = futures.last_mut().expect("a future");
    tokio::time::timeout(WAIT, first)
        .await
        .expect("first delivery")
        .expect("first delivered");
    for i in 0..BURST {
        let part = (i % 2) as i32;
        let key = format!("burst-{i}");
        futures.push((
            part,
            key.clone(),
            send(&p, record("race", part, &key, "b")).await,
        ));
    }
    // Partition 2 joins the transaction only now: its records wait for AddPartitionsToTxn,
    // which the abort overtakes, so some records are certainly still queued.
    for i in 0..10 {
        let key = format!("late-{i}");
        futures.push((2, key.clone(), send(&p, record("race", 2, &key, "l")).await));
    }
    bounded("abort", p.abort_transaction())
        .await
        .expect("abort_transaction");
    let mut delivered: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut aborted = 0;
    for (part, key, mut f) in futures {
        match poll_now(&mut f) {
            Some(Ok(md)) => {
                assert_eq!(md.partition(), part);
                delivered.entry(part).or_default().push(key);
            }
            Some(Err(e)) if e.kind() == ErrorKind::TransactionAborted => aborted += 1,
            other => panic!("{key}: {other:?} after abort_transaction returned"),
        }
    }
    let sent: usize = delivered.values().map(Vec::len).sum();
    eprintln!("race: {sent} delivered before the abort, {aborted} failed unsent");
    assert_eq!(sent + aborted, BURST + 12);
    assert!(aborted >= 10, "the late records were sent before the abort");

    p.begin_transaction().expect("begin after abort");
    let after = send(&p, record("race", 0, "after", "a")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit after abort");
    await_all(vec![after], WAIT).await;

    let logs = raw_log(&bootstrap, "race", PARTITIONS).await;
    for (part, log) in &logs {
        let (pid, epoch) = log
            .iter()
            .find_map(|s| match s {
                Seg::Marker {
                    producer_id, epoch, ..
                } => Some((*producer_id, *epoch)),
                Seg::Data { .. } => None,
            })
            .unwrap_or((-1, -1));
        let mut want = Vec::new();
        if let Some(keys) = delivered.get(part) {
            want.push(data(pid, epoch, keys.clone()));
            // Tansu writes markers only where the transaction wrote data (see
            // `unsent_records_fail_with_transaction_aborted`).
            want.push(marker(pid, epoch, ABORT));
        }
        if *part == 0 {
            want.push(data(pid, epoch, vec!["after".into()]));
            want.push(marker(pid, epoch, COMMIT));
        }
        assert_eq!(log, &want, "race/{part}: raw log");
    }
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 9. Fencing while a transaction is open
// ---------------------------------------------------------------------------------------------

/// The first producer's transaction is open (its record acknowledged) when a second one with
/// the same `transactional.id` initializes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_an_open_transaction() {
    let broker = RecordedTansu::start();
    let bootstrap = broker.bootstrap();
    broker.create_topic("fence-open", 1);
    let first = txn_producer(
        &bootstrap,
        "tx-fence-open",
        &[("linger.ms", "5"), ("max.block.ms", "3000")],
    );
    bounded("init 1", first.init_transactions())
        .await
        .expect("init first");
    first.begin_transaction().expect("begin first");
    let open = send(&first, record("fence-open", 0, "open", "o")).await;
    await_all(vec![open], WAIT).await;
    let (hw, lso, _) = committed_view(&bootstrap, "fence-open", 0).await;
    assert_eq!((hw, lso), (1, 0), "the first transaction is open");

    let second = txn_producer(&bootstrap, "tx-fence-open", &[("linger.ms", "5")]);
    bounded("init 2", second.init_transactions())
        .await
        .expect("init second");
    // The second init aborted the open transaction (ABORT marker at offset 1): nothing open.
    let (hw, lso, _) = committed_view(&bootstrap, "fence-open", 0).await;
    assert_eq!((hw, lso), (2, 2), "after the second init");

    let before = broker.requests().len();
    let zombie = bounded("zombie commit", first.commit_transaction()).await;
    eprintln!("fence-open: zombie commit: {zombie:?}");
    let end_txns: Vec<(bool, Option<i16>)> = broker.requests()[before..]
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .map(|r| (r.end_txn_committed(), r.end_txn_error()))
        .collect();
    eprintln!("fence-open: zombie EndTxn requests (committed, answer): {end_txns:?}");
    // --- PEER LIMITATION (Tansu 0.6.0), pinned on purpose ----------------------------------
    // A Kafka coordinator answers the zombie's EndTxn with PRODUCER_FENCED (the producer then
    // fails the commit as Fatal, as `newer_producer_fences_older_one` shows for
    // AddPartitionsToTxn). Tansu 0.6.0 logs `Storage(Api(ProducerFenced))` and closes the
    // connection without answering; the producer takes that as a lost request and sends
    // EndTxn again (Java does the same on a disconnect), until commit_transaction gives up
    // after max.block.ms.
    assert!(
        // "{operation} did not finish within ..."
        zombie
            .as_ref()
            .is_err_and(|e| e.kind() == ErrorKind::Timeout
                && e.to_string()
                    .starts_with("commit_transaction did not finish")),
        "{zombie:?}"
    );
    assert!(end_txns.len() >= 2, "EndTxn retried: {end_txns:?}");
    assert!(
        end_txns.iter().all(|&e| e == (true, None)),
        "Tansu now answers the fenced EndTxn; update this test: {end_txns:?}"
    );
    first.close(Duration::from_secs(2)).await;

    second.begin_transaction().expect("begin second");
    let d = send(&second, record("fence-open", 0, "second", "s")).await;
    bounded("commit 2", second.commit_transaction())
        .await
        .expect("second commits");
    await_all(vec![d], WAIT).await;

    let logs = raw_log(&bootstrap, "fence-open", 1).await;
    let log = &logs[&0];
    let (pid, epoch) = first_producer(log);
    // Tansu stamps the ABORT marker with the fenced epoch (Kafka would use the bumped one).
    assert_eq!(
        log,
        &vec![
            data(pid, epoch, vec!["open".into()]),
            marker(pid, epoch, ABORT),
            data(pid, epoch + 1, vec!["second".into()]),
            marker(pid, epoch + 1, COMMIT),
        ],
        "fence-open/0: raw log"
    );
    let (hw, lso, _) = committed_view(&bootstrap, "fence-open", 0).await;
    assert_eq!((hw, lso), (4, 4));
    second.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// 10. Empty transactions
// ---------------------------------------------------------------------------------------------

/// Begin then commit, and begin then abort, with nothing sent: both succeed on Tansu and the
/// producer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_transactions_complete() {
    let broker = RecordedTansu::start();
    let bootstrap = broker.bootstrap();
    broker.create_topic("empty", 1);
    let p = txn_producer(&bootstrap, "tx-empty", &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin 1");
    bounded("commit", p.commit_transaction())
        .await
        .expect("empty commit");
    p.begin_transaction().expect("begin 2");
    bounded("abort", p.abort_transaction())
        .await
        .expect("empty abort");
    let end_txns: Vec<(bool, Option<i16>)> = broker
        .requests()
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .map(|r| (r.end_txn_committed(), r.end_txn_error()))
        .collect();
    eprintln!("empty: EndTxn (committed, answer) for the two empty transactions: {end_txns:?}");
    // Whatever EndTxn goes out (see `empty_transactions_send_no_end_txn`), Tansu 0.6.0 accepts
    // it for an empty transaction (error code 0).
    assert!(
        end_txns.iter().all(|(_, answer)| *answer == Some(0)),
        "{end_txns:?}"
    );
    p.begin_transaction().expect("begin 3");
    let d = send(&p, record("empty", 0, "k", "v")).await;
    bounded("commit", p.commit_transaction())
        .await
        .expect("commit");
    await_all(vec![d], WAIT).await;
    let logs = raw_log(&bootstrap, "empty", 1).await;
    let (pid, epoch) = first_producer(&logs[&0]);
    assert_eq!(
        logs[&0],
        vec![
            data(pid, epoch, vec!["k".into()]),
            marker(pid, epoch, COMMIT)
        ]
    );
    p.close(WAIT).await;
}

/// Java's `TransactionManager` completes a transaction that never added a partition or offsets
/// locally (`transactionStarted` is false: no EndTxn). A Kafka coordinator answers EndTxn for a
/// transaction in state Empty (right after InitProducerId) with INVALID_TXN_STATE, and EndTxn(abort)
/// after a completed commit too, which Java treats as fatal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// Regression: an empty transaction used to send EndTxn (Kafka answers INVALID_TXN_STATE).
async fn empty_transactions_send_no_end_txn() {
    let broker = RecordedTansu::start();
    let bootstrap = broker.bootstrap();
    let p = txn_producer(&bootstrap, "tx-empty", &[("linger.ms", "5")]);
    bounded("init", p.init_transactions()).await.expect("init");
    p.begin_transaction().expect("begin 1");
    bounded("commit", p.commit_transaction())
        .await
        .expect("empty commit");
    p.begin_transaction().expect("begin 2");
    bounded("abort", p.abort_transaction())
        .await
        .expect("empty abort");
    let end_txns: Vec<bool> = broker
        .requests()
        .iter()
        .filter(|r| r.api_key == API_END_TXN)
        .map(Request::end_txn_committed)
        .collect();
    assert_eq!(end_txns, Vec::<bool>::new(), "EndTxn (committed?) sent");
    p.close(WAIT).await;
}
