//! Every request and response a producer needs, declared once per API.
//!
//! | API | key | versions | flexible from |
//! |---|---|---|---|
//! | Produce | 0 | 3–13 | 9 |
//! | Fetch | 1 | 4–12 (for the fake cluster) | 12 |
//! | ListOffsets | 2 | 1–7 (for the fake cluster) | 6 |
//! | Metadata | 3 | 0–13 | 9 |
//! | OffsetFetch | 9 | 1–7 (for the fake cluster) | 6 |
//! | FindCoordinator | 10 | 0–6 | 3 |
//! | SaslHandshake | 17 | 0–1 | never |
//! | ApiVersions | 18 | 0–4 | 3 |
//! | CreateTopics | 19 | 2–7 | 5 |
//! | InitProducerId | 22 | 0–5 | 2 |
//! | AddPartitionsToTxn | 24 | 0–3 (client form) | 3 |
//! | AddOffsetsToTxn | 25 | 0–4 | 3 |
//! | EndTxn | 26 | 0–5 | 3 |
//! | TxnOffsetCommit | 28 | 0–5 | 3 |
//! | SaslAuthenticate | 36 | 0–2 | 2 |
//!
//! Fetch, ListOffsets and OffsetFetch are in [`SERVER_ONLY_APIS`], not [`SUPPORTED_APIS`]: the
//! fake cluster serves them to the consumers that read back from it; the producer never
//! negotiates them.

pub mod api_versions;
pub mod create_topics;
pub mod fetch;
pub mod find_coordinator;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod offset_fetch;
pub mod produce;
pub mod sasl;
pub mod txn;

pub use api_versions::{ApiVersionsRequest, ApiVersionsResponse};
pub use create_topics::{CreateTopicsRequest, CreateTopicsResponse};
pub use fetch::{FetchRequest, FetchResponse};
pub use find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse};
pub use init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
pub use list_offsets::{ListOffsetsRequest, ListOffsetsResponse};
pub use metadata::{MetadataRequest, MetadataResponse};
pub use offset_fetch::{OffsetFetchRequest, OffsetFetchResponse};
pub use produce::{ProduceRequest, ProduceResponse};
pub use sasl::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
pub use txn::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
};

use bytes::BufMut;

use crate::api::ApiKey;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::message::{Message, Request};

macro_rules! apis {
    (
        client { $( $cv:ident : $creq:ty => $cresp:ty; )* }
        server_only { $( $sv:ident : $sreq:ty => $sresp:ty; )* }
    ) => {
        /// Every API the producer uses, with the versions this crate supports (the ranges a
        /// client advertises and negotiates with).
        pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
            $( (<$creq as Message>::API_KEY, <$creq as Message>::MIN_VERSION, <$creq as Message>::MAX_VERSION), )*
        ];

        /// APIs this crate implements for servers only (the fake cluster serves them to
        /// consumers; the producer never sends them, so it does not negotiate them).
        pub const SERVER_ONLY_APIS: &[(ApiKey, i16, i16)] = &[
            $( (<$sreq as Message>::API_KEY, <$sreq as Message>::MIN_VERSION, <$sreq as Message>::MAX_VERSION), )*
        ];

        apis!(@all $( $cv : $creq => $cresp; )* $( $sv : $sreq => $sresp; )*);
    };
    // What request and response bodies both have: the API key, encoding and size.
    (@body $body:ident $( $variant:ident : $ty:ty; )*) => {
        impl $body {
            /// The API key of the body.
            pub fn api_key(&self) -> ApiKey {
                match self { $( Self::$variant(_) => <$ty as Message>::API_KEY, )* }
            }
            /// Appends the body at `version`.
            pub fn encode<B: BufMut>(&self, buf: &mut B, version: i16) -> Result<(), EncodeError> {
                match self { $( Self::$variant(m) => m.encode_body(buf, version), )* }
            }
            /// Size of the body at `version`.
            pub fn encoded_len(&self, version: i16) -> usize {
                match self { $( Self::$variant(m) => m.body_len(version), )* }
            }
        }
    };
    (@all $( $variant:ident : $req:ty => $resp:ty; )*) => {
        $( impl Request for $req { type Response = $resp; } )*

        /// Whether `version` of API `key` is flexible; `None` for an API this crate
        /// does not know.
        pub fn is_flexible(key: ApiKey, version: i16) -> Option<bool> {
            $( if key == <$req as Message>::API_KEY {
                return Some(<$req as Message>::is_flexible(version));
            } )*
            None
        }

        /// Any request body this crate knows.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        #[allow(missing_docs)]
        pub enum RequestBody { $( $variant($req), )* }

        /// Any response body this crate knows.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        #[allow(missing_docs)]
        pub enum ResponseBody { $( $variant($resp), )* }

        apis!(@body RequestBody $( $variant : $req; )*);
        apis!(@body ResponseBody $( $variant : $resp; )*);

        impl RequestBody {
            /// Parses a complete request body of API `key` at `version`.
            pub fn decode(key: ApiKey, version: i16, input: &[u8]) -> Result<Self, DecodeError> {
                $( if key == <$req as Message>::API_KEY {
                    return <$req as Message>::decode_body(input, version).map(Self::$variant);
                } )*
                Err(DecodeError::new(DecodeErrorKind::UnknownApiKey(key.0)))
            }
        }

        impl ResponseBody {
            /// Parses a response body of API `key` at `version`. Bytes after the
            /// body are ignored, as clients do (see [`Message::decode_body_prefix`]).
            pub fn decode(key: ApiKey, version: i16, input: &[u8]) -> Result<Self, DecodeError> {
                $( if key == <$resp as Message>::API_KEY {
                    return <$resp as Message>::decode_body_prefix(input, version)
                        .map(|(m, _unread)| Self::$variant(m));
                } )*
                Err(DecodeError::new(DecodeErrorKind::UnknownApiKey(key.0)))
            }
        }

        $(
            impl From<$req> for RequestBody {
                fn from(m: $req) -> Self { Self::$variant(m) }
            }
            impl From<$resp> for ResponseBody {
                fn from(m: $resp) -> Self { Self::$variant(m) }
            }
        )*
    };
}

apis! {
    client {
        Produce: ProduceRequest => ProduceResponse;
        Metadata: MetadataRequest => MetadataResponse;
        FindCoordinator: FindCoordinatorRequest => FindCoordinatorResponse;
        SaslHandshake: SaslHandshakeRequest => SaslHandshakeResponse;
        ApiVersions: ApiVersionsRequest => ApiVersionsResponse;
        CreateTopics: CreateTopicsRequest => CreateTopicsResponse;
        InitProducerId: InitProducerIdRequest => InitProducerIdResponse;
        AddPartitionsToTxn: AddPartitionsToTxnRequest => AddPartitionsToTxnResponse;
        AddOffsetsToTxn: AddOffsetsToTxnRequest => AddOffsetsToTxnResponse;
        EndTxn: EndTxnRequest => EndTxnResponse;
        TxnOffsetCommit: TxnOffsetCommitRequest => TxnOffsetCommitResponse;
        SaslAuthenticate: SaslAuthenticateRequest => SaslAuthenticateResponse;
    }
    server_only {
        Fetch: FetchRequest => FetchResponse;
        ListOffsets: ListOffsetsRequest => ListOffsetsResponse;
        OffsetFetch: OffsetFetchRequest => OffsetFetchResponse;
    }
}
