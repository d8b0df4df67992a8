//! Call actions (blind transfer, desk-phone callback click-to-call). Actions are published to the
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
    /// An extension or a number (the dial rules apply).
    pub target: String,
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
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let running = callbase_db::calls::history::running_call_user(&mut tx, cu.tenant_id, call_id).await?;
    tx.commit().await?;
    // Only the agent on the call transfers it; anyone else's call is "not found".
    if running.flatten() != Some(cu.user_id.0) {
        return Err(ApiError::NotFound);
    }
    publish(
        &st,
        &Command::Transfer { call_id: call_id.to_string(), tenant: cu.tenant_id, user: cu.user_id, target },
    )
    .await?;
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
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let running = callbase_db::calls::history::running_call_user(&mut tx, cu.tenant_id, call_id).await?;
    // Only the agent on the call pauses its recording; anyone else's call is "not found".
    if running.flatten() != Some(cu.user_id.0) {
        return Err(ApiError::NotFound);
    }
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

#[derive(Debug, Deserialize, ToSchema)]
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
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, cu.tenant_id).await?;
    let users = callbase_db::telephony::list_users(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    let (number, target) = match (b.record_id, b.field_id, b.speed_dial_id) {
        (_, _, Some(id)) => {
            let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
            let n = callbase_db::speed_dials::number_for(&mut tx, cu.tenant_id, cu.user_id, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            tx.commit().await?;
            (n, format!("sd{id}"))
        }
        (Some(r), Some(f), None) => {
            let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
            let (r, f) = (callbase_core::RecordId(r), callbase_core::FieldId(f));
            let n = callbase_crm::repo::phones::phone_of(&mut tx, cu.tenant_id, r, f)
                .await?
                .ok_or(ApiError::NotFound)?;
            tx.commit().await?;
            (n, callbase_crm::ClientRef::new(r, f).to_string())
        }
        _ => (b.number.trim().to_string(), b.number.trim().to_string()),
    };
    match rules.route(&number, |e| users.iter().any(|u| u.extension == e)) {
        Ok(Routed::Internal { .. } | Routed::External { .. }) => {}
        Err(refusal) => return Err(ApiError::unprocessable(refusal.code(), refusal.to_string())),
    }
    let call_id = Uuid::new_v4().to_string();
    publish(
        &st,
        &Command::Callback {
            call_id: call_id.clone(),
            tenant: cu.tenant_id,
            user: cu.user_id,
            number: target,
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(CallbackStarted { call_id })))
}
