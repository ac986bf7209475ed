//! The producer under test sending a paced stream in the background ([`Stream`]), what it has
//! sent and had acknowledged so far ([`Progress`]), and each record's fate ([`Outcome`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrokafka::{ProduceError, Producer, ProducerRecord, RecordMetadata};
use ferrokafka_tests::data::{key, value};
use ferrokafka_tests::kafka::KafkaCluster;
use ferrokafka_tests::producing::runtime;
use ferrokafka_tests::wait::wait_until;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::{
    BURST, CAP, FLOWING, IN_FLIGHT, PARTITIONS, RESOLVE, TAIL, WAIT, WARM_UP, partition_of,
    producer_config,
};

/// What the sender, the watchers and the test thread share.
#[derive(Debug)]
pub(crate) struct Progress {
    /// Advanced by the test thread at each fault or observation.
    phase: AtomicUsize,
    /// Records handed to the producer.
    sent: AtomicUsize,
    /// Records acknowledged, per partition.
    acked: [AtomicUsize; PARTITIONS],
    /// The sender stops before this send index.
    stop_at: AtomicUsize,
}

impl Progress {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Progress {
            phase: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
            acked: std::array::from_fn(|_| AtomicUsize::new(0)),
            stop_at: AtomicUsize::new(usize::MAX),
        })
    }

    pub(crate) fn phase(&self) -> usize {
        self.phase.load(Ordering::SeqCst)
    }

    pub(crate) fn next_phase(&self) -> usize {
        self.phase.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    pub(crate) fn acked(&self) -> usize {
        self.acked.iter().map(|a| a.load(Ordering::SeqCst)).sum()
    }

    pub(crate) fn acked_in(&self, partition: i32) -> usize {
        self.acked[usize::try_from(partition).expect("a partition id")].load(Ordering::SeqCst)
    }

    /// Records of `partition` sent and not acknowledged (yet, or ever).
    pub(crate) fn in_flight_in(&self, partition: i32) -> usize {
        let p = usize::try_from(partition).expect("a partition id");
        let sent = (self.sent() + PARTITIONS - 1 - p) / PARTITIONS;
        sent.saturating_sub(self.acked_in(partition))
    }

    /// Lets the sender send `more` records beyond what it has sent, then stop.
    pub(crate) fn finish_after(&self, more: usize) {
        self.stop_at.store(self.sent() + more, Ordering::SeqCst);
    }
}

/// One record's fate.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) index: usize,
    pub(crate) phase_sent: usize,
    pub(crate) phase_resolved: usize,
    /// `None`: the future did not resolve within [`RESOLVE`].
    pub(crate) result: Option<Result<RecordMetadata, ProduceError>>,
}

type Watchers = Vec<JoinHandle<Outcome>>;

