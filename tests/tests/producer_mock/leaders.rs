//! Leadership changes while sending: leaders moved (1), a leader broker down and back, with and
//! without a failover (2), and a partition left without a leader for a second.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrokafka::{ProduceError, Producer, RecordMetadata};
use ferrokafka_tests::mock::{Mock, broker_ids, leaders, move_leader, restrict_versions};
use ferrokafka_tests::producing::{metric, wait_for};
use rdkafka::types::RDKafkaApiKey;

use crate::log::Order;
use crate::{
    Mode, PARTITIONS, TOPIC, WAIT, assert_all_logged, finish_sending, new_mock, next_broker,
    record, send_paced, with_producer,
};

/// Partition `p` led by broker `p + 1` (the mock picks a random replica as each partition's
/// first leader), so that taking one broker down stops one partition while the others keep
/// going.
fn spread_leaders(mock: &Mock) {
    for (partition, broker) in [(0, 1), (1, 2), (2, 3)] {
        move_leader(mock, TOPIC, partition, broker).expect("move leader");
    }
}

// ------------------------------------------------------------------------------------------
// 1. Leaders moved while sending.

fn leaders_move_mid_stream(mode: Mode) {
    const RECORDS: usize = 2000;
    const MOVES: usize = 9;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let ids = broker_ids(&mock);
    let mut current = leaders(&mock, TOPIC, WAIT).expect("leaders");
    let (outcomes, retries, moved_at) = with_producer(&bootstrap, mode, &[], async |producer| {
        let progress = Arc::new(AtomicUsize::new(0));
        // About 2 s of sending: 10 ms pause every 10 records.
        let sender = tokio::spawn(send_paced(
            producer.clone(),
            0..RECORDS,
            10,
            Duration::from_millis(10),
            progress.clone(),
        ));
        let mut moved_at = Vec::new();
        for step in 0..MOVES {
            // A move every 100 sends (the sender's progress, not the clock): all while sending.
            let due = (step + 1) * RECORDS / 20;
            wait_for(&format!("{due} sends before move {step}"), WAIT, || {
                progress.load(Ordering::SeqCst) >= due
            })
            .await;
            let partition = i32::try_from(step).unwrap() % PARTITIONS;
            let to = next_broker(&ids, current[&partition]);
            move_leader(&mock, TOPIC, partition, to).expect("move leader");
            current.insert(partition, to);
            moved_at.push(progress.load(Ordering::SeqCst));
        }
        let outcomes = finish_sending(producer, sender).await;
        (outcomes, metric(producer, "record-retry-total"), moved_at)
    });
    eprintln!("{mode:?}: leader moves after {moved_at:?} sends; record-retry-total {retries}");
    assert!(
        moved_at.iter().all(|&n| n > 0 && n < RECORDS),
        "every move happened while sending continued: {moved_at:?}"
    );
    assert_eq!(
        leaders(&mock, TOPIC, WAIT).expect("leaders"),
        current,
        "the mock reports the moved leaders"
    );
    assert_all_logged(&bootstrap, outcomes, RECORDS, Order::Send);
    assert!(
        retries > 0.0,
        "batches sent to a former leader were retried (record-retry-total {retries})"
    );
    eprintln!("{mode:?}: done in {:?}", started.elapsed());
}

#[test]
fn leaders_move_mid_stream_strict() {
    leaders_move_mid_stream(Mode::Strict);
}

#[test]
fn leaders_move_mid_stream_idempotent() {
    leaders_move_mid_stream(Mode::Idempotent);
}

// ------------------------------------------------------------------------------------------
// 2. A leader broker down and back.

/// A delivery watched from the moment of its send: when it was sent, its outcome, when that
/// arrived.
type Watched = (Instant, Result<RecordMetadata, ProduceError>, Instant);

