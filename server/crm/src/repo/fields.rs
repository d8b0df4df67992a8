//! `crm_fields`.

use callbase_core::crm::{FieldDef, FieldKind};
use callbase_core::{FieldId, TableId, TenantId};
use callbase_db::Tx;

#[derive(Debug, Clone)]
pub struct FieldRow {
    pub id: FieldId,
    pub table_id: TableId,
    pub name: String,
    pub kind: String,
    pub options: Vec<String>,
    pub is_title: bool,
    pub position: i32,
}

impl FieldRow {
    /// What value checks need of the field.
    pub fn def(&self) -> FieldDef {
        FieldDef { id: self.id.0, name: self.name.clone(), kind: self.kind(), options: self.options.clone() }
    }

    pub fn kind(&self) -> FieldKind {
        FieldKind::parse(&self.kind).unwrap_or(FieldKind::Text)
    }

    /// The key of the field's value in a record's `data`.
    pub fn key(&self) -> String {
        self.id.0.to_string()
    }
}

/// The table's fields in order.
pub async fn of_table(tx: &mut Tx, tenant: TenantId, table: TableId) -> sqlx::Result<Vec<FieldRow>> {
    sqlx::query_as!(
        FieldRow,
        r#"SELECT id AS "id: FieldId", table_id AS "table_id: TableId", name, kind, options, is_title, position
           FROM crm_fields WHERE tenant_id = $1 AND table_id = $2 ORDER BY position, id"#,
        tenant.0,
        table.0,
    )
    .fetch_all(&mut **tx)
    .await
}

/// A new field, last in order; the title when the table has none. Every record gets an empty
/// value row for it (sorting joins on it). Fails on `crm_fields_table_name_key` when the name is
/// taken.
pub async fn insert(
    tx: &mut Tx,
    tenant: TenantId,
    table: TableId,
    name: &str,
    kind: FieldKind,
    options: &[String],
) -> sqlx::Result<FieldId> {
    let id = sqlx::query_scalar!(
        "INSERT INTO crm_fields (tenant_id, table_id, name, kind, options, is_title, position) \
         VALUES ($1, $2, $3, $4, $5, NOT EXISTS (SELECT 1 FROM crm_fields WHERE table_id = $2 AND is_title), \
                 (SELECT coalesce(max(position), 0) + 1 FROM crm_fields WHERE table_id = $2)) RETURNING id",
        tenant.0,
        table.0,
        name,
        kind.as_str(),
        options,
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        "INSERT INTO crm_values (record_id, field_id, tenant_id, k) SELECT id, $2, $1, NULL FROM crm_records WHERE table_id = $3",
        tenant.0,
        id,
        table.0,
    )
    .execute(&mut **tx)
    .await?;
    Ok(FieldId(id))
}

/// Fails on `crm_fields_table_name_key` when the name is taken.
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: FieldId,
    name: &str,
    options: &[String],
    position: i32,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE crm_fields SET name = $3, options = $4, position = $5 WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id.0,
        name,
        options,
        position,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes a field and its values from every record of the table (and from the call card).
pub async fn delete(tx: &mut Tx, tenant: TenantId, table: TableId, id: FieldId) -> sqlx::Result<bool> {
    let key = id.0.to_string();
    sqlx::query!(
        "UPDATE crm_records SET data = data - $3::text WHERE tenant_id = $1 AND table_id = $2 AND data ? $3",
        tenant.0,
        table.0,
        key,
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE crm_tables SET card_field_ids = array_remove(card_field_ids, $3) WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        table.0,
        id.0,
    )
    .execute(&mut **tx)
    .await?;
    let r = sqlx::query!(
        "DELETE FROM crm_fields WHERE tenant_id = $1 AND table_id = $2 AND id = $3",
        tenant.0,
        table.0,
        id.0,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}
