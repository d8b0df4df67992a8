//! The tenant's blocklist of caller numbers (issue #19, migration 0034).

use callbase_core::{TenantId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::Tx;

/// How many numbers a tenant may block.
pub const MAX_ENTRIES: i64 = 1000;

#[derive(Debug, Clone, FromRow)]
pub struct Blocked {
    pub id: i64,
    pub number: String,
    pub note: String,
    pub created_at: OffsetDateTime,
    pub blocked_calls: i64,
    pub last_blocked_at: Option<OffsetDateTime>,
    /// `reject` (SIP 403 before the answer) or `message` (the "not in service" message).
    pub action: String,
}

const COLUMNS: &str = "id, number, note, created_at, blocked_calls, last_blocked_at, action";

/// Every blocked number of the tenant, newest first.
pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<Blocked>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM blocked_numbers WHERE tenant_id = $1 ORDER BY id DESC"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

/// Blocks `number` (E.164); `None` when it is blocked already.
pub async fn add(
    tx: &mut Tx,
    tenant: TenantId,
    number: &str,
    note: &str,
    action: &str,
    by: UserId,
) -> sqlx::Result<Option<Blocked>> {
    sqlx::query_as(&format!(
        "INSERT INTO blocked_numbers (tenant_id, number, note, created_by, action) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, number) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(tenant)
    .bind(number)
    .bind(note)
    .bind(by)
    .bind(action)
    .fetch_optional(&mut **tx)
    .await
}

/// How many numbers the tenant blocks.
pub async fn count(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM blocked_numbers WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&mut **tx)
        .await
}

/// Unblocks entry `id`; false when the tenant has no such entry.
pub async fn remove(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM blocked_numbers WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// A call from `number` arrived: what to do with it (`reject` or `message`, and counted) when the
/// tenant blocks it.
pub async fn hit(tx: &mut Tx, tenant: TenantId, number: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "UPDATE blocked_numbers SET blocked_calls = blocked_calls + 1, last_blocked_at = now()
         WHERE tenant_id = $1 AND number = $2 RETURNING action",
    )
    .bind(tenant)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await
}
