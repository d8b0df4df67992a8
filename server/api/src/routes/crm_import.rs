//! CSV import into a CRM table: upload (checked: UTF-8, delimiter, row shape) → preview and
//! column mapping → run. A run checks every row first; with errors it stops and lists them (or,
//! asked to, skips those rows and lists them), then writes all rows in one transaction, so a
//! failed import leaves nothing half-written. Progress is polled.
//!
//! Imports are for administrators (a file writes up to 200 000 records at once, and lands with
//! the numbers it holds). An uploaded file waits at most [`UNRUN_TTL_HOURS`] for its run (a failed
//! run keeps it as long after the failure): then it is deleted, by the hourly sweep
//! ([`callbase_db::crm::expire_imports`]) or when it is next asked for.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::crm::FieldKind;
use callbase_core::TenantId;
use callbase_db::crm as db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::routes::crm::build_write;
use crate::AppState;

/// Largest file.
pub const FILE_MAX_BYTES: usize = 50 * 1024 * 1024;
/// Most data rows.
pub const ROWS_MAX: usize = 200_000;
/// Errors kept in the report.
const ERRORS_KEPT: usize = 1000;
/// Rows per insert statement.
const BATCH: usize = 1000;
/// An uploaded file not run (or not run again after a failure) within this many hours is deleted.
pub const UNRUN_TTL_HOURS: i32 = callbase_db::crm::IMPORT_TTL_HOURS;

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
    pub suggested: Vec<Option<i64>>,
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        d => (d as char).to_string(),
    }
}

/// The delimiter that splits the header line into the most columns (outside quotes).
fn detect_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let mut best = (b',', 0);
    for d in [b',', b';', b'\t'] {
        let mut n = 0;
        let mut quoted = false;
        for b in first.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if b == d && !quoted {
                n += 1;
            }
        }
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes())
}

/// The file as text: UTF-8 (a BOM is dropped), else a clear error.
fn as_text(bytes: &[u8]) -> ApiResult<&str> {
    let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if b.starts_with(&[0xFF, 0xFE]) || b.starts_with(&[0xFE, 0xFF]) {
        return Err(ApiError::unprocessable(
            "not_utf8",
            "the file is UTF-16: save it as \"CSV UTF-8\" and upload again",
        ));
    }
    std::str::from_utf8(b).map_err(|e| {
        ApiError::unprocessable(
            "not_utf8",
            format!(
                "the file is not UTF-8 text (byte {}): save it as \"CSV UTF-8\" (e.g. Excel: File → Save as → CSV UTF-8) and upload again",
                e.valid_up_to()
            ),
        )
    })
}

