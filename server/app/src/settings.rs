//! Typed, layered settings: defaults → optional TOML file → `CALLBASE__SECTION__KEY` environment
//! variables. Each crate owns its section's struct; secrets are `SecretString` (redacted in Debug).

use std::collections::HashMap;
use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct RedisConfig {
    /// e.g. `redis://127.0.0.1:6379/0`. With `sentinels`, only its user name, password and
    /// database number count: the host and port are the master's, as Sentinel names it.
    pub url: SecretString,
    /// Redis Sentinels to ask for the master, `host:port` separated by commas (e.g.
    /// `redis-sentinel-0:26379,redis-sentinel-1:26379`); empty: `url` is the master.
    #[serde(default)]
    pub sentinels: String,
    /// The master's name in the Sentinels' configuration (`sentinel monitor <name> …`).
    #[serde(default = "default_master_name")]
    pub master_name: String,
    /// Seconds between two questions to Sentinel about the master, once serving: when it names
    /// another master, the server drains and exits to be restarted against it (docs/deploy.md).
    #[serde(default = "default_sentinel_check")]
    pub sentinel_check_secs: u64,
}

impl RedisConfig {
    /// The Sentinels' addresses, when the master is learnt from Sentinel.
    pub fn sentinel_addrs(&self) -> Vec<&str> {
        self.sentinels.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    }
}

fn default_master_name() -> String {
    "callbase".into()
}
fn default_sentinel_check() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for production log pipelines.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
    /// `tracing` filter directives; `RUST_LOG` wins when set.
    #[serde(default = "default_filter")]
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: default_filter() }
    }
}

fn default_filter() -> String {
    // webrtc-rs warns on every call about things that are normal with Asterisk (an ICE check before
    // the answer, no DTLS server name): the synthetic agent reports its own failures.
    "info,sqlx=warn,tower_http=info,rtc=error,rtc_dtls=error,rtc_ice=warn".into()
}

/// Background workers that run beside the API (`CALLBASE__WORKERS__*`), each switchable.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkersConfig {
    /// The Stasis app `callbase` (ARI events WebSocket). Every replica may run it: a lease per
    /// Asterisk node lets one at a time (docs/operations.md); `false` opts this replica out.
    #[serde(default = "yes")]
    pub stasis: bool,
    /// The trunk registration monitor (AMI events + periodic reconcile).
    #[serde(default = "yes")]
    pub registration_monitor: bool,
    /// Seconds between registration reconciles.
    #[serde(default = "default_reconcile")]
    pub reconcile_secs: u64,
    /// The recordings uploader (Asterisk → spool → S3) and the retention worker. Needs
    /// `database.worker_url` (they work across tenants).
    #[serde(default = "yes")]
    pub recordings: bool,
    /// The hourly sweep deleting CRM import files left unrun for a day. Needs
    /// `database.worker_url`.
    #[serde(default = "yes")]
    pub import_expiry: bool,
    /// The webhook delivery worker (issue #21). Every replica may run it (the queue hands each
    /// message to one); needs `database.worker_url`.
    #[serde(default = "yes")]
    pub webhooks: bool,
    /// Which Asterisk nodes' Stasis app and registration monitor this replica competes for:
    /// `all` nodes of the registry (re-read every 5 s), or only the `configured` one
    /// (`asterisk.node`; the API tests' servers, which share one Asterisk under unique node names).
    #[serde(default)]
    pub nodes: NodesToRun,
    /// Seconds a node may not answer its ARI before its tenants are moved to other nodes (the
    /// `nodes-watch` lease; only replicas running `all` nodes take it). 0: never.
    #[serde(default = "default_node_down")]
    pub node_down_secs: u64,
}

fn default_node_down() -> u64 {
    15
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NodesToRun {
    #[default]
    All,
    Configured,
}

fn yes() -> bool {
    true
}
fn default_reconcile() -> u64 {
    30
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self {
            stasis: true,
            registration_monitor: true,
            reconcile_secs: default_reconcile(),
            recordings: true,
            import_expiry: true,
            webhooks: true,
            nodes: NodesToRun::All,
            node_down_secs: default_node_down(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: callbase_api::HttpConfig,
    #[serde(default)]
    pub auth: callbase_api::AuthConfig,
    /// Caps on `/events` and `/sip` sockets, and how often they re-check their session.
    #[serde(default)]
    pub sockets: callbase_api::SocketsConfig,
    #[serde(default)]
    pub limits: callbase_api::limits::LimitsConfig,
    pub database: callbase_db::DbConfig,
    pub redis: RedisConfig,
    pub s3: callbase_recordings::S3Config,
    pub asterisk: callbase_telephony::AsteriskConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub workers: WorkersConfig,
    #[serde(default)]
    pub recordings: callbase_recordings::uploader::RecordingsConfig,
    #[serde(default)]
    pub probe: callbase_telephony::probe::ProbeConfig,
    #[serde(default)]
    pub webhooks: callbase_hooks::WebhooksConfig,
    /// TURN for browser phones behind strict firewalls (coturn's shared secret).
    #[serde(default)]
    pub turn: callbase_api::turn::TurnConfig,
}

impl Settings {
    /// Loads settings from `file` (if given and present) and the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_from(file, None)
    }

    /// Like [`Settings::load`], but reads `CALLBASE__*` variables from `env` instead of the process
    /// environment when given (tests build settings without touching global state).
    pub fn load_from(file: Option<&Path>, env: Option<HashMap<String, String>>) -> anyhow::Result<Self> {
        let mut b = config::Config::builder().set_default("http.addr", "127.0.0.1:8080")?;
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).required(true));
        }
        b = b.add_source(environment(env));
        Ok(b.build()?.try_deserialize()?)
    }
}

/// The `CALLBASE__*` variables (`__` between levels: `CALLBASE__HTTP__ADDR` is `http.addr`).
fn environment(env: Option<HashMap<String, String>>) -> config::Environment {
    config::Environment::with_prefix("CALLBASE")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_retry_schedule_is_a_comma_separated_list() {
        #[derive(Deserialize)]
        struct Part {
            webhooks: callbase_hooks::WebhooksConfig,
            http: HashMap<String, String>,
        }
        for schedule in ["3,30,300", "7"] {
            let env: HashMap<String, String> = [
                ("CALLBASE__WEBHOOKS__RETRY_SCHEDULE_SECS", schedule),
                ("CALLBASE__HTTP__PUBLIC_ORIGIN", "https://a.example,b"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let p: Part = config::Config::builder()
                .add_source(environment(Some(env)))
                .build()
                .unwrap()
                .try_deserialize()
                .expect("loads");
            let want: Vec<u64> = schedule.split(',').map(|s| s.parse().unwrap()).collect();
            assert_eq!(p.webhooks.retry_schedule_secs, want);
            assert_eq!(p.http["public_origin"], "https://a.example,b", "other settings stay strings");
        }
    }
}
