use callbase_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_new_tenant_has_the_three_builtin_groups() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    let groups = admin.get("/api/groups").await;
    let names: Vec<(&str, &str, bool)> = groups
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g["role"].as_str().unwrap(), g["builtin"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Administrator", "administrator", true),
            ("Sub-administrator", "sub_administrator", true),
            ("Agent", "user", true)
        ]
    );
    assert_eq!(groups.body[0]["member_count"], 1);
}

#[tokio::test]
async fn custom_groups_are_created_renamed_and_deleted() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    let g = admin.post("/api/groups", json!({"name": "Sales"})).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.text);
    assert_eq!(g.body["role"], "user");
    let dup = admin.post("/api/groups", json!({"name": "sales"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["code"], "group_name_taken");
    let path = format!("/api/groups/{}", g.body["id"]);
    let r = admin.patch(&path, json!({"name": "Sales team", "role": "sub_administrator"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Sales team");
    assert_eq!(r.body["role"], "sub_administrator");
    assert_eq!(admin.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.patch(&path, json!({"name": "x"})).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn builtin_groups_are_locked() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    let groups = admin.get("/api/groups").await;
    let agent = groups.body.as_array().unwrap().iter().find(|g| g["name"] == "Agent").unwrap()["id"].clone();
    let path = format!("/api/groups/{agent}");
    let r = admin.patch(&path, json!({"name": "Agents"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "builtin_group");
    assert_eq!(admin.delete(&path).await.body["code"], "builtin_group");
    let bad = admin.post("/api/groups", json!({"name": "  "})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
