//! `callbase loadgen`: N synthetic agents (webrtc-rs) that register to this node's Asterisk and hold
//! concurrent echo calls, ramping up in steps. For every step it prints the concurrent calls, call
//! setup percentiles, audio loss, and the CPU per call of each Asterisk, of the server and of the
//! load generator itself, sampled from /proc over the step's steady window.
//!
//! Bounded by construction: at most 1 000 agents (400 unless `--storm`), 400 calls and 20 minutes; media binds one address
//! (loopback or the test's own netns), SIP goes to the configured Asterisk WebSocket (loopback).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use callbase_core::TenantId;
use callbase_probe::{Agent, CallOptions, Codec, Report, Target};

use crate::procs::{pct, processes, CpuWindow};
use crate::settings::Settings;

const MAX_AGENTS: usize = 400;
/// Agents of a registration storm (`--storm`): registered only, most of them never call.
const MAX_STORM_AGENTS: usize = 1000;
const MAX_CALLS: usize = 400;
const MAX_TOTAL: Duration = Duration::from_secs(20 * 60);

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Registered agents (at most 400; 1 000 with `--storm`).
    #[arg(long, default_value_t = 100)]
    pub agents: usize,
    /// Concurrent calls of each step, e.g. `10,20,40,60,80,100` (each ≤ agents); `100/20` places
    /// that step's calls over 20 s instead of `--ramp-secs`.
    #[arg(long, value_delimiter = ',', default_value = "10,20,40")]
    pub steps: Vec<StepSpec>,
    /// Seconds each step's calls are all up and measured.
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// Seconds over which each step places its calls, evenly (2: a burst of 50 calls a second at
    /// 100 calls; a call centre's steady rate is a call every few seconds per hundred agents).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=MAX_RAMP_SECS))]
    pub ramp_secs: u64,
    /// Dial through this tenant's trunks (the Stasis path: two Asterisks) instead of the internal echo.
    #[arg(long)]
    pub tenant: Option<i64>,
    #[arg(long, default_value = "echo")]
    pub number: String,
    /// The address the agents' media sockets bind (default: probe.media_addr).
    #[arg(long)]
    pub media_addr: Option<IpAddr>,
    /// Stop ramping once a step loses more than this (percent of packets).
    #[arg(long, default_value_t = 1.0)]
    pub max_loss_pct: f64,
    /// Print the steps as JSON lines too (for docs/benchmarks.md).
    #[arg(long)]
    pub json: bool,
    /// The agents' codec: `pcmu` (our browser profile, G.711 end to end) or `opus` (Asterisk
    /// transcodes Opus to the trunk's G.711).
    #[arg(long, value_enum, default_value_t = CodecArg::Pcmu)]
    pub codec: CodecArg,
    /// Opus only: a number on the same path that plays a tone (the carrier's 9998). One call to it
    /// captures Opus frames that Asterisk encoded, which every agent then sends (webrtc-rs has no
    /// encoder).
    #[arg(long, default_value = "9998")]
    pub capture_number: String,
    /// Real telephony users of `--tenant` through the server's `/sip` relay, calling `--number` the
    /// way an agent's browser does (dial rules, Stasis, call records); PCMU only.
    #[arg(long)]
    pub via_server: bool,
    /// Register every agent at once (the storm after an Asterisk restart: `storm.rs`) and report
    /// the time until all are registered, failed attempts and CPU; the steps' calls then run while
    /// all stay registered.
    #[arg(long)]
    pub storm: bool,
}

const MAX_RAMP_SECS: u64 = 60;

/// One step of `--steps`: its concurrent calls, and the seconds over which they are placed when
/// not `--ramp-secs` (`100/20`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpec {
    pub calls: usize,
    pub ramp_secs: Option<u64>,
}

impl std::str::FromStr for StepSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (calls, ramp) = match s.split_once('/') {
            Some((c, r)) => (c, Some(r)),
            None => (s, None),
        };
        let calls =
            calls.trim().parse().map_err(|_| format!("{s:?}: calls must be a number (`100` or `100/20`)"))?;
        let ramp_secs = match ramp {
            None => None,
            Some(r) => match r.trim().parse::<u64>() {
                Ok(r) if (1..=MAX_RAMP_SECS).contains(&r) => Some(r),
                _ => return Err(format!("{s:?}: the seconds after `/` must be 1 to {MAX_RAMP_SECS}")),
            },
        };
        Ok(StepSpec { calls, ramp_secs })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CodecArg {
    Pcmu,
    Opus,
}

