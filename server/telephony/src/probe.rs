//! The call-path health probe (docs/probe.md): one per Asterisk node (lease `probe:<node>`,
//! `callbase_app::node_workers`). Every `probe.every_secs` the synthetic agent (`callbase-probe`,
//! webrtc-rs) registers to the node's Asterisk over SIP-over-WebSocket and calls
//!
//! - `echo`, the platform path: WebSocket, digest, ICE, DTLS-SRTP and Asterisk's media, and
//! - for every tenant on that node with a probe number, `t<tenant>x<number>`: the node's Stasis app
//!   dials the number through the tenant's trunks like an agent's call (the carrier's echo number,
//!   typically). A tenant moved to another node is probed there from the next round on.
//!
//! Each result is stored (`probe_results`), exported as Prometheus metrics, and a failing probe is
//! logged as an error once per failure streak; the tenant's telephony page charts its trunk path and
//! shows an alert while it fails.

use std::net::IpAddr;
use std::time::Duration;

use callbase_core::TenantId;
use callbase_db::probe::NewProbe;
use callbase_probe::{CallOptions, Report, Target};
use futures_util::StreamExt;
use sqlx::PgPool;

use crate::ami::Ami;

/// `CALLBASE__PROBE__*`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ProbeConfig {
    /// Seconds between probe rounds; 0 turns the probe off (the test stack does).
    #[serde(default = "default_every")]
    pub every_secs: u64,
    /// The name of the settings' node (`asterisk.node`) in results and metrics; every other node
    /// of the registry is named by its id.
    #[serde(default = "default_node")]
    pub node: String,
    /// The address the probe's media socket binds (one Asterisk reaches; never a wildcard).
    #[serde(default = "default_media_addr")]
    pub media_addr: IpAddr,
    /// How long the tagged audio is sent per call.
    #[serde(default = "default_talk")]
    pub talk_ms: u64,
    /// A call that loses more than this is a failure.
    #[serde(default = "default_loss")]
    pub max_loss_pct: f64,
    /// Results older than this are deleted.
    #[serde(default = "default_keep")]
    pub keep_days: i32,
}

fn default_every() -> u64 {
    60
}
fn default_node() -> String {
    "asterisk-1".into()
}
fn default_media_addr() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}
fn default_talk() -> u64 {
    1000
}
fn default_loss() -> f64 {
    5.0
}
fn default_keep() -> i32 {
    7
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            every_secs: default_every(),
            node: default_node(),
            media_addr: default_media_addr(),
            talk_ms: default_talk(),
            max_loss_pct: default_loss(),
            keep_days: default_keep(),
        }
    }
}

/// Probe calls of one round running at once.
const PARALLEL_CALLS: usize = 8;

/// The dialplan context of synthetic agents (infra/asterisk/extensions.conf).
pub const CONTEXT: &str = "from-probe";
/// The number of the platform path (answered by Echo() in `[from-probe]`).
pub const ECHO: &str = "echo";

/// Writes (or refreshes) a platform endpoint for a synthetic agent: WebRTC, PCMU only, context
/// `[from-probe]`, credentials `id` / `password`. `max_contacts` > 1 lets several agents share it.
/// `allow` is the codec (`ulaw`, as our browser endpoints; `opus` for the transcoding profile).
pub async fn provision_endpoint(
    pool: &PgPool,
    ami: Option<&Ami>,
    id: &str,
    password: &str,
    max_contacts: i32,
    allow: &str,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO ast.ps_aors (id, max_contacts, remove_existing, qualify_frequency) VALUES ($1, $2, 'yes', 0)
         ON CONFLICT (id) DO UPDATE SET max_contacts = EXCLUDED.max_contacts",
    )
    .bind(id)
    .bind(max_contacts)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO ast.ps_auths (id, auth_type, username, md5_cred, realm) VALUES ($1, 'md5', $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET md5_cred = EXCLUDED.md5_cred, realm = EXCLUDED.realm, password = NULL",
    )
    .bind(id)
    .bind(crate::agents::md5_cred(id, password))
    .bind(crate::agents::REALM)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO ast.ps_endpoints (id, transport, context, disallow, allow, auth, aors, webrtc, dtmf_mode, direct_media, rtp_timeout)
         VALUES ($1, 'transport-ws', $2, 'all', $3, $1, $1, 'yes', 'rfc4733', 'no', 30)
         ON CONFLICT (id) DO UPDATE SET context = EXCLUDED.context, allow = EXCLUDED.allow, webrtc = 'yes'",
    )
    .bind(id)
    .bind(CONTEXT)
    .bind(allow)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::agents::expire_cached(ami, &[id.to_string()]).await;
    Ok(())
}

