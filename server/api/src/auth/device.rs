//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").
//!
//! A successful sign-in gives the browser a signed, HttpOnly cookie naming the user it signed in
//! as (tenant, user, a random nonce). When that browser signs in as the same user again it is a
//! *trusted* client: its failures count against its own nonce, not against the account, so an
//! attacker spreading guesses over many addresses can lock the account for new browsers but not
//! for the people who already use it. The signature (HMAC-SHA256, the `cookie` crate's signed
//! jar) keeps an attacker from minting a trusted cookie for someone else.
//!
//! The signing key is 64 random bytes kept in Redis (`cb:device-key`), created by whichever server
//! asks first, so every replica shares it and no setting is needed; if Redis loses it, existing
//! device cookies simply stop being trusted.

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use callbase_core::{TenantId, UserId};
use rand::RngCore;
use redis::AsyncCommands;

const KEY_KEY: &str = callbase_core::keys::DEVICE_KEY;
/// A device stays trusted this long after its last successful sign-in.
const MAX_AGE_DAYS: i64 = 90;

/// The cookie's name: `__Host-` prefixed in secure mode, like the session cookie.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-cb_device"
    } else {
        "cb_device"
    }
}

/// A verified device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub tenant: TenantId,
    pub user: UserId,
    pub nonce: String,
}

impl Device {
    fn encode(&self) -> String {
        format!("{}:{}:{}", self.tenant.0, self.user.0, self.nonce)
    }

    fn decode(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, ':');
        let tenant = TenantId(parts.next()?.parse().ok()?);
        let user = UserId(parts.next()?.parse().ok()?);
        let nonce = parts.next()?.to_string();
        (!nonce.is_empty()).then_some(Self { tenant, user, nonce })
    }

    /// Whether this cookie vouches for `tenant`/`user`.
    pub fn is_for(&self, tenant: TenantId, user: UserId) -> bool {
        self.tenant == tenant && self.user == user
    }
}

#[derive(Clone)]
pub struct Devices {
    redis: redis::aio::ConnectionManager,
    key: std::sync::Arc<tokio::sync::OnceCell<Key>>,
    secure: bool,
}

impl Devices {
    pub fn new(redis: redis::aio::ConnectionManager, secure: bool) -> Self {
        Self { redis, key: Default::default(), secure }
    }

    async fn key(&self) -> redis::RedisResult<Key> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let mut r = self.redis.clone();
                let mut fresh = [0u8; 64];
                rand::rngs::OsRng.fill_bytes(&mut fresh);
                // First server wins; everyone then reads the same key.
                let _: bool = r.set_nx(KEY_KEY, hex::encode(fresh)).await?;
                let stored: String = r.get(KEY_KEY).await?;
                let bytes = hex::decode(stored.trim())
                    .ok()
                    .filter(|b| b.len() >= 64)
                    .unwrap_or_else(|| fresh.to_vec());
                Ok::<_, redis::RedisError>(Key::from(&bytes))
            })
            .await?;
        Ok(key.clone())
    }

    /// The request's device cookie, if present and signed by us.
    pub async fn read(&self, headers: &HeaderMap) -> redis::RedisResult<Option<Device>> {
        let jar = SignedCookieJar::from_headers(headers, self.key().await?);
        Ok(jar.get(cookie_name(self.secure)).and_then(|c| Device::decode(c.value())))
    }

    /// A fresh device cookie for `tenant`/`user` (a new nonce on every successful sign-in), as a
    /// jar to return with the response.
    pub async fn issue(&self, tenant: TenantId, user: UserId) -> redis::RedisResult<SignedCookieJar> {
        let device = Device { tenant, user, nonce: super::session::random_token() };
        let mut c = Cookie::new(cookie_name(self.secure), device.encode());
        c.set_http_only(true);
        c.set_same_site(SameSite::Strict);
        c.set_path("/");
        c.set_secure(self.secure);
        c.set_max_age(time::Duration::days(MAX_AGE_DAYS));
        Ok(SignedCookieJar::new(self.key().await?).add(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_values_round_trip_and_bad_ones_are_refused() {
        let d = Device { tenant: TenantId(7), user: UserId(42), nonce: "abc".into() };
        assert_eq!(Device::decode(&d.encode()), Some(d.clone()));
        assert!(d.is_for(TenantId(7), UserId(42)));
        assert!(!d.is_for(TenantId(7), UserId(43)));
        for bad in ["", "7", "7:42", "7:42:", "x:42:abc", "7:y:abc"] {
            assert_eq!(Device::decode(bad), None, "{bad}");
        }
    }
}
