//! A recording's life on its call record: who listened to or downloaded it (the audit), legal
//! hold, and what goes when telephony is turned off.

use callbase_core::{TenantId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Tx;

/// Turning telephony off deletes the call records, except those on legal hold (a hold is lifted
/// only by an administrator); returns the deleted recordings' object keys, to delete from S3 once
/// the transaction has committed.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn forget_all(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<String>> {
    let keys = sqlx::query_scalar!(
        "DELETE FROM calls WHERE tenant_id = $1 AND NOT legal_hold RETURNING recording_key",
        tenant.0
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(keys.into_iter().flatten().collect())
}

/// One listen, download or archive of recordings: who, from where, with what.
pub struct Access<'a> {
    pub user: UserId,
    /// listen, download, zip
    pub action: &'a str,
    pub ip: String,
    pub user_agent: Option<String>,
}

/// Records an access to the recordings of `calls` (one audit row per call).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, action = a.action))]
pub async fn audit(tx: &mut Tx, tenant: TenantId, calls: &[Uuid], a: &Access<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO recording_audit (tenant_id, call_id, user_id, action, ip, user_agent) \
         SELECT $1, x, $3, $4, $5, $6 FROM unnest($2::uuid[]) x",
        tenant.0,
        calls,
        a.user.0,
        a.action,
        a.ip,
        a.user_agent,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A row of the recordings audit.
#[derive(Debug)]
pub struct AuditRow {
    pub call_id: Uuid,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: OffsetDateTime,
}

/// The recordings audit, newest first, 100 a page (of one call, or all).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn audit_page(
    tx: &mut Tx,
    tenant: TenantId,
    call: Option<Uuid>,
    offset: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as!(
        AuditRow,
        r#"SELECT r.call_id, r.user_id, u.name AS "user_name?", r.action, r.ip, r.user_agent, r.at
         FROM recording_audit r LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
         WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.call_id = $2)
         ORDER BY r.at DESC, r.id DESC LIMIT 100 OFFSET $3"#,
        tenant.0,
        call,
        offset
    )
    .fetch_all(&mut **tx)
    .await
}

/// Sets or lifts a call's legal hold (retention and turning telephony off keep held calls).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = %id))]
pub async fn set_legal_hold(tx: &mut Tx, tenant: TenantId, id: Uuid, hold: bool) -> sqlx::Result<()> {
    sqlx::query!("UPDATE calls SET legal_hold = $3 WHERE tenant_id = $1 AND id = $2", tenant.0, id, hold)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
