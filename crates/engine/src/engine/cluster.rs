//! Cluster view: metadata answers, the per-topic partition cache appends read, rack
//! preference (KIP-1123) and re-bootstrapping (KIP-899).

use ferrokafka_accumulator::TopicPartition;
use ferrokafka_partition::PartitionSet;
use ferrokafka_wire::Topic;

use super::{Engine, TopicCache};

impl Engine {
    /// KIP-899: metadata comes from the bootstrap servers again. Connections for metadata go to
    /// them (not to the brokers of the last known metadata) until a Metadata answer arrives.
    pub(super) fn start_rebootstrap(&mut self, why: &str) {
        if self.rebootstrapping {
            return;
        }
        tracing::info!(reason = why, "rebootstrapping from bootstrap.servers");
        self.rebootstrapping = true;
        self.counters.rebootstraps += 1;
        self.metadata.request_update();
        self.dirty = true;
    }

    /// Leaders of every partition of the topics in use, for tracing what a Metadata answer
    /// changed.
    pub(super) fn leaders_snapshot(&self) -> Vec<(Topic, Vec<Option<i32>>)> {
        if !tracing::enabled!(tracing::Level::INFO) {
            return Vec::new();
        }
        let cluster = self.metadata.cluster();
        self.topics
            .iter()
            .map(|(t, cache)| {
                let leaders = (0..cache.count as i32)
                    .map(|p| cluster.leader_for(t, p))
                    .collect();
                (t.clone(), leaders)
            })
            .collect()
    }

    pub(super) fn on_metadata_updated(&mut self, before: &[(Topic, Vec<Option<i32>>)]) {
        self.cluster_generation += 1;
        let names: Vec<Topic> = self.topics.iter().map(|(name, _)| name.clone()).collect();
        for t in names {
            self.refresh_topic_cache(&t);
        }
        if tracing::enabled!(tracing::Level::INFO) {
            let cluster = self.metadata.cluster();
            for (topic, leaders) in before {
                let moved: Vec<(i32, Option<i32>, Option<i32>)> = leaders
                    .iter()
                    .enumerate()
                    .filter_map(|(p, old)| {
                        let p = p as i32;
                        let new = cluster.leader_for(topic, p);
                        (new != *old).then_some((p, *old, new))
                    })
                    .collect();
                if !moved.is_empty() {
                    tracing::info!(
                        topic = %topic,
                        partitions = moved.len(),
                        "partition leaders changed"
                    );
                    for (p, old, new) in moved {
                        tracing::debug!(topic = %topic, partition = p, old = ?old, new = ?new, "leader moved");
                    }
                }
            }
            tracing::debug!(
                brokers = cluster.brokers().count(),
                topics = self.topics.len(),
                "metadata updated"
            );
        }
        // Nodes no longer in the cluster keep their connections until they fail.
        self.dirty = true;
    }

    pub(super) fn refresh_topic_cache(&mut self, topic: &str) {
        let cluster = self.metadata.cluster();
        match cluster.partition_count(topic) {
            Some(n) if n > 0 => {
                // One shared name per topic, kept across metadata updates.
                let name = self
                    .topics
                    .get_key_value(topic)
                    .map_or_else(|| Topic::new(topic), |(name, _)| name.clone());
                let cache = TopicCache {
                    count: n as u32,
                    available: PartitionSet::new(
                        n as u32,
                        rack_preferred(
                            cluster,
                            topic,
                            cluster.available_partitions(topic),
                            self.config.preferred_rack.as_deref(),
                        ),
                    ),
                    partitions: (0..n as i32)
                        .map(|p| TopicPartition::new(name.clone(), p))
                        .collect(),
                    slots: vec![std::cell::Cell::new(None); n],
                };
                self.topics.insert(name, cache);
            }
            _ => {
                self.topics.remove(topic);
            }
        }
    }
}

/// KIP-1123: of the partitions with a leader, those led by a broker in `rack`, unless there
/// are none (or no rack is preferred): then all of them. Keyed records never look at this list
/// (their partition is the key's hash over every partition), so only keyless ones change.
pub(super) fn rack_preferred(
    cluster: &ferrokafka_metadata::Cluster,
    topic: &str,
    available: Vec<i32>,
    rack: Option<&str>,
) -> Vec<i32> {
    let Some(rack) = rack else {
        return available;
    };
    let local: Vec<i32> = available
        .iter()
        .copied()
        .filter(|&p| {
            cluster
                .leader_broker(topic, p)
                .and_then(|b| b.rack.as_deref())
                == Some(rack)
        })
        .collect();
    if local.is_empty() { available } else { local }
}

pub(super) fn bootstrap_node(index: usize) -> i32 {
    -1 - index as i32
}
