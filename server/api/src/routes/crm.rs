//! CRM: tables, typed fields, records (list with sorting, filters, quick search, pages; create,
//! edit, delete), CSV export, phone lookup (caller matching) and number masking.
//!
//! Everyone signed in works with records; administrators shape tables and fields. Phone values are
//! stored as typed plus their E.164 form (dial rules); members of the masked groups see them
//! masked in every response and export, and call them by reference (`record`, `field`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use callbase_core::crm::{self as core_crm, FieldKind, FilterOp, MaskMode};
use callbase_core::dial::DialRules;
use callbase_core::TenantId;
use callbase_db::crm as db;
use callbase_db::Tx;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AdminUser, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

/// Most fields in a table.
pub const FIELDS_MAX: usize = 60;
/// Most tables of a tenant.
pub const TABLES_MAX: i64 = 50;
/// Largest page.
pub const PER_PAGE_MAX: i64 = 200;
/// Counting stops here ("more than 10 000"): an unfiltered count walks a small index.
pub const COUNT_CAP: i64 = 10_000;
/// With filters or a search, counting stops sooner ("more than 1 000"): each counted row costs a
/// probe, and the page must stay fast at a million rows.
pub const COUNT_CAP_FILTERED: i64 = 1_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Field {
    pub id: i64,
    pub name: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub is_title: bool,
    pub position: i32,
}