#[utoipa::path(post, path = "/api/crm/tables/{id}/imports", tag = "crm", params(("id" = i64, Path), UploadParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportPreview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(st): State<AppState>,
    AdminUser(cu): AdminUser,
    Path(table): Path<i64>,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ImportPreview>)> {
    let text = as_text(&body)?;
    if text.trim().is_empty() {
        return Err(ApiError::unprocessable("empty_file", "the file is empty"));
    }
    let delimiter = match p.delimiter.as_deref().unwrap_or("auto") {
        "auto" => detect_delimiter(text),
        "," => b',',
        ";" => b';',
        "tab" | "\t" => b'\t',
        other => {
            return Err(ApiError::unprocessable(
                "invalid_delimiter",
                format!("delimiter '{other}': use ',', ';', 'tab' or 'auto'"),
            ))
        }
    };
    let mut rd = reader(text, delimiter);
    let columns: Vec<String> = rd
        .headers()
        .map_err(|e| ApiError::unprocessable("invalid_csv", format!("the header line cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if columns.len() == 1 && detect_delimiter(text) != delimiter {
        return Err(ApiError::unprocessable(
            "wrong_delimiter",
            format!(
                "with '{}' as the delimiter the file has one column; it looks like '{}'",
                delimiter_name(delimiter),
                delimiter_name(detect_delimiter(text))
            ),
        ));
    }
    if columns.iter().all(|c| c.is_empty()) {
        return Err(ApiError::unprocessable("invalid_csv", "the first line must name the columns"));
    }
    // The file is stored and its cells become jsonb later: a NUL would fail there (500 before),
    // so headers and cells get the same control-character rule as JSON text, here at upload.
    for (i, c) in columns.iter().enumerate() {
        callbase_core::check_text(&format!("column {} of the header line", i + 1), c)?;
    }
    let mut preview = Vec::new();
    let mut rows = 0usize;
    for (i, r) in rd.records().enumerate() {
        let r = r.map_err(|e| ApiError::unprocessable("invalid_csv", format!("line {}: {e}", i + 2)))?;
        rows += 1;
        for (j, cell) in r.iter().enumerate() {
            let column = columns.get(j).map_or_else(|| format!("{}", j + 1), |c| format!("'{}'", c));
            callbase_core::check_text(&format!("line {}, column {column}", i + 2), cell)?;
        }
        if rows > ROWS_MAX {
            return Err(ApiError::unprocessable(
                "too_many_rows",
                format!("at most {ROWS_MAX} rows per import: split the file"),
            ));
        }
        if preview.len() < 10 {
            preview.push(r.iter().map(str::to_string).collect());
        }
    }
    if rows == 0 {
        return Err(ApiError::unprocessable("empty_file", "the file has a header line but no rows"));
    }
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    db::table(&mut tx, cu.tenant_id, table).await?.ok_or(ApiError::NotFound)?;
    let fields = db::fields(&mut tx, cu.tenant_id, table).await?;
    let suggested = columns
        .iter()
        .map(|c| fields.iter().find(|f| f.name.to_lowercase() == c.to_lowercase()).map(|f| f.id))
        .collect();
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO crm_imports (id, tenant_id, table_id, created_by, file, delimiter, columns, row_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(id)
        .bind(cu.tenant_id)
        .bind(table)
        .bind(cu.user_id.0)
        .bind(text.as_bytes())
        .bind(delimiter_name(delimiter))
        .bind(&columns)
        .bind(rows as i32)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ImportPreview { id, columns, preview, rows, delimiter: delimiter_name(delimiter), suggested }),
    ))
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
    pub table_id: i64,
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

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: Uuid,
    table_id: i64,
    state: String,
    row_count: i32,
    done_rows: i32,
    inserted: i32,
    skipped: i32,
    phones_as_text: i32,
    errors: Value,
    message: Option<String>,
    stale: bool,
}

/// Deletes the tenant's expired import files: a file is gone after its day, whether or not the
/// sweep came by yet.
async fn expire(st: &AppState, tenant: TenantId) -> ApiResult<()> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    callbase_db::crm::expire_imports_of(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(())
}

