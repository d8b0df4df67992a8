//! Queue callbacks (issue #19, item 5; migration 0039): a waiting caller's request to be called
//! back, kept in its place in line until a member is free; the node's worker claims and dials it.

use callbase_core::{TenantId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Tx;

/// A caller's request: its place in line is when the caller joined the queue.
pub async fn request(
    tx: &mut Tx,
    tenant: TenantId,
    queue: i64,
    node: &str,
    number: &str,
    origin_call: Uuid,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO queue_callbacks (tenant_id, queue_id, node, number, origin_call, requested_at)
         VALUES ($1, $2, $3, $4, $5, coalesce((SELECT queued_at FROM calls WHERE id = $5), now())) RETURNING id",
    )
    .bind(tenant)
    .bind(queue)
    .bind(node)
    .bind(number)
    .bind(origin_call)
    .fetch_one(&mut **tx)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct Waiting {
    pub id: i64,
    pub tenant_id: TenantId,
    pub queue_id: i64,
    pub number: String,
    pub requested_at: OffsetDateTime,
    pub tries: i16,
}

/// The node's requests to dial, oldest first: waiting, or claimed by a worker whose claim ran out
/// (worker pool: every tenant's). A claim that ran out whose callback call was placed (its record
/// exists) is settled as done first.
pub async fn due(pool: &sqlx::PgPool, node: &str) -> sqlx::Result<Vec<Waiting>> {
    sqlx::query(
        "UPDATE queue_callbacks q SET state = 'done', finished_at = now(), claimed_until = NULL,
             user_id = (SELECT user_id FROM calls WHERE id = q.call_id)
         WHERE node = $1 AND state = 'dialing' AND claimed_until < now()
             AND EXISTS (SELECT 1 FROM calls WHERE id = q.call_id)",
    )
    .bind(node)
    .execute(pool)
    .await?;
    sqlx::query_as(
        "SELECT id, tenant_id, queue_id, number, requested_at, tries FROM queue_callbacks
         WHERE node = $1 AND (state = 'waiting' OR (state = 'dialing' AND claimed_until < now()))
         ORDER BY requested_at, id LIMIT 100",
    )
    .bind(node)
    .fetch_all(pool)
    .await
}

/// Claims a request for `secs` for callback call `call` (false: another worker has it).
pub async fn claim(pool: &sqlx::PgPool, id: i64, secs: i64, call: Uuid) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE queue_callbacks SET state = 'dialing', claimed_until = now() + make_interval(secs => $2),
             tries = tries + 1, call_id = $3
         WHERE id = $1 AND (state = 'waiting' OR (state = 'dialing' AND claimed_until < now()))",
    )
    .bind(id)
    .bind(secs as f64)
    .bind(call)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The member did not pick up: the request waits again (in its place), or fails after `max` tries.
pub async fn unclaim(pool: &sqlx::PgPool, id: i64, max: i16, note: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE queue_callbacks SET state = CASE WHEN tries >= $2 THEN 'failed' ELSE 'waiting' END,
             claimed_until = NULL, note = $3, finished_at = CASE WHEN tries >= $2 THEN now() END
         WHERE id = $1",
    )
    .bind(id)
    .bind(max)
    .bind(note)
    .execute(pool)
    .await?;
    Ok(())
}

/// The member picked up and the number was dialled (call `call`).
pub async fn done(pool: &sqlx::PgPool, id: i64, call: Uuid, user: UserId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE queue_callbacks SET state = 'done', claimed_until = NULL, call_id = $2, user_id = $3, finished_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(call)
    .bind(user)
    .execute(pool)
    .await?;
    Ok(())
}

/// Callers of the queue waiting in line who joined before `at` (they go first).
pub async fn callers_ahead(
    tx: &mut Tx,
    tenant: TenantId,
    queue: i64,
    at: OffsetDateTime,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM calls WHERE tenant_id = $1 AND queue_id = $2 AND ended_at IS NULL
             AND queue_outcome IS NULL AND queued_at < $3 AND started_at > now() - interval '1 day'",
    )
    .bind(tenant)
    .bind(queue)
    .bind(at)
    .fetch_one(&mut **tx)
    .await
}

/// Requests to be called back, still waiting, that asked before caller `call` joined the queue
/// (they go first).
pub async fn requests_ahead(tx: &mut Tx, tenant: TenantId, queue: i64, call: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM queue_callbacks WHERE tenant_id = $1 AND queue_id = $2 AND state IN ('waiting', 'dialing')
             AND requested_at < coalesce((SELECT queued_at FROM calls WHERE id = $3), now())",
    )
    .bind(tenant)
    .bind(queue)
    .bind(call)
    .fetch_one(&mut **tx)
    .await
}
