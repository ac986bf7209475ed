//! Kafka protocol error codes.
//!
//! Every Kafka response carries one or more 16-bit error codes. [`ErrorCode`] is a
//! thin wrapper around that `i16`: it is an *open* set, so a code this crate has
//! never heard of (for example one added by a newer broker) is kept as-is and can
//! be passed along, compared and printed, instead of being folded into a catch-all.
//!
//! The codes this crate knows (-1 through 133) are available as
//! associated constants named like the Java client's `Errors` enum
//! ([`ErrorCode::NOT_LEADER_OR_FOLLOWER`], [`ErrorCode::PRODUCER_FENCED`], ...).
//! Their name, their short meaning and whether they are retriable all come from one
//! private table, so the constants and the lookup methods cannot drift apart.
//!
//! "Retriable" follows the Java client: a code is retriable when the exception class
//! Java maps it to is a `RetriableException` (directly or through
//! `InvalidMetadataException`). That is a property of the code alone; a producer
//! may still treat a non-retriable code specially (for instance it splits a batch on
//! [`ErrorCode::MESSAGE_TOO_LARGE`] and counts [`ErrorCode::DUPLICATE_SEQUENCE_NUMBER`]
//! as a success), and that policy lives elsewhere.
//!
//! ```
//! # use ferrokafka_wire::error_code::ErrorCode;
//! let code = ErrorCode::from(6_i16);
//! assert_eq!(code, ErrorCode::NOT_LEADER_OR_FOLLOWER);
//! assert!(code.is_retriable());
//! assert_eq!(format!("{code:?}"), "NOT_LEADER_OR_FOLLOWER(6)");
//!
//! let unknown = ErrorCode(1234);
//! assert_eq!(unknown.name(), None);
//! assert_eq!(format!("{unknown:?}"), "UNKNOWN(1234)");
//! ```

use std::fmt;

/// A Kafka protocol error code.
///
/// Any `i16` is a valid value: codes without a table entry are simply "unknown"
/// ([`name`](Self::name) returns `None`) and survive a decode/encode round trip
/// unchanged. Zero ([`ErrorCode::NONE`]) means success.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub i16);

/// One row of the error code table.
struct Entry {
    /// Wire value.
    code: i16,
    /// Java `Errors` constant name.
    name: &'static str,
    /// Whether the Java exception for this code is a `RetriableException`.
    retriable: bool,
    /// One-line meaning.
    meaning: &'static str,
}

/// Maps the retriable marker used in the table (`R` or `-`) to a `bool`.
macro_rules! retriable_flag {
    (R) => {
        true
    };
    (-) => {
        false
    };
}

/// Maps the retriable marker to the suffix used in a constant's documentation.
macro_rules! retriable_doc {
    (R) => {
        " Retriable."
    };
    (-) => {
        " Not retriable."
    };
}

/// Declares the associated constants and the private `TABLE` from one list of
/// rows, each `code flag NAME "meaning";` where `flag` is `R` (retriable) or `-`.
macro_rules! error_codes {
    ($($code:literal $flag:tt $name:ident $meaning:literal;)*) => {
        impl ErrorCode {
            $(
                #[doc = concat!(
                    "`", stringify!($name), "` (", stringify!($code), "): ",
                    $meaning, ".", retriable_doc!($flag)
                )]
                pub const $name: ErrorCode = ErrorCode($code);
            )*
        }

        /// Every known code, sorted by code, one row each.
        static TABLE: &[Entry] = &[
            $(
                Entry {
                    code: $code,
                    name: stringify!($name),
                    retriable: retriable_flag!($flag),
                    meaning: $meaning,
                },
            )*
        ];
    };
}

