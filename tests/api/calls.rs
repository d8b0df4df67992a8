//! Calls through the real platform Asterisk and the real carrier: an agent's desk phone (sipp with
//! digest auth) dials out through the tenant's trunk under the dial rules; a refused number never
//! reaches the carrier. Browser calls are proven in the e2e lab with Chromium and Firefox.

use std::time::Duration;

use callbase_tests::{env, worker_pool, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use callbase_tests::calls::{agent_with_trunk, sipp_call};

use crate::trunks::{body, wait_for_state};

/// direction, number, result, trunk_slot, reason, answered
type CallRow = (String, String, Option<String>, Option<i16>, Option<String>, bool, Option<i64>);

async fn last_call(tenant: i64) -> Option<Value> {
    let pool = worker_pool().await;
    let row: Option<CallRow> = sqlx::query_as(
        "SELECT direction, number, result, trunk_slot, reason, answered_at IS NOT NULL, user_id FROM calls WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 1",
    )
    .bind(tenant)
    .fetch_optional(&pool)
    .await
    .unwrap();
    row.map(|(d, n, r, s, reason, answered, user)| {
        json!({"direction": d, "number": n, "result": r, "trunk_slot": s, "reason": reason, "answered": answered, "user_id": user})
    })
}

/// The tenant's newest ended call, once it has at least one.
pub(crate) async fn wait_result(tenant: i64) -> Value {
    wait_ended(tenant, 1).await
}

/// The tenant's newest ended call once `n` of its calls have ended. A call's record is written by
/// its controller's writer after the phone hears the outcome, so a test that places calls one after
/// another names which one it waits for; otherwise it could read the call before.
pub(crate) async fn wait_ended(tenant: i64, n: i64) -> Value {
    let pool = worker_pool().await;
    for _ in 0..50 {
        let (ended,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM calls WHERE tenant_id = $1 AND result IS NOT NULL")
                .bind(tenant)
                .fetch_one(&pool)
                .await
                .unwrap();
        if ended >= n {
            if let Some(c) = last_call(tenant).await {
                if !c["result"].is_null() {
                    return c;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last_call(tenant).await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_desk_phone_call_goes_out_through_the_trunk_and_a_refused_number_never_reaches_the_carrier() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (_admin, t, login, password) = agent_with_trunk(&app).await;

    // A local number: the dial rules make it +7 495 …, the carrier's "PSTN" answers with an echo.
    let (ok, log) = sipp_call(&login, &password, "1234567", 200).await;
    assert!(ok, "the call was answered through the trunk:\n{log}");
    let c = wait_result(t.id).await;
    assert_eq!(c["direction"], "outbound");
    assert_eq!(c["number"], "+74951234567");
    assert_eq!(c["result"], "answered", "{c}");
    assert_eq!(c["answered"], true);
    assert_eq!(c["trunk_slot"], 1);

    // A number the carrier does not know: its 404 reaches the agent's phone, and the record keeps
    // the trunk the call was tried on (issue #19).
    let (ok, log) = sipp_call(&login, &password, "89994041234", 404).await;
    assert!(ok, "the carrier's 404 reached the phone:\n{log}");
    let c = wait_ended(t.id, 2).await;
    assert_eq!((c["number"].as_str(), c["result"].as_str()), (Some("+79994041234"), Some("failed")), "{c}");
    assert_eq!(c["reason"], "number does not exist", "{c}");
    assert_eq!(c["trunk_slot"], 1, "the refused call keeps its trunk: {c}");

    // International is off by default: refused before any trunk, with the reason recorded.
    let (ok, log) = sipp_call(&login, &password, "81044123456789", 404).await;
    assert!(ok, "the refused call got 404:\n{log}");
    let c = wait_ended(t.id, 3).await;
    assert_eq!(c["result"], "refused", "{c}");
    assert!(c["trunk_slot"].is_null(), "a refused call never reaches a trunk: {c}");
    assert!(c["reason"].as_str().unwrap_or_default().to_lowercase().contains("international"), "{c}");
}

#[tokio::test]
async fn an_unregistered_first_trunk_is_skipped_and_the_call_record_says_so() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t) = app.telephony_tenant().await;
    callbase_tests::calls::retire_earlier_registrations(&env("CALLBASE_CARRIER_TRUNK_USER")).await;
    // First trunk: a wrong password, so the carrier rejects its registration.
    let bad = admin.post("/api/trunks", body(&env("CALLBASE_CARRIER_TRUNK_USER"), "wrong-password-1")).await;
    assert_eq!(bad.status, StatusCode::CREATED, "{}", bad.text);
    let good = admin
        .post(
            "/api/trunks",
            body(&env("CALLBASE_CARRIER_TRUNK_USER"), &env("CALLBASE_CARRIER_TRUNK_PASSWORD")),
        )
        .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.text);
    wait_for_state(&admin, &good.body["id"], "registered", Duration::from_secs(20)).await;
    wait_for_state(&admin, &bad.body["id"], "rejected", Duration::from_secs(20)).await;
    admin.patch(&format!("/api/telephony/users/{}", t.admin_id), json!({"browser_calls": false})).await;
    let pw = admin.post(&format!("/api/telephony/users/{}/password", t.admin_id), json!({})).await;
    let (login, password) = (
        pw.body["sip_login"].as_str().unwrap().to_string(),
        pw.body["sip_password"].as_str().unwrap().to_string(),
    );

    let (ok, log) = sipp_call(&login, &password, "1234567", 200).await;
    assert!(ok, "answered through the second trunk:\n{log}");
    wait_result(t.id).await;
    let pool = worker_pool().await;
    let (slot, note): (Option<i16>, Option<String>) = sqlx::query_as(
        "SELECT trunk_slot, route_note FROM calls WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 1",
    )
    .bind(t.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(slot, Some(2), "the call left on the second trunk");
    let note = note.unwrap_or_default();
    assert!(note.contains("trunk 1") && note.contains("not registered"), "route note: {note}");
    for id in [&bad.body["id"], &good.body["id"]] {
        admin.delete(&format!("/api/trunks/{id}")).await;
    }
}

use callbase_recordings::audio::{sine, tone_power, wav_bytes};

#[tokio::test]
async fn callers_hear_the_uploaded_greeting_before_agents_ring() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t) = app.telephony_tenant().await;
    // Bad input first: not audio → 422, nothing stored.
    let csrf = admin.csrf().await;
    let bad = admin
        .send(
            admin
                .request(reqwest::Method::PUT, "/api/telephony/greeting")
                .header("x-csrf-token", &csrf)
                .body("definitely not audio"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["code"], "invalid_greeting");
    // A 44.1 kHz 700 Hz greeting of 2 s, converted for Asterisk.
    let up = admin
        .send(
            admin
                .request(reqwest::Method::PUT, "/api/telephony/greeting")
                .header("x-csrf-token", &csrf)
                .header("content-type", "audio/wav")
                .body(wav_bytes(&sine(700.0, 44100, 2.0), 44100)),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    let ms = up.body["duration_ms"].as_u64().unwrap();
    assert!((1900..=2100).contains(&ms), "{ms} ms");

    let number = "4951110003";
    let r = admin
        .post(
            "/api/trunks",
            json!({"mode": "extended", "number": number, "username": env("CALLBASE_CARRIER_TENANT_A_USER"),
            "password": env("CALLBASE_CARRIER_TENANT_A_PASSWORD"), "domain": env("CALLBASE_CARRIER_SIP")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    wait_for_state(&admin, &r.body["id"], "registered", Duration::from_secs(20)).await;
    // Someone to take the call (nobody online would refuse it unanswered, greeting or not): the
    // administrator's desk phone answers and hangs up after a second.
    let (login, password) = callbase_tests::calls::desk_phone(&admin, t.admin_id).await;
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone =
        callbase_tests::sip::RingingPhone::answering(platform, &login, &password, Duration::from_secs(1))
            .await;

    let called = std::time::Instant::now();
    // The greeting plays, then the agent's phone rings, answers and hangs up: the file is complete.
    let samples = callbase_tests::calls::carrier_hears(number, &env("CALLBASE_CARRIER_TENANT_A_USER")).await;
    let tone = tone_power(&samples, 8000, 700.0);
    let other = tone_power(&samples, 8000, 440.0) + tone_power(&samples, 8000, 1000.0);
    assert!(tone > 20.0 * other, "the caller heard the 700 Hz greeting ({tone:.3e} vs {other:.3e})");
    let c = wait_result(t.id).await;
    assert_eq!(c["result"], "answered", "{c}");
    let rang = phone.invites.lock().unwrap().first().copied().expect("the agent's phone rang");
    assert!(rang >= called + Duration::from_secs(2), "the phone rang after the 2 s greeting");
    admin.delete(&format!("/api/trunks/{}", r.body["id"])).await;
}

/// Issue #18: a call to a colleague none of whose devices is online goes to the mobile number they
/// gave, through the trunk (the carrier's "PSTN" answers it); without a mobile it is missed as
/// before. The mobile passes the dial rules when it is saved.
#[tokio::test]
async fn a_call_to_a_colleague_with_no_phone_online_goes_to_their_mobile() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let (_maria, maria_id, _, _) = crate::agent_states::desk_agent(&app, &admin, &t.account, "maria").await;
    let path = format!("/api/telephony/users/{maria_id}");
    let ext = admin
        .get("/api/telephony/users")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == maria_id)
        .unwrap()["extension"]
        .as_str()
        .unwrap()
        .to_string();

    // Her phone is not registered and she has no mobile: the call is missed.
    let (ok, _) = sipp_call(&login, &password, &ext, 200).await;
    assert!(!ok, "nobody answers an offline colleague without a mobile");
    assert_eq!(wait_result(t.id).await["result"], "missed");

    for bad in ["abc", "101"] {
        let r = admin.patch(&path, json!({"mobile_number": bad})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_mobile_number");
    }
    let (other_admin, _) = app.telephony_tenant().await;
    let r = other_admin.patch(&path, json!({"mobile_number": "+74951234567"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant's user: {}", r.text);
    let r = admin.patch(&path, json!({"mobile_number": "+7 495 123-45-67"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["mobile_number"], "+7 495 123-45-67");

    // With a mobile: the call goes out to it and is answered there.
    let (ok, log) = sipp_call(&login, &password, &ext, 200).await;
    assert!(ok, "the call reaches the colleague's mobile:\n{log}");
    let c = wait_ended(t.id, 2).await;
    assert_eq!(c["result"], "forwarded", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("no device online"), "{c}");

    // Removed again: missed as before.
    let r = admin.patch(&path, json!({"mobile_number": ""})).await;
    assert_eq!((r.status, &r.body["mobile_number"]), (StatusCode::OK, &Value::Null), "{}", r.text);
}
