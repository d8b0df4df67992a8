//! The HTTP edge of callbase: the only crate that knows axum.

pub mod auth;
pub mod drain;
pub mod edge;
pub mod error;
pub mod extract;
pub mod hub;
pub mod json;
pub mod limits;
pub mod routes;
pub mod sip;
pub mod sip_dialogs;
pub mod sockets;
pub mod turn;

pub use sockets::SocketsConfig;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::ApiError;

/// HTTP settings (`CALLBASE__HTTP__*`).
#[derive(Debug, Clone, Deserialize)]
pub struct HttpConfig {
    #[serde(default = "default_addr")]
    pub addr: SocketAddr,
    /// The origin users reach the app at, e.g. `https://callbase.example.com`. Requests whose
    /// `Origin` matches it (or the request's own Host) pass the CSRF origin check.
    pub public_origin: Option<String>,
    /// Built `web/` to serve (`web/dist`); nothing is served at `/` when unset.
    pub static_dir: Option<PathBuf>,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Largest accepted request body in bytes.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Bearer token Prometheus must send for `/metrics` (`Authorization: Bearer …`). The metrics
    /// carry per-tenant labels, so without a token `/metrics` is not served at all (404).
    pub metrics_token: Option<secrecy::SecretString>,
    /// Bearer token of the platform operator's API (`/platform/…`: nodes, moves). Without it
    /// that API is not served (404).
    #[serde(default)]
    pub platform_token: Option<secrecy::SecretString>,
    /// The longest a graceful stop (SIGTERM) takes, from the signal to the exit: in-flight
    /// requests that are not done by then are cut. Keep it below the orchestrator's kill timeout
    /// (Kubernetes' default grace period is 30 s).
    #[serde(default = "default_drain_secs")]
    pub drain_secs: u64,
    /// How long a stopping replica keeps accepting requests after `/readyz` turned 503, so the load
    /// balancer's health check sees it before connections are refused.
    #[serde(default = "default_drain_notice_ms")]
    pub drain_notice_ms: u64,
}

fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_drain_secs() -> u64 {
    20
}
fn default_drain_notice_ms() -> u64 {
    2000
}
fn default_body_limit() -> usize {
    1024 * 1024
}

impl HttpConfig {
    pub fn allowed_origins(&self) -> Vec<String> {
        self.public_origin.iter().map(|o| o.trim_end_matches('/').to_string()).collect()
    }
}

/// Session and login settings (`CALLBASE__AUTH__*`).
#[derive(Debug, Clone, Deserialize)]
pub struct AuthConfig {
    /// Serve cookies with `Secure` and the `__Host-` prefix (set when behind HTTPS).
    #[serde(default)]
    pub cookie_secure: bool,
    /// A session ends after this many minutes without a request.
    #[serde(default = "default_idle")]
    pub idle_minutes: u64,
    /// A session ends this many hours after login, active or not.
    #[serde(default = "default_absolute")]
    pub absolute_hours: i64,
    /// Failed logins per account+login before the growing delay starts.
    #[serde(default = "default_account_threshold")]
    pub account_failure_threshold: i64,
    /// Failed logins per client IP before the growing delay starts.
    #[serde(default = "default_ip_threshold")]
    pub ip_failure_threshold: i64,
}

fn default_idle() -> u64 {
    120
}
fn default_absolute() -> i64 {
    24
}
fn default_account_threshold() -> i64 {
    5
}
fn default_ip_threshold() -> i64 {
    5
}

