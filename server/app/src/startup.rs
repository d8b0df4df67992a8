//! Builds the application from settings. Tests call [`spawn`] with port 0 and get the bound
//! address back.

use std::net::SocketAddr;

use anyhow::Context;
use callbase_telephony::lease::{Lease, LeaseConfig};

use crate::settings::Settings;

/// Turns true when the process is shutting down.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// Connects to the dependencies and builds the router. PostgreSQL is connected lazily (the server
/// starts and reports not-ready while it is down); Redis must answer at start.
/// Workers stop when `shutdown` turns true (or its sender is dropped).
pub async fn build(settings: &Settings, shutdown: Shutdown) -> anyhow::Result<callbase_api::App> {
    Ok(build_with_leases(settings, shutdown).await?.app)
}

/// What `serve` needs beside the router: the drain of its sockets and the lease tasks.
struct Parts {
    app: callbase_api::App,
    drain: callbase_api::drain::Drain,
    leases: LeaseTasks,
    /// The Redis master it connected to: `serve` exits when Sentinel names another.
    redis_master: redis::ConnectionAddr,
}

/// The tasks holding (or waiting for) this replica's leases: they end once they have given their
/// leases up after `shutdown`.
type LeaseTasks = Vec<tokio::task::JoinHandle<()>>;

async fn build_with_leases(settings: &Settings, shutdown: Shutdown) -> anyhow::Result<Parts> {
    let pool = callbase_db::lazy_pool(&settings.database.url, settings.database.max_connections)
        .context("database.url is not a valid PostgreSQL URL")?;
    // `redis.url`, or the master Redis Sentinel names (redis_master.rs).
    let redis_client = crate::redis_master::client(&settings.redis).await?;
    // While Redis is down a request must fail fast (503 `redis_unavailable`) rather than wait on the
    // connection manager's reconnect schedule; the next request tries again.
    let redis_cfg = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_connection_timeout(std::time::Duration::from_secs(2))
        .set_response_timeout(std::time::Duration::from_secs(5));
    let redis = redis_client
        .get_connection_manager_with_config(redis_cfg)
        .await
        .context("cannot connect to Redis")?;
    let store = callbase_recordings::ObjectStore::new(&settings.s3);
    let mut db = callbase_db::Db::new(pool);
    if let Some(url) = &settings.database.worker_url {
        // Trigram lookups cannot use their index under row-level security (LIKE is not
        // leakproof); they run here with an explicit tenant, and return ids only, which are then
        // read back under RLS (server/db/src/crm.rs::search_ids). The cross-tenant workers
        // (recordings, health probe) share this pool.
        db = db.with_lookup(
            callbase_db::lazy_pool(url, 6).context("database.worker_url is not a valid PostgreSQL URL")?,
        );
    }
    let nodes = callbase_telephony::nodes::Nodes::new(&settings.asterisk, db.clone());
    if settings.asterisk.ami_addr.is_none() {
        tracing::warn!("AMI is not configured: trunk status and cache expiry are off");
    }
    let redis_pair = (redis_client.clone(), redis.clone());
    let leases = start_workers(settings, &nodes, &db, &redis_pair, &store, shutdown)?;
    let cfg = callbase_api::ApiConfig {
        http: settings.http.clone(),
        auth: settings.auth.clone(),
        limits: settings.limits.clone(),
        asterisk: settings.asterisk.clone(),
        sockets: settings.sockets.clone(),
        webhooks: settings.webhooks.clone(),
        turn: settings.turn.clone(),
    };
    let state = callbase_api::AppState::new(cfg, db, redis_client, redis, store, nodes);
    let drain = state.drain.clone();
    let redis_master = state.redis_client.get_connection_info().addr.clone();
    Ok(Parts { app: callbase_api::router(state), drain, leases, redis_master })
}

/// The AMI connection of the settings' node (reconnecting in the background), when AMI is
/// configured: for the CLI's one-node commands (probe, loadgen).
pub fn start_ami(settings: &Settings) -> Option<callbase_telephony::ami::Ami> {
    let a = &settings.asterisk;
    match (&a.ami_addr, &a.ami_user, &a.ami_secret) {
        (Some(addr), Some(user), Some(secret)) => {
            Some(callbase_telephony::ami::Ami::spawn(addr.clone(), user.clone(), secret.clone()))
        }
        _ => None,
    }
}

/// This process among the replicas: host name, pid and a random part (a restarted process is a
/// new owner even with the pid it had).
fn replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{}:{}:{}", host.trim(), std::process::id(), &rand[..8])
}

