//! Controlled leader moves mid-stream: a partition reassigned to a new preferred leader and
//! that leader elected (3), and a leader's controlled shutdown, restart and election back (4).

use ferrokafka_tests::kafka::JavaHelper;

use crate::FaultRun;
use crate::WAIT;
use crate::partitions::{restart, wait_for_partitions, wait_in_sync, wait_new_leader};
use crate::stream::wait_flowing;

/// Elects the preferred leader of the topic's partition 0.
fn elect_preferred(run: &FaultRun) {
    JavaHelper::shared()
        .expect("Java helper")
        .elect_preferred(&run.cluster.bootstrap(), run.topic, 0)
        .unwrap_or_else(|e| panic!("elect the preferred leader of partition 0: {e}"));
}

// ------------------------------------------------------------------------------------------
// 3. Controlled leader moves: reassignment to a new preferred leader, then its election.

#[test]
fn preferred_leader_moved_by_reassignment_mid_stream() {
    let (run, mut parts) = FaultRun::start(
        "preferred_leader_moved_by_reassignment_mid_stream",
        "faults-leader-reassigned",
        "2",
    );
    let (cluster, topic) = (run.cluster, run.topic);

    let (stream, progress) = run.warm_stream(&[]);
    let mut leaders = vec![parts[0].leader];
    for round in 0..2 {
        // Rotate partition 0's replica list: the second replica becomes the preferred leader.
        let mut replicas = parts[0].replicas.clone();
        replicas.rotate_left(1);
        let new_leader = replicas[0];
        JavaHelper::shared()
            .expect("Java helper")
            .reassign(&cluster.bootstrap(), topic, 0, &replicas)
            .unwrap_or_else(|e| panic!("reassign partition 0 to {replicas:?}: {e}"));
        elect_preferred(&run);
        progress.next_phase();
        parts = wait_for_partitions(
            cluster,
            topic,
            &format!("node {new_leader} leads partition 0 (round {round})"),
            |ps| ps[0].leader == new_leader && ps[0].replicas == replicas,
        );
        leaders.push(new_leader);
        wait_flowing(&progress, 0, "by the new leader");
    }

    run.finish(stream, &format!("partition 0 led by {leaders:?}; "));
}

// ------------------------------------------------------------------------------------------
// 4. Controlled shutdown of the leader, restart, and the preferred leader elected back.

#[test]
fn leader_controlled_shutdown_and_preferred_election_mid_stream() {
    let (run, parts) = FaultRun::start(
        "leader_controlled_shutdown_and_preferred_election_mid_stream",
        "faults-controlled-shutdown",
        "2",
    );
    let (cluster, topic) = (run.cluster, run.topic);
    let victim = parts[0].leader;
    assert_eq!(
        parts[0].replicas.first(),
        Some(&victim),
        "a new partition's leader is its preferred replica"
    );

    let (stream, progress) = run.warm_stream(&[]);
    let in_flight = progress.in_flight_in(0);
    cluster.stop(victim, WAIT);
    progress.next_phase(); // 1: the leader shut down (leadership moved away first)
    eprintln!(
        "stopped node {victim}, leader of partition 0 (controlled shutdown), with {in_flight} \
         records of partition 0 in flight"
    );
    wait_new_leader(cluster, topic, 0, victim);
    wait_flowing(&progress, 0, "by the new leader");
    restart(cluster, victim);
    progress.next_phase(); // 2: back, a follower
    wait_in_sync(cluster, topic, "the restarted node");
    wait_flowing(&progress, 0, "after the restart");
    elect_preferred(&run);
    progress.next_phase(); // 3: leadership moved back
    wait_for_partitions(
        cluster,
        topic,
        "the restarted node leads partition 0 again",
        |ps| ps[0].leader == victim,
    );
    wait_flowing(&progress, 0, "by the preferred leader");

    run.finish(stream, "");
}
