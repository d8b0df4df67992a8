//! `crm_tables`.

use callbase_core::{FieldId, TableId, TenantId};
use callbase_db::Tx;

#[derive(Debug, Clone)]
pub struct TableRow {
    pub id: TableId,
    pub name: String,
    pub call_table: bool,
    pub card_field_ids: Vec<FieldId>,
    /// Counted up to [`COUNT_CAP`] by [`list`]; 0 from [`get`].
    pub record_count: i64,
}

/// Records are counted up to this many (a million-row table is "10 000+").
pub const COUNT_CAP: i64 = 10_001;

/// The tenant's tables, each with its record count (counted up to [`COUNT_CAP`]).
pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<TableRow>> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.name, t.call_table, t.card_field_ids,
                  (SELECT count(*) FROM (SELECT 1 FROM crm_records r WHERE r.table_id = t.id LIMIT $2) x) AS "record_count!"
           FROM crm_tables t WHERE t.tenant_id = $1 ORDER BY t.position, t.id"#,
        tenant.0,
        COUNT_CAP,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TableRow {
            id: TableId(r.id),
            name: r.name,
            call_table: r.call_table,
            card_field_ids: r.card_field_ids.into_iter().map(FieldId).collect(),
            record_count: r.record_count,
        })
        .collect())
}

/// One table (without counting its records).
pub async fn get(tx: &mut Tx, tenant: TenantId, id: TableId) -> sqlx::Result<Option<TableRow>> {
    let row = sqlx::query!(
        "SELECT id, name, call_table, card_field_ids FROM crm_tables WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id.0,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| TableRow {
        id: TableId(r.id),
        name: r.name,
        call_table: r.call_table,
        card_field_ids: r.card_field_ids.into_iter().map(FieldId).collect(),
        record_count: 0,
    }))
}

/// How many tables the tenant has.
pub async fn count(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<i64> {
    let n = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM crm_tables WHERE tenant_id = $1"#, tenant.0)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n)
}

/// A new table, last in order. Fails on `crm_tables_tenant_name_key` when the name is taken.
pub async fn insert(tx: &mut Tx, tenant: TenantId, name: &str) -> sqlx::Result<TableId> {
    let id = sqlx::query_scalar!(
        "INSERT INTO crm_tables (tenant_id, name, position) \
         VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM crm_tables WHERE tenant_id = $1)) RETURNING id",
        tenant.0,
        name,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(TableId(id))
}

/// Fails on `crm_tables_tenant_name_key` when the name is taken.
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: TableId,
    name: &str,
    call_table: bool,
    card: &[FieldId],
) -> sqlx::Result<bool> {
    let card: Vec<i64> = card.iter().map(|f| f.0).collect();
    let r = sqlx::query!(
        "UPDATE crm_tables SET name = $3, call_table = $4, card_field_ids = $5 WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id.0,
        name,
        call_table,
        &card,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the table with its fields, records and imports (foreign keys cascade).
pub async fn delete(tx: &mut Tx, tenant: TenantId, id: TableId) -> sqlx::Result<bool> {
    let r = sqlx::query!("DELETE FROM crm_tables WHERE tenant_id = $1 AND id = $2", tenant.0, id.0)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}
