//! The security audit log: every security-relevant change (trunks, users and roles, telephony on/off,
//! masking, retention, legal hold, fraud limits) with who, when, from where, before → after.
//! Written by the routes that make the changes ([`record`]); read-only for administrators.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use callbase_core::{Role, TenantId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{ClientIp, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiQuery;
use crate::AppState;

/// Who is making a change, and from where: taken with the request (`CurrentUser` + `ClientIp`).
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: TenantId,
    pub user_id: UserId,
    pub login: String,
    pub ip: String,
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let cu = CurrentUser::from_request_parts(parts, st).await?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, st).await?;
        Ok(Actor {
            tenant: cu.tenant_id,
            user_id: cu.user_id,
            login: cu.user.login.clone(),
            ip: ip.to_string(),
        })
    }
}

/// Records one change (after it took effect). A failure to record is logged, not hidden.
pub async fn record(
    st: &AppState,
    who: &Actor,
    action: &str,
    target: impl AsRef<str>,
    before: Option<Value>,
    after: Option<Value>,
) -> ApiResult<()> {
    let mut tx = st.db.tenant_tx(who.tenant).await?;
    let e = callbase_db::audit::NewEntry {
        actor_id: Some(who.user_id),
        actor_login: Some(&who.login),
        ip: Some(who.ip.clone()),
        action,
        target: target.as_ref(),
        before,
        after,
    };
    if let Err(err) = callbase_db::audit::insert(&mut tx, who.tenant, &e).await {
        tracing::error!(error = %err, action, "security audit entry not recorded");
        return Err(err.into());
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityAuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_login: Option<String>,
    pub ip: Option<String>,
    /// `area.verb`: `trunk.create`, `user.disable`, `telephony.off`…
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecurityAuditQuery {
    /// Entries older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// The tenant's security audit log, newest first (administrators only).
#[utoipa::path(get, path = "/api/security/audit", tag = "security", params(SecurityAuditQuery), responses(
    (status = 200, body = [SecurityAuditEntry]), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(q): ApiQuery<SecurityAuditQuery>,
) -> ApiResult<Json<Vec<SecurityAuditEntry>>> {
    if cu.role != Role::Administrator {
        return Err(ApiError::Forbidden);
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::unprocessable("invalid_limit", "limit must be 1–200"));
    }
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let rows = callbase_db::audit::list(&mut tx, cu.tenant_id, q.before_id, limit).await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SecurityAuditEntry {
                id: r.id,
                at: r.at,
                actor_id: r.actor_id,
                actor_login: r.actor_login,
                ip: r.ip,
                action: r.action,
                target: r.target,
                before: r.before,
                after: r.after,
            })
            .collect(),
    ))
}
