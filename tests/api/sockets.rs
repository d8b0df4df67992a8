//! The `/events` and `/sip` WebSockets end with their session or the user's access (issue 14,
//! item 7), and a user or a tenant holds only so many of them (item 8). docs/api.md lists the
//! close codes: 4401 session ended, 4409 access changed, 4429 too many sockets, 4001 phone closed.

use std::time::Duration;

use callbase_tests::{env, Browser, Tenant, TestApp};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::users::{create_user, group_id};

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/events` or `/sip` as the browser's session (same Origin; `sip` subprotocol for `/sip`).
pub(crate) async fn open(b: &Browser, path: &str) -> Ws {
    connect(b, path).await.unwrap_or_else(|e| panic!("{path} opens: {e}"))
}

/// Opens `path` as the signed-in browser `b`; the returned future owns what it needs (it may be
/// spawned while the test goes on).
pub(crate) fn connect(
    b: &Browser,
    path: &str,
) -> impl std::future::Future<Output = Result<Ws, tokio_tungstenite::tungstenite::Error>> + Send + 'static {
    let url = format!("{}{path}", b.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    let cookie = format!("cb_session={}", b.cookie("cb_session").expect("signed in"));
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert("origin", b.base.parse().unwrap());
    if path == "/sip" {
        req.headers_mut().insert("sec-websocket-protocol", "sip".parse().unwrap());
    }
    async move { tokio_tungstenite::connect_async(req).await.map(|(ws, _)| ws) }
}

/// The close code the server sends within `within` (skipping other messages), or `None` if the
/// socket stays open that long. A socket that ends without a close frame panics.
pub(crate) async fn closed_with(ws: &mut Ws, within: Duration) -> Option<(u16, String)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(Some(f))))) => return Some((u16::from(f.code), f.reason.to_string())),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("the socket ended without a close code: {other:?}"),
        }
    }
}

/// The next `trunk_status` event within `within`, if any (the socket closing ends the wait).
pub(crate) async fn trunk_event(ws: &mut Ws, within: Duration) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if v["type"] == "trunk_status" {
                    return Some(v);
                }
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Publishes a trunk status change on the tenant's events channel, as the registration monitor does.
async fn publish_trunk_status(tenant: i64) {
    let client = redis::Client::open(env("CALLBASE__REDIS__URL")).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let ev = json!({"type": "trunk_status", "tenant_id": tenant, "trunk": 1, "registration": format!("t{tenant}-trk1"),
                    "state": "unregistered", "reason": "test", "since": 0});
    let _: i64 = redis::cmd("PUBLISH")
        .arg(format!("cb:events:tenant:{tenant}"))
        .arg(ev.to_string())
        .query_async(&mut c)
        .await
        .unwrap();
}

const SOON: Duration = Duration::from_secs(5);
const A_WHILE: Duration = Duration::from_millis(1500);

async fn signed_in(app: &TestApp, t: &Tenant, login: &str) -> Browser {
    let b = app.browser();
    let r = b.login(&t.account, login, "Agent-pass-12345").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    b
}

/// An agent who is a browser telephony user, signed in.
pub(crate) async fn phone_agent(app: &TestApp, admin: &Browser, t: &Tenant, login: &str) -> (Browser, i64) {
    let agent_group = group_id(admin, "Agent").await;
    let id = create_user(admin, login, &[agent_group]).await["id"].as_i64().unwrap();
    let r = admin.post("/api/telephony/users", json!({"user_id": id, "browser_calls": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (signed_in(app, t, login).await, id)
}

#[tokio::test]
async fn logging_out_closes_the_events_and_phone_sockets_of_that_session_only() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (agent, _) = phone_agent(&app, &admin, &t, "petr").await;
    let elsewhere = signed_in(&app, &t, "petr").await;
    let mut events = open(&agent, "/events").await;
    let mut phone = open(&agent, "/sip").await;
    let mut other_events = open(&elsewhere, "/events").await;

    assert_eq!(agent.post("/api/auth/logout", json!({})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        closed_with(&mut events, SOON).await.map(|c| c.0),
        Some(4401),
        "/events closes: session ended"
    );
    assert_eq!(closed_with(&mut phone, SOON).await.map(|c| c.0), Some(4001), "/sip closes");
    assert_eq!(
        closed_with(&mut other_events, A_WHILE).await,
        None,
        "the user's other session keeps its socket"
    );
}

#[tokio::test]
async fn disabling_a_sub_administrator_closes_their_events_socket_and_trunk_events_stop_reaching_them() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let sub_group = group_id(&admin, "Sub-administrator").await;
    let sub_id = create_user(&admin, "sofia", &[sub_group]).await["id"].as_i64().unwrap();
    let sub = signed_in(&app, &t, "sofia").await;
    let mut events = open(&sub, "/events").await;
    publish_trunk_status(t.id).await;
    assert!(trunk_event(&mut events, SOON).await.is_some(), "a sub-administrator receives trunk status");

    let r = admin.patch(&format!("/api/users/{sub_id}"), json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(closed_with(&mut events, SOON).await.map(|c| c.0), Some(4401), "disabled: the socket closes");
    publish_trunk_status(t.id).await;
    assert!(trunk_event(&mut events, A_WHILE).await.is_none(), "no trunk events after disabling");
}

#[tokio::test]
async fn resetting_a_users_password_closes_their_phone_and_events_sockets() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (agent, id) = phone_agent(&app, &admin, &t, "petr").await;
    let mut events = open(&agent, "/events").await;
    let mut phone = open(&agent, "/sip").await;
    let mut admin_events = open(&admin, "/events").await;

    let r = admin.patch(&format!("/api/users/{id}"), json!({"password": "Another-pass-98765"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(closed_with(&mut events, SOON).await.map(|c| c.0), Some(4401));
    assert_eq!(closed_with(&mut phone, SOON).await.map(|c| c.0), Some(4001));
    assert_eq!(closed_with(&mut admin_events, A_WHILE).await, None, "other users' sockets stay");
}

#[tokio::test]
async fn a_role_change_closes_the_users_events_socket_and_the_next_one_has_the_new_role() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other_admin, other) = app.telephony_tenant().await;
    let sub_group = group_id(&admin, "Sub-administrator").await;
    let agent_group = group_id(&admin, "Agent").await;
    let id = create_user(&admin, "sofia", &[sub_group]).await["id"].as_i64().unwrap();
    let sub = signed_in(&app, &t, "sofia").await;
    let mut events = open(&sub, "/events").await;
    let mut bystander = open(&other_admin, "/events").await;

    // Membership: sub-administrator → agent.
    assert_eq!(
        admin.patch(&format!("/api/users/{id}"), json!({"group_ids": [agent_group]})).await.status,
        StatusCode::OK
    );
    assert_eq!(closed_with(&mut events, SOON).await.map(|c| c.0), Some(4409), "access changed");
    let mut events = open(&sub, "/events").await;
    publish_trunk_status(t.id).await;
    assert!(trunk_event(&mut events, A_WHILE).await.is_none(), "an agent gets no trunk events");

    // A group's role: the custom group "Leads" becomes sub-administrator.
    let r = admin.post("/api/groups", json!({"name": "Leads", "role": "user"})).await;
    let leads = r.body["id"].as_i64().unwrap();
    assert_eq!(
        admin.patch(&format!("/api/users/{id}"), json!({"group_ids": [leads]})).await.status,
        StatusCode::OK
    );
    assert_eq!(closed_with(&mut events, SOON).await.map(|c| c.0), Some(4409));
    let mut events = open(&sub, "/events").await;
    assert_eq!(
        admin.patch(&format!("/api/groups/{leads}"), json!({"role": "sub_administrator"})).await.status,
        StatusCode::OK
    );
    assert_eq!(closed_with(&mut events, SOON).await.map(|c| c.0), Some(4409), "the group's role changed");
    let mut events = open(&sub, "/events").await;
    publish_trunk_status(t.id).await;
    assert!(trunk_event(&mut events, SOON).await.is_some(), "now a sub-administrator again");
    assert_eq!(
        closed_with(&mut bystander, Duration::from_millis(200)).await,
        None,
        "another tenant's socket stays"
    );
    let _ = other;
}

/// Opens sockets until the server refuses one with 4429; returns the open ones.
async fn open_until_refused(b: &Browser, path: &str, max: usize) -> (Vec<Ws>, (u16, String)) {
    let mut open_ones = Vec::new();
    for _ in 0..=max {
        let mut ws = open(b, path).await;
        // A refused socket is closed at once; an accepted one stays open.
        match closed_with(&mut ws, Duration::from_millis(300)).await {
            Some(c) => return (open_ones, c),
            None => open_ones.push(ws),
        }
    }
    panic!("{path}: {} sockets opened, none refused", open_ones.len());
}

/// After one socket closes, a new one opens within a few seconds (its slot is freed).
async fn reopens(b: &Browser, path: &str) -> Ws {
    for _ in 0..25 {
        let mut ws = open(b, path).await;
        if closed_with(&mut ws, Duration::from_millis(200)).await.is_none() {
            return ws;
        }
    }
    panic!("{path}: no slot freed after closing a socket");
}

#[tokio::test]
async fn a_user_holds_at_most_eight_events_sockets_and_closing_one_frees_a_slot() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    let (mut sockets, (code, reason)) = open_until_refused(&admin, "/events", 30).await;
    assert_eq!(sockets.len(), 8, "the default per-user cap");
    assert_eq!(code, 4429);
    assert!(reason.contains("too many"), "{reason}");
    let mut one = sockets.pop().unwrap();
    one.close(None).await.unwrap();
    let _again = reopens(&admin, "/events").await;
}

#[tokio::test]
async fn a_user_holds_at_most_three_phone_sockets_and_closing_one_frees_a_slot() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let (mut sockets, (code, _)) = open_until_refused(&admin, "/sip", 10).await;
    assert_eq!((sockets.len(), code), (3, 4429), "the default per-user cap");
    let mut one = sockets.pop().unwrap();
    one.close(None).await.unwrap();
    let _again = reopens(&admin, "/sip").await;
}

#[tokio::test]
async fn a_tenants_cap_counts_all_its_users_and_leaves_other_tenants_alone() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__SOCKETS__EVENTS_PER_TENANT", "3"),
        ("CALLBASE__SOCKETS__EVENTS_PER_USER", "2"),
    ])
    .await;
    let (admin, t) = app.new_tenant().await;
    let (other_admin, _) = app.new_tenant().await;
    let agent_group = group_id(&admin, "Agent").await;
    create_user(&admin, "petr", &[agent_group]).await;
    let agent = signed_in(&app, &t, "petr").await;

    let (admin_sockets, (code, _)) = open_until_refused(&admin, "/events", 5).await;
    assert_eq!((admin_sockets.len(), code), (2, 4429), "the per-user cap");
    let (mut agent_sockets, (code, reason)) = open_until_refused(&agent, "/events", 5).await;
    assert_eq!((agent_sockets.len(), code), (1, 4429), "the tenant's cap: 3 in all");
    assert!(reason.contains("organisation"), "{reason}");
    let (theirs, _) = open_until_refused(&other_admin, "/events", 5).await;
    assert_eq!(theirs.len(), 2, "another tenant has its own cap");
    agent_sockets.pop().unwrap().close(None).await.unwrap();
    let _again = reopens(&agent, "/events").await;
}

#[tokio::test]
async fn revocations_and_caps_reach_sockets_on_every_replica() {
    // Two servers on one PostgreSQL and Redis, as behind a load balancer.
    let one = TestApp::spawn().await;
    let two = TestApp::spawn().await;
    let (admin_on_two, t) = two.new_tenant().await;
    let sub_group = group_id(&admin_on_two, "Sub-administrator").await;
    let sub_id = create_user(&admin_on_two, "sofia", &[sub_group]).await["id"].as_i64().unwrap();
    let sub_on_one = signed_in(&one, &t, "sofia").await;
    let sub_on_two = signed_in(&two, &t, "sofia").await;

    // The per-user cap counts sockets on both servers.
    let mut on_one = Vec::new();
    for _ in 0..5 {
        on_one.push(open(&sub_on_one, "/events").await);
    }
    let (on_two, (code, _)) = open_until_refused(&sub_on_two, "/events", 8).await;
    assert_eq!((on_two.len(), code), (3, 4429), "5 on one server + 3 on the other = the cap of 8");

    let r = admin_on_two.patch(&format!("/api/users/{sub_id}"), json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for ws in &mut on_one {
        assert_eq!(
            closed_with(ws, SOON).await.map(|c| c.0),
            Some(4401),
            "the other server's sockets close too"
        );
    }
}

#[tokio::test]
async fn a_socket_whose_session_vanished_closes_on_its_next_check_even_without_a_message() {
    let app = TestApp::spawn_with(&[("CALLBASE__SOCKETS__REVALIDATE_SECS", "1")]).await;
    let (admin, _) = app.new_tenant().await;
    let mut events = open(&admin, "/events").await;
    assert_eq!(closed_with(&mut events, A_WHILE).await, None);
    // As if the logout's message were lost: only the session key goes.
    use sha2::Digest;
    let key = format!(
        "cb:sess:{}",
        hex::encode(sha2::Sha256::digest(admin.cookie("cb_session").unwrap().as_bytes()))
    );
    let client = redis::Client::open(env("CALLBASE__REDIS__URL")).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let deleted: i64 = redis::cmd("DEL").arg(&key).query_async(&mut c).await.unwrap();
    assert_eq!(deleted, 1, "the session key is where the server keeps it");
    assert_eq!(closed_with(&mut events, SOON).await.map(|c| c.0), Some(4401));
}

/// One replica subscribes to Redis once for all its `/events` sockets (issue 16, item 4): sockets
/// add no Redis subscription of their own, and each still gets its tenant's events.
#[tokio::test]
async fn a_replica_fans_events_out_to_its_sockets_over_one_redis_subscription() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let mut socks = Vec::new();
    for _ in 0..3 {
        socks.push(open(&admin, "/events").await);
    }
    let client = redis::Client::open(env("CALLBASE__REDIS__URL")).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let (_, per_socket): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(format!("cb:events:tenant:{}", t.id))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(per_socket, 0, "no socket subscribes to its tenant's channel itself");
    // The replica's one pattern subscription may still be starting: publish until all have one.
    let mut got = [false; 3];
    let deadline = tokio::time::Instant::now() + SOON;
    while got.iter().any(|g| !g) {
        assert!(tokio::time::Instant::now() < deadline, "events reached sockets {got:?} only");
        publish_trunk_status(t.id).await;
        for (ws, g) in socks.iter_mut().zip(got.iter_mut()) {
            if !*g {
                *g = trunk_event(ws, Duration::from_millis(200)).await.is_some();
            }
        }
    }
}
