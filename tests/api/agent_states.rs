//! Agent states (issue #18): each agent sets their own state (available, break with one of the
//! tenant's reasons, do not disturb); wrap-up is the server's; administrators see everyone's and set
//! the tenant's settings; the news goes to the agent and the administrators over `/events` only.
//! Against the real Asterisks: only available agents ring for inbound calls, a call the agent
//! talked in puts them in wrap-up until the card closes or the maximum passes, and calls rung out in
//! a row put an agent on Break "missed calls".

use std::time::Duration;

use callbase_tests::calls::agent_with_trunk;
use callbase_tests::sip::RingingPhone;
use callbase_tests::{Browser, TestApp};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::sockets::Ws;
use crate::users::create_user;

/// A desk-phone telephony user `login` of the admin's tenant, signed in; returns its browser, id,
/// SIP login and password.
pub(crate) async fn desk_agent(
    app: &TestApp,
    admin: &Browser,
    account: &str,
    login: &str,
) -> (Browser, i64, String, String) {
    let id = create_user(admin, login, &[]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": id, "browser_calls": false})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let b = app.browser();
    assert_eq!(b.login(account, login, "Agent-pass-12345").await.status, StatusCode::OK);
    (b, id, tu.body["sip_login"].as_str().unwrap().into(), tu.body["sip_password"].as_str().unwrap().into())
}

pub(crate) async fn set_state(b: &Browser, state: &str, reason: Option<&str>) -> Value {
    let r = b.put("/api/telephony/me/state", json!({"state": state, "reason": reason})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn state_of(b: &Browser) -> Value {
    let r = b.get("/api/telephony/me/state").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// The `agent_state` events a socket receives within `within`.
async fn agent_events(ws: &mut Ws, within: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    let mut out = vec![];
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) {
            if v["type"] == "agent_state" {
                out.push(v);
            }
        }
    }
    out
}

#[tokio::test]
async fn agents_set_their_own_state_within_the_tenants_rules_and_only_they_and_admins_hear_of_it() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (anna, anna_id, _, _) = desk_agent(&app, &admin, &t.account, "anna").await;
    let (boris, _, _, _) = desk_agent(&app, &admin, &t.account, "boris").await;
    let (other_admin, _) = app.telephony_tenant().await;
    let mut admin_ws = crate::sockets::open(&admin, "/events").await;
    let mut boris_ws = crate::sockets::open(&boris, "/events").await;
    let mut anna_ws = crate::sockets::open(&anna, "/events").await;
    let mut other_ws = crate::sockets::open(&other_admin, "/events").await;

    assert_eq!(state_of(&anna).await["state"], "available", "a new agent is available");
    let s = set_state(&anna, "break", Some("Lunch")).await;
    assert_eq!((s["state"].as_str(), s["reason"].as_str()), (Some("break"), Some("Lunch")));
    for (body, code) in [
        (json!({"state": "break", "reason": "Nap"}), "invalid_break_reason"),
        (json!({"state": "break"}), "invalid_break_reason"),
        (json!({"state": "wrapup"}), "invalid_state"),
        (json!({"state": "asleep"}), "invalid_state"),
    ] {
        let r = anna.put("/api/telephony/me/state", body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["code"], code, "{body}");
    }
    assert_eq!(state_of(&anna).await["reason"], "Lunch", "a refused change loses nothing");

    // The agent and the administrators hear of it; a colleague and another tenant do not.
    for ws in [&mut admin_ws, &mut anna_ws] {
        let got = agent_events(ws, Duration::from_secs(2)).await;
        assert!(
            got.iter().any(|e| e["user_id"] == anna_id && e["state"] == "break" && e["reason"] == "Lunch"),
            "{got:?}"
        );
    }
    assert!(
        agent_events(&mut boris_ws, Duration::from_millis(500)).await.is_empty(),
        "a colleague hears nothing"
    );
    assert!(
        agent_events(&mut other_ws, Duration::from_millis(500)).await.is_empty(),
        "another tenant hears nothing"
    );

    // Administrators see everyone's; agents may not, nor change the settings.
    let all = admin.get("/api/telephony/states").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let mine = all.body.as_array().unwrap().iter().find(|s| s["user_id"] == anna_id).cloned().unwrap();
    assert_eq!(mine["state"], "break");
    let users = admin.get("/api/telephony/users").await.body;
    assert_eq!(users.as_array().unwrap().iter().find(|u| u["user_id"] == anna_id).unwrap()["state"], "break");
    assert_eq!(boris.get("/api/telephony/states").await.status, StatusCode::FORBIDDEN);
    let settings = boris.get("/api/telephony/agent-settings").await;
    assert_eq!(settings.status, StatusCode::OK, "agents read the break reasons: {}", settings.text);
    assert_eq!(
        boris.put("/api/telephony/agent-settings", settings.body.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    // A non-telephony user has no state.
    create_user(&admin, "carol", &[]).await;
    let carol = app.browser();
    assert_eq!(carol.login(&t.account, "carol", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(carol.get("/api/telephony/me/state").await.status, StatusCode::FORBIDDEN);

    // Settings: validated, and the phone's reasons follow them.
    for (body, code) in [
        (json!({"break_reasons": [], "wrapup_max_secs": 60, "missed_to_break": 0}), "invalid_break_reason"),
        (
            json!({"break_reasons": ["Lunch", "lunch"], "wrapup_max_secs": 60, "missed_to_break": 0}),
            "invalid_break_reason",
        ),
        (
            json!({"break_reasons": ["Missed calls"], "wrapup_max_secs": 60, "missed_to_break": 0}),
            "invalid_break_reason",
        ),
        (
            json!({"break_reasons": ["Lunch"], "wrapup_max_secs": 4000, "missed_to_break": 0}),
            "invalid_wrapup_max",
        ),
        (
            json!({"break_reasons": ["Lunch"], "wrapup_max_secs": 60, "missed_to_break": 21}),
            "invalid_missed_to_break",
        ),
    ] {
        let r = admin.put("/api/telephony/agent-settings", body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["code"], code, "{body}");
    }
    let r = admin
        .put(
            "/api/telephony/agent-settings",
            json!({"break_reasons": [" Обед ", "Training"], "wrapup_max_secs": 30, "missed_to_break": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["break_reasons"], json!(["Обед", "Training"]));
    assert_eq!(set_state(&anna, "break", Some("Обед")).await["reason"], "Обед");
    assert_eq!(
        anna.put("/api/telephony/me/state", json!({"state": "break", "reason": "Lunch"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(set_state(&anna, "dnd", None).await["state"], "dnd");
    assert_eq!(set_state(&anna, "available", None).await["state"], "available");
}

/// Waits until `phone` has had `n` INVITEs (new calls), at most `within`.
async fn rang(phone: &RingingPhone, n: usize, within: Duration) -> bool {
    let start = tokio::time::Instant::now();
    while phone.invites.lock().unwrap().len() < n {
        if start.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// What a failed "it rings" check needs to be understood (it failed once in CI and never locally):
/// the carrier's contact for the shared trunk credential and the tenant's latest calls.
async fn why_no_ring(admin: &Browser) -> String {
    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    let contacts = callbase_tests::carrier_ami().await.contact_statuses(&user).await;
    let calls = admin.get("/api/calls?limit=3").await;
    format!("carrier contacts of {user}: {contacts:?}; latest calls: {}", calls.text)
}

pub(crate) async fn carrier_call() {
    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    callbase_tests::calls::carrier_calls(&user, &user, "9998", "79161234567").await;
}

pub(crate) async fn hang_up_carrier() {
    // Only this trunk's calls: a broader pattern hangs up other suites' calls to the carrier.
    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    let ami = callbase_tests::carrier_ami().await;
    let _ = ami.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn wait_state(b: &Browser, state: &str, within: Duration) -> Value {
    let start = tokio::time::Instant::now();
    loop {
        let s = state_of(b).await;
        if s["state"] == state {
            return s;
        }
        assert!(start.elapsed() < within, "state {state} within {within:?}; now {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn calls_ring_available_agents_only_wrap_up_holds_them_and_missed_calls_send_them_on_break() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, boss_login, boss_password) = agent_with_trunk(&app).await;
    let (maria, _, m_login, m_password) = desk_agent(&app, &admin, &t.account, "maria").await;
    let r =
        admin.put("/api/telephony/routing", json!({"ring_timeout_secs": 5, "forward_number": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Wrap-up is off until an administrator sets a maximum.
    assert_eq!(admin.get("/api/telephony/agent-settings").await.body["wrapup_max_secs"], 0);
    let r = admin
        .put(
            "/api/telephony/agent-settings",
            json!({"break_reasons": ["Lunch"], "wrapup_max_secs": 60, "missed_to_break": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    // The boss's phone answers and hangs up after 1 s of talk; Maria's rings and never answers.
    let boss_phone =
        RingingPhone::answering(platform, &boss_login, &boss_password, Duration::from_secs(1)).await;
    let maria_phone = RingingPhone::start(platform, &m_login, &m_password).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The boss on a break: only Maria rings.
    set_state(&admin, "break", Some("Lunch")).await;
    carrier_call().await;
    if !rang(&maria_phone, 1, Duration::from_secs(15)).await {
        panic!("the available agent rings; {}", why_no_ring(&admin).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(boss_phone.invites.lock().unwrap().len(), 0, "an agent on a break is not rung");
    hang_up_carrier().await;

    // Maria in do-not-disturb, the boss available: the boss rings, answers and talks; the call
    // puts him in wrap-up, in which he is not rung, until he closes the call's card.
    set_state(&maria, "dnd", None).await;
    set_state(&admin, "available", None).await;
    carrier_call().await;
    assert!(rang(&boss_phone, 1, Duration::from_secs(15)).await, "the available agent rings");
    let w = wait_state(&admin, "wrapup", Duration::from_secs(15)).await;
    assert!(w["wrapup_until"].is_string(), "a wrap-up says when it ends: {w}");
    let rung_maria = maria_phone.invites.lock().unwrap().len();
    assert_eq!(rung_maria, 1, "an agent in do-not-disturb is not rung");
    carrier_call().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(boss_phone.invites.lock().unwrap().len(), 1, "an agent in wrap-up is not rung");
    hang_up_carrier().await;
    // Closing the card of the call he talked in ends the wrap-up.
    let answered = admin.get("/api/calls").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["result"] == "answered")
        .cloned()
        .expect("the answered call is listed");
    let r = admin
        .patch(&format!("/api/calls/{}", answered["id"].as_str().unwrap()), json!({"wrapup_done": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(state_of(&admin).await["state"], "available", "the card's close ends the wrap-up");
    assert_eq!(
        admin
            .get("/api/telephony/users")
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == t.admin_id)
            .unwrap()["state"],
        "available"
    );

    // A wrap-up ends by itself at the tenant's maximum.
    let r = admin
        .put(
            "/api/telephony/agent-settings",
            json!({"break_reasons": ["Lunch"], "wrapup_max_secs": 2, "missed_to_break": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    carrier_call().await;
    assert!(rang(&boss_phone, 2, Duration::from_secs(15)).await, "the boss rings again");
    wait_state(&admin, "wrapup", Duration::from_secs(15)).await;
    wait_state(&admin, "available", Duration::from_secs(4)).await;

    // Two calls rung out in a row (the tenant's limit): Maria goes on Break "missed calls".
    set_state(&admin, "dnd", None).await;
    set_state(&maria, "available", None).await;
    for n in 2..=3 {
        carrier_call().await;
        assert!(rang(&maria_phone, n, Duration::from_secs(15)).await, "Maria rings ({n})");
        // Rung out after the 5 s ring timeout.
        tokio::time::sleep(Duration::from_secs(6)).await;
        hang_up_carrier().await;
    }
    let s = wait_state(&maria, "break", Duration::from_secs(5)).await;
    assert_eq!(s["reason"], "missed calls", "{s}");

    // Maria's desk phone dials the feature codes: *11 available, *12 break (the first reason),
    // *13 do not disturb. Each is answered with a confirmation and hung up, and leaves no record.
    let calls_before = admin.get("/api/calls").await.body["total"].clone();
    for (code, state, reason) in
        [("*11", "available", None), ("*12", "break", Some("Lunch")), ("*13", "dnd", None)]
    {
        let _ = callbase_tests::calls::sipp_call(&m_login, &m_password, code, 200).await;
        let s = wait_state(&maria, state, Duration::from_secs(5)).await;
        assert_eq!(s["reason"].as_str(), reason, "{code}: {s}");
    }
    assert_eq!(
        admin.get("/api/calls").await.body["total"],
        calls_before,
        "feature codes keep no call record"
    );
    set_state(&admin, "available", None).await;
}

/// Do not disturb holds for a colleague's call too (the caller hears busy, the phone does not
/// ring); a break keeps inbound calls away, not a colleague who dials the extension.
#[tokio::test]
async fn calls_from_a_colleague_get_busy_in_do_not_disturb_and_ring_on_a_break() {
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__STASIS", "true")]).await;
    let (admin, t) = app.telephony_tenant().await;
    let (boss_login, boss_password) = callbase_tests::calls::desk_phone(&admin, t.admin_id).await;
    let (maria, _, m_login, m_password) = desk_agent(&app, &admin, &t.account, "maria").await;
    let extension = m_login.rsplit('_').next().unwrap().to_string();
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::answering(platform, &m_login, &m_password, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    set_state(&maria, "dnd", None).await;
    let (ok, log) = callbase_tests::calls::sipp_call(&boss_login, &boss_password, &extension, 486).await;
    assert!(ok, "a colleague in do not disturb answers busy:\n{log}");
    let c = crate::calls::wait_result(t.id).await;
    assert_eq!((c["direction"].as_str(), c["result"].as_str()), (Some("internal"), Some("busy")), "{c}");
    assert_eq!(phone.invites.lock().unwrap().len(), 0, "the phone in do not disturb never rang");

    set_state(&maria, "break", Some("Lunch")).await;
    let (ok, log) = callbase_tests::calls::sipp_call(&boss_login, &boss_password, &extension, 200).await;
    assert!(ok, "a colleague on a break is rung and answers:\n{log}");
    assert!(rang(&phone, 1, Duration::from_secs(5)).await, "the phone on a break rang");
}