/// `failover`: right after taking the leader of partition 0 down, move that partition's
/// leadership to broker 2 (what a controller does when a broker dies).
fn broker_down_and_back(mode: Mode, failover: bool) {
    const RECORDS: usize = 1500;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    spread_leaders(&mock);
    let before = leaders(&mock, TOPIC, WAIT).expect("leaders");
    assert_eq!(before, BTreeMap::from([(0, 1), (1, 2), (2, 3)]));
    let victim = before[&0];
    let (watched, retries, down, up) = with_producer(&bootstrap, mode, &[], async |producer| {
        let progress = Arc::new(AtomicUsize::new(0));
        // About 3 s of sending: 10 ms pause every 5 records. Each delivery is awaited by its
        // own task, which notes when it resolved.
        let sender = {
            let producer = producer.clone();
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut watchers = Vec::with_capacity(RECORDS);
                for i in 0..RECORDS {
                    let sent = Instant::now();
                    let delivery = producer
                        .send(record(i))
                        .await
                        .unwrap_or_else(|e| panic!("send of record {i} was refused: {e}"));
                    watchers.push((
                        i,
                        tokio::spawn(async move {
                            let result = delivery.await;
                            (sent, result, Instant::now())
                        }),
                    ));
                    progress.fetch_add(1, Ordering::SeqCst);
                    if (i + 1) % 5 == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                watchers
            })
        };
        // Down after about a sixth of the sends, up after about two thirds: the sender's
        // progress decides, not the clock, so both happen while sending continues.
        wait_for("250 sends before the broker goes down", WAIT, || {
            progress.load(Ordering::SeqCst) >= 250
        })
        .await;
        mock.broker_down(victim).expect("broker down");
        if failover {
            move_leader(&mock, TOPIC, 0, 2).expect("fail over");
        }
        let down = (Instant::now(), progress.load(Ordering::SeqCst));
        wait_for("1000 sends before the broker comes back", WAIT, || {
            progress.load(Ordering::SeqCst) >= 1000
        })
        .await;
        let up = (Instant::now(), progress.load(Ordering::SeqCst));
        mock.broker_up(victim).expect("broker up");
        let watchers = tokio::time::timeout(WAIT, sender)
            .await
            .expect("sending finished in time")
            .expect("sender task");
        producer.flush(WAIT).await.expect("flush");
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut watched: Vec<(usize, Watched)> = Vec::with_capacity(RECORDS);
        for (i, watcher) in watchers {
            let w = tokio::time::timeout_at(deadline, watcher)
                .await
                .unwrap_or_else(|_| panic!("the delivery of record {i} did not resolve"))
                .expect("watcher task");
            watched.push((i, w));
        }
        (watched, metric(producer, "record-retry-total"), down, up)
    });
    let (down_time, down_at) = down;
    let (up_time, up_at) = up;
    eprintln!(
        "{mode:?}: broker {victim} down after {down_at} sends, up after {up_at}; \
         record-retry-total {retries}"
    );
    assert!(
        0 < down_at && down_at < up_at && up_at < RECORDS,
        "the broker went down and came back while sending continued ({down_at}, {up_at})"
    );
    // Records sent while the victim was down (leaving the last 500 ms, and its leader's
    // records needing the broker back): the victim's waited for it, unless its partition failed
    // over (then they flowed from 300 ms after the failover on); the others did not wait.
    let mut waited = 0;
    let mut flowed = 0;
    let mut failed_over = 0;
    for (i, (sent, result, resolved)) in &watched {
        let Ok(md) = result else { continue };
        if *sent < down_time || *sent + Duration::from_millis(500) > up_time {
            continue;
        }
        if md.partition() == 0 && failover {
            if *sent >= down_time + Duration::from_millis(300) {
                assert!(
                    *resolved < up_time,
                    "record {i} of the failed-over partition waited for the old leader"
                );
                failed_over += 1;
            }
        } else if md.partition() == 0 {
            assert!(
                *resolved >= up_time,
                "record {i} on the downed leader's partition resolved before the broker was \
                 back"
            );
            waited += 1;
        } else {
            assert!(
                *resolved < up_time,
                "record {i} (partition {}) waited for the unrelated broker {victim}: resolved \
                 {:?} after it came back",
                md.partition(),
                resolved.saturating_duration_since(up_time)
            );
            flowed += 1;
        }
    }
    eprintln!(
        "{mode:?} (failover: {failover}): during the outage, {waited} records of partition 0 \
         waited for the broker, {failed_over} went to the new leader, {flowed} of partitions 1 \
         and 2 were delivered meanwhile"
    );
    if failover {
        assert!(
            failed_over > 0 && flowed > 0,
            "{failed_over} failed over, {flowed} flowed"
        );
    } else {
        assert!(waited > 0 && flowed > 0, "{waited} waited, {flowed} flowed");
    }
    let outcomes = watched
        .into_iter()
        .map(|(i, (_, result, _))| (i, result))
        .collect();
    assert_all_logged(&bootstrap, outcomes, RECORDS, Order::Send);
    eprintln!("{mode:?}: done in {:?}", started.elapsed());
}

