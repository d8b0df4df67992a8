//! CRM records (`/api/crm/tables/{id}/records`, `/api/crm/records/{id}`), their CSV export and the
//! user names of user-reference fields: for everyone signed in, shaped for the viewer.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use callbase_core::{RecordId, TableId};
use callbase_crm::list::{ListParams, RecordPage};
use callbase_crm::records::{self as svc, RecordBody, UserName};
use callbase_crm::shape::Record;

use super::who;
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

#[utoipa::path(post, path = "/api/crm/tables/{id}/records", tag = "crm", params(("id" = i64, Path)), request_body = RecordBody,
    responses((status = 201, body = Record), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<TableId>,
    ApiJson(b): ApiJson<RecordBody>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    Ok((StatusCode::CREATED, Json(svc::create(&st.db, &who(&cu), id, b).await?)))
}

#[utoipa::path(get, path = "/api/crm/records/{id}", tag = "crm", params(("id" = i64, Path)),
    responses((status = 200, body = Record), (status = 404, body = ErrorBody)))]
pub async fn get_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<RecordId>,
) -> ApiResult<Json<Record>> {
    Ok(Json(svc::get(&st.db, &who(&cu), id).await?))
}

/// Changes the given fields (others keep their values; null clears one). A masked user cannot
/// change a phone field (they never saw it).
#[utoipa::path(patch, path = "/api/crm/records/{id}", tag = "crm", params(("id" = i64, Path)), request_body = RecordBody,
    responses((status = 200, body = Record), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<RecordId>,
    ApiJson(b): ApiJson<RecordBody>,
) -> ApiResult<Json<Record>> {
    Ok(Json(svc::patch(&st.db, &who(&cu), id, b).await?))
}

#[utoipa::path(delete, path = "/api/crm/records/{id}", tag = "crm", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<RecordId>,
) -> ApiResult<StatusCode> {
    svc::delete(&st.db, &who(&cu), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/crm/tables/{id}/records", tag = "crm", params(("id" = i64, Path), ListParams),
    responses((status = 200, body = RecordPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_records(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<TableId>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<RecordPage>> {
    Ok(Json(callbase_crm::list::page(&st.db, &who(&cu), id, &p).await?))
}

/// CSV of the current filtered, sorted view (every page; at most 100 000 rows). Cells that a
/// spreadsheet would run as formulas are neutralised; masked users get masked numbers.
#[utoipa::path(get, path = "/api/crm/tables/{id}/export.csv", tag = "crm", params(("id" = i64, Path), ListParams),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_csv(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<TableId>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    let e = callbase_crm::export::export_csv(&st.db, &who(&cu), id, p).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, callbase_recordings::names::attachment(&e.file_name)),
        ],
        e.body,
    )
        .into_response())
}

/// The tenant's users by name, for user-reference fields (every signed-in user; names only).
#[utoipa::path(get, path = "/api/crm/users", tag = "crm", responses((status = 200, body = [UserName])))]
pub async fn user_names(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<Vec<UserName>>> {
    Ok(Json(svc::user_names(&st.db, &who(&cu)).await?))
}
