//! Sessions in Redis.
//!
//! The cookie holds a 128-bit random token; Redis holds only its SHA-256, so a Redis dump does not
//! hand out live sessions. Idle expiry is the key's TTL (refreshed on use); absolute expiry is
//! checked against the creation time. A per-user set lets us end every session of a user at once
//! (disable, password change).

use base64::Engine;
use callbase_core::{TenantId, UserId};
use rand::RngCore;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    /// The CSRF token bound to this session.
    pub csrf: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// 128 bits from the OS CSPRNG, base64url without padding (22 characters).
pub fn random_token() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The Redis key of a session: what sockets remember of the session they were opened with.
pub fn redis_key(token: &str) -> String {
    key(token)
}

fn key(token: &str) -> String {
    callbase_core::keys::session(&hex::encode(Sha256::digest(token.as_bytes())))
}

fn user_key(tenant: TenantId, user: UserId) -> String {
    callbase_core::keys::user_sessions(tenant, user)
}

#[derive(Clone)]
pub struct Sessions {
    redis: redis::aio::ConnectionManager,
    idle_secs: u64,
    absolute_secs: i64,
}

impl Sessions {
    pub fn new(redis: redis::aio::ConnectionManager, idle_secs: u64, absolute_secs: i64) -> Self {
        Self { redis, idle_secs, absolute_secs }
    }

    /// Creates a session and returns its token (for the cookie).
    pub async fn create(&self, tenant: TenantId, user: UserId, csrf: String) -> redis::RedisResult<String> {
        let token = random_token();
        let data = SessionData { tenant_id: tenant, user_id: user, csrf, created_at: now() };
        let json = serde_json::to_string(&data).expect("session data serialises");
        let mut r = self.redis.clone();
        let k = key(&token);
        let uk = user_key(tenant, user);
        redis::pipe()
            .set_ex(&k, json, self.idle_secs)
            .sadd(&uk, &k)
            .expire(&uk, self.absolute_secs)
            .query_async::<()>(&mut r)
            .await?;
        Ok(token)
    }

    /// The live session for `token`, refreshing its idle timer; `None` if unknown or expired.
    pub async fn get(&self, token: &str) -> redis::RedisResult<Option<SessionData>> {
        let mut r = self.redis.clone();
        let k = key(token);
        let raw: Option<String> = r.get(&k).await?;
        let Some(data) = raw.and_then(|s| serde_json::from_str::<SessionData>(&s).ok()) else {
            return Ok(None);
        };
        if now() - data.created_at > self.absolute_secs {
            let _: () = r.del(&k).await?;
            return Ok(None);
        }
        let _: () = r.expire(&k, self.idle_secs as i64).await?;
        Ok(Some(data))
    }

    pub async fn delete(&self, token: &str) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        r.del(key(token)).await
    }

    /// Ends every session of the user (disabled, password changed).
    pub async fn delete_all_for(&self, tenant: TenantId, user: UserId) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        let uk = user_key(tenant, user);
        let keys: Vec<String> = r.smembers(&uk).await?;
        let mut p = redis::pipe();
        for k in &keys {
            p.del(k);
        }
        p.del(&uk);
        p.query_async::<()>(&mut r).await
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_128_bit_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert_ne!(key(&a), key(&b));
        assert!(!key(&a).contains(&a), "redis keys must not contain the raw token");
    }
}
