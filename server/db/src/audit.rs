//! The security audit log (migrations/0016_security_audit.sql): append-only under RLS; the
//! application role may insert and read its tenant's rows and nothing else.

use callbase_core::{TenantId, UserId};
use serde_json::Value;
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::Tx;

/// What is recorded for one change.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub actor_id: Option<UserId>,
    pub actor_login: Option<&'a str>,
    pub ip: Option<String>,
    /// `area.verb`, e.g. `trunk.create`.
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_login: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn insert(tx: &mut Tx, tenant: TenantId, e: &NewEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO security_audit (tenant_id, actor_id, actor_login, ip, action, target, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(e.actor_id)
    .bind(e.actor_login)
    .bind(&e.ip)
    .bind(e.action)
    .bind(e.target)
    .bind(&e.before)
    .bind(&e.after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Newest first; `before_id` pages back.
pub async fn list(
    tx: &mut Tx,
    tenant: TenantId,
    before_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(
        "SELECT id, at, actor_id, actor_login, ip, action, target, before, after FROM security_audit
         WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant)
    .bind(before_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}
