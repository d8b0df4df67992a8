//! Trunks against the real platform Asterisk and the demo carrier of the test stack.

use std::time::Duration;

use callbase_tests::{env, TestApp};
use reqwest::StatusCode;
use serde_json::json;

pub(crate) use callbase_tests::calls::{trunk_body as body, wait_for_trunk as wait_for_state};

#[tokio::test]
async fn correct_credentials_turn_green_wrong_turn_red_and_a_fix_turns_green_again() {
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true")]).await;
    let (admin, _) = app.telephony_tenant().await;
    // The carrier's demo credential is used by this test alone (the carrier keeps one contact per
    // credential, so two tests sharing one would replace each other's registration).
    let (user, pass) = (env("CALLBASE_CARRIER_TRUNK_USER"), env("CALLBASE_CARRIER_TRUNK_PASSWORD"));
    callbase_tests::calls::retire_earlier_registrations(&user).await;
    let created = admin.post("/api/trunks", body(&user, &pass)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["password_set"], true);
    assert!(created.body.get("password").is_none(), "the password is never returned");
    assert!(!created.text.contains(&pass));
    let id = created.body["id"].clone();
    wait_for_state(&admin, &id, "registered", Duration::from_secs(10)).await;

    let wrong = admin.patch(&format!("/api/trunks/{id}"), body(&user, "definitely-wrong")).await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.text);
    let red = wait_for_state(&admin, &id, "rejected", Duration::from_secs(15)).await;
    assert!(!red["status"]["reason"].as_str().unwrap_or("").is_empty(), "a red trunk says why: {red}");

    let fixed = admin.patch(&format!("/api/trunks/{id}"), body(&user, &pass)).await;
    assert_eq!(fixed.status, StatusCode::OK);
    wait_for_state(&admin, &id, "registered", Duration::from_secs(15)).await;

    assert_eq!(admin.delete(&format!("/api/trunks/{id}")).await.status, StatusCode::NO_CONTENT);
    assert!(admin.get("/api/trunks").await.body.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_trunk_is_provisioned_into_asterisk_and_removed_on_delete() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let created = admin.post("/api/trunks", body("someone", "pa;ss^word")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let reg = created.body["registration"].as_str().unwrap().to_string();
    assert_eq!(reg, format!("t{}-trk1", t.id));
    let pool = callbase_tests::worker_pool().await;
    let (password, set_var, line): (String, String, String) = sqlx::query_as(
        "SELECT a.password, e.set_var, r.line FROM ast.ps_auths a JOIN ast.ps_endpoints e USING (id)
         JOIN ast.ps_registrations r USING (id) WHERE a.id = $1",
    )
    .bind(&reg)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(password, "pa^3Bss^5Eword", "';' and '^' are escaped for Asterisk's realtime decoding");
    assert_eq!(set_var, format!("TENANT_ID={};TRUNK_ID=1", t.id));
    assert_eq!(line, "yes");
    let ari = ari_endpoint(&reg).await;
    assert_eq!(ari, StatusCode::OK, "Asterisk knows the trunk endpoint");
    // The last safety net against a carrier leg nobody controls (issue 16): Asterisk itself hangs
    // up a trunk leg without RTP.
    assert_eq!(endpoint_detail(&reg, "RtpTimeout").await, "60", "trunk legs time out without RTP");
    assert_eq!(endpoint_detail(&reg, "RtpTimeoutHold").await, "300");

    assert_eq!(
        admin.delete(&format!("/api/trunks/{}", created.body["id"])).await.status,
        StatusCode::NO_CONTENT
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM ast.ps_auths WHERE id = $1) + (SELECT count(*) FROM ast.ps_endpoints WHERE id = $1)
              + (SELECT count(*) FROM ast.ps_aors WHERE id = $1) + (SELECT count(*) FROM ast.ps_registrations WHERE id = $1)",
    )
    .bind(&reg)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "no Asterisk rows remain");
}

