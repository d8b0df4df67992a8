//! The telephony module's life for a tenant: turning it on and off, and telephony users as an
//! administrator adds, changes and removes them (or the auto-provisioning groups do). Each
//! operation is one tenant transaction over the app tables and Asterisk's rows, then Asterisk is
//! told (cached objects expire, calls of a lost endpoint end). The HTTP routes
//! (`api/routes/telephony/`) call one function here and shape the answer; what they must do
//! beyond (close the `/sip` sockets of [`Outcome::close`], audit) stays with them.

use callbase_core::{GroupId, Role, TenantId, UserId};
use callbase_db::telephony::{self as repo, TelUserRow};
use callbase_db::{accounts, Db, Tx};
use callbase_recordings::ObjectStore;

use crate::agents;
use crate::ami::Ami;
use crate::ari::Ari;
use crate::provision::{self, Change, NewUser, ProvisionError, WithSecret};
use crate::trunk_changes::{TrunkChangeError, TrunkChanges};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// A sub-administrator touching an administrator's telephony, or doing what only
    /// administrators do.
    #[error("only administrators {0}")]
    AdminsOnly(&'static str),
    #[error("type the account name \"{0}\" to confirm turning telephony off")]
    ConfirmationMismatch(String),
    #[error("no such access group: {0:?}")]
    UnknownGroup(Vec<GroupId>),
    #[error(transparent)]
    Trunk(#[from] TrunkChangeError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

type Result<T> = std::result::Result<T, LifecycleError>;

/// What telephony changes need besides the database: Asterisk (ARI; AMI for cache expiry).
#[derive(Clone, Copy)]
pub struct Pbx<'a> {
    pub ari: &'a Ari,
    pub ami: Option<&'a Ami>,
}

/// Whether a telephony user's phone is registered right now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Online {
    pub browser: bool,
    pub desk: bool,
}

impl Online {
    /// The phone calls to `u` ring is online: the browser phone, or the desk phone when they use one.
    pub fn rings(&self, u: &TelUserRow) -> bool {
        if u.browser_calls {
            self.browser
        } else {
            self.desk
        }
    }
}

impl Pbx<'_> {
    /// After commit: Asterisk forgets cached copies of changed rows; calls of agents who lost
    /// their endpoint end.
    async fn after_commit(&self, ids: &[String], ended: &[String]) {
        agents::expire_cached(self.ami, ids).await;
        if !ended.is_empty() {
            if let Err(e) = self.ari.hangup_endpoints(ended).await {
                tracing::warn!(error = %e, "could not end the calls of a removed telephony user");
            }
        }
    }

    /// Which of the user's phones Asterisk holds a registration for (errors count as offline).
    pub async fn online(&self, tenant: TenantId, u: &TelUserRow) -> Online {
        let up =
            |id: String| async move { agents::has_contact(self.ami, self.ari, &id).await.unwrap_or(false) };
        let (browser, desk) = tokio::join!(up(agents::web_id(tenant, u.user_id)), up(u.sip_login.clone()));
        Online { browser: u.browser_calls && browser, desk: !u.browser_calls && desk }
    }
}

/// A change's result and the users whose browser phones (`/sip` sockets) must close.
pub struct Outcome<T> {
    pub value: T,
    pub close: Vec<UserId>,
}

fn endpoints(tenant: TenantId, users: &[TelUserRow]) -> Vec<String> {
    users.iter().flat_map(|u| [agents::web_id(tenant, u.user_id), u.sip_login.clone()]).collect()
}

/// The tenant's account slug (part of every SIP login).
async fn account(db: &Db, tenant: TenantId) -> Result<String> {
    let mut tx = db.global_tx().await?;
    let t = accounts::tenant_by_id(&mut tx, tenant).await?.ok_or(LifecycleError::NotFound)?;
    tx.commit().await?;
    Ok(t.account)
}

/// Sub-administrators manage agents' telephony, not administrators': an administrator's SIP
/// password, extension, devices and telephony user are theirs and other administrators' to change.
async fn check_touchable(tx: &mut Tx, tenant: TenantId, actor: Role, user: UserId) -> Result<()> {
    if actor == Role::Administrator {
        return Ok(());
    }
    let target =
        accounts::user_groups(tx, tenant, user).await?.iter().map(|g| g.2).max().unwrap_or(Role::User);
    if target == Role::Administrator {
        return Err(LifecycleError::AdminsOnly("change an administrator's telephony"));
    }
    Ok(())
}

