//! Preflight (issue #22, item 5): the agent's phone calls the platform echo (`*43`) before a shift
//! and stores what it measured (`POST /api/phone/preflight`); administrators read the last result
//! of each agent (`GET /api/telephony/preflight`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use callbase_db::preflight::{self, Preflight, PreflightRow, VERDICTS};

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{not_telephony_user, TelephonyOn, TelephonyUser};
use crate::json::ApiJson;
use crate::AppState;

fn check(p: &Preflight) -> ApiResult<()> {
    let bad = |field: &str, what: &str| {
        Err(ApiError::unprocessable("invalid_preflight", format!("{field}: {what}")))
    };
    let in_range = crate::json::figure_in;
    if !in_range(p.rtt_ms, 0.0, 60_000.0) {
        return bad("rtt_ms", "milliseconds, 0 to 60000");
    }
    if !in_range(p.loss_pct, 0.0, 100.0) {
        return bad("loss_pct", "a share of packets, 0 to 100");
    }
    if !in_range(p.jitter_ms, 0.0, 60_000.0) {
        return bad("jitter_ms", "milliseconds, 0 to 60000");
    }
    if !in_range(p.mos, 1.0, 5.0) {
        return bad("mos", "an estimated MOS is between 1 and 5");
    }
    if !VERDICTS.contains(&p.verdict.as_str()) {
        return bad("verdict", "one of good, fair, poor, no_audio");
    }
    if p.verdict == "no_audio" && p.audio_back {
        return bad("verdict", "no_audio with audio_back true");
    }
    if p.browser.as_ref().is_some_and(|b| b.chars().count() > 200) {
        return bad("browser", "at most 200 characters");
    }
    Ok(())
}

/// Stores the signed-in telephony user's preflight result (replacing their previous one).
#[utoipa::path(post, path = "/api/phone/preflight", tag = "phone", request_body = Preflight,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save(
    State(st): State<AppState>,
    TelephonyUser { user: cu, .. }: TelephonyUser,
    ApiJson(p): ApiJson<Preflight>,
) -> ApiResult<StatusCode> {
    check(&p)?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    if !preflight::save(&mut tx, cu.tenant_id, cu.user_id, &p).await? {
        return Err(not_telephony_user());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The last preflight result of each agent of the tenant (administrators and sub-administrators).
#[utoipa::path(get, path = "/api/telephony/preflight", tag = "telephony",
    responses((status = 200, body = [PreflightRow]), (status = 409, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<PreflightRow>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = preflight::list(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(rows))
}
