//! Leases: a worker that must run in exactly one replica per Asterisk node (the Stasis app, the
//! AMI registration monitor, the health probe) runs only while its replica holds the worker's
//! lease. Any number of replicas start with the same configuration; each tries every
//! [`LeaseConfig::retry`], one wins, renews every [`LeaseConfig::renew`], and the others take over
//! within [`LeaseConfig::ttl`] of its death (`kill -9`), or at once when it stops gracefully
//! (it deletes the lease).
//!
//! Redis, not a PostgreSQL advisory lock: Redis already carries every replica's events; a key with
//! a TTL frees itself when its holder dies without any connection-level keep-alive tuning, where a
//! session lock lasts as long as the server notices the dead TCP connection; and a lease needs no
//! dedicated database connection per worker. The price is that Redis must be up to take a lease: a
//! holder that cannot renew for a whole TTL stops its worker (fails safe: two holders never run).
//!
//! **Fencing.** Every acquisition takes a new fencing token (a counter per lease that only grows,
//! seeded from Redis's clock if the counter was lost, so it still grows after a Redis restart
//! without persistence). A holder is *current* only until `the start of its last successful renewal
//! (or of the acquisition) + ttl - margin` on the monotonic clock ([`Held::is_current`], an atomic
//! deadline: no Redis round trip per check). A replica paused past its TTL (SIGSTOP, a stalled
//! runtime) wakes with its renewal overdue; its deadline has passed, so it is no longer current even
//! before the renewal task runs, and once seen not current it never is again (the loss latches;
//! [`Held::lost`] wakes whoever waits on it). The Stasis worker is fenced in three places:
//! `crate::ari::Ari::fenced` refuses every ARI request, the call actors' record writes
//! (`crate::call`) are refused and also carry the token into the row (`calls.fence`: a write from a
//! lower token than the row's rolls back), and `crate::context::Ctx::spawn_actor` stops the actors.
//! What the deadline cannot see: a whole VM frozen with its clocks stopped; there the renewal (one
//! round trip after waking) and the token in the call row are what fence it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::Script;
use tokio::sync::watch;

/// Timings of a lease.
#[derive(Debug, Clone, Copy)]
pub struct LeaseConfig {
    /// How long a lease outlives its holder's last renewal.
    pub ttl: Duration,
    /// How often the holder renews.
    pub renew: Duration,
    /// How often a replica without the lease tries to take it.
    pub retry: Duration,
    /// How long before the lease would expire in Redis its holder stops counting itself current:
    /// room for a command checked just before the deadline to reach the outside world, and for
    /// clock drift between this host and Redis. Less than `ttl - renew`.
    pub margin: Duration,
}

impl Default for LeaseConfig {
    /// Taken over within 3 s of a holder's death (plus at most one retry interval).
    fn default() -> Self {
        LeaseConfig {
            ttl: Duration::from_secs(3),
            renew: Duration::from_millis(750),
            retry: Duration::from_millis(500),
            margin: Duration::from_millis(500),
        }
    }
}

/// Who holds a lease now (for `callbase status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub owner: String,
    pub token: u64,
}

/// A lease key (`cb:lease:<name>`) and its fencing counter.
#[derive(Debug, Clone)]
pub struct Lease {
    key: String,
    fence: String,
    owner: String,
    cfg: LeaseConfig,
}

/// A lease this replica holds, and the fence of everything its worker does. Clones share one
/// state: once any of them finds the lease not current, none of them is current again. Dropping it
/// does not release the lease (see [`Lease::release`]).
#[derive(Debug, Clone)]
pub struct Held {
    pub token: u64,
    state: Arc<Validity>,
}

#[derive(Debug)]
struct Validity {
    /// The monotonic instant `deadline` counts from.
    base: Instant,
    /// Nanoseconds after `base` until which the lease is surely ours; 0 once it is lost.
    deadline: AtomicU64,
    /// Turns true when the lease is found lost.
    lost: watch::Sender<bool>,
    /// The lease was given up on purpose (a graceful stop), not lost.
    handed_over: std::sync::atomic::AtomicBool,
}

impl Held {
    /// Held since `asked` (when the acquisition was sent: Redis started the TTL no earlier) until
    /// `asked + valid`.
    fn new(token: u64, asked: Instant, valid: Duration) -> Held {
        let state = Validity {
            base: asked,
            deadline: AtomicU64::new(0),
            lost: watch::Sender::new(false),
            handed_over: Default::default(),
        };
        let held = Held { token, state: Arc::new(state) };
        held.state.deadline.store(nanos(valid).max(1), Ordering::SeqCst);
        held
    }

    /// Is the lease still surely this replica's? False once its deadline has passed (even if no
    /// renewal has failed yet: a process that was paused past the TTL wakes with its renewal
    /// overdue), and from then on.
    pub fn is_current(&self) -> bool {
        let deadline = self.state.deadline.load(Ordering::SeqCst);
        if deadline != 0 && nanos(self.state.base.elapsed()) < deadline {
            return true;
        }
        self.revoke();
        false
    }