/// Turns telephony on; `admin` becomes a telephony user (extension 101 on a fresh start, calls
/// abroad allowed) unless they are one. Members of the auto-provisioning groups are provisioned.
/// Returns the administrator's new telephony user, with its password.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %admin))]
pub async fn enable(db: &Db, pbx: Pbx<'_>, tenant: TenantId, admin: UserId) -> Result<Option<WithSecret>> {
    let account = account(db, tenant).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    repo::lock(&mut tx, tenant).await?;
    repo::set_enabled(&mut tx, tenant, true).await?;
    let mut ids = Vec::new();
    let created = if repo::get_user(&mut tx, tenant, admin).await?.is_none() {
        let n = NewUser {
            user: admin,
            extension: None,
            accept_incoming: true,
            browser_calls: true,
            manual: true,
        };
        let (mut w, more) = provision::add(&mut tx, tenant, &account, &n).await?;
        ids.extend(more);
        // The administrator who turns telephony on may call abroad; agents may not until allowed.
        repo::set_international(&mut tx, tenant, admin, true).await?;
        w.user.international = true;
        Some(w)
    } else {
        None
    };
    let synced = provision::sync_groups(&mut tx, tenant, &account).await?;
    ids.extend(synced.ids);
    tx.commit().await?;
    pbx.after_commit(&ids, &[]).await;
    tracing::info!(tenant.id = %tenant, by = %admin, "telephony turned on");
    Ok(created)
}

/// Turns telephony off once `confirm` is the account name: trunks (un-REGISTERed first; if
/// Asterisk is down nothing else goes), telephony users and their SIP endpoints, dial rules and
/// call records are deleted, except calls on legal hold, which keep their recordings. Returns the
/// removed telephony users.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn disable(
    trunks: &TrunkChanges<'_>,
    store: &ObjectStore,
    tenant: TenantId,
    confirm: &str,
) -> Result<Vec<TelUserRow>> {
    let account = account(trunks.db, tenant).await?;
    if confirm.trim() != account {
        return Err(LifecycleError::ConfirmationMismatch(account));
    }
    trunks.remove_all(tenant).await?;
    let mut tx = trunks.db.tenant_tx(tenant).await?;
    repo::lock(&mut tx, tenant).await?;
    let (removed, ids) = provision::remove_all(&mut tx, tenant).await?;
    repo::forget_settings(&mut tx, tenant).await?;
    let recordings = callbase_db::calls::recording::forget_all(&mut tx, tenant).await?;
    repo::set_enabled(&mut tx, tenant, false).await?;
    tx.commit().await?;
    for batch in recordings.chunks(1000) {
        if let Err(e) = store.delete_many(batch).await {
            tracing::warn!(error = %e, tenant.id = %tenant, "cannot delete recordings of a tenant that turned telephony off");
        }
    }
    let pbx = Pbx { ari: trunks.ari, ami: trunks.ami };
    pbx.after_commit(&ids, &endpoints(tenant, &removed)).await;
    tracing::info!(tenant.id = %tenant, users = removed.len(), "telephony turned off");
    Ok(removed)
}

/// Makes a user a telephony user by hand (kept when they leave the auto-provisioning groups).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %n.user))]
pub async fn add_user(
    db: &Db,
    pbx: Pbx<'_>,
    tenant: TenantId,
    actor: Role,
    n: &NewUser<'_>,
) -> Result<WithSecret> {
    let account = account(db, tenant).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    repo::lock(&mut tx, tenant).await?;
    accounts::user_by_id(&mut tx, tenant, n.user).await?.ok_or(LifecycleError::NotFound)?;
    check_touchable(&mut tx, tenant, actor, n.user).await?;
    let (w, ids) = provision::add(&mut tx, tenant, &account, n).await?;
    tx.commit().await?;
    pbx.after_commit(&ids, &[]).await;
    tracing::info!(tenant.id = %tenant, user.id = %n.user, extension = %w.user.extension, "telephony user added");
    Ok(w)
}

/// What a telephony user's change may set beside their devices: calls abroad, the mobile number
/// (`Some(None)` removes it; the caller checked it against the dial rules).
#[derive(Debug, Default)]
pub struct Extras<'a> {
    pub international: Option<bool>,
    pub mobile: Option<Option<&'a str>>,
}

