//! Rate limits on expensive or abusable routes (`CALLBASE__LIMITS__*`): trunk changes per tenant
//! (each reloads Asterisk's PJSIP modules for every tenant) and sign-ups per client IP. Fixed windows
//! counted in Redis, so every replica shares them; past the limit the answer is 429 `rate_limited`
//! with `Retry-After` (the seconds until the window ends).

use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Deserialize)]
pub struct LimitsConfig {
    /// Trunk creations, changes, reorders and deletions per tenant per minute.
    #[serde(default = "default_trunk_changes")]
    pub trunk_changes_per_minute: u32,
    /// Sign-ups (new tenants) per client IP per hour.
    #[serde(default = "default_signups")]
    pub signups_per_ip_per_hour: u32,
}

fn default_trunk_changes() -> u32 {
    10
}
fn default_signups() -> u32 {
    5
}

impl Default for LimitsConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("all limit settings have defaults")
    }
}

/// Counts one hit on `key` in a window of `window_secs`; past `limit` hits, 429 with the seconds
/// until the window ends.
pub async fn hit(
    redis: &redis::aio::ConnectionManager,
    key: &str,
    limit: u32,
    window_secs: u64,
    what: &'static str,
) -> ApiResult<()> {
    let mut r = redis.clone();
    // INCR, and start the window's expiry on the first hit only (NX), in one round trip.
    let (n, ttl): (u64, i64) = redis::pipe()
        .incr(key, 1)
        .cmd("EXPIRE")
        .arg(key)
        .arg(window_secs)
        .arg("NX")
        .ignore()
        .ttl(key)
        .query_async(&mut r)
        .await?;
    if n > limit as u64 {
        let retry_after = if ttl > 0 { ttl as u64 } else { window_secs };
        return Err(ApiError::RateLimited {
            retry_after,
            message: format!("too many {what}; try again in {retry_after} s"),
        });
    }
    Ok(())
}

/// One round trip to Redis (readiness).
#[tracing::instrument(skip_all)]
pub async fn ping(redis: &redis::aio::ConnectionManager) -> redis::RedisResult<()> {
    let mut c = redis.clone();
    redis::cmd("PING").query_async::<String>(&mut c).await.map(|_| ())
}
