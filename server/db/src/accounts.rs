//! Tenants, users, access groups and memberships. Every function that touches tenant-owned rows
//! takes a transaction opened by [`crate::Db::tenant_tx`] (RLS-scoped) and the tenant id.

use callbase_core::{GroupId, Role, TenantId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::Tx;

#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    pub id: TenantId,
    pub account: String,
    pub name: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub login: String,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, FromRow)]
pub struct GroupRow {
    pub id: GroupId,
    pub name: String,
    pub role: Role,
    pub builtin: bool,
    /// Members see the live presence board (issue #18).
    pub supervisor: bool,
    /// Members' calls cannot be listened to, whispered to or barged in on (issue #18).
    pub private: bool,
    pub member_count: i64,
}

/// The groups every new tenant starts with, and the role each grants.
pub const BUILTIN_GROUPS: [(&str, Role); 3] = [
    ("Administrator", Role::Administrator),
    ("Sub-administrator", Role::SubAdministrator),
    ("Agent", Role::User),
];

pub async fn tenant_by_account(tx: &mut Tx, account: &str) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as("SELECT id, account, name FROM tenants WHERE account = $1")
        .bind(account)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn tenant_by_id(tx: &mut Tx, id: TenantId) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as("SELECT id, account, name FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Inserts the tenant, switches the transaction to it and creates the built-in groups.
/// Returns the tenant and the id of its Administrator group.
pub async fn create_tenant(tx: &mut Tx, account: &str, name: &str) -> sqlx::Result<(TenantRow, GroupId)> {
    let tenant: TenantRow =
        sqlx::query_as("INSERT INTO tenants (account, name) VALUES ($1, $2) RETURNING id, account, name")
            .bind(account)
            .bind(name)
            .fetch_one(&mut **tx)
            .await?;
    crate::set_tenant(tx, tenant.id).await?;
    let mut admin_group = None;
    for (group, role) in BUILTIN_GROUPS {
        let id: GroupId = sqlx::query_scalar(
            "INSERT INTO access_groups (tenant_id, name, role, builtin) VALUES ($1, $2, $3, true) RETURNING id",
        )
        .bind(tenant.id)
        .bind(group)
        .bind(role.as_str())
        .fetch_one(&mut **tx)
        .await?;
        if role == Role::Administrator {
            admin_group = Some(id);
        }
    }
    // Every tenant starts with a "Clients" call table (migrations/0009_crm.sql).
    sqlx::query("SELECT crm_create_clients($1)").bind(tenant.id).execute(&mut **tx).await?;
    Ok((tenant, admin_group.expect("built-in groups include Administrator")))
}

const USER_COLS: &str = "id, tenant_id, login, name, email, password_hash, disabled, created_at";

pub async fn user_by_login(tx: &mut Tx, tenant: TenantId, login: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND login = $2"))
        .bind(tenant)
        .bind(login)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn user_by_id(tx: &mut Tx, tenant: TenantId, id: UserId) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn list_users(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 ORDER BY login"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

pub struct NewUser<'a> {
    pub login: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
}

pub async fn insert_user(tx: &mut Tx, tenant: TenantId, u: &NewUser<'_>) -> sqlx::Result<UserRow> {
    sqlx::query_as(&format!(
        "INSERT INTO users (tenant_id, login, name, email, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLS}"
    ))
    .bind(tenant)
    .bind(u.login)
    .bind(u.name)
    .bind(u.email)
    .bind(u.password_hash)
    .fetch_one(&mut **tx)
    .await
}

/// Partial update; `None` leaves a column as it is.
#[derive(Default)]
pub struct UserPatch<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub disabled: Option<bool>,
}

pub async fn update_user(
    tx: &mut Tx,
    tenant: TenantId,
    id: UserId,
    p: &UserPatch<'_>,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "UPDATE users SET name = COALESCE($3, name), email = COALESCE($4, email),
                password_hash = COALESCE($5, password_hash), disabled = COALESCE($6, disabled),
                updated_at = now()
         WHERE tenant_id = $1 AND id = $2 RETURNING {USER_COLS}"
    ))
    .bind(tenant)
    .bind(id)
    .bind(p.name)
    .bind(p.email)
    .bind(p.password_hash)
    .bind(p.disabled)
    .fetch_optional(&mut **tx)
    .await
}

/// `Err` with the ids that are not this tenant's access groups (invisible under RLS anyway).
pub async fn check_groups(
    tx: &mut Tx,
    tenant: TenantId,
    groups: &[GroupId],
) -> sqlx::Result<Result<(), Vec<GroupId>>> {
    let ids: Vec<i64> = groups.iter().map(|g| g.0).collect();
    let known: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM access_groups WHERE tenant_id = $1 AND id = ANY($2)")
            .bind(tenant)
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    let unknown: Vec<GroupId> = groups.iter().copied().filter(|g| !known.contains(&g.0)).collect();
    Ok(if unknown.is_empty() { Ok(()) } else { Err(unknown) })
}

/// Replaces the user's group set. Ids not of this tenant are invisible under RLS, so they are
/// reported back as unknown rather than silently linked.
pub async fn set_memberships(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    groups: &[GroupId],
) -> sqlx::Result<Result<(), Vec<GroupId>>> {
    if let Err(unknown) = check_groups(tx, tenant, groups).await? {
        return Ok(Err(unknown));
    }
    let ids: Vec<i64> = groups.iter().map(|g| g.0).collect();
    sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2 AND NOT (group_id = ANY($3))")
        .bind(tenant)
        .bind(user)
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO memberships (tenant_id, user_id, group_id) SELECT $1, $2, g FROM unnest($3::bigint[]) g
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(user)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(Ok(()))
}

