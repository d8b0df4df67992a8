//! Caller matching and the call card (`/api/crm/lookup`, `/api/calls/{id}/card|client|attach`).
//! Which calls a user may see is the call history's rule (`routes/records.rs::call_number`); what
//! the card shows and does is the CRM's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::RecordId;
use callbase_crm::card::{self as svc, AttachToRecord, CallCard, ClientFromCall, Lookup, LookupParams};
use callbase_crm::shape::Record;

use super::who;
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::routes::calls::history::call_number;
use crate::AppState;

#[utoipa::path(get, path = "/api/crm/lookup", tag = "crm", params(LookupParams),
    responses((status = 200, body = Lookup), (status = 403, body = ErrorBody)))]
pub async fn lookup(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(p): ApiQuery<LookupParams>,
) -> ApiResult<Json<Lookup>> {
    Ok(Json(svc::lookup_number(&st.db, &who(&cu), &p.number).await?))
}

/// The call card: the records matching a call's number (the viewer must see the call). Works for
/// masked users: they get the matches, never the number.
#[utoipa::path(get, path = "/api/calls/{id}/card", tag = "crm", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CallCard), (status = 404, body = ErrorBody)))]
pub async fn call_card(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<uuid::Uuid>,
) -> ApiResult<Json<CallCard>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (number, linked) = call_number(&mut tx, &cu, id).await?;
    let card = svc::call_card(&mut tx, &who(&cu), &number, linked.map(RecordId)).await?;
    tx.commit().await?;
    Ok(Json(card))
}

/// "Create a client" from the call card: a record pre-filled with the call's number (filled on
/// the server, so masked users can do it), linked to the call.
#[utoipa::path(post, path = "/api/calls/{id}/client", tag = "crm", params(("id" = uuid::Uuid, Path)), request_body = ClientFromCall,
    responses((status = 201, body = Record), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn client_from_call(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<uuid::Uuid>,
    ApiJson(b): ApiJson<ClientFromCall>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (number, _) = call_number(&mut tx, &cu, id).await?;
    let r = svc::client_from_call(&mut tx, &who(&cu), id, number, b).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// "Add the number to an existing client": the call's number goes into the record's first empty
/// phone field; the call is linked to the record.
#[utoipa::path(post, path = "/api/calls/{id}/attach", tag = "crm", params(("id" = uuid::Uuid, Path)), request_body = AttachToRecord,
    responses((status = 200, body = Record), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn attach_to_record(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<uuid::Uuid>,
    ApiJson(b): ApiJson<AttachToRecord>,
) -> ApiResult<Json<Record>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let (number, _) = call_number(&mut tx, &cu, id).await?;
    let r = svc::attach(&mut tx, &who(&cu), id, number, b).await?;
    tx.commit().await?;
    Ok(Json(r))
}
