//! Telephony users as one operation over the app tables and Asterisk's rows: adding one (next free
//! extension, generated login and password), changing one, removing one, and keeping the
//! auto-provisioning groups' members provisioned. Every function runs inside the caller's
//! tenant transaction and returns the Asterisk object ids to expire after commit
//! ([`crate::agents::expire_cached`]).

use callbase_core::{TenantId, UserId};
use callbase_db::telephony::{self as repo, NewTelUser, TelUserRow};
use callbase_db::Tx;

use crate::agents::{self, AgentRows};

/// What Asterisk should have for a telephony user, given the module state.
pub fn rows_for(tenant: TenantId, enabled: bool, u: &TelUserRow) -> AgentRows {
    let active = enabled && !u.disabled;
    AgentRows {
        tenant,
        user: u.user_id,
        extension: u.extension.clone(),
        sip_login: u.sip_login.clone(),
        display_name: u.name.clone(),
        web: active && u.browser_calls,
        desk: active && !u.browser_calls,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("extension {0} is taken")]
    ExtensionTaken(String),
    #[error("SIP login {0} is already used on this platform")]
    LoginTaken(String),
    #[error("this user is already a telephony user")]
    AlreadyTelephonyUser,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A telephony user just created (or given a new password), with the clear password to show once.
#[derive(Debug)]
pub struct WithSecret {
    pub user: TelUserRow,
    pub password: String,
}

pub struct NewUser<'a> {
    pub user: UserId,
    pub extension: Option<&'a str>,
    pub accept_incoming: bool,
    pub browser_calls: bool,
    pub manual: bool,
}

/// Adds a telephony user. Call with the tenant's telephony lock held ([`repo::lock`]).
pub async fn add(
    tx: &mut Tx,
    tenant: TenantId,
    account: &str,
    n: &NewUser<'_>,
) -> Result<(WithSecret, Vec<String>), ProvisionError> {
    if repo::get_user(tx, tenant, n.user).await?.is_some() {
        return Err(ProvisionError::AlreadyTelephonyUser);
    }
    let extension = match n.extension {
        Some(e) => {
            if repo::user_by_extension(tx, tenant, e).await?.is_some() {
                return Err(ProvisionError::ExtensionTaken(e.to_string()));
            }
            e.to_string()
        }
        None => repo::next_free_extension(tx, tenant).await?,
    };
    let login = agents::sip_login(account, &extension);
    if login_used_elsewhere(tx, &login).await? {
        return Err(ProvisionError::LoginTaken(login));
    }
    let new = NewTelUser {
        user: n.user,
        extension: &extension,
        sip_login: &login,
        accept_incoming: n.accept_incoming,
        browser_calls: n.browser_calls,
        manual: n.manual,
    };
    repo::insert_user(tx, tenant, &new).await.map_err(|e| map_unique(e, &extension, &login))?;
    let password = agents::generate_password();
    agents::set_desk_password(tx, tenant, &login, &password).await?;
    let enabled = repo::state(tx, tenant).await?.enabled;
    let row = repo::get_user(tx, tenant, n.user).await?.ok_or(sqlx::Error::RowNotFound)?;
    let ids = agents::write_rows(tx, &rows_for(tenant, enabled, &row)).await?;
    Ok((WithSecret { user: row, password }, ids))
}

/// Asterisk's endpoint/auth ids are global. Under RLS this early check sees only the tenant's own
/// rows (e.g. a login freed by an extension change but not yet reused); a row of another tenant
/// with the same id makes the insert fail on its primary key, which [`map_unique`] reports too.
async fn login_used_elsewhere(tx: &mut Tx, login: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ast.ps_auths WHERE id = $1")
        .bind(login)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

fn map_unique(e: sqlx::Error, extension: &str, login: &str) -> ProvisionError {
    match callbase_db::constraint(&e) {
        Some("telephony_users_extension_key") => ProvisionError::ExtensionTaken(extension.to_string()),
        Some("telephony_users_sip_login_key" | "ps_auths_pkey" | "ps_endpoints_pkey" | "ps_aors_pkey") => {
            ProvisionError::LoginTaken(login.to_string())
        }
        _ => ProvisionError::Db(e),
    }
}

/// A change to a telephony user.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub extension: Option<&'a str>,
    pub accept_incoming: Option<bool>,
    pub browser_calls: Option<bool>,
}

