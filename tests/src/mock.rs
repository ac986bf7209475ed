//! librdkafka's mock cluster, through `rdkafka::mocking::MockCluster`.
//!
//! Everything the tests need is in rdkafka 0.39's safe API, so this module only adds a
//! constructor with a typed error and a helper to restrict advertised versions:
//!
//! - `MockCluster::new(n)` starts `n` brokers on loopback; `bootstrap_servers()` lists them.
//! - `create_topic(name, partitions, replication)` (the mock does not serve CreateTopics).
//! - Fault injection: `request_errors(api, &[errors])`, `clear_request_errors`, `topic_error`,
//!   `partition_leader`, `broker_down`/`broker_up`, `broker_round_trip_time`, `coordinator`.
//! - `apiversion(api, Some(min), Some(max))` wraps `rd_kafka_mock_set_apiversion` and restricts
//!   the range the mock advertises for one API (`None, None` disables the API). It applies to
//!   connections opened afterwards, and `max` must not exceed what the mock implements.
//!
//! The cluster is `!Send` (it holds a raw librdkafka pointer): create it on the test's thread.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::RDKafkaApiKey;

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