    /// How long the lease stays current without a renewal.
    pub fn remaining(&self) -> Duration {
        let deadline = self.state.deadline.load(Ordering::SeqCst);
        Duration::from_nanos(deadline.saturating_sub(nanos(self.state.base.elapsed())))
    }

    /// The lease is not (or no longer) ours: every check from now on says so, and [`Held::lost`]
    /// returns. Also for whoever learns it from elsewhere (a call record written under a newer
    /// token).
    pub fn revoke(&self) {
        if self.state.deadline.swap(0, Ordering::SeqCst) != 0 {
            self.state.lost.send_replace(true);
        }
    }

    /// The holder gives the lease up on purpose (a graceful stop): like [`Held::revoke`], but
    /// [`Held::handed_over`] says so.
    pub fn hand_over(&self) {
        self.state.handed_over.store(true, Ordering::SeqCst);
        self.revoke();
    }

    /// Was the lease given up on purpose rather than lost?
    pub fn handed_over(&self) -> bool {
        self.state.handed_over.load(Ordering::SeqCst)
    }

    /// Returns once the lease is found lost ([`Held::revoke`], or a check after the deadline).
    pub async fn lost(&self) {
        let mut rx = self.state.lost.subscribe();
        let _ = rx.wait_for(|lost| *lost).await;
    }

    /// A renewal sent at `asked` succeeded: current until `asked + valid`. False when the lease
    /// was already found lost (it stays lost).
    fn extend(&self, asked: Instant, valid: Duration) -> bool {
        let new = nanos(asked.saturating_duration_since(self.state.base) + valid);
        self.state
            .deadline
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| (d != 0).then_some(d.max(new)))
            .is_ok()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

// A lost fence counter (a Redis restart without persistence) starts again from Redis's clock in
// microseconds: above any token handed out before, as the counter grows by one per acquisition
// (far fewer than one a microsecond), and still well inside the i64 the call records keep it in.
const ACQUIRE: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])))
  end
  local token = redis.call('INCR', KEYS[2])
  -- Redis's own decimal string: Lua would print a large number in exponent notation.
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. redis.call('GET', KEYS[2]), 'PX', ARGV[2])
  return token
end
return false
"#;

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

impl Lease {
    /// The lease `name` (e.g. `stasis:<node>`) for the replica `owner` (unique per process).
    pub fn new(name: &str, owner: &str, cfg: LeaseConfig) -> Lease {
        Lease {
            key: callbase_core::keys::lease(name),
            fence: callbase_core::keys::lease_fence(name),
            owner: owner.to_string(),
            cfg,
        }
    }

    fn value(&self, token: u64) -> String {
        format!("{}|{token}", self.owner)
    }

    fn ttl_ms(&self) -> u64 {
        self.cfg.ttl.as_millis() as u64
    }

    /// How long a holder counts itself current after sending an acquisition or a renewal.
    fn valid(&self) -> Duration {
        self.cfg.ttl.saturating_sub(self.cfg.margin)
    }

    /// Takes the lease if nobody holds it: held, and current until `ttl - margin` after the request
    /// was sent.
    pub async fn acquire(&self, redis: &mut ConnectionManager) -> redis::RedisResult<Option<Held>> {
        let asked = Instant::now();
        Ok(self.try_acquire(redis).await?.map(|token| Held::new(token, asked, self.valid())))
    }

    /// Renews `held`: current until `ttl - margin` after this request was sent. False when the lease
    /// is no longer ours, and `held` is then revoked; an error leaves `held` as it was (current until
    /// its deadline).
    pub async fn renew_held(&self, redis: &mut ConnectionManager, held: &Held) -> redis::RedisResult<bool> {
        let asked = Instant::now();
        let ok = self.renew(redis, held.token).await? && held.extend(asked, self.valid());
        if !ok {
            held.revoke();
        }
        Ok(ok)
    }

    /// Takes the lease if nobody holds it: its new fencing token.
    pub async fn try_acquire(&self, redis: &mut ConnectionManager) -> redis::RedisResult<Option<u64>> {
        Script::new(ACQUIRE)
            .key(&self.key)
            .key(&self.fence)
            .arg(&self.owner)
            .arg(self.ttl_ms())
            .invoke_async(redis)
            .await
    }

    /// Extends the lease; false when it is no longer ours (expired, or taken over).
    pub async fn renew(&self, redis: &mut ConnectionManager, token: u64) -> redis::RedisResult<bool> {
        let n: i64 = Script::new(RENEW)
            .key(&self.key)
            .arg(self.value(token))
            .arg(self.ttl_ms())
            .invoke_async(redis)
            .await?;
        Ok(n == 1)
    }

    /// Gives the lease up at once (a graceful stop), if it is still ours.
    pub async fn release(&self, redis: &mut ConnectionManager, token: u64) -> redis::RedisResult<bool> {
        let n: i64 = Script::new(RELEASE).key(&self.key).arg(self.value(token)).invoke_async(redis).await?;
        Ok(n == 1)
    }

