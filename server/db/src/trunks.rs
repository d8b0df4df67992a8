//! The `trunks` table (the tenant's view of its trunks; Asterisk's rows live in `ast`).

use callbase_core::TenantId;
use sqlx::FromRow;

use crate::Tx;

#[derive(Debug, Clone, FromRow)]
pub struct TrunkRow {
    pub id: i64,
    pub tenant_id: TenantId,
    pub slot: i16,
    pub position: i16,
    pub mode: String,
    pub label: String,
    pub number: Option<String>,
    pub username: String,
    pub domain: String,
    pub host: String,
    pub rewrite: Option<String>,
    pub preset: Option<String>,
    /// The first step of the trunk's inbound calls (issue #19): `ring_all`, `queue` or `user`.
    pub first_step: String,
    pub first_queue_id: Option<i64>,
    pub first_user_id: Option<i64>,
    pub first_menu_id: Option<i64>,
}

/// Fields an admin sets.
#[derive(Debug, Clone)]
pub struct TrunkFields {
    pub mode: String,
    pub label: String,
    pub number: Option<String>,
    pub username: String,
    pub domain: String,
    pub host: String,
    pub rewrite: Option<String>,
    pub preset: Option<String>,
}

impl From<&TrunkRow> for TrunkFields {
    fn from(t: &TrunkRow) -> Self {
        TrunkFields {
            mode: t.mode.clone(),
            label: t.label.clone(),
            number: t.number.clone(),
            username: t.username.clone(),
            domain: t.domain.clone(),
            host: t.host.clone(),
            rewrite: t.rewrite.clone(),
            preset: t.preset.clone(),
        }
    }
}

const COLS: &str =
    "id, tenant_id, slot, position, mode, label, number, username, domain, host, rewrite, preset,
    first_step, first_queue_id, first_user_id, first_menu_id";

/// Serialises trunk changes of one tenant (count checks, slot choice, reordering).
pub async fn lock_tenant(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(7001, $1::int)")
        .bind(tenant.0 as i32)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<TrunkRow>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM trunks WHERE tenant_id = $1 ORDER BY position"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<TrunkRow>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM trunks WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn insert(
    tx: &mut Tx,
    tenant: TenantId,
    slot: i16,
    position: i16,
    f: &TrunkFields,
) -> sqlx::Result<TrunkRow> {
    sqlx::query_as(&format!(
        "INSERT INTO trunks (tenant_id, slot, position, mode, label, number, username, domain, host, rewrite, preset)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLS}"
    ))
    .bind(tenant)
    .bind(slot)
    .bind(position)
    .bind(&f.mode)
    .bind(&f.label)
    .bind(&f.number)
    .bind(&f.username)
    .bind(&f.domain)
    .bind(&f.host)
    .bind(&f.rewrite)
    .bind(&f.preset)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    f: &TrunkFields,
) -> sqlx::Result<Option<TrunkRow>> {
    sqlx::query_as(&format!(
        "UPDATE trunks SET mode = $3, label = $4, number = $5, username = $6, domain = $7, host = $8, rewrite = $9,
                preset = $10, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(tenant)
    .bind(id)
    .bind(&f.mode)
    .bind(&f.label)
    .bind(&f.number)
    .bind(&f.username)
    .bind(&f.domain)
    .bind(&f.host)
    .bind(&f.rewrite)
    .bind(&f.preset)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM trunks WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    // Close the gap so positions stay 1..n.
    sqlx::query(
        "UPDATE trunks t SET position = r.rn FROM
            (SELECT id, row_number() OVER (ORDER BY position) AS rn FROM trunks WHERE tenant_id = $1) r
         WHERE t.id = r.id AND t.tenant_id = $1",
    )
    .bind(tenant)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets positions 1..n in the order of `ids` (which must be exactly the tenant's trunk ids).
pub async fn reorder(tx: &mut Tx, tenant: TenantId, ids: &[i64]) -> sqlx::Result<()> {
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("UPDATE trunks SET position = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(i as i16 + 1)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
