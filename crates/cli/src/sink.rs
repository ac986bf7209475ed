//! The one seam between the CLI and a producer.
//!
//! `produce` and `perf` only talk to a [`Sink`]. Unit tests use `fake::FakeSink`;
//! the binary uses [`ProducerSink`], the adapter over `ferrokafka::Producer`
//! (at the end of this file).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;

/// One record as the CLI wants it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutRecord {
    pub(crate) topic: ferrokafka::Topic,
    /// `None`: let the producer's partitioner choose.
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    /// In order; a `None` value is a null header value.
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) partition: i32,
    /// `None` when the broker does not return one (acks=0).
    pub(crate) offset: Option<i64>,
    /// From the send call to the acknowledgement, as the producer measured it.
    pub(crate) latency: Duration,
    /// When the acknowledgement arrived, if the sink knows (the producer's own reading: a
    /// tally need not read the clock per record).
    pub(crate) acknowledged_at: Option<std::time::Instant>,
}

/// Hears the outcomes of records sent with [`Sink::send_reported`], by the number they were
/// sent with. Called from the producer's I/O task, possibly on another thread.
pub(crate) trait Reports: Send + Sync + 'static {
    fn report(&self, seq: u64, result: Result<Delivered, DeliveryFailure>);

    /// Several delivered records at once, acknowledged together (one batch's): their
    /// latencies in whole milliseconds, as runs of records with the same latency.
    fn delivered(&self, acknowledged_at: Option<std::time::Instant>, runs: &[LatencyRun]);
}

/// `records` delivered records whose latency was `ms` whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LatencyRun {
    pub(crate) ms: u64,
    pub(crate) records: u64,
}

/// Runs handed to [`Reports::delivered`] in one call at most.
const RUNS_PER_CALL: usize = 16;

/// Whole milliseconds counted from an origin: a latency is the difference of two readings,
/// as Java's tool takes it from `System.currentTimeMillis()`. Bucketing a batch's records
/// then needs the bounds of a reading (two instants) rather than a subtraction per record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MillisClock {
    origin: std::time::Instant,
}

impl MillisClock {
    /// Counts from a second before now (no send instant it reads comes before that).
    pub(crate) fn new() -> Self {
        let now = std::time::Instant::now();
        MillisClock {
            origin: now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
        }
    }

    /// The reading at `t` (0 before the origin).
    fn reading(&self, t: std::time::Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }

    /// The instants at which the reading becomes `ms` and `ms + 1`.
    fn bounds(&self, ms: u64) -> Option<(std::time::Instant, std::time::Instant)> {
        let lo = self.origin.checked_add(Duration::from_millis(ms))?;
        Some((lo, lo.checked_add(Duration::from_millis(1))?))
    }

    /// The latencies of records sent at `sent` (in any order; in send order, neighbours mostly
    /// share a reading) and acknowledged at `at`, as runs handed to `emit` up to
    /// [`RUNS_PER_CALL`] at a time.
    pub(crate) fn runs(
        &self,
        at: std::time::Instant,
        sent: impl Iterator<Item = std::time::Instant>,
        mut emit: impl FnMut(&[LatencyRun]),
    ) {
        let at_ms = self.reading(at);
        let mut runs = [LatencyRun { ms: 0, records: 0 }; RUNS_PER_CALL];
        let mut n = 0;
        // Instants in [lo, hi) have the current run's reading; empty until the first record.
        let (mut lo, mut hi) = (at, at);
        for s in sent {
            if !(lo <= s && s < hi) {
                let ms = self.reading(s);
                (lo, hi) = self.bounds(ms).unwrap_or((s, s));
                if n == RUNS_PER_CALL {
                    emit(&runs);
                    n = 0;
                }
                runs[n] = LatencyRun {
                    ms: at_ms.saturating_sub(ms),
                    records: 0,
                };
                n += 1;
            }
            runs[n - 1].records += 1;
        }
        if n > 0 {
            emit(&runs[..n]);
        }
    }
}

/// Why a record was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryFailure {
    /// The producer's message.
    pub(crate) message: String,
    /// Its request was in flight and never answered: the broker may have written it.
    pub(crate) outcome_unknown: bool,
}