    /// Who holds the lease `name` now.
    pub async fn holder(redis: &mut ConnectionManager, name: &str) -> redis::RedisResult<Option<Holder>> {
        let v: Option<String> =
            redis::cmd("GET").arg(callbase_core::keys::lease(name)).query_async(redis).await?;
        Ok(v.and_then(|v| {
            let (owner, token) = v.rsplit_once('|')?;
            Some(Holder { owner: owner.to_string(), token: token.parse().ok()? })
        }))
    }

    /// Runs `work` whenever this replica holds the lease, until `shutdown` turns true. `work` gets
    /// the [`Held`] lease and a receiver that turns true when it must stop (the lease was lost, or
    /// shutdown); it is started again after each loss once the lease is won back. On shutdown the
    /// lease is released at once, so another replica takes over without waiting for the TTL.
    pub async fn run<F, Fut>(self, mut redis: ConnectionManager, mut shutdown: watch::Receiver<bool>, work: F)
    where
        F: Fn(Held, watch::Receiver<bool>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let name = self.key.clone();
        while !stopping(&shutdown) {
            let held = match self.acquire(&mut redis).await {
                Ok(Some(held)) => held,
                Ok(None) => {
                    wait(&mut shutdown, self.cfg.retry).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(lease = %name, error = %e, "cannot ask Redis for a lease; retrying");
                    wait(&mut shutdown, self.cfg.retry).await;
                    continue;
                }
            };
            let token = held.token;
            tracing::info!(lease = %name, token, owner = %self.owner, "lease taken: starting the worker");
            metrics::gauge!("callbase_lease_held", "lease" => name.clone()).set(1.0);
            let (stop_tx, stop_rx) = watch::channel(false);
            let mut task = tokio::spawn(work(held.clone(), stop_rx));
            let lost = loop {
                tokio::select! {
                    // Wakes at the deadline too: the worker's actors stop then, renewal or not.
                    _ = tokio::time::sleep(self.cfg.renew.min(held.remaining())) => {}
                    _ = held.lost() => break true,
                    _ = shutdown.changed() => break false,
                    _ = &mut task => {
                        tracing::warn!(lease = %name, "the leased worker ended on its own: giving the lease up");
                        break false;
                    }
                }
                if !held.is_current() {
                    tracing::error!(lease = %name, token, "the lease ran out unrenewed");
                    break true;
                }
                match self.renew_held(&mut redis, &held).await {
                    Ok(true) => {}
                    Ok(false) => break true,
                    // Redis unreachable: ours until the deadline, not a moment longer.
                    Err(e) => tracing::warn!(lease = %name, error = %e, "cannot renew the lease; retrying"),
                }
            };
            // Nothing of the worker acts from here on (a graceful stop too: the next holder may
            // already be adopting its calls once the lease is released).
            if lost {
                held.revoke();
            } else {
                held.hand_over();
            }
            metrics::gauge!("callbase_lease_held", "lease" => name.clone()).set(0.0);
            let _ = stop_tx.send(true);
            if !task.is_finished() {
                // The worker gets a moment to hand over cleanly, then is stopped.
                if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                    task.abort();
                }
            }
            if lost {
                tracing::warn!(lease = %name, token, "lease lost: the worker stopped");
            }
            // Released only if it is still ours (a lease that ran out unrenewed may be): the next
            // holder need not wait for the TTL.
            match self.release(&mut redis, token).await {
                Ok(true) => tracing::info!(lease = %name, token, "lease released"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(lease = %name, error = %e, "cannot release the lease; it expires on its own")
                }
            }
        }
    }
}

/// Shutdown was asked for, or whoever could ask is gone.
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

async fn wait(shutdown: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lease_is_current_until_its_deadline_and_then_never_again() {
        let held = Held::new(7, Instant::now(), Duration::from_millis(60));
        assert!(held.is_current());
        assert!(held.remaining() > Duration::ZERO);
        std::thread::sleep(Duration::from_millis(70));
        assert_eq!(held.remaining(), Duration::ZERO);
        assert!(!held.is_current(), "past the deadline, with no renewal task having run");
        assert!(
            !held.extend(Instant::now(), Duration::from_secs(3)),
            "a late renewal does not bring it back"
        );
        assert!(!held.is_current());
        tokio::time::timeout(Duration::from_millis(50), held.lost()).await.expect("lost() returns");
    }

    #[tokio::test]
    async fn renewals_move_the_deadline_on_and_a_revoke_is_seen_by_every_clone() {
        let held = Held::new(7, Instant::now(), Duration::from_millis(400));
        let clone = held.clone();
        std::thread::sleep(Duration::from_millis(250));
        assert!(held.extend(Instant::now(), Duration::from_millis(400)));
        std::thread::sleep(Duration::from_millis(250));
        assert!(clone.is_current(), "500 ms after it was taken, 250 ms after a renewal");
        let waiting = tokio::spawn({
            let clone = clone.clone();
            async move { clone.lost().await }
        });
        held.revoke();
        assert!(!clone.is_current());
        tokio::time::timeout(Duration::from_millis(50), waiting).await.expect("woken").unwrap();
    }
}
