//! The security audit log: who changed what, when, from where, before → after; read-only, for
//! administrators, per tenant.

use callbase_tests::calls::trunk_body;
use callbase_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::users::{create_user, group_id};

#[tokio::test]
async fn trunk_changes_are_in_the_audit_log_with_who_where_and_before_after_but_never_the_password() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let created = admin.post("/api/trunks", trunk_body("audited-user", "secret-trunk-pass")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].clone();
    let updated = admin.patch(&format!("/api/trunks/{id}"), json!({"mode": "simple", "username": "audited-2", "password": "other-secret-pass", "domain": callbase_tests::env("CALLBASE_CARRIER_SIP")})).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(admin.delete(&format!("/api/trunks/{id}")).await.status, StatusCode::NO_CONTENT);

    let log = admin.get("/api/security/audit").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let entries = log.body.as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["trunk.delete", "trunk.update", "trunk.create", "telephony.on"],
        "newest first: {}",
        log.text
    );
    let reg = format!("t{}-trk1", t.id);
    let upd = &entries[1];
    assert_eq!(upd["target"], reg);
    assert_eq!(upd["actor_id"], t.admin_id);
    assert_eq!(upd["actor_login"], t.admin_login.as_str());
    assert!(upd["ip"].as_str().unwrap().starts_with("10."), "the client's address: {upd}");
    assert_eq!(upd["before"]["username"], "audited-user");
    assert_eq!(upd["after"]["username"], "audited-2");
    assert_eq!(upd["after"]["password_changed"], true);
    assert!(
        !log.text.contains("secret-trunk-pass") && !log.text.contains("other-secret-pass"),
        "no password in the log"
    );
    assert_eq!(entries[0]["before"]["username"], "audited-2");
    assert!(entries[0]["after"].is_null());
}

#[tokio::test]
async fn only_administrators_read_the_audit_log_and_nobody_can_change_it() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    assert_eq!(admin.post("/api/trunks", trunk_body("a", "b")).await.status, StatusCode::CREATED);
    let sub_group = group_id(&admin, "Sub-administrator").await;
    create_user(&admin, "subaudit", &[sub_group]).await;
    let sub = app.browser();
    assert_eq!(sub.login(&t.account, "subaudit", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(
        sub.get("/api/security/audit").await.status,
        StatusCode::FORBIDDEN,
        "sub-administrators do not read it"
    );

    // Another tenant's administrator sees nothing of this tenant.
    let (other, _) = app.telephony_tenant().await;
    let theirs = other.get("/api/security/audit").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(theirs.body.as_array().unwrap().iter().all(|e| e["actor_id"] != t.admin_id), "{}", theirs.text);

    // Below the API: the application role may not rewrite or delete history, even in its tenant.
    let pool = callbase_tests::app_pool().await;
    for sql in ["UPDATE security_audit SET action = 'trunk.nothing'", "DELETE FROM security_audit"] {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(t.id.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        let err = sqlx::query(sql).execute(&mut *tx).await.expect_err(sql);
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    assert_eq!(admin.get("/api/security/audit?limit=0").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Users and roles are audited too: the sub-administrator's creation, then a disable.
    let subs = admin
        .get("/api/users")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "subaudit")
        .unwrap()["id"]
        .clone();
    assert_eq!(
        admin.patch(&format!("/api/users/{subs}"), json!({"disabled": true})).await.status,
        StatusCode::OK
    );
    let log = admin.get("/api/security/audit?limit=2").await.body;
    assert_eq!(log[0]["action"], "user.update");
    assert_eq!(
        (log[0]["before"]["disabled"].clone(), log[0]["after"]["disabled"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(log[0]["before"]["role"], "sub_administrator");
    assert_eq!(log[1]["action"], "user.create");
}
