//! Crate-wide tests: every message at every version round-trips, matches the
//! `kafka-protocol` crate in both directions, and survives hostile input.

mod differential;
mod known_bytes;
mod roundtrip;

/// Calls `$m!(Type)` for every request and response type.
macro_rules! for_each_message {
    ($m:ident) => {
        $m!(ApiVersionsRequest);
        $m!(ApiVersionsResponse);
        $m!(MetadataRequest);
        $m!(MetadataResponse);
        $m!(ProduceRequest);
        $m!(ProduceResponse);
        $m!(InitProducerIdRequest);
        $m!(InitProducerIdResponse);
        $m!(FindCoordinatorRequest);
        $m!(FindCoordinatorResponse);
        $m!(AddPartitionsToTxnRequest);
        $m!(AddPartitionsToTxnResponse);
        $m!(AddOffsetsToTxnRequest);
        $m!(AddOffsetsToTxnResponse);
        $m!(EndTxnRequest);
        $m!(EndTxnResponse);
        $m!(TxnOffsetCommitRequest);
        $m!(TxnOffsetCommitResponse);
        $m!(SaslHandshakeRequest);
        $m!(SaslHandshakeResponse);
        $m!(SaslAuthenticateRequest);
        $m!(SaslAuthenticateResponse);
        $m!(CreateTopicsRequest);
        $m!(CreateTopicsResponse);
        $m!(FetchRequest);
        $m!(FetchResponse);
        $m!(ListOffsetsRequest);
        $m!(ListOffsetsResponse);
        $m!(OffsetFetchRequest);
        $m!(OffsetFetchResponse);
    };
}
pub(crate) use for_each_message;
