//! `crm_records` and the two tables derived from a record's values in the same transaction:
//! `crm_values` (one sort key per field) and `crm_phones` (the E.164 form of each phone value).
//! Records are written in batches (one statement per table touched, whatever the batch size): the
//! API writes batches of one, an import thousands, the benchmark a million.

use callbase_core::{FieldId, RecordId, TableId, TenantId, UserId};
use callbase_db::Tx;
use serde_json::Value;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct RecordRow {
    pub id: RecordId,
    pub table_id: TableId,
    pub data: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A record's values, checked and normalised (see [`crate::write::build_write`]).
#[derive(Debug, Clone, Default)]
pub struct RecordWrite {
    /// `{field id: value}`.
    pub data: serde_json::Map<String, Value>,
    /// Sort key of every field of the table (None: no value).
    pub keys: Vec<(FieldId, Option<String>)>,
    /// E.164 form of every phone value that could be normalised.
    pub phones: Vec<(FieldId, String)>,
    pub search: String,
}

/// Inserts records; returns their ids in order.
pub async fn insert(
    tx: &mut Tx,
    tenant: TenantId,
    table: TableId,
    rows: &[RecordWrite],
    by: Option<UserId>,
) -> sqlx::Result<Vec<RecordId>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT nextval('crm_records_id_seq') AS "id!" FROM generate_series(1, $1)"#,
        rows.len() as i64
    )
    .fetch_all(&mut **tx)
    .await?;
    let data: Vec<Value> = rows.iter().map(|r| Value::Object(r.data.clone())).collect();
    let search: Vec<String> = rows.iter().map(|r| r.search.clone()).collect();
    sqlx::query!(
        "INSERT INTO crm_records (id, tenant_id, table_id, data, search, created_by) \
         SELECT i, $1, $2, d, s, $6 FROM UNNEST($3::bigint[], $4::jsonb[], $5::text[]) AS x(i, d, s)",
        tenant.0,
        table.0,
        &ids,
        &data,
        &search,
        by.map(|u| u.0),
    )
    .execute(&mut **tx)
    .await?;
    let ids: Vec<RecordId> = ids.into_iter().map(RecordId).collect();
    write_derived(tx, tenant, table, &ids, rows).await?;
    Ok(ids)
}

async fn write_derived(
    tx: &mut Tx,
    tenant: TenantId,
    table: TableId,
    ids: &[RecordId],
    rows: &[RecordWrite],
) -> sqlx::Result<()> {
    let (mut vr, mut vf, mut vk) = (Vec::new(), Vec::new(), Vec::<Option<String>>::new());
    let (mut pr, mut pf, mut pe) = (Vec::new(), Vec::new(), Vec::new());
    for (id, r) in ids.iter().zip(rows) {
        for (f, k) in &r.keys {
            vr.push(id.0);
            vf.push(f.0);
            vk.push(k.clone());
        }
        for (f, e) in &r.phones {
            pr.push(id.0);
            pf.push(f.0);
            pe.push(e.clone());
        }
    }
    sqlx::query!(
        "INSERT INTO crm_values (record_id, field_id, tenant_id, k) \
         SELECT r, f, $1, k FROM UNNEST($2::bigint[], $3::bigint[], $4::text[]) AS x(r, f, k)",
        tenant.0,
        &vr,
        &vf,
        &vk as _,
    )
    .execute(&mut **tx)
    .await?;
    if !pr.is_empty() {
        sqlx::query!(
            "INSERT INTO crm_phones (record_id, field_id, tenant_id, table_id, e164) \
             SELECT r, f, $1, $2, e FROM UNNEST($3::bigint[], $4::bigint[], $5::text[]) AS x(r, f, e)",
            tenant.0,
            table.0,
            &pr,
            &pf,
            &pe,
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Replaces a record's values; false if there is no such record in the table.
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    table: TableId,
    id: RecordId,
    w: &RecordWrite,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE crm_records SET data = $4, search = $5, updated_at = now() WHERE tenant_id = $1 AND table_id = $2 AND id = $3",
        tenant.0,
        table.0,
        id.0,
        Value::Object(w.data.clone()),
        w.search,
    )
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query!("DELETE FROM crm_values WHERE tenant_id = $1 AND record_id = $2", tenant.0, id.0)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM crm_phones WHERE tenant_id = $1 AND record_id = $2", tenant.0, id.0)
        .execute(&mut **tx)
        .await?;
    write_derived(tx, tenant, table, &[id], std::slice::from_ref(w)).await?;
    Ok(true)
}

/// Deletes records of the table (their values and phones cascade).
pub async fn delete(tx: &mut Tx, tenant: TenantId, table: TableId, ids: &[RecordId]) -> sqlx::Result<u64> {
    let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let r = sqlx::query!(
        "DELETE FROM crm_records WHERE tenant_id = $1 AND table_id = $2 AND id = ANY($3)",
        tenant.0,
        table.0,
        &ids,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected())
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: RecordId) -> sqlx::Result<Option<RecordRow>> {
    sqlx::query_as!(
        RecordRow,
        r#"SELECT id AS "id: RecordId", table_id AS "table_id: TableId", data, created_at, updated_at
           FROM crm_records WHERE tenant_id = $1 AND id = $2"#,
        tenant.0,
        id.0,
    )
    .fetch_optional(&mut **tx)
    .await
}
