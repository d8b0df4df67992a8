//! `callbase-bench`: benchmarks against the real stack, run by `infra/bench` (release build, the
//! test stack's PostgreSQL, Redis, callbase-s3 and both Asterisks, all on loopback).
//!
//! `recordings`: records.zip of 1 000 recordings (throughput, time to first byte, the server's
//! peak RSS, beside a plain S3 read of the same objects as the ceiling), and recording
//! availability after hang-up over real calls through the carrier.
//!
//! `crm`: a million clients (written by the API's own write path), then p50/p95 of phone lookup,
//! filtered page, sorted page and quick search, through the HTTP API and at the database.
//!
//! `sockets`: idle `/events` sockets held by one replica (10 000 by default): memory per socket,
//! CPU while idle, time to open them, and that events still reach every one of them.
//!
//! `reports`: 10 000 000 calls over a year for one tenant (and two others'), then p50/p95 of a
//! month's agent report, heatmaps, the queue report, the timeline and the dashboard through the
//! HTTP API, and what the aggregate trigger costs a call (`reports.rs`).
//!
//! `edge`: desk phones registering and calling straight to their tenant's Asterisk node vs through
//! the Kamailio SIP edge (setup times, CPU per call of Kamailio, the server and each Asterisk), that
//! every call landed on its tenant's node, and the server's per-node lookup (`edge.rs`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callbase_recordings::ObjectStore;
use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::{env, stack_env, worker_pool};
use futures_util::StreamExt;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

const FILES: usize = 1000;
/// One minute of a recording at 32 kbit/s.
const FILE_BYTES: usize = 240_000;
const CALLS: usize = 5;
/// Rounds of the records.zip download (and of its ceiling), for the spread.
const ROUNDS: usize = 3;

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release server with the Stasis app, registration monitor and recordings uploader on (the
/// recordings and crm benchmarks, on the stack `infra/bench` started for them).
fn start_server() -> Server {
    start_server_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ])
}

