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
    /// The ApiVersions response carries an error, so its ranges cannot be used.
    BrokerError(crate::ErrorCode),
    /// A version cap lies below the lowest version both sides support.
    CapBelowRange {
        /// The API.
        api: ApiKey,
        /// The cap.
        cap: i16,
        /// Lowest common version.
        min: i16,
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
            Self::BrokerError(code) => write!(f, "the ApiVersions response carries error {code:?}"),
            Self::CapBelowRange { api, cap, min } => write!(
                f,
                "{api} capped at version {cap}, below the lowest common version {min}"
            ),
        }
    }
}

impl std::error::Error for NegotiationError {}

/// The outcome of negotiation with one broker: a version, or the reason there is
/// none, for each API we implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Per API: the common range (min, max), or why there is none.
    versions: BTreeMap<ApiKey, Result<(i16, i16), NegotiationError>>,
}

impl Negotiated {
    /// Negotiates `ours` (API, min, max) against a broker's ApiVersions response.
    /// A response carrying an error code has no usable ranges and is refused.
    pub fn new(
        ours: &[(ApiKey, i16, i16)],
        broker: &ApiVersionsResponse,
    ) -> Result<Self, NegotiationError> {
        if broker.error_code != 0 {
            return Err(NegotiationError::BrokerError(crate::ErrorCode(
                broker.error_code,
            )));
        }
        let versions = ours
            .iter()
            .map(|&(api, min, max)| (api, common(api, (min, max), broker.range(api))))
            .collect();
        Ok(Self { versions })
    }

    /// The version to use for `api`, or why there is none.
    pub fn version(&self, api: ApiKey) -> Result<i16, NegotiationError> {
        self.range(api).map(|(_, max)| max)
    }

    /// The common range of `api`, or why there is none.
    pub fn range(&self, api: ApiKey) -> Result<(i16, i16), NegotiationError> {
        self.versions
            .get(&api)
            .cloned()
            .unwrap_or(Err(NegotiationError::NotSupportedByClient { api }))
    }

    /// The version to use for `api`, capped at `cap` (e.g. Produce at 11 inside a
    /// transaction when transactions v2 is off); an error if the cap is below the
    /// common range.
    pub fn version_capped(&self, api: ApiKey, cap: i16) -> Result<i16, NegotiationError> {
        let (min, max) = self.range(api)?;
        if cap < min {
            return Err(NegotiationError::CapBelowRange { api, cap, min });
        }
        Ok(max.min(cap))
    }
}

/// The highest common version of one API.
pub fn pick(
    api: ApiKey,
    ours: (i16, i16),
    broker: Option<(i16, i16)>,
) -> Result<i16, NegotiationError> {
    common(api, ours, broker).map(|(_, max)| max)
}

/// The common version range of one API.
fn common(
    api: ApiKey,
    ours: (i16, i16),
    broker: Option<(i16, i16)>,
) -> Result<(i16, i16), NegotiationError> {
    let Some(broker) = broker else {
        return Err(NegotiationError::NotSupportedByBroker { api, ours });
    };
    let low = ours.0.max(broker.0);
    let high = ours.1.min(broker.1);
    if low > high {
        return Err(NegotiationError::NoCommonVersion { api, ours, broker });
    }
    Ok((low, high))
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
        let n = Negotiated::new(crate::SUPPORTED_APIS, &b).unwrap();
        assert_eq!(n.version(ApiKey::PRODUCE), Ok(10));
        assert_eq!(n.version(ApiKey::METADATA), Ok(12));
        assert_eq!(n.version_capped(ApiKey::PRODUCE, 9), Ok(9));
        assert_eq!(
            n.version_capped(ApiKey::PRODUCE, 2),
            Err(NegotiationError::CapBelowRange {
                api: ApiKey::PRODUCE,
                cap: 2,
                min: 3
            })
        );
    }

    #[test]
    fn an_error_response_is_not_negotiated() {
        let mut b = broker(&[(ApiKey::API_VERSIONS, 0, 2)]);
        b.error_code = 35;
        let err = Negotiated::new(crate::SUPPORTED_APIS, &b).unwrap_err();
        assert_eq!(
            err,
            NegotiationError::BrokerError(crate::ErrorCode::UNSUPPORTED_VERSION)
        );
    }

    #[test]
    fn missing_or_disjoint_ranges_name_the_api_and_both_ranges() {
        let b = broker(&[(ApiKey::PRODUCE, 0, 2)]);
        let n = Negotiated::new(crate::SUPPORTED_APIS, &b).unwrap();
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
            // Fetch: implemented for servers only, never negotiated by the producer.
            n.version(ApiKey::FETCH),
            Err(NegotiationError::NotSupportedByClient { .. })
        ));
    }
}
