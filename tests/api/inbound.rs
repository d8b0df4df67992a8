//! Inbound attribution: two tenants registered to the same carrier with different credentials; a
//! call to each tenant's number reaches that tenant's Stasis handling and nowhere else.

use std::time::Duration;

use callbase_tests::{env, Browser, TestApp};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::trunks::wait_for_state;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn events_socket(b: &Browser) -> Ws {
    let url = format!("{}/events", b.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    let cookie = format!("cb_session={}", b.cookie("cb_session").expect("signed in"));
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert("origin", b.base.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("events socket opens");
    ws
}

/// The next `inbound_call` event within `within`, if any.
async fn next_inbound_call(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??.ok()?;
        if let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) {
            if v["type"] == "call" && v["direction"] == "inbound" {
                return Some(v);
            }
        }
    }
}

async fn carrier_calls(number: &str, credential: &str) {
    callbase_tests::calls::carrier_calls(number, credential, "9998", "79161234567").await
}

#[tokio::test]
async fn a_call_to_each_tenants_number_lands_in_that_tenants_stasis_and_nowhere_else() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let mut tenants = vec![];
    for (who, number) in [("A", "4951110001"), ("B", "4951110002")] {
        let (admin, t) = app.telephony_tenant().await;
        let r = admin
            .post(
                "/api/trunks",
                json!({"mode": "extended", "number": number, "username": env(&format!("CALLBASE_CARRIER_TENANT_{who}_USER")),
                       "password": env(&format!("CALLBASE_CARRIER_TENANT_{who}_PASSWORD")), "domain": env("CALLBASE_CARRIER_SIP")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        wait_for_state(&admin, &r.body["id"], "registered", Duration::from_secs(15)).await;
        tenants.push((admin, t, number, r.body["id"].clone()));
    }
    let mut ws_a = events_socket(&tenants[0].0).await;
    let mut ws_b = events_socket(&tenants[1].0).await;

    carrier_calls(tenants[0].2, &env("CALLBASE_CARRIER_TENANT_A_USER")).await;
    let ev = next_inbound_call(&mut ws_a, Duration::from_secs(10))
        .await
        .expect("tenant A's call reached tenant A");
    assert_eq!(ev["did"], tenants[0].2);
    assert_eq!(ev["trunk"], 1);
    assert_eq!(ev["number"], "+79161234567", "the caller, normalised to E.164");
    // Nobody's phone is online and no forward number is set: a missed call.
    assert_eq!(ev["state"], "missed", "{ev}");
    assert_eq!(ev["reason"], "nobody online");
    assert!(next_inbound_call(&mut ws_b, Duration::from_secs(2)).await.is_none(), "tenant B saw A's call");

    carrier_calls(tenants[1].2, &env("CALLBASE_CARRIER_TENANT_B_USER")).await;
    let ev = next_inbound_call(&mut ws_b, Duration::from_secs(10))
        .await
        .expect("tenant B's call reached tenant B");
    assert_eq!(ev["did"], tenants[1].2);
    assert!(next_inbound_call(&mut ws_a, Duration::from_secs(2)).await.is_none(), "tenant A saw B's call");

    // With a forward number, an unanswered call goes there through the trunk (the carrier answers
    // it with its echo) and is recorded as forwarded.
    let (admin_a, ta) = (&tenants[0].0, &tenants[0].1);
    let r = admin_a
        .put("/api/telephony/routing", json!({"ring_timeout_secs": 5, "forward_number": "1234567"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    carrier_calls(tenants[0].2, &env("CALLBASE_CARRIER_TENANT_A_USER")).await;
    let pool = callbase_tests::worker_pool().await;
    let mut row = None;
    for _ in 0..50 {
        row = sqlx::query_as::<_, (Option<String>, Option<String>, Option<i16>)>(
            "SELECT result, reason, trunk_slot FROM calls WHERE tenant_id = $1 AND result = 'forwarded' ORDER BY started_at DESC LIMIT 1",
        )
        .bind(ta.id)
        .fetch_optional(&pool)
        .await
        .unwrap();
        if row.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (result, reason, _) = row.expect("the unanswered call was forwarded");
    assert_eq!(result.as_deref(), Some("forwarded"));
    assert!(reason.unwrap_or_default().contains("forwarded to 1234567"));
    let missed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls WHERE tenant_id = $1 AND result = 'missed' AND direction = 'inbound'",
    )
    .bind(ta.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(missed, 1, "the first call is recorded as missed");

    for (admin, _, _, id) in &tenants {
        admin.delete(&format!("/api/trunks/{id}")).await;
    }
}

#[tokio::test]
async fn the_events_socket_refuses_foreign_origins_and_anonymous_users() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let url = format!("{}/events", admin.base.replacen("http", "ws", 1));
    let mut req = url.clone().into_client_request().unwrap();
    req.headers_mut()
        .insert("cookie", format!("cb_session={}", admin.cookie("cb_session").unwrap()).parse().unwrap());
    req.headers_mut().insert("origin", "http://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "foreign origin must be refused");
    let mut anon = url.into_client_request().unwrap();
    anon.headers_mut().insert("origin", admin.base.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(anon).await.is_err(), "no session must be refused");
}

/// Issue #19: a call nobody can take — nobody online, no forward number — is refused before any
/// answer with SIP 480, so the caller's network plays its own message and no connected call is
/// billed; the record says it was missed. So is a call an agent's phone rang out. Once an agent's
/// phone answers, the same call is answered.
#[tokio::test]
async fn a_call_nobody_can_take_is_refused_unanswered_with_480_and_answered_once_someone_can() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = callbase_tests::calls::agent_with_trunk(&app).await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");

    let (status, sip) = callbase_tests::calls::carrier_dial_report("4957770001", &user).await;
    assert_eq!(status, "NOANSWER", "never answered (no 200 OK); the carrier got {sip:?}");
    assert!(sip.starts_with("SIP 480"), "the carrier got {sip:?}");
    let c = crate::calls::wait_result(t.id).await;
    assert_eq!((c["direction"].as_str(), c["result"].as_str()), (Some("inbound"), Some("missed")), "{c}");
    assert_eq!(c["answered"], false, "{c}");
    assert!(c["reason"].as_str().unwrap_or_default().contains("nobody online"), "{c}");

    // An agent whose phone rings and is never answered: after the ring timeout, no forward number,
    // the call is refused unanswered too.
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let (_maria, _, m_login, m_password) =
        crate::agent_states::desk_agent(&app, &admin, &t.account, "maria").await;
    let maria_phone = callbase_tests::sip::RingingPhone::start(platform, &m_login, &m_password).await;
    let r =
        admin.put("/api/telephony/routing", json!({"ring_timeout_secs": 5, "forward_number": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = tokio::time::Instant::now();
    let (status, sip) = callbase_tests::calls::carrier_dial_report("4957770003", &user).await;
    assert_eq!(status, "NOANSWER", "rung out, never answered; the carrier got {sip:?}");
    assert!(sip.starts_with("SIP 480"), "the carrier got {sip:?}");
    assert!(started.elapsed() >= Duration::from_secs(5), "refused only after the ring timeout");
    assert_eq!(maria_phone.invites.lock().unwrap().len(), 1, "Maria's phone rang");
    let c = crate::calls::wait_ended(t.id, 2).await;
    assert_eq!((c["result"].as_str(), c["reason"].as_str()), (Some("missed"), Some("no answer")), "{c}");

    let phone =
        callbase_tests::sip::RingingPhone::answering(platform, &login, &password, Duration::from_secs(1))
            .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, sip) = callbase_tests::calls::carrier_dial_report("4957770002", &user).await;
    assert_eq!(status, "ANSWER", "answered by the agent; the carrier got {sip:?}");
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "the agent's phone rang");
}
