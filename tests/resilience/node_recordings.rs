//! Recordings on a platform node that dies (issue #17): the file is on the node's disk, so the
//! recording waits for the node (no failure, no retry storm) and reaches S3 when the node is back;
//! a node the operator declares gone takes its recordings with it, and the call record says so.
//! Both tests kill and restart the stack's `node2` (`infra/ast`), which is why they live in this
//! suite (one test at a time, after the others); a guard starts node2 again and sets it live even
//! when a test fails.

use std::time::Duration;

use callbase_recordings::uploader::{RecordingsConfig, Uploader};
use callbase_recordings::ObjectStore;
use callbase_telephony::nodes::Nodes;
use callbase_tests::calls::{desk_phone, sipp_call_via, wait_for_trunk};
use callbase_tests::nodes::{every_node_app, node_of, tenant_with_trunk_on_node2};
use callbase_tests::{env, unique, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::infra_ast;

/// Starts node2 again and sets it live when dropped (the end of a test, or its panic).
struct Node2Back;

impl Drop for Node2Back {
    fn drop(&mut self) {
        let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/ast");
        let out =
            std::process::Command::new(script).args([&env("CALLBASE_STACK"), "node2", "start"]).output();
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("node2 could not be started again: {out:?}");
        }
        // A runtime of its own: the test's may be gone (a panic) or busy (this is inside it).
        let _ = std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let pool = worker_pool().await;
                callbase_db::nodes::set_state(&pool, "node2", "live").await.unwrap();
            });
        })
        .join();
    }
}

/// A tenant on node2 with a registered trunk and a desk phone; returns the administrator, the
/// tenant, the trunk and the phone's login and password.
async fn tenant_on_node2(app: &TestApp) -> (Browser, callbase_tests::Tenant, Value, String, String) {
    let (admin, t, trunk) = tenant_with_trunk_on_node2(app).await;
    wait_for_trunk(&admin, &trunk["id"], "registered", Duration::from_secs(20)).await;
    let (login, password) = desk_phone(&admin, t.admin_id).await;
    (admin, t, trunk, login, password)
}

