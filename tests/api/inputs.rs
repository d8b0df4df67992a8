//! Hostile input: page numbers that overflow, control characters in every kind of text the API
//! takes (JSON bodies, query strings, CSV headers and cells). Each answers 422 with a stable code,
//! never 500.

use callbase_tests::{worker_pool, Browser, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

fn assert_422(r: &callbase_tests::Resp, code: &str, what: &str) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", r.text);
    assert_eq!(r.body["code"], code, "{what}: {}", r.text);
}

/// A finished inbound call of `tenant`, straight into the table (no Asterisk needed).
async fn call_of(tenant: i64) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO calls (id, tenant_id, direction, number, result) VALUES ($1, $2, 'inbound', '+74951234567', 'answered')")
        .bind(id)
        .bind(tenant)
        .execute(&worker_pool().await)
        .await
        .unwrap();
    id
}

async fn upload_csv(b: &Browser, table: i64, body: &[u8]) -> callbase_tests::Resp {
    let csrf = b.csrf().await;
    b.send(
        b.request(Method::POST, &format!("/api/crm/tables/{table}/imports"))
            .header("x-csrf-token", csrf)
            .header("content-type", "text/csv")
            .body(body.to_vec()),
    )
    .await
}

#[tokio::test]
async fn page_numbers_that_would_overflow_the_offset_answer_422_bad_page() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    for path in ["/api/calls", "/api/calls/audit"] {
        for page in ["9223372036854775807", "0", "-3", "100001"] {
            let r = admin.get(&format!("{path}?page={page}")).await;
            assert_422(&r, "bad_page", &format!("{path}?page={page}"));
        }
        let r = admin.get(&format!("{path}?page=2")).await;
        assert_eq!(r.status, StatusCode::OK, "{path}?page=2: {}", r.text);
    }
    let r = admin.get("/api/calls?page=9223372036854775807&per_page=200").await;
    assert_422(&r, "bad_page", "largest page with the largest page size");
}

#[tokio::test]
async fn control_characters_in_json_text_answer_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let call = call_of(t.id).await;

    let note = admin.patch(&format!("/api/calls/{call}"), json!({"note": "called back\u{0}"})).await;
    assert_422(&note, "control_characters", "NUL in a call note");
    assert!(note.body["message"].as_str().unwrap().starts_with("note "), "{}", note.text);
    // Line breaks and tabs are what notes are made of.
    let ok = admin.patch(&format!("/api/calls/{call}"), json!({"note": "first line\nsecond\tline"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["note"], "first line\nsecond\tline");

    let mut settings = admin.get("/api/telephony/recording").await.body;
    settings["call_types"] = json!(["Sale", "Supp\u{0}ort"]);
    let types = admin.put("/api/telephony/recording", settings).await;
    assert_422(&types, "control_characters", "NUL in a call type");
    assert!(types.body["message"].as_str().unwrap().starts_with("call_types[1] "), "{}", types.text);

    let trunk = admin
        .post(
            "/api/trunks",
            json!({"mode": "simple", "label": "Main\u{0}", "username": "u1", "password": "secret-pass-1", "domain": "sip.example.com"}),
        )
        .await;
    assert_422(&trunk, "control_characters", "NUL in a trunk label");
    let escape = admin.post("/api/groups", json!({"name": "Sales\u{1b}[2J"})).await;
    assert_422(&escape, "control_characters", "an escape sequence in a group name");

    // Keys are text too: CRM record data is keyed by field id and stored as jsonb.
    let table = admin.post("/api/crm/tables", json!({"name": "Leads"})).await;
    assert_eq!(table.status, StatusCode::CREATED, "{}", table.text);
    let table = table.body["id"].as_i64().unwrap();
    let key =
        admin.post(&format!("/api/crm/tables/{table}/records"), json!({"values": {"1\u{0}": "x"}})).await;
    assert_422(&key, "control_characters", "NUL in a JSON key");
    let value =
        admin.post(&format!("/api/crm/tables/{table}/records"), json!({"values": {"1": "x\u{0}"}})).await;
    assert_422(&value, "control_characters", "NUL in a CRM value");
}

#[tokio::test]
async fn control_characters_in_query_strings_answer_422() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let table = admin.post("/api/crm/tables", json!({"name": "Leads"})).await.body["id"].as_i64().unwrap();
    for path in [
        format!("/api/crm/tables/{table}/records?q=ivan%00"),
        format!("/api/crm/tables/{table}/records?q%00=ivan"),
        format!("/api/crm/tables/{table}/export.csv?q=%00"),
        "/api/crm/lookup?number=%00".to_string(),
        "/api/calls?number=12%00".to_string(),
        "/api/calls?from=2026-01-01%1b".to_string(),
    ] {
        assert_422(&admin.get(&path).await, "control_characters", &path);
    }
    // A NUL escaped inside the JSON of `filters` is found too.
    let filters = r#"[{"field":1,"op":"contains","value":"\u0000"}]"#;
    let path = format!("/api/crm/tables/{table}/records?filters={}", urlencode(filters));
    assert_422(&admin.get(&path).await, "control_characters", "NUL inside filters");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn control_characters_in_csv_headers_or_cells_answer_422_at_upload() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    let table = admin.post("/api/crm/tables", json!({"name": "Leads"})).await.body["id"].as_i64().unwrap();
    let header = upload_csv(&admin, table, b"Name,Ph\0one\nIvan,+74951234567\n").await;
    assert_422(&header, "control_characters", "NUL in a CSV header");
    assert!(
        header.body["message"].as_str().unwrap().contains("column 2 of the header line"),
        "{}",
        header.text
    );
    let cell = upload_csv(&admin, table, b"Name,Phone\nIvan,+74951234567\nPetr\x1b,+74951234568\n").await;
    assert_422(&cell, "control_characters", "an escape in a CSV cell");
    assert!(cell.body["message"].as_str().unwrap().contains("line 3, column 'Name'"), "{}", cell.text);
    // Quoted line breaks inside a cell are ordinary CSV.
    let ok = upload_csv(&admin, table, b"Name,Comment\nIvan,\"two\nlines\"\n").await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}