impl Default for AuthConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("all auth settings have defaults")
    }
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub limits: limits::LimitsConfig,
    pub asterisk: callbase_telephony::AsteriskConfig,
    pub sockets: SocketsConfig,
    pub webhooks: callbase_hooks::WebhooksConfig,
    /// TURN for the browser phone (`turn.rs`).
    pub turn: turn::TurnConfig,
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<ApiConfig>,
    pub db: callbase_db::Db,
    pub redis: redis::aio::ConnectionManager,
    /// For pub/sub connections (`/events`); commands go through `redis`.
    pub redis_client: redis::Client,
    pub sessions: auth::session::Sessions,
    pub throttle: auth::throttle::Throttle,
    /// Device cookies: browsers that signed in as a user before skip that user's account lockout.
    pub devices: auth::device::Devices,
    pub store: callbase_recordings::ObjectStore,
    /// The Asterisk nodes: each tenant's telephony changes, registration checks and `/sip`
    /// sockets go to its node (`nodes.of_tenant`).
    pub nodes: callbase_telephony::nodes::Nodes,
    pub metrics: PrometheusHandle,
    /// Open `/sip` sockets, to close a phone when its user loses telephony.
    pub phones: sip::PhoneSockets,
    /// Caps and revocation of the `/events` and `/sip` sockets (across replicas).
    pub sockets: sockets::Sockets,
    /// This replica's one subscription to every tenant's events, fanned out to its `/events` sockets.
    pub hub: hub::Hub,
    /// This replica's graceful drain (SIGTERM): readiness, new sockets, closing the open ones.
    pub drain: drain::Drain,
}

impl AppState {
    pub fn new(
        cfg: ApiConfig,
        db: callbase_db::Db,
        redis_client: redis::Client,
        redis: redis::aio::ConnectionManager,
        store: callbase_recordings::ObjectStore,
        nodes: callbase_telephony::nodes::Nodes,
    ) -> Self {
        let sessions = auth::session::Sessions::new(
            redis.clone(),
            cfg.auth.idle_minutes * 60,
            cfg.auth.absolute_hours * 3600,
        );
        let throttle = auth::throttle::Throttle::new(
            redis.clone(),
            cfg.auth.account_failure_threshold,
            cfg.auth.ip_failure_threshold,
        );
        let devices = auth::device::Devices::new(redis.clone(), cfg.auth.cookie_secure);
        let sockets = sockets::Sockets::new(cfg.sockets.clone(), redis.clone());
        sockets.listen(redis_client.clone());
        Self {
            hub: hub::Hub::start(redis_client.clone()),
            drain: drain::Drain::new(),
            phones: sip::PhoneSockets::new(sockets.clone()),
            sockets,
            cfg: Arc::new(cfg),
            db,
            redis,
            redis_client,
            sessions,
            throttle,
            devices,
            store,
            nodes,
            metrics: metrics_handle(),
        }
    }
}

/// The process-wide Prometheus recorder (installed once, shared by every app in the process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding program); then our
            // handle renders only what we record through it, which is still correct output.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "callbase API", description = "Multi-tenant browser phone with CRM telephony"),
    tags((name = "auth"), (name = "users"), (name = "groups"), (name = "trunks"), (name = "telephony"), (name = "phone"), (name = "crm"), (name = "reports"), (name = "security"), (name = "health"),
        (name = "integrations", description = "API keys, webhooks and the screen-pop URL (administrators, signed in)"),
        (name = "public API", description = "`/api/v1`: for other systems, with an API key (`Authorization: Bearer cbk_…`); lists page with cursors")),
    // The `/events` messages: not a route's body, listed so clients can generate their types.
    components(schemas(callbase_core::events::Event)),
    modifiers(&ApiKeyScheme)
)]
struct ApiDoc;

/// The public API's security scheme: `Authorization: Bearer cbk_…` (Settings → Integrations).
struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("cbk_<account id>_<secret>")
            .description(Some("An API key from Settings → Integrations; each route names the scope it needs"))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

/// The OpenAPI document generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_parts().1
}

/// The API routes and their document, with the errors every route shares added to each operation.
fn api_parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = api_router().split_for_parts();
    utoipa::Modify::modify(&edge::EdgeResponses, &mut doc);
    (router, doc)
}