impl std::fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The outcome of one accepted record; resolves once the broker answered
/// (or the producer gave up).
pub(crate) type Pending = Pin<Box<dyn Future<Output = Result<Delivered, DeliveryFailure>>>>;

/// `send` did not accept the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub(crate) message: String,
    /// `true` when later records cannot succeed either (producer closed, metadata or
    /// buffer wait timed out, ...): the CLI stops sending. `false` for errors about
    /// this record only (too large, bad partition, ...): the CLI counts it and goes on.
    pub(crate) fatal: bool,
}

/// Why no sink could be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The properties were rejected; exit code 2. The message names the key.
    Config(String),
    /// Anything else; exit code 1.
    Other(String),
}

/// What the CLI needs from a producer.
///
/// Calls come from one task; the futures need not be `Send`.
pub(crate) trait Sink {
    /// Hands one record to the producer. May wait for metadata or buffer space
    /// (the producer's `max.block.ms`); must not wait for the delivery itself.
    async fn send(&self, record: OutRecord) -> Result<Pending, Rejected>;

    /// Like [`send`](Self::send), but the outcome goes to `reports` with `seq` instead of a
    /// future, and the record is borrowed (the producer copies it): nothing allocated, built
    /// or polled per record (what `perf` uses, sending one record again and again; one
    /// `reports` per sink). `key`, when given, is the record's key instead of `record.key`
    /// (so a record sent again and again can change its key without being rebuilt).
    fn send_reported<'a>(
        &'a self,
        record: &'a OutRecord,
        key: Option<&'a [u8]>,
        reports: &'a Arc<dyn Reports>,
        seq: u64,
    ) -> impl Future<Output = Result<(), Rejected>> + 'a;

    /// [`send_reported`](Self::send_reported) done at once, if the record can be queued
    /// without waiting: no future per record. `None` when it cannot (it must wait, or this
    /// sink has no such path): nothing was sent; send it with `send_reported`.
    fn try_send_reported(
        &self,
        _record: &OutRecord,
        _key: Option<&[u8]>,
        _reports: &Arc<dyn Reports>,
        _seq: u64,
    ) -> Option<Result<(), Rejected>> {
        None
    }

    /// Waits until every accepted record has completed, at most `timeout`.
    async fn flush(&self, timeout: Duration) -> Result<(), String>;

    /// Flushes and shuts the producer down, at most `timeout`.
    async fn close(&self, timeout: Duration);

    /// `init_transactions` (needs `transactional.id`).
    async fn init_transactions(&self) -> Result<(), String>;

    /// `begin_transaction`.
    fn begin_transaction(&self) -> Result<(), String>;

    /// `commit_transaction` (`commit`) or `abort_transaction`.
    async fn end_transaction(&self, commit: bool) -> Result<(), String>;

    /// The producer's metrics as Java's tools name them (`group:name:{tags}`), with values.
    fn metrics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// `call failed: message`, unless the producer's message already starts with the call's name
/// (its transactional errors do), so it is never said twice.
pub(crate) fn failed(call: &str, message: &str) -> String {
    if message.starts_with(call) {
        message.to_owned()
    } else {
        format!("{call} failed: {message}")
    }
}

// ======================================================================
// The real producer adapter.
// ======================================================================

/// The adapter over [`ferrokafka::Producer`].
pub(crate) struct ProducerSink {
    producer: ferrokafka::Producer,
    client_id: String,
    /// The producer-side reporter of the CLI's `Reports`, made at the first reported send.
    reporter: OnceLock<(Arc<dyn Reports>, Arc<dyn ferrokafka::DeliveryReporter>)>,
}

