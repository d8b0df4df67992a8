//! The platform operator's API (`/platform/…`), the same as `callbase node list|state|move`: for
//! an operator's tooling, never for tenants. It answers only to `Authorization: Bearer
//! <http.platform_token>`; without a configured token it is not served (404). It lives outside
//! `/api` (no session, no CSRF: a bearer token is not sent by browsers on their own) and outside
//! the tenants' OpenAPI document, like `/metrics`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use callbase_core::TenantId;
use callbase_db::nodes::{Gone, NodeLoad};
use callbase_telephony::failover::{self, MoveError};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::AppState;

/// Checks the operator's bearer token (constant time).
fn operator(st: &AppState, headers: &HeaderMap) -> ApiResult<callbase_db::Pool> {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let Some(token) = st.cfg.http.platform_token.as_ref().filter(|t| !t.expose_secret().is_empty()) else {
        return Err(ApiError::NotFound);
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(sent.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
        return Err(ApiError::Unauthenticated);
    }
    // Moves and states are cross-tenant writes: the worker's pool.
    st.db.lookup().cloned().ok_or_else(|| ApiError::Unavailable {
        code: "worker_pool_missing",
        message: "database.worker_url is not set on this server".into(),
    })
}

/// Every node with its load.
pub async fn nodes(State(st): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Vec<NodeLoad>>> {
    let pool = operator(&st, &headers)?;
    Ok(Json(callbase_db::nodes::loads(&pool).await?))
}

#[derive(Debug, Deserialize)]
pub struct StateBody {
    pub state: String,
}

/// Sets a node's state: `live`, `draining`, `down`, or `gone` (it will not come back: the
/// recordings still on it are marked lost and its open call records closed; refused with 409
/// `node_has_tenants` while tenants are on it).
pub async fn set_state(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StateBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let pool = operator(&st, &headers)?;
    if b.state == "gone" {
        return match callbase_db::nodes::declare_gone(&pool, &id).await? {
            Gone::NoNode => Err(ApiError::NotFound),
            Gone::HasTenants(n) => Err(ApiError::conflict(
                "node_has_tenants",
                format!("{n} tenants are still on the node: move them first"),
            )),
            Gone::Done { recordings_lost, calls_closed } => {
                tracing::warn!(node = %id, recordings_lost, calls_closed, "node declared gone by the platform API");
                Ok(Json(serde_json::json!({"id": id, "state": "gone", "recordings_lost": recordings_lost,
                    "calls_closed": calls_closed})))
            }
        };
    }
    if !["live", "draining", "down"].contains(&b.state.as_str()) {
        return Err(ApiError::unprocessable("invalid_state", "state is live, draining, down or gone"));
    }
    if !callbase_db::nodes::set_state(&pool, &id, &b.state).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(node = %id, state = %b.state, "node state set by the platform API");
    Ok(Json(serde_json::json!({"id": id, "state": b.state})))
}

#[derive(Debug, Deserialize)]
pub struct MoveBody {
    pub node: String,
}

#[derive(Debug, Serialize)]
pub struct Moved {
    pub tenant: TenantId,
    pub from: Option<String>,
    pub to: String,
}

/// Moves a tenant to a node (see `callbase_telephony::failover::move_tenant`).
pub async fn move_tenant(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tenant): Path<i64>,
    ApiJson(b): ApiJson<MoveBody>,
) -> ApiResult<Json<Moved>> {
    let pool = operator(&st, &headers)?;
    let tenant = TenantId(tenant);
    let from = failover::move_tenant(&st.nodes, &pool, tenant, &b.node).await.map_err(|e| match e {
        MoveError::NoTenant => ApiError::NotFound,
        MoveError::NodeGone => ApiError::unprocessable("node_gone", "the node is gone: it takes no tenant"),
        MoveError::Node(callbase_telephony::nodes::NodeError::Unknown(_)) => {
            ApiError::unprocessable("unknown_node", "no such node in the registry")
        }
        MoveError::Node(e) => e.into(),
    })?;
    Ok(Json(Moved { tenant, from, to: b.node }))
}
