//! CRM tables and their fields (`/api/crm/tables…`): everyone reads, administrators change.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{FieldId, TableId};
use callbase_crm::shape::{Field, Table};
use callbase_crm::tables::{self as svc, CreateField, CreateTable, PatchField, PatchTable};

use crate::auth::{AdminUser, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

#[utoipa::path(get, path = "/api/crm/tables", tag = "crm", responses((status = 200, body = [Table])))]
pub async fn list_tables(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<Vec<Table>>> {
    Ok(Json(svc::list(&st.db, cu.tenant_id).await?))
}

/// A new table starts with a "Name" text field (its title).
#[utoipa::path(post, path = "/api/crm/tables", tag = "crm", request_body = CreateTable,
    responses((status = 201, body = Table), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_table(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<CreateTable>,
) -> ApiResult<(StatusCode, Json<Table>)> {
    Ok((StatusCode::CREATED, Json(svc::create(&st.db, a.tenant_id, b).await?)))
}

#[utoipa::path(patch, path = "/api/crm/tables/{id}", tag = "crm", params(("id" = i64, Path)), request_body = PatchTable,
    responses((status = 200, body = Table), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_table(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<TableId>,
    ApiJson(b): ApiJson<PatchTable>,
) -> ApiResult<Json<Table>> {
    Ok(Json(svc::patch(&st.db, a.tenant_id, id, b).await?))
}

#[utoipa::path(delete, path = "/api/crm/tables/{id}", tag = "crm", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_table(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<TableId>,
) -> ApiResult<StatusCode> {
    svc::delete(&st.db, a.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/crm/tables/{id}/fields", tag = "crm", params(("id" = i64, Path)), request_body = CreateField,
    responses((status = 201, body = Field), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_field(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<TableId>,
    ApiJson(b): ApiJson<CreateField>,
) -> ApiResult<(StatusCode, Json<Field>)> {
    Ok((StatusCode::CREATED, Json(svc::create_field(&st.db, a.tenant_id, id, b).await?)))
}

#[utoipa::path(patch, path = "/api/crm/tables/{id}/fields/{field_id}", tag = "crm", params(("id" = i64, Path), ("field_id" = i64, Path)),
    request_body = PatchField, responses((status = 200, body = Field), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_field(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path((id, fid)): Path<(TableId, FieldId)>,
    ApiJson(b): ApiJson<PatchField>,
) -> ApiResult<Json<Field>> {
    Ok(Json(svc::patch_field(&st.db, a.tenant_id, id, fid, b).await?))
}

#[utoipa::path(delete, path = "/api/crm/tables/{id}/fields/{field_id}", tag = "crm", params(("id" = i64, Path), ("field_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_field(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path((id, fid)): Path<(TableId, FieldId)>,
) -> ApiResult<StatusCode> {
    svc::delete_field(&st.db, a.tenant_id, id, fid).await?;
    Ok(StatusCode::NO_CONTENT)
}
