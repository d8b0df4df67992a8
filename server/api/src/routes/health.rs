//! Liveness, readiness and metrics.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The process is alive (no dependency checks).
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    pub ok: bool,
    pub ms: u64,
    /// Why the check failed (no secrets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub postgres: Check,
    pub redis: Check,
    pub s3: Check,
    pub ari: Check,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every dependency answers, else `degraded`; `draining` while the replica stops
    /// (SIGTERM), without checks.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Checks>,
}

async fn timed<F, E>(f: F) -> Check
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let start = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(3), f).await;
    let ms = start.elapsed().as_millis() as u64;
    match r {
        Ok(Ok(())) => Check { ok: true, ms, error: None },
        Ok(Err(e)) => Check { ok: false, ms, error: Some(e.to_string()) },
        Err(_) => Check { ok: false, ms, error: Some("timed out after 3 s".into()) },
    }
}

/// Each dependency (PostgreSQL, Redis, S3, Asterisk ARI) checked concurrently; 503 if any is down.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(st): State<AppState>) -> axum::response::Response {
    if st.drain.draining() {
        // Stopping (SIGTERM): not ready at once, whatever the dependencies say, so the load
        // balancer sends new work elsewhere (docs/operations.md, "Rolling deploys").
        let body = Readiness { status: "draining".into(), checks: None };
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let pg = timed(st.db.ping());
    let redis = timed(crate::limits::ping(&st.redis));
    let s3 = timed(st.store.check());
    let ari = timed(async { st.nodes.configured().ari.info().await.map(|_| ()) });
    let (postgres, redis, s3, ari) = tokio::join!(pg, redis, s3, ari);
    let all = postgres.ok && redis.ok && s3.ok && ari.ok;
    for (name, c) in [("postgres", &postgres), ("redis", &redis), ("s3", &s3), ("ari", &ari)] {
        metrics::gauge!("callbase_dependency_up", "dependency" => name).set(if c.ok { 1.0 } else { 0.0 });
    }
    let status = if all { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Readiness {
        status: if all { "ok" } else { "degraded" }.into(),
        checks: Some(Checks { postgres, redis, s3, ari }),
    };
    (status, Json(body)).into_response()
}

/// Prometheus text exposition, for the holder of `http.metrics_token` only: the series carry
/// tenant ids (probe results per tenant, routes), which are nobody else's business. Without a
/// configured token the endpoint is not served (404); a missing or wrong token answers 401.
pub async fn metrics(State(st): State<AppState>, headers: axum::http::HeaderMap) -> axum::response::Response {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    // An empty token (`CALLBASE__HTTP__METRICS_TOKEN=`) is no token.
    let Some(token) = st.cfg.http.metrics_token.as_ref().filter(|t| !t.expose_secret().is_empty()) else {
        return crate::error::ApiError::NotFound.into_response();
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = token.expose_secret();
    if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        let mut resp = crate::error::ApiError::Unauthenticated.into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        return resp;
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render()).into_response()
}
