use callbase_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn dial_rules_default_preview_save_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let (a, _) = app.telephony_tenant().await;
    let (b, _) = app.telephony_tenant().await;
    let rules = a.get("/api/telephony/dial-rules").await;
    assert_eq!(rules.status, StatusCode::OK);
    assert_eq!(rules.body["city_prefix"], "495");
    assert_eq!(rules.body["allowed"]["international"], false, "international is off by default");

    let p = a.post("/api/telephony/dial-rules/preview", json!({"number": "8 (495) 123-45-67"})).await;
    assert_eq!(p.body["direction"], "local");
    assert_eq!(p.body["e164"], "+74951234567");
    let refused = a.post("/api/telephony/dial-rules/preview", json!({"number": "+44 20 7946 0958"})).await;
    assert_eq!(refused.body["refused_code"], "direction_not_allowed");
    let letters = a.post("/api/telephony/dial-rules/preview", json!({"number": "8-800-CALL"})).await;
    assert_eq!(letters.body["refused_code"], "invalid_characters");

    let mut new_rules = rules.body.clone();
    new_rules["city_prefix"] = json!("812");
    new_rules["blocked_country_codes"] = json!(["+44"]);
    let put = |body| {
        let a = &a;
        async move {
            a.send(
                a.request(Method::PUT, "/api/telephony/dial-rules")
                    .header("x-csrf-token", a.csrf().await)
                    .json(&body),
            )
            .await
        }
    };
    let saved = put(new_rules.clone()).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(a.get("/api/telephony/dial-rules").await.body["city_prefix"], "812");
    let p = a.post("/api/telephony/dial-rules/preview", json!({"number": "123-45-67"})).await;
    assert_eq!(p.body["e164"], "+78121234567", "saved rules apply");

    let mut bad = new_rules.clone();
    bad["country_code"] = json!("07");
    let r = put(bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "invalid_dial_rules");
    assert!(r.body["message"].as_str().unwrap().starts_with("country code"));
    assert_eq!(a.get("/api/telephony/dial-rules").await.body["country_code"], "7", "nothing written");

    assert_eq!(b.get("/api/telephony/dial-rules").await.body["city_prefix"], "495", "B keeps its own rules");
}
