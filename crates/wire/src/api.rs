//! API keys.

use std::fmt;

/// A Kafka API key. An open set: unknown keys survive decoding and print as numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ApiKey(pub i16);

impl ApiKey {
    /// Produce (0).
    pub const PRODUCE: ApiKey = ApiKey(0);
    /// Fetch (1).
    pub const FETCH: ApiKey = ApiKey(1);
    /// ListOffsets (2).
    pub const LIST_OFFSETS: ApiKey = ApiKey(2);
    /// Metadata (3).
    pub const METADATA: ApiKey = ApiKey(3);
    /// OffsetFetch (9).
    pub const OFFSET_FETCH: ApiKey = ApiKey(9);
    /// FindCoordinator (10).
    pub const FIND_COORDINATOR: ApiKey = ApiKey(10);
    /// SaslHandshake (17).
    pub const SASL_HANDSHAKE: ApiKey = ApiKey(17);
    /// ApiVersions (18).
    pub const API_VERSIONS: ApiKey = ApiKey(18);
    /// CreateTopics (19).
    pub const CREATE_TOPICS: ApiKey = ApiKey(19);
    /// InitProducerId (22).
    pub const INIT_PRODUCER_ID: ApiKey = ApiKey(22);
    /// AddPartitionsToTxn (24).
    pub const ADD_PARTITIONS_TO_TXN: ApiKey = ApiKey(24);
    /// AddOffsetsToTxn (25).
    pub const ADD_OFFSETS_TO_TXN: ApiKey = ApiKey(25);
    /// EndTxn (26).
    pub const END_TXN: ApiKey = ApiKey(26);
    /// TxnOffsetCommit (28).
    pub const TXN_OFFSET_COMMIT: ApiKey = ApiKey(28);
    /// SaslAuthenticate (36).
    pub const SASL_AUTHENTICATE: ApiKey = ApiKey(36);

    /// The API's name as the Kafka protocol guide spells it, for the APIs this crate knows.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::PRODUCE => "Produce",
            Self::FETCH => "Fetch",
            Self::LIST_OFFSETS => "ListOffsets",
            Self::OFFSET_FETCH => "OffsetFetch",
            Self::METADATA => "Metadata",
            Self::FIND_COORDINATOR => "FindCoordinator",
            Self::SASL_HANDSHAKE => "SaslHandshake",
            Self::API_VERSIONS => "ApiVersions",
            Self::CREATE_TOPICS => "CreateTopics",
            Self::INIT_PRODUCER_ID => "InitProducerId",
            Self::ADD_PARTITIONS_TO_TXN => "AddPartitionsToTxn",
            Self::ADD_OFFSETS_TO_TXN => "AddOffsetsToTxn",
            Self::END_TXN => "EndTxn",
            Self::TXN_OFFSET_COMMIT => "TxnOffsetCommit",
            Self::SASL_AUTHENTICATE => "SaslAuthenticate",
            _ => return None,
        })
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "ApiKey({})", self.0),
        }
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "api key {}", self.0),
        }
    }
}
