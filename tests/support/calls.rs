//! Shared call helpers for the suites: sipp as an agent's desk phone (digest auth, talk time), a
//! tenant with a registered trunk to the test carrier, the carrier calling a tenant's number.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{env, Browser, TestApp};

pub fn trunk_body(user: &str, password: &str) -> Value {
    json!({"mode": "simple", "label": "Carrier", "username": user, "password": password, "domain": crate::env("CALLBASE_CARRIER_SIP")})
}

/// Polls the trunk list until the trunk reaches `state` (or the deadline passes).
pub async fn wait_for_trunk(b: &Browser, id: &Value, state: &str, within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let list = b.get("/api/trunks").await;
        let t = list.body.as_array().unwrap().iter().find(|t| &t["id"] == id).cloned().expect("trunk listed");
        if t["status"]["state"] == state {
            return t;
        }
        assert!(start.elapsed() < within, "trunk did not become {state} within {within:?}; last: {t}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A sipp UAC scenario: INVITE, answer the 401 with digest auth, then expect `final_code`; on 200
/// it ACKs, talks for `talk_ms` and hangs up.
pub fn scenario(user: &str, final_code: u16, talk_ms: u64) -> String {
    scenario_routed(user, final_code, talk_ms, false)
}

/// [`scenario`]; with `proxied`, the ACK for the 200 and the BYE go to the callee's Contact along
/// the route set a proxy recorded (sipp's `[next_url]` and `[routes]`), as through the SIP edge.
fn scenario_routed(user: &str, final_code: u16, talk_ms: u64, proxied: bool) -> String {
    uac_scenario(&Uac { user, auth: "[authentication]", final_code, talk_ms, proxied, timed: false })
}

/// A sipp UAC call scenario ([`uac_scenario`]).
pub struct Uac<'a> {
    /// The From user and Contact user: a login, or an injection-file field (`[field0]`).
    pub user: &'a str,
    /// The digest answer to the 401: `[authentication]` (sipp's `-au`/`-ap`), or a field holding
    /// `[authentication username=… password=…]` (one login per line of an injection file).
    pub auth: &'a str,
    pub final_code: u16,
    pub talk_ms: u64,
    /// In-dialog requests along the recorded route set (through a record-routing proxy).
    pub proxied: bool,
    /// Times the first INVITE → the 200 OK as sipp's response-time measure `setup` (`-trace_rtt`).
    pub timed: bool,
}

/// INVITE, answer the 401 with digest auth, then expect `final_code`; on 200 it ACKs, talks for
/// `talk_ms` and hangs up.
pub fn uac_scenario(u: &Uac) -> String {
    let (user, talk_ms, final_code) = (u.user, u.talk_ms, u.final_code);
    let head = |cseq: u32, method: &str| {
        // The re-sent INVITE starts the dialog afresh (no To tag); ACK for the 200 and BYE carry it.
        let to_tag = if method == "INVITE" { "" } else { "[peer_tag_param]" };
        let (target, routes) = if u.proxied && method != "INVITE" {
            ("[next_url]", "[routes]\n")
        } else {
            ("sip:[service]@[remote_ip]:[remote_port]", "")
        };
        format!(
            "{method} {target} SIP/2.0\n{routes}\
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
             From: <sip:{user}@callbase>;tag=[pid]SIPpTag00[call_number]\n\
             To: <sip:[service]@callbase>{to_tag}\n\
             Call-ID: [call_id]\nCSeq: {cseq} {method}\n\
             Contact: <sip:{user}@[local_ip]:[local_port]>\nMax-Forwards: 70\n"
        )
    };
    let (start_rtd, rtd) = if u.timed { (" start_rtd=\"setup\"", " rtd=\"setup\"") } else { ("", "") };
    let sdp = "Content-Type: application/sdp\nContent-Length: [len]\n\nv=0\no=- 1 1 IN IP[local_ip_type] [local_ip]\ns=-\n\
               c=IN IP[media_ip_type] [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\n\
               a=rtpmap:101 telephone-event/8000\na=sendrecv\n";
    let invite1 = format!("{}{sdp}", head(1, "INVITE"));
    let ack1 = "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n[last_Via:]\n[last_From:]\n[last_To:]\nCall-ID: [call_id]\nCSeq: 1 ACK\nContent-Length: 0\n\n";
    let invite2 = format!("{}{}\n{sdp}", head(2, "INVITE"), u.auth);
    let tail = if final_code == 200 {
        format!(
            "<recv response=\"200\" rrs=\"true\"{rtd}/>\n\
             <send><![CDATA[\n{}Content-Length: 0\n\n]]></send>\n\
             <pause milliseconds=\"{talk_ms}\"/>\n\
             <send retrans=\"500\"><![CDATA[\n{}Content-Length: 0\n\n]]></send>\n\
             <recv response=\"200\"/>\n",
            head(2, "ACK"),
            head(3, "BYE")
        )
    } else {
        format!(
            "<recv response=\"{final_code}\"/>\n\
             <send><![CDATA[\nACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n[last_Via:]\n[last_From:]\n[last_To:]\nCall-ID: [call_id]\nCSeq: 2 ACK\nContent-Length: 0\n\n]]></send>\n"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"agent call\">\n\
         <send retrans=\"500\"{start_rtd}><![CDATA[\n{invite1}]]></send>\n\
         <recv response=\"100\" optional=\"true\"/>\n<recv response=\"401\" auth=\"true\"/>\n\
         <send><![CDATA[\n{ack1}]]></send>\n\
         <send retrans=\"500\"><![CDATA[\n{invite2}]]></send>\n\
         <recv response=\"100\" optional=\"true\"/>\n<recv response=\"180\" optional=\"true\"/>\n\
         <recv response=\"183\" optional=\"true\"/>\n{tail}</scenario>\n"
    )
}

/// Runs one sipp call from `user` to `number`; returns (success, output).
pub async fn sipp_call(user: &str, password: &str, number: &str, final_code: u16) -> (bool, String) {
    sipp_call_talking(user, password, number, final_code, 1500).await
}

/// Like [`sipp_call`], talking for `talk_ms` once answered.
pub async fn sipp_call_talking(
    user: &str,
    password: &str,
    number: &str,
    final_code: u16,
    talk_ms: u64,
) -> (bool, String) {
    sipp_call_via(&env("CALLBASE_PLATFORM_SIP"), user, password, number, final_code, talk_ms).await
}

/// Like [`sipp_call_via`], through a record-routing proxy at `proxy` (the SIP edge): in-dialog
/// requests follow the recorded route.
pub async fn sipp_call_through(
    proxy: &str,
    user: &str,
    password: &str,
    number: &str,
    final_code: u16,
    talk_ms: u64,
) -> (bool, String) {
    run_sipp(proxy, &scenario_routed(user, final_code, talk_ms, true), user, password, number).await
}

/// Like [`sipp_call_talking`], to the Asterisk node at `target` (`ip:port`).
pub async fn sipp_call_via(
    target: &str,
    user: &str,
    password: &str,
    number: &str,
    final_code: u16,
    talk_ms: u64,
) -> (bool, String) {
    run_sipp(target, &scenario(user, final_code, talk_ms), user, password, number).await
}

async fn run_sipp(target: &str, scenario: &str, user: &str, password: &str, number: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("callbase-sipp-{}", crate::unique("c")));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("uac.xml");
    std::fs::write(&file, scenario).unwrap();
    // A random local port may be taken (another test's phone, an RTP port): sipp then sends nothing
    // and says "Unable to bind main socket"; another port is tried.
    for _ in 0..4 {
        let (ok, text) = run_sipp_once(target, &dir, &file, user, password, number).await;
        if !text.contains("Unable to bind main socket") {
            return (ok, text);
        }
    }
    panic!("sipp found no free local port in four tries");
}

async fn run_sipp_once(
    target: &str,
    dir: &std::path::Path,
    file: &std::path::Path,
    user: &str,
    password: &str,
    number: &str,
) -> (bool, String) {
    let port = (20000 + rand::random::<u16>() % 20000).to_string();
    let out = tokio::time::timeout(
        Duration::from_secs(40),
        tokio::process::Command::new("sipp")
            .args([
                "-sf",
                file.to_str().unwrap(),
                "-s",
                number,
                "-au",
                user,
                "-ap",
                password,
                "-m",
                "1",
                "-l",
                "1",
            ])
            .args([
                "-i",
                "127.0.0.1",
                "-mi",
                "127.0.0.1",
                "-p",
                &port,
                "-timeout",
                "30s",
                "-timeout_error",
                "-nostdin",
            ])
            .args(["-trace_err", "-trace_msg"])
            .arg(target)
            .current_dir(dir)
            .output(),
    )
    .await
    .expect("sipp finishes within 40 s")
    .expect("sipp runs (package sip-tester)");
    let mut text =
        format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().ends_with(".log") {
            text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            let _ = std::fs::remove_file(e.path());
        }
    }
    // sipp exits 0 when every call succeeded.
    (out.status.success(), text.chars().rev().take(6000).collect::<String>().chars().rev().collect())
}

