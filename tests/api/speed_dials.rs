//! Speed dial (issue #18, item 6): entries per access group kept by administrators, shown to the
//! group's members with numbers masked by their rules, dialled by reference; another group's
//! member and another tenant get nothing. The call test dials through the real Asterisk and carrier.

use callbase_tests::calls::{agent_with_trunk, sipp_call};
use callbase_tests::{Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::agent_states::desk_agent;
use crate::calls::{wait_ended, wait_result};

async fn group(admin: &Browser, name: &str) -> i64 {
    let r = admin.post("/api/groups", json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

async fn join(admin: &Browser, user: i64, groups: &[i64]) {
    let agent = crate::users::group_id(admin, "Agent").await;
    let mut all = vec![agent];
    all.extend_from_slice(groups);
    let r = admin.patch(&format!("/api/users/{user}"), json!({"group_ids": all})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn mask(admin: &Browser, groups: &[i64]) {
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_group_ids"] = json!(groups);
    s["mask_mode"] = json!("prefix");
    s["mask_chars"] = json!(6);
    assert_eq!(admin.put("/api/crm/settings", s).await.status, StatusCode::OK);
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn speed_dials_are_kept_per_group_and_shown_to_its_members_masked_by_their_rules() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other, _) = app.telephony_tenant().await;
    let sales = group(&admin, "Sales").await;
    let support = group(&admin, "Support").await;
    let (anna, anna_id, _, _) = desk_agent(&app, &admin, &t.account, "anna").await;
    let (boris, boris_id, _, _) = desk_agent(&app, &admin, &t.account, "boris").await;
    join(&admin, anna_id, &[sales]).await;
    join(&admin, boris_id, &[support]).await;
    mask(&admin, &[sales]).await;

    let r = admin
        .post(
            "/api/telephony/speed-dials",
            json!({"group_id": sales, "name": " Head office ", "number": "+7 (495) 123-45-67"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["name"].as_str(), r.body["number"].as_str()),
        (Some("Head office"), Some("+74951234567"))
    );
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["target"], format!("sd{id}"));
    // Bad input: a clear 422, nothing saved.
    for (body, code) in [
        (json!({"group_id": sales, "name": "", "number": "100"}), "invalid_speed_dial_name"),
        (json!({"group_id": sales, "name": "x".repeat(61), "number": "100"}), "invalid_speed_dial_name"),
        (json!({"group_id": sales, "name": "Shop", "number": "12ab"}), "invalid_speed_dial_number"),
        (json!({"group_id": sales, "name": "Shop", "number": "+"}), "invalid_speed_dial_number"),
        (json!({"group_id": sales, "name": "Shop", "number": "1".repeat(33)}), "invalid_speed_dial_number"),
        (json!({"group_id": 999_999, "name": "Shop", "number": "100"}), "unknown_group"),
    ] {
        let r = admin.post("/api/telephony/speed-dials", body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["code"], code, "{body}");
    }
    let r = admin
        .post(
            "/api/telephony/speed-dials",
            json!({"group_id": support, "name": "Reception", "number": "100"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(names(&admin.get("/api/telephony/speed-dials").await.body), ["Head office", "Reception"]);

    // Members see their groups' entries; Anna's group sees numbers masked.
    let mine = anna.get("/api/telephony/me/speed-dials").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert_eq!(names(&mine.body), ["Head office"]);
    assert!(
        !mine.text.contains("1234567") && mine.body[0]["number"].as_str().unwrap().ends_with("234567"),
        "{}",
        mine.text
    );
    assert_eq!(names(&boris.get("/api/telephony/me/speed-dials").await.body), ["Reception"]);
    assert_eq!(boris.get("/api/telephony/me/speed-dials").await.body[0]["number"], "100");
    // Agents do not manage them.
    assert_eq!(anna.get("/api/telephony/speed-dials").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        anna.post("/api/telephony/speed-dials", json!({"group_id": sales, "name": "Mine", "number": "1"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Another tenant neither sees nor touches them, nor files one under this tenant's group.
    assert!(other.get("/api/telephony/speed-dials").await.body.as_array().unwrap().is_empty());
    let body = json!({"group_id": sales, "name": "Hijack", "number": "1"});
    assert_eq!(
        other.put(&format!("/api/telephony/speed-dials/{id}"), body.clone()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(other.delete(&format!("/api/telephony/speed-dials/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.post("/api/telephony/speed-dials", body).await.body["code"], "unknown_group");

    // Changed, moved to Support, deleted.
    let r = admin
        .put(
            &format!("/api/telephony/speed-dials/{id}"),
            json!({"group_id": support, "name": "Head office (new)", "number": "+74951234568"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(anna.get("/api/telephony/me/speed-dials").await.body.as_array().unwrap().is_empty());
    assert_eq!(
        names(&boris.get("/api/telephony/me/speed-dials").await.body),
        ["Head office (new)", "Reception"]
    );
    assert_eq!(
        admin.delete(&format!("/api/telephony/speed-dials/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(admin.delete(&format!("/api/telephony/speed-dials/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_member_dials_an_entry_by_reference_and_anyone_else_is_refused() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, boss_login, boss_password) = agent_with_trunk(&app).await;
    let sales = group(&admin, "Sales").await;
    let (anna, anna_id, anna_login, anna_password) = desk_agent(&app, &admin, &t.account, "anna").await;
    join(&admin, anna_id, &[sales]).await;
    mask(&admin, &[sales]).await;
    let r = admin
        .post(
            "/api/telephony/speed-dials",
            json!({"group_id": sales, "name": "Head office", "number": "1234567"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let target = r.body["target"].as_str().unwrap().to_string();
    let id = r.body["id"].as_i64().unwrap();

    // Anna (masked: she never saw the number) dials the entry: the call goes out to its number.
    let (ok, log) = sipp_call(&anna_login, &anna_password, &target, 200).await;
    assert!(ok, "the speed dial call was answered through the trunk:\n{log}");
    let c = wait_result(t.id).await;
    assert_eq!((c["user_id"].as_i64(), c["result"].as_str()), (Some(anna_id), Some("answered")), "{c}");
    assert_eq!(c["number"], "+74951234567", "{c}");

    // The boss is in no group of the entry: refused before any trunk.
    let (ok, log) = sipp_call(&boss_login, &boss_password, &target, 404).await;
    assert!(ok, "a non-member's speed dial call is refused with 404:\n{log}");
    let c = wait_ended(t.id, 2).await;
    assert_eq!((c["user_id"].as_i64(), c["result"].as_str()), (Some(t.admin_id), Some("refused")), "{c}");
    assert!(c["trunk_slot"].is_null(), "{c}");

    // Desk-phone click-to-call by entry: a member's phone is rung first (here it is not registered,
    // so that callback ends at once); a non-member gets 404.
    let r = anna.post("/api/calls/callback", json!({"speed_dial_id": id})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        admin.post("/api/calls/callback", json!({"speed_dial_id": id})).await.status,
        StatusCode::NOT_FOUND
    );
}
