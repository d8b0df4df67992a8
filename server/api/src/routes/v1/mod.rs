//! The public API, `/api/v1` (issue #21): versioned routes for other systems, authenticated by
//! API key only (`Authorization: Bearer cbk_…`, `auth/api_key.rs`) — no cookie, no CSRF token.
//! Each route names the scope it needs; a key acts as the administrator who created it. Lists
//! page with cursors (`next`, passed back as `cursor`), never offsets, so a page costs the same at
//! any depth and rows written meanwhile neither repeat nor go missing.
//!
//! This file: calls, recordings and click-to-call; `directory.rs`: users, CRM and webhooks.

pub mod directory;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use base64::Engine;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::history as repo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::api_key::{CallsPlace, CallsRead, Key};
use crate::auth::ClientIp;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::routes::calls::actions::{callback_target, start_callback, CallbackBody};
use crate::routes::calls::recording::RecordingQuery;
use crate::routes::calls::{viewer, CallRecord, Viewer};
use crate::AppState;

/// A cursor: the last row's sort key, opaque to clients (base64url).
pub(crate) fn cursor_out(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub(crate) fn cursor_in(c: &str) -> ApiResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::unprocessable("invalid_cursor", "cursor: pass a page's `next` as it is"))
}

/// `limit`: 1–200, 50 when not given.
pub(crate) fn limit(l: Option<i64>) -> ApiResult<i64> {
    let l = l.unwrap_or(50);
    if (1..=200).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::unprocessable("invalid_limit", "limit: 1 to 200"))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Started at or after (RFC 3339).
    pub from: Option<String>,
    /// Started before (RFC 3339).
    pub to: Option<String>,
    /// `inbound`, `outbound` or `internal`.
    pub direction: Option<String>,
    /// Taken or placed by this user.
    pub user_id: Option<i64>,
    /// Only inbound calls nobody answered.
    #[serde(default)]
    pub missed: bool,
    /// 1–200 (default 50).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0d76c1a7-a0ee-46b7-a74f-935dc201d5cf", "direction": "inbound", "number": "+79161234567",
    "user_id": 7, "user_name": "Anna", "started_at": "2026-12-06T09:10:00Z", "answered_at": "2026-12-06T09:10:04Z",
    "ended_at": "2026-12-06T09:13:10Z", "result": "answered", "talk_secs": 186}], "next": "MTc2NTAxMjIwMDAwMDAwMDAwMHwwZDc2YzFhNw"}))]
pub struct CallList {
    /// Newest first.
    pub items: Vec<CallRecord>,
    /// The next page's cursor; none on the last page.
    pub next: Option<String>,
}

fn time_param(name: &str, v: Option<&str>) -> ApiResult<Option<OffsetDateTime>> {
    v.map(|s| {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|_| {
            ApiError::unprocessable("invalid_time", format!("{name}: an RFC 3339 date and time"))
        })
    })
    .transpose()
}

/// The account's calls, newest first (scope `calls:read`).
#[utoipa::path(get, path = "/api/v1/calls", tag = "public API", params(CallsQuery), security(("api_key" = [])),
    responses((status = 200, body = CallList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_calls(
    State(st): State<AppState>,
    Key(k, _): Key<CallsRead>,
    ApiQuery(q): ApiQuery<CallsQuery>,
) -> ApiResult<Json<CallList>> {
    let limit = limit(q.limit)?;
    let direction = match q.direction.as_deref() {
        None | Some("") => None,
        Some(d) => {
            Some(serde_json::from_value::<callbase_db::calls::CallDirection>(json!(d)).map_err(|_| {
                ApiError::unprocessable("invalid_direction", "direction: inbound, outbound or internal")
            })?)
        }
    };
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => {
            let raw = cursor_in(c)?;
            let bad = || ApiError::unprocessable("invalid_cursor", "cursor: pass a page's `next` as it is");
            let (ns, id) = raw.split_once('|').ok_or_else(bad)?;
            let at = ns.parse::<i128>().ok().and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok());
            Some((at.ok_or_else(bad)?, id.parse::<Uuid>().map_err(|_| bad())?))
        }
    };
    let filter = repo::Filter {
        from: time_param("from", q.from.as_deref())?,
        to: time_param("to", q.to.as_deref())?,
        user_id: q.user_id,
        direction,
        missed: q.missed,
        ..Default::default()
    };
    let mut tx = st.db.tenant_tx(k.tenant()).await?;
    let v = viewer(&mut tx, &k.user).await?;
    let rows = repo::page_before(&mut tx, &v.scope(), &filter, before, limit).await?;
    tx.commit().await?;
    let next = (rows.len() as i64 == limit)
        .then(|| {
            rows.last().map(|r| cursor_out(&format!("{}|{}", r.started_at.unix_timestamp_nanos(), r.id)))
        })
        .flatten();
    Ok(Json(CallList { items: rows.into_iter().map(|r| v.shape(r)).collect(), next }))
}

