//! [`Topic`] and [`TopicPartition`]: the names every layer of the producer speaks.
//!
//! A topic name is shared, not copied: [`Topic`] is an `Arc<str>`, so the partitioner, the
//! accumulator's queues, drained batches, requests and delivery reports can all hold the same
//! name for the price of a reference count. Build one `Topic` per topic (when its metadata
//! arrives, say) and clone it from there.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A topic name, cheap to clone (a shared `str`).
///
/// It reads as a `&str` ([`Deref`], [`AsRef`], [`Borrow`], so a `HashMap<Topic, _>` is searched
/// with a `&str`) and compares with strings.
///
/// ```
/// use ferrokafka_wire::Topic;
///
/// let t = Topic::from("orders");
/// let again = t.clone(); // no copy of the name
/// assert_eq!(again, "orders");
/// assert_eq!(t.len(), 6);
/// ```
#[derive(Clone, Eq)]
pub struct Topic(Arc<str>);

// Equal by name; two handles of one interned name are equal without reading it (hash maps
// keyed by `TopicPartition` compare the topic of every key they probe).
impl PartialEq for Topic {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

// Hashed by name, as `str` (so a map keyed by `Topic` is searched with a `&str`); equal
// names hash alike whether or not they share their allocation.
impl std::hash::Hash for Topic {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

// Ordered by name, as `str`; two handles of one interned name compare without reading it (the
// per-partition maps keyed by `TopicPartition` compare topics on every lookup).
impl Ord for Topic {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for Topic {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Topic {
    /// A topic of this name.
    pub fn new(name: &str) -> Self {
        Topic(Arc::from(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this very handle's name (one interned name, cloned): a pointer
    /// compared, no character read. Two names made apart are not the same even if equal.
    #[inline]
    pub fn same(&self, other: &Topic) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Topic {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Topic {
    fn from(name: &str) -> Self {
        Topic::new(name)
    }
}

impl From<String> for Topic {
    fn from(name: String) -> Self {
        Topic(Arc::from(name))
    }
}

impl From<&String> for Topic {
    fn from(name: &String) -> Self {
        Topic::new(name)
    }
}

impl From<Arc<str>> for Topic {
    fn from(name: Arc<str>) -> Self {
        Topic(name)
    }
}

impl From<Box<str>> for Topic {
    fn from(name: Box<str>) -> Self {
        Topic(Arc::from(name))
    }
}

impl From<std::borrow::Cow<'_, str>> for Topic {
    fn from(name: std::borrow::Cow<'_, str>) -> Self {
        Topic::new(&name)
    }
}

impl From<&Topic> for Topic {
    fn from(topic: &Topic) -> Self {
        topic.clone()
    }
}

impl From<Topic> for String {
    fn from(topic: Topic) -> Self {
        topic.0.as_ref().to_owned()
    }
}

impl PartialEq<str> for Topic {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Topic {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Topic {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Topic> for str {
    fn eq(&self, other: &Topic) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Topic> for String {
    fn eq(&self, other: &Topic) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Topic> for &str {
    fn eq(&self, other: &Topic) -> bool {
        *self == &*other.0
    }
}

/// A partition of a topic: the key of a per-partition queue, a sequence number space, a
/// delivery report's address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic.
    pub topic: Topic,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<Topic>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_name_is_the_same_as_its_clones_only() {
        let t = Topic::new("orders");
        assert!(t.same(&t.clone()));
        let apart = Topic::new("orders");
        assert_eq!(t, apart, "equal names");
        assert!(!t.same(&apart), "made apart");
    }

    #[test]
    fn a_topic_reads_and_compares_as_its_name() {
        let t = Topic::from("events".to_owned());
        assert_eq!(t, "events");
        assert_eq!("events", t);
        assert_eq!(t, String::from("events"));
        assert_ne!(t, "other");
        assert_eq!(t.to_string(), "events");
        assert_eq!(format!("{t:?}"), "\"events\"");
        assert!(t.starts_with("ev"));
        assert_eq!(String::from(t.clone()), "events");
        // Clones share the name.
        let u = t.clone();
        assert!(std::ptr::eq(t.as_str(), u.as_str()));
    }

    #[test]
    fn topics_order_as_their_names_whether_shared_or_not() {
        let names = ["", "a", "ab", "b", "orders", "orders-1", "z"];
        for x in names {
            let shared = Topic::new(x);
            assert_eq!(shared.cmp(&shared.clone()), std::cmp::Ordering::Equal);
            for y in names {
                assert_eq!(
                    Topic::new(x).cmp(&Topic::new(y)),
                    x.cmp(y),
                    "{x:?} vs {y:?}"
                );
            }
        }
    }

    #[test]
    fn maps_keyed_by_topic_are_searched_by_str() {
        let mut m = HashMap::new();
        m.insert(Topic::new("a"), 1);
        assert_eq!(m.get("a"), Some(&1));
        assert_eq!(m.get("b"), None);
    }

    #[test]
    fn topic_partitions_order_by_topic_then_partition_and_print_like_java() {
        let mut v = [
            TopicPartition::new("b", 0),
            TopicPartition::new("a", 2),
            TopicPartition::new("a", 1),
        ];
        v.sort();
        let printed: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(printed, ["a-1", "a-2", "b-0"]);
    }
}
