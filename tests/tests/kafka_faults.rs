//! The producer against real broker faults: a three-node Apache Kafka 4.4.0 KRaft cluster
//! (combined broker+controller nodes 1, 2, 3; see `ferrokafka_tests::kafka`), topics with
//! replication factor 3, and a `ferrokafka::Producer` with idempotence on, five requests in
//! flight per connection and `acks=all` sending continuously while:
//!
//! 1. the leader of a busy partition is killed (SIGKILL) and restarted (`min.insync.replicas=2`);
//! 2. a follower is killed on a topic with `min.insync.replicas=3`, so every produce gets
//!    `NOT_ENOUGH_REPLICAS` (retriable) until it is back in the ISR;
//! 3. a partition's replicas are reordered and its new preferred leader elected, twice;
//! 4. the leader of a busy partition shuts down in a controlled way (SIGTERM), comes back and is
//!    elected preferred leader again;
//! 5. the leader of a busy partition is frozen (SIGSTOP) with requests in flight, so they time out
//!    (`request.timeout.ms`) while the controller fences it and elects another leader, then thawed:
//!    a zombie leader that wakes up with produce requests in its socket buffers;
//! 6. the leader of each partition in turn is killed and restarted.
//!
//! Two more tests (`kafka_faults/cluster_changes.rs`) use the same cluster for what depends on
//! its shape: 7. rack-aware partitioning (its nodes are in racks `rack-a`, `rack-b`, `rack-c`)
//! and 8. a whole cluster replaced behind the bootstrap address (re-bootstrap).
//!
//! Each test runs in phases the test thread advances from conditions it observes (records
//! acknowledged or in flight; leaders and ISRs in every running node's metadata), never from
//! elapsed time.
//! The sender task keeps sending, paced, one record per partition in turn, noting the phase at
//! each send; a watcher task per record notes the phase its delivery resolved in. Afterwards:
//! every delivery resolved, all succeeded (`delivery.timeout.ms` is generous, and with unlimited
//! retries the Java client delivers everything an outage shorter than it delays), the
//! acknowledged offsets grow with the send order in each partition, and the log — read back by
//! librdkafka's consumer and by Kafka's own `KafkaConsumer`, which must agree — holds exactly the
//! acknowledged records, each once, at the offset its delivery reported, in send order.
//!
//! Never more than one node is down: stopping two of three combined nodes would lose the
//! controller quorum. Every test takes `fault_session()` first, which serialises them and
//! restarts whatever an earlier (failed) test left down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrokafka::{ProduceError, Producer, ProducerConfig, ProducerRecord, RecordMetadata};
use ferrokafka_tests::consume::{Isolation, by_partition, read_back};
use ferrokafka_tests::data::{check_record, index_of, key, mismatch, value};
use ferrokafka_tests::kafka::{JavaHelper, KafkaCluster, PartitionState, Shared, shared};
use ferrokafka_tests::producing::runtime;
use ferrokafka_tests::wire_client::WireClient;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

#[path = "kafka_faults/cluster_changes.rs"]
mod cluster_changes;

/// Partitions of every test topic; record `i` goes to partition `i % PARTITIONS`.
const PARTITIONS: usize = 3;
/// Upper bound for each condition the test thread waits for, and for each read-back.
const WAIT: Duration = Duration::from_secs(90);
/// `delivery.timeout.ms` of the producer: long enough for any outage these tests cause.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound for a delivery future to resolve (the producer itself must fail it sooner).
const RESOLVE: Duration = Duration::from_secs(150);
/// Records acknowledged before the first fault (so it lands in a running stream).
const WARM_UP: usize = 300;
/// Records of partition 0 sent but not acknowledged when the first fault is injected.
const IN_FLIGHT: usize = 5;
/// Records sent per 10 ms pause (at most 1,200 records/s).
const BURST: usize = 12;
/// Records a partition must get acknowledged after a leader change before the test goes on.
const FLOWING: usize = 100;
/// Records sent after the last fault before the sender stops.
const TAIL: usize = 300;
/// The most records one test may send (about 200 s of pacing); the sender idles after that.
const CAP: usize = 60_000;

fn partition_of(i: usize) -> i32 {
    i32::try_from(i % PARTITIONS).expect("few partitions")
}

