//! The media of a call (issue #22, one-way-audio diagnosis). While a call runs, its agent's phone
//! asks what Asterisk counts on the agent's leg and on the other party's leg
//! (`GET /api/calls/{id}/media`), compares it with the browser's own `getStats` and names the
//! silent hop. When the call ends the phone sends what it measured (`PUT …/quality`), and those
//! who see the call read it (`GET …/quality`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_db::calls::quality::{self, Quality};
use callbase_telephony::media::LegMedia;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

/// One leg's RTP as Asterisk counts it (`rx`: received by Asterisk on that leg).
#[derive(Debug, Serialize, ToSchema)]
pub struct LegView {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_lost: u64,
    pub rx_jitter_ms: f64,
    pub rtt_ms: f64,
}

impl From<LegMedia> for LegView {
    fn from(m: LegMedia) -> Self {
        LegView {
            rx_packets: m.rx_packets,
            tx_packets: m.tx_packets,
            rx_lost: m.rx_lost,
            rx_jitter_ms: m.rx_jitter_ms,
            rtt_ms: m.rtt_ms,
        }
    }
}

/// What Asterisk sees of the call's media now: the agent's leg (between the phone and Asterisk)
/// and the other party's (between Asterisk and the carrier, or the colleague's phone). A leg that
/// is not there yet, or has no RTP, is null.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallMedia {
    pub agent: Option<LegView>,
    pub other: Option<LegView>,
    /// Whether the other party is outside (a trunk leg) rather than a colleague.
    pub external: bool,
}

/// The running call's media as Asterisk counts it — only for the call's own agent.
#[utoipa::path(get, path = "/api/calls/{id}/media", tag = "phone", params(("id" = Uuid, Path)),
    responses((status = 200, body = CallMedia), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn media(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CallMedia>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let legs = quality::media_legs(&mut tx, cu.tenant_id, id).await?;
    tx.commit().await?;
    let legs = legs.filter(|l| l.user_id == Some(cu.user_id.0)).ok_or(ApiError::NotFound)?;
    let node = match &legs.node {
        Some(n) => st.nodes.by_id(n).await?,
        None => st.nodes.of_tenant(cu.tenant_id).await?,
    };
    // An outbound call's agent leg is the channel it arrived on until the call records the answer.
    let agent_ch = legs
        .agent_channel
        .clone()
        .or_else(|| (legs.direction == "outbound").then(|| legs.first_channel.clone()).flatten());
    let unavailable = |e: callbase_telephony::ari::AriError| {
        tracing::warn!(error = %e, node = node.id(), "cannot read a call's RTP counters");
        ApiError::Unavailable {
            code: "media_unavailable",
            message: "the call's node does not answer; try again".into(),
        }
    };
    let agent = match &agent_ch {
        Some(c) => callbase_telephony::media::leg(&node.ari, c).await.map_err(unavailable)?,
        None => None,
    };
    let other = match &legs.other_channel {
        Some(c) => callbase_telephony::media::leg(&node.ari, c).await.map_err(unavailable)?,
        None => None,
    };
    Ok(Json(CallMedia {
        agent: agent.map(Into::into),
        other: other.map(Into::into),
        external: legs.direction != "internal",
    }))
}

/// The problems a phone may name (`Quality.problems`).
pub const PROBLEMS: &[&str] = &[
    "mic_silent",
    "browser_to_server",
    "server_to_other",
    "other_to_server",
    "other_silent",
    "server_to_browser",
    "poor_quality",
];

fn check(q: &Quality) -> ApiResult<()> {
    let bad =
        |field: &str, what: &str| Err(ApiError::unprocessable("invalid_quality", format!("{field}: {what}")));
    let in_range = crate::json::figure_in;
    if !in_range(q.mos_min, 1.0, 5.0) || !in_range(q.mos_avg, 1.0, 5.0) {
        return bad("mos", "an estimated MOS is between 1 and 5");
    }
    if !in_range(q.loss_pct, 0.0, 100.0) {
        return bad("loss_pct", "a share of packets, 0 to 100");
    }
    if !in_range(q.jitter_ms, 0.0, 60_000.0) || !in_range(q.rtt_ms, 0.0, 60_000.0) {
        return bad("jitter_ms/rtt_ms", "milliseconds, 0 to 60000");
    }
    if q.problems.len() > 16 {
        return bad("problems", "at most 16");
    }
    if let Some(p) = q.problems.iter().find(|p| !PROBLEMS.contains(&p.as_str())) {
        return bad("problems", &format!("unknown problem '{p}'"));
    }
    if q.browser.as_ref().is_some_and(|b| b.chars().count() > 200) {
        return bad("browser", "at most 200 characters");
    }
    Ok(())
}

/// The phone's summary of a call's media, sent by the call's agent when it ends (again replaces).
#[utoipa::path(put, path = "/api/calls/{id}/quality", tag = "phone", params(("id" = Uuid, Path)), request_body = Quality,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_quality(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(mut q): ApiJson<Quality>,
) -> ApiResult<StatusCode> {
    check(&q)?;
    q.problems.sort();
    q.problems.dedup();
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    if !quality::save(&mut tx, cu.tenant_id, id, cu.user_id, &q).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A call's media summary as its agent's phone measured it: for whoever sees the call.
#[utoipa::path(get, path = "/api/calls/{id}/quality", tag = "calls", params(("id" = Uuid, Path)),
    responses((status = 200, body = Quality), (status = 404, body = ErrorBody)))]
pub async fn get_quality(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Quality>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = super::viewer(&mut tx, &cu).await?;
    v.visible(&mut tx, id).await?;
    let q = quality::of_call(&mut tx, cu.tenant_id, id).await?;
    tx.commit().await?;
    q.map(Json).ok_or(ApiError::NotFound)
}
