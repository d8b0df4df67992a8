//! Preflight results (issue #22, item 5; migration 0046): what an agent's test call to the platform
//! echo measured. One row per telephony user, the last test replacing the one before.

use callbase_core::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Tx;

/// The verdicts a phone may give a test call.
pub const VERDICTS: &[&str] = &["good", "fair", "poor", "no_audio"];

/// What the phone measured over its test call.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Preflight {
    /// Round trip between the browser and the platform (ICE pair or RTCP), ms.
    pub rtt_ms: Option<f32>,
    /// Packets lost of those the browser expected back, in per cent.
    pub loss_pct: Option<f32>,
    pub jitter_ms: Option<f32>,
    /// Estimated MOS (1–5) from the three figures.
    pub mos: Option<f32>,
    /// `good`, `fair`, `poor` or `no_audio` (the echo did not bring the agent's audio back).
    pub verdict: String,
    /// Whether the agent's own audio came back from the echo.
    pub audio_back: bool,
    /// The browser, as the phone names it ("Chrome 131", "Firefox 128").
    pub browser: Option<String>,
}

/// A telephony user's last result, for the administrators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreflightRow {
    pub user_id: i64,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub tested_at: OffsetDateTime,
    pub rtt_ms: Option<f32>,
    pub loss_pct: Option<f32>,
    pub jitter_ms: Option<f32>,
    pub mos: Option<f32>,
    pub verdict: String,
    pub audio_back: bool,
    pub browser: Option<String>,
}

/// Saves `user`'s result, replacing their previous one. False when `user` is not a telephony user
/// of the tenant.
pub async fn save(tx: &mut Tx, tenant: TenantId, user: UserId, p: &Preflight) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO preflight_results (tenant_id, user_id, rtt_ms, loss_pct, jitter_ms, mos, verdict, audio_back, browser) \
         SELECT tenant_id, user_id, $3, $4, $5, $6, $7, $8, $9 FROM telephony_users \
         WHERE tenant_id = $1 AND user_id = $2 \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET tested_at = now(), rtt_ms = EXCLUDED.rtt_ms, \
         loss_pct = EXCLUDED.loss_pct, jitter_ms = EXCLUDED.jitter_ms, mos = EXCLUDED.mos, \
         verdict = EXCLUDED.verdict, audio_back = EXCLUDED.audio_back, browser = EXCLUDED.browser",
        tenant.0,
        user.0,
        p.rtt_ms,
        p.loss_pct,
        p.jitter_ms,
        p.mos,
        p.verdict,
        p.audio_back,
        p.browser,
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The last result of every telephony user who ran a test, by name.
pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<PreflightRow>> {
    sqlx::query_as!(
        PreflightRow,
        "SELECT p.user_id, u.name, p.tested_at, p.rtt_ms, p.loss_pct, p.jitter_ms, p.mos, p.verdict, \
         p.audio_back, p.browser \
         FROM preflight_results p JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.user_id \
         WHERE p.tenant_id = $1 ORDER BY u.name, p.user_id",
        tenant.0
    )
    .fetch_all(&mut **tx)
    .await
}