/// The producer under test: idempotent, five requests in flight, `acks=all`, then `overrides`.
fn producer_config(bootstrap: &str, overrides: &[(&str, &str)]) -> ProducerConfig {
    let delivery_timeout = DELIVERY_TIMEOUT.as_millis().to_string();
    let mut props: BTreeMap<&str, &str> = BTreeMap::from([
        ("bootstrap.servers", bootstrap),
        ("client.id", "ferrokafka-faults"),
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("max.in.flight.requests.per.connection", "5"),
        ("linger.ms", "5"),
        ("batch.size", "4096"),
        ("delivery.timeout.ms", delivery_timeout.as_str()),
        ("request.timeout.ms", "15000"),
        ("max.block.ms", "60000"),
        ("retry.backoff.ms", "50"),
        ("retry.backoff.max.ms", "500"),
        ("reconnect.backoff.ms", "50"),
        ("reconnect.backoff.max.ms", "500"),
    ]);
    props.extend(overrides.iter().copied());
    ProducerConfig::from_properties(props).expect("valid producer config")
}

/// What the sender, the watchers and the test thread share.
#[derive(Debug)]
struct Progress {
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
    fn new() -> Arc<Self> {
        Arc::new(Progress {
            phase: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
            acked: std::array::from_fn(|_| AtomicUsize::new(0)),
            stop_at: AtomicUsize::new(usize::MAX),
        })
    }

    fn phase(&self) -> usize {
        self.phase.load(Ordering::SeqCst)
    }