/// Removes synthetic agents' platform endpoints (their AOR, auth and endpoint rows).
pub async fn remove_endpoints(pool: &PgPool, ami: Option<&Ami>, ids: &[String]) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for table in ["ps_endpoints", "ps_aors", "ps_auths"] {
        sqlx::query(&format!("DELETE FROM ast.{table} WHERE id = ANY($1) AND tenant_id IS NULL"))
            .bind(ids)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    crate::agents::expire_cached(ami, ids).await;
    Ok(())
}

/// The extension the probe dials for a tenant's trunk path.
pub fn trunk_path_exten(tenant: TenantId, number: &str) -> String {
    format!("t{}x{number}", tenant.0)
}

/// The paths one round of `node`'s probe calls (`default_node`: the node of the settings, which
/// serves the tenants that have none yet): the platform echo, then the trunk path of every tenant
/// on the node that has a probe number and a trunk, as (tenant, extension dialled, number).
pub async fn paths_on(
    pool: &PgPool,
    node: &str,
    default_node: &str,
) -> sqlx::Result<Vec<(Option<TenantId>, String, String)>> {
    let mut paths = vec![(None, ECHO.to_string(), ECHO.to_string())];
    let tenants = callbase_db::probe::targets_on(pool, node, default_node).await?;
    paths.extend(tenants.into_iter().map(|(tenant, n)| (Some(tenant), trunk_path_exten(tenant, &n), n)));
    Ok(paths)
}

/// Which node a probe worker probes, and how it reaches it.
#[derive(Clone)]
pub struct ProbeNode {
    /// The name in results and metrics (`probe.node` for the settings' node, else the node id).
    pub name: String,
    /// The node's registry id.
    pub node: String,
    /// The node of the settings (serves tenants without a node).
    pub default_node: String,
    /// The node's SIP-over-WebSocket URL.
    pub ws_url: String,
    /// The node's AMI (cache expiry of the probe's endpoint).
    pub ami: Option<Ami>,
}

/// One result as stored: `ok` when the call passed every stage and the echo came back.
pub fn to_row<'a>(
    node: &'a str,
    tenant: Option<TenantId>,
    number: &'a str,
    r: &'a Report,
    max_loss_pct: f64,
) -> NewProbe<'a> {
    let a = r.audio.as_ref();
    NewProbe {
        node,
        tenant,
        number,
        ok: r.ok(max_loss_pct),
        register_ms: r.register_ms,
        invite_ok_ms: r.invite_ok_ms,
        ice_ms: r.ice_ms,
        dtls_ms: r.dtls_ms,
        rtt_ms: a.and_then(|a| a.rtt_p50_ms),
        loss_pct: a.map(|a| a.loss_pct),
        jitter_ms: a.and_then(|a| a.jitter_ms),
        error: r.error.as_deref().or(if r.ok(max_loss_pct) {
            None
        } else if a.is_some_and(|a| a.echoed == 0) {
            Some("no audio came back")
        } else {
            Some("audio loss above the limit")
        }),
    }
}

