//! The live presence board (issue #18): for administrators, sub-administrators and members of
//! groups with the supervisor permission; every telephony user's state and current call, numbers
//! masked by the viewer's rules, live over `/events` (`agent_state`, `board_call`); one tenant's
//! board never shows another's. The call test runs against the real Asterisks and carrier.

use std::time::Duration;

use callbase_tests::calls::agent_with_trunk;
use callbase_tests::sip::RingingPhone;
use callbase_tests::{Browser, TestApp};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::agent_states::{carrier_call, desk_agent, hang_up_carrier, set_state};
use crate::sockets::Ws;
use crate::users::create_user;

/// The events of `kind` a socket receives within `within`, stopping early at one `until` accepts.
async fn events_of(ws: &mut Ws, kind: &str, within: Duration, until: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    let mut out = vec![];
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) {
            if v["type"] == kind {
                let done = until(&v);
                out.push(v);
                if done {
                    break;
                }
            }
        }
    }
    out
}

/// A signed-in user `login` in `groups`.
async fn member(app: &TestApp, admin: &Browser, account: &str, login: &str, groups: &[i64]) -> Browser {
    create_user(admin, login, groups).await;
    let b = app.browser();
    assert_eq!(b.login(account, login, "Agent-pass-12345").await.status, StatusCode::OK);
    b
}

fn agent(board: &Value, user: i64) -> Option<&Value> {
    board["agents"].as_array().unwrap().iter().find(|a| a["user_id"] == user)
}