    fn next_phase(&self) -> usize {
        self.phase.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    fn acked(&self) -> usize {
        self.acked.iter().map(|a| a.load(Ordering::SeqCst)).sum()
    }

    fn acked_in(&self, partition: i32) -> usize {
        self.acked[usize::try_from(partition).expect("a partition id")].load(Ordering::SeqCst)
    }

    /// Records of `partition` sent and not acknowledged (yet, or ever).
    fn in_flight_in(&self, partition: i32) -> usize {
        let p = usize::try_from(partition).expect("a partition id");
        let sent = (self.sent() + PARTITIONS - 1 - p) / PARTITIONS;
        sent.saturating_sub(self.acked_in(partition))
    }

    /// Lets the sender send `more` records beyond what it has sent, then stop.
    fn finish_after(&self, more: usize) {
        self.stop_at.store(self.sent() + more, Ordering::SeqCst);
    }
}

/// One record's fate.
#[derive(Debug)]
struct Outcome {
    index: usize,
    phase_sent: usize,
    phase_resolved: usize,
    /// `None`: the future did not resolve within [`RESOLVE`].
    result: Option<Result<RecordMetadata, ProduceError>>,
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
struct Stream {
    rt: Runtime,
    producer: Producer,
    progress: Arc<Progress>,
    sender: Option<JoinHandle<Watchers>>,
}

impl Stream {
    fn start(cluster: &KafkaCluster, topic: &str, overrides: &[(&str, &str)]) -> Stream {
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

    fn retries(&self) -> f64 {
        self.producer
            .metrics()
            .get("record-retry-total")
            .expect("record-retry-total metric")
    }

    /// Sends [`TAIL`] more records, then waits for every delivery and closes the producer.
    fn finish(mut self) -> (Vec<Outcome>, f64) {
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

/// Polls `condition` every 20 ms until it holds; panics naming `what` after [`WAIT`].
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        if condition() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {WAIT:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like [`wait_until`] for a condition on the topic's partitions, which must hold in the
/// metadata of every running node (so one node's lagging view cannot satisfy it early). Metadata
/// requests go to running nodes only: a frozen node would hold them (which is also why this does
/// not use the Java Admin client, whose requests may go to any node). Errors count as "not yet".
fn wait_for_partitions(
    cluster: &KafkaCluster,
    topic: &str,
    what: &str,
    mut condition: impl FnMut(&[PartitionState]) -> bool,
) -> Vec<PartitionState> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut first = None;
        let mut last = None;
        for id in cluster.node_ids() {
            if !cluster.is_up(id) {
                continue;
            }
            match describe(cluster, id, topic) {
                Ok(parts) if condition(&parts) => {
                    first.get_or_insert(parts);
                }
                Ok(parts) => last = Some(format!("node {id} says {parts:?}")),
                Err(e) => last = Some(format!("node {id}: {e}")),
            }
            if last.is_some() {
                break;
            }
        }
        if let (Some(parts), None) = (&first, &last) {
            return parts.clone();
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {WAIT:?} waiting until {what}; last description: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The topic's partitions (leader, replicas, ISR) in node `id`'s metadata, sorted by partition.
fn describe(cluster: &KafkaCluster, id: i32, topic: &str) -> Result<Vec<PartitionState>, String> {
    let mut client = WireClient::connect(&format!("127.0.0.1:{}", cluster.port_of(id)))
        .map_err(|e| e.to_string())?;
    let md = client
        .metadata(12, Some(&[topic]))
        .map_err(|e| e.to_string())?;
    let t = md
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some(topic))
        .ok_or_else(|| format!("no {topic} in the answer"))?;
    if t.error_code != 0 {
        return Err(format!("error code {}", t.error_code));
    }
    let mut parts: Vec<PartitionState> = t
        .partitions
        .iter()
        .map(|p| PartitionState {
            partition: p.partition_index,
            leader: p.leader_id,
            replicas: p.replica_nodes.clone(),
            isr: p.isr_nodes.clone(),
        })
        .collect();
    parts.sort_by_key(|p| p.partition);
    Ok(parts)
}

fn full_isr(parts: &[PartitionState]) -> bool {
    parts.len() == PARTITIONS && parts.iter().all(|p| p.leader >= 0 && p.isr.len() == 3)
}

fn create_topic(cluster: &KafkaCluster, topic: &str, min_isr: &str) -> Vec<PartitionState> {
    cluster
        .create_topic(
            topic,
            u32::try_from(PARTITIONS).expect("few"),
            3,
            &[("min.insync.replicas", min_isr)],
        )
        .unwrap_or_else(|e| panic!("create {topic}: {e}"));
    wait_for_partitions(
        cluster,
        topic,
        "every replica of the new topic is in sync",
        full_isr,
    )
}

/// Waits until the stream runs: [`WARM_UP`] records acknowledged and at least [`IN_FLIGHT`] of
/// partition 0 waiting for their acknowledgement (so the fault that follows hits requests in
/// flight).
fn warm_up(progress: &Progress) {
    wait_in_flight(progress, 0, WARM_UP);
}

/// Waits until `acked` records are acknowledged in all and at least [`IN_FLIGHT`] of `partition`
/// wait for their acknowledgement. Polls every millisecond: records stay in flight for a few
/// milliseconds only.
fn wait_in_flight(progress: &Progress, partition: i32, acked: usize) {
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

/// Waits until partition `partition` has `more` acknowledged records beyond `from`.
fn wait_acked_in(progress: &Progress, partition: i32, from: usize, more: usize, what: &str) {
    wait_until(
        &format!("{more} more records of partition {partition} are acknowledged {what}"),
        || progress.acked_in(partition) >= from + more,
    );
}

/// Every delivery resolved and succeeded, acknowledged offsets grow with the send order in each
/// partition, and both consumers read exactly those records back, each once, at the offset its
/// delivery reported, in send order. Returns the successes by index.
fn check_delivered_and_log(
    cluster: &KafkaCluster,
    topic: &str,
    outcomes: &[Outcome],
) -> BTreeMap<usize, RecordMetadata> {
    let unresolved: Vec<usize> = outcomes
        .iter()
        .filter(|o| o.result.is_none())
        .map(|o| o.index)
        .collect();
    assert!(
        unresolved.is_empty(),
        "{} deliveries did not resolve within {RESOLVE:?}, first ones: {:?}",
        unresolved.len(),
        &unresolved[..unresolved.len().min(10)]
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match &o.result {
            Some(Err(e)) => Some(format!("record {} (phase {}): {e}", o.index, o.phase_sent)),
            _ => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} deliveries failed (the outage was far shorter than delivery.timeout.ms), \
         first ones: {:?}",
        failed.len(),
        outcomes.len(),
        &failed[..failed.len().min(10)]
    );
    let delivered: BTreeMap<usize, RecordMetadata> = outcomes
        .iter()
        .map(|o| match &o.result {
            Some(Ok(md)) => (o.index, md.clone()),
            _ => unreachable!("checked above"),
        })
        .collect();
    assert_eq!(delivered.len(), outcomes.len(), "one outcome per record");

    // What the acknowledgements say, per partition in send order.
    let mut want: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (&i, md) in &delivered {
        assert_eq!(md.topic(), topic);
        assert_eq!(md.partition(), partition_of(i), "record {i}'s partition");
        want.entry(md.partition()).or_default().push(i);
    }
    for (p, indices) in &want {
        let offsets: Vec<i64> = indices
            .iter()
            .map(|i| {
                delivered[i]
                    .offset()
                    .unwrap_or_else(|| panic!("record {i}: acks=all must report an offset"))
            })
            .collect();
        if let Some(at) = offsets.windows(2).position(|w| w[0] >= w[1]) {
            panic!(
                "partition {p}: acknowledged offsets do not grow with the send order: record {} \
                 at {}, then record {} at {}",
                indices[at],
                offsets[at],
                indices[at + 1],
                offsets[at + 1]
            );
        }
    }

    // What the log holds, read by librdkafka and by the Java client.
    let bootstrap = cluster.bootstrap();
    let read = read_back(
        &bootstrap,
        topic,
        delivered.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .unwrap_or_else(|e| panic!("librdkafka read-back of {topic}: {e}"));
    let got = by_partition(&read);
    let got_indices: BTreeMap<i32, Vec<Option<usize>>> = got
        .iter()
        .map(|(p, rs)| {
            (
                *p,
                rs.iter().map(|r| index_of(r.value.as_deref())).collect(),
            )
        })
        .collect();
    for p in 0..partition_of(PARTITIONS) {
        let w: Vec<Option<usize>> = want
            .get(&p)
            .map(|v| v.iter().copied().map(Some).collect())
            .unwrap_or_default();
        let g = got_indices.get(&p).cloned().unwrap_or_default();
        assert!(
            w == g,
            "partition {p}: the log differs from what was acknowledged: {}",
            mismatch(&w, &g)
        );
        for (n, r) in got.get(&p).into_iter().flatten().enumerate() {
            check_record(p, n, r, index_of);
        }
    }
    assert_eq!(read.len(), delivered.len(), "records in the log");
    for (&i, md) in &delivered {
        let offset = md.offset().expect("checked");
        let at = got_indices[&md.partition()].get(usize::try_from(offset).expect("an offset"));
        assert_eq!(
            at,
            Some(&Some(i)),
            "record {i}: its delivery reported partition {} offset {offset}",
            md.partition()
        );
    }
    let java = JavaHelper::shared()
        .expect("Java helper")
        .consume(
            &bootstrap,
            topic,
            Isolation::ReadUncommitted,
            delivered.len(),
            WAIT,
        )
        .unwrap_or_else(|e| panic!("Java read-back of {topic}: {e}"));
    assert!(
        java == read,
        "the Java consumer reads {} records, librdkafka {}; they differ",
        java.len(),
        read.len()
    );
    delivered
}

/// How many records were sent in each phase, for the log.
fn per_phase(outcomes: &[Outcome]) -> BTreeMap<usize, usize> {
    let mut m = BTreeMap::new();
    for o in outcomes {
        *m.entry(o.phase_sent).or_default() += 1;
    }
    m
}

// ------------------------------------------------------------------------------------------
// 1. The leader of a busy partition killed and restarted.

#[test]
fn leader_killed_mid_stream_and_restarted() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    let topic = "faults-leader-killed";
    let parts = create_topic(cluster, topic, "2");
    let victim = parts[0].leader;

    let stream = Stream::start(cluster, topic, &[]);
    let progress = stream.progress.clone();
    warm_up(&progress);
    let (sent, in_flight) = (progress.sent(), progress.in_flight_in(0));
    cluster.kill(victim);
    progress.next_phase(); // 1: the leader is dead
    eprintln!(
        "killed node {victim}, leader of partition 0, with {sent} records sent, {in_flight} of \
         partition 0 in flight"
    );
    wait_for_partitions(cluster, topic, "partition 0 has a new leader", |ps| {
        ps[0].leader >= 0 && ps[0].leader != victim
    });
    progress.next_phase(); // 2: a new leader, the old one still dead
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "by the new leader");
    cluster
        .restart(victim)
        .unwrap_or_else(|e| panic!("restart node {victim}: {e}"));
    progress.next_phase(); // 3: every node up
    wait_for_partitions(
        cluster,
        topic,
        "the restarted node is back in sync",
        full_isr,
    );
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "after the restart");

    let (outcomes, retries) = stream.finish();
    eprintln!(
        "sent {} records (per phase {:?}), record-retry-total {retries}",
        outcomes.len(),
        per_phase(&outcomes)
    );
    check_delivered_and_log(cluster, topic, &outcomes);
    for phase in 0..=3 {
        assert!(
            outcomes.iter().any(|o| o.phase_sent == phase),
            "records were sent in phase {phase}"
        );
    }
    assert!(
        retries > 0.0,
        "batches in flight to the killed leader were retried (record-retry-total {retries})"
    );
    eprintln!(
        "leader_killed_mid_stream_and_restarted: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------
// 2. min.insync.replicas=3 and a follower down: NOT_ENOUGH_REPLICAS until it is back.

#[test]
fn follower_down_gives_not_enough_replicas_until_it_returns() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    let topic = "faults-min-isr-3";
    let parts = create_topic(cluster, topic, "3");
    // One leader for every partition, so the node stopped is a follower of each.
    let leader = parts[0].leader;
    let follower = *parts[0]
        .replicas
        .iter()
        .find(|&&r| r != leader)
        .expect("three replicas");
    let mut helper = JavaHelper::shared().expect("Java helper");
    for p in &parts {
        if p.leader == leader {
            continue;
        }
        let mut replicas = vec![leader];
        replicas.extend(p.replicas.iter().copied().filter(|&r| r != leader));
        helper
            .reassign(&cluster.bootstrap(), topic, p.partition, &replicas)
            .unwrap_or_else(|e| panic!("reassign partition {}: {e}", p.partition));
        helper
            .elect_preferred(&cluster.bootstrap(), topic, p.partition)
            .unwrap_or_else(|e| panic!("elect partition {}: {e}", p.partition));
    }
    drop(helper);
    wait_for_partitions(
        cluster,
        topic,
        &format!("node {leader} leads every partition"),
        |ps| full_isr(ps) && ps.iter().all(|p| p.leader == leader),
    );

    let stream = Stream::start(cluster, topic, &[]);
    let progress = stream.progress.clone();
    warm_up(&progress);
    let in_flight = progress.in_flight_in(0);
    cluster.kill(follower);
    progress.next_phase(); // 1: the follower is dead, maybe still in the ISR
    eprintln!(
        "killed node {follower}, a follower of every partition (leader {leader}), with \
         {in_flight} records of partition 0 in flight"
    );
    wait_for_partitions(cluster, topic, "the ISR shrank", |ps| {
        ps.iter()
            .all(|p| p.leader == leader && !p.isr.contains(&follower))
    });
    let shrunk = progress.next_phase(); // 2: fewer in-sync replicas than min.insync.replicas
    let (sent_at_shrink, retries_at_shrink) = (progress.sent(), stream.retries());
    wait_until(
        "records sent after the ISR shrank are being retried (NOT_ENOUGH_REPLICAS)",
        || progress.sent() >= sent_at_shrink + FLOWING && stream.retries() > retries_at_shrink,
    );
    let acked_while_down = progress.acked();
    let restarted = progress.next_phase(); // 3: the follower is coming back
    cluster
        .restart(follower)
        .unwrap_or_else(|e| panic!("restart node {follower}: {e}"));
    wait_for_partitions(cluster, topic, "the follower is back in sync", full_isr);
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "with the follower back");

    let (outcomes, retries) = stream.finish();
    eprintln!(
        "sent {} records (per phase {:?}), {acked_while_down} acknowledged before the restart, \
         record-retry-total {retries}",
        outcomes.len(),
        per_phase(&outcomes)
    );
    check_delivered_and_log(cluster, topic, &outcomes);
    // Kafka acknowledges nothing with fewer in-sync replicas than min.insync.replicas: what was
    // sent once the ISR had shrunk was acknowledged only after the follower came back.
    let early: Vec<usize> = outcomes
        .iter()
        .filter(|o| o.phase_sent >= shrunk && o.phase_resolved < restarted)
        .map(|o| o.index)
        .collect();
    assert!(
        early.is_empty(),
        "records sent with the ISR below min.insync.replicas resolved before the follower was \
         restarted: {:?}",
        &early[..early.len().min(10)]
    );
    assert!(
        outcomes.iter().filter(|o| o.phase_sent == shrunk).count() >= FLOWING,
        "records were sent while the ISR was short"
    );
    eprintln!(
        "follower_down_gives_not_enough_replicas_until_it_returns: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------
// 3. Controlled leader moves: reassignment to a new preferred leader, then its election.

#[test]
fn preferred_leader_moved_by_reassignment_mid_stream() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    let topic = "faults-leader-reassigned";
    let mut parts = create_topic(cluster, topic, "2");

    let stream = Stream::start(cluster, topic, &[]);
    let progress = stream.progress.clone();
    warm_up(&progress);
    let mut leaders = vec![parts[0].leader];
    for round in 0..2 {
        // Rotate partition 0's replica list: the second replica becomes the preferred leader.
        let mut replicas = parts[0].replicas.clone();
        replicas.rotate_left(1);
        let new_leader = replicas[0];
        {
            let mut helper = JavaHelper::shared().expect("Java helper");
            helper
                .reassign(&cluster.bootstrap(), topic, 0, &replicas)
                .unwrap_or_else(|e| panic!("reassign partition 0 to {replicas:?}: {e}"));
            helper
                .elect_preferred(&cluster.bootstrap(), topic, 0)
                .unwrap_or_else(|e| panic!("elect the preferred leader of partition 0: {e}"));
        }
        progress.next_phase();
        parts = wait_for_partitions(
            cluster,
            topic,
            &format!("node {new_leader} leads partition 0 (round {round})"),
            |ps| ps[0].leader == new_leader && ps[0].replicas == replicas,
        );
        leaders.push(new_leader);
        let from = progress.acked_in(0);
        wait_acked_in(&progress, 0, from, FLOWING, "by the new leader");
    }

    let (outcomes, retries) = stream.finish();
    eprintln!(
        "partition 0 led by {leaders:?}; sent {} records (per phase {:?}), record-retry-total \
         {retries}",
        outcomes.len(),
        per_phase(&outcomes)
    );
    check_delivered_and_log(cluster, topic, &outcomes);
    eprintln!(
        "preferred_leader_moved_by_reassignment_mid_stream: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------
// 4. Controlled shutdown of the leader, restart, and the preferred leader elected back.

#[test]
fn leader_controlled_shutdown_and_preferred_election_mid_stream() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    let topic = "faults-controlled-shutdown";
    let parts = create_topic(cluster, topic, "2");
    let victim = parts[0].leader;
    assert_eq!(
        parts[0].replicas.first(),
        Some(&victim),
        "a new partition's leader is its preferred replica"
    );

    let stream = Stream::start(cluster, topic, &[]);
    let progress = stream.progress.clone();
    warm_up(&progress);
    let in_flight = progress.in_flight_in(0);
    cluster.stop(victim, WAIT);
    progress.next_phase(); // 1: the leader shut down (leadership moved away first)
    eprintln!(
        "stopped node {victim}, leader of partition 0 (controlled shutdown), with {in_flight} \
         records of partition 0 in flight"
    );
    wait_for_partitions(cluster, topic, "partition 0 has a new leader", |ps| {
        ps[0].leader >= 0 && ps[0].leader != victim
    });
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "by the new leader");
    cluster
        .restart(victim)
        .unwrap_or_else(|e| panic!("restart node {victim}: {e}"));
    progress.next_phase(); // 2: back, a follower
    wait_for_partitions(
        cluster,
        topic,
        "the restarted node is back in sync",
        full_isr,
    );
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "after the restart");
    JavaHelper::shared()
        .expect("Java helper")
        .elect_preferred(&cluster.bootstrap(), topic, 0)
        .unwrap_or_else(|e| panic!("elect the preferred leader of partition 0: {e}"));
    progress.next_phase(); // 3: leadership moved back
    wait_for_partitions(
        cluster,
        topic,
        "the restarted node leads partition 0 again",
        |ps| ps[0].leader == victim,
    );
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "by the preferred leader");

    let (outcomes, retries) = stream.finish();
    eprintln!(
        "sent {} records (per phase {:?}), record-retry-total {retries}",
        outcomes.len(),
        per_phase(&outcomes)
    );
    check_delivered_and_log(cluster, topic, &outcomes);
    eprintln!(
        "leader_controlled_shutdown_and_preferred_election_mid_stream: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------
// 5. The leader frozen with requests in flight, replaced, then thawed.

#[test]
fn leader_frozen_mid_stream_then_thawed() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    let topic = "faults-leader-frozen";
    let parts = create_topic(cluster, topic, "2");
    let victim = parts[0].leader;

    // Requests to the frozen node time out after 5 s (the 15 s elsewhere would only slow this).
    let stream = Stream::start(cluster, topic, &[("request.timeout.ms", "5000")]);
    let progress = stream.progress.clone();
    warm_up(&progress);
    let in_flight = progress.in_flight_in(0);
    cluster.pause(victim);
    progress.next_phase(); // 1: the leader is frozen
    eprintln!(
        "froze node {victim}, leader of partition 0, with {in_flight} records of partition 0 in \
         flight"
    );
    wait_for_partitions(cluster, topic, "partition 0 has a new leader", |ps| {
        ps[0].leader >= 0 && ps[0].leader != victim
    });
    progress.next_phase(); // 2: a new leader, the old one still frozen
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "by the new leader");
    let retries_before_thaw = stream.retries();
    cluster.resume(victim);
    progress.next_phase(); // 3: the old leader runs again
    wait_for_partitions(cluster, topic, "the thawed node is back in sync", full_isr);
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "with the old leader thawed");

    let (outcomes, retries) = stream.finish();
    eprintln!(
        "sent {} records (per phase {:?}), record-retry-total {retries} ({retries_before_thaw} \
         before the thaw)",
        outcomes.len(),
        per_phase(&outcomes)
    );
    check_delivered_and_log(cluster, topic, &outcomes);
    assert!(
        retries_before_thaw > 0.0,
        "batches stuck on the frozen leader were retried elsewhere before it was thawed"
    );
    eprintln!(
        "leader_frozen_mid_stream_then_thawed: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------
// 6. The leader of each partition killed in turn (one node down at a time).

#[test]
fn leader_of_each_partition_killed_in_turn() {
    let started = Instant::now();
    let cluster = shared(Shared::ThreeNodes);
    let _session = cluster.fault_session();
    let topic = "faults-leaders-killed-in-turn";
    let mut parts = create_topic(cluster, topic, "2");

    let stream = Stream::start(cluster, topic, &[]);
    let progress = stream.progress.clone();
    let mut kills = Vec::new();
    for round in 0..PARTITIONS {
        let p = partition_of(round);
        let victim = parts[round].leader;
        wait_in_flight(&progress, p, progress.acked() + WARM_UP);
        let in_flight = progress.in_flight_in(p);
        cluster.kill(victim);
        progress.next_phase();
        kills.push((p, victim, in_flight));
        wait_for_partitions(
            cluster,
            topic,
            &format!("partition {p} has a new leader"),
            |ps| ps[round].leader >= 0 && ps[round].leader != victim,
        );
        let from = progress.acked_in(p);
        wait_acked_in(&progress, p, from, FLOWING, "by the new leader");
        cluster
            .restart(victim)
            .unwrap_or_else(|e| panic!("restart node {victim}: {e}"));
        progress.next_phase();
        parts = wait_for_partitions(
            cluster,
            topic,
            "the restarted node is back in sync",
            full_isr,
        );
    }
    let from = progress.acked_in(0);
    wait_acked_in(&progress, 0, from, FLOWING, "after the last restart");

    let (outcomes, retries) = stream.finish();
    eprintln!(
        "killed (partition, leader, records of it in flight) {kills:?}; sent {} records (per \
         phase {:?}), record-retry-total {retries}",
        outcomes.len(),
        per_phase(&outcomes)
    );
    check_delivered_and_log(cluster, topic, &outcomes);
    eprintln!(
        "leader_of_each_partition_killed_in_turn: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