/// Changes a telephony user. A new extension means a new login, and since the stored credential
/// is a digest over the login, a new password too (returned). `None` when the user is no
/// telephony user.
pub async fn change(
    tx: &mut Tx,
    tenant: TenantId,
    account: &str,
    user: UserId,
    c: &Change<'_>,
) -> Result<Option<(TelUserRow, Option<String>, Vec<String>)>, ProvisionError> {
    let Some(old) = repo::get_user(tx, tenant, user).await? else { return Ok(None) };
    let extension = c.extension.unwrap_or(&old.extension).to_string();
    let mut ids = Vec::new();
    let mut password = None;
    let login = if extension != old.extension {
        if repo::user_by_extension(tx, tenant, &extension).await?.is_some() {
            return Err(ProvisionError::ExtensionTaken(extension));
        }
        let login = agents::sip_login(account, &extension);
        if login_used_elsewhere(tx, &login).await? {
            return Err(ProvisionError::LoginTaken(login));
        }
        ids.extend(agents::delete_all(tx, tenant, user, &old.sip_login).await?);
        login
    } else {
        old.sip_login.clone()
    };
    let line = repo::UserLine {
        extension: &extension,
        sip_login: &login,
        accept_incoming: c.accept_incoming.unwrap_or(old.accept_incoming),
        browser_calls: c.browser_calls.unwrap_or(old.browser_calls),
        manual: old.manual,
    };
    repo::update_user(tx, tenant, user, &line).await.map_err(|e| map_unique(e, &extension, &login))?;
    if login != old.sip_login {
        let p = agents::generate_password();
        agents::set_desk_password(tx, tenant, &login, &p).await?;
        password = Some(p);
    }
    let (row, more) = apply(tx, tenant, user).await?.ok_or(sqlx::Error::RowNotFound)?;
    ids.extend(more);
    Ok(Some((row, password, ids)))
}

/// Rewrites Asterisk's rows of one telephony user from the current state (after the user was
/// disabled or enabled, renamed, or telephony switched).
pub async fn apply(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
) -> sqlx::Result<Option<(TelUserRow, Vec<String>)>> {
    let Some(row) = repo::get_user(tx, tenant, user).await? else { return Ok(None) };
    let enabled = repo::state(tx, tenant).await?.enabled;
    let ids = agents::write_rows(tx, &rows_for(tenant, enabled, &row)).await?;
    Ok(Some((row, ids)))
}

/// A new desk-phone password for a telephony user.
pub async fn new_password(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
) -> sqlx::Result<Option<(WithSecret, Vec<String>)>> {
    let Some(row) = repo::get_user(tx, tenant, user).await? else { return Ok(None) };
    let password = agents::generate_password();
    agents::set_desk_password(tx, tenant, &row.sip_login, &password).await?;
    let ids = vec![row.sip_login.clone()];
    Ok(Some((WithSecret { user: row, password }, ids)))
}

/// Removes a telephony user and its Asterisk rows.
pub async fn remove(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
) -> sqlx::Result<Option<(TelUserRow, Vec<String>)>> {
    let Some(row) = repo::get_user(tx, tenant, user).await? else { return Ok(None) };
    let ids = agents::delete_all(tx, tenant, user, &row.sip_login).await?;
    repo::delete_user(tx, tenant, user).await?;
    Ok(Some((row, ids)))
}

/// What an auto-provisioning sync did.
#[derive(Debug, Default)]
pub struct Synced {
    pub added: Vec<WithSecret>,
    pub removed: Vec<TelUserRow>,
    pub ids: Vec<String>,
}

/// Makes the telephony users match the auto-provisioning groups: members of a checked group who
/// are not telephony users are added (next free extension, browser calls); users added by a group
/// who are in no checked group any more are removed. Users an admin added by hand stay. Does
/// nothing while telephony is off. Takes the tenant's telephony lock.
pub async fn sync_groups(tx: &mut Tx, tenant: TenantId, account: &str) -> Result<Synced, ProvisionError> {
    repo::lock(tx, tenant).await?;
    let state = repo::state(tx, tenant).await?;
    let mut out = Synced::default();
    if !state.enabled {
        return Ok(out);
    }
    let eligible = repo::members_of(tx, tenant, &state.auto_group_ids).await?;
    let current = repo::list_users(tx, tenant).await?;
    for u in &current {
        if !u.manual && !eligible.contains(&u.user_id) {
            if let Some((row, ids)) = remove(tx, tenant, u.user_id).await? {
                out.ids.extend(ids);
                out.removed.push(row);
            }
        }
    }
    for user in eligible {
        if current.iter().any(|u| u.user_id == user) {
            continue;
        }
        let n = NewUser { user, extension: None, accept_incoming: true, browser_calls: true, manual: false };
        let (w, ids) = add(tx, tenant, account, &n).await?;
        out.ids.extend(ids);
        out.added.push(w);
    }
    Ok(out)
}

/// Turning telephony off: every telephony user and their Asterisk rows go.
pub async fn remove_all(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<(Vec<TelUserRow>, Vec<String>)> {
    let mut ids = Vec::new();
    let mut removed = Vec::new();
    for u in repo::list_users(tx, tenant).await? {
        if let Some((row, more)) = remove(tx, tenant, u.user_id).await? {
            ids.extend(more);
            removed.push(row);
        }
    }
    Ok((removed, ids))
}
