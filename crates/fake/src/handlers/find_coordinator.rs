//! FindCoordinator (key 10), v0–6 (v4+ batch several keys).
//!
//! Groups (key type 0) and transactional ids (key type 1) both map to a broker by a stable
//! hash of the key over the brokers that are up, unless [`crate::Cluster::move_coordinator`]
//! pinned it; COORDINATOR_NOT_AVAILABLE when no broker is up (or the pinned one is down). An
//! injected error answers every key with it.

use ferrokafka_wire::messages::find_coordinator::Coordinator;
use ferrokafka_wire::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &FindCoordinatorRequest,
    error: Option<ErrorCode>,
) -> FindCoordinatorResponse {
    let lookup = |key: &str| -> Coordinator {
        let found = cluster
            .coordinator_for(key)
            .and_then(|id| cluster.brokers.get(&id).map(|b| (id, b)));
        match (error, found) {
            (None, Some((id, b))) => Coordinator {
                key: key.to_owned(),
                node_id: id,
                host: b.host.clone(),
                port: b.port,
                ..Coordinator::default()
            },
            (e, _) => Coordinator {
                key: key.to_owned(),
                node_id: -1,
                host: String::new(),
                port: -1,
                error_code: e.unwrap_or(ErrorCode::COORDINATOR_NOT_AVAILABLE).0,
                error_message: Some("the coordinator is not available".into()),
                ..Coordinator::default()
            },
        }
    };
    let throttle_time_ms = cluster.throttle_ms(ApiKey::FIND_COORDINATOR);
    if ctx.version >= 4 {
        return FindCoordinatorResponse {
            throttle_time_ms,
            coordinators: req.coordinator_keys.iter().map(|k| lookup(k)).collect(),
            ..FindCoordinatorResponse::default()
        };
    }
    let c = lookup(&req.key);
    FindCoordinatorResponse {
        throttle_time_ms,
        error_code: c.error_code,
        error_message: c.error_message,
        node_id: c.node_id,
        host: c.host,
        port: c.port,
        ..FindCoordinatorResponse::default()
    }
}