#[test]
fn broker_down_and_back_strict() {
    broker_down_and_back(Mode::Strict, false);
}

#[test]
fn broker_down_with_failover_strict() {
    broker_down_and_back(Mode::Strict, true);
}

#[test]
fn broker_down_with_failover_idempotent() {
    broker_down_and_back(Mode::Idempotent, true);
}

#[test]
fn broker_down_and_back_idempotent() {
    broker_down_and_back(Mode::Idempotent, false);
}

/// What the producer's driver did, from its metrics: wake-ups waiting for I/O (`select-total`)
/// and requests sent (`request-total`).
#[derive(Debug)]
struct DriverWork {
    selects: f64,
    requests: f64,
}

impl DriverWork {
    fn of(producer: &Producer) -> Self {
        Self {
            selects: metric(producer, "select-total"),
            requests: metric(producer, "request-total"),
        }
    }

    fn since(&self, earlier: &Self) -> Self {
        Self {
            selects: self.selects - earlier.selects,
            requests: self.requests - earlier.requests,
        }
    }
}

/// A partition without a leader for a second mid-stream, then led by another broker: its
/// records wait and are then delivered, in order, and the producer does not spin meanwhile.
fn leaderless_partition_mid_stream(mode: Mode) {
    const RECORDS: usize = 1200;
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    spread_leaders(&mock);
    // The mock's Produce v10 handler dereferences the leader of a leaderless partition to fill
    // in CurrentLeader (KIP-951) and crashes the test process (SIGSEGV): keep Produce below v10.
    restrict_versions(&mock, &[(RDKafkaApiKey::Produce, 0, 9)]).expect("restrict Produce");
    let (outcomes, idle) = with_producer(&bootstrap, mode, &[], async |producer| {
        // About 2.4 s of sending: 10 ms pause every 5 records.
        let sender = tokio::spawn(send_paced(
            producer.clone(),
            0..RECORDS,
            5,
            Duration::from_millis(10),
            Arc::new(AtomicUsize::new(0)),
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        mock.partition_leader(TOPIC, 0, None)
            .expect("make partition 0 leaderless");
        // The partition stays leaderless for a second (a sleep to let time pass); what the
        // driver did meanwhile is counted, not timed.
        let before = DriverWork::of(producer);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle = DriverWork::of(producer).since(&before);
        move_leader(&mock, TOPIC, 0, 2).expect("move leader");
        (finish_sending(producer, sender).await, idle)
    });
    eprintln!("{mode:?}: driver work during the leaderless second: {idle:?}");
    assert_all_logged(&bootstrap, outcomes, RECORDS, Order::Send);
    // No busy loop: about 500 sends, their Produce requests and a metadata refresh per retry
    // backoff (20 ms) make a few hundred driver wake-ups and requests in that second; a loop
    // spinning on the leaderless partition makes tens of thousands, however loaded the machine.
    assert!(
        idle.selects < 5_000.0 && idle.requests < 2_000.0,
        "the driver woke or sent too often during one leaderless second (a busy loop?): {idle:?}"
    );
}

#[test]
fn leaderless_partition_mid_stream_strict() {
    leaderless_partition_mid_stream(Mode::Strict);
}

#[test]
fn leaderless_partition_mid_stream_idempotent() {
    leaderless_partition_mid_stream(Mode::Idempotent);
}
