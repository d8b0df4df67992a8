//! The toll-fraud guard: what a call through a trunk must pass after the dial rules (which refuse
//! premium ranges and directions the tenant does not allow, [`callbase_core::dial`]).
//!
//! In order: the user's permission to call abroad, the tenant's allowed countries (the first call to
//! a new country is refused and raises an alert an administrator answers by allowing the country),
//! calls per minute per user, answered minutes per UTC day per tenant, then concurrent calls per
//! tenant and per user. Past the warning level of a rate limit, and at every refusal, administrators
//! get a security alert (a row in `security_alerts` and a `security_alert` event on the tenant's
//! channel, which `/events` gives only to administrators); repeated alerts of one kind are
//! suppressed for a while.
//!
//! Concurrent calls are counted in Redis, so every replica's Stasis worker sees the same numbers:
//! a sorted set of live call ids per tenant and per user, scored by expiry. A live call refreshes
//! its expiry while it lasts and removes itself when it ends; a call whose worker died expires
//! within [`LIVE_TTL`], so a counter cannot leak.

use std::time::Duration;

use callbase_core::dial::{self, Direction};
use callbase_core::events::{Alert, Event};
use callbase_core::{TenantId, UserId};
use callbase_db::fraud::{self as repo, AlertRow, FraudSettings, NewAlert};
use callbase_db::telephony::TelUserRow;
use callbase_db::Db;
use redis::aio::ConnectionManager;

/// How long a live call counts without a refresh (it refreshes every third of it).
pub const LIVE_TTL: Duration = Duration::from_secs(60);

/// Why the guard refused a call; `Display` is the reason recorded on the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this user may not call abroad; an administrator can allow international calls for them")]
    InternationalNotPermitted,
    #[error(
        "calls to country code +{code} are not allowed yet; an administrator has been asked to allow them"
    )]
    CountryNotAllowed { code: String },
    #[error("more than {limit} calls a minute from this user")]
    CallsPerMinute { limit: i32 },
    #[error("the organisation's {limit} call minutes for today are used up")]
    MinutesPerDay { limit: i32 },
    #[error("the organisation already has {limit} calls in progress")]
    TenantConcurrent { limit: i32 },
    #[error("this user already has {limit} calls in progress")]
    UserConcurrent { limit: i32 },
    /// The limits or the live-call counters could not be read: the guard fails closed.
    #[error("the call limits could not be checked; try again")]
    Unavailable,
}

impl Refused {
    /// The stable code, also the alert kind.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::InternationalNotPermitted => "international_not_permitted",
            Refused::CountryNotAllowed { .. } => "country_not_allowed",
            Refused::CallsPerMinute { .. } => "calls_per_minute",
            Refused::MinutesPerDay { .. } => "minutes_per_day",
            Refused::TenantConcurrent { .. } | Refused::UserConcurrent { .. } => "concurrent_calls",
            Refused::Unavailable => "fraud_guard_unavailable",
        }
    }
}

/// A call about to go out through a trunk.
pub struct Attempt<'a> {
    pub tenant: TenantId,
    /// The telephony user placing it; `None` for the platform's own calls (forwarding).
    pub user: Option<&'a TelUserRow>,
    pub direction: Direction,
    pub e164: Option<&'a str>,
    pub call_id: &'a str,
}

/// Where the guard keeps its state.
#[derive(Clone)]
pub struct Guard {
    pub db: Db,
    pub redis: ConnectionManager,
    /// The Stasis lease the calls' controller holds (`crate::lease`): a live call whose actor stops
    /// because the lease was lost or handed over stays in the sets — the lease's new holder adopts
    /// the call and resumes its place ([`Guard::resume`]); only a call that ended leaves them.
    pub fence: Option<crate::lease::Held>,
}

/// The share of `limit` past which administrators are warned (at least 1).
fn warn_level(limit: i32, percent: i32) -> i64 {
    ((limit as i64 * percent as i64 + 99) / 100).max(1)
}

fn who(user: Option<&TelUserRow>) -> String {
    user.map_or_else(
        || "the forwarding of an unanswered call".to_string(),
        |u| format!("{} (extension {})", u.name, u.extension),
    )
}

