//! Queues (issue #19, migration 0037): their settings and members, the line of waiting callers
//! (open `calls` rows with the queue's id, in the order they joined) and the figures the board shows.

use callbase_core::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Tx;

/// How many queues a tenant may have.
pub const MAX_QUEUES: i64 = 50;
/// How many member entries (users and groups) a queue may have.
pub const MAX_MEMBERS: usize = 200;

#[derive(Debug, Clone, FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub name: String,
    pub strategy: String,
    pub ring_secs: i16,
    pub max_wait_secs: i32,
    pub max_callers: i16,
    pub announce_position: bool,
    pub service_level_secs: i16,
    pub overflow: String,
    pub overflow_number: Option<String>,
    pub last_rung_user: Option<i64>,
    /// Waiting callers may press 1 to be called back (migration 0039).
    pub callback: bool,
}

/// What an administrator sets.
#[derive(Debug, Clone)]
pub struct QueueFields {
    pub name: String,
    pub strategy: String,
    pub ring_secs: i16,
    pub max_wait_secs: i32,
    pub max_callers: i16,
    pub announce_position: bool,
    pub service_level_secs: i16,
    pub overflow: String,
    pub overflow_number: Option<String>,
    pub callback: bool,
}

/// A member entry: one user, or every telephony user of an access group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Member {
    User(i64),
    Group(i64),
}

const COLUMNS: &str = "id, name, strategy, ring_secs, max_wait_secs, max_callers, announce_position,
    service_level_secs, overflow, overflow_number, last_rung_user, callback";

pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<QueueRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM queues WHERE tenant_id = $1 ORDER BY name"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<QueueRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM queues WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn count(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM queues WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&mut **tx)
        .await
}

/// Every member entry of the tenant's queues: (queue, entry).
pub async fn members(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<(i64, Member)>> {
    let rows: Vec<(i64, Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT queue_id, user_id, group_id FROM queue_members WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(q, u, g)| match (u, g) {
            (Some(u), _) => Some((q, Member::User(u))),
            (None, Some(g)) => Some((q, Member::Group(g))),
            _ => None,
        })
        .collect())
}

/// Which of `entries` name no user or no access group of the tenant (their indexes).
pub async fn unknown_members(tx: &mut Tx, tenant: TenantId, entries: &[Member]) -> sqlx::Result<Vec<usize>> {
    let users: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM telephony_users WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    let groups: Vec<i64> = sqlx::query_scalar("SELECT id FROM access_groups WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    Ok(entries
        .iter()
        .enumerate()
        .filter(|(_, m)| match m {
            Member::User(u) => !users.contains(u),
            Member::Group(g) => !groups.contains(g),
        })
        .map(|(i, _)| i)
        .collect())
}

/// Creates a queue; `None` when the tenant has one of that name.
pub async fn create(
    tx: &mut Tx,
    tenant: TenantId,
    f: &QueueFields,
    m: &[Member],
) -> sqlx::Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO queues (tenant_id, name, strategy, ring_secs, max_wait_secs, max_callers, announce_position,
             service_level_secs, overflow, overflow_number, callback)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
    )
    .bind(tenant)
    .bind(&f.name)
    .bind(&f.strategy)
    .bind(f.ring_secs)
    .bind(f.max_wait_secs)
    .bind(f.max_callers)
    .bind(f.announce_position)
    .bind(f.service_level_secs)
    .bind(&f.overflow)
    .bind(&f.overflow_number)
    .bind(f.callback)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        set_members(tx, tenant, id, m).await?;
    }
    Ok(id)
}

/// Changes a queue. `Ok(None)`: no such queue; `Ok(Some(false))`: another queue has the name.
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    f: &QueueFields,
    m: &[Member],
) -> sqlx::Result<Option<bool>> {
    if get(tx, tenant, id).await?.is_none() {
        return Ok(None);
    }
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM queues WHERE tenant_id = $1 AND name = $2 AND id <> $3)",
    )
    .bind(tenant)
    .bind(&f.name)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if taken {
        return Ok(Some(false));
    }
    sqlx::query(
        "UPDATE queues SET name = $3, strategy = $4, ring_secs = $5, max_wait_secs = $6, max_callers = $7,
             announce_position = $8, service_level_secs = $9, overflow = $10, overflow_number = $11, callback = $12
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(&f.name)
    .bind(&f.strategy)
    .bind(f.ring_secs)
    .bind(f.max_wait_secs)
    .bind(f.max_callers)
    .bind(f.announce_position)
    .bind(f.service_level_secs)
    .bind(&f.overflow)
    .bind(&f.overflow_number)
    .bind(f.callback)
    .execute(&mut **tx)
    .await?;
    set_members(tx, tenant, id, m).await?;
    Ok(Some(true))
}