fn api_router() -> OpenApiRouter<AppState> {
    use routes::{
        audit, auth, calls, crm, dial_rules, groups, integrations, phone, probe, reports, security,
        telephony, trunks, two_factor, users, v1,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::csrf))
        .routes(routes!(auth::signup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::patch))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::patch, groups::delete))
        .routes(routes!(trunks::list, trunks::create))
        .routes(routes!(trunks::update, trunks::delete))
        .routes(routes!(trunks::reorder))
        .routes(routes!(audit::list))
        .routes(routes!(two_factor::status))
        .routes(routes!(two_factor::setup))
        .routes(routes!(two_factor::enable))
        .routes(routes!(two_factor::disable))
        .routes(routes!(two_factor::set_policy))
        .routes(routes!(trunks::presets))
        .routes(routes!(trunks::rewrite_preview))
        .routes(routes!(dial_rules::get, dial_rules::put))
        .routes(routes!(dial_rules::preview))
        .routes(routes!(telephony::get))
        .routes(routes!(telephony::enable))
        .routes(routes!(telephony::disable))
        .routes(routes!(telephony::users::list_users, telephony::users::create_user))
        .routes(routes!(telephony::users::patch_user, telephony::users::delete_user))
        .routes(routes!(telephony::users::new_password))
        .routes(routes!(telephony::users::get_provisioning, telephony::users::put_provisioning))
        .routes(routes!(telephony::me::phone_setup))
        .routes(routes!(telephony::me::phone_setup_password))
        .routes(routes!(telephony::states::get_mine, telephony::states::put_mine))
        .routes(routes!(telephony::states::list))
        .routes(routes!(telephony::board::get))
        .routes(routes!(telephony::supervise::supervise))
        .routes(routes!(telephony::supervise::list))
        .routes(routes!(telephony::speed_dials::list, telephony::speed_dials::create))
        .routes(routes!(telephony::speed_dials::update, telephony::speed_dials::delete))
        .routes(routes!(telephony::speed_dials::mine))
        .routes(routes!(telephony::states::get_settings, telephony::states::put_settings))
        .routes(routes!(phone::session))
        .routes(routes!(phone::status))
        .routes(routes!(telephony::preflight::save))
        .routes(routes!(telephony::preflight::list))
        .routes(routes!(calls::actions::transfer))
        .routes(routes!(calls::actions::consult))
        .routes(routes!(calls::actions::end_consult))
        .routes(routes!(calls::actions::park))
        .routes(routes!(telephony::parked::parked))
        .routes(routes!(telephony::blocklist::list, telephony::blocklist::add))
        .routes(routes!(telephony::blocklist::remove))
        .routes(routes!(telephony::colleagues::colleagues))
        .routes(routes!(calls::actions::pause_recording))
        .routes(routes!(calls::actions::callback))
        .routes(routes!(calls::media::media))
        .routes(routes!(calls::media::put_quality, calls::media::get_quality))
        .routes(routes!(calls::history::list))
        .routes(routes!(calls::history::export_csv))
        .routes(routes!(reports::agents))
        .routes(routes!(reports::queues))
        .routes(routes!(reports::trunks))
        .routes(routes!(reports::timeline))
        .routes(routes!(reports::heatmap))
        .routes(routes!(reports::export::export))
        .routes(routes!(reports::dashboard::dashboard))
        .routes(routes!(integrations::list_keys, integrations::create_key))
        .routes(routes!(integrations::revoke_key))
        .routes(routes!(integrations::webhooks::list, integrations::webhooks::create))
        .routes(routes!(integrations::webhooks::patch, integrations::webhooks::delete))
        .routes(routes!(integrations::webhooks::rotate))
        .routes(routes!(integrations::webhooks::test))
        .routes(routes!(integrations::webhooks::deliveries))
        .routes(routes!(integrations::webhooks::replay))
        .routes(routes!(integrations::screen_pop::get, integrations::screen_pop::put))
        .routes(routes!(integrations::screen_pop::for_call))
        .routes(routes!(v1::list_calls, v1::place_call))
        .routes(routes!(v1::get_call))
        .routes(routes!(v1::call_recording))
        .routes(routes!(v1::recording_link))
        .routes(routes!(v1::directory::list_users))
        .routes(routes!(v1::directory::list_records, v1::directory::create_record))
        .routes(routes!(v1::directory::get_record, v1::directory::patch_record))
        .routes(routes!(v1::directory::list_webhooks, v1::directory::create_webhook))
        .routes(routes!(v1::directory::patch_webhook, v1::directory::delete_webhook))
        .routes(routes!(v1::directory::webhook_deliveries))
        .routes(routes!(v1::directory::replay_webhook))
        .routes(routes!(calls::recording::audit_list))
        .routes(routes!(calls::recording::zip))
        .routes(routes!(calls::history::get, calls::history::patch))
        .routes(routes!(calls::recording::recording))
        .routes(routes!(calls::recording::get_settings, calls::recording::put_settings))
        .routes(routes!(telephony::routing::get_routing, telephony::routing::put_routing))
        .routes(routes!(probe::history, probe::put_settings))
        .routes(routes!(security::get_settings, security::put_settings))
        .routes(routes!(security::alerts))
        .routes(routes!(security::allow_country))
        .routes(routes!(security::disallow_country))
        .routes(routes!(crm::tables::list_tables, crm::tables::create_table))
        .routes(routes!(crm::tables::patch_table, crm::tables::delete_table))
        .routes(routes!(crm::tables::create_field))
        .routes(routes!(crm::tables::patch_field, crm::tables::delete_field))
        .routes(routes!(crm::records::list_records, crm::records::create_record))
        .routes(routes!(crm::records::get_record, crm::records::patch_record, crm::records::delete_record))
        .routes(routes!(crm::records::export_csv))
        .routes(routes!(crm::card::lookup))
        .routes(routes!(crm::records::user_names))
        .routes(routes!(crm::card::call_card))
        .routes(routes!(crm::card::client_from_call))
        .routes(routes!(crm::card::attach_to_record))
        .routes(routes!(crm::settings::get_settings, crm::settings::put_settings))
        .routes(routes!(crm::import::get))
        .routes(routes!(crm::import::run))
        .routes(routes!(crm::import::upload).layer(DefaultBodyLimit::max(crm::import::FILE_MAX_BYTES)))
        .routes(
            routes!(telephony::routing::put_greeting, telephony::routing::delete_greeting)
                .layer(DefaultBodyLimit::max(telephony::routing::GREETING_MAX_BYTES)),
        )
        .routes(routes!(telephony::hours::get, telephony::hours::put))
        .routes(routes!(telephony::hours::now))
        .routes(routes!(telephony::queues::list, telephony::queues::create))
        .routes(routes!(telephony::queues::update, telephony::queues::remove))
        .routes(routes!(telephony::queues::first_steps))
        .routes(routes!(telephony::queues::set_first_step))
        .routes(routes!(telephony::menus::list, telephony::menus::create))
        .routes(routes!(telephony::menus::update, telephony::menus::remove))
        .routes(
            routes!(telephony::menus::put_greeting, telephony::menus::delete_greeting)
                .layer(DefaultBodyLimit::max(telephony::routing::GREETING_MAX_BYTES)),
        )
        .routes(
            routes!(telephony::hours::put_greeting, telephony::hours::delete_greeting)
                .layer(DefaultBodyLimit::max(telephony::routing::GREETING_MAX_BYTES)),
        )
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