/// Earlier tests' trunks on the shared carrier credential stop registering. The carrier keeps one
/// contact per credential, and a finished test's tenant stays in the stack's database with its
/// trunk, which Asterisk re-registers every ~290 s: that refresh would take the contact, and with it
/// the inbound calls of whichever test runs then (CI, 2026-12-05: a carrier call never reached
/// `recordings::a_paused…`). Their registration rows go and the registration module is reloaded,
/// which un-REGISTERs them; call before creating a trunk on `CALLBASE_CARRIER_TRUNK_USER` (the
/// tests that do take turns, nextest group `stasis`).
pub async fn retire_earlier_registrations(user: &str) {
    let pool = crate::worker_pool().await;
    let gone = sqlx::query("DELETE FROM ast.ps_registrations WHERE client_uri LIKE $1")
        .bind(format!("sip:{user}@%"))
        .execute(&pool)
        .await
        .expect("earlier registrations deleted")
        .rows_affected();
    if gone > 0 {
        reload_registrations().await;
    }
}

/// Reloads the platform Asterisk's outbound-registration module (ARI): it reads the realtime
/// registration rows again — new ones register, deleted ones un-REGISTER.
pub async fn reload_registrations() {
    let r = reqwest::Client::new()
        .put(format!(
            "{}/ari/asterisk/modules/res_pjsip_outbound_registration.so",
            env("CALLBASE__ASTERISK__ARI_URL")
        ))
        .basic_auth(env("CALLBASE__ASTERISK__ARI_USER"), Some(env("CALLBASE__ASTERISK__ARI_PASSWORD")))
        .send()
        .await
        .expect("ARI answers");
    assert!(r.status().is_success(), "registration module reload: {}", r.status());
}

