//! Webhooks (issue #21) against the real server, PostgreSQL, Asterisk, the carrier and S3, with a
//! receiver that checks every signature with the Standard Webhooks reference library (PyPI):
//! a real call's events, retries after 500s with the delivery log, replay, the recording link, a
//! restart mid-retry, masking, automatic disabling, and targets refused.
//!
//! The tests' servers run the webhook worker, which takes due messages of every tenant: these tests
//! take turns (nextest's `stasis` group) so that no other server sends their messages.

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::server::ServerProcess;
use callbase_tests::webhooks::Receiver;
use callbase_tests::{Browser, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::api_keys::{new_key, Client};
use crate::calls::wait_result;
use crate::recordings::wait_stored;

/// The settings of a server whose worker delivers to the loopback receiver quickly.
const FAST: &[(&str, &str)] = &[
    ("CALLBASE__WORKERS__WEBHOOKS", "true"),
    ("CALLBASE__WEBHOOKS__REQUIRE_HTTPS", "false"),
    ("CALLBASE__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    ("CALLBASE__WEBHOOKS__RETRY_SCHEDULE_SECS", "1,1,1,1,1,1"),
    ("CALLBASE__WEBHOOKS__POLL_MS", "200"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    FAST.iter().chain(extra).copied().collect()
}

async fn endpoint(admin: &Browser, url: &str, events: &[&str], mask: bool) -> (i64, String) {
    let r = admin
        .post("/api/integrations/webhooks", json!({"url": url, "events": events, "mask_numbers": mask}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (r.body["webhook"]["id"].as_i64().unwrap(), r.body["secret"].as_str().unwrap().to_string())
}

fn of_type<'a>(got: &'a [Value], t: &str) -> Vec<&'a Value> {
    got.iter().filter(|r| r["type"] == t).collect()
}

async fn deliveries(admin: &Browser, hook: i64) -> Vec<Value> {
    let r = admin.get(&format!("/api/integrations/webhooks/{hook}/deliveries")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_real_call_sends_signed_events_that_survive_two_500s_and_replay() {
    let app = TestApp::spawn_with(&with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ]))
    .await;
    let rx = Receiver::start().await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let events = ["call.ringing", "call.answered", "call.ended", "call.missed", "recording.ready"];
    let (hook, secret) = endpoint(&admin, &rx.url("/hooks/callbase"), &events, false).await;
    // Each message: 500, 500, then 200.
    rx.configure(&secret, 2, 200).await;

    let (ok, log) = sipp_call_talking(&login, &password, "1234567", 200, 3000).await;
    assert!(ok, "the call was answered:\n{log}");
    let call = wait_result(t.id).await;
    assert_eq!(call["result"], "answered", "{call}");
    let listed = admin.get("/api/calls").await;
    let call_id = listed.body["items"][0]["id"].as_str().unwrap().to_string();
    wait_stored(&admin, &call_id, Duration::from_secs(15)).await;

    let want = ["call.ringing", "call.answered", "call.ended", "recording.ready"];
    let got = rx
        .wait_until(Duration::from_secs(30), "three attempts of each event", |got| {
            want.iter().all(|t| of_type(got, t).iter().filter(|r| r["answered"] == 200).count() == 1)
        })
        .await;
    for r in &got {
        assert_eq!(r["verified"], true, "the reference library verifies every signature: {r}");
        assert_eq!(r["path"], "/hooks/callbase");
    }
    for t in want {
        let tries = of_type(&got, t);
        let answers: Vec<i64> = tries.iter().map(|r| r["answered"].as_i64().unwrap()).collect();
        assert_eq!(answers, [500, 500, 200], "{t}: {tries:#?}");
        let ids: Vec<&str> = tries.iter().map(|r| r["message_id"].as_str().unwrap()).collect();
        assert!(ids.iter().all(|i| *i == ids[0]), "every attempt carries the same webhook-id: {ids:?}");
        assert_eq!(tries[0]["body"]["data"]["call_id"], call_id.as_str(), "{t}");
    }
    assert!(of_type(&got, "call.missed").is_empty(), "an answered outbound call is not missed");
    let ended = of_type(&got, "call.ended")[2]["body"].clone();
    assert_eq!(ended["data"]["result"], "answered");
    assert_eq!(ended["data"]["number"], call["number"]);
    assert!(ended["data"]["talk_secs"].as_i64().unwrap() >= 2, "{ended}");

    // The delivery log shows the three attempts of each.
    let log = deliveries(&admin, hook).await;
    assert_eq!(log.len(), 4, "{log:#?}");
    for d in &log {
        assert_eq!(d["state"], "delivered", "{d}");
        let statuses: Vec<i64> =
            d["attempts_log"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses, [500, 500, 200], "{d}");
    }

    // The recording link works without a key, briefly; a tampered one does not.
    let ready = of_type(&got, "recording.ready")[2]["body"].clone();
    let link = ready["data"]["recording"]["url"].as_str().unwrap().to_string();
    // It points at the public origin (the stack's); this test's server answers it at its own port.
    let origin = app.settings.http.public_origin.clone().unwrap_or_else(|| app.base.clone());
    let path =
        link.strip_prefix(origin.trim_end_matches('/')).unwrap_or_else(|| panic!("{link} is on {origin}"));
    assert!(path.starts_with(&format!("/api/v1/recordings/{call_id}?")), "{link}");
    let link = format!("{}{path}", app.base);
    let mp3 = reqwest::get(&link).await.unwrap();
    assert_eq!(mp3.status(), StatusCode::OK);
    assert_eq!(mp3.headers()["content-type"], "audio/mpeg");
    assert!(mp3.bytes().await.unwrap().len() > 1000);
    let tampered = link.replace("signature=", "signature=00");
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), StatusCode::FORBIDDEN);

    // A key with calls:read downloads the same recording with curl.
    let (token, _) = new_key(&admin, &["calls:read"], json!({})).await;
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code} %{content_type} %{size_download}"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{}/api/v1/calls/{call_id}/recording", app.base))
        .output()
        .await
        .expect("curl runs");
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let parts: Vec<&str> = said.split(' ').collect();
    assert_eq!(&parts[..2], ["200", "audio/mpeg"], "{said}");
    assert!(parts[2].parse::<u64>().unwrap() > 1000, "{said}");

    // Replay: sent again, and the receiver gets it (a fourth attempt, answered 200).
    let mid = log.iter().find(|d| d["event_type"] == "call.ended").unwrap()["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r =
        admin.post(&format!("/api/integrations/webhooks/{hook}/deliveries/{mid}/replay"), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    rx.wait_until(Duration::from_secs(10), "the replay", |got| {
        got.iter().filter(|r| r["message_id"] == mid.as_str()).count() == 4
    })
    .await;
    let log = deliveries(&admin, hook).await;
    let d = log.iter().find(|d| d["message_id"] == mid.as_str()).unwrap();
    assert_eq!(d["attempts_log"].as_array().unwrap().len(), 4, "{d}");
    assert_eq!(d["state"], "delivered");
}

#[tokio::test]
async fn a_restart_mid_retry_loses_no_delivery_and_masked_endpoints_get_masked_numbers() {
    // One replica is killed after the first attempt failed; another (a new process) delivers.
    let fast: Vec<(&str, &str)> = with(&[("CALLBASE__WEBHOOKS__RETRY_SCHEDULE_SECS", "3,3,3")]);
    let first = ServerProcess::spawn(&fast);
    let app = TestApp::attach(&format!("http://127.0.0.1:{}", first.port)).await;
    let rx = Receiver::start().await;
    let (admin, t) = app.telephony_tenant().await;
    let tables = admin.get("/api/crm/tables").await.body;
    let table = &tables[0];
    let field = |kind: &str| {
        table["fields"].as_array().unwrap().iter().find(|f| f["kind"] == kind).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (phone, name) = (field("phone"), field("text"));
    let (hook, secret) = endpoint(&admin, &rx.url("/crm"), &["crm.record.created"], true).await;
    let (plain_hook, plain_secret) =
        endpoint(&admin, &rx.url("/crm-plain"), &["crm.record.created"], false).await;
    assert_ne!(secret, plain_secret);
    // Both endpoints sign with their own secret; the receiver knows one: the plain endpoint's
    // deliveries are checked for their masking only.
    rx.configure(&secret, 1, 200).await;

    let r = admin
        .post(
            &format!("/api/crm/tables/{}/records", table["id"]),
            json!({"values": {name.to_string(): "Ivan", phone.to_string(): "+79161234567"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Once the failed first attempt is on record (the message waits for its retry), SIGKILL.
    let start = tokio::time::Instant::now();
    while deliveries(&admin, hook).await.first().is_none_or(|d| d["last_status"] != 500) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no failed first attempt: {:#?}",
            rx.received().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rx.received().await.iter().filter(|r| r["path"] == "/crm").count();
    assert_eq!(before, 1, "nothing delivers while no replica runs");

    // Old messages in the log: a delivered one past `webhooks.keep_days` goes when the next worker
    // starts, a pending one of the same age stays.
    let pool = callbase_tests::worker_pool().await;
    for (mid, state) in [("msg_old_delivered", "delivered"), ("msg_old_pending", "pending")] {
        sqlx::query(
            "INSERT INTO webhook_messages (tenant_id, endpoint_id, message_id, event_type, payload, created_at, state, next_try_at)
             VALUES ($1, $2, $3, 'ping', '{}', now() - interval '40 days', $4, now() + interval '1 day')",
        )
        .bind(t.id)
        .bind(plain_hook)
        .bind(mid)
        .bind(state)
        .execute(&pool)
        .await
        .unwrap();
    }
    let second = ServerProcess::spawn(&fast);
    let app2 = TestApp::attach(&format!("http://127.0.0.1:{}", second.port)).await;
    let got = rx
        .wait_until(Duration::from_secs(20), "the delivery after the restart", |got| {
            got.iter().any(|r| r["path"] == "/crm" && r["answered"] == 200)
        })
        .await;
    let masked: Vec<&Value> = got.iter().filter(|r| r["path"] == "/crm").collect();
    assert_eq!(masked.len(), 2, "{masked:#?}");
    assert!(masked.iter().all(|r| r["verified"] == true), "{masked:#?}");
    assert_eq!(masked[0]["message_id"], masked[1]["message_id"]);
    let data = &masked[1]["body"]["data"];
    assert_eq!(data["data"][name.to_string()], "Ivan");
    let shown = data["data"][phone.to_string()].as_str().unwrap();
    assert!(
        !shown.contains("79161234") && shown.ends_with("4567") && shown.starts_with('*'),
        "masked: {shown}"
    );
    let plain = got.iter().find(|r| r["path"] == "/crm-plain").expect("the plain endpoint got it");
    assert_eq!(plain["body"]["data"]["data"][phone.to_string()], "+79161234567");
    assert_eq!(plain["verified"], false, "signed with its own secret, not the other endpoint's");

    let admin = app2.browser();
    assert_eq!(admin.login(&t.account, &t.admin_login, &t.admin_password).await.status, StatusCode::OK);
    let log = deliveries(&admin, hook).await;
    assert_eq!(log[0]["attempts"], 2, "{log:#?}");
    let statuses: Vec<i64> =
        log[0]["attempts_log"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [500, 200]);
    let left: Vec<String> = deliveries(&admin, plain_hook)
        .await
        .iter()
        .map(|d| d["message_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!left.contains(&"msg_old_delivered".to_string()), "pruned: {left:?}");
    assert!(left.contains(&"msg_old_pending".to_string()), "a pending message stays: {left:?}");
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_disabled_with_a_notice_and_targets_are_checked() {
    let app = TestApp::spawn_with(&with(&[
        ("CALLBASE__WEBHOOKS__DISABLE_AFTER_FAILURES", "3"),
        ("CALLBASE__WEBHOOKS__DISABLE_AFTER_SECS", "1"),
    ]))
    .await;
    let rx = Receiver::start().await;
    let (admin, _t) = app.telephony_tenant().await;
    let (hook, secret) = endpoint(&admin, &rx.url("/down"), &["call.ended"], false).await;
    rx.configure(&secret, 0, 503).await;
    let r = admin.post(&format!("/api/integrations/webhooks/{hook}/test"), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let start = tokio::time::Instant::now();
    let w = loop {
        let w = admin.get("/api/integrations/webhooks").await.body[0].clone();
        if w["enabled"] == false {
            break w;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "not disabled: {w}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(w["disabled_reason"].as_str().unwrap().contains("HTTP 503"), "{w}");
    let got = rx.received().await;
    assert!(got.len() >= 3 && got.iter().all(|r| r["verified"] == true && r["type"] == "ping"), "{got:#?}");
    let audit = admin.get("/api/security/audit").await;
    assert!(audit.text.contains("webhook.disabled"), "in the audit log: {}", audit.text);
    let alerts = admin.get("/api/security/alerts").await;
    let alert =
        alerts.body.as_array().and_then(|a| a.iter().find(|a| a["kind"] == "webhook_disabled")).cloned();
    let alert = alert.unwrap_or_else(|| panic!("the administrators' alert: {}", alerts.text));
    assert!(alert["message"].as_str().unwrap().contains("/down"), "{alert}");
    // Disabled: nothing more is sent; enabling starts afresh.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.received().await.len(), got.len());
    rx.configure(&secret, 0, 200).await;
    let r = admin.patch(&format!("/api/integrations/webhooks/{hook}"), json!({"enabled": true})).await;
    assert_eq!((r.status, r.body["disabled_reason"].is_null()), (StatusCode::OK, true), "{}", r.text);
    rx.wait_until(Duration::from_secs(10), "the pending ping after re-enabling", |got| {
        got.iter().any(|r| r["answered"] == 200)
    })
    .await;

    // Rotating the secret: the next message is signed with both (the receiver knows the old one).
    let rotated = admin.post(&format!("/api/integrations/webhooks/{hook}/rotate"), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let n = rx.received().await.len();
    admin.post(&format!("/api/integrations/webhooks/{hook}/test"), json!({})).await;
    let got = rx.wait_until(Duration::from_secs(10), "a message after rotation", |got| got.len() > n).await;
    assert_eq!(got[n]["verified"], true, "the old secret still verifies for a day");
    rx.configure(rotated.body["secret"].as_str().unwrap(), 0, 200).await;
    admin.post(&format!("/api/integrations/webhooks/{hook}/test"), json!({})).await;
    let got = rx
        .wait_until(Duration::from_secs(10), "a message checked with the new secret", |got| got.len() > n + 1)
        .await;
    assert_eq!(got[n + 1]["verified"], true, "and so does the new one");
}

#[tokio::test]
async fn webhook_targets_must_be_public_https_and_events_known() {
    // The production defaults: https only, no private targets.
    let app = TestApp::spawn().await;
    let (admin, _t) = app.telephony_tenant().await;
    for (url, code) in [
        ("http://hooks.example.com/x", "insecure_url"),
        ("https://127.0.0.1/x", "private_address"),
        ("https://10.1.2.3/x", "private_address"),
        ("https://169.254.169.254/latest/meta-data", "private_address"),
        ("https://[::1]/x", "private_address"),
        ("https://localhost:8443/x", "private_address"),
        ("ftp://hooks.example.com/x", "invalid_url"),
        ("https://user:pw@hooks.example.com/x", "invalid_url"),
    ] {
        let r = admin.post("/api/integrations/webhooks", json!({"url": url, "events": ["call.ended"]})).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{url}: {}",
            r.text
        );
    }
    let r = admin
        .post(
            "/api/integrations/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["call.exploded"]}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_event"))
    );
    assert!(
        admin.get("/api/integrations/webhooks").await.body.as_array().unwrap().is_empty(),
        "nothing half-saved"
    );
    // A key without `admin` cannot manage webhooks.
    let (token, _) = new_key(&admin, &["calls:read"], json!({})).await;
    let r = Client::new(&app, &token).call(Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("missing_scope")));
}
