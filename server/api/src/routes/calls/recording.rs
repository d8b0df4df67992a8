//! Recordings: playback and download (HTTP ranges proxied to S3), `records.zip` (streamed), the
//! listen/download audit, and the recording settings (recording, retention, visibility, the call
//! card's dictionaries).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use callbase_core::GroupId;
use callbase_db::calls::history::CallRow;
use callbase_db::calls::recording::{self as repo, Access};
use callbase_db::calls::settings::{self, CallSettings};
use callbase_db::Tx;
use callbase_recordings::names::attachment;
use callbase_recordings::zip as rzip;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_util::io::ReaderStream;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{viewer, Viewer, PAGE_MAX};
use crate::auth::{AdminUser, ClientIp, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::administrators_only;
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

/// Most files in one `records.zip`.
pub const ZIP_MAX_FILES: usize = 1000;
/// Most bytes in one `records.zip`.
pub const ZIP_MAX_BYTES: u64 = 2_000_000_000;

async fn audit(
    tx: &mut Tx,
    v: &Viewer,
    ids: &[Uuid],
    action: &str,
    ip: &ClientIp,
    headers: &HeaderMap,
) -> ApiResult<()> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .map(|s| s.chars().take(300).collect::<String>());
    let access = Access { user: (v.user.0 > 0).then_some(v.user), action, ip: ip.0.to_string(), user_agent };
    repo::audit(tx, v.tenant, ids, &access).await?;
    Ok(())
}

fn s3_unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "object store unavailable");
    ApiError::Unavailable {
        code: "storage_unavailable",
        message: "recordings storage is not answering; try again in a minute".into(),
    }
}

fn recording_ready(row: &CallRow) -> ApiResult<String> {
    match (row.recording_state.as_deref(), &row.recording_key) {
        (Some("stored"), Some(k)) => Ok(k.clone()),
        (Some("recording" | "pending"), _) => Err(ApiError::conflict(
            "recording_pending",
            "the recording is being processed; try again in a few seconds",
        )),
        (Some("waiting"), _) => Err(ApiError::conflict(
            "recording_waiting",
            "the recording waits for its Asterisk node, which does not answer; it is uploaded when the node is back",
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
    let row = v.visible(&mut tx, id).await?;
    serve(&st, tx, &v, row, &ip, &headers, &rq).await
}

/// Streams a call's recording that `v` may get (ranges, the audit entry, a voicemail heard).
pub(crate) async fn serve(
    st: &AppState,
    mut tx: Tx,
    v: &Viewer,
    row: CallRow,
    ip: &ClientIp,
    headers: &HeaderMap,
    rq: &RecordingQuery,
) -> ApiResult<Response> {
    let id = row.id;
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
        audit(&mut tx, v, &[id], if rq.download() { "download" } else { "listen" }, ip, headers).await?;
        // A voicemail message somebody listened to is no longer new (issue #19).
        if row.voicemail && row.voicemail_heard_at.is_none() {
            callbase_db::calls::recording::voicemail_heard(&mut tx, v.tenant, id).await?;
        }
    }
    tx.commit().await?;
    let name = v.file_name(&row);
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
    let rows = callbase_db::calls::history::visible_many(&mut tx, &v.scope(), &ids).await?;
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
            name: v.file_name(r),
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

#[derive(Debug, Serialize, ToSchema)]
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
    let rows = repo::audit_page(&mut tx, a.tenant_id, aq.call_id, offset).await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditEntry {
                call_id: r.call_id,
                user_id: r.user_id,
                user_name: r.user_name,
                action: r.action,
                ip: r.ip,
                user_agent: r.user_agent,
                at: r.at,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
    /// Agents may pause their call's recording while the caller gives sensitive data (default off).
    #[serde(default)]
    pub recording_pause_allowed: bool,
}

impl From<CallSettings> for RecordingSettings {
    fn from(s: CallSettings) -> Self {
        RecordingSettings {
            record_calls: s.record_calls,
            record_group_ids: s.record_group_ids,
            retention_days: s.retention_days,
            retention_delete_calls: s.retention_delete_calls,
            calls_visible_to_all: s.calls_visible_to_all,
            call_types: s.call_types,
            call_results: s.call_results,
            recording_pause_allowed: s.recording_pause_allowed,
        }
    }
}

#[utoipa::path(get, path = "/api/telephony/recording", tag = "telephony",
    responses((status = 200, body = RecordingSettings), (status = 403, body = ErrorBody)))]
pub async fn get_settings(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<RecordingSettings>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    viewer(&mut tx, &cu).await?;
    let s = settings::get(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(s.into()))
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
    let now = settings::get(&mut tx, a.tenant_id).await?;
    if (now.retention_days, now.retention_delete_calls) != (b.retention_days, b.retention_delete_calls) {
        // Retention deletes recordings and records: an administrator's decision.
        administrators_only(&a, "change retention")?;
    }
    let groups: Vec<GroupId> = b.record_group_ids.iter().map(|g| GroupId(*g)).collect();
    if let Err(unknown) = callbase_db::accounts::check_groups(&mut tx, a.tenant_id, &groups).await? {
        return Err(ApiError::unprocessable("unknown_group", format!("no such access group: {unknown:?}")));
    }
    let new = CallSettings {
        record_calls: b.record_calls,
        record_group_ids: b.record_group_ids,
        retention_days: b.retention_days,
        retention_delete_calls: b.retention_delete_calls,
        calls_visible_to_all: b.calls_visible_to_all,
        call_types: types,
        call_results: results,
        recording_pause_allowed: b.recording_pause_allowed,
    };
    settings::put(&mut tx, a.tenant_id, &new).await?;
    let s = settings::get(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(s.into()))
}
