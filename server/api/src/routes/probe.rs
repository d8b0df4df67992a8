//! The call-path health probe as the tenant's administrators see it: the probe number (the
//! carrier's echo number their trunk path is called on), the results of the last hours for the
//! chart, and the alert while the probe fails (docs/probe.md).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProbeSettings {
    /// The number the probe calls through the tenant's trunks every minute (the carrier's echo
    /// test number); none = the trunk path is not probed.
    pub probe_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProbePoint {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub ok: bool,
    /// INVITE → 200 OK (ms).
    pub setup_ms: Option<f32>,
    pub ice_ms: Option<f32>,
    pub dtls_ms: Option<f32>,
    /// Round trip of the echoed audio, median (ms).
    pub rtt_ms: Option<f32>,
    pub loss_pct: Option<f32>,
    pub jitter_ms: Option<f32>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeAlert {
    /// When the current run of failures began.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    pub failures: u32,
    pub error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeHistory {
    pub probe_number: Option<String>,
    pub points: Vec<ProbePoint>,
    /// Present while the latest probe failed.
    pub alert: Option<ProbeAlert>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Hours of history (1–168, default 24).
    pub hours: Option<i32>,
}

/// The trunk path's probe results (oldest first) and the alert, if the probe is failing.
#[utoipa::path(get, path = "/api/telephony/probe", tag = "telephony", params(HistoryQuery), responses((status = 200, body = ProbeHistory), (status = 422, body = ErrorBody)))]
pub async fn history(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<ProbeHistory>> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::unprocessable("invalid_hours", "hours is 1 to 168"));
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = callbase_db::probe::history(&mut tx, a.tenant_id, hours).await?;
    let probe_number = callbase_db::probe::probe_number(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    let points: Vec<ProbePoint> = rows
        .into_iter()
        .map(|r| ProbePoint {
            at: r.at,
            ok: r.ok,
            setup_ms: r.invite_ok_ms,
            ice_ms: r.ice_ms,
            dtls_ms: r.dtls_ms,
            rtt_ms: r.rtt_ms,
            loss_pct: r.loss_pct,
            jitter_ms: r.jitter_ms,
            error: r.error,
        })
        .collect();
    let failing: Vec<&ProbePoint> = points.iter().rev().take_while(|p| !p.ok).collect();
    let alert = failing.last().map(|first| ProbeAlert {
        since: first.at,
        failures: failing.len() as u32,
        error: failing[0].error.clone().unwrap_or_else(|| "the probe call failed".into()),
    });
    Ok(Json(ProbeHistory { probe_number, points, alert }))
}

/// Sets or clears the probe number. It must pass the tenant's dial rules (422 `invalid_probe_number`
/// with the rule's reason otherwise), and is checked again at every probe call.
#[utoipa::path(put, path = "/api/telephony/probe", tag = "telephony", request_body = ProbeSettings,
    responses((status = 200, body = ProbeSettings), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<ProbeSettings>,
) -> ApiResult<Json<ProbeSettings>> {
    let number = b.probe_number.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    if let Some(n) = &number {
        let valid =
            n.len() <= 32 && n.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'*' | b'#'));
        if !valid {
            return Err(ApiError::unprocessable(
                "invalid_probe_number",
                "the probe number is up to 32 digits, letters, +, * or #",
            ));
        }
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if let Some(n) = &number {
        // The probe dials through the trunks every minute: the dial rules apply to it as to any call.
        let rules = callbase_db::settings::dial_rules(&mut tx, a.tenant_id).await?;
        match rules.route(n, |_| false) {
            Ok(callbase_core::dial::Routed::External { .. }) => {}
            Ok(_) => {
                return Err(ApiError::unprocessable(
                    "invalid_probe_number",
                    "the probe number must be an outside number",
                ))
            }
            Err(refusal) => {
                return Err(ApiError::unprocessable(
                    "invalid_probe_number",
                    format!("the probe number is refused by the dial rules: {refusal}"),
                ))
            }
        }
    }
    callbase_db::probe::set_probe_number(&mut tx, a.tenant_id, number.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(ProbeSettings { probe_number: number }))
}