impl std::fmt::Debug for ProducerSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerSink")
            .field("producer", &self.producer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Hands the producer's reports to the CLI's, converted.
struct ReportsAdapter {
    reports: Arc<dyn Reports>,
    clock: MillisClock,
}

impl ReportsAdapter {
    fn new(reports: &Arc<dyn Reports>) -> Self {
        ReportsAdapter {
            reports: Arc::clone(reports),
            clock: MillisClock::new(),
        }
    }
}

impl ferrokafka::DeliveryReporter for ReportsAdapter {
    fn report(
        &self,
        tag: u64,
        result: Result<ferrokafka::RecordMetadata, ferrokafka::ProduceError>,
    ) {
        self.reports.report(tag, outcome(result));
    }

    /// A delivered batch goes to the CLI's reports in one call (a failed one record by record,
    /// with its message).
    fn report_batch(&self, batch: &ferrokafka::ReportedBatch<'_>) {
        if batch.error().is_some() {
            for (tag, result) in batch.outcomes() {
                self.reports.report(tag, outcome(result));
            }
            return;
        }
        let at = batch.acknowledged_at();
        self.clock
            .runs(at, batch.records().map(|r| r.sent_at()), |runs| {
                self.reports.delivered(Some(at), runs);
            });
    }
}

/// Opens the real producer from ordered `(key, value)` properties (inside the runtime); also
/// returns the configuration's warnings, one line each.
#[expect(
    clippy::unused_async,
    reason = "Producer::new must run inside the runtime; async keeps that explicit"
)]
pub(crate) async fn open(
    props: &[(String, String)],
) -> Result<(ProducerSink, Vec<String>), OpenError> {
    let config = ferrokafka::ProducerConfig::from_properties(
        props.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|e| OpenError::Config(e.to_string()))?;
    // What the cross-checks changed (idempotence turned off by acks=1, ...), as Java logs it.
    let warnings = config.warnings().iter().map(ToString::to_string).collect();
    let client_id = if config.client_id.is_empty() {
        "ferrokafka".to_owned()
    } else {
        config.client_id.clone()
    };
    let producer =
        ferrokafka::Producer::new(config).map_err(|e| OpenError::Other(e.to_string()))?;
    Ok((
        ProducerSink {
            producer,
            client_id,
            reporter: OnceLock::new(),
        },
        warnings,
    ))
}

/// Whether a refused send means later records cannot succeed either: every refusal but one
/// of the record itself (invalid, too large, not serializable).
fn is_fatal(e: &ferrokafka::ProduceError) -> bool {
    use ferrokafka::ErrorKind;
    !matches!(
        e.kind(),
        ErrorKind::InvalidRecord | ErrorKind::RecordTooLarge | ErrorKind::Serialization
    )
}

fn producer_record(record: OutRecord) -> ferrokafka::ProducerRecord {
    let mut rec = ferrokafka::ProducerRecord::new(record.topic);
    if let Some(p) = record.partition {
        rec = rec.with_partition(p);
    }
    if let Some(k) = record.key {
        rec = rec.with_key(k);
    }
    if let Some(v) = record.value {
        rec = rec.with_value(v);
    }
    for (name, value) in record.headers {
        rec = rec.with_header(name, value);
    }
    rec
}

fn outcome(
    result: Result<ferrokafka::RecordMetadata, ferrokafka::ProduceError>,
) -> Result<Delivered, DeliveryFailure> {
    result
        .map(|md| Delivered {
            partition: md.partition(),
            offset: md.offset(),
            latency: md.latency(),
            acknowledged_at: Some(md.acknowledged_at()),
        })
        .map_err(|e| DeliveryFailure {
            outcome_unknown: e.outcome_unknown(),
            message: e.to_string(),
        })
}

fn rejected(e: &ferrokafka::ProduceError) -> Rejected {
    Rejected {
        fatal: is_fatal(e),
        message: e.to_string(),
    }
}

/// A reported send's future: the borrowed record's send as the producer returns it (no layer
/// around it that would make it larger: the perf loop moves it per record), or any other send
/// boxed.
enum Sent<'a, F> {
    Borrowed(F),
    Other(Pin<Box<dyn Future<Output = Result<(), ferrokafka::ProduceError>> + Send + 'a>>),
}

impl<F> Future for Sent<'_, F>
where
    F: Future<Output = Result<(), ferrokafka::ProduceError>> + Unpin,
{
    type Output = Result<(), Rejected>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let sent = match &mut *self {
            Sent::Borrowed(f) => Pin::new(f).poll(cx),
            Sent::Other(f) => f.as_mut().poll(cx),
        };
        sent.map_err(|e| rejected(&e))
    }
}

