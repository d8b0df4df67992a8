//! The toll-fraud guard's per-tenant limits, allowed countries and security alerts
//! (`migrations/0015_fraud.sql`).

use callbase_core::{TenantId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::Tx;

/// A tenant's fraud limits (the defaults when never saved).
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize, serde::Deserialize)]
pub struct FraudSettings {
    pub max_calls_tenant: i32,
    pub max_calls_user: i32,
    pub calls_per_minute_user: i32,
    pub minutes_per_day_tenant: i32,
    pub warn_percent: i32,
    pub allowed_countries: Vec<String>,
}

impl Default for FraudSettings {
    fn default() -> Self {
        FraudSettings {
            max_calls_tenant: 30,
            max_calls_user: 2,
            calls_per_minute_user: 10,
            minutes_per_day_tenant: 3000,
            warn_percent: 80,
            allowed_countries: vec![],
        }
    }
}

const COLUMNS: &str = "max_calls_tenant, max_calls_user, calls_per_minute_user, minutes_per_day_tenant, warn_percent, allowed_countries";

pub async fn settings(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<FraudSettings> {
    let row: Option<FraudSettings> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM fraud_settings WHERE tenant_id = $1"))
            .bind(tenant)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.unwrap_or_default())
}

/// Saves the limits (the allowed countries are kept: they change one at a time).
pub async fn save_limits(tx: &mut Tx, tenant: TenantId, s: &FraudSettings) -> sqlx::Result<FraudSettings> {
    sqlx::query_as(&format!(
        "INSERT INTO fraud_settings (tenant_id, max_calls_tenant, max_calls_user, calls_per_minute_user, minutes_per_day_tenant, warn_percent)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id) DO UPDATE SET max_calls_tenant = EXCLUDED.max_calls_tenant, max_calls_user = EXCLUDED.max_calls_user,
             calls_per_minute_user = EXCLUDED.calls_per_minute_user, minutes_per_day_tenant = EXCLUDED.minutes_per_day_tenant,
             warn_percent = EXCLUDED.warn_percent, updated_at = now()
         RETURNING {COLUMNS}"
    ))
    .bind(tenant)
    .bind(s.max_calls_tenant)
    .bind(s.max_calls_user)
    .bind(s.calls_per_minute_user)
    .bind(s.minutes_per_day_tenant)
    .bind(s.warn_percent)
    .fetch_one(&mut **tx)
    .await
}

/// Adds (`allow`) or removes a country code from the tenant's allowed countries.
pub async fn set_country(
    tx: &mut Tx,
    tenant: TenantId,
    code: &str,
    allow: bool,
) -> sqlx::Result<FraudSettings> {
    sqlx::query("INSERT INTO fraud_settings (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING")
        .bind(tenant)
        .execute(&mut **tx)
        .await?;
    let sql = if allow {
        "UPDATE fraud_settings SET allowed_countries = (SELECT array_agg(DISTINCT c ORDER BY c) FROM unnest(array_append(allowed_countries, $2)) c), updated_at = now()"
    } else {
        "UPDATE fraud_settings SET allowed_countries = array_remove(allowed_countries, $2), updated_at = now()"
    };
    sqlx::query_as(&format!("{sql} WHERE tenant_id = $1 RETURNING {COLUMNS}"))
        .bind(tenant)
        .bind(code)
        .fetch_one(&mut **tx)
        .await
}

/// Answered outbound and forwarded minutes of the current UTC day, calls in progress included.
pub async fn minutes_today(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<f64> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(EXTRACT(EPOCH FROM (COALESCE(ended_at, now()) - answered_at))), 0)::float8 / 60
         FROM calls WHERE tenant_id = $1 AND started_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           AND answered_at IS NOT NULL AND (direction = 'outbound' OR result = 'forwarded')",
    )
    .bind(tenant)
    .fetch_one(&mut **tx)
    .await
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AlertRow {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: String,
    pub level: String,
    pub message: String,
    pub user_id: Option<UserId>,
    pub country_code: Option<String>,
}

pub struct NewAlert<'a> {
    pub kind: &'a str,
    pub level: &'a str,
    pub message: &'a str,
    pub user: Option<UserId>,
    pub country_code: Option<&'a str>,
}

pub async fn insert_alert(tx: &mut Tx, tenant: TenantId, a: &NewAlert<'_>) -> sqlx::Result<AlertRow> {
    sqlx::query_as(
        "INSERT INTO security_alerts (tenant_id, kind, level, message, user_id, country_code) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, at, kind, level, message, user_id, country_code",
    )
    .bind(tenant)
    .bind(a.kind)
    .bind(a.level)
    .bind(a.message)
    .bind(a.user)
    .bind(a.country_code)
    .fetch_one(&mut **tx)
    .await
}

/// The newest alerts first.
pub async fn list_alerts(tx: &mut Tx, tenant: TenantId, limit: i64) -> sqlx::Result<Vec<AlertRow>> {
    sqlx::query_as(
        "SELECT id, at, kind, level, message, user_id, country_code FROM security_alerts WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(tenant)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}