/// Sends records `0..` to `topic` (record `i` to partition `i % PARTITIONS`), three at a time
/// with a short pause, until `progress.stop_at`; each delivery is awaited by its own task.
async fn send_stream(producer: Producer, topic: String, progress: Arc<Progress>) -> Watchers {
    let mut watchers = Vec::new();
    let mut i = 0;
    while i < progress.stop_at.load(Ordering::SeqCst) {
        if i >= CAP {
            // Bounded: idle until told to stop (the test thread's waits time out meanwhile).
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let phase_sent = progress.phase();
        let record = ProducerRecord::new(topic.as_str())
            .with_partition(partition_of(i))
            .with_key(key(i))
            .with_value(value(i));
        let delivery = producer
            .send(record)
            .await
            .unwrap_or_else(|e| panic!("send of record {i} was refused: {e}"));
        progress.sent.fetch_add(1, Ordering::SeqCst);
        let watched = progress.clone();
        watchers.push(tokio::spawn(async move {
            let result = tokio::time::timeout(RESOLVE, delivery).await.ok();
            if let Some(Ok(md)) = &result {
                watched.acked[usize::try_from(md.partition()).expect("a partition id")]
                    .fetch_add(1, Ordering::SeqCst);
            }
            Outcome {
                index: i,
                phase_sent,
                phase_resolved: watched.phase(),
                result,
            }
        }));
        i += 1;
        if i % BURST == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    watchers
}

/// A producer sending in the background on its own runtime, while the test thread injects faults.
pub(crate) struct Stream {
    rt: Runtime,
    producer: Producer,
    pub(crate) progress: Arc<Progress>,
    sender: Option<JoinHandle<Watchers>>,
}

impl Stream {
    pub(crate) fn start(cluster: &KafkaCluster, topic: &str, overrides: &[(&str, &str)]) -> Stream {
        let rt = runtime();
        let producer = {
            let _entered = rt.enter();
            Producer::new(producer_config(&cluster.bootstrap(), overrides)).expect("producer")
        };
        let progress = Progress::new();
        let sender = rt.spawn(send_stream(
            producer.clone(),
            topic.to_string(),
            progress.clone(),
        ));
        Stream {
            rt,
            producer,
            progress,
            sender: Some(sender),
        }
    }

    pub(crate) fn retries(&self) -> f64 {
        self.producer
            .metrics()
            .get("record-retry-total")
            .expect("record-retry-total metric")
    }

    /// Sends [`TAIL`] more records, then waits for every delivery and closes the producer.
    pub(crate) fn finish(mut self) -> (Vec<Outcome>, f64) {
        self.progress.finish_after(TAIL);
        let sender = self.sender.take().expect("started");
        let producer = self.producer.clone();
        let outcomes = self.rt.block_on(async move {
            let watchers = tokio::time::timeout(WAIT, sender)
                .await
                .expect("the sender finished in time")
                .expect("sender task");
            if let Err(e) = producer.flush(RESOLVE).await {
                eprintln!("flush: {e}");
            }
            let mut outcomes = Vec::with_capacity(watchers.len());
            for watcher in watchers {
                outcomes.push(watcher.await.expect("watcher task"));
            }
            producer.close(Duration::from_secs(10)).await;
            outcomes
        });
        let retries = self.retries();
        (outcomes, retries)
    }
}

/// Waits until the stream runs: [`WARM_UP`] records acknowledged and at least [`IN_FLIGHT`] of
/// partition 0 waiting for their acknowledgement (so the fault that follows hits requests in
/// flight).
pub(crate) fn warm_up(progress: &Progress) {
    wait_in_flight(progress, 0, WARM_UP);
}

/// Waits until `acked` records are acknowledged in all and at least [`IN_FLIGHT`] of `partition`
/// wait for their acknowledgement. Polls every millisecond: records stay in flight for a few
/// milliseconds only.
pub(crate) fn wait_in_flight(progress: &Progress, partition: i32, acked: usize) {
    let deadline = Instant::now() + WAIT;
    while progress.acked() < acked || progress.in_flight_in(partition) < IN_FLIGHT {
        assert!(
            Instant::now() < deadline,
            "gave up after {WAIT:?} waiting until {acked} records are acknowledged and \
             {IN_FLIGHT} of partition {partition} are in flight (sent {}, acknowledged {})",
            progress.sent(),
            progress.acked()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until partition `partition` has [`FLOWING`] more records acknowledged than now, `what`
/// saying by whom or after what.
pub(crate) fn wait_flowing(progress: &Progress, partition: i32, what: &str) {
    let from = progress.acked_in(partition);
    wait_until(
        &format!("{FLOWING} more records of partition {partition} are acknowledged {what}"),
        WAIT,
        || progress.acked_in(partition) >= from + FLOWING,
    );
}

/// How many records were sent in each phase, for the log.
pub(crate) fn per_phase(outcomes: &[Outcome]) -> BTreeMap<usize, usize> {
    let mut m = BTreeMap::new();
    for o in outcomes {
        *m.entry(o.phase_sent).or_default() += 1;
    }
    m
}
