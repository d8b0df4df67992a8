//! `callbase-bench sockets`: idle `/events` sockets held by one replica (issue #16 item 4).
//!
//! One release `callbase serve` (its Stasis app, registration monitor, probe and recordings
//! workers off: it touches no Asterisk) signs in 10 tenants of 10 users each (real sessions, the
//! Origin the server allows); a fresh replica then takes N idle `/events` sockets (`BENCH_SOCKETS`, 10 000 by
//! default), spread evenly over the 100 sessions. The socket caps are raised to exactly N through
//! `CALLBASE__SOCKETS__*` — and socket N + 1 must still be refused with 4429. Measured: sockets
//! held (the replica's leases in Redis, its open file descriptors), the server's RSS before and
//! after (memory per socket), its CPU over one re-check period while idle, the time to open them,
//! and events published on the tenants' Redis channels reaching every socket (and no other
//! tenant's).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callbase_core::events::{CallEvent, CallState, Event};
use callbase_core::{keys, TenantId, UserId};
use callbase_tests::{env, unique, Browser, TestApp};
use futures_util::StreamExt;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::{pct, rss_kb, start_server_with};

const TENANTS: usize = 10;
/// Signed-in users per tenant, its administrator included.
const USERS: usize = 10;
/// Upgrades in flight while opening.
const IN_FLIGHT: usize = 64;
/// Events published on each tenant's channel once every socket is open.
const EVENTS: usize = 10;
/// The bench's bound (file descriptors, ephemeral ports, time).
const MAX_SOCKETS: usize = 20_000;
/// The servers' default re-check period (`sockets.revalidate_secs`): the idle window is one
/// period, so every socket renews its lease and checks its session once inside it.
const REVALIDATE_SECS: u64 = 30;
const PASSWORD: &str = "Bench-agent-pass-12345";

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Session {
    tenant: i64,
    cookie: String,
}

/// What the client sockets saw.
struct Tally {
    /// This bench's events per socket (by index).
    per_socket: Vec<AtomicU32>,
    delivered: AtomicU64,
    /// Events of another tenant (must stay 0).
    foreign: AtomicU64,
    /// Sockets the server closed (or lost) before the bench closed them.
    closed_early: AtomicU64,
    last_close: std::sync::Mutex<Option<String>>,
}

fn random_ip() -> String {
    let mut r = rand::thread_rng();
    format!("10.{}.{}.{}", r.gen_range(0..=255), r.gen_range(0..=255), r.gen_range(1..=254))
}

/// A tenant of `USERS` signed-in users (each from its own address, as the sign-up and login limits
/// count per address): the tenant's id, its users' ids and their sessions.
async fn tenant_with_users(app: &TestApp) -> anyhow::Result<(i64, Vec<i64>, Vec<Session>)> {
    let admin = app.browser_from(&random_ip());
    let account = unique("bench");
    let r = admin
        .post(
            "/api/signup",
            json!({"account": account, "tenant_name": format!("Bench {account}"), "login": "boss",
                   "name": "Boss", "email": "boss@example.com", "password": PASSWORD}),
        )
        .await;
    anyhow::ensure!(r.status == StatusCode::CREATED, "sign-up: {} {}", r.status, r.text);
    let tenant = r.body["tenant"]["id"].as_i64().unwrap();
    let mut ids = vec![r.body["user"]["id"].as_i64().unwrap()];
    let mut sessions = vec![Session { tenant, cookie: session_cookie(&admin)? }];
    let groups = admin.get("/api/groups").await;
    let agent = groups.body.as_array().and_then(|gs| gs.iter().find(|g| g["name"] == "Agent"));
    let agent = agent.and_then(|g| g["id"].as_i64()).ok_or_else(|| anyhow::anyhow!("no Agent group"))?;
    for i in 1..USERS {
        let login = format!("agent{i}");
        let r = admin
            .post(
                "/api/users",
                json!({"login": login, "name": format!("Agent {i}"), "email": format!("{login}@example.com"),
                       "password": PASSWORD, "group_ids": [agent]}),
            )
            .await;
        anyhow::ensure!(r.status == StatusCode::CREATED, "user: {} {}", r.status, r.text);
        ids.push(r.body["id"].as_i64().unwrap());
        let b = app.browser_from(&random_ip());
        let r = b.login(&account, &login, PASSWORD).await;
        anyhow::ensure!(r.status == StatusCode::OK, "login: {} {}", r.status, r.text);
        sessions.push(Session { tenant, cookie: session_cookie(&b)? });
    }
    Ok((tenant, ids, sessions))
}

