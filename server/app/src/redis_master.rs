//! The Redis master: `redis.url` itself, or the master Redis Sentinel names (`redis.sentinels`,
//! `redis.master_name`), asked through redis-rs's Sentinel client.
//!
//! redis-rs (0.27) asks Sentinel once and hands back a client bound to the master's address; the
//! connection manager built on it reconnects to that address only. After a failover the old master
//! is a replica (writes answer `READONLY`) or gone, so a server keeping its clients would fail its
//! writes until restarted. The server therefore keeps asking Sentinel while it serves and, when
//! Sentinel names another master, drains and exits (`startup::serve`): its supervisor (Kubernetes,
//! systemd) starts it again against the new master, and its `/events` and `/sip` clients reconnect
//! and resync, which they must anyway: Redis pub/sub messages do not survive a failover.

use std::time::Duration;

use anyhow::Context;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, TlsMode};
use secrecy::ExposeSecret;

use crate::settings::RedisConfig;

/// A client for the Redis master: `redis.url`, or the master Sentinel names with the URL's user,
/// password and database.
pub async fn client(cfg: &RedisConfig) -> anyhow::Result<redis::Client> {
    let info = url_info(cfg)?;
    let addrs = cfg.sentinel_addrs();
    if addrs.is_empty() {
        return redis::Client::open(info).context("redis.url is not a valid Redis URL");
    }
    let mut sentinel = sentinel(&addrs)?;
    let master = ask(&mut sentinel, cfg, &info).await.with_context(|| {
        format!("no Redis master '{}' from the Sentinels {}", cfg.master_name, cfg.sentinels)
    })?;
    tracing::info!(master = %master.get_connection_info().addr, name = %cfg.master_name, "Redis master named by Sentinel");
    Ok(master)
}

/// Resolves with the new master's address once Sentinel names a master other than `current`;
/// never when the master is not learnt from Sentinel.
pub async fn moved(cfg: &RedisConfig, current: &ConnectionAddr) -> ConnectionAddr {
    let addrs = cfg.sentinel_addrs();
    let (Ok(info), false) = (url_info(cfg), addrs.is_empty()) else {
        return std::future::pending().await;
    };
    let Ok(mut sentinel) = sentinel(&addrs) else {
        return std::future::pending().await;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(cfg.sentinel_check_secs.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        match ask(&mut sentinel, cfg, &info).await {
            Ok(master) if master.get_connection_info().addr != *current => {
                return master.get_connection_info().addr.clone();
            }
            Ok(_) => failing = false,
            // During a failover Sentinel may name no master that answers as one for a moment.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, name = %cfg.master_name, "Sentinel names no Redis master now");
            }
            Err(_) => {}
        }
    }
}

fn url_info(cfg: &RedisConfig) -> anyhow::Result<ConnectionInfo> {
    cfg.url.expose_secret().into_connection_info().context("redis.url is not a valid Redis URL")
}

fn sentinel(addrs: &[&str]) -> anyhow::Result<Sentinel> {
    let urls: Vec<String> = addrs.iter().map(|a| format!("redis://{a}")).collect();
    Sentinel::build(urls).context("redis.sentinels must be host:port separated by commas")
}

/// The master Sentinel names for `redis.master_name`, once it answers to `ROLE` as a master.
async fn ask(
    sentinel: &mut Sentinel,
    cfg: &RedisConfig,
    info: &ConnectionInfo,
) -> redis::RedisResult<redis::Client> {
    let tls_mode = match &info.addr {
        ConnectionAddr::TcpTls { insecure: true, .. } => Some(TlsMode::Insecure),
        ConnectionAddr::TcpTls { .. } => Some(TlsMode::Secure),
        _ => None,
    };
    let node = SentinelNodeConnectionInfo { tls_mode, redis_connection_info: Some(info.redis.clone()) };
    sentinel.async_master_for(&cfg.master_name, Some(&node)).await
}
