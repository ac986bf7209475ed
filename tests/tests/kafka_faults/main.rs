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
//! Two more tests (`cluster_changes`) use the same cluster for what depends on its shape:
//! 7. rack-aware partitioning (its nodes are in racks `rack-a`, `rack-b`, `rack-c`) and 8. a
//! whole cluster replaced behind the bootstrap address (re-bootstrap).
//!
//! Modules: `stream` (the sending producer and its progress), `partitions` (waiting on leaders
//! and ISRs), `check` (what was delivered against what the log holds), and the tests by theme:
//! `outages` (1, 2, 5, 6: nodes killed, frozen or short of replicas), `leader_moves` (3, 4:
//! controlled moves), `cluster_changes` (7, 8).
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
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use ferrokafka::ProducerConfig;
use ferrokafka_tests::kafka::{KafkaCluster, PartitionState, Shared, shared};

use crate::partitions::create_topic;
use crate::stream::{Outcome, Progress, Stream, per_phase, warm_up};

mod check;
mod cluster_changes;
mod leader_moves;
mod outages;
mod partitions;
mod stream;

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

/// One fault test: the shared three-node cluster held for it alone (`fault_session()`), its
/// topic, and its clock, printed when it passes.
struct FaultRun {
    name: &'static str,
    started: Instant,
    cluster: &'static KafkaCluster,
    topic: &'static str,
    _session: MutexGuard<'static, ()>,
}

impl FaultRun {
    /// Takes the cluster for test `name` and creates `topic` with `min.insync.replicas` set to
    /// `min_isr`; returns its partitions once every replica is in sync.
    fn start(
        name: &'static str,
        topic: &'static str,
        min_isr: &str,
    ) -> (FaultRun, Vec<PartitionState>) {
        let started = Instant::now();
        let cluster = shared(Shared::ThreeNodes);
        let session = cluster.fault_session();
        let parts = create_topic(cluster, topic, min_isr);
        let run = FaultRun {
            name,
            started,
            cluster,
            topic,
            _session: session,
        };
        (run, parts)
    }

    /// A producer sending to the topic in the background, with `overrides` to its config, and
    /// its progress.
    fn stream(&self, overrides: &[(&str, &str)]) -> (Stream, Arc<Progress>) {
        let stream = Stream::start(self.cluster, self.topic, overrides);
        let progress = stream.progress.clone();
        (stream, progress)
    }

    /// [`FaultRun::stream`], once it runs ([`warm_up`]): the fault that follows lands in a
    /// running stream with requests in flight.
    fn warm_stream(&self, overrides: &[(&str, &str)]) -> (Stream, Arc<Progress>) {
        let (stream, progress) = self.stream(overrides);
        warm_up(&progress);
        (stream, progress)
    }

    /// Finishes `stream`, prints `note` and what was sent per phase, and checks every delivery
    /// and the log ([`check::check_delivered_and_log`]). Returns the outcomes and the
    /// producer's `record-retry-total`.
    fn finish(&self, stream: Stream, note: &str) -> (Vec<Outcome>, f64) {
        let (outcomes, retries) = stream.finish();
        eprintln!(
            "{note}sent {} records (per phase {:?}), record-retry-total {retries}",
            outcomes.len(),
            per_phase(&outcomes)
        );
        check::check_delivered_and_log(self.cluster, self.topic, &outcomes);
        (outcomes, retries)
    }
}

impl Drop for FaultRun {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            eprintln!(
                "{}: {:.1} s",
                self.name,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}
