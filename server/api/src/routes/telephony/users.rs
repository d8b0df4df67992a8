//! Telephony users (administrators): list, add by hand, change, remove, new desk password, and
//! the auto-provisioning groups.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{GroupId, UserId};
use callbase_telephony::lifecycle;
use callbase_telephony::provision::{Change, NewUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{to_api, with_secret, TelUser};
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::AppState;

fn parse_extension(raw: &str) -> ApiResult<String> {
    let x = raw.trim();
    if (3..=6).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit()) {
        Ok(x.to_string())
    } else {
        Err(ApiError::unprocessable("invalid_extension", "an extension is 3 to 6 digits"))
    }
}

/// Telephony users, by extension (administrators).
#[utoipa::path(get, path = "/api/telephony/users", tag = "telephony", responses((status = 200, body = [TelUser])))]
pub async fn list_users(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<TelUser>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = callbase_db::telephony::list_users(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    let out =
        futures_util::future::join_all(rows.into_iter().map(|u| to_api(&st, a.tenant_id, u, None))).await;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTelUser {
    pub user_id: UserId,
    /// 3–6 digits; the next free one from 101 when absent.
    pub extension: Option<String>,
    pub accept_incoming: Option<bool>,
    pub browser_calls: Option<bool>,
}

/// Makes a user a telephony user by hand (kept when they leave the auto-provisioning groups).
#[utoipa::path(post, path = "/api/telephony/users", tag = "telephony", request_body = CreateTelUser, responses(
    (status = 201, body = TelUser), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<CreateTelUser>,
) -> ApiResult<(StatusCode, Json<TelUser>)> {
    let extension =
        b.extension.as_deref().filter(|e| !e.trim().is_empty()).map(parse_extension).transpose()?;
    let n = NewUser {
        user: b.user_id,
        extension: extension.as_deref(),
        accept_incoming: b.accept_incoming.unwrap_or(true),
        browser_calls: b.browser_calls.unwrap_or(true),
        manual: true,
    };
    let node = super::node(&st, a.tenant_id).await?;
    let w = lifecycle::add_user(&st.db, node.pbx(), a.tenant_id, a.role, &n).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&st, a.tenant_id, w).await)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PatchTelUser {
    pub extension: Option<String>,
    pub accept_incoming: Option<bool>,
    pub browser_calls: Option<bool>,
    /// Allow or withdraw calls abroad for this user.
    pub international: Option<bool>,
    /// Where the user's calls go when none of their devices is online (an outside number the dial
    /// rules allow); `""` removes it.
    pub mobile_number: Option<String>,
}

/// Changes a telephony user. A new extension means a new SIP login and password (returned once in
/// `sip_password`).
#[utoipa::path(patch, path = "/api/telephony/users/{user_id}", tag = "telephony", params(("user_id" = i64, Path)),
    request_body = PatchTelUser, responses((status = 200, body = TelUser), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_user(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(user): Path<UserId>,
    ApiJson(b): ApiJson<PatchTelUser>,
) -> ApiResult<Json<TelUser>> {
    let extension = b.extension.as_deref().map(parse_extension).transpose()?;
    let mobile = match b.mobile_number.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(m) => Some(Some(check_mobile(&st, a.tenant_id, m).await?)),
    };
    let c = Change {
        extension: extension.as_deref(),
        accept_incoming: b.accept_incoming,
        browser_calls: b.browser_calls,
    };
    let extras = lifecycle::Extras { international: b.international, mobile };
    let node = super::node(&st, a.tenant_id).await?;
    let done = lifecycle::change_user(&st.db, node.pbx(), a.tenant_id, a.role, user, &c, &extras).await?;
    for u in done.close {
        st.phones.close_user(a.tenant_id, u);
    }
    let (row, password) = done.value;
    Ok(Json(to_api(&st, a.tenant_id, row, password).await))
}

/// Removes a telephony user: their SIP endpoints go and their calls end.
#[utoipa::path(delete, path = "/api/telephony/users/{user_id}", tag = "telephony", params(("user_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(user): Path<UserId>,
) -> ApiResult<StatusCode> {
    let node = super::node(&st, a.tenant_id).await?;
    lifecycle::remove_user(&st.db, node.pbx(), a.tenant_id, a.role, user).await?;
    st.phones.close_user(a.tenant_id, user);
    Ok(StatusCode::NO_CONTENT)
}

/// A new desk-phone password for a telephony user (shown once).
#[utoipa::path(post, path = "/api/telephony/users/{user_id}/password", tag = "telephony", params(("user_id" = i64, Path)),
    responses((status = 200, body = TelUser), (status = 404, body = ErrorBody)))]
pub async fn new_password(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(user): Path<UserId>,
) -> ApiResult<Json<TelUser>> {
    let node = super::node(&st, a.tenant_id).await?;
    let w = lifecycle::new_password(&st.db, node.pbx(), a.tenant_id, Some(a.role), user).await?;
    Ok(Json(with_secret(&st, a.tenant_id, w).await))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Provisioning {
    /// Access groups whose members become telephony users automatically.
    pub group_ids: Vec<GroupId>,
}

#[utoipa::path(get, path = "/api/telephony/provisioning", tag = "telephony", responses((status = 200, body = Provisioning)))]
pub async fn get_provisioning(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Provisioning>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = callbase_db::telephony::state(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(Provisioning { group_ids: s.auto_group_ids.into_iter().map(GroupId).collect() }))
}

/// Chooses the auto-provisioning groups and applies the choice at once.
#[utoipa::path(put, path = "/api/telephony/provisioning", tag = "telephony", request_body = Provisioning,
    responses((status = 200, body = Provisioning), (status = 422, body = ErrorBody)))]
pub async fn put_provisioning(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<Provisioning>,
) -> ApiResult<Json<Provisioning>> {
    let node = super::node(&st, a.tenant_id).await?;
    let done = lifecycle::set_provisioning(&st.db, node.pbx(), a.tenant_id, a.role, &b.group_ids).await?;
    for u in done.close {
        st.phones.close_user(a.tenant_id, u);
    }
    Ok(Json(Provisioning { group_ids: done.value }))
}

/// A mobile number as given, when it is an outside number the tenant's dial rules allow.
async fn check_mobile<'a>(st: &AppState, tenant: callbase_core::TenantId, m: &'a str) -> ApiResult<&'a str> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    tx.commit().await?;
    match rules.route(m, |_| false) {
        Ok(callbase_core::dial::Routed::External { .. }) if m.len() <= 32 => Ok(m),
        Ok(_) => Err(ApiError::unprocessable("invalid_mobile_number", "give an outside number")),
        Err(refusal) => Err(ApiError::unprocessable(
            "invalid_mobile_number",
            format!("the mobile number is refused: {refusal}"),
        )),
    }
}