#[tokio::test]
async fn the_board_is_for_supervisors_and_shows_the_agents_of_their_tenant_only() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (anna, anna_id, _, _) = desk_agent(&app, &admin, &t.account, "anna").await;
    let (boris, _, _, _) = desk_agent(&app, &admin, &t.account, "boris").await;
    let (other_admin, _) = app.telephony_tenant().await;

    // A group with the supervisor permission; Sofia is in it (she is not a telephony user).
    let r = admin.post("/api/groups", json!({"name": "Team leads", "supervisor": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["supervisor"], true);
    let leads = r.body["id"].as_i64().unwrap();
    let sofia = member(&app, &admin, &t.account, "sofia", &[leads]).await;

    // Agents may not see the board; supervisors and administrators may.
    let r = boris.get("/api/telephony/board").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["code"], "not_supervisor");
    set_state(&anna, "break", Some("Lunch")).await;
    for b in [&admin, &sofia] {
        let r = b.get("/api/telephony/board").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let a = agent(&r.body, anna_id).expect("Anna is on the board");
        assert_eq!((a["state"].as_str(), a["reason"].as_str()), (Some("break"), Some("Lunch")), "{a}");
        assert!(a["since"].is_string() && a["online"]["desk"] == false, "{a}");
        assert!(
            r.body["groups"].as_array().unwrap().iter().any(|g| g["id"] == leads),
            "groups for the filter"
        );
    }
    // Another tenant's board does not list her.
    let r = other_admin.get("/api/telephony/board").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(agent(&r.body, anna_id).is_none(), "another tenant's board shows only its own agents");

    // Supervisors hear of state changes live; a colleague and another tenant do not.
    let mut sofia_ws = crate::sockets::open(&sofia, "/events").await;
    let mut boris_ws = crate::sockets::open(&boris, "/events").await;
    let mut other_ws = crate::sockets::open(&other_admin, "/events").await;
    set_state(&anna, "dnd", None).await;
    let got =
        events_of(&mut sofia_ws, "agent_state", Duration::from_secs(3), |e| e["user_id"] == anna_id).await;
    assert!(got.iter().any(|e| e["user_id"] == anna_id && e["state"] == "dnd"), "{got:?}");
    for ws in [&mut boris_ws, &mut other_ws] {
        let got = events_of(ws, "agent_state", Duration::from_millis(700), |_| false).await;
        assert!(got.is_empty(), "{got:?}");
    }

    // Taking the permission away: her socket closes and the board refuses her.
    let r = admin.patch(&format!("/api/groups/{leads}"), json!({"supervisor": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["supervisor"], false);
    assert_eq!(sofia.get("/api/telephony/board").await.status, StatusCode::FORBIDDEN);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match sofia_ws.next().await {
                Some(Ok(m)) if m.is_close() => return true,
                None | Some(Err(_)) => return true,
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "the socket of a supervisor who lost the permission closes");
}

#[tokio::test]
async fn the_board_follows_an_inbound_call_from_ringing_to_talking_with_the_number_masked_for_a_masked_supervisor(
) {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, boss_login, boss_password) = agent_with_trunk(&app).await;
    // The caller is a client of the CRM.
    let (table, f) = crate::crm::clients(&admin).await;
    crate::crm::add(&admin, table, json!({f("Name"): "Acme Ltd", f("Phone"): "+7 916 123-45-67"})).await;
    // Sofia supervises, and her group sees numbers masked.
    let leads = admin.post("/api/groups", json!({"name": "Team leads", "supervisor": true})).await.body["id"]
        .as_i64()
        .unwrap();
    let sofia = member(&app, &admin, &t.account, "sofia", &[leads]).await;
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_group_ids"] = json!([leads]);
    s["mask_mode"] = json!("prefix");
    s["mask_chars"] = json!(8);
    assert_eq!(admin.put("/api/crm/settings", s).await.status, StatusCode::OK);
    let mut sofia_ws = crate::sockets::open(&sofia, "/events").await;
    let mut admin_ws = crate::sockets::open(&admin, "/events").await;

    // The boss's desk phone answers and talks for 4 s.
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let _phone = RingingPhone::answering(platform, &boss_login, &boss_password, Duration::from_secs(4)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    carrier_call().await;

    // Live: ringing (the boss rung), answered (by the boss); the number masked for Sofia.
    let answered = |e: &Value| e["state"] == "answered";
    let seen = events_of(&mut sofia_ws, "board_call", Duration::from_secs(15), answered).await;
    let text = serde_json::to_string(&seen).unwrap();
    assert!(!text.contains("9161234567"), "a masked supervisor never sees the number: {text}");
    let ringing =
        seen.iter().find(|e| e["state"] == "ringing").unwrap_or_else(|| panic!("ringing: {seen:?}"));
    assert_eq!(ringing["direction"], "inbound");
    assert!(ringing["ringing"].as_array().unwrap().contains(&json!(t.admin_id)), "{ringing}");
    let on = seen.iter().find(|e| e["state"] == "answered").unwrap_or_else(|| panic!("answered: {seen:?}"));
    assert_eq!(on["user_id"], t.admin_id, "{on}");
    assert!(on["number"].as_str().unwrap().ends_with("4567"), "{on}");
    let call_id = on["call_id"].clone();

    // The snapshot while they talk: the call on the boss, masked, with the client's name, and
    // the trunk's line in use.
    // The record's answer is written right after the news (the call's writer is asynchronous): the
    // snapshot follows within a moment.
    let start = tokio::time::Instant::now();
    let (board, call) = loop {
        let board = sofia.get("/api/telephony/board").await;
        assert_eq!(board.status, StatusCode::OK, "{}", board.text);
        let call = board.body["calls"].as_array().unwrap().iter().find(|c| c["call_id"] == call_id).cloned();
        let call = call.unwrap_or_else(|| panic!("the call on the board: {}", board.body));
        if !call["answered_at"].is_null() || start.elapsed() > Duration::from_secs(3) {
            break (board, call);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!board.text.contains("9161234567"), "{}", board.text);
    assert_eq!(
        (call["user_id"].as_i64(), call["phase"].as_str()),
        (Some(t.admin_id), Some("talking")),
        "{call}"
    );
    assert_eq!(call["client"]["title"], "Acme Ltd", "{call}");
    assert!(call["answered_at"].is_string(), "{call}");
    assert_eq!(board.body["trunks"][0]["in_use"], 1, "{}", board.body);
    assert_eq!(agent(&board.body, t.admin_id).unwrap()["online"]["desk"], true);

    // The unmasked administrator sees the number; the call ends on the board when the phone hangs up.
    let admin_seen = events_of(&mut admin_ws, "board_call", Duration::from_secs(2), answered).await;
    assert!(serde_json::to_string(&admin_seen).unwrap().contains("79161234567"), "{admin_seen:?}");
    let ended =
        events_of(&mut sofia_ws, "board_call", Duration::from_secs(10), |e| e["state"] == "ended").await;
    assert!(ended.iter().any(|e| e["call_id"] == call_id && e["state"] == "ended"), "{ended:?}");
    // The record's end is written right after the news: the snapshot follows within a moment.
    let start = tokio::time::Instant::now();
    loop {
        let board = sofia.get("/api/telephony/board").await.body;
        if board["calls"].as_array().unwrap().iter().all(|c| c["call_id"] != call_id) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "the ended call stays on the board: {board}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hang_up_carrier().await;
}

/// An agent's desk phone registering and going away shows on the board live (`agent_presence`,
/// from Asterisk's `ContactStatus` through the node's registration monitor).
#[tokio::test]
async fn the_board_hears_when_an_agents_phone_registers_and_goes_away() {
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true")]).await;
    let (admin, t) = app.telephony_tenant().await;
    let (agent_b, _, _, _) = desk_agent(&app, &admin, &t.account, "boris").await;
    let (_, maria_id, login, password) = desk_agent(&app, &admin, &t.account, "maria").await;
    let mut admin_ws = crate::sockets::open(&admin, "/events").await;
    let mut boris_ws = crate::sockets::open(&agent_b, "/events").await;
    let board = admin.get("/api/telephony/board").await.body;
    assert_eq!(agent(&board, maria_id).unwrap()["online"]["desk"], false);

    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(callbase_tests::sip::register_on(&sock, platform, &login, &password, 300).await, 200);
    let online = |e: &Value| e["user_id"] == maria_id && e["desk"] == true;
    let got = events_of(&mut admin_ws, "agent_presence", Duration::from_secs(15), online).await;
    assert!(got.iter().any(online), "the desk phone's registration reaches the board: {got:?}");
    assert_eq!(
        agent(&admin.get("/api/telephony/board").await.body, maria_id).unwrap()["online"]["desk"],
        true
    );

    assert_eq!(callbase_tests::sip::register_on(&sock, platform, &login, &password, 0).await, 200);
    let offline = |e: &Value| e["user_id"] == maria_id && e["desk"] == false;
    let got = events_of(&mut admin_ws, "agent_presence", Duration::from_secs(15), offline).await;
    assert!(got.iter().any(offline), "the phone going away reaches the board: {got:?}");
    let heard = events_of(&mut boris_ws, "agent_presence", Duration::from_millis(500), |_| false).await;
    assert!(heard.is_empty(), "an agent does not hear of colleagues' phones: {heard:?}");

    // A browser phone (Asterisk reports no contact changes for those: the /sip relay tells): the
    // administrator's registers, then its socket closes.
    let s = admin.post("/api/phone/session", json!({})).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    let (user, password) =
        (s.body["authorization_user"].as_str().unwrap(), s.body["password"].as_str().unwrap());
    let mut phone = crate::sockets::open(&admin, "/sip").await;
    assert_eq!(callbase_tests::sip::register_ws(&mut phone, user, password, 120).await, 200);
    let online = |e: &Value| e["user_id"] == t.admin_id && e["browser"] == true;
    let got = events_of(&mut admin_ws, "agent_presence", Duration::from_secs(5), online).await;
    assert!(got.iter().any(online), "the browser phone's registration reaches the board: {got:?}");
    drop(phone);
    let offline = |e: &Value| e["user_id"] == t.admin_id && e["browser"] == false;
    let got = events_of(&mut admin_ws, "agent_presence", Duration::from_secs(5), offline).await;
    assert!(got.iter().any(offline), "the browser phone's socket closing reaches the board: {got:?}");
}
