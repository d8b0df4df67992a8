//! Login throttling in Redis: a new browser per client IP and per account+login; a browser holding
//! that user's device cookie ([`super::device`]) per device only — so the failures of an office's
//! other browsers behind the same address (a call centre behind one NAT) do not lock out the
//! agents who signed in from their own browsers before.
//!
//! Every attempt is *reserved* before the password is verified: one Lua script checks all the
//! attempt's counters and, only if none asks for a wait, counts the attempt in each of them — so
//! parallel requests cannot all pass a check made before any of them failed (24 parallel wrong
//! passwords used to get 24 verifications). After `threshold` attempts within the window, each
//! further attempt must wait 2^(attempts − threshold) seconds (capped at 15 minutes) after the
//! last one. A success clears its login or device counter and gives its IP reservation back (the
//! IP's failures stay counted: one good password must not unlock guessing on other logins).

use std::sync::LazyLock;

const WINDOW_SECS: i64 = 3600;
const MAX_DELAY_SECS: i64 = 900;

/// KEYS: counters (hashes n = attempts, t = last attempt in ms); ARGV: window (s), max delay (s),
/// then one threshold per key. Time is Redis's own clock (`TIME`, one clock for every replica), in
/// milliseconds so that "1 s after the last attempt" does not shrink to nothing across a second
/// boundary. Returns the seconds to wait, rounded up (0: the attempt was counted in every key).
const RESERVE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[1])
local max_delay = tonumber(ARGV[2]) * 1000
local wait = 0
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'n', 't')
  local n = tonumber(v[1]) or 0
  local t = tonumber(v[2]) or 0
  local threshold = tonumber(ARGV[2 + i])
  if n >= threshold then
    local delay = math.min(1000 * 2 ^ math.min(n - threshold, 20), max_delay)
    local w = t + delay - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return math.ceil(wait / 1000) end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 't', now)
  redis.call('EXPIRE', key, window)
end
return 0
";

static RESERVE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RESERVE));
static SUCCEEDED_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SUCCEEDED));

/// KEYS[1]: the login or device counter (deleted), KEYS[2] if given: the IP counter (one attempt
/// refunded).
const SUCCEEDED: &str = r"
redis.call('DEL', KEYS[1])
if KEYS[2] and redis.call('HEXISTS', KEYS[2], 'n') == 1 then redis.call('HINCRBY', KEYS[2], 'n', -1) end
return 0
";

#[derive(Clone)]
pub struct Throttle {
    redis: redis::aio::ConnectionManager,
    pub account_threshold: i64,
    pub ip_threshold: i64,
}

/// Whose counter a login attempt is charged to (besides its IP).
pub enum Client<'a> {
    /// A browser without a device cookie for this user: the account+login as typed.
    New { account: &'a str, login: &'a str },
    /// A browser with this user's device cookie: its own counter.
    Trusted(&'a super::device::Device),
}

/// An attempt that was counted; hand it back on success.
pub struct Reservation {
    login_key: String,
    /// The client IP's counter, for a new browser only.
    ip_key: Option<String>,
}

fn account_key(account: &str, login: &str) -> String {
    callbase_core::keys::login_failures_account(account, login)
}
fn device_key(d: &super::device::Device) -> String {
    callbase_core::keys::login_failures_device(d.tenant, d.user, &d.nonce)
}
fn ip_key(ip: &str) -> String {
    callbase_core::keys::login_failures_ip(ip)
}

impl Throttle {
    pub fn new(redis: redis::aio::ConnectionManager, account_threshold: i64, ip_threshold: i64) -> Self {
        Self { redis, account_threshold, ip_threshold }
    }

    /// Counts an attempt before the password is checked: `Ok(reservation)` to go ahead, or
    /// `Err(seconds)` to wait (nothing counted).
    pub async fn reserve(
        &self,
        client: &Client<'_>,
        ip: &str,
    ) -> redis::RedisResult<Result<Reservation, i64>> {
        // A browser holding the user's device cookie is not charged to its address: its own
        // counter bounds a stolen cookie's guesses, and the address may be a whole office's.
        let (login_key, ip_key) = match client {
            Client::New { account, login } => (account_key(account, login), Some(ip_key(ip))),
            Client::Trusted(d) => (device_key(d), None),
        };
        let mut r = self.redis.clone();
        let mut script = RESERVE_SCRIPT.key(&login_key);
        script.arg(WINDOW_SECS).arg(MAX_DELAY_SECS).arg(self.account_threshold);
        if let Some(k) = &ip_key {
            script.key(k).arg(self.ip_threshold);
        }
        let wait: i64 = script.invoke_async(&mut r).await?;
        Ok(if wait > 0 { Err(wait) } else { Ok(Reservation { login_key, ip_key }) })
    }

    /// The reserved attempt signed in: clears its login/device counter, refunds its IP attempt.
    pub async fn succeeded(&self, res: Reservation) -> redis::RedisResult<()> {
        let mut r = self.redis.clone();
        let mut script = SUCCEEDED_SCRIPT.key(res.login_key);
        if let Some(k) = res.ip_key {
            script.key(k);
        }
        script.invoke_async::<()>(&mut r).await
    }
}
