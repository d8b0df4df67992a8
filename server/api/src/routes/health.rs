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
    /// Asterisk: ok while at least one node's ARI answers (the first that did, or the last error).
    pub ari: Check,
    /// Each Asterisk node this replica knows (issue #17): one dead node does not make the replica
    /// unready — its tenants are moved to the others (docs/operations.md, "Asterisk nodes").
    pub nodes: Vec<NodeCheck>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeCheck {
    pub id: String,
    /// The registry's state of the node: live, draining or down.
    pub state: String,
    #[serde(flatten)]
    pub check: Check,
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

/// Each dependency (PostgreSQL, Redis, S3, the ARI of every known Asterisk node) checked
/// concurrently; 503 if PostgreSQL, Redis or S3 is down, or no Asterisk node answers.
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
    let known = st.nodes.known();
    let nodes = futures_util::future::join_all(known.iter().map(|n| async {
        let check = timed(async { n.ari.info().await.map(|_| ()) }).await;
        metrics::gauge!("callbase_node_up", "node" => n.id().to_owned()).set(if check.ok {
            1.0
        } else {
            0.0
        });
        NodeCheck { id: n.id().to_owned(), state: n.row.state.clone(), check }
    }));
    let (postgres, redis, s3, nodes) = tokio::join!(pg, redis, s3, nodes);
    let ari = nodes
        .iter()
        .find(|n| n.check.ok)
        .or(nodes.last())
        .map(|n| Check { ok: n.check.ok, ms: n.check.ms, error: n.check.error.clone() })
        .unwrap_or(Check { ok: false, ms: 0, error: Some("no Asterisk node is known".into()) });
    let all = postgres.ok && redis.ok && s3.ok && ari.ok;
    for (name, c) in [("postgres", &postgres), ("redis", &redis), ("s3", &s3), ("ari", &ari)] {
        metrics::gauge!("callbase_dependency_up", "dependency" => name).set(if c.ok { 1.0 } else { 0.0 });
    }
    let status = if all { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Readiness {
        status: if all { "ok" } else { "degraded" }.into(),
        checks: Some(Checks { postgres, redis, s3, ari, nodes }),
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
