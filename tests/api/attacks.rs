//! The attack review's SIP findings (docs/security.md), tried against the real platform Asterisk
//! as an attacker would: from the SIP port without credentials, through an agent's `/sip` socket,
//! and straight at Asterisk's WebSocket transport.

use std::net::SocketAddr;
use std::time::Duration;

use callbase_tests::calls::{trunk_body, wait_for_trunk};
use callbase_tests::{env, Browser, TestApp};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn platform_sip() -> SocketAddr {
    env("CALLBASE_PLATFORM_SIP").parse().expect("CALLBASE_PLATFORM_SIP is host:port")
}

fn token() -> String {
    format!("{:x}", rand::random::<u64>())
}

/// Sends one request over UDP and returns the first final status (or 0 without one within 5 s).
async fn udp_request(msg_for: impl Fn(SocketAddr) -> String) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let msg = msg_for(sock.local_addr().unwrap());
    sock.send_to(msg.as_bytes(), platform_sip()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 65535];
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]);
        if let Some(code) =
            text.strip_prefix("SIP/2.0 ").and_then(|r| r.get(..3)).and_then(|c| c.parse::<u16>().ok())
        {
            if code >= 200 {
                return code;
            }
            if code == 180 || code == 183 {
                return code; // ringing: the forged call got through
            }
        }
    }
    0
}

fn invite_from(user: &str, local: SocketAddr) -> String {
    format!(
        "INVITE sip:4951234567@callbase SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{b};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:{user}@callbase>;tag={t}\r\nTo: <sip:4951234567@callbase>\r\nCall-ID: {c}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:{user}@{local}>\r\nContent-Length: 0\r\n\r\n",
        b = token(),
        t = token(),
        c = token()
    )
}

async fn trunk_contacts(id: &str) -> Vec<(String, String)> {
    let ami = callbase_tests::platform_ami().await;
    let r = ami.action_collect("PJSIPShowEndpoint", &[("Endpoint", id)]).await.expect("PJSIPShowEndpoint");
    r.events
        .iter()
        .filter(|e| e.event() == Some("ContactStatusDetail"))
        .map(|e| {
            (e.get("URI").unwrap_or_default().to_string(), e.get("Status").unwrap_or_default().to_string())
        })
        .collect()
}