/// (group id, group name, role) for each group of the user.
pub async fn user_groups(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
) -> sqlx::Result<Vec<(GroupId, String, Role)>> {
    sqlx::query_as(
        "SELECT g.id, g.name, g.role FROM memberships m JOIN access_groups g ON g.id = m.group_id
         WHERE m.tenant_id = $1 AND m.user_id = $2 ORDER BY g.name",
    )
    .bind(tenant)
    .bind(user)
    .fetch_all(&mut **tx)
    .await
}

/// Groups of every user of the tenant, for the users list (one query instead of one per user).
pub async fn all_user_groups(
    tx: &mut Tx,
    tenant: TenantId,
) -> sqlx::Result<Vec<(UserId, GroupId, String, Role)>> {
    sqlx::query_as(
        "SELECT m.user_id, g.id, g.name, g.role FROM memberships m JOIN access_groups g ON g.id = m.group_id
         WHERE m.tenant_id = $1 ORDER BY g.name",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Enabled users whose groups grant the administrator role.
pub async fn active_admin_count(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(DISTINCT u.id) FROM users u JOIN memberships m ON m.user_id = u.id
         JOIN access_groups g ON g.id = m.group_id
         WHERE u.tenant_id = $1 AND NOT u.disabled AND g.role = 'administrator'",
    )
    .bind(tenant)
    .fetch_one(&mut **tx)
    .await
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.role, g.builtin, g.supervisor, g.private,
        (SELECT count(*) FROM memberships m WHERE m.group_id = g.id) AS member_count
    FROM access_groups g WHERE g.tenant_id = $1";

pub async fn list_groups(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<GroupRow>> {
    sqlx::query_as(&format!("{GROUP_SELECT} ORDER BY g.builtin DESC, g.id"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

pub async fn group_by_id(tx: &mut Tx, tenant: TenantId, id: GroupId) -> sqlx::Result<Option<GroupRow>> {
    sqlx::query_as(&format!("{GROUP_SELECT} AND g.id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn insert_group(
    tx: &mut Tx,
    tenant: TenantId,
    name: &str,
    role: Role,
    supervisor: bool,
    private: bool,
) -> sqlx::Result<GroupId> {
    sqlx::query_scalar(
        "INSERT INTO access_groups (tenant_id, name, role, supervisor, private) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(tenant)
    .bind(name)
    .bind(role.as_str())
    .bind(supervisor)
    .bind(private)
    .fetch_one(&mut **tx)
    .await
}

/// A flag an access group may carry for its members (issue #18).
#[derive(Debug, Clone, Copy)]
pub enum GroupFlag {
    /// Members supervise (see the presence board).
    Supervisor,
    /// Members' calls cannot be supervised.
    Private,
}

/// Whether the user is in a group carrying `flag`.
pub async fn in_group_with(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    flag: GroupFlag,
) -> sqlx::Result<bool> {
    // The column is one of two names chosen here, never input.
    let column = match flag {
        GroupFlag::Supervisor => "supervisor",
        GroupFlag::Private => "private",
    };
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN access_groups g ON g.id = m.group_id
         WHERE m.tenant_id = $1 AND m.user_id = $2 AND g.{column})"
    ))
    .bind(tenant)
    .bind(user)
    .fetch_one(&mut **tx)
    .await
}

/// Whether the user is in a group with the supervisor permission (administrators and
/// sub-administrators supervise by their role; see `Role::is_admin`).
pub async fn supervises(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<bool> {
    in_group_with(tx, tenant, user, GroupFlag::Supervisor).await
}

pub async fn update_group(
    tx: &mut Tx,
    tenant: TenantId,
    id: GroupId,
    name: Option<&str>,
    role: Option<Role>,
    supervisor: Option<bool>,
    private: Option<bool>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE access_groups SET name = COALESCE($3, name), role = COALESCE($4, role),
            supervisor = COALESCE($5, supervisor), private = COALESCE($6, private) WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(name)
    .bind(role.map(Role::as_str))
    .bind(supervisor)
    .bind(private)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_group(tx: &mut Tx, tenant: TenantId, id: GroupId) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM access_groups WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The tenant's users by id → name (user-reference fields of the CRM).
pub async fn user_names(
    tx: &mut Tx,
    tenant: TenantId,
) -> sqlx::Result<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM users WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The tenant's enabled users as (id, name), by name (user-reference pickers of the CRM).
pub async fn enabled_user_names(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<(UserId, String)>> {
    let rows = sqlx::query!(
        "SELECT id, name FROM users WHERE tenant_id = $1 AND NOT disabled ORDER BY name",
        tenant.0,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (UserId(r.id), r.name)).collect())
}

/// Members of a group (whose role and masking change with it).
pub async fn group_members(tx: &mut Tx, tenant: TenantId, group: GroupId) -> sqlx::Result<Vec<UserId>> {
    sqlx::query_scalar("SELECT user_id FROM memberships WHERE tenant_id = $1 AND group_id = $2")
        .bind(tenant)
        .bind(group)
        .fetch_all(&mut **tx)
        .await
}