// Columns: code, retriable (R) or not (-), Java name, meaning.
error_codes! {
      -1 - UNKNOWN_SERVER_ERROR "the broker hit an unexpected internal failure while handling the request";
       0 - NONE "no error: the operation succeeded";
       1 - OFFSET_OUT_OF_RANGE "the requested offset lies outside the range the partition still retains";
       2 R CORRUPT_MESSAGE "a record batch failed its checksum or size check, or is malformed in some other way";
       3 R UNKNOWN_TOPIC_OR_PARTITION "this broker does not host the named topic or partition";
       4 - INVALID_FETCH_SIZE "the fetch size given in the request is not acceptable";
       5 R LEADER_NOT_AVAILABLE "the partition has no leader at the moment, typically during an election";
       6 R NOT_LEADER_OR_FOLLOWER "this broker is not the leader of the partition (or not one of its replicas)";
       7 R REQUEST_TIMED_OUT "the broker could not complete the request before its timeout ran out";
       8 - BROKER_NOT_AVAILABLE "the broker in question is not alive or not reachable";
       9 R REPLICA_NOT_AVAILABLE "a replica needed to serve the request is not available";
      10 - MESSAGE_TOO_LARGE "a record batch is bigger than the broker or topic allows";
      11 - STALE_CONTROLLER_EPOCH "the request carried a controller epoch that is out of date";
      12 - OFFSET_METADATA_TOO_LARGE "the metadata string attached to a committed offset is too long";
      13 R NETWORK_EXCEPTION "the connection was closed before a response came back";
      14 R COORDINATOR_LOAD_IN_PROGRESS "the coordinator is still loading its state and cannot serve requests yet";
      15 R COORDINATOR_NOT_AVAILABLE "no coordinator is available right now for the group or transactional id";
      16 R NOT_COORDINATOR "this broker is not the coordinator for the group or transactional id";
      17 - INVALID_TOPIC_EXCEPTION "the topic name is not valid, or the operation is forbidden on that topic";
      18 - RECORD_LIST_TOO_LARGE "a batch is larger than the broker's log segment size";
      19 R NOT_ENOUGH_REPLICAS "too few in-sync replicas to accept the write, so nothing was appended";
      20 R NOT_ENOUGH_REPLICAS_AFTER_APPEND "the write was appended, but fewer in-sync replicas than required confirmed it";
      21 - INVALID_REQUIRED_ACKS "the acks value of the produce request is not allowed";
      22 - ILLEGAL_GENERATION "the group generation id in the request is not the current one";
      23 - INCONSISTENT_GROUP_PROTOCOL "the member's protocols do not fit those of the rest of the group";
      24 - INVALID_GROUP_ID "the group id is empty or otherwise not valid";
      25 - UNKNOWN_MEMBER_ID "the coordinator does not know this group member";
      26 - INVALID_SESSION_TIMEOUT "the session timeout falls outside the range the broker permits";
      27 - REBALANCE_IN_PROGRESS "the group is rebalancing and the member has to rejoin";
      28 - INVALID_COMMIT_OFFSET_SIZE "the offset commit data has a size that is not valid";
      29 - TOPIC_AUTHORIZATION_FAILED "the principal may not access the topic";
      30 - GROUP_AUTHORIZATION_FAILED "the principal may not access the group";
      31 - CLUSTER_AUTHORIZATION_FAILED "the principal lacks a permission needed at the cluster level";
      32 - INVALID_TIMESTAMP "a record timestamp is outside the range the broker accepts";
      33 - UNSUPPORTED_SASL_MECHANISM "the broker does not offer the requested SASL mechanism";
      34 - ILLEGAL_SASL_STATE "the request does not fit the current step of the SASL exchange";
      35 - UNSUPPORTED_VERSION "the broker does not support this version of the API";
      36 - TOPIC_ALREADY_EXISTS "a topic with this name exists already";
      37 - INVALID_PARTITIONS "the requested number of partitions is not valid";
      38 - INVALID_REPLICATION_FACTOR "the requested replication factor cannot be met or is not valid";
      39 - INVALID_REPLICA_ASSIGNMENT "the explicit replica assignment is not valid";
      40 - INVALID_CONFIG "a configuration value in the request is not valid";
      41 R NOT_CONTROLLER "this broker is not the active controller";
      42 - INVALID_REQUEST "the broker could not make sense of the request, usually a client bug or version mismatch";
      43 - UNSUPPORTED_FOR_MESSAGE_FORMAT "the topic's message format version cannot serve this request";
      44 - POLICY_VIOLATION "the request breaks a policy configured on the broker";
      45 - OUT_OF_ORDER_SEQUENCE_NUMBER "the batch's sequence number is not the one the broker expected next";
      46 - DUPLICATE_SEQUENCE_NUMBER "the broker already holds a batch with this sequence number";
      47 - INVALID_PRODUCER_EPOCH "the producer epoch is older than the one the broker knows about";
      48 - INVALID_TXN_STATE "the operation is not allowed in the transaction's current state";
      49 - INVALID_PRODUCER_ID_MAPPING "the producer id is not the one currently assigned to this transactional id";
      50 - INVALID_TRANSACTION_TIMEOUT "the requested transaction timeout is above the broker's maximum";
      51 R CONCURRENT_TRANSACTIONS "another operation on the same transaction has not finished yet";
      52 - TRANSACTION_COORDINATOR_FENCED "the transaction coordinator writing markers has been superseded";
      53 - TRANSACTIONAL_ID_AUTHORIZATION_FAILED "the principal may not use this transactional id";
      54 - SECURITY_DISABLED "security features are switched off on the broker";
      55 - OPERATION_NOT_ATTEMPTED "the broker skipped this operation because another part of the batch failed";
      56 R KAFKA_STORAGE_ERROR "the broker hit a disk error while accessing the log";
      57 - LOG_DIR_NOT_FOUND "the named log directory is not configured on the broker";
      58 - SASL_AUTHENTICATION_FAILED "the broker rejected the SASL authentication";
      59 - UNKNOWN_PRODUCER_ID "the broker has no state for this producer id, for example after retention removed it";
      60 - REASSIGNMENT_IN_PROGRESS "a partition reassignment is already under way";
      61 - DELEGATION_TOKEN_AUTH_DISABLED "delegation tokens are not enabled on the cluster";
      62 - DELEGATION_TOKEN_NOT_FOUND "the delegation token does not exist";
      63 - DELEGATION_TOKEN_OWNER_MISMATCH "the principal is neither the owner nor a renewer of the token";
      64 - DELEGATION_TOKEN_REQUEST_NOT_ALLOWED "delegation token requests are refused on this kind of connection";
      65 - DELEGATION_TOKEN_AUTHORIZATION_FAILED "the principal may not perform this delegation token operation";
      66 - DELEGATION_TOKEN_EXPIRED "the delegation token has expired";
      67 - INVALID_PRINCIPAL_TYPE "the principal type is not supported";
      68 - NON_EMPTY_GROUP "the group still has members";
      69 - GROUP_ID_NOT_FOUND "no group with this id exists";
      70 R FETCH_SESSION_ID_NOT_FOUND "the broker has no fetch session with this id";
      71 R INVALID_FETCH_SESSION_EPOCH "the fetch session epoch does not match the broker's";
      72 R LISTENER_NOT_FOUND "the leader has no listener matching the one the metadata request arrived on";
      73 - TOPIC_DELETION_DISABLED "topic deletion is switched off on the cluster";
      74 R FENCED_LEADER_EPOCH "the leader epoch in the request is older than the broker's";
      75 R UNKNOWN_LEADER_EPOCH "the leader epoch in the request is newer than the broker's";
      76 - UNSUPPORTED_COMPRESSION_TYPE "the compression codec cannot be used with this request version";
      77 - STALE_BROKER_EPOCH "the broker epoch in the request is out of date";
      78 R OFFSET_NOT_AVAILABLE "a new leader's high watermark has not caught up, so offsets cannot be served safely yet";
      79 - MEMBER_ID_REQUIRED "the member needs a member id before it can join the group";
      80 R PREFERRED_LEADER_NOT_AVAILABLE "the preferred replica cannot take over leadership right now";
      81 - GROUP_MAX_SIZE_REACHED "the group already has as many members as allowed";
      82 - FENCED_INSTANCE_ID "another member has registered with the same static instance id";
      83 R ELIGIBLE_LEADERS_NOT_AVAILABLE "no replica eligible to become leader is available";
      84 R ELECTION_NOT_NEEDED "the partition already has the leader an election would pick";
      85 - NO_REASSIGNMENT_IN_PROGRESS "there is no partition reassignment to act on";
      86 - GROUP_SUBSCRIBED_TO_TOPIC "offsets cannot be deleted while the group is subscribed to the topic";
      87 - INVALID_RECORD "the broker's validation rejected a record";
      88 R UNSTABLE_OFFSET_COMMIT "pending transactional offset commits must settle before offsets can be read";
      89 R THROTTLING_QUOTA_EXCEEDED "the request went over a throttling quota";
      90 - PRODUCER_FENCED "a newer producer with the same transactional id has taken over";
      91 - RESOURCE_NOT_FOUND "the request refers to a resource that does not exist";
      92 - DUPLICATE_RESOURCE "the request names the same resource more than once";
      93 - UNACCEPTABLE_CREDENTIAL "the credential does not meet the acceptance rules";
      94 - INCONSISTENT_VOTER_SET "the sender or receiver of a quorum request is not one of the expected voters";
      95 - INVALID_UPDATE_VERSION "the feature update version is not valid";
      96 - FEATURE_UPDATE_FAILED "the finalized features could not be updated because of a broker error";
      97 - PRINCIPAL_DESERIALIZATION_FAILURE "the principal of a forwarded request could not be decoded";
      98 - SNAPSHOT_NOT_FOUND "the requested metadata snapshot does not exist";
      99 - POSITION_OUT_OF_RANGE "a requested position is outside the range the log currently holds";
     100 R UNKNOWN_TOPIC_ID "this broker does not host a topic with this id";
     101 - DUPLICATE_BROKER_REGISTRATION "this broker id is already registered";
     102 - BROKER_ID_NOT_REGISTERED "this broker id has not been registered";
     103 R INCONSISTENT_TOPIC_ID "the topic id in the request differs from the one stored with the log";
     104 - INCONSISTENT_CLUSTER_ID "the cluster id in the request differs from the server's";
     105 - TRANSACTIONAL_ID_NOT_FOUND "no transaction state exists for this transactional id";
     106 R FETCH_SESSION_TOPIC_ID_ERROR "the fetch session used topic ids inconsistently";
     107 - INELIGIBLE_REPLICA "the proposed in-sync set contains a replica that may not be in it";
     108 - NEW_LEADER_ELECTED "the partition state was updated, but leadership has moved since";
     109 - OFFSET_MOVED_TO_TIERED_STORAGE "the requested offset is now held only in tiered storage";
     110 - FENCED_MEMBER_EPOCH "the member's epoch was fenced; it must give up its partitions and rejoin";
     111 - UNRELEASED_INSTANCE_ID "the instance id is still held by another group member";
     112 - UNSUPPORTED_ASSIGNOR "the group does not support this assignor or assignor version";
     113 - STALE_MEMBER_EPOCH "the member epoch is outdated and the member must learn the current one";
     114 - MISMATCHED_ENDPOINT_TYPE "the request reached an endpoint of the wrong kind";
     115 - UNSUPPORTED_ENDPOINT_TYPE "this kind of endpoint is not supported";
     116 - UNKNOWN_CONTROLLER_ID "the controller id is not known";
     117 - UNKNOWN_SUBSCRIPTION_ID "the telemetry subscription id is unknown or out of date";
     118 - TELEMETRY_TOO_LARGE "the pushed telemetry is larger than the broker accepts";
     119 - INVALID_REGISTRATION "the controller considers the broker's registration not valid";
     120 - TRANSACTION_ABORTABLE "the transaction ran into an error; aborting it lets the transactional id be used again";
     121 - INVALID_RECORD_STATE "the record is not in a state that allows this acknowledgement";
     122 R SHARE_SESSION_NOT_FOUND "the broker has no share session with this id";
     123 R INVALID_SHARE_SESSION_EPOCH "the share session epoch does not match the broker's";
     124 - FENCED_STATE_EPOCH "the share-group state epoch in the request does not match";
     125 - INVALID_VOTER_KEY "the voter key does not belong to the receiving replica";
     126 - DUPLICATE_VOTER "the voter is already part of the voter set";
     127 - VOTER_NOT_FOUND "the voter is not part of the voter set";
     128 - INVALID_REGULAR_EXPRESSION "the regular expression could not be parsed";
     129 - REBOOTSTRAP_REQUIRED "the client's metadata is too stale and it must start over from the bootstrap servers";
     130 - STREAMS_INVALID_TOPOLOGY "the supplied Streams topology is not valid";
     131 - STREAMS_INVALID_TOPOLOGY_EPOCH "the supplied Streams topology epoch is not valid";
     132 - STREAMS_TOPOLOGY_FENCED "the supplied Streams topology epoch is outdated";
     133 R SHARE_SESSION_LIMIT_REACHED "the broker is at its limit of share sessions and cannot open another";
}

