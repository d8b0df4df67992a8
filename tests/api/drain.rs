//! A replica stops gracefully on SIGTERM (issue 16, item 3): a real `callbase serve` child
//! process turns not-ready at once, refuses new sockets, gives its leases up, finishes an in-flight
//! request, closes its `/events` and `/sip` sockets with 1012 and exits within its drain time.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callbase_telephony::lease::Lease;
use callbase_tests::{stack_env, unique, TestApp};
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::sockets::{closed_with, open, phone_agent};

/// The `callbase` binary built beside this test binary (`target/<profile>/deps/api-…`).
fn callbase_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe.parent().and_then(|d| d.parent()).expect("target/<profile>").join("callbase");
    assert!(bin.exists(), "{} is missing: build the workspace (cargo build --bins)", bin.display());
    bin
}

/// A child process killed when the test ends, even by a panic.
struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `callbase serve` on `port` with the test stack's settings, the registration monitor on (a lease
/// of its own node) and the given drain times.
fn replica(port: u16, node: &str, drain_secs: u64, notice_ms: u64) -> Replica {
    let mut cmd = Command::new(callbase_bin());
    cmd.arg("serve").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in stack_env().iter().filter(|(k, _)| k.starts_with("CALLBASE__")) {
        cmd.env(k, v);
    }
    cmd.env("CALLBASE__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("CALLBASE__HTTP__TRUST_FORWARDED_FOR", "true")
        .env("CALLBASE__HTTP__DRAIN_SECS", drain_secs.to_string())
        .env("CALLBASE__HTTP__DRAIN_NOTICE_MS", notice_ms.to_string())
        .env("CALLBASE__ASTERISK__NODE", node)
        .env("CALLBASE__ASTERISK__REGISTER", "false")
        .env("CALLBASE__WORKERS__NODES", "configured")
        .env("CALLBASE__WORKERS__STASIS", "false")
        .env("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true")
        .env("CALLBASE__WORKERS__RECORDINGS", "false")
        .env("CALLBASE__LIMITS__SIGNUPS_PER_IP_PER_HOUR", "100000")
        .env_remove("CALLBASE__HTTP__STATIC_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Replica(cmd.spawn().expect("callbase serve starts"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn redis() -> redis::aio::ConnectionManager {
    let client = redis::Client::open(callbase_tests::env("CALLBASE__REDIS__URL")).expect("redis url");
    redis::aio::ConnectionManager::new(client).await.expect("redis")
}

#[tokio::test]
async fn sigterm_turns_the_replica_unready_at_once_finishes_requests_closes_sockets_with_1012_and_exits() {
    let (port, node) = (free_port(), unique("drain-"));
    let (drain_secs, notice) = (8, Duration::from_millis(1500));
    let mut child = replica(port, &node, drain_secs, notice.as_millis() as u64);
    let app = TestApp::attach(&format!("http://127.0.0.1:{port}")).await;
    let (admin, t) = app.telephony_tenant().await;
    let (agent, _) = phone_agent(&app, &admin, &t, "drained").await;
    let mut events = open(&agent, "/events").await;
    let mut phone = open(&agent, "/sip").await;
    let lease = format!("registrations:{node}");
    let mut r = redis().await;
    let start = Instant::now();
    while Lease::holder(&mut r, &lease).await.unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(5), "the replica never took its lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A request in flight: its body arrives in two parts, the second one after the SIGTERM.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let json = br#"{"name": "Created while draining"}"#;
    let csrf = admin.csrf().await;
    let request = admin
        .request(reqwest::Method::POST, "/api/crm/tables")
        .header("x-csrf-token", csrf)
        .header("content-type", "application/json")
        .header("content-length", json.len())
        .body(body);
    let in_flight = tokio::spawn(async move { request.send().await });
    tx.send(Ok(json[..10].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let term = Instant::now();
    let status = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());

    // Not ready at once (the load balancer stops sending), and no new sockets.
    let mut ready = None;
    while term.elapsed() < Duration::from_millis(500) {
        let r = reqwest::get(format!("{}/readyz", app.base)).await.expect("still accepting");
        ready = Some(r.status());
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "draining");
            break;
        }
    }
    assert_eq!(
        ready,
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "/readyz must answer 503 within 0.5 s of SIGTERM"
    );
    let mut req = format!("ws://127.0.0.1:{port}/sip").into_client_request().unwrap();
    let cookie = format!("cb_session={}", agent.cookie("cb_session").unwrap());
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert("origin", agent.base.parse().unwrap());
    req.headers_mut().insert("sec-websocket-protocol", "sip".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(
                resp.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "a new /sip socket is refused with 503"
            )
        }
        other => panic!("a new /sip socket while draining must be refused with 503: {:?}", other.map(|_| ())),
    }
    // The lease is handed over at once (another replica takes it), long before the exit.
    let handed = Instant::now();
    while Lease::holder(&mut r, &lease).await.unwrap().is_some() {
        assert!(handed.elapsed() < Duration::from_secs(2), "the lease was not given up while draining");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Past the notice time the listener is closed, but the request in flight still holds the
    // drain: the sockets stay open until it is answered.
    tokio::time::sleep(notice.saturating_sub(term.elapsed()) + Duration::from_millis(300)).await;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "no new connections after the notice time"
    );
    assert_eq!(
        closed_with(&mut events, Duration::from_millis(300)).await,
        None,
        "sockets close after requests"
    );
    tx.send(Ok(json[10..].to_vec())).await.unwrap();
    drop(tx);
    let resp = in_flight.await.unwrap().expect("the in-flight request is answered");
    assert_eq!(resp.status(), StatusCode::CREATED, "the in-flight request completes");

    // Then the sockets are told to reconnect elsewhere, and the process exits in time.
    let close = closed_with(&mut events, Duration::from_secs(3)).await;
    assert_eq!(close, Some((1012, "server_restart".into())), "/events is closed with 1012");
    let close = closed_with(&mut phone, Duration::from_secs(3)).await;
    assert_eq!(close, Some((1012, "server_restart".into())), "/sip is closed with 1012");
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "a drained replica exits 0: {status}");
            break;
        }
        assert!(term.elapsed() < Duration::from_secs(drain_secs + 1), "not exited within the drain time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("SIGTERM → exit in {:?}", term.elapsed());
}