pub async fn agent_with_trunk(app: &TestApp) -> (Browser, crate::Tenant, String, String) {
    let (admin, t) = app.telephony_tenant().await;
    retire_earlier_registrations(&env("CALLBASE_CARRIER_TRUNK_USER")).await;
    let r = admin
        .post(
            "/api/trunks",
            trunk_body(&env("CALLBASE_CARRIER_TRUNK_USER"), &env("CALLBASE_CARRIER_TRUNK_PASSWORD")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    wait_for_trunk(&admin, &r.body["id"], "registered", Duration::from_secs(20)).await;
    let (login, password) = desk_phone(&admin, t.admin_id).await;
    (admin, t, login, password)
}

/// Makes telephony user `user` a desk-phone user; returns its SIP login and a new password.
pub async fn desk_phone(admin: &Browser, user: i64) -> (String, String) {
    let p = admin.patch(&format!("/api/telephony/users/{user}"), json!({"browser_calls": false})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let pw = admin.post(&format!("/api/telephony/users/{user}/password"), json!({})).await;
    assert_eq!(pw.status, StatusCode::OK, "{}", pw.text);
    (pw.body["sip_login"].as_str().unwrap().into(), pw.body["sip_password"].as_str().unwrap().into())
}

/// The carrier calls `number` through the trunk registered with `credential` (`PJSIP/<number>@<credential>`)
/// as the caller `caller_id`; once we answer, its dialplan runs `exten` (9998: a 440 Hz tone, 9996:
/// an echo that records what it hears).
pub async fn carrier_calls(number: &str, credential: &str, exten: &str, caller_id: &str) {
    let ami = crate::carrier_ami().await;
    let r = ami
        .action(
            "Originate",
            &[
                ("Channel", &format!("PJSIP/{number}@{credential}")),
                ("Context", "carrier-test"),
                ("Exten", exten),
                ("Priority", "1"),
                ("Async", "true"),
                ("CallerID", caller_id),
            ],
        )
        .await
        .expect("originate accepted");
    assert!(r.is_success(), "the carrier refused to originate: {r:?}");
}

/// How a call from the carrier to `number` (through the trunk registered with `credential`) ended,
/// as the carrier saw it: the dial status (`ANSWER`, `NOANSWER`, `BUSY`, …) and the SIP answer
/// that ended it (`SIP 480 Temporarily Unavailable`). An answered call is hung up by the carrier
/// at once.
pub async fn carrier_dial_report(number: &str, credential: &str) -> (String, String) {
    let ami = crate::carrier_ami().await;
    let mut events = ami.events();
    let r = ami
        .action(
            "Originate",
            &[
                ("Channel", &format!("Local/{number}@carrier-dial-report")),
                ("Application", "Wait"),
                ("Data", "1"),
                ("Async", "true"),
                ("CallerID", "79161234567"),
                ("Variable", &format!("__TRUNK={credential}")),
            ],
        )
        .await
        .expect("originate accepted");
    assert!(r.is_success(), "the carrier refused to originate: {r:?}");
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let m = events.recv().await.expect("carrier events");
            if m.event() == Some("UserEvent")
                && m.get("UserEvent") == Some("CarrierDialResult")
                && m.get("Number") == Some(number)
            {
                let get = |k: &str| m.get(k).unwrap_or_default().to_string();
                return (get("DialStatus"), get("Sip"));
            }
        }
    })
    .await
    .expect("the carrier reports how its call ended")
}

/// The carrier calls `number` through the trunk registered with `credential` and records what it
/// hears (its 9996: an echo that records); returns the recording's 8 kHz samples once the call has
/// ended and the file is complete.
pub async fn carrier_hears(number: &str, credential: &str) -> Vec<i16> {
    let ami = crate::carrier_ami().await;
    let mut events = ami.events();
    carrier_calls(number, credential, "9996", "79161234567").await;
    let file = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let m = events.recv().await.expect("carrier events");
            if m.event() == Some("UserEvent") && m.get("UserEvent") == Some("CarrierRecording") {
                return m.get("File").unwrap().to_string();
            }
        }
    })
    .await
    .expect("the carrier recorded the call");
    let path = std::path::Path::new(&env("CALLBASE_ROOTFS"))
        .join("srv/callbase/test/carrier/spool/monitor")
        .join(&file);
    let mut last = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > 8000 && size == last {
            if let Ok(mut r) = hound::WavReader::open(&path) {
                let samples: Vec<i16> = r.samples::<i16>().filter_map(Result::ok).collect();
                if !samples.is_empty() {
                    return samples;
                }
            }
        }
        last = size;
    }
    panic!("the carrier's recording {} holds no complete audio", path.display());
}