/// Changes a telephony user (and their calls abroad, their mobile). A new extension means a new SIP
/// login and password (returned); a device that changed (browser ↔ desk, or a new login) loses its
/// calls.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn change_user(
    db: &Db,
    pbx: Pbx<'_>,
    tenant: TenantId,
    actor: Role,
    user: UserId,
    c: &Change<'_>,
    extras: &Extras<'_>,
) -> Result<Outcome<(TelUserRow, Option<String>)>> {
    let account = account(db, tenant).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    repo::lock(&mut tx, tenant).await?;
    let before = repo::get_user(&mut tx, tenant, user).await?.ok_or(LifecycleError::NotFound)?;
    check_touchable(&mut tx, tenant, actor, user).await?;
    let (mut row, password, ids) =
        provision::change(&mut tx, tenant, &account, user, c).await?.ok_or(LifecycleError::NotFound)?;
    if let Some(on) = extras.international {
        repo::set_international(&mut tx, tenant, user, on).await?;
        row.international = on;
    }
    if let Some(mobile) = extras.mobile {
        repo::set_mobile(&mut tx, tenant, user, mobile).await?;
        row.mobile_number = mobile.map(str::to_string);
    }
    tx.commit().await?;
    let mut ended = Vec::new();
    let mut close = Vec::new();
    if before.browser_calls != row.browser_calls || before.sip_login != row.sip_login {
        ended.push(agents::web_id(tenant, user));
        ended.push(before.sip_login.clone());
        if before.browser_calls && !row.browser_calls {
            close.push(user);
        }
    }
    pbx.after_commit(&ids, &ended).await;
    Ok(Outcome { value: (row, password), close })
}

/// Removes a telephony user: their SIP endpoints go and their calls end.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn remove_user(db: &Db, pbx: Pbx<'_>, tenant: TenantId, actor: Role, user: UserId) -> Result<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    repo::lock(&mut tx, tenant).await?;
    repo::get_user(&mut tx, tenant, user).await?.ok_or(LifecycleError::NotFound)?;
    check_touchable(&mut tx, tenant, actor, user).await?;
    let (row, ids) = provision::remove(&mut tx, tenant, user).await?.ok_or(LifecycleError::NotFound)?;
    tx.commit().await?;
    pbx.after_commit(&ids, &[agents::web_id(tenant, user), row.sip_login.clone()]).await;
    tracing::info!(tenant.id = %tenant, user.id = %user, "telephony user removed");
    Ok(())
}

/// A new desk-phone password for a telephony user (shown once). `actor` is None when users
/// change their own.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn new_password(
    db: &Db,
    pbx: Pbx<'_>,
    tenant: TenantId,
    actor: Option<Role>,
    user: UserId,
) -> Result<WithSecret> {
    let mut tx = db.tenant_tx(tenant).await?;
    if let Some(actor) = actor {
        repo::get_user(&mut tx, tenant, user).await?.ok_or(LifecycleError::NotFound)?;
        check_touchable(&mut tx, tenant, actor, user).await?;
    }
    let (w, ids) = provision::new_password(&mut tx, tenant, user).await?.ok_or(LifecycleError::NotFound)?;
    tx.commit().await?;
    pbx.after_commit(&ids, &[]).await;
    Ok(w)
}

/// Chooses the auto-provisioning groups and applies the choice at once; returns the groups now
/// chosen.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_provisioning(
    db: &Db,
    pbx: Pbx<'_>,
    tenant: TenantId,
    actor: Role,
    groups: &[GroupId],
) -> Result<Outcome<Vec<GroupId>>> {
    let account = account(db, tenant).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    repo::lock(&mut tx, tenant).await?;
    repo::set_auto_groups(&mut tx, tenant, groups).await?.map_err(LifecycleError::UnknownGroup)?;
    let synced = provision::sync_groups(&mut tx, tenant, &account).await?;
    // Unchecking a group must not be a sub-administrator's way to remove an administrator's phone
    // (the transaction is dropped, nothing changes).
    for u in &synced.removed {
        check_touchable(&mut tx, tenant, actor, u.user_id).await?;
    }
    let s = repo::state(&mut tx, tenant).await?;
    tx.commit().await?;
    pbx.after_commit(&synced.ids, &endpoints(tenant, &synced.removed)).await;
    Ok(Outcome {
        value: s.auto_group_ids.into_iter().map(GroupId).collect(),
        close: synced.removed.iter().map(|u| u.user_id).collect(),
    })
}

/// Keeps telephony users in step after a user was created, changed groups, was disabled or a
/// group was deleted. Returns the users whose phones must close.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn after_user_change(
    db: &Db,
    pbx: Pbx<'_>,
    tenant: TenantId,
    changed: Option<UserId>,
) -> Result<Vec<UserId>> {
    let account = account(db, tenant).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    let synced = provision::sync_groups(&mut tx, tenant, &account).await?;
    let mut ids = synced.ids;
    let mut ended = endpoints(tenant, &synced.removed);
    let mut close = synced.removed.iter().map(|u| u.user_id).collect::<Vec<_>>();
    if let Some(user) = changed {
        if let Some((row, more)) = provision::apply(&mut tx, tenant, user).await? {
            ids.extend(more);
            if row.disabled {
                ended.extend([agents::web_id(tenant, user), row.sip_login.clone()]);
                close.push(user);
            }
        }
    }
    tx.commit().await?;
    pbx.after_commit(&ids, &ended).await;
    Ok(close)
}
