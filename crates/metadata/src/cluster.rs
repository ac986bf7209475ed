//! [`Cluster`]: what the last Metadata responses said about brokers, topics and
//! partitions (Java: `MetadataCache` plus `Metadata.lastSeenLeaderEpochs`).
//!
//! Updates follow KIP-320: a partition's leader epoch never goes backwards. A
//! response from a broker that has not yet heard of a newer leader (its epoch is
//! lower than one we have seen) must not undo what we know, so for that
//! partition the previous information is kept.

use std::borrow::Cow;
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
    /// From a partition of a response; an owned one gives up its replica lists.
    fn from_wire(p: Cow<'_, MetadataResponsePartition>) -> Self {
        let (index, leader, epoch, error) =
            (p.partition_index, p.leader_id, p.leader_epoch, p.error_code);
        let (replicas, isr, offline) = match p {
            Cow::Borrowed(p) => (
                p.replica_nodes.as_slice().into(),
                p.isr_nodes.as_slice().into(),
                p.offline_replicas.as_slice().into(),
            ),
            Cow::Owned(p) => (
                p.replica_nodes.into_boxed_slice(),
                p.isr_nodes.into_boxed_slice(),
                p.offline_replicas.into_boxed_slice(),
            ),
        };
        Self {
            index,
            leader: (leader >= 0).then_some(leader),
            leader_epoch: (epoch >= 0).then_some(epoch),
            replicas,
            isr,
            offline,
            error: ErrorCode(error),
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
        self.position(index).map(|at| &self.partitions[at])
    }

    fn partition_mut(&mut self, index: i32) -> Option<&mut PartitionInfo> {
        self.position(index).map(|at| &mut self.partitions[at])
    }

    /// Where partition `index` is in the sorted list: at its own index when the partitions
    /// are 0..n (the usual case, found without a search), else by binary search.
    fn position(&self, index: i32) -> Option<usize> {
        let direct = usize::try_from(index).ok()?;
        if self
            .partitions
            .get(direct)
            .is_some_and(|p| p.index == index)
        {
            return Some(direct);
        }
        self.partitions
            .binary_search_by_key(&index, |p| p.index)
            .ok()
    }
}

/// A topic of the model and what outlives its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Topic {
    info: TopicInfo,
    /// Highest leader epoch seen per partition, as `(partition, epoch)` sorted by
    /// partition. Outlives the partitions in `info` (a topic may come back after an
    /// error), and is only dropped with the topic, when it is no longer of interest.
    /// (A sorted boxed slice, not a map: 8 bytes a partition, and none for a topic
    /// of many partitions that a map would spread over half-empty nodes.)
    epochs: Box<[(i32, i32)]>,
}

impl Topic {
    fn epoch(&self, partition: i32) -> Option<i32> {
        epoch_in(&self.epochs, partition)
    }

    /// Records `epoch` as the highest seen for `partition`.
    fn note_epoch(&mut self, partition: i32, epoch: i32) {
        match self.epochs.binary_search_by_key(&partition, |&(p, _)| p) {
            Ok(at) => self.epochs[at].1 = epoch,
            Err(at) => {
                let mut epochs = Vec::with_capacity(self.epochs.len() + 1);
                epochs.extend_from_slice(&self.epochs[..at]);
                epochs.push((partition, epoch));
                epochs.extend_from_slice(&self.epochs[at..]);
                self.epochs = epochs.into_boxed_slice();
            }
        }
    }
}

fn epoch_in(epochs: &[(i32, i32)], partition: i32) -> Option<i32> {
    let at = epochs.binary_search_by_key(&partition, |&(p, _)| p).ok()?;
    Some(epochs[at].1)
}

/// The epochs one answer records for one topic, kept apart from those seen before
/// until the topic is merged: a sorted `Vec` while the partitions come in
/// increasing order (as brokers send them), a map once one does not.
enum Noted {
    Sorted(Vec<(i32, i32)>),
    Unordered(BTreeMap<i32, i32>),
}

impl Noted {
    fn get(&self, partition: i32) -> Option<i32> {
        match self {
            Self::Sorted(v) => epoch_in(v, partition),
            Self::Unordered(m) => m.get(&partition).copied(),
        }
    }

    fn insert(&mut self, partition: i32, epoch: i32) {
        match self {
            Self::Sorted(v) => match v.binary_search_by_key(&partition, |&(p, _)| p) {
                Ok(at) => v[at].1 = epoch,
                Err(at) if at == v.len() => v.push((partition, epoch)),
                Err(_) => {
                    let mut m: BTreeMap<i32, i32> = v.drain(..).collect();
                    m.insert(partition, epoch);
                    *self = Self::Unordered(m);
                }
            },
            Self::Unordered(m) => {
                m.insert(partition, epoch);
            }
        }
    }

