//! Queueing one record. Every send makes a first attempt when its future is first polled, under
//! the producer's lock and with nothing awaited; most records are queued by it. Only a record
//! that must wait for its topic's metadata or for `buffer.memory` goes on to the waiting loop,
//! a future of its own, allocated then.
//!
//! Why not one `async fn`: a send that passes through nested `async fn`s copies the record into
//! each one's state and its result back out of each, and those copies were a tenth of the
//! sending thread's time at millions of records per second (stalls on loads of what was just
//! stored). The first attempt here reads the record where the caller's future holds it.

#[allow(clippy::wildcard_imports)]
use super::*;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What one attempt to queue a record came to.
enum Attempt {
    Queued(Queued),
    Failed(ProduceError),
    /// Not queued: the topic's metadata or memory must be waited for. The listener is
    /// untouched.
    Wait,
}

/// A future that waits for metadata or memory and queues the record.
type Waiting<'a> = Pin<Box<dyn Future<Output = Result<Queued, ProduceError>> + Send + 'a>>;

/// The record a send queues: borrowed from its caller, or owned by the send's future (an owned
/// record's topic name is then shared with its batch's reports). A type parameter rather than
/// an enum: a send's future is moved into its caller's, and a borrowed record's is the smaller.
pub(crate) trait ToQueue: Send {
    fn record(&self) -> (BorrowedRecord<'_>, Option<&Topic>);
}

impl ToQueue for BorrowedRecord<'_> {
    fn record(&self) -> (BorrowedRecord<'_>, Option<&Topic>) {
        (*self, None)
    }
}

impl ToQueue for ProducerRecord {
    fn record(&self) -> (BorrowedRecord<'_>, Option<&Topic>) {
        (self.borrowed(), Some(&self.topic))
    }
}

enum Step<'a, R> {
    First {
        record: R,
        listener: Option<Listen<'a>>,
    },
    Waiting(Waiting<'a>),
    Done,
}

/// The future of queueing one record: the first attempt at its first poll, then, if that must
/// wait, the waiting loop.
pub(crate) struct Enqueue<'a, R> {
    producer: &'a Producer,
    step: Step<'a, R>,
}

impl<'a, R: ToQueue + 'a> Enqueue<'a, R> {
    pub(crate) fn new(producer: &'a Producer, record: R, listener: Option<Listen<'a>>) -> Self {
        Enqueue {
            producer,
            step: Step::First { record, listener },
        }
    }
}

impl<'a, R: ToQueue + Unpin + 'a> Future for Enqueue<'a, R> {
    type Output = Result<Queued, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Step::First { record, listener } = &mut this.step {
            let start = clock_now();
            let (borrowed, shared_topic) = record.record();
            let mut timestamp = borrowed.timestamp;
            let attempt = this.producer.attempt(
                &borrowed,
                shared_topic,
                listener,
                start,
                start,
                &mut timestamp,
            );
            match attempt {
                Attempt::Queued(q) => {
                    this.step = Step::Done;
                    return Poll::Ready(Ok(q));
                }
                Attempt::Failed(e) => {
                    this.step = Step::Done;
                    return Poll::Ready(Err(e));
                }
                Attempt::Wait => {
                    let Step::First { record, listener } =
                        std::mem::replace(&mut this.step, Step::Done)
                    else {
                        unreachable!("matched above")
                    };
                    let producer = this.producer;
                    this.step = Step::Waiting(Box::pin(async move {
                        let (borrowed, shared_topic) = record.record();
                        producer
                            .wait_and_enqueue(borrowed, shared_topic, listener, start, timestamp)
                            .await
                    }));
                }
            }
        }
        match &mut this.step {
            Step::Waiting(waiting) => {
                let out = std::task::ready!(waiting.as_mut().poll(cx));
                this.step = Step::Done;
                Poll::Ready(out)
            }
            Step::Done => panic!("an enqueue future polled after it completed"),
            Step::First { .. } => unreachable!("the first attempt was made above"),
        }
    }
}

