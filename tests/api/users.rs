use callbase_tests::{Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub async fn group_id(admin: &Browser, name: &str) -> i64 {
    let groups = admin.get("/api/groups").await;
    groups.body.as_array().unwrap().iter().find(|g| g["name"] == name).unwrap()["id"].as_i64().unwrap()
}

pub async fn create_user(admin: &Browser, login: &str, groups: &[i64]) -> Value {
    let r = admin
        .post(
            "/api/users",
            json!({"login": login, "name": format!("User {login}"), "email": format!("{login}@example.com"),
                   "password": "Agent-pass-12345", "group_ids": groups}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

#[tokio::test]
async fn an_admin_creates_a_user_who_can_sign_in_as_an_agent() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let agent_group = group_id(&admin, "Agent").await;
    let u = create_user(&admin, "Anna", &[agent_group]).await;
    assert_eq!(u["login"], "anna", "logins are case-insensitive, stored lowercase");
    assert_eq!(u["role"], "user");
    let list = admin.get("/api/users").await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);

    let anna = app.browser();
    let r = anna.login(&t.account, "ANNA", "Agent-pass-12345").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["role"], "user");
    let forbidden = anna.get("/api/users").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.body["code"], "forbidden");
    assert_eq!(anna.post("/api/groups", json!({"name": "Mine"})).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_duplicate_login_answers_409() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    create_user(&admin, "ivan", &[]).await;
    let r = admin
        .post(
            "/api/users",
            json!({"login": "Ivan", "name": "I", "email": "i@example.com", "password": "Agent-pass-12345"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "login_taken");
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let u = create_user(&admin, "petr", &[]).await;
    let petr = app.browser();
    assert_eq!(petr.login(&t.account, "petr", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(petr.get("/api/auth/me").await.status, StatusCode::OK);

    let r = admin.patch(&format!("/api/users/{}", u["id"]), json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(petr.get("/api/auth/me").await.status, StatusCode::UNAUTHORIZED);
    let again = app.browser().login(&t.account, "petr", "Agent-pass-12345").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a disabled user cannot sign in");
}

#[tokio::test]
async fn the_last_administrator_cannot_be_disabled_or_demoted() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let path = format!("/api/users/{}", t.admin_id);
    let r = admin.patch(&path, json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["code"], "last_admin");
    let agent = group_id(&admin, "Agent").await;
    let r = admin.patch(&path, json!({"group_ids": [agent]})).await;
    assert_eq!(r.body["code"], "last_admin");
    // Nothing changed.
    let me = admin.get("/api/auth/me").await;
    assert_eq!(me.body["role"], "administrator");
}

#[tokio::test]
async fn sub_administrators_manage_users_but_cannot_grant_administrator() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let sub_group = group_id(&admin, "Sub-administrator").await;
    let admin_group = group_id(&admin, "Administrator").await;
    create_user(&admin, "sub", &[sub_group]).await;
    let sub = app.browser();
    assert_eq!(sub.login(&t.account, "sub", "Agent-pass-12345").await.status, StatusCode::OK);
    let ok = sub
        .post(
            "/api/users",
            json!({"login": "new1", "name": "N", "email": "n@example.com", "password": "Agent-pass-12345"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let escalate =
        sub.patch(&format!("/api/users/{}", ok.body["id"]), json!({"group_ids": [admin_group]})).await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);
    let touch_admin = sub.patch(&format!("/api/users/{}", t.admin_id), json!({"disabled": true})).await;
    assert_eq!(touch_admin.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_password_reset_takes_effect_and_checks_the_policy() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let u = create_user(&admin, "olga", &[]).await;
    let path = format!("/api/users/{}", u["id"]);
    let weak = admin.patch(&path, json!({"password": "olga-olga-olga"})).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["code"], "weak_password");
    assert_eq!(admin.patch(&path, json!({"password": "Brand-new-pass-77"})).await.status, StatusCode::OK);
    let b = app.browser();
    assert_eq!(b.login(&t.account, "olga", "Agent-pass-12345").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.login(&t.account, "olga", "Brand-new-pass-77").await.status, StatusCode::OK);
}
