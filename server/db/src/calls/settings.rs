//! The tenant's call-history settings (kept in the `telephony` row): recording, retention, who
//! sees every call, and the call card's dictionaries.

use callbase_core::TenantId;

use crate::Tx;

/// Recording, retention, visibility and dictionaries.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Record every answered call.
    pub record_calls: bool,
    /// Members of these access groups are always recorded.
    pub record_group_ids: Vec<i64>,
    /// Delete recordings older than this many days; calls on legal hold are kept.
    pub retention_days: i32,
    /// Delete the call records too, not just the recordings.
    pub retention_delete_calls: bool,
    /// Users see every call record (administrators always do).
    pub calls_visible_to_all: bool,
    pub call_types: Vec<String>,
    pub call_results: Vec<String>,
    /// Agents may pause their call's recording (issue #18).
    pub recording_pause_allowed: bool,
}

/// The settings (of a tenant whose telephony row exists: telephony is on).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn get(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<CallSettings> {
    sqlx::query_as!(
        CallSettings,
        "SELECT record_calls, record_group_ids, retention_days, retention_delete_calls, calls_visible_to_all, \
         call_types, call_results, recording_pause_allowed FROM telephony WHERE tenant_id = $1",
        tenant.0
    )
    .fetch_one(&mut **tx)
    .await
}

/// Saves the settings.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn put(tx: &mut Tx, tenant: TenantId, s: &CallSettings) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE telephony SET record_calls = $2, record_group_ids = $3, retention_days = $4, retention_delete_calls = $5, \
         calls_visible_to_all = $6, call_types = $7, call_results = $8, recording_pause_allowed = $9 WHERE tenant_id = $1",
        tenant.0,
        s.record_calls,
        &s.record_group_ids,
        s.retention_days,
        s.retention_delete_calls,
        s.calls_visible_to_all,
        &s.call_types,
        &s.call_results,
        s.recording_pause_allowed,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether users see every call record (false when the tenant has no telephony row).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn calls_visible_to_all(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<bool> {
    let all =
        sqlx::query_scalar!("SELECT calls_visible_to_all FROM telephony WHERE tenant_id = $1", tenant.0)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(all.unwrap_or(false))
}
