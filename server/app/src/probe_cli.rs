//! `callbase probe` (one probe call, JSON on stdout) and `callbase probe-status` (the latest results
//! of every path, for platform admins).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use callbase_core::TenantId;
use secrecy::SecretString;

use crate::settings::Settings;

/// The worker pool: synthetic agents are platform endpoints, written as `callbase_worker`.
pub fn worker_pool(settings: &Settings) -> anyhow::Result<sqlx::PgPool> {
    let url: &SecretString = settings
        .database
        .worker_url
        .as_ref()
        .context("database.worker_url is required (synthetic agents are platform endpoints)")?;
    Ok(callbase_db::lazy_pool(url, 4)?)
}

pub struct ProbeArgs {
    pub tenant: Option<i64>,
    pub number: String,
    pub media_addr: Option<IpAddr>,
    pub talk_ms: u64,
}

/// One probe call through this node's Asterisk; prints the report as JSON and fails unless the
/// call passed every stage and the echo came back.
pub async fn probe(settings: &Settings, a: ProbeArgs) -> anyhow::Result<()> {
    let pool = worker_pool(settings)?;
    let ami = crate::startup::start_ami(settings);
    let id = "callbase-probe-cli";
    let password = callbase_telephony::agents::generate_password();
    callbase_telephony::probe::provision_endpoint(&pool, ami.as_ref(), id, &password, 1, "ulaw")
        .await
        .context("provisioning the probe endpoint")?;
    let number = match a.tenant {
        Some(t) => callbase_telephony::probe::trunk_path_exten(TenantId(t), &a.number),
        None => a.number.clone(),
    };
    let target = callbase_probe::Target {
        ws_url: settings.asterisk.sip_ws_url().to_string(),
        origin: None,
        cookie: None,
        domain: callbase_telephony::agents::REALM.into(),
        user: id.into(),
        password,
        media_addr: a.media_addr.unwrap_or(settings.probe.media_addr),
    };
    let opts = callbase_probe::CallOptions {
        number,
        talk: Duration::from_millis(a.talk_ms),
        answer_timeout: Duration::from_secs(15),
        ..Default::default()
    };
    let report = callbase_probe::call(&target, &opts).await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(
        report.ok(settings.probe.max_loss_pct),
        "probe call failed: {}",
        report.error.as_deref().unwrap_or("audio did not come back")
    );
    Ok(())
}

/// The latest results of every path, newest first, one line each.
pub async fn status(settings: &Settings, limit: i64) -> anyhow::Result<()> {
    let pool = worker_pool(settings)?;
    let rows = callbase_db::probe::latest_all(&pool, limit).await?;
    let f = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    println!(
        "{:<25} {:<12} {:<8} {:<14} {:<4} {:>8} {:>8} {:>7} {:>7} {:>6}  error",
        "at", "node", "tenant", "number", "ok", "setup", "dtls", "rtt", "loss%", "jit"
    );
    for r in rows {
        let at = r.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let tenant = r.tenant_id.map_or("platform".to_string(), |t| t.0.to_string());
        println!(
            "{at:<25} {:<12} {tenant:<8} {:<14} {:<4} {:>8} {:>8} {:>7} {:>7} {:>6}  {}",
            r.node,
            r.number,
            if r.ok { "yes" } else { "NO" },
            f(r.invite_ok_ms),
            f(r.dtls_ms),
            f(r.rtt_ms),
            f(r.loss_pct),
            f(r.jitter_ms),
            r.error.unwrap_or_default()
        );
    }
    Ok(())
}
