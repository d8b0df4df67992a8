//! Writes of the call actors (`callbase_telephony::call`): a call record opened, its phases, its
//! end. Every function runs in the call's tenant transaction ([`crate::Db::tenant_tx`]).

use callbase_core::{TenantId, UserId};
use sqlx::types::Uuid;
use time::OffsetDateTime;

use super::{CallDirection, CallResult, RecordingState};
use crate::Tx;

/// A call record as it opens. Owned: the call actor hands it to its writer and goes on
/// (`callbase_telephony::call::record`).
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: Uuid,
    pub tenant: TenantId,
    pub direction: CallDirection,
    pub user: Option<UserId>,
    /// The other party (E.164 when the dial rules could normalise it).
    pub number: String,
    pub did: Option<String>,
    pub trunk_slot: Option<i16>,
    /// The CRM record the call belongs to; one of another tenant's is silently dropped (RLS hides it).
    pub crm_record: Option<i64>,
    /// The Asterisk node whose Stasis app runs the call.
    pub node: String,
    /// The channel the call arrived on.
    pub first_channel: String,
    /// Where the call is as it opens (`setup`, `ringing`, …).
    pub phase: &'static str,
    /// Users who see the call's events.
    pub audience: Vec<i64>,
}

/// Opens the record of a call that started at `started_at` (the record may be written later).
pub async fn open(tx: &mut Tx, c: &NewCall, started_at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO calls (id, tenant_id, direction, user_id, number, did, trunk_slot, crm_record_id, node, \
         first_channel, phase, audience, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT id FROM crm_records WHERE id = $8), $9, $10, $11, $12, $13)",
        c.id,
        c.tenant.0,
        c.direction.as_str(),
        c.user.map(|u| u.0),
        c.number,
        c.did,
        c.trunk_slot,
        c.crm_record,
        c.node,
        c.first_channel,
        c.phase,
        &c.audience,
        started_at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Someone answered at `at`: `user` (an agent, or the caller of an outbound call); `None` when it
/// was no telephony user. The call's answer time is its first: an agent who takes a transferred
/// call becomes the call's user, and the talk time still runs from the first answer (as the
/// carrier counts it). Each user who answers joins `agents` (the call's agents in order).
pub async fn answered(tx: &mut Tx, id: Uuid, user: Option<UserId>, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET answered_at = COALESCE(answered_at, $3), user_id = $2, \
         agents = CASE WHEN $2::bigint IS NULL OR agents[cardinality(agents)] = $2 THEN agents ELSE agents || $2 END \
         WHERE id = $1",
        id,
        user.map(|u| u.0),
        at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The trunk that carried the call, and why earlier ones did not (kept as it was when `None`).
pub async fn routed(tx: &mut Tx, id: Uuid, trunk_slot: i16, note: Option<&str>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET route_note = COALESCE($3, route_note), trunk_slot = $2 WHERE id = $1",
        id,
        trunk_slot,
        note,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Why no trunk could place the call.
pub async fn unrouted(tx: &mut Tx, id: Uuid, note: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE calls SET route_note = $2 WHERE id = $1", id, note).execute(&mut **tx).await?;
    Ok(())
}

/// Unanswered and sent on to the tenant's forward number (`note` says why and where).
pub async fn forwarded(tx: &mut Tx, id: Uuid, note: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET result = $2, reason = $3 WHERE id = $1",
        id,
        CallResult::Forwarded.as_str(),
        note
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The call ended at `at`. A result or reason set earlier (a forward) is kept.
pub async fn ended(
    tx: &mut Tx,
    id: Uuid,
    result: CallResult,
    reason: Option<&str>,
    hold_secs: i32,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET ended_at = $5, result = COALESCE(result, $2), reason = COALESCE(reason, $3), \
         hold_secs = $4, phase = 'ended', held_since = NULL WHERE id = $1",
        id,
        result.as_str(),
        reason,
        hold_secs,
        at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Asterisk started recording the call's bridge as `name`.
pub async fn set_recording(tx: &mut Tx, id: Uuid, name: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET recording_state = $2, recording_name = $3 WHERE id = $1",
        id,
        RecordingState::Recording.as_str(),
        name,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The recording stopped: the uploader owes S3 a copy under `key` (chosen now, so retries overwrite
/// the same object).
pub async fn recording_stopped(tx: &mut Tx, id: Uuid, key: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET recording_state = $2, recording_next_try = now(), recording_key = $3, recording_paused = false \
         WHERE id = $1",
        id,
        RecordingState::Pending.as_str(),
        key,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The agent paused or resumed the call's recording (issue #18).
pub async fn recording_paused(tx: &mut Tx, id: Uuid, paused: bool) -> sqlx::Result<()> {
    sqlx::query!("UPDATE calls SET recording_paused = $2 WHERE id = $1", id, paused)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The caller is leaving a message: the call's recording is a voicemail (issue #19).
pub async fn voicemail(tx: &mut Tx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE calls SET voicemail = true WHERE id = $1", id).execute(&mut **tx).await?;
    Ok(())
}

/// Call records with no end yet, across tenants (`callbase status`; the worker pool, which reads
/// every tenant's calls like the recordings uploader).
pub async fn open_count(pool: &sqlx::PgPool) -> sqlx::Result<i64> {
    let n = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM calls WHERE ended_at IS NULL"#)
        .fetch_one(pool)
        .await?;
    Ok(n)
}