async fn set_members(tx: &mut Tx, tenant: TenantId, queue: i64, m: &[Member]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM queue_members WHERE tenant_id = $1 AND queue_id = $2")
        .bind(tenant)
        .bind(queue)
        .execute(&mut **tx)
        .await?;
    let users: Vec<i64> =
        m.iter().filter_map(|e| if let Member::User(u) = e { Some(*u) } else { None }).collect();
    let groups: Vec<i64> =
        m.iter().filter_map(|e| if let Member::Group(g) = e { Some(*g) } else { None }).collect();
    sqlx::query(
        "INSERT INTO queue_members (tenant_id, queue_id, user_id)
         SELECT $1, $2, u FROM unnest($3::bigint[]) u ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(queue)
    .bind(&users)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO queue_members (tenant_id, queue_id, group_id)
         SELECT $1, $2, g FROM unnest($3::bigint[]) g ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(queue)
    .bind(&groups)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes a queue; false when the tenant has no such queue. Its calls keep their record (without
/// the queue); trunks that sent calls to it ring everyone until an administrator chooses again.
pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM queues WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The telephony users a queue's members are now (users, and the telephony users of its groups).
pub async fn member_users(tx: &mut Tx, tenant: TenantId, queue: i64) -> sqlx::Result<Vec<UserId>> {
    sqlx::query_scalar(
        "SELECT DISTINCT t.user_id FROM queue_members m
         LEFT JOIN memberships g ON g.group_id = m.group_id
         JOIN telephony_users t ON t.tenant_id = m.tenant_id AND t.user_id = coalesce(m.user_id, g.user_id)
         WHERE m.tenant_id = $1 AND m.queue_id = $2
         ORDER BY t.user_id",
    )
    .bind(tenant)
    .bind(queue)
    .fetch_all(&mut **tx)
    .await
}

/// A member as the strategies compare them.
#[derive(Debug, Clone, FromRow)]
pub struct MemberLoad {
    pub user_id: UserId,
    /// On a call now (any open call they talk in, or are consulted on).
    pub busy: bool,
    /// When their last call ended (never: `None`).
    pub last_call_end: Option<OffsetDateTime>,
    /// Calls they answered today, in the tenant's time zone.
    pub answered_today: i64,
}

/// `users`' load: on a call, idle since, calls answered today (the tenant's day).
pub async fn loads(tx: &mut Tx, tenant: TenantId, users: &[UserId]) -> sqlx::Result<Vec<MemberLoad>> {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    sqlx::query_as(
        "WITH z AS (SELECT time_zone FROM telephony WHERE tenant_id = $1),
              day AS (SELECT date_trunc('day', now() AT TIME ZONE coalesce((SELECT time_zone FROM z), 'UTC'))
                             AT TIME ZONE coalesce((SELECT time_zone FROM z), 'UTC') AS start)
         SELECT u AS user_id,
            EXISTS (SELECT 1 FROM calls c WHERE c.tenant_id = $1 AND c.ended_at IS NULL
                      AND c.started_at > now() - interval '1 day'
                      AND (c.user_id = u OR c.consult_user = u)) AS busy,
            (SELECT max(c.ended_at) FROM calls c WHERE c.tenant_id = $1 AND c.user_id = u
                      AND c.answered_at IS NOT NULL AND c.started_at > now() - interval '7 days') AS last_call_end,
            (SELECT count(*) FROM calls c WHERE c.tenant_id = $1 AND c.user_id = u AND c.answered_at IS NOT NULL
                      AND c.started_at >= (SELECT start FROM day)) AS answered_today
         FROM unnest($2::bigint[]) u",
    )
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
}

/// Round robin: `user` was rung last.
pub async fn set_last_rung(tx: &mut Tx, tenant: TenantId, queue: i64, user: UserId) -> sqlx::Result<()> {
    sqlx::query("UPDATE queues SET last_rung_user = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(queue)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The callers waiting in a queue, in the order they joined (ties by id): their call ids.
pub async fn line(tx: &mut Tx, tenant: TenantId, queue: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM calls WHERE tenant_id = $1 AND queue_id = $2 AND ended_at IS NULL
             AND queued_at IS NOT NULL AND queue_outcome IS NULL AND started_at > now() - interval '1 day'
         ORDER BY queued_at, id",
    )
    .bind(tenant)
    .bind(queue)
    .fetch_all(&mut **tx)
    .await
}

/// A queue's figures for the board: now, and since the start of the tenant's day.
#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct QueueFigures {
    pub queue_id: i64,
    pub name: String,
    /// Callers waiting now.
    pub waiting: i64,
    /// The longest wait now, in seconds (0 when nobody waits).
    pub longest_wait_secs: i64,
    /// Today: callers who joined the queue…
    pub offered: i64,
    /// …were answered by a member…
    pub answered: i64,
    /// …within the queue's service-level time…
    pub answered_in_time: i64,
    /// …hung up while waiting…
    pub abandoned: i64,
    /// …or went to the overflow.
    pub overflowed: i64,
    /// Requests to be called back still waiting (or being dialled) now.
    pub callbacks_waiting: i64,
    /// The service level's time, in seconds.
    pub service_level_secs: i16,
}

pub async fn figures(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<QueueFigures>> {
    sqlx::query_as(
        "WITH z AS (SELECT coalesce((SELECT time_zone FROM telephony WHERE tenant_id = $1), 'UTC') AS tz),
              day AS (SELECT date_trunc('day', now() AT TIME ZONE (SELECT tz FROM z)) AT TIME ZONE (SELECT tz FROM z) AS start)
         SELECT q.id AS queue_id, q.name, q.service_level_secs,
            count(c.id) FILTER (WHERE c.ended_at IS NULL AND c.queue_outcome IS NULL) AS waiting,
            coalesce(extract(epoch FROM now() - min(c.queued_at) FILTER (WHERE c.ended_at IS NULL AND c.queue_outcome IS NULL))::bigint, 0) AS longest_wait_secs,
            count(c.id) FILTER (WHERE c.queued_at >= (SELECT start FROM day)) AS offered,
            count(c.id) FILTER (WHERE c.queued_at >= (SELECT start FROM day) AND c.queue_outcome = 'answered') AS answered,
            count(c.id) FILTER (WHERE c.queued_at >= (SELECT start FROM day) AND c.queue_outcome = 'answered'
                                  AND c.queue_wait_ms <= q.service_level_secs * 1000) AS answered_in_time,
            count(c.id) FILTER (WHERE c.queued_at >= (SELECT start FROM day) AND c.queue_outcome = 'abandoned') AS abandoned,
            count(c.id) FILTER (WHERE c.queued_at >= (SELECT start FROM day) AND c.queue_outcome = 'overflow') AS overflowed,
            (SELECT count(*) FROM queue_callbacks b WHERE b.tenant_id = $1 AND b.queue_id = q.id
                 AND b.state IN ('waiting', 'dialing')) AS callbacks_waiting
         FROM queues q
         LEFT JOIN calls c ON c.queue_id = q.id AND c.tenant_id = $1
             AND c.queued_at >= least((SELECT start FROM day), now() - interval '1 day')
         WHERE q.tenant_id = $1
         GROUP BY q.id
         ORDER BY q.name",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Today's (the tenant's day) average wait of the queue's answered callers, when any were.
pub async fn average_wait_ms(tx: &mut Tx, tenant: TenantId, queue: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "WITH z AS (SELECT coalesce((SELECT time_zone FROM telephony WHERE tenant_id = $1), 'UTC') AS tz)
         SELECT avg(queue_wait_ms)::bigint FROM calls
         WHERE tenant_id = $1 AND queue_id = $2 AND queue_outcome = 'answered'
             AND queued_at >= date_trunc('day', now() AT TIME ZONE (SELECT tz FROM z)) AT TIME ZONE (SELECT tz FROM z)",
    )
    .bind(tenant)
    .bind(queue)
    .fetch_one(&mut **tx)
    .await
}

/// The call joined queue `queue` (its place in line is `at`; a call adopted after a restart keeps
/// the place it had).
pub async fn joined(tx: &mut Tx, id: Uuid, queue: i64, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE calls SET queue_id = $2, queued_at = coalesce(queued_at, $3), queue_outcome = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(queue)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The call left its queue at `at`: answered, abandoned or overflow.
pub async fn left(tx: &mut Tx, id: Uuid, outcome: &str, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE calls SET queue_outcome = $2,
             queue_wait_ms = greatest(0, (extract(epoch FROM $3 - queued_at) * 1000)::int)
         WHERE id = $1 AND queued_at IS NOT NULL AND queue_outcome IS NULL",
    )
    .bind(id)
    .bind(outcome)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets trunk `trunk`'s first step (issue #19): `step` with its queue, user or menu; false when
/// the tenant has no such trunk.
pub async fn set_first_step(
    tx: &mut Tx,
    tenant: TenantId,
    trunk: i64,
    step: &str,
    target: (Option<i64>, Option<i64>, Option<i64>),
) -> sqlx::Result<bool> {
    let (queue, user, menu) = target;
    let r = sqlx::query(
        "UPDATE trunks SET first_step = $3, first_queue_id = $4, first_user_id = $5, first_menu_id = $6
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(trunk)
    .bind(step)
    .bind(queue)
    .bind(user)
    .bind(menu)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() > 0)
}
