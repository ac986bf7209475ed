//! [`Cluster`]: what the last Metadata responses said about brokers, topics and
//! partitions (Java: `MetadataCache` plus `Metadata.lastSeenLeaderEpochs`).
//!
//! Updates follow KIP-320: a partition's leader epoch never goes backwards. A
//! response from a broker that has not yet heard of a newer leader (its epoch is
//! lower than one we have seen) must not undo what we know, so for that
//! partition the previous information is kept.

use std::collections::BTreeMap;

use ferrokafka_wire::messages::metadata::{
    MetadataResponse, MetadataResponsePartition, MetadataResponseTopic,
};
use ferrokafka_wire::messages::produce::NodeEndpoint;
use ferrokafka_wire::{ErrorCode, Uuid};

/// A broker as listed in a Metadata response or a KIP-951 endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Broker (node) id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: u16,
    /// Rack, if the broker has `broker.rack` set.
    pub rack: Option<String>,
}

impl Broker {
    /// Builds a broker from wire fields; `None` if the port is not in `1..=65535`
    /// (such a broker could never be connected to).
    fn from_wire(id: i32, host: &str, port: i32, rack: Option<&String>) -> Option<Self> {
        let port = u16::try_from(port).ok().filter(|p| *p != 0)?;
        Some(Self {
            id,
            host: host.to_owned(),
            port,
            rack: rack.cloned(),
        })
    }
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub index: i32,
    /// Leader broker id; `None` when the cluster reported `-1` (no leader).
    pub leader: Option<i32>,
    /// Leader epoch; `None` when unknown (`-1`, or Metadata below v7).
    pub leader_epoch: Option<i32>,
    /// Replica broker ids. (Boxed slices, not `Vec`s: a topic may have a million partitions,
    /// and the model lives as long as the producer.)
    pub replicas: Box<[i32]>,
    /// In-sync replica broker ids.
    pub isr: Box<[i32]>,
    /// Offline replica broker ids.
    pub offline: Box<[i32]>,
    /// Partition-level error of the response this came from.
    pub error: ErrorCode,
}

impl PartitionInfo {
    fn from_wire(p: &MetadataResponsePartition) -> Self {
        Self {
            index: p.partition_index,
            leader: (p.leader_id >= 0).then_some(p.leader_id),
            leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
            replicas: p.replica_nodes.as_slice().into(),
            isr: p.isr_nodes.as_slice().into(),
            offline: p.offline_replicas.as_slice().into(),
            error: ErrorCode(p.error_code),
        }
    }
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Topic id (all zeros before Metadata v10).
    pub topic_id: Uuid,
    /// Topic-level error; when not `NONE` there are no partitions.
    pub error: ErrorCode,
    /// Whether this is an internal topic such as `__consumer_offsets`.
    pub is_internal: bool,
    /// Partitions by index.
    /// Partitions sorted by index, one entry per index (a sorted `Vec` rather than a map:
    /// compact for topics of very many partitions; look one up with [`TopicInfo::partition`]).
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// The partition with this index.
    pub fn partition(&self, index: i32) -> Option<&PartitionInfo> {
        let at = self
            .partitions
            .binary_search_by_key(&index, |p| p.index)
            .ok()?;
        self.partitions.get(at)
    }

    fn partition_mut(&mut self, index: i32) -> Option<&mut PartitionInfo> {
        let at = self
            .partitions
            .binary_search_by_key(&index, |p| p.index)
            .ok()?;
        self.partitions.get_mut(at)
    }
}

/// The cluster as last described by Metadata responses and leader hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    brokers: BTreeMap<i32, Broker>,
    /// Cluster id (Metadata v2+).
    id: Option<String>,
    controller: Option<i32>,
    topics: BTreeMap<String, TopicInfo>,
    /// Highest leader epoch seen per partition. Outlives a topic's entry in
    /// `topics` (a topic may come back after an error), and is only dropped
    /// when the topic is no longer of interest.
    /// Keyed by topic, then partition: one topic name per topic, not per partition (a topic
    /// of a million partitions must not hold a million copies of its name).
    last_seen_epochs: BTreeMap<String, BTreeMap<i32, i32>>,
}

