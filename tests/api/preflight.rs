//! Preflight (issue #22, item 5). The results: an agent stores their test call's figures (bad input
//! answers 422 `invalid_preflight` naming the field and saves nothing; a new test replaces the last),
//! administrators read the last result per agent, agents cannot, and another tenant sees none of it.
//! The echo, against the real Asterisk: a desk phone of a tenant without any trunk dials `*43`,
//! gets 200 OK and its own RTP back, leaves no call record, and Asterisk ends a test left running
//! after about 30 s.

use std::time::Duration;

use callbase_tests::calls::desk_phone;
use callbase_tests::echo::echo_call;
use callbase_tests::{Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn good() -> Value {
    json!({"rtt_ms": 12.5, "loss_pct": 0, "jitter_ms": 1.5, "mos": 4.4, "verdict": "good",
           "audio_back": true, "browser": "Chrome 131"})
}

async fn results(b: &Browser) -> Vec<Value> {
    let r = b.get("/api/telephony/preflight").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body.as_array().unwrap().clone()
}

#[tokio::test]
async fn agents_store_their_last_preflight_and_administrators_read_it_per_tenant() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other, t2) = app.telephony_tenant().await;

    // Bad input: 422 naming the field, nothing saved.
    let with = |k: &str, v: Value| {
        let mut b = good();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("rtt_ms", json!(-1)), "rtt_ms"),
        (with("loss_pct", json!(101)), "loss_pct"),
        (with("jitter_ms", json!(70000)), "jitter_ms"),
        (with("mos", json!(0.5)), "mos"),
        (with("verdict", json!("excellent")), "verdict"),
        (with("verdict", json!("no_audio")), "verdict"),
        (with("browser", json!("x".repeat(201))), "browser"),
    ] {
        let r = admin.post("/api/phone/preflight", body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_preflight", "{}", r.text);
        assert!(r.body["message"].as_str().unwrap().starts_with(field), "{field}: {}", r.text);
    }
    let r = admin.post("/api/phone/preflight", json!({"verdict": "good"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "audio_back is required: {}", r.text);
    assert!(results(&admin).await.is_empty(), "nothing saved");

    // Saved, then replaced by the next test.
    let r = admin.post("/api/phone/preflight", good()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let rows = results(&admin).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["user_id"], t.admin_id);
    assert!(rows[0]["name"].as_str().is_some_and(|n| !n.is_empty()), "{rows:?}");
    assert_eq!(rows[0]["verdict"], "good");
    assert_eq!(rows[0]["audio_back"], true);
    assert_eq!(rows[0]["rtt_ms"], 12.5);
    assert_eq!(rows[0]["browser"], "Chrome 131");
    let first_at = rows[0]["tested_at"].as_str().unwrap().to_string();
    let r = admin
        .post(
            "/api/phone/preflight",
            json!({"rtt_ms": null, "loss_pct": 0, "jitter_ms": 0, "mos": null, "verdict": "no_audio", "audio_back": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let rows = results(&admin).await;
    assert_eq!(rows.len(), 1, "the last result only: {rows:?}");
    assert_eq!(rows[0]["verdict"], "no_audio");
    assert_eq!(rows[0]["audio_back"], false);
    assert!(rows[0]["rtt_ms"].is_null() && rows[0]["browser"].is_null(), "{rows:?}");
    assert!(rows[0]["tested_at"].as_str().unwrap() >= first_at.as_str(), "{rows:?}");

    // Another tenant: sees only its own.
    assert!(results(&other).await.is_empty(), "another tenant's results stay hidden");
    assert_eq!(other.post("/api/phone/preflight", good()).await.status, StatusCode::NO_CONTENT);
    let theirs = results(&other).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["user_id"], t2.admin_id);
    assert_eq!(results(&admin).await.len(), 1, "still only this tenant's");

    // A user who is not an administrator reads nothing; one who is not a telephony user stores nothing.
    crate::users::create_user(&admin, "maria", &[]).await;
    let maria = app.browser();
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(maria.get("/api/telephony/preflight").await.status, StatusCode::FORBIDDEN);
    let r = maria.post("/api/phone/preflight", good()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["code"], "not_telephony_user", "{}", r.text);
    assert_eq!(app.browser().get("/api/telephony/preflight").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_agent_dials_the_echo_and_hears_themself_with_no_trunk_and_no_record() {
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__STASIS", "true")]).await;
    // A tenant without any trunk: whatever answers is the platform itself.
    let (admin, t) = app.telephony_tenant().await;
    assert_eq!(admin.get("/api/trunks").await.body.as_array().map(Vec::len), Some(0));
    let (login, password) = desk_phone(&admin, t.admin_id).await;
    let platform = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();

    let call = echo_call(platform, &login, &password, "*43", Duration::from_secs(2), false).await;
    println!("echo call: {call:?}");
    assert_eq!(call.status, 200, "the echo answers: {call:?}");
    assert!(call.rtp_back * 2 >= call.rtp_sent, "most of our RTP comes back: {call:?}");
    assert!(call.rtp_ours * 2 >= call.rtp_back, "and it is what we sent: {call:?}");

    // No call record, so no call card, history or cost.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = admin.get("/api/calls").await;
    assert_eq!(calls.status, StatusCode::OK, "{}", calls.text);
    assert_eq!(calls.body["total"], 0, "the echo test keeps no call record: {}", calls.text);

    // A test left running is ended by Asterisk after about 30 s.
    let long = echo_call(platform, &login, &password, "*43", Duration::from_millis(200), true).await;
    assert_eq!(long.status, 200, "{long:?}");
    let after = long.bye_after.expect("Asterisk ends the echo test");
    assert!((Duration::from_secs(25)..Duration::from_secs(36)).contains(&after), "ended after {after:?}");
}
