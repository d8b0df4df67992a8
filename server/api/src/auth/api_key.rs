//! API keys (issue #21): `Authorization: Bearer cbk_<tenant>_<secret>` on the public `/api/v1`
//! routes, with no cookie and no CSRF token (a browser never attaches this header by itself, so a
//! foreign page cannot make one).
//!
//! A key acts as the administrator who created it, narrowed to its scopes: every request re-reads
//! the key (a revoked key fails on the next request), checks its expiry, the caller's network and
//! the key's rate (per minute, in Redis, shared by the replicas), and re-reads its creator (a key
//! of a disabled or removed user stops). `admin` — what only administrators may do — needs a
//! creator who is an administrator still.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use base64::Engine;
use callbase_core::{Role, TenantId, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{ClientIp, CurrentUser};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Every scope a key may have, with what it allows.
pub const SCOPES: &[(&str, &str)] = &[
    ("calls:read", "read calls and download recordings"),
    ("calls:place", "place calls (click-to-call) for any telephony user"),
    ("crm:write", "read and write CRM records"),
    ("users:read", "list users"),
    ("admin", "manage webhooks, users and telephony (only an Administrator may grant it)"),
];

/// A new key's token (shown once) and what is stored of it.
pub struct NewToken {
    pub token: String,
    pub prefix: String,
    pub sha256: Vec<u8>,
}

/// 256 bits from the OS CSPRNG, base64url (43 characters), behind `cbk_<tenant>_`.
pub fn new_token(tenant: TenantId) -> NewToken {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let token = format!("cbk_{}_{secret}", tenant.0);
    let prefix = format!("cbk_{}_{}", tenant.0, &secret[..8]);
    NewToken { sha256: Sha256::digest(token.as_bytes()).to_vec(), token, prefix }
}

/// The tenant a token names, if it has the form of one.
fn parse(token: &str) -> Option<TenantId> {
    let rest = token.strip_prefix("cbk_")?;
    let (tenant, secret) = rest.split_once('_')?;
    (secret.len() == 43).then_some(())?;
    tenant.parse::<i64>().ok().filter(|t| *t > 0).map(TenantId)
}

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::BadRequest { status: StatusCode::UNAUTHORIZED, code, message: message.to_string() }
}

/// The caller of a `/api/v1` route: the key, its scopes, and the user it acts as.
#[derive(Clone, Debug)]
pub struct ApiCaller {
    pub key_id: i64,
    pub scopes: Vec<String>,
    pub user: CurrentUser,
}

impl ApiCaller {
    pub fn tenant(&self) -> TenantId {
        self.user.tenant_id
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<ApiCaller>() {
            return Ok(c.clone());
        }
        let auth =
            parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let Some(token) = auth.strip_prefix("Bearer ").map(str::trim) else {
            return Err(unauthorized(
                "api_key_required",
                "send an API key: Authorization: Bearer cbk_… (Settings → Integrations)",
            ));
        };
        let Some(tenant) = parse(token) else {
            return Err(unauthorized("invalid_api_key", "this API key is not valid"));
        };
        let ClientIp(ip) = ClientIp::from_request_parts(parts, st).await?;
        let sha = Sha256::digest(token.as_bytes());
        let mut tx = st.db.tenant_tx(tenant).await?;
        let key = callbase_db::api_keys::use_key(&mut tx, tenant, &sha, &ip.to_string()).await?;
        let Some(key) = key else {
            return Err(unauthorized("invalid_api_key", "this API key is not valid"));
        };
        if key.revoked {
            return Err(unauthorized("api_key_revoked", "this API key was revoked"));
        }
        if key.expired {
            return Err(unauthorized("api_key_expired", "this API key has expired"));
        }
        if !key.network_ok {
            return Err(ApiError::forbidden_code(
                "network_not_allowed",
                format!("this API key may not be used from {ip}; see its allowed networks"),
            ));
        }
        let owner = match key.created_by {
            Some(u) => callbase_db::accounts::user_by_id(&mut tx, tenant, UserId(u)).await?,
            None => None,
        };
        let Some(owner) = owner.filter(|u| !u.disabled) else {
            return Err(unauthorized(
                "api_key_owner_disabled",
                "the administrator who created this API key was disabled or removed; create a new key",
            ));
        };
        let groups = callbase_db::accounts::user_groups(&mut tx, tenant, owner.id).await?;
        tx.commit().await?;
        crate::limits::hit(
            &st.redis,
            &callbase_core::keys::api_key_rate(key.id),
            key.rate_per_minute.max(1) as u32,
            60,
            "requests with this API key",
        )
        .await?;
        let role = groups.iter().map(|g| g.2).max().unwrap_or(Role::User);
        let user = CurrentUser {
            tenant_id: tenant,
            user_id: owner.id,
            role,
            groups,
            user: owner,
            csrf: String::new(),
            session_token: String::new(),
        };
        let caller = ApiCaller { key_id: key.id, scopes: key.scopes, user };
        // The routes' other extractors (`CurrentUser`, the audit's `Actor`) see the key's user.
        parts.extensions.insert(caller.user.clone());
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// A scope a route needs.
pub trait Scope {
    const NAME: &'static str;
}

macro_rules! scope {
    ($ty:ident, $name:literal) => {
        pub struct $ty;
        impl Scope for $ty {
            const NAME: &'static str = $name;
        }
    };
}
scope!(CallsRead, "calls:read");
scope!(CallsPlace, "calls:place");
scope!(CrmWrite, "crm:write");
scope!(UsersRead, "users:read");
scope!(Admin, "admin");

/// An [`ApiCaller`] whose key has scope `S`: 403 `missing_scope` naming it otherwise.
pub struct Key<S: Scope>(pub ApiCaller, pub PhantomData<S>);

impl<S: Scope> FromRequestParts<AppState> for Key<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let c = ApiCaller::from_request_parts(parts, st).await?;
        require(&c, S::NAME)?;
        Ok(Key(c, PhantomData))
    }
}

/// 403 `missing_scope` unless the key has `scope` (and, for `admin`, an administrator behind it).
pub fn require(c: &ApiCaller, scope: &str) -> ApiResult<()> {
    if !c.scopes.iter().any(|s| s == scope) {
        return Err(ApiError::forbidden_code(
            "missing_scope",
            format!("this API key lacks the scope {scope}; create a key with it"),
        ));
    }
    if scope == "admin" && c.user.role != Role::Administrator {
        return Err(ApiError::forbidden_code(
            "missing_scope",
            "the scope admin needs a key created by an administrator who still is one",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_tenant_and_carry_256_bits() {
        let t = new_token(TenantId(42));
        assert!(t.token.starts_with("cbk_42_"));
        assert_eq!(t.token.len(), "cbk_42_".len() + 43);
        assert_eq!(parse(&t.token), Some(TenantId(42)));
        assert!(t.token.starts_with(&t.prefix) && t.prefix.len() == "cbk_42_".len() + 8);
        assert_ne!(new_token(TenantId(42)).token, t.token);
        assert_eq!(parse("cbk_x_abc"), None);
        assert_eq!(parse("cbk_42_short"), None);
        assert_eq!(parse("Bearer cbk_42_"), None);
        assert_eq!(parse(&format!("cbk_-1_{}", "a".repeat(43))), None);
    }
}
