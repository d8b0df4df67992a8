//! Agent states (issue #18): the agent's own state (set in the phone), every agent's state for
//! administrators, and the tenant's settings (break reasons, wrap-up maximum, missed calls before a
//! break). Wrap-up is the server's: it starts when a call the agent talked in ends and ends when the
//! agent closes the call card, presses Ready (sets `available`) or its maximum passes.

use axum::extract::State;
use axum::Json;
use callbase_db::agent_states::{self as repo, AgentSettings, AgentState, MISSED_CALLS_REASON};
use callbase_telephony::agent_states::publish;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{TelephonyOn, TelephonyUser};
use crate::json::ApiJson;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStateOut {
    pub user_id: callbase_core::UserId,
    /// `available`, `break`, `dnd` or `wrapup`.
    pub state: String,
    /// A break's reason (one of the tenant's, or "missed calls" when the server set it).
    pub reason: Option<String>,
    /// RFC 3339: since when.
    pub since: String,
    /// RFC 3339: when a wrap-up ends by itself.
    pub wrapup_until: Option<String>,
}

fn out(s: AgentState) -> AgentStateOut {
    AgentStateOut {
        user_id: s.user_id,
        state: s.state,
        reason: s.reason,
        since: s.since.format(&Rfc3339).unwrap_or_default(),
        wrapup_until: s.wrapup_until.and_then(|u| u.format(&Rfc3339).ok()),
    }
}

/// The caller's own agent state.
#[utoipa::path(get, path = "/api/telephony/me/state", tag = "telephony",
    responses((status = 200, body = AgentStateOut), (status = 403, body = ErrorBody)))]
pub async fn get_mine(State(st): State<AppState>, me: TelephonyUser) -> ApiResult<Json<AgentStateOut>> {
    let cu = me.user;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let s = repo::get(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(Json(out(s)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetState {
    /// `available` (also "Ready": ends a wrap-up), `break` or `dnd`.
    pub state: String,
    /// A break's reason: one of the tenant's break reasons.
    pub reason: Option<String>,
}

/// Sets the caller's own agent state.
#[utoipa::path(put, path = "/api/telephony/me/state", tag = "telephony", request_body = SetState,
    responses((status = 200, body = AgentStateOut), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_mine(
    State(st): State<AppState>,
    me: TelephonyUser,
    ApiJson(b): ApiJson<SetState>,
) -> ApiResult<Json<AgentStateOut>> {
    let cu = me.user;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let reason = match b.state.as_str() {
        "available" | "dnd" => None,
        "break" => {
            let settings = repo::settings(&mut tx, cu.tenant_id).await?;
            let r = b.reason.as_deref().map(str::trim).unwrap_or_default();
            if !settings.break_reasons.iter().any(|x| x == r) {
                return Err(ApiError::unprocessable(
                    "invalid_break_reason",
                    format!(
                        "a break needs one of the account's reasons: {}",
                        settings.break_reasons.join(", ")
                    ),
                ));
            }
            Some(r.to_string())
        }
        "wrapup" => {
            return Err(ApiError::unprocessable(
                "invalid_state",
                "wrap-up starts by itself after a call; choose available, break or dnd",
            ))
        }
        other => {
            return Err(ApiError::unprocessable(
                "invalid_state",
                format!("'{other}' is not a state: choose available, break or dnd"),
            ))
        }
    };
    if !repo::set(&mut tx, cu.tenant_id, cu.user_id, &b.state, reason.as_deref(), None).await? {
        return Err(ApiError::NotFound);
    }
    let s = repo::get(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    publish(&st.redis, cu.tenant_id, &s).await;
    Ok(Json(out(s)))
}

/// Every telephony user's agent state (administrators and sub-administrators).
#[utoipa::path(get, path = "/api/telephony/states", tag = "telephony",
    responses((status = 200, body = [AgentStateOut]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<AgentStateOut>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let all = repo::list(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(all.into_iter().map(out).collect()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentStateSettings {
    /// The reasons agents pick for a break (1–20, each 1–40 characters, no duplicates).
    pub break_reasons: Vec<String>,
    /// The longest wrap-up after a call, in seconds (0 = no wrap-up; at most 3600).
    pub wrapup_max_secs: i32,
    /// After this many inbound calls rung out in a row an agent goes to Break "missed calls"
    /// (0 = never; at most 20).
    pub missed_to_break: i32,
}

impl From<AgentSettings> for AgentStateSettings {
    fn from(s: AgentSettings) -> Self {
        AgentStateSettings {
            break_reasons: s.break_reasons,
            wrapup_max_secs: s.wrapup_max_secs,
            missed_to_break: s.missed_to_break,
        }
    }
}

/// The tenant's agent-state settings.
#[utoipa::path(get, path = "/api/telephony/agent-settings", tag = "telephony",
    responses((status = 200, body = AgentStateSettings), (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    State(st): State<AppState>,
    cu: crate::auth::CurrentUser,
    _on: TelephonyOn,
) -> ApiResult<Json<AgentStateSettings>> {
    // Every user reads them (the phone lists the break reasons).
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let s = repo::settings(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(s.into()))
}

#[utoipa::path(put, path = "/api/telephony/agent-settings", tag = "telephony", request_body = AgentStateSettings,
    responses((status = 200, body = AgentStateSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<AgentStateSettings>,
) -> ApiResult<Json<AgentStateSettings>> {
    let mut reasons: Vec<String> = vec![];
    for r in &b.break_reasons {
        let r = r.trim();
        let n = r.chars().count();
        if n == 0 || n > 40 {
            return Err(ApiError::unprocessable(
                "invalid_break_reason",
                "a break reason is 1 to 40 characters",
            ));
        }
        if r.eq_ignore_ascii_case(MISSED_CALLS_REASON) {
            return Err(ApiError::unprocessable(
                "invalid_break_reason",
                "\"missed calls\" is the server's own reason for a break",
            ));
        }
        if reasons.iter().any(|x| x.to_lowercase() == r.to_lowercase()) {
            return Err(ApiError::unprocessable("invalid_break_reason", format!("'{r}' is listed twice")));
        }
        reasons.push(r.to_string());
    }
    if reasons.is_empty() || reasons.len() > 20 {
        return Err(ApiError::unprocessable("invalid_break_reason", "list 1 to 20 break reasons"));
    }
    if !(0..=3600).contains(&b.wrapup_max_secs) {
        return Err(ApiError::unprocessable(
            "invalid_wrapup_max",
            "the wrap-up maximum is 0 to 3600 seconds",
        ));
    }
    if !(0..=20).contains(&b.missed_to_break) {
        return Err(ApiError::unprocessable(
            "invalid_missed_to_break",
            "missed calls before a break: 0 to 20",
        ));
    }
    let s = AgentSettings {
        break_reasons: reasons,
        wrapup_max_secs: b.wrapup_max_secs,
        missed_to_break: b.missed_to_break,
    };
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::set_settings(&mut tx, a.tenant_id, &s).await?;
    tx.commit().await?;
    Ok(Json(s.into()))
}
