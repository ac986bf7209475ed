//! ApiVersions (key 18), v0–4.
//!
//! Lists every API the cluster serves with its configured range
//! ([`crate::ClusterBuilder::api_versions`]). From v3 it reports the `transaction.version`
//! feature: supported 0–2, finalized at 2 with transactions v2 and at 0 otherwise. A request
//! at a version above 4 gets a v0 body with UNSUPPORTED_VERSION (KIP-511), so the client
//! retries with v0.

use ferrokafka_wire::messages::ApiVersionsResponse;
use ferrokafka_wire::messages::api_versions::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};

use crate::cluster::Cluster;

pub(crate) fn response(cluster: &Cluster) -> ApiVersionsResponse {
    let level = if cluster.config.transactions_v2 { 2 } else { 0 };
    ApiVersionsResponse {
        api_keys: cluster
            .config
            .api_versions
            .iter()
            .map(|(&k, &(lo, hi))| ApiVersion::new(k, lo, hi))
            .collect(),
        throttle_time_ms: cluster.throttle_ms(ferrokafka_wire::ApiKey::API_VERSIONS),
        supported_features: vec![SupportedFeatureKey {
            name: "transaction.version".into(),
            min_version: 0,
            max_version: 2,
            ..SupportedFeatureKey::default()
        }],
        finalized_features_epoch: 1,
        finalized_features: vec![FinalizedFeatureKey::new(
            "transaction.version",
            level,
            level,
        )],
        ..ApiVersionsResponse::default()
    }
}
