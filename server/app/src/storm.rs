//! `callbase loadgen --storm`: every agent registers at once, the way every phone does after an
//! Asterisk restart or a network outage. Agents whose registration fails retry after a short random
//! back-off (as JsSIP's reconnect does) until the storm's deadline; the report says how long until
//! all were registered, how many attempts failed, who never made it, and the CPU it cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use callbase_probe::{Agent, Target};

use crate::procs::{pct, CpuWindow, Proc};

/// How long agents keep retrying: past the goal (every agent registered within 60 s), so a slow
/// storm is measured rather than cut.
const DEADLINE: Duration = Duration::from_secs(120);

#[derive(Debug, serde::Serialize)]
pub(crate) struct Storm {
    pub agents: usize,
    pub registered: usize,
    /// Seconds from the storm's start until the last agent registered.
    pub all_registered_secs: Option<f64>,
    /// Attempts that failed (an agent retried after each).
    pub failed_attempts: usize,
    pub register_p50_ms: Option<f64>,
    pub register_p95_ms: Option<f64>,
    /// Percent of one core per process over the storm.
    pub cpu_pct: Vec<(String, f64)>,
}

/// Registers every target at once; returns the agents that registered, in the targets' order.
pub(crate) async fn register_all(targets: &[Target], procs: &[Proc]) -> (Vec<Arc<Agent>>, Storm) {
    let cpu = CpuWindow::start(procs);
    let start = Instant::now();
    let runs = targets.iter().enumerate().map(|(i, t)| async move {
        let mut failed = 0usize;
        let mut last = String::new();
        while start.elapsed() < DEADLINE {
            match callbase_probe::register(t).await {
                Ok(agent) => return (Some((agent, start.elapsed())), failed, last),
                Err(e) => {
                    failed += 1;
                    last = e.to_string();
                    // 1–3 s, spread over the agents so the retries do not come back as one wave.
                    let ms = 1000 + ((i * 7919 + failed * 104_729) % 2000) as u64;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
        }
        (None, failed, last)
    });
    let results = futures_util::future::join_all(runs).await;
    let cpu_pct = cpu.percent();
    let (mut agents, mut reg_ms, mut failed_attempts, mut last_done) = (vec![], vec![], 0, None);
    let mut errors: Vec<String> = vec![];
    for (done, failed, last) in results {
        failed_attempts += failed;
        if !last.is_empty() && errors.len() < 3 {
            errors.push(last);
        }
        if let Some((agent, at)) = done {
            reg_ms.push(agent.register_ms);
            last_done = last_done.max(Some(at));
            agents.push(Arc::new(agent));
        }
    }
    for e in errors {
        eprintln!("loadgen: a registration attempt failed: {e}");
    }
    let storm = Storm {
        agents: targets.len(),
        registered: agents.len(),
        all_registered_secs: (agents.len() == targets.len())
            .then(|| last_done.unwrap_or_default().as_secs_f64()),
        failed_attempts,
        register_p50_ms: pct(&mut reg_ms, 0.5),
        register_p95_ms: pct(&mut reg_ms, 0.95),
        cpu_pct,
    };
    (agents, storm)
}

pub(crate) fn print(s: &Storm, json: bool) {
    let cpu: Vec<String> = s.cpu_pct.iter().map(|(n, c)| format!("{n} {c:.1}%")).collect();
    println!(
        "storm: {} of {} agents registered, all within {} s; {} failed attempts; REGISTER p50 {} p95 {} ms; cpu: {}",
        s.registered,
        s.agents,
        s.all_registered_secs.map_or("-".into(), |v| format!("{v:.1}")),
        s.failed_attempts,
        s.register_p50_ms.map_or("-".into(), |v| format!("{v:.0}")),
        s.register_p95_ms.map_or("-".into(), |v| format!("{v:.0}")),
        cpu.join(", ")
    );
    if json {
        println!("STORM {}", serde_json::to_string(s).unwrap_or_default());
    }
}