impl Producer {
    /// The first attempt of a send, made at once rather than by a future: queued, failed, or
    /// to be sent by a future that can wait (nothing done, the listener dropped unused).
    pub(crate) fn try_enqueue(
        &self,
        record: &BorrowedRecord<'_>,
        listener: Listen<'_>,
    ) -> Result<TrySend, ProduceError> {
        let start = clock_now();
        let mut timestamp = record.timestamp;
        let mut listener = Some(listener);
        match self.attempt(record, None, &mut listener, start, start, &mut timestamp) {
            Attempt::Queued(_) => Ok(TrySend::Queued),
            Attempt::Failed(e) => Err(e),
            Attempt::Wait => Ok(TrySend::MustWait),
        }
    }

    /// One attempt to queue `record` under the lock, awaiting nothing. `start` is when the send
    /// began (its timestamp's and `max.block.ms`'s reference), `now` the time of this attempt.
    /// `timestamp` is filled from the producer's wall clock at the first attempt. `listener`,
    /// if any, is registered with the record's batch while the lock is held (no reference to
    /// the batch is taken for it); the place returned then holds no batch.
    fn attempt(
        &self,
        record: &BorrowedRecord<'_>,
        shared_topic: Option<&Topic>,
        listener: &mut Option<Listen<'_>>,
        start: Instant,
        now: Instant,
        timestamp: &mut Option<i64>,
    ) -> Attempt {
        let shared = self.shared();
        let max_block = shared.config.max_block;
        let listener_was_none = listener.is_none();
        let mut st = shared.lock();
        if st.driver_gone {
            return Attempt::Failed(ProduceError::closed());
        }
        let timestamp = *timestamp.get_or_insert_with(|| st.wall.ms_at(start));
        let out = OutgoingRecord {
            topic: record.topic,
            partition: record.partition,
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp,
        };
        let appended = loop {
            match st.engine.append(&out, now) {
                Ok(appended) => break appended,
                Err(SendError::TopicPending(topic)) => {
                    match st.engine.check_topic(&topic, start, max_block, now) {
                        Ok(true) => {}
                        Ok(false) => return Attempt::Wait,
                        Err(SendError::Metadata(MetadataError::TopicNotAvailable {
                            waited,
                            last_error,
                            listed_without_partitions,
                            ..
                        })) => {
                            let why = last_error
                                .map(|e| format!("last error {e:?}"))
                                .or_else(|| {
                                    listed_without_partitions.then(|| {
                                        "the cluster lists it with zero partitions".to_owned()
                                    })
                                })
                                .or_else(|| st.engine.last_connection_problem().map(str::to_owned));
                            return Attempt::Failed(ProduceError::topic_not_available(
                                topic, waited, why,
                            ));
                        }
                        Err(e) => return Attempt::Failed(ProduceError::send(e)),
                    }
                }
                Err(SendError::WouldBlock) if now < deadline(start, max_block) => {
                    return Attempt::Wait;
                }
                Err(SendError::WouldBlock) => {
                    shared
                        .measured
                        .buffer_exhausted
                        .fetch_add(1, Ordering::Relaxed);
                    return Attempt::Failed(ProduceError::buffer_exhausted(now - start));
                }
                Err(e) => return Attempt::Failed(ProduceError::send(e)),
            }
        };
        let State {
            slots,
            engine,
            spares,
            ..
        } = &mut *st;
        let entry = slots.entry(appended.batch).or_insert_with(|| {
            // The record's shared name, or the engine's (it knows the topic once it took the
            // record).
            let made;
            let topic = if let Some(topic) = shared_topic.or_else(|| engine.topic_ref(record.topic))
            {
                topic
            } else {
                made = Topic::new(record.topic);
                &made
            };
            SlotEntry::new(spares.slot(topic, appended.partition))
        });
        // A listener is registered here; one its batch no longer waits for (never the case for
        // a batch just appended to) runs after the lock.
        let unregistered = listener.take().and_then(|l| {
            entry
                .register(
                    appended.index,
                    timestamp,
                    start,
                    l,
                    spares,
                    appended.expected_records,
                )
                .map(|l| (Arc::clone(&entry.slot), l))
        });
        let slot = (unregistered.is_none() && listener_was_none).then(|| Arc::clone(&entry.slot));
        drop(st);
        if appended.wake_sender {
            shared.wake_driver.notify_one();
        }
        if let Some((slot, l)) = unregistered {
            Queued {
                slot: Some(slot),
                index: appended.index,
                timestamp,
                sent_at: start,
            }
            .notify(l);
        }
        Attempt::Queued(Queued {
            slot,
            index: appended.index,
            timestamp,
            sent_at: start,
        })
    }

