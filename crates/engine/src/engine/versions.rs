//! Version negotiation: the ApiVersions exchange that opens every connection and the
//! request versions it settles for that connection.

use std::time::Instant;

use ferrokafka_wire::messages::{ApiVersionsResponse, SUPPORTED_APIS};
use ferrokafka_wire::negotiate::{Negotiated, NegotiationError};
use ferrokafka_wire::{ApiKey, ErrorCode};

use super::{ConnState, Engine};
use crate::event::ConnId;

/// The Produce version outside transactions v2: v12 tells the broker the producer registers
/// transactional partitions implicitly (KIP-890 part 2), which only holds once transactions v2
/// is in use (`Versions::produce_v2`, capped at 12), and v13 needs topic ids.
const PRODUCE_VERSION_CAP: i16 = 11;

#[derive(Debug, Clone)]
pub(super) struct Versions {
    pub(super) produce: Result<i16, NegotiationError>,
    pub(super) metadata: Result<i16, NegotiationError>,
    pub(super) init_producer_id: Result<i16, NegotiationError>,
    pub(super) find_coordinator: Result<i16, NegotiationError>,
    pub(super) add_partitions: Result<i16, NegotiationError>,
    pub(super) add_offsets: Result<i16, NegotiationError>,
    pub(super) end_txn: Result<i16, NegotiationError>,
    pub(super) txn_offset_commit: Result<i16, NegotiationError>,
    /// The broker finalized `transaction.version` >= 2 and has the v2 request versions
    /// (Produce 12, EndTxn 5, TxnOffsetCommit 5): KIP-890 part 2 applies.
    pub(super) transactions_v2: bool,
    pub(super) produce_v2: Result<i16, NegotiationError>,
    /// SaslAuthenticate version for KIP-368 re-authentication (0 without SASL).
    pub(super) sasl_authenticate: i16,
    pub(super) end_txn_v2: Result<i16, NegotiationError>,
    pub(super) txn_offset_commit_v2: Result<i16, NegotiationError>,
}

impl Engine {
    pub(super) fn handle_api_versions(
        &mut self,
        conn: ConnId,
        version: i16,
        resp: &ApiVersionsResponse,
        now: Instant,
    ) {
        let code = ErrorCode(resp.error_code);
        if code == ErrorCode::UNSUPPORTED_VERSION && version > 0 {
            let next = resp
                .range(ApiKey::API_VERSIONS)
                .map_or(0, |(_, max)| max.min(version - 1));
            self.send_api_versions(conn, next, now);
            return;
        }
        let Ok(negotiated) = Negotiated::new(SUPPORTED_APIS, resp) else {
            self.drop_conn(conn, now, true);
            return;
        };
        let versions = Versions {
            produce: negotiated.version_capped(ApiKey::PRODUCE, PRODUCE_VERSION_CAP),
            metadata: negotiated.version(ApiKey::METADATA),
            init_producer_id: negotiated.version(ApiKey::INIT_PRODUCER_ID),
            find_coordinator: negotiated.version(ApiKey::FIND_COORDINATOR),
            // The transactions v1 forms: AddPartitionsToTxn v4+ is the broker-to-broker form,
            // and EndTxn v5 / TxnOffsetCommit v5 belong to KIP-890 v2 (the `_v2` fields below,
            // used once `transactions_v2` decided it at InitProducerId).
            add_partitions: negotiated.version_capped(ApiKey::ADD_PARTITIONS_TO_TXN, 3),
            add_offsets: negotiated.version(ApiKey::ADD_OFFSETS_TO_TXN),
            end_txn: negotiated.version_capped(ApiKey::END_TXN, 4),
            txn_offset_commit: negotiated.version_capped(ApiKey::TXN_OFFSET_COMMIT, 4),
            transactions_v2: resp.transactions_v2()
                && negotiated.version(ApiKey::PRODUCE).is_ok_and(|v| v >= 12)
                && negotiated.version(ApiKey::END_TXN).is_ok_and(|v| v >= 5)
                && negotiated
                    .version(ApiKey::TXN_OFFSET_COMMIT)
                    .is_ok_and(|v| v >= 5),
            produce_v2: negotiated.version_capped(ApiKey::PRODUCE, 12),
            sasl_authenticate: negotiated.version(ApiKey::SASL_AUTHENTICATE).unwrap_or(0),
            end_txn_v2: negotiated.version(ApiKey::END_TXN),
            txn_offset_commit_v2: negotiated.version(ApiKey::TXN_OFFSET_COMMIT),
        };
        if let Some(c) = self.conns.get(&conn) {
            tracing::debug!(
                parent: &c.span,
                produce = ?versions.produce,
                metadata = ?versions.metadata,
                init_producer_id = ?versions.init_producer_id,
                transactions_v2 = versions.transactions_v2,
                "API versions negotiated"
            );
        }
        if self.config.sasl.is_some() {
            self.start_authentication(conn, Box::new(versions), &negotiated, now);
        } else if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Ready(Box::new(versions));
            self.connection_ready(conn);
        }
        self.dirty = true;
    }

    /// A connection can carry requests: its node's reconnect backoff starts over.
    pub(super) fn connection_ready(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get(&conn) {
            tracing::debug!(parent: &c.span, "connection ready");
        }
        if let Some(node) = self.conns.get(&conn).map(|c| c.node)
            && let Some(n) = self.nodes.get_mut(&node)
        {
            n.failures = 0;
        }
    }
}
