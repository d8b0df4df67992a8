//! Call records and their recordings: the list (filters, sorting, CSV export), one record, its
//! note and dictionaries, playback and download (HTTP ranges proxied to S3), `records.zip`
//! (streamed), the listen/download audit and the recording settings.
//!
//! Who sees what: telephony users and administrators only. Administrators see every call; users
//! their own calls and the tenant's unanswered inbound calls (the "missed" queue), or every call
//! when the tenant's `calls_visible_to_all` is on. A call outside that is "not found", like a call
//! of another tenant.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use callbase_core::{GroupId, TenantId, UserId};
use callbase_db::Tx;
use callbase_recordings::names::{attachment, recording_file_name};
use callbase_recordings::zip as rzip;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use tokio_util::io::ReaderStream;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{AdminUser, ClientIp, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

/// Most files in one `records.zip`.
pub const ZIP_MAX_FILES: usize = 1000;
/// Most bytes in one `records.zip`.
/// The deepest page of calls or of the recordings audit (a deeper `OFFSET` is a slow scan, and an
/// unchecked `(page - 1) * per_page` overflowed into a negative `OFFSET`: 500). 422 `bad_page`.
pub const PAGE_MAX: i64 = 100_000;
pub const ZIP_MAX_BYTES: u64 = 2_000_000_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Recording {
    /// `recording` (call in progress), `pending` (on its way to storage), `stored`, `failed`,
    /// `deleted` (retention).
    pub state: String,
    pub bytes: Option<i64>,
    pub duration_ms: Option<i32>,
    /// The download name: `<id>_<phone>_<YYYY-MM-DD>.mp3`.
    pub file_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallRecord {
    pub id: Uuid,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub number: String,
    pub did: Option<String>,
    pub trunk_slot: Option<i16>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// Start to end, seconds.
    pub duration_secs: Option<i64>,
    /// Start to answer (time to connect), seconds.
    pub connect_secs: Option<i64>,
    /// Answer to end minus hold, seconds.
    pub talk_secs: Option<i64>,
    pub hold_secs: i32,
    /// answered, missed, busy, failed, refused, forwarded; null while the call runs.
    pub result: Option<String>,
    pub reason: Option<String>,
    pub route_note: Option<String>,
    pub note: Option<String>,
    pub call_type: Option<String>,
    pub call_result: Option<String>,
    pub legal_hold: bool,
    pub recording: Option<Recording>,
    /// After-call work: end of the call → the agent closed its card, seconds.
    pub wrapup_secs: Option<i32>,
    /// The CRM record linked to the call (matched, called from, or created from the card).
    pub client: Option<ClientLink>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientLink {
    pub record_id: i64,
    pub table_id: i64,
    pub title: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    direction: String,
    user_id: Option<i64>,
    user_name: Option<String>,
    number: String,
    did: Option<String>,
    trunk_slot: Option<i16>,
    started_at: OffsetDateTime,
    answered_at: Option<OffsetDateTime>,
    ended_at: Option<OffsetDateTime>,
    hold_secs: i32,
    result: Option<String>,
    reason: Option<String>,
    route_note: Option<String>,
    note: Option<String>,
    call_type: Option<String>,
    call_result: Option<String>,
    legal_hold: bool,
    recording_state: Option<String>,
    recording_key: Option<String>,
    recording_bytes: Option<i64>,
    recording_ms: Option<i32>,
    wrapup_secs: Option<i32>,
    crm_record_id: Option<i64>,
    crm_table_id: Option<i64>,
    crm_title: Option<String>,
    /// How the viewer sees numbers (set by `Viewer::own`).
    #[sqlx(skip)]
    masking: Option<crate::routes::crm::Masking>,
}

const COLUMNS: &str = "c.id, c.direction, c.user_id, u.name AS user_name, c.number, c.did, c.trunk_slot, c.started_at, c.answered_at, \
    c.ended_at, c.hold_secs, c.result, c.reason, c.route_note, c.note, c.call_type, c.call_result, c.legal_hold, c.recording_state, \
    c.recording_key, c.recording_bytes, c.recording_ms, c.wrapup_secs, c.crm_record_id, cr.table_id AS crm_table_id, \
    cr.data->>(SELECT f.id::text FROM crm_fields f WHERE f.table_id = cr.table_id AND f.is_title LIMIT 1) AS crm_title";
const FROM: &str = " FROM calls c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id \
    LEFT JOIN crm_records cr ON cr.id = c.crm_record_id";

impl Row {
    /// The number as this viewer may see it (masked for members of the masked groups; every
    /// response, export and file name goes through here).
    fn shown_number(&self) -> String {
        match &self.masking {
            Some(m) => m.apply(&self.number),
            None => self.number.clone(),
        }
    }

    fn file_name(&self) -> String {
        recording_file_name(&self.id.to_string(), &self.shown_number(), self.started_at)
    }

    fn into_api(self) -> CallRecord {
        let secs = |a: Option<OffsetDateTime>, b: Option<OffsetDateTime>| {
            a.zip(b).map(|(a, b)| (b - a).whole_seconds().max(0))
        };
        let talk = secs(self.answered_at, self.ended_at).map(|t| (t - i64::from(self.hold_secs)).max(0));
        let recording = self.recording_state.clone().map(|state| Recording {
            state,
            bytes: self.recording_bytes,
            duration_ms: self.recording_ms,
            file_name: self.file_name(),
        });
        CallRecord {
            id: self.id,
            direction: self.direction.clone(),
            user_id: self.user_id.map(UserId),
            user_name: self.user_name.clone(),
            number: self.shown_number(),
            did: self.did.clone(),
            trunk_slot: self.trunk_slot,
            started_at: self.started_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            duration_secs: secs(Some(self.started_at), self.ended_at),
            connect_secs: secs(Some(self.started_at), self.answered_at),
            talk_secs: talk,
            hold_secs: self.hold_secs,
            result: self.result,
            reason: self.reason,
            route_note: self.route_note,
            note: self.note,
            call_type: self.call_type,
            call_result: self.call_result,
            legal_hold: self.legal_hold,
            wrapup_secs: self.wrapup_secs,
            client: self.crm_record_id.zip(self.crm_table_id).map(|(record_id, table_id)| ClientLink {
                record_id,
                table_id,
                title: self.crm_title.clone().unwrap_or_default(),
            }),
            recording,
        }
    }
}

/// Who is asking, and what they may see.
struct Viewer {
    tenant: TenantId,
    user: UserId,
    admin: bool,
    sees_all: bool,
    masking: Option<crate::routes::crm::Masking>,
}

async fn viewer(tx: &mut Tx, cu: &CurrentUser) -> ApiResult<Viewer> {
    let state = callbase_db::telephony::state(tx, cu.tenant_id).await?;
    if !state.enabled {
        return Err(ApiError::conflict(
            "telephony_off",
            "telephony is turned off for this account; an administrator can turn it on",
        ));
    }
    let admin = cu.role.is_admin();
    if !admin && callbase_db::telephony::get_user(tx, cu.tenant_id, cu.user_id).await?.is_none() {
        return Err(ApiError::forbidden_code(
            "not_telephony_user",
            "call records are for telephony users; ask an administrator",
        ));
    }
    let all: bool = sqlx::query_scalar("SELECT calls_visible_to_all FROM telephony WHERE tenant_id = $1")
        .bind(cu.tenant_id)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(false);
    let masking = crate::routes::crm::masking_for(tx, cu).await?;
    Ok(Viewer { tenant: cu.tenant_id, user: cu.user_id, admin, sees_all: admin || all, masking })
}

impl Viewer {
    fn own(&self, mut r: Row) -> Row {
        r.masking = self.masking;
        r
    }

    /// Masked users cannot search or sort by number (probing would reveal the numbers; sorting
    /// beside calls to numbers they chose, a binary search).
    fn check_filter(&self, f: &Filter) -> ApiResult<()> {
        if self.masking.is_some() && f.number.as_deref().is_some_and(|n| !n.trim().is_empty()) {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                "numbers are hidden from you: filter by other columns",
            ));
        }
        if self.masking.is_some() && f.sort.as_deref() == Some("number") {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                "numbers are hidden from you: sort by other columns",
            ));
        }
        Ok(())
    }

    fn restrict(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" WHERE c.tenant_id = ").push_bind(self.tenant);
        if !self.sees_all {
            q.push(" AND (c.user_id = ")
                .push_bind(self.user.0)
                .push(" OR (c.user_id IS NULL AND c.direction = 'inbound'))");
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Calls started at or after (RFC 3339 or `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Calls started before (RFC 3339, or `YYYY-MM-DD`: that whole day included).
    pub to: Option<String>,
    pub user_id: Option<i64>,
    /// inbound, outbound, internal
    pub direction: Option<String>,
    /// answered, missed, busy, failed, refused, forwarded
    pub result: Option<String>,
    /// Only unanswered inbound calls.
    #[serde(default)]
    pub missed: bool,
    /// Part of the number.
    pub number: Option<String>,
    /// started_at (default), duration, number, result, direction, user
    pub sort: Option<String>,
    /// asc or desc (default)
    pub order: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn parse_when(v: &str, end: bool) -> ApiResult<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(v, &fmt).map_err(|_| {
        ApiError::unprocessable(
            "invalid_period",
            format!("'{v}' is not a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })?;
    let d = if end { d.next_day().unwrap_or(d) } else { d };
    Ok(d.midnight().assume_utc())
}

impl Filter {
    fn apply(&self, q: &mut QueryBuilder<'_, Postgres>) -> ApiResult<()> {
        if let Some(f) = self.from.as_deref().filter(|s| !s.is_empty()) {
            q.push(" AND c.started_at >= ").push_bind(parse_when(f, false)?);
        }
        if let Some(t) = self.to.as_deref().filter(|s| !s.is_empty()) {
            q.push(" AND c.started_at < ").push_bind(parse_when(t, true)?);
        }
        if let Some(u) = self.user_id {
            q.push(" AND c.user_id = ").push_bind(u);
        }
        if let Some(d) = self.direction.as_deref().filter(|s| !s.is_empty()) {
            if !["inbound", "outbound", "internal"].contains(&d) {
                return Err(ApiError::unprocessable(
                    "invalid_direction",
                    "direction is inbound, outbound or internal",
                ));
            }
            q.push(" AND c.direction = ").push_bind(d.to_string());
        }
        if let Some(r) = self.result.as_deref().filter(|s| !s.is_empty()) {
            if !["answered", "missed", "busy", "failed", "refused", "forwarded"].contains(&r) {
                return Err(ApiError::unprocessable(
                    "invalid_result",
                    "result is answered, missed, busy, failed, refused or forwarded",
                ));
            }
            q.push(" AND c.result = ").push_bind(r.to_string());
        }
        if self.missed {
            q.push(" AND c.direction = 'inbound' AND c.answered_at IS NULL AND c.result IS NOT NULL");
        }
        if let Some(n) = self.number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let digits: String = n.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
            q.push(" AND c.number LIKE ").push_bind(format!("%{}%", digits.replace('%', "")));
        }
        Ok(())
    }

    fn order_by(&self) -> ApiResult<String> {
        let col = match self.sort.as_deref().unwrap_or("started_at") {
            "started_at" => "c.started_at",
            "duration" => "(c.ended_at - c.started_at)",
            "number" => "c.number",
            "result" => "c.result",
            "direction" => "c.direction",
            "user" => "u.name",
            other => {
                return Err(ApiError::unprocessable("invalid_sort", format!("cannot sort by '{other}'")))
            }
        };
        let dir = match self.order.as_deref().unwrap_or("desc") {
            "asc" => "ASC NULLS FIRST",
            "desc" => "DESC NULLS LAST",
            _ => return Err(ApiError::unprocessable("invalid_order", "order is asc or desc")),
        };
        Ok(format!(" ORDER BY {col} {dir}, c.id"))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallPage {
    pub items: Vec<CallRecord>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Call records, newest first by default.
#[utoipa::path(get, path = "/api/calls", tag = "calls", params(Filter),
    responses((status = 200, body = CallPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(f): ApiQuery<Filter>,
) -> ApiResult<Json<CallPage>> {
    let per_page = f.per_page.unwrap_or(50).clamp(1, 200);
    let (page, offset) = callbase_core::page_offset(f.page, per_page, PAGE_MAX)?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    v.check_filter(&f)?;
    let mut count = QueryBuilder::new("SELECT count(*)");
    count.push(FROM);
    v.restrict(&mut count);
    f.apply(&mut count)?;
    let total: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS}{FROM}"));
    v.restrict(&mut q);
    f.apply(&mut q)?;
    q.push(f.order_by()?);
    q.push(" LIMIT ").push_bind(per_page).push(" OFFSET ").push_bind(offset);
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(Json(CallPage {
        items: rows.into_iter().map(|r| v.own(r).into_api()).collect(),
        total,
        page,
        per_page,
    }))
}

/// A CSV cell: quoted, and a leading `= + - @` (or tab/CR) neutralised with `'` so spreadsheets
/// never evaluate it as a formula.
pub fn csv_cell(v: &str) -> String {
    format!("\"{}\"", callbase_core::crm::csv_safe(v).replace('"', "\"\""))
}

/// The filtered call records as CSV (at most 100 000 rows).
#[utoipa::path(get, path = "/api/calls/export.csv", tag = "calls", params(Filter),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_csv(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(f): ApiQuery<Filter>,
) -> ApiResult<Response> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    v.check_filter(&f)?;
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS}{FROM}"));
    v.restrict(&mut q);
    f.apply(&mut q)?;
    q.push(f.order_by()?);
    q.push(" LIMIT 100000");
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut out = String::from("id,started_at,direction,user,number,did,trunk,result,reason,duration_secs,connect_secs,talk_secs,hold_secs,call_type,call_result,note,recording\r\n");
    let fmt = |t: Option<OffsetDateTime>| {
        t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
    };
    for r in rows {
        let c = v.own(r).into_api();
        let cells = [
            c.id.to_string(),
            fmt(Some(c.started_at)),
            c.direction,
            c.user_name.unwrap_or_default(),
            c.number,
            c.did.unwrap_or_default(),
            c.trunk_slot.map(|t| t.to_string()).unwrap_or_default(),
            c.result.unwrap_or_default(),
            c.reason.unwrap_or_default(),
            c.duration_secs.map(|x| x.to_string()).unwrap_or_default(),
            c.connect_secs.map(|x| x.to_string()).unwrap_or_default(),
            c.talk_secs.map(|x| x.to_string()).unwrap_or_default(),
            c.hold_secs.to_string(),
            c.call_type.unwrap_or_default(),
            c.call_result.unwrap_or_default(),
            c.note.unwrap_or_default(),
            c.recording.map(|r| r.state).unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"calls.csv\""),
        ],
        // A BOM so spreadsheet programs read UTF-8 names correctly.
        format!("\u{feff}{out}"),
    )
        .into_response())
}