/// Text returned by [`ErrorCode::description`] for codes missing from the table.
const UNKNOWN_DESCRIPTION: &str = "unknown error code";

impl ErrorCode {
    /// Looks up this code's table row, if it has one.
    fn entry(self) -> Option<&'static Entry> {
        TABLE
            .binary_search_by_key(&self.0, |e| e.code)
            .ok()
            .map(|i| &TABLE[i])
    }

    /// The Java name of this code (e.g. `"NOT_LEADER_OR_FOLLOWER"`), or `None` if
    /// the code is unknown.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.name)
    }

    /// Whether the Java client classifies this code as retriable. Unknown codes
    /// are not retriable.
    pub fn is_retriable(self) -> bool {
        self.entry().is_some_and(|e| e.retriable)
    }

    /// A one-line explanation of the code, or `"unknown error code"` if the code
    /// is unknown.
    pub fn description(self) -> &'static str {
        self.entry().map_or(UNKNOWN_DESCRIPTION, |e| e.meaning)
    }

    /// Whether this is code 0, i.e. no error.
    pub const fn is_none(self) -> bool {
        self.0 == Self::NONE.0
    }

    /// The code whose Java name is exactly `name` (case-sensitive), if any.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        TABLE
            .iter()
            .find(|e| e.name == name)
            .map(|e| ErrorCode(e.code))
    }

    /// Every known code, in ascending order.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        TABLE.iter().map(|e| ErrorCode(e.code))
    }
}

