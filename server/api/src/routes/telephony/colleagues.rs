//! What every agent's phone shows of the team (issue #18), for any telephony user: the colleagues
//! as transfer targets — every other enabled telephony user with their extension, agent state and
//! whether a phone of theirs is online (the presence board is the supervisors'; no calls here) —
//! and the tenant's parked calls to pick up, numbers masked by the viewer's rules.

use axum::extract::State;
use axum::Json;
use callbase_core::UserId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::TelephonyUser;
use crate::routes::calls::ClientLink;
use crate::routes::telephony::node;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Colleague {
    pub user_id: UserId,
    pub name: String,
    pub extension: String,
    /// `available`, `break`, `dnd` or `wrapup`.
    pub state: String,
    /// A phone of theirs that calls ring (browser or desk, as they are set up) is registered now.
    pub online: bool,
}

/// The caller's colleagues with their live state, by extension.
#[utoipa::path(get, path = "/api/telephony/colleagues", tag = "telephony",
    responses((status = 200, body = [Colleague]), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn colleagues(
    State(st): State<AppState>,
    TelephonyUser { user: cu, .. }: TelephonyUser,
) -> ApiResult<Json<Vec<Colleague>>> {
    let tenant = cu.tenant_id;
    let mut tx = st.db.tenant_tx(tenant).await?;
    let users = callbase_db::telephony::list_users(&mut tx, tenant).await?;
    tx.commit().await?;
    let mut users: Vec<_> = users.into_iter().filter(|u| !u.disabled && u.user_id != cu.user_id).collect();
    users.sort_by(|a, b| a.extension.cmp(&b.extension));
    let pbx = node(&st, tenant).await.ok();
    // Every colleague's devices at once, not one after another.
    let online = futures_util::future::join_all(users.iter().map(|u| {
        let pbx = pbx.clone();
        async move {
            match pbx {
                Some(n) => n.pbx().online(tenant, u).await.rings(u),
                None => false,
            }
        }
    }))
    .await;
    Ok(Json(
        users
            .into_iter()
            .zip(online)
            .map(|(u, online)| Colleague {
                user_id: u.user_id,
                name: u.name,
                extension: u.extension,
                state: u.state,
                online,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParkedCall {
    pub call_id: String,
    /// Dial `*8<slot>` to pick it up.
    pub slot: i16,
    /// The customer, masked by the viewer's rules.
    pub number: String,
    /// The CRM client the call belongs to.
    pub client: Option<ClientLink>,
    pub parked_by: Option<UserId>,
    pub parked_by_name: Option<String>,
    /// RFC 3339.
    pub parked_at: String,
}

/// The tenant's parked calls, by slot (issue #18).
#[utoipa::path(get, path = "/api/telephony/parked", tag = "telephony",
    responses((status = 200, body = [ParkedCall]), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn parked(
    State(st): State<AppState>,
    TelephonyUser { user: cu, .. }: TelephonyUser,
) -> ApiResult<Json<Vec<ParkedCall>>> {
    let tenant = cu.tenant_id;
    let mut tx = st.db.tenant_tx(tenant).await?;
    let list = callbase_db::calls::parking::list(&mut tx, tenant).await?;
    let group_ids: Vec<_> = cu.groups.iter().map(|g| g.0).collect();
    let masking = callbase_crm::view::masking_for(&mut tx, tenant, &group_ids).await?;
    tx.commit().await?;
    Ok(Json(
        list.into_iter()
            .map(|p| ParkedCall {
                call_id: p.call_id.to_string(),
                slot: p.slot,
                number: callbase_core::crm::shown(masking, &p.number),
                client: p.crm_record_id.zip(p.crm_table_id).map(|(record_id, table_id)| ClientLink {
                    record_id,
                    table_id,
                    title: p.crm_title.unwrap_or_default(),
                }),
                parked_by: p.parked_by.map(UserId),
                parked_by_name: p.parked_by_name,
                parked_at: p
                    .parked_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            })
            .collect(),
    ))
}
