//! Speed dial (issue #18, item 6): administrators keep named numbers per access group; members see
//! their groups' entries in the phone, numbers masked by their own rules, and dial an entry by its
//! reference (`sd<id>`), which the call flow resolves for members of its group only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::GroupId;
use callbase_db::speed_dials::{self as repo, SpeedDial};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{TelephonyOn, TelephonyUser};
use crate::json::ApiJson;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SpeedDialEntry {
    pub id: i64,
    pub group_id: GroupId,
    pub name: String,
    /// As the viewer may see it (masked for members of masked groups).
    pub number: String,
    /// What the phone dials: the server looks the number up.
    pub target: String,
}

fn entry(s: SpeedDial, number: String) -> SpeedDialEntry {
    SpeedDialEntry { target: format!("sd{}", s.id), id: s.id, group_id: s.group_id, name: s.name, number }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SpeedDialBody {
    pub group_id: GroupId,
    /// 1–60 characters.
    pub name: String,
    /// A phone number or an extension: digits with an optional leading `+`, `*` and `#`; spaces,
    /// dashes, dots and brackets are dropped (1–32 characters remain).
    pub number: String,
}

/// The name and the number as stored, or 422.
fn parse(b: &SpeedDialBody) -> ApiResult<(String, String)> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "invalid_speed_dial_name",
            "a speed dial name is 1 to 60 characters",
        ));
    }
    let number: String = b.number.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = number.strip_prefix('+').unwrap_or(&number);
    let ok = !digits.is_empty()
        && number.len() <= 32
        && digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
    if !ok {
        return Err(ApiError::unprocessable(
            "invalid_speed_dial_number",
            "a speed dial number is digits (an optional leading +, * and #), at most 32",
        ));
    }
    Ok((name.to_string(), number))
}

/// 422 when the group is not the tenant's; 409 when it holds the most entries it may.
async fn check_group(
    tx: &mut callbase_db::Tx,
    a: &crate::auth::CurrentUser,
    group: GroupId,
    adding: bool,
) -> ApiResult<()> {
    if callbase_db::accounts::group_by_id(tx, a.tenant_id, group).await?.is_none() {
        return Err(ApiError::unprocessable("unknown_group", "no such access group"));
    }
    if adding && repo::count_in_group(tx, a.tenant_id, group).await? >= repo::MAX_PER_GROUP {
        return Err(ApiError::conflict(
            "too_many_speed_dials",
            format!("a group holds at most {} speed dial entries", repo::MAX_PER_GROUP),
        ));
    }
    Ok(())
}

/// Every entry of the account (administrators and sub-administrators), numbers as they are.
#[utoipa::path(get, path = "/api/telephony/speed-dials", tag = "telephony",
    responses((status = 200, body = [SpeedDialEntry]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<SpeedDialEntry>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let all = repo::all(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(
        all.into_iter()
            .map(|s| {
                let n = s.number.clone();
                entry(s, n)
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/telephony/speed-dials", tag = "telephony", request_body = SpeedDialBody,
    responses((status = 201, body = SpeedDialEntry), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<SpeedDialBody>,
) -> ApiResult<(StatusCode, Json<SpeedDialEntry>)> {
    let (name, number) = parse(&b)?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    check_group(&mut tx, &a, b.group_id, true).await?;
    let s = repo::insert(&mut tx, a.tenant_id, b.group_id, &name, &number).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(entry(s, number))))
}

#[utoipa::path(put, path = "/api/telephony/speed-dials/{id}", tag = "telephony", params(("id" = i64, Path)), request_body = SpeedDialBody,
    responses((status = 200, body = SpeedDialEntry), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SpeedDialBody>,
) -> ApiResult<Json<SpeedDialEntry>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    // Another tenant's entry (or none) is 404 whatever the body says.
    let before = repo::get(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    let (name, number) = parse(&b)?;
    check_group(&mut tx, &a, b.group_id, before.group_id != b.group_id).await?;
    let s = repo::update(&mut tx, a.tenant_id, id, b.group_id, &name, &number)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(Json(entry(s, number)))
}

#[utoipa::path(delete, path = "/api/telephony/speed-dials/{id}", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let gone = repo::delete(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    if gone {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The entries of the caller's groups, for the phone, numbers as the caller may see them.
#[utoipa::path(get, path = "/api/telephony/me/speed-dials", tag = "telephony",
    responses((status = 200, body = [SpeedDialEntry]), (status = 403, body = ErrorBody)))]
pub async fn mine(State(st): State<AppState>, me: TelephonyUser) -> ApiResult<Json<Vec<SpeedDialEntry>>> {
    let cu = me.user;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let list = repo::of_user(&mut tx, cu.tenant_id, cu.user_id).await?;
    let groups: Vec<_> = cu.groups.iter().map(|g| g.0).collect();
    let masking = callbase_crm::view::masking_for(&mut tx, cu.tenant_id, &groups).await?;
    tx.commit().await?;
    Ok(Json(
        list.into_iter()
            .map(|s| {
                let n = callbase_core::crm::shown(masking, &s.number);
                entry(s, n)
            })
            .collect(),
    ))
}
