//! Two-factor sign-in (TOTP + recovery codes) and a tenant's requirement of it for admins.

use callbase_tests::{Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::users::{create_user, group_id};

fn code_at(secret: &str, offset_steps: i64) -> String {
    let t = TOTP::new(Algorithm::SHA1, 6, 1, 30, Secret::Encoded(secret.into()).to_bytes().unwrap()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    t.generate((now + offset_steps * 30) as u64)
}

/// Sets up and turns on TOTP for the signed-in browser; returns the secret and recovery codes.
async fn turn_on(b: &Browser) -> (String, Vec<String>) {
    let s = b.post("/api/auth/two-factor/setup", json!({})).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    let secret = s.body["secret"].as_str().unwrap().to_string();
    assert!(s.body["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/"));
    let on = b.post("/api/auth/two-factor/enable", json!({"code": code_at(&secret, 0)})).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text);
    let codes: Vec<String> = serde_json::from_value(on.body["recovery_codes"].clone()).unwrap();
    (secret, codes)
}

async fn login(
    b: &Browser,
    account: &str,
    login: &str,
    password: &str,
    code: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"account": account, "login": login, "password": password});
    if let Some(c) = code {
        body["code"] = c.into();
    }
    let r = b.post("/api/auth/login", body).await;
    (r.status, r.body)
}

#[tokio::test]
async fn two_factor_sign_in_asks_for_a_code_that_works_once_and_recovery_codes_work_once() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let s = admin.post("/api/auth/two-factor/setup", json!({})).await;
    let bad = admin.post("/api/auth/two-factor/enable", json!({"code": "12345"})).await;
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code"))
    );
    assert_eq!(s.status, StatusCode::OK);
    let (secret, recovery) = turn_on(&admin).await;
    assert_eq!(recovery.len(), 10);

    let b = app.browser();
    let (st, body) = login(&b, &t.account, &t.admin_login, &t.admin_password, None).await;
    assert_eq!(
        (st, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("two_factor_required")),
        "the password alone is not enough"
    );
    assert!(b.cookie("cb_session").is_none(), "no session without the second factor");
    assert_eq!(b.get("/api/auth/me").await.status, StatusCode::UNAUTHORIZED);
    // The code that turned it on was seen: it does not sign in again (nor does an earlier one).
    let (st, body) =
        login(&b, &t.account, &t.admin_login, &t.admin_password, Some(&code_at(&secret, 0))).await;
    assert_eq!(
        (st, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("two_factor_invalid")),
        "a code works once"
    );
    let (st, _) = login(&b, &t.account, &t.admin_login, "wrong-password-1", Some(&code_at(&secret, 1))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a code does not replace the password");
    let (st, body) =
        login(&b, &t.account, &t.admin_login, &t.admin_password, Some(&code_at(&secret, 1))).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(b.get("/api/auth/me").await.status, StatusCode::OK);

    let c = app.browser();
    let (st, _) =
        login(&c, &t.account, &t.admin_login, &t.admin_password, Some(&recovery[3].to_uppercase())).await;
    assert_eq!(st, StatusCode::OK, "a recovery code signs in (case does not matter)");
    let d = app.browser();
    let (st, body) = login(&d, &t.account, &t.admin_login, &t.admin_password, Some(&recovery[3])).await;
    assert_eq!(
        (st, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("two_factor_invalid")),
        "only once"
    );
    let status = c.get("/api/auth/two-factor").await.body;
    assert_eq!((status["enabled"].clone(), status["recovery_codes_left"].clone()), (json!(true), json!(9)));

    // Turning it off needs the password; then the password alone signs in again.
    assert_eq!(
        c.post("/api/auth/two-factor/disable", json!({"password": "nope-nope-nope"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.post("/api/auth/two-factor/disable", json!({"password": t.admin_password})).await.status,
        StatusCode::NO_CONTENT
    );
    let (st, _) = login(&app.browser(), &t.account, &t.admin_login, &t.admin_password, None).await;
    assert_eq!(st, StatusCode::OK);
    let log = c.get("/api/security/audit").await.body;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["two_factor.disable", "two_factor.enable"]);
}

#[tokio::test]
async fn a_tenant_can_require_two_factor_of_its_administrators_and_sub_administrators() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let first = admin.put("/api/security/two-factor", json!({"require_for_admins": true})).await;
    assert_eq!(
        (first.status, first.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("enable_two_factor_first"))
    );
    turn_on(&admin).await;
    assert_eq!(
        admin.put("/api/security/two-factor", json!({"require_for_admins": true})).await.status,
        StatusCode::OK
    );
    let off = admin.post("/api/auth/two-factor/disable", json!({"password": t.admin_password})).await;
    assert_eq!((off.status, off.body["code"].as_str()), (StatusCode::CONFLICT, Some("two_factor_required")));

    let sub_group = group_id(&admin, "Sub-administrator").await;
    let agent_group = group_id(&admin, "Agent").await;
    create_user(&admin, "sub2fa", &[sub_group]).await;
    create_user(&admin, "agent2fa", &[agent_group]).await;
    let sub = app.browser();
    assert_eq!(sub.login(&t.account, "sub2fa", "Agent-pass-12345").await.status, StatusCode::OK);
    let blocked = sub.get("/api/users").await;
    assert_eq!(
        (blocked.status, blocked.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("two_factor_setup_required"))
    );
    assert_eq!(sub.get("/api/auth/two-factor").await.body["required"], true);
    assert_eq!(
        sub.put("/api/security/two-factor", json!({"require_for_admins": false})).await.status,
        StatusCode::FORBIDDEN
    );
    turn_on(&sub).await;
    assert_eq!(sub.get("/api/users").await.status, StatusCode::OK, "set up: admin pages open");

    let agent = app.browser();
    assert_eq!(
        agent.login(&t.account, "agent2fa", "Agent-pass-12345").await.status,
        StatusCode::OK,
        "agents are not asked"
    );
    assert_eq!(agent.get("/api/auth/two-factor").await.body["required"], false);

    // Another tenant is not affected.
    let (other, _) = app.new_tenant().await;
    assert_eq!(other.get("/api/users").await.status, StatusCode::OK);
    assert_eq!(other.get("/api/auth/two-factor").await.body["tenant_requires"], false);
}
