//! CRM settings (`/api/crm/settings`): caller matching, number masking, the responsible manager.
//! Administrators only.

use axum::extract::State;
use axum::Json;
use callbase_crm::settings::{self as svc, CrmSettings};

use crate::auth::AdminUser;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

#[utoipa::path(get, path = "/api/crm/settings", tag = "crm", responses((status = 200, body = CrmSettings)))]
pub async fn get_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
) -> ApiResult<Json<CrmSettings>> {
    Ok(Json(svc::get(&st.db, a.tenant_id).await?))
}

// Saves the settings; the tenant's open `/events` sockets re-read who is masked (the CRM publishes
// `Event::CrmSettings`).
#[utoipa::path(put, path = "/api/crm/settings", tag = "crm", request_body = CrmSettings,
    responses((status = 200, body = CrmSettings), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<CrmSettings>,
) -> ApiResult<Json<CrmSettings>> {
    let mut redis = st.redis.clone();
    Ok(Json(svc::put(&st.db, &mut redis, a.tenant_id, b).await?))
}