/// A recorded call of `talk_ms` through node2; returns its record once it has a result (its
/// recording is then queued for upload).
async fn recorded_call_on_node2(admin: &Browser, login: &str, password: &str, talk_ms: u64) -> Value {
    let (ok, log) = sipp_call_via(&env("CALLBASE_NODE2_SIP"), login, password, "1234567", 200, talk_ms).await;
    assert!(ok, "the call through node2 was answered:\n{log}");
    let start = tokio::time::Instant::now();
    loop {
        let list = admin.get("/api/calls?direction=outbound").await;
        let call = list.body["items"][0].clone();
        if call["recording"]["state"] == "pending" && !call["result"].is_null() {
            let node: Option<String> = sqlx::query_scalar("SELECT node FROM calls WHERE id = $1::uuid")
                .bind(call["id"].as_str().unwrap())
                .fetch_one(&worker_pool().await)
                .await
                .unwrap();
            assert_eq!(node.as_deref(), Some("node2"), "the call ran on node2");
            return call;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no queued recording after the call: {}",
            list.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The production uploader, started by the test once node2 is down (so it cannot upload before).
fn start_uploader(app: &TestApp, pool: sqlx::PgPool) -> tokio::sync::watch::Sender<bool> {
    let spool = std::env::temp_dir().join(unique("cb-spool-"));
    std::fs::create_dir_all(&spool).unwrap();
    let cfg = RecordingsConfig { spool_dir: spool, poll_ms: 200, retry_max_secs: 2, ..Default::default() };
    let up = Uploader {
        pool: pool.clone(),
        source: Nodes::new(&app.settings.asterisk, callbase_db::Db::new(pool)),
        store: ObjectStore::new(&app.settings.s3),
        cfg,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(up.run(stopped));
    stop
}

async fn call_record(admin: &Browser, id: &str) -> Value {
    let r = admin.get(&format!("/api/calls/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn attempts(id: &str) -> i32 {
    sqlx::query_scalar("SELECT recording_attempts FROM calls WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&worker_pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_recording_on_a_killed_node_waits_for_it_and_reaches_s3_when_the_node_is_back() {
    let _back = Node2Back;
    // The watcher marks node2 down after 4 s (its tenant moves to main meanwhile).
    let app = every_node_app(&[("CALLBASE__WORKERS__NODE_DOWN_SECS", "4")]).await;
    let pool = worker_pool().await;
    let (admin, t, trunk, login, password) = tenant_on_node2(&app).await;
    let call = recorded_call_on_node2(&admin, &login, &password, 3000).await;
    let id = call["id"].as_str().unwrap().to_string();

    infra_ast("node2", "kill");
    let killed = tokio::time::Instant::now();
    let _uploader = start_uploader(&app, pool.clone());
    // The recording waits for its node: not failed, not retried over and over, and the call record
    // says what it waits for.
    loop {
        let rec = call_record(&admin, &id).await;
        if rec["recording"]["state"] != "pending" {
            assert_eq!(rec["recording"]["state"], "waiting", "the recording waits for node2: {rec}");
            assert_eq!(rec["recording"]["reason"], "waiting for node node2, which does not answer");
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(10), "the recording is still pending: {rec}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // node2 is marked down by the watcher; meanwhile the uploader asks node2 every 2 s and counts
    // no attempt against the recording.
    loop {
        let state: String =
            sqlx::query_scalar("SELECT state FROM nodes WHERE id = 'node2'").fetch_one(&pool).await.unwrap();
        if state == "down" {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "node2 is not marked down: {state}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The watcher marks the node down, then moves its tenants (separate statements): wait for the move.
    let down = tokio::time::Instant::now();
    while node_of(t.id).await.as_deref() != Some("main") {
        assert!(down.elapsed() < Duration::from_secs(5), "the tenant did not move away from the dead node");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rec = call_record(&admin, &id).await;
    assert_eq!(rec["recording"]["state"], "waiting", "{rec}");
    assert_eq!(attempts(&id).await, 0, "waiting for a node is not an upload attempt");

    // node2 comes back (still `down` in the registry: only an operator sets it live): its disk
    // has the file, and the recording reaches S3.
    infra_ast("node2", "start");
    let back = tokio::time::Instant::now();
    let rec = loop {
        let rec = call_record(&admin, &id).await;
        if rec["recording"]["state"] == "stored" {
            break rec;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "not stored within 20 s of node2's return: {rec}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    println!("node2 back → recording stored in {:?}", back.elapsed());
    assert!(rec["recording"]["reason"].is_null(), "{rec}");
    let mp3 = admin
        .request(reqwest::Method::GET, &format!("/api/calls/{id}/recording?download=1"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (pcm, rate) = callbase_recordings::audio::decode_to_mono(&mp3).expect("the download decodes as mp3");
    let secs = pcm.len() as f64 / f64::from(rate);
    let at = |k: &str| {
        OffsetDateTime::parse(rec[k].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let call_secs = (at("ended_at") - at("answered_at")).as_seconds_f64();
    assert!((secs - call_secs).abs() < 1.0, "recording {secs:.2} s vs answered call {call_secs:.2} s");
    // The carrier keeps one contact per credential: the next tests' trunks need it.
    admin.delete(&format!("/api/trunks/{}", trunk["id"])).await;
}

#[tokio::test]
async fn recordings_on_a_node_declared_gone_are_marked_lost_and_the_calls_api_says_so() {
    let _back = Node2Back;
    let app = every_node_app(&[
        ("CALLBASE__WORKERS__NODE_DOWN_SECS", "3"),
        ("CALLBASE__HTTP__PLATFORM_TOKEN", "operator-secret"),
    ])
    .await;
    let pool = worker_pool().await;
    let operator = app.browser();
    let set_state = |node: &str, state: &str| {
        operator
            .request(reqwest::Method::PUT, &format!("/platform/nodes/{node}/state"))
            .bearer_auth("operator-secret")
            .json(&json!({ "state": state }))
    };
    let (admin, t, trunk, login, password) = tenant_on_node2(&app).await;
    // A node with tenants cannot be declared gone: they must move first.
    let r = operator.send(set_state("node2", "gone")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["code"], "node_has_tenants");

    let call = recorded_call_on_node2(&admin, &login, &password, 1500).await;
    let id = call["id"].as_str().unwrap().to_string();
    infra_ast("node2", "kill");
    let killed = tokio::time::Instant::now();
    let _uploader = start_uploader(&app, pool.clone());
    // The watcher moves the tenant away; then the operator says node2 will not come back.
    while node_of(t.id).await.as_deref() != Some("main") {
        assert!(killed.elapsed() < Duration::from_secs(30), "the tenant did not move off the dead node2");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let r = operator.send(set_state("node2", "gone")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["recordings_lost"].as_i64().unwrap() >= 1, "{}", r.text);

    let rec = call_record(&admin, &id).await;
    assert_eq!(rec["recording"]["state"], "lost", "{rec}");
    assert_eq!(rec["recording"]["reason"], "lost with node node2");
    let listed = admin.get("/api/calls?direction=outbound").await;
    assert_eq!(listed.body["items"][0]["recording"]["state"], "lost", "{}", listed.text);
    let play = admin.get(&format!("/api/calls/{id}/recording")).await;
    assert_eq!(play.status, StatusCode::NOT_FOUND, "a lost recording has nothing to play");

    // A gone node takes no tenant and leaves the edge's dispatcher view.
    let moved = operator
        .send(
            operator
                .request(reqwest::Method::PUT, &format!("/platform/tenants/{}/node", t.id))
                .bearer_auth("operator-secret")
                .json(&json!({"node": "node2"})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", moved.text);
    assert_eq!(moved.body["code"], "node_gone");
    let edge = sqlx::PgPool::connect(&env("CALLBASE_DATABASE_KAMAILIO_URL")).await.unwrap();
    let dispatched: Vec<String> =
        sqlx::query_scalar("SELECT description FROM kamailio.dispatcher").fetch_all(&edge).await.unwrap();
    assert!(!dispatched.contains(&"node2".to_string()), "the edge still dispatches to node2: {dispatched:?}");
    // node2 comes back later (the guard): the lost recording stays lost, nothing uploads it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(call_record(&admin, &id).await["recording"]["state"], "lost");
    admin.delete(&format!("/api/trunks/{}", trunk["id"])).await;
}
