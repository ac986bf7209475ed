//! Nodes lost mid-stream: a leader killed (1), a follower down under `min.insync.replicas=3`
//! (2), a leader frozen with requests in flight (5), and the leader of each partition killed in
//! turn (6).

use ferrokafka_tests::kafka::JavaHelper;
use ferrokafka_tests::wait::wait_until;

use crate::partitions::{full_isr, restart, wait_for_partitions, wait_in_sync, wait_new_leader};
use crate::stream::{wait_flowing, wait_in_flight};
use crate::{FLOWING, FaultRun, PARTITIONS, WAIT, WARM_UP, partition_of};

// ------------------------------------------------------------------------------------------
// 1. The leader of a busy partition killed and restarted.

#[test]
fn leader_killed_mid_stream_and_restarted() {
    let (run, parts) = FaultRun::start(
        "leader_killed_mid_stream_and_restarted",
        "faults-leader-killed",
        "2",
    );
    let (cluster, topic) = (run.cluster, run.topic);
    let victim = parts[0].leader;

    let (stream, progress) = run.warm_stream(&[]);
    let (sent, in_flight) = (progress.sent(), progress.in_flight_in(0));
    cluster.kill(victim);
    progress.next_phase(); // 1: the leader is dead
    eprintln!(
        "killed node {victim}, leader of partition 0, with {sent} records sent, {in_flight} of \
         partition 0 in flight"
    );
    wait_new_leader(cluster, topic, 0, victim);
    progress.next_phase(); // 2: a new leader, the old one still dead
    wait_flowing(&progress, 0, "by the new leader");
    restart(cluster, victim);
    progress.next_phase(); // 3: every node up
    wait_in_sync(cluster, topic, "the restarted node");
    wait_flowing(&progress, 0, "after the restart");

    let (outcomes, retries) = run.finish(stream, "");
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
}

// ------------------------------------------------------------------------------------------
// 2. min.insync.replicas=3 and a follower down: NOT_ENOUGH_REPLICAS until it is back.

#[test]
fn follower_down_gives_not_enough_replicas_until_it_returns() {
    let (run, parts) = FaultRun::start(
        "follower_down_gives_not_enough_replicas_until_it_returns",
        "faults-min-isr-3",
        "3",
    );
    let (cluster, topic) = (run.cluster, run.topic);
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

    let (stream, progress) = run.warm_stream(&[]);
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
        WAIT,
        || progress.sent() >= sent_at_shrink + FLOWING && stream.retries() > retries_at_shrink,
    );
    let acked_while_down = progress.acked();
    let restarted = progress.next_phase(); // 3: the follower is coming back
    restart(cluster, follower);
    wait_in_sync(cluster, topic, "the follower");
    wait_flowing(&progress, 0, "with the follower back");

    let (outcomes, _) = run.finish(
        stream,
        &format!("{acked_while_down} acknowledged before the restart; "),
    );
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
}

// ------------------------------------------------------------------------------------------
// 5. The leader frozen with requests in flight, replaced, then thawed.

#[test]
fn leader_frozen_mid_stream_then_thawed() {
    let (run, parts) = FaultRun::start(
        "leader_frozen_mid_stream_then_thawed",
        "faults-leader-frozen",
        "2",
    );
    let (cluster, topic) = (run.cluster, run.topic);
    let victim = parts[0].leader;

    // Requests to the frozen node time out after 5 s (the 15 s elsewhere would only slow this).
    let (stream, progress) = run.warm_stream(&[("request.timeout.ms", "5000")]);
    let in_flight = progress.in_flight_in(0);
    cluster.pause(victim);
    progress.next_phase(); // 1: the leader is frozen
    eprintln!(
        "froze node {victim}, leader of partition 0, with {in_flight} records of partition 0 in \
         flight"
    );
    wait_new_leader(cluster, topic, 0, victim);
    progress.next_phase(); // 2: a new leader, the old one still frozen
    wait_flowing(&progress, 0, "by the new leader");
    let retries_before_thaw = stream.retries();
    cluster.resume(victim);
    progress.next_phase(); // 3: the old leader runs again
    wait_in_sync(cluster, topic, "the thawed node");
    wait_flowing(&progress, 0, "with the old leader thawed");

    run.finish(
        stream,
        &format!("{retries_before_thaw} retries before the thaw; "),
    );
    assert!(
        retries_before_thaw > 0.0,
        "batches stuck on the frozen leader were retried elsewhere before it was thawed"
    );
}

// ------------------------------------------------------------------------------------------
// 6. The leader of each partition killed in turn (one node down at a time).

#[test]
fn leader_of_each_partition_killed_in_turn() {
    let (run, mut parts) = FaultRun::start(
        "leader_of_each_partition_killed_in_turn",
        "faults-leaders-killed-in-turn",
        "2",
    );
    let (cluster, topic) = (run.cluster, run.topic);

    let (stream, progress) = run.stream(&[]);
    let mut kills = Vec::new();
    for round in 0..PARTITIONS {
        let p = partition_of(round);
        let victim = parts[round].leader;
        wait_in_flight(&progress, p, progress.acked() + WARM_UP);
        let in_flight = progress.in_flight_in(p);
        cluster.kill(victim);
        progress.next_phase();
        kills.push((p, victim, in_flight));
        wait_new_leader(cluster, topic, round, victim);
        wait_flowing(&progress, p, "by the new leader");
        restart(cluster, victim);
        progress.next_phase();
        parts = wait_in_sync(cluster, topic, "the restarted node");
    }
    wait_flowing(&progress, 0, "after the last restart");

    run.finish(
        stream,
        &format!("killed (partition, leader, records of it in flight) {kills:?}; "),
    );
}
