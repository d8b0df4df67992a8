//! Listen, whisper, barge (issue #18): a supervisor joins an agent's live call from the board with
//! their own phone. Against the real Asterisk: the supervisor's desk phone rings and answers; a
//! listen or whisper puts an ARI snoop channel on the agent's leg in a bridge with the supervisor, a
//! barge puts the supervisor in the call's bridge; each supervision is audited and ends with the
//! supervisor's hang-up or the call. Agents in private groups cannot be supervised; agents cannot
//! supervise; another tenant's call is not found. After a restart of the server running the call,
//! the supervision is adopted with the call and ends with it.

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::sip::RingingPhone;
use callbase_tests::{unique, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::adoption::{answered_call, holder_and_standby, wait_stasis_holder, HolderAndStandby};
use crate::users::create_user;

/// A supervisor (a member of a group with the supervisor permission) with a desk phone, signed in;
/// returns the browser and the phone's SIP login and password.
async fn supervisor(app: &TestApp, admin: &Browser, account: &str) -> (Browser, String, String) {
    let leads = admin.post("/api/groups", json!({"name": "Team leads", "supervisor": true})).await;
    assert_eq!(leads.status, StatusCode::CREATED, "{}", leads.text);
    let id = create_user(admin, "sofia", &[leads.body["id"].as_i64().unwrap()]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": id, "browser_calls": false})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let b = app.browser();
    assert_eq!(b.login(account, "sofia", "Agent-pass-12345").await.status, StatusCode::OK);
    let (login, pw) = (tu.body["sip_login"].as_str().unwrap(), tu.body["sip_password"].as_str().unwrap());
    (b, login.to_string(), pw.to_string())
}

/// A desk phone that answers every call and hangs up after `talk`.
async fn phone(login: &str, password: &str, talk: Duration) -> RingingPhone {
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    RingingPhone::answering(platform, login, password, talk).await
}

fn supervise_path(call: &impl std::fmt::Display) -> String {
    format!("/api/telephony/board/calls/{call}/supervise")
}

/// The audit entry of supervision `id` once `done` says so.
async fn audit_entry(admin: &Browser, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let r = admin.get("/api/telephony/supervisions").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let e = r.body.as_array().unwrap().iter().find(|e| e["id"] == id).cloned();
        if let Some(e) = e.filter(|e| done(e)) {
            return e;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "supervision {id} {what}: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ari() -> callbase_telephony::ari::Ari {
    callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk)
}

/// The names of the channels in bridge `id` (empty when there is no such bridge).
async fn bridge_channels(id: &str) -> Vec<String> {
    let ari = ari();
    let Ok(Some(b)) = ari.call(reqwest::Method::GET, &format!("bridges/{id}"), &[], None).await else {
        return vec![];
    };
    let mut names = vec![];
    for ch in b["channels"].as_array().cloned().unwrap_or_default() {
        let ch = ch.as_str().unwrap_or_default().to_string();
        if let Ok(Some(c)) = ari.call(reqwest::Method::GET, &format!("channels/{ch}"), &[], None).await {
            names.push(c["name"].as_str().unwrap_or_default().to_string());
        }
    }
    names.sort();
    names
}

async fn channel_up(id: &str) -> bool {
    matches!(ari().call(reqwest::Method::GET, &format!("channels/{id}"), &[], None).await, Ok(Some(_)))
}

async fn supervise(b: &Browser, call: &impl std::fmt::Display, mode: &str) -> i64 {
    let r = b.post(&supervise_path(call), json!({"mode": mode})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{mode}: {}", r.text);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_supervisor_listens_whispers_and_barges_in_with_their_own_phone_and_every_time_is_audited() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    // The administrator is the agent: their desk phone calls out through the trunk and talks 20 s.
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let (sofia, s_login, s_pw) = supervisor(&app, &admin, &t.account).await;
    let short = phone(&s_login, &s_pw, Duration::from_secs(3)).await;
    let maria = app.browser();
    create_user(&admin, "maria", &[]).await;
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);
    let (other_admin, _) = app.telephony_tenant().await;
    let call =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 20_000).await });
    let id = answered_call(t.id, Duration::from_secs(20)).await;

    // Who may not: an agent, another tenant, a bad mode, an agent of a private group.
    let r = maria.post(&supervise_path(&id), json!({"mode": "listen"})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_supervisor")),
        "{}",
        r.text
    );
    let r = other_admin.post(&supervise_path(&id), json!({"mode": "listen"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant's call: {}", r.text);
    let r = sofia.post(&supervise_path(&id), json!({"mode": "shout"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let groups = admin.get("/api/groups").await.body;
    let admins =
        groups.as_array().unwrap().iter().find(|g| g["role"] == "administrator").unwrap()["id"].clone();
    let r = admin.patch(&format!("/api/groups/{admins}"), json!({"private": true})).await;
    assert_eq!((r.status, &r.body["private"]), (StatusCode::OK, &json!(true)), "{}", r.text);
    let r = sofia.post(&supervise_path(&id), json!({"mode": "listen"})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("private_agent")),
        "{}",
        r.text
    );
    assert_eq!(short.invites.lock().unwrap().len(), 0, "nothing rang for a private agent");
    admin.patch(&format!("/api/groups/{admins}"), json!({"private": false})).await;

    // Listen: Sofia's phone rings (saying what for, not the client's number) and answers; a snoop
    // channel on the agent's leg shares a bridge with her leg.
    let s1 = supervise(&sofia, &id, "listen").await;
    let r = sofia.post(&supervise_path(&id), json!({"mode": "barge"})).await;
    assert_eq!(r.body["code"], "already_supervising", "{}", r.text);
    let e = audit_entry(&admin, s1, "answered", |e| !e["answered_at"].is_null()).await;
    assert_eq!(
        (e["mode"].as_str(), e["supervisor_name"].as_str()),
        (Some("listen"), Some("User sofia")),
        "{e}"
    );
    assert_eq!(e["agent_id"], t.admin_id, "{e}");
    let invite = short.invite_texts.lock().unwrap()[0].clone();
    assert!(invite.contains("Listen"), "the supervisor's phone says what it is for: {invite}");
    assert!(!invite.contains("1234567"), "and not the client's number: {invite}");
    let in_bridge = bridge_channels(&format!("s-{id}-{s1}")).await;
    assert_eq!(in_bridge.len(), 2, "the snoop and the supervisor: {in_bridge:?}");
    assert!(in_bridge.iter().any(|n| n.starts_with("Snoop/")), "{in_bridge:?}");
    assert_eq!(bridge_channels(&format!("b-{id}")).await.len(), 2, "the call's bridge keeps its two parties");
    // Sofia hangs up after 3 s: the supervision ends, its snoop and bridge go, the call goes on.
    let e = audit_entry(&admin, s1, "ended", |e| !e["ended_at"].is_null()).await;
    assert_eq!(e["result"], "supervisor hung up", "{e}");
    assert!((2..=5).contains(&e["duration_secs"].as_i64().unwrap()), "{e}");
    assert!(bridge_channels(&format!("s-{id}-{s1}")).await.is_empty(), "the supervision's bridge is gone");
    assert_eq!(
        admin.get(&format!("/api/calls/{id}")).await.body["ended_at"],
        Value::Null,
        "the call goes on"
    );

    // Barge: Sofia joins the call's own bridge (three-way) until she hangs up.
    let s2 = supervise(&sofia, &id, "barge").await;
    audit_entry(&admin, s2, "answered", |e| !e["answered_at"].is_null()).await;
    assert_eq!(bridge_channels(&format!("b-{id}")).await.len(), 3, "three-way");
    let e = audit_entry(&admin, s2, "ended", |e| !e["ended_at"].is_null()).await;
    assert_eq!(e["result"], "supervisor hung up", "{e}");
    assert_eq!(bridge_channels(&format!("b-{id}")).await.len(), 2, "back to two");

    // Whisper: a snoop again; the call ends (the agent hangs up) while Sofia is on: her leg goes too.
    drop(short);
    let long = phone(&s_login, &s_pw, Duration::from_secs(120)).await;
    let s3 = supervise(&sofia, &id, "whisper").await;
    let e = audit_entry(&admin, s3, "answered", |e| !e["answered_at"].is_null()).await;
    assert_eq!(e["mode"], "whisper");
    let in_bridge = bridge_channels(&format!("s-{id}-{s3}")).await;
    assert!(in_bridge.iter().any(|n| n.starts_with("Snoop/")) && in_bridge.len() == 2, "{in_bridge:?}");
    let (ok, log) = call.await.unwrap();
    assert!(ok, "the agent's call went through to its own hang-up:\n{log}");
    let e = audit_entry(&admin, s3, "ended with the call", |e| !e["ended_at"].is_null()).await;
    assert_eq!(e["result"], "call ended", "{e}");
    crate::adoption::legs_gone("Snoop/", Duration::from_secs(5)).await;
    assert!(bridge_channels(&format!("s-{id}-{s3}")).await.is_empty());
    drop(long);

    // The audit: administrators only.
    let list = admin.get("/api/telephony/supervisions").await.body;
    let modes: Vec<&str> = list.as_array().unwrap().iter().filter_map(|e| e["mode"].as_str()).collect();
    assert_eq!(modes, ["whisper", "barge", "listen"], "{list}");
    assert_eq!(maria.get("/api/telephony/supervisions").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        other_admin.get("/api/telephony/supervisions").await.body,
        json!([]),
        "another tenant's audit"
    );
}

/// The server running a supervised call is killed: the node's other replica adopts the call and
/// the supervision with it — the supervisor's leg and the snoop are not hung up as unknown — and
/// when the agent hangs up, the supervisor's leg ends with the call and the audit closes.
#[tokio::test]
async fn a_supervision_survives_a_restart_of_the_server_running_the_call_and_ends_with_the_call() {
    let node = unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, account, login, password } =
        holder_and_standby(&node).await;
    let (sofia, s_login, s_pw) = supervisor(&_app, &admin, &account).await;
    let _phone = phone(&s_login, &s_pw, Duration::from_secs(120)).await;
    let call =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 16_000).await });
    let id = answered_call(tenant, Duration::from_secs(20)).await;
    let s = supervise(&sofia, &id, "listen").await;
    let e = audit_entry(&admin, s, "answered", |e| !e["answered_at"].is_null()).await;
    assert!(e["ended_at"].is_null(), "{e}");
    let bridge = format!("s-{id}-{s}");
    assert_eq!(bridge_channels(&bridge).await.len(), 2);

    first.kill9();
    wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    // Past the adoption's grace for channels nobody owns: the supervision is still on.
    tokio::time::sleep(callbase_telephony::call::ADOPTION_GRACE + Duration::from_secs(1)).await;
    assert_eq!(bridge_channels(&bridge).await.len(), 2, "the supervisor still listens after the takeover");
    let pool = callbase_tests::worker_pool().await;
    let (leg,): (String,) = sqlx::query_as("SELECT supervisor_channel FROM supervisions WHERE id = $1")
        .bind(s)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(channel_up(&leg).await);

    let (ok, log) = call.await.unwrap();
    assert!(ok, "the agent's call went through to its own hang-up:\n{log}");
    let e = audit_entry(&admin, s, "ended with the call", |e| !e["ended_at"].is_null()).await;
    assert_eq!(e["result"], "call ended", "{e}");
    let start = Instant::now();
    while channel_up(&leg).await {
        assert!(start.elapsed() < Duration::from_secs(5), "the supervisor's leg ends with the call");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(bridge_channels(&bridge).await.is_empty(), "the supervision's bridge is gone");
}
