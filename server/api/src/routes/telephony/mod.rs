//! Telephony: the module switch (here), telephony users and auto-provisioning (`users`), the
//! "set up your phone" values for the user themself (`me`), inbound routing and the greeting
//! (`routing`). The rules live in `callbase_telephony::lifecycle`; these handlers extract, call
//! it, close the `/sip` sockets it names and shape the answer.

pub mod blocklist;
pub mod board;
pub mod colleagues;
pub mod hours;
pub mod me;
pub mod menus;
pub mod parked;
pub mod preflight;
pub mod queues;
pub mod routing;
pub mod speed_dials;
pub mod states;
pub mod supervise;
pub mod users;

use axum::extract::State;
use axum::Json;
use callbase_core::{TenantId, UserId};
use callbase_db::telephony::TelUserRow;
use std::sync::Arc;

use callbase_telephony::lifecycle;
use callbase_telephony::nodes::Node;
use callbase_telephony::provision::WithSecret;
use callbase_telephony::trunk_changes::TrunkChanges;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::administrators_only;
use crate::json::ApiJson;
use crate::routes::audit::Actor;
use crate::AppState;

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
    /// The agent state now: `available`, `break`, `dnd` or `wrapup` (offline is `online`'s
    /// business); the details are in `GET /api/telephony/states`.
    pub state: String,
    /// Calls to the user go here when none of their devices is online (through the trunks).
    pub mobile_number: Option<String>,
    /// The desk-phone password, only in the answer that created it (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<String>,
}

/// The tenant's Asterisk node: its telephony changes go there (`node.pbx()`).
pub(crate) async fn node(st: &AppState, tenant: TenantId) -> ApiResult<Arc<Node>> {
    Ok(st.nodes.of_tenant(tenant).await?)
}

async fn to_api(st: &AppState, tenant: TenantId, u: TelUserRow, password: Option<String>) -> TelUser {
    let on = match node(st, tenant).await {
        Ok(n) => n.pbx().online(tenant, &u).await,
        Err(_) => Default::default(),
    };
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
        online: Online { browser: on.browser, desk: on.desk },
        disabled: u.disabled,
        state: u.state,
        mobile_number: u.mobile_number,
        sip_password: password,
    }
}

async fn with_secret(st: &AppState, tenant: TenantId, w: WithSecret) -> TelUser {
    to_api(st, tenant, w.user, Some(w.password)).await
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
    let state = callbase_db::telephony::state(&mut tx, cu.tenant_id).await?;
    let me = if state.enabled {
        callbase_db::telephony::get_user(&mut tx, cu.tenant_id, cu.user_id).await?
    } else {
        None
    };
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
    // A tenant turning telephony on for the first time is placed on the least-loaded node.
    let node = st.nodes.place(a.tenant_id).await?;
    let created = lifecycle::enable(&st.db, node.pbx(), a.tenant_id, a.user_id).await?;
    crate::routes::audit::record(&st, &who, "telephony.on", "", None, None).await?;
    let created = match created {
        Some(w) => Some(with_secret(&st, a.tenant_id, w).await),
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
    let node = node(&st, a.tenant_id).await?;
    let cfg = st.nodes.with_every_listener(&node).await;
    let trunks =
        TrunkChanges { db: &st.db, ari: &node.ari, ami: node.ami.as_ref(), redis: &st.redis, asterisk: &cfg };
    let removed = lifecycle::disable(&trunks, &st.store, a.tenant_id, &b.confirm_account).await?;
    st.phones.close_tenant(a.tenant_id);
    let gone = serde_json::json!({"telephony_users": removed.len()});
    crate::routes::audit::record(&st, &who, "telephony.off", "", Some(gone), None).await?;
    Ok(Json(Disabled { enabled: false }))
}

/// Keeps telephony users in step after a user was created, changed groups, was disabled or a
/// group was deleted. Errors are logged: the user change itself has succeeded.
pub async fn after_user_change(st: &AppState, tenant: TenantId, changed: Option<UserId>) {
    let node = match node(st, tenant).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = ?e, tenant.id = %tenant, "telephony users not updated after a user change: the tenant's node is unknown");
            return;
        }
    };
    match lifecycle::after_user_change(&st.db, node.pbx(), tenant, changed).await {
        Ok(close) => {
            for u in close {
                st.phones.close_user(tenant, u);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, tenant.id = %tenant, "telephony provisioning after a user change failed")
        }
    }
}