/// Asterisk's view of the endpoint, read through sorcery (realtime) — ARI's endpoint list only
/// shows realtime objects once something has looked them up.
async fn ari_endpoint(id: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!(
            "{}/ari/asterisk/config/dynamic/res_pjsip/endpoint/{id}",
            env("CALLBASE__ASTERISK__ARI_URL")
        ))
        .basic_auth(env("CALLBASE__ASTERISK__ARI_USER"), Some(env("CALLBASE__ASTERISK__ARI_PASSWORD")))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_fourth_trunk_is_refused_and_order_decides_outbound() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let mut ids = vec![];
    for i in 0..3 {
        let r = admin.post("/api/trunks", body(&format!("nobody{i}"), "x-password")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["position"], i + 1);
        ids.push(r.body["id"].as_i64().unwrap());
    }
    let fourth = admin.post("/api/trunks", body("nobody4", "x-password")).await;
    assert_eq!(fourth.status, StatusCode::CONFLICT);
    assert_eq!(fourth.body["code"], "too_many_trunks");

    let order = admin
        .send(
            admin
                .request(reqwest::Method::PUT, "/api/trunks/order")
                .header("x-csrf-token", admin.csrf().await)
                .json(&json!({"ids": [ids[2], ids[0], ids[1]]})),
        )
        .await;
    assert_eq!(order.status, StatusCode::OK, "{}", order.text);
    let firsts: Vec<i64> = order.body.as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(firsts, vec![ids[2], ids[0], ids[1]]);
    let bad = admin
        .send(
            admin
                .request(reqwest::Method::PUT, "/api/trunks/order")
                .header("x-csrf-token", admin.csrf().await)
                .json(&json!({"ids": [ids[0]]})),
        )
        .await;
    assert_eq!(bad.body["code"], "invalid_order");

    admin.delete(&format!("/api/trunks/{}", ids[2])).await;
    let left = admin.get("/api/trunks").await;
    let positions: Vec<i64> =
        left.body.as_array().unwrap().iter().map(|t| t["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, vec![1, 2], "positions close the gap");
    for id in &ids[..2] {
        admin.delete(&format!("/api/trunks/{id}")).await;
    }
}

#[tokio::test]
async fn bad_trunk_input_is_refused_with_the_rule() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    for (field, value, code) in [
        ("domain", json!("sip.example.com:70000"), "invalid_host"),
        ("domain", json!("evil.com\r\nVia: x"), "invalid_host"),
        ("username", json!("a b"), "invalid_sip_value"),
        ("username", json!("x\"y"), "invalid_sip_value"),
        ("rewrite", json!("^.*$/"), "invalid_rewrite"),
        ("rewrite", json!("^(7/8"), "invalid_rewrite"),
        ("mode", json!("fancy"), "invalid_mode"),
        ("password", json!(""), "invalid_password"),
    ] {
        let mut b = body("user1", "secret-1");
        b[field] = value.clone();
        let r = admin.post("/api/trunks", b).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}: {}", r.text);
        assert_eq!(r.body["code"], code, "{field}={value}");
    }
    assert!(admin.get("/api/trunks").await.body.as_array().unwrap().is_empty(), "nothing half-written");
    let preview = admin
        .post("/api/trunks/rewrite-preview", json!({"rewrite": "^7/8", "sample": "7 495 123-45-67"}))
        .await;
    assert_eq!(preview.body["result"], "84951234567");
}

#[tokio::test]
async fn another_tenants_trunks_are_invisible() {
    let app = TestApp::spawn().await;
    let (a, _) = app.telephony_tenant().await;
    let (b, _) = app.telephony_tenant().await;
    let t = a.post("/api/trunks", body("tenant-a-only", "secret-1")).await;
    let id = t.body["id"].clone();
    assert_eq!(b.patch(&format!("/api/trunks/{id}"), body("x", "y")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.delete(&format!("/api/trunks/{id}")).await.status, StatusCode::NOT_FOUND);
    assert!(b.get("/api/trunks").await.body.as_array().unwrap().is_empty());
    a.delete(&format!("/api/trunks/{id}")).await;
}

#[tokio::test]
async fn when_asterisk_refuses_the_change_nothing_is_saved() {
    // The tenant's node has its ARI on a port nothing listens on: the reload fails after the rows
    // were written. (A node of this test alone, with no room: nobody else is placed there.)
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let pool = callbase_tests::worker_pool().await;
    let node = callbase_tests::unique("dead-");
    callbase_db::nodes::upsert(
        &pool,
        &callbase_db::nodes::NodeRow {
            id: node.clone(),
            ari_url: "http://127.0.0.1:9".into(),
            ami_addr: None,
            ws_url: None,
            sip_addr: None,
            capacity: 0,
            state: "draining".into(),
            db_role: format!("role_{}", node.replace('-', "_")),
        },
    )
    .await
    .unwrap();
    callbase_db::nodes::move_tenant(&pool, callbase_core::TenantId(t.id), &node).await.unwrap();
    assert_eq!(admin.post("/api/telephony/enable", serde_json::json!({})).await.status, StatusCode::OK);
    let r = admin.post("/api/trunks", body("someone", "secret-1")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["code"], "asterisk_unavailable");
    assert!(r.body["message"].as_str().unwrap().contains("nothing was saved"));
    assert!(admin.get("/api/trunks").await.body.as_array().unwrap().is_empty());
    let pool = callbase_tests::worker_pool().await;
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM ast.ps_auths WHERE tenant_id = $1 AND id LIKE '%-trk%')
              + (SELECT count(*) FROM ast.ps_endpoints WHERE tenant_id = $1 AND id LIKE '%-trk%')
              + (SELECT count(*) FROM ast.ps_aors WHERE tenant_id = $1 AND id LIKE '%-trk%')
              + (SELECT count(*) FROM ast.ps_registrations WHERE tenant_id = $1)
              + (SELECT count(*) FROM trunks WHERE tenant_id = $1)",
    )
    .bind(t.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 0, "no half-written trunk");
    // The test's node leaves the registry with the tenant.
    sqlx::query("DELETE FROM tenants WHERE id = $1").bind(t.id).execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM nodes WHERE id = $1").bind(&node).execute(&pool).await.unwrap();
}

/// A field of Asterisk's own view of an endpoint (AMI `PJSIPShowEndpoint`, `EndpointDetail`).
async fn endpoint_detail(id: &str, field: &str) -> String {
    let ami = callbase_tests::platform_ami().await;
    let r = ami.action_collect("PJSIPShowEndpoint", &[("Endpoint", id)]).await.expect("PJSIPShowEndpoint");
    r.events
        .iter()
        .find(|e| e.event() == Some("EndpointDetail"))
        .and_then(|e| e.get(field))
        .unwrap_or_default()
        .to_string()
}