/// Background workers beside the API, each switchable by `workers.*`.
fn start_workers(
    settings: &Settings,
    nodes: &callbase_telephony::nodes::Nodes,
    db: &callbase_db::Db,
    (redis_client, redis): &(redis::Client, redis::aio::ConnectionManager),
    store: &callbase_recordings::ObjectStore,
    shutdown: Shutdown,
) -> anyhow::Result<LeaseTasks> {
    let mut leases = LeaseTasks::new();
    // The singleton workers of each Asterisk node run under leases: any number of replicas start
    // them, exactly one runs each at a time, and another takes over when it stops or dies
    // (server/telephony/src/lease.rs, docs/operations.md). The node of the settings is registered
    // first, so the supervisor finds it in the registry.
    let owner = replica_id();
    let shared = crate::node_workers::Shared {
        settings: std::sync::Arc::new(settings.clone()),
        db: db.clone(),
        redis_client: redis_client.clone(),
        redis: redis.clone(),
        owner: owner.clone(),
        media_base: media_base(settings),
    };
    let register = match (settings.asterisk.register, db.lookup()) {
        (true, Some(worker)) => Some(worker.clone()),
        (true, None) => {
            tracing::warn!("database.worker_url is not set: this server does not register its Asterisk node");
            None
        }
        (false, _) => None,
    };
    {
        let (nodes, shutdown) = (nodes.clone(), shutdown.clone());
        leases.push(tokio::spawn(async move {
            if let Some(pool) = register {
                // PostgreSQL may still be starting: try until it answers (or we stop). Any other
                // refusal (another node has this role) is the operator's to fix: said, not retried.
                loop {
                    match nodes.register_configured(&pool).await {
                        Ok(()) => break,
                        Err(e) if callbase_db::unavailable(&e) => {
                            tracing::warn!(error = %e, "cannot register this server's Asterisk node yet; retrying");
                            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                            if *shutdown.borrow() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, node = %nodes.configured().id(), "this server's Asterisk node cannot be registered");
                            break;
                        }
                    }
                }
            }
            crate::node_workers::supervise(nodes, shared, shutdown).await
        }));
    }
    if let (crate::settings::NodesToRun::All, true, Some(pool)) =
        (settings.workers.nodes, settings.workers.node_down_secs > 0, db.lookup())
    {
        // One replica watches every node and moves the tenants of a dead one.
        let (nodes, pool) = (nodes.clone(), pool.clone());
        let cfg = callbase_telephony::failover::FailoverConfig {
            every: std::time::Duration::from_secs(2),
            down_after: std::time::Duration::from_secs(settings.workers.node_down_secs),
        };
        let lease = Lease::new("nodes-watch", &owner, LeaseConfig::default());
        leases.push(tokio::spawn(lease.run(redis.clone(), shutdown.clone(), move |_held, stop| {
            callbase_telephony::failover::run(nodes.clone(), pool.clone(), cfg, stop)
        })));
    }
    if settings.workers.import_expiry {
        match db.lookup() {
            Some(pool) => {
                tokio::spawn(expire_imports(
                    pool.clone(),
                    std::time::Duration::from_secs(3600),
                    shutdown.clone(),
                ));
            }
            None => tracing::warn!(
                "database.worker_url is not set: unrun CRM import files are deleted only when asked for"
            ),
        }
    }
    if settings.workers.webhooks {
        match db.lookup() {
            Some(pool) => {
                let (alert_db, alert_redis) = (db.clone(), redis.clone());
                let notify: callbase_hooks::worker::Notify = std::sync::Arc::new(move |tenant, message| {
                    let (db, redis) = (alert_db.clone(), alert_redis.clone());
                    Box::pin(async move {
                        let a = callbase_db::fraud::NewAlert {
                            kind: "webhook_disabled",
                            level: "warning",
                            message: &message,
                            user: None,
                            country_code: None,
                        };
                        if let Err(e) = callbase_telephony::fraud::raise(&db, &redis, tenant, &a).await {
                            tracing::warn!(error = %e, tenant.id = %tenant, "cannot raise the alert of a disabled webhook");
                        }
                    })
                });
                let w = callbase_hooks::worker::Worker {
                    pool: pool.clone(),
                    cfg: settings.webhooks.clone(),
                    public_base: public_base(settings),
                    notify: Some(notify),
                };
                tokio::spawn(w.run(shutdown.clone()));
            }
            None => tracing::warn!("database.worker_url is not set: webhooks are queued but not delivered"),
        }
    }
    if settings.workers.recordings {
        match db.lookup() {
            Some(pool) => {
                let pool = pool.clone();
                let cfg = settings.recordings.clone();
                let every = std::time::Duration::from_secs(cfg.retention_every_secs.max(1));
                let up = callbase_recordings::uploader::Uploader {
                    pool: pool.clone(),
                    // Asterisk is where recordings come from (telephony implements the source).
                    source: nodes.clone(),
                    store: store.clone(),
                    cfg,
                };
                tokio::spawn(up.run(shutdown.clone()));
                tokio::spawn(callbase_recordings::retention::run_retention(
                    pool,
                    store.clone(),
                    every,
                    shutdown,
                ));
            }
            None => tracing::warn!(
                "database.worker_url is not set: recordings are not uploaded and retention does not run"
            ),
        }
    }
    Ok(leases)
}

