//! The blocklist (issue #19, item 6): administrators block caller numbers; a call from a blocked
//! number is rejected before it rings anyone and counted on its entry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_db::blocklist::{self as repo, Blocked};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedNumber {
    pub id: i64,
    /// E.164.
    pub number: String,
    pub note: String,
    /// RFC 3339.
    pub created_at: String,
    /// Calls refused since it was blocked.
    pub blocked_calls: i64,
    /// RFC 3339: the last refused call.
    pub last_blocked_at: Option<String>,
    /// `reject`: refused before the answer (SIP 403); `message`: the caller hears "the number you
    /// have dialed is not in service" and is hung up.
    pub action: String,
}

fn out(b: Blocked) -> BlockedNumber {
    BlockedNumber {
        id: b.id,
        number: b.number,
        note: b.note,
        created_at: b.created_at.format(&Rfc3339).unwrap_or_default(),
        blocked_calls: b.blocked_calls,
        last_blocked_at: b.last_blocked_at.and_then(|t| t.format(&Rfc3339).ok()),
        action: b.action,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BlockBody {
    /// A caller number as people write it; stored in E.164 by the tenant's dial rules.
    pub number: String,
    /// Why (at most 200 characters).
    #[serde(default)]
    pub note: String,
    /// `reject` (default) or `message`.
    #[serde(default)]
    pub action: Option<String>,
}

/// The tenant's blocked numbers, newest first (administrators).
#[utoipa::path(get, path = "/api/telephony/blocklist", tag = "telephony",
    responses((status = 200, body = [BlockedNumber]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<BlockedNumber>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let all = repo::list(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(all.into_iter().map(out).collect()))
}

/// Blocks a caller number: 422 `invalid_number` (the dial rules cannot read it as a number),
/// `invalid_note`, `invalid_block_action`; 409 `already_blocked`, `blocklist_full`.
#[utoipa::path(post, path = "/api/telephony/blocklist", tag = "telephony", request_body = BlockBody,
    responses((status = 201, body = BlockedNumber), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<BlockBody>,
) -> ApiResult<(StatusCode, Json<BlockedNumber>)> {
    let note = b.note.trim();
    if note.chars().count() > 200 || note.chars().any(char::is_control) {
        return Err(ApiError::unprocessable("invalid_note", "a note is at most 200 characters"));
    }
    let action = b.action.as_deref().unwrap_or("reject");
    if !["reject", "message"].contains(&action) {
        return Err(ApiError::unprocessable("invalid_block_action", "action: reject or message"));
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, a.tenant_id).await?;
    let Some(number) = rules.to_e164(b.number.trim()) else {
        return Err(ApiError::unprocessable(
            "invalid_number",
            format!("{} is not a phone number the dial rules can read", b.number.trim()),
        ));
    };
    if repo::count(&mut tx, a.tenant_id).await? >= repo::MAX_ENTRIES {
        return Err(ApiError::conflict(
            "blocklist_full",
            format!("at most {} numbers can be blocked", repo::MAX_ENTRIES),
        ));
    }
    let Some(row) = repo::add(&mut tx, a.tenant_id, &number, note, action, a.user_id).await? else {
        return Err(ApiError::conflict("already_blocked", format!("{number} is blocked already")));
    };
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out(row))))
}

/// Unblocks a number.
#[utoipa::path(delete, path = "/api/telephony/blocklist/{id}", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if !repo::remove(&mut tx, a.tenant_id, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