/// `record` with `key` (when given) as its key, borrowed: its parts are copied into the batch,
/// no record built per send. `None` for a record with headers (sent owned).
fn borrowed<'a>(
    record: &'a OutRecord,
    key: Option<&'a [u8]>,
) -> Option<ferrokafka::BorrowedRecord<'a>> {
    if !record.headers.is_empty() {
        return None;
    }
    let mut borrowed = ferrokafka::BorrowedRecord::new(&record.topic);
    if let Some(p) = record.partition {
        borrowed = borrowed.with_partition(p);
    }
    if let Some(k) = key.or(record.key.as_deref()) {
        borrowed = borrowed.with_key(k);
    }
    if let Some(v) = &record.value {
        borrowed = borrowed.with_value(v);
    }
    Some(borrowed)
}

impl ProducerSink {
    /// The producer-side reporter of `reports` when it is this sink's one (the first it was
    /// given; made then).
    fn adapter(
        &self,
        reports: &Arc<dyn Reports>,
    ) -> Option<&Arc<dyn ferrokafka::DeliveryReporter>> {
        let (first, adapter) = self.reporter.get_or_init(|| {
            let adapter: Arc<dyn ferrokafka::DeliveryReporter> =
                Arc::new(ReportsAdapter::new(reports));
            (Arc::clone(reports), adapter)
        });
        std::ptr::addr_eq(Arc::as_ptr(first), Arc::as_ptr(reports)).then_some(adapter)
    }
}

/// `record`, owned, with `key` (when given) as its key.
fn with_key(record: &OutRecord, key: Option<&[u8]>) -> OutRecord {
    let mut owned = record.clone();
    if let Some(k) = key {
        owned.key = Some(Bytes::copy_from_slice(k));
    }
    owned
}

impl Sink for ProducerSink {
    fn metrics(&self) -> Vec<(String, f64)> {
        self.producer
            .metrics()
            .all()
            .into_iter()
            .map(|m| {
                let mut tags = format!("client-id={}", self.client_id);
                if let Some((key, value)) = m.tag {
                    tags = format!("{tags}, {key}={value}");
                }
                (format!("{}:{}:{{{tags}}}", m.group, m.name), m.value)
            })
            .collect()
    }

    async fn send(&self, record: OutRecord) -> Result<Pending, Rejected> {
        match self.producer.send(producer_record(record)).await {
            Ok(delivery) => Ok(Box::pin(async move { outcome(delivery.await) })),
            Err(e) => Err(rejected(&e)),
        }
    }

    // Not an `async fn`: the record goes from here straight into the producer's send future,
    // rather than being copied into one more future first (see the producer's `enqueue`).
    fn send_reported<'a>(
        &'a self,
        record: &'a OutRecord,
        key: Option<&'a [u8]>,
        reports: &'a Arc<dyn Reports>,
        seq: u64,
    ) -> impl Future<Output = Result<(), Rejected>> + 'a {
        let Some(adapter) = self.adapter(reports) else {
            // One `Reports` per sink is the rule; another one still gets its reports.
            let other: Arc<dyn ferrokafka::DeliveryReporter> =
                Arc::new(ReportsAdapter::new(reports));
            let owned = with_key(record, key);
            return Sent::Other(Box::pin(async move {
                self.producer
                    .send_reported(producer_record(owned), &other, seq)
                    .await
            }));
        };
        if let Some(borrowed) = borrowed(record, key) {
            return Sent::Borrowed(self.producer.send_borrowed_reported(borrowed, adapter, seq));
        }
        let sent =
            self.producer
                .send_reported(producer_record(with_key(record, key)), adapter, seq);
        Sent::Other(Box::pin(sent))
    }

    fn try_send_reported(
        &self,
        record: &OutRecord,
        key: Option<&[u8]>,
        reports: &Arc<dyn Reports>,
        seq: u64,
    ) -> Option<Result<(), Rejected>> {
        let adapter = self.adapter(reports)?;
        let borrowed = borrowed(record, key)?;
        match self
            .producer
            .try_send_borrowed_reported(borrowed, adapter, seq)
        {
            Ok(ferrokafka::TrySend::Queued) => Some(Ok(())),
            Ok(ferrokafka::TrySend::MustWait) => None,
            Err(e) => Some(Err(rejected(&e))),
        }
    }

    async fn flush(&self, timeout: Duration) -> Result<(), String> {
        self.producer
            .flush(timeout)
            .await
            .map_err(|e| e.to_string())
    }

    async fn close(&self, timeout: Duration) {
        self.producer.close(timeout).await;
    }

    async fn init_transactions(&self) -> Result<(), String> {
        self.producer
            .init_transactions()
            .await
            .map_err(|e| e.to_string())
    }

    fn begin_transaction(&self) -> Result<(), String> {
        self.producer.begin_transaction().map_err(|e| e.to_string())
    }

    async fn end_transaction(&self, commit: bool) -> Result<(), String> {
        let result = if commit {
            self.producer.commit_transaction().await
        } else {
            self.producer.abort_transaction().await
        };
        result.map_err(|e| e.to_string())
    }
}

