//! Webhook endpoints and their delivery queue (issue #21, migrations/0043_integrations.sql).
//!
//! Events are queued by triggers on `calls` and `crm_records` in the transaction that changed them;
//! [`claim`] hands due messages to a sender for a lease (any replica; `SKIP LOCKED`), and
//! [`record_attempt`] writes what came of it.

use callbase_core::TenantId;
use serde_json::Value;
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::{Pool, Tx};

/// The event types an endpoint can take (the migration's CHECK says the same).
pub const EVENT_TYPES: &[&str] = &[
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.missed",
    "recording.ready",
    "crm.record.created",
    "crm.record.changed",
];

#[derive(Debug, Clone, FromRow)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub mask_numbers: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str = "id, url, events, mask_numbers, enabled, disabled_reason, failing_since, created_at";

pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<Endpoint>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<Endpoint>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// How many endpoints a tenant may have.
pub const MAX_ENDPOINTS: i64 = 20;

pub async fn count(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&mut **tx)
        .await
}

pub async fn create(
    tx: &mut Tx,
    tenant: TenantId,
    url: &str,
    events: &[String],
    mask_numbers: bool,
    secret: &str,
) -> sqlx::Result<Endpoint> {
    sqlx::query_as(&format!(
        "INSERT INTO webhook_endpoints (tenant_id, url, events, mask_numbers, secret) VALUES ($1, $2, $3, $4, $5)
         RETURNING {COLUMNS}"
    ))
    .bind(tenant)
    .bind(url)
    .bind(events)
    .bind(mask_numbers)
    .bind(secret)
    .fetch_one(&mut **tx)
    .await
}

