//! Login throttling in Redis, per account+login and per client IP.
//!
//! After `threshold` failures within the window, each further attempt must wait
//! 2^(failures - threshold) seconds (capped at 15 minutes) after the last failure. A success clears
//! the account counter (not the IP's: one good password must not unlock guessing on others).

use redis::AsyncCommands;

const WINDOW_SECS: i64 = 3600;
const MAX_DELAY_SECS: i64 = 900;

#[derive(Clone)]
pub struct Throttle {
    redis: redis::aio::ConnectionManager,
    pub account_threshold: i64,
    pub ip_threshold: i64,
}

/// The wait still required, given the failure count and the last failure time.
pub fn remaining_delay(failures: i64, threshold: i64, last_failure: i64, now: i64) -> i64 {
    if failures < threshold {
        return 0;
    }
    let exp = (failures - threshold).min(20) as u32;
    let delay = 2i64.pow(exp).min(MAX_DELAY_SECS);
    (last_failure + delay - now).max(0)
}

fn account_key(account: &str, login: &str) -> String {
    format!("cb:lf:acct:{account}:{login}")
}
fn ip_key(ip: &str) -> String {
    format!("cb:lf:ip:{ip}")
}

impl Throttle {
    pub fn new(redis: redis::aio::ConnectionManager, account_threshold: i64, ip_threshold: i64) -> Self {
        Self { redis, account_threshold, ip_threshold }
    }

    async fn wait_for(&self, key: &str, threshold: i64) -> redis::RedisResult<i64> {
        let mut r = self.redis.clone();
        let (count, last): (Option<i64>, Option<i64>) = r.hget(key, &["n", "t"]).await?;
        Ok(remaining_delay(count.unwrap_or(0), threshold, last.unwrap_or(0), now()))
    }

    /// Seconds the caller must still wait before another attempt (0 = go ahead).
    pub async fn check(&self, account: &str, login: &str, ip: &str) -> redis::RedisResult<i64> {
        let a = self.wait_for(&account_key(account, login), self.account_threshold).await?;
        let i = self.wait_for(&ip_key(ip), self.ip_threshold).await?;
        Ok(a.max(i))
    }

    pub async fn failed(&self, account: &str, login: &str, ip: &str) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        let t = now();
        let mut p = redis::pipe();
        for k in [account_key(account, login), ip_key(ip)] {
            p.hincr(&k, "n", 1).hset(&k, "t", t).expire(&k, WINDOW_SECS);
        }
        p.query_async::<()>(&mut r).await
    }

    pub async fn succeeded(&self, account: &str, login: &str) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        r.del(account_key(account, login)).await
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::remaining_delay;

    #[test]
    fn delay_starts_at_the_threshold_and_grows() {
        assert_eq!(remaining_delay(4, 5, 100, 100), 0);
        assert_eq!(remaining_delay(5, 5, 100, 100), 1);
        assert_eq!(remaining_delay(6, 5, 100, 100), 2);
        assert_eq!(remaining_delay(9, 5, 100, 100), 16);
        assert_eq!(remaining_delay(9, 5, 100, 110), 6);
        assert_eq!(remaining_delay(9, 5, 100, 200), 0);
        assert_eq!(remaining_delay(60, 5, 100, 100), 900, "capped at 15 minutes");
    }
}