/// `callbase serve` (release) on a free loopback port with the stack's settings and `extra`. Its
/// pid goes to `CALLBASE_BENCH_PIDFILE` (infra/bench stops it from there if the bench dies).
pub(crate) fn start_server_with(extra: &[(&str, &str)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd =
        Command::new(std::env::var("CALLBASE_APP_BIN").expect("CALLBASE_APP_BIN: run through infra/bench"));
    cmd.arg("serve");
    for (k, v) in stack_env().iter().filter(|(k, _)| k.starts_with("CALLBASE__")) {
        cmd.env(k, v);
    }
    cmd.env("CALLBASE__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("CALLBASE__HTTP__PUBLIC_ORIGIN", format!("http://127.0.0.1:{port}"))
        .env("CALLBASE__HTTP__TRUST_FORWARDED_FOR", "true")
        .env("CALLBASE__LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("callbase serve starts");
    if let Ok(f) = std::env::var("CALLBASE_BENCH_PIDFILE") {
        std::fs::write(f, child.id().to_string()).expect("the bench's pid file is writable");
    }
    Server { child, base: format!("http://127.0.0.1:{port}") }
}

pub(crate) fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

mod crm;
mod edge;
mod edge_load;
mod reports;
mod sockets;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let what = std::env::args().nth(1).unwrap_or_else(|| "recordings".into());
    match what.as_str() {
        "recordings" => recordings().await,
        "crm" => crm::run(start_server()).await,
        "sockets" => sockets::run().await,
        "edge" => edge::run().await,
        "reports" => reports::run(start_server_with(&[])).await,
        _ => anyhow::bail!("unknown benchmark '{what}' (known: recordings, crm, sockets, edge, reports)"),
    }
}

async fn recordings() -> anyhow::Result<()> {
    let server = start_server();
    let pid = server.child.id();
    let app = callbase_tests::TestApp::attach(&server.base).await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let store = ObjectStore::new(&callbase_tests::settings(&[]).s3);
    let pool = worker_pool().await;

    // 1 000 recordings of a minute each, stored as the uploader stores them.
    eprintln!("seeding {FILES} recordings of {FILE_BYTES} bytes…");
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::with_capacity(FILES);
    let mut keys = Vec::with_capacity(FILES);
    let data: Vec<u8> = (0..FILE_BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let seeded: Vec<(Uuid, String)> = futures_util::stream::iter(0..FILES)
        .map(|_| {
            let (store, data) = (store.clone(), data.clone());
            async move {
                let key = callbase_telephony::recording::new_key(callbase_core::TenantId(t.id));
                store.put(&key, data, "audio/mpeg").await.expect("S3 put");
                (Uuid::new_v4(), key)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for (id, key) in seeded {
        sqlx::query(
            "INSERT INTO calls (id, tenant_id, direction, number, started_at, answered_at, ended_at, result, recording_state, recording_key, recording_bytes, recording_ms) \
             VALUES ($1, $2, 'inbound', '+74951234567', $3, $3, $3 + interval '1 minute', 'answered', 'stored', $4, $5, 60000)",
        )
        .bind(id)
        .bind(t.id)
        .bind(now)
        .bind(&key)
        .bind(FILE_BYTES as i64)
        .execute(&pool)
        .await?;
        ids.push(id);
        keys.push(key);
    }

    // Rounds of: the ceiling (the same objects read straight from S3 with as many requests in
    // flight as the zip writer's read-ahead window holds for them, no zip, no HTTP hop through the
    // server), then records.zip of all 1 000 through the server, its RSS sampled meanwhile.
    let window = callbase_recordings::zip::in_flight(std::iter::repeat_n(FILE_BYTES as u64, FILES));
    let mb = |bytes: f64, secs: f64| bytes / secs / 1_000_000.0;
    let (mut ceiling, mut zips, mut ttfbs, mut peaks, mut anons) = (vec![], vec![], vec![], vec![], vec![]);
    let base_rss = rss_kb(pid, "VmRSS:");
    let base_anon = rss_kb(pid, "RssAnon:");
    let mut got = 0u64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let sizes: Vec<usize> = futures_util::stream::iter(keys.clone())
            .map(|k| {
                let store = store.clone();
                async move {
                    store
                        .read(&k, None)
                        .await
                        .expect("S3")
                        .expect("object")
                        .body
                        .collect()
                        .await
                        .expect("body")
                        .into_bytes()
                        .len()
                }
            })
            .buffered(window)
            .collect()
            .await;
        ceiling.push(mb(sizes.iter().sum::<usize>() as f64, start.elapsed().as_secs_f64()));

        let (secs, ttfb, bytes, peak, anon) = zip_round(&admin, pid, &ids).await?;
        anons.push(anon as f64 / 1024.0);
        got = bytes;
        zips.push(mb(bytes as f64, secs));
        ttfbs.push(ttfb);
        peaks.push(peak as f64 / 1024.0);
    }

    // Availability after hang-up: real calls through the carrier, hang-up (the call record's
    // end) → the recording stored in S3 (the row's stored time).
    let mut avail = Vec::new();
    for i in 0..CALLS {
        let (ok, log) = sipp_call_talking(&login, &password, "1234567", 200, 3000).await;
        assert!(ok, "bench call {i}:\n{log}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let row: Option<(Option<OffsetDateTime>, Option<OffsetDateTime>)> = sqlx::query_as(
                "SELECT ended_at, recording_stored_at FROM calls WHERE tenant_id = $1 AND direction = 'outbound' AND recording_state = 'stored' \
                 ORDER BY started_at DESC LIMIT 1",
            )
            .bind(t.id)
            .fetch_optional(&pool)
            .await?;
            if let Some((Some(end), Some(stored))) = row {
                let count: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE tenant_id = $1 AND direction = 'outbound' AND recording_state = 'stored'")
                    .bind(t.id)
                    .fetch_one(&pool)
                    .await?;
                if count as usize == i + 1 {
                    avail.push((stored - end).as_seconds_f64() * 1000.0);
                    break;
                }
            }
            assert!(Instant::now() < deadline, "recording of bench call {i} not stored in 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    avail.sort_by(|a, b| a.partial_cmp(b).unwrap());

    let spread = |v: &mut Vec<f64>, digits: usize| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        format!("{:.digits$} / {:.digits$} / {:.digits$}", v[0], pct(v, 0.5), v[v.len() - 1])
    };
    println!("\n## records.zip and recording availability ({})\n", env("CALLBASE_STACK"));
    println!("{ROUNDS} rounds; min / median / max\n");
    println!("| measure | result | goal |");
    println!("|---|---|---|");
    println!(
        "| records.zip of {FILES} × {} KB ({:.1} MB): throughput | **{} MB/s** | ≥ 200 MB/s |",
        FILE_BYTES / 1000,
        got as f64 / 1e6,
        spread(&mut zips, 0)
    );
    println!(
        "| same objects read straight from S3, {window} in flight (ceiling: no zip, no HTTP hop) | {} MB/s | — |",
        spread(&mut ceiling, 0)
    );
    println!(
        "| time to first byte (1 000 HEAD checks included) | **{} ms** | ≤ 500 ms |",
        spread(&mut ttfbs, 0)
    );
    println!(
        "| server RSS: before {:.1} MB → peak during the download | **{} MB** | ≤ 32 MB |",
        base_rss as f64 / 1024.0,
        spread(&mut peaks, 1)
    );
    println!(
        "| of which anonymous memory (heap, buffers; the rest is the mapped program): before {:.1} MB → peak | **{} MB** | — |",
        base_anon as f64 / 1024.0,
        spread(&mut anons, 1)
    );
    println!("| recording available after hang-up, {CALLS} real calls: p50 / max | **{:.0} / {:.0} ms** | ≤ 10 s |", pct(&avail, 0.5), pct(&avail, 1.0));
    println!("\nserver peak RSS since start (VmHWM): {:.1} MB", rss_kb(pid, "VmHWM:") as f64 / 1024.0);
    drop(server);
    Ok(())
}

/// One records.zip of `ids` through the server: seconds, time to first byte (ms), bytes, and the
/// server's peak RSS (KB) during the download.
async fn zip_round(
    admin: &callbase_tests::Browser,
    pid: u32,
    ids: &[Uuid],
) -> anyhow::Result<(f64, f64, u64, u64, u64)> {
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let peak_anon = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let (s, p, a) = (sampling.clone(), peak.clone(), peak_anon.clone());
        std::thread::spawn(move || {
            while s.load(std::sync::atomic::Ordering::Relaxed) {
                p.fetch_max(rss_kb(pid, "VmRSS:"), std::sync::atomic::Ordering::Relaxed);
                a.fetch_max(rss_kb(pid, "RssAnon:"), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let start = Instant::now();
    let resp = admin
        .request(reqwest::Method::POST, "/api/calls/recordings.zip")
        .header("x-csrf-token", admin.csrf().await)
        .json(&json!({ "ids": ids }))
        .send()
        .await?;
    assert_eq!(resp.status(), 200, "records.zip answered");
    let declared: u64 = resp.headers()["content-length"].to_str()?.parse()?;
    let mut body = resp.bytes_stream();
    let mut first = None;
    let mut got = 0u64;
    while let Some(chunk) = body.next().await {
        let c = chunk?;
        if first.is_none() && !c.is_empty() {
            first = Some(start.elapsed());
        }
        got += c.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().ok();
    assert_eq!(got, declared, "the whole archive arrived");
    Ok((
        secs,
        first.unwrap_or_default().as_secs_f64() * 1000.0,
        got,
        peak.load(std::sync::atomic::Ordering::Relaxed),
        peak_anon.load(std::sync::atomic::Ordering::Relaxed),
    ))
}