    /// Queues a record whose first attempt must wait: each later attempt is made with a
    /// registration for the driver's progress in place, so progress between the attempt and
    /// the wait is never missed. Waits at most `max.block.ms` from `start` in all.
    async fn wait_and_enqueue(
        &self,
        record: BorrowedRecord<'_>,
        shared_topic: Option<&Topic>,
        mut listener: Option<Listen<'_>>,
        start: Instant,
        mut timestamp: Option<i64>,
    ) -> Result<Queued, ProduceError> {
        let shared = self.shared();
        let max_block = shared.config.max_block;
        let mut woke = false;
        loop {
            let notified = shared.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = clock_now();
            match self.attempt(
                &record,
                shared_topic,
                &mut listener,
                start,
                now,
                &mut timestamp,
            ) {
                Attempt::Queued(q) => return Ok(q),
                Attempt::Failed(e) => return Err(e),
                Attempt::Wait => {}
            }
            // Wake the driver once (it must send the metadata request, or drain for memory);
            // later rounds wait for its progress instead of ping-ponging.
            if !woke {
                woke = true;
                shared.wake_driver.notify_one();
            }
            let deadline = deadline(start, max_block);
            let wait_until = tokio::time::Instant::from_std(deadline);
            // At the deadline the loop runs once more and reports the timeout.
            let waited_from = clock_now();
            shared.measured.waiting.fetch_add(1, Ordering::Relaxed);
            let _ = tokio::time::timeout_at(wait_until, notified).await;
            shared.measured.waiting.fetch_sub(1, Ordering::Relaxed);
            // Java's bufferpool-wait-time measures waits for memory; a wait for metadata is
            // metadata-wait-time.
            let waited = crate::metrics::nanos(clock_now() - waited_from);
            if shared.lock().engine.has_topic(record.topic) {
                shared
                    .measured
                    .bufferpool_wait_ns
                    .fetch_add(waited, Ordering::Relaxed);
            } else {
                shared
                    .measured
                    .metadata_wait_ns
                    .fetch_add(waited, Ordering::Relaxed);
            }
            if clock_now() >= deadline + Duration::from_secs(1) {
                // Safety net: never loop past the deadline without an answer.
                return Err(ProduceError::topic_not_available(
                    record.topic.to_owned(),
                    max_block,
                    None,
                ));
            }
        }
    }
}

/// When a send that began at `start` stops waiting.
fn deadline(start: Instant, max_block: Duration) -> Instant {
    start.checked_add(max_block).unwrap_or(start + FAR_FUTURE)
}

/// A send's future: the record's [`Enqueue`] and what the caller is given for the queued
/// record (`then`, a function item: no room taken), or, with interceptors configured (each
/// sees an owned copy), the whole send boxed.
pub(crate) enum Sending<'a, R, F, T> {
    Queue(Enqueue<'a, R>, F),
    Boxed(Pin<Box<dyn Future<Output = Result<T, ProduceError>> + Send + 'a>>),
}

impl<'a, R, F, T> Future for Sending<'a, R, F, T>
where
    R: ToQueue + Unpin + 'a,
    F: Fn(Queued) -> T + Unpin,
{
    type Output = Result<T, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Sending::Queue(enqueue, then) => Pin::new(enqueue).poll(cx).map_ok(&*then),
            Sending::Boxed(send) => send.as_mut().poll(cx),
        }
    }
}
