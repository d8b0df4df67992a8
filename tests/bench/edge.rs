//! `edge`: what the SIP edge (Kamailio with `infra/kamailio/edge.cfg`) and per-node routing add
//! (issue #17), against the running test stack: both platform nodes (`main`, `node2`) and the
//! carrier. Tenant A is on main, tenant B is moved to node2 with `callbase node move`; each has a
//! trunk to the carrier and `BENCH_EDGE_USERS` desk-phone users. Side by side, the same bounded load
//! straight to each tenant's node and through one Kamailio edge of the bench's own:
//! 1. REGISTER (digest challenge included): time per REGISTER, and the CPU each process spent;
//! 2. calls (sipp: INVITE → 200 OK through Stasis, the tenant's trunk and the carrier's answer):
//!    setup times and CPU per call;
//! 3. that every registration and call landed on its tenant's node (each node's AMI contacts, the
//!    call records' `node`); the bench fails when one did not;
//! 4. a registration storm: every phone of both tenants REGISTERs at once through the edge (three
//!    rounds): time until all are registered, failures, retransmissions, CPU per REGISTER;
//! 5. the server's own price of per-node routing: `Nodes::of_tenant`, which the `/sip` relay and
//!    every telephony route call.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callbase_core::TenantId;
use callbase_telephony::nodes::{Node, Nodes};
use callbase_tests::calls::{trunk_body, wait_for_trunk};
use callbase_tests::kamailio::Kamailio;
use callbase_tests::nodes::{main_and_node2, registers};
use callbase_tests::sip::{register, register_retransmitting};
use callbase_tests::{env, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::json;

use crate::edge_load::{idle_percent, sipp_calls, Busy, CpuMeter, Timings};
use crate::pct;

/// The number the desk phones dial (domestic; the carrier answers any number of its "PSTN").
pub(crate) const NUMBER: &str = "1234567";

/// Each path's load is given in this many turns, the paths alternating.
const ROUNDS: usize = 2;
/// Rounds of the registration storm.
const STORM_ROUNDS: usize = 3;

fn sorted(v: &[f64]) -> Timings {
    let mut v = v.to_vec();
    v.sort_by(|x, y| x.partial_cmp(y).unwrap());
    Timings(v)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One tenant of the bench: its administrator, node and desk phones (login, password).
pub(crate) struct Side {
    pub(crate) name: &'static str,
    admin: Browser,
    tenant: callbase_tests::Tenant,
    node: &'static str,
    /// The node's SIP address (where the phones go without the edge).
    node_sip: SocketAddr,
    pub(crate) phones: Vec<(String, String)>,
}

pub async fn run() -> anyhow::Result<()> {
    let users = env_or("BENCH_EDGE_USERS", 50).clamp(1, 500);
    let calls = env_or("BENCH_EDGE_CALLS", 100).clamp(1, 500);
    let server = crate::start_server_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__NODES", "all"),
        // The uploader's mp3 encoding would count as the server's CPU per call; recording is off
        // for both tenants below.
        ("CALLBASE__WORKERS__RECORDINGS", "false"),
    ]);
    let app = TestApp::attach(&server.base).await;
    wait_leases(server.child.id()).await?;
    let machine = format!("{}; load average at the start {}", machine(), loadavg());
    eprintln!("edge bench: {machine}; {users} desk phones per tenant, {calls} calls per tenant and path");

    let a = side(&app, "A", "main", users).await?;
    let b = side(&app, "B", "node2", users).await?;
    let result = bench(&app, &server, &[&a, &b], users, calls).await;
    // Telephony off: trunks un-REGISTERed, endpoints and contacts gone from the nodes.
    for s in [&a, &b] {
        let r = s.admin.post("/api/telephony/disable", json!({"confirm_account": s.tenant.account})).await;
        if r.status != StatusCode::OK {
            eprintln!("tenant {}: telephony off failed: {} {}", s.name, r.status, r.text);
        }
    }
    let report = result?;
    println!("\n## SIP edge and per-node routing ({machine}, at the end {})\n", loadavg());
    println!("{report}");
    Ok(())
}