// ======================================================================
// END OF REAL PRODUCER ADAPTER
// ======================================================================

#[cfg(test)]
mod millis_tests {
    use std::time::{Duration, Instant};

    use super::{LatencyRun, MillisClock, RUNS_PER_CALL};

    /// Every record's run holds the difference of its two readings, whatever the order of the
    /// send instants, across reading boundaries and over more runs than one call takes.
    #[test]
    fn runs_hold_each_record_s_difference_of_readings() {
        let clock = MillisClock::new();
        let base = clock.origin + Duration::from_secs(2);
        let at = base + Duration::from_micros(40_300);
        // Send order, sub-millisecond steps across boundaries, then a few out of order, then
        // one sent after the acknowledgement's reading (latency 0) and one before the origin.
        let mut sent: Vec<Instant> = (0..200u64)
            .map(|i| base + Duration::from_micros(i * 170))
            .collect();
        sent.extend([base, at, base + Duration::from_micros(33_999)]);
        sent.push(at + Duration::from_micros(500));
        sent.push(
            clock
                .origin
                .checked_sub(Duration::from_millis(5))
                .unwrap_or(clock.origin),
        );
        let mut got = Vec::new();
        let mut calls = 0;
        clock.runs(at, sent.iter().copied(), |runs| {
            assert!(!runs.is_empty() && runs.len() <= RUNS_PER_CALL);
            calls += 1;
            got.extend(
                runs.iter()
                    .flat_map(|r| std::iter::repeat_n(r.ms, r.records as usize)),
            );
        });
        let reading = |t: Instant| t.saturating_duration_since(clock.origin).as_millis() as u64;
        let want: Vec<u64> = sent
            .iter()
            .map(|&s| reading(at).saturating_sub(reading(s)))
            .collect();
        assert_eq!(got, want);
        assert!(calls > 1, "{calls} calls for {} readings", want.len());
        assert_eq!(want[0], 40, "the first record: 40.3 ms, readings 40 apart");
        assert!(want.contains(&0));
    }

    #[test]
    fn runs_of_no_records_emit_nothing() {
        let clock = MillisClock::new();
        let mut called = false;
        clock.runs(Instant::now(), std::iter::empty(), |_| called = true);
        assert!(!called);
        let mut one = Vec::new();
        let now = Instant::now();
        clock.runs(now, std::iter::once(now), |runs| {
            one.extend_from_slice(runs);
        });
        assert_eq!(one, [LatencyRun { ms: 0, records: 1 }]);
    }
}

/// A scripted in-memory sink for tests.
#[cfg(test)]
mod failed_tests {
    #[test]
    fn the_call_is_named_once() {
        assert_eq!(
            super::failed(
                "commit_transaction",
                "commit_transaction failed: the transaction must be aborted (x)"
            ),
            "commit_transaction failed: the transaction must be aborted (x)"
        );
        assert_eq!(
            super::failed("flush", "timed out"),
            "flush failed: timed out"
        );
    }
}

#[cfg(test)]
pub(crate) mod fake {
    use std::cell::RefCell;
    use std::collections::{HashMap, VecDeque};

    use bytes::Bytes;
    use std::rc::Rc;
    use std::time::Duration;

    use std::sync::Arc;

    use super::{Delivered, DeliveryFailure, OutRecord, Pending, Rejected, Reports, Sink};