/// One step's figures.
#[derive(Debug, serde::Serialize)]
struct Step {
    calls: usize,
    /// Seconds over which the step's calls were placed.
    ramp_secs: u64,
    ok: usize,
    setup_p50_ms: Option<f64>,
    setup_p95_ms: Option<f64>,
    dtls_p95_ms: Option<f64>,
    loss_pct: f64,
    rtt_p95_ms: Option<f64>,
    /// Our share of setup (INVITE in → trunk INVITE out) p50/p95, trunk path only.
    ours_p50_ms: Option<f64>,
    ours_p95_ms: Option<f64>,
    /// Percent of one core, per process, over the window.
    cpu_pct: Vec<(String, f64)>,
}

pub async fn run(settings: &Settings, a: Args) -> anyhow::Result<()> {
    let pool = crate::probe_cli::worker_pool(settings)?;
    let ami = crate::startup::start_ami(settings);
    let result = run_with(settings, &a, &pool, ami.as_ref()).await;
    if !a.via_server {
        // The platform endpoints can reach any tenant's trunk path: they do not outlive the run.
        let ids: Vec<String> =
            (1..=a.agents.min(MAX_STORM_AGENTS)).map(|i| format!("callbase-lg{i}")).collect();
        if let Err(e) = callbase_telephony::probe::remove_endpoints(&pool, ami.as_ref(), &ids).await {
            eprintln!("loadgen: could not remove the load agents' endpoints: {e}");
        }
    }
    result
}

