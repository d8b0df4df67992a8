//! Call records and call actions.

use callbase_core::TenantId;
use callbase_db::Tx;

/// Turning telephony off deletes the call records.
pub async fn forget_all(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM calls WHERE tenant_id = $1").bind(tenant).execute(&mut **tx).await?;
    Ok(())
}