/// One call (scope `calls:read`).
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "public API", params(("id" = Uuid, Path)), security(("api_key" = [])),
    responses((status = 200, body = CallRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_call(
    State(st): State<AppState>,
    Key(k, _): Key<CallsRead>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CallRecord>> {
    let mut tx = st.db.tenant_tx(k.tenant()).await?;
    let v = viewer(&mut tx, &k.user).await?;
    let row = v.visible(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(v.shape(row)))
}

/// A call's recording as mp3, `id_phone_date.mp3` (scope `calls:read`; ranges work).
#[utoipa::path(get, path = "/api/v1/calls/{id}/recording", tag = "public API", params(("id" = Uuid, Path), RecordingQuery),
    security(("api_key" = [])),
    responses((status = 200, content_type = "audio/mpeg"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn call_recording(
    State(st): State<AppState>,
    Key(k, _): Key<CallsRead>,
    ip: ClientIp,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    ApiQuery(rq): ApiQuery<RecordingQuery>,
) -> ApiResult<Response> {
    let mut tx = st.db.tenant_tx(k.tenant()).await?;
    let v = viewer(&mut tx, &k.user).await?;
    let row = v.visible(&mut tx, id).await?;
    crate::routes::calls::recording::serve(&st, tx, &v, row, &ip, &headers, &rq).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    pub tenant: Option<i64>,
    pub endpoint: Option<i64>,
    /// Unix seconds.
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// A `recording.ready` message's download link: no key — the link itself, signed with the
/// endpoint's secret and short-lived, is the permission. 403 `link_expired` / `invalid_link`.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "public API", params(("id" = Uuid, Path), LinkQuery),
    responses((status = 200, content_type = "audio/mpeg"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn recording_link(
    State(st): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<LinkQuery>,
) -> ApiResult<Response> {
    let invalid = || ApiError::forbidden_code("invalid_link", "this recording link is not valid");
    let (Some(t), Some(endpoint), Some(expires), Some(sig)) = (q.tenant, q.endpoint, q.expires, q.signature)
    else {
        return Err(invalid());
    };
    if expires < OffsetDateTime::now_utc().unix_timestamp() {
        return Err(ApiError::forbidden_code("link_expired", "this recording link has expired; use the API"));
    }
    if t <= 0 {
        return Err(invalid());
    }
    let tenant = TenantId(t);
    let mut tx = st.db.tenant_tx(tenant).await?;
    let secrets = callbase_db::webhooks::signing_secrets(&mut tx, tenant, endpoint).await?;
    let call = id.to_string();
    if !secrets.iter().any(|s| callbase_hooks::message::link_valid(s, &call, expires, &sig)) {
        return Err(invalid());
    }
    let mask = callbase_db::webhooks::masks_numbers(&mut tx, tenant, endpoint).await?;
    let masking = if mask { callbase_crm::view::tenant_masking(&mut tx, tenant).await? } else { None };
    // The link's reader is no user (id 0 is no one's: the audit row has no user).
    let v = Viewer { tenant, user: UserId(0), admin: true, sees_all: true, masking };
    let row = v.visible(&mut tx, id).await?;
    crate::routes::calls::recording::serve(
        &st,
        tx,
        &v,
        row,
        &ip,
        &headers,
        &RecordingQuery { download: Some("1".into()) },
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": 7, "number": "+74951234567"}))]
pub struct PlaceCall {
    /// The telephony user whose phone (browser or desk) rings first.
    pub user_id: i64,
    /// The number to call; or
    #[serde(default)]
    pub number: String,
    /// a CRM record's phone field.
    pub record_id: Option<i64>,
    pub field_id: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"call_id": "0d76c1a7-a0ee-46b7-a74f-935dc201d5cf"}))]
pub struct PlacedCall {
    /// The call's id (`GET /api/v1/calls/{id}` once it started; webhooks carry it).
    pub call_id: String,
}

/// Click-to-call (scope `calls:place`): the user's phone rings first, then the number is dialled
/// under the account's dial rules and fraud limits. With an `Idempotency-Key` header (1–255
/// characters) a retry of the same request within a day gets the first answer and places no
/// second call; the same key with another request is 422 `idempotency_conflict`.
#[utoipa::path(post, path = "/api/v1/calls", tag = "public API", request_body = PlaceCall, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 202, body = PlacedCall), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn place_call(
    State(st): State<AppState>,
    Key(k, _): Key<CallsPlace>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<PlaceCall>,
) -> ApiResult<(StatusCode, Json<PlacedCall>)> {
    let tenant = k.tenant();
    let idem = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().map(str::trim) {
            Ok(s) if (1..=255).contains(&s.len()) => Some(s.to_string()),
            _ => {
                return Err(ApiError::unprocessable(
                    "invalid_idempotency_key",
                    "Idempotency-Key: 1 to 255 characters",
                ))
            }
        },
    };
    let mut tx = st.db.tenant_tx(tenant).await?;
    if !callbase_db::telephony::state(&mut tx, tenant).await?.enabled {
        return Err(crate::extract::telephony_off());
    }
    let user = UserId(b.user_id);
    if callbase_db::telephony::get_user(&mut tx, tenant, user).await?.is_none() {
        return Err(ApiError::unprocessable(
            "not_telephony_user",
            "user_id is not a telephony user of this account",
        ));
    }
    tx.commit().await?;
    let cb = CallbackBody {
        number: b.number.clone(),
        record_id: b.record_id,
        field_id: b.field_id,
        speed_dial_id: None,
    };
    let target = callback_target(&st, tenant, user, &cb).await?;
    let call_id = Uuid::new_v4().to_string();
    let answer = PlacedCall { call_id: call_id.clone() };
    let Some(idem) = idem else {
        start_callback(&st, tenant, user, &call_id, target).await?;
        return Ok((StatusCode::ACCEPTED, Json(answer)));
    };
    let request = json!(b);
    let response = json!(answer);
    // The key is taken in the transaction that places the call: a concurrent retry waits for it,
    // then finds the answer; a failure to place leaves the key free.
    let mut tx = st.db.tenant_tx(tenant).await?;
    if !callbase_db::api_keys::claim_idempotency(&mut tx, tenant, k.key_id, &idem, &request, &response)
        .await?
    {
        let (was, answered) = callbase_db::api_keys::idempotent_answer(&mut tx, tenant, k.key_id, &idem)
            .await?
            .ok_or_else(|| {
                ApiError::conflict(
                    "idempotency_in_progress",
                    "a request with this Idempotency-Key is running",
                )
            })?;
        tx.commit().await?;
        if was != request {
            return Err(ApiError::unprocessable(
                "idempotency_conflict",
                "this Idempotency-Key was used with another request",
            ));
        }
        let first: PlacedCall = serde_json::from_value(answered).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok((StatusCode::ACCEPTED, Json(first)));
    }
    start_callback(&st, tenant, user, &call_id, target).await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(answer)))
}
