//! Call parking (issue #18) against the real Asterisk and carrier: two agents' desk-phone calls
//! through the trunk are parked (the second asks for the first's slot and gets the next free one);
//! every telephony user sees them listed (masked by their rules), another tenant sees nothing; a
//! third agent dials `*8<slot>` and takes the first call (the record lists both agents); the second,
//! not picked up within the park timeout, rings the agent who parked it, who answers. After a kill
//! -9 of the server running a parked call, the other replica keeps it parked and a pickup works.

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::sip::RingingPhone;
use callbase_tests::{unique, Browser};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;
use uuid::Uuid;

use crate::adoption::{
    carrier_hangs_up_and_the_record_ends, ended_record, holder_and_standby, wait_stasis_holder,
    HolderAndStandby,
};
use crate::consult::{bridge_holds, colleague};
use crate::users::create_user;

/// The tenant's answered, open calls once there are `n`, oldest first.
async fn live_calls(tenant: i64, n: usize) -> Vec<Uuid> {
    let pool = callbase_tests::worker_pool().await;
    let start = Instant::now();
    loop {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM calls WHERE tenant_id = $1 AND answered_at IS NOT NULL AND ended_at IS NULL \
             AND recording_state = 'recording' ORDER BY started_at",
        )
        .bind(tenant)
        .fetch_all(&pool)
        .await
        .unwrap();
        if rows.len() == n {
            return rows.into_iter().map(|(id,)| id).collect();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{} answered calls, not {n}", rows.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The call's phase and parking slot once `done` says so.
async fn wait_call(
    id: Uuid,
    what: &str,
    done: impl Fn(&str, Option<i16>) -> bool,
) -> (String, Option<i16>, Option<i64>) {
    let pool = callbase_tests::worker_pool().await;
    let start = Instant::now();
    loop {
        let (phase, slot, user): (Option<String>, Option<i16>, Option<i64>) =
            sqlx::query_as("SELECT phase, park_slot, user_id FROM calls WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        let phase = phase.unwrap_or_default();
        if done(&phase, slot) {
            return (phase, slot, user);
        }
        assert!(start.elapsed() < Duration::from_secs(20), "call {id} {what}: phase {phase}, slot {slot:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn park(b: &Browser, id: &Uuid, slot: Option<i16>) {
    let r = b.post(&format!("/api/calls/{id}/park"), json!({"slot": slot})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "park: {}", r.text);
}

fn slots(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|p| p["slot"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn parked_calls_are_listed_picked_up_from_their_slot_and_ring_the_parker_back() {
    let app = callbase_tests::TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let r = admin
        .put(
            "/api/telephony/routing",
            json!({"ring_timeout_secs": 8, "forward_number": null, "park_timeout_secs": 8}),
        )
        .await;
    assert_eq!((r.status, &r.body["park_timeout_secs"]), (StatusCode::OK, &json!(8)), "{}", r.text);
    let r = admin
        .put(
            "/api/telephony/routing",
            json!({"ring_timeout_secs": 8, "forward_number": null, "park_timeout_secs": 2}),
        )
        .await;
    assert_eq!(r.body["code"], "invalid_park_timeout", "{}", r.text);
    // Boris's desk phone answers what rings it; he calls out with sipp too.
    let (boris, _, b_login, b_pw) = colleague(&admin, "boris").await;
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let boris_phone = RingingPhone::answering(platform, &b_login, &b_pw, Duration::from_secs(60)).await;
    let (olga, _, o_login, o_pw) = colleague(&admin, "olga").await;
    let maria = app.browser();
    create_user(&admin, "maria", &[]).await;
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);
    let (other_admin, _) = app.telephony_tenant().await;

    let _a = tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 60_000).await });
    let first = live_calls(t.id, 1).await[0];
    let (bl, bp) = (b_login.clone(), b_pw.clone());
    let _b = tokio::spawn(async move { sipp_call_talking(&bl, &bp, "1234567", 200, 60_000).await });
    let both = live_calls(t.id, 2).await;
    let second = *both.iter().find(|c| **c != first).unwrap();
    let boris_browser = app.browser();
    assert_eq!(boris_browser.login(&t.account, "boris", "Agent-pass-12345").await.status, StatusCode::OK);

    // Bad input: nothing happens to the calls.
    let r = admin.post(&format!("/api/calls/{first}/park"), json!({"slot": 21})).await;
    assert_eq!(r.body["code"], "invalid_slot", "{}", r.text);
    let r = maria.post(&format!("/api/calls/{first}/park"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not maria's call: {}", r.text);
    let r = other_admin.post(&format!("/api/calls/{first}/park"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant's call: {}", r.text);

    // The boss parks his call in slot 3: the customer waits alone, the boss's leg ends.
    park(&admin, &first, Some(3)).await;
    wait_call(first, "parked", |p, s| p == "parked" && s == Some(3)).await;
    bridge_holds(&format!("b-{first}"), 1, "the customer waits alone").await;
    // A parked call is nobody's to transfer, pause or park again.
    for (path, body) in [
        ("transfer", json!({"target": "1234567"})),
        ("park", json!({})),
        ("consult", json!({"target": "1234567"})),
    ] {
        let r = admin.post(&format!("/api/calls/{first}/{path}"), body).await;
        assert_eq!(r.body["code"], "not_connected", "{path} a parked call: {}", r.text);
    }
    let r = admin.put(&format!("/api/calls/{first}/recording/paused"), json!({"paused": true})).await;
    assert_eq!(r.body["code"], "not_connected", "pause a parked call's recording: {}", r.text);
    // Boris asks for slot 3 too: he gets the next free one.
    park(&boris_browser, &second, Some(3)).await;
    wait_call(second, "parked", |p, s| p == "parked" && s == Some(4)).await;
    let list = boris_browser.get("/api/telephony/parked").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(slots(&list.body), [3, 4], "{}", list.body);
    assert_eq!(list.body[0]["number"], "+74951234567", "{}", list.body);
    assert_eq!(list.body[0]["parked_by_name"], "Boss", "{}", list.body);
    assert_eq!(other_admin.get("/api/telephony/parked").await.body, json!([]), "another tenant's parking");
    assert_eq!(
        maria.get("/api/telephony/parked").await.status,
        StatusCode::FORBIDDEN,
        "not a telephony user"
    );

    // The customer waits a moment (hold time), then Olga dials *83 from her desk phone: she takes
    // the boss's call.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pickup = tokio::spawn(async move { sipp_call_talking(&o_login, &o_pw, "*83", 200, 10_000).await });
    let (_, slot, user) = wait_call(first, "picked up", |p, _| p == "talking").await;
    assert_eq!((slot, user), (None, Some(olga)), "Olga's call now, out of its slot");
    bridge_holds(&format!("b-{first}"), 2, "the customer and Olga").await;
    let list = admin.get("/api/telephony/parked").await.body;
    assert_eq!(slots(&list), [4], "{list}");
    // Nothing parked in slot 9: the pickup is refused.
    let (_, _, o2_login, o2_pw) = colleague(&admin, "oleg").await;
    let (ok, _) = sipp_call_talking(&o2_login, &o2_pw, "*89", 200, 500).await;
    assert!(!ok, "an empty slot cannot be picked up");

    // Boris's call waits 8 s, then rings his desk phone, which answers: it is his again.
    let (_, slot, user) = wait_call(second, "rung back", |p, _| p == "talking").await;
    assert_eq!((slot, user), (None, Some(boris)));
    assert!(!boris_phone.invites.lock().unwrap().is_empty(), "Boris's phone rang");
    bridge_holds(&format!("b-{second}"), 2, "the customer and Boris").await;
    assert_eq!(admin.get("/api/telephony/parked").await.body, json!([]));

    let (ok, log) = pickup.await.unwrap();
    assert!(ok, "Olga talked to the customer and hung up:\n{log}");
    let rec = ended_record(&admin, first, Duration::from_secs(10)).await;
    assert_eq!(rec["agent_names"], json!(["Boss", "User olga"]), "{rec}");
    assert!(rec["hold_secs"].as_i64().unwrap() >= 1, "the wait in the slot is hold time: {rec}");
    carrier_hangs_up_and_the_record_ends(&admin, second).await;
}

/// The server running a parked call is killed: the other replica keeps the customer waiting in the
/// slot (not hung up as unknown) and a pickup through it works.
#[tokio::test]
async fn a_parked_call_survives_a_restart_and_is_picked_up() {
    let node = unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;
    let (olga, _, o_login, o_pw) = colleague(&admin, "olga").await;
    let _a = tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 60_000).await });
    let id = live_calls(tenant, 1).await[0];
    park(&admin, &id, None).await;
    wait_call(id, "parked", |p, s| p == "parked" && s == Some(1)).await;

    first.kill9();
    wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    tokio::time::sleep(callbase_telephony::call::ADOPTION_GRACE + Duration::from_secs(1)).await;
    bridge_holds(&format!("b-{id}"), 1, "the customer still waits after the takeover").await;
    assert_eq!(wait_call(id, "still parked", |p, _| p == "parked").await.1, Some(1));

    let pickup = tokio::spawn(async move { sipp_call_talking(&o_login, &o_pw, "*81", 200, 3_000).await });
    let (_, slot, user) = wait_call(id, "picked up", |p, _| p == "talking").await;
    assert_eq!((slot, user), (None, Some(olga)));
    let (ok, log) = pickup.await.unwrap();
    assert!(ok, "Olga talked and hung up:\n{log}");
    ended_record(&admin, id, Duration::from_secs(10)).await;
}