/// Deletes CRM import files left unrun for a day, at start and then every `every`.
async fn expire_imports(pool: sqlx::PgPool, every: std::time::Duration, mut shutdown: Shutdown) {
    loop {
        match callbase_crm::import::expire_all(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(imports = n, "expired unrun CRM import files"),
            Err(e) => tracing::warn!(error = %e, "CRM import expiry failed; next time"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Where the links in webhook messages point: the public origin, or the server's own address.
fn public_base(settings: &Settings) -> String {
    if let Some(o) = &settings.http.public_origin {
        return o.trim_end_matches('/').to_string();
    }
    let a = settings.http.addr;
    let host = if a.ip().is_unspecified() { "127.0.0.1".to_string() } else { a.ip().to_string() };
    format!("http://{host}:{}", a.port())
}

/// Where Asterisk fetches media the server serves: the configured URL, or the server's own address.
fn media_base(settings: &Settings) -> Option<String> {
    if let Some(u) = &settings.asterisk.media_base_url {
        return Some(u.as_str().trim_end_matches('/').to_string());
    }
    let a = settings.http.addr;
    let host = if a.ip().is_unspecified() { "127.0.0.1".to_string() } else { a.ip().to_string() };
    Some(format!("http://{host}:{}", a.port()))
}

/// Binds `settings.http.addr` and serves in the background; returns the bound address.
pub async fn spawn(
    settings: &Settings,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.addr))?;
    let addr = listener.local_addr()?;
    // Port 0 (tests): the workers must know the real port.
    let mut settings = settings.clone();
    settings.http.addr = addr;
    let app = build(&settings, shutdown).await?;
    let handle = tokio::spawn(async move {
        // The workers live as long as this server task.
        let _stop = stop;
        callbase_api::serve(listener, app, std::future::pending()).await
    });
    Ok((addr, handle))
}

/// Serves until SIGINT/SIGTERM, then drains (docs/operations.md, "Rolling deploys"), all within
/// `http.drain_secs`: `/readyz` turns 503 and new sockets are refused at once, the workers stop and
/// hand their leases over, requests are still accepted for `http.drain_notice_ms` (the load
/// balancer's health check notices meanwhile), then the listener closes and in-flight requests
/// finish; last, the `/events` and `/sip` sockets are closed with 1012 and the process exits.
/// Gives the memory that building the app used and freed (the OpenAPI document's structs, the
/// routes' builders: ~5 MB) back to the system. glibc keeps freed memory below the heap's live top
/// for reuse, so without this the idle server held it for its life (RSS 10.8 MB of heap and stacks,
/// 5.8 MB after: docs/benchmarks.md, records.zip). Other allocators return memory themselves.
#[allow(unsafe_code)] // One FFI call into glibc; no library wraps malloc_trim.
fn release_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it takes the allocator's locks
    // and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub async fn serve(settings: &Settings) -> anyhow::Result<()> {
    use std::time::Duration;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let Parts { app, drain, leases, redis_master } = build_with_leases(settings, shutdown).await?;
    release_startup_memory();
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.addr))?;
    tracing::info!(addr = %listener.local_addr()?, "callbase listening");
    let (stop_accepting, accepting) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(callbase_api::serve(listener, app, async {
        let _ = accepting.await;
    }));
    // A Redis failover ends this process like SIGTERM, then exits non-zero: the supervisor starts
    // it again against the new master (redis_master.rs).
    let mut moved = None;
    tokio::select! {
        r = &mut server => return Ok(r??),
        _ = shutdown_signal() => {}
        to = crate::redis_master::moved(&settings.redis, &redis_master) => {
            tracing::warn!(from = %redis_master, to = %to, "Sentinel names another Redis master: draining to restart");
            moved = Some(to);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(settings.http.drain_secs);
    drain.start();
    // Hand the leases over now: another replica takes the workers at once instead of after the
    // lease's TTL (a worker gets 5 s to stop, see lease.rs).
    let _ = stop.send(true);
    let leases = tokio::spawn(futures_util::future::join_all(leases));
    tracing::info!(sockets = drain.open_sockets(), "draining: not ready, no new sockets");
    let notice = Duration::from_millis(settings.http.drain_notice_ms);
    tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + notice)).await;
    let _ = stop_accepting.send(());
    // In-flight requests finish (keep-alive connections close once idle). The sockets get a
    // moment at the end to send their close frames.
    let sockets_time = Duration::from_secs(1).min(Duration::from_secs(settings.http.drain_secs) / 4);
    if tokio::time::timeout_at(deadline - sockets_time, &mut server).await.is_err() {
        tracing::warn!("in-flight requests still running at the end of the drain time: they are cut");
        server.abort();
    }
    drain.close_sockets();
    if tokio::time::timeout_at(deadline, drain.sockets_closed()).await.is_err() {
        tracing::warn!(sockets = drain.open_sockets(), "sockets still open at the end of the drain time");
    }
    let _ = tokio::time::timeout_at(deadline, leases).await;
    tracing::info!("drained");
    match moved {
        Some(to) => anyhow::bail!("the Redis master moved to {to}: restart to connect to it"),
        None => Ok(()),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
