//! Call actions (blind and attended transfer, recording pause, desk-phone callback click-to-call). Actions are published to the
//! Stasis worker over Redis (`callbase_telephony::commands`), so any replica can take the request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::dial::Routed;
use callbase_telephony::call::Command;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyUser;
use crate::json::ApiJson;
use crate::AppState;

async fn publish(st: &AppState, cmd: &Command) -> ApiResult<()> {
    Ok(callbase_telephony::commands::send(&st.redis, cmd).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferBody {
    /// An extension, a number (the dial rules apply), or a CRM client's phone field
    /// (`crm<record>x<field>`, for users who see numbers masked).
    pub target: String,
}

/// The target as a number or extension: a CRM client's phone field (`crm<record>x<field>`) is
/// resolved inside the tenant (404 when there is no such record or field).
async fn resolve_target(st: &AppState, cu: &CurrentUser, target: String) -> ApiResult<String> {
    let Some(r) = callbase_crm::ClientRef::parse(&target) else { return Ok(target) };
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let n = callbase_crm::repo::phones::phone_of(&mut tx, cu.tenant_id, r.record, r.field).await?;
    tx.commit().await?;
    n.ok_or(ApiError::NotFound)
}

/// Blind transfer of the caller's running call: they leave, the other party is connected to the
/// target.
#[utoipa::path(post, path = "/api/calls/{call_id}/transfer", tag = "phone", params(("call_id" = String, Path)), request_body = TransferBody,
    responses((status = 202), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn transfer(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(call_id): Path<Uuid>,
    ApiJson(b): ApiJson<TransferBody>,
) -> ApiResult<StatusCode> {
    let target = b.target.trim().to_string();
    if target.is_empty() || target.len() > 32 {
        return Err(ApiError::unprocessable(
            "invalid_target",
            "give an extension or a number to transfer to",
        ));
    }
    connected(&agents_call(&st, &cu, call_id).await?)?;
    let target = resolve_target(&st, &cu, target).await?;
    check_target(&st, &cu, &target).await?;
    publish(
        &st,
        &Command::Transfer { call_id: call_id.to_string(), tenant: cu.tenant_id, user: cu.user_id, target },
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

/// The caller's own running call: only the agent on a call acts on it; anyone else's call, or one
/// that ended, is "not found".
async fn agents_call(
    st: &AppState,
    cu: &CurrentUser,
    call_id: Uuid,
) -> ApiResult<callbase_db::calls::history::RunningCall> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let running = callbase_db::calls::history::running_call(&mut tx, cu.tenant_id, call_id).await?;
    tx.commit().await?;
    running.filter(|r| r.user_id == Some(cu.user_id.0)).ok_or(ApiError::NotFound)
}

/// The call is connected, its agent talking to the other party (not consulting, parked, ringing):
/// 409 otherwise.
fn connected(running: &callbase_db::calls::history::RunningCall) -> ApiResult<()> {
    match running.phase() {
        "talking" => Ok(()),
        "consulting" => Err(ApiError::conflict(
            "consulting",
            "you are consulting: complete the transfer or go back to the caller first",
        )),
        _ => Err(ApiError::conflict("not_connected", "the call is not connected")),
    }
}

/// A transfer target the caller may hand the call to: the dial rules accept it and, when it is a
/// colleague, that is not the caller and a phone of theirs is online (otherwise the caller keeps
/// the customer and is told why, before anything happens to the call).
async fn check_target(st: &AppState, cu: &CurrentUser, target: &str) -> ApiResult<()> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, cu.tenant_id).await?;
    let users = callbase_db::telephony::list_users(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    match rules.route(target, |e| users.iter().any(|u| u.extension == e)) {
        Ok(Routed::Internal { extension }) => {
            let Some(u) = users.iter().find(|u| u.extension == extension && !u.disabled) else {
                return Err(ApiError::unprocessable(
                    "unknown_extension",
                    format!("nobody has extension {extension}"),
                ));
            };
            if u.user_id == cu.user_id {
                return Err(ApiError::unprocessable("own_extension", "that is your own extension"));
            }
            let on =
                crate::routes::telephony::node(st, cu.tenant_id).await?.pbx().online(cu.tenant_id, u).await;
            if !on.rings(u) {
                return Err(ApiError::conflict(
                    "colleague_offline",
                    format!("{} has no phone online: the caller stays with you", u.name),
                ));
            }
            Ok(())
        }
        Ok(Routed::External { .. }) => Ok(()),
        Err(refusal) => Err(ApiError::unprocessable(refusal.code(), refusal.to_string())),
    }
}

/// Attended transfer (issue #18): the other party waits on hold (music) while the caller consults
/// the target, a colleague (who must have a phone online) or a number (dial rules and fraud limits
/// apply). The phone follows it on `/events`: `consulting`, `consulted`, or `consult_ended` with
/// the reason when it is not answered.
#[utoipa::path(post, path = "/api/calls/{call_id}/consult", tag = "phone", params(("call_id" = String, Path)), request_body = TransferBody,
    responses((status = 202), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn consult(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(call_id): Path<Uuid>,
    ApiJson(b): ApiJson<TransferBody>,
) -> ApiResult<StatusCode> {
    let target = b.target.trim().to_string();
    if target.is_empty() || target.len() > 32 {
        return Err(ApiError::unprocessable("invalid_target", "give an extension or a number to consult"));
    }
    let running = agents_call(&st, &cu, call_id).await?;
    if running.phase() == "consulting" {
        return Err(ApiError::conflict("consulting", "you are consulting already"));
    }
    connected(&running)?;
    let target = resolve_target(&st, &cu, target).await?;
    check_target(&st, &cu, &target).await?;
    let cmd =
        Command::Consult { call_id: call_id.to_string(), tenant: cu.tenant_id, user: cu.user_id, target };
    publish(&st, &cmd).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsultEndBody {
    /// true: complete the transfer (the other party and the consulted party talk, the caller
    /// leaves); false: back to the other party (also cancels a consultation still ringing).
    pub complete: bool,
}

/// Ends the caller's consultation: back to the other party, or completes the transfer (only once
/// the consulted party answered: 409 `not_answered` before).
#[utoipa::path(post, path = "/api/calls/{call_id}/consult/end", tag = "phone", params(("call_id" = String, Path)), request_body = ConsultEndBody,
    responses((status = 202), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn end_consult(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(call_id): Path<Uuid>,
    ApiJson(b): ApiJson<ConsultEndBody>,
) -> ApiResult<StatusCode> {
    let running = agents_call(&st, &cu, call_id).await?;
    if running.phase() != "consulting" {
        return Err(ApiError::conflict("not_consulting", "you are not consulting anyone on this call"));
    }
    if b.complete && running.consult_channel.is_none() {
        return Err(ApiError::conflict(
            "not_answered",
            "the consulted party has not answered yet: wait, or go back to the caller",
        ));
    }
    let cmd = Command::ConsultEnd {
        call_id: call_id.to_string(),
        tenant: cu.tenant_id,
        user: cu.user_id,
        complete: b.complete,
    };
    publish(&st, &cmd).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PauseBody {
    /// true: pause (the recording records silence); false: resume.
    pub paused: bool,
}

/// Pauses or resumes the recording of the caller's running call (issue #18), where the tenant
/// allows it: while the caller gives a card number, say. The stored file has silence where the
/// pause was.
#[utoipa::path(put, path = "/api/calls/{call_id}/recording/paused", tag = "phone", params(("call_id" = String, Path)), request_body = PauseBody,
    responses((status = 202), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn pause_recording(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(call_id): Path<Uuid>,
    ApiJson(b): ApiJson<PauseBody>,
) -> ApiResult<StatusCode> {
    // While the agent consults, the recording (of the customer's side) may be paused too.
    if !matches!(agents_call(&st, &cu, call_id).await?.phase(), "talking" | "consulting") {
        return Err(ApiError::conflict("not_connected", "the call is not connected"));
    }
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let allowed = callbase_db::calls::settings::get(&mut tx, cu.tenant_id).await?.recording_pause_allowed;
    tx.commit().await?;
    if !allowed {
        return Err(ApiError::conflict(
            "pause_not_allowed",
            "your administrator does not allow pausing recordings",
        ));
    }
    let cmd = Command::PauseRecording {
        call_id: call_id.to_string(),
        tenant: cu.tenant_id,
        user: cu.user_id,
        paused: b.paused,
    };
    publish(&st, &cmd).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ParkBody {
    /// The slot (1–20) to park in; taken or not given: the next free one.
    #[serde(default)]
    pub slot: Option<i16>,
}

/// Parks the caller's connected call (issue #18): the other party waits with music on hold in a
/// slot of the tenant and the caller's leg ends; any agent picks it up by dialling `*8<slot>`; not
/// picked up within the tenant's park timeout, it rings the caller back. Every phone hears of it
/// (`parking` events; `GET /api/telephony/parked`).
#[utoipa::path(post, path = "/api/calls/{call_id}/park", tag = "phone", params(("call_id" = String, Path)), request_body = ParkBody,
    responses((status = 202), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn park(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(call_id): Path<Uuid>,
    ApiJson(b): ApiJson<ParkBody>,
) -> ApiResult<StatusCode> {
    let slots = callbase_db::calls::parking::SLOTS;
    if b.slot.is_some_and(|s| !(1..=slots).contains(&s)) {
        return Err(ApiError::unprocessable("invalid_slot", format!("a parking slot is 1 to {slots}")));
    }
    connected(&agents_call(&st, &cu, call_id).await?)?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let parked = callbase_db::calls::parking::list(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    if parked.len() >= slots as usize {
        return Err(ApiError::conflict("no_free_slot", "every parking slot is taken"));
    }
    let cmd =
        Command::Park { call_id: call_id.to_string(), tenant: cu.tenant_id, user: cu.user_id, slot: b.slot };
    publish(&st, &cmd).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallbackBody {
    /// The number to call; or
    #[serde(default)]
    pub number: String,
    /// a CRM record's phone field (click-to-call by reference, for users who see numbers masked).
    pub record_id: Option<i64>,
    pub field_id: Option<i64>,
    /// or a speed dial entry of one of the caller's groups (issue #18).
    pub speed_dial_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackStarted {
    pub call_id: String,
}

/// Click-to-call for desk-phone users: the agent's own phone rings first, then the number is
/// dialled through the first trunk. The dial rules apply before anything rings.
#[utoipa::path(post, path = "/api/calls/callback", tag = "phone", request_body = CallbackBody,
    responses((status = 202, body = CallbackStarted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn callback(
    State(st): State<AppState>,
    TelephonyUser { user: cu, .. }: TelephonyUser,
    ApiJson(b): ApiJson<CallbackBody>,
) -> ApiResult<(StatusCode, Json<CallbackStarted>)> {
    let call_id = Uuid::new_v4().to_string();
    let target = callback_target(&st, cu.tenant_id, cu.user_id, &b).await?;
    start_callback(&st, cu.tenant_id, cu.user_id, &call_id, target).await?;
    Ok((StatusCode::ACCEPTED, Json(CallbackStarted { call_id })))
}

/// What a click-to-call dials for `user` (the number, a CRM reference, the user's speed dial),
/// checked against the dial rules before anything rings: 404 for an unknown reference, 422 with
/// the dial rules' refusal.
pub(crate) async fn callback_target(
    st: &AppState,
    tenant: callbase_core::TenantId,
    user: callbase_core::UserId,
    b: &CallbackBody,
) -> ApiResult<String> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let users = callbase_db::telephony::list_users(&mut tx, tenant).await?;
    tx.commit().await?;
    let (number, target) = match (b.record_id, b.field_id, b.speed_dial_id) {
        (_, _, Some(id)) => {
            let mut tx = st.db.tenant_tx(tenant).await?;
            let n = callbase_db::speed_dials::number_for(&mut tx, tenant, user, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            tx.commit().await?;
            (n, format!("sd{id}"))
        }
        (Some(r), Some(f), None) => {
            let mut tx = st.db.tenant_tx(tenant).await?;
            let (r, f) = (callbase_core::RecordId(r), callbase_core::FieldId(f));
            let n = callbase_crm::repo::phones::phone_of(&mut tx, tenant, r, f)
                .await?
                .ok_or(ApiError::NotFound)?;
            tx.commit().await?;
            (n, callbase_crm::ClientRef::new(r, f).to_string())
        }
        _ => (b.number.trim().to_string(), b.number.trim().to_string()),
    };
    match rules.route(&number, |e| users.iter().any(|u| u.extension == e)) {
        Ok(Routed::Internal { .. } | Routed::External { .. }) => Ok(target),
        Err(refusal) => Err(ApiError::unprocessable(refusal.code(), refusal.to_string())),
    }
}

/// Rings `user`'s phone, then dials `target` (from [`callback_target`]) as the call `call_id`.
pub(crate) async fn start_callback(
    st: &AppState,
    tenant: callbase_core::TenantId,
    user: callbase_core::UserId,
    call_id: &str,
    target: String,
) -> ApiResult<()> {
    publish(st, &Command::Callback { call_id: call_id.to_string(), tenant, user, number: target }).await
}