fn session_cookie(b: &Browser) -> anyhow::Result<String> {
    b.cookie("cb_session").ok_or_else(|| anyhow::anyhow!("signed in without a session cookie"))
}

/// Opens `/events` as a browser of `base` would: its session cookie, its Origin.
async fn open(base: &str, s: &Session) -> Result<Ws, String> {
    let mut req = format!("{}/events", base.replacen("http", "ws", 1)).into_client_request().unwrap();
    req.headers_mut().insert("cookie", format!("cb_session={}", s.cookie).parse().unwrap());
    req.headers_mut().insert("origin", base.parse().unwrap());
    // The client's own buffers small: 10 000 client sockets share the machine with the server.
    let cfg = WebSocketConfig::default().read_buffer_size(4096);
    match tokio_tungstenite::connect_async_with_config(req, Some(cfg), true).await {
        Ok((ws, _)) => Ok(ws),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads one client socket until the bench stops it: counts this tenant's events and others'.
fn watch_socket(
    mut ws: Ws,
    idx: usize,
    tenant: i64,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mine = format!("bench-{tenant}-");
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = ws.close(None).await;
                    // The server's close frame, then the end of the stream (bounded).
                    let _ = tokio::time::timeout(Duration::from_secs(10), async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    return;
                }
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                        if v["call_id"].as_str().is_some_and(|c| c.starts_with(&mine)) {
                            tally.per_socket[idx].fetch_add(1, Ordering::Relaxed);
                            tally.delivered.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tally.foreign.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some(Ok(Message::Close(f))) => {
                        tally.closed_early.fetch_add(1, Ordering::Relaxed);
                        *tally.last_close.lock().unwrap() = Some(format!("{f:?}"));
                        return;
                    }
                    None | Some(Err(_)) => {
                        tally.closed_early.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Some(Ok(_)) => {}
                },
            }
        }
    })
}

