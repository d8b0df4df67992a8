//! IVR menus (issue #19, item 3): checked field by field (a menu that loops to itself, a digit
//! used twice, another tenant's queue, a greeting that is not audio: 422 naming the field, nothing
//! saved), per tenant. Against the real carrier and Asterisk: the carrier presses keys (RFC 4733)
//! through a two-level menu to a queue and to a user.

use std::time::Duration;

use callbase_recordings::audio::{sine, wav_bytes};
use callbase_tests::calls::agent_with_trunk;
use callbase_tests::sip::RingingPhone;
use callbase_tests::{env, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

async fn upload_greeting(admin: &Browser, menu: i64, body: Vec<u8>) -> callbase_tests::Resp {
    let csrf = admin.csrf().await;
    admin
        .send(
            admin
                .request(reqwest::Method::PUT, &format!("/api/telephony/menus/{menu}/greeting"))
                .header("x-csrf-token", &csrf)
                .header("content-type", "audio/wav")
                .body(body),
        )
        .await
}

async fn create(admin: &Browser, body: Value) -> i64 {
    let r = admin.post("/api/telephony/menus", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

async fn queue(admin: &Browser, name: &str, member: i64) -> i64 {
    let r = admin
        .post(
            "/api/telephony/queues",
            json!({"name": name, "strategy": "ring_all", "ring_secs": 10, "members": [{"user": member}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn menus_are_checked_field_by_field_refuse_loops_and_stay_with_their_tenant() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other, other_t) = app.telephony_tenant().await;
    let q = queue(&admin, "Sales", t.admin_id).await;
    let theirs = queue(&other, "Theirs", other_t.admin_id).await;
    let main =
        create(&admin, json!({"name": "Main", "options": [{"digit": "1", "to": format!("queue:{q}")}]}))
            .await;
    let sub = create(&admin, json!({"name": "Sub", "fallback": format!("menu:{main}")})).await;

    let body = |name: &str, options: Value, fallback: &str| json!({"name": name, "options": options, "fallback": fallback});
    let cases = [
        (body("", json!([]), "ring_all"), "invalid_name", "name"),
        (json!({"name": "X", "timeout_secs": 1}), "invalid_timeout", "timeout_secs"),
        (json!({"name": "X", "retries": 9}), "invalid_retries", "retries"),
        (
            body("X", json!([{"digit": "12", "to": "ring_all"}]), "ring_all"),
            "invalid_digit",
            "options[0].digit",
        ),
        (
            body(
                "X",
                json!([{"digit": "1", "to": "ring_all"}, {"digit": "1", "to": "voicemail"}]),
                "ring_all",
            ),
            "duplicate_digit",
            "options[1].digit",
        ),
        (
            body("X", json!([{"digit": "1", "to": "somewhere"}]), "ring_all"),
            "invalid_destination",
            "options[0].to",
        ),
        (
            body("X", json!([{"digit": "1", "to": "hangup"}]), "ring_all"),
            "invalid_destination",
            "options[0].to",
        ),
        (
            body("X", json!([{"digit": "1", "to": format!("queue:{theirs}")}]), "ring_all"),
            "invalid_destination",
            "options[0].to",
        ),
        (
            body("X", json!([{"digit": "1", "to": "user:999999"}]), "ring_all"),
            "invalid_destination",
            "options[0].to",
        ),
        (body("X", json!([]), "menu:999999"), "invalid_destination", "fallback"),
        (
            body("X", json!([{"digit": "5", "to": "number:call me"}]), "ring_all"),
            "invalid_destination",
            "options[0].to",
        ),
    ];
    for (b, code, field) in &cases {
        let r = admin.post("/api/telephony/menus", b.clone()).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(*code)),
            "{b}: {}",
            r.text
        );
        let says = r.body["message"].as_str().unwrap_or_default();
        assert!(says.starts_with(field), "names {field}: {says}");
    }
    // A menu that loops to itself: a digit leading back to it, or fallbacks going round to it.
    let r = admin
        .put(
            &format!("/api/telephony/menus/{main}"),
            body("Main", json!([{"digit": "0", "to": format!("menu:{main}")}]), "ring_all"),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("menu_loop")),
        "{}",
        r.text
    );
    assert!(r.body["message"].as_str().unwrap().starts_with("options[0].to"), "{}", r.text);
    let r = admin
        .put(&format!("/api/telephony/menus/{main}"), body("Main", json!([]), &format!("menu:{sub}")))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("menu_loop")),
        "{}",
        r.text
    );
    assert!(r.body["message"].as_str().unwrap().starts_with("fallback"), "{}", r.text);
    // A digit leading to another menu and back by choice is no loop.
    let r = admin
        .put(
            &format!("/api/telephony/menus/{sub}"),
            body("Sub", json!([{"digit": "0", "to": format!("menu:{main}")}]), "hangup"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Nothing was saved by the refusals: Main still leads 1 to the queue.
    let all = admin.get("/api/telephony/menus").await.body;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let m = all.as_array().unwrap().iter().find(|m| m["id"] == main).unwrap();
    assert_eq!(
        (&m["options"], m["fallback"].as_str()),
        (&json!([{"digit": "1", "to": format!("queue:{q}"), "gone": false}]), Some("ring_all")),
        "{m}"
    );
    let r = admin.post("/api/telephony/menus", json!({"name": "Main"})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_name")));

    // The greeting: a file that is not audio is refused; a WAV is taken.
    let r = upload_greeting(&admin, main, b"not audio at all".to_vec()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_greeting")),
        "{}",
        r.text
    );
    let r = upload_greeting(&admin, main, wav_bytes(&sine(600.0, 8000, 1.0), 8000)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(admin.get("/api/telephony/menus").await.body[0]["greeting"], true);

    // Another tenant neither sees, changes, deletes nor uploads to it, nor routes a trunk to it.
    assert_eq!(other.get("/api/telephony/menus").await.body, json!([]));
    assert_eq!(
        other.put(&format!("/api/telephony/menus/{main}"), json!({"name": "Mine"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(other.delete(&format!("/api/telephony/menus/{main}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        upload_greeting(&other, main, wav_bytes(&sine(600.0, 8000, 1.0), 8000)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = other
        .post("/api/trunks", callbase_tests::calls::trunk_body("menu-test-trunk", "secret-Password-1"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = other
        .put(
            &format!("/api/telephony/first-steps/{}", r.body["id"]),
            json!({"step": "menu", "menu_id": main}),
        )
        .await;
    assert_eq!(r.body["code"], "invalid_first_step", "{}", r.text);

    // Deleting the queue leaves the digit "gone" (it rings everyone) — the editor says so.
    assert_eq!(admin.delete(&format!("/api/telephony/queues/{q}")).await.status, StatusCode::NO_CONTENT);
    let m = admin.get("/api/telephony/menus").await.body;
    let m = m.as_array().unwrap().iter().find(|m| m["id"] == main).unwrap().clone();
    assert_eq!(
        (m["options"][0]["to"].as_str(), &m["options"][0]["gone"]),
        (Some("queue:"), &json!(true)),
        "{m}"
    );
}

/// Which user answered the newest call of the tenant from `number`, once it ended, and its queue.
async fn answered_by(tenant: i64, number: &str) -> (Option<String>, Option<i64>, Option<i64>) {
    let pool = callbase_tests::worker_pool().await;
    let start = Instant::now();
    loop {
        let row: Option<(Option<String>, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT result, user_id, queue_id FROM calls WHERE tenant_id = $1 AND number = $2 AND ended_at IS NOT NULL
             ORDER BY started_at DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(number)
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(r) = row {
            return r;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the call from {number} did not end");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The carrier calls through the trunk and presses `dtmf` 1.5 s after the answer.
pub(crate) async fn carrier_presses(dtmf: &str, caller_id: &str) {
    let ami = callbase_tests::carrier_ami().await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    let r = ami
        .action(
            "Originate",
            &[
                ("Channel", &format!("PJSIP/4957770001@{user}")),
                ("Context", "carrier-test"),
                ("Exten", "9993"),
                ("Priority", "1"),
                ("Async", "true"),
                ("CallerID", caller_id),
                ("Variable", &format!("DTMF={dtmf}")),
            ],
        )
        .await
        .expect("originate accepted");
    assert!(r.is_success(), "the carrier refused to originate: {r:?}");
}

#[tokio::test]
async fn the_carrier_presses_its_way_through_a_two_level_menu_to_a_queue_and_to_a_user() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let (_maria, maria, m_login, m_password) =
        crate::agent_states::desk_agent(&app, &admin, &t.account, "maria").await;
    let admin_phone = RingingPhone::answering(platform, &login, &password, Duration::from_secs(1)).await;
    let maria_phone = RingingPhone::answering(platform, &m_login, &m_password, Duration::from_secs(1)).await;
    let q = queue(&admin, "Support", t.admin_id).await;
    let sub = create(
        &admin,
        json!({"name": "Sales", "options": [{"digit": "1", "to": format!("queue:{q}")}, {"digit": "2", "to": format!("user:{maria}")}],
               "fallback": "hangup"}),
    )
    .await;
    let main = create(
        &admin,
        json!({"name": "Main", "options": [{"digit": "2", "to": format!("menu:{sub}")}], "timeout_secs": 4}),
    )
    .await;
    // The main menu's greeting is 3 s long: the first key, pressed 1.5 s in, cuts it short.
    let r = upload_greeting(&admin, main, wav_bytes(&sine(600.0, 8000, 3.0), 8000)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let trunk = admin.get("/api/telephony/first-steps").await.body[0]["id"].clone();
    let r = admin
        .put(&format!("/api/telephony/first-steps/{trunk}"), json!({"step": "menu", "menu_id": main}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 2 (to the second menu), then 1: the queue, whose only member is the administrator.
    carrier_presses("2wwww1", "79160000021").await;
    let (result, user, queue) = answered_by(t.id, "+79160000021").await;
    assert_eq!((result.as_deref(), user, queue), (Some("answered"), Some(t.admin_id), Some(q)));
    assert_eq!(
        (admin_phone.invites.lock().unwrap().len(), maria_phone.invites.lock().unwrap().len()),
        (1, 0)
    );

    // 2, then 2: Maria.
    carrier_presses("2wwww2", "79160000022").await;
    let (result, user, queue) = answered_by(t.id, "+79160000022").await;
    assert_eq!((result.as_deref(), user, queue), (Some("answered"), Some(maria), None));
    assert_eq!(
        (admin_phone.invites.lock().unwrap().len(), maria_phone.invites.lock().unwrap().len()),
        (1, 1)
    );

    // 2, then 7 (no such digit) twice and nothing more: the second menu's fallback hangs up.
    carrier_presses("2wwww7", "79160000023").await;
    let (result, user, _) = answered_by(t.id, "+79160000023").await;
    assert_eq!((result.as_deref(), user), (Some("missed"), None));
    assert_eq!(
        (admin_phone.invites.lock().unwrap().len(), maria_phone.invites.lock().unwrap().len()),
        (1, 1)
    );
}

/// Issue #19: an account's prompts in Russian. Asterisk has Debian's Russian core sounds beside the
/// English ones (its sounds API lists both languages for the queue, voicemail and menu prompts),
/// and a caller of an account set to Russian gets a channel whose language is `ru` — so every
/// `sound:` prompt is played from the Russian set. Another language is refused naming the field.
#[tokio::test]
async fn an_account_with_russian_prompts_gives_its_callers_a_russian_channel() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, _t, _, _) = agent_with_trunk(&app).await;
    let ari = callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk);
    for prompt in ["queue-youarenext", "queue-thereare", "vm-intro", "vm-press", "invalid", "auth-thankyou"] {
        let s =
            ari.call(reqwest::Method::GET, &format!("sounds/{prompt}"), &[], None).await.unwrap().unwrap();
        let langs: Vec<&str> =
            s["formats"].as_array().unwrap().iter().filter_map(|f| f["language"].as_str()).collect();
        assert!(langs.contains(&"en") && langs.contains(&"ru"), "{prompt} in English and Russian: {s}");
    }

    let mut routing = admin.get("/api/telephony/routing").await.body;
    assert_eq!(routing["prompt_language"], "en", "English unless the administrator chooses");
    routing["prompt_language"] = json!("de");
    let r = admin.put("/api/telephony/routing", routing.clone()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_prompt_language"))
    );
    assert_eq!(admin.get("/api/telephony/routing").await.body["prompt_language"], "en", "nothing saved");
    routing["prompt_language"] = json!("ru");
    let r = admin.put("/api/telephony/routing", routing).await;
    assert_eq!((r.status, r.body["prompt_language"].as_str()), (StatusCode::OK, Some("ru")), "{}", r.text);

    // A caller waits in a menu (no digits, 10 s) while Asterisk is asked about its channel.
    let main =
        create(&admin, json!({"name": "Main", "timeout_secs": 10, "retries": 0, "fallback": "hangup"})).await;
    let trunk = admin.get("/api/telephony/first-steps").await.body[0]["id"].clone();
    let r = admin
        .put(&format!("/api/telephony/first-steps/{trunk}"), json!({"step": "menu", "menu_id": main}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    callbase_tests::calls::carrier_calls(
        "4957770001",
        &env("CALLBASE_CARRIER_TRUNK_USER"),
        "9998",
        "79160000041",
    )
    .await;
    let start = Instant::now();
    let language = loop {
        let list = ari.call(reqwest::Method::GET, "channels", &[], None).await.unwrap().unwrap_or_default();
        let caller = list.as_array().into_iter().flatten().find(|c| {
            c["caller"]["number"].as_str().is_some_and(|n| n.ends_with("79160000041")) && c["state"] == "Up"
        });
        if let Some(c) = caller {
            break c["language"].as_str().unwrap_or_default().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the caller's channel never came up: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(language, "ru", "the caller's prompts are Russian");
}
