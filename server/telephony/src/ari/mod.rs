//! A small ARI REST client (reqwest). No maintained Rust ARI crate covers Asterisk 22's API with
//! rustls and tokio, and we need only a handful of calls, so this is written by hand.
//!
//! The Stasis worker's client is [`Ari::fenced`] by the worker's lease: every request (and the
//! events WebSocket's URL) goes through [`Ari::request`], which refuses with [`AriError::Fenced`]
//! once the lease is not current (`crate::lease`). Asterisk has no conditional request a fencing
//! token could ride on, so the check is the holder's own, against its lease's deadline.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::lease::Held;
use crate::AsteriskConfig;

pub mod events;

#[derive(Debug, thiserror::Error)]
pub enum AriError {
    #[error("ARI request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("ARI answered {status} for {path}")]
    Status { status: u16, path: String },
    #[error("ARI URL is invalid: {0}")]
    Url(#[from] url::ParseError),
    /// The lease this client acts under is no longer this replica's: nothing is sent.
    #[error("refused: the lease (fencing token {token}) is no longer this replica's")]
    Fenced { token: u64 },
}

#[derive(Clone)]
pub struct Ari {
    http: reqwest::Client,
    base: url::Url,
    user: String,
    password: SecretString,
    /// The lease whose holder alone may use this client (the Stasis worker's); `None` for the API's.
    fence: Option<Held>,
}

impl Ari {
    pub fn new(cfg: &AsteriskConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("reqwest client builds with static settings");
        let mut base = cfg.ari_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Self { http, base, user: cfg.ari_user.clone(), password: cfg.ari_password.clone(), fence: None }
    }

    /// This client, usable only while `held` is current: afterwards every request is refused.
    pub fn fenced(&self, held: Held) -> Ari {
        Ari { fence: Some(held), ..self.clone() }
    }

    /// The lease check every use of the client passes.
    fn check_fence(&self) -> Result<(), AriError> {
        match &self.fence {
            Some(held) if !held.is_current() => Err(AriError::Fenced { token: held.token }),
            _ => Ok(()),
        }
    }