impl From<&db::FieldRow> for Field {
    fn from(f: &db::FieldRow) -> Self {
        Field {
            id: f.id,
            name: f.name.clone(),
            kind: f.def().kind,
            options: f.options.clone(),
            is_title: f.is_title,
            position: f.position,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Table {
    pub id: i64,
    pub name: String,
    pub call_table: bool,
    /// Fields shown on the call card, in order.
    pub card_field_ids: Vec<i64>,
    /// In the list of tables: records counted up to 10 001 (more: "10 000+"); 0 elsewhere.
    pub record_count: i64,
    pub fields: Vec<Field>,
}

pub use callbase_core::crm::Masking;

/// The masking that applies to `cu` (a member of any masked group).
pub async fn masking_for(tx: &mut Tx, cu: &CurrentUser) -> sqlx::Result<Option<Masking>> {
    let row: Option<(Vec<i64>, String, i32)> =
        sqlx::query_as("SELECT mask_group_ids, mask_mode, mask_chars FROM telephony WHERE tenant_id = $1")
            .bind(cu.tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((groups, mode, chars)) = row else {
        return Ok(None);
    };
    let masked = cu.groups.iter().any(|(g, _, _)| groups.contains(&g.0));
    Ok(masked.then(|| Masking {
        mode: if mode == "hidden" { MaskMode::Hidden } else { MaskMode::Prefix },
        chars: chars.max(1) as usize,
    }))
}

/// A phone value of a record.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneValue {
    /// E.164 (masked for masked users); null when the value could not be normalised.
    pub e164: Option<String>,
    /// False: kept as typed, cannot be dialled as it is.
    pub valid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Record {
    pub id: i64,
    pub table_id: i64,
    /// `{field id: value}` (phone values masked for masked users).
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
    /// Phone fields: `{field id: {e164, valid}}`.
    pub phones: HashMap<String, PhoneValue>,
    /// The title field's value.
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// Context for shaping records: the table's fields, user names, the viewer's masking.
pub struct Shaper {
    pub fields: Vec<db::FieldRow>,
    pub rules: DialRules,
    pub masking: Option<Masking>,
}

impl Shaper {
    pub fn record(&self, r: &db::RecordRow) -> Record {
        let mut values = serde_json::Map::new();
        let mut phones = HashMap::new();
        let mut title = String::new();
        let data = r.data.as_object();
        for f in &self.fields {
            let key = f.id.to_string();
            let Some(v) = data.and_then(|d| d.get(&key)) else {
                continue;
            };
            if f.is_title {
                title = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            }
            if f.def().kind == FieldKind::Phone {
                let raw = v.as_str().unwrap_or_default();
                let e164 = self.rules.to_e164(raw);
                let valid = e164.is_some();
                match self.masking {
                    Some(m) => {
                        values.insert(key.clone(), Value::String(m.apply(e164.as_deref().unwrap_or(raw))));
                        phones.insert(key, PhoneValue { e164: e164.map(|e| m.apply(&e)), valid });
                    }
                    None => {
                        values.insert(key.clone(), v.clone());
                        phones.insert(key, PhoneValue { e164, valid });
                    }
                }
            } else {
                values.insert(key, v.clone());
            }
        }
        Record {
            id: r.id,
            table_id: r.table_id,
            values,
            phones,
            title,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

async fn shaper(tx: &mut Tx, cu: &CurrentUser, table: i64) -> ApiResult<Shaper> {
    let fields = db::fields(tx, cu.tenant_id, table).await?;
    let rules = callbase_db::settings::dial_rules(tx, cu.tenant_id).await?;
    let masking = masking_for(tx, cu).await?;
    Ok(Shaper { fields, rules, masking })
}

async fn table_or_404(tx: &mut Tx, tenant: TenantId, id: i64) -> ApiResult<db::TableRow> {
    db::table(tx, tenant, id).await?.ok_or(ApiError::NotFound)
}

async fn full_table(tx: &mut Tx, tenant: TenantId, t: db::TableRow) -> ApiResult<Table> {
    let fields = db::fields(tx, tenant, t.id).await?;
    Ok(Table {
        id: t.id,
        name: t.name,
        call_table: t.call_table,
        card_field_ids: t.card_field_ids,
        record_count: t.record_count,
        fields: fields.iter().map(Field::from).collect(),
    })
}

fn parse_name(raw: &str, what: &str) -> ApiResult<String> {
    let s = raw.trim();
    if (1..=100).contains(&s.chars().count()) && !s.chars().any(char::is_control) {
        Ok(s.to_string())
    } else {
        Err(ApiError::unprocessable("invalid_name", format!("{what} name must be 1–100 characters")))
    }
}

#[utoipa::path(get, path = "/api/crm/tables", tag = "crm", responses((status = 200, body = [Table])))]
pub async fn list_tables(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<Vec<Table>>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let mut out = Vec::new();
    for t in db::list_tables(&mut tx, cu.tenant_id).await? {
        out.push(full_table(&mut tx, cu.tenant_id, t).await?);
    }
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTable {
    pub name: String,
}

/// A new table starts with a "Name" text field (its title).
#[utoipa::path(post, path = "/api/crm/tables", tag = "crm", request_body = CreateTable,
    responses((status = 201, body = Table), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_table(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<CreateTable>,
) -> ApiResult<(StatusCode, Json<Table>)> {
    let name = parse_name(&b.name, "table")?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_tables WHERE tenant_id = $1")
        .bind(a.tenant_id)
        .fetch_one(&mut *tx)
        .await?;
    if n >= TABLES_MAX {
        return Err(ApiError::unprocessable("too_many_tables", format!("at most {TABLES_MAX} tables")));
    }
    let id = match db::insert_table(&mut tx, a.tenant_id, &name).await {
        Err(e) if callbase_db::constraint(&e) == Some("crm_tables_tenant_name_key") => {
            return Err(ApiError::conflict(
                "table_name_taken",
                format!("a table named '{name}' exists already"),
            ))
        }
        r => r?,
    };
    db::insert_field(&mut tx, a.tenant_id, id, "Name", FieldKind::Text, &[]).await?;
    let t = table_or_404(&mut tx, a.tenant_id, id).await?;
    let t = full_table(&mut tx, a.tenant_id, t).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchTable {
    pub name: Option<String>,
    pub call_table: Option<bool>,
    pub card_field_ids: Option<Vec<i64>>,
}

#[utoipa::path(patch, path = "/api/crm/tables/{id}", tag = "crm", params(("id" = i64, Path)), request_body = PatchTable,
    responses((status = 200, body = Table), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_table(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PatchTable>,
) -> ApiResult<Json<Table>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let t = table_or_404(&mut tx, a.tenant_id, id).await?;
    let name = match &b.name {
        Some(n) => parse_name(n, "table")?,
        None => t.name.clone(),
    };
    let card = match b.card_field_ids {
        Some(ids) => {
            let fields = db::fields(&mut tx, a.tenant_id, id).await?;
            if let Some(bad) = ids.iter().find(|i| !fields.iter().any(|f| f.id == **i)) {
                return Err(ApiError::unprocessable(
                    "unknown_field",
                    format!("field {bad} is not a field of this table"),
                ));
            }
            if ids.len() > 8 {
                return Err(ApiError::unprocessable(
                    "too_many_card_fields",
                    "a call card shows at most 8 fields",
                ));
            }
            ids
        }
        None => t.card_field_ids.clone(),
    };
    match db::update_table(&mut tx, a.tenant_id, id, &name, b.call_table.unwrap_or(t.call_table), &card).await
    {
        Err(e) if callbase_db::constraint(&e) == Some("crm_tables_tenant_name_key") => {
            return Err(ApiError::conflict(
                "table_name_taken",
                format!("a table named '{name}' exists already"),
            ))
        }
        r => r?,
    };
    let t = table_or_404(&mut tx, a.tenant_id, id).await?;
    let t = full_table(&mut tx, a.tenant_id, t).await?;
    tx.commit().await?;
    Ok(Json(t))
}

#[utoipa::path(delete, path = "/api/crm/tables/{id}", tag = "crm", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_table(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if !db::delete_table(&mut tx, a.tenant_id, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateField {
    pub name: String,
    /// text, long_text, number, date, select, phone, email, user.
    pub kind: String,
    #[serde(default)]
    pub options: Vec<String>,
}

fn parse_options(kind: FieldKind, raw: &[String]) -> ApiResult<Vec<String>> {
    if kind != FieldKind::Select {
        return Ok(vec![]);
    }
    let mut out: Vec<String> = Vec::new();
    for o in raw {
        let o = o.trim();
        if o.is_empty() || o.chars().count() > 100 || o.chars().any(char::is_control) {
            return Err(ApiError::unprocessable("invalid_options", "each choice is 1–100 characters"));
        }
        if out.iter().any(|x| x.to_lowercase() == o.to_lowercase()) {
            return Err(ApiError::unprocessable("invalid_options", format!("choice '{o}' is given twice")));
        }
        out.push(o.to_string());
    }
    if out.is_empty() || out.len() > 100 {
        return Err(ApiError::unprocessable("invalid_options", "a select field needs 1–100 choices"));
    }
    Ok(out)
}

#[utoipa::path(post, path = "/api/crm/tables/{id}/fields", tag = "crm", params(("id" = i64, Path)), request_body = CreateField,
    responses((status = 201, body = Field), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_field(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CreateField>,
) -> ApiResult<(StatusCode, Json<Field>)> {
    let name = parse_name(&b.name, "field")?;
    let kind = FieldKind::parse(&b.kind).ok_or_else(|| {
        ApiError::unprocessable(
            "unknown_field_type",
            format!(
                "field '{name}': unknown type '{}' (one of: {})",
                b.kind,
                FieldKind::ALL.map(FieldKind::as_str).join(", ")
            ),
        )
    })?;
    let options = parse_options(kind, &b.options)?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    table_or_404(&mut tx, a.tenant_id, id).await?;
    let fields = db::fields(&mut tx, a.tenant_id, id).await?;
    if fields.len() >= FIELDS_MAX {
        return Err(ApiError::unprocessable(
            "too_many_fields",
            format!("a table has at most {FIELDS_MAX} fields"),
        ));
    }
    let fid = match db::insert_field(&mut tx, a.tenant_id, id, &name, kind, &options).await {
        Err(e) if callbase_db::constraint(&e) == Some("crm_fields_table_name_key") => {
            return Err(ApiError::conflict(
                "field_name_taken",
                format!("the table has a field named '{name}' already"),
            ))
        }
        r => r?,
    };
    let f = db::fields(&mut tx, a.tenant_id, id)
        .await?
        .into_iter()
        .find(|f| f.id == fid)
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(Field::from(&f))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchField {
    pub name: Option<String>,
    /// Select fields: the choices (values no longer offered stay on the records that have them).
    pub options: Option<Vec<String>>,
    pub position: Option<i32>,
}

#[utoipa::path(patch, path = "/api/crm/tables/{id}/fields/{field_id}", tag = "crm", params(("id" = i64, Path), ("field_id" = i64, Path)),
    request_body = PatchField, responses((status = 200, body = Field), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_field(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path((id, fid)): Path<(i64, i64)>,
    ApiJson(b): ApiJson<PatchField>,
) -> ApiResult<Json<Field>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let f = db::fields(&mut tx, a.tenant_id, id)
        .await?
        .into_iter()
        .find(|f| f.id == fid)
        .ok_or(ApiError::NotFound)?;
    let name = match &b.name {
        Some(n) => parse_name(n, "field")?,
        None => f.name.clone(),
    };
    let options = match &b.options {
        Some(o) => parse_options(f.def().kind, o)?,
        None => f.options.clone(),
    };
    match db::update_field(&mut tx, a.tenant_id, fid, &name, &options, b.position.unwrap_or(f.position)).await
    {
        Err(e) if callbase_db::constraint(&e) == Some("crm_fields_table_name_key") => {
            return Err(ApiError::conflict(
                "field_name_taken",
                format!("the table has a field named '{name}' already"),
            ))
        }
        r => r?,
    };
    let f = db::fields(&mut tx, a.tenant_id, id)
        .await?
        .into_iter()
        .find(|f| f.id == fid)
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(Json(Field::from(&f)))
}

#[utoipa::path(delete, path = "/api/crm/tables/{id}/fields/{field_id}", tag = "crm", params(("id" = i64, Path), ("field_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_field(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path((id, fid)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let fields = db::fields(&mut tx, a.tenant_id, id).await?;
    let f = fields.iter().find(|f| f.id == fid).ok_or(ApiError::NotFound)?;
    if f.is_title {
        return Err(ApiError::conflict("title_field", "the title field cannot be deleted"));
    }
    db::delete_field(&mut tx, a.tenant_id, id, fid).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks `values` against the table's fields. Unknown fields and wrong types are 422 naming the
/// field.
pub async fn check_values(
    tx: &mut Tx,
    tenant: TenantId,
    fields: &[db::FieldRow],
    rules: &DialRules,
    values: &serde_json::Map<String, Value>,
) -> ApiResult<db::RecordWrite> {
    let users: HashMap<i64, String> = callbase_db::accounts::user_names(tx, tenant).await?;
    for k in values.keys() {
        if !fields.iter().any(|f| f.id.to_string() == *k) {
            return Err(ApiError::unprocessable(
                "unknown_field",
                format!("field {k} is not a field of this table"),
            ));
        }
    }
    build_write(fields, rules, values, &|id| users.get(&id).cloned())
        .map_err(|(f, e)| ApiError::unprocessable("invalid_value", format!("{f}: {e}")))
}

/// The write for one record (`Err((field name, reason))` at the first bad value).
pub fn build_write(
    fields: &[db::FieldRow],
    rules: &DialRules,
    values: &serde_json::Map<String, Value>,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Result<db::RecordWrite, (String, String)> {
    let mut w = db::RecordWrite::default();
    let mut search = Vec::new();
    for f in fields {
        let def = f.def();
        let raw = values.get(&f.id.to_string()).unwrap_or(&Value::Null);
        match core_crm::clean_value(&def, raw, rules, user_name) {
            Ok(Some(c)) => {
                w.data.insert(f.id.to_string(), c.json);
                w.keys.push((f.id, Some(c.key)));
                if !c.search.is_empty() {
                    search.push(c.search);
                }
                if let Some(e) = c.e164 {
                    w.phones.push((f.id, e));
                }
            }
            Ok(None) => w.keys.push((f.id, None)),
            Err(e) => return Err((f.name.clone(), e)),
        }
    }
    w.search = search.join(" ");
    Ok(w)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecordBody {
    /// `{field id: value}`.
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
}

#[utoipa::path(post, path = "/api/crm/tables/{id}/records", tag = "crm", params(("id" = i64, Path)), request_body = RecordBody,
    responses((status = 201, body = Record), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RecordBody>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    table_or_404(&mut tx, cu.tenant_id, id).await?;
    let sh = shaper(&mut tx, &cu, id).await?;
    let w = check_values(&mut tx, cu.tenant_id, &sh.fields, &sh.rules, &b.values).await?;
    let ids = db::insert_records(&mut tx, cu.tenant_id, id, &[w], Some(cu.user_id.0)).await?;
    let r = db::record(&mut tx, cu.tenant_id, ids[0]).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(sh.record(&r))))
}

#[utoipa::path(get, path = "/api/crm/records/{id}", tag = "crm", params(("id" = i64, Path)),
    responses((status = 200, body = Record), (status = 404, body = ErrorBody)))]
pub async fn get_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Record>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = db::record(&mut tx, cu.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    let sh = shaper(&mut tx, &cu, r.table_id).await?;
    tx.commit().await?;
    Ok(Json(sh.record(&r)))
}

/// Changes the given fields (others keep their values; null clears one). A masked user cannot
/// change a phone field (they never saw it).
#[utoipa::path(patch, path = "/api/crm/records/{id}", tag = "crm", params(("id" = i64, Path)), request_body = RecordBody,
    responses((status = 200, body = Record), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RecordBody>,
) -> ApiResult<Json<Record>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = db::record(&mut tx, cu.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    let sh = shaper(&mut tx, &cu, r.table_id).await?;
    if sh.masking.is_some() {
        let phone = sh
            .fields
            .iter()
            .find(|f| f.def().kind == FieldKind::Phone && b.values.contains_key(&f.id.to_string()));
        if let Some(f) = phone {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                format!("'{}': numbers are hidden from you, so you cannot change them", f.name),
            ));
        }
    }
    let mut values = r.data.as_object().cloned().unwrap_or_default();
    for (k, v) in b.values {
        values.insert(k, v);
    }
    let w = check_values(&mut tx, cu.tenant_id, &sh.fields, &sh.rules, &values).await?;
    db::update_record(&mut tx, cu.tenant_id, r.table_id, id, &w).await?;
    let r = db::record(&mut tx, cu.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(Json(sh.record(&r)))
}

#[utoipa::path(delete, path = "/api/crm/records/{id}", tag = "crm", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = db::record(&mut tx, cu.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    db::delete_records(&mut tx, cu.tenant_id, r.table_id, &[id]).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1-based.
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    /// Field id to sort by (default: newest first).
    pub sort: Option<i64>,
    #[serde(default)]
    pub desc: bool,
    /// Quick search over every value.
    pub q: Option<String>,
    /// JSON array of `{"field": id, "op": "contains|equals|greater|less|empty|not_empty", "value": "…"}`.
    pub filters: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FilterIn {
    field: i64,
    op: FilterOp,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    pub records: Vec<Record>,
    /// Matching records, counted up to 10 000 (1 000 with filters or a search).
    pub total: i64,
    /// True when there are more than `total`.
    pub total_capped: bool,
    pub page: i64,
    pub per_page: i64,
}

fn list_query(sh: &Shaper, table: i64, p: &ListParams) -> ApiResult<db::ListQuery> {
    let per_page = p.per_page.unwrap_or(50).clamp(1, PER_PAGE_MAX);
    let page = p.page.unwrap_or(1).max(1);
    if page > 100_000 {
        return Err(ApiError::unprocessable(
            "invalid_page",
            "narrow the list with a filter or search instead",
        ));
    }
    let field = |id: i64| {
        sh.fields.iter().find(|f| f.id == id).ok_or_else(|| {
            ApiError::unprocessable("unknown_field", format!("field {id} is not a field of this table"))
        })
    };
    if let Some(s) = p.sort {
        let fr = field(s)?;
        // Sorting by a number they cannot see, beside records whose numbers they chose, would let a
        // masked user binary-search it.
        if sh.masking.is_some() && fr.def().kind == FieldKind::Phone {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                format!("'{}': numbers are hidden from you, so you cannot sort by them", fr.name),
            ));
        }
    }
    let mut filters = Vec::new();
    if let Some(raw) = p.filters.as_deref().filter(|s| !s.trim().is_empty()) {
        let list: Vec<FilterIn> = serde_json::from_str(raw)
            .map_err(|e| ApiError::unprocessable("invalid_filters", format!("filters: {e}")))?;
        if list.len() > 10 {
            return Err(ApiError::unprocessable("invalid_filters", "at most 10 filters"));
        }
        for f in list {
            // Inside the JSON of `filters` a NUL arrives escaped (`\u0000`), past the query check.
            callbase_core::check_text("filters", &f.value)?;
            let fr = field(f.field)?;
            let def = fr.def();
            if sh.masking.is_some()
                && def.kind == FieldKind::Phone
                && !matches!(f.op, FilterOp::Empty | FilterOp::NotEmpty)
            {
                return Err(ApiError::forbidden_code(
                    "masked_numbers",
                    format!("'{}': numbers are hidden from you", fr.name),
                ));
            }
            let operand = core_crm::filter_operand(&def, f.op, &f.value, &sh.rules)
                .map_err(|e| ApiError::unprocessable("invalid_filter", format!("{}: {e}", fr.name)))?;
            filters.push(db::Filter { field: f.field, kind: def.kind, op: f.op, operand });
        }
    }
    let q = p.q.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    if q.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::unprocessable("invalid_search", "search for at most 100 characters"));
    }
    // A masked user searching digits would learn numbers by probing: they search names only.
    let q = match (&sh.masking, q) {
        (Some(_), Some(s)) if s.chars().filter(char::is_ascii_digit).count() >= 3 => {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                "numbers are hidden from you: search by name",
            ))
        }
        (_, q) => q,
    };
    // Shorter ones (and punctuation) must not match numbers either: their search looks at the
    // values they can see (text, e-mail, select, user names), never at phone values.
    let search_fields = sh.masking.map(|_| db::SearchFields {
        text: sh
            .fields
            .iter()
            .filter(|f| {
                matches!(
                    f.def().kind,
                    FieldKind::Text | FieldKind::LongText | FieldKind::Email | FieldKind::Select
                )
            })
            .map(|f| f.id.to_string())
            .collect(),
        users: sh
            .fields
            .iter()
            .filter(|f| f.def().kind == FieldKind::User)
            .map(|f| f.id.to_string())
            .collect(),
    });
    Ok(db::ListQuery {
        table,
        sort: p.sort,
        desc: p.desc,
        filters,
        q,
        search_fields,
        hits: None,
        limit: per_page,
        offset: (page - 1) * per_page,
    })
}

/// Text searches (the quick search, else the first "contains" filter: a record's search text holds
/// every field's text) looked up through the trigram index first ([`db::search_ids`]).
async fn with_hits(st: &AppState, tenant: TenantId, q: &mut db::ListQuery) -> ApiResult<()> {
    let probe = q
        .q
        .clone()
        .or_else(|| q.filters.iter().find(|f| f.op == FilterOp::Contains).and_then(|f| f.operand.clone()));
    if let Some(text) = probe {
        q.hits = db::search_ids(&st.db, tenant, q.table, &text).await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/crm/tables/{id}/records", tag = "crm", params(("id" = i64, Path), ListParams),
    responses((status = 200, body = RecordPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_records(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<RecordPage>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    table_or_404(&mut tx, cu.tenant_id, id).await?;
    let sh = shaper(&mut tx, &cu, id).await?;
    let mut q = list_query(&sh, id, &p)?;
    with_hits(&st, cu.tenant_id, &mut q).await?;
    let rows = db::list_records(&mut tx, cu.tenant_id, &q).await?;
    let cap = if q.filters.is_empty() && q.q.is_none() { COUNT_CAP } else { COUNT_CAP_FILTERED };
    let total = db::count_records(&mut tx, cu.tenant_id, &q, cap + 1).await?;
    tx.commit().await?;
    Ok(Json(RecordPage {
        records: rows.iter().map(|r| sh.record(r)).collect(),
        total: total.min(cap),
        total_capped: total > cap,
        page: q.offset / q.limit + 1,
        per_page: q.limit,
    }))
}

/// CSV of the current filtered, sorted view (every page; at most 100 000 rows). Cells that a
/// spreadsheet would run as formulas are neutralised; masked users get masked numbers.
#[utoipa::path(get, path = "/api/crm/tables/{id}/export.csv", tag = "crm", params(("id" = i64, Path), ListParams),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_csv(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let t = table_or_404(&mut tx, cu.tenant_id, id).await?;
    let sh = shaper(&mut tx, &cu, id).await?;
    let mut q = list_query(&sh, id, &ListParams { page: Some(1), per_page: Some(1), ..p })?;
    with_hits(&st, cu.tenant_id, &mut q).await?;
    let users: HashMap<i64, String> = callbase_db::accounts::user_names(&mut tx, cu.tenant_id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = sh.fields.iter().map(|f| core_crm::csv_safe(&f.name)).collect();
    w.write_record(&header).map_err(|e| ApiError::Internal(e.into()))?;
    q.limit = 5000;
    q.offset = 0;
    loop {
        let rows = db::list_records(&mut tx, cu.tenant_id, &q).await?;
        for r in &rows {
            let rec = sh.record(r);
            let cells: Vec<String> = sh
                .fields
                .iter()
                .map(|f| {
                    let v = rec.values.get(&f.id.to_string());
                    let s = match (f.def().kind, v) {
                        (_, None) => String::new(),
                        (FieldKind::User, Some(v)) => {
                            v.as_i64().and_then(|i| users.get(&i).cloned()).unwrap_or_default()
                        }
                        // A number that could be normalised goes out in E.164 (spreadsheets keep
                        // it as text); others as typed (neutralised below if need be).
                        (FieldKind::Phone, Some(v)) if sh.masking.is_none() => {
                            match rec.phones.get(&f.id.to_string()).and_then(|p| p.e164.clone()) {
                                Some(e) => e,
                                None => v.as_str().unwrap_or_default().to_string(),
                            }
                        }
                        (_, Some(Value::String(s))) => s.clone(),
                        (_, Some(v)) => v.to_string(),
                    };
                    core_crm::csv_safe(&s)
                })
                .collect();
            w.write_record(&cells).map_err(|e| ApiError::Internal(e.into()))?;
        }
        if (rows.len() as i64) < q.limit || q.offset >= 95_000 {
            break;
        }
        q.offset += q.limit;
    }
    tx.commit().await?;
    let body = w.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!(e.to_string())))?;
    let name = format!("{}.csv", t.name.replace(|c: char| !c.is_alphanumeric(), "_"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, callbase_recordings::names::attachment(&name)),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// A phone number in any form the dial rules know.
    pub number: String,
}

/// A record matched to a number, with its call-card fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardMatch {
    pub record_id: i64,
    pub table_id: i64,
    pub table_name: String,
    pub title: String,
    /// The matched phone field (for calling back by reference).
    pub field_id: i64,
    pub card: Vec<CardField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardField {
    pub field_id: i64,
    pub name: String,
    pub kind: FieldKind,
    /// Display text (user references as names, numbers masked for masked users).
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Lookup {
    /// The number in E.164 (masked for masked users); null when it cannot be normalised.
    pub e164: Option<String>,
    pub matches: Vec<CardMatch>,
    /// The matches are "similar number" matches (all but the last digits).
    pub similar: bool,
}

/// Caller matching: the records of the call tables holding the number (exact E.164), else —
/// when the tenant turned it on — those differing only in the last N digits.
pub async fn lookup_number(tx: &mut Tx, cu: &CurrentUser, number: &str) -> ApiResult<Lookup> {
    let rules = callbase_db::settings::dial_rules(tx, cu.tenant_id).await?;
    let masking = masking_for(tx, cu).await?;
    let Some(e164) = rules.to_e164(number) else {
        return Ok(Lookup { e164: None, matches: vec![], similar: false });
    };
    let similar_digits: Option<i32> =
        sqlx::query_scalar("SELECT similar_match_digits FROM telephony WHERE tenant_id = $1")
            .bind(cu.tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    let (found, similar) =
        db::match_phone(tx, cu.tenant_id, &e164, similar_digits.unwrap_or(0).max(0) as usize, 20).await?;
    let users: HashMap<i64, String> = callbase_db::accounts::user_names(tx, cu.tenant_id).await?;
    let mut tables = Vec::new();
    for id in found.iter().map(|m| m.table_id).collect::<std::collections::BTreeSet<_>>() {
        tables.extend(db::table(tx, cu.tenant_id, id).await?);
    }
    let mut matches = Vec::new();
    let mut shapers: HashMap<i64, Shaper> = HashMap::new();
    for m in found {
        let Some(t) = tables.iter().find(|t| t.id == m.table_id) else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = shapers.entry(t.id) {
            let fields = db::fields(tx, cu.tenant_id, t.id).await?;
            slot.insert(Shaper { fields, rules: rules.clone(), masking });
        }
        let sh = &shapers[&t.id];
        let Some(r) = db::record(tx, cu.tenant_id, m.record_id).await? else {
            continue;
        };
        let rec = sh.record(&r);
        let card_ids: Vec<i64> = if t.card_field_ids.is_empty() {
            sh.fields.iter().take(5).map(|f| f.id).collect()
        } else {
            t.card_field_ids.clone()
        };
        let card = card_ids
            .iter()
            .filter_map(|id| sh.fields.iter().find(|f| f.id == *id))
            .map(|f| {
                let v = rec.values.get(&f.id.to_string());
                let value = match (f.def().kind, v) {
                    (_, None) => String::new(),
                    (FieldKind::User, Some(v)) => {
                        v.as_i64().and_then(|i| users.get(&i).cloned()).unwrap_or_default()
                    }
                    (_, Some(Value::String(s))) => s.clone(),
                    (_, Some(v)) => v.to_string(),
                };
                CardField { field_id: f.id, name: f.name.clone(), kind: f.def().kind, value }
            })
            .collect();
        matches.push(CardMatch {
            record_id: r.id,
            table_id: t.id,
            table_name: t.name.clone(),
            title: rec.title,
            field_id: m.field_id,
            card,
        });
    }
    let e164 = Some(match masking {
        Some(m) => m.apply(&e164),
        None => e164,
    });
    Ok(Lookup { e164, matches, similar })
}

#[utoipa::path(get, path = "/api/crm/lookup", tag = "crm", params(LookupParams),
    responses((status = 200, body = Lookup), (status = 403, body = ErrorBody)))]
pub async fn lookup(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(p): ApiQuery<LookupParams>,
) -> ApiResult<Json<Lookup>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    if masking_for(&mut tx, &cu).await?.is_some() {
        // Probing numbers one by one would reveal them.
        return Err(ApiError::forbidden_code("masked_numbers", "numbers are hidden from you"));
    }
    let l = lookup_number(&mut tx, &cu, &p.number).await?;
    tx.commit().await?;
    Ok(Json(l))
}

/// Caller matching, number masking and the responsible manager.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CrmSettings {
    /// 0: exact matches only; 1–4: when nothing matches exactly, match numbers differing only in
    /// that many last digits.
    pub similar_match_digits: i32,
    /// Members of these groups see numbers masked.
    pub mask_group_ids: Vec<i64>,
    pub mask_mode: MaskMode,
    /// `prefix` mode: this many leading characters become `*` (1–15).
    pub mask_chars: i32,
    /// An inbound call from a client whose manager is online rings the manager first.
    pub manager_first: bool,
    /// For this many seconds (5–120), then everyone.
    pub manager_first_secs: i32,
}

#[utoipa::path(get, path = "/api/crm/settings", tag = "crm", responses((status = 200, body = CrmSettings)))]
pub async fn get_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
) -> ApiResult<Json<CrmSettings>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let row: Option<(i32, Vec<i64>, String, i32, bool, i32)> = sqlx::query_as(
        "SELECT similar_match_digits, mask_group_ids, mask_mode, mask_chars, manager_first, manager_first_secs FROM telephony WHERE tenant_id = $1",
    )
    .bind(a.tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (similar_match_digits, mask_group_ids, mode, mask_chars, manager_first, manager_first_secs) =
        row.unwrap_or((0, vec![], "prefix".into(), 6, false, 15));
    Ok(Json(CrmSettings {
        similar_match_digits,
        mask_group_ids,
        mask_mode: if mode == "hidden" { MaskMode::Hidden } else { MaskMode::Prefix },
        mask_chars,
        manager_first,
        manager_first_secs,
    }))
}

#[utoipa::path(put, path = "/api/crm/settings", tag = "crm", request_body = CrmSettings,
    responses((status = 200, body = CrmSettings), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<CrmSettings>,
) -> ApiResult<Json<CrmSettings>> {
    if !(0..=4).contains(&b.similar_match_digits) {
        return Err(ApiError::unprocessable(
            "invalid_similar_match",
            "similar-number matching ignores 0–4 last digits",
        ));
    }
    if !(1..=15).contains(&b.mask_chars) {
        return Err(ApiError::unprocessable("invalid_mask_chars", "mask 1–15 characters"));
    }
    if !(5..=120).contains(&b.manager_first_secs) {
        return Err(ApiError::unprocessable(
            "invalid_manager_first_secs",
            "ring the manager first for 5–120 s",
        ));
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let groups: Vec<i64> = sqlx::query_scalar("SELECT id FROM access_groups WHERE tenant_id = $1")
        .bind(a.tenant_id)
        .fetch_all(&mut *tx)
        .await?;
    if let Some(g) = b.mask_group_ids.iter().find(|g| !groups.contains(g)) {
        return Err(ApiError::unprocessable("unknown_group", format!("group {g} does not exist")));
    }
    let mode = match b.mask_mode {
        MaskMode::Hidden => "hidden",
        MaskMode::Prefix => "prefix",
    };
    sqlx::query(
        "INSERT INTO telephony (tenant_id, similar_match_digits, mask_group_ids, mask_mode, mask_chars, manager_first, manager_first_secs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET similar_match_digits = $2, mask_group_ids = $3, \
         mask_mode = $4, mask_chars = $5, manager_first = $6, manager_first_secs = $7",
    )
    .bind(a.tenant_id)
    .bind(b.similar_match_digits)
    .bind(&b.mask_group_ids)
    .bind(mode)
    .bind(b.mask_chars)
    .bind(b.manager_first)
    .bind(b.manager_first_secs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // Open `/events` sockets re-read who is masked.
    let ev = callbase_core::events::Event::CrmSettings.to_json();
    let mut r = st.redis.clone();
    if let Err(e) = redis::cmd("PUBLISH")
        .arg(callbase_core::keys::events(a.tenant_id))
        .arg(ev)
        .query_async::<()>(&mut r)
        .await
    {
        tracing::warn!(error = %e, "cannot tell the event sockets about the new masking");
    }
    Ok(Json(b))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallCard {
    /// The call's number (masked for masked users).
    pub number: String,
    /// The client linked to the call (created or attached from the card), if any.
    pub linked_record_id: Option<i64>,
    pub matches: Vec<CardMatch>,
    pub similar: bool,
}

/// The call card: the records matching a call's number (the viewer must see the call). Works for
/// masked users: they get the matches, never the number.
#[utoipa::path(get, path = "/api/calls/{id}/card", tag = "crm", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CallCard), (status = 404, body = ErrorBody)))]
pub async fn call_card(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<uuid::Uuid>,
) -> ApiResult<Json<CallCard>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (number, linked) = crate::routes::records::call_number(&mut tx, &cu, id).await?;
    let l = lookup_number(&mut tx, &cu, &number).await?;
    let masking = masking_for(&mut tx, &cu).await?;
    tx.commit().await?;
    let shown = match masking {
        Some(m) => m.apply(&number),
        None => number,
    };
    Ok(Json(CallCard { number: shown, linked_record_id: linked, matches: l.matches, similar: l.similar }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientFromCall {
    pub table_id: i64,
    /// Other values (`{field id: value}`); the call's number goes into the first phone field.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
}

/// "Create a client" from the call card: a record pre-filled with the call's number (filled on
/// the server, so masked users can do it), linked to the call.
#[utoipa::path(post, path = "/api/calls/{id}/client", tag = "crm", params(("id" = uuid::Uuid, Path)), request_body = ClientFromCall,
    responses((status = 201, body = Record), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn client_from_call(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<uuid::Uuid>,
    ApiJson(b): ApiJson<ClientFromCall>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (number, _) = crate::routes::records::call_number(&mut tx, &cu, id).await?;
    table_or_404(&mut tx, cu.tenant_id, b.table_id).await?;
    let sh = shaper(&mut tx, &cu, b.table_id).await?;
    let phone = sh
        .fields
        .iter()
        .find(|f| f.def().kind == FieldKind::Phone)
        .ok_or_else(|| ApiError::unprocessable("no_phone_field", "this table has no phone field"))?;
    let mut values = b.values.clone();
    values.insert(phone.id.to_string(), Value::String(number));
    let w = check_values(&mut tx, cu.tenant_id, &sh.fields, &sh.rules, &values).await?;
    let ids = db::insert_records(&mut tx, cu.tenant_id, b.table_id, &[w], Some(cu.user_id.0)).await?;
    sqlx::query("UPDATE calls SET crm_record_id = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(cu.tenant_id)
        .bind(id)
        .bind(ids[0])
        .execute(&mut *tx)
        .await?;
    let r = db::record(&mut tx, cu.tenant_id, ids[0]).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(sh.record(&r))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachToRecord {
    pub record_id: i64,
}

/// "Add the number to an existing client": the call's number goes into the record's first empty
/// phone field; the call is linked to the record.
#[utoipa::path(post, path = "/api/calls/{id}/attach", tag = "crm", params(("id" = uuid::Uuid, Path)), request_body = AttachToRecord,
    responses((status = 200, body = Record), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn attach_to_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<uuid::Uuid>,
    ApiJson(b): ApiJson<AttachToRecord>,
) -> ApiResult<Json<Record>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (number, _) = crate::routes::records::call_number(&mut tx, &cu, id).await?;
    let r = db::record(&mut tx, cu.tenant_id, b.record_id).await?.ok_or(ApiError::NotFound)?;
    let sh = shaper(&mut tx, &cu, r.table_id).await?;
    let mut values = r.data.as_object().cloned().unwrap_or_default();
    let e164 = sh.rules.to_e164(&number);
    let phones: Vec<&db::FieldRow> = sh.fields.iter().filter(|f| f.def().kind == FieldKind::Phone).collect();
    let has = phones.iter().any(|f| {
        values
            .get(&f.id.to_string())
            .and_then(Value::as_str)
            .is_some_and(|v| e164.is_some() && sh.rules.to_e164(v) == e164)
    });
    if !has {
        let free = phones
            .iter()
            .find(|f| {
                values.get(&f.id.to_string()).and_then(Value::as_str).is_none_or(|v| v.trim().is_empty())
            })
            .ok_or_else(|| {
                ApiError::conflict(
                    "no_free_phone_field",
                    "every phone field of this record holds a number already",
                )
            })?;
        values.insert(free.id.to_string(), Value::String(number));
        let w = check_values(&mut tx, cu.tenant_id, &sh.fields, &sh.rules, &values).await?;
        db::update_record(&mut tx, cu.tenant_id, r.table_id, r.id, &w).await?;
    }
    sqlx::query("UPDATE calls SET crm_record_id = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(cu.tenant_id)
        .bind(id)
        .bind(r.id)
        .execute(&mut *tx)
        .await?;
    let r = db::record(&mut tx, cu.tenant_id, r.id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(Json(sh.record(&r)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserName {
    pub id: i64,
    pub name: String,
}

/// The tenant's users by name, for user-reference fields (every signed-in user; names only).
#[utoipa::path(get, path = "/api/crm/users", tag = "crm", responses((status = 200, body = [UserName])))]
pub async fn user_names(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<Vec<UserName>>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM users WHERE tenant_id = $1 AND NOT disabled ORDER BY name")
            .bind(cu.tenant_id)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Json(rows.into_iter().map(|(id, name)| UserName { id, name }).collect()))
}
