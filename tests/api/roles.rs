//! What a sub-administrator may not do (issue 14, item 6): legal hold, retention and turning
//! telephony off are administrators' decisions; an administrator's telephony is not theirs to
//! change; and a legal hold survives telephony going off and on.

use callbase_tests::{worker_pool, Browser, Tenant, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::recordings::{store, stored_call};
use crate::users::{create_user, group_id};

/// A signed-in sub-administrator of the admin's tenant.
async fn sub_admin(app: &TestApp, admin: &Browser, t: &Tenant, login: &str) -> (Browser, i64) {
    let sub_group = group_id(admin, "Sub-administrator").await;
    let id = create_user(admin, login, &[sub_group]).await["id"].as_i64().unwrap();
    let b = app.browser();
    assert_eq!(b.login(&t.account, login, "Agent-pass-12345").await.status, StatusCode::OK);
    (b, id)
}

#[tokio::test]
async fn a_sub_administrator_cannot_set_a_legal_hold_or_change_retention_but_an_administrator_can() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (sub, _) = sub_admin(&app, &admin, &t, "sofia").await;
    let (call, _) = stored_call(t.id, "+79161234567", OffsetDateTime::now_utc(), b"rec", false).await;

    let r = sub.patch(&format!("/api/calls/{call}"), json!({"legal_hold": true})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admins_only")),
        "{}",
        r.text
    );
    assert_eq!(
        sub.patch(&format!("/api/calls/{call}"), json!({"note": "called back"})).await.status,
        StatusCode::OK,
        "notes stay open"
    );

    let settings = sub.get("/api/telephony/recording").await.body;
    let mut short = settings.clone();
    short["retention_days"] = json!(1);
    let r = sub.put("/api/telephony/recording", short.clone()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admins_only")),
        "{}",
        r.text
    );
    let mut rows_too = settings.clone();
    rows_too["retention_delete_calls"] = json!(true);
    assert_eq!(sub.put("/api/telephony/recording", rows_too).await.body["code"], "admins_only");
    let mut types = settings.clone();
    types["call_types"] = json!(["Sales", "Complaint"]);
    let r = sub.put("/api/telephony/recording", types).await;
    assert_eq!(r.status, StatusCode::OK, "the rest of the settings stay with sub-administrators: {}", r.text);
    assert_eq!(
        admin.get("/api/telephony/recording").await.body["retention_days"],
        settings["retention_days"]
    );

    let r = admin.patch(&format!("/api/calls/{call}"), json!({"legal_hold": true})).await;
    assert_eq!((r.status, r.body["legal_hold"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    let r = sub.patch(&format!("/api/calls/{call}"), json!({"legal_hold": false})).await;
    assert_eq!(r.body["code"], "admins_only", "nor can a sub-administrator lift it");
    assert_eq!(admin.put("/api/telephony/recording", short).await.status, StatusCode::OK);
    assert_eq!(admin.get("/api/telephony/recording").await.body["retention_days"], 1);
}

#[tokio::test]
async fn only_an_administrator_turns_telephony_off() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (sub, _) = sub_admin(&app, &admin, &t, "sofia").await;
    let r = sub.post("/api/telephony/disable", json!({"confirm_account": t.account})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admins_only")),
        "{}",
        r.text
    );
    assert_eq!(admin.get("/api/telephony").await.body["enabled"], true, "telephony is still on");
}

#[tokio::test]
async fn calls_on_legal_hold_survive_turning_telephony_off_and_on() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other_admin, other) = app.telephony_tenant().await;
    let now = OffsetDateTime::now_utc();
    let (held, held_key) = stored_call(t.id, "+79161234567", now, b"held", true).await;
    let (free, free_key) = stored_call(t.id, "+79161234568", now, b"free", false).await;
    let (others, others_key) = stored_call(other.id, "+79161234569", now, b"other", false).await;

    let r = admin.post("/api/telephony/disable", json!({"confirm_account": t.account})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let pool = worker_pool().await;
    let exists = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM calls WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
                == 1
        }
    };
    assert!(exists(held).await, "the call on legal hold is kept");
    assert!(!exists(free).await, "the others go");
    assert!(exists(others).await, "another tenant's calls are untouched");
    let s3 = store();
    assert!(s3.head(&held_key).await.unwrap().is_some(), "its recording is kept");
    assert!(s3.head(&free_key).await.unwrap().is_none());
    assert!(s3.head(&others_key).await.unwrap().is_some());

    assert_eq!(admin.post("/api/telephony/enable", json!({})).await.status, StatusCode::OK);
    let r = admin.get(&format!("/api/calls/{held}")).await;
    assert_eq!((r.status, r.body["legal_hold"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    let r = admin.get(&format!("/api/calls/{held}/recording")).await;
    assert_eq!(r.status, StatusCode::OK, "the recording still plays");
    assert_eq!(other_admin.get(&format!("/api/calls/{held}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_sub_administrator_cannot_touch_an_administrators_telephony_but_manages_agents() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (sub, _) = sub_admin(&app, &admin, &t, "sofia").await;
    let boss = t.admin_id;
    let agent_group = group_id(&admin, "Agent").await;
    let agent = create_user(&admin, "petr", &[agent_group]).await["id"].as_i64().unwrap();
    let admin_group = group_id(&admin, "Administrator").await;
    let second_admin = create_user(&admin, "vera", &[admin_group]).await["id"].as_i64().unwrap();

    let refused = [
        sub.post(&format!("/api/telephony/users/{boss}/password"), json!({})).await,
        sub.patch(&format!("/api/telephony/users/{boss}"), json!({"extension": "555"})).await,
        sub.patch(&format!("/api/telephony/users/{boss}"), json!({"browser_calls": false})).await,
        sub.delete(&format!("/api/telephony/users/{boss}")).await,
        sub.post("/api/telephony/users", json!({"user_id": second_admin})).await,
    ];
    for r in refused {
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("admins_only")),
            "{}",
            r.text
        );
    }
    let users = admin.get("/api/telephony/users").await.body;
    let me = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == boss)
        .expect("the administrator is still a telephony user");
    assert_eq!((me["extension"].as_str(), me["browser_calls"].as_bool()), (Some("101"), Some(true)));

    // Nor through the auto-provisioning groups: unchecking the group that gave an administrator
    // telephony would remove it.
    assert_eq!(
        admin.put("/api/telephony/provisioning", json!({"group_ids": [admin_group]})).await.status,
        StatusCode::OK
    );
    let r = sub.put("/api/telephony/provisioning", json!({"group_ids": []})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admins_only")),
        "{}",
        r.text
    );
    let users = admin.get("/api/telephony/users").await.body;
    assert!(
        users.as_array().unwrap().iter().any(|u| u["user_id"] == second_admin),
        "the administrator keeps the phone the group gave"
    );
    assert_eq!(admin.get("/api/telephony/provisioning").await.body["group_ids"], json!([admin_group]));

    // Agents' telephony is theirs to manage.
    let r = sub.post("/api/telephony/users", json!({"user_id": agent})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        sub.post(&format!("/api/telephony/users/{agent}/password"), json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        sub.patch(&format!("/api/telephony/users/{agent}"), json!({"extension": "556"})).await.status,
        StatusCode::OK
    );
    assert_eq!(sub.delete(&format!("/api/telephony/users/{agent}")).await.status, StatusCode::NO_CONTENT);
    // And an administrator may change an administrator's.
    let r = admin.post(&format!("/api/telephony/users/{boss}/password"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["sip_password"].is_string());
    assert_eq!(
        admin.put("/api/telephony/provisioning", json!({"group_ids": []})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.post("/api/telephony/users", json!({"user_id": second_admin})).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_sub_administrator_cannot_delete_the_group_that_gives_an_administrator_a_phone() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (sub, _) = sub_admin(&app, &admin, &t, "gleb").await;
    // "Office": an ordinary group that provisions telephony, with an administrator among its members.
    let office = admin.post("/api/groups", json!({"name": "Office"})).await.body["id"].as_i64().unwrap();
    let admin_group = group_id(&admin, "Administrator").await;
    let vera = create_user(&admin, "vera2", &[admin_group, office]).await["id"].as_i64().unwrap();
    assert_eq!(
        admin.put("/api/telephony/provisioning", json!({"group_ids": [office]})).await.status,
        StatusCode::OK
    );
    let has_phone =
        |users: &serde_json::Value| users.as_array().unwrap().iter().any(|u| u["user_id"] == vera);
    assert!(
        has_phone(&admin.get("/api/telephony/users").await.body),
        "the group gave the administrator a phone"
    );

    let r = sub.delete(&format!("/api/groups/{office}")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admins_only")),
        "{}",
        r.text
    );
    assert!(has_phone(&admin.get("/api/telephony/users").await.body), "the administrator keeps the phone");
    // An administrator may.
    assert_eq!(admin.delete(&format!("/api/groups/{office}")).await.status, StatusCode::NO_CONTENT);
    // A group without administrators in it is the sub-administrator's to delete.
    let team = admin.post("/api/groups", json!({"name": "Team"})).await.body["id"].as_i64().unwrap();
    let agent_group = group_id(&admin, "Agent").await;
    create_user(&admin, "ivan2", &[agent_group, team]).await;
    assert_eq!(
        admin.put("/api/telephony/provisioning", json!({"group_ids": [team]})).await.status,
        StatusCode::OK
    );
    assert_eq!(sub.delete(&format!("/api/groups/{team}")).await.status, StatusCode::NO_CONTENT);
}
