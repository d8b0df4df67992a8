//! `crm_phones`: the E.164 form of every phone value, for caller matching and calling a client
//! by reference.

use callbase_core::{FieldId, RecordId, TableId, TenantId};
use callbase_db::Tx;

/// A record of a call table holding a number (the first of its phone fields that does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneMatch {
    pub record_id: RecordId,
    pub table_id: TableId,
    pub field_id: FieldId,
    pub e164: String,
}

/// The call tables' records holding exactly `e164`, one match per record, by record id.
pub async fn exact(tx: &mut Tx, tenant: TenantId, e164: &str, limit: i64) -> sqlx::Result<Vec<PhoneMatch>> {
    sqlx::query_as!(
        PhoneMatch,
        r#"SELECT DISTINCT ON (p.record_id) p.record_id AS "record_id: RecordId", p.table_id AS "table_id: TableId",
                  p.field_id AS "field_id: FieldId", p.e164
           FROM crm_phones p JOIN crm_tables t ON t.tenant_id = p.tenant_id AND t.id = p.table_id AND t.call_table
           WHERE p.tenant_id = $1 AND p.e164 = $2 ORDER BY p.record_id, p.field_id LIMIT $3"#,
        tenant.0,
        e164,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// The call tables' records holding a number of `len` characters that starts with `prefix`
/// (a `LIKE` pattern, see [`crate::lookup::similar_pattern`]), one match per record.
pub async fn similar(
    tx: &mut Tx,
    tenant: TenantId,
    pattern: &str,
    len: usize,
    limit: i64,
) -> sqlx::Result<Vec<PhoneMatch>> {
    sqlx::query_as!(
        PhoneMatch,
        r#"SELECT DISTINCT ON (p.record_id) p.record_id AS "record_id: RecordId", p.table_id AS "table_id: TableId",
                  p.field_id AS "field_id: FieldId", p.e164
           FROM crm_phones p JOIN crm_tables t ON t.tenant_id = p.tenant_id AND t.id = p.table_id AND t.call_table
           WHERE p.tenant_id = $1 AND p.e164 LIKE $2 AND length(p.e164) = $3 ORDER BY p.record_id, p.field_id LIMIT $4"#,
        tenant.0,
        pattern,
        len as i32,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// The E.164 number of a record's phone field (click-to-call by reference).
pub async fn phone_of(
    tx: &mut Tx,
    tenant: TenantId,
    record: RecordId,
    field: FieldId,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT e164 FROM crm_phones WHERE tenant_id = $1 AND record_id = $2 AND field_id = $3",
        tenant.0,
        record.0,
        field.0,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A call's client as a caller ID: the record's title and the first phone field holding `e164`.
pub async fn client_caller_id(
    tx: &mut Tx,
    tenant: TenantId,
    record: RecordId,
    e164: &str,
) -> sqlx::Result<Option<(Option<String>, FieldId)>> {
    let row = sqlx::query!(
        r#"SELECT r.data->>(SELECT f.id::text FROM crm_fields f WHERE f.tenant_id = r.tenant_id AND f.table_id = r.table_id
                              AND f.is_title LIMIT 1) AS title,
                  p.field_id
           FROM crm_phones p JOIN crm_records r ON r.tenant_id = p.tenant_id AND r.id = p.record_id
           WHERE p.tenant_id = $1 AND p.record_id = $2 AND p.e164 = $3 ORDER BY p.field_id LIMIT 1"#,
        tenant.0,
        record.0,
        e164,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.title, FieldId(r.field_id))))
}
