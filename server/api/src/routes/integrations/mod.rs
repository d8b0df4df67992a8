//! Settings → Integrations (issue #21): API keys, webhooks ([`webhooks`]) and the screen-pop URL
//! ([`screen_pop`]), for administrators signed in. The public API the keys open is
//! `routes/v1`.

pub mod screen_pop;
pub mod webhooks;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_db::api_keys::{self as repo, ApiKeyRow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::api_key::{new_token, SCOPES};
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::{record, Actor};
use crate::AppState;

/// An API key as the list shows it; its secret is shown once, when it is created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// `cbk_<tenant>_` and the secret's first characters, to recognise the key.
    pub prefix: String,
    /// `calls:read`, `calls:place`, `crm:write`, `users:read`, `admin`.
    pub scopes: Vec<String>,
    /// RFC 3339; none: never expires.
    pub expires_at: Option<String>,
    /// CIDR networks the key may be used from; empty: anywhere.
    pub allowed_networks: Vec<String>,
    pub rate_per_minute: i32,
    /// The name of the administrator who created it (the key acts as them).
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<String>,
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn out(k: ApiKeyRow) -> ApiKey {
    ApiKey {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes,
        expires_at: k.expires_at.map(rfc),
        allowed_networks: k.allowed_networks,
        rate_per_minute: k.rate_per_minute,
        created_by: k.created_by_name,
        created_at: rfc(k.created_at),
        last_used_at: k.last_used_at.map(rfc),
        last_used_ip: k.last_used_ip,
        revoked_at: k.revoked_at.map(rfc),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ERP", "scopes": ["calls:read", "calls:place"], "expires_at": "2027-12-31T23:59:59Z",
    "allowed_networks": ["203.0.113.0/24"], "rate_per_minute": 600}))]
pub struct NewApiKey {
    /// 1–80 characters.
    pub name: String,
    pub scopes: Vec<String>,
    /// RFC 3339, in the future; none: never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// CIDR (`203.0.113.0/24`) or single addresses; empty: anywhere.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// Requests per minute (1–100000, default 600); past it, 429 with `Retry-After`.
    #[serde(default)]
    pub rate_per_minute: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    /// The whole key, `Authorization: Bearer <secret>`: shown this once, stored only hashed.
    pub secret: String,
}

/// The tenant's API keys, newest first, revoked ones included (administrators).
#[utoipa::path(get, path = "/api/integrations/keys", tag = "integrations",
    responses((status = 200, body = [ApiKey]), (status = 403, body = ErrorBody)))]
pub async fn list_keys(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<Json<Vec<ApiKey>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let all = repo::list(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(all.into_iter().map(out).collect()))
}

/// Checks a network as CIDR or a single address; returns it as PostgreSQL's `cidr` takes it.
fn network(n: &str) -> Option<String> {
    let n = n.trim();
    if let Ok(net) = n.parse::<ipnet::IpNet>() {
        return Some(net.trunc().to_string());
    }
    n.parse::<std::net::IpAddr>().ok().map(|ip| ipnet::IpNet::from(ip).to_string())
}

/// Creates a key; its secret is in the answer and nowhere else. 422 `invalid_name`,
/// `unknown_scope`, `invalid_network`, `invalid_expiry`, `invalid_rate`; 403 `admins_only` when a
/// sub-administrator asks for `admin`.
#[utoipa::path(post, path = "/api/integrations/keys", tag = "integrations", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_key(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<NewApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::unprocessable("invalid_name", "name the key (at most 80 characters)"));
    }
    callbase_core::inputs::check_text("name", name)?;
    if b.scopes.is_empty() {
        return Err(ApiError::unprocessable("unknown_scope", "give the key at least one scope"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in &b.scopes {
        if !SCOPES.iter().any(|(k, _)| k == s) {
            let known: Vec<&str> = SCOPES.iter().map(|(k, _)| *k).collect();
            return Err(ApiError::unprocessable(
                "unknown_scope",
                format!("unknown scope {s:?}; the scopes are {}", known.join(", ")),
            ));
        }
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    if scopes.iter().any(|s| s == "admin") {
        crate::extract::administrators_only(&a, "may create keys with the scope admin")?;
    }
    let mut networks = Vec::new();
    for n in b.allowed_networks.iter().filter(|n| !n.trim().is_empty()) {
        let Some(net) = network(n) else {
            return Err(ApiError::unprocessable(
                "invalid_network",
                format!("{n:?} is not a network (write 203.0.113.0/24 or one address)"),
            ));
        };
        networks.push(net);
    }
    let expires_at = match b.expires_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
                ApiError::unprocessable("invalid_expiry", "the expiry is not a date and time (RFC 3339)")
            })?;
            if t <= OffsetDateTime::now_utc() {
                return Err(ApiError::unprocessable("invalid_expiry", "the expiry is in the past"));
            }
            Some(t)
        }
    };
    let rate = b.rate_per_minute.unwrap_or(600);
    if !(1..=100_000).contains(&rate) {
        return Err(ApiError::unprocessable("invalid_rate", "requests per minute: 1 to 100000"));
    }
    let token = new_token(a.tenant_id);
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let row = repo::create(
        &mut tx,
        a.tenant_id,
        &repo::NewKey {
            name,
            prefix: &token.prefix,
            secret_sha256: &token.sha256,
            scopes: &scopes,
            expires_at,
            allowed_networks: &networks,
            rate_per_minute: rate,
            created_by: a.user_id,
        },
    )
    .await?;
    tx.commit().await?;
    let after = json!({"id": row.id, "name": row.name, "prefix": row.prefix, "scopes": row.scopes,
        "allowed_networks": row.allowed_networks});
    record(&st, &who, "api_key.create", &row.prefix, None, Some(after)).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key: out(row), secret: token.token })))
}

/// Revokes a key: its next request is refused (401 `api_key_revoked`).
#[utoipa::path(delete, path = "/api/integrations/keys/{id}", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let key = repo::get(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    if !repo::revoke(&mut tx, a.tenant_id, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    record(&st, &who, "api_key.revoke", &key.prefix, Some(json!({"id": id, "name": key.name})), None).await?;
    Ok(StatusCode::NO_CONTENT)
}
