//! The CRM's SQL lives in `callbase_crm::repo`. What is left here is kept for two callers outside
//! the CRM's area until they switch: `telephony::calls` (dialling a client by reference) and
//! `api::routes::calls` (click-to-call by reference) read a record's number through [`phone_of`];
//! the same query is `callbase_crm::repo::phones::phone_of`, which replaces this module.

use callbase_core::TenantId;

use crate::Tx;

/// The E.164 number of a record's phone field (click-to-call by reference).
pub async fn phone_of(
    tx: &mut Tx,
    tenant: TenantId,
    record: i64,
    field: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT e164 FROM crm_phones WHERE tenant_id = $1 AND record_id = $2 AND field_id = $3",
        tenant.0,
        record,
        field,
    )
    .fetch_optional(&mut **tx)
    .await
}