impl Guard {
    /// Checks everything but concurrency, then takes a live-call slot. Every refusal raises an alert.
    pub async fn admit(&self, a: &Attempt<'_>) -> Result<LiveCall, Refused> {
        let s = match self.settings(a.tenant).await {
            Ok(s) => s,
            Err(e) => {
                // Fail closed: without the limits no call goes out.
                tracing::error!(error = %e, tenant.id = %a.tenant, "cannot read the fraud limits");
                return Err(Refused::Unavailable);
            }
        };
        self.check(a, &s).await?;
        self.take_slot(a, &s).await
    }

    /// The checks of a number alone (permission and country), for transfers of a call already
    /// counted.
    pub async fn check_destination(&self, a: &Attempt<'_>) -> Result<(), Refused> {
        let s = self.settings(a.tenant).await.map_err(|_| Refused::Unavailable)?;
        self.destination(a, &s).await
    }

    async fn settings(&self, tenant: TenantId) -> sqlx::Result<FraudSettings> {
        let mut tx = self.db.tenant_tx(tenant).await?;
        let s = repo::settings(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(s)
    }

    async fn destination(&self, a: &Attempt<'_>, s: &FraudSettings) -> Result<(), Refused> {
        if a.direction != Direction::International {
            return Ok(());
        }
        let code = a.e164.map(dial::country_code).unwrap_or_default().to_string();
        if let Some(u) = a.user.filter(|u| !u.international) {
            let msg = format!(
                "{} tried to call abroad (+{code}) without permission to make international calls",
                who(Some(u))
            );
            self.alert(
                a.tenant,
                "international_not_permitted",
                "blocked",
                &msg,
                Some(u.user_id),
                Some(&code),
                &format!("u{}", u.user_id),
                600,
            )
            .await;
            return Err(Refused::InternationalNotPermitted);
        }
        if !s.allowed_countries.contains(&code) {
            let msg = format!("{} called country code +{code} for the first time: allow the country for calls to it to go out", who(a.user));
            self.alert(
                a.tenant,
                "country_not_allowed",
                "blocked",
                &msg,
                a.user.map(|u| u.user_id),
                Some(&code),
                &code,
                3600,
            )
            .await;
            return Err(Refused::CountryNotAllowed { code });
        }
        Ok(())
    }

    async fn check(&self, a: &Attempt<'_>, s: &FraudSettings) -> Result<(), Refused> {
        self.destination(a, s).await?;
        let mut r = self.redis.clone();
        if let Some(u) = a.user {
            let minute = time::OffsetDateTime::now_utc().unix_timestamp() / 60;
            let key = callbase_core::keys::fraud_calls_per_minute(a.tenant, u.user_id, minute);
            let n: i64 = redis::pipe()
                .incr(&key, 1)
                .expire(&key, 120)
                .ignore()
                .query_async::<(i64,)>(&mut r)
                .await
                .map(|(n,)| n)
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot count calls per minute");
                    0
                });
            let limit = s.calls_per_minute_user;
            if n > limit as i64 {
                let msg = format!(
                    "{} placed more than {limit} calls in a minute: further calls are refused",
                    who(Some(u))
                );
                self.alert(
                    a.tenant,
                    "calls_per_minute",
                    "blocked",
                    &msg,
                    Some(u.user_id),
                    None,
                    &format!("u{}", u.user_id),
                    600,
                )
                .await;
                return Err(Refused::CallsPerMinute { limit });
            }
            if n >= warn_level(limit, s.warn_percent) {
                let msg = format!("{} placed {n} calls this minute (limit {limit})", who(Some(u)));
                self.alert(
                    a.tenant,
                    "calls_per_minute",
                    "warning",
                    &msg,
                    Some(u.user_id),
                    None,
                    &format!("u{}", u.user_id),
                    600,
                )
                .await;
            }
        }
        let minutes = async {
            let mut tx = self.db.tenant_tx(a.tenant).await?;
            let m = repo::minutes_today(&mut tx, a.tenant).await?;
            tx.commit().await?;
            Ok::<f64, sqlx::Error>(m)
        }
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot count today's minutes");
            0.0
        });
        let limit = s.minutes_per_day_tenant;
        let day = time::OffsetDateTime::now_utc().date().to_string();
        if minutes >= limit as f64 {
            let msg = format!("today's {limit} call minutes are used up: calls through the trunks are refused until midnight UTC");
            self.alert(
                a.tenant,
                "minutes_per_day",
                "blocked",
                &msg,
                a.user.map(|u| u.user_id),
                None,
                &day,
                3600,
            )
            .await;
            return Err(Refused::MinutesPerDay { limit });
        }
        if minutes >= warn_level(limit, s.warn_percent) as f64 {
            let msg = format!("{} of today's {limit} call minutes are used", minutes.floor() as i64);
            self.alert(a.tenant, "minutes_per_day", "warning", &msg, None, None, &day, 86_400).await;
        }
        Ok(())
    }

    async fn take_slot(&self, a: &Attempt<'_>, s: &FraudSettings) -> Result<LiveCall, Refused> {
        let mut keys = vec![callbase_core::keys::fraud_live_tenant(a.tenant)];
        let mut caps = vec![s.max_calls_tenant];
        if let Some(u) = a.user {
            keys.push(callbase_core::keys::fraud_live_user(a.tenant, u.user_id));
            caps.push(s.max_calls_user);
        }
        let script = redis::Script::new(ADMIT);
        let mut inv = script.prepare_invoke();
        for k in &keys {
            inv.key(k);
        }
        inv.arg(a.call_id).arg(LIVE_TTL.as_millis() as i64);
        for c in &caps {
            inv.arg(*c);
        }
        let mut r = self.redis.clone();
        let full: i64 = match inv.invoke_async(&mut r).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot count live calls");
                return Err(Refused::Unavailable);
            }
        };
        match full {
            0 => Ok(LiveCall::start(self.redis.clone(), keys, a.call_id.to_string(), self.fence.clone())),
            1 => {
                let limit = s.max_calls_tenant;
                let msg =
                    format!("{limit} calls were already in progress: a call by {} was refused", who(a.user));
                self.alert(
                    a.tenant,
                    "concurrent_calls",
                    "blocked",
                    &msg,
                    a.user.map(|u| u.user_id),
                    None,
                    "tenant",
                    600,
                )
                .await;
                Err(Refused::TenantConcurrent { limit })
            }
            _ => {
                let limit = s.max_calls_user;
                let msg =
                    format!("{} already had {limit} calls in progress: another was refused", who(a.user));
                let u = a.user.map(|u| u.user_id);
                self.alert(
                    a.tenant,
                    "concurrent_calls",
                    "blocked",
                    &msg,
                    u,
                    None,
                    &format!("u{}", u.map_or(0, |u| u.0)),
                    600,
                )
                .await;
                Err(Refused::UserConcurrent { limit })
            }
        }
    }

    /// Records and publishes an alert unless one with the same `kind`, `level` and `subject` was
    /// raised in the last `quiet_secs`.
    #[allow(clippy::too_many_arguments)]
    async fn alert(
        &self,
        tenant: TenantId,
        kind: &str,
        level: &str,
        message: &str,
        user: Option<UserId>,
        country: Option<&str>,
        subject: &str,
        quiet_secs: u64,
    ) {
        let mut r = self.redis.clone();
        let key = callbase_core::keys::fraud_alerted(tenant, kind, level, subject);
        let fresh: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(quiet_secs)
            .query_async(&mut r)
            .await
            .unwrap_or(Some("OK".into()));
        if fresh.is_none() {
            return;
        }
        let new = NewAlert { kind, level, message, user, country_code: country };
        if let Err(e) = raise(&self.db, &self.redis, tenant, &new).await {
            tracing::error!(error = %e, tenant.id = %tenant, kind, "cannot record a security alert");
        }
    }
}

