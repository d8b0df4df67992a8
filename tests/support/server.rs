//! `callbase serve` as a child process of a test: a replica the test can kill with SIGKILL (an
//! in-process server cannot die without a word). Killed when dropped, even by a panic.

use std::process::{Child, Command, Stdio};

use crate::stack_env;

pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// A replica with the stack's settings, `overrides` on top, on a free loopback port. The binary
    /// is the one `./infra/test` built next to the stack's S3 server.
    pub fn spawn(overrides: &[(&str, &str)]) -> ServerProcess {
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
            .env("CALLBASE__WORKERS__IMPORT_EXPIRY", "false")
            .env("CALLBASE__PROBE__EVERY_SECS", "0")
            .env_remove("CALLBASE__HTTP__STATIC_DIR");
        for (k, v) in overrides {
            cmd.env(k, v);
        }
        let log = std::env::var("CALLBASE_TEST_LOG").is_ok();
        cmd.stdout(if log { Stdio::inherit() } else { Stdio::null() }).stderr(if log {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        ServerProcess { child: cmd.spawn().expect("callbase serve starts"), port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
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
    }
}
