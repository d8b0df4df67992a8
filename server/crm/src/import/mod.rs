//! CSV import into a CRM table: upload (checked: UTF-8, delimiter, row shape) → preview and
//! column mapping → run. A run checks every row first; with errors it stops and lists them (or,
//! asked to, skips those rows and lists them), then writes all rows in one transaction, so a
//! failed import leaves nothing half-written. Progress is polled.
//!
//! Imports are for administrators (a file writes up to 200 000 records at once, and lands with
//! the numbers it holds; the API checks the role). An uploaded file waits at most
//! [`UNRUN_TTL_HOURS`] for its run (a failed run keeps it as long after the failure): then it is
//! deleted, by the hourly sweep ([`expire_all`]) or when it is next asked for.

use std::collections::HashMap;

use callbase_core::{FieldId, TableId, TenantId, UserId};
use callbase_db::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{CrmError, CrmResult};
use crate::repo;
use crate::repo::imports::{NewImport, Outcome};
use crate::shape::table_or_404;

mod file;

use file::{as_text, check_rows, delimiter_name, parse_upload, Parsed};

/// Largest file.
pub const FILE_MAX_BYTES: usize = 50 * 1024 * 1024;
/// Most data rows.
pub const ROWS_MAX: usize = 200_000;
/// Errors kept in the report.
const ERRORS_KEPT: usize = 1000;
/// Rows per insert statement.
const BATCH: usize = 1000;
/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 10;
/// An uploaded file not run (or not run again after a failure) within this many hours is deleted.
pub const UNRUN_TTL_HOURS: i32 = repo::imports::TTL_HOURS;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `,`, `;`, `tab` or `auto` (default).
    pub delimiter: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPreview {
    pub id: Uuid,
    pub columns: Vec<String>,
    /// The first rows, as text.
    pub preview: Vec<Vec<String>>,
    pub rows: usize,
    /// `,`, `;` or `tab`.
    pub delimiter: String,
    /// Column index → field id, where a column's name matches a field's.
    #[schema(value_type = Vec<Option<i64>>)]
    pub suggested: Vec<Option<FieldId>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportStatus {
    pub id: Uuid,
    #[schema(value_type = i64)]
    pub table_id: TableId,
    /// uploaded, running, done, failed.
    pub state: String,
    pub rows: i32,
    /// Rows checked or written so far (progress).
    pub done_rows: i32,
    pub inserted: i32,
    /// Rows with errors left out (when asked to skip them).
    pub skipped: i32,
    /// Phone values kept as text: they could not be normalised.
    pub phones_as_text: i32,
    #[schema(value_type = Vec<RowError>)]
    pub errors: Value,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RunImport {
    /// For each column (in order): the field it goes to, or null to leave it out.
    #[schema(value_type = Vec<Option<i64>>)]
    pub mapping: Vec<Option<FieldId>>,
    /// Write the good rows and list the bad ones (default: any bad row stops the import).
    #[serde(default)]
    pub skip_invalid: bool,
}

/// Stores an uploaded file for `table` and answers its preview and suggested mapping.
pub async fn upload(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    table: TableId,
    p: &UploadParams,
    body: &[u8],
) -> CrmResult<ImportPreview> {
    let text = as_text(body)?;
    let Parsed { delimiter, columns, preview, rows } = parse_upload(text, p.delimiter.as_deref())?;
    let mut tx = db.tenant_tx(tenant).await?;
    table_or_404(&mut tx, tenant, table).await?;
    let fields = repo::fields::of_table(&mut tx, tenant, table).await?;
    let suggested = columns
        .iter()
        .map(|c| fields.iter().find(|f| f.name.to_lowercase() == c.to_lowercase()).map(|f| f.id))
        .collect();
    let id = Uuid::new_v4();
    let delimiter = delimiter_name(delimiter);
    let new = NewImport {
        id,
        table,
        by: user,
        file: text.as_bytes(),
        delimiter: &delimiter,
        columns: &columns,
        rows: rows as i32,
    };
    repo::imports::insert(&mut tx, tenant, &new).await?;
    tx.commit().await?;
    Ok(ImportPreview { id, columns, preview, rows, delimiter, suggested })
}

/// Deletes the tenant's expired import files: a file is gone after its day, whether or not the
/// sweep came by yet.
async fn expire(db: &Db, tenant: TenantId) -> CrmResult<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    repo::imports::expire_of(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes every tenant's expired import files: the periodic sweep (`pool` is the worker pool).
pub async fn expire_all(pool: &sqlx::PgPool) -> CrmResult<u64> {
    Ok(repo::imports::expire_all(pool).await?)
}

async fn read_status(db: &Db, tenant: TenantId, id: Uuid) -> CrmResult<ImportStatus> {
    let mut tx = db.tenant_tx(tenant).await?;
    let r = repo::imports::get(&mut tx, tenant, id).await?.ok_or(CrmError::NotFound)?;
    tx.commit().await?;
    // A run whose server stopped: its transaction was rolled back.
    let (state, message) = if r.state == "running" && r.stale {
        (
            "failed".to_string(),
            Some("the server stopped during the import; nothing was written. Run it again.".to_string()),
        )
    } else {
        (r.state, r.message)
    };
    Ok(ImportStatus {
        id: r.id,
        table_id: r.table_id,
        state,
        rows: r.row_count,
        done_rows: r.done_rows,
        inserted: r.inserted,
        skipped: r.skipped,
        phones_as_text: r.phones_as_text,
        errors: r.errors,
        message,
    })
}

/// An import's state and report (expired files first deleted).
pub async fn status(db: &Db, tenant: TenantId, id: Uuid) -> CrmResult<ImportStatus> {
    expire(db, tenant).await?;
    read_status(db, tenant, id).await
}

/// Starts a run with the given mapping; the run goes on in the background (poll [`status`]).
pub async fn run(db: &Db, tenant: TenantId, user: UserId, id: Uuid, b: RunImport) -> CrmResult<ImportStatus> {
    expire(db, tenant).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    let (table, columns, state) =
        repo::imports::lock(&mut tx, tenant, id).await?.ok_or(CrmError::NotFound)?;
    if state == "running" || state == "done" {
        return Err(CrmError::conflict("import_started", format!("this import is {state} already")));
    }
    let fields = repo::fields::of_table(&mut tx, tenant, table).await?;
    check_mapping(&b.mapping, columns.len(), &fields.iter().map(|f| f.id).collect::<Vec<_>>())?;
    repo::imports::start(&mut tx, tenant, id).await?;
    tx.commit().await?;
    let db2 = db.clone();
    tokio::spawn(async move {
        if let Err(e) = execute(&db2, tenant, user, id, table, b).await {
            tracing::warn!(import.id = %id, error = %e, "CRM import failed");
            let o = Outcome {
                state: "failed",
                message: Some(format!("the import failed and nothing was written: {e}")),
                inserted: 0,
                skipped: 0,
                phones_as_text: 0,
                errors: Value::Array(vec![]),
            };
            let _ = finish(&db2, tenant, id, &o).await;
        }
    });
    read_status(db, tenant, id).await
}

/// A mapping names a field of the table for some columns, each field at most once, and has one
/// entry per column.
fn check_mapping(mapping: &[Option<FieldId>], columns: usize, fields: &[FieldId]) -> CrmResult<()> {
    if mapping.len() != columns {
        return Err(CrmError::invalid(
            "invalid_mapping",
            format!("the file has {columns} columns; map each (null to leave one out)"),
        ));
    }
    let mut seen = Vec::new();
    for f in mapping.iter().flatten() {
        if !fields.contains(f) {
            return Err(CrmError::invalid(
                "invalid_mapping",
                format!("field {f} is not a field of this table"),
            ));
        }
        if seen.contains(f) {
            return Err(CrmError::invalid("invalid_mapping", "two columns go to the same field"));
        }
        seen.push(*f);
    }
    if seen.is_empty() {
        return Err(CrmError::invalid("invalid_mapping", "map at least one column to a field"));
    }
    Ok(())
}

async fn finish(db: &Db, tenant: TenantId, id: Uuid, o: &Outcome<'_>) -> CrmResult<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    repo::imports::finish(&mut tx, tenant, id, o).await?;
    tx.commit().await?;
    Ok(())
}

/// Progress, in a transaction of its own (seen while the run's own transaction is open).
async fn progress(db: &Db, tenant: TenantId, id: Uuid, done: usize) -> CrmResult<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    repo::imports::progress(&mut tx, tenant, id, done as i32).await?;
    tx.commit().await?;
    Ok(())
}

async fn execute(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    id: Uuid,
    table: TableId,
    b: RunImport,
) -> CrmResult<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    let (file, delimiter) = repo::imports::file(&mut tx, tenant, id).await?;
    let file = file.ok_or_else(|| anyhow::anyhow!("the file is gone"))?;
    let fields = repo::fields::of_table(&mut tx, tenant, table).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let accounts = callbase_db::accounts::list_users(&mut tx, tenant).await?;
    tx.commit().await?;
    let users: HashMap<i64, String> = accounts.iter().map(|u| (u.id.0, u.name.clone())).collect();
    // A user column may hold a login or a name as well as an id.
    let by_name: HashMap<String, i64> = accounts
        .iter()
        .flat_map(|u| [(u.name.to_lowercase(), u.id.0), (u.login.to_lowercase(), u.id.0)])
        .collect();

    let text = String::from_utf8(file).map_err(anyhow::Error::from)?;
    let d = match delimiter.as_str() {
        "tab" => b'\t',
        s => s.as_bytes()[0],
    };
    // Pass 1: check every row (CPU work off the async threads).
    let mapping = b.mapping.clone();
    let (writes, counts) = tokio::task::spawn_blocking(move || {
        check_rows(&text, d, &mapping, &fields, &rules, &users, &by_name)
    })
    .await
    .map_err(anyhow::Error::from)?;
    let phones_as_text = counts.phones_as_text as i32;
    let errors = serde_json::to_value(&counts.errors).map_err(anyhow::Error::from)?;
    if counts.skipped > 0 && !b.skip_invalid {
        let msg = format!(
            "{} rows have errors; nothing was written. Fix them, or import the other rows and skip these.",
            counts.skipped
        );
        let o = Outcome {
            state: "failed",
            message: Some(msg),
            inserted: 0,
            skipped: counts.skipped as i32,
            phones_as_text,
            errors,
        };
        return finish(db, tenant, id, &o).await;
    }
    // Pass 2: every good row in one transaction.
    let mut tx = db.tenant_tx(tenant).await?;
    let mut done = 0;
    for chunk in writes.chunks(BATCH) {
        repo::records::insert(&mut tx, tenant, table, chunk, Some(user)).await?;
        done += chunk.len();
        progress(db, tenant, id, done).await?;
    }
    tx.commit().await?;
    let o = Outcome {
        state: "done",
        message: None,
        inserted: writes.len() as i32,
        skipped: counts.skipped as i32,
        phones_as_text,
        errors,
    };
    finish(db, tenant, id, &o).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_names_each_field_once() {
        let fields = [FieldId(1), FieldId(2)];
        assert!(check_mapping(&[Some(FieldId(1)), None], 2, &fields).is_ok());
        assert!(check_mapping(&[Some(FieldId(1))], 2, &fields).is_err(), "one entry per column");
        assert!(check_mapping(&[Some(FieldId(1)), Some(FieldId(1))], 2, &fields).is_err());
        assert!(check_mapping(&[Some(FieldId(9)), None], 2, &fields).is_err(), "another table's field");
        assert!(check_mapping(&[None, None], 2, &fields).is_err());
    }
}
