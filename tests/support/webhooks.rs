//! A webhook receiver for tests (tests/webhooks/receiver.py): it checks every signature with the
//! Standard Webhooks reference library from PyPI, answers 500 to the first attempts of each message
//! as told, and lists what it got. Killed when dropped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub struct Receiver {
    child: Child,
    pub port: u16,
    client: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The venv's interpreter (tests/webhooks/venv makes it once).
fn python() -> String {
    if let Ok(p) = std::env::var("CALLBASE_WEBHOOKS_PYTHON") {
        return p;
    }
    let out = Command::new(repo_root().join("tests/webhooks/venv"))
        .stderr(Stdio::inherit())
        .output()
        .expect("tests/webhooks/venv runs");
    assert!(out.status.success(), "tests/webhooks/venv failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let dir = std::env::temp_dir().join(crate::unique("callbase-hooks-"));
        std::fs::create_dir_all(&dir).unwrap();
        let port_file = dir.join("port");
        let child = Command::new(python())
            .arg(repo_root().join("tests/webhooks/receiver.py"))
            .arg(&port_file)
            .stdout(Stdio::null())
            .spawn()
            .expect("the receiver starts");
        let mut port = 0;
        for _ in 0..100 {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                port = p.trim().parse().unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(port > 0, "the receiver did not start");
        Receiver { child, port, client: reqwest::Client::new() }
    }

    /// Where an endpoint points.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secret to verify with; the first `fail_first` attempts of each message get 500, later
    /// ones `status`.
    pub async fn configure(&self, secret: &str, fail_first: u32, status: u16) {
        let r = self
            .client
            .post(self.url("/_config"))
            .json(&json!({"secret": secret, "fail_first": fail_first, "status": status}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Every request so far, in order.
    pub async fn received(&self) -> Vec<Value> {
        self.client.get(self.url("/_received")).send().await.unwrap().json().await.unwrap()
    }

    /// Waits until `done` holds for what was received.
    pub async fn wait_until(
        &self,
        within: Duration,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = tokio::time::Instant::now();
        loop {
            let got = self.received().await;
            if done(&got) {
                return got;
            }
            assert!(start.elapsed() < within, "{what} not within {within:?}; received: {got:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