/// The server's CPU time so far (utime + stime, clock ticks).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("").split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
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

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// The platform-wide `/events` leases in Redis: the sockets the replica holds (the bench's Redis
/// serves this one server only).
async fn leases(redis: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<u64> {
    let all = &keys::socket_leases("events", TenantId(0), UserId(0))[2];
    Ok(redis::cmd("ZCARD").arg(all).query_async(redis).await?)
}

async fn wait_leases(redis: &mut redis::aio::MultiplexedConnection, want: u64) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = leases(redis).await?;
        if n == want || Instant::now() > deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One `call` event per tenant round, to every user of the tenant.
async fn publish(
    redis: &mut redis::aio::MultiplexedConnection,
    tenants: &[(i64, Vec<i64>)],
    round: usize,
) -> anyhow::Result<()> {
    for (tenant, users) in tenants {
        let ev = Event::Call(CallEvent {
            call_id: format!("bench-{tenant}-{round}"),
            state: CallState::Ringing,
            direction: "inbound".into(),
            number: "+79161234567".into(),
            did: Some("+74950000000".into()),
            trunk: Some(1),
            user_id: None,
            client_ref: None,
            reason: None,
            target: None,
            at: "2026-12-03T10:00:00Z".into(),
            user_ids: users.iter().map(|u| UserId(*u)).collect(),
        });
        let _: i64 = redis::cmd("PUBLISH")
            .arg(keys::events(TenantId(*tenant)))
            .arg(ev.to_json())
            .query_async(redis)
            .await?;
    }
    Ok(())
}

/// Opens one socket per entry of `which` (an index into `sessions`), `IN_FLIGHT` at a time, each
/// read by its own task from then on: the tasks, the open latencies in ms, the failures.
async fn open_many(
    base: &str,
    sessions: &Arc<Vec<Session>>,
    which: Vec<usize>,
    tally: &Arc<Tally>,
    stop: &watch::Receiver<bool>,
) -> (Vec<tokio::task::JoinHandle<()>>, Vec<f64>, Vec<String>) {
    let mut opened = futures_util::stream::iter(which.into_iter().enumerate())
        .map(|(idx, s)| {
            let (base, sessions) = (base.to_string(), sessions.clone());
            async move {
                let t0 = Instant::now();
                let ws = open(&base, &sessions[s]).await;
                (idx, s, t0.elapsed().as_secs_f64() * 1000.0, ws)
            }
        })
        .buffer_unordered(IN_FLIGHT);
    let (mut tasks, mut ms, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    while let Some((idx, s, took, ws)) = opened.next().await {
        ms.push(took);
        match ws {
            Ok(ws) => tasks.push(watch_socket(ws, idx, sessions[s].tenant, tally.clone(), stop.clone())),
            Err(e) => failed.push(e),
        }
    }
    (tasks, ms, failed)
}

/// The close code of a socket that must be refused (4429 over a cap), within 5 s.
async fn refused_with(base: &str, s: &Session) -> String {
    let mut ws = match open(base, s).await {
        Ok(ws) => ws,
        Err(e) => return format!("upgrade failed: {e}"),
    };
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(f))))) => u16::from(f.code).to_string(),
        Ok(other) => format!("{other:?}"),
        Err(_) => "still open after 5 s".into(),
    }
}

async fn wait_delivered(tally: &Tally, want: u64, within: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    while tally.delivered.load(Ordering::Relaxed) < want {
        if t0.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Some(t0.elapsed())
}

async fn stop_all(stop: &watch::Sender<bool>, tasks: Vec<tokio::task::JoinHandle<()>>) {
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(tasks)).await;
}

