//! `/api/v1`: users (`users:read`), CRM tables and records (`crm:write`), webhook endpoints
//! (`admin`). The CRM and webhook routes run the same code as the app's own routes, as the key's
//! user; only the paging (cursors) and the authentication differ.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{RecordId, TableId};
use callbase_crm::list::ListParams;
use callbase_crm::records::{self as svc, RecordBody};
use callbase_crm::shape::Record;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{cursor_in, cursor_out, limit};
use crate::auth::api_key::{Admin, CrmWrite, Key, UsersRead};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::routes::audit::Actor;
use crate::routes::crm::who;
use crate::routes::integrations::webhooks::{
    self as hooks, CreatedWebhook, DeliveryPage, DeliveryQuery, NewWebhook, Queued, Webhook, WebhookPatch,
};
use crate::routes::User;
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–200 (default 50).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// By id.
    pub items: Vec<User>,
    pub next: Option<String>,
}

/// The account's users with their groups, by id (scope `users:read`).
#[utoipa::path(get, path = "/api/v1/users", tag = "public API", params(PageQuery), security(("api_key" = [])),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_users(
    State(st): State<AppState>,
    Key(k, _): Key<UsersRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<UserList>> {
    let limit = limit(q.limit)?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => cursor_in(c)?.parse::<i64>().map_err(|_| {
            ApiError::unprocessable("invalid_cursor", "cursor: pass a page's `next` as it is")
        })?,
    };
    let tenant = k.tenant();
    let mut tx = st.db.tenant_tx(tenant).await?;
    let users = callbase_db::accounts::list_users(&mut tx, tenant).await?;
    let all_groups = callbase_db::accounts::all_user_groups(&mut tx, tenant).await?;
    tx.commit().await?;
    let mut page: Vec<_> = users.iter().filter(|u| u.id.0 > after).collect();
    page.sort_by_key(|u| u.id.0);
    page.truncate(limit as usize);
    let next =
        (page.len() as i64 == limit).then(|| page.last().map(|u| cursor_out(&u.id.0.to_string()))).flatten();
    let items = page
        .into_iter()
        .map(|u| {
            let groups: Vec<_> = all_groups
                .iter()
                .filter(|g| g.0 == u.id)
                .map(|(_, gid, name, role)| (*gid, name.clone(), *role))
                .collect();
            User::from_row(u, &groups)
        })
        .collect();
    Ok(Json(UserList { items, next }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// Quick search over every value.
    pub q: Option<String>,
    /// The app's filters: a JSON array of `{"field": id, "op": "…", "value": "…"}`.
    pub filters: Option<String>,
    /// 1–200 (default 50).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordList {
    /// Newest first.
    pub items: Vec<Record>,
    pub next: Option<String>,
}

/// A CRM table's records, newest first (scope `crm:write`).
#[utoipa::path(get, path = "/api/v1/crm/tables/{id}/records", tag = "public API", params(("id" = i64, Path), RecordsQuery),
    security(("api_key" = [])),
    responses((status = 200, body = RecordList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_records(
    State(st): State<AppState>,
    Key(k, _): Key<CrmWrite>,
    Path(id): Path<TableId>,
    ApiQuery(q): ApiQuery<RecordsQuery>,
) -> ApiResult<Json<RecordList>> {
    let limit = limit(q.limit)?;
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(RecordId(cursor_in(c)?.parse::<i64>().map_err(|_| {
            ApiError::unprocessable("invalid_cursor", "cursor: pass a page's `next` as it is")
        })?)),
    };
    let p = ListParams {
        page: None,
        per_page: Some(limit),
        sort: None,
        desc: false,
        q: q.q,
        filters: q.filters,
        after: None,
    };
    let (items, next) = callbase_crm::list::page_before(&st.db, &who(&k.user), id, &p, before).await?;
    Ok(Json(RecordList { items, next: next.map(|r| cursor_out(&r.0.to_string())) }))
}

/// Creates a record (scope `crm:write`); phone values are normalised by the dial rules.
#[utoipa::path(post, path = "/api/v1/crm/tables/{id}/records", tag = "public API", params(("id" = i64, Path)), request_body = RecordBody,
    security(("api_key" = [])),
    responses((status = 201, body = Record), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_record(
    State(st): State<AppState>,
    Key(k, _): Key<CrmWrite>,
    Path(id): Path<TableId>,
    ApiJson(b): ApiJson<RecordBody>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    Ok((StatusCode::CREATED, Json(svc::create(&st.db, &who(&k.user), id, b).await?)))
}

/// One record (scope `crm:write`).
#[utoipa::path(get, path = "/api/v1/crm/records/{id}", tag = "public API", params(("id" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, body = Record), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_record(
    State(st): State<AppState>,
    Key(k, _): Key<CrmWrite>,
    Path(id): Path<RecordId>,
) -> ApiResult<Json<Record>> {
    Ok(Json(svc::get(&st.db, &who(&k.user), id).await?))
}

/// Changes the given fields of a record (scope `crm:write`; null clears one).
#[utoipa::path(patch, path = "/api/v1/crm/records/{id}", tag = "public API", params(("id" = i64, Path)), request_body = RecordBody,
    security(("api_key" = [])),
    responses((status = 200, body = Record), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_record(
    State(st): State<AppState>,
    Key(k, _): Key<CrmWrite>,
    Path(id): Path<RecordId>,
    ApiJson(b): ApiJson<RecordBody>,
) -> ApiResult<Json<Record>> {
    Ok(Json(svc::patch(&st.db, &who(&k.user), id, b).await?))
}

/// The webhook endpoints (scope `admin`).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "public API", security(("api_key" = [])),
    responses((status = 200, body = [Webhook]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_webhooks(
    State(st): State<AppState>,
    Key(k, _): Key<Admin>,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(hooks::do_list(&st, k.tenant()).await?))
}

/// Adds a webhook endpoint (scope `admin`); the signing secret is in the answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "public API", request_body = NewWebhook, security(("api_key" = [])),
    responses((status = 201, body = CreatedWebhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_webhook(
    State(st): State<AppState>,
    _k: Key<Admin>,
    who: Actor,
    ApiJson(b): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    Ok((StatusCode::CREATED, Json(hooks::do_create(&st, &who, b).await?)))
}

/// Changes a webhook endpoint (scope `admin`).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "public API", params(("id" = i64, Path)), request_body = WebhookPatch,
    security(("api_key" = [])),
    responses((status = 200, body = Webhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_webhook(
    State(st): State<AppState>,
    _k: Key<Admin>,
    who: Actor,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WebhookPatch>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(hooks::do_patch(&st, &who, id, b).await?))
}

/// Removes a webhook endpoint (scope `admin`).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "public API", params(("id" = i64, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(st): State<AppState>,
    _k: Key<Admin>,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    hooks::do_delete(&st, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries with their attempts, newest first (scope `admin`).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "public API", params(("id" = i64, Path), DeliveryQuery),
    security(("api_key" = [])),
    responses((status = 200, body = DeliveryPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn webhook_deliveries(
    State(st): State<AppState>,
    Key(k, _): Key<Admin>,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    Ok(Json(hooks::do_deliveries(&st, k.tenant(), id, q).await?))
}

/// Sends a delivery again (scope `admin`).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{message_id}/replay", tag = "public API",
    params(("id" = i64, Path), ("message_id" = String, Path)), security(("api_key" = [])),
    responses((status = 202, body = Queued), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replay_webhook(
    State(st): State<AppState>,
    _k: Key<Admin>,
    who: Actor,
    Path((id, message)): Path<(i64, String)>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    Ok((StatusCode::ACCEPTED, Json(hooks::do_replay(&st, &who, id, &message).await?)))
}
