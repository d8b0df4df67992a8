//! Voicemail (issue #19, item 4): a caller nobody takes leaves a message — even with call
//! recording off — stored in S3 like every recording; the call is missed "with a message", plays
//! in Calls, and is new until someone listens. Against the real carrier, Asterisk, S3.

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, carrier_calls};
use callbase_tests::{env, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::recordings::{get_bytes, tone_power, wait_stored};

async fn new_messages(b: &callbase_tests::Browser) -> Value {
    let r = b.get("/api/calls?voicemail=new").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn a_caller_nobody_takes_leaves_a_voicemail_that_plays_in_calls_and_is_new_until_heard() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ])
    .await;
    // Nobody online (the administrator's desk phone is not registered), no forward number.
    let (admin, _t, _, _) = agent_with_trunk(&app).await;
    let (other, _) = app.telephony_tenant().await;
    let mut rec = admin.get("/api/telephony/recording").await.body;
    rec["record_calls"] = json!(false);
    assert_eq!(admin.put("/api/telephony/recording", rec).await.status, StatusCode::OK);
    let mut routing = admin.get("/api/telephony/routing").await.body;
    assert_eq!(routing["voicemail"], false, "off unless the administrator turns it on");
    routing["voicemail"] = json!(true);
    let r = admin.put("/api/telephony/routing", routing).await;
    assert_eq!((r.status, &r.body["voicemail"]), (StatusCode::OK, &json!(true)), "{}", r.text);
    let r = admin.get("/api/calls?voicemail=someday").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_voicemail"))
    );

    // The carrier calls and plays its 440 Hz tone; after the prompt and the beep the message is
    // recorded; the carrier hangs up 3 s into it.
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    carrier_calls(&user, &user, "9995", "79161234567").await;
    let start = Instant::now();
    let id = loop {
        let r = admin.get("/api/calls?voicemail=any").await;
        if let Some(id) = r.body["items"][0]["id"].as_str() {
            break id.to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(25), "no message is being recorded: {}", r.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ami = callbase_tests::carrier_ami().await;
    assert!(ami.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await.unwrap().is_success());

    let call = wait_stored(&admin, &id, Duration::from_secs(30)).await;
    assert_eq!(
        (call["result"].as_str(), call["voicemail"].as_bool()),
        (Some("missed"), Some(true)),
        "{call}"
    );
    assert_eq!(call["voicemail_new"], true, "{call}");
    assert!(call["reason"].as_str().unwrap().contains("voicemail"), "{call}");
    assert_eq!(new_messages(&admin).await["total"], 1);
    // Another tenant neither sees nor plays it.
    assert_eq!(other.get(&format!("/api/calls/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(new_messages(&other).await["total"], 0);
    assert_eq!(other.get(&format!("/api/calls/{id}/recording")).await.status, StatusCode::NOT_FOUND);

    // The message holds the caller: the carrier's tone, a few seconds of it.
    let (status, _, mp3) = get_bytes(&admin, &format!("/api/calls/{id}/recording"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (pcm, rate) = callbase_recordings::audio::decode_to_mono(&mp3).expect("the message decodes");
    let secs = pcm.len() as f64 / f64::from(rate);
    assert!((2.0..10.0).contains(&secs), "a message of about 3 s: {secs:.1} s");
    let tone = tone_power(&pcm, rate, 440.0, 0.3, secs - 0.3);
    let other_freq = tone_power(&pcm, rate, 700.0, 0.3, secs - 0.3);
    assert!(
        tone > 20.0 * other_freq,
        "the caller's 440 Hz is in the message ({tone:.3e} vs {other_freq:.3e})"
    );
    // Listened to: no longer new.
    assert_eq!(new_messages(&admin).await["total"], 0);
    assert_eq!(admin.get(&format!("/api/calls/{id}")).await.body["voicemail_new"], false);
}
