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

mod millis;

use millis::MillisClock;
pub(crate) use millis::whole_ms;

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
pub(crate) mod fake;
