//! The `Producer`: sends records through the engine, pumped by the driver task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrokafka_engine::{
    BatchId, Engine, EngineConfig, Event, GroupMetadata, OffsetToCommit, OutgoingRecord, SendError,
    TxnCall, TxnFailure,
};
use ferrokafka_metadata::MetadataError;
use ferrokafka_partition::PartitionerConfig;
use ferrokafka_wire::Topic;
use tokio::sync::Notify;
use tokio::sync::oneshot;

use crate::config::ProducerConfig;
use crate::driver;
use crate::error::ProduceError;
use crate::metrics::{Metrics, MetricsState};
use crate::record::{
    BatchOutcome, BatchSlot, BorrowedRecord, Callback, DeliveryFuture, DeliveryReporter, Listen,
    Listener, ProducerRecord, Queued, SlotEntry, Spares, SplitParts,
};

/// What [`Producer::try_send_borrowed_reported`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum TrySend {
    /// Queued: its outcome goes to the reporter.
    Queued,
    /// Not queued, and the reporter will not hear of it: send it with a send that can wait
    /// ([`Producer::send_borrowed_reported`]).
    MustWait,
}

/// How long `close` keeps the connections of an acks=0 producer open after the last write.
pub(crate) const ACKS0_CLOSE_GRACE: Duration = Duration::from_millis(200);

mod enqueue;
mod setup;
mod shared;
mod transactions;

use enqueue::{Enqueue, Sending};
use setup::{engine_config, entropy_seed, oauth_source};
pub(crate) use shared::{Shared, State, apply_slot_actions};

/// Ends the driver when the last handle goes away: closing delivers what is queued (bounded by
/// `delivery.timeout.ms`), so no future is left unresolved.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().engine.close();
        self.shared.handles_dropped.store(true, Ordering::SeqCst);
        self.shared.wake_driver.notify_one();
    }
}