/// The bench's server holds every node's Stasis and registration leases (no other server makes
/// calls on the test stack meanwhile: infra/bench holds the call tests' lock).
async fn wait_leases(pid: u32) -> anyhow::Result<()> {
    let client = redis::Client::open(env("CALLBASE__REDIS__URL"))?;
    let mut r = redis::aio::ConnectionManager::new(client).await?;
    let start = Instant::now();
    for lease in ["stasis:main", "stasis:node2", "registrations:main", "registrations:node2"] {
        loop {
            let h = callbase_telephony::lease::Lease::holder(&mut r, lease).await?;
            if h.as_ref().is_some_and(|h| h.owner.contains(&format!(":{pid}:"))) {
                break;
            }
            anyhow::ensure!(start.elapsed() < Duration::from_secs(30), "{lease} not taken in 30 s: {h:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

fn loadavg() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Signs up a tenant with telephony on, puts it on `node` (`callbase node move`, the operator's
/// command) unless it is already there, gives it a registered trunk and `users` desk phones.
async fn side(app: &TestApp, name: &'static str, node: &'static str, users: usize) -> anyhow::Result<Side> {
    let (admin, tenant) = app.telephony_tenant().await;
    let placed = callbase_tests::nodes::node_of(tenant.id).await;
    if placed.as_deref() != Some(node) {
        let out = std::process::Command::new(std::env::var("CALLBASE_APP_BIN")?)
            .args(["node", "move", &tenant.id.to_string(), node])
            .envs(callbase_tests::stack_env().iter().filter(|(k, _)| k.starts_with("CALLBASE__")))
            .output()?;
        anyhow::ensure!(out.status.success(), "callbase node move: {}", String::from_utf8_lossy(&out.stderr));
    }
    anyhow::ensure!(
        callbase_tests::nodes::node_of(tenant.id).await.as_deref() == Some(node),
        "tenant {name} is not on {node}"
    );
    // Limits above the bench's load (each phone calls a few times a minute), recording off.
    let mut limits = admin.get("/api/security/settings").await.body;
    limits["max_calls_tenant"] = json!(1000);
    limits["max_calls_user"] = json!(10);
    limits["calls_per_minute_user"] = json!(1000);
    let r = admin.put("/api/security/settings", limits).await;
    anyhow::ensure!(r.status == StatusCode::OK, "fraud limits: {} {}", r.status, r.text);
    let mut rec = admin.get("/api/telephony/recording").await.body;
    rec["record_calls"] = json!(false);
    let r = admin.put("/api/telephony/recording", rec).await;
    anyhow::ensure!(r.status == StatusCode::OK, "recording off: {} {}", r.status, r.text);
    // The shared outbound credential of the carrier (tenant-a/tenant-b belong to the tests'
    // inbound calls: the carrier keeps one contact per credential).
    let r = admin
        .post(
            "/api/trunks",
            trunk_body(&env("CALLBASE_CARRIER_TRUNK_USER"), &env("CALLBASE_CARRIER_TRUNK_PASSWORD")),
        )
        .await;
    anyhow::ensure!(r.status == StatusCode::CREATED, "trunk: {} {}", r.status, r.text);
    wait_for_trunk(&admin, &r.body["id"], "registered", Duration::from_secs(30)).await;
    let mut phones = Vec::with_capacity(users);
    for i in 1..=users {
        let login = format!("desk{i}");
        let u = admin
            .post(
                "/api/users",
                json!({"login": login, "name": format!("Desk {i}"), "email": format!("{login}@example.com"),
                       "password": "Desk-phone-pass-4821"}),
            )
            .await;
        anyhow::ensure!(u.status == StatusCode::CREATED, "user: {} {}", u.status, u.text);
        let t = admin
            .post("/api/telephony/users", json!({"user_id": u.body["id"], "browser_calls": false}))
            .await;
        anyhow::ensure!(t.status == StatusCode::CREATED, "telephony user: {} {}", t.status, t.text);
        let login = t.body["sip_login"].as_str().unwrap_or_default().to_string();
        let password = t.body["sip_password"].as_str().unwrap_or_default().to_string();
        anyhow::ensure!(!login.is_empty() && !password.is_empty(), "no SIP credentials: {}", t.text);
        phones.push((login, password));
    }
    let sip = if node == "main" { env("CALLBASE_PLATFORM_SIP") } else { env("CALLBASE_NODE2_SIP") };
    Ok(Side { name, admin, tenant, node, node_sip: sip.parse()?, phones })
}

/// The measured part; returns the report (markdown).
async fn bench(
    app: &TestApp,
    server: &crate::Server,
    sides: &[&Side; 2],
    users: usize,
    calls: usize,
) -> anyhow::Result<String> {
    let (main, node2) = main_and_node2(app).await;
    for s in sides {
        let trunk = format!("t{}-trk1", s.tenant.id);
        let (on, off) = if s.node == "main" { (&main, &node2) } else { (&node2, &main) };
        anyhow::ensure!(registers(on, &trunk).await, "{} must register tenant {}'s trunk", s.node, s.name);
        anyhow::ensure!(!registers(off, &trunk).await, "{} registers tenant {}'s trunk", off.id(), s.name);
    }
    let edge = Kamailio::edge().await;
    let edge_addr = edge.addr();
    let stack_dir = env("CALLBASE_STACK_DIR");
    let ast = |inst: &str| -> anyhow::Result<u32> {
        Ok(std::fs::read_to_string(format!("{stack_dir}/asterisk-{inst}.pid"))?.trim().parse()?)
    };
    let meter = CpuMeter::new(
        edge.pid().ok_or_else(|| anyhow::anyhow!("the edge is not running"))?,
        server.child.id(),
        [ast("platform")?, ast("node2")?, ast("carrier")?],
    );
    let mut out = String::new();
    // The edge is up and nothing is asked of anyone: what each process spends anyway.
    let idle = meter.idle(10).await;

    // The paths take turns (direct, edge, direct, edge), so a disturbance from outside the bench
    // (this machine is shared) does not fall on one path alone.
    let paths = [("direct to the node", false), ("through the edge", true)];
    // 1. Calls, before any REGISTER: the phones have no contacts yet, so no node qualifies them
    // through the edge while the calls are measured. Each tenant's phones call NUMBER through its
    // trunk, `calls` per tenant and path, 2.5 a second per tenant, talking 2 s (about 10 calls up
    // at once).
    // Warm-up, not measured: the server's first calls open its database connections.
    let (wa, wb) = tokio::join!(
        sipp_calls(sides[0], sides[0].node_sip, false, 4),
        sipp_calls(sides[1], sides[1].node_sip, false, 4)
    );
    wa?;
    wb?;
    let per_round = calls.div_ceil(ROUNDS);
    let mut call: [(Vec<f64>, Busy, [usize; 2]); 2] = Default::default();
    for _ in 0..ROUNDS {
        for (k, (_, via_edge)) in paths.iter().enumerate() {
            let since: time::OffsetDateTime =
                sqlx::query_scalar("SELECT now()").fetch_one(&worker_pool().await).await?;
            let target = |s: &Side| if *via_edge { edge_addr } else { s.node_sip };
            let before = meter.sample();
            let (ta, tb) = tokio::join!(
                sipp_calls(sides[0], target(sides[0]), *via_edge, per_round),
                sipp_calls(sides[1], target(sides[1]), *via_edge, per_round),
            );
            call[k].1.add(&before, &meter.sample(), &idle, 2 * per_round);
            call[k].0.extend(ta?.0.into_iter().chain(tb?.0));
            for (j, s) in sides.iter().enumerate() {
                call[k].2[j] += calls_landed(s, since, per_round).await?;
            }
        }
    }
    // 2. REGISTER: every phone once per round and path, A's and B's in turn, 20 a second.
    let reg_rate = 20.0;
    let mut reg: [(Vec<f64>, Busy); 2] = Default::default();
    for _ in 0..ROUNDS {
        for (k, (_, via_edge)) in paths.iter().enumerate() {
            let mut list = Vec::new();
            for i in 0..users {
                for s in sides {
                    let (login, pw) = &s.phones[i];
                    list.push((if *via_edge { edge_addr } else { s.node_sip }, login.clone(), pw.clone()));
                }
            }
            let before = meter.sample();
            let t = register_all(&list, reg_rate).await?;
            reg[k].1.add(&before, &meter.sample(), &idle, list.len());
            reg[k].0.extend(t.0);
        }
    }
    // 3. A registration storm (issue #23): every phone of both tenants REGISTERs at once through
    // the edge, as after a restart of the edge or of Asterisk; each retransmits as a UDP phone does.
    let mut storms = Vec::new();
    for _ in 0..STORM_ROUNDS {
        let list: Vec<(String, String)> = sides.iter().flat_map(|s| s.phones.iter().cloned()).collect();
        let mut busy = Busy::default();
        let before = meter.sample();
        let started = Instant::now();
        let tasks: Vec<_> = list
            .into_iter()
            .map(|(login, pw)| {
                tokio::spawn(async move {
                    let (code, again) = register_retransmitting(edge_addr, &login, &pw, 300).await;
                    (code, again, started.elapsed().as_secs_f64() * 1000.0)
                })
            })
            .collect();
        let mut times = Vec::with_capacity(tasks.len());
        let (mut failed, mut resent) = (0, 0);
        for task in tasks {
            let (code, again, ms) = task.await?;
            resent += again;
            if code == 200 {
                times.push(ms);
            } else {
                failed += 1;
            }
        }
        let all = started.elapsed();
        busy.add(&before, &meter.sample(), &idle, times.len() + failed);
        times.sort_by(|x, y| x.partial_cmp(y).unwrap());
        storms.push((times, failed, resent, all, busy.per_op_ms()));
        // The phones' next REGISTER would come at their expiry: let the nodes settle before the next.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    // What the storms took of Kamailio's shared memory (its most in use since it started).
    let shm = edge.rpc("core.shmmem").await.unwrap_or_default();
    let shm_of = |key: &str| -> f64 {
        shm.lines()
            .find_map(|l| {
                l.trim().strip_prefix(key).and_then(|v| v.trim_start_matches(':').trim().parse().ok())
            })
            .unwrap_or(0.0)
            / 1048576.0
    };
    let shm_line = format!(
        "Kamailio's shared memory: at most {:.1} MB in use of {:.0} MB (`kamcmd core.shmmem` after the storms).",
        shm_of("max_used"),
        shm_of("total")
    );
    // Each phone's contact is on its tenant's node only, with the edge's Path (the last REGISTER
    // went through the edge).
    let mut landing = Vec::new();
    for s in sides {
        let (on, off) = if s.node == "main" { (&main, &node2) } else { (&node2, &main) };
        let held = contacts(on).await?;
        let elsewhere = contacts(off).await?;
        let edge_port = format!(":{}", edge.port);
        let mine =
            s.phones.iter().filter(|(l, _)| held.iter().any(|(e, p)| e == l && p.contains(&edge_port)));
        let theirs = s.phones.iter().filter(|(l, _)| elsewhere.iter().any(|(e, _)| e == l)).count();
        let mine = mine.count();
        anyhow::ensure!(
            mine == users && theirs == 0,
            "tenant {}'s phones: {mine} of {users} registered on {} through the edge, {theirs} on {}",
            s.name,
            s.node,
            off.id()
        );
        landing.push(format!("{mine} of {users} on {}, 0 on {}", s.node, off.id()));
    }

    // 3. The server's per-node routing: `Nodes::of_tenant` as the `/sip` relay calls it.
    let lookup = of_tenant_cost(app, sides).await?;
    let kam_log = edge.log();
    drop(edge);
    anyhow::ensure!(!kam_log.contains("edge: no live destination"), "the edge lost a node:\n{kam_log}");

    let row = |path: &str, t: &Timings, cpu: &[f64; 5], n: usize, unit: &str| {
        format!(
            "| {path} | {n} | {:.1} / {:.1} / {:.1} ms | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |{unit}",
            pct(&t.0, 0.5),
            pct(&t.0, 0.95),
            pct(&t.0, 0.99),
            cpu[0],
            cpu[1],
            cpu[2],
            cpu[3],
            cpu[4]
        )
    };
    out.push_str(&format!(
        "Tenant A on main, tenant B on node2 (`callbase node move`), {users} desk phones each; the same \
         load straight to each tenant's node and through one Kamailio edge. CPU: ms of CPU per REGISTER \
         or per call: each process's utime + stime over the phase (/proc/<pid>/stat; Kamailio: all its \
         processes) less what it spends idle in the same time (measured for 10 s before: its row \
         below, in % of one core), divided by all of the phase's REGISTERs or calls, A's and B's \
         together. Node main carries A's, node2 B's. The paths take turns: direct, edge, direct, \
         edge.\n\n**REGISTER** (digest challenge included, each on a new socket; every phone once a \
         turn, {reg_rate:.0} a second, A's and B's in turn)\n\n\
         | path | REGISTERs | p50 / p95 / p99 | Kamailio | server | Asterisk main | Asterisk node2 | carrier |\n\
         |---|---:|---|---:|---:|---:|---:|---:|\n"
    ));
    let idle_pct = idle_percent(&idle);
    let idle_row = format!(
        "| idle (no load), % of one core | — | — | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.2} % |\n",
        idle_pct[0], idle_pct[1], idle_pct[2], idle_pct[3], idle_pct[4]
    );
    out.push_str(&idle_row);
    for (k, (path, _)) in paths.iter().enumerate() {
        let n = reg[k].0.len();
        out.push_str(&row(path, &sorted(&reg[k].0), &reg[k].1.per_op_ms(), n, "\n"));
    }
    out.push_str(&format!(
        "\n**Registration storm** (every phone of both tenants, {}, REGISTERs at once through the \
         edge, digest challenge included, each on its own socket and retransmitting as a UDP phone \
         does; {STORM_ROUNDS} rounds; times from the storm's start; CPU per REGISTER)\n\n\
         | round | registered | failed | sent again | all registered in | p50 / p95 / p99 | Kamailio | server | Asterisk main | Asterisk node2 | carrier |\n\
         |---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n",
        2 * users
    ));
    for (k, (t, failed, resent, all, cpu)) in storms.iter().enumerate() {
        let (p50, p95, p99) = match t.is_empty() {
            true => (0.0, 0.0, 0.0),
            false => (pct(t, 0.5), pct(t, 0.95), pct(t, 0.99)),
        };
        out.push_str(&format!(
            "| {} | {} | {failed} | {resent} | {:.2} s | {p50:.0} / {p95:.0} / {p99:.0} ms | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            k + 1,
            t.len(),
            all.as_secs_f64(),
            cpu[0],
            cpu[1],
            cpu[2],
            cpu[3],
            cpu[4]
        ));
    }
    out.push_str(&format!("\n{shm_line}\n"));
    out.push_str(&format!(
        "\n**Calls** (desk phone INVITE → 200 OK: digest challenge, Stasis, the tenant's trunk, the \
         carrier's answer; sipp, 1 ms resolution; {per_round} per tenant a turn, 2.5 a second per \
         tenant, 2 s of talk: about 10 calls up at once)\n\n\
         | path | calls answered | setup p50 / p95 / p99 | Kamailio | server | Asterisk main | Asterisk node2 | carrier |\n\
         |---|---:|---|---:|---:|---:|---:|---:|\n"
    ));
    out.push_str(&idle_row);
    for (k, (path, _)) in paths.iter().enumerate() {
        let n = call[k].0.len();
        out.push_str(&row(path, &sorted(&call[k].0), &call[k].1.per_op_ms(), n, "\n"));
    }
    out.push_str("\n**Where they landed** (checked; the bench fails otherwise)\n\n| tenant | phones' contacts after the edge pass (AMI) | call records' `node` |\n|---|---|---|\n");
    for (k, s) in sides.iter().enumerate() {
        let landed: Vec<String> = paths
            .iter()
            .enumerate()
            .map(|(p, (path, _))| format!("{path}: {} of {} on {}", call[p].2[k], ROUNDS * per_round, s.node))
            .collect();
        out.push_str(&format!("| {} | {} | {} |\n", s.name, landing[k], landed.join("; ")));
    }
    out.push_str(&lookup);
    Ok(out)
}

/// REGISTERs every (address, login, password) at `rate` a second, each on its own socket; all must
/// answer 200. Returns the times in ms, sorted.
async fn register_all(list: &[(SocketAddr, String, String)], rate: f64) -> anyhow::Result<Timings> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut tasks = Vec::with_capacity(list.len());
    for (addr, login, pw) in list.iter().cloned() {
        tick.tick().await;
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let code = register(addr, &login, &pw, 300).await;
            (code, start.elapsed().as_secs_f64() * 1000.0, login, addr)
        }));
    }
    let mut t = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (code, ms, login, addr) = task.await?;
        anyhow::ensure!(code == 200, "REGISTER of {login} at {addr} answered {code}");
        t.push(ms);
    }
    t.sort_by(|x, y| x.partial_cmp(y).unwrap());
    Ok(Timings(t))
}

/// (endpoint, Path) of every contact a node holds (AMI `PJSIPShowContacts`).
async fn contacts(node: &Node) -> anyhow::Result<Vec<(String, String)>> {
    let ami = node.ami.as_ref().ok_or_else(|| anyhow::anyhow!("node {} has no AMI", node.id()))?;
    let r = ami.action_collect("PJSIPShowContacts", &[]).await?;
    Ok(r.events
        .iter()
        .filter(|e| e.event() == Some("ContactList"))
        .map(|e| (e.get("Endpoint").unwrap_or_default().into(), e.get("Path").unwrap_or_default().into()))
        .collect())
}

/// Waits (≤ 20 s) until the tenant's calls since `since` are all finished, then requires `calls`
/// answered ones, every one on the tenant's node. Returns a summary.
async fn calls_landed(s: &Side, since: time::OffsetDateTime, calls: usize) -> anyhow::Result<usize> {
    let pool = worker_pool().await;
    let start = Instant::now();
    loop {
        let rows: Vec<(Option<String>, Option<String>, i64)> = sqlx::query_as(
            "SELECT node, result, count(*) FROM calls WHERE tenant_id = $1 AND started_at >= $2 \
             GROUP BY node, result ORDER BY node, result",
        )
        .bind(s.tenant.id)
        .bind(since)
        .fetch_all(&pool)
        .await?;
        let done = rows.iter().filter(|r| r.1.is_some()).map(|r| r.2).sum::<i64>();
        let want = [(Some(s.node.to_string()), Some("answered".to_string()), calls as i64)];
        if rows == want {
            return Ok(calls);
        }
        if done as usize >= calls || start.elapsed() > Duration::from_secs(20) {
            anyhow::bail!("tenant {}'s calls did not all land answered on {}: {rows:?}", s.name, s.node);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `Nodes::of_tenant` (one primary-key read of the tenant's node, then the node's clients from a
/// map) for A and B, 2 000 times each, as the server calls it, on the API's role; and the cached
/// `node_id_recent` of the open phone sockets' move checks.
async fn of_tenant_cost(app: &TestApp, sides: &[&Side; 2]) -> anyhow::Result<String> {
    let nodes = Nodes::new(&app.settings.asterisk, callbase_db::Db::new(callbase_tests::app_pool().await));
    let mut out = String::from(
        "\n**Per-node routing in the server**: `Nodes::of_tenant` (the `/sip` relay's connect, every \
         trunk, phone and telephony route), 2 000 sequential lookups per tenant after 100 warm-up\n\n\
         | lookup | node | p50 | p95 | p99 |\n|---|---|---:|---:|---:|\n",
    );
    for s in sides {
        let t = TenantId(s.tenant.id);
        for _ in 0..100 {
            nodes.of_tenant(t).await?;
        }
        let mut v = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let start = Instant::now();
            let n = nodes.of_tenant(t).await?;
            v.push(start.elapsed().as_secs_f64() * 1e6);
            anyhow::ensure!(n.id() == s.node, "of_tenant({}) gave {}", s.name, n.id());
        }
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        out.push_str(&format!(
            "| of_tenant, tenant {} | {} | {:.0} µs | {:.0} µs | {:.0} µs |\n",
            s.name,
            s.node,
            pct(&v, 0.5),
            pct(&v, 0.95),
            pct(&v, 0.99)
        ));
    }
    let t = TenantId(sides[1].tenant.id);
    nodes.node_id_recent(t).await?;
    let mut v = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let start = Instant::now();
        nodes.node_id_recent(t).await?;
        v.push(start.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(|x, y| x.partial_cmp(y).unwrap());
    out.push_str(&format!(
        "| node_id_recent (cached 3 s), tenant B | node2 | {:.1} µs | {:.1} µs | {:.1} µs |\n",
        pct(&v, 0.5),
        pct(&v, 0.95),
        pct(&v, 0.99)
    ));
    Ok(out)
}
