//! Redis with Sentinel (issue 17 item 5): the server asks Sentinel for the master
//! (`redis.sentinels`, `redis.master_name`), and after a failover (`SENTINEL FAILOVER`: the replica
//! promoted) it drains and exits non-zero; started again, as its supervisor does, it works against
//! the new master and its users are still signed in (their sessions were replicated). The test runs
//! a master, a replica and a Sentinel of its own on free loopback ports.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callbase_tests::{server::ServerProcess, unique, TestApp};
use reqwest::StatusCode;

const MASTER_NAME: &str = "cbtest";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs (package redis-tools)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn dbsize(port: u16) -> u64 {
    cli(port, &["-n", "0", "DBSIZE"]).parse().unwrap_or_else(|_| panic!("DBSIZE on {port}"))
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(secs), "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Redis master, its replica and one Sentinel watching them (quorum 1), killed when dropped.
struct SentinelLab {
    children: Vec<Child>,
    dir: std::path::PathBuf,
    master: u16,
    replica: u16,
    sentinel: u16,
}

impl SentinelLab {
    fn start() -> SentinelLab {
        let dir = std::env::temp_dir().join(unique("cb-sentinel-"));
        std::fs::create_dir_all(&dir).unwrap();
        let (master, replica, sentinel) = (free_port(), free_port(), free_port());
        let mut lab = SentinelLab { children: Vec::new(), dir, master, replica, sentinel };
        lab.redis(master, &[]);
        lab.redis(replica, &["--replicaof", "127.0.0.1", &master.to_string()]);
        wait_for("the replica in sync with the master", 20, || {
            cli(replica, &["INFO", "replication"]).contains("master_link_status:up")
        });
        // Sentinel rewrites its configuration file: one of its own in the lab's directory.
        let conf = lab.dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "bind 127.0.0.1\nport {sentinel}\ndir {}\n\
                 sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 1\n\
                 sentinel down-after-milliseconds {MASTER_NAME} 2000\n\
                 sentinel failover-timeout {MASTER_NAME} 10000\n",
                lab.dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server --sentinel runs");
        lab.children.push(child);
        wait_for("Sentinel knows the replica", 30, || {
            cli(sentinel, &["SENTINEL", "REPLICAS", MASTER_NAME]).contains(&replica.to_string())
        });
        lab
    }

    fn redis(&mut self, port: u16, extra: &[&str]) {
        let dir = self.dir.join(port.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--dir"])
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (package redis-server)");
        self.children.push(child);
        wait_for("own Redis answers", 10, || cli(port, &["PING"]) == "PONG");
    }

    /// The master's port as Sentinel names it now.
    fn named_master(&self) -> String {
        cli(self.sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])
    }
}

impl Drop for SentinelLab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn ready(base: &str, secs: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_server_finds_the_redis_master_through_sentinel_and_follows_a_failover() {
    let lab = SentinelLab::start();
    let sentinels = format!("127.0.0.1:{}", lab.sentinel);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    // Nothing listens on the URL's port: only Sentinel can tell the server where Redis is.
    let ov = [
        ("CALLBASE__REDIS__URL", "redis://127.0.0.1:9/0"),
        ("CALLBASE__REDIS__SENTINELS", sentinels.as_str()),
        ("CALLBASE__REDIS__MASTER_NAME", MASTER_NAME),
        ("CALLBASE__HTTP__ADDR", addr.as_str()),
        ("CALLBASE__HTTP__DRAIN_SECS", "3"),
    ];
    let mut first = ServerProcess::spawn_logged(&ov);
    let base = format!("http://{addr}");
    assert!(ready(&base, 30).await, "the server is ready with the master Sentinel names");
    let app = TestApp::attach(&base).await;
    let before = dbsize(lab.master);
    let (admin, tenant) = app.new_tenant().await;
    let me = admin.get("/api/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert!(dbsize(lab.master) > before, "the session is on the master Sentinel named");

    // Sentinel promotes only a replica it has heard from itself: NOGOODSLAVE until then.
    let mut answer = String::new();
    wait_for("SENTINEL FAILOVER accepted", 20, || {
        answer = cli(lab.sentinel, &["SENTINEL", "FAILOVER", MASTER_NAME]);
        answer == "OK" || !answer.contains("NOGOODSLAVE")
    });
    assert_eq!(answer, "OK", "SENTINEL FAILOVER");
    wait_for("Sentinel names the promoted replica", 30, || {
        lab.named_master().ends_with(&lab.replica.to_string())
    });

    // The old process notices, drains and exits non-zero: its supervisor restarts it.
    let start = Instant::now();
    let status = loop {
        if let Some(s) = first.child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the server still runs 20 s after the failover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success(), "exits non-zero to be restarted: {status}");
    let said = first.log().iter().any(|l| {
        l["fields"]["message"].as_str().is_some_and(|m| m.contains("Sentinel names another Redis master"))
    });
    assert!(said, "the log says why it drains");

    let _second = ServerProcess::spawn(&ov);
    assert!(ready(&base, 30).await, "the restarted server is ready with the new master");
    let me_again = admin.get("/api/auth/me").await;
    assert_eq!(me_again.status, StatusCode::OK, "still signed in after the failover: {}", me_again.text);
    assert_eq!(me_again.body["login"], me.body["login"]);
    let on_new = dbsize(lab.replica);
    let other = app.browser();
    let r = other.login(&tenant.account, &tenant.admin_login, &tenant.admin_password).await;
    assert_eq!(r.status, StatusCode::OK, "sign-in after the failover: {}", r.text);
    assert!(dbsize(lab.replica) > on_new, "the new session is written to the promoted replica");
}
