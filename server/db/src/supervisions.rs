//! Supervisions (issue #18, migration 0029): a supervisor listening to, whispering to or barging in
//! on an agent's live call. The row is the audit and the control state a new controller adopts.

use callbase_core::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::types::Uuid;
use sqlx::FromRow;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Tx;

/// How the supervisor joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Hears both sides; nobody hears the supervisor.
    Listen,
    /// Hears both sides; only the agent hears the supervisor.
    Whisper,
    /// Joins the call: everybody hears everybody.
    Barge,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Listen => "listen",
            Mode::Whisper => "whisper",
            Mode::Barge => "barge",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "listen" => Some(Mode::Listen),
            "whisper" => Some(Mode::Whisper),
            "barge" => Some(Mode::Barge),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct SupervisionRow {
    pub id: i64,
    pub call_id: Uuid,
    pub supervisor_id: i64,
    pub agent_id: i64,
    pub mode: String,
    pub requested_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub result: Option<String>,
    pub supervisor_channel: Option<String>,
    pub snoop_channel: Option<String>,
    pub bridge_id: Option<String>,
}

const SELECT: &str = "SELECT id, call_id, supervisor_id, agent_id, mode, requested_at, answered_at, ended_at,
    result, supervisor_channel, snoop_channel, bridge_id FROM supervisions";

/// A new supervision of `call` (its phone not rung yet).
pub async fn insert(
    tx: &mut Tx,
    tenant: TenantId,
    call: Uuid,
    supervisor: UserId,
    agent: UserId,
    mode: Mode,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO supervisions (tenant_id, call_id, supervisor_id, agent_id, mode)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tenant)
    .bind(call)
    .bind(supervisor)
    .bind(agent)
    .bind(mode.as_str())
    .fetch_one(&mut **tx)
    .await
}

/// The supervisor's phone answered and is connected: its leg, the snoop channel and their bridge
/// (none of the last two for a barge, which joins the call's own bridge).
pub async fn answered(
    tx: &mut Tx,
    id: i64,
    channel: &str,
    snoop: Option<&str>,
    bridge: Option<&str>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE supervisions SET answered_at = $5, supervisor_channel = $2, snoop_channel = $3, bridge_id = $4
         WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(channel)
    .bind(snoop)
    .bind(bridge)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn ended(tx: &mut Tx, id: i64, result: &str, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query("UPDATE supervisions SET ended_at = $3, result = $2 WHERE id = $1 AND ended_at IS NULL")
        .bind(id)
        .bind(result)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Closes whatever supervision of `call` is still open (the call ended).
pub async fn end_all_of_call(tx: &mut Tx, call: Uuid, result: &str, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query("UPDATE supervisions SET ended_at = $3, result = $2 WHERE call_id = $1 AND ended_at IS NULL")
        .bind(call)
        .bind(result)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The open supervisions of `call`, oldest first (what a new controller adopts).
pub async fn open_of_call(tx: &mut Tx, call: Uuid) -> sqlx::Result<Vec<SupervisionRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE call_id = $1 AND ended_at IS NULL ORDER BY id"))
        .bind(call)
        .fetch_all(&mut **tx)
        .await
}

/// The tenant's latest supervisions, newest first (the administrators' audit).
pub async fn latest(tx: &mut Tx, tenant: TenantId, limit: i64) -> sqlx::Result<Vec<SupervisionRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE tenant_id = $1 ORDER BY requested_at DESC, id DESC LIMIT $2"))
        .bind(tenant)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// Whether `user` is a member of a private group (nobody may listen to them).
pub async fn is_private(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<bool> {
    crate::accounts::in_group_with(tx, tenant, user, crate::accounts::GroupFlag::Private).await
}

/// What the API checks before a supervisor joins a call: the call's agent, whether it is
/// connected (answered, talking) — `None` when the tenant has no such running call.
pub async fn call_state(
    tx: &mut Tx,
    tenant: TenantId,
    call: Uuid,
) -> sqlx::Result<Option<(Option<i64>, bool)>> {
    sqlx::query_as(
        "SELECT user_id, (answered_at IS NOT NULL AND phase = 'talking') FROM calls
         WHERE id = $1 AND tenant_id = $2 AND ended_at IS NULL",
    )
    .bind(call)
    .bind(tenant)
    .fetch_optional(&mut **tx)
    .await
}

/// Whether `supervisor` already supervises `call` (ringing or connected).
pub async fn supervising(tx: &mut Tx, call: Uuid, supervisor: UserId) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM supervisions WHERE call_id = $1 AND supervisor_id = $2 AND ended_at IS NULL)",
    )
    .bind(call)
    .bind(supervisor)
    .fetch_one(&mut **tx)
    .await
}
