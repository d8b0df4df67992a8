//! What every agent's phone shows of the team (issue #18), for any telephony user: the colleagues
//! as transfer targets — every other enabled telephony user with their extension, agent state and
//! whether a phone of theirs is online (the presence board is the supervisors'; no calls here).
//! The parked calls are in `parked.rs`.

use axum::extract::State;
use axum::Json;
use callbase_core::UserId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::TelephonyUser;
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
