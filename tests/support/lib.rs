//! Shared support for the black-box suites: the stack's settings, a real server on port 0, an HTTP
//! client that behaves like the web app (cookies, CSRF header), fresh tenants.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rand::Rng;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The stack's environment file written by `infra/test` (`export K=V` lines), as a map.
/// Panics when it is missing: these suites test real services and must not pass without them.
pub fn stack_env() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var("CALLBASE_ENV_FILE")
            .expect("CALLBASE_ENV_FILE is not set: run the suites through ./infra/test, which starts the real services");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        parse_env_file(&text)
    })
}

/// Parses `export K=V` / `K=V` lines; values may be single- or double-quoted.
pub fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

pub fn env(key: &str) -> String {
    stack_env().get(key).cloned().unwrap_or_else(|| panic!("{key} missing from the stack env file"))
}

/// Settings for a test server: the stack's, on 127.0.0.1:0, trusting `X-Forwarded-For` so each test
/// gets its own client IP for login throttling.
pub fn settings(overrides: &[(&str, &str)]) -> callbase_app::settings::Settings {
    let mut vars: HashMap<String, String> = stack_env()
        .iter()
        .filter(|(k, _)| k.starts_with("CALLBASE__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.insert("CALLBASE__HTTP__ADDR".into(), "127.0.0.1:0".into());
    vars.insert("CALLBASE__HTTP__TRUST_FORWARDED_FOR".into(), "true".into());
    vars.remove("CALLBASE__HTTP__STATIC_DIR");
    // One Stasis app per Asterisk: only the tests about calls switch it on. The registration
    // monitor runs where a test needs live trunk status.
    vars.insert("CALLBASE__WORKERS__STASIS".into(), "false".into());
    // The singleton workers' leases are per node: a test server is its own node unless a test
    // says otherwise, so one test's leases never wait for a finished test's to expire.
    vars.insert("CALLBASE__ASTERISK__NODE".into(), unique("test-"));
    // That node name is not in the node registry: the stack registered its nodes (infra/lib/stack.sh,
    // nodes_register), and a test server serves only its own name's leases.
    vars.insert("CALLBASE__ASTERISK__REGISTER".into(), "false".into());
    vars.insert("CALLBASE__WORKERS__NODES".into(), "configured".into());
    vars.insert("CALLBASE__WORKERS__REGISTRATION_MONITOR".into(), "false".into());
    // The recordings uploader works across tenants: only the recordings tests run it.
    vars.insert("CALLBASE__WORKERS__RECORDINGS".into(), "false".into());
    // The webhook worker too: only the webhook tests run it (they take turns, see nextest.toml).
    vars.insert("CALLBASE__WORKERS__WEBHOOKS".into(), "false".into());
    // Tests sign up many tenants and change trunks quickly from one client IP; the rate-limit
    // tests set these back to the production defaults.
    vars.insert("CALLBASE__LIMITS__SIGNUPS_PER_IP_PER_HOUR".into(), "100000".into());
    vars.insert("CALLBASE__LIMITS__TRUNK_CHANGES_PER_MINUTE".into(), "100000".into());
    for (k, v) in overrides {
        vars.insert((*k).into(), (*v).into());
    }
    callbase_app::settings::Settings::load_from(None, Some(vars)).expect("stack settings load")
}

pub mod calls;
pub mod echo;
pub mod kamailio;
pub mod nodes;
pub mod server;
pub mod sip;
pub mod webhooks;

/// The test stack's platform Asterisk over AMI.
pub async fn platform_ami() -> callbase_telephony::ami::Ami {
    callbase_telephony::ami::Ami::connect(
        &env("CALLBASE__ASTERISK__AMI_ADDR"),
        &env("CALLBASE__ASTERISK__AMI_USER"),
        &env("CALLBASE__ASTERISK__AMI_SECRET"),
    )
    .await
    .expect("platform AMI")
}

/// The test stack's carrier Asterisk over AMI.
pub async fn carrier_ami() -> callbase_telephony::ami::Ami {
    callbase_telephony::ami::Ami::connect(
        &env("CALLBASE_CARRIER_AMI_ADDR"),
        &env("CALLBASE_CARRIER_AMI_USER"),
        &env("CALLBASE_CARRIER_AMI_SECRET"),
    )
    .await
    .expect("carrier AMI")
}

pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{prefix}{:x}", n & 0xffff_ffff_ffff)
}

/// A running server and a cookie-keeping client, like one browser.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub settings: callbase_app::settings::Settings,
    client_ip: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        // `CALLBASE_TEST_LOG=callbase_telephony=debug` shows the in-process server's logs (nextest
        // prints them for a failing test).
        if let Ok(filter) = std::env::var("CALLBASE_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let settings = settings(overrides);
        let (addr, _handle) = callbase_app::startup::spawn(&settings).await.expect("server starts");
        let mut r = rand::thread_rng();
        let client_ip =
            format!("10.{}.{}.{}", r.gen_range(0..=255), r.gen_range(0..=255), r.gen_range(1..=254));
        TestApp { addr, base: format!("http://{addr}"), settings, client_ip }
    }

    /// A server started elsewhere (the benchmarks' release binary), once it answers `/readyz`.
    pub async fn attach(base: &str) -> Self {
        Self::attach_when(base, "/readyz").await
    }

    /// A server started elsewhere, once it answers `/healthz`: for benchmarks that need only
    /// PostgreSQL and Redis (`/readyz` also wants S3 and Asterisk).
    pub async fn attach_live(base: &str) -> Self {
        Self::attach_when(base, "/healthz").await
    }

    async fn attach_when(base: &str, check: &str) -> Self {
        let addr: SocketAddr = base.trim_start_matches("http://").parse().expect("base is http://ip:port");
        for _ in 0..300 {
            if let Ok(r) = reqwest::get(format!("{base}{check}")).await {
                if r.status().is_success() {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mut r = rand::thread_rng();
        let client_ip =
            format!("10.{}.{}.{}", r.gen_range(0..=255), r.gen_range(0..=255), r.gen_range(1..=254));
        TestApp { addr, base: base.to_string(), settings: settings(&[]), client_ip }
    }

    /// A new browser (empty cookie jar) against this server.
    pub fn browser(&self) -> Browser {
        self.browser_from(&self.client_ip)
    }

    /// A new browser (empty cookie jar) whose requests come from `ip` (`X-Forwarded-For`), for
    /// tests about where requests come from (login throttling).
    pub fn browser_from(&self, ip: &str) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { base: self.base.clone(), client, jar, client_ip: ip.to_string() }
    }

    /// Signs up a fresh tenant; returns the admin's browser (signed in) and the tenant's details.
    pub async fn new_tenant(&self) -> (Browser, Tenant) {
        let b = self.browser();
        let account = unique("t");
        let password = "Tenant-admin-pass-42".to_string();
        let r = b
            .post(
                "/api/signup",
                json!({"account": account, "tenant_name": format!("Org {account}"), "login": "boss",
                       "name": "Boss", "email": "boss@example.com", "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "sign-up failed: {}", r.body);
        let tenant = Tenant {
            account,
            admin_login: "boss".into(),
            admin_password: password,
            id: r.body["tenant"]["id"].as_i64().unwrap(),
            admin_id: r.body["user"]["id"].as_i64().unwrap(),
        };
        (b, tenant)
    }
}

impl TestApp {
    /// A fresh tenant with telephony turned on (its admin is telephony user 101).
    pub async fn telephony_tenant(&self) -> (Browser, Tenant) {
        let (b, t) = self.new_tenant().await;
        let r = b.post("/api/telephony/enable", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "enabling telephony failed: {}", r.body);
        (b, t)
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: i64,
    pub account: String,
    pub admin_login: String,
    pub admin_password: String,
    pub admin_id: i64,
}

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    client_ip: String,
}

/// A response with its body parsed as JSON (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Browser {
    /// The `cb_csrf` cookie value, fetching one first if the jar has none.
    pub async fn csrf(&self) -> String {
        if let Some(v) = self.cookie("cb_csrf") {
            return v;
        }
        self.get("/api/auth/csrf").await;
        self.cookie("cb_csrf").expect("server sets cb_csrf")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.unsafe_json(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.unsafe_json(Method::PUT, path, body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.unsafe_json(Method::PATCH, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        let csrf = self.csrf().await;
        self.send(self.request(Method::DELETE, path).header("x-csrf-token", csrf)).await
    }

    async fn unsafe_json(&self, m: Method, path: &str, body: Value) -> Resp {
        let csrf = self.csrf().await;
        self.send(self.request(m, path).header("x-csrf-token", csrf).json(&body)).await
    }

    /// A request builder with this browser's client IP and same-origin `Origin`.
    pub fn request(&self, m: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(m, format!("{}{}", self.base, path))
            .header("x-forwarded-for", &self.client_ip)
            .header("origin", &self.base)
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.expect("request reaches the server");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    pub async fn login(&self, account: &str, login: &str, password: &str) -> Resp {
        self.post("/api/auth/login", json!({"account": account, "login": login, "password": password})).await
    }
}

/// A pool on the worker role (BYPASSRLS), for asserting what is really stored.
pub async fn worker_pool() -> sqlx::PgPool {
    sqlx::PgPool::connect(&env("CALLBASE__DATABASE__WORKER_URL")).await.expect("worker role connects")
}

/// A pool on the app role (RLS applies), for proving isolation below the API.
pub async fn app_pool() -> sqlx::PgPool {
    sqlx::PgPool::connect(&env("CALLBASE__DATABASE__URL")).await.expect("app role connects")
}
