//! The tenant's parked calls (issue #18), as every agent's phone lists them to pick up: by slot,
//! the customer masked by the viewer's rules, who parked it and since when.

use axum::extract::State;
use axum::Json;
use callbase_core::UserId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::TelephonyUser;
use crate::routes::calls::ClientLink;
use crate::AppState;

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
