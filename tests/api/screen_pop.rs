//! The screen-pop URL (issue #21): the template's checks, and the call card's URL filled with a
//! real call record's values — the caller, the agent's extension, the direction, the call and the
//! matched client — masked for a masked agent, not found for another tenant.

use callbase_tests::{worker_pool, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::crm::masked_agent;

#[tokio::test]
async fn the_call_card_gets_the_template_filled_with_the_calls_values() {
    let app = TestApp::spawn().await;
    let (admin, t, olga, olga_id) = masked_agent(&app, "prefix").await;
    let (other, _) = app.telephony_tenant().await;

    for (tpl, code, names) in [
        ("https://crm.example.test/find?phone={caller}&x={callerid}", "unknown_placeholder", "{callerid}"),
        ("https://crm.example.test/find?phone={caller", "unknown_placeholder", "{caller}"),
        ("javascript:alert({caller})", "invalid_url", ""),
        ("{caller}", "invalid_url", ""),
    ] {
        let r = admin
            .put("/api/integrations/screen-pop", json!({"url_template": tpl, "open_on": "ringing"}))
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{tpl}: {}",
            r.text
        );
        assert!(r.body["message"].as_str().unwrap().contains(names), "{}", r.text);
    }
    let r = admin
        .put(
            "/api/integrations/screen-pop",
            json!({"url_template": "https://x.test/", "open_on": "sometimes"}),
        )
        .await;
    assert_eq!(r.body["code"], "invalid_open_on");
    assert_eq!(
        admin.get("/api/integrations/screen-pop").await.body["url_template"],
        "",
        "nothing half-saved"
    );
    assert_eq!(
        olga.put("/api/integrations/screen-pop", json!({"url_template": "", "open_on": "never"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let tpl = "https://crm.example.test/find?phone={caller}&to={callee}&dir={direction}&call={call_id}&client={client_id}";
    let r =
        admin.put("/api/integrations/screen-pop", json!({"url_template": tpl, "open_on": "answer"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A client with the caller's number, and Olga's (masked) inbound call from it.
    let table = admin.get("/api/crm/tables").await.body[0].clone();
    let phone =
        table["fields"].as_array().unwrap().iter().find(|f| f["kind"] == "phone").unwrap()["id"].clone();
    let client = admin
        .post(
            &format!("/api/crm/tables/{}/records", table["id"]),
            json!({"values": {phone.to_string(): "+7 916 123-45-67"}}),
        )
        .await;
    assert_eq!(client.status, StatusCode::CREATED, "{}", client.text);
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, user_id, number, did, started_at) VALUES ($1, $2, 'inbound', $3, '+79161234567', '+74950000000', now())",
    )
    .bind(id)
    .bind(t.id)
    .bind(olga_id)
    .execute(&worker_pool().await)
    .await
    .unwrap();
    let ext = admin
        .get("/api/telephony/users")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == olga_id)
        .unwrap()["extension"]
        .as_str()
        .unwrap()
        .to_string();

    let r = admin.get(&format!("/api/calls/{id}/screen-pop")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["open_on"], "answer");
    assert_eq!(
        r.body["url"],
        format!(
            "https://crm.example.test/find?phone=%2B79161234567&to={ext}&dir=inbound&call={id}&client={}",
            client.body["id"]
        )
    );
    // Olga sees numbers masked: so does her screen-pop.
    let r = olga.get(&format!("/api/calls/{id}/screen-pop")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let url = r.body["url"].as_str().unwrap();
    assert!(url.starts_with("https://crm.example.test/find?phone=%2A%2A%2A%2A%2A%2A%2A%2A4567&"), "{url}");
    assert!(!url.contains("916123"), "{url}");
    // Another tenant: no such call.
    assert_eq!(other.get(&format!("/api/calls/{id}/screen-pop")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.get("/api/integrations/screen-pop").await.body["url_template"], "");
}