async fn status(st: &AppState, tenant: TenantId, id: Uuid) -> ApiResult<ImportStatus> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let r: ImportRow = sqlx::query_as(
        "SELECT id, table_id, state, row_count, done_rows, inserted, skipped, phones_as_text, errors, message, \
         heartbeat_at < now() - interval '60 seconds' AS stale FROM crm_imports WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
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

#[utoipa::path(get, path = "/api/crm/imports/{id}", tag = "crm", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportStatus), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    AdminUser(cu): AdminUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ImportStatus>> {
    expire(&st, cu.tenant_id).await?;
    Ok(Json(status(&st, cu.tenant_id, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RunImport {
    /// For each column (in order): the field it goes to, or null to leave it out.
    pub mapping: Vec<Option<i64>>,
    /// Write the good rows and list the bad ones (default: any bad row stops the import).
    #[serde(default)]
    pub skip_invalid: bool,
}

#[utoipa::path(post, path = "/api/crm/imports/{id}/run", tag = "crm", params(("id" = Uuid, Path)), request_body = RunImport,
    responses((status = 202, body = ImportStatus), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn run(
    State(st): State<AppState>,
    AdminUser(cu): AdminUser,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<RunImport>,
) -> ApiResult<(StatusCode, Json<ImportStatus>)> {
    expire(&st, cu.tenant_id).await?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let row: (i64, Vec<String>, String) = sqlx::query_as(
        "SELECT table_id, columns, state FROM crm_imports WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(cu.tenant_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
    let (table, columns, state) = row;
    if state == "running" || state == "done" {
        return Err(ApiError::conflict("import_started", format!("this import is {state} already")));
    }
    let fields = db::fields(&mut tx, cu.tenant_id, table).await?;
    if b.mapping.len() != columns.len() {
        return Err(ApiError::unprocessable(
            "invalid_mapping",
            format!("the file has {} columns; map each (null to leave one out)", columns.len()),
        ));
    }
    let mut seen = Vec::new();
    for f in b.mapping.iter().flatten() {
        if !fields.iter().any(|x| x.id == *f) {
            return Err(ApiError::unprocessable(
                "invalid_mapping",
                format!("field {f} is not a field of this table"),
            ));
        }
        if seen.contains(f) {
            return Err(ApiError::unprocessable("invalid_mapping", "two columns go to the same field"));
        }
        seen.push(*f);
    }
    if seen.is_empty() {
        return Err(ApiError::unprocessable("invalid_mapping", "map at least one column to a field"));
    }
    sqlx::query(
        "UPDATE crm_imports SET state = 'running', done_rows = 0, inserted = 0, skipped = 0, errors = '[]', message = NULL, heartbeat_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let st2 = st.clone();
    let tenant = cu.tenant_id;
    let user = cu.user_id.0;
    tokio::spawn(async move {
        if let Err(e) = execute(&st2, tenant, user, id, table, b).await {
            tracing::warn!(import.id = %id, error = %e, "CRM import failed");
            let _ = finish(
                &st2,
                tenant,
                id,
                "failed",
                Some(format!("the import failed and nothing was written: {e}")),
                None,
            )
            .await;
        }
    });
    Ok((StatusCode::ACCEPTED, Json(status(&st, cu.tenant_id, id).await?)))
}

struct Counts {
    inserted: usize,
    skipped: usize,
    phones_as_text: usize,
    errors: Vec<RowError>,
}

async fn finish(
    st: &AppState,
    tenant: TenantId,
    id: Uuid,
    state: &str,
    message: Option<String>,
    c: Option<&Counts>,
) -> anyhow::Result<()> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let (inserted, skipped, phones, errors) = match c {
        Some(c) => {
            (c.inserted as i32, c.skipped as i32, c.phones_as_text as i32, serde_json::to_value(&c.errors)?)
        }
        None => (0, 0, 0, Value::Array(vec![])),
    };
    // The file is kept after a failure (run again with another mapping), dropped once imported.
    sqlx::query(
        "UPDATE crm_imports SET state = $3, message = $4, inserted = $5, skipped = $6, phones_as_text = $7, \
         errors = CASE WHEN $8::jsonb = '[]'::jsonb THEN errors ELSE $8 END, \
         file = CASE WHEN $3 = 'done' THEN NULL ELSE file END, heartbeat_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(state)
    .bind(message)
    .bind(inserted)
    .bind(skipped)
    .bind(phones)
    .bind(errors)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn progress(st: &AppState, tenant: TenantId, id: Uuid, done: usize) -> anyhow::Result<()> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    sqlx::query(
        "UPDATE crm_imports SET done_rows = $3, heartbeat_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(done as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn execute(
    st: &AppState,
    tenant: TenantId,
    user: i64,
    id: Uuid,
    table: i64,
    b: RunImport,
) -> anyhow::Result<()> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let (file, delimiter): (Option<Vec<u8>>, String) =
        sqlx::query_as("SELECT file, delimiter FROM crm_imports WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let file = file.ok_or_else(|| anyhow::anyhow!("the file is gone"))?;
    let fields = db::fields(&mut tx, tenant, table).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let users: HashMap<i64, String> = callbase_db::accounts::user_names(&mut tx, tenant).await?;
    // A user column may hold a login or a name as well as an id.
    let by_name: HashMap<String, i64> =
        sqlx::query_as::<_, (i64, String, String)>("SELECT id, name, login FROM users WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .flat_map(|(id, name, login)| [(name.to_lowercase(), id), (login.to_lowercase(), id)])
            .collect();
    tx.commit().await?;

    let text = std::str::from_utf8(&file)?;
    let d = match delimiter.as_str() {
        "tab" => b'\t',
        s => s.as_bytes()[0],
    };
    // Pass 1: check every row (CPU work off the async threads).
    let fields2 = fields.clone();
    let text2 = text.to_string();
    let mapping = b.mapping.clone();
    let (writes, counts) = tokio::task::spawn_blocking(move || {
        let mut writes = Vec::new();
        let mut c = Counts { inserted: 0, skipped: 0, phones_as_text: 0, errors: Vec::new() };
        let mut rd = reader(&text2, d);
        for (i, r) in rd.records().enumerate() {
            let line = i + 2;
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    c.errors.push(RowError { line, field: String::new(), message: e.to_string() });
                    c.skipped += 1;
                    continue;
                }
            };
            let mut values = serde_json::Map::new();
            for (col, f) in mapping.iter().enumerate() {
                let Some(f) = f else { continue };
                let cell = r.get(col).unwrap_or("").trim();
                let fr = fields2.iter().find(|x| x.id == *f).expect("mapping checked");
                let v =
                    if fr.def().kind == FieldKind::User && !cell.is_empty() && cell.parse::<i64>().is_err() {
                        by_name
                            .get(&cell.to_lowercase())
                            .map(|id| Value::from(*id))
                            .unwrap_or(Value::String(cell.to_string()))
                    } else {
                        Value::String(cell.to_string())
                    };
                values.insert(f.to_string(), v);
            }
            match build_write(&fields2, &rules, &values, &|id| users.get(&id).cloned()) {
                Ok(w) => {
                    let phones = fields2
                        .iter()
                        .filter(|f| {
                            f.def().kind == FieldKind::Phone && w.data.contains_key(&f.id.to_string())
                        })
                        .count();
                    c.phones_as_text += phones - w.phones.len();
                    writes.push(w);
                }
                Err((field, message)) => {
                    if c.errors.len() < ERRORS_KEPT {
                        c.errors.push(RowError { line, field, message });
                    }
                    c.skipped += 1;
                }
            }
        }
        (writes, c)
    })
    .await?;
    if counts.skipped > 0 && !b.skip_invalid {
        let msg = format!(
            "{} rows have errors; nothing was written. Fix them, or import the other rows and skip these.",
            counts.skipped
        );
        let c = Counts { inserted: 0, ..counts };
        finish(st, tenant, id, "failed", Some(msg), Some(&c)).await?;
        return Ok(());
    }
    // Pass 2: every good row in one transaction.
    let mut tx = st.db.tenant_tx(tenant).await?;
    let mut done = 0;
    for chunk in writes.chunks(BATCH) {
        db::insert_records(&mut tx, tenant, table, chunk, Some(user)).await?;
        done += chunk.len();
        progress(st, tenant, id, done).await?;
    }
    tx.commit().await?;
    let c = Counts { inserted: writes.len(), ..counts };
    finish(st, tenant, id, "done", None, Some(&c)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter("name;phone;e-mail\n"), b';');
        assert_eq!(detect_delimiter("\"a;b\",c\n"), b',');
        assert_eq!(detect_delimiter("a\tb\tc\n"), b'\t');
    }

    #[test]
    fn only_utf8_text_is_taken() {
        assert_eq!(as_text(b"\xEF\xBB\xBFname\n").unwrap(), "name\n");
        assert!(as_text(b"\xc8\xec\xff").is_err(), "windows-1251 is refused");
        assert!(as_text(b"\xFF\xFEn\x00").is_err());
    }
}