    #[derive(Default)]
    pub(crate) struct State {
        /// Every record `send` accepted, in order.
        pub(crate) accepted: Vec<OutRecord>,
        /// Number of `send` calls (accepted or not).
        pub(crate) sends: usize,
        /// Accepted but not yet resolved deliveries.
        pub(crate) outstanding: usize,
        pub(crate) max_outstanding: usize,
        pub(crate) closed: bool,
        /// Transactional calls in order: "init", "begin", "commit", "abort", "flush".
        pub(crate) calls: Vec<&'static str>,
        /// `send_reported` deliveries not reported yet: later sends to wait for, outcome,
        /// who hears of it, its number.
        reports: VecDeque<Unreported>,
    }

    /// Later sends to wait for, outcome, who hears of it, the record's number.
    type Unreported = (
        u32,
        Result<Delivered, DeliveryFailure>,
        Arc<dyn Reports>,
        u64,
    );

    impl std::fmt::Debug for State {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("State")
                .field("sends", &self.sends)
                .field("outstanding", &self.outstanding)
                .field("closed", &self.closed)
                .field("calls", &self.calls)
                .field("unreported", &self.reports.len())
                .finish_non_exhaustive()
        }
    }

    /// Behaviour is keyed by the 0-based index of the `send` call.
    #[derive(Debug, Default)]
    pub(crate) struct FakeSink {
        pub(crate) state: Rc<RefCell<State>>,
        /// Deliveries that resolve to this error.
        fail_delivery: HashMap<usize, DeliveryFailure>,
        /// Sends that are rejected (`fatal` flag).
        reject: HashMap<usize, bool>,
        /// Deliveries stay pending for this many polls (models a round trip).
        pending_polls: u32,
        partitions: i32,
        /// The 0-based index of the commit that fails.
        fail_commit: Option<usize>,
    }

    impl FakeSink {
        pub(crate) fn new() -> Self {
            Self {
                partitions: 3,
                ..Self::default()
            }
        }

        pub(crate) fn fail_delivery(mut self, index: usize, msg: &str) -> Self {
            self.fail_delivery.insert(
                index,
                DeliveryFailure {
                    message: msg.to_owned(),
                    outcome_unknown: false,
                },
            );
            self
        }

        /// A delivery that fails with an unknown outcome (its request was never answered).
        pub(crate) fn fail_delivery_unknown(mut self, index: usize, msg: &str) -> Self {
            self.fail_delivery.insert(
                index,
                DeliveryFailure {
                    message: msg.to_owned(),
                    outcome_unknown: true,
                },
            );
            self
        }

        pub(crate) fn reject(mut self, index: usize, fatal: bool) -> Self {
            self.reject.insert(index, fatal);
            self
        }

        pub(crate) fn fail_commit(mut self, index: usize) -> Self {
            self.fail_commit = Some(index);
            self
        }

        pub(crate) fn slow(mut self, pending_polls: u32) -> Self {
            self.pending_polls = pending_polls;
            self
        }

        pub(crate) fn accepted(&self) -> Vec<OutRecord> {
            self.state.borrow().accepted.clone()
        }
    }

    /// Pending (and immediately re-woken) for the given number of polls.
    struct PendingFor(u32);

    impl std::future::Future for PendingFor {
        type Output = ();
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            if self.0 == 0 {
                std::task::Poll::Ready(())
            } else {
                self.0 -= 1;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        }
    }

    impl FakeSink {
        /// The scripted fate of the next `send` call: refused, or accepted with the outcome
        /// its delivery will have.
        fn accept(
            &self,
            record: OutRecord,
        ) -> Result<Result<Delivered, DeliveryFailure>, Rejected> {
            let mut st = self.state.borrow_mut();
            let index = st.sends;
            st.sends += 1;
            if let Some(&fatal) = self.reject.get(&index) {
                return Err(Rejected {
                    message: format!("rejected send {index}"),
                    fatal,
                });
            }
            let partition = record.partition.unwrap_or(index as i32 % self.partitions);
            let offset = st
                .accepted
                .iter()
                .filter(|r| r.partition == record.partition)
                .count();
            st.accepted.push(record);
            st.outstanding += 1;
            st.max_outstanding = st.max_outstanding.max(st.outstanding);
            Ok(match self.fail_delivery.get(&index) {
                Some(msg) => Err(msg.clone()),
                None => Ok(Delivered {
                    partition,
                    offset: Some(offset as i64),
                    latency: Duration::ZERO,
                    acknowledged_at: None,
                }),
            })
        }

        /// A reported send: accepted (or refused) at once, reported once its round trip is
        /// over.
        fn queue_reported(
            &self,
            record: &OutRecord,
            key: Option<&[u8]>,
            reports: &Arc<dyn Reports>,
            seq: u64,
        ) -> Result<(), Rejected> {
            let mut record = record.clone();
            if let Some(k) = key {
                record.key = Some(Bytes::copy_from_slice(k));
            }
            let result = self.accept(record)?;
            self.state.borrow_mut().reports.push_back((
                self.pending_polls,
                result,
                Arc::clone(reports),
                seq,
            ));
            self.report_due(false);
            Ok(())
        }

        /// Reports the reported deliveries whose round trip is over: each waits for
        /// `pending_polls` later sends (or a flush, commit or close, which report them all).
        fn report_due(&self, all: bool) {
            loop {
                let due = {
                    let mut st = self.state.borrow_mut();
                    match st.reports.front_mut() {
                        Some(front) if all || front.0 == 0 => st.reports.pop_front(),
                        Some(_) | None => None,
                    }
                };
                let Some((_, result, reports, seq)) = due else {
                    break;
                };
                self.state.borrow_mut().outstanding -= 1;
                reports.report(seq, result);
            }
            for r in &mut self.state.borrow_mut().reports {
                r.0 = r.0.saturating_sub(1);
            }
        }
    }

    impl Sink for FakeSink {
        async fn send(&self, record: OutRecord) -> Result<Pending, Rejected> {
            let result = self.accept(record)?;
            let state = Rc::clone(&self.state);
            let pending_polls = self.pending_polls;
            Ok(Box::pin(async move {
                PendingFor(pending_polls).await;
                state.borrow_mut().outstanding -= 1;
                result
            }))
        }

        async fn send_reported(
            &self,
            record: &OutRecord,
            key: Option<&[u8]>,
            reports: &Arc<dyn Reports>,
            seq: u64,
        ) -> Result<(), Rejected> {
            self.queue_reported(record, key, reports, seq)
        }

        /// Odd records only, so a run takes both of the loop's paths.
        fn try_send_reported(
            &self,
            record: &OutRecord,
            key: Option<&[u8]>,
            reports: &Arc<dyn Reports>,
            seq: u64,
        ) -> Option<Result<(), Rejected>> {
            (seq % 2 == 1).then(|| self.queue_reported(record, key, reports, seq))
        }

        async fn flush(&self, _timeout: Duration) -> Result<(), String> {
            self.report_due(true);
            self.state.borrow_mut().calls.push("flush");
            Ok(())
        }

        async fn init_transactions(&self) -> Result<(), String> {
            self.state.borrow_mut().calls.push("init");
            Ok(())
        }

        fn begin_transaction(&self) -> Result<(), String> {
            self.state.borrow_mut().calls.push("begin");
            Ok(())
        }

        async fn end_transaction(&self, commit: bool) -> Result<(), String> {
            if commit {
                self.report_due(true);
            }
            let mut st = self.state.borrow_mut();
            if st.outstanding > 0 && !commit {
                return Err("abort with deliveries outstanding".to_owned());
            }
            let commits_before = st.calls.iter().filter(|c| **c == "commit").count();
            st.calls.push(if commit { "commit" } else { "abort" });
            if commit && self.fail_commit == Some(commits_before) {
                return Err("TRANSACTION_ABORTABLE: injected".to_owned());
            }
            Ok(())
        }

        async fn close(&self, _timeout: Duration) {
            self.report_due(true);
            self.state.borrow_mut().closed = true;
        }

        fn metrics(&self) -> Vec<(String, f64)> {
            let sent = f64::from(u32::try_from(self.state.borrow().accepted.len()).unwrap_or(0));
            vec![
                (
                    "producer-metrics:record-send-total:{client-id=fake}".to_owned(),
                    sent,
                ),
                (
                    "producer-topic-metrics:byte-rate:{client-id=fake, topic=t}".to_owned(),
                    12.5,
                ),
            ]
        }
    }
}
