//! Listen, whisper, barge from the presence board (issue #18), and the administrators' audit of
//! every supervision. The supervisor's own phone rings; the Stasis worker running the call joins
//! them (`callbase_telephony::call::supervise`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_db::supervisions::{self as repo, Mode};
use callbase_telephony::call::Command;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Supervisor, TelephonyOn};
use crate::json::ApiJson;
use crate::routes::telephony::AdminUser;
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuperviseBody {
    pub mode: Mode,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupervisionStarted {
    /// The supervision's id (its row in the audit).
    pub id: i64,
}

/// Joins the agent's side of a connected call: the supervisor's phone rings, and once answered
/// they listen (hear both sides), whisper (only the agent hears them) or barge in (three-way).
#[utoipa::path(post, path = "/api/telephony/board/calls/{call_id}/supervise", tag = "telephony",
    params(("call_id" = String, Path)), request_body = SuperviseBody,
    responses((status = 202, body = SupervisionStarted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn supervise(
    State(st): State<AppState>,
    Supervisor(cu): Supervisor,
    _on: TelephonyOn,
    Path(call_id): Path<Uuid>,
    ApiJson(b): ApiJson<SuperviseBody>,
) -> ApiResult<(StatusCode, Json<SupervisionStarted>)> {
    let tenant = cu.tenant_id;
    let mut tx = st.db.tenant_tx(tenant).await?;
    // Another tenant's call, or one that ended, is "not found".
    let (agent, connected) = repo::call_state(&mut tx, tenant, call_id).await?.ok_or(ApiError::NotFound)?;
    let Some(agent) = agent.filter(|_| connected).map(callbase_core::UserId) else {
        return Err(ApiError::conflict("not_connected", "the call is not connected to an agent yet"));
    };
    if agent == cu.user_id {
        return Err(ApiError::conflict("own_call", "this is your own call"));
    }
    if repo::is_private(&mut tx, tenant, agent).await? {
        return Err(ApiError::forbidden_code(
            "private_agent",
            "the agent is in a private group: their calls cannot be listened to",
        ));
    }
    let users = callbase_db::telephony::list_users(&mut tx, tenant).await?;
    if !users.iter().any(|u| u.user_id == cu.user_id && !u.disabled) {
        return Err(ApiError::conflict(
            "no_phone",
            "you are not a telephony user: supervising rings your own phone",
        ));
    }
    if repo::supervising(&mut tx, call_id, cu.user_id).await? {
        return Err(ApiError::conflict("already_supervising", "you are already joining this call"));
    }
    let id = repo::insert(&mut tx, tenant, call_id, cu.user_id, agent, b.mode).await?;
    tx.commit().await?;
    let cmd = Command::Supervise {
        call_id: call_id.to_string(),
        tenant,
        supervision: id,
        supervisor: cu.user_id,
        mode: b.mode,
    };
    if let Err(e) = callbase_telephony::commands::send(&st.redis, &cmd).await {
        // Nothing will ring: the audit says so.
        let mut tx = st.db.tenant_tx(tenant).await?;
        repo::ended(&mut tx, id, "call service unavailable", time::OffsetDateTime::now_utc()).await?;
        tx.commit().await?;
        return Err(e.into());
    }
    tracing::info!(supervision = id, call.id = %call_id, mode = b.mode.as_str(), "supervision requested");
    Ok((StatusCode::ACCEPTED, Json(SupervisionStarted { id })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupervisionEntry {
    pub id: i64,
    pub call_id: String,
    pub supervisor_id: i64,
    pub supervisor_name: Option<String>,
    pub agent_id: i64,
    pub agent_name: Option<String>,
    pub mode: String,
    /// RFC 3339.
    pub requested_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    /// Seconds the supervisor was on the call (answer to end).
    pub duration_secs: Option<i64>,
    /// How it ended (`supervisor hung up`, `call ended`, `no answer`, `no phone`, `agent left`, …);
    /// none while it lasts.
    pub result: Option<String>,
}

/// Who listened to whom, when and for how long: the latest 200 supervisions (administrators).
#[utoipa::path(get, path = "/api/telephony/supervisions", tag = "telephony",
    responses((status = 200, body = [SupervisionEntry]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
) -> ApiResult<Json<Vec<SupervisionEntry>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = repo::latest(&mut tx, a.tenant_id, 200).await?;
    let names = callbase_db::accounts::user_names(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    let t = |v: time::OffsetDateTime| v.format(&Rfc3339).unwrap_or_default();
    Ok(Json(
        rows.into_iter()
            .map(|r| SupervisionEntry {
                id: r.id,
                call_id: r.call_id.to_string(),
                supervisor_id: r.supervisor_id,
                supervisor_name: names.get(&r.supervisor_id).cloned(),
                agent_id: r.agent_id,
                agent_name: names.get(&r.agent_id).cloned(),
                mode: r.mode,
                requested_at: t(r.requested_at),
                answered_at: r.answered_at.map(t),
                ended_at: r.ended_at.map(t),
                duration_secs: r.answered_at.map(|a| {
                    (r.ended_at.unwrap_or_else(time::OffsetDateTime::now_utc) - a).whole_seconds().max(0)
                }),
                result: r.result,
            })
            .collect(),
    ))
}