impl Cluster {
    /// A cluster built from one response, with no history.
    pub fn from_response(resp: &MetadataResponse) -> Self {
        let mut c = Self::default();
        c.update(resp);
        c
    }

    /// Merges a response: brokers (except leaders we still use), cluster id and
    /// controller are replaced; each
    /// topic in the response replaces its previous entry, except partitions
    /// whose leader epoch is older than one already seen (kept as they were, or
    /// listed without a leader if we have nothing older to keep). Topics absent
    /// from the response are left alone. Topics with a null name (by-id answers)
    /// are ignored.
    ///
    /// Returns the partitions whose stale answer was rejected.
    pub fn update(&mut self, resp: &MetadataResponse) -> Vec<(String, i32)> {
        let old_brokers = std::mem::replace(
            &mut self.brokers,
            resp.brokers
                .iter()
                .filter_map(|b| Broker::from_wire(b.node_id, &b.host, b.port, b.rack.as_ref()))
                .map(|b| (b.id, b))
                .collect(),
        );
        self.id.clone_from(&resp.cluster_id);
        self.controller = (resp.controller_id >= 0).then_some(resp.controller_id);
        let mut rejected = Vec::new();
        for t in &resp.topics {
            if let Some(name) = &t.name {
                let info = self.merge_topic(name, t, &mut rejected);
                self.topics.insert(name.clone(), info);
            }
        }
        // A leader kept by the epoch rule (or learned from a KIP-951 hint) may
        // be missing from a lagging broker's list: keep its address too.
        for t in self.topics.values() {
            for leader in t.partitions.iter().filter_map(|p| p.leader) {
                if !self.brokers.contains_key(&leader)
                    && let Some(b) = old_brokers.get(&leader)
                {
                    self.brokers.insert(leader, b.clone());
                }
            }
        }
        rejected
    }

    fn merge_topic(
        &mut self,
        name: &str,
        t: &MetadataResponseTopic,
        rejected: &mut Vec<(String, i32)>,
    ) -> TopicInfo {
        let error = ErrorCode(t.error_code);
        let mut partitions: Vec<PartitionInfo> = Vec::with_capacity(t.partitions.len());
        if error.is_none() {
            for p in &t.partitions {
                let new = PartitionInfo::from_wire(p);
                let seen = self.last_seen_epoch(name, new.index);
                let keep = match (new.leader_epoch, seen) {
                    (Some(e), Some(s)) if e < s => {
                        rejected.push((name.to_owned(), new.index));
                        let old = self.partition(name, new.index).cloned();
                        // Nothing newer to keep: list the partition (so the count
                        // stays right) but without a leader until a fresh answer.
                        Some(old.unwrap_or(PartitionInfo {
                            leader: None,
                            leader_epoch: Some(s),
                            ..new.clone()
                        }))
                    }
                    (Some(e), _) => {
                        self.note_epoch(name, new.index, e);
                        None
                    }
                    (None, _) => None,
                };
                partitions.push(keep.unwrap_or(new));
            }
            // Brokers list partitions in order; sort anyway, and a repeated index keeps its
            // last entry, as a map would.
            partitions.reverse();
            partitions.sort_by_key(|p| p.index);
            partitions.dedup_by_key(|p| p.index);
        }
        TopicInfo {
            name: name.to_owned(),
            topic_id: t.topic_id,
            error,
            is_internal: t.is_internal,
            partitions,
        }
    }

