//! Telephony: the module switch, telephony users (administrators), auto-provisioning groups and the
//! "set up your phone" values for the user themself.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{GroupId, Role, TenantId, UserId};
use callbase_db::accounts;
use callbase_db::telephony::{self as repo, TelUserRow};
use callbase_telephony::agents;
use callbase_telephony::provision::{self, Change, NewUser, ProvisionError, WithSecret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::Actor;
use crate::AppState;

/// 409 `telephony_off` unless the tenant's telephony module is on.
pub async fn require_on(st: &AppState, tenant: TenantId) -> ApiResult<()> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let on = repo::state(&mut tx, tenant).await?.enabled;
    tx.commit().await?;
    if on {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "telephony_off",
            "telephony is turned off for this account; an administrator can turn it on",
        ))
    }
}

/// Whether the user has a registered phone right now.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct Online {
    pub browser: bool,
    pub desk: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TelUser {
    pub user_id: UserId,
    pub name: String,
    pub login: String,
    pub extension: String,
    /// `<account>_<extension>`: the SIP login of a desk phone.
    pub sip_login: String,
    pub accept_incoming: bool,
    pub browser_calls: bool,
    /// May call abroad (within the tenant's dial rules and allowed countries). Off for agents by
    /// default; the administrator who turned telephony on has it.
    pub international: bool,
    /// `manual` (added by an administrator) or `group` (by an auto-provisioning group).
    pub source: String,
    pub online: Online,
    pub disabled: bool,
    /// The desk-phone password, only in the answer that created it (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<String>,
}

async fn online(st: &AppState, tenant: TenantId, u: &TelUserRow) -> Online {
    async fn up(st: &AppState, id: &str) -> bool {
        agents::has_contact(st.ami.as_ref(), &st.ari, id).await.unwrap_or(false)
    }
    let web = agents::web_id(tenant, u.user_id);
    let (browser, desk) = tokio::join!(up(st, &web), up(st, &u.sip_login));
    Online { browser: u.browser_calls && browser, desk: !u.browser_calls && desk }
}

async fn to_api(st: &AppState, tenant: TenantId, u: TelUserRow, password: Option<String>) -> TelUser {
    let online = online(st, tenant, &u).await;
    TelUser {
        user_id: u.user_id,
        name: u.name,
        login: u.login,
        extension: u.extension,
        sip_login: u.sip_login,
        accept_incoming: u.accept_incoming,
        browser_calls: u.browser_calls,
        international: u.international,
        source: if u.manual { "manual" } else { "group" }.into(),
        online,
        disabled: u.disabled,
        sip_password: password,
    }
}

fn provision_error(e: ProvisionError) -> ApiError {
    match e {
        ProvisionError::ExtensionTaken(x) => {
            ApiError::conflict("extension_taken", format!("extension {x} is taken"))
        }
        ProvisionError::LoginTaken(l) => ApiError::conflict(
            "sip_login_taken",
            format!("the SIP login {l} is already used on this platform"),
        ),
        ProvisionError::AlreadyTelephonyUser => {
            ApiError::conflict("already_telephony_user", "this user is already a telephony user")
        }
        ProvisionError::Db(e) => e.into(),
    }
}

/// Sub-administrators manage agents' telephony, not administrators': an administrator's SIP
/// password, extension, devices and telephony user are theirs and other administrators' to change.
async fn check_touchable(tx: &mut callbase_db::Tx, a: &CurrentUser, user: UserId) -> ApiResult<()> {
    if a.role == Role::Administrator {
        return Ok(());
    }
    let target =
        accounts::user_groups(tx, a.tenant_id, user).await?.iter().map(|g| g.2).max().unwrap_or(Role::User);
    if target == Role::Administrator {
        return Err(ApiError::forbidden_code(
            "admins_only",
            "only administrators change an administrator's telephony",
        ));
    }
    Ok(())
}

/// 403 `admins_only` unless the caller is an administrator.
pub(crate) fn administrators_only(a: &CurrentUser, what: &str) -> ApiResult<()> {
    if a.role == Role::Administrator {
        Ok(())
    } else {
        Err(ApiError::forbidden_code("admins_only", format!("only administrators {what}")))
    }
}

