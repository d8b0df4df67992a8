//! Response headers that protect the browser (CSP, Permissions-Policy, HSTS in secure mode), the
//! token in front of `/metrics`, and JSON errors for bodies over the limit.

use callbase_tests::{unique, Resp, TestApp};
use reqwest::{Method, StatusCode};

/// A stand-in for the built web app (`http.static_dir`), so the SPA's HTML is served.
fn static_dir() -> String {
    let dir = std::env::temp_dir().join(unique("cb-web-"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>callbase</title><script type=\"module\" src=\"/assets/app.js\"></script>",
    )
    .unwrap();
    dir.to_str().unwrap().to_string()
}

fn header<'a>(r: &'a Resp, name: &str) -> &'a str {
    r.headers.get(name).unwrap_or_else(|| panic!("{name} missing: {:?}", r.headers)).to_str().unwrap()
}

fn assert_protective_headers(r: &Resp, what: &str) {
    let csp = header(r, "content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self';",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP lacks {part}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}: {csp}");
    let pp = header(r, "permissions-policy");
    assert!(
        pp.contains("microphone=(self)") && pp.contains("hid=(self)") && pp.contains("camera=()"),
        "{what}: {pp}"
    );
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{what}");
}

#[tokio::test]
async fn html_and_api_responses_carry_a_csp_without_inline_script_and_a_permissions_policy() {
    let dir = static_dir();
    let app = TestApp::spawn_with(&[("CALLBASE__HTTP__STATIC_DIR", &dir)]).await;
    let b = app.browser();
    let html = b.get("/").await;
    assert_eq!(html.status, StatusCode::OK, "{}", html.text);
    assert!(header(&html, "content-type").starts_with("text/html"));
    assert_protective_headers(&html, "index.html");
    let spa_route = b.get("/telephony").await;
    assert_protective_headers(&spa_route, "a client-side route");
    let api = b.get("/api/auth/me").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_protective_headers(&api, "an API error");
    let (admin, _) = app.new_tenant().await;
    assert_protective_headers(&admin.get("/api/auth/me").await, "an API answer");
    assert!(html.headers.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn secure_mode_sends_hsts() {
    let app = TestApp::spawn_with(&[("CALLBASE__AUTH__COOKIE_SECURE", "true")]).await;
    let r = app.browser().get("/healthz").await;
    let hsts = header(&r, "strict-transport-security");
    assert!(
        hsts.starts_with("max-age=") && hsts["max-age=".len()..].parse::<u64>().unwrap() >= 31_536_000,
        "{hsts}"
    );
}

#[tokio::test]
async fn metrics_are_served_only_with_the_bearer_token() {
    let app = TestApp::spawn_with(&[("CALLBASE__HTTP__METRICS_TOKEN", "metrics-token-for-tests-1")]).await;
    let b = app.browser();
    b.get("/api/auth/me").await;
    for auth in [None, Some("Bearer wrong-token"), Some("metrics-token-for-tests-1"), Some("Bearer ")] {
        let mut rb = b.request(Method::GET, "/metrics");
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        let r = b.send(rb).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}: {}", r.text);
        assert_eq!(r.body["code"], "unauthenticated");
        assert!(!r.text.contains("http_requests_total"));
    }
    let ok = b
        .send(b.request(Method::GET, "/metrics").header("authorization", "Bearer metrics-token-for-tests-1"))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.text.contains("http_requests_total"), "{}", ok.text);

    // Without a configured token there is nothing to scrape (the stacks configure one: empty it).
    let open = TestApp::spawn_with(&[("CALLBASE__HTTP__METRICS_TOKEN", "")]).await;
    let r = open.browser().get("/metrics").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(!r.text.contains("http_requests_total"));
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413_as_a_json_error() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let csrf = admin.csrf().await;
    // Greetings are raw audio bytes, limited to 10 MiB.
    let r = admin
        .send(
            admin
                .request(Method::PUT, "/api/telephony/greeting")
                .header("x-csrf-token", csrf)
                .header("content-type", "audio/mpeg")
                .body(vec![0u8; 11 * 1024 * 1024]),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(header(&r, "content-type").starts_with("application/json"), "{:?}", r.headers);
    assert_eq!(r.body["code"], "body_too_large", "{}", r.text);
}