/// Records an alert and publishes it to the tenant's administrators (`security_alert` event).
pub async fn raise(
    db: &Db,
    redis: &ConnectionManager,
    tenant: TenantId,
    a: &NewAlert<'_>,
) -> sqlx::Result<AlertRow> {
    let mut tx = db.tenant_tx(tenant).await?;
    let row = repo::insert_alert(&mut tx, tenant, a).await?;
    tx.commit().await?;
    tracing::warn!(tenant.id = %tenant, kind = a.kind, level = a.level, message = a.message, "security alert");
    let alert = Alert {
        id: row.id,
        at: row.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        kind: row.kind.clone(),
        level: row.level.clone(),
        message: row.message.clone(),
        user_id: row.user_id,
        country_code: row.country_code.clone(),
    };
    crate::events::publish(redis, tenant, &[Event::SecurityAlert { alert }], "a security alert").await;
    Ok(row)
}

/// KEYS: the live-call sets (tenant, then user); ARGV: call id, TTL in ms, then one cap per key.
/// Returns 0 (slot taken) or the 1-based index of the first full set. Redis's own clock scores
/// entries, so replicas with skewed clocks agree.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if redis.call('ZSCORE', k, ARGV[1]) == false and redis.call('ZCARD', k) >= tonumber(ARGV[2 + i]) then
    return i
  end
