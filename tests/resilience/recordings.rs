//! Recordings survive an S3 outage and a killed server: the spool and Asterisk's copy wait until
//! S3 has the object. Each test runs its own callbase-s3 (so stopping it touches nobody else).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::server::ServerProcess;
use callbase_tests::{env, unique, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use uuid::Uuid;

/// A callbase-s3 of the test's own on a fixed port and folder: stopped and started again with the
/// same data.
struct OwnS3 {
    port: u16,
    root: PathBuf,
    child: Option<Child>,
}

impl OwnS3 {
    fn new() -> Self {
        let root = std::env::temp_dir().join(unique("cb-s3-"));
        std::fs::create_dir_all(root.join("rec-test")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        OwnS3 { port, root, child: None }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let child = Command::new(env("CALLBASE_S3_BIN"))
            .args([
                "--root",
                self.root.to_str().unwrap(),
                "--addr",
                &format!("127.0.0.1:{}", self.port),
                "--bucket",
                "rec-test",
            ])
            .env("CALLBASE_S3_ACCESS_KEY", env("CALLBASE_S3_ACCESS_KEY"))
            .env("CALLBASE_S3_SECRET_KEY", env("CALLBASE_S3_SECRET_KEY"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("callbase-s3 starts");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("callbase-s3 did not listen on {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn overrides(&self) -> Vec<(&'static str, String)> {
        vec![("CALLBASE__S3__ENDPOINT", self.endpoint()), ("CALLBASE__S3__BUCKET", "rec-test".into())]
    }
}

impl Drop for OwnS3 {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn spool_dir() -> PathBuf {
    let d = std::env::temp_dir().join(unique("cb-spool-"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn states(tenant: i64) -> Vec<(Uuid, Option<String>, Option<String>)> {
    sqlx::query_as("SELECT id, recording_state, recording_error FROM calls WHERE tenant_id = $1 AND result = 'answered' ORDER BY started_at")
        .bind(tenant)
        .fetch_all(&worker_pool().await)
        .await
        .unwrap()
}

async fn wait_all_stored(tenant: i64, n: usize, within: Duration) {
    let start = tokio::time::Instant::now();
    loop {
        let s = states(tenant).await;
        if s.len() == n && s.iter().all(|(_, st, _)| st.as_deref() == Some("stored")) {
            return;
        }
        assert!(start.elapsed() < within, "not all {n} recordings stored within {within:?}: {s:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Downloads a call's recording through the API and checks it decodes to about `min_secs`.
async fn assert_downloads(b: &Browser, id: Uuid, min_secs: f64) {
    let r = b
        .request(reqwest::Method::GET, &format!("/api/calls/{id}/recording?download=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "recording of {id}");
    let mp3 = r.bytes().await.unwrap();
    let (pcm, rate) = callbase_recordings::audio::decode_to_mono(&mp3).expect("mp3 decodes");
    let secs = pcm.len() as f64 / f64::from(rate);
    assert!(secs >= min_secs, "{id}: {secs:.2} s");
}

fn spool_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "mp3"))
        .collect()
}

#[tokio::test]
async fn five_calls_recorded_while_s3_is_down_all_arrive_when_it_is_back() {
    let mut s3 = OwnS3::new();
    s3.start().await;
    let spool = spool_dir();
    let mut o: Vec<(&str, String)> = s3.overrides();
    o.extend([
        ("CALLBASE__WORKERS__STASIS", "true".into()),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true".into()),
        ("CALLBASE__WORKERS__RECORDINGS", "true".into()),
        ("CALLBASE__RECORDINGS__POLL_MS", "200".into()),
        ("CALLBASE__RECORDINGS__RETRY_MAX_SECS", "2".into()),
        ("CALLBASE__RECORDINGS__SPOOL_DIR", spool.display().to_string()),
    ]);
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(&o).await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;

    s3.stop();
    for i in 0..5 {
        let (ok, log) = sipp_call_talking(&login, &password, "1234567", 200, 1500).await;
        assert!(ok, "call {i} answered:\n{log}");
    }
    // All five wait: pending, with the reason, their mp3 in the spool (each has been tried once:
    // the uploader takes the queue in turn, so the last call may wait for retries of the others).
    let tried = tokio::time::Instant::now();
    let mut s = states(t.id).await;
    while s.len() < 5 || s.iter().any(|(_, _, e)| e.is_none()) {
        assert!(tried.elapsed() < Duration::from_secs(20), "every recording tried once: {s:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        s = states(t.id).await;
    }
    assert_eq!(s.len(), 5, "{s:?}");
    for (id, st, err) in &s {
        assert_eq!(st.as_deref(), Some("pending"), "{id}: {s:#?}");
        assert!(err.as_deref().is_some_and(|e| e.contains("object store")), "{id}: {err:?}");
    }
    assert_eq!(spool_files(&spool).len(), 5, "every recording is in the spool");

    let back = tokio::time::Instant::now();
    s3.start().await;
    wait_all_stored(t.id, 5, Duration::from_secs(30)).await;
    println!("S3 back → all 5 recordings stored in {:?}", back.elapsed());
    assert!(spool_files(&spool).is_empty(), "the spool is emptied once S3 has them");
    for (id, _, _) in states(t.id).await {
        assert_downloads(&admin, id, 1.0).await;
    }
}

/// `callbase serve` as a child process running only the recordings uploader (killed when dropped,
/// even by a panic: a leftover uploader would take the next tests' recordings).
fn uploader_process(s3: &OwnS3, spool: &Path) -> ServerProcess {
    let spool = spool.to_str().expect("a UTF-8 spool path").to_string();
    let s3 = s3.overrides();
    let mut o: Vec<(&str, &str)> = s3.iter().map(|(k, v)| (*k, v.as_str())).collect();
    o.extend([
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
        ("CALLBASE__RECORDINGS__RETRY_MAX_SECS", "1"),
        ("CALLBASE__RECORDINGS__SPOOL_DIR", spool.as_str()),
    ]);
    ServerProcess::spawn(&o)
}

#[tokio::test]
async fn a_server_killed_with_sigkill_while_a_recording_waits_for_s3_leaves_it_to_another_replica() {
    let mut s3 = OwnS3::new();
    // S3 down from the start; the in-process server takes the call, a child process uploads.
    let spool = spool_dir();
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (_admin, t, login, password) = agent_with_trunk(&app).await;
    let mut child = uploader_process(&s3, &spool);

    let (ok, log) = sipp_call_talking(&login, &password, "1234567", 200, 2000).await;
    assert!(ok, "answered:\n{log}");
    // The uploader fetched and encoded it; the upload keeps failing.
    let start = tokio::time::Instant::now();
    while spool_files(&spool).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the recording reached the spool: {:?}",
            states(t.id).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill9();

    let s = states(t.id).await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1.as_deref(), Some("pending"), "{s:?}");
    let name: String = sqlx::query_scalar("SELECT recording_name FROM calls WHERE id = $1")
        .bind(s[0].0)
        .fetch_one(&worker_pool().await)
        .await
        .unwrap();
    let ari = callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk);
    assert!(
        ari.get_bytes(&format!("recordings/stored/{name}/file")).await.unwrap().is_some(),
        "Asterisk keeps its copy until S3 has one"
    );

    s3.start().await;
    // Another replica, with its own spool (the dead one's went with it): the spool is a cache, and
    // Asterisk's copy is fetched again (issue 16).
    let other_spool = spool_dir();
    let child = uploader_process(&s3, &other_spool);
    let restarted = tokio::time::Instant::now();
    wait_all_stored(t.id, 1, Duration::from_secs(30)).await;
    println!("another replica's uploader stored the recording in {:?}", restarted.elapsed());
    drop(child);
    assert!(spool_files(&other_spool).is_empty(), "its spool is emptied once S3 has the file");
    assert_eq!(spool_files(&spool).len(), 1, "the dead replica's spool was not needed");
    assert!(
        ari.get_bytes(&format!("recordings/stored/{name}/file")).await.unwrap().is_none(),
        "Asterisk's copy deleted after the upload"
    );
    // The API of a server on the same S3 plays it.
    let o = s3.overrides();
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reader = TestApp::spawn_with(&o).await;
    let b = reader.browser();
    assert_eq!(b.login(&t.account, &t.admin_login, &t.admin_password).await.status, StatusCode::OK);
    assert_downloads(&b, s[0].0, 1.5).await;

    // S3 gone at download time: 503 with a retry hint, never a truncated file.
    s3.stop();
    let r = b
        .request(reqwest::Method::GET, &format!("/api/calls/{}/recording?download=1", s[0].0))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "30");
    let zip = b.post("/api/calls/recordings.zip", serde_json::json!({"ids": [s[0].0]})).await;
    assert_eq!(
        (zip.status, zip.body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable"))
    );
}
