//! A call's media as Asterisk counts it, for its agent's one-way-audio diagnosis (issue #22), and
//! the phone's summary kept with the call record — against the real Asterisk and carrier: the
//! carrier calls in with a 440 Hz tone, the agent's desk phone answers; the agent reads both legs'
//! RTP counters twice and sees the carrier's packets arrive and Asterisk send them on; a colleague
//! and another tenant get 404; once the call ended, 404. The summary: bad input refused with
//! nothing saved, saved for the call's agent only, read by the administrator, not by another tenant.

use std::time::Duration;

use callbase_tests::calls::agent_with_trunk;
use callbase_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn media(b: &callbase_tests::Browser, id: &str) -> Value {
    let r = b.get(&format!("/api/calls/{id}/media")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn count(v: &Value, leg: &str, what: &str) -> u64 {
    v[leg][what].as_u64().unwrap_or_else(|| panic!("{leg}.{what} in {v}"))
}

#[tokio::test]
async fn an_agent_reads_both_legs_rtp_counters_and_the_phone_summary_stays_with_the_call() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let maria = app.browser();
    crate::users::create_user(&admin, "maria", &[]).await;
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);
    let (other_admin, _) = app.telephony_tenant().await;
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone =
        callbase_tests::sip::RingingPhone::answering(platform, &login, &password, Duration::from_secs(8))
            .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    crate::agent_states::carrier_call().await;
    let id = crate::adoption::answered_call(t.id, Duration::from_secs(15)).await.to_string();

    // Two readings a second apart: the carrier's tone arrives on the trunk leg and Asterisk sends
    // it on to the desk phone (which itself sends no RTP).
    let first = media(&admin, &id).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = media(&admin, &id).await;
    println!("media: {first} → {second}");
    assert_eq!(second["external"], true, "{second}");
    let grew = |leg: &str, what: &str| count(&second, leg, what) - count(&first, leg, what);
    assert!(grew("other", "rx_packets") >= 40, "the carrier's packets reach Asterisk: {first} → {second}");
    assert!(grew("agent", "tx_packets") >= 40, "Asterisk sends them to the phone: {first} → {second}");
    assert_eq!(grew("agent", "rx_packets"), 0, "the desk phone sends nothing: {first} → {second}");
    assert!(second["other"]["rx_jitter_ms"].as_f64().unwrap() < 1000.0, "milliseconds: {second}");

    // Only the call's agent: a colleague and another tenant see nothing.
    for (who, b) in [("a colleague", &maria), ("another tenant", &other_admin)] {
        let r = b.get(&format!("/api/calls/{id}/media")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}: {}", r.text);
    }
    drop(phone);
    crate::agent_states::hang_up_carrier().await;
    let start = tokio::time::Instant::now();
    loop {
        let r = admin.get(&format!("/api/calls/{id}/media")).await;
        if r.status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "an ended call has no media: {}", r.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The phone's summary: bad input answers 422 naming what is wrong, and saves nothing.
    let path = format!("/api/calls/{id}/quality");
    for (body, names) in [
        (json!({"mos_min": 0.5}), "mos"),
        (json!({"loss_pct": 120}), "loss_pct"),
        (json!({"rtt_ms": -1}), "rtt_ms"),
        (json!({"problems": ["gremlins"]}), "gremlins"),
        (json!({"browser": "x".repeat(201)}), "browser"),
    ] {
        let r = admin.put(&path, body.clone()).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_quality")),
            "{body}: {}",
            r.text
        );
        assert!(r.body["message"].as_str().unwrap().contains(names), "{}", r.text);
    }
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND, "nothing saved");
    let summary = json!({"mos_min": 3.9, "mos_avg": 4.3, "loss_pct": 0.4, "jitter_ms": 3.5, "rtt_ms": 12,
        "problems": ["other_silent", "mic_silent", "other_silent"], "browser": "Chrome 131"});
    for (who, b) in [("a colleague", &maria), ("another tenant", &other_admin)] {
        let r = b.put(&path, summary.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who} cannot write it: {}", r.text);
    }
    let r = admin.put(&path, summary).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = admin.get(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["problems"], json!(["mic_silent", "other_silent"]), "{}", r.text);
    assert!((r.body["mos_min"].as_f64().unwrap() - 3.9).abs() < 1e-3, "{}", r.text);
    assert_eq!(r.body["browser"], "Chrome 131", "{}", r.text);
    assert!(r.body["reported_at"].is_string(), "{}", r.text);
    let r = other_admin.get(&path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant: {}", r.text);
}
