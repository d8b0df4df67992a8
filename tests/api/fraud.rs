//! Toll fraud (issue 14, item 9), against the real platform Asterisk and the test carrier (which
//! answers any number a registered trunk dials): every number the platform dials passes the dial
//! rules (premium ranges refused by default), agents need a permission to call abroad, a new
//! country needs an administrator's allow, concurrent calls and call rates are capped, and trunk
//! changes and sign-ups are rate-limited. Admins hear about it in the app (`security_alert`).

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, sipp_call, sipp_call_talking};
use callbase_tests::{env, worker_pool, Browser, TestApp};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::trunks::wait_for_state;

const STASIS: [(&str, &str); 2] =
    [("CALLBASE__WORKERS__STASIS", "true"), ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true")];

/// The tenant's calls, oldest first: (number, result, reason, trunk_slot, answered).
async fn calls(tenant: i64) -> Vec<(String, Option<String>, Option<String>, Option<i16>, bool)> {
    sqlx::query_as("SELECT number, result, reason, trunk_slot, answered_at IS NOT NULL FROM calls WHERE tenant_id = $1 ORDER BY started_at")
        .bind(tenant)
        .fetch_all(&worker_pool().await)
        .await
        .unwrap()
}

/// Waits until the tenant has `n` calls with a result.
async fn wait_calls(
    tenant: i64,
    n: usize,
) -> Vec<(String, Option<String>, Option<String>, Option<i16>, bool)> {
    for _ in 0..75 {
        let c = calls(tenant).await;
        if c.len() >= n && c.iter().all(|c| c.1.is_some()) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    calls(tenant).await
}

/// An agent (no administrator role) with a desk phone: (user id, SIP login, SIP password).
async fn desk_agent(admin: &Browser, login: &str) -> (i64, String, String) {
    let u = admin.post("/api/users", json!({"login": login, "name": format!("Agent {login}"), "email": "a@example.com", "password": "Strong-pass-XYZ-9173"})).await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
    let id = u.body["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": id, "browser_calls": false})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    (
        id,
        tu.body["sip_login"].as_str().unwrap().to_string(),
        tu.body["sip_password"].as_str().unwrap().to_string(),
    )
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn events_socket(b: &Browser) -> Ws {
    let mut req = format!("{}/events", b.base.replacen("http", "ws", 1)).into_client_request().unwrap();
    req.headers_mut().insert(
        "cookie",
        format!("cb_session={}", b.cookie("cb_session").expect("signed in")).parse().unwrap(),
    );
    req.headers_mut().insert("origin", b.base.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("events socket opens").0
}

/// The `security_alert` events that arrive within `within`.
async fn alerts_on(ws: &mut Ws, within: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    let mut out = vec![];
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) {
            if v["type"] == "security_alert" {
                out.push(v);
            }
        }
    }
    out
}

async fn put_dial_rules(admin: &Browser, f: impl FnOnce(&mut Value)) {
    let mut rules = admin.get("/api/telephony/dial-rules").await.body;
    f(&mut rules);
    let r = admin.put("/api/telephony/dial-rules", rules).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn probe_and_forward_numbers_are_held_to_the_dial_rules_when_saved() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;

    // International is off by default: an international probe number would be dialled every minute.
    let r = admin.put("/api/telephony/probe", json!({"probe_number": "+442079460958"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["code"], "invalid_probe_number");
    assert!(r.body["message"].as_str().unwrap().contains("International"), "{}", r.text);
    // A premium range that looks national.
    let r = admin.put("/api/telephony/probe", json!({"probe_number": "88095051234"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("premium"), "{}", r.text);
    let r = admin
        .put("/api/telephony/routing", json!({"ring_timeout_secs": 15, "forward_number": "8 809 505-12-34"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["code"], "invalid_forward_number");
    assert!(r.body["message"].as_str().unwrap().contains("premium"), "{}", r.text);
    // The carrier's echo test number is a short number: allowed once the rules say so.
    let r = admin.put("/api/telephony/probe", json!({"probe_number": "9999"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    put_dial_rules(&admin, |r| r["short_rules"] = json!(["_999X"])).await;
    let r = admin.put("/api/telephony/probe", json!({"probe_number": "9999"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // An administrator may allow a premium range explicitly; then it passes.
    put_dial_rules(&admin, |r| r["allowed_premium"] = json!(["7809"])).await;
    let r = admin
        .put("/api/telephony/routing", json!({"ring_timeout_secs": 15, "forward_number": "8 809 505-12-34"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut bad = admin.get("/api/telephony/dial-rules").await.body;
    bad["allowed_premium"] = json!(["7"]);
    let r = admin.put("/api/telephony/dial-rules", bad).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a prefix wider than a premium range is refused: {}",
        r.text
    );
}

#[tokio::test]
async fn a_probe_call_to_a_number_the_dial_rules_refuse_never_reaches_the_trunk() {
    let app = TestApp::spawn_with(&STASIS).await;
    let (_admin, t, _, _) = agent_with_trunk(&app).await;
    let ami = callbase_tests::platform_ami().await;
    // What the health probe dials ([from-probe] t<tenant>x<number>): the answer comes back only when
    // the call through the trunk was answered (the carrier answers any number).
    let originate = |number: &str| {
        let channel = format!("Local/t{}x{number}@from-probe", t.id);
        let ami = &ami;
        async move {
            ami.action(
                "Originate",
                &[("Channel", channel.as_str()), ("Application", "Wait"), ("Data", "1"), ("Timeout", "4000")],
            )
            .await
        }
    };
    let ok = originate("1234567").await;
    assert!(
        ok.as_ref().is_ok_and(|m| m.is_success()),
        "a domestic probe number goes out and is answered: {ok:?}"
    );
    for refused in ["442079460958", "88095051234"] {
        let r = originate(refused).await;
        assert!(
            !r.as_ref().is_ok_and(|m| m.is_success()),
            "the probe dialled {refused} (international off, premium) through the trunk: {r:?}"
        );
    }
    assert!(calls(t.id).await.is_empty(), "probe calls leave no call records");
}

#[tokio::test]
async fn a_forward_number_the_dial_rules_no_longer_allow_is_not_dialled() {
    let app = TestApp::spawn_with(&STASIS).await;
    let (admin, t) = app.telephony_tenant().await;
    let number = "4951110001";
    let r = admin
        .post(
            "/api/trunks",
            json!({"mode": "extended", "number": number, "username": env("CALLBASE_CARRIER_TENANT_A_USER"),
                   "password": env("CALLBASE_CARRIER_TENANT_A_PASSWORD"), "domain": env("CALLBASE_CARRIER_SIP")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let trunk = r.body["id"].clone();
    wait_for_state(&admin, &trunk, "registered", Duration::from_secs(15)).await;
    // Saved while international calls were allowed (and the country was allowed)…
    put_dial_rules(&admin, |r| r["allowed"]["international"] = json!(true)).await;
    admin.post("/api/security/countries", json!({"country_code": "+44"})).await;
    let r = admin
        .put("/api/telephony/routing", json!({"ring_timeout_secs": 5, "forward_number": "+442079460958"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // …then international calls were turned off: the forward number must not be dialled any more.
    put_dial_rules(&admin, |r| r["allowed"]["international"] = json!(false)).await;

    callbase_tests::calls::carrier_calls(
        number,
        &env("CALLBASE_CARRIER_TENANT_A_USER"),
        "9998",
        "79161234567",
    )
    .await;
    let c = wait_calls(t.id, 1).await;
    admin.delete(&format!("/api/trunks/{trunk}")).await;
    assert_eq!(c.len(), 1, "{c:?}");
    let (_, result, reason, _, _) = &c[0];
    assert_eq!(result.as_deref(), Some("missed"), "the call was not forwarded: {c:?}");
    let reason = reason.clone().unwrap_or_default();
    assert!(reason.contains("forwarding refused") && reason.contains("International"), "{reason}");
}

#[tokio::test]
async fn a_stolen_agent_login_dialling_premium_and_international_numbers_connects_none_while_allowed_calls_connect(
) {
    let app = TestApp::spawn_with(&STASIS).await;
    let (admin, t, _, _) = agent_with_trunk(&app).await;
    // The tenant calls abroad (its administrator allowed the direction in the dial rules): the
    // guard stands between a stolen agent login and the trunk.
    put_dial_rules(&admin, |r| r["allowed"]["international"] = json!(true)).await;
    let (agent_id, login, password) = desk_agent(&admin, "agent").await;
    let agent = app.browser();
    assert_eq!(agent.login(&t.account, "agent", "Strong-pass-XYZ-9173").await.status, StatusCode::OK);
    let mut admin_ws = events_socket(&admin).await;
    let mut agent_ws = events_socket(&agent).await;

    let premium = ["88095051234", "+78035051234", "+19005550199", "+449098790000", "+499001234567"];
    let international = ["+442079460958", "+12125550199", "+493012345678", "+33123456789", "+37121234567"];
    let mut refused = vec![];
    for n in premium.iter().chain(international.iter()) {
        let (ok, log) = sipp_call(&login, &password, n, 404).await;
        refused.push((n, ok, log));
    }
    let c = wait_calls(t.id, 10).await;
    let connected: Vec<_> = c.iter().filter(|c| c.4 || c.3.is_some()).collect();
    assert!(connected.is_empty(), "the stolen login connected or reached a trunk: {connected:?}");
    for (n, ok, log) in refused {
        assert!(ok, "{n} was not refused with 404:\n{log}");
    }
    let users = admin.get("/api/telephony/users").await.body;
    let row =
        users.as_array().unwrap().iter().find(|u| u["user_id"] == agent_id).cloned().unwrap_or_default();
    assert_eq!(row["international"], false, "agents may not call abroad by default: {row}");
    assert_eq!(c.len(), 10, "{c:?}");
    assert!(c.iter().all(|c| c.1.as_deref() == Some("refused")), "{c:?}");
    assert!(c[..5].iter().all(|c| c.2.as_deref().unwrap_or_default().contains("premium")), "{c:?}");
    assert!(
        c[5..].iter().all(|c| c.2.as_deref().unwrap_or_default().contains("may not call abroad")),
        "{c:?}"
    );

    // Administrators hear of it in the app, agents do not; the list endpoint is theirs alone.
    let live = alerts_on(&mut admin_ws, Duration::from_secs(2)).await;
    assert!(live.iter().any(|a| a["alert"]["kind"] == "international_not_permitted" && a["alert"]["user_id"] == agent_id), "{live:?}");
    assert!(
        alerts_on(&mut agent_ws, Duration::from_millis(500)).await.is_empty(),
        "an agent received a security alert"
    );
    let list = admin.get("/api/security/alerts").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "international_not_permitted" && a["level"] == "blocked"),
        "{}",
        list.text
    );
    assert_eq!(agent.get("/api/security/alerts").await.status, StatusCode::FORBIDDEN);

    // Domestic calls still connect.
    let (ok, log) = sipp_call(&login, &password, "1234567", 200).await;
    assert!(ok, "a domestic call connects:\n{log}");
    // The administrator lets the agent call abroad: the first call to a new country still waits
    // for the country to be allowed (one API call / click on the alert), then connects.
    let p = admin.patch(&format!("/api/telephony/users/{agent_id}"), json!({"international": true})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["international"], true);
    let (ok, log) = sipp_call(&login, &password, "+442079460958", 404).await;
    assert!(ok, "a call to a country not yet allowed is refused:\n{log}");
    let c = wait_calls(t.id, 12).await;
    assert_eq!(c.last().unwrap().2.as_deref().map(|r| r.contains("+44")), Some(true), "{c:?}");
    let live = alerts_on(&mut admin_ws, Duration::from_secs(2)).await;
    let alert = live
        .iter()
        .find(|a| a["alert"]["kind"] == "country_not_allowed")
        .unwrap_or_else(|| panic!("no country alert: {live:?}"));
    assert_eq!(alert["alert"]["country_code"], "44");
    let r =
        admin.post("/api/security/countries", json!({"country_code": alert["alert"]["country_code"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["allowed_countries"], json!(["44"]));
    let (ok, log) = sipp_call(&login, &password, "+442079460958", 200).await;
    assert!(ok, "an explicitly allowed international call connects:\n{log}");
    let c = wait_calls(t.id, 14).await;
    let last = c.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_deref(), last.4),
        ("+442079460958", Some("answered"), true),
        "{c:?}"
    );
    // Premium stays refused even for a user who may call abroad.
    let (ok, log) = sipp_call(&login, &password, "+19005550199", 404).await;
    assert!(ok, "{log}");

    // Another tenant sees none of it.
    let (other, _) = app.telephony_tenant().await;
    assert_eq!(other.get("/api/security/alerts").await.body, json!([]));
    assert_eq!(other.get("/api/security/settings").await.body["allowed_countries"], json!([]));
    assert_eq!(
        other.patch(&format!("/api/telephony/users/{agent_id}"), json!({"international": true})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn calls_past_the_concurrent_and_per_minute_caps_are_refused_and_a_finished_call_frees_its_slot() {
    let app = TestApp::spawn_with(&STASIS).await;
    let (admin, t, _, _) = agent_with_trunk(&app).await;
    let (_, login, password) = desk_agent(&admin, "agent").await;
    let mut limits = admin.get("/api/security/settings").await.body;
    assert_eq!(
        (limits["max_calls_tenant"].as_i64(), limits["max_calls_user"].as_i64()),
        (Some(30), Some(2)),
        "defaults: {limits}"
    );
    limits["max_calls_user"] = json!(1);
    limits["calls_per_minute_user"] = json!(4);
    limits["warn_percent"] = json!(50);
    let r = admin.put("/api/security/settings", limits).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The per-minute window is a calendar minute: start early in one.
    while time::OffsetDateTime::now_utc().second() > 35 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // One call in progress (talking 6 s); a second one at the same time is refused.
    let long = tokio::spawn({
        let (l, p) = (login.clone(), password.clone());
        async move { sipp_call_talking(&l, &p, "1234567", 200, 6000).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ok, log) = sipp_call(&login, &password, "1234568", 404).await;
    assert!(ok, "a second concurrent call is refused:\n{log}");
    let (ok, log) = long.await.unwrap();
    assert!(ok, "the first call went on:\n{log}");
    let c = wait_calls(t.id, 2).await;
    assert_eq!(c[0].1.as_deref(), Some("answered"), "{c:?}");
    assert_eq!(c[1].1.as_deref(), Some("refused"), "{c:?}");
    assert!(c[1].2.as_deref().unwrap_or_default().contains("calls in progress"), "{c:?}");
    // The first call ended: its slot is free again.
    let (ok, log) = sipp_call(&login, &password, "1234569", 200).await;
    assert!(ok, "a call after the first ended connects:\n{log}");
    // Four attempts this minute are the limit; the fifth is refused.
    let (ok, log) = sipp_call(&login, &password, "1234560", 200).await;
    assert!(ok, "{log}");
    let (ok, log) = sipp_call(&login, &password, "1234561", 404).await;
    assert!(ok, "the fifth call in a minute is refused:\n{log}");
    let c = wait_calls(t.id, 5).await;
    assert!(c[4].2.as_deref().unwrap_or_default().contains("calls a minute"), "{c:?}");
    let alerts = admin.get("/api/security/alerts").await.body;
    let kinds: Vec<(String, String)> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap().into(), a["level"].as_str().unwrap().into()))
        .collect();
    for want in
        [("concurrent_calls", "blocked"), ("calls_per_minute", "warning"), ("calls_per_minute", "blocked")]
    {
        assert!(
            kinds.iter().any(|k| (k.0.as_str(), k.1.as_str()) == want),
            "{want:?} missing from {kinds:?}"
        );
    }
}

#[tokio::test]
async fn a_tenant_past_its_daily_minutes_gets_no_more_calls_out() {
    let app = TestApp::spawn_with(&STASIS).await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let mut limits = admin.get("/api/security/settings").await.body;
    limits["minutes_per_day_tenant"] = json!(2);
    assert_eq!(admin.put("/api/security/settings", limits).await.status, StatusCode::OK);
    // Earlier today: an answered call of three minutes.
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, number, trunk_slot, started_at, answered_at, ended_at, result)
         VALUES ($1, $2, 'outbound', '+74951234567', 1, now() - interval '4 minutes', now() - interval '3 minutes 30 seconds', now() - interval '30 seconds', 'answered')",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(t.id)
    .execute(&worker_pool().await)
    .await
    .unwrap();
    let (ok, log) = sipp_call(&login, &password, "1234567", 404).await;
    assert!(ok, "refused past the daily minutes:\n{log}");
    let c = wait_calls(t.id, 2).await;
    assert!(c[1].2.as_deref().unwrap_or_default().contains("minutes for today"), "{c:?}");
    let alerts = admin.get("/api/security/alerts").await.body;
    assert!(
        alerts.as_array().unwrap().iter().any(|a| a["kind"] == "minutes_per_day" && a["level"] == "blocked"),
        "{alerts}"
    );
}

#[tokio::test]
async fn only_an_administrator_changes_fraud_limits_and_bad_values_are_refused() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let mut limits = admin.get("/api/security/settings").await.body;
    limits["max_calls_user"] = json!(0);
    let r = admin.put("/api/security/settings", limits.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["code"], "invalid_fraud_limits");
    assert_eq!(
        admin.post("/api/security/countries", json!({"country_code": "044"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let users = admin.get("/api/telephony/users").await.body;
    let me = users.as_array().unwrap().iter().find(|u| u["user_id"] == t.admin_id).cloned().unwrap();
    assert_eq!(me["international"], true, "the administrator who turned telephony on may call abroad: {me}");
    let (_, _, _) = desk_agent(&admin, "agent").await;
    let agent = app.browser();
    assert_eq!(agent.login(&t.account, "agent", "Strong-pass-XYZ-9173").await.status, StatusCode::OK);
    limits["max_calls_user"] = json!(50);
    assert_eq!(agent.put("/api/security/settings", limits).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        agent.post("/api/security/countries", json!({"country_code": "44"})).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn trunk_changes_and_sign_ups_past_their_rate_limits_get_429_with_retry_after() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__LIMITS__SIGNUPS_PER_IP_PER_HOUR", "5"),
        ("CALLBASE__LIMITS__TRUNK_CHANGES_PER_MINUTE", "10"),
    ])
    .await;
    // Sign-ups from one address (the test client's): five, then 429.
    let (a, _) = app.telephony_tenant().await;
    let (b, _) = app.telephony_tenant().await;
    for _ in 0..3 {
        app.new_tenant().await;
    }
    let r = app
        .browser()
        .post("/api/signup", json!({"account": callbase_tests::unique("t"), "tenant_name": "Org", "login": "boss", "name": "Boss", "email": "b@example.com", "password": "Tenant-admin-pass-42"}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["code"], "rate_limited");
    let retry: u64 = r.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");

    // Trunk changes (each reloads Asterisk): ten a minute per tenant, then 429; another tenant is
    // not affected.
    for i in 0..10 {
        let r = a.delete("/api/trunks/999999999").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "change {i}: {}", r.text);
    }
    let r = a
        .patch("/api/trunks/999999999", callbase_tests::calls::trunk_body("someone", "some-password-1"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["code"], "rate_limited");
    let retry: u64 = r.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        b.delete("/api/trunks/999999999").await.status,
        StatusCode::NOT_FOUND,
        "tenant B has its own budget"
    );
}
