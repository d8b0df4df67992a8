//! The processes a load run samples (the lab's Asterisks and servers: those in our network
//! namespace, and the load generator itself), their CPU time from /proc, and percentiles.

/// A process whose CPU is sampled.
#[derive(Debug, Clone)]
pub(crate) struct Proc {
    pub name: String,
    pub pid: u32,
}

/// Whether `pid` shares our network namespace: the lab's (a dev stack beside it runs outside).
pub(crate) fn same_netns(pid: u32) -> bool {
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/net")).ok();
    match (ns("self"), ns(&pid.to_string())) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The lab's (our namespace's) Asterisks (named by `-C`: platform, carrier), servers, and us.
pub(crate) fn processes() -> Vec<Proc> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if !same_netns(pid) {
            continue;
        }
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> =
            cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        match comm.trim() {
            "asterisk" => {
                let conf = args.iter().skip_while(|a| *a != "-C").nth(1).cloned().unwrap_or_default();
                let name =
                    if conf.contains("carrier") { "asterisk (carrier)" } else { "asterisk (platform)" };
                out.push(Proc { name: name.into(), pid });
            }
            "callbase" if args.iter().any(|a| a == "serve") => {
                out.push(Proc { name: "callbase server".into(), pid })
            }
            _ => {}
        }
    }
    out.push(Proc { name: "loadgen (webrtc-rs)".into(), pid: std::process::id() });
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// utime + stime of a process and all its threads, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub(crate) fn ticks_per_sec() -> f64 {
    // USER_HZ: /proc reports CPU time in these ticks, fixed at 100 by the kernel's ABI on every
    // architecture Linux supports.
    100.0
}

pub(crate) fn pct(v: &mut [f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

/// CPU time of some processes from a starting point: [`CpuWindow::percent`] gives each one's
/// percent of one core since [`CpuWindow::start`] (a process that exited is left out).
pub(crate) struct CpuWindow<'a> {
    procs: &'a [Proc],
    before: std::collections::HashMap<u32, u64>,
    t0: std::time::Instant,
}

impl<'a> CpuWindow<'a> {
    pub fn start(procs: &'a [Proc]) -> Self {
        let before = procs.iter().filter_map(|p| Some((p.pid, cpu_ticks(p.pid)?))).collect();
        CpuWindow { procs, before, t0: std::time::Instant::now() }
    }

    pub fn percent(&self) -> Vec<(String, f64)> {
        let secs = self.t0.elapsed().as_secs_f64();
        self.procs
            .iter()
            .filter_map(|p| {
                let d = cpu_ticks(p.pid)?.checked_sub(*self.before.get(&p.pid)?)?;
                Some((p.name.clone(), d as f64 / ticks_per_sec() / secs * 100.0))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_processes_of_our_network_namespace_count() {
        assert!(same_netns(std::process::id()));
        assert!(!same_netns(u32::MAX), "no such process");
        // A process in a network namespace of its own (as a dev stack's Asterisk is) does not count.
        let mut other = std::process::Command::new("unshare")
            .args(["--net", "sleep", "5"])
            .spawn()
            .expect("unshare runs");
        let pid = other.id();
        let start = std::time::Instant::now();
        while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim() != "sleep" {
            assert!(start.elapsed() < std::time::Duration::from_secs(3), "unshare did not exec sleep");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!same_netns(pid), "another namespace's process counted");
        let _ = (other.kill(), other.wait());
    }
}
