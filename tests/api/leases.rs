//! Leases (server/telephony/src/lease.rs) against the test stack's Redis: one holder at a time,
//! takeover after a holder's death within the TTL, at once after a graceful stop, and fencing
//! tokens that only grow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callbase_telephony::lease::{Lease, LeaseConfig};
use callbase_tests::{env, unique};
use tokio::sync::watch;

async fn redis() -> redis::aio::ConnectionManager {
    let client = redis::Client::open(env("CALLBASE__REDIS__URL")).expect("redis url");
    redis::aio::ConnectionManager::new(client).await.expect("redis")
}

const FAST: LeaseConfig = LeaseConfig {
    ttl: Duration::from_millis(1500),
    renew: Duration::from_millis(300),
    retry: Duration::from_millis(100),
    margin: Duration::from_millis(300),
};

#[tokio::test]
async fn one_holder_at_a_time_and_each_acquisition_gets_a_larger_token() {
    let mut r = redis().await;
    let name = unique("lease");
    let (a, b) = (Lease::new(&name, "replica-a", FAST), Lease::new(&name, "replica-b", FAST));
    let ta = a.try_acquire(&mut r).await.unwrap().expect("a free lease is taken");
    assert_eq!(b.try_acquire(&mut r).await.unwrap(), None, "a held lease is not taken twice");
    assert!(a.renew(&mut r, ta).await.unwrap());
    assert!(!b.renew(&mut r, ta).await.unwrap(), "another owner cannot renew it");
    assert!(!a.renew(&mut r, ta + 1).await.unwrap(), "a stale token cannot renew it");
    let h = Lease::holder(&mut r, &name).await.unwrap().expect("held");
    assert_eq!((h.owner.as_str(), h.token), ("replica-a", ta));
    assert!(!b.release(&mut r, ta).await.unwrap(), "another owner cannot release it");
    assert!(a.release(&mut r, ta).await.unwrap());
    let tb = b.try_acquire(&mut r).await.unwrap().expect("released: b takes it");
    assert!(tb > ta, "fencing tokens grow: {tb} after {ta}");
    assert!(!a.renew(&mut r, ta).await.unwrap(), "the old holder's token is fenced out");
}

/// Two replicas run the same leased worker; the count of running workers is sampled throughout.
#[tokio::test]
async fn the_worker_runs_in_one_replica_and_moves_on_a_graceful_stop_and_on_a_death() {
    let name = unique("lease");
    let running = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let (stop_a, rx_a) = watch::channel(false);
    let (stop_b, rx_b) = watch::channel(false);
    let spawn = |owner: &'static str, rx: watch::Receiver<bool>| {
        let (running, max_seen, name) = (running.clone(), max_seen.clone(), name.clone());
        tokio::spawn(async move {
            let r = redis().await;
            Lease::new(&name, owner, FAST)
                .run(r, rx, move |held, mut stop| {
                    let (running, max_seen) = (running.clone(), max_seen.clone());
                    async move {
                        let n = running.fetch_add(1, Ordering::SeqCst) + 1;
                        max_seen.fetch_max(n, Ordering::SeqCst);
                        assert!(held.is_current());
                        let _ = stop.wait_for(|s| *s).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                })
                .await
        })
    };
    let a = spawn("replica-a", rx_a);
    let b = spawn("replica-b", rx_b);
    let mut r = redis().await;
    let first = wait_holder(&mut r, &name, None).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(running.load(Ordering::SeqCst), 1, "exactly one replica runs the worker");

    // A graceful stop of the holder: the other replica takes over well before the TTL.
    let (stop_first, stop_other) =
        if first.owner == "replica-a" { (&stop_a, &stop_b) } else { (&stop_b, &stop_a) };
    let t = Instant::now();
    stop_first.send(true).unwrap();
    let second = wait_holder(&mut r, &name, Some(&first.owner)).await;
    assert!(t.elapsed() < FAST.ttl, "handed over at once, took {:?}", t.elapsed());
    assert!(second.token > first.token);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.load(Ordering::SeqCst), 1);

    // The new holder dies without a word (its task is aborted: no renewal, no release). A fresh
    // replica takes over within the TTL plus one retry.
    let dying = if second.owner == "replica-a" { a } else { b };
    dying.abort();
    let _ = dying.await;
    let t = Instant::now();
    let (_stop_c, rx_c) = watch::channel(false);
    let c = spawn("replica-c", rx_c);
    let third = wait_holder(&mut r, &name, Some(&second.owner)).await;
    assert_eq!(third.owner, "replica-c");
    assert!(t.elapsed() < FAST.ttl + FAST.retry * 3, "taken over after {:?}", t.elapsed());
    assert!(third.token > second.token);
    let _ = stop_other.send(true);
    c.abort();
    assert_eq!(max_seen.load(Ordering::SeqCst), 1, "never two workers at once");
}

