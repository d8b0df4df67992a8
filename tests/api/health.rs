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
