//! The media of a call as its agent's phone saw it (issue #22): the legs the phone's diagnosis asks
//! Asterisk about while the call runs ([`media_legs`]), and the summary the phone sends when the
//! call ends (`call_quality`, migration 0044).

use callbase_core::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::types::Uuid;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Tx;

/// A running call's channels on its node, for its agent's diagnosis.
#[derive(Debug, Clone)]
pub struct MediaLegs {
    pub user_id: Option<i64>,
    pub direction: String,
    pub node: Option<String>,
    /// The channel the call arrived on: the agent's phone for an outbound call.
    pub first_channel: Option<String>,
    pub agent_channel: Option<String>,
    pub other_channel: Option<String>,
}

/// The channels of the running call `id` (None once it ended).
pub async fn media_legs(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<Option<MediaLegs>> {
    sqlx::query_as!(
        MediaLegs,
        "SELECT user_id, direction, node, first_channel, agent_channel, other_channel FROM calls \
         WHERE id = $1 AND tenant_id = $2 AND ended_at IS NULL",
        id,
        tenant.0
    )
    .fetch_optional(&mut **tx)
    .await
}

/// What the phone measured over a call.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Quality {
    /// Estimated MOS (1–5): the call's lowest and its average.
    pub mos_min: Option<f32>,
    pub mos_avg: Option<f32>,
    /// Packets lost of those the browser expected, in per cent.
    pub loss_pct: Option<f32>,
    pub jitter_ms: Option<f32>,
    pub rtt_ms: Option<f32>,
    /// The problems the phone named during the call (`mic_silent`, `browser_to_server`,
    /// `server_to_browser`, `other_to_server`, `other_silent`, `poor_quality`).
    #[serde(default)]
    pub problems: Vec<String>,
    /// The browser, as the phone names it ("Chrome 131", "Firefox 128").
    pub browser: Option<String>,
    /// When the phone sent it (answers only).
    #[serde(default, with = "time::serde::rfc3339::option", skip_deserializing)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_at: Option<OffsetDateTime>,
}

/// Saves (or replaces) the summary of call `id` — only `user`'s own call. False when the call is
/// not theirs (or not in this tenant).
pub async fn save(tx: &mut Tx, tenant: TenantId, id: Uuid, user: UserId, q: &Quality) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO call_quality (call_id, tenant_id, user_id, mos_min, mos_avg, loss_pct, jitter_ms, rtt_ms, problems, browser) \
         SELECT id, tenant_id, user_id, $4, $5, $6, $7, $8, $9, $10 FROM calls \
         WHERE id = $1 AND tenant_id = $2 AND user_id = $3 \
         ON CONFLICT (call_id) DO UPDATE SET reported_at = now(), mos_min = EXCLUDED.mos_min, \
         mos_avg = EXCLUDED.mos_avg, loss_pct = EXCLUDED.loss_pct, jitter_ms = EXCLUDED.jitter_ms, \
         rtt_ms = EXCLUDED.rtt_ms, problems = EXCLUDED.problems, browser = EXCLUDED.browser",
        id,
        tenant.0,
        user.0,
        q.mos_min,
        q.mos_avg,
        q.loss_pct,
        q.jitter_ms,
        q.rtt_ms,
        &q.problems,
        q.browser,
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The summary of call `id`, if its phone sent one.
pub async fn of_call(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<Option<Quality>> {
    sqlx::query_as!(
        Quality,
        "SELECT mos_min, mos_avg, loss_pct, jitter_ms, rtt_ms, problems, browser, reported_at AS \"reported_at?\" \
         FROM call_quality WHERE call_id = $1 AND tenant_id = $2",
        id,
        tenant.0
    )
    .fetch_optional(&mut **tx)
    .await
}