async fn visible_row(tx: &mut Tx, v: &Viewer, id: Uuid) -> ApiResult<Row> {
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS}{FROM}"));
    v.restrict(&mut q);
    q.push(" AND c.id = ").push_bind(id);
    let r: Row = q.build_query_as().fetch_optional(&mut **tx).await?.ok_or(ApiError::NotFound)?;
    Ok(v.own(r))
}

/// The raw number of a call the user may see, and the CRM record linked to it (for the call card;
/// the number itself never leaves the server from here).
pub async fn call_number(tx: &mut Tx, cu: &CurrentUser, id: Uuid) -> ApiResult<(String, Option<i64>)> {
    let v = viewer(tx, cu).await?;
    let row = visible_row(tx, &v, id).await?;
    let linked: Option<i64> =
        sqlx::query_scalar("SELECT crm_record_id FROM calls WHERE tenant_id = $1 AND id = $2")
            .bind(cu.tenant_id)
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    Ok((row.number, linked))
}

#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls", params(("id" = Uuid, Path)),
    responses((status = 200, body = CallRecord), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CallRecord>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    let row = visible_row(&mut tx, &v, id).await?;
    tx.commit().await?;
    Ok(Json(row.into_api()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchCall {
    pub note: Option<String>,
    /// One of the tenant's call types ("" clears).
    pub call_type: Option<String>,
    /// One of the tenant's call results ("" clears).
    pub call_result: Option<String>,
    /// Administrators only: exempt the recording from retention.
    pub legal_hold: Option<bool>,
    /// The agent finished the after-call work (closed the card): records the wrap-up time once,
    /// for an ended call of their own.
    #[serde(default)]
    pub wrapup_done: bool,
}

/// Note, call type and result (from the call card), legal hold (administrators).
#[utoipa::path(patch, path = "/api/calls/{id}", tag = "calls", params(("id" = Uuid, Path)), request_body = PatchCall,
    responses((status = 200, body = CallRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<PatchCall>,
) -> ApiResult<Json<CallRecord>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    visible_row(&mut tx, &v, id).await?;
    // Sub-administrators see every call like administrators, but a hold is an administrator's.
    if b.legal_hold.is_some() && !(v.admin && cu.role == callbase_core::Role::Administrator) {
        return Err(ApiError::forbidden_code("admins_only", "only administrators set or lift a legal hold"));
    }
    let (types, results): (Vec<String>, Vec<String>) =
        sqlx::query_as("SELECT call_types, call_results FROM telephony WHERE tenant_id = $1")
            .bind(v.tenant)
            .fetch_one(&mut *tx)
            .await?;
    let pick = |val: &Option<String>, allowed: &[String], field: &str| -> ApiResult<Option<Option<String>>> {
        match val.as_deref().map(str::trim) {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(x) if allowed.iter().any(|a| a == x) => Ok(Some(Some(x.to_string()))),
            Some(x) => Err(ApiError::unprocessable(
                "invalid_dictionary_value",
                format!("'{x}' is not one of the account's {field} values"),
            )),
        }
    };
    let call_type = pick(&b.call_type, &types, "call type")?;
    let call_result = pick(&b.call_result, &results, "call result")?;
    if b.note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(ApiError::unprocessable("note_too_long", "a note holds at most 4 000 characters"));
    }
    let mut q = QueryBuilder::new("UPDATE calls SET id = id");
    if let Some(n) = &b.note {
        q.push(", note = ").push_bind(Some(n.trim().to_string()).filter(|s| !s.is_empty()));
    }
    if let Some(t) = call_type {
        q.push(", call_type = ").push_bind(t);
    }
    if let Some(r) = call_result {
        q.push(", call_result = ").push_bind(r);
    }
    if let Some(h) = b.legal_hold {
        q.push(", legal_hold = ").push_bind(h);
    }
    if b.wrapup_done {
        q.push(", wrapup_secs = CASE WHEN wrapup_secs IS NULL AND ended_at IS NOT NULL AND user_id = ")
            .push_bind(v.user.0)
            .push(" THEN LEAST(GREATEST(extract(epoch FROM now() - ended_at), 0), 86400)::int ELSE wrapup_secs END");
    }
    q.push(" WHERE tenant_id = ").push_bind(v.tenant).push(" AND id = ").push_bind(id);
    q.build().execute(&mut *tx).await?;
    let row = visible_row(&mut tx, &v, id).await?;
    tx.commit().await?;
    Ok(Json(row.into_api()))
}

async fn audit(
    tx: &mut Tx,
    v: &Viewer,
    ids: &[Uuid],
    action: &str,
    ip: &ClientIp,
    headers: &HeaderMap,
) -> ApiResult<()> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .map(|s| s.chars().take(300).collect::<String>());
    sqlx::query(
        "INSERT INTO recording_audit (tenant_id, call_id, user_id, action, ip, user_agent) SELECT $1, x, $3, $4, $5, $6 FROM unnest($2::uuid[]) x",
    )
    .bind(v.tenant)
    .bind(ids)
    .bind(v.user.0)
    .bind(action)
    .bind(ip.0.to_string())
    .bind(agent)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn s3_unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "object store unavailable");
    ApiError::Unavailable {
        code: "storage_unavailable",
        message: "recordings storage is not answering; try again in a minute".into(),
    }
}

