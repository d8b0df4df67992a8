//! API keys of the public `/api/v1` (issue #21, migrations/0043_integrations.sql), the
//! click-to-call idempotency records and the screen-pop URL template.

use callbase_core::{TenantId, UserId};
use serde_json::Value;
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::Tx;

/// A key as its list shows it (never the secret).
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub allowed_networks: Vec<String>,
    pub rate_per_minute: i32,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "k.id, k.name, k.prefix, k.scopes, k.expires_at, k.allowed_networks::text[] AS allowed_networks, \
    k.rate_per_minute, k.created_by, u.name AS created_by_name, k.created_at, k.last_used_at, \
    host(k.last_used_ip) AS last_used_ip, k.revoked_at";
const FROM: &str = " FROM api_keys k LEFT JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.created_by";

/// What creating a key stores.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_sha256: &'a [u8],
    pub scopes: &'a [String],
    pub expires_at: Option<OffsetDateTime>,
    /// CIDR, validated by the caller.
    pub allowed_networks: &'a [String],
    pub rate_per_minute: i32,
    pub created_by: UserId,
}

pub async fn create(tx: &mut Tx, tenant: TenantId, k: &NewKey<'_>) -> sqlx::Result<ApiKeyRow> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_keys (tenant_id, name, prefix, secret_sha256, scopes, expires_at, allowed_networks,
            rate_per_minute, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text[]::cidr[], $8, $9) RETURNING id",
    )
    .bind(tenant)
    .bind(k.name)
    .bind(k.prefix)
    .bind(k.secret_sha256)
    .bind(k.scopes)
    .bind(k.expires_at)
    .bind(k.allowed_networks)
    .bind(k.rate_per_minute)
    .bind(k.created_by)
    .fetch_one(&mut **tx)
    .await?;
    Ok(get(tx, tenant, id).await?.expect("the key just inserted"))
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS}{FROM} WHERE k.tenant_id = $1 AND k.id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Every key of the tenant, newest first (revoked ones too: the list shows them).
pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS}{FROM} WHERE k.tenant_id = $1 ORDER BY k.id DESC"))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}

/// Revokes a key; `false` when there is no such key (or it was revoked already).
pub async fn revoke(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// What a request's key turned out to be.
#[derive(Debug, Clone, FromRow)]
pub struct KeyUse {
    pub id: i64,
    pub scopes: Vec<String>,
    pub created_by: Option<i64>,
    pub rate_per_minute: i32,
    pub revoked: bool,
    pub expired: bool,
    /// The request's address is inside the key's networks (or the key has none).
    pub network_ok: bool,
}

/// Looks a key up by its secret's SHA-256 and, when it is usable from `ip`, notes its use (at most
/// once a minute per address, so a busy key does not write on every request).
pub async fn use_key(tx: &mut Tx, tenant: TenantId, sha256: &[u8], ip: &str) -> sqlx::Result<Option<KeyUse>> {
    let k: Option<KeyUse> = sqlx::query_as(
        "SELECT id, scopes, created_by, rate_per_minute, revoked_at IS NOT NULL AS revoked,
            coalesce(expires_at <= now(), false) AS expired,
            cardinality(allowed_networks) = 0 OR $3::inet <<= ANY (allowed_networks) AS network_ok
         FROM api_keys WHERE tenant_id = $1 AND secret_sha256 = $2",
    )
    .bind(tenant)
    .bind(sha256)
    .bind(ip)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(k) = k.as_ref().filter(|k| !k.revoked && !k.expired && k.network_ok) {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = now(), last_used_ip = $3::inet
             WHERE tenant_id = $1 AND id = $2
               AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
                    OR last_used_ip IS DISTINCT FROM $3::inet)",
        )
        .bind(tenant)
        .bind(k.id)
        .bind(ip)
        .execute(&mut **tx)
        .await?;
    }
    Ok(k)
}

/// The answer stored for an idempotency key, with the request it answered.
pub async fn idempotent_answer(
    tx: &mut Tx,
    tenant: TenantId,
    key_id: i64,
    idem_key: &str,
) -> sqlx::Result<Option<(Value, Value)>> {
    sqlx::query_as(
        "SELECT request, response FROM api_idempotency
         WHERE tenant_id = $1 AND key_id = $2 AND idem_key = $3 AND created_at > now() - interval '1 day'",
    )
    .bind(tenant)
    .bind(key_id)
    .bind(idem_key)
    .fetch_optional(&mut **tx)
    .await
}

/// Takes an idempotency key before acting (the row lock makes a concurrent retry with the same key
/// wait for this transaction); `false` when another request holds it already. A record older than
/// a day is replaced.
pub async fn claim_idempotency(
    tx: &mut Tx,
    tenant: TenantId,
    key_id: i64,
    idem_key: &str,
    request: &Value,
    response: &Value,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO api_idempotency (tenant_id, key_id, idem_key, request, response) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key_id, idem_key) DO UPDATE SET request = EXCLUDED.request, response = EXCLUDED.response,
             created_at = now()
         WHERE api_idempotency.created_at <= now() - interval '1 day'",
    )
    .bind(tenant)
    .bind(key_id)
    .bind(idem_key)
    .bind(request)
    .bind(response)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The screen-pop template and when the call card opens it by itself.
#[derive(Debug, Clone, FromRow)]
pub struct ScreenPop {
    pub url_template: String,
    pub open_on: String,
}

pub async fn screen_pop(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<ScreenPop> {
    let s: Option<ScreenPop> = sqlx::query_as(
        "SELECT screen_pop_url AS url_template, screen_pop_open AS open_on FROM telephony WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(s.unwrap_or(ScreenPop { url_template: String::new(), open_on: "never".into() }))
}

/// Saves the template; `false` when the tenant has no telephony settings yet.
pub async fn set_screen_pop(tx: &mut Tx, tenant: TenantId, s: &ScreenPop) -> sqlx::Result<bool> {
    let r =
        sqlx::query("UPDATE telephony SET screen_pop_url = $2, screen_pop_open = $3 WHERE tenant_id = $1")
            .bind(tenant)
            .bind(&s.url_template)
            .bind(&s.open_on)
            .execute(&mut **tx)
            .await?;
    Ok(r.rows_affected() == 1)
}
