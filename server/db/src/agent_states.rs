//! Agent states (issue #18, migration 0024): available, break (with a reason), do not disturb and
//! wrap-up, per telephony user; the log of every state for reports; the tenant's settings (break
//! reasons, wrap-up maximum, missed calls before a break).

use callbase_core::{TenantId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Tx;

/// The states an agent may be in. Offline is derived from devices, not stored.
pub const STATES: [&str; 4] = ["available", "break", "dnd", "wrapup"];

/// The reason of a Break the server sets after missed calls in a row.
pub const MISSED_CALLS_REASON: &str = "missed calls";

/// A telephony user's state as it is now (an expired wrap-up reads as available).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AgentState {
    pub user_id: UserId,
    pub state: String,
    pub reason: Option<String>,
    pub since: OffsetDateTime,
    /// While in wrap-up: when it ends by itself.
    pub wrapup_until: Option<OffsetDateTime>,
}

/// The tenant's agent-state settings.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AgentSettings {
    pub break_reasons: Vec<String>,
    pub wrapup_max_secs: i32,
    pub missed_to_break: i32,
}

const STATE_COLUMNS: &str = "user_id, agent_state_now(state, wrapup_until) AS state, \
    CASE WHEN agent_state_now(state, wrapup_until) = state THEN state_reason END AS reason, \
    CASE WHEN agent_state_now(state, wrapup_until) = state THEN state_since ELSE wrapup_until END AS since, \
    CASE WHEN agent_state_now(state, wrapup_until) = state THEN wrapup_until END AS wrapup_until";

/// One telephony user's state; `None` when the user is not a telephony user of the tenant.
pub async fn get(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<Option<AgentState>> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM telephony_users WHERE tenant_id = $1 AND user_id = $2"
    ))
    .bind(tenant)
    .bind(user)
    .fetch_optional(&mut **tx)
    .await
}

/// Every telephony user's state.
pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<AgentState>> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} FROM telephony_users WHERE tenant_id = $1 ORDER BY user_id"
    ))
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Sets a state (logging the previous one's end); `false` when the user is not a telephony user.
/// `until` is the end of a wrap-up (ignored for other states).
pub async fn set(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    state: &str,
    reason: Option<&str>,
    until: Option<OffsetDateTime>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT agent_state_set($1, $2, $3, $4, $5)")
        .bind(tenant)
        .bind(user)
        .bind(state)
        .bind(reason)
        .bind(until)
        .fetch_one(&mut **tx)
        .await
}

/// After a call the agent talked in: wrap-up for the tenant's maximum, unless it is 0 or the agent
/// chose another state meanwhile (break, do not disturb). Returns the new state when it changed.
pub async fn start_wrapup(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<Option<AgentState>> {
    let settings = settings(tx, tenant).await?;
    if settings.wrapup_max_secs == 0 {
        return Ok(None);
    }
    let Some(now) = get(tx, tenant, user).await? else { return Ok(None) };
    if now.state != "available" && now.state != "wrapup" {
        return Ok(None);
    }
    let until = OffsetDateTime::now_utc() + time::Duration::seconds(settings.wrapup_max_secs.into());
    set(tx, tenant, user, "wrapup", None, Some(until)).await?;
    get(tx, tenant, user).await
}

/// The agent is done with the call (card closed, or Ready): a wrap-up ends. Returns the new state
/// when it changed.
pub async fn end_wrapup(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<Option<AgentState>> {
    match get(tx, tenant, user).await? {
        Some(s) if s.state == "wrapup" => {
            set(tx, tenant, user, "available", None, None).await?;
            get(tx, tenant, user).await
        }
        _ => Ok(None),
    }
}

/// Counts an inbound call that rang `users` out (nobody answered): on the call, for the reports'
/// missed calls per agent, and in a row toward the tenant's limit — the users who reach it go to
/// Break "missed calls". Returns their new states.
pub async fn rang_out(
    tx: &mut Tx,
    tenant: TenantId,
    call: Uuid,
    users: &[UserId],
) -> sqlx::Result<Vec<AgentState>> {
    let settings = settings(tx, tenant).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    sqlx::query(
        "UPDATE calls SET rang_out = ARRAY(SELECT DISTINCT x FROM unnest(rang_out || $3::bigint[]) x ORDER BY x)
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(call)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    let counts: Vec<(UserId, i32)> = sqlx::query_as(
        "UPDATE telephony_users SET missed_in_row = missed_in_row + 1
         WHERE tenant_id = $1 AND user_id = ANY($2) RETURNING user_id, missed_in_row",
    )
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut changed = vec![];
    if settings.missed_to_break == 0 {
        return Ok(changed);
    }
    for (user, n) in counts {
        if n >= settings.missed_to_break {
            set(tx, tenant, user, "break", Some(MISSED_CALLS_REASON), None).await?;
            if let Some(s) = get(tx, tenant, user).await? {
                changed.push(s);
            }
        }
    }
    Ok(changed)
}

/// The agent answered an inbound call: the count of calls rung out in a row starts over.
pub async fn answered(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<()> {
    // Only a count to reset is written (most answered calls follow none rung out).
    sqlx::query("UPDATE telephony_users SET missed_in_row = 0 WHERE tenant_id = $1 AND user_id = $2 AND missed_in_row > 0")
        .bind(tenant)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn settings(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<AgentSettings> {
    let row: Option<AgentSettings> = sqlx::query_as(
        "SELECT break_reasons, wrapup_max_secs, missed_to_break FROM telephony WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_else(|| AgentSettings {
        break_reasons: vec!["Lunch".into(), "Training".into(), "Meeting".into()],
        wrapup_max_secs: 0,
        missed_to_break: 0,
    }))
}

pub async fn set_settings(tx: &mut Tx, tenant: TenantId, s: &AgentSettings) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony (tenant_id, break_reasons, wrapup_max_secs, missed_to_break) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET break_reasons = $2, wrapup_max_secs = $3, missed_to_break = $4",
    )
    .bind(tenant)
    .bind(&s.break_reasons)
    .bind(s.wrapup_max_secs)
    .bind(s.missed_to_break)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
