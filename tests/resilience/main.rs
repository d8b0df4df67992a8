//! Trunks survive their carrier and the platform Asterisk going away. These tests stop and start
//! the test stack's Asterisks (through `infra/ast`), so `infra/test` runs this binary on its own,
//! after the other suites, one test at a time.

use std::path::PathBuf;
use std::time::Duration;

mod node_recordings;
mod nodes;
mod recordings;

use callbase_tests::{env, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) fn infra_ast(instance: &str, action: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/ast");
    let out = std::process::Command::new(script)
        .args([&env("CALLBASE_STACK"), instance, action])
        .output()
        .expect("infra/ast runs");
    assert!(out.status.success(), "infra/ast {instance} {action}: {}", String::from_utf8_lossy(&out.stderr));
}

async fn state_of(b: &Browser, id: &Value) -> Value {
    let list = b.get("/api/trunks").await;
    list.body.as_array().unwrap().iter().find(|t| &t["id"] == id).cloned().expect("trunk listed")
}

async fn wait_for(b: &Browser, id: &Value, state: &str, within: Duration) -> Value {
    let start = tokio::time::Instant::now();
    loop {
        let t = state_of(b, id).await;
        if t["status"]["state"] == state {
            return t;
        }
        assert!(start.elapsed() < within, "not {state} within {within:?}: {t}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn registered_trunk(app: &TestApp, user: &str, password: &str) -> (Browser, Value) {
    let (admin, _) = app.telephony_tenant().await;
    let r = admin.post("/api/trunks", json!({"mode": "simple", "username": user, "password": password, "domain": env("CALLBASE_CARRIER_SIP")})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].clone();
    wait_for(&admin, &id, "registered", Duration::from_secs(15)).await;
    (admin, id)
}

fn monitored() -> [(&'static str, &'static str); 2] {
    [("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"), ("CALLBASE__WORKERS__RECONCILE_SECS", "5")]
}

#[tokio::test]
async fn a_stopped_carrier_turns_the_trunk_red_and_its_return_green_within_60s() {
    let app = TestApp::spawn_with(&monitored()).await;
    let (admin, id) = registered_trunk(
        &app,
        &env("CALLBASE_CARRIER_TENANT_A_USER"),
        &env("CALLBASE_CARRIER_TENANT_A_PASSWORD"),
    )
    .await;

    infra_ast("carrier", "stop");
    let red = wait_for(&admin, &id, "unregistered", Duration::from_secs(45)).await;
    assert_eq!(red["status"]["reason"], callbase_telephony::registrations::NO_ANSWER);

    let back = tokio::time::Instant::now();
    infra_ast("carrier", "start");
    wait_for(&admin, &id, "registered", Duration::from_secs(60)).await;
    println!("carrier back → trunk green in {:?}", back.elapsed());
    admin.delete(&format!("/api/trunks/{id}")).await;
}

#[tokio::test]
async fn after_a_platform_asterisk_restart_every_trunk_registers_again_within_60s() {
    let app = TestApp::spawn_with(&monitored()).await;
    let (a, ida) = registered_trunk(
        &app,
        &env("CALLBASE_CARRIER_TENANT_A_USER"),
        &env("CALLBASE_CARRIER_TENANT_A_PASSWORD"),
    )
    .await;
    let (b, idb) = registered_trunk(
        &app,
        &env("CALLBASE_CARRIER_TENANT_B_USER"),
        &env("CALLBASE_CARRIER_TENANT_B_PASSWORD"),
    )
    .await;
    let regs = [
        state_of(&a, &ida).await["registration"].as_str().unwrap().to_string(),
        state_of(&b, &idb).await["registration"].as_str().unwrap().to_string(),
    ];

    let restart = tokio::time::Instant::now();
    infra_ast("platform", "restart");
    // Asterisk itself must have the registrations back (not just a stale status in Redis)...
    let ami = callbase_tests::platform_ami().await;
    loop {
        let list = ami.outbound_registrations().await.unwrap_or_default();
        if regs.iter().all(|r| list.iter().any(|o| &o.id == r && o.status == "Registered")) {
            break;
        }
        assert!(restart.elapsed() < Duration::from_secs(60), "not re-registered within 60 s: {list:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // ...and the page shows it.
    wait_for(&a, &ida, "registered", Duration::from_secs(60).saturating_sub(restart.elapsed())).await;
    wait_for(&b, &idb, "registered", Duration::from_secs(60).saturating_sub(restart.elapsed())).await;
    println!("platform restart → both trunks registered in {:?}", restart.elapsed());
    a.delete(&format!("/api/trunks/{ida}")).await;
    b.delete(&format!("/api/trunks/{idb}")).await;
}

/// An Asterisk restart ends the calls it carried: once the Stasis app is connected again, the
/// record of a call cut by the restart is closed (not left "in progress") and the part of the
/// recording Asterisk wrote reaches S3 (issue 16 item 5).
#[tokio::test]
async fn a_platform_asterisk_restart_closes_the_records_of_the_calls_it_cut() {
    let mut o = monitored().to_vec();
    o.extend([
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ]);
    let app = TestApp::spawn_with(&o).await;
    let (admin, t, login, password) = callbase_tests::calls::agent_with_trunk(&app).await;
    let phone = tokio::spawn(async move {
        callbase_tests::calls::sipp_call_talking(&login, &password, "1234567", 200, 25_000).await
    });
    let pool = callbase_tests::worker_pool().await;
    let start = tokio::time::Instant::now();
    let id: uuid::Uuid = loop {
        let row: Option<(uuid::Uuid,)> =
            sqlx::query_as("SELECT id FROM calls WHERE tenant_id = $1 AND answered_at IS NOT NULL")
                .bind(t.id)
                .fetch_optional(&pool)
                .await
                .unwrap();
        if let Some((id,)) = row {
            break id;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the call was not answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restart = tokio::time::Instant::now();
    infra_ast("platform", "restart");
    let rec = loop {
        let r = admin.get(&format!("/api/calls/{id}")).await;
        if !r.body["ended_at"].is_null() {
            break r.body;
        }
        assert!(
            restart.elapsed() < Duration::from_secs(60),
            "the record of the cut call is still open 60 s after the restart: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!("record closed {:?} after the restart began: {rec}", restart.elapsed());
    assert_eq!(rec["result"], "answered", "{rec}");
    let talk = rec["talk_secs"].as_i64().unwrap_or(-1);
    assert!(talk >= 3, "the talk before the restart counts: {rec}");
    let stored = loop {
        let r = admin.get(&format!("/api/calls/{id}")).await;
        let state = r.body["recording"]["state"].clone();
        if state == "stored" || state == "failed" {
            break r.body;
        }
        assert!(restart.elapsed() < Duration::from_secs(90), "the recording never left {state}: {}", r.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(stored["recording"]["state"], "stored", "the recording Asterisk wrote is uploaded: {stored}");
    let _ = phone.await;
}