    /// Applies a KIP-951 leader hint from a Produce (v10+) response: if
    /// `leader_epoch` is newer than the partition's known epoch, `leader_id`
    /// becomes its leader, and brokers named in `endpoints` that we do not know
    /// are added. The hint is ignored (returns `false`) when the partition is
    /// unknown, the id or epoch is negative, the epoch is not newer, or the
    /// leader is neither a known broker nor among `endpoints` (as in Java's
    /// `Metadata.updatePartitionLeadership`).
    pub fn apply_leader_hint(
        &mut self,
        topic: &str,
        partition: i32,
        leader_id: i32,
        leader_epoch: i32,
        endpoints: &[NodeEndpoint],
    ) -> bool {
        if leader_id < 0 || leader_epoch < 0 {
            return false;
        }
        let Some(current) = self.topics.get(topic).and_then(|t| t.partition(partition)) else {
            return false;
        };
        let known = current
            .leader_epoch
            .max(self.last_seen_epoch(topic, partition));
        if known.is_some_and(|e| leader_epoch <= e) {
            return false;
        }
        let endpoint = endpoints.iter().find(|e| e.node_id == leader_id);
        if !self.brokers.contains_key(&leader_id) && endpoint.is_none() {
            return false;
        }
        for e in endpoints {
            if !self.brokers.contains_key(&e.node_id)
                && let Some(b) = Broker::from_wire(e.node_id, &e.host, e.port, e.rack.as_ref())
            {
                self.brokers.insert(b.id, b);
            }
        }
        if !self.brokers.contains_key(&leader_id) {
            // The endpoint for the leader had an unusable port.
            return false;
        }
        if let Some(p) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partition_mut(partition))
        {
            p.leader = Some(leader_id);
            p.leader_epoch = Some(leader_epoch);
            p.error = ErrorCode::NONE;
        }
        self.note_epoch(topic, partition, leader_epoch);
        true
    }

    fn note_epoch(&mut self, topic: &str, partition: i32, epoch: i32) {
        if let Some(epochs) = self.last_seen_epochs.get_mut(topic) {
            epochs.insert(partition, epoch);
        } else {
            self.last_seen_epochs
                .insert(topic.to_owned(), BTreeMap::from([(partition, epoch)]));
        }
    }

    /// Keeps only the topics for which `keep` returns true (and their epochs).
    pub fn retain_topics(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.topics.retain(|name, _| keep(name));
        self.last_seen_epochs.retain(|name, _| keep(name));
    }

    /// The leader broker id of a partition, if it has one.
    pub fn leader_for(&self, topic: &str, partition: i32) -> Option<i32> {
        self.partition(topic, partition)?.leader
    }

    /// The leader broker of a partition, if it has one and the broker is known.
    pub fn leader_broker(&self, topic: &str, partition: i32) -> Option<&Broker> {
        self.broker(self.leader_for(topic, partition)?)
    }

    /// The number of partitions of a topic known without a topic-level error.
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        let t = self.topics.get(topic)?;
        (t.error.is_none() && !t.partitions.is_empty()).then_some(t.partitions.len())
    }

    /// Indices of the partitions of `topic` that have a leader, ascending (Java:
    /// `Cluster.availablePartitionsForTopic`).
    pub fn available_partitions(&self, topic: &str) -> Vec<i32> {
        self.topics.get(topic).map_or_else(Vec::new, |t| {
            t.partitions
                .iter()
                .filter(|p| p.leader.is_some())
                .map(|p| p.index)
                .collect()
        })
    }

    /// A broker by id.
    pub fn broker(&self, id: i32) -> Option<&Broker> {
        self.brokers.get(&id)
    }

    /// All known brokers, by id.
    pub fn brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.values()
    }

    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&TopicInfo> {
        self.topics.get(name)
    }

    /// All known topics, by name.
    pub fn topics(&self) -> impl Iterator<Item = &TopicInfo> {
        self.topics.values()
    }

    /// A partition of a topic.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionInfo> {
        self.topics.get(topic)?.partition(partition)
    }

    /// The highest leader epoch seen for a partition.
    pub fn last_seen_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.last_seen_epochs
            .get(topic)
            .and_then(|epochs| epochs.get(&partition))
            .copied()
    }

    /// The cluster id (Metadata v2+).
    pub fn cluster_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The controller's broker id, if reported.
    pub fn controller(&self) -> Option<i32> {
        self.controller
    }
}