/// The Content-Security-Policy of every response. No inline script or style and no `eval`: the
/// built web app is one module script and one stylesheet from `/assets` (Vite), Preact sets styles
/// through the CSSOM (not governed by `style-src`). `data:` images are the phone-setup QR code,
/// `blob:` media the microphone test's playback. `connect-src 'self'` covers `/events` and `/sip`
/// (CSP 3 matches ws/wss of the same host); the configured public origin's ws/wss form is added
/// for browsers that do not.
fn content_security_policy(public_origin: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(o) = public_origin {
        let ws = o.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
        if ws.starts_with("ws://") || ws.starts_with("wss://") {
            connect.push(' ');
            connect.push_str(&ws);
        }
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; \
         connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The phone needs the microphone and (for headset buttons) WebHID, on our own pages only; nothing
/// else a page could ask for.
const PERMISSIONS_POLICY: &str =
    "microphone=(self), hid=(self), camera=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()";

/// HSTS for two years, sent only in secure mode (`auth.cookie_secure`: the server is reached over
/// HTTPS), since browsers ignore it over plain HTTP and it must not pin a plain-HTTP dev setup.
const HSTS: &str = "max-age=63072000";

/// Rejections that axum answers itself (a body over the limit on a raw-bytes route, a path or query
/// that does not parse) come as `text/plain`; every client of ours expects the JSON error of
/// `error.rs`. This turns such 4xx answers into it, keeping the status.
async fn json_errors(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let resp = next.run(req).await;
    let status = resp.status();
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return resp;
    }
    let code = match status {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        axum::http::StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        axum::http::StatusCode::NOT_FOUND => "not_found",
        axum::http::StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        _ => "bad_request",
    };
    let message = match axum::body::to_bytes(resp.into_body(), 64 * 1024).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status.canonical_reason().unwrap_or("bad request").to_string(),
    };
    ApiError::BadRequest { status, code, message }.into_response()
}

