//! Security → Toll fraud: the tenant's fraud limits, the countries its calls may reach, and the
//! security alerts raised by the fraud guard (`server/telephony/src/fraud.rs`). Alerts also reach
//! administrators live as `security_alert` events on `/events`.

use axum::extract::{Path, State};
use axum::Json;
use callbase_core::Role;
use callbase_db::fraud::{self as repo, FraudSettings};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::{self, Actor};
use crate::AppState;

/// Fraud limits. Calls past a limit are refused (recorded as `refused` with the reason) and raise an
/// alert; past `warn_percent` of a rate limit administrators get a warning alert.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FraudLimits {
    /// Concurrent calls through the trunks for the whole organisation (1–10000, default 30).
    pub max_calls_tenant: i32,
    /// Concurrent calls through the trunks per telephony user (1–100, default 2).
    pub max_calls_user: i32,
    /// Outbound call attempts per user per minute (1–1000, default 10).
    pub calls_per_minute_user: i32,
    /// Answered outbound and forwarded minutes per UTC day for the organisation (default 3000).
    pub minutes_per_day_tenant: i32,
    /// Warning level, in percent of a rate limit (1–100, default 80).
    pub warn_percent: i32,
    /// Country codes (E.164, no '+') international calls may reach. Read-only here: change it with
    /// `POST /api/security/countries` and `DELETE /api/security/countries/{code}`.
    #[serde(default)]
    pub allowed_countries: Vec<String>,
}

impl From<FraudSettings> for FraudLimits {
    fn from(s: FraudSettings) -> Self {
        FraudLimits {
            max_calls_tenant: s.max_calls_tenant,
            max_calls_user: s.max_calls_user,
            calls_per_minute_user: s.calls_per_minute_user,
            minutes_per_day_tenant: s.minutes_per_day_tenant,
            warn_percent: s.warn_percent,
            allowed_countries: s.allowed_countries,
        }
    }
}

/// The tenant's fraud limits and allowed countries.
#[utoipa::path(get, path = "/api/security/settings", tag = "security", responses((status = 200, body = FraudLimits), (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
) -> ApiResult<Json<FraudLimits>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = repo::settings(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(s.into()))
}

/// Changes the fraud limits (administrators only: a sub-administrator cannot loosen them).
#[utoipa::path(put, path = "/api/security/settings", tag = "security", request_body = FraudLimits,
    responses((status = 200, body = FraudLimits), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<FraudLimits>,
) -> ApiResult<Json<FraudLimits>> {
    if a.role != Role::Administrator {
        return Err(ApiError::forbidden_code(
            "administrator_only",
            "only an administrator can change the fraud limits",
        ));
    }
    let checks: [(&str, i32, i32, i32); 5] = [
        ("max_calls_tenant", b.max_calls_tenant, 1, 10_000),
        ("max_calls_user", b.max_calls_user, 1, 100),
        ("calls_per_minute_user", b.calls_per_minute_user, 1, 1000),
        ("minutes_per_day_tenant", b.minutes_per_day_tenant, 1, 10_000_000),
        ("warn_percent", b.warn_percent, 1, 100),
    ];
    if let Some((name, _, lo, hi)) = checks.iter().find(|(_, v, lo, hi)| !(*lo..=*hi).contains(v)) {
        return Err(ApiError::unprocessable("invalid_fraud_limits", format!("{name} is {lo} to {hi}")));
    }
    let new = FraudSettings {
        max_calls_tenant: b.max_calls_tenant,
        max_calls_user: b.max_calls_user,
        calls_per_minute_user: b.calls_per_minute_user,
        minutes_per_day_tenant: b.minutes_per_day_tenant,
        warn_percent: b.warn_percent,
        allowed_countries: vec![],
    };
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let before = repo::settings(&mut tx, a.tenant_id).await?;
    let saved = repo::save_limits(&mut tx, a.tenant_id, &new).await?;
    tx.commit().await?;
    let limits = |s: &FraudSettings| {
        serde_json::json!({"max_calls_tenant": s.max_calls_tenant, "max_calls_user": s.max_calls_user,
        "calls_per_minute_user": s.calls_per_minute_user, "minutes_per_day_tenant": s.minutes_per_day_tenant, "warn_percent": s.warn_percent})
    };
    audit::record(&st, &who, "fraud.limits", "", Some(limits(&before)), Some(limits(&saved))).await?;
    tracing::info!(tenant.id = %a.tenant_id, by = %a.user_id, ?saved, "fraud limits changed");
    Ok(Json(saved.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CountryBody {
    /// E.164 country code, e.g. `44` or `+44`.
    pub country_code: String,
}

fn country(code: &str) -> ApiResult<String> {
    let c = code.trim().trim_start_matches('+');
    if (1..=3).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()) && !c.starts_with('0') {
        Ok(c.to_string())
    } else {
        Err(ApiError::unprocessable("invalid_country_code", "a country code is 1–3 digits, e.g. 44 or +44"))
    }
}

/// Allows international calls to a country (the answer to a `country_not_allowed` alert). The
/// dial rules still apply: international calls must be allowed there, and each caller needs the
/// international permission.
#[utoipa::path(post, path = "/api/security/countries", tag = "security", request_body = CountryBody,
    responses((status = 200, body = FraudLimits), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn allow_country(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<CountryBody>,
) -> ApiResult<Json<FraudLimits>> {
    let code = country(&b.country_code)?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = repo::set_country(&mut tx, a.tenant_id, &code, true).await?;
    tx.commit().await?;
    audit::record(&st, &who, "fraud.country_allow", &code, None, None).await?;
    tracing::info!(tenant.id = %a.tenant_id, by = %a.user_id, country = %code, "country allowed for calls");
    Ok(Json(s.into()))
}

/// Stops calls to a country.
#[utoipa::path(delete, path = "/api/security/countries/{code}", tag = "security", params(("code" = String, Path)),
    responses((status = 200, body = FraudLimits), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn disallow_country(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(code): Path<String>,
) -> ApiResult<Json<FraudLimits>> {
    let code = country(&code)?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = repo::set_country(&mut tx, a.tenant_id, &code, false).await?;
    tx.commit().await?;
    audit::record(&st, &who, "fraud.country_disallow", &code, None, None).await?;
    Ok(Json(s.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityAlert {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `country_not_allowed`, `international_not_permitted`, `concurrent_calls`, `calls_per_minute`
    /// or `minutes_per_day`.
    pub kind: String,
    /// `warning` (past the warning level) or `blocked` (a call was refused).
    pub level: String,
    pub message: String,
    pub user_id: Option<i64>,
    /// For `country_not_allowed`: the country an administrator can allow.
    pub country_code: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Newest first, at most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// The tenant's security alerts, newest first.
#[utoipa::path(get, path = "/api/security/alerts", tag = "security", params(AlertsQuery),
    responses((status = 200, body = Vec<SecurityAlert>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn alerts(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    crate::json::ApiQuery(q): crate::json::ApiQuery<AlertsQuery>,
) -> ApiResult<Json<Vec<SecurityAlert>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::unprocessable("invalid_limit", "limit is 1 to 500"));
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = repo::list_alerts(&mut tx, a.tenant_id, limit).await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SecurityAlert {
                id: r.id,
                at: r.at,
                kind: r.kind,
                level: r.level,
                message: r.message,
                user_id: r.user_id.map(|u| u.0),
                country_code: r.country_code,
            })
            .collect(),
    ))
}