    /// Every request starts here: refused when the client's lease is not current.
    fn request(&self, method: reqwest::Method, path: &str) -> Result<reqwest::RequestBuilder, AriError> {
        self.check_fence()?;
        let url = self.base.join("ari/")?.join(path)?;
        Ok(self.http.request(method, url).basic_auth(&self.user, Some(self.password.expose_secret())))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, AriError> {
        let resp = self.request(reqwest::Method::GET, path)?.send().await?;
        match resp.status().as_u16() {
            200..=299 => Ok(Some(resp.json().await?)),
            404 => Ok(None),
            status => Err(AriError::Status { status, path: path.to_string() }),
        }
    }

    /// `PUT /ari/asterisk/modules/{module}`: reloads one module (never the whole of Asterisk).
    /// A reload that collides with one in progress (several changes at once) is retried briefly.
    pub async fn reload_module(&self, module: &str) -> Result<(), AriError> {
        let mut last = None;
        for attempt in 0..4u64 {
            match self.reload_once(module).await {
                Ok(()) => return Ok(()),
                Err(e @ AriError::Status { status: 409 | 500 | 503, .. }) => {
                    tracing::debug!(error = %e, attempt, "module reload refused; retrying");
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(150 * (attempt + 1))).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    async fn reload_once(&self, module: &str) -> Result<(), AriError> {
        let path = format!("asterisk/modules/{module}");
        let resp = self.request(reqwest::Method::PUT, &path)?.send().await?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(AriError::Status { status, path }),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(), AriError> {
        let resp = self.request(method, path)?.query(query).send().await?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(AriError::Status { status, path: path.to_string() }),
        }
    }

    /// Any ARI request with query parameters and an optional JSON body; the JSON answer (`Null`
    /// for an empty body), `None` on 404.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, AriError> {
        let mut rb = self.request(method, path)?.query(query);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await?;
        match resp.status().as_u16() {
            200..=299 => {
                let bytes = resp.bytes().await?;
                if bytes.is_empty() {
                    Ok(Some(serde_json::Value::Null))
                } else {
                    Ok(Some(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)))
                }
            }
            404 => Ok(None),
            status => Err(AriError::Status { status, path: path.to_string() }),
        }
    }

    /// A binary ARI resource (a stored recording's file); `None` on 404. Recordings can take longer
    /// than the default 5 s to transfer, so this request gets its own timeout.
    pub async fn get_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, AriError> {
        let resp = self.request(reqwest::Method::GET, path)?.timeout(Duration::from_secs(120)).send().await?;
        match resp.status().as_u16() {
            200..=299 => Ok(Some(resp.bytes().await?.to_vec())),
            404 => Ok(None),
            status => Err(AriError::Status { status, path: path.to_string() }),
        }
    }

    /// Every channel Asterisk has.
    pub async fn channels(&self) -> Result<Vec<serde_json::Value>, AriError> {
        Ok(self.get::<Vec<serde_json::Value>>("channels").await?.unwrap_or_default())
    }

    /// Hangs up every channel of the given PJSIP endpoints (a removed or disabled agent's calls
    /// end cleanly rather than run on with no owner). Returns how many were hung up.
    pub async fn hangup_endpoints(&self, endpoints: &[String]) -> Result<usize, AriError> {
        let mut n = 0;
        for ch in self.channels().await? {
            let name = ch["name"].as_str().unwrap_or_default();
            let on_endpoint = endpoints.iter().any(|e| {
                name.strip_prefix("PJSIP/")
                    .and_then(|r| r.strip_prefix(e.as_str()))
                    .is_some_and(|r| r.starts_with('-'))
            });
            if on_endpoint {
                if let Some(id) = ch["id"].as_str() {
                    match self.hangup(id).await {
                        Ok(()) | Err(AriError::Status { status: 404, .. }) => n += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(n)
    }

    pub async fn answer(&self, channel: &str) -> Result<(), AriError> {
        self.send(reqwest::Method::POST, &format!("channels/{channel}/answer"), &[]).await
    }

    /// Plays `media` (`sound:…`, `tone:…`, `recording:…`) on a channel.
    pub async fn play(&self, channel: &str, media: &str) -> Result<(), AriError> {
        self.send(reqwest::Method::POST, &format!("channels/{channel}/play"), &[("media", media)]).await
    }

    pub async fn hangup(&self, channel: &str) -> Result<(), AriError> {
        self.send(reqwest::Method::DELETE, &format!("channels/{channel}"), &[]).await
    }

    /// The URL of the ARI events WebSocket for `app`, and the Basic authorization header value.
    /// Refused like a request when the client's lease is not current: a replaced holder must not
    /// take the app's events back from the new one.
    pub fn events_url(&self, app: &str) -> Result<(url::Url, String), AriError> {
        use base64::Engine;
        self.check_fence()?;
        let mut url = self.base.join("ari/events")?;
        url.set_scheme(if self.base.scheme() == "https" { "wss" } else { "ws" })
            .map_err(|_| AriError::Status { status: 0, path: "events".into() })?;
        url.query_pairs_mut().append_pair("app", app);
        let creds = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.user,
            self.password.expose_secret()
        ));
        Ok((url, format!("Basic {creds}")))
    }

    /// `GET /ari/asterisk/info`: proves ARI is up and our credentials work.
    pub async fn info(&self) -> Result<serde_json::Value, AriError> {
        self.get("asterisk/info")
            .await?
            .ok_or_else(|| AriError::Status { status: 404, path: "asterisk/info".into() })
    }

    /// `GET /ari/endpoints/PJSIP/{id}`; `None` when Asterisk does not know the endpoint.
    pub async fn pjsip_endpoint(&self, id: &str) -> Result<Option<serde_json::Value>, AriError> {
        let path = format!(
            "endpoints/PJSIP/{}",
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        );
        self.get(&path).await
    }
}
