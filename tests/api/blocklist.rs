//! The blocklist (issue #19, item 6): administrators block caller numbers (stored in E.164 by the
//! dial rules); another tenant neither sees nor removes them; bad input is refused with the field
//! named. Against the real carrier and Asterisk: a call from a blocked number never rings the agent
//! and is counted; a call from any other number rings.

use std::time::Duration;

use callbase_tests::calls::agent_with_trunk;
use callbase_tests::sip::RingingPhone;
use callbase_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::users::create_user;

#[tokio::test]
async fn a_blocked_caller_never_rings_an_agent_and_is_counted_while_others_ring() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::start(platform, &login, &password).await;
    let (other_admin, _) = app.telephony_tenant().await;
    create_user(&admin, "maria", &[]).await;
    let maria = app.browser();
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);

    // Blocked as people write it, stored in E.164.
    let r =
        admin.post("/api/telephony/blocklist", json!({"number": "8 (916) 123-45-67", "note": "spam"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["number"].as_str(), r.body["blocked_calls"].as_i64()),
        (Some("+79161234567"), Some(0))
    );
    let id = r.body["id"].clone();
    // Bad input names the field; nothing is saved.
    for (body, code) in [
        (json!({"number": "+79161234567"}), "already_blocked"),
        (json!({"number": "call me"}), "invalid_number"),
        (json!({"number": "+79160000000", "note": "x".repeat(201)}), "invalid_note"),
    ] {
        let r = admin.post("/api/telephony/blocklist", body.clone()).await;
        assert_eq!(r.body["code"], code, "{body}: {}", r.text);
    }
    assert_eq!(admin.get("/api/telephony/blocklist").await.body.as_array().unwrap().len(), 1);
    // Administrators only; another tenant sees nothing and cannot unblock it.
    assert_eq!(maria.get("/api/telephony/blocklist").await.status, StatusCode::FORBIDDEN);
    assert_eq!(other_admin.get("/api/telephony/blocklist").await.body, json!([]));
    assert_eq!(
        other_admin.delete(&format!("/api/telephony/blocklist/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The blocked number calls: the agent's phone never rings; the entry counts the call; no
    // call record (it would be a missed call to call back).
    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    callbase_tests::calls::carrier_calls(&user, &user, "9998", "79161234567").await;
    let start = Instant::now();
    loop {
        let list = admin.get("/api/telephony/blocklist").await.body;
        if list[0]["blocked_calls"] == 1 {
            assert!(!list[0]["last_blocked_at"].is_null(), "{list}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "the blocked call is counted: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(phone.invites.lock().unwrap().len(), 0, "a blocked caller rings nobody");
    assert_eq!(admin.get("/api/calls").await.body["total"], 0, "no call record");

    // Another number rings the agent.
    callbase_tests::calls::carrier_calls(&user, &user, "9998", "79161234568").await;
    let start = Instant::now();
    while phone.invites.lock().unwrap().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(15), "an unblocked caller rings the agent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ami = callbase_tests::carrier_ami().await;
    let _ = ami.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await;

    // Unblocked: gone from the list.
    assert_eq!(admin.delete(&format!("/api/telephony/blocklist/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get("/api/telephony/blocklist").await.body, json!([]));
}

/// Issue #19: a number blocked with `message` hears "the number you have dialed is not in service"
/// (speech in the carrier's recording of what it heard) and is hung up; nobody rings and the call
/// is counted. An unknown action is refused naming the field.
#[tokio::test]
async fn a_caller_blocked_with_a_message_hears_it_and_rings_nobody() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, _t, login, password) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::start(platform, &login, &password).await;
    let r = admin.post("/api/telephony/blocklist", json!({"number": "+79161234567", "action": "sing"})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_block_action"))
    );
    assert_eq!(admin.get("/api/telephony/blocklist").await.body, json!([]), "nothing saved");
    let r =
        admin.post("/api/telephony/blocklist", json!({"number": "+79161234567", "action": "message"})).await;
    assert_eq!((r.status, r.body["action"].as_str()), (StatusCode::CREATED, Some("message")), "{}", r.text);

    // carrier_hears calls as +79161234567 and records what it hears until the call ends.
    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    let pcm = callbase_tests::calls::carrier_hears(&user, &user).await;
    let secs = pcm.len() as f64 / 8000.0;
    let loud = pcm
        .chunks(800)
        .filter(|w| w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / 800.0 > 1.0e4)
        .count();
    assert!(
        loud as f64 / 10.0 >= 2.5,
        "the message was heard: {:.1} s loud of {secs:.1} s",
        loud as f64 / 10.0
    );
    assert!(secs < 15.0, "then the call ended: {secs:.1} s");
    assert_eq!(phone.invites.lock().unwrap().len(), 0, "a blocked caller rings nobody");
    assert_eq!(admin.get("/api/telephony/blocklist").await.body[0]["blocked_calls"], 1, "counted");
    assert_eq!(admin.get("/api/calls").await.body["total"], 0, "no call record");
}