impl fmt::Debug for ErrorCode {
    /// Prints `NAME(code)`, or `UNKNOWN(code)` for an unknown code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name().unwrap_or("UNKNOWN"), self.0)
    }
}

impl fmt::Display for ErrorCode {
    /// Prints `NAME (code): meaning`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name().unwrap_or("UNKNOWN"),
            self.0,
            self.description()
        )
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> Self {
        ErrorCode(code)
    }
}

impl From<ErrorCode> for i16 {
    fn from(code: ErrorCode) -> Self {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_strictly_sorted_by_code() {
        for pair in TABLE.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} ({}) is not before {} ({})",
                pair[0].name,
                pair[0].code,
                pair[1].name,
                pair[1].code
            );
        }
    }

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<i16> = TABLE.iter().map(|e| e.code).collect();
        let names: HashSet<&str> = TABLE.iter().map(|e| e.name).collect();
        assert_eq!(codes.len(), TABLE.len());
        assert_eq!(names.len(), TABLE.len());
    }

    #[test]
    fn table_covers_minus_one_to_133() {
        // -1..=133 holds 135 values, every one assigned (99 is POSITION_OUT_OF_RANGE).
        assert_eq!(TABLE.len(), 135);
        assert_eq!(ErrorCode::all().count(), 135);
        let expected: Vec<i16> = (-1..=133).collect();
        let got: Vec<i16> = ErrorCode::all().map(i16::from).collect();
        assert_eq!(got, expected);
        assert_eq!(ErrorCode(99).name(), Some("POSITION_OUT_OF_RANGE"));
    }

    #[test]
    fn rows_are_well_formed() {
        for e in TABLE {
            assert!(!e.name.is_empty());
            assert!(
                e.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{} is not SCREAMING_SNAKE_CASE",
                e.name
            );
            assert!(!e.meaning.is_empty(), "{} has no meaning", e.name);
            assert!(
                !e.meaning.ends_with('.'),
                "{} meaning ends with '.'",
                e.name
            );
        }
    }

    #[test]
    fn from_name_round_trips_every_code() {
        for code in ErrorCode::all() {
            let name = code.name().expect("known code has a name");
            assert_eq!(ErrorCode::from_name(name), Some(code));
        }
        assert_eq!(ErrorCode::from_name("NO_SUCH_ERROR"), None);
        assert_eq!(ErrorCode::from_name("none"), None);
        assert_eq!(ErrorCode::from_name("UNKNOWN"), None);
    }

    #[test]
    fn spot_checks() {
        let c = ErrorCode(6);
        assert_eq!(c, ErrorCode::NOT_LEADER_OR_FOLLOWER);
        assert_eq!(c.name(), Some("NOT_LEADER_OR_FOLLOWER"));
        assert!(c.is_retriable());

        assert_eq!(ErrorCode::MESSAGE_TOO_LARGE.0, 10);
        assert!(!ErrorCode::MESSAGE_TOO_LARGE.is_retriable());

        assert_eq!(ErrorCode::DUPLICATE_SEQUENCE_NUMBER.0, 46);
        assert!(!ErrorCode::DUPLICATE_SEQUENCE_NUMBER.is_retriable());

        assert_eq!(ErrorCode::CONCURRENT_TRANSACTIONS.0, 51);
        assert!(ErrorCode::CONCURRENT_TRANSACTIONS.is_retriable());

        assert_eq!(ErrorCode(120).name(), Some("TRANSACTION_ABORTABLE"));
        assert_eq!(ErrorCode::TRANSACTION_ABORTABLE.0, 120);
        assert_eq!(ErrorCode::REBOOTSTRAP_REQUIRED.0, 129);
        assert_eq!(ErrorCode::SHARE_SESSION_LIMIT_REACHED.0, 133);

        assert_eq!(ErrorCode::UNKNOWN_SERVER_ERROR.0, -1);
        assert!(!ErrorCode::UNKNOWN_SERVER_ERROR.is_retriable());
        assert_eq!(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0, 45);
        assert_eq!(ErrorCode::UNKNOWN_PRODUCER_ID.0, 59);
        assert!(!ErrorCode::UNKNOWN_PRODUCER_ID.is_retriable());
        assert_eq!(ErrorCode::PRODUCER_FENCED.0, 90);
        assert!(ErrorCode::NETWORK_EXCEPTION.is_retriable());
        assert!(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND.is_retriable());
        assert!(!ErrorCode::OFFSET_OUT_OF_RANGE.is_retriable());
    }

    #[test]
    fn none_is_zero_and_not_an_error() {
        assert!(ErrorCode::NONE.is_none());
        assert!(ErrorCode(0).is_none());
        assert!(!ErrorCode::UNKNOWN_SERVER_ERROR.is_none());
        assert!(!ErrorCode::NONE.is_retriable());
        assert_eq!(ErrorCode::NONE.name(), Some("NONE"));
    }

    #[test]
    fn unknown_codes_survive() {
        let c = ErrorCode::from(9999_i16);
        assert_eq!(i16::from(c), 9999);
        assert_eq!(c.name(), None);
        assert!(!c.is_retriable());
        assert!(!c.is_none());
        assert_eq!(c.description(), "unknown error code");
        assert_eq!(format!("{c:?}"), "UNKNOWN(9999)");
        assert_eq!(format!("{c}"), "UNKNOWN (9999): unknown error code");
        assert_eq!(format!("{:?}", ErrorCode(-2)), "UNKNOWN(-2)");
    }

    #[test]
    fn formatting_of_known_codes() {
        let c = ErrorCode::NOT_LEADER_OR_FOLLOWER;
        assert_eq!(format!("{c:?}"), "NOT_LEADER_OR_FOLLOWER(6)");
        assert_eq!(
            format!("{c}"),
            format!("NOT_LEADER_OR_FOLLOWER (6): {}", c.description())
        );
        assert_eq!(
            format!("{:?}", ErrorCode::UNKNOWN_SERVER_ERROR),
            "UNKNOWN_SERVER_ERROR(-1)"
        );
    }

    #[test]
    fn retriable_set_matches_java() {
        // Codes whose Java exception extends RetriableException.
        let expected: &[i16] = &[
            2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83,
            84, 88, 89, 100, 103, 106, 122, 123, 133,
        ];
        let actual: Vec<i16> = ErrorCode::all()
            .filter(|c| c.is_retriable())
            .map(i16::from)
            .collect();
        assert_eq!(actual, expected);
    }
}