    /// `before` updated with these epochs, which are never lower.
    fn merge_into(self, before: Box<[(i32, i32)]>) -> Box<[(i32, i32)]> {
        let noted = match self {
            Self::Sorted(v) => v,
            Self::Unordered(m) => m.into_iter().collect(),
        };
        if noted.is_empty() {
            return before;
        }
        if before.is_empty() {
            return noted.into_boxed_slice();
        }
        let mut len = 0;
        union(&before, &noted, |_| len += 1);
        let mut out = Vec::with_capacity(len);
        union(&before, &noted, |e| out.push(e));
        out.into_boxed_slice()
    }
}

/// Calls `emit` with the union of two runs sorted by partition, in order; a partition in
/// both takes its epoch from `b`.
fn union(a: &[(i32, i32)], b: &[(i32, i32)], mut emit: impl FnMut((i32, i32))) {
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x.0 < y.0 => {
                emit(x);
                i += 1;
            }
            (Some(&x), Some(&y)) if x.0 == y.0 => {
                emit(y);
                i += 1;
                j += 1;
            }
            (_, Some(&y)) => {
                emit(y);
                j += 1;
            }
            (Some(&x), None) => {
                emit(x);
                i += 1;
            }
            (None, None) => break,
        }
    }
}

/// The cluster as last described by Metadata responses and leader hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    brokers: BTreeMap<i32, Broker>,
    /// Cluster id (Metadata v2+).
    id: Option<String>,
    controller: Option<i32>,
    /// Topics with the epochs seen for their partitions, by name. (One map, one copy
    /// of each name as key, and none per partition: a topic may have a million
    /// partitions, and a cluster tens of thousands of topics.)
    topics: BTreeMap<String, Topic>,
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
    ///
    /// Topics and partitions the response keeps encoded (as a decoded one does)
    /// are decoded one at a time, but the response keeps their bytes while the
    /// model is built; [`Cluster::update_owned`] frees them as it goes.
    pub fn update(&mut self, resp: &MetadataResponse) -> Vec<(String, i32)> {
        self.merge(Cow::Borrowed(resp), &mut |_, _, _| {})
    }

    /// [`Cluster::update`] with a response it may consume: the encoded topics
    /// and partitions of a decoded response are freed as they are merged, so the
    /// answer and the model built from it never both exist in full.
    pub fn update_owned(&mut self, resp: MetadataResponse) -> Vec<(String, i32)> {
        self.merge(Cow::Owned(resp), &mut |_, _, _| {})
    }

    /// [`Cluster::update`], also calling `on_error(topic, partition, code)` for
    /// each error code other than `NONE` in the response: a topic's with
    /// `partition` `None`, then its partitions' (even under a topic error) in
    /// response order. Topics with a null name are skipped.
    pub(crate) fn merge(
        &mut self,
        resp: Cow<'_, MetadataResponse>,
        on_error: &mut dyn FnMut(&str, Option<i32>, ErrorCode),
    ) -> Vec<(String, i32)> {
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
        match resp {
            Cow::Borrowed(resp) => {
                for t in &resp.topics {
                    self.merge_topic(&t, t.partitions.iter(), &mut rejected, on_error);
                }
            }
            Cow::Owned(resp) => {
                for mut t in resp.topics {
                    let partitions = std::mem::take(&mut t.partitions);
                    let partitions = partitions.into_iter().map(Cow::Owned);
                    self.merge_topic(&t, partitions, &mut rejected, on_error);
                }
            }
        }
        // A leader kept by the epoch rule (or learned from a KIP-951 hint) may
        // be missing from a lagging broker's list: keep its address too.
        for t in self.topics.values() {
            for leader in t.info.partitions.iter().filter_map(|p| p.leader) {
                if !self.brokers.contains_key(&leader)
                    && let Some(b) = old_brokers.get(&leader)
                {
                    self.brokers.insert(leader, b.clone());
                }
            }
        }
        rejected
    }

    /// Replaces the entry of topic `t` (unless its name is null), reading its
    /// partitions from `partitions` one at a time.
    fn merge_topic<'p>(
        &mut self,
        t: &MetadataResponseTopic,
        partitions: impl ExactSizeIterator<Item = Cow<'p, MetadataResponsePartition>>,
        rejected: &mut Vec<(String, i32)>,
        on_error: &mut dyn FnMut(&str, Option<i32>, ErrorCode),
    ) {
        let Some(name) = &t.name else {
            return;
        };
        let error = ErrorCode(t.error_code);
        let (old, before) = match self.topics.remove(name) {
            Some(old) => (Some(old.info), old.epochs),
            None => (None, Box::default()),
        };
        if !error.is_none() {
            on_error(name, None, error);
        }
        let mut kept: Vec<PartitionInfo> = Vec::new();
        let mut noted = Noted::Sorted(Vec::new());
        if error.is_none() {
            kept.reserve_exact(partitions.len());
            noted = Noted::Sorted(Vec::with_capacity(partitions.len()));
        }
        for p in partitions {
            if p.error_code != 0 {
                on_error(name, Some(p.partition_index), ErrorCode(p.error_code));
            }
            if !error.is_none() {
                // A topic error leaves no partitions in the model (their errors count all
                // the same).
                continue;
            }
            let new = PartitionInfo::from_wire(p);
            // Epochs noted by this answer are never lower than those seen before.
            let seen = noted
                .get(new.index)
                .or_else(|| epoch_in(&before, new.index));
            let keep = match (new.leader_epoch, seen) {
                (Some(e), Some(s)) if e < s => {
                    rejected.push((name.to_owned(), new.index));
                    let old = old.as_ref().and_then(|o| o.partition(new.index)).cloned();
                    // Nothing newer to keep: list the partition (so the count
                    // stays right) but without a leader until a fresh answer.
                    Some(old.unwrap_or(PartitionInfo {
                        leader: None,
                        leader_epoch: Some(s),
                        ..new.clone()
                    }))
                }
                (Some(e), _) => {
                    noted.insert(new.index, e);
                    None
                }
                (None, _) => None,
            };
            kept.push(keep.unwrap_or(new));
        }
        // Brokers list partitions in order; sort anyway, and a repeated index keeps its
        // last entry, as a map would. (Only when needed: a stable sort of a million
        // partitions takes a scratch copy of them.)
        if !kept.windows(2).all(|w| w[0].index < w[1].index) {
            kept.reverse();
            kept.sort_by_key(|p| p.index);
            kept.dedup_by_key(|p| p.index);
        }
        // The previous partitions are no longer needed.
        drop(old);
        let info = TopicInfo {
            name: name.clone(),
            topic_id: t.topic_id,
            error,
            is_internal: t.is_internal,
            partitions: kept,
        };
        let epochs = noted.merge_into(before);
        self.topics.insert(name.clone(), Topic { info, epochs });
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
        let Some(current) = self.partition(topic, partition) else {
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
            .and_then(|t| t.info.partition_mut(partition))
        {
            p.leader = Some(leader_id);
            p.leader_epoch = Some(leader_epoch);
            p.error = ErrorCode::NONE;
        }
        self.note_epoch(topic, partition, leader_epoch);
        true
    }

    fn note_epoch(&mut self, topic: &str, partition: i32, epoch: i32) {
        if let Some(t) = self.topics.get_mut(topic) {
            t.note_epoch(partition, epoch);
        }
    }

    /// Keeps only the topics for which `keep` returns true (and their epochs).
    pub fn retain_topics(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.topics.retain(|name, _| keep(name));
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
        let t = self.topic(topic)?;
        (t.error.is_none() && !t.partitions.is_empty()).then_some(t.partitions.len())
    }

    /// Indices of the partitions of `topic` that have a leader, ascending (Java:
    /// `Cluster.availablePartitionsForTopic`).
    pub fn available_partitions(&self, topic: &str) -> Vec<i32> {
        self.topic(topic).map_or_else(Vec::new, |t| {
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
        self.topics.get(name).map(|t| &t.info)
    }

    /// All known topics, by name.
    pub fn topics(&self) -> impl Iterator<Item = &TopicInfo> {
        self.topics.values().map(|t| &t.info)
    }

    /// A partition of a topic.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionInfo> {
        self.topic(topic)?.partition(partition)
    }

    /// The highest leader epoch seen for a partition.
    pub fn last_seen_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.topics.get(topic)?.epoch(partition)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn topic_of(indexes: &[i32]) -> TopicInfo {
        TopicInfo {
            name: "t".to_owned(),
            topic_id: Uuid::default(),
            error: ErrorCode::NONE,
            is_internal: false,
            partitions: indexes
                .iter()
                .map(|&index| PartitionInfo {
                    index,
                    leader: Some(index + 100),
                    leader_epoch: None,
                    replicas: Box::new([]),
                    isr: Box::new([]),
                    offline: Box::new([]),
                    error: ErrorCode::NONE,
                })
                .collect(),
        }
    }

    /// Dense lists are looked up at the index itself; a list with gaps (a partition missing
    /// from a response) is searched; absent and negative indexes are not found.
    #[test]
    fn a_partition_is_found_in_dense_and_sparse_lists() {
        let dense = topic_of(&[0, 1, 2, 3]);
        let sparse = topic_of(&[0, 2, 3, 7]);
        for (topic, present, absent) in [
            (&dense, &[0, 1, 2, 3][..], &[-1, 4, 7][..]),
            (&sparse, &[0, 2, 3, 7][..], &[-1, 1, 4, 6, 8][..]),
        ] {
            for &i in present {
                assert_eq!(
                    topic.partition(i).map(|p| p.leader),
                    Some(Some(i + 100)),
                    "{i}"
                );
            }
            for &i in absent {
                assert!(topic.partition(i).is_none(), "{i}");
            }
        }
        let mut sparse = sparse;
        sparse.partition_mut(7).expect("present").leader = None;
        assert_eq!(sparse.partition(7).map(|p| p.leader), Some(None));
    }
}
