//! Per-tenant telephony settings.

use callbase_core::dial::DialRules;
use callbase_core::TenantId;

use crate::Tx;

/// The tenant's dial rules, or the defaults when never saved.
pub async fn dial_rules(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<DialRules> {
    let v: Option<sqlx::types::Json<DialRules>> =
        sqlx::query_scalar("SELECT dial_rules FROM telephony_settings WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(v.map(|j| j.0).unwrap_or_default())
}

pub async fn save_dial_rules(tx: &mut Tx, tenant: TenantId, rules: &DialRules) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony_settings (tenant_id, dial_rules) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET dial_rules = EXCLUDED.dial_rules, updated_at = now()",
    )
    .bind(tenant)
    .bind(sqlx::types::Json(rules))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
