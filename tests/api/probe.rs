//! The health probe's API (issue #8): the probe number and the trunk path's history are per
//! tenant, validated, admin-only, and the alert follows the latest results. Results are written
//! as the worker writes them (worker role, `callbase_db::probe::insert`). The probe calls themselves
//! run against the real Asterisk in the e2e lab (tests/e2e/tests/probe.test.mjs): media needs the
//! lab's network namespace.

use callbase_core::TenantId;
use callbase_db::probe::{insert, NewProbe};
use callbase_tests::{worker_pool, TestApp};
use reqwest::StatusCode;
use serde_json::json;

fn result(tenant: Option<i64>, ok: bool, error: Option<&'static str>) -> NewProbe<'static> {
    NewProbe {
        node: "test",
        tenant: tenant.map(TenantId),
        number: "9999",
        ok,
        register_ms: Some(4.0),
        invite_ok_ms: ok.then_some(48.0),
        ice_ms: ok.then_some(1.0),
        dtls_ms: ok.then_some(203.0),
        rtt_ms: ok.then_some(0.6),
        loss_pct: Some(if ok { 0.0 } else { 100.0 }),
        jitter_ms: Some(0.3),
        error,
    }
}

#[tokio::test]
async fn probe_number_and_history_are_per_tenant_and_the_alert_follows_the_latest_results() {
    let app = TestApp::spawn().await;
    let (a, ta) = app.telephony_tenant().await;
    let (b, tb) = app.telephony_tenant().await;

    // The number: validated, trimmed, cleared with null or blank.
    let r = a.put("/api/telephony/probe", json!({"probe_number": "99 99"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["code"], "invalid_probe_number");
    // The carrier's echo number is a short number: the dial rules must allow it (they decide every
    // number the platform dials, the probe's too).
    let mut rules = a.get("/api/telephony/dial-rules").await.body;
    rules["short_rules"] = json!(["9999"]);
    assert_eq!(a.put("/api/telephony/dial-rules", rules).await.status, StatusCode::OK);
    let r = a.put("/api/telephony/probe", json!({"probe_number": " 9999 "})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["probe_number"], "9999");

    // Results of both tenants and of the platform path.
    let pool = worker_pool().await;
    for row in [
        result(Some(ta.id), true, None),
        result(Some(ta.id), true, None),
        result(Some(tb.id), false, Some("SIP INVITE answered 503")),
        result(None, false, Some("platform down")),
    ] {
        insert(&pool, &row).await.expect("insert a probe result");
    }

    let h = a.get("/api/telephony/probe").await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);
    assert_eq!(h.body["probe_number"], "9999");
    let points = h.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "tenant A sees its own two results only: {}", h.body);
    assert!(points.iter().all(|p| p["ok"] == true && p["setup_ms"] == 48.0 && p["dtls_ms"] == 203.0));
    assert!(h.body["alert"].is_null());

    let h = b.get("/api/telephony/probe").await;
    let points = h.body["points"].as_array().unwrap();
    assert_eq!(
        points.len(),
        1,
        "tenant B sees its own result only (not A's, not the platform's): {}",
        h.body
    );
    assert_eq!(h.body["probe_number"], serde_json::Value::Null);
    assert_eq!(h.body["alert"]["failures"], 1);
    assert_eq!(h.body["alert"]["error"], "SIP INVITE answered 503");

    // A failure after passes raises A's alert; a pass clears it.
    insert(&pool, &result(Some(ta.id), false, Some("no audio came back"))).await.unwrap();
    insert(&pool, &result(Some(ta.id), false, Some("no audio came back"))).await.unwrap();
    let h = a.get("/api/telephony/probe").await;
    assert_eq!(h.body["alert"]["failures"], 2, "{}", h.body);
    assert_eq!(h.body["alert"]["error"], "no audio came back");
    insert(&pool, &result(Some(ta.id), true, None)).await.unwrap();
    assert!(a.get("/api/telephony/probe").await.body["alert"].is_null());

    // Bad range, and agents may not look.
    assert_eq!(a.get("/api/telephony/probe?hours=0").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.get("/api/telephony/probe?hours=200").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let anon = app.browser();
    assert_eq!(anon.get("/api/telephony/probe").await.status, StatusCode::UNAUTHORIZED);

    // The worker's list of trunk paths to probe: only tenants with a number AND a trunk.
    let targets = callbase_db::probe::targets_on(&pool, "main", "main").await.unwrap();
    assert!(!targets.iter().any(|(t, _)| t.0 == ta.id), "tenant A has no trunk yet: not probed");
}

/// Each node's health probe (lease `probe:<node>`) calls the trunk paths of the tenants on that
/// node, through that node: a tenant moved to node2 is probed there, not on the node of the
/// settings (which cannot see its trunk). The calls themselves need the e2e lab's namespace (see
/// the top of this file); this is the round each node's probe makes, read from the real registry.
#[tokio::test]
async fn each_nodes_probe_round_holds_the_trunk_paths_of_the_tenants_on_that_node_only() {
    let app = TestApp::spawn().await;
    let pool = worker_pool().await;
    let (a, ta) = app.telephony_tenant().await;
    let (b, tb) = app.new_tenant().await;
    callbase_db::nodes::move_tenant(&pool, TenantId(tb.id), "node2").await.unwrap().expect("tenant B exists");
    assert_eq!(b.post("/api/telephony/enable", json!({})).await.status, StatusCode::OK);
    let mut trunks = vec![];
    for admin in [&a, &b] {
        let mut rules = admin.get("/api/telephony/dial-rules").await.body;
        rules["short_rules"] = json!(["9999"]);
        assert_eq!(admin.put("/api/telephony/dial-rules", rules).await.status, StatusCode::OK);
        let r = admin.put("/api/telephony/probe", json!({"probe_number": "9999"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let r = admin
            .post(
                "/api/trunks",
                json!({"mode": "extended", "username": callbase_tests::unique("probe-"), "password": "x",
                       "domain": callbase_tests::env("CALLBASE_CARRIER_SIP")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        trunks.push((admin, r.body["id"].clone()));
    }
    let a_path = (Some(TenantId(ta.id)), format!("t{}x9999", ta.id), "9999".to_string());
    let b_path = (Some(TenantId(tb.id)), format!("t{}x9999", tb.id), "9999".to_string());

    let on_node2 = callbase_telephony::probe::paths_on(&pool, "node2", "main").await.unwrap();
    assert_eq!(on_node2[0].1, "echo", "each node's round starts with its platform path");
    assert!(on_node2.contains(&b_path), "node2's probe calls B's trunk path: {on_node2:?}");
    assert!(!on_node2.contains(&a_path), "node2's probe leaves A (on main) alone: {on_node2:?}");
    let on_main = callbase_telephony::probe::paths_on(&pool, "main", "main").await.unwrap();
    assert!(on_main.contains(&a_path), "main's probe calls A's trunk path: {on_main:?}");
    assert!(!on_main.contains(&b_path), "main's probe no longer calls B, which moved: {on_main:?}");

    // Moving B back makes main's next round probe it.
    callbase_db::nodes::move_tenant(&pool, TenantId(tb.id), "main").await.unwrap();
    let on_main = callbase_telephony::probe::paths_on(&pool, "main", "main").await.unwrap();
    assert!(on_main.contains(&b_path), "{on_main:?}");
    for (admin, id) in trunks {
        admin.delete(&format!("/api/trunks/{id}")).await;
    }
}
