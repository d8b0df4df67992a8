//! The long-lived WebSockets (`/events`, `/sip`): how many a user and a tenant may hold, and how
//! they end when the session behind them does.
//!
//! **Caps.** Every open socket holds a *lease* in Redis: a member of three sorted sets (the
//! user's, the tenant's and the platform's, per socket kind) scored by its expiry. A Lua script
//! drops expired members, counts, and adds the new one atomically, so the caps hold across every
//! server replica; a socket renews its lease on each check (every `revalidate_secs`) and removes
//! it when it ends, and a crashed replica's leases expire on their own after `3 × revalidate_secs`.
//! (Per-replica counters would let a user open `cap × replicas`; what the caps protect — Asterisk's
//! HTTP session limit shared with ARI, the replicas' memory — is platform-wide.) A socket over a
//! cap is accepted and at once closed with code 4429 (`too_many_sockets`): browsers do not let a
//! page read the HTTP status of a refused upgrade, but they do pass on a close code.
//!
//! **Revocation.** Logout, disabling a user, a password change, and any change of a user's
//! groups (their role and masking) *revoke*: the server closes the matching sockets on this
//! replica, publishes the revocation on `cb:sockets:control` (every replica's listener closes its
//! own), and bumps the user's epoch in Redis. Pub/sub delivers at most once, so every socket also
//! re-checks every `revalidate_secs` that its session still exists and its user's epoch has not
//! moved, and re-checks at once whenever a replica's control subscription comes back after a
//! break. Close codes: 4401 `session_ended` (sign in again), 4409 `access_changed` (reconnect: the
//! role or masking is re-derived). `/sip` sockets close with 4001 for every server-side close.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::response::Response;
use callbase_core::{TenantId, UserId};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

/// Socket caps and the re-check interval (`CALLBASE__SOCKETS__*`).
#[derive(Debug, Clone, Deserialize)]
pub struct SocketsConfig {
    /// `/events` sockets one user may hold (tabs, windows, devices).
    #[serde(default = "d_events_user")]
    pub events_per_user: u32,
    /// `/events` sockets of one tenant.
    #[serde(default = "d_events_tenant")]
    pub events_per_tenant: u32,
    /// `/events` sockets on the whole platform.
    #[serde(default = "d_events_total")]
    pub events_total: u32,
    /// `/sip` sockets one user may hold (the phone runs in one tab; a few for reconnects).
    #[serde(default = "d_sip_user")]
    pub sip_per_user: u32,
    /// `/sip` sockets of one tenant.
    #[serde(default = "d_sip_tenant")]
    pub sip_per_tenant: u32,
    /// `/sip` sockets on the whole platform: each holds an Asterisk HTTP session, whose limit
    /// (`sessionlimit` in http.conf, 5000 in infra/asterisk) ARI shares; keep this well below it.
    #[serde(default = "d_sip_total")]
    pub sip_total: u32,
    /// Seconds between a socket's checks of its session (and lease renewals).
    #[serde(default = "d_revalidate")]
    pub revalidate_secs: u64,
}

fn d_events_user() -> u32 {
    8
}
fn d_events_tenant() -> u32 {
    // A tenant of 1 000 agents with a few tabs each (issue #23's registration storm).
    3000
}
fn d_events_total() -> u32 {
    5000
}
fn d_sip_user() -> u32 {
    3
}
fn d_sip_tenant() -> u32 {
    // A tenant of 1 000 browser phones, with room for reconnects (issue #23).
    1500
}
fn d_sip_total() -> u32 {
    4000
}
fn d_revalidate() -> u64 {
    30
}

impl Default for SocketsConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("all socket settings have defaults")
    }
}

/// Which socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Events,
    Sip,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Sip => "sip",
        }
    }
}

