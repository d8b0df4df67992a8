//! Dependencies fail and come back (issue 16 item 5): a server whose Redis (its own instance here,
//! run as infra runs it: append-only file, fsync every second) is killed and restarted answers 503
//! with `Retry-After` while it is down — never a 500 —, keeps its users signed in across the
//! restart, and its `/events` sockets close with 1012 and work again once reopened.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callbase_tests::{unique, TestApp};
use reqwest::StatusCode;

use crate::sockets::{closed_with, open};

/// A Redis of the test's own, with its data in a directory of its own.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
    dir: std::path::PathBuf,
}

impl OwnRedis {
    fn new() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(unique("cb-redis-"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = OwnRedis { child: None, port, dir };
        r.start();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The flags infra/lib/redis.sh runs Redis with.
    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .args(["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (package redis-server)");
        self.child = Some(child);
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "own Redis did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no save on the way out; what survives is what the append-only file has.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_redis_restart_answers_503_while_down_and_keeps_users_signed_in() {
    let mut redis = OwnRedis::new();
    let url = redis.url();
    let app = TestApp::spawn_with(&[("CALLBASE__REDIS__URL", url.as_str())]).await;
    let (admin, _t) = app.new_tenant().await;
    let me = admin.get("/api/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let mut ws = open(&admin, "/events").await;
    // Past the append-only file's fsync (every second).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    redis.kill();
    for path in ["/api/auth/me", "/api/calls", "/api/trunks"] {
        let r =
            tokio::time::timeout(Duration::from_secs(15), admin.request(reqwest::Method::GET, path).send())
                .await
                .unwrap_or_else(|_| panic!("{path} while Redis is down: no answer within 15 s"))
                .unwrap();
        let status = r.status();
        let retry = r.headers().get("retry-after").cloned();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path} while Redis is down: {body}");
        assert_eq!(body["code"], "redis_unavailable", "{path}: {body}");
        assert!(retry.is_some(), "{path}: 503 says when to try again");
    }

    redis.start();
    // The session is still there, and the server's connections come back on their own.
    let start = tokio::time::Instant::now();
    loop {
        let r = admin.get("/api/auth/me").await;
        if r.status == StatusCode::OK {
            assert_eq!(r.body["login"], me.body["login"], "the same user, still signed in");
            break;
        }
        assert!(
            r.status == StatusCode::SERVICE_UNAVAILABLE,
            "only 503 while Redis comes back, got {}: {}",
            r.status,
            r.text
        );
        assert!(start.elapsed() < Duration::from_secs(15), "not back 15 s after Redis: {}", r.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The replica's event subscription came back: its sockets were told to reconnect and resync.
    let code = closed_with(&mut ws, Duration::from_secs(15)).await.map(|(c, _)| c);
    assert_eq!(code, Some(1012), "/events closed with 1012");
    let _again = open(&admin, "/events").await;
}
