//! The fake's fault and topology commands: fault rules, held answers, brokers going down and
//! up, leaders moving, throttling.

use std::collections::BTreeSet;

use ferrokafka_wire::ApiKey;

use super::{Cluster, ConnId};
use crate::faults::Fault;

impl Cluster {
    /// Adds a fault rule (see [`Fault`]).
    pub fn inject(&mut self, fault: Fault) {
        self.faults.add(fault);
    }

    /// Fault rules not yet spent.
    pub fn pending_faults(&self) -> usize {
        self.faults.pending()
    }

    /// Removes every fault rule not yet spent.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Releases every held answer (they leave in order, after what was queued before them).
    /// Returns how many were released.
    pub fn release_held(&mut self) -> usize {
        let mut n = 0;
        for c in self.conns.values_mut() {
            for o in &mut c.out {
                if o.held {
                    o.held = false;
                    n += 1;
                }
            }
        }
        n
    }

    /// Answers currently held.
    pub fn held(&self) -> usize {
        self.conns
            .values()
            .flat_map(|c| c.out.iter())
            .filter(|o| o.held)
            .count()
    }

    /// Closes every connection to broker `broker` (the client sees the socket close).
    pub fn drop_connections(&mut self, broker: i32) -> usize {
        let ids: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.broker == broker && !c.closed)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.close(*id);
        }
        ids.len()
    }

    /// Takes broker `id` down: its connections close, new ones are refused, it leaves Metadata,
    /// and each partition it led moves to another live replica with a bumped leader epoch
    /// (or has no leader if none is up).
    pub fn broker_down(&mut self, id: i32) {
        let Some(b) = self.brokers.get_mut(&id) else {
            return;
        };
        b.up = false;
        self.drop_connections(id);
        let up: BTreeSet<i32> = self
            .brokers
            .iter()
            .filter(|(_, b)| b.up)
            .map(|(i, _)| *i)
            .collect();
        for t in self.topics.values_mut() {
            for p in &mut t.partitions {
                if p.leader == id {
                    p.leader = p
                        .replicas
                        .iter()
                        .copied()
                        .find(|r| up.contains(r))
                        .unwrap_or(-1);
                    p.leader_epoch += 1;
                }
            }
        }
    }

    /// Brings broker `id` back up; partitions without a leader that it replicates elect it.
    pub fn broker_up(&mut self, id: i32) {
        let Some(b) = self.brokers.get_mut(&id) else {
            return;
        };
        b.up = true;
        for t in self.topics.values_mut() {
            for p in &mut t.partitions {
                if p.leader == -1 && p.replicas.contains(&id) {
                    p.leader = id;
                    p.leader_epoch += 1;
                }
            }
        }
    }

    /// Whether broker `id` is up.
    pub fn is_up(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.up)
    }

    /// Moves the leadership of a partition to broker `to` (added to the replicas if needed)
    /// and bumps its leader epoch. Returns false if the partition or broker is unknown.
    pub fn move_leader(&mut self, topic: &str, partition: i32, to: i32) -> bool {
        if !self.brokers.contains_key(&to) {
            return false;
        }
        let Some(p) = self.partition_mut(topic, partition) else {
            return false;
        };
        if !p.replicas.contains(&to) {
            p.replicas.push(to);
        }
        p.leader = to;
        p.leader_epoch += 1;
        true
    }

    /// Bumps a partition's leader epoch without moving it. Returns the new epoch.
    pub fn bump_leader_epoch(&mut self, topic: &str, partition: i32) -> Option<i32> {
        let p = self.partition_mut(topic, partition)?;
        p.leader_epoch += 1;
        Some(p.leader_epoch)
    }

    /// Test-only: plants a known bug — an idempotent duplicate is appended again instead of
    /// being answered with its original offsets — so that the seeded simulation can show it
    /// catches a broken invariant. Never call it in a real test.
    #[doc(hidden)]
    pub fn plant_bug_append_duplicates(&mut self) {
        self.planted_append_duplicates = true;
    }

    /// Makes the coordinator of `key` (a transactional id or a group) broker `broker`.
    pub fn move_coordinator(&mut self, key: &str, broker: i32) {
        self.coordinator_overrides.insert(key.to_owned(), broker);
    }

    /// Switches `min.insync.replicas` failure on or off for a topic: while on, acks=all
    /// Produce requests to it fail with NOT_ENOUGH_REPLICAS and nothing is appended.
    pub fn set_not_enough_replicas(&mut self, topic: &str, failing: bool) {
        if failing {
            self.min_insync_failing.insert(topic.to_owned());
        } else {
            self.min_insync_failing.remove(topic);
        }
    }

    /// Reports `throttle_ms` in every answer to `api` (a client quota).
    pub fn set_throttle(&mut self, api: ApiKey, throttle_ms: i32) {
        if throttle_ms > 0 {
            self.throttle.insert(api, throttle_ms);
        } else {
            self.throttle.remove(&api);
        }
    }
}