/// Changes what is given; enabling clears the failure record (a re-enabled endpoint starts afresh).
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    url: Option<&str>,
    events: Option<&[String]>,
    mask_numbers: Option<bool>,
    enabled: Option<bool>,
) -> sqlx::Result<Option<Endpoint>> {
    sqlx::query_as(&format!(
        "UPDATE webhook_endpoints SET url = coalesce($3, url), events = coalesce($4, events),
            mask_numbers = coalesce($5, mask_numbers), enabled = coalesce($6, enabled),
            disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason
                                   WHEN $6 THEN NULL ELSE 'disabled by an administrator' END,
            failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
            failures_in_row = CASE WHEN $6 THEN 0 ELSE failures_in_row END
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(tenant)
    .bind(id)
    .bind(url)
    .bind(events)
    .bind(mask_numbers)
    .bind(enabled)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Puts a new secret in place; the old one keeps signing beside it until `keep_old_until`.
pub async fn rotate(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    secret: &str,
    keep_old_until: OffsetDateTime,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $4, secret = $3
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(secret)
    .bind(keep_old_until)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The secrets an endpoint signs with now (the current one, and a rotated-out one still valid).
pub async fn signing_secrets(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Vec<String>> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT secret, CASE WHEN previous_until > now() THEN previous_secret END FROM webhook_endpoints
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(s, p)| std::iter::once(s).chain(p).collect()).unwrap_or_default())
}

/// Whether an endpoint gets numbers masked.
pub async fn masks_numbers(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let m: Option<bool> =
        sqlx::query_scalar("SELECT mask_numbers FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(m.unwrap_or(true))
}

/// Queues one message for one endpoint (the test event, a replay); returns its message id.
pub async fn enqueue_one(
    tx: &mut Tx,
    tenant: TenantId,
    endpoint: i64,
    message_id: &str,
    event_type: &str,
    payload: &Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_messages (tenant_id, endpoint_id, message_id, event_type, payload, next_try_at)
         VALUES ($1, $2, $3, $4, $5, now())",
    )
    .bind(tenant)
    .bind(endpoint)
    .bind(message_id)
    .bind(event_type)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sends a message again from the start (a replay): pending now, its attempts kept in the log.
pub async fn replay(tx: &mut Tx, tenant: TenantId, endpoint: i64, message_id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE webhook_messages SET state = 'pending', next_try_at = now(), attempts = 0
         WHERE tenant_id = $1 AND endpoint_id = $2 AND message_id = $3",
    )
    .bind(tenant)
    .bind(endpoint)
    .bind(message_id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: i64,
    pub message_id: String,
    pub event_type: String,
    pub created_at: OffsetDateTime,
    pub state: String,
    pub attempts: i32,
    pub next_try_at: Option<OffsetDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Attempt {
    pub message: i64,
    pub at: OffsetDateTime,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// One page of an endpoint's deliveries, newest first, before the row `before` (a cursor), with
/// their attempts.
pub async fn deliveries(
    tx: &mut Tx,
    tenant: TenantId,
    endpoint: i64,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<(Vec<Delivery>, Vec<Attempt>)> {
    let ds: Vec<Delivery> = sqlx::query_as(
        "SELECT id, message_id, event_type, created_at, state, attempts,
            CASE WHEN state = 'pending' THEN next_try_at END AS next_try_at, last_status, last_error
         FROM webhook_messages WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3::bigint IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
    )
    .bind(tenant)
    .bind(endpoint)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<i64> = ds.iter().map(|d| d.id).collect();
    let attempts = sqlx::query_as(
        "SELECT message, at, status, error, duration_ms FROM webhook_attempts
         WHERE tenant_id = $1 AND message = ANY ($2) ORDER BY id",
    )
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok((ds, attempts))
}

/// A message handed to a sender, with what sending it needs.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: i64,
    pub tenant_id: i64,
    pub endpoint_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub payload: Value,
    pub created_at: OffsetDateTime,
    /// This attempt's number (1 for the first).
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub mask_numbers: bool,
}

/// Claims up to `limit` due messages of enabled endpoints for `lease_secs` (counted as an attempt
/// now, so a sender that dies mid-send does not retry forever); cross-tenant, on the worker pool.
pub async fn claim(pool: &Pool, limit: i64, lease_secs: i64) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as(
        "WITH due AS (
            SELECT m.id FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id AND e.enabled
            WHERE m.state = 'pending' AND m.next_try_at <= now()
            ORDER BY m.next_try_at LIMIT $1 FOR UPDATE OF m SKIP LOCKED)
         UPDATE webhook_messages m SET attempts = m.attempts + 1, next_try_at = now() + make_interval(secs => $2)
         FROM due, webhook_endpoints e
         WHERE m.id = due.id AND e.id = m.endpoint_id
         RETURNING m.id, m.tenant_id, m.endpoint_id, m.message_id, m.event_type, m.payload, m.created_at, m.attempts,
            e.url, e.secret, CASE WHEN e.previous_until > now() THEN e.previous_secret END AS previous_secret,
            e.mask_numbers",
    )
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

/// What came of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub delivered: bool,
    /// When to try again; `None` after the last attempt.
    pub retry_in_secs: Option<i64>,
}

/// What an endpoint's failure record says after an attempt.
#[derive(Debug, Clone, FromRow)]
pub struct EndpointHealth {
    pub failures_in_row: i32,
    pub failing_since: Option<OffsetDateTime>,
}

/// Writes an attempt's outcome, moves the message on and keeps the endpoint's failure record.
pub async fn record_attempt(pool: &Pool, m: &Claimed, o: &Outcome) -> sqlx::Result<EndpointHealth> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (tenant_id, message, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(m.tenant_id)
    .bind(m.id)
    .bind(o.status)
    .bind(&o.error)
    .bind(o.duration_ms)
    .execute(&mut *tx)
    .await?;
    let state = match (o.delivered, o.retry_in_secs) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    sqlx::query(
        "UPDATE webhook_messages SET state = $2, last_status = $3, last_error = $4,
            next_try_at = now() + make_interval(secs => $5),
            delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
         WHERE id = $1",
    )
    .bind(m.id)
    .bind(state)
    .bind(o.status)
    .bind(&o.error)
    .bind(o.retry_in_secs.unwrap_or(0) as f64)
    .execute(&mut *tx)
    .await?;
    let health: EndpointHealth = sqlx::query_as(
        "UPDATE webhook_endpoints SET
            failures_in_row = CASE WHEN $2 THEN 0 ELSE failures_in_row + 1 END,
            failing_since = CASE WHEN $2 THEN NULL ELSE coalesce(failing_since, now()) END
         WHERE id = $1 RETURNING failures_in_row, failing_since",
    )
    .bind(m.endpoint_id)
    .bind(o.delivered)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(health)
}

/// Turns an endpoint off after sustained failure; `true` when this call did it (once).
pub async fn disable_failing(pool: &Pool, endpoint: i64, reason: &str) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2 WHERE id = $1 AND enabled",
    )
    .bind(endpoint)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes delivered and failed messages (with their attempts) older than `keep_days`, and
/// click-to-call idempotency records past their day; how many messages went.
pub async fn prune(pool: &Pool, keep_days: i32) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "DELETE FROM webhook_messages WHERE state <> 'pending' AND created_at < now() - make_interval(days => $1)",
    )
    .bind(keep_days)
    .execute(pool)
    .await?;
    sqlx::query("DELETE FROM api_idempotency WHERE created_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// The phone fields of a CRM table (their values are masked for endpoints that mask numbers).
pub async fn phone_fields(pool: &Pool, table: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM crm_fields WHERE table_id = $1 AND kind = 'phone'")
        .bind(table)
        .fetch_all(pool)
        .await
}