/// Why the server closes a socket: the WebSocket close code and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    /// Logout, expiry, disabled, password changed: sign in again.
    pub const SESSION_ENDED: Close = Close { code: 4401, reason: "session_ended" };
    /// Groups, role or masking changed: reconnect (the server derives them again).
    pub const ACCESS_CHANGED: Close = Close { code: 4409, reason: "access_changed" };
    /// The user's, the tenant's or the platform's cap of this socket kind is reached.
    pub const TOO_MANY: Close = Close { code: 4429, reason: "too_many_sockets" };
    /// The user lost telephony or the browser phone (`/sip` only).
    pub const PHONE_REMOVED: Close = Close { code: 4001, reason: "phone closed by the server" };

    fn from_code(code: u16) -> Close {
        match code {
            4401 => Close::SESSION_ENDED,
            4429 => Close::TOO_MANY,
            4001 => Close::PHONE_REMOVED,
            _ => Close::ACCESS_CHANGED,
        }
    }
}

/// What a revocation covers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Revoke {
    tenant: TenantId,
    /// One user's sockets (else the whole tenant's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<UserId>,
    /// Only the sockets opened with this session (its Redis key, never the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<String>,
    /// Only sockets of this kind (else both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    code: u16,
}

impl Revoke {
    fn matches(&self, e: &Entry) -> bool {
        e.tenant == self.tenant
            && self.user.is_none_or(|u| u == e.user)
            && self.session.as_ref().is_none_or(|s| *s == e.session)
            && self.kind.is_none_or(|k| k == e.kind)
    }
}

/// The Redis channel every replica's listener subscribes to.
pub const CONTROL_CHANNEL: &str = callbase_core::keys::SOCKETS_CONTROL;

fn epoch_key(tenant: TenantId, user: UserId) -> String {
    callbase_core::keys::socket_epoch(tenant, user)
}

fn lease_keys(kind: Kind, tenant: TenantId, user: UserId) -> [String; 3] {
    callbase_core::keys::socket_leases(kind.as_str(), tenant, user)
}

/// Drops expired leases, refuses over a cap (1 user, 2 tenant, 3 platform), else adds the lease
/// to all three sets. Time is Redis's, so replicas' clocks do not matter.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1])
for i = 1, 3 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
for i = 1, 3 do
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[1 + i]) then return i end
end
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[5]) + 60)
end
return 0
";

/// Renews a lease that still exists (a removed one stays removed).
const RENEW: &str = r"
local t = redis.call('TIME')
local exp = tonumber(t[1]) + tonumber(ARGV[2])
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], 'XX', exp, ARGV[1])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2]) + 60)
end
return 0
";

static ACQUIRE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ACQUIRE));
static RENEW_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RENEW));

struct Entry {
    kind: Kind,
    tenant: TenantId,
    user: UserId,
    session: String,
    tx: watch::Sender<Option<Close>>,
}

struct Inner {
    cfg: SocketsConfig,
    redis: redis::aio::ConnectionManager,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Entry>>,
    /// Woken when the control subscription (re)starts: messages may have been missed.
    recheck: Notify,
}

/// The open sockets of this replica and the platform-wide leases. Cheap to clone.
#[derive(Clone)]
pub struct Sockets {
    inner: Arc<Inner>,
}

/// A socket over its cap.
#[derive(Debug)]
pub struct Refused {
    pub message: String,
}

/// One open socket: registered here (to be closed from anywhere) and holding its lease. Dropping
/// it unregisters and releases the lease.
pub struct Registration {
    id: u64,
    kind: Kind,
    tenant: TenantId,
    user: UserId,
    session: String,
    epoch: i64,
    member: String,
    rx: watch::Receiver<Option<Close>>,
    sockets: Weak<Inner>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(inner) = self.sockets.upgrade() else { return };
        inner.open.lock().expect("socket map").remove(&self.id);
        let mut r = inner.redis.clone();
        let keys = lease_keys(self.kind, self.tenant, self.user);
        let member = std::mem::take(&mut self.member);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut p = redis::pipe();
                for k in &keys {
                    p.zrem(k, &member).ignore();
                }
                if let Err(e) = p.query_async::<()>(&mut r).await {
                    tracing::warn!(error = %e, "cannot release a socket lease; it expires on its own");
                }
            });
        }
    }
}