/// Counts requests and their latency by matched route (not raw path: ids would explode the label
/// set).
async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    resp
}

/// The built HTTP application (so other crates need not depend on axum).
pub type App = Router;

/// Builds the whole HTTP app.
pub fn router(st: AppState) -> Router {
    let (api, openapi) = api_parts();
    // Served as the JSON it is, serialized once: as utoipa's structs the document (every operation
    // and schema) held megabytes for the process's life, and each request cloned it all.
    let openapi =
        axum::body::Bytes::from(serde_json::to_vec(&openapi).expect("the OpenAPI document serializes"));
    let openapi_json = move || {
        let body = openapi.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body) }
    };
    let api = api
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/{*rest}", any(api_not_found))
        .route("/events", get(routes::events::events))
        .route("/sip", get(sip::sip))
        .layer(middleware::map_response(edge::json_rejections))
        .layer(middleware::from_fn_with_state(st.clone(), auth::protect));

    let mut app = Router::new()
        .merge(api)
        .route("/media/greetings/{name}", get(routes::telephony::routing::media_greeting))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::metrics))
        .route("/platform/nodes", get(routes::platform::nodes))
        .route("/platform/nodes/{id}/state", axum::routing::put(routes::platform::set_state))
        .route("/platform/tenants/{id}/node", axum::routing::put(routes::platform::move_tenant));
    if let Some(dir) = &st.cfg.http.static_dir {
        // The SPA: files as they are, any other path gets index.html (client-side routing).
        let spa = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
        app = app.fallback_service(spa);
    }
    let x_request_id = HeaderName::from_static("x-request-id");
    let csp = content_security_policy(st.cfg.http.public_origin.as_deref().map(|o| o.trim_end_matches('/')));
    let csp = HeaderValue::from_str(&csp).expect("the CSP is a valid header value");
    let hsts = st.cfg.auth.cookie_secure.then(|| HeaderValue::from_static(HSTS));
    app.layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(track_metrics))
        .layer(DefaultBodyLimit::max(st.cfg.http.body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(HeaderName::from_static("content-security-policy"), csp))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(HeaderName::from_static("strict-transport-security"), hsts))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", method = %req.method(), route = route.as_deref().unwrap_or(req.uri().path()), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(st)
}

/// Serves `app` on `listener` until `shutdown` resolves (graceful: in-flight requests finish).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Nagle + the client's delayed ACK would hold small responses back by ~40 ms.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
