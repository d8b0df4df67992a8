//! CSV import (`/api/crm/tables/{id}/imports`, `/api/crm/imports/{id}`): upload → preview and
//! mapping → run in the background, polled. For administrators (`callbase_crm::import`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::TableId;
use callbase_crm::import::{self as svc, ImportPreview, ImportStatus, RunImport, UploadParams};
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

pub use callbase_crm::import::FILE_MAX_BYTES;

#[utoipa::path(post, path = "/api/crm/tables/{id}/imports", tag = "crm", params(("id" = i64, Path), UploadParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportPreview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(st): State<AppState>,
    AdminUser(cu): AdminUser,
    Path(table): Path<TableId>,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ImportPreview>)> {
    let preview = svc::upload(&st.db, cu.tenant_id, cu.user_id, table, &p, &body).await?;
    Ok((StatusCode::CREATED, Json(preview)))
}

#[utoipa::path(get, path = "/api/crm/imports/{id}", tag = "crm", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportStatus), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    AdminUser(cu): AdminUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ImportStatus>> {
    Ok(Json(svc::status(&st.db, cu.tenant_id, id).await?))
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
    Ok((StatusCode::ACCEPTED, Json(svc::run(&st.db, cu.tenant_id, cu.user_id, id, b).await?)))
}
