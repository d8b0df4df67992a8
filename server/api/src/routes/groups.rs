//! Access groups (administrators and sub-administrators only). A group grants a role; built-in
//! groups (Administrator, Sub-administrator, Agent) cannot be renamed, re-roled or deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{GroupId, Role};
use callbase_db::accounts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::{self, Actor};
use crate::routes::users::ensure_an_admin_remains;
use crate::sockets::Close;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub role: Role,
    pub builtin: bool,
    /// Members supervise: they see the live presence board (administrators and sub-administrators
    /// do by their role).
    pub supervisor: bool,
    /// Members' calls cannot be listened to, whispered to or barged in on.
    pub private: bool,
    pub member_count: i64,
}

impl From<accounts::GroupRow> for Group {
    fn from(g: accounts::GroupRow) -> Self {
        Group {
            id: g.id,
            name: g.name,
            role: g.role,
            builtin: g.builtin,
            supervisor: g.supervisor,
            private: g.private,
            member_count: g.member_count,
        }
    }
}

/// A group as the audit log shows it.
fn shown(g: &accounts::GroupRow) -> serde_json::Value {
    serde_json::json!({"name": g.name, "role": g.role, "supervisor": g.supervisor, "private": g.private})
}

fn parse_group_name(raw: &str) -> ApiResult<String> {
    let s = raw.trim();
    if (1..=100).contains(&s.chars().count()) && !s.chars().any(char::is_control) {
        Ok(s.to_string())
    } else {
        Err(ApiError::unprocessable("invalid_group_name", "group name must be 1–100 characters"))
    }
}

fn name_taken(e: &callbase_db::Error) -> bool {
    callbase_db::constraint(e) == Some("access_groups_tenant_name_key")
}

fn taken(name: &str) -> ApiError {
    ApiError::conflict("group_name_taken", format!("a group named '{name}' exists already"))
}

#[utoipa::path(get, path = "/api/groups", tag = "groups", responses((status = 200, body = [Group])))]
pub async fn list(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<Json<Vec<Group>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let groups = accounts::list_groups(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(groups.into_iter().map(Group::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGroup {
    pub name: String,
    #[serde(default = "default_role")]
    pub role: Role,
    /// The supervisor permission (default off).
    #[serde(default)]
    pub supervisor: bool,
    /// Members' calls cannot be supervised (default off).
    #[serde(default)]
    pub private: bool,
}

fn default_role() -> Role {
    Role::User
}

#[utoipa::path(post, path = "/api/groups", tag = "groups", request_body = CreateGroup,
    responses((status = 201, body = Group), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    let name = parse_group_name(&b.name)?;
    if b.role == Role::Administrator && a.role < Role::Administrator {
        return Err(ApiError::Forbidden);
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let id = match accounts::insert_group(&mut tx, a.tenant_id, &name, b.role, b.supervisor, b.private).await
    {
        Err(e) if name_taken(&e) => return Err(taken(&name)),
        r => r?,
    };
    let g = accounts::group_by_id(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    audit::record(&st, &who, "group.create", &g.name, None, Some(shown(&g))).await?;
    Ok((StatusCode::CREATED, Json(g.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchGroup {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// The supervisor permission (built-in groups may have it too).
    pub supervisor: Option<bool>,
    /// Members' calls cannot be supervised.
    pub private: Option<bool>,
}

#[utoipa::path(patch, path = "/api/groups/{id}", tag = "groups", params(("id" = i64, Path)), request_body = PatchGroup,
    responses((status = 200, body = Group), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn patch(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(id): Path<GroupId>,
    ApiJson(b): ApiJson<PatchGroup>,
) -> ApiResult<Json<Group>> {
    let name = b.name.as_deref().map(parse_group_name).transpose()?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let g = accounts::group_by_id(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    if g.builtin && (name.is_some() || b.role.is_some()) {
        return Err(ApiError::conflict("builtin_group", "built-in groups keep their name and role"));
    }
    let touches_admin = g.role == Role::Administrator || b.role == Some(Role::Administrator);
    if touches_admin && a.role < Role::Administrator {
        return Err(ApiError::Forbidden);
    }
    match accounts::update_group(&mut tx, a.tenant_id, id, name.as_deref(), b.role, b.supervisor, b.private)
        .await
    {
        Err(e) if name_taken(&e) => return Err(taken(name.as_deref().unwrap_or_default())),
        r => r?,
    };
    ensure_an_admin_remains(&mut tx, &a).await?;
    let after = accounts::group_by_id(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    let members = if after.role != g.role || after.supervisor != g.supervisor {
        accounts::group_members(&mut tx, a.tenant_id, id).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    // The members' role or permission changed: their open sockets reconnect to get it.
    for u in members {
        st.sockets.revoke_user(a.tenant_id, u, Close::ACCESS_CHANGED).await;
    }
    audit::record(&st, &who, "group.update", &after.name, Some(shown(&g)), Some(shown(&after))).await?;
    Ok(Json(after.into()))
}

#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(id): Path<GroupId>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let g = accounts::group_by_id(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    if g.builtin {
        return Err(ApiError::conflict("builtin_group", "built-in groups cannot be deleted"));
    }
    if g.role == Role::Administrator && a.role < Role::Administrator {
        return Err(ApiError::Forbidden);
    }
    let members = accounts::group_members(&mut tx, a.tenant_id, id).await?;
    // Deleting an auto-provisioning group takes telephony from its members: not a
    // sub-administrator's way to remove an administrator's phone.
    if a.role < Role::Administrator
        && callbase_db::telephony::state(&mut tx, a.tenant_id).await?.auto_group_ids.contains(&id.0)
    {
        for u in &members {
            let role = accounts::user_groups(&mut tx, a.tenant_id, *u)
                .await?
                .iter()
                .map(|g| g.2)
                .max()
                .unwrap_or(Role::User);
            if role == Role::Administrator {
                return Err(ApiError::forbidden_code(
                    "admins_only",
                    "this group gives an administrator their phone: only administrators delete it",
                ));
            }
        }
    }
    accounts::delete_group(&mut tx, a.tenant_id, id).await?;
    ensure_an_admin_remains(&mut tx, &a).await?;
    callbase_db::telephony::forget_group(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    // Members lose the group's role and masking: their open sockets reconnect.
    for u in members {
        st.sockets.revoke_user(a.tenant_id, u, Close::ACCESS_CHANGED).await;
    }
    // Members who were telephony users only through this group lose telephony.
    crate::routes::telephony::after_user_change(&st, a.tenant_id, None).await;
    audit::record(&st, &who, "group.delete", &g.name, Some(shown(&g)), None).await?;
    Ok(StatusCode::NO_CONTENT)
}
