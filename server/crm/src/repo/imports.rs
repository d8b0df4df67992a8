//! `crm_imports`: an uploaded CSV file, its column mapping's run and the run's report.

use callbase_core::{TableId, TenantId, UserId};
use callbase_db::Tx;
use serde_json::Value;
use uuid::Uuid;

/// Hours an uploaded import file waits for its run (or for a run again after a failure).
pub const TTL_HOURS: i32 = 24;

/// A new upload.
pub struct NewImport<'a> {
    pub id: Uuid,
    pub table: TableId,
    pub by: UserId,
    pub file: &'a [u8],
    /// `,`, `;` or `tab`.
    pub delimiter: &'a str,
    pub columns: &'a [String],
    pub rows: i32,
}

pub async fn insert(tx: &mut Tx, tenant: TenantId, n: &NewImport<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO crm_imports (id, tenant_id, table_id, created_by, file, delimiter, columns, row_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        n.id,
        tenant.0,
        n.table.0,
        n.by.0,
        n.file,
        n.delimiter,
        n.columns,
        n.rows,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An import as stored, for its status.
#[derive(Debug)]
pub struct ImportRow {
    pub id: Uuid,
    pub table_id: TableId,
    pub state: String,
    pub row_count: i32,
    pub done_rows: i32,
    pub inserted: i32,
    pub skipped: i32,
    pub phones_as_text: i32,
    pub errors: Value,
    pub message: Option<String>,
    /// Running, and its heartbeat stopped a minute ago or more (its server stopped).
    pub stale: bool,
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<Option<ImportRow>> {
    sqlx::query_as!(
        ImportRow,
        r#"SELECT id, table_id AS "table_id: TableId", state, row_count, done_rows, inserted, skipped, phones_as_text,
                  errors, message, heartbeat_at < now() - interval '60 seconds' AS "stale!"
           FROM crm_imports WHERE tenant_id = $1 AND id = $2"#,
        tenant.0,
        id,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The import's table, columns and state, locked until the transaction ends (one run at a time).
pub async fn lock(
    tx: &mut Tx,
    tenant: TenantId,
    id: Uuid,
) -> sqlx::Result<Option<(TableId, Vec<String>, String)>> {
    let row = sqlx::query!(
        "SELECT table_id, columns, state FROM crm_imports WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant.0,
        id,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (TableId(r.table_id), r.columns, r.state)))
}

/// Marks the import running, its counts and report reset.
pub async fn start(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE crm_imports SET state = 'running', done_rows = 0, inserted = 0, skipped = 0, errors = '[]', message = NULL, \
         heartbeat_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The file and its delimiter (`None`: the file is gone).
pub async fn file(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<(Option<Vec<u8>>, String)> {
    let r = sqlx::query!(
        "SELECT file, delimiter FROM crm_imports WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((r.file, r.delimiter))
}

/// Rows checked or written so far; also the run's heartbeat.
pub async fn progress(tx: &mut Tx, tenant: TenantId, id: Uuid, done: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE crm_imports SET done_rows = $3, heartbeat_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id,
        done,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How a run ended.
pub struct Outcome<'a> {
    /// `done` or `failed`.
    pub state: &'a str,
    pub message: Option<String>,
    pub inserted: i32,
    pub skipped: i32,
    pub phones_as_text: i32,
    /// The rows with errors (an empty list keeps the report there is).
    pub errors: Value,
}

/// Ends a run. The file is kept after a failure (run again with another mapping), dropped once
/// imported.
pub async fn finish(tx: &mut Tx, tenant: TenantId, id: Uuid, o: &Outcome<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE crm_imports SET state = $3, message = $4, inserted = $5, skipped = $6, phones_as_text = $7, \
         errors = CASE WHEN $8::jsonb = '[]'::jsonb THEN errors ELSE $8 END, \
         file = CASE WHEN $3 = 'done' THEN NULL ELSE file END, heartbeat_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id,
        o.state,
        o.message,
        o.inserted,
        o.skipped,
        o.phones_as_text,
        o.errors,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the tenant's import files left unrun for [`TTL_HOURS`] (the last run's heartbeat,
/// else the upload, is older). Imported ones keep their report (their file is gone).
pub async fn expire_of(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "DELETE FROM crm_imports WHERE tenant_id = $1 AND file IS NOT NULL AND heartbeat_at < now() - make_interval(hours => $2)",
        tenant.0,
        TTL_HOURS,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected())
}

/// [`expire_of`] for every tenant (the periodic sweep; `pool` is the worker pool).
pub async fn expire_all(pool: &sqlx::PgPool) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "DELETE FROM crm_imports WHERE file IS NOT NULL AND heartbeat_at < now() - make_interval(hours => $1)",
        TTL_HOURS,
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}