async fn run_with(
    settings: &Settings,
    a: &Args,
    pool: &sqlx::PgPool,
    ami: Option<&callbase_telephony::ami::Ami>,
) -> anyhow::Result<()> {
    let max_agents = if a.storm { MAX_STORM_AGENTS } else { MAX_AGENTS };
    anyhow::ensure!(a.agents >= 1 && a.agents <= max_agents, "--agents must be 1..={max_agents}");
    anyhow::ensure!(
        !a.steps.is_empty() && a.steps.iter().all(|s| s.calls >= 1 && s.calls <= a.agents.min(MAX_CALLS)),
        "every step must be 1..=agents (and at most {MAX_CALLS})"
    );
    anyhow::ensure!(a.window_secs >= 1 && a.window_secs <= 120, "--window-secs must be 1..=120");
    let deadline = Instant::now() + MAX_TOTAL;
    let media_addr = a.media_addr.unwrap_or(settings.probe.media_addr);
    // Load stays on this host: SIP to Asterisk on loopback, media on one address we name (loopback
    // or the test's own network namespace), never a wildcard that would gather every interface.
    anyhow::ensure!(!media_addr.is_unspecified(), "--media-addr must be one address, not {media_addr}");
    let ws = settings.asterisk.sip_ws_url();
    let ws_loopback = match ws.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    anyhow::ensure!(ws_loopback, "the load generator only drives an Asterisk on loopback ({ws})");
    let redis = redis::Client::open(secrecy::ExposeSecret::expose_secret(&settings.redis.url))
        .context("redis.url")?;
    let mut redis = redis.get_multiplexed_async_connection().await.context("cannot connect to Redis")?;

    let (codec, allow) = match a.codec {
        CodecArg::Pcmu => (Codec::Pcmu, "ulaw"),
        CodecArg::Opus => (Codec::Opus, "opus"),
    };
    let path = |n: &str| match (a.tenant, a.via_server) {
        (Some(t), false) => callbase_telephony::probe::trunk_path_exten(TenantId(t), n),
        _ => n.to_string(),
    };
    let number = path(&a.number);
    let targets: Vec<Target> = if a.via_server {
        let tenant = a.tenant.context("--via-server needs --tenant")?;
        anyhow::ensure!(codec == Codec::Pcmu, "--via-server calls with PCMU (the browser profile)");
        eprintln!("loadgen: signing in {} telephony users of tenant {tenant} (lg1…)", a.agents);
        crate::load_users::server_agents(settings, TenantId(tenant), a.agents, media_addr).await?
    } else {
        // Platform endpoints callbase-lg1..N, one password for the run.
        let password = callbase_telephony::agents::generate_password();
        let mut out = Vec::new();
        for i in 1..=a.agents {
            let id = format!("callbase-lg{i}");
            callbase_telephony::probe::provision_endpoint(pool, ami, &id, &password, 1, allow).await?;
            out.push(Target {
                ws_url: ws.to_string(),
                origin: None,
                cookie: None,
                domain: callbase_telephony::agents::REALM.into(),
                user: id,
                password: password.clone(),
                media_addr,
            });
        }
        out
    };
    eprintln!(
        "loadgen: registering {} agents (media on {media_addr}, calling {number}{})",
        a.agents,
        if a.via_server { ", through the server's /sip" } else { "" }
    );
    let procs = processes();
    eprintln!(
        "loadgen: sampling CPU of {}",
        procs.iter().map(|p| format!("{} [{}]", p.name, p.pid)).collect::<Vec<_>>().join(", ")
    );
    let agents = if a.storm {
        let (agents, storm) = crate::storm::register_all(&targets, &procs).await;
        crate::storm::print(&storm, a.json);
        anyhow::ensure!(
            agents.len() >= a.steps.iter().map(|s| s.calls).max().unwrap_or(0),
            "too few agents registered for the steps"
        );
        agents
    } else {
        register_in_chunks(&targets).await?
    };

    let frames = if codec == Codec::Opus {
        let opts = CallOptions {
            number: path(&a.capture_number),
            talk: Duration::from_millis(3000),
            answer_timeout: Duration::from_secs(20),
            codec,
            capture: 150,
            ..Default::default()
        };
        let r = agents[0].call(&opts).await;
        // The first packets may be the encoder settling: keep the steady tone.
        let f: Vec<Vec<u8>> = r.captured.into_iter().skip(25).filter(|p| p.len() > 10).collect();
        anyhow::ensure!(
            f.len() >= 25,
            "capturing Opus frames from {} failed ({} frames; {:?})",
            a.capture_number,
            f.len(),
            r.error
        );
        eprintln!(
            "loadgen: captured {} Opus frames (avg {} bytes) from {}",
            f.len(),
            f.iter().map(Vec::len).sum::<usize>() / f.len(),
            a.capture_number
        );
        Some(Arc::new(f))
    } else {
        None
    };
    let mut steps = Vec::new();
    for spec in &a.steps {
        let (n, ramp_secs) = (spec.calls, spec.ramp_secs.unwrap_or(a.ramp_secs));
        if Instant::now() + Duration::from_secs(a.window_secs + ramp_secs + 20) > deadline {
            eprintln!("loadgen: time budget reached");
            break;
        }
        let _: Result<(), _> =
            redis::cmd("DEL").arg(callbase_telephony::call::SETUP_SAMPLES).query_async(&mut redis).await;
        // Calls start over the ramp, talk through the window, and end together.
        let ramp = Duration::from_secs(ramp_secs);
        let settle = Duration::from_millis(2500);
        let talk = ramp + settle + Duration::from_secs(a.window_secs) + Duration::from_millis(500);
        let calls: Vec<_> = agents[..n]
            .iter()
            .enumerate()
            .map(|(i, agent)| {
                let agent = agent.clone();
                let opts = CallOptions {
                    number: number.clone(),
                    talk: talk - ramp * i as u32 / n as u32,
                    answer_timeout: Duration::from_secs(20),
                    codec,
                    frames: frames.clone(),
                    ..Default::default()
                };
                let delay = ramp * i as u32 / n as u32;
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    agent.call(&opts).await
                })
            })
            .collect();
        tokio::time::sleep(ramp + settle).await;
        let window = CpuWindow::start(&procs);
        tokio::time::sleep(Duration::from_secs(a.window_secs)).await;
        let cpu_pct = window.percent();
        let mut reports: Vec<Report> = Vec::new();
        for c in calls {
            reports.push(
                c.await.unwrap_or_else(|e| Report { error: Some(e.to_string()), ..Default::default() }),
            );
        }
        // PCMU: our tagged packets that came back, recorded calls too (their softmix bridge keeps
        // the tags: `callbase_probe::audio`). Opus: packets received against packets sent (the echo
        // keeps the 20 ms cadence; the payload is Asterisk's own encoding, no tag).
        let by_count = codec == Codec::Opus;
        let ok = reports
            .iter()
            .filter(|r| r.error.is_none() && r.audio.as_ref().is_some_and(|a| a.received > 0))
            .count();
        let (sent, echoed) =
            reports.iter().filter_map(|r| r.audio.as_ref()).fold((0u64, 0u64), |(s, e), a| {
                (s + a.sent, e + if by_count { a.received.min(a.sent) } else { a.echoed })
            });
        let loss_pct = if sent == 0 { 100.0 } else { (sent - echoed) as f64 * 100.0 / sent as f64 };
        let mut setup: Vec<f64> = reports.iter().filter_map(|r| r.invite_ok_ms).collect();
        let mut dtls: Vec<f64> = reports.iter().filter_map(|r| r.dtls_ms).collect();
        let mut rtt: Vec<f64> =
            reports.iter().filter_map(|r| r.audio.as_ref().and_then(|a| a.rtt_p95_ms)).collect();
        let ours: Vec<i64> = redis::cmd("LRANGE")
            .arg(callbase_telephony::call::SETUP_SAMPLES)
            .arg(0)
            .arg(-1)
            .query_async(&mut redis)
            .await
            .unwrap_or_default();
        let mut ours: Vec<f64> = ours.into_iter().map(|v| v as f64).collect();
        for r in reports.iter().filter(|r| r.error.is_some()).take(3) {
            eprintln!("loadgen: a call failed: {}", r.error.as_deref().unwrap_or_default());
        }
        let step = Step {
            calls: n,
            ramp_secs,
            ok,
            setup_p50_ms: pct(&mut setup, 0.5),
            setup_p95_ms: pct(&mut setup, 0.95),
            dtls_p95_ms: pct(&mut dtls, 0.95),
            loss_pct,
            rtt_p95_ms: pct(&mut rtt, 0.95),
            ours_p50_ms: pct(&mut ours, 0.5),
            ours_p95_ms: pct(&mut ours, 0.95),
            cpu_pct,
        };
        print_step(&step, a.json);
        let stop = step.loss_pct > a.max_loss_pct || step.ok < n;
        steps.push(step);
        if stop {
            eprintln!(
                "loadgen: stopping: loss above {} % or failed calls at {n} concurrent calls",
                a.max_loss_pct
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    summary(&steps, a.max_loss_pct);
    drop(agents);
    Ok(())
}

/// Registers the agents 20 at a time (the steps' measurements, not a storm); the first failure
/// ends the run.
async fn register_in_chunks(targets: &[Target]) -> anyhow::Result<Vec<Arc<Agent>>> {
    let started = Instant::now();
    let mut agents: Vec<Arc<Agent>> = Vec::new();
    let mut reg_ms = Vec::new();
    for chunk in targets.chunks(20) {
        let regs = futures_util::future::join_all(chunk.iter().map(callbase_probe::register)).await;
        for r in regs {
            let agent = r.context("an agent could not register")?;
            reg_ms.push(agent.register_ms);
            agents.push(Arc::new(agent));
        }
    }
    eprintln!(
        "loadgen: {} agents registered in {:.1} s (REGISTER p50 {:.1} ms, p95 {:.1} ms)",
        agents.len(),
        started.elapsed().as_secs_f64(),
        pct(&mut reg_ms.clone(), 0.5).unwrap_or(0.0),
        pct(&mut reg_ms, 0.95).unwrap_or(0.0)
    );
    Ok(agents)
}

fn f(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn print_step(s: &Step, json: bool) {
    let cpu: Vec<String> =
        s.cpu_pct.iter().map(|(n, c)| format!("{n} {c:.1}% ({:.2}%/call)", c / s.calls as f64)).collect();
    println!(
        "calls {:>4} over {:>2} s  ok {:>4}  setup p50 {:>6} p95 {:>6} ms  dtls p95 {:>6} ms  loss {:.2}%  rtt p95 {:>5} ms  ours p50 {:>5} p95 {:>5} ms  cpu: {}",
        s.calls,
        s.ramp_secs,
        s.ok,
        f(s.setup_p50_ms),
        f(s.setup_p95_ms),
        f(s.dtls_p95_ms),
        s.loss_pct,
        f(s.rtt_p95_ms),
        f(s.ours_p50_ms),
        f(s.ours_p95_ms),
        cpu.join(", ")
    );
    if json {
        println!("JSON {}", serde_json::to_string(s).unwrap_or_default());
    }
}

fn summary(steps: &[Step], max_loss: f64) {
    let Some(best) =
        steps.iter().filter(|s| s.loss_pct <= max_loss && s.ok == s.calls).max_by_key(|s| s.calls)
    else {
        println!("summary: no step held all its calls under {max_loss} % loss");
        return;
    };
    let cpu =
        |name: &str| best.cpu_pct.iter().filter(|(n, _)| n.starts_with(name)).map(|(_, c)| c).sum::<f64>();
    let platform = best.cpu_pct.iter().find(|(n, _)| n == "asterisk (platform)").map_or(0.0, |(_, c)| *c);
    let server = cpu("callbase server");
    println!(
        "summary: {} concurrent calls with {:.2} % loss; platform Asterisk {:.2} % of a core per call ({:.0} calls per core); server CPU = {:.1} % of the platform Asterisk's",
        best.calls,
        best.loss_pct,
        platform / best.calls as f64,
        if platform > 0.0 { 100.0 * best.calls as f64 / platform } else { f64::INFINITY },
        if platform > 0.0 { 100.0 * server / platform } else { 0.0 }
    );
}

#[cfg(test)]
mod tests {
    use super::StepSpec;

    #[test]
    fn a_step_is_its_calls_with_the_seconds_to_place_them_after_a_slash() {
        assert_eq!("100".parse(), Ok(StepSpec { calls: 100, ramp_secs: None }));
        assert_eq!("100/20".parse(), Ok(StepSpec { calls: 100, ramp_secs: Some(20) }));
        for bad in ["", "x", "100/", "100/0", "100/61", "100/x", "/20"] {
            assert!(bad.parse::<StepSpec>().is_err(), "{bad:?}");
        }
    }
}