/// An asynchronous Kafka producer (Java `KafkaProducer`). Cheap to clone; all clones share one
/// set of connections and one buffer. The last clone dropped closes it, still delivering what
/// was queued (bounded by `delivery.timeout.ms`).
#[derive(Clone)]
pub struct Producer {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("client_id", &self.handle.shared.config.client_id)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// Starts a producer: spawns its I/O task on the current tokio runtime. Connections open
    /// lazily, on the first send.
    /// # Example
    ///
    /// ```
    /// use ferrokafka::{Producer, ProducerConfig};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().build());
    /// let config = ProducerConfig::builder()
    ///     .bootstrap_servers("broker-1.fake.invalid:9092") // your brokers
    /// #   .transport(fake.transport())
    ///     .set("linger.ms", "5")
    ///     .build()?;
    /// // Inside a tokio runtime: the producer's I/O runs on a task of its own.
    /// let producer = Producer::new(config)?;
    /// # drop(producer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(config: ProducerConfig) -> Result<Self, ProduceError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ProduceError::no_runtime())?;
        let now = clock_now();
        let mut pc: PartitionerConfig = config.partitioner_config();
        pc.seed = entropy_seed();
        let partitioner = match &config.custom_partitioner.0 {
            Some(make) => make(),
            None => ferrokafka_partition::by_name_with(&config.partitioner, &pc)
                .map_err(|e| ProduceError::setup(format!("partitioner: {e}")))?,
        };
        let engine = Engine::new(engine_config(&config), partitioner, now)
            .map_err(|e| ProduceError::setup(e.to_string()))?;
        // Certificates and keys are read now, so a bad path or key fails here, naming its key.
        let oauth = oauth_source(&config)?;
        let tls = if config.security.protocol.tls() {
            Some(tokio_rustls::TlsConnector::from(crate::tls::client_config(
                &config.security.ssl,
            )?))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                engine,
                slots: foldhash::HashMap::default(),
                metrics: MetricsState::new(now),
                driver_gone: false,
                txn_waiters: HashMap::new(),
                wall: shared::WallClock::default(),
                spares: Spares::default(),
            }),
            wake_driver: Notify::new(),
            progress: Notify::new(),
            shutdown: AtomicBool::new(false),
            handles_dropped: AtomicBool::new(false),
            tls,
            transport: config.transport.resolve(),
            measured: crate::metrics::Measured::default(),
            oauth,
            config,
        });
        runtime.spawn(driver::run(shared.clone()));
        Ok(Self {
            handle: Arc::new(Handle { shared }),
        })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Queues a record and returns the future of its delivery.
    ///
    /// Waits (asynchronously) while the topic's metadata is unknown or `buffer.memory` is
    /// exhausted, at most `max.block.ms` in all (Java's `send` blocks the thread instead).
    /// Errors here mean the record was not queued: too large, unknown partition, topic not
    /// available in time, closed producer.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// // Queued: `send` returns once the record is in a batch, before it is written.
    /// let delivery = producer
    ///     .send(ProducerRecord::new("events").with_key("user-7").with_value("clicked"))
    ///     .await?;
    /// // The delivery report: where the record was written.
    /// let written = delivery.await?;
    /// assert_eq!(written.topic(), "events");
    /// assert_eq!(written.offset(), Some(0));
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn send(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = Result<DeliveryFuture, ProduceError>> + Send + Unpin + '_ {
        if self.shared().config.interceptors.is_empty() {
            return Sending::Queue(Enqueue::new(self, record, None), Queued::future);
        }
        Sending::Boxed(Box::pin(async move {
            let queued = self.intercepted_enqueue(record, None).await?;
            let interceptors = self.shared().config.interceptors.clone();
            queued
                .clone()
                .notify(Listener::Callback(Box::new(move |outcome| {
                    interceptors.on_acknowledgement(outcome.as_ref());
                })));
            Ok(queued.future())
        }))
    }

    /// Like [`send`](Self::send), but `callback` runs with the outcome instead of a future
    /// (on the producer's I/O task; keep it short). Errors before queueing are returned and
    /// the callback is not called.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// producer
    ///     .send_with_callback(ProducerRecord::new("events").with_value("v"), move |outcome| {
    ///         // Runs on the producer's I/O task once the record's fate is known: keep it short.
    ///         let _ = tx.send(outcome.map(|written| written.partition()));
    ///     })
    ///     .await?;
    /// let partition = rx.await.expect("the callback ran")?;
    /// assert!((0..3).contains(&partition));
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> impl Future<Output = Result<(), ProduceError>> + Send + Unpin + '_
    where
        F: FnOnce(Result<crate::RecordMetadata, ProduceError>) + Send + 'static,
    {
        let interceptors = &self.shared().config.interceptors;
        if interceptors.is_empty() {
            let listener = Listen::Callback(Box::new(callback));
            return Sending::Queue(Enqueue::new(self, record, Some(listener)), drop);
        }
        // Java: interceptors see the outcome before the record's own callback.
        let interceptors = interceptors.clone();
        let cb: Callback = Box::new(move |outcome| {
            interceptors.on_acknowledgement(outcome.as_ref());
            callback(outcome);
        });
        Sending::Boxed(Box::pin(async move {
            self.intercepted_enqueue(record, Some(Listen::Callback(cb)))
                .await?;
            Ok(())
        }))
    }

    /// Like [`send_with_callback`](Self::send_with_callback), but the outcome goes to
    /// `reporter` with `tag`: one reporter serves every record, so nothing is allocated per
    /// record for its outcome (a callback closure is boxed per record). The reporter is
    /// borrowed: a batch keeps one reference to it for all of its records, so a send costs no
    /// reference count. Errors before queueing are returned and the reporter is not called.
    /// # Example
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use std::time::Duration;
    /// # use ferrokafka::{DeliveryReporter, ProduceError, Producer, ProducerConfig, ProducerRecord, RecordMetadata};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// /// Counts what was written.
    /// #[derive(Default)]
    /// struct Written(Mutex<Vec<(u64, Option<i64>)>>);
    ///
    /// impl DeliveryReporter for Written {
    ///     fn report(&self, tag: u64, outcome: Result<RecordMetadata, ProduceError>) {
    ///         if let Ok(md) = outcome {
    ///             self.0.lock().unwrap().push((tag, md.offset()));
    ///         }
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ProduceError> {
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 1).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// let written = Arc::new(Written::default());
    /// let reporter: Arc<dyn DeliveryReporter> = written.clone();
    /// for tag in 0..3 {
    ///     let record = ProducerRecord::new("events").with_value("v");
    ///     producer.send_reported(record, &reporter, tag).await?;
    /// }
    /// producer.flush(Duration::from_secs(30)).await?;
    /// assert_eq!(*written.0.lock().unwrap(), [(0, Some(0)), (1, Some(1)), (2, Some(2))]);
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn send_reported<'a>(
        &'a self,
        record: ProducerRecord,
        reporter: &'a Arc<dyn DeliveryReporter>,
        tag: u64,
    ) -> impl Future<Output = Result<(), ProduceError>> + Send + Unpin + 'a {
        if !self.shared().config.interceptors.is_empty() {
            let reporter = Arc::clone(reporter);
            return Sending::Boxed(Box::pin(
                self.send_with_callback(record, move |outcome| reporter.report(tag, outcome)),
            ));
        }
        let listener = Listen::Reporter(reporter, tag);
        Sending::Queue(Enqueue::new(self, record, Some(listener)), drop)
    }

    /// [`send_reported`](Self::send_reported) for a borrowed record (see
    /// [`send_borrowed`](Self::send_borrowed)): neither the record nor its outcome costs an
    /// allocation.
    #[inline]
    pub fn send_borrowed_reported<'a>(
        &'a self,
        record: BorrowedRecord<'a>,
        reporter: &'a Arc<dyn DeliveryReporter>,
        tag: u64,
    ) -> impl Future<Output = Result<(), ProduceError>> + Send + Unpin + 'a {
        if !self.shared().config.interceptors.is_empty() {
            return Sending::Boxed(Box::pin(self.send_reported(
                record.to_owned_record(),
                reporter,
                tag,
            )));
        }
        let listener = Listen::Reporter(reporter, tag);
        Sending::Queue(Enqueue::new(self, record, Some(listener)), drop)
    }

    /// Queues a borrowed record for `reporter` as
    /// [`send_borrowed_reported`](Self::send_borrowed_reported) does, if that can be done at
    /// once: no future is made, polled or moved. A loop sending many records calls this and
    /// falls back to `send_borrowed_reported` (which waits) only for a record it answers
    /// [`TrySend::MustWait`] for.
    ///
    /// `MustWait` means nothing was queued and the reporter will not hear of the record: the
    /// topic's metadata is not known yet, `buffer.memory` is full, or interceptors are
    /// configured (they run in the send's future). An error is what `send_borrowed_reported`
    /// would have returned for the record; the reporter does not hear of it either.
    /// # Example
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::sync::atomic::{AtomicU64, Ordering};
    /// # use std::time::Duration;
    /// # use ferrokafka::{BorrowedRecord, DeliveryReporter, ProduceError, Producer, ProducerConfig, RecordMetadata, TrySend};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// /// Counts the records written.
    /// #[derive(Default)]
    /// struct Written(AtomicU64);
    ///
    /// impl DeliveryReporter for Written {
    ///     fn report(&self, _tag: u64, outcome: Result<RecordMetadata, ProduceError>) {
    ///         if outcome.is_ok() {
    ///             self.0.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ProduceError> {
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// let written = Arc::new(Written::default());
    /// let reporter: Arc<dyn DeliveryReporter> = written.clone();
    /// for tag in 0..1_000u64 {
    ///     let value = tag.to_be_bytes();
    ///     let record = BorrowedRecord::new("events").with_value(&value);
    ///     if producer.try_send_borrowed_reported(record, &reporter, tag)? == TrySend::MustWait {
    ///         // The first record waits for the topic's metadata.
    ///         producer.send_borrowed_reported(record, &reporter, tag).await?;
    ///     }
    /// }
    /// producer.flush(Duration::from_secs(30)).await?;
    /// assert_eq!(written.0.load(Ordering::Relaxed), 1_000);
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn try_send_borrowed_reported(
        &self,
        record: BorrowedRecord<'_>,
        reporter: &Arc<dyn DeliveryReporter>,
        tag: u64,
    ) -> Result<TrySend, ProduceError> {
        if !self.shared().config.interceptors.is_empty() {
            return Ok(TrySend::MustWait);
        }
        self.try_enqueue(&record, Listen::Reporter(reporter, tag))
    }

    /// Like [`send`](Self::send), for a record whose parts are borrowed: they are copied
    /// straight into the partition's batch, so nothing is allocated for the record itself.
    /// With interceptors configured, they are given an owned copy, as [`send`](Self::send)
    /// gives them.
    /// # Example
    ///
    /// ```
    /// # use ferrokafka::{BorrowedRecord, Producer, ProducerConfig};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// let mut line = String::new();
    /// for i in 0..3 {
    ///     line.clear();
    ///     line.push_str(&format!("event {i}"));
    ///     // The record borrows `line`; `send_borrowed` copies it before returning.
    ///     let record = BorrowedRecord::new("events").with_key(b"user-7").with_value(line.as_bytes());
    ///     let delivery = producer.send_borrowed(record).await?;
    ///     drop(delivery); // dropping the future does not cancel the record
    /// }
    /// producer.flush(std::time::Duration::from_secs(30)).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn send_borrowed<'a>(
        &'a self,
        record: BorrowedRecord<'a>,
    ) -> impl Future<Output = Result<DeliveryFuture, ProduceError>> + Send + Unpin + 'a {
        if !self.shared().config.interceptors.is_empty() {
            return Sending::Boxed(Box::pin(self.send(record.to_owned_record())));
        }
        Sending::Queue(Enqueue::new(self, record, None), Queued::future)
    }

    /// [`send_with_callback`](Self::send_with_callback) for a borrowed record (see
    /// [`send_borrowed`](Self::send_borrowed)).
    #[inline]
    pub fn send_borrowed_with_callback<'a, F>(
        &'a self,
        record: BorrowedRecord<'a>,
        callback: F,
    ) -> impl Future<Output = Result<(), ProduceError>> + Send + Unpin + 'a
    where
        F: FnOnce(Result<crate::RecordMetadata, ProduceError>) + Send + 'static,
    {
        if !self.shared().config.interceptors.is_empty() {
            return Sending::Boxed(Box::pin(
                self.send_with_callback(record.to_owned_record(), callback),
            ));
        }
        let listener = Listen::Callback(Box::new(callback));
        Sending::Queue(Enqueue::new(self, record, Some(listener)), drop)
    }

    /// Queues `record` after the interceptors' `on_send`; a failure to queue is their
    /// acknowledgement too.
    async fn intercepted_enqueue(
        &self,
        record: ProducerRecord,
        listener: Option<Listen<'_>>,
    ) -> Result<Queued, ProduceError> {
        let interceptors = &self.shared().config.interceptors;
        let record = interceptors.on_send(record);
        let queued = Enqueue::new(self, record, listener).await;
        if let Err(e) = &queued {
            interceptors.on_acknowledgement(Err(e));
        }
        queued
    }

    /// Sends everything queued now, regardless of `linger.ms`, and waits until those records
    /// are delivered or failed (Java `flush`). On timeout the records stay queued.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// let mut deliveries = Vec::new();
    /// for i in 0..100 {
    ///     let record = ProducerRecord::new("events").with_value(format!("event {i}"));
    ///     deliveries.push(producer.send(record).await?);
    /// }
    /// // Sends what is queued now (ignoring linger.ms) and waits for every outcome.
    /// producer.flush(Duration::from_secs(30)).await?;
    /// for d in deliveries {
    ///     assert!(d.await.is_ok(), "every record is delivered once flush returns");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush(&self, timeout: Duration) -> Result<(), ProduceError> {
        let started = clock_now();
        let result = self.flush_inner(timeout).await;
        let took = crate::metrics::nanos(clock_now() - started);
        self.shared()
            .measured
            .flush_ns
            .fetch_add(took, Ordering::Relaxed);
        result
    }

    async fn flush_inner(&self, timeout: Duration) -> Result<(), ProduceError> {
        let shared = self.shared();
        let token = shared.lock().engine.begin_flush();
        // A dropped `flush` future must not leave the flush running (linger.ms would be
        // ignored from then on): the guard ends it (a no-op once it completed).
        let _guard = FlushGuard { shared, token };
        shared.wake_driver.notify_one();
        let deadline = deadline_after(timeout);
        let ended = progress_until(shared, deadline, |st| {
            if st.engine.flush_complete(token) {
                Some(Ok(()))
            } else if st.driver_gone {
                Some(Err(ProduceError::closed()))
            } else {
                None
            }
        })
        .await;
        if let Some(result) = ended {
            return result;
        }
        let mut st = shared.lock();
        if st.engine.flush_complete(token) {
            return Ok(());
        }
        st.engine.cancel_flush(token);
        Err(ProduceError::timeout("flush", timeout))
    }

    /// Closes the producer: no more sends; what is queued is sent and awaited up to `timeout`;
    /// whatever is left then fails with `Aborted`. Every future resolves.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// let delivery = producer.send(ProducerRecord::new("events").with_value("last")).await?;
    /// // Delivers what is queued (for at most the timeout), then shuts the producer down.
    /// producer.close(Duration::from_secs(30)).await;
    /// assert!(delivery.await.is_ok());
    /// // A closed producer refuses new records.
    /// assert!(producer.send(ProducerRecord::new("events").with_value("late")).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&self, timeout: Duration) {
        let shared = self.shared();
        shared.lock().engine.close();
        shared.wake_driver.notify_one();
        let deadline = deadline_after(timeout);
        progress_until(shared, deadline, |st| {
            (!st.engine.has_pending_work() || st.driver_gone).then_some(())
        })
        .await;
        // Requests already handed to the sockets are written before the connections close.
        while tokio::time::Instant::now() < deadline {
            {
                let st = shared.lock();
                if !st.engine.has_unwritten() || st.driver_gone {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if shared.config.acks == crate::Acks::None {
            // acks=0 has no answer to wait for: give the broker a moment to read the last
            // requests before the connections close (Tansu drops unread pipelined requests).
            let grace = tokio::time::Instant::now() + ACKS0_CLOSE_GRACE;
            tokio::time::sleep_until(grace.min(deadline)).await;
        }
        let mut actions = Vec::new();
        {
            let mut st = shared.lock();
            st.fail_all_slots(&mut actions);
        }
        apply_slot_actions(&mut actions, &mut Spares::default());
        if !shared.shutdown.swap(true, Ordering::SeqCst) {
            // Every outcome is decided: the interceptors hear about the close once.
            shared.config.interceptors.close();
        }
        shared.wake_driver.notify_one();
    }

    /// A snapshot of the metrics, with the Java client's names.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// producer.send(ProducerRecord::new("events").with_value("v")).await?.await?;
    /// let m = producer.metrics();
    /// assert_eq!(m.get("record-send-total"), Some(1.0));
    /// assert_eq!(m.topic("events", "record-send-total"), Some(1.0));
    /// println!("request latency: {:?} ms", m.get("request-latency-avg"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn metrics(&self) -> Metrics {
        let st = self.shared().lock();
        st.metrics
            .snapshot(&st.engine.counters(), &self.shared().measured, clock_now())
    }

    /// Partition count of `topic` if its metadata is known.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// assert_eq!(producer.partition_count("events"), None, "not looked up yet");
    /// producer.send(ProducerRecord::new("events").with_value("v")).await?.await?;
    /// assert_eq!(producer.partition_count("events"), Some(3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        self.shared()
            .lock()
            .engine
            .metadata()
            .cluster()
            .partition_count(topic)
    }
}

/// Far enough to stand for "no deadline" (`Duration::MAX` timeouts).
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Checks `done` now and after each progress of the driver until it answers; `None` when
/// `deadline` comes first.
async fn progress_until<T>(
    shared: &Shared,
    deadline: tokio::time::Instant,
    mut done: impl FnMut(&mut State) -> Option<T>,
) -> Option<T> {
    loop {
        let notified = shared.progress.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let answer = done(&mut shared.lock());
        if answer.is_some() {
            return answer;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return None;
        }
    }
}

/// `now + timeout`, saturating (a `Duration::MAX` timeout must not overflow).
fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout.min(FAR_FUTURE))
        .unwrap_or(now + Duration::from_secs(3600))
}

/// Ends a flush whose future is dropped before it completes.
struct FlushGuard<'a> {
    shared: &'a Shared,
    token: u64,
}

impl Drop for FlushGuard<'_> {
    fn drop(&mut self) {
        self.shared.lock().engine.cancel_flush(self.token);
    }
}

/// The producer's idea of "now" for the engine and every timeout: tokio's clock (the system's
/// monotonic clock, unless a test paused it — then simulated time drives everything).
pub(crate) fn clock_now() -> Instant {
    tokio::time::Instant::now().into_std()
}
