//! Users of a tenant (administrators and sub-administrators only).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::inputs::{parse_email, parse_name};
use callbase_core::{GroupId, Login, Password, Role, UserId};
use callbase_db::{accounts, Tx};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{password, AdminUser, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::{self, Actor};
use crate::routes::User;
use crate::sockets::Close;
use crate::AppState;

/// All users of the tenant with their groups.
#[utoipa::path(get, path = "/api/users", tag = "users", responses((status = 200, body = [User]), (status = 403, body = ErrorBody)))]
pub async fn list(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<Json<Vec<User>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let users = accounts::list_users(&mut tx, a.tenant_id).await?;
    let mut groups: HashMap<UserId, Vec<(GroupId, String, Role)>> = HashMap::new();
    for (uid, gid, name, role) in accounts::all_user_groups(&mut tx, a.tenant_id).await? {
        groups.entry(uid).or_default().push((gid, name, role));
    }
    tx.commit().await?;
    Ok(Json(users.iter().map(|u| User::from_row(u, groups.get(&u.id).map_or(&[], |g| g))).collect()))
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<UserId>,
) -> ApiResult<Json<User>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let user = load(&mut tx, &a, id).await?;
    tx.commit().await?;
    Ok(Json(user))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    pub login: String,
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUser, responses(
    (status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let login = Login::parse(&b.login)?;
    let name = parse_name(&b.name)?;
    let email = parse_email(&b.email)?;
    let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
    let pw = Password::parse(&b.password, &[login.as_str(), &account])?;
    let hash = password::hash(pw.expose().to_string()).await?;

    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    check_grantable(&mut tx, &a, &b.group_ids).await?;
    let new = accounts::NewUser { login: login.as_str(), name: &name, email: &email, password_hash: &hash };
    let user = match accounts::insert_user(&mut tx, a.tenant_id, &new).await {
        Err(e) if callbase_db::constraint(&e) == Some("users_tenant_login_key") => {
            return Err(ApiError::conflict(
                "login_taken",
                format!("the login '{}' is taken", login.as_str()),
            ));
        }
        r => r?,
    };
    set_groups(&mut tx, &a, user.id, &b.group_ids).await?;
    let out = load(&mut tx, &a, user.id).await?;
    tx.commit().await?;
    crate::routes::telephony::after_user_change(&st, a.tenant_id, Some(user.id)).await;
    tracing::info!(tenant.id = %a.tenant_id, user.id = %user.id, by = %a.user_id, "user created");
    audit::record(&st, &who, "user.create", &out.login, None, Some(audited(&out))).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PatchUser {
    pub name: Option<String>,
    pub email: Option<String>,
    /// A new password (policy applies); ends the user's sessions.
    pub password: Option<String>,
    /// Disabling ends the user's sessions at once.
    pub disabled: Option<bool>,
    /// Replaces the user's groups.
    pub group_ids: Option<Vec<GroupId>>,
}

#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = PatchUser,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(id): Path<UserId>,
    ApiJson(b): ApiJson<PatchUser>,
) -> ApiResult<Json<User>> {
    let name = b.name.as_deref().map(parse_name).transpose()?;
    let email = b.email.as_deref().map(parse_email).transpose()?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let target = load(&mut tx, &a, id).await?;
    if target.role == Role::Administrator && a.role < Role::Administrator {
        return Err(ApiError::Forbidden);
    }
    let hash = match &b.password {
        Some(p) => {
            let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
            let pw = Password::parse(p, &[&target.login, &account])?;
            Some(password::hash(pw.expose().to_string()).await?)
        }
        None => None,
    };
    if let Some(gids) = &b.group_ids {
        check_grantable(&mut tx, &a, gids).await?;
        set_groups(&mut tx, &a, id, gids).await?;
    }
    let p = accounts::UserPatch {
        name: name.as_deref(),
        email: email.as_deref(),
        password_hash: hash.as_deref(),
        disabled: b.disabled,
    };
    accounts::update_user(&mut tx, a.tenant_id, id, &p).await?.ok_or(ApiError::NotFound)?;
    ensure_an_admin_remains(&mut tx, &a).await?;
    let out = load(&mut tx, &a, id).await?;
    tx.commit().await?;
    if b.disabled == Some(true) || hash.is_some() {
        st.sessions.delete_all_for(a.tenant_id, id).await?;
        st.sockets.revoke_user(a.tenant_id, id, Close::SESSION_ENDED).await;
    } else if b.group_ids.is_some() {
        // New groups: a new role and masking; open sockets reconnect to get them.
        st.sockets.revoke_user(a.tenant_id, id, Close::ACCESS_CHANGED).await;
    }
    if b.disabled.is_some() || b.group_ids.is_some() || b.name.is_some() {
        crate::routes::telephony::after_user_change(&st, a.tenant_id, Some(id)).await;
    }
    tracing::info!(tenant.id = %a.tenant_id, user.id = %id, by = %a.user_id, "user updated");
    let mut after = audited(&out);
    after["password_reset"] = hash.is_some().into();
    audit::record(&st, &who, "user.update", &out.login, Some(audited(&target)), Some(after)).await?;
    Ok(Json(out))
}

/// What the audit log keeps of a user: what decides their access.
fn audited(u: &User) -> serde_json::Value {
    serde_json::json!({"id": u.id, "login": u.login, "disabled": u.disabled, "role": u.role,
        "groups": u.groups.iter().map(|g| &g.name).collect::<Vec<_>>()})
}

async fn load(tx: &mut Tx, a: &CurrentUser, id: UserId) -> ApiResult<User> {
    let u = accounts::user_by_id(tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    let g = accounts::user_groups(tx, a.tenant_id, id).await?;
    Ok(User::from_row(&u, &g))
}

/// Sub-administrators may not hand out the administrator role.
async fn check_grantable(tx: &mut Tx, a: &CurrentUser, gids: &[GroupId]) -> ApiResult<()> {
    if a.role == Role::Administrator || gids.is_empty() {
        return Ok(());
    }
    let groups = accounts::list_groups(tx, a.tenant_id).await?;
    if groups.iter().any(|g| gids.contains(&g.id) && g.role == Role::Administrator) {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

async fn set_groups(tx: &mut Tx, a: &CurrentUser, id: UserId, gids: &[GroupId]) -> ApiResult<()> {
    accounts::set_memberships(tx, a.tenant_id, id, gids).await?.map_err(|unknown| {
        let ids: Vec<String> = unknown.iter().map(|g| g.to_string()).collect();
        ApiError::unprocessable("unknown_group", format!("no such access group: {}", ids.join(", ")))
    })
}

/// Refuses a change that would leave the tenant without an enabled administrator.
pub(crate) async fn ensure_an_admin_remains(tx: &mut Tx, a: &CurrentUser) -> ApiResult<()> {
    if accounts::active_admin_count(tx, a.tenant_id).await? == 0 {
        return Err(ApiError::conflict(
            "last_admin",
            "this would leave the organisation without an active administrator; make someone else an administrator first",
        ));
    }
    Ok(())
}
