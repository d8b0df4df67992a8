//! The telephony module switch, telephony users and auto-provisioning, against the real Asterisk:
//! generated credentials register over real SIP, revoked ones are refused.

use std::net::SocketAddr;
use std::time::Duration;

use callbase_tests::{env, sip, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::users::{create_user, group_id};

fn platform_sip() -> SocketAddr {
    env("CALLBASE_PLATFORM_SIP").parse().expect("CALLBASE_PLATFORM_SIP is host:port")
}

async fn tel_users(admin: &Browser) -> Vec<Value> {
    let r = admin.get("/api/telephony/users").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body.as_array().unwrap().clone()
}

fn by_user(list: &[Value], user_id: i64) -> Option<Value> {
    list.iter().find(|u| u["user_id"] == user_id).cloned()
}

/// Asterisk's view of a realtime endpoint (the dynamic config API reads the row through sorcery).
async fn asterisk_has_endpoint(id: &str) -> bool {
    let url =
        format!("{}/ari/asterisk/config/dynamic/res_pjsip/endpoint/{id}", env("CALLBASE__ASTERISK__ARI_URL"));
    let r = reqwest::Client::new()
        .get(url)
        .basic_auth(env("CALLBASE__ASTERISK__ARI_USER"), Some(env("CALLBASE__ASTERISK__ARI_PASSWORD")))
        .send()
        .await
        .expect("ARI answers");
    r.status() == StatusCode::OK
}

/// REGISTER until the expected answer (Asterisk may take a moment to drop a cached credential).
async fn register_becomes(user: &str, password: &str, want: u16) -> u16 {
    let mut last = 0;
    for _ in 0..10 {
        last = sip::register(platform_sip(), user, password, 60).await;
        if last == want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    last
}

#[tokio::test]
async fn telephony_is_off_for_a_new_tenant_and_its_pages_say_so() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let r = admin.get("/api/telephony").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["enabled"], false);
    assert_eq!(r.body["account"], t.account.as_str());
    assert!(r.body["me"].is_null());
    for path in
        ["/api/telephony/users", "/api/trunks", "/api/telephony/dial-rules", "/api/telephony/provisioning"]
    {
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{path}: {}", r.text);
        assert_eq!(r.body["code"], "telephony_off", "{path}");
    }
}

