//! Builds the application from settings. Tests call [`spawn`] with port 0 and get the bound
//! address back.

use std::net::SocketAddr;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::settings::Settings;

/// Connects to the dependencies and builds the router. PostgreSQL is connected lazily (the server
/// starts and reports not-ready while it is down); Redis must answer at start.
pub async fn build(settings: &Settings) -> anyhow::Result<callbase_api::App> {
    let pool = callbase_db::lazy_pool(&settings.database.url, settings.database.max_connections)
        .context("database.url is not a valid PostgreSQL URL")?;
    let redis = redis::Client::open(settings.redis.url.expose_secret())
        .context("redis.url is not a valid Redis URL")?
        .get_connection_manager()
        .await
        .context("cannot connect to Redis")?;
    let store = callbase_recordings::ObjectStore::new(&settings.s3);
    let ari = callbase_telephony::ari::Ari::new(&settings.asterisk);
    let cfg = callbase_api::ApiConfig { http: settings.http.clone(), auth: settings.auth.clone() };
    let state = callbase_api::AppState::new(cfg, callbase_db::Db::new(pool), redis, store, ari);
    Ok(callbase_api::router(state))
}

/// Binds `settings.http.addr` and serves in the background; returns the bound address.
pub async fn spawn(settings: &Settings) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let app = build(settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.addr))?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(callbase_api::serve(listener, app, std::future::pending()));
    Ok((addr, handle))
}

/// Serves until SIGINT/SIGTERM, then finishes in-flight requests.
pub async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let app = build(settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.addr))?;
    tracing::info!(addr = %listener.local_addr()?, "callbase listening");
    callbase_api::serve(listener, app, shutdown_signal()).await?;
    Ok(())
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