/// The holder of `name` once it differs from `not` (at most 5 s).
async fn wait_holder(
    r: &mut redis::aio::ConnectionManager,
    name: &str,
    not: Option<&str>,
) -> callbase_telephony::lease::Holder {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(h) = Lease::holder(r, name).await.unwrap() {
            if Some(h.owner.as_str()) != not {
                return h;
            }
        }
        assert!(Instant::now() < until, "no new holder of {name} within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two server replicas of one Asterisk node, both configured to run the Stasis app: one runs it
/// (one subscriber of the call-command channel, the lease names it), the other stands by.
#[tokio::test]
async fn two_replicas_of_one_node_run_one_stasis_app() {
    let node = unique("node-");
    let overrides = [("CALLBASE__WORKERS__STASIS", "true"), ("CALLBASE__ASTERISK__NODE", node.as_str())];
    let _a = callbase_tests::TestApp::spawn_with(&overrides).await;
    let _b = callbase_tests::TestApp::spawn_with(&overrides).await;
    let mut r = redis().await;
    let holder = wait_holder(&mut r, &format!("stasis:{node}"), None).await;
    // Both replicas have tried by now (they retry every half second).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = Lease::holder(&mut r, &format!("stasis:{node}")).await.unwrap().expect("still held");
    assert_eq!(again, holder, "the lease stays with its holder while it lives");
    let (_, running): (String, i64) =
        redis::cmd("PUBSUB").arg("NUMSUB").arg("cb:stasis:commands").query_async(&mut r).await.unwrap();
    assert_eq!(running, 1, "exactly one replica runs the Stasis worker (it alone takes call commands)");
}

/// `callbase status` reports the holder of each of the node's leases, and nobody for a worker no
/// replica runs.
#[tokio::test]
async fn status_names_the_holder_of_each_lease_of_the_node() {
    let node = unique("node-");
    let app = callbase_tests::TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__ASTERISK__NODE", node.as_str()),
    ])
    .await;
    let mut r = redis().await;
    let holder = wait_holder(&mut r, &format!("registrations:{node}"), None).await;
    let status = callbase_app::status::report(&app.settings).await.expect("status");
    let (_, leases) =
        status.nodes.iter().find(|(n, _)| *n == node).expect("the server's own node is reported");
    let of = |w: &str| leases.iter().find(|(name, _)| *name == w).map(|(_, h)| h.clone());
    assert_eq!(of("registrations"), Some(Some(holder)), "{status}");
    assert_eq!(of("stasis"), Some(None), "no replica of this node runs the Stasis app: {status}");
    assert!(status.open_calls.is_some_and(|n| n >= 0), "{status}");
    let text = status.to_string();
    assert!(
        text.contains("registrations") && text.contains("held by") && text.contains("not held"),
        "{text}"
    );
}

/// A holder whose renewals stop (its process paused) is no longer current once `ttl - margin` has
/// passed since it asked for the lease — before Redis lets the lease go, before any renewal fails —
/// and stays so; while it renews, it stays current past that.
#[tokio::test]
async fn a_holder_is_current_only_until_its_last_renewal_plus_ttl_minus_margin() {
    let mut r = redis().await;
    let name = unique("lease");
    let a = Lease::new(&name, "replica-a", FAST);
    let held = a.acquire(&mut r).await.unwrap().expect("a free lease is taken");
    for _ in 0..6 {
        tokio::time::sleep(FAST.renew).await;
        assert!(a.renew_held(&mut r, &held).await.unwrap(), "renewed");
    }
    assert!(held.is_current(), "renewals keep it current ({:?} after it was taken)", FAST.renew * 6);

    let t = Instant::now();
    tokio::time::sleep(FAST.ttl - FAST.margin + Duration::from_millis(50)).await;
    let late = t.elapsed();
    assert!(!held.is_current(), "no renewal for {late:?}: not current");
    let h = Lease::holder(&mut r, &name).await.unwrap().expect("Redis still has the lease");
    assert_eq!(h.owner, "replica-a", "current-ness ends before the lease does");
    tokio::time::timeout(Duration::from_millis(100), held.lost())
        .await
        .expect("lost() returns once found lost");
    assert!(!held.is_current(), "once lost, never current again");
}

/// Fencing tokens keep growing when Redis lost the counter (a restart without persistence): the
/// counter starts again from Redis's clock, above every token handed out before.
#[tokio::test]
async fn tokens_grow_even_after_redis_lost_the_fence_counter() {
    let mut r = redis().await;
    let name = unique("lease");
    let (a, b) = (Lease::new(&name, "replica-a", FAST), Lease::new(&name, "replica-b", FAST));
    let ta = a.try_acquire(&mut r).await.unwrap().expect("taken");
    assert!(a.release(&mut r, ta).await.unwrap());
    let _: () =
        redis::cmd("DEL").arg(callbase_core::keys::lease_fence(&name)).query_async(&mut r).await.unwrap();
    let tb = b.try_acquire(&mut r).await.unwrap().expect("taken again");
    assert!(tb > ta, "the token grows across the lost counter: {tb} after {ta}");
}
