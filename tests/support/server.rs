//! `callbase serve` as a child process of a test: a replica the test can kill with SIGKILL (an
//! in-process server cannot die without a word) or pause with SIGSTOP. Killed when dropped, even by
//! a panic.

use std::process::{Child, Command, Stdio};

use crate::stack_env;

pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
    /// Where its JSON log goes ([`ServerProcess::spawn_logged`]).
    log: Option<std::path::PathBuf>,
}

impl ServerProcess {
    /// A replica with the stack's settings, `overrides` on top, on a free loopback port. The binary
    /// is the one `./infra/test` built next to the stack's S3 server.
    pub fn spawn(overrides: &[(&str, &str)]) -> ServerProcess {
        Self::start(overrides, None)
    }

    /// Like [`ServerProcess::spawn`], logging JSON lines to a file the test reads ([`ServerProcess::log`]).
    pub fn spawn_logged(overrides: &[(&str, &str)]) -> ServerProcess {
        let dir = std::env::temp_dir().join(crate::unique("callbase-replica-"));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start(overrides, Some(dir.join("serve.log")))
    }

    /// The JSON lines it logged so far (spawned with [`ServerProcess::spawn_logged`]).
    pub fn log(&self) -> Vec<serde_json::Value> {
        let path = self.log.as_ref().expect("spawned with spawn_logged");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    fn start(overrides: &[(&str, &str)], log_file: Option<std::path::PathBuf>) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bin = std::path::Path::new(&crate::env("CALLBASE_S3_BIN")).with_file_name("callbase");
        let mut cmd = Command::new(bin);
        cmd.arg("serve").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in stack_env().iter().filter(|(k, _)| k.starts_with("CALLBASE__")) {
            cmd.env(k, v);
        }
        cmd.env("CALLBASE__HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("CALLBASE__WORKERS__STASIS", "false")
            .env("CALLBASE__WORKERS__REGISTRATION_MONITOR", "false")
            .env("CALLBASE__WORKERS__RECORDINGS", "false")
            .env("CALLBASE__WORKERS__WEBHOOKS", "false")
            .env("CALLBASE__WORKERS__IMPORT_EXPIRY", "false")
            .env("CALLBASE__PROBE__EVERY_SECS", "0")
            // Its node name (`asterisk.node`) is the test's, not in the node registry: it runs that
            // name's leases only (tests/support/lib.rs says why).
            .env("CALLBASE__ASTERISK__REGISTER", "false")
            .env("CALLBASE__WORKERS__NODES", "configured")
            .env_remove("CALLBASE__HTTP__STATIC_DIR");
        for (k, v) in overrides {
            cmd.env(k, v);
        }
        let log = std::env::var("CALLBASE_TEST_LOG").is_ok();
        cmd.stdout(if log { Stdio::inherit() } else { Stdio::null() });
        match &log_file {
            Some(path) => {
                cmd.env("CALLBASE__LOG__FORMAT", "json")
                    .stderr(std::fs::File::create(path).expect("the replica's log file"));
            }
            None => {
                cmd.stderr(if log { Stdio::inherit() } else { Stdio::null() });
            }
        }
        ServerProcess { child: cmd.spawn().expect("callbase serve starts"), port, log: log_file }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends the process `signal` (`STOP`, `CONT`, …).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{signal} {}", self.pid());
    }

    /// SIGKILL: no handover, no goodbye.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test keeps the replica's log to look at.
        if let Some(dir) = self.log.as_ref().and_then(|l| l.parent()) {
            if std::thread::panicking() {
                eprintln!("the replica's log: {}", dir.join("serve.log").display());
            } else {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}