end
for i, k in ipairs(KEYS) do
  redis.call('ZADD', k, now + ttl, ARGV[1])
  redis.call('PEXPIRE', k, ttl * 2)
end
return 0
";

/// KEYS: the live-call sets; ARGV: call id, TTL in ms. Pushes the call's expiry on.
const REFRESH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, k in ipairs(KEYS) do
  redis.call('ZADD', k, 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', k, tonumber(ARGV[2]) * 2)
end
return 0
";

/// KEYS: the live-call sets; ARGV: call id, TTL in ms. Puts the call (back) in, with no cap.
const RESUME: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, k in ipairs(KEYS) do
  redis.call('ZADD', k, now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', k, tonumber(ARGV[2]) * 2)
end
return 0
";

impl Guard {
    /// A trunk call adopted from a replica that stopped (`call::adopt`): it goes on counting towards
    /// the concurrent-call caps until it ends. No cap applies: the call is already up.
    pub async fn resume(&self, tenant: TenantId, user: Option<UserId>, call_id: &str) -> LiveCall {
        let mut keys = vec![callbase_core::keys::fraud_live_tenant(tenant)];
        if let Some(u) = user {
            keys.push(callbase_core::keys::fraud_live_user(tenant, u));
        }
        let script = redis::Script::new(RESUME);
        let mut inv = script.prepare_invoke();
        for k in &keys {
            inv.key(k);
        }
        inv.arg(call_id).arg(LIVE_TTL.as_millis() as i64);
        let mut r = self.redis.clone();
        if let Err(e) = inv.invoke_async::<i64>(&mut r).await {
            tracing::warn!(error = %e, "cannot count an adopted call as live");
        }
        LiveCall::start(self.redis.clone(), keys, call_id.to_string(), self.fence.clone())
    }
}

/// A call's place in the live-call sets: refreshed while it lives, removed when dropped — unless
/// its controller no longer holds the Stasis lease (then the new holder keeps it).
pub struct LiveCall {
    redis: ConnectionManager,
    keys: Vec<String>,
    member: String,
    refresher: tokio::task::JoinHandle<()>,
    fence: Option<crate::lease::Held>,
}

impl LiveCall {
    fn start(
        redis: ConnectionManager,
        keys: Vec<String>,
        member: String,
        fence: Option<crate::lease::Held>,
    ) -> LiveCall {
        let (mut r, k, m) = (redis.clone(), keys.clone(), member.clone());
        let refresher = tokio::spawn(async move {
            let mut every = tokio::time::interval(LIVE_TTL / 3);
            every.tick().await;
            loop {
                every.tick().await;
                let script = redis::Script::new(REFRESH);
                let mut inv = script.prepare_invoke();
                for key in &k {
                    inv.key(key);
                }
                inv.arg(&m).arg(LIVE_TTL.as_millis() as i64);
                if let Err(e) = inv.invoke_async::<i64>(&mut r).await {
                    tracing::warn!(error = %e, "cannot refresh a live call");
                }
            }
        });
        LiveCall { redis, keys, member, refresher, fence }
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        self.refresher.abort();
        if self.fence.as_ref().is_some_and(|f| !f.is_current()) {
            // The actor stops because another replica runs the call now: its place stays theirs
            // (without the refresh it expires on its own if nobody adopts the call).
            return;
        }
        let (mut r, keys, member) =
            (self.redis.clone(), std::mem::take(&mut self.keys), std::mem::take(&mut self.member));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut p = redis::pipe();
                for k in &keys {
                    p.zrem(k, &member).ignore();
                }
                if let Err(e) = p.query_async::<()>(&mut r).await {
                    tracing::warn!(error = %e, "cannot release a live call (it expires on its own)");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_level_rounds_up_and_is_never_zero() {
        assert_eq!(warn_level(10, 80), 8);
        assert_eq!(warn_level(3, 80), 3);
        assert_eq!(warn_level(1, 1), 1);
        assert_eq!(warn_level(3000, 80), 2400);
    }

    #[test]
    fn refusals_have_stable_codes_and_say_why() {
        let r = Refused::CountryNotAllowed { code: "44".into() };
        assert_eq!(r.code(), "country_not_allowed");
        assert!(r.to_string().contains("+44"));
        assert_eq!(Refused::UserConcurrent { limit: 2 }.code(), "concurrent_calls");
    }
}
