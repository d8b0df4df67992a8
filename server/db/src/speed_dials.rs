//! Speed dial entries (issue #18, migration 0027): named numbers per access group.

use callbase_core::{GroupId, TenantId, UserId};
use sqlx::FromRow;

use crate::Tx;

#[derive(Debug, Clone, FromRow)]
pub struct SpeedDial {
    pub id: i64,
    pub group_id: GroupId,
    pub name: String,
    pub number: String,
}

/// How many entries a group may hold.
pub const MAX_PER_GROUP: i64 = 50;

/// Every entry of the tenant (administrators), by group then name.
pub async fn all(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<SpeedDial>> {
    sqlx::query_as(
        "SELECT id, group_id, name, number FROM speed_dials WHERE tenant_id = $1 ORDER BY group_id, lower(name), id",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Entry `id` of the tenant.
pub async fn get(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<SpeedDial>> {
    sqlx::query_as("SELECT id, group_id, name, number FROM speed_dials WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// The entries of the user's groups, by name (one entry once, whatever the groups it comes from).
pub async fn of_user(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<Vec<SpeedDial>> {
    sqlx::query_as(
        "SELECT s.id, s.group_id, s.name, s.number FROM speed_dials s
         WHERE s.tenant_id = $1 AND EXISTS (SELECT 1 FROM memberships m
             WHERE m.tenant_id = s.tenant_id AND m.group_id = s.group_id AND m.user_id = $2)
         ORDER BY lower(s.name), s.id",
    )
    .bind(tenant)
    .bind(user)
    .fetch_all(&mut **tx)
    .await
}

/// The number of entry `id` when `user` is a member of its group (what the call flow dials).
pub async fn number_for(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT s.number FROM speed_dials s
         JOIN memberships m ON m.tenant_id = s.tenant_id AND m.group_id = s.group_id AND m.user_id = $3
         WHERE s.tenant_id = $1 AND s.id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(user)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn count_in_group(tx: &mut Tx, tenant: TenantId, group: GroupId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM speed_dials WHERE tenant_id = $1 AND group_id = $2")
        .bind(tenant)
        .bind(group)
        .fetch_one(&mut **tx)
        .await
}

pub async fn insert(
    tx: &mut Tx,
    tenant: TenantId,
    group: GroupId,
    name: &str,
    number: &str,
) -> sqlx::Result<SpeedDial> {
    sqlx::query_as(
        "INSERT INTO speed_dials (tenant_id, group_id, name, number) VALUES ($1, $2, $3, $4)
         RETURNING id, group_id, name, number",
    )
    .bind(tenant)
    .bind(group)
    .bind(name)
    .bind(number)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    group: GroupId,
    name: &str,
    number: &str,
) -> sqlx::Result<Option<SpeedDial>> {
    sqlx::query_as(
        "UPDATE speed_dials SET group_id = $3, name = $4, number = $5 WHERE tenant_id = $1 AND id = $2
         RETURNING id, group_id, name, number",
    )
    .bind(tenant)
    .bind(id)
    .bind(group)
    .bind(name)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM speed_dials WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}
