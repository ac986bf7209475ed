//! Version negotiation (KIP-35): pick, per API, the highest version both sides
//! support, from our ranges and a broker's ApiVersions response.
//!
//! The result is valid for one connection only: brokers of one cluster may differ.

use std::collections::BTreeMap;
use std::fmt;

use crate::api::ApiKey;
use crate::messages::ApiVersionsResponse;

/// Why no version of an API can be used with a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The broker does not list the API at all.
    NotSupportedByBroker {
        /// The API.
        api: ApiKey,
        /// Our range.
        ours: (i16, i16),
    },
    /// Both sides list the API but the ranges do not overlap.
    NoCommonVersion {
        /// The API.
        api: ApiKey,
        /// Our range.
        ours: (i16, i16),
        /// The broker's range.
        broker: (i16, i16),
    },
    /// We do not implement the API.
    NotSupportedByClient {
        /// The API.
        api: ApiKey,
    },
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSupportedByBroker { api, ours } => write!(
                f,
                "the broker does not support {api} (key {}); this client supports versions {}..={}",
                api.0, ours.0, ours.1
            ),
            Self::NoCommonVersion { api, ours, broker } => write!(
                f,
                "no common version of {api} (key {}): this client supports {}..={}, the broker {}..={}",
                api.0, ours.0, ours.1, broker.0, broker.1
            ),
            Self::NotSupportedByClient { api } => {
                write!(f, "this client does not implement {api} (key {})", api.0)
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

/// The outcome of negotiation with one broker: a version, or the reason there is
/// none, for each API we implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    versions: BTreeMap<ApiKey, Result<i16, NegotiationError>>,
}

impl Negotiated {
    /// Negotiates `ours` (API, min, max) against a broker's ApiVersions response.
    pub fn new(ours: &[(ApiKey, i16, i16)], broker: &ApiVersionsResponse) -> Self {
        let versions = ours
            .iter()
            .map(|&(api, min, max)| (api, pick(api, (min, max), broker.range(api))))
            .collect();
        Self { versions }
    }

    /// The version to use for `api`, or why there is none.
    pub fn version(&self, api: ApiKey) -> Result<i16, NegotiationError> {
        self.versions
            .get(&api)
            .cloned()
            .unwrap_or(Err(NegotiationError::NotSupportedByClient { api }))
    }

    /// The version to use for `api`, capped at `cap` (e.g. Produce at 11 inside a
    /// transaction when transactions v2 is off).
    pub fn version_capped(&self, api: ApiKey, cap: i16) -> Result<i16, NegotiationError> {
        let v = self.version(api)?;
        Ok(v.min(cap))
    }
}

/// The highest common version of one API.
pub fn pick(
    api: ApiKey,
    ours: (i16, i16),
    broker: Option<(i16, i16)>,
) -> Result<i16, NegotiationError> {
    let Some(broker) = broker else {
        return Err(NegotiationError::NotSupportedByBroker { api, ours });
    };
    let low = ours.0.max(broker.0);
    let high = ours.1.min(broker.1);
    if low > high {
        return Err(NegotiationError::NoCommonVersion { api, ours, broker });
    }
    Ok(high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::api_versions::ApiVersion;

    fn broker(ranges: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
        ApiVersionsResponse {
            api_keys: ranges
                .iter()
                .map(|&(k, min, max)| ApiVersion::new(k, min, max))
                .collect(),
            ..ApiVersionsResponse::default()
        }
    }

    #[test]
    fn picks_highest_common_version() {
        let b = broker(&[(ApiKey::PRODUCE, 0, 10), (ApiKey::METADATA, 0, 12)]);
        let n = Negotiated::new(crate::SUPPORTED_APIS, &b);
        assert_eq!(n.version(ApiKey::PRODUCE), Ok(10));
        assert_eq!(n.version(ApiKey::METADATA), Ok(12));
        assert_eq!(n.version_capped(ApiKey::PRODUCE, 9), Ok(9));
    }

    #[test]
    fn missing_or_disjoint_ranges_name_the_api_and_both_ranges() {
        let b = broker(&[(ApiKey::PRODUCE, 0, 2)]);
        let n = Negotiated::new(crate::SUPPORTED_APIS, &b);
        let err = n.version(ApiKey::PRODUCE).unwrap_err();
        assert_eq!(
            err,
            NegotiationError::NoCommonVersion {
                api: ApiKey::PRODUCE,
                ours: (3, 13),
                broker: (0, 2)
            }
        );
        assert_eq!(
            err.to_string(),
            "no common version of Produce (key 0): this client supports 3..=13, the broker 0..=2"
        );
        let err = n.version(ApiKey::END_TXN).unwrap_err();
        assert!(err.to_string().contains("does not support EndTxn"), "{err}");
        assert!(matches!(
            n.version(ApiKey(1)),
            Err(NegotiationError::NotSupportedByClient { .. })
        ));
    }
}
