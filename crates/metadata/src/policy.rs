//! [`Metadata`]: when to ask for metadata, what to ask for, and what to make of
//! the answer (Java: `Metadata` + `ProducerMetadata`), as a sans-IO state
//! machine. Inputs are `add_topic`/`touch`/`request_update`/`handle_*` with
//! `now` passed in; outputs are [`Metadata::poll_request`] and
//! [`Metadata::poll_timeout`].

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::messages::metadata::{
    MetadataRequest, MetadataRequestTopic, MetadataResponse,
};
use ferrokafka_wire::messages::produce::NodeEndpoint;

use crate::cluster::Cluster;
use crate::config::MetadataConfig;
use crate::error::MetadataError;

/// Whether a partition or topic error means our metadata is stale, so a
/// refresh is due: the codes marked "(metadata)" in the protocol notes, i.e.
/// those whose Java exception extends `InvalidMetadataException`.
///
/// `UNKNOWN_LEADER_EPOCH` is deliberately absent: it means the *broker* is
/// behind us, and Java's `UnknownLeaderEpochException` is a plain
/// `RetriableException`; refreshing would not help.
pub fn is_stale_metadata_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            | ErrorCode::LEADER_NOT_AVAILABLE
            | ErrorCode::NOT_LEADER_OR_FOLLOWER
            | ErrorCode::REPLICA_NOT_AVAILABLE
            | ErrorCode::NETWORK_EXCEPTION
            | ErrorCode::KAFKA_STORAGE_ERROR
            | ErrorCode::LISTENER_NOT_FOUND
            | ErrorCode::FENCED_LEADER_EPOCH
            | ErrorCode::UNKNOWN_TOPIC_ID
            | ErrorCode::INCONSISTENT_TOPIC_ID
    )
}

/// What a caller waiting to send to a topic can learn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicStatus {
    /// Metadata is known; the topic has this many partitions.
    Known(usize),
    /// Registered with [`Metadata::add_topic`] at `since`, no answer yet.
    Pending {
        /// When the topic was registered.
        since: Instant,
    },
    /// The last answer for the topic was this error (retriable ones such as
    /// `UNKNOWN_TOPIC_OR_PARTITION` during auto-creation are worth waiting on).
    Error(ErrorCode),
    /// The topic was never registered, or was dropped as idle.
    Unregistered,
}

/// A topic the producer is interested in.
#[derive(Debug, Clone)]
struct Interest {
    /// When it was registered.
    added: Instant,
    /// Last `add_topic`/`touch`; drives `metadata.max.idle.ms`.
    last_used: Instant,
}

/// The metadata refresh policy and the cluster model it maintains.
///
/// Drive it like this: call [`poll_request`](Self::poll_request) and send what
/// it returns to any broker (the least loaded one, in Java); feed the answer to
/// [`handle_response`](Self::handle_response) or, if the connection failed or
/// the request timed out, call [`handle_failure`](Self::handle_failure); arm a
/// timer at [`poll_timeout`](Self::poll_timeout) and call `poll_request` again
/// when it fires or after any input. At most one request is in flight.
///
/// The request always lists the topics of interest (never "all topics"), so it
/// must be sent with Metadata v1 or later: in v0 an empty list means "all".
#[derive(Debug, Clone)]
pub struct Metadata {
    config: MetadataConfig,
    cluster: Cluster,
    topics: BTreeMap<String, Interest>,
    /// Bumped by every cause of an update (new topic, `request_update`, stale
    /// error); a response clears the request only if nothing newer came in
    /// while it was in flight.
    update_version: u64,
    /// `update_version` at the last successful response.
    satisfied_version: u64,
    /// `update_version` when the in-flight request was built; `None` if idle.
    in_flight: Option<u64>,
    /// Last successful response, `None` before the first one.
    last_success: Option<Instant>,
    /// Last attempt (sent or failed); `None` means the backoff may be skipped
    /// (start, or a new topic as in Java's `requestUpdateForNewTopics`).
    last_attempt: Option<Instant>,
    /// Consecutive failed requests (connection lost, timeout, top-level error).
    failures: u32,
    /// Consecutive responses that did not resolve the staleness that caused
    /// them (Java: `equivalentResponseCount`).
    no_progress: u32,
    /// Partitions reported stale since the last response, with the leader and
    /// epoch known when the error was reported.
    stale_partitions: BTreeMap<(String, i32), (Option<i32>, Option<i32>)>,
    /// Topics whose last answer was a stale-metadata error.
    stale_topics: BTreeSet<String>,
    /// Injected jitter factor for the backoff (1.0 = none).
    jitter: f64,
    /// Largest `now` seen, so `poll_timeout` can answer without a clock.
    last_now: Instant,
}

