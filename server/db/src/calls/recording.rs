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
    /// None: a signed link (a webhook's `recording.ready`), not a user.
    pub user: Option<UserId>,
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
        a.user.map(|u| u.0),
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

/// Someone listened to the call's voicemail message: it is no longer new (issue #19).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = %id))]
pub async fn voicemail_heard(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET voicemail_heard_at = now() WHERE tenant_id = $1 AND id = $2 AND voicemail AND voicemail_heard_at IS NULL",
        tenant.0,
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a call answered by `user` is recorded: the tenant records all calls, or the user is in
/// an "always record" group (false when telephony is off).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn should_record(tx: &mut Tx, tenant: TenantId, user: Option<UserId>) -> sqlx::Result<bool> {
    let on = sqlx::query_scalar!(
        "SELECT t.record_calls OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.tenant_id AND m.user_id = $2 \
         AND m.group_id = ANY (t.record_group_ids)) AS on FROM telephony t WHERE t.tenant_id = $1 AND t.enabled",
        tenant.0,
        user.map(|u| u.0),
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(on.flatten().unwrap_or(false))
}

// The uploader and retention below work across tenants on the worker pool (no RLS).

/// Calls whose recording never got past `recording` (the server stopped mid-call) become pending,
/// with a fresh object key; returns how many.
#[tracing::instrument(skip_all)]
pub async fn queue_orphans(pool: &sqlx::PgPool) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE calls SET recording_state = 'pending', recording_next_try = now(), \
         recording_key = COALESCE(recording_key, 'recordings/' || tenant_id || '/' || md5(random()::text || id::text) || '.mp3') \
         WHERE recording_state = 'recording' AND ended_at IS NOT NULL"
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// A pending recording, claimed by the uploader's transaction.
#[derive(Debug)]
pub struct Pending {
    pub id: Uuid,
    /// Asterisk's name of the recording.
    pub recording_name: String,
    pub recording_key: String,
    pub recording_attempts: i32,
    /// The Asterisk node that recorded it (`None`: from before nodes).
    pub node: Option<String>,
}

/// Claims the pending recording due first (`FOR UPDATE SKIP LOCKED`: replicas share the work,
/// and a crashed worker's claim ends with its connection).
#[tracing::instrument(skip_all)]
pub async fn claim_pending(tx: &mut Tx) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as!(
        Pending,
        r#"SELECT id, recording_name AS "recording_name!", recording_key AS "recording_key!", recording_attempts, node FROM calls
         WHERE recording_state = 'pending' AND recording_next_try <= now()
         ORDER BY recording_next_try LIMIT 1 FOR UPDATE SKIP LOCKED"#
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The recording is in the object store.
#[tracing::instrument(skip_all, fields(call.id = %id))]
pub async fn mark_stored(tx: &mut Tx, id: Uuid, bytes: i64, ms: Option<i32>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET recording_state = 'stored', recording_bytes = $2, recording_ms = COALESCE($3, recording_ms), \
         recording_stored_at = now(), recording_error = NULL WHERE id = $1",
        id,
        bytes,
        ms,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An upload attempt failed: try again in `wait_secs`, or give up (`failed`).
#[tracing::instrument(skip_all, fields(call.id = %id))]
pub async fn mark_attempt_failed(
    tx: &mut Tx,
    id: Uuid,
    attempts: i32,
    error: &str,
    give_up: bool,
    wait_secs: f64,
) -> sqlx::Result<()> {
    let state = if give_up { super::RecordingState::Failed } else { super::RecordingState::Pending };
    sqlx::query!(
        "UPDATE calls SET recording_attempts = $2, recording_error = $3, recording_state = $4, \
         recording_next_try = now() + make_interval(secs => $5) WHERE id = $1",
        id,
        attempts,
        error,
        state.as_str(),
        wait_secs,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The node that holds a claimed recording does not answer: that recording and the node's other
/// queued ones (those no other uploader holds right now) wait for it (`waiting`), off the queue,
/// without an attempt counted against them (the files are not at fault). Returns how many.
#[tracing::instrument(skip_all, fields(call.id = %id))]
pub async fn wait_for_node(tx: &mut Tx, id: Uuid, node: Option<&str>, why: &str) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE calls SET recording_state = 'waiting', recording_error = $3 \
         WHERE id = $1 OR id IN (SELECT id FROM calls WHERE recording_state = 'pending' \
             AND node IS NOT DISTINCT FROM $2 FOR UPDATE SKIP LOCKED)",
        id,
        node,
        why,
    )
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected())
}

/// The nodes that recordings wait for (`None`: records from before nodes, the settings' node).
#[tracing::instrument(skip_all)]
pub async fn waited_for_nodes(pool: &sqlx::PgPool) -> sqlx::Result<Vec<Option<String>>> {
    sqlx::query_scalar!("SELECT DISTINCT node FROM calls WHERE recording_state = 'waiting'")
        .fetch_all(pool)
        .await
}

/// `node` answers again: its waiting recordings go back on the upload queue, due now; returns how
/// many.
#[tracing::instrument(skip_all)]
pub async fn requeue_waiting(pool: &sqlx::PgPool, node: Option<&str>) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE calls SET recording_state = 'pending', recording_next_try = now() \
         WHERE recording_state = 'waiting' AND node IS NOT DISTINCT FROM $1",
        node,
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// The recordings of calls that ended more than `max_secs` ago and still wait for `node` are
/// given up as `lost` with `why` (0: every one); returns how many.
#[tracing::instrument(skip_all)]
pub async fn lose_waiting(
    pool: &sqlx::PgPool,
    node: Option<&str>,
    max_secs: f64,
    why: &str,
) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE calls SET recording_state = 'lost', recording_error = $3 \
         WHERE recording_state = 'waiting' AND node IS NOT DISTINCT FROM $1 \
           AND ended_at < now() - make_interval(secs => $2)",
        node,
        max_secs,
        why,
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// One recording is lost (its node is gone).
#[tracing::instrument(skip_all, fields(call.id = %id))]
pub async fn mark_lost(tx: &mut Tx, id: Uuid, why: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE calls SET recording_state = 'lost', recording_error = $2 WHERE id = $1", id, why,)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A stored recording past its tenant's retention.
#[derive(Debug)]
pub struct Expired {
    pub id: Uuid,
    pub recording_key: String,
    /// The tenant deletes the call record too.
    pub delete_call: bool,
}

/// Up to 500 stored recordings past retention as of `now` (not on legal hold), claimed.
#[tracing::instrument(skip_all)]
pub async fn claim_expired(tx: &mut Tx, now: OffsetDateTime) -> sqlx::Result<Vec<Expired>> {
    sqlx::query_as!(
        Expired,
        r#"SELECT c.id, c.recording_key AS "recording_key!", t.retention_delete_calls AS delete_call
         FROM calls c JOIN telephony t ON t.tenant_id = c.tenant_id
         WHERE c.recording_state = 'stored' AND NOT c.legal_hold AND c.recording_key IS NOT NULL
            AND c.started_at < $1::timestamptz - make_interval(days => t.retention_days)
         ORDER BY c.started_at LIMIT 500 FOR UPDATE OF c SKIP LOCKED"#,
        now
    )
    .fetch_all(&mut **tx)
    .await
}

/// After the objects are gone: `keep` rows say `deleted`, `drop` rows go.
#[tracing::instrument(skip_all)]
pub async fn forget_expired(tx: &mut Tx, keep: &[Uuid], drop: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET recording_state = 'deleted', recording_key = NULL WHERE id = ANY($1)",
        keep
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("DELETE FROM calls WHERE id = ANY($1)", drop).execute(&mut **tx).await?;
    Ok(())
}

/// Tenants who delete call records too: ended rows past retention that hold no recording (not on
/// legal hold) go; returns how many.
#[tracing::instrument(skip_all)]
pub async fn delete_expired_calls(pool: &sqlx::PgPool, now: OffsetDateTime) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "DELETE FROM calls c USING telephony t WHERE t.tenant_id = c.tenant_id AND t.retention_delete_calls \
         AND NOT c.legal_hold AND c.ended_at IS NOT NULL AND c.started_at < $1::timestamptz - make_interval(days => t.retention_days) \
         AND (c.recording_state IS NULL OR c.recording_state IN ('deleted', 'failed', 'lost'))",
        now
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}
