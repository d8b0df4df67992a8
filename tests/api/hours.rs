//! Business hours (issue #19, item 2): a weekly schedule, holidays and the tenant's time zone.
//! Bad input answers 422 naming the field and nothing is saved; another tenant neither sees nor
//! changes the schedule. Against the real carrier and Asterisk, in a :30 time zone: inside the
//! opening hours a call rings the agent; on a holiday the closed greeting plays (heard in the
//! carrier's recording) and the call is missed "closed: holiday"; outside the hours, with no closed
//! greeting, the call is refused unanswered with SIP 480.

use std::time::Duration;

use callbase_recordings::audio::{sine, tone_power, wav_bytes};
use callbase_tests::calls::{agent_with_trunk, carrier_dial_report, carrier_hears};
use callbase_tests::sip::RingingPhone;
use callbase_tests::{env, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::users::create_user;

const ZONE: &str = "Asia/Kolkata";

/// The ISO weekday, the date and the minute of the day now in `zone`, as PostgreSQL sees it.
async fn local_now(zone: &str) -> (i16, String, i32) {
    let (day, date, min): (f64, String, f64) = sqlx::query_as(
        "SELECT extract(isodow FROM l)::float8, to_char(l, 'YYYY-MM-DD'),
                (extract(hour FROM l) * 60 + extract(minute FROM l))::float8
         FROM (SELECT now() AT TIME ZONE $1 AS l) x",
    )
    .bind(zone)
    .fetch_one(&worker_pool().await)
    .await
    .unwrap();
    (day as i16, date, min as i32)
}

fn hhmm(min: i32) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// A range of today around now (an hour each way, within the day).
async fn open_now_range() -> Value {
    let (day, _, min) = local_now(ZONE).await;
    json!({"day": day, "from": hhmm((min - 60).max(0)), "to": hhmm((min + 60).min(1440))})
}

async fn put_hours(admin: &Browser, body: Value) -> Value {
    let r = admin.put("/api/telephony/hours", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text);
    r.body
}

async fn open_now(admin: &Browser) -> bool {
    let r = admin.get("/api/telephony/hours/now").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["open"].as_bool().unwrap()
}

async fn upload_closed_greeting(admin: &Browser, body: Vec<u8>) -> callbase_tests::Resp {
    let csrf = admin.csrf().await;
    admin
        .send(
            admin
                .request(reqwest::Method::PUT, "/api/telephony/hours/greeting")
                .header("x-csrf-token", &csrf)
                .header("content-type", "audio/wav")
                .body(body),
        )
        .await
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field_and_each_tenant_keeps_its_own() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other, _) = app.telephony_tenant().await;
    create_user(&admin, "maria", &[]).await;
    let maria = app.browser();
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);

    let h = admin.get("/api/telephony/hours").await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);
    assert_eq!((&h.body["enabled"], &h.body["time_zone"]), (&json!(false), &json!("UTC")));
    assert_eq!(admin.get("/api/telephony/hours/now").await.body["open"], true, "always open while off");

    let good = json!({
        "enabled": true, "time_zone": ZONE,
        "weekly": [{"day": 1, "from": "09:00", "to": "13:00"}, {"day": 1, "from": "14:00", "to": "18:00"}],
        "holidays": [{"date": "2026-12-31", "name": "New Year's Eve"}],
    });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, code, field) in [
        (with("time_zone", json!("Mars/Olympus_Mons")), "invalid_time_zone", "time_zone"),
        (
            with("weekly", json!([{"day": 8, "from": "09:00", "to": "10:00"}])),
            "invalid_hours",
            "weekly[0].day",
        ),
        (with("weekly", json!([{"day": 2, "from": "18:00", "to": "09:00"}])), "invalid_hours", "weekly[0]"),
        (
            with("weekly", json!([{"day": 2, "from": "9 am", "to": "10:00"}])),
            "invalid_hours",
            "weekly[0].from",
        ),
        (
            with(
                "weekly",
                json!([{"day": 1, "from": "09:00", "to": "13:00"}, {"day": 1, "from": "12:00", "to": "18:00"}]),
            ),
            "overlapping_hours",
            "weekly[1] overlaps weekly[0]",
        ),
        (with("holidays", json!([{"date": "31.12.2026"}])), "invalid_holiday", "holidays[0].date"),
        (
            with("holidays", json!([{"date": "2026-01-01"}, {"date": "2026-01-01"}])),
            "duplicate_holiday",
            "holidays[1].date",
        ),
        (with("closed_forward", json!("call me")), "invalid_closed_forward", "closed_forward"),
    ] {
        let r = admin.put("/api/telephony/hours", body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["code"], code, "{}", r.text);
        assert!(r.body["message"].as_str().unwrap().contains(field), "names {field}: {}", r.text);
        assert_eq!(admin.get("/api/telephony/hours").await.body, h.body, "nothing saved after {code}");
    }

    let saved = put_hours(&admin, good.clone()).await;
    assert_eq!((&saved["enabled"], &saved["time_zone"]), (&json!(true), &json!(ZONE)));
    assert_eq!(saved["weekly"], good["weekly"]);
    assert_eq!(saved["holidays"], good["holidays"]);
    let now = admin.get("/api/telephony/hours/now").await.body;
    assert!(now["local_now"].as_str().unwrap().ends_with("(Asia/Kolkata)"), "{now}");

    // Not a file of audio, or too big: 422 / 413, nothing kept.
    let r = upload_closed_greeting(&admin, b"definitely not audio".to_vec()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_greeting")),
        "{}",
        r.text
    );
    let r = upload_closed_greeting(&admin, vec![0u8; 11 * 1024 * 1024]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(admin.get("/api/telephony/hours").await.body["closed_greeting"], false);

    // Administrators only; another tenant has its own (default) schedule and cannot change this one.
    assert_eq!(maria.get("/api/telephony/hours").await.status, StatusCode::FORBIDDEN);
    assert_eq!(maria.put("/api/telephony/hours", good.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get("/api/telephony/hours").await.body["enabled"], false);
    put_hours(&other, json!({"enabled": true, "time_zone": "Europe/Moscow", "weekly": []})).await;
    assert_eq!(admin.get("/api/telephony/hours").await.body["time_zone"], ZONE);
    // The session answer carries each account's own zone (the app shows times in it), a colleague's too.
    assert_eq!(admin.get("/api/auth/me").await.body["tenant"]["time_zone"], ZONE);
    assert_eq!(maria.get("/api/auth/me").await.body["tenant"]["time_zone"], ZONE);
    assert_eq!(other.get("/api/auth/me").await.body["tenant"]["time_zone"], "Europe/Moscow");
}

#[tokio::test]
async fn a_call_inside_opening_hours_rings_and_closed_ones_hear_the_closed_greeting_or_get_480() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::answering(platform, &login, &password, Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Open now in Asia/Kolkata (UTC+5:30): the agent answers.
    let (today, date, _) = local_now(ZONE).await;
    let open = open_now_range().await;
    put_hours(&admin, json!({"enabled": true, "time_zone": ZONE, "weekly": [open]})).await;
    assert!(open_now(&admin).await, "open now");
    let (status, sip) = carrier_dial_report("4957770011", &user).await;
    assert_eq!(status, "ANSWER", "open: the agent answers ({sip})");
    assert_eq!(phone.invites.lock().unwrap().len(), 1);

    // Today is a holiday: the closed greeting (700 Hz, 2 s) plays and the call ends, missed.
    put_hours(
        &admin,
        json!({"enabled": true, "time_zone": ZONE, "weekly": [open], "holidays": [{"date": date, "name": "Diwali"}]}),
    )
    .await;
    assert!(!open_now(&admin).await, "closed now");
    let up = upload_closed_greeting(&admin, wav_bytes(&sine(700.0, 44100, 2.0), 44100)).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    let samples = carrier_hears("4957770012", &user).await;
    let tone = tone_power(&samples, 8000, 700.0);
    let other = tone_power(&samples, 8000, 440.0) + tone_power(&samples, 8000, 1000.0);
    assert!(tone > 20.0 * other, "the caller heard the 700 Hz closed greeting ({tone:.3e} vs {other:.3e})");
    let c = crate::calls::wait_ended(t.id, 2).await;
    assert_eq!(c["result"], "missed", "{c}");
    assert!(c["reason"].as_str().unwrap_or_default().contains("closed: holiday Diwali"), "{c}");
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "nobody rang while closed");

    // Outside the hours (open another weekday only), no closed greeting: refused unanswered, 480.
    assert_eq!(admin.delete("/api/telephony/hours/greeting").await.status, StatusCode::NO_CONTENT);
    let elsewhere = json!({"day": today % 7 + 1, "from": "00:00", "to": "24:00"});
    put_hours(&admin, json!({"enabled": true, "time_zone": ZONE, "weekly": [elsewhere]})).await;
    assert!(!open_now(&admin).await, "closed now");
    let (status, sip) = carrier_dial_report("4957770013", &user).await;
    assert_eq!(status, "NOANSWER", "closed: never answered ({sip})");
    assert!(sip.starts_with("SIP 480"), "{sip}");
    let c = crate::calls::wait_ended(t.id, 3).await;
    assert!(c["reason"].as_str().unwrap_or_default().starts_with("closed ("), "{c}");
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "nobody rang while closed");
}
