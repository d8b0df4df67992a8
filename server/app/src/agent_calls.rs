//! `callbase agent-calls`: webrtc-rs agents that are real telephony users of a tenant (`lg1`…, the
//! load generator's users) each make one call and hold it until told to hang up — a line
//! `hangup <login>` (or `hangup all`) on stdin — or until the far end hangs up. One JSON line per
//! event on stdout: `{"event":"registered",…}` once all are registered, `{"event":"ended",…}` with
//! the call's report when a call ends. The e2e lab's takeover test drives them
//! (tests/e2e/tests/takeover.test.mjs) next to browsers and a desk phone.
//!
//! Bounded: at most 20 agents, each call at most `--max-secs` (≤ 600 s).

use std::time::Duration;

use anyhow::Context;
use callbase_core::TenantId;
use callbase_probe::{CallOptions, Codec};
use tokio::sync::watch;

use crate::settings::Settings;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The tenant whose telephony users (`lg1`…) call.
    #[arg(long)]
    pub tenant: i64,
    /// How many agents (1–20).
    #[arg(long, default_value_t = 1)]
    pub agents: usize,
    /// The number each agent dials, as a user would (dial rules, the tenant's trunk).
    #[arg(long)]
    pub number: String,
    /// The longest a call is held if nobody hangs up (≤ 600 s).
    #[arg(long, default_value_t = 300)]
    pub max_secs: u64,
    /// Speak SIP straight to Asterisk's WebSocket with the user's phone credentials, as a softphone
    /// would, instead of through a server replica's `/sip` relay (whose restart would cut it: the
    /// synthetic agent does not reconnect the way the browser phone does).
    #[arg(long)]
    pub direct: bool,
    /// The address the agents' media sockets bind (default: probe.media_addr).
    #[arg(long)]
    pub media_addr: Option<std::net::IpAddr>,
}

const MAX_AGENTS: usize = 20;
const MAX_SECS: u64 = 600;

pub async fn run(settings: &Settings, a: Args) -> anyhow::Result<()> {
    anyhow::ensure!((1..=MAX_AGENTS).contains(&a.agents), "--agents must be 1..={MAX_AGENTS}");
    anyhow::ensure!((1..=MAX_SECS).contains(&a.max_secs), "--max-secs must be 1..={MAX_SECS}");
    let media_addr = a.media_addr.unwrap_or(settings.probe.media_addr);
    anyhow::ensure!(!media_addr.is_unspecified(), "--media-addr must be one address, not {media_addr}");
    let mut targets =
        crate::load_users::server_agents(settings, TenantId(a.tenant), a.agents, media_addr).await?;
    if a.direct {
        for t in &mut targets {
            t.ws_url = settings.asterisk.sip_ws_url().to_string();
            t.origin = None;
            t.cookie = None;
        }
    }
    let agents = futures_util::future::join_all(targets.iter().map(callbase_probe::register)).await;
    let mut registered = Vec::new();
    for (i, r) in agents.into_iter().enumerate() {
        registered.push((format!("lg{}", i + 1), r.context("an agent could not register")?));
    }
    println!("{}", serde_json::json!({"event": "registered", "agents": a.agents}));

    let mut stops = std::collections::HashMap::new();
    let mut calls = tokio::task::JoinSet::new();
    for (login, agent) in registered {
        let (tx, rx) = watch::channel(false);
        stops.insert(login.clone(), tx);
        let opts = CallOptions {
            number: a.number.clone(),
            talk: Duration::from_secs(a.max_secs),
            answer_timeout: Duration::from_secs(20),
            codec: Codec::Pcmu,
            hang_up: Some(rx),
            ..Default::default()
        };
        calls.spawn(async move {
            let report = agent.call(&opts).await;
            (login, report)
        });
    }
    // stdin on a thread of its own: tokio's stdin is a feature the workspace does not build, and a
    // blocking line reader is all this needs.
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdin_open = true;
    while !calls.is_empty() {
        tokio::select! {
            done = calls.join_next() => {
                let Some(done) = done else { break };
                let (login, report) = done.context("an agent's call task failed")?;
                println!("{}", serde_json::json!({"event": "ended", "login": login, "report": report}));
            }
            line = lines.recv(), if stdin_open => match line {
                Some(l) => match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                    ["hangup", "all"] => stops.values().for_each(|s| { let _ = s.send(true); }),
                    ["hangup", login] => match stops.get(*login) {
                        Some(s) => {
                            eprintln!("agent-calls: {login} hangs up");
                            let _ = s.send(true);
                        }
                        None => eprintln!("agent-calls: no agent {login}"),
                    },
                    _ => eprintln!("agent-calls: unknown command {l:?} (hangup <login>|all)"),
                },
                None => stdin_open = false,
            },
        }
    }
    Ok(())
}