#[tokio::test]
async fn turning_telephony_on_makes_the_admin_extension_101_whose_desk_credentials_register() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let r = admin.post("/api/telephony/enable", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let created = &r.body["created"];
    assert_eq!(created["extension"], "101");
    let login = format!("{}_101", t.account);
    assert_eq!(created["sip_login"], login.as_str());
    let password = created["sip_password"].as_str().expect("password shown once").to_string();
    assert!(
        password.len() >= 22 && password.chars().all(|c| c.is_ascii_alphanumeric()),
        "≥ 128 bits: {password}"
    );
    assert_eq!(created["browser_calls"], true);

    // The list never shows the password again.
    let list = tel_users(&admin).await;
    assert_eq!(list.len(), 1);
    assert!(list[0].get("sip_password").is_none());
    // `me` tells the web app the caller is a telephony user.
    let me = admin.get("/api/telephony").await;
    assert_eq!(me.body["me"]["extension"], "101");

    // A browser user has a WebRTC endpoint; switch to a desk phone and the desk endpoint appears.
    let web = format!("t{}-w{}", t.id, t.admin_id);
    assert!(asterisk_has_endpoint(&web).await, "WebRTC endpoint {web} visible to Asterisk");
    let r =
        admin.patch(&format!("/api/telephony/users/{}", t.admin_id), json!({"browser_calls": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(asterisk_has_endpoint(&login).await, "desk endpoint {login} visible to Asterisk");
    assert_eq!(register_becomes(&login, &password, 200).await, 200, "generated credentials register");
    assert_ne!(sip::register(platform_sip(), &login, "wrong-password", 60).await, 200);
    // Registered shows up as online.
    let list = tel_users(&admin).await;
    assert_eq!(list[0]["online"]["desk"], true, "{:?}", list[0]);
    sip::register(platform_sip(), &login, &password, 0).await;
}

#[tokio::test]
async fn extensions_are_validated_and_unique_per_tenant() {
    let app = TestApp::spawn().await;
    let (admin, _t) = app.telephony_tenant().await;
    let agent = group_id(&admin, "Agent").await;
    let anna = create_user(&admin, "anna", &[agent]).await["id"].as_i64().unwrap();
    let boris = create_user(&admin, "boris", &[agent]).await["id"].as_i64().unwrap();

    for bad in ["12", "1234567", "10a", " "] {
        let r = admin.post("/api/telephony/users", json!({"user_id": anna, "extension": bad})).await;
        if bad.trim().is_empty() {
            // Blank means "next free".
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            assert_eq!(r.body["extension"], "102");
            assert_eq!(
                admin.delete(&format!("/api/telephony/users/{anna}")).await.status,
                StatusCode::NO_CONTENT
            );
        } else {
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
            assert_eq!(r.body["code"], "invalid_extension");
        }
    }
    let r = admin.post("/api/telephony/users", json!({"user_id": anna, "extension": "101"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "extension_taken");
    let r = admin
        .post("/api/telephony/users", json!({"user_id": anna, "extension": "5000", "accept_incoming": false}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["accept_incoming"], false);
    assert_eq!(r.body["source"], "manual");
    let r = admin.post("/api/telephony/users", json!({"user_id": anna})).await;
    assert_eq!(r.body["code"], "already_telephony_user");
    let r = admin.post("/api/telephony/users", json!({"user_id": boris})).await;
    assert_eq!(r.body["extension"], "102", "next free from 101");
    let r = admin.patch(&format!("/api/telephony/users/{boris}"), json!({"extension": "5000"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "extension_taken");
    // A new extension is a new login and a new password.
    let r = admin.patch(&format!("/api/telephony/users/{boris}"), json!({"extension": "777"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["sip_login"].as_str().unwrap().ends_with("_777"));
    assert!(r.body["sip_password"].as_str().is_some());
    let r = admin.post("/api/telephony/users", json!({"user_id": 999_999_999})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn members_of_a_checked_group_are_provisioned_and_leave_with_the_group_unless_added_by_hand() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let agent = group_id(&admin, "Agent").await;
    let r = admin.put("/api/telephony/provisioning", json!({"group_ids": [agent]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["group_ids"], json!([agent]));

    // Created in the group → provisioned at once, with an endpoint Asterisk sees.
    let vera = create_user(&admin, "vera", &[agent]).await["id"].as_i64().unwrap();
    let v = by_user(&tel_users(&admin).await, vera).expect("vera provisioned");
    assert_eq!(v["extension"], "102");
    assert_eq!(v["source"], "group");
    assert_eq!(v["sip_login"], format!("{}_102", t.account).as_str());
    assert!(asterisk_has_endpoint(&format!("t{}-w{vera}", t.id)).await);

    // Added to the group later → provisioned; a hand-added user stays when the group goes.
    let gleb = create_user(&admin, "gleb", &[]).await["id"].as_i64().unwrap();
    assert!(by_user(&tel_users(&admin).await, gleb).is_none());
    assert_eq!(
        admin.patch(&format!("/api/users/{gleb}"), json!({"group_ids": [agent]})).await.status,
        StatusCode::OK
    );
    assert_eq!(by_user(&tel_users(&admin).await, gleb).unwrap()["source"], "group");
    let dina = create_user(&admin, "dina", &[]).await["id"].as_i64().unwrap();
    assert_eq!(
        admin.post("/api/telephony/users", json!({"user_id": dina})).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        admin.patch(&format!("/api/users/{dina}"), json!({"group_ids": [agent]})).await.status,
        StatusCode::OK
    );

    // Leaving the last checked group de-provisions (rows gone from Asterisk's tables).
    assert_eq!(
        admin.patch(&format!("/api/users/{vera}"), json!({"group_ids": []})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.patch(&format!("/api/users/{dina}"), json!({"group_ids": []})).await.status,
        StatusCode::OK
    );
    let list = tel_users(&admin).await;
    assert!(by_user(&list, vera).is_none(), "vera de-provisioned");
    assert_eq!(by_user(&list, dina).unwrap()["source"], "manual", "hand-added dina stays");
    let worker = worker_pool().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM ast.ps_endpoints WHERE id = $1")
        .bind(format!("t{}-w{vera}", t.id))
        .fetch_one(&worker)
        .await
        .unwrap();
    assert_eq!(rows, 0);

    // Unchecking the group removes everyone it provisioned.
    assert_eq!(
        admin.put("/api/telephony/provisioning", json!({"group_ids": []})).await.status,
        StatusCode::OK
    );
    assert!(by_user(&tel_users(&admin).await, gleb).is_none());
    let r = admin.put("/api/telephony/provisioning", json!({"group_ids": [987_654_321]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_disabled_user_loses_their_sip_account_at_once_and_gets_it_back_when_enabled() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let ivan = create_user(&admin, "ivan", &[]).await["id"].as_i64().unwrap();
    let r = admin.post("/api/telephony/users", json!({"user_id": ivan, "browser_calls": false})).await;
    let login = r.body["sip_login"].as_str().unwrap().to_string();
    let password = r.body["sip_password"].as_str().unwrap().to_string();
    assert_eq!(register_becomes(&login, &password, 200).await, 200);

    assert_eq!(
        admin.patch(&format!("/api/users/{ivan}"), json!({"disabled": true})).await.status,
        StatusCode::OK
    );
    assert!(!asterisk_has_endpoint(&login).await, "endpoint gone for a disabled user");
    assert_ne!(register_becomes(&login, &password, 403).await, 200, "a disabled user cannot register");

    assert_eq!(
        admin.patch(&format!("/api/users/{ivan}"), json!({"disabled": false})).await.status,
        StatusCode::OK
    );
    assert_eq!(register_becomes(&login, &password, 200).await, 200, "re-enabled: same credentials work");
    sip::register(platform_sip(), &login, &password, 0).await;
    let _ = t;
}

#[tokio::test]
async fn the_same_extension_in_two_tenants_never_collides_and_tenants_cannot_see_each_other() {
    let app = TestApp::spawn().await;
    let (a, ta) = app.telephony_tenant().await;
    let (b, tb) = app.telephony_tenant().await;
    let la = tel_users(&a).await;
    let lb = tel_users(&b).await;
    assert_eq!(la[0]["extension"], "101");
    assert_eq!(lb[0]["extension"], "101");
    assert_ne!(la[0]["sip_login"], lb[0]["sip_login"]);
    // B cannot touch A's telephony users.
    for (m, path) in [
        ("PATCH", format!("/api/telephony/users/{}", ta.admin_id)),
        ("DELETE", format!("/api/telephony/users/{}", ta.admin_id)),
        ("POST", format!("/api/telephony/users/{}/password", ta.admin_id)),
    ] {
        let r = match m {
            "PATCH" => b.patch(&path, json!({"extension": "555"})).await,
            "DELETE" => b.delete(&path).await,
            _ => b.post(&path, json!({})).await,
        };
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {path}: {}", r.text);
    }
    // Nor add one of A's users to B.
    let r = b.post("/api/telephony/users", json!({"user_id": ta.admin_id})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(tel_users(&a).await.len(), 1);
    let _ = tb;
}

#[tokio::test]
async fn an_agent_cannot_manage_telephony_users_but_sees_their_own_phone_setup() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let agent = group_id(&admin, "Agent").await;
    let petr = create_user(&admin, "petr", &[agent]).await["id"].as_i64().unwrap();
    let pb = app.browser();
    assert_eq!(pb.login(&t.account, "petr", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(pb.get("/api/telephony/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(pb.post("/api/telephony/enable", json!({})).await.status, StatusCode::FORBIDDEN);
    let r = pb.get("/api/telephony/me/phone-setup").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "not_telephony_user");
    assert_eq!(pb.post("/api/phone/session", json!({})).await.body["code"], "not_telephony_user");

    let r = admin.post("/api/telephony/users", json!({"user_id": petr, "browser_calls": false})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let setup = pb.get("/api/telephony/me/phone-setup").await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.text);
    let login = setup.body["sip_login"].as_str().unwrap().to_string();
    assert_eq!(setup.body["browser_calls"], false);
    assert_eq!(pb.post("/api/phone/session", json!({})).await.body["code"], "browser_calls_off");
    let pw = pb.post("/api/telephony/me/phone-setup/password", json!({})).await;
    assert_eq!(pw.status, StatusCode::OK);
    let password = pw.body["sip_password"].as_str().unwrap();
    assert_eq!(register_becomes(&login, password, 200).await, 200, "the new password registers");
    sip::register(platform_sip(), &login, password, 0).await;
}

#[tokio::test]
async fn turning_telephony_off_needs_the_account_name_and_removes_everything_then_on_gives_new_passwords() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let first = admin.post("/api/telephony/enable", json!({})).await;
    let login = first.body["created"]["sip_login"].as_str().unwrap().to_string();
    let old_password = first.body["created"]["sip_password"].as_str().unwrap().to_string();
    assert_eq!(
        admin
            .patch(&format!("/api/telephony/users/{}", t.admin_id), json!({"browser_calls": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(register_becomes(&login, &old_password, 200).await, 200);
    let mut rules = admin.get("/api/telephony/dial-rules").await.body;
    rules["city_prefix"] = json!("812");
    let saved = admin.put("/api/telephony/dial-rules", rules).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);

    let r = admin.post("/api/telephony/disable", json!({"confirm_account": "not-the-account"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "confirmation_mismatch");
    assert_eq!(tel_users(&admin).await.len(), 1, "nothing deleted without confirmation");

    let r = admin.post("/api/telephony/disable", json!({"confirm_account": t.account})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["enabled"], false);
    let worker = worker_pool().await;
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM ast.ps_endpoints WHERE tenant_id = $1) + (SELECT count(*) FROM ast.ps_auths WHERE tenant_id = $1)
              + (SELECT count(*) FROM telephony_users WHERE tenant_id = $1) + (SELECT count(*) FROM telephony_settings WHERE tenant_id = $1)",
    )
    .bind(t.id)
    .fetch_one(&worker)
    .await
    .unwrap();
    assert_eq!(left, 0, "SIP rows, telephony users and dial rules are gone");
    assert_ne!(
        register_becomes(&login, &old_password, 403).await,
        200,
        "old credentials are refused after off"
    );

    let again = admin.post("/api/telephony/enable", json!({})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["created"]["sip_login"], login.as_str(), "the login stays the same");
    let new_password = again.body["created"]["sip_password"].as_str().unwrap().to_string();
    assert_ne!(new_password, old_password);
    assert_eq!(
        admin
            .patch(&format!("/api/telephony/users/{}", t.admin_id), json!({"browser_calls": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_ne!(
        sip::register(platform_sip(), &login, &old_password, 60).await,
        200,
        "old password fails after on"
    );
    assert_eq!(register_becomes(&login, &new_password, 200).await, 200, "new password registers");
    sip::register(platform_sip(), &login, &new_password, 0).await;
}

/// `/sip` WebSocket upgrade with the given cookie and Origin; `Ok` when it opened.
async fn sip_socket(b: &Browser, cookie: Option<String>, origin: &str) -> Result<(), String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/sip", b.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", format!("cb_session={c}").parse().unwrap());
    }
    req.headers_mut().insert("origin", origin.parse().unwrap());
    req.headers_mut().insert("sec-websocket-protocol", "sip".parse().unwrap());
    tokio_tungstenite::connect_async(req).await.map(|_| ()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_sip_socket_opens_only_for_a_signed_in_browser_telephony_user_from_our_origin() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let session = admin.cookie("cb_session");
    assert!(sip_socket(&admin, None, &admin.base).await.is_err(), "no session: refused");
    assert!(
        sip_socket(&admin, session.clone(), "http://evil.example").await.is_err(),
        "foreign Origin: refused"
    );
    assert!(
        sip_socket(&admin, session.clone(), &admin.base).await.is_ok(),
        "the admin (browser user 101) gets a phone socket"
    );
    // A signed-in user who is not a telephony user gets none.
    let agent = group_id(&admin, "Agent").await;
    create_user(&admin, "olga", &[agent]).await;
    let ob = app.browser();
    assert_eq!(ob.login(&t.account, "olga", "Agent-pass-12345").await.status, StatusCode::OK);
    assert!(
        sip_socket(&ob, ob.cookie("cb_session"), &ob.base).await.is_err(),
        "not a telephony user: refused"
    );
    // Nor does a desk-phone user.
    assert_eq!(
        admin
            .patch(&format!("/api/telephony/users/{}", t.admin_id), json!({"browser_calls": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert!(sip_socket(&admin, session, &admin.base).await.is_err(), "calls in browser off: refused");
}
