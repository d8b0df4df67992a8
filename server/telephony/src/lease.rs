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
//! Every acquisition takes a new **fencing token** (a counter per lease that only grows). A holder
//! checks [`Held::is_current`] before acting on the outside world, so a holder that was paused past
//! its TTL (and replaced) does not act on stale beliefs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
}

impl Default for LeaseConfig {
    /// Taken over within 3 s of a holder's death (plus at most one retry interval).
    fn default() -> Self {
        LeaseConfig {
            ttl: Duration::from_secs(3),
            renew: Duration::from_millis(750),
            retry: Duration::from_millis(500),
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

/// A lease this replica holds. `is_current` turns false as soon as a renewal fails to prove
/// ownership; dropping the guard does not release it (see [`Lease::release`]).
#[derive(Debug, Clone)]
pub struct Held {
    pub token: u64,
    current: Arc<AtomicBool>,
}

impl Held {
    pub fn is_current(&self) -> bool {
        self.current.load(Ordering::SeqCst)
    }
}

const ACQUIRE: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
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
            let token = match self.try_acquire(&mut redis).await {
                Ok(Some(t)) => t,
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
            tracing::info!(lease = %name, token, owner = %self.owner, "lease taken: starting the worker");
            metrics::gauge!("callbase_lease_held", "lease" => name.clone()).set(1.0);
            let held = Held { token, current: Arc::new(AtomicBool::new(true)) };
            let (stop_tx, stop_rx) = watch::channel(false);
            let mut task = tokio::spawn(work(held.clone(), stop_rx));
            let mut last_renewal = tokio::time::Instant::now();
            let lost = loop {
                tokio::select! {
                    _ = tokio::time::sleep(self.cfg.renew) => {}
                    _ = shutdown.changed() => break false,
                    _ = &mut task => {
                        tracing::warn!(lease = %name, "the leased worker ended on its own: giving the lease up");
                        break false;
                    }
                }
                match self.renew(&mut redis, token).await {
                    Ok(true) => last_renewal = tokio::time::Instant::now(),
                    Ok(false) => break true,
                    // Redis unreachable: ours until the TTL runs out, not a moment longer.
                    Err(e) if last_renewal.elapsed() < self.cfg.ttl.saturating_sub(self.cfg.renew) => {
                        tracing::warn!(lease = %name, error = %e, "cannot renew the lease; retrying");
                    }
                    Err(e) => {
                        tracing::error!(lease = %name, error = %e, "the lease ran out unrenewed");
                        break true;
                    }
                }
            };
            held.current.store(false, Ordering::SeqCst);
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
            } else if let Err(e) = self.release(&mut redis, token).await {
                tracing::warn!(lease = %name, error = %e, "cannot release the lease; it expires on its own");
            } else {
                tracing::info!(lease = %name, token, "lease released");
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
