use callbase_tests::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn readyz_reports_all_four_dependencies_up() {
    let app = TestApp::spawn().await;
    let r = app.browser().get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
    for dep in ["postgres", "redis", "s3", "ari"] {
        assert_eq!(r.body["checks"][dep]["ok"], true, "{dep} not ok: {}", r.text);
    }
}

#[tokio::test]
async fn readyz_says_which_dependency_is_down() {
    // An ARI port nothing listens on, and a wrong S3 secret (s3s-fs checks signatures).
    let app = TestApp::spawn_with(&[
        ("CALLBASE__ASTERISK__ARI_URL", "http://127.0.0.1:9"),
        ("CALLBASE__S3__SECRET_KEY", "not-the-secret"),
    ])
    .await;
    let r = app.browser().get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.body["checks"]["postgres"]["ok"], true);
    assert_eq!(r.body["checks"]["redis"]["ok"], true);
    assert_eq!(r.body["checks"]["ari"]["ok"], false);
    assert_eq!(r.body["checks"]["s3"]["ok"], false);
    assert!(!r.text.contains("not-the-secret"), "secrets must never be echoed");
}

#[tokio::test]
async fn healthz_metrics_and_openapi_are_served() {
    let app = TestApp::spawn_with(&[("CALLBASE__HTTP__METRICS_TOKEN", "metrics-token-for-tests-1")]).await;
    let b = app.browser();
    assert_eq!(b.get("/healthz").await.text, "ok");
    b.get("/api/auth/me").await;
    let m =
        b.send(b.request(reqwest::Method::GET, "/metrics").bearer_auth("metrics-token-for-tests-1")).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.text.contains("http_requests_total"), "{}", m.text);
    assert!(m.text.contains(r#"route="/api/auth/me""#), "metrics are labelled by matched route: {}", m.text);
    let o = b.get("/api/openapi.json").await;
    assert_eq!(o.status, StatusCode::OK);
    for path in ["/api/signup", "/api/auth/login", "/api/users/{id}", "/api/groups"] {
        assert!(o.body["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::spawn().await;
    let r = app.browser().get("/healthz").await;
    assert!(r.headers.get("x-request-id").is_some_and(|v| v.len() >= 32));
}

#[tokio::test]
async fn unknown_api_paths_answer_json_404() {
    let app = TestApp::spawn().await;
    let r = app.browser().get("/api/no-such-thing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "not_found");
}

/// `/readyz` asks every Asterisk node the replica knows (issue #17): each one's state and answer is
/// listed, and a node that does not answer leaves the replica ready while another one answers (its
/// tenants are moved by the failover watcher).
#[tokio::test]
async fn readyz_lists_every_node_and_stays_ready_with_one_node_dead() {
    let pool = callbase_tests::worker_pool().await;
    let dead = callbase_tests::unique("dead-");
    sqlx::query(
        "INSERT INTO nodes (id, ari_url, capacity, state, db_role) VALUES ($1, 'http://127.0.0.1:1', 0, 'draining', $2)",
    )
    .bind(&dead)
    .bind(format!("test_role_{}", dead.replace('-', "_")))
    .execute(&pool)
    .await
    .unwrap();
    // The node supervisor of every node reads the registry (no Stasis app, no registration
    // monitor: those would take the calls of the tests in the `stasis` group).
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__NODES", "all")]).await;
    let b = app.browser();
    // The replica reads the registry within its refresh interval (5 s).
    let mut r = b.get("/readyz").await;
    for _ in 0..40 {
        let ids: Vec<&str> =
            r.body["checks"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["id"].as_str()).collect();
        if ids.contains(&dead.as_str()) && ids.contains(&"node2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        r = b.get("/readyz").await;
    }
    sqlx::query("DELETE FROM nodes WHERE id = $1").bind(&dead).execute(&pool).await.unwrap();
    let node = |id: &str| {
        r.body["checks"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed: {}", r.text))
    };
    assert_eq!(node("main")["ok"], true, "{}", r.text);
    assert_eq!(node("node2")["ok"], true, "{}", r.text);
    assert_eq!(node(&dead)["ok"], false, "{}", r.text);
    assert_eq!(node(&dead)["state"], "draining", "{}", r.text);
    assert!(node(&dead)["error"].is_string(), "{}", r.text);
    assert_eq!(r.status, StatusCode::OK, "one dead node leaves the replica ready: {}", r.text);
    assert_eq!(r.body["checks"]["ari"]["ok"], true, "{}", r.text);
}