pub async fn run() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_SOCKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    anyhow::ensure!((1..=MAX_SOCKETS).contains(&n), "BENCH_SOCKETS must be 1..={MAX_SOCKETS}");
    let sessions_n = TENANTS * USERS;
    // The caps stay on, at exactly N for the platform (socket N + 1 is refused below).
    let (per_user, per_tenant, total) =
        (n.div_ceil(sessions_n).to_string(), n.div_ceil(TENANTS).to_string(), n.to_string());
    let revalidate = REVALIDATE_SECS.to_string();
    let settings = [
        ("CALLBASE__WORKERS__STASIS", "false"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "false"),
        ("CALLBASE__WORKERS__RECORDINGS", "false"),
        ("CALLBASE__WORKERS__IMPORT_EXPIRY", "false"),
        ("CALLBASE__PROBE__EVERY_SECS", "0"),
        ("CALLBASE__SOCKETS__EVENTS_PER_USER", &per_user),
        ("CALLBASE__SOCKETS__EVENTS_PER_TENANT", &per_tenant),
        ("CALLBASE__SOCKETS__EVENTS_TOTAL", &total),
        ("CALLBASE__SOCKETS__REVALIDATE_SECS", &revalidate),
    ];
    let setup_server = start_server_with(&settings);
    let app = TestApp::attach_live(&setup_server.base).await;
    let mut redis =
        redis::Client::open(env("CALLBASE__REDIS__URL"))?.get_multiplexed_async_connection().await?;

    eprintln!("signing in {sessions_n} users of {TENANTS} tenants…");
    let setup = Instant::now();
    let made = futures_util::future::join_all((0..TENANTS).map(|_| tenant_with_users(&app))).await;
    let (mut tenants, mut sessions) = (Vec::new(), Vec::new());
    for m in made {
        let (tenant, users, s) = m?;
        tenants.push((tenant, users));
        sessions.extend(s);
    }
    let sessions = Arc::new(sessions);
    eprintln!("signed in in {:.1} s", setup.elapsed().as_secs_f64());
    // The sockets go to a fresh replica (sessions live in Redis): the sign-ins' password hashes
    // (19 MiB each, argon2) leave hundreds of MB in the allocator's arenas, which sockets would
    // then reuse without a trace in the RSS.
    drop(setup_server);
    let server = start_server_with(&settings);
    let pid = server.child.id();
    TestApp::attach_live(&server.base).await;

    // Warm-up: one socket per session and one event each, then closed, so that what the first
    // sockets allocate once (database connections, runtime threads, the tenants' channels) is in
    // the baseline, not in the per-socket figure.
    let tally = Arc::new(Tally {
        per_socket: (0..sessions_n).map(|_| AtomicU32::new(0)).collect(),
        delivered: AtomicU64::new(0),
        foreign: AtomicU64::new(0),
        closed_early: AtomicU64::new(0),
        last_close: std::sync::Mutex::new(None),
    });
    let (stop, stop_rx) = watch::channel(false);
    let (warm, _, failed) =
        open_many(&server.base, &sessions, (0..sessions_n).collect(), &tally, &stop_rx).await;
    anyhow::ensure!(failed.is_empty(), "warm-up sockets failed: {:?}", &failed[..failed.len().min(3)]);
    anyhow::ensure!(wait_leases(&mut redis, sessions_n as u64).await? == sessions_n as u64, "warm-up leases");
    publish(&mut redis, &tenants, 0).await?;
    anyhow::ensure!(
        wait_delivered(&tally, sessions_n as u64, Duration::from_secs(10)).await.is_some(),
        "warm-up events did not reach every socket"
    );
    stop_all(&stop, warm).await;
    anyhow::ensure!(wait_leases(&mut redis, 0).await? == 0, "warm-up sockets still hold leases");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss0, fds0) = (rss_kb(pid, "VmRSS:"), open_fds(pid));

    // N idle sockets, spread evenly over the sessions.
    eprintln!("opening {n} /events sockets, {IN_FLIGHT} upgrades in flight…");
    let tally = Arc::new(Tally {
        per_socket: (0..n).map(|_| AtomicU32::new(0)).collect(),
        delivered: AtomicU64::new(0),
        foreign: AtomicU64::new(0),
        closed_early: AtomicU64::new(0),
        last_close: std::sync::Mutex::new(None),
    });
    let (stop, stop_rx) = watch::channel(false);
    let t0 = Instant::now();
    let (tasks, mut open_ms, failed) =
        open_many(&server.base, &sessions, (0..n).map(|i| i % sessions_n).collect(), &tally, &stop_rx).await;
    let open_secs = t0.elapsed().as_secs_f64();
    open_ms.sort_by(|a, b| a.total_cmp(b));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = leases(&mut redis).await?;
    let (rss1, fds1) = (rss_kb(pid, "VmRSS:"), open_fds(pid));
    let refused = refused_with(&server.base, &sessions[0]).await;

    eprintln!("{held} sockets held; idle for {REVALIDATE_SECS} s (one session re-check of each)…");
    let (c0, w0) = (cpu_ticks(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(REVALIDATE_SECS)).await;
    let idle_cpu = (cpu_ticks(pid) - c0) as f64 / clock_ticks_per_sec() / w0.elapsed().as_secs_f64() * 100.0;
    let rss2 = rss_kb(pid, "VmRSS:");

    eprintln!("publishing {EVENTS} events on each tenant's channel…");
    let alive = tasks.len() as u64 - tally.closed_early.load(Ordering::Relaxed);
    let want = alive * EVENTS as u64;
    let t0 = Instant::now();
    for round in 1..=EVENTS {
        publish(&mut redis, &tenants, round).await?;
    }
    let fanout = wait_delivered(&tally, want, Duration::from_secs(60)).await;
    let publish_to_last = t0.elapsed().as_secs_f64() * 1000.0;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = tally.delivered.load(Ordering::Relaxed);
    let counts: Vec<u32> = tally.per_socket.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let all_got = counts.iter().filter(|c| **c == EVENTS as u32).count();
    let rss3 = rss_kb(pid, "VmRSS:");
    let foreign = tally.foreign.load(Ordering::Relaxed);
    let closed_early = tally.closed_early.load(Ordering::Relaxed);
    let last_close = tally.last_close.lock().unwrap().clone();

    eprintln!("closing them…");
    let sockets_opened = tasks.len();
    stop_all(&stop, tasks).await;
    let after_close = wait_leases(&mut redis, 0).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss4, fds4) = (rss_kb(pid, "VmRSS:"), open_fds(pid));

    let mb = |kb: u64| kb as f64 / 1024.0;
    let per_socket_kb = rss1.saturating_sub(rss0) as f64 / held.max(1) as f64;
    println!("\n## Idle /events sockets on one replica ({} sockets, {TENANTS} tenants × {USERS} users)\n", n);
    println!("| measure | result | goal |");
    println!("|---|---|---|");
    println!(
        "| sockets held by the replica (its leases in Redis; its file descriptors) | **{held}** of {n} ({} failed to open; fds {fds0} → {fds1}) | {n} |",
        failed.len()
    );
    println!(
        "| server RSS: before → with the sockets open | {:.1} → {:.1} MB (+{:.1} MB) | — |",
        mb(rss0),
        mb(rss1),
        mb(rss1.saturating_sub(rss0))
    );
    println!("| memory per socket | **{per_socket_kb:.1} KB** | ≤ 50 KB |");
    println!(
        "| time to open them ({IN_FLIGHT} upgrades in flight): total; per upgrade p50 / p95 / max | **{open_secs:.1} s** ({:.0}/s); {:.1} / {:.1} / {:.0} ms | — |",
        sockets_opened as f64 / open_secs,
        pct(&open_ms, 0.5),
        pct(&open_ms, 0.95),
        pct(&open_ms, 1.0)
    );
    println!(
        "| server CPU while idle over {REVALIDATE_SECS} s (every socket re-checks its session once) | **{idle_cpu:.1} %** of one core (RSS then {:.1} MB) | — |",
        mb(rss2)
    );
    println!(
        "| events: {EVENTS} per tenant on its Redis channel → sockets | **{delivered} of {want}** delivered; {all_got} sockets got all {EVENTS}; other tenants' events seen: {foreign}; publish → last delivery {} | every socket, no other tenant's |",
        match fanout {
            Some(_) => format!("{publish_to_last:.0} ms"),
            None => "timed out after 60 s".into(),
        },
    );
    println!("| server RSS after the events | {:.1} MB | — |", mb(rss3));
    println!("| socket {} (over the caps) | close code {refused} | 4429 |", n + 1);
    println!(
        "| all closed by the clients: leases left; server RSS; fds | {after_close}; {:.1} MB; {fds4} | 0 |",
        mb(rss4)
    );
    if closed_early > 0 {
        println!("\n{closed_early} sockets were closed by the server during the run (last: {last_close:?})");
    }
    if !failed.is_empty() {
        println!("\nfirst failures: {:?}", &failed[..failed.len().min(3)]);
    }
    drop(server);
    anyhow::ensure!(
        held == n as u64 && failed.is_empty() && closed_early == 0,
        "not every socket was held ({held} of {n})"
    );
    anyhow::ensure!(delivered == want && all_got == n && foreign == 0, "events did not reach every socket");
    anyhow::ensure!(refused == "4429", "socket {} was not refused with 4429: {refused}", n + 1);
    anyhow::ensure!(after_close == 0, "closed sockets kept {after_close} leases");
    Ok(())
}