fn recording_ready(row: &Row) -> ApiResult<String> {
    match (row.recording_state.as_deref(), &row.recording_key) {
        (Some("stored"), Some(k)) => Ok(k.clone()),
        (Some("recording" | "pending"), _) => Err(ApiError::conflict(
            "recording_pending",
            "the recording is being processed; try again in a few seconds",
        )),
        _ => Err(ApiError::NotFound),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordingQuery {
    /// `1` or `true`: download (attachment) instead of playing.
    pub download: Option<String>,
}

impl RecordingQuery {
    fn download(&self) -> bool {
        matches!(self.download.as_deref(), Some("1" | "true"))
    }
}

/// The recording as mp3: plays in an `<audio>` element (HTTP ranges, so seeking works) or
/// downloads as `<id>_<phone>_<YYYY-MM-DD>.mp3`. Every listen and download is audited.
#[utoipa::path(get, path = "/api/calls/{id}/recording", tag = "calls", params(("id" = Uuid, Path), RecordingQuery),
    responses((status = 200, content_type = "audio/mpeg"), (status = 206, content_type = "audio/mpeg"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn recording(
    State(st): State<AppState>,
    cu: CurrentUser,
    ip: ClientIp,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    ApiQuery(rq): ApiQuery<RecordingQuery>,
) -> ApiResult<Response> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    let row = visible_row(&mut tx, &v, id).await?;
    let key = recording_ready(&row)?;
    let range = headers.get(header::RANGE).and_then(|r| r.to_str().ok()).map(str::to_string);
    if let Some(r) = &range {
        if !r.starts_with("bytes=") || r.contains(',') {
            return Err(ApiError::BadRequest {
                status: StatusCode::RANGE_NOT_SATISFIABLE,
                code: "invalid_range",
                message: "one byte range only".into(),
            });
        }
    }
    let obj =
        st.store.read(&key, range.as_deref()).await.map_err(s3_unavailable)?.ok_or(ApiError::NotFound)?;
    // A player asks for the start, then seeks: one audit row per listen, not per range.
    if rq.download() || range.as_deref().is_none_or(|r| r.starts_with("bytes=0-")) {
        audit(&mut tx, &v, &[id], if rq.download() { "download" } else { "listen" }, &ip, &headers).await?;
    }
    tx.commit().await?;
    let name = row.file_name();
    let disposition =
        if rq.download() { attachment(&name) } else { attachment(&name).replacen("attachment", "inline", 1) };
    let status = if obj.content_range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let mut resp = Response::new(Body::from_stream(ReaderStream::new(obj.body.into_async_read())));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(obj.length));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    if let Some(cr) = obj.content_range.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert(header::CONTENT_RANGE, cr);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ZipRequest {
    pub ids: Vec<Uuid>,
}

/// Several recordings as one streamed `records.zip` (files named like single downloads). At most
/// 1 000 files and 2 GB; every id must be a call the user sees with a stored recording.
#[utoipa::path(post, path = "/api/calls/recordings.zip", tag = "calls", request_body = ZipRequest,
    responses((status = 200, content_type = "application/zip"), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn zip(
    State(st): State<AppState>,
    cu: CurrentUser,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(b): ApiJson<ZipRequest>,
) -> ApiResult<Response> {
    let mut ids = b.ids;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(ApiError::unprocessable("empty_selection", "select at least one call with a recording"));
    }
    if ids.len() > ZIP_MAX_FILES {
        return Err(ApiError::BadRequest {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_many_files",
            message: format!("at most {ZIP_MAX_FILES} recordings per archive; {} were selected", ids.len()),
        });
    }
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS}{FROM}"));
    v.restrict(&mut q);
    q.push(" AND c.id = ANY(").push_bind(&ids).push(") ORDER BY c.started_at");
    let rows: Vec<Row> =
        q.build_query_as::<Row>().fetch_all(&mut *tx).await?.into_iter().map(|r| v.own(r)).collect();
    if rows.len() != ids.len() {
        return Err(ApiError::NotFound);
    }
    let without: Vec<String> =
        rows.iter().filter(|r| recording_ready(r).is_err()).map(|r| r.id.to_string()).collect();
    if !without.is_empty() {
        return Err(ApiError::unprocessable(
            "no_recording",
            format!(
                "{} of the selected calls have no stored recording: {}",
                without.len(),
                without.join(", ")
            ),
        ));
    }
    // Every object must be there before the first byte goes out (after that, a failure can only
    // break the download). HEAD them a few at a time.
    use futures_util::StreamExt;
    let store = st.store.clone();
    let keys: Vec<String> = rows.iter().map(|r| r.recording_key.clone().unwrap_or_default()).collect();
    let heads: Vec<Result<Option<u64>, _>> = futures_util::stream::iter(keys.into_iter().map(move |key| {
        let store = store.clone();
        async move { store.head(&key).await }
    }))
    .buffered(16)
    .collect()
    .await;
    let mut entries = Vec::with_capacity(rows.len());
    for (r, h) in rows.iter().zip(heads) {
        let size = h
            .map_err(s3_unavailable)?
            .ok_or_else(|| s3_unavailable(format!("object of call {} is missing", r.id)))?;
        entries.push(rzip::Entry {
            name: r.file_name(),
            key: r.recording_key.clone().unwrap_or_default(),
            size,
            modified: r.started_at,
        });
    }
    let total = rzip::archive_size(&entries);
    if total > ZIP_MAX_BYTES {
        return Err(ApiError::BadRequest {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "archive_too_large",
            message: format!(
                "at most 2 GB per archive; the selection is {:.1} GB: select fewer calls",
                total as f64 / 1e9
            ),
        });
    }
    audit(&mut tx, &v, &ids, "zip", &ip, &headers).await?;
    tx.commit().await?;
    let mut resp = Response::new(Body::from_stream(rzip::stream(st.store.clone(), entries)));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"records.zip\""));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub call_id: Uuid,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    /// listen, download, zip
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub call_id: Option<Uuid>,
    pub page: Option<i64>,
}

