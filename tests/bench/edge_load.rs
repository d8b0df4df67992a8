//! The edge bench's load and meters: sipp placing a tenant's calls at a fixed rate (its own
//! response-time measure for setup), and CPU time of the processes on the call path.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callbase_tests::calls::{uac_scenario, Uac};

use crate::edge::Side;

/// Times in ms, sorted.
pub struct Timings(pub Vec<f64>);

/// CPU time (clock ticks) of Kamailio (every process of its group), the server, and the Asterisks
/// main, node2 and carrier.
pub struct CpuMeter {
    kamailio_group: u32,
    pids: [u32; 4],
}

/// The processes' CPU ticks so far, and when they were read.
pub struct Sample {
    at: Instant,
    ticks: [u64; 5],
}

impl CpuMeter {
    pub fn new(kamailio: u32, server: u32, asterisks: [u32; 3]) -> Self {
        CpuMeter { kamailio_group: kamailio, pids: [server, asterisks[0], asterisks[1], asterisks[2]] }
    }

    /// [Kamailio, server, main, node2, carrier] in clock ticks so far.
    pub fn sample(&self) -> Sample {
        let mut kam = 0;
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if let Some((pgrp, ticks)) = stat(pid) {
                if pgrp == self.kamailio_group {
                    kam += ticks;
                }
            }
        }
        let t = |pid: u32| stat(pid).map(|(_, t)| t).unwrap_or(0);
        Sample {
            at: Instant::now(),
            ticks: [kam, t(self.pids[0]), t(self.pids[1]), t(self.pids[2]), t(self.pids[3])],
        }
    }

    /// Each process's CPU while nothing is asked of it (its timers, the server's workers and lease
    /// renewals, the nodes' qualify and registrations, the edge's node probes), over `secs`: ticks
    /// a second.
    pub async fn idle(&self, secs: u64) -> [f64; 5] {
        let before = self.sample();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let after = self.sample();
        let secs = (after.at - before.at).as_secs_f64();
        std::array::from_fn(|i| after.ticks[i].saturating_sub(before.ticks[i]) as f64 / secs)
    }
}

/// An idle rate (ticks a second) as % of one core.
pub fn idle_percent(idle: &[f64; 5]) -> [f64; 5] {
    let hz = clock_ticks_per_sec();
    std::array::from_fn(|i| idle[i] * 100.0 / hz)
}

/// (process group, utime + stime) of a process, from /proc/<pid>/stat.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (which may hold spaces): state is field 3, pgrp 5, utime 14, stime 15.
    let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some((field(5)? as u32, field(14)? + field(15)?))
}

/// CPU spent for operations, beyond each process's idle rate, added up over phases.
#[derive(Default)]
pub struct Busy {
    ticks: [f64; 5],
    ops: usize,
}

impl Busy {
    /// Adds a phase of `ops` operations between two samples: each process's ticks less its idle
    /// rate over the same time.
    pub fn add(&mut self, before: &Sample, after: &Sample, idle: &[f64; 5], ops: usize) {
        let secs = (after.at - before.at).as_secs_f64();
        for (i, rate) in idle.iter().enumerate() {
            self.ticks[i] += after.ticks[i].saturating_sub(before.ticks[i]) as f64 - rate * secs;
        }
        self.ops += ops;
    }

    /// ms of CPU per operation of each process (never below 0).
    pub fn per_op_ms(&self) -> [f64; 5] {
        let hz = clock_ticks_per_sec();
        std::array::from_fn(|i| self.ticks[i].max(0.0) * 1000.0 / hz / self.ops.max(1) as f64)
    }
}

fn clock_ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `calls` calls from the tenant's desk phones (in turn) to the carrier's "PSTN" through `target`
/// (the node, or the edge with `proxied`: in-dialog requests along the recorded route), 2.5 a
/// second, 2 s of talk each, by one sipp process. sipp times the first INVITE → the 200 OK of every
/// call (`-trace_rtt`, whole ms). Every call must be answered.
pub async fn sipp_calls(
    s: &Side,
    target: SocketAddr,
    proxied: bool,
    calls: usize,
) -> anyhow::Result<Timings> {
    let dir = std::env::temp_dir().join(callbase_tests::unique("callbase-edge-bench-"));
    std::fs::create_dir_all(&dir)?;
    let scenario = uac_scenario(&Uac {
        user: "[field0]",
        auth: "[field1]",
        final_code: 200,
        talk_ms: 2000,
        proxied,
        timed: true,
    });
    std::fs::write(dir.join("uac.xml"), scenario)?;
    // One phone per line, taken in turn; sipp fills the digest answer from the line.
    let mut inf = String::from("SEQUENTIAL\n");
    for (login, pw) in &s.phones {
        anyhow::ensure!(pw.chars().all(|c| c.is_ascii_alphanumeric()), "a SIP password sipp cannot carry");
        inf.push_str(&format!("{login};[authentication username={login} password={pw}]\n"));
    }
    std::fs::write(dir.join("phones.csv"), inf)?;
    let out = tokio::time::timeout(
        Duration::from_secs(calls as u64 / 2 + 120),
        tokio::process::Command::new("sipp")
            .args(["-sf", "uac.xml", "-inf", "phones.csv", "-s", crate::edge::NUMBER])
            .args(["-m", &calls.to_string(), "-r", "5", "-rp", "2000", "-l", "50"])
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &free_udp_port().to_string(), "-mp", &free_udp_port().to_string()])
            .args(["-timeout", "300s", "-timeout_error", "-nostdin", "-trace_err"])
            .args(["-trace_rtt", "-rtt_freq", "1"])
            .arg(target.to_string())
            .current_dir(&dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("sipp for tenant {} did not finish in time", s.name))??;
    let mut times = Vec::new();
    let mut errors = String::new();
    for e in std::fs::read_dir(&dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        if name.ends_with("_rtt.csv") {
            // Date_ms;response_time_ms;rtd_no
            times.extend(text.lines().skip(1).filter_map(|l| l.split(';').nth(1)?.parse::<f64>().ok()));
        } else if name.ends_with("_errors.log") {
            errors = text.chars().rev().take(4000).collect::<String>().chars().rev().collect();
        }
    }
    anyhow::ensure!(
        out.status.success() && times.len() == calls,
        "tenant {}: sipp through {target} timed {} of {calls} calls ({}):\n{}\n{errors}",
        s.name,
        times.len(),
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .rev()
            .take(3000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );
    let _ = std::fs::remove_dir_all(&dir);
    times.sort_by(|x, y| x.partial_cmp(y).unwrap());
    Ok(Timings(times))
}
