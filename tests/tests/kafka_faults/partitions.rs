//! Partition state as every running node sees it: waiting for leaders and in-sync replicas,
//! and creating the test topics.

use std::time::{Duration, Instant};

use ferrokafka_tests::kafka::{KafkaCluster, PartitionState};
use ferrokafka_tests::wire_client::WireClient;

use crate::{PARTITIONS, WAIT};

/// Like `ferrokafka_tests::wait::wait_until` for a condition on the topic's partitions, which must hold in the
/// metadata of every running node (so one node's lagging view cannot satisfy it early). Metadata
/// requests go to running nodes only: a frozen node would hold them (which is also why this does
/// not use the Java Admin client, whose requests may go to any node). Errors count as "not yet".
pub(crate) fn wait_for_partitions(
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
pub(crate) fn describe(
    cluster: &KafkaCluster,
    id: i32,
    topic: &str,
) -> Result<Vec<PartitionState>, String> {
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

pub(crate) fn full_isr(parts: &[PartitionState]) -> bool {
    parts.len() == PARTITIONS && parts.iter().all(|p| p.leader >= 0 && p.isr.len() == 3)
}

pub(crate) fn create_topic(
    cluster: &KafkaCluster,
    topic: &str,
    min_isr: &str,
) -> Vec<PartitionState> {
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

/// Waits until partition `partition` is led by another node than `victim`.
pub(crate) fn wait_new_leader(
    cluster: &KafkaCluster,
    topic: &str,
    partition: usize,
    victim: i32,
) -> Vec<PartitionState> {
    wait_for_partitions(
        cluster,
        topic,
        &format!("partition {partition} has a new leader"),
        |ps| ps[partition].leader >= 0 && ps[partition].leader != victim,
    )
}

/// Waits until every replica of every partition is in sync again, `what` naming the node.
pub(crate) fn wait_in_sync(cluster: &KafkaCluster, topic: &str, what: &str) -> Vec<PartitionState> {
    wait_for_partitions(cluster, topic, &format!("{what} is back in sync"), full_isr)
}

/// Restarts node `id` (stopped, killed or frozen by the test).
pub(crate) fn restart(cluster: &KafkaCluster, id: i32) {
    cluster
        .restart(id)
        .unwrap_or_else(|e| panic!("restart node {id}: {e}"));
}