/// Who listened to or downloaded recordings (administrators), newest first, 100 a page.
#[utoipa::path(get, path = "/api/calls/audit", tag = "calls", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn audit_list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiQuery(aq): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let (_, offset) = callbase_core::page_offset(aq.page, 100, PAGE_MAX)?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows: Vec<AuditEntry> = sqlx::query_as(
        "SELECT r.call_id, r.user_id, u.name AS user_name, r.action, r.ip, r.user_agent, r.at FROM recording_audit r \
         LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.call_id = $2) ORDER BY r.at DESC, r.id DESC LIMIT 100 OFFSET $3",
    )
    .bind(a.tenant_id)
    .bind(aq.call_id)
    .bind(offset)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(rows))
}

#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct RecordingSettings {
    /// Record every answered call.
    pub record_calls: bool,
    /// Members of these access groups are always recorded.
    pub record_group_ids: Vec<i64>,
    /// Delete recordings older than this many days (1–3650); calls on legal hold are kept.
    pub retention_days: i32,
    /// Delete the call records too, not just the recordings.
    pub retention_delete_calls: bool,
    /// Users see every call record (administrators always do).
    pub calls_visible_to_all: bool,
    /// The call card's "call type" choices.
    pub call_types: Vec<String>,
    /// The call card's "call result" choices.
    pub call_results: Vec<String>,
}

