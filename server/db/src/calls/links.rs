//! A call's link to its client: the CRM record the call card created or attached the call's
//! number to.

use callbase_core::{RecordId, TenantId};
use sqlx::types::Uuid;

use crate::Tx;

/// Links the call to the CRM record `record` (a record of the same tenant: the foreign key is the
/// `(tenant_id, id)` pair). False when the tenant has no such call.
pub async fn link_record(tx: &mut Tx, tenant: TenantId, call: Uuid, record: RecordId) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE calls SET crm_record_id = $3 WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        call,
        record.0,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}
