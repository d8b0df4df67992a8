//! Kamailio (Debian's package, installed by the infra scripts), one process per test on a free
//! loopback port, so a test can stop and start it without touching the shared stack:
//! - a carrier that forgets registrations when it restarts (`infra/kamailio/carrier.cfg`);
//! - the SIP edge in front of the Asterisk nodes (`infra/kamailio/edge.cfg`, [`Kamailio::edge`]).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The test credential the carrier accepts (the defaults of `infra/kamailio/carrier.cfg`).
pub const USER: &str = "kam-trunk";
pub const PASSWORD: &str = "kam-test-password";

/// One Kamailio (carrier or edge); its process group is killed when this is dropped.
pub struct Kamailio {
    pub port: u16,
    dir: PathBuf,
    config: PathBuf,
    /// `-A NAME="value"` preprocessor defines beyond the control socket.
    defines: Vec<(String, String)>,
    child: Option<Child>,
}

fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/kamailio").join(name)
}

impl Kamailio {
    /// Starts a carrier on a free UDP port of 127.0.0.1 and waits until it answers its control socket.
    pub async fn start() -> Self {
        Self::start_with("carrier.cfg", vec![]).await
    }

    /// Starts the SIP edge (`infra/kamailio/edge.cfg`) on a free UDP port of 127.0.0.1, reading the
    /// nodes and the accounts from the stack's database as callbase_kamailio.
    pub async fn edge() -> Self {
        let url = crate::env("CALLBASE_DATABASE_KAMAILIO_URL");
        Self::start_with(
            "edge.cfg",
            vec![("DB_URL".into(), url.clone()), ("SQL_CON".into(), format!("edge=>{url}"))],
        )
        .await
    }

    async fn start_with(name: &str, defines: Vec<(String, String)>) -> Self {
        let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(crate::unique("callbase-kamailio-"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut k = Kamailio { port, dir, config: config(name), defines, child: None };
        k.start_again().await;
        k
    }

    /// Sets a preprocessor define (`-A NAME="value"`) for the next start: the carrier's
    /// `TRUNK_USER` or `TRUNK_PASSWORD`, say.
    pub fn define(&mut self, name: &str, value: &str) {
        self.defines.retain(|(n, _)| n != name);
        self.defines.push((name.into(), value.into()));
    }

    /// `127.0.0.1:<port>` as a socket address (where phones send their requests).
    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// The main process's id, also its process group's (every Kamailio process of this instance is
    /// in it: the benchmark adds up their CPU time). `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `host:port` to give a trunk.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn ctl(&self) -> String {
        format!("unix:{}", self.dir.join("ctl.sock").display())
    }

    /// Starts the (stopped) Kamailio again on the same port: a carrier knows no registration.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "Kamailio is running");
        let mut cmd = Command::new("kamailio");
        for (name, value) in &self.defines {
            cmd.arg("-A").arg(format!("{name}=\"{value}\""));
        }
        let child = cmd
            .arg("-f")
            .arg(&self.config)
            // 128 MB of shared memory: a registration storm holds every phone's transaction (and
            // the dispatcher's per-request lists) at once; 32 MB ran out at 1 000 phones
            // (docs/benchmarks.md, "SIP edge"). Untouched pages cost nothing.
            .args(["-DD", "-E", "-m", "128", "-M", "4"])
            .arg("-l")
            .arg(format!("udp:127.0.0.1:{}", self.port))
            .arg("-Y")
            .arg(&self.dir)
            .arg("-A")
            .arg(format!("CTL_SOCKET=\"{}\"", self.ctl()))
            // Its own process group: stop() ends the main process and every child it forked.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(self.dir.join("kamailio.log")).unwrap()))
            .spawn()
            .expect("kamailio starts (Debian package kamailio, installed by infra/lib/stack.sh)");
        self.child = Some(child);
        for _ in 0..100 {
            if self.rpc("core.version").await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Kamailio did not answer on its control socket within 10 s: {}", self.log());
    }

    /// Kills the carrier (every process of it) and waits until it is gone: what it held in memory
    /// is lost, as in a crash or a restart.
    pub fn stop(&mut self) {
        assert!(self.kill(), "Kamailio's port {} still taken 5 s after the kill", self.port);
    }

    /// Kills the process group; true once the port is free again.
    fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        // The group id is the child's pid (process_group(0)); only this carrier's processes are in it.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
        let _ = child.wait();
        // The forked children die with the group; the port is free once the last one is gone.
        for _ in 0..50 {
            if std::net::UdpSocket::bind(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// One RPC over the control socket with `kamcmd`.
    pub async fn rpc(&self, command: &str) -> Result<String, String> {
        let out = tokio::process::Command::new("kamcmd")
            .args(["-s", &self.ctl(), command])
            .output()
            .await
            .map_err(|e| format!("kamcmd: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The contacts registered for `user` in the carrier's location table.
    pub async fn contacts(&self, user: &str) -> Vec<String> {
        let dump = self.rpc("ul.dump").await.expect("kamcmd ul.dump");
        // The dump lists each record (`AoR: kam-trunk`) followed by its contacts (`Address: sip:…`).
        let mut out = Vec::new();
        let mut in_aor = false;
        for line in dump.lines().map(str::trim) {
            if let Some(aor) = line.strip_prefix("AoR:") {
                in_aor = aor.trim() == user;
            } else if let (true, Some(a)) = (in_aor, line.strip_prefix("Address:")) {
                out.push(a.trim().to_string());
            }
        }
        out
    }

    /// Sends a call for `user` into the carrier, as from another network (an INVITE with G.711 SDP
    /// over UDP); the carrier passes it to the contact `user` registered. Returns the final status
    /// code (0 when none came within 10 s); a 2xx is ACKed through the carrier. Written by hand like
    /// `sip.rs`: one request and its answers, no dialog to keep.
    pub async fn call(&self, user: &str, caller: &str) -> u16 {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = sock.local_addr().unwrap();
        let carrier = format!("127.0.0.1:{}", self.port);
        let (call_id, tag, branch) = (crate::unique("kc-"), crate::unique("t"), crate::unique("z9hG4bK"));
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
            local.port() + 2
        );
        let from = format!("<sip:{caller}@127.0.0.1>;tag={tag}");
        let invite = format!(
            "INVITE sip:{user}@{carrier} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{user}@{carrier}>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:{caller}@{local}>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        sock.send_to(invite.as_bytes(), &carrier).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 8192];
        loop {
            let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await else {
                return 0;
            };
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let code: u16 = msg.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
            if !msg.starts_with("SIP/2.0") || !msg.contains("INVITE") || code < 200 {
                continue;
            }
            if (200..300).contains(&code) {
                let header = |name: &str| {
                    msg.lines()
                        .find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
                        .map(|(_, v)| v.trim().to_string())
                        .unwrap_or_default()
                };
                let target =
                    header("Contact").trim_start_matches('<').split('>').next().unwrap_or("").to_string();
                let to = header("To");
                let ack = format!(
                    "ACK {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={};rport\r\n\
                     Route: <sip:{carrier};lr>\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n\
                     Call-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                    crate::unique("z9hG4bK")
                );
                sock.send_to(ack.as_bytes(), &carrier).await.unwrap();
            }
            return code;
        }
    }

    /// The carrier's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