impl Metadata {
    /// A policy with no topics and no metadata; the first `poll_request` asks
    /// at once (to learn the brokers).
    pub fn new(config: MetadataConfig, now: Instant) -> Self {
        Self {
            config,
            cluster: Cluster::default(),
            topics: BTreeMap::new(),
            update_version: 0,
            satisfied_version: 0,
            in_flight: None,
            last_success: None,
            last_attempt: None,
            failures: 0,
            no_progress: 0,
            stale_partitions: BTreeMap::new(),
            stale_topics: BTreeSet::new(),
            jitter: 1.0,
            last_now: now,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MetadataConfig {
        &self.config
    }

    /// The cluster model.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Sets the jitter factor applied to the next backoffs (Java draws it from
    /// `[0.8, 1.2)` each time; a driver may do the same with its own RNG).
    pub fn set_backoff_jitter(&mut self, factor: f64) {
        self.jitter = factor;
    }

    /// Whether a request is in flight.
    pub fn is_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether the last `handle_response` is older than `metadata.max.age.ms`
    /// or never happened, or an update was asked for.
    pub fn update_due(&self, now: Instant) -> bool {
        self.update_version != self.satisfied_version
            || self
                .last_success
                .is_none_or(|t| now >= t + self.config.max_age)
    }

    /// Topics of interest, by name.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.keys().map(String::as_str)
    }

    /// Registers interest in `topic` (Java: `ProducerMetadata.add`). A topic we
    /// have no metadata for triggers an update that skips the backoff, so the
    /// first send to a topic is not delayed. Returns whether it was new.
    pub fn add_topic(&mut self, topic: &str, now: Instant) -> bool {
        self.observe(now);
        if let Some(i) = self.topics.get_mut(topic) {
            i.last_used = now;
            return false;
        }
        self.topics.insert(
            topic.to_owned(),
            Interest {
                added: now,
                last_used: now,
            },
        );
        if self.cluster.partition_count(topic).is_none() {
            self.update_version += 1;
            self.last_attempt = None;
            self.no_progress = 0;
        }
        true
    }

    /// Marks `topic` as used now (call on every send) so it does not expire
    /// after `metadata.max.idle.ms`. Unknown topics are ignored.
    pub fn touch(&mut self, topic: &str, now: Instant) {
        self.observe(now);
        if let Some(i) = self.topics.get_mut(topic) {
            i.last_used = now;
        }
    }

    /// Asks for an update as soon as the backoff allows (Java: `requestUpdate`).
    pub fn request_update(&mut self) {
        self.update_version += 1;
    }

    /// A produce error for one partition: if the code means stale metadata (see
    /// [`is_stale_metadata_error`]), an update is requested. Returns whether it was.
    pub fn handle_partition_error(
        &mut self,
        topic: &str,
        partition: i32,
        error: ErrorCode,
        now: Instant,
    ) -> bool {
        self.observe(now);
        if !is_stale_metadata_error(error) {
            return false;
        }
        let known = self
            .cluster
            .partition(topic, partition)
            .map(|p| (p.leader, p.leader_epoch));
        self.stale_partitions
            .entry((topic.to_owned(), partition))
            .or_insert(known.unwrap_or((None, None)));
        self.request_update();
        true
    }

    /// Applies a KIP-951 leader hint (`CurrentLeader` and `NodeEndpoints` of a
    /// Produce v10+ response); see [`Cluster::apply_leader_hint`]. Returns
    /// whether the model changed.
    pub fn handle_leader_hint(
        &mut self,
        topic: &str,
        partition: i32,
        leader_id: i32,
        leader_epoch: i32,
        endpoints: &[NodeEndpoint],
    ) -> bool {
        let applied =
            self.cluster
                .apply_leader_hint(topic, partition, leader_id, leader_epoch, endpoints);
        if applied {
            // The hint answered the question this partition's error raised.
            self.stale_partitions.remove(&(topic.to_owned(), partition));
        }
        applied
    }

    /// The request to send now, if an update is due, none is in flight and the
    /// backoff has passed. Topics idle for `metadata.max.idle.ms` are dropped
    /// first and not listed.
    pub fn poll_request(&mut self, now: Instant) -> Option<MetadataRequest> {
        self.observe(now);
        self.expire_idle(now);
        if self.in_flight.is_some() || !self.update_due(now) {
            return None;
        }
        if self.allowed_at().is_some_and(|t| now < t) {
            return None;
        }
        if self
            .last_success
            .is_some_and(|t| now >= t + self.config.max_age)
        {
            // A periodic refresh starts the no-progress count afresh (Java).
            self.no_progress = 0;
        }
        self.in_flight = Some(self.update_version);
        self.last_attempt = Some(now);
        let topics = self
            .topics
            .keys()
            .map(|name| MetadataRequestTopic {
                name: Some(name.clone()),
                ..Default::default()
            })
            .collect();
        Some(MetadataRequest {
            topics: Some(topics),
            allow_auto_topic_creation: self.config.allow_auto_topic_creation,
            ..Default::default()
        })
    }

    /// The request failed (connection lost, timeout): back off, exponentially
    /// in the number of consecutive failures, then retry.
    pub fn handle_failure(&mut self, now: Instant) {
        self.observe(now);
        self.in_flight = None;
        self.failures = self.failures.saturating_add(1);
        self.last_attempt = Some(now);
    }

    /// Applies a decoded response. A top-level error (Metadata v13) counts as
    /// a failure. Topic or partition errors that mean stale metadata ask for
    /// another update, spaced by a backoff that grows while the answers make
    /// no progress.
    ///
    /// The response's bytes stay in memory while the model is built from it;
    /// [`Metadata::handle_response_owned`] frees them as it goes.
    pub fn handle_response(&mut self, resp: &MetadataResponse, now: Instant) {
        self.handle(Cow::Borrowed(resp), now);
    }

    /// [`Metadata::handle_response`] with a response it may consume (see
    /// [`Cluster::update_owned`]): a large answer then costs little more than the
    /// model built from it.
    pub fn handle_response_owned(&mut self, resp: MetadataResponse, now: Instant) {
        self.handle(Cow::Owned(resp), now);
    }

    fn handle(&mut self, resp: Cow<'_, MetadataResponse>, now: Instant) {
        self.observe(now);
        if resp.error_code != 0 {
            self.handle_failure(now);
            return;
        }
        let sent_version = self.in_flight.take().unwrap_or(self.satisfied_version);
        self.failures = 0;
        self.last_success = Some(now);
        self.last_attempt = Some(now);
        self.expire_idle(now);
        // Stale-metadata errors of the topics of interest, as (topic, partition):
        // noted while merging, handled once the model is up to date.
        let mut reported: Vec<(String, Option<i32>)> = Vec::new();
        let interest = &self.topics;
        let rejected = self.cluster.merge(resp, &mut |topic, partition, code| {
            if is_stale_metadata_error(code) && interest.contains_key(topic) {
                reported.push((topic.to_owned(), partition));
            }
        });
        self.cluster.retain_topics(|t| interest.contains_key(t));

        let progress = self.made_progress();
        let had_stale = !self.stale_partitions.is_empty() || !self.stale_topics.is_empty();
        self.stale_partitions.clear();
        self.stale_topics.clear();
        if had_stale {
            self.no_progress = if progress {
                0
            } else {
                self.no_progress.saturating_add(1)
            };
        }
        if sent_version > self.satisfied_version {
            self.satisfied_version = sent_version;
        }

        let stale = !reported.is_empty();
        for (name, partition) in reported {
            match partition {
                None => {
                    self.stale_topics.insert(name);
                }
                Some(partition) => {
                    let known = self.cluster.partition(&name, partition);
                    let before = known.map_or((None, None), |k| (k.leader, k.leader_epoch));
                    self.stale_partitions.insert((name, partition), before);
                }
            }
        }
        // A topic the response did not mention (added while the request was in
        // flight, or skipped by the broker) stays pending and is asked again.
        let missing: Vec<String> = self
            .topics
            .keys()
            .filter(|t| self.cluster.topic(t).is_none())
            .cloned()
            .collect();
        let missing_any = !missing.is_empty();
        self.stale_topics.extend(missing);
        if stale || missing_any || !rejected.is_empty() {
            self.request_update();
        }
    }

    /// When the policy next wants `poll_request` to be called: `None` while a
    /// request is in flight (the driver's request timeout covers that). A
    /// value at or before the last `now` means a request is ready.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        let due_at = if self.update_version == self.satisfied_version {
            self.last_success.map(|t| t + self.config.max_age)
        } else {
            None
        };
        let wake = match (due_at, self.allowed_at()) {
            (Some(a), Some(b)) => a.max(b),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => self.last_now,
        };
        Some(wake)
    }

    /// What a caller can currently learn about `topic`.
    pub fn topic_state(&self, topic: &str) -> TopicStatus {
        if let Some(n) = self.cluster.partition_count(topic) {
            return TopicStatus::Known(n);
        }
        if let Some(t) = self.cluster.topic(topic)
            && !t.error.is_none()
        {
            return TopicStatus::Error(t.error);
        }
        match self.topics.get(topic) {
            Some(i) => TopicStatus::Pending { since: i.added },
            None => TopicStatus::Unregistered,
        }
    }

    /// For a send that started waiting for `topic` at `since`: `Ok(Some(n))`
    /// once the topic is known with `n` partitions, `Ok(None)` to keep waiting
    /// (wake at `since + max_block` at the latest), or an error: at once for a
    /// non-retriable topic error (e.g. `TOPIC_AUTHORIZATION_FAILED`), and
    /// [`MetadataError::TopicNotAvailable`] once `max_block` (`max.block.ms`)
    /// has passed.
    pub fn check_wait(
        &self,
        topic: &str,
        since: Instant,
        max_block: Duration,
        now: Instant,
    ) -> Result<Option<usize>, MetadataError> {
        let last_error = match self.topic_state(topic) {
            TopicStatus::Known(n) => return Ok(Some(n)),
            TopicStatus::Error(e) if !e.is_retriable() => {
                return Err(MetadataError::TopicFailed {
                    topic: topic.to_owned(),
                    error: e,
                });
            }
            TopicStatus::Error(e) => Some(e),
            _ => None,
        };
        let waited = now.saturating_duration_since(since);
        if waited >= max_block {
            return Err(MetadataError::TopicNotAvailable {
                topic: topic.to_owned(),
                waited,
                last_error,
                listed_without_partitions: self
                    .cluster
                    .topic(topic)
                    .is_some_and(|t| t.error.is_none() && t.partitions.is_empty()),
            });
        }
        Ok(None)
    }

    /// Earliest time the backoff allows the next request, if any applies.
    fn allowed_at(&self) -> Option<Instant> {
        let last = self.last_attempt?;
        // The larger of the failure backoff and the no-progress backoff; with
        // neither, refreshes are still spaced by `retry.backoff.ms`.
        let n = self.failures.max(self.no_progress).saturating_sub(1);
        Some(last + self.config.backoff(n, self.jitter))
    }

    /// Whether the answer changed anything for the partitions and topics that
    /// were reported stale.
    fn made_progress(&self) -> bool {
        let partitions = self.stale_partitions.iter().any(|((t, p), before)| {
            self.cluster.partition(t, *p).is_some_and(|now| {
                (now.leader, now.leader_epoch) != *before && now.leader.is_some()
            })
        });
        let topics = self
            .stale_topics
            .iter()
            .any(|t| self.cluster.partition_count(t).is_some());
        partitions || topics
    }

    /// Forgets topics unused for `metadata.max.idle.ms`.
    fn expire_idle(&mut self, now: Instant) {
        let idle = self.config.max_idle;
        let before = self.topics.len();
        self.topics
            .retain(|_, i| now.saturating_duration_since(i.last_used) <= idle);
        if self.topics.len() != before {
            let interest = &self.topics;
            self.cluster.retain_topics(|t| interest.contains_key(t));
            self.stale_topics.retain(|t| interest.contains_key(t));
            self.stale_partitions
                .retain(|(t, _), _| interest.contains_key(t));
        }
    }

    fn observe(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
    }
}