impl Sockets {
    pub fn new(cfg: SocketsConfig, redis: redis::aio::ConnectionManager) -> Self {
        Sockets {
            inner: Arc::new(Inner {
                cfg,
                redis,
                next: AtomicU64::new(1),
                open: Mutex::new(HashMap::new()),
                recheck: Notify::new(),
            }),
        }
    }

    /// Subscribes to the control channel (reconnecting with a growing delay) and closes this
    /// replica's sockets that a revocation covers. Ends when the app is dropped.
    pub fn listen(&self, client: redis::Client) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(500);
            loop {
                if weak.strong_count() == 0 {
                    return;
                }
                match client.get_async_pubsub().await {
                    Ok(mut ps) => match ps.subscribe(CONTROL_CHANNEL).await {
                        Ok(()) => {
                            delay = Duration::from_millis(500);
                            let Some(inner) = weak.upgrade() else { return };
                            // Whatever was published while we were away: every socket checks now.
                            inner.recheck.notify_waiters();
                            drop(inner);
                            let mut msgs = ps.into_on_message();
                            while let Some(m) = msgs.next().await {
                                let Some(inner) = weak.upgrade() else { return };
                                match m
                                    .get_payload::<String>()
                                    .ok()
                                    .and_then(|p| serde_json::from_str::<Revoke>(&p).ok())
                                {
                                    Some(rv) => close_local(&inner, &rv),
                                    None => tracing::warn!("unreadable socket control message"),
                                }
                            }
                            tracing::warn!("socket control subscription ended; reconnecting");
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot subscribe to socket control"),
                    },
                    Err(e) => tracing::warn!(error = %e, "cannot connect to Redis for socket control"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// Takes a lease for a new socket of `kind` (or says which cap refuses it) and registers it.
    /// Call it before anything expensive (a Redis subscription, the Asterisk connection) and before
    /// reading the user's state, so a revocation that races the opening is seen by the first check.
    pub async fn open(
        &self,
        kind: Kind,
        tenant: TenantId,
        user: UserId,
        session_token: &str,
    ) -> Result<Result<Registration, Refused>, redis::RedisError> {
        let cfg = &self.inner.cfg;
        let (per_user, per_tenant, total) = match kind {
            Kind::Events => (cfg.events_per_user, cfg.events_per_tenant, cfg.events_total),
            Kind::Sip => (cfg.sip_per_user, cfg.sip_per_tenant, cfg.sip_total),
        };
        let mut r = self.inner.redis.clone();
        let epoch: Option<i64> = redis::cmd("GET").arg(epoch_key(tenant, user)).query_async(&mut r).await?;
        let member = crate::auth::session::random_token();
        let mut inv = ACQUIRE_SCRIPT.prepare_invoke();
        for k in lease_keys(kind, tenant, user) {
            inv.key(k);
        }
        inv.arg(&member).arg(per_user).arg(per_tenant).arg(total).arg(self.lease_secs());
        let verdict: i64 = inv.invoke_async(&mut r).await?;
        let what = match kind {
            Kind::Events => "event connections",
            Kind::Sip => "phone connections",
        };
        match verdict {
            0 => {}
            1 => {
                return Ok(Err(Refused {
                    message: format!(
                        "too many {what} for you (at most {per_user}): close other tabs or windows"
                    ),
                }))
            }
            2 => {
                return Ok(Err(Refused {
                    message: format!("too many {what} in your organisation (at most {per_tenant})"),
                }))
            }
            _ => {
                return Ok(Err(Refused {
                    message: format!("the service holds too many {what} right now; try again shortly"),
                }))
            }
        }
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        let session = crate::auth::session::redis_key(session_token);
        self.inner
            .open
            .lock()
            .expect("socket map")
            .insert(id, Entry { kind, tenant, user, session: session.clone(), tx });
        Ok(Ok(Registration {
            id,
            kind,
            tenant,
            user,
            session,
            epoch: epoch.unwrap_or(0),
            member,
            rx,
            sockets: Arc::downgrade(&self.inner),
        }))
    }

    fn lease_secs(&self) -> u64 {
        self.inner.cfg.revalidate_secs.max(1) * 3
    }

    /// Resolves when the socket must close, and why: revoked (here or on another replica), its
    /// session gone or its user's access changed (checked every `revalidate_secs`). Renews the
    /// lease meanwhile. Keep one instance per socket (pin it outside the socket's loop).
    pub async fn supervise(&self, reg: &mut Registration) -> Close {
        let every = Duration::from_secs(self.inner.cfg.revalidate_secs.max(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let recheck = self.inner.recheck.notified();
            tokio::select! {
                changed = reg.rx.changed() => {
                    match changed {
                        Ok(()) => if let Some(c) = *reg.rx.borrow_and_update() { return c },
                        Err(_) => return Close::ACCESS_CHANGED,
                    }
                }
                _ = tick.tick() => {}
                _ = recheck => {}
            }
            match self.check(reg).await {
                Ok(Some(c)) => return c,
                Ok(None) => {}
                // Redis is away: sessions cannot be checked, nor revoked; keep the socket (its
                // calls) and check again next time.
                Err(e) => tracing::warn!(error = %e, "cannot re-check a socket's session"),
            }
        }
    }

    async fn check(&self, reg: &Registration) -> redis::RedisResult<Option<Close>> {
        let mut r = self.inner.redis.clone();
        let mut inv = RENEW_SCRIPT.prepare_invoke();
        for k in lease_keys(reg.kind, reg.tenant, reg.user) {
            inv.key(k);
        }
        inv.arg(&reg.member).arg(self.lease_secs());
        let _: i64 = inv.invoke_async(&mut r).await?;
        let (alive, epoch): (bool, Option<i64>) = redis::pipe()
            .exists(&reg.session)
            .get(epoch_key(reg.tenant, reg.user))
            .query_async(&mut r)
            .await?;
        if !alive {
            return Ok(Some(Close::SESSION_ENDED));
        }
        if epoch.unwrap_or(0) > reg.epoch {
            return Ok(Some(Close::ACCESS_CHANGED));
        }
        Ok(None)
    }

    async fn publish(&self, rv: &Revoke) {
        close_local(&self.inner, rv);
        let mut r = self.inner.redis.clone();
        let payload = serde_json::to_string(rv).expect("revocation serialises");
        let mut p = redis::pipe();
        if let (Some(user), None, None) = (rv.user, &rv.session, rv.kind) {
            // Sockets that miss the message see the epoch move on their next check.
            p.incr(epoch_key(rv.tenant, user), 1).ignore();
        }
        p.publish(CONTROL_CHANNEL, payload).ignore();
        if let Err(e) = p.query_async::<()>(&mut r).await {
            tracing::error!(error = %e, tenant.id = %rv.tenant, "cannot publish a socket revocation; other replicas close on their next check");
        }
    }

    /// Closes every socket of a user on every replica: their session ended (disabled, password
    /// changed) or their access changed (groups, role, masking).
    pub async fn revoke_user(&self, tenant: TenantId, user: UserId, why: Close) {
        self.publish(&Revoke { tenant, user: Some(user), session: None, kind: None, code: why.code }).await;
    }

    /// Closes the sockets opened with one session (logout).
    pub async fn revoke_session(&self, tenant: TenantId, user: UserId, session_token: &str) {
        let session = Some(crate::auth::session::redis_key(session_token));
        self.publish(&Revoke {
            tenant,
            user: Some(user),
            session,
            kind: None,
            code: Close::SESSION_ENDED.code,
        })
        .await;
    }

    /// Closes every phone socket of a user (they lost telephony or the browser phone), on every
    /// replica. Returns at once; the publication runs in the background.
    pub fn close_phones_of(&self, tenant: TenantId, user: UserId) {
        self.spawn_publish(Revoke {
            tenant,
            user: Some(user),
            session: None,
            kind: Some(Kind::Sip),
            code: Close::PHONE_REMOVED.code,
        });
    }

    /// Closes every phone socket of a tenant (telephony turned off), on every replica.
    pub fn close_phones_of_tenant(&self, tenant: TenantId) {
        self.spawn_publish(Revoke {
            tenant,
            user: None,
            session: None,
            kind: Some(Kind::Sip),
            code: Close::PHONE_REMOVED.code,
        });
    }

    fn spawn_publish(&self, rv: Revoke) {
        close_local(&self.inner, &rv);
        let me = self.clone();
        tokio::spawn(async move { me.publish(&rv).await });
    }
}

/// Accepts the upgrade only to close it at once with 4429 and the reason: a browser shows the page
/// a close code, never the status of a refused upgrade.
pub fn refuse(ws: WebSocketUpgrade, refused: Refused) -> Response {
    let mut reason = refused.message;
    while reason.len() > 120 {
        reason.pop();
    }
    ws.on_upgrade(move |mut socket| async move {
        let frame = CloseFrame { code: Close::TOO_MANY.code, reason: reason.into() };
        let _ = socket.send(Message::Close(Some(frame))).await;
    })
}

fn close_local(inner: &Inner, rv: &Revoke) {
    let why = Close::from_code(rv.code);
    let mut open = inner.open.lock().expect("socket map");
    for e in open.values().filter(|e| rv.matches(e)) {
        let _ = e.tx.send(Some(why));
    }
    // Entries stay until their socket ends (the Registration's drop), so a later check still
    // finds them; a second close is harmless.
    open.retain(|_, e| !e.tx.is_closed());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: Kind, tenant: i64, user: i64, session: &str) -> Entry {
        Entry {
            kind,
            tenant: TenantId(tenant),
            user: UserId(user),
            session: session.into(),
            tx: watch::channel(None).0,
        }
    }

    #[test]
    fn a_revocation_reaches_exactly_what_it_names() {
        let rv = |user: Option<i64>, session: Option<&str>, kind: Option<Kind>| Revoke {
            tenant: TenantId(1),
            user: user.map(UserId),
            session: session.map(str::to_string),
            kind,
            code: 4401,
        };
        let mine = entry(Kind::Events, 1, 5, "s1");
        let other_session = entry(Kind::Sip, 1, 5, "s2");
        let colleague = entry(Kind::Events, 1, 6, "s3");
        let other_tenant = entry(Kind::Events, 2, 5, "s1");
        let logout = rv(Some(5), Some("s1"), None);
        assert!(
            logout.matches(&mine)
                && !logout.matches(&other_session)
                && !logout.matches(&colleague)
                && !logout.matches(&other_tenant)
        );
        let user = rv(Some(5), None, None);
        assert!(
            user.matches(&mine)
                && user.matches(&other_session)
                && !user.matches(&colleague)
                && !user.matches(&other_tenant)
        );
        let phones = rv(None, None, Some(Kind::Sip));
        assert!(phones.matches(&other_session) && !phones.matches(&mine) && !phones.matches(&other_tenant));
    }

    #[test]
    fn revocations_travel_as_json_and_keep_their_code() {
        let rv = Revoke {
            tenant: TenantId(3),
            user: Some(UserId(4)),
            session: None,
            kind: Some(Kind::Sip),
            code: 4001,
        };
        let back: Revoke = serde_json::from_str(&serde_json::to_string(&rv).unwrap()).unwrap();
        assert_eq!(back, rv);
        assert_eq!(Close::from_code(4001), Close::PHONE_REMOVED);
        assert_eq!(Close::from_code(4401), Close::SESSION_ENDED);
        assert_eq!(Close::from_code(1), Close::ACCESS_CHANGED);
    }
}
