//! librdkafka's mock cluster, through `rdkafka::mocking::MockCluster`, and thin typed fault
//! helpers over it.
//!
//! rdkafka 0.39's safe API on `MockCluster` (all of it; methods return `KafkaResult<()>` unless
//! noted):
//!
//! - `MockCluster::new(n)` starts `n` brokers on loopback, with broker ids `1..=n`;
//!   `bootstrap_servers() -> String` lists them.
//! - `create_topic(name, partitions, replication)` (the mock does not serve CreateTopics).
//!   The first leaders are picked at random among the replicas (observed with librdkafka
//!   2.12.1): ask [`leaders`] or set them with [`move_leader`] when a test depends on them.
//! - Request errors: `request_errors(api, &[errors])` (returns `()`) pushes errors that the next
//!   requests of that API get, one each, on whichever broker receives them;
//!   `clear_request_errors(api)` (returns `()`) drops the rest. `RD_KAFKA_RESP_ERR__TRANSPORT`
//!   makes the broker close the connection instead of answering.
//! - `topic_error(topic, err)`: the error Metadata (and AddPartitionsToTxn) report for a topic.
//! - Leadership: `partition_leader(topic, partition, Some(broker) | None)` moves the leader (or
//!   makes the partition leaderless); `partition_follower(topic, partition, broker)` and
//!   `follower_watermarks(topic, partition, low, high)` for fetch-from-follower.
//! - Brokers: `broker_down(id)` / `broker_up(id)` (disconnect and refuse connections, without a
//!   leader change), `broker_round_trip_time(id, Duration)`, `broker_rack(id, rack)`; `-1` means
//!   every broker.
//! - `coordinator(MockCoordinator::Group(..) | MockCoordinator::Transaction(..), broker)`.
//! - `apiversion(api, Some(min), Some(max))` wraps `rd_kafka_mock_set_apiversion` and restricts
//!   the range the mock advertises for one API (`None, None` disables the API). It applies to
//!   connections opened afterwards, and `max` must not exceed what the mock implements.
//!
//! Not reachable without `unsafe` (which this crate forbids): per-broker error stacks with
//! per-error delays (`rd_kafka_mock_broker_push_request_error_rtts`), reading the current leader
//! back from the mock (ask Metadata instead: [`leaders`]), and request/telemetry inspection.
//!
//! What this module adds: a constructor with a typed error, [`restrict_versions`],
//! [`broker_ids`], [`inject_produce_errors`] / [`inject_errors`] / [`clear_errors`],
//! [`move_leader`] (checked against the broker ids), [`set_round_trip_time`] and [`leaders`].
//!
//! Transactions: the mock accepts a transactional producer but writes no commit/abort markers,
//! reports the high watermark as the last stable offset and lists no aborted transactions in
//! Fetch, so consumers cannot tell aborted records apart (see [`crate::consume`]).
//!
//! The cluster is `!Send` (it holds a raw librdkafka pointer): create it on the test's thread.
//! Drop producers and consumers before the cluster, or they spend their close timeout trying to
//! reach brokers that are gone.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use crate::HarnessError;

/// The mock cluster type the helpers return.
pub type Mock = MockCluster<'static, DefaultProducerContext>;

/// Starts a mock cluster of `brokers` brokers on loopback.
pub fn mock_cluster(brokers: i32) -> Result<Mock, HarnessError> {
    Ok(MockCluster::new(brokers)?)
}

/// Starts a mock cluster and creates `topic` with `partitions` partitions, replicated on every
/// broker.
pub fn mock_cluster_with_topic(
    brokers: i32,
    topic: &str,
    partitions: i32,
) -> Result<Mock, HarnessError> {
    let mock = mock_cluster(brokers)?;
    mock.create_topic(topic, partitions, brokers)?;
    Ok(mock)
}

/// Restricts the versions the mock advertises for each listed API to `min..=max`.
pub fn restrict_versions(
    mock: &Mock,
    ranges: &[(RDKafkaApiKey, i16, i16)],
) -> Result<(), HarnessError> {
    for &(api, min, max) in ranges {
        mock.apiversion(api, Some(min), Some(max))?;
    }
    Ok(())
}

/// The broker ids of a mock cluster: `1..=n` (librdkafka numbers them from 1).
pub fn broker_ids(mock: &Mock) -> Vec<i32> {
    let count = mock
        .bootstrap_servers()
        .split(',')
        .filter(|a| !a.is_empty())
        .count();
    (1..=i32::try_from(count).expect("broker count fits i32")).collect()
}

/// Makes the next Produce requests fail with `errors`, one error per request, in order, on
/// whichever broker gets them; requests after that succeed again.
pub fn inject_produce_errors(mock: &Mock, errors: &[RDKafkaRespErr]) {
    inject_errors(mock, RDKafkaApiKey::Produce, errors);
}

/// Makes the next requests of `api` fail with `errors`, one per request, in order.
pub fn inject_errors(mock: &Mock, api: RDKafkaApiKey, errors: &[RDKafkaRespErr]) {
    mock.request_errors(api, errors);
}

/// Drops whatever injected errors of `api` were not used yet.
pub fn clear_errors(mock: &Mock, api: RDKafkaApiKey) {
    mock.clear_request_errors(api);
}

/// Moves the leadership of `topic`/`partition` to broker `to`, which must be one of
/// [`broker_ids`]. Clients learn of it when a request to the old leader fails with
/// `NOT_LEADER_OR_FOLLOWER` and they refresh metadata.
pub fn move_leader(mock: &Mock, topic: &str, partition: i32, to: i32) -> Result<(), HarnessError> {
    let ids = broker_ids(mock);
    if !ids.contains(&to) {
        return Err(HarnessError::NoSuchBroker {
            broker: to,
            known: ids,
        });
    }
    mock.partition_leader(topic, partition, Some(to))?;
    Ok(())
}

/// Delays every response of one broker (`Some(id)`) or of all brokers (`None`) by `rtt`;
/// `Duration::ZERO` removes the delay.
pub fn set_round_trip_time(
    mock: &Mock,
    broker: Option<i32>,
    rtt: Duration,
) -> Result<(), HarnessError> {
    mock.broker_round_trip_time(broker.unwrap_or(-1), rtt)?;
    Ok(())
}

/// The current leader of each partition of `topic`, as a fresh Metadata request reports it
/// (the mock has no getter for it).
pub fn leaders(
    mock: &Mock,
    topic: &str,
    timeout: Duration,
) -> Result<BTreeMap<i32, i32>, HarnessError> {
    Ok(
        crate::consume::topic_partitions(&mock.bootstrap_servers(), topic, timeout)?
            .into_iter()
            .map(|p| (p.id, p.leader))
            .collect(),
    )
}
