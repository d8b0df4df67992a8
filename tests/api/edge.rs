//! What every route shares at the edge: bad paths and queries answer our JSON error, and the
//! OpenAPI document lists the errors the layers in front of the handlers give.

use callbase_tests::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn ids_and_queries_that_do_not_parse_answer_400_with_a_json_code() {
    let app = TestApp::spawn().await;
    let (a, _) = app.telephony_tenant().await;
    for (path, code) in [
        ("/api/users/abc", "invalid_path"),
        ("/api/users/9223372036854775808", "invalid_path"),
        ("/api/calls/not-a-uuid", "invalid_path"),
        ("/api/crm/records/x", "invalid_path"),
        ("/api/calls?page=two", "invalid_query"),
        ("/api/calls/audit?call_id=nope", "invalid_query"),
        ("/api/crm/lookup", "invalid_query"),
    ] {
        let r = a.get(path).await;
        // A path that is not an id is a bad request (400); a query of the wrong type is checked by
        // ApiQuery like any other input (422).
        let want =
            if code == "invalid_path" { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
        assert_eq!(r.status, want, "{path}: {}", r.text);
        assert_eq!(r.headers["content-type"], "application/json", "{path}");
        assert_eq!(r.body["code"], code, "{path}: {}", r.text);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{path}");
    }
    // The JSON bodies' own 400 is untouched.
    let r = a
        .send(
            a.request(reqwest::Method::POST, "/api/groups")
                .header("x-csrf-token", a.csrf().await)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")));
}

fn responses<'a>(doc: &'a Value, method: &str, path: &str) -> Vec<&'a str> {
    let mut r: Vec<&str> = doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path}"))
        .keys()
        .map(String::as_str)
        .collect();
    r.sort();
    r
}

#[tokio::test]
async fn the_openapi_document_lists_the_errors_every_route_shares() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let doc = b.get("/api/openapi.json").await.body;
    // A read with a path id: the id may not parse; a session is needed.
    assert_eq!(responses(&doc, "get", "/api/users/{id}"), ["200", "400", "401", "404"]);
    // A write with a JSON body: it may not parse, not be JSON, be too large or of the wrong shape;
    // the CSRF check can refuse it.
    assert_eq!(
        responses(&doc, "patch", "/api/groups/{id}"),
        ["200", "400", "401", "403", "404", "409", "413", "415", "422"]
    );
    // Public routes answer without a session.
    assert!(!responses(&doc, "post", "/api/signup").contains(&"401"));
    assert!(!responses(&doc, "get", "/api/auth/csrf").contains(&"401"));
    // The errors are our JSON error.
    assert_eq!(
        doc["paths"]["/api/users/{id}"]["get"]["responses"]["400"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/ErrorBody"
    );
    // What the handlers answer themselves (found by the sweep and schemathesis).
    assert!(
        responses(&doc, "post", "/api/calls/callback").contains(&"404"),
        "a CRM record of another tenant is not found"
    );
    assert!(
        responses(&doc, "get", "/api/crm/tables/{id}/export.csv").contains(&"422"),
        "an unknown sort field"
    );
    assert!(responses(&doc, "get", "/api/calls/export.csv").contains(&"422"), "a bad filter");
    assert!(responses(&doc, "get", "/api/telephony/probe").contains(&"422"), "hours out of range");
}