#[tokio::test]
async fn sip_nobody_can_register_as_a_trunk_or_call_in_as_one() {
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__STASIS", "true")]).await;
    let (admin, t) = app.telephony_tenant().await;
    let r = admin.post("/api/trunks", trunk_body("attacked-trunk", "carrier-secret")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let trunk = format!("t{}-trk1", t.id);

    // REGISTER as the trunk, without credentials (the client answers a challenge with a guess).
    let code = callbase_tests::sip::register(platform_sip(), &trunk, "guess", 120).await;
    assert_ne!(code, 200, "an unauthenticated REGISTER as trunk {trunk} was accepted");
    let contacts = trunk_contacts(&trunk).await;
    let carrier = format!("sip:{}", env("CALLBASE_CARRIER_SIP"));
    assert!(
        contacts.iter().all(|(uri, _)| *uri == carrier),
        "only the carrier's static contact: {contacts:?}"
    );

    // INVITE from the trunk's name: must not reach the tenant as an inbound call.
    let code = udp_request(|local| invite_from(&trunk, local)).await;
    assert!(matches!(code, 401 | 403 | 407), "a forged inbound call from {trunk} got {code}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let calls = admin.get("/api/calls").await;
    assert_eq!(calls.status, StatusCode::OK, "{}", calls.text);
    assert_eq!(
        calls.body["items"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "a call record was made: {}",
        calls.text
    );
}

#[tokio::test]
async fn sip_every_kind_of_endpoint_refuses_unauthenticated_register_and_invite() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let r = admin.post("/api/trunks", trunk_body("some-trunk", "carrier-secret")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The admin's browser endpoint, and a desk endpoint once calls in browser are off.
    let web = format!("t{}-w{}", t.id, t.admin_id);
    let mut names = vec![format!("t{}-trk1", t.id), web, "callbase-probe-test".to_string()];
    assert_eq!(
        admin
            .patch(&format!("/api/telephony/users/{}", t.admin_id), json!({"browser_calls": false}))
            .await
            .status,
        StatusCode::OK
    );
    let pw = admin.post(&format!("/api/telephony/users/{}/password", t.admin_id), json!({})).await;
    names.push(pw.body["sip_login"].as_str().expect("desk login").to_string());
    for name in names {
        let code = callbase_tests::sip::register(platform_sip(), &name, "wrong-password", 60).await;
        assert!(matches!(code, 401 | 403), "REGISTER as {name} without its password got {code}");
        let code = udp_request(|local| invite_from(&name, local)).await;
        assert!(matches!(code, 401 | 403 | 407), "INVITE as {name} without credentials got {code}");
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn phone_socket(b: &Browser) -> Ws {
    let url = format!("{}/sip", b.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("cookie", format!("cb_session={}", b.cookie("cb_session").unwrap()).parse().unwrap());
    req.headers_mut().insert("origin", b.base.parse().unwrap());
    req.headers_mut().insert("sec-websocket-protocol", "sip".parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("phone socket opens").0
}

/// Asterisk's own WebSocket transport, bypassing the relay (only the server can reach it: it is on
/// loopback).
async fn asterisk_ws() -> Ws {
    let url =
        format!("{}/ws", env("CALLBASE__ASTERISK__ARI_URL").trim_end_matches('/').replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "sip".parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("Asterisk ws transport").0
}

/// What comes back for a frame: `Err(close code)` if the socket was closed, else the SIP status.
async fn outcome(ws: &mut Ws) -> Result<u16, u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => return Err(f.map(|f| u16::from(f.code)).unwrap_or(1005)),
            Ok(Some(Ok(Message::Text(t)))) => {
                if let Some(code) =
                    t.strip_prefix("SIP/2.0 ").and_then(|r| r.get(..3)).and_then(|c| c.parse::<u16>().ok())
                {
                    if code >= 200 {
                        return Ok(code);
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(None) | Ok(Some(Err(_))) => return Err(1006),
            Err(_) => return Ok(0),
        }
    }
}

fn ws_register(from: &str, to: &str, to_tag: bool) -> String {
    format!(
        "REGISTER sip:callbase SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK{b}\r\nMax-Forwards: 70\r\n\
         From: {from};tag={t}\r\nTo: <sip:{to}@callbase>{tt}\r\nCall-ID: {c}\r\nCSeq: 1 REGISTER\r\n\
         Contact: <sip:{to}@x.invalid;transport=ws>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n",
        b = token(),
        t = token(),
        c = token(),
        tt = if to_tag { format!(";tag={}", token()) } else { String::new() },
    )
}

#[tokio::test]
async fn sip_the_phone_relay_refuses_every_bypass_of_its_identity_check() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (victim_admin, victim) = app.telephony_tenant().await;
    let r = victim_admin.post("/api/trunks", trunk_body("victim-trunk", "carrier-secret")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let trunk = format!("t{}-trk1", victim.id);
    let own = format!("t{}-w{}", t.id, t.admin_id);

    // Own identity: relayed, Asterisk challenges it.
    let mut ws = phone_socket(&admin).await;
    ws.send(Message::text(ws_register(&format!("<sip:{own}@callbase>"), &own, false))).await.unwrap();
    let own_answer = outcome(&mut ws).await;
    assert!(
        matches!(own_answer, Ok(c) if c >= 400),
        "the agent's own REGISTER reaches Asterisk (answered without credentials): {own_answer:?}"
    );

    for (what, frame) in [
        ("a To tag", Message::text(ws_register(&format!("<sip:{trunk}@callbase>"), &trunk, true))),
        (
            "a display name holding the own URI",
            Message::text(ws_register(
                &format!("\"sip:{own}@callbase\" <sip:{trunk}@callbase>"),
                &trunk,
                false,
            )),
        ),
        (
            "an unquoted display name",
            Message::text(ws_register(&format!("sip:{own}@callbase <sip:{trunk}@callbase>"), &trunk, false)),
        ),
        (
            "a compact duplicate From",
            Message::text(ws_register(
                &format!("<sip:{own}@callbase>;tag=1\r\nf: <sip:{trunk}@callbase>"),
                &trunk,
                false,
            )),
        ),
        (
            "a binary frame",
            Message::binary(ws_register(&format!("<sip:{trunk}@callbase>"), &trunk, false).into_bytes()),
        ),
    ] {
        let mut ws = phone_socket(&admin).await;
        ws.send(frame).await.unwrap();
        assert_eq!(
            outcome(&mut ws).await,
            Err(4003),
            "{what}: the relay must close the socket, not pass it to Asterisk"
        );
    }
}

fn ws_invite(from_user: &str, call_id: &str) -> String {
    format!(
        "INVITE sip:101@callbase SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK{b}\r\nMax-Forwards: 70\r\n\
         From: <sip:{from_user}@callbase>;tag={t}\r\nTo: <sip:101@callbase>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:c{t}@x.invalid;transport=ws>\r\nContent-Length: 0\r\n\r\n",
        b = token(),
        t = token(),
    )
}

/// A BYE in the dialog `call_id`, `From` a contact URI (as in a call the browser answered), not
/// the endpoint: it passes the relay only in the user's own dialogs.
fn ws_bye(call_id: &str) -> String {
    format!(
        "BYE sip:101@callbase SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK{b}\r\nMax-Forwards: 70\r\n\
         From: <sip:c{t}@x.invalid;transport=ws>;tag={t}\r\nTo: <sip:101@callbase>;tag={t}z\r\n\
         Call-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        b = token(),
        t = token(),
    )
}

#[tokio::test]
async fn sip_a_reconnected_phone_continues_its_own_dialogs_and_nobody_elses_socket_can() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other_admin, _) = app.telephony_tenant().await;
    let (colleague, _) = crate::sockets::phone_agent(&app, &admin, &t, "colleague").await;
    let own = format!("t{}-w{}", t.id, t.admin_id);
    let call_id = format!("dlg-{}", token());

    // The phone's first socket starts a dialog (Asterisk answers it), then the socket is gone.
    let mut first = phone_socket(&admin).await;
    first.send(Message::text(ws_invite(&own, &call_id))).await.unwrap();
    let answer = outcome(&mut first).await;
    assert!(matches!(answer, Ok(c) if c >= 400), "the INVITE reaches Asterisk: {answer:?}");
    drop(first);

    // Another user of the tenant, and another tenant's user, cannot act in that dialog...
    for (who, b) in [("a colleague", &colleague), ("another tenant's user", &other_admin)] {
        let mut ws = phone_socket(b).await;
        ws.send(Message::text(ws_bye(&call_id))).await.unwrap();
        assert_eq!(outcome(&mut ws).await, Err(4003), "{who}: the relay must refuse another user's dialog");
    }
    // ...while the same user's new socket (the phone reconnected) goes on in it: Asterisk answers.
    let mut again = phone_socket(&admin).await;
    again.send(Message::text(ws_bye(&call_id))).await.unwrap();
    let answer = outcome(&mut again).await;
    assert!(matches!(answer, Ok(c) if c >= 400), "the reconnected phone's BYE reaches Asterisk: {answer:?}");
    // A dialog the user never had still does not pass.
    let mut stranger = phone_socket(&admin).await;
    stranger.send(Message::text(ws_bye(&format!("dlg-{}", token())))).await.unwrap();
    assert_eq!(outcome(&mut stranger).await, Err(4003), "an unknown dialog is refused");
}

#[tokio::test]
async fn sip_asterisk_itself_refuses_another_identity_over_its_websocket() {
    let app = TestApp::spawn().await;
    let (victim_admin, victim) = app.telephony_tenant().await;
    let r = victim_admin.post("/api/trunks", trunk_body("victim-trunk", "carrier-secret")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let trunk = format!("t{}-trk1", victim.id);
    for to_tag in [false, true] {
        let mut ws = asterisk_ws().await;
        ws.send(Message::text(ws_register(&format!("<sip:{trunk}@callbase>"), &trunk, to_tag)))
            .await
            .unwrap();
        let got = outcome(&mut ws).await;
        assert!(
            matches!(got, Ok(401 | 403 | 481)),
            "REGISTER as {trunk} over Asterisk's ws (to tag: {to_tag}) got {got:?}"
        );
    }
}

#[tokio::test]
async fn a_trunk_may_not_point_at_the_platforms_own_sip_port() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let platform = env("CALLBASE_PLATFORM_SIP");
    let port = platform.rsplit_once(':').unwrap().1.to_string();
    for host in [platform.clone(), format!("localhost:{port}"), format!("[::ffff:127.0.0.1]:{port}")] {
        let r = admin
            .post("/api/trunks", json!({"mode": "extended", "username": "t3-trk1", "password": "x", "domain": "callbase", "host": host}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{host}: {}", r.text);
        assert_eq!(r.body["code"], "trunk_host_refused", "{host}");
    }
    // The stack's carrier beside it (same address, its own port) is allowed here.
    let ok = admin.post("/api/trunks", trunk_body("fine", "x")).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let id = ok.body["id"].clone();
    let moved = admin
        .patch(
            &format!("/api/trunks/{id}"),
            json!({"mode": "simple", "username": "fine", "domain": platform}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY, "an update is checked too: {}", moved.text);
}

#[tokio::test]
async fn private_carriers_are_refused_unless_the_platform_allows_them() {
    let app = TestApp::spawn_with(&[("CALLBASE__ASTERISK__ALLOW_PRIVATE_CARRIERS", "false")]).await;
    let (admin, _) = app.telephony_tenant().await;
    for (host, why) in [
        (env("CALLBASE_CARRIER_SIP"), "loopback"),
        ("10.1.2.3:5060".to_string(), "private"),
        ("192.168.0.10".to_string(), "private"),
        ("169.254.169.254".to_string(), "link-local"),
        ("[fd00::1]:5060".to_string(), "private"),
    ] {
        let r = admin
            .post("/api/trunks", json!({"mode": "simple", "username": "u", "password": "x", "domain": host}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{host}: {}", r.text);
        assert_eq!(r.body["code"], "trunk_host_refused");
        assert!(r.body["message"].as_str().unwrap().contains(why), "{host}: {}", r.body["message"]);
    }
    assert!(admin.get("/api/trunks").await.body.as_array().unwrap().is_empty(), "nothing was saved");
}

#[tokio::test]
async fn a_trunk_whose_host_comes_to_point_at_the_platform_turns_red_and_out_of_use() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECONCILE_SECS", "2"),
    ])
    .await;
    let (admin, t) = app.telephony_tenant().await;
    let r = admin.post("/api/trunks", trunk_body("soon-refused", "x")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // What a DNS change would do: the registration now goes to the platform's own port.
    let id = format!("t{}-trk1", t.id);
    let pool = callbase_tests::worker_pool().await;
    sqlx::query("UPDATE ast.ps_registrations SET server_uri = $2 WHERE id = $1")
        .bind(&id)
        .bind(format!("sip:{}", env("CALLBASE_PLATFORM_SIP")))
        .execute(&pool)
        .await
        .unwrap();
    callbase_tests::calls::reload_registrations().await;
    let red = wait_for_trunk(&admin, &r.body["id"], "refused", Duration::from_secs(20)).await;
    assert!(red["status"]["reason"].as_str().unwrap().contains("platform's own SIP address"), "{red}");
    admin.delete(&format!("/api/trunks/{}", r.body["id"])).await;
}