fn parse_extension(raw: &str) -> ApiResult<String> {
    let x = raw.trim();
    if (3..=6).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit()) {
        Ok(x.to_string())
    } else {
        Err(ApiError::unprocessable("invalid_extension", "an extension is 3 to 6 digits"))
    }
}

/// After commit: Asterisk forgets cached copies of changed rows; calls of agents who lost their
/// endpoint end.
async fn after_commit(st: &AppState, ids: &[String], ended: &[String]) {
    agents::expire_cached(st.ami.as_ref(), ids).await;
    if !ended.is_empty() {
        if let Err(e) = st.ari.hangup_endpoints(ended).await {
            tracing::warn!(error = %e, "could not end the calls of a removed telephony user");
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TelephonyState {
    pub enabled: bool,
    pub account: String,
    /// The caller's own telephony user, if they are one.
    pub me: Option<TelUser>,
}

/// The module state and whether the caller is a telephony user (any signed-in user).
#[utoipa::path(get, path = "/api/telephony", tag = "telephony", responses((status = 200, body = TelephonyState)))]
pub async fn get(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<TelephonyState>> {
    let account = crate::routes::tenant_account(&st, cu.tenant_id).await?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let state = repo::state(&mut tx, cu.tenant_id).await?;
    let me = if state.enabled { repo::get_user(&mut tx, cu.tenant_id, cu.user_id).await? } else { None };
    tx.commit().await?;
    let me = match me {
        Some(u) => Some(to_api(&st, cu.tenant_id, u, None).await),
        None => None,
    };
    Ok(Json(TelephonyState { enabled: state.enabled, account, me }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enabled {
    pub enabled: bool,
    /// The administrator who turned telephony on, as a new telephony user (password shown once).
    pub created: Option<TelUser>,
}

/// Turns telephony on; the administrator doing it becomes a telephony user (extension 101 on a
/// fresh start). Members of the auto-provisioning groups are provisioned.
#[utoipa::path(post, path = "/api/telephony/enable", tag = "telephony", responses((status = 200, body = Enabled)))]
pub async fn enable(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
) -> ApiResult<Json<Enabled>> {
    let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock(&mut tx, a.tenant_id).await?;
    repo::set_enabled(&mut tx, a.tenant_id, true).await?;
    let mut ids = Vec::new();
    let created = if repo::get_user(&mut tx, a.tenant_id, a.user_id).await?.is_none() {
        let n = NewUser {
            user: a.user_id,
            extension: None,
            accept_incoming: true,
            browser_calls: true,
            manual: true,
        };
        let (mut w, more) =
            provision::add(&mut tx, a.tenant_id, &account, &n).await.map_err(provision_error)?;
        ids.extend(more);
        // The administrator who turns telephony on may call abroad; agents may not until allowed.
        repo::set_international(&mut tx, a.tenant_id, a.user_id, true).await?;
        w.user.international = true;
        Some(w)
    } else {
        None
    };
    let synced = provision::sync_groups(&mut tx, a.tenant_id, &account).await.map_err(provision_error)?;
    ids.extend(synced.ids);
    tx.commit().await?;
    after_commit(&st, &ids, &[]).await;
    tracing::info!(tenant.id = %a.tenant_id, by = %a.user_id, "telephony turned on");
    crate::routes::audit::record(&st, &who, "telephony.on", "", None, None).await?;
    let created = match created {
        Some(WithSecret { user, password }) => Some(to_api(&st, a.tenant_id, user, Some(password)).await),
        None => None,
    };
    Ok(Json(Enabled { enabled: true, created }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DisableBody {
    /// The account name, typed by the administrator to confirm.
    pub confirm_account: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Disabled {
    pub enabled: bool,
}

/// Turns telephony off after the account name is typed (administrators): trunks (un-REGISTERed),
/// telephony users and their SIP endpoints, dial rules and call records are deleted, except calls
/// on legal hold, which stay with their recordings until an administrator lifts the hold.
#[utoipa::path(post, path = "/api/telephony/disable", tag = "telephony", request_body = DisableBody,
    responses((status = 200, body = Disabled), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn disable(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<DisableBody>,
) -> ApiResult<Json<Disabled>> {
    // It deletes the call records: like retention, an administrator's decision.
    administrators_only(&a, "turn telephony off")?;
    let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
    if b.confirm_account.trim() != account {
        return Err(ApiError::unprocessable(
            "confirmation_mismatch",
            format!("type the account name \"{account}\" to confirm turning telephony off"),
        ));
    }
    // Trunks first: each is un-REGISTERed at the carrier; if Asterisk is down nothing else goes.
    let trunks = {
        let mut tx = st.db.tenant_tx(a.tenant_id).await?;
        let t = callbase_db::trunks::list(&mut tx, a.tenant_id).await?;
        tx.commit().await?;
        t
    };
    for t in trunks {
        crate::routes::trunks::remove(&st, a.tenant_id, t.id).await?;
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock(&mut tx, a.tenant_id).await?;
    let (removed, ids) = provision::remove_all(&mut tx, a.tenant_id).await?;
    repo::forget_settings(&mut tx, a.tenant_id).await?;
    let recordings = crate::routes::calls::forget_all(&mut tx, a.tenant_id).await?;
    repo::set_enabled(&mut tx, a.tenant_id, false).await?;
    tx.commit().await?;
    for batch in recordings.chunks(1000) {
        if let Err(e) = st.store.delete_many(batch).await {
            tracing::warn!(error = %e, tenant.id = %a.tenant_id, "cannot delete recordings of a tenant that turned telephony off");
        }
    }
    let ended: Vec<String> =
        removed.iter().flat_map(|u| [agents::web_id(a.tenant_id, u.user_id), u.sip_login.clone()]).collect();
    after_commit(&st, &ids, &ended).await;
    st.phones.close_tenant(a.tenant_id);
    tracing::info!(tenant.id = %a.tenant_id, by = %a.user_id, users = removed.len(), "telephony turned off");
    let gone = serde_json::json!({"telephony_users": removed.len()});
    crate::routes::audit::record(&st, &who, "telephony.off", "", Some(gone), None).await?;
    Ok(Json(Disabled { enabled: false }))
}

/// Telephony users, by extension (administrators).
#[utoipa::path(get, path = "/api/telephony/users", tag = "telephony", responses((status = 200, body = [TelUser])))]
pub async fn list_users(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
) -> ApiResult<Json<Vec<TelUser>>> {
    require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = repo::list_users(&mut tx, a.tenant_id).await?;
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
    ApiJson(b): ApiJson<CreateTelUser>,
) -> ApiResult<(StatusCode, Json<TelUser>)> {
    let extension =
        b.extension.as_deref().filter(|e| !e.trim().is_empty()).map(parse_extension).transpose()?;
    require_on(&st, a.tenant_id).await?;
    let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock(&mut tx, a.tenant_id).await?;
    accounts::user_by_id(&mut tx, a.tenant_id, b.user_id).await?.ok_or(ApiError::NotFound)?;
    check_touchable(&mut tx, &a, b.user_id).await?;
    let n = NewUser {
        user: b.user_id,
        extension: extension.as_deref(),
        accept_incoming: b.accept_incoming.unwrap_or(true),
        browser_calls: b.browser_calls.unwrap_or(true),
        manual: true,
    };
    let (w, ids) = provision::add(&mut tx, a.tenant_id, &account, &n).await.map_err(provision_error)?;
    tx.commit().await?;
    after_commit(&st, &ids, &[]).await;
    tracing::info!(tenant.id = %a.tenant_id, user.id = %b.user_id, extension = %w.user.extension, by = %a.user_id, "telephony user added");
    Ok((StatusCode::CREATED, Json(to_api(&st, a.tenant_id, w.user, Some(w.password)).await)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PatchTelUser {
    pub extension: Option<String>,
    pub accept_incoming: Option<bool>,
    pub browser_calls: Option<bool>,
    /// Allow or withdraw calls abroad for this user.
    pub international: Option<bool>,
}

/// Changes a telephony user. A new extension means a new SIP login and password (returned once in
/// `sip_password`).
#[utoipa::path(patch, path = "/api/telephony/users/{user_id}", tag = "telephony", params(("user_id" = i64, Path)),
    request_body = PatchTelUser, responses((status = 200, body = TelUser), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_user(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(user): Path<UserId>,
    ApiJson(b): ApiJson<PatchTelUser>,
) -> ApiResult<Json<TelUser>> {
    let extension = b.extension.as_deref().map(parse_extension).transpose()?;
    require_on(&st, a.tenant_id).await?;
    let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock(&mut tx, a.tenant_id).await?;
    let before = repo::get_user(&mut tx, a.tenant_id, user).await?.ok_or(ApiError::NotFound)?;
    check_touchable(&mut tx, &a, user).await?;
    let c = Change {
        extension: extension.as_deref(),
        accept_incoming: b.accept_incoming,
        browser_calls: b.browser_calls,
    };
    let (mut row, password, ids) = provision::change(&mut tx, a.tenant_id, &account, user, &c)
        .await
        .map_err(provision_error)?
        .ok_or(ApiError::NotFound)?;
    if let Some(on) = b.international {
        repo::set_international(&mut tx, a.tenant_id, user, on).await?;
        row.international = on;
    }
    tx.commit().await?;
    // A device that changed (browser ↔ desk, or a new login) loses its calls.
    let mut ended = Vec::new();
    if before.browser_calls != row.browser_calls || before.sip_login != row.sip_login {
        ended.push(agents::web_id(a.tenant_id, user));
        ended.push(before.sip_login.clone());
        if before.browser_calls && !row.browser_calls {
            st.phones.close_user(a.tenant_id, user);
        }
    }
    after_commit(&st, &ids, &ended).await;
    Ok(Json(to_api(&st, a.tenant_id, row, password).await))
}

/// Removes a telephony user: their SIP endpoints go and their calls end.
#[utoipa::path(delete, path = "/api/telephony/users/{user_id}", tag = "telephony", params(("user_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(user): Path<UserId>,
) -> ApiResult<StatusCode> {
    require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock(&mut tx, a.tenant_id).await?;
    repo::get_user(&mut tx, a.tenant_id, user).await?.ok_or(ApiError::NotFound)?;
    check_touchable(&mut tx, &a, user).await?;
    let (row, ids) = provision::remove(&mut tx, a.tenant_id, user).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    after_commit(&st, &ids, &[agents::web_id(a.tenant_id, user), row.sip_login.clone()]).await;
    st.phones.close_user(a.tenant_id, user);
    tracing::info!(tenant.id = %a.tenant_id, user.id = %user, by = %a.user_id, "telephony user removed");
    Ok(StatusCode::NO_CONTENT)
}

/// A new desk-phone password for a telephony user (shown once).
#[utoipa::path(post, path = "/api/telephony/users/{user_id}/password", tag = "telephony", params(("user_id" = i64, Path)),
    responses((status = 200, body = TelUser), (status = 404, body = ErrorBody)))]
pub async fn new_password(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(user): Path<UserId>,
) -> ApiResult<Json<TelUser>> {
    require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::get_user(&mut tx, a.tenant_id, user).await?.ok_or(ApiError::NotFound)?;
    check_touchable(&mut tx, &a, user).await?;
    let (w, ids) = provision::new_password(&mut tx, a.tenant_id, user).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    after_commit(&st, &ids, &[]).await;
    Ok(Json(to_api(&st, a.tenant_id, w.user, Some(w.password)).await))
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
) -> ApiResult<Json<Provisioning>> {
    require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = repo::state(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(Provisioning { group_ids: s.auto_group_ids.into_iter().map(GroupId).collect() }))
}

/// Chooses the auto-provisioning groups and applies the choice at once.
#[utoipa::path(put, path = "/api/telephony/provisioning", tag = "telephony", request_body = Provisioning,
    responses((status = 200, body = Provisioning), (status = 422, body = ErrorBody)))]
pub async fn put_provisioning(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<Provisioning>,
) -> ApiResult<Json<Provisioning>> {
    require_on(&st, a.tenant_id).await?;
    let account = crate::routes::tenant_account(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock(&mut tx, a.tenant_id).await?;
    if let Err(unknown) = repo::set_auto_groups(&mut tx, a.tenant_id, &b.group_ids).await? {
        return Err(ApiError::unprocessable("unknown_group", format!("no such access group: {unknown:?}")));
    }
    let synced = provision::sync_groups(&mut tx, a.tenant_id, &account).await.map_err(provision_error)?;
    // Unchecking a group must not be a sub-administrator's way to remove an administrator's phone
    // (the transaction is dropped, nothing changes).
    for u in &synced.removed {
        check_touchable(&mut tx, &a, u.user_id).await?;
    }
    let s = repo::state(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    let ended: Vec<String> = synced
        .removed
        .iter()
        .flat_map(|u| [agents::web_id(a.tenant_id, u.user_id), u.sip_login.clone()])
        .collect();
    after_commit(&st, &synced.ids, &ended).await;
    for u in &synced.removed {
        st.phones.close_user(a.tenant_id, u.user_id);
    }
    Ok(Json(Provisioning { group_ids: s.auto_group_ids.into_iter().map(GroupId).collect() }))
}

/// Keeps telephony users in step after a user was created, changed groups, was disabled or a
/// group was deleted. Errors are logged: the user change itself has succeeded.
pub async fn after_user_change(st: &AppState, tenant: TenantId, changed: Option<UserId>) {
    let res: ApiResult<()> = async {
        let account = crate::routes::tenant_account(st, tenant).await?;
        let mut tx = st.db.tenant_tx(tenant).await?;
        let synced = provision::sync_groups(&mut tx, tenant, &account).await.map_err(provision_error)?;
        let mut ids = synced.ids;
        let mut ended: Vec<String> = synced
            .removed
            .iter()
            .flat_map(|u| [agents::web_id(tenant, u.user_id), u.sip_login.clone()])
            .collect();
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
        after_commit(st, &ids, &ended).await;
        for u in close {
            st.phones.close_user(tenant, u);
        }
        Ok(())
    }
    .await;
    if let Err(e) = res {
        tracing::error!(error = %e, tenant.id = %tenant, "telephony provisioning after a user change failed");
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneSetup {
    pub sip_login: String,
    /// The SIP domain / realm to enter in the softphone.
    pub domain: String,
    /// Where the phone registers (host and port).
    pub server: String,
    pub port: u16,
    pub transports: Vec<String>,
    pub extension: String,
    pub browser_calls: bool,
}

async fn me_tel(st: &AppState, cu: &CurrentUser) -> ApiResult<TelUserRow> {
    require_on(st, cu.tenant_id).await?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let u = repo::get_user(&mut tx, cu.tenant_id, cu.user_id).await?;
    tx.commit().await?;
    u.ok_or_else(|| {
        ApiError::forbidden_code("not_telephony_user", "you are not a telephony user; ask an administrator")
    })
}

/// The values a desk phone or softphone needs (the caller's own account).
#[utoipa::path(get, path = "/api/telephony/me/phone-setup", tag = "telephony", responses((status = 200, body = PhoneSetup), (status = 403, body = ErrorBody)))]
pub async fn phone_setup(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<PhoneSetup>> {
    let u = me_tel(&st, &cu).await?;
    let a = &st.cfg.asterisk;
    Ok(Json(PhoneSetup {
        sip_login: u.sip_login,
        domain: a.sip_public_host.clone(),
        server: a.sip_public_host.clone(),
        port: a.sip_public_port,
        transports: vec!["udp".into(), "tcp".into()],
        extension: u.extension,
        browser_calls: u.browser_calls,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub sip_password: String,
}

/// A new desk-phone password for the caller (shown once).
#[utoipa::path(post, path = "/api/telephony/me/phone-setup/password", tag = "telephony", responses((status = 200, body = NewSecret), (status = 403, body = ErrorBody)))]
pub async fn phone_setup_password(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<NewSecret>> {
    me_tel(&st, &cu).await?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (w, ids) =
        provision::new_password(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    after_commit(&st, &ids, &[]).await;
    Ok(Json(NewSecret { sip_password: w.password }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Routing {
    /// Seconds agents ring before the call is forwarded (5–300, default 15).
    pub ring_timeout_secs: i32,
    /// Where unanswered calls go (through the first trunk); none = the call ends as missed.
    pub forward_number: Option<String>,
}

/// Inbound routing: ring timeout and forward-on-no-answer number.
#[utoipa::path(get, path = "/api/telephony/routing", tag = "telephony", responses((status = 200, body = Routing)))]
pub async fn get_routing(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<Json<Routing>> {
    require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = repo::state(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(Routing { ring_timeout_secs: s.ring_timeout_secs, forward_number: s.forward_number }))
}

#[utoipa::path(put, path = "/api/telephony/routing", tag = "telephony", request_body = Routing,
    responses((status = 200, body = Routing), (status = 422, body = ErrorBody)))]
pub async fn put_routing(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    ApiJson(b): ApiJson<Routing>,
) -> ApiResult<Json<Routing>> {
    require_on(&st, a.tenant_id).await?;
    if !(5..=300).contains(&b.ring_timeout_secs) {
        return Err(ApiError::unprocessable("invalid_ring_timeout", "the ring timeout is 5 to 300 seconds"));
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let forward = b.forward_number.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_string);
    if let Some(f) = &forward {
        let rules = callbase_db::settings::dial_rules(&mut tx, a.tenant_id).await?;
        if let Err(refusal) = rules.route(f, |_| false) {
            return Err(ApiError::unprocessable(
                "invalid_forward_number",
                format!("the forward number is refused: {refusal}"),
            ));
        }
    }
    repo::set_routing(&mut tx, a.tenant_id, b.ring_timeout_secs, forward.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(Routing { ring_timeout_secs: b.ring_timeout_secs, forward_number: forward }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Greeting {
    /// Length of the converted greeting.
    pub duration_ms: u64,
}

/// Largest greeting upload accepted (bytes).
pub const GREETING_MAX_BYTES: usize = 10 * 1024 * 1024;

/// Uploads the greeting callers hear before agents ring: MP3 or WAV as the request body. It is
/// converted to 8 kHz mono WAV and stored in the object store under an unguessable name.
#[utoipa::path(put, path = "/api/telephony/greeting", tag = "telephony", request_body(content = Vec<u8>, content_type = "audio/mpeg"),
    responses((status = 200, body = Greeting), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn put_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    body: axum::body::Bytes,
) -> ApiResult<Json<Greeting>> {
    require_on(&st, a.tenant_id).await?;
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "empty_greeting",
            "send the greeting file (MP3 or WAV) as the request body",
        ));
    }
    let bytes = body.to_vec();
    let (wav, duration_ms) =
        tokio::task::spawn_blocking(move || callbase_recordings::audio::to_telephone_wav(bytes))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(|e| ApiError::unprocessable("invalid_greeting", e.to_string()))?;
    let name = format!("t{}-{}.wav", a.tenant_id, crate::auth::session::random_token());
    st.store.put(&greeting_object(&name), wav, "audio/wav").await.map_err(|e| {
        tracing::warn!(error = %e, "cannot store a greeting");
        ApiError::Unavailable {
            code: "storage_unavailable",
            message: "the file store did not answer; nothing was changed, try again".into(),
        }
    })?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let old = repo::set_greeting(&mut tx, a.tenant_id, Some(&name)).await?;
    tx.commit().await?;
    if let Some(old) = old {
        let _ = st.store.delete(&greeting_object(&old)).await;
    }
    Ok(Json(Greeting { duration_ms }))
}

/// Removes the greeting: calls ring agents at once.
#[utoipa::path(delete, path = "/api/telephony/greeting", tag = "telephony", responses((status = 204)))]
pub async fn delete_greeting(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<StatusCode> {
    require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let old = repo::set_greeting(&mut tx, a.tenant_id, None).await?;
    tx.commit().await?;
    if let Some(old) = old {
        let _ = st.store.delete(&greeting_object(&old)).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

fn greeting_object(name: &str) -> String {
    format!("greetings/{name}")
}

/// `GET /media/greetings/{name}`: what Asterisk fetches to play a greeting. No session (Asterisk
/// has none): the name carries 128 random bits and nothing else is served here.
pub async fn media_greeting(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let valid = name.strip_suffix(".wav").is_some_and(|stem| {
        stem.starts_with('t')
            && stem.len() < 80
            && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !valid {
        return StatusCode::NOT_FOUND.into_response();
    }
    match st.store.get(&greeting_object(&name)).await {
        Ok(Some(bytes)) => ([(axum::http::header::CONTENT_TYPE, "audio/wav")], bytes).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a greeting");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