/// The probe worker. Needs the worker pool (it provisions a platform endpoint and writes across
/// tenants).
pub async fn run(
    cfg: ProbeConfig,
    pool: PgPool,
    at: ProbeNode,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if cfg.every_secs == 0 {
        return;
    }
    let ProbeNode { name, node, default_node, ws_url, ami } = at;
    let id = format!(
        "callbase-probe-{}",
        name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>()
    );
    // A fresh password at each start: only this process knows it.
    let password = crate::agents::generate_password();
    let mut every = tokio::time::interval(Duration::from_secs(cfg.every_secs));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut provisioned = false;
    let mut failing: std::collections::HashMap<Option<TenantId>, bool> = Default::default();
    tracing::info!(node = %name, every_secs = cfg.every_secs, "health probe started");
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        if !provisioned {
            match provision_endpoint(&pool, ami.as_ref(), &id, &password, 1, "ulaw").await {
                Ok(()) => provisioned = true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot provision the probe endpoint");
                    continue;
                }
            }
        }
        let target = Target {
            ws_url: ws_url.clone(),
            origin: None,
            cookie: None,
            domain: crate::agents::REALM.into(),
            user: id.clone(),
            password: password.clone(),
            media_addr: cfg.media_addr,
        };
        let paths = match paths_on(&pool, &node, &default_node).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the tenants to probe");
                vec![(None, ECHO.to_string(), ECHO.to_string())]
            }
        };
        // One registration per round, then the paths' calls side by side (a bounded number at a
        // time, so a thousand tenants still fit in a round); each call has its own dialog.
        let agent = callbase_probe::register(&target).await.map_err(|e| format!("registration: {e}"));
        let calls = futures_util::stream::iter(paths).map(|(tenant, exten, number)| {
            let agent = &agent;
            let opts = CallOptions {
                number: exten,
                talk: Duration::from_millis(cfg.talk_ms),
                answer_timeout: Duration::from_secs(15),
                ..Default::default()
            };
            async move {
                let report = match agent {
                    Ok(a) => a.call(&opts).await,
                    Err(e) => Report { error: Some(e.clone()), ..Default::default() },
                };
                (tenant, number, report)
            }
        });
        let results: Vec<_> = calls.buffer_unordered(PARALLEL_CALLS).collect().await;
        drop(agent);
        for (tenant, number, report) in results {
            let row = to_row(&name, tenant, &number, &report, cfg.max_loss_pct);
            record_metrics(&name, tenant, &row);
            let was_failing = failing.insert(tenant, !row.ok).unwrap_or(false);
            if !row.ok && !was_failing {
                tracing::error!(node = %name, tenant.id = ?tenant.map(|t| t.0), number = %number, error = ?row.error, "call-path probe FAILING");
            } else if row.ok && was_failing {
                tracing::info!(node = %name, tenant.id = ?tenant.map(|t| t.0), "call-path probe recovered");
            } else {
                tracing::debug!(?report, "probe call");
            }
            if let Err(e) = callbase_db::probe::insert(&pool, &row).await {
                tracing::warn!(error = %e, "cannot store a probe result");
            }
        }
        if let Err(e) = callbase_db::probe::prune(&pool, cfg.keep_days).await {
            tracing::warn!(error = %e, "cannot prune probe results");
        }
    }
}

fn record_metrics(node: &str, tenant: Option<TenantId>, row: &NewProbe<'_>) {
    let path = if tenant.is_some() { "trunk" } else { "platform" };
    let tenant = tenant.map(|t| t.0.to_string()).unwrap_or_default();
    let labels = [("node", node.to_string()), ("path", path.to_string()), ("tenant", tenant)];
    metrics::gauge!("callbase_probe_up", &labels).set(if row.ok { 1.0 } else { 0.0 });
    if !row.ok {
        metrics::counter!("callbase_probe_failures_total", &labels).increment(1);
    }
    if let Some(v) = row.invite_ok_ms {
        metrics::gauge!("callbase_probe_setup_seconds", &labels).set(v / 1000.0);
    }
    if let Some(v) = row.rtt_ms {
        metrics::gauge!("callbase_probe_rtt_seconds", &labels).set(v / 1000.0);
    }
    if let Some(v) = row.loss_pct {
        metrics::gauge!("callbase_probe_loss_ratio", &labels).set(v / 100.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_probe::audio::AudioReport;

    fn good() -> Report {
        Report {
            register_ms: Some(5.0),
            invite_ok_ms: Some(20.0),
            ice_ms: Some(3.0),
            dtls_ms: Some(150.0),
            audio: Some(AudioReport {
                sent: 50,
                echoed: 50,
                received: 50,
                loss_pct: 0.0,
                rtt_p50_ms: Some(1.0),
                rtt_p95_ms: Some(2.0),
                rtt_max_ms: Some(3.0),
                jitter_ms: Some(0.2),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn results_are_ok_only_with_every_stage_and_the_echo() {
        let r = good();
        let row = to_row("n", None, "echo", &r, 5.0);
        assert!(row.ok && row.error.is_none());
        assert_eq!(row.rtt_ms, Some(1.0));

        let mut silent = good();
        silent.audio = Some(AudioReport {
            echoed: 0,
            loss_pct: 100.0,
            rtt_p50_ms: None,
            rtt_p95_ms: None,
            rtt_max_ms: None,
            ..silent.audio.unwrap()
        });
        let row = to_row("n", None, "echo", &silent, 5.0);
        assert!(!row.ok);
        assert_eq!(row.error, Some("no audio came back"));

        let mut lossy = good();
        lossy.audio.as_mut().unwrap().loss_pct = 12.0;
        assert_eq!(to_row("n", None, "echo", &lossy, 5.0).error, Some("audio loss above the limit"));

        let failed = Report {
            register_ms: Some(5.0),
            error: Some("SIP INVITE answered 503".into()),
            ..Default::default()
        };
        let row = to_row("n", Some(TenantId(3)), "9999", &failed, 5.0);
        assert!(!row.ok);
        assert_eq!(row.error, Some("SIP INVITE answered 503"));
        assert_eq!(trunk_path_exten(TenantId(3), "9999"), "t3x9999");
    }
}
