//! Tenant B must not see or touch anything of tenant A, through any route, and RLS must hold
//! below the API too.

use callbase_tests::{app_pool, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn every_route_answers_404_for_another_tenants_ids() {
    let app = TestApp::spawn().await;
    let (a, ta) = app.new_tenant().await;
    let (b, _) = app.new_tenant().await;
    let a_user = a
        .post(
            "/api/users",
            json!({"login": "secret", "name": "S", "email": "s@example.com", "password": "Agent-pass-12345"}),
        )
        .await
        .body["id"]
        .clone();
    let a_group = a.post("/api/groups", json!({"name": "A only"})).await.body["id"].clone();

    for (what, r) in [
        ("GET user", b.get(&format!("/api/users/{a_user}")).await),
        ("GET admin", b.get(&format!("/api/users/{}", ta.admin_id)).await),
        ("PATCH user", b.patch(&format!("/api/users/{a_user}"), json!({"disabled": true})).await),
        ("PATCH group", b.patch(&format!("/api/groups/{a_group}"), json!({"name": "mine"})).await),
        ("DELETE group", b.delete(&format!("/api/groups/{a_group}")).await),
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}: {}", r.text);
        assert_eq!(r.body["code"], "not_found", "{what}");
    }
    let link = b
        .post("/api/users", json!({"login": "x", "name": "X", "email": "x@example.com", "password": "Agent-pass-12345", "group_ids": [a_group]}))
        .await;
    assert_eq!(link.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", link.text);
    assert_eq!(link.body["code"], "unknown_group");

    // Lists show only B's own rows.
    let users = b.get("/api/users").await;
    assert_eq!(users.body.as_array().unwrap().len(), 1);
    assert!(b.get("/api/groups").await.body.as_array().unwrap().iter().all(|g| g["name"] != "A only"));
    // And A's data is untouched.
    assert_eq!(a.get(&format!("/api/users/{a_user}")).await.body["disabled"], false);
    assert_eq!(a.get("/api/groups").await.body.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_app_role_sees_no_tenant_rows_without_a_tenant_and_only_its_own_with_one() {
    let app = TestApp::spawn().await;
    let (_, ta) = app.new_tenant().await;
    let (_, tb) = app.new_tenant().await;
    let pool = app_pool().await;
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(none, 0, "no tenant set: RLS hides every row");
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(ta.id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT tenant_id FROM users").fetch_all(&mut *tx).await.unwrap();
    assert!(!ids.is_empty() && ids.iter().all(|id| *id == ta.id));
    let err = sqlx::query("INSERT INTO access_groups (tenant_id, name) VALUES ($1, 'sneaky')")
        .bind(tb.id)
        .execute(&mut *tx)
        .await
        .expect_err("writing another tenant's row is refused by RLS");
    assert!(err.to_string().contains("row-level security"), "{err}");
}
