//! ApiVersions (key 18), versions 0–4, flexible from 3 (KIP-35, KIP-511, KIP-584).
//!
//! The response always travels with response header v0. Its tagged field 2,
//! `finalized_features`, carries `transaction.version`, which tells whether the
//! cluster runs transactions v2 (KIP-890).

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

wire_struct! {
    /// ApiVersions request.
    pub struct ApiVersionsRequest {
        /// Client library name; must match `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
        client_software_name: String [3..],
        /// Client library version; same pattern as the name.
        client_software_version: String [3..],
    }
}
api_message!(ApiVersionsRequest, ApiKey::API_VERSIONS, versions 0..=4, flexible(3..));

wire_struct! {
    /// ApiVersions response.
    pub struct ApiVersionsResponse {
        /// Top-level error; UNSUPPORTED_VERSION (35) when the request version was too new.
        error_code: i16 [..],
        /// The APIs and version ranges the broker supports.
        api_keys: Vec<ApiVersion> [..],
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 [1..],
        /// Features the broker supports.
        supported_features: Vec<SupportedFeatureKey> [3..] tag 0,
        /// Epoch of the finalized features, -1 if none.
        finalized_features_epoch: i64 [3..] tag 1 = -1,
        /// Cluster-wide finalized features (e.g. `transaction.version`).
        finalized_features: Vec<FinalizedFeatureKey> [3..] tag 2,
        /// Whether the controller is ready for a ZooKeeper migration.
        zk_migration_ready: bool [3..] tag 3,
    }
}
api_message!(ApiVersionsResponse, ApiKey::API_VERSIONS, versions 0..=4, flexible(3..));

wire_struct! {
    /// One API's supported version range.
    pub struct ApiVersion {
        /// API key.
        api_key: i16 [..],
        /// Lowest supported version.
        min_version: i16 [..],
        /// Highest supported version.
        max_version: i16 [..],
    }
}

wire_struct! {
    /// A supported feature and its version range.
    pub struct SupportedFeatureKey {
        /// Feature name.
        name: String [..],
        /// Lowest supported level.
        min_version: i16 [..],
        /// Highest supported level.
        max_version: i16 [..],
    }
}

wire_struct! {
    /// A finalized feature. Note the field order: max before min.
    pub struct FinalizedFeatureKey {
        /// Feature name.
        name: String [..],
        /// Highest finalized level.
        max_version_level: i16 [..],
        /// Lowest finalized level.
        min_version_level: i16 [..],
    }
}

impl ApiVersionsRequest {
    /// A request naming the client software (v3+ require both values to match
    /// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`; the default, empty, is refused).
    pub fn new(client_software_name: &str, client_software_version: &str) -> Self {
        Self {
            client_software_name: client_software_name.to_owned(),
            client_software_version: client_software_version.to_owned(),
            ..Self::default()
        }
    }
}

impl ApiVersionsResponse {
    /// The broker's range for `key`, if it supports that API.
    pub fn range(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.api_keys
            .iter()
            .find(|a| a.api_key == key.0)
            .map(|a| (a.min_version, a.max_version))
    }

    /// The finalized `max_version_level` of a feature, if finalized.
    pub fn finalized_level(&self, feature: &str) -> Option<i16> {
        self.finalized_features
            .iter()
            .find(|f| f.name == feature)
            .map(|f| f.max_version_level)
    }

    /// Whether the cluster finalized `transaction.version` ≥ 2 (KIP-890 transactions v2).
    pub fn transactions_v2(&self) -> bool {
        self.finalized_level("transaction.version")
            .is_some_and(|level| level >= 2)
    }
}

impl ApiVersion {
    /// A range entry.
    pub fn new(api_key: ApiKey, min_version: i16, max_version: i16) -> Self {
        Self {
            api_key: api_key.0,
            min_version,
            max_version,
            ..Self::default()
        }
    }
}

impl FinalizedFeatureKey {
    /// A finalized feature entry.
    pub fn new(name: &str, min_version_level: i16, max_version_level: i16) -> Self {
        Self {
            name: name.to_owned(),
            max_version_level,
            min_version_level,
            ..Self::default()
        }
    }
}
