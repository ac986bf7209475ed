//! The topics an engine sends to, each with what an append needs of its metadata.

use std::cell::Cell;

use ferrokafka_partition::same_name;
use ferrokafka_wire::Topic;

use super::TopicCache;

/// The topic caches by name. The one the last lookup found is checked first, by comparing its
/// name: a producer mostly sends to one topic (or a few, in runs), and a comparison costs less
/// than hashing the name and probing the map on every append.
#[derive(Debug, Default)]
pub(super) struct TopicCaches {
    /// Where each topic's cache is in `entries`.
    index: foldhash::HashMap<Topic, usize>,
    /// A topic whose partitions are no longer known keeps its place, empty, and has it again
    /// when they are.
    entries: Vec<(Topic, Option<TopicCache>)>,
    /// The place the last lookup found.
    last: Cell<usize>,
}

impl TopicCaches {
    /// `topic`'s shared name and cache.
    pub(super) fn get_key_value(&self, topic: &str) -> Option<(&Topic, &TopicCache)> {
        let at = match self.entries.get(self.last.get()) {
            Some((name, Some(_))) if same_name(name, topic) => self.last.get(),
            _ => {
                let at = *self.index.get(topic)?;
                self.last.set(at);
                at
            }
        };
        let (name, cache) = &self.entries[at];
        Some((name, cache.as_ref()?))
    }

    pub(super) fn get(&self, topic: &str) -> Option<&TopicCache> {
        self.get_key_value(topic).map(|(_, cache)| cache)
    }

    pub(super) fn contains_key(&self, topic: &str) -> bool {
        self.get(topic).is_some()
    }

    /// Sets `name`'s cache (in its place if it had one).
    pub(super) fn insert(&mut self, name: Topic, cache: TopicCache) {
        if let Some(&at) = self.index.get(name.as_ref()) {
            // The name the cache's partitions share.
            self.entries[at] = (name, Some(cache));
        } else {
            self.index.insert(name.clone(), self.entries.len());
            self.entries.push((name, Some(cache)));
        }
    }

    pub(super) fn remove(&mut self, topic: &str) {
        if let Some(&at) = self.index.get(topic) {
            self.entries[at].1 = None;
        }
    }

    /// The topics with a cache.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Topic, &TopicCache)> {
        self.entries
            .iter()
            .filter_map(|(name, cache)| Some((name, cache.as_ref()?)))
    }

    pub(super) fn len(&self) -> usize {
        self.iter().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(count: u32) -> TopicCache {
        TopicCache {
            count,
            available: Err(ferrokafka_partition::Error::NoPartitions),
            partitions: Vec::new(),
            slots: Vec::new(),
        }
    }

    #[test]
    fn lookups_find_each_topic_whichever_was_found_last_and_removed_ones_are_gone() {
        let mut t = TopicCaches::default();
        assert!(t.get("a").is_none());
        t.insert(Topic::new("orders"), cache(1));
        t.insert(Topic::new("orders-v2"), cache(2));
        t.insert(Topic::new("ordersXv2"), cache(3));
        for _ in 0..2 {
            for (name, count) in [
                ("orders-v2", 2),
                ("orders", 1),
                ("ordersXv2", 3),
                ("orders", 1),
            ] {
                assert_eq!(t.get(name).map(|c| c.count), Some(count), "{name}");
                assert_eq!(t.get_key_value(name).map(|(n, _)| n.as_ref()), Some(name));
            }
        }
        assert!(!t.contains_key("orders-v3"));
        assert_eq!(t.len(), 3);
        // Removed while it was the last found: not found again, the others still are.
        assert!(t.contains_key("orders-v2"));
        t.remove("orders-v2");
        assert!(!t.contains_key("orders-v2"));
        assert_eq!(t.get("orders").map(|c| c.count), Some(1));
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.iter().map(|(n, _)| n.as_ref()).collect::<Vec<_>>(),
            ["orders", "ordersXv2"]
        );
        // Back with new metadata, in its old place.
        t.insert(Topic::new("orders-v2"), cache(5));
        assert_eq!(t.get("orders-v2").map(|c| c.count), Some(5));
        assert_eq!(t.len(), 3);
    }
}