const SETTINGS: &str = "SELECT record_calls, record_group_ids, retention_days, retention_delete_calls, calls_visible_to_all, call_types, call_results FROM telephony WHERE tenant_id = $1";

#[utoipa::path(get, path = "/api/telephony/recording", tag = "telephony",
    responses((status = 200, body = RecordingSettings), (status = 403, body = ErrorBody)))]
pub async fn get_settings(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<RecordingSettings>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    viewer(&mut tx, &cu).await?;
    let s: RecordingSettings = sqlx::query_as(SETTINGS).bind(cu.tenant_id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(Json(s))
}

fn clean_dictionary(v: &[String], field: &'static str) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for x in v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if x.chars().count() > 60 {
            return Err(ApiError::unprocessable(
                "invalid_dictionary",
                format!("{field}: '{x}' is longer than 60 characters"),
            ));
        }
        if !out.iter().any(|o| o == x) {
            out.push(x.to_string());
        }
    }
    if out.len() > 50 {
        return Err(ApiError::unprocessable("invalid_dictionary", format!("{field}: at most 50 values")));
    }
    Ok(out)
}

#[utoipa::path(put, path = "/api/telephony/recording", tag = "telephony", request_body = RecordingSettings,
    responses((status = 200, body = RecordingSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<RecordingSettings>,
) -> ApiResult<Json<RecordingSettings>> {
    if !(1..=3650).contains(&b.retention_days) {
        return Err(ApiError::unprocessable("invalid_retention", "keep recordings between 1 and 3650 days"));
    }
    let types = clean_dictionary(&b.call_types, "call types")?;
    let results = clean_dictionary(&b.call_results, "call results")?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    viewer(&mut tx, &a).await?;
    let (days, delete_calls): (i32, bool) =
        sqlx::query_as("SELECT retention_days, retention_delete_calls FROM telephony WHERE tenant_id = $1")
            .bind(a.tenant_id)
            .fetch_one(&mut *tx)
            .await?;
    if (days, delete_calls) != (b.retention_days, b.retention_delete_calls) {
        // Retention deletes recordings and records: an administrator's decision.
        crate::routes::telephony::administrators_only(&a, "change retention")?;
    }
    let groups: Vec<GroupId> = b.record_group_ids.iter().map(|g| GroupId(*g)).collect();
    if let Err(unknown) = callbase_db::accounts::check_groups(&mut tx, a.tenant_id, &groups).await? {
        return Err(ApiError::unprocessable("unknown_group", format!("no such access group: {unknown:?}")));
    }
    sqlx::query(
        "UPDATE telephony SET record_calls = $2, record_group_ids = $3, retention_days = $4, retention_delete_calls = $5, \
         calls_visible_to_all = $6, call_types = $7, call_results = $8 WHERE tenant_id = $1",
    )
    .bind(a.tenant_id)
    .bind(b.record_calls)
    .bind(&b.record_group_ids)
    .bind(b.retention_days)
    .bind(b.retention_delete_calls)
    .bind(b.calls_visible_to_all)
    .bind(&types)
    .bind(&results)
    .execute(&mut *tx)
    .await?;
    let s: RecordingSettings = sqlx::query_as(SETTINGS).bind(a.tenant_id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(Json(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+74951234567"), "\"+74951234567\"");
        assert_eq!(csv_cell("+1+cmd|' /C calc'!A0"), "\"'+1+cmd|' /C calc'!A0\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("plain"), "\"plain\"");
    }

    #[test]
    fn periods_accept_days_and_times() {
        let d = parse_when("2026-11-24", true).unwrap();
        assert_eq!(d, time::macros::datetime!(2026-11-25 0:00 UTC));
        assert!(parse_when("2026-11-24T10:00:00Z", false).is_ok());
        assert!(parse_when("yesterday", false).is_err());
    }
}
