//! Queues (issue #19, item 1) and each trunk's first step (item 3). The settings: checked field by
//! field, administrators only, per tenant. Against the real carrier and Asterisk: callers wait in
//! line with music and hear their place, the next caller is connected when the agent frees up, a
//! caller who gives up is counted as abandoned, and the strategies pick the expected agent.

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, carrier_calls, carrier_hears};
use callbase_tests::sip::RingingPhone;
use callbase_tests::{env, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::recordings::tone_power;

fn queue(name: &str, strategy: &str, members: Value) -> Value {
    json!({"name": name, "strategy": strategy, "ring_secs": 8, "max_wait_secs": 120, "max_callers": 10,
           "announce_position": true, "service_level_secs": 20, "overflow": "missed", "members": members})
}

async fn create(admin: &Browser, body: Value) -> i64 {
    let r = admin.post("/api/telephony/queues", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// Sets the first step of the tenant's first trunk.
async fn first_step(admin: &Browser, body: Value) {
    let trunk = admin.get("/api/telephony/first-steps").await.body[0]["id"].clone();
    let r = admin.put(&format!("/api/telephony/first-steps/{trunk}"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn queues_are_checked_field_by_field_kept_per_tenant_and_a_deleted_first_step_is_shown_gone() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other, other_t) = app.telephony_tenant().await;
    let me = json!([{"user": t.admin_id}]);
    let id = create(&admin, queue("Sales", "round_robin", me.clone())).await;

    // Each bad input answers 422 (or 409) naming the field; nothing is saved.
    let mut bad = vec![];
    for (field, value, code) in [
        ("name", json!(""), "invalid_name"),
        ("strategy", json!("random"), "invalid_strategy"),
        ("ring_secs", json!(2), "invalid_ring_secs"),
        ("max_wait_secs", json!(99999), "invalid_max_wait"),
        ("max_callers", json!(0), "invalid_max_callers"),
        ("service_level_secs", json!(1), "invalid_service_level"),
        ("overflow", json!("elsewhere"), "invalid_overflow"),
        ("overflow", json!("forward"), "invalid_overflow_number"),
        ("members", json!([]), "no_members"),
        ("members", json!([{"user": t.admin_id}, {"group": 999_999}]), "unknown_member"),
    ] {
        let mut body = queue("Support", "ring_all", me.clone());
        body[field] = value;
        bad.push((field, body, code));
    }
    let mut foreign = queue("Support", "ring_all", json!([]));
    foreign["members"] = json!([{"user": other_t.admin_id}]);
    bad.push(("members", foreign, "unknown_member"));
    for (field, body, code) in bad {
        let r = admin.post("/api/telephony/queues", body.clone()).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{field}: {}",
            r.text
        );
        let says = r.body["message"].as_str().unwrap_or_default().to_string();
        assert!(says.starts_with(field), "the message names {field}: {says}");
        // The same body changing the existing queue is refused too, and the queue stays.
        let r = admin.put(&format!("/api/telephony/queues/{id}"), body).await;
        assert_eq!(r.body["code"], code, "{}", r.text);
    }
    let r = admin.post("/api/telephony/queues", queue("Sales", "ring_all", me.clone())).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_name")));
    let all = admin.get("/api/telephony/queues").await.body;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(
        (all[0]["name"].as_str(), all[0]["strategy"].as_str(), &all[0]["members"]),
        (Some("Sales"), Some("round_robin"), &me)
    );

    // Another tenant neither sees, changes nor deletes it, and cannot route a trunk to it.
    assert_eq!(other.get("/api/telephony/queues").await.body, json!([]));
    let r = other.put(&format!("/api/telephony/queues/{id}"), queue("Mine", "ring_all", json!([]))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(other.delete(&format!("/api/telephony/queues/{id}")).await.status, StatusCode::NOT_FOUND);
    // Members must be telephony users: a plain user of the tenant is refused.
    let agent = app.browser();
    let plain = crate::users::create_user(&admin, "plain", &[]).await["id"].clone();
    assert_eq!(agent.login(&t.account, "plain", "Agent-pass-12345").await.status, StatusCode::OK);
    let r = admin.post("/api/telephony/queues", queue("Plain", "ring_all", json!([{"user": plain}]))).await;
    assert_eq!(r.body["code"], "unknown_member", "{}", r.text);
    // Administrators only.
    assert_eq!(agent.get("/api/telephony/queues").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        agent.post("/api/telephony/queues", queue("X", "ring_all", me.clone())).await.status,
        StatusCode::FORBIDDEN
    );

    // A trunk's first step: a queue of the tenant; another tenant's queue or a bad step is refused.
    let r = admin
        .post("/api/trunks", callbase_tests::calls::trunk_body("queue-test-trunk", "secret-Password-1"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let steps = admin.get("/api/telephony/first-steps").await.body;
    assert_eq!((steps[0]["step"].as_str(), &steps[0]["gone"]), (Some("ring_all"), &json!(false)), "{steps}");
    let slot = steps[0]["id"].as_i64().unwrap();
    for body in [
        json!({"step": "queue", "queue_id": 999_999}),
        json!({"step": "queue"}),
        json!({"step": "user", "user_id": plain}),
        json!({"step": "menu"}),
    ] {
        let r = admin.put(&format!("/api/telephony/first-steps/{slot}"), body.clone()).await;
        assert_eq!(r.body["code"], "invalid_first_step", "{body}: {}", r.text);
    }
    let r = other
        .put(&format!("/api/telephony/first-steps/{slot}"), json!({"step": "queue", "queue_id": id}))
        .await;
    assert_ne!(r.status, StatusCode::NO_CONTENT, "another tenant routed our trunk: {}", r.text);
    first_step(&admin, json!({"step": "queue", "queue_id": id})).await;
    let steps = admin.get("/api/telephony/first-steps").await.body;
    assert_eq!((steps[0]["step"].as_str(), &steps[0]["queue_id"]), (Some("queue"), &json!(id)), "{steps}");
    assert_eq!(steps[0]["gone"], false);
    // Deleting the queue: the trunk's calls ring everyone, and the administrator is told.
    assert_eq!(admin.delete(&format!("/api/telephony/queues/{id}")).await.status, StatusCode::NO_CONTENT);
    let steps = admin.get("/api/telephony/first-steps").await.body;
    assert_eq!((steps[0]["step"].as_str(), &steps[0]["gone"]), (Some("queue"), &json!(true)), "{steps}");
    assert_eq!(admin.get("/api/telephony/queues").await.body, json!([]));
}

/// A one-member queue as the trunk's first step, its member's desk phone answering every call and
/// hanging up `talk` later, and a first caller (`+79160000001`) already talking to them: the
/// member is busy. Returns the queue and the phone.
async fn busy_one_agent_queue(
    admin: &Browser,
    member: &Value,
    login: &str,
    password: &str,
    talk: u64,
    callback: bool,
) -> (i64, RingingPhone) {
    let mut body = queue("Support", "ring_all", json!([{"user": member}]));
    body["callback"] = json!(callback);
    let id = create(admin, body).await;
    first_step(admin, json!({"step": "queue", "queue_id": id})).await;
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::answering(platform, login, password, Duration::from_secs(talk)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    carrier_calls("4957770001", &env("CALLBASE_CARRIER_TRUNK_USER"), "9998", "79160000001").await;
    let start = Instant::now();
    while phone.invites.lock().unwrap().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the agent's phone never rang");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (id, phone)
}

/// A call row of the tenant by caller number (the newest).
async fn call_of(
    tenant: i64,
    number: &str,
) -> Option<(Option<String>, Option<String>, Option<i32>, Option<i64>)> {
    let pool = callbase_tests::worker_pool().await;
    sqlx::query_as(
        "SELECT result, queue_outcome, queue_wait_ms, queue_id FROM calls
         WHERE tenant_id = $1 AND number = $2 ORDER BY started_at DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(number)
    .fetch_optional(&pool)
    .await
    .unwrap()
}

async fn wait_ended(
    tenant: i64,
    number: &str,
    within: Duration,
) -> (Option<String>, Option<String>, Option<i32>, Option<i64>) {
    let start = Instant::now();
    loop {
        if let Some(c) = call_of(tenant, number).await.filter(|c| c.0.is_some()) {
            return c;
        }
        assert!(
            start.elapsed() < within,
            "the call from {number} did not end: {:?}",
            call_of(tenant, number).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn three_callers_in_a_one_agent_queue_wait_their_turn_hear_their_place_and_one_gives_up() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    // The first caller rings the agent at once and is answered; the agent hangs up 9 s later.
    let (id, phone) = busy_one_agent_queue(&admin, &json!(t.admin_id), &login, &password, 9, false).await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    // Second caller (first in line): the carrier records what it hears until the call ends.
    let heard = tokio::spawn({
        let user = user.clone();
        async move { carrier_hears("4957770001", &user).await }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Third caller: second in line, gives up 5 s after the answer.
    carrier_calls("4957770001", &user, "9994", "79160000003").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let board = admin.get("/api/telephony/board").await.body;
    let q = board["queues"].as_array().unwrap().iter().find(|q| q["queue_id"] == id).cloned().unwrap();
    assert_eq!(q["waiting"], 2, "two callers wait while the agent talks: {q}");
    let queued: Vec<&Value> =
        board["calls"].as_array().unwrap().iter().filter(|c| c["phase"] == "queued").collect();
    assert_eq!(queued.len(), 2, "{board}");
    assert!(queued.iter().all(|c| c["queue_id"] == id));
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "the busy agent is not rung again");

    // The third caller gives up: abandoned. The agent frees up: the second caller is connected.
    let third = wait_ended(t.id, "+79160000003", Duration::from_secs(15)).await;
    assert_eq!((third.0.as_deref(), third.1.as_deref()), (Some("missed"), Some("abandoned")), "{third:?}");
    let first = wait_ended(t.id, "+79160000001", Duration::from_secs(15)).await;
    assert_eq!((first.0.as_deref(), first.1.as_deref()), (Some("answered"), Some("answered")), "{first:?}");
    assert!(first.2.unwrap() < 3000, "the first caller hardly waited: {first:?}");
    let second = wait_ended(t.id, "+79161234567", Duration::from_secs(30)).await;
    assert_eq!(
        (second.0.as_deref(), second.1.as_deref()),
        (Some("answered"), Some("answered")),
        "{second:?}"
    );
    assert!(second.2.unwrap() >= 4000, "the second caller waited for the agent: {second:?}");
    assert_eq!(phone.invites.lock().unwrap().len(), 2, "the agent's phone rang once per caller connected");

    // The second caller heard its place ("you are next": speech, not the hold music's two notes)
    // and then the music.
    let pcm = heard.await.unwrap();
    let secs = pcm.len() as f64 / 8000.0;
    assert!(secs > 6.0, "the call lasted past the prompt: {secs:.1} s");
    let (speech, music) = prompt_and_music(&pcm, 8000);
    assert!(speech >= 3.0, "the position prompt (about 5 s of speech) was heard: {speech:.1} s of speech");
    assert!(music >= 1.0, "the hold music was heard: {music:.1} s");

    // The board's figures for today: three offered, two answered, one abandoned.
    let board = admin.get("/api/telephony/board").await.body;
    let q = board["queues"].as_array().unwrap().iter().find(|q| q["queue_id"] == id).cloned().unwrap();
    assert_eq!(
        (&q["offered"], &q["answered"], &q["abandoned"], &q["waiting"]),
        (&json!(3), &json!(2), &json!(1), &json!(0)),
        "{q}"
    );
    assert_eq!(q["answered_in_time"], 2, "both answered within 20 s: {q}");
}

/// Seconds of speech-like sound (loud, little of the hold music's 444/333 Hz) and of hold music
/// (mostly those notes) in `pcm`, by 250 ms windows.
fn prompt_and_music(pcm: &[i16], rate: u32) -> (f64, f64) {
    let win = 0.25;
    let (mut speech, mut music) = (0.0, 0.0);
    let mut at = 0.0;
    while (at + win) * f64::from(rate) < pcm.len() as f64 {
        let (a, b) = ((at * f64::from(rate)) as usize, ((at + win) * f64::from(rate)) as usize);
        let energy: f64 = pcm[a..b].iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
        if energy / (b - a) as f64 > 1.0e4 {
            // Goertzel power at the music's notes against the window's energy.
            let notes =
                tone_power(pcm, rate, 444.0, at, at + win) + tone_power(pcm, rate, 333.0, at, at + win);
            // tone_power is per sample: a pure note's share of the window's energy is about 1.
            let share = 2.0 * notes / energy;
            if share > 0.3 {
                music += win;
            } else if share < 0.2 {
                speech += win;
            }
        }
        at += win;
    }
    (speech, music)
}

#[tokio::test]
async fn round_robin_and_longest_idle_each_pick_the_expected_agent_among_three_desk_phones() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, _, _) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let mut agents = vec![];
    for name in ["anna", "boris", "vera"] {
        let (_b, uid, login, password) =
            crate::agent_states::desk_agent(&app, &admin, &t.account, name).await;
        let phone = RingingPhone::answering(platform, &login, &password, Duration::from_secs(1)).await;
        agents.push((name, uid, phone));
    }
    // Only the three agents are members (the administrator is not).
    let members: Vec<Value> = agents.iter().map(|(_, uid, _)| json!({"user": uid})).collect();
    let id = create(&admin, queue("Line", "round_robin", json!(members))).await;
    first_step(&admin, json!({"step": "queue", "queue_id": id})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");

    // Which agent's phone rings for the next call (each answers and hangs up after 1 s).
    let mut n = 0;
    let mut next_call = |agents: &Vec<(&'static str, i64, RingingPhone)>| {
        n += 1;
        let before: Vec<usize> = agents.iter().map(|(_, _, p)| p.invites.lock().unwrap().len()).collect();
        let number = format!("7916000{n:04}");
        let user = user.clone();
        let tenant = t.id;
        async move {
            carrier_calls("4957770001", &user, "9998", &number).await;
            let (_, _, _, _) = wait_ended(tenant, &format!("+{number}"), Duration::from_secs(20)).await;
            before
        }
    };
    let mut picked = vec![];
    for _ in 0..4 {
        let before = next_call(&agents).await;
        let rang: Vec<&str> = agents
            .iter()
            .zip(&before)
            .filter(|((_, _, p), b)| p.invites.lock().unwrap().len() > **b)
            .map(|((name, _, _), _)| *name)
            .collect();
        assert_eq!(rang.len(), 1, "one agent rings per call: {rang:?}");
        picked.push(rang[0]);
    }
    // Users are created in this order, so their ids ascend: round robin goes round them.
    assert_eq!(picked, ["anna", "boris", "vera", "anna"], "round robin");

    // Longest idle: Boris's last call ended longest ago, then Vera's, then Anna's.
    let mut body = queue(
        "Line",
        "longest_idle",
        json!(agents.iter().map(|(_, uid, _)| json!({"user": uid})).collect::<Vec<_>>()),
    );
    body["ring_secs"] = json!(8);
    let r = admin.put(&format!("/api/telephony/queues/{id}"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut picked = vec![];
    for _ in 0..3 {
        let before = next_call(&agents).await;
        let rang: Vec<&str> = agents
            .iter()
            .zip(&before)
            .filter(|((_, _, p), b)| p.invites.lock().unwrap().len() > **b)
            .map(|((name, _, _), _)| *name)
            .collect();
        assert_eq!(rang.len(), 1, "one agent rings per call: {rang:?}");
        picked.push(rang[0]);
    }
    assert_eq!(picked, ["boris", "vera", "anna"], "longest idle");
}

/// The server running the calls is killed (SIGKILL) while one caller talks to the queue's only
/// agent and another waits in line: the node's other replica adopts both — the waiting caller goes
/// back to its place (its `queued_at` kept) and is connected when the agent frees up.
#[tokio::test]
async fn a_caller_waiting_in_a_queue_survives_a_restart_and_keeps_its_place() {
    use crate::adoption::{holder_and_standby, wait_stasis_holder, HolderAndStandby};
    let node = callbase_tests::unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;
    let me = admin.get("/api/telephony").await.body["me"]["user_id"].clone();
    let (_, phone) = busy_one_agent_queue(&admin, &me, &login, &password, 10, false).await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    carrier_calls("4957770001", &user, "9998", "79160000002").await;
    let pool = callbase_tests::worker_pool().await;
    let waiting = || async {
        sqlx::query_as::<_, (Option<String>, Option<time::OffsetDateTime>)>(
            "SELECT phase, queued_at FROM calls WHERE tenant_id = $1 AND number = '+79160000002' AND ended_at IS NULL",
        )
        .bind(tenant)
        .fetch_optional(&pool)
        .await
        .unwrap()
    };
    let start = Instant::now();
    let queued_at = loop {
        if let Some((Some(p), Some(at))) = waiting().await {
            if p == "queued" {
                break at;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the second caller never waited in line");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    first.kill9();
    // The kill may land after the caller's bridge was made and before the record named it: the
    // record names none, and `b-<call id>` is still taken in Asterisk (it is anyway for ~2 s after
    // the new controller deletes it: CI lost the caller to that on 2026-12-07).
    sqlx::query("UPDATE calls SET bridge_id = NULL WHERE tenant_id = $1 AND number = '+79160000002' AND ended_at IS NULL")
        .bind(tenant)
        .execute(&pool)
        .await
        .unwrap();
    wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    tokio::time::sleep(callbase_telephony::call::ADOPTION_GRACE + Duration::from_secs(1)).await;
    let (phase, kept) = waiting().await.expect("the waiting caller is still there after the takeover");
    assert_eq!((phase.as_deref(), kept), (Some("queued"), Some(queued_at)), "back in its place in line");
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "the busy agent is not rung meanwhile");

    // The agent hangs up the first call (10 s after answering it): the waiting caller rings them.
    let second = wait_ended(tenant, "+79160000002", Duration::from_secs(40)).await;
    assert_eq!(
        (second.0.as_deref(), second.1.as_deref()),
        (Some("answered"), Some("answered")),
        "{second:?}"
    );
    assert!(second.2.unwrap() >= 6000, "it waited for the agent across the restart: {second:?}");
    assert_eq!(phone.invites.lock().unwrap().len(), 2, "the agent's phone rang for the second caller");
    let first_call = wait_ended(tenant, "+79160000001", Duration::from_secs(5)).await;
    assert_eq!(first_call.0.as_deref(), Some("answered"), "{first_call:?}");
}

/// Issue #19, item 5: a caller waiting in a queue that offers callbacks presses 1 (over the
/// position prompt), hears "thank you" and the call ends; when the agent frees up, their phone
/// rings first and then the caller's number is dialled through the trunk. The missed call is on
/// the worklist until then, and afterwards says who called back and when.
#[tokio::test]
async fn a_queued_caller_who_presses_1_is_called_back_when_the_agent_frees_up() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let (_, phone) = busy_one_agent_queue(&admin, &json!(t.admin_id), &login, &password, 8, true).await;
    // The second caller presses 1 1.5 s after being answered, over the position prompt.
    crate::menus::carrier_presses("1", "79160000031").await;
    let asked = wait_ended(t.id, "+79160000031", Duration::from_secs(15)).await;
    assert_eq!((asked.0.as_deref(), asked.1.as_deref()), (Some("missed"), Some("callback")), "{asked:?}");
    let worklist = admin.get("/api/calls?called_back=false").await.body;
    assert!(
        worklist["items"].as_array().unwrap().iter().any(|c| c["number"] == "+79160000031"),
        "the missed call waits to be called back: {worklist}"
    );
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "nobody is called back while the agent talks");

    // The agent hangs up the first call 8 s in: their phone rings for the callback, then the
    // caller's number is dialled as the agent's call.
    let pool = callbase_tests::worker_pool().await;
    let start = Instant::now();
    let (state, user_id, call_id) = loop {
        let row: (String, Option<i64>, Option<uuid::Uuid>) =
            sqlx::query_as("SELECT state, user_id, call_id FROM queue_callbacks WHERE tenant_id = $1")
                .bind(t.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        if row.0 == "done" {
            break row;
        }
        assert!(start.elapsed() < Duration::from_secs(40), "the callback was not dialled: {row:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!((state.as_str(), user_id), ("done", Some(t.admin_id)));
    assert_eq!(phone.invites.lock().unwrap().len(), 2, "the agent's phone rang first for the callback");
    let (direction, number, agent): (String, String, Option<i64>) =
        sqlx::query_as("SELECT direction, number, user_id FROM calls WHERE id = $1")
            .bind(call_id.unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((direction.as_str(), number.as_str(), agent), ("outbound", "+79160000031", Some(t.admin_id)));
    // The worklist: called back, by whom and when.
    let done = admin.get("/api/calls?called_back=true").await.body;
    let missed = done["items"].as_array().unwrap().iter().find(|c| c["number"] == "+79160000031").cloned();
    let missed = missed.unwrap_or_else(|| panic!("the missed call is listed as called back: {done}"));
    assert!(missed["called_back_by"].as_str().is_some_and(|n| !n.is_empty()), "{missed}");
    assert!(missed["called_back_at"].is_string(), "{missed}");
    let open = admin.get("/api/calls?called_back=false").await.body;
    assert!(!open["items"].as_array().unwrap().iter().any(|c| c["number"] == "+79160000031"), "{open}");
}
