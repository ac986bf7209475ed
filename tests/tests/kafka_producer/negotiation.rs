//! The versions negotiated with Kafka 4.4's ApiVersions answer, pinned per API (4).

use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, SUPPORTED_APIS};

use crate::kafka;

// ---------------------------------------------------------------------------------------------
// 4. negotiation
// ---------------------------------------------------------------------------------------------

/// The version negotiated for every API we implement, from Kafka 4.4.0's ApiVersions answer.
/// Kafka 4.x dropped the oldest versions (KIP-896) and advertises newer ones than we implement
/// for some APIs; the table pins what a connection to it uses.
#[test]
fn negotiated_versions_with_kafka_4_4_are_pinned() {
    let mut client = WireClient::connect(&kafka().bootstrap()).expect("connect");
    let (versions, used) = client.api_versions().expect("ApiVersions");
    assert_eq!(used, 4, "ApiVersions version that succeeded");
    let negotiated = Negotiated::new(SUPPORTED_APIS, &versions).expect("negotiate");
    for &(api, ours_min, ours_max) in SUPPORTED_APIS {
        eprintln!(
            "{api:?}: ours {ours_min}..={ours_max}, Kafka {:?}, negotiated {:?}",
            versions.range(api),
            negotiated.range(api)
        );
    }
    // (API, Kafka 4.4.0's advertised range, the common range: its max is the version used).
    // Kafka 4.x still advertises Produce and Metadata from v0 although KIP-896 removed their
    // oldest versions (kept for old clients' negotiation); our Produce starts at v3. Kafka is
    // ahead of us on ApiVersions (v5), AddPartitionsToTxn (v4-5: v4 is the brokers' batched
    // verification form) and TxnOffsetCommit (v6).
    type Row = (ApiKey, (i16, i16), (i16, i16));
    let pinned: &[Row] = &[
        (ApiKey::PRODUCE, (0, 13), (3, 13)),
        (ApiKey::METADATA, (0, 13), (0, 13)),
        (ApiKey::FIND_COORDINATOR, (0, 6), (0, 6)),
        (ApiKey::SASL_HANDSHAKE, (0, 1), (0, 1)),
        (ApiKey::API_VERSIONS, (0, 5), (0, 4)),
        (ApiKey::CREATE_TOPICS, (2, 7), (2, 7)),
        (ApiKey::INIT_PRODUCER_ID, (0, 5), (0, 5)),
        (ApiKey::ADD_PARTITIONS_TO_TXN, (0, 5), (0, 3)),
        (ApiKey::ADD_OFFSETS_TO_TXN, (0, 4), (0, 4)),
        (ApiKey::END_TXN, (0, 5), (0, 5)),
        (ApiKey::TXN_OFFSET_COMMIT, (0, 6), (0, 5)),
        (ApiKey::SASL_AUTHENTICATE, (0, 2), (0, 2)),
    ];
    let got: Vec<Row> = SUPPORTED_APIS
        .iter()
        .map(|&(api, _, _)| {
            (
                api,
                versions
                    .range(api)
                    .expect("Kafka 4.4 lists every API we implement"),
                negotiated.range(api).expect("a common version"),
            )
        })
        .collect();
    assert_eq!(got, pinned);
}
