//! API keys and the public `/api/v1` (issue #21) against the real server, PostgreSQL and Redis:
//! scopes, revocation on the next request, expiry, networks, the per-key rate, cursors, two
//! tenants on every route, and the checks of creating keys.

use std::time::Duration;

use callbase_tests::{worker_pool, Browser, Resp, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::users::{create_user, group_id};

/// Creates a key as `admin`; returns (its token, its id).
pub(crate) async fn new_key(admin: &Browser, scopes: &[&str], extra: Value) -> (String, i64) {
    let mut body = json!({"name": "ERP", "scopes": scopes});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = admin.post("/api/integrations/keys", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (r.body["secret"].as_str().unwrap().to_string(), r.body["key"]["id"].as_i64().unwrap())
}

/// A client with no cookies that sends `token` from `ip`.
pub(crate) struct Client {
    b: Browser,
    token: String,
}

impl Client {
    pub(crate) fn new(app: &TestApp, token: &str) -> Client {
        Client::from(app, token, "203.0.113.10")
    }

    pub(crate) fn from(app: &TestApp, token: &str, ip: &str) -> Client {
        Client { b: app.browser_from(ip), token: token.to_string() }
    }

    pub(crate) async fn call(&self, m: Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.b.request(m, path).bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.b.send(rb).await
    }

    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }
}

async fn insert_calls(tenant: i64, n: usize) -> Vec<Uuid> {
    let pool = worker_pool().await;
    let mut ids = Vec::new();
    let base = OffsetDateTime::now_utc() - time::Duration::hours(2);
    for i in 0..n {
        let id = Uuid::new_v4();
        let at = base + time::Duration::minutes(i as i64);
        sqlx::query(
            "INSERT INTO calls (id, tenant_id, direction, number, started_at, answered_at, ended_at, result)
             VALUES ($1, $2, 'inbound', $3, $4, $4, $4 + interval '1 minute', 'answered')",
        )
        .bind(id)
        .bind(tenant)
        .bind(format!("+7916000000{i}"))
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn a_key_reads_calls_by_cursor_within_its_scope_and_stops_on_the_request_after_its_revocation() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (admin_b, tb) = app.telephony_tenant().await;
    let mut ids = insert_calls(t.id, 5).await;
    let theirs = insert_calls(tb.id, 1).await;
    let (token, key_id) = new_key(&admin, &["calls:read"], json!({})).await;
    assert!(token.starts_with(&format!("cbk_{}_", t.id)), "{token}");
    let c = Client::new(&app, &token);

    // Newest first, two a page, by cursor: every call once, the other tenant's never.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/v1/calls?limit=2".to_string();
    let mut pages = 0;
    loop {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        pages += 1;
        seen.extend(
            r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match r.body["next"].as_str() {
            Some(n) => path = format!("/api/v1/calls?limit=2&cursor={n}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids.iter().map(Uuid::to_string).collect::<Vec<_>>(), "newest first, each once");
    assert!(pages >= 3);
    let one = c.get(&format!("/api/v1/calls/{}", ids[0])).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["number"], "+79160000004");
    assert_eq!(c.get(&format!("/api/v1/calls/{}", theirs[0])).await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/api/v1/calls?cursor=%%%").await.body["code"], "invalid_cursor");
    assert_eq!(c.get("/api/v1/calls?limit=500").await.body["code"], "invalid_limit");

    // Another scope's routes: 403 naming the scope.
    let r =
        c.call(Method::POST, "/api/v1/calls", Some(json!({"user_id": t.admin_id, "number": "101"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["code"], "missing_scope");
    assert!(r.body["message"].as_str().unwrap().contains("calls:place"), "{}", r.text);
    let r = c.get("/api/v1/users").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("missing_scope")));

    // The other tenant's key sees its own call only; a token naming one tenant with another's
    // secret is nobody's.
    let (token_b, _) = new_key(&admin_b, &["calls:read"], json!({})).await;
    let cb = Client::new(&app, &token_b);
    let r = cb.get("/api/v1/calls").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(cb.get(&format!("/api/v1/calls/{}", ids[0])).await.status, StatusCode::NOT_FOUND);
    let forged = token_b.replacen(&format!("cbk_{}_", tb.id), &format!("cbk_{}_", t.id), 1);
    let r = Client::new(&app, &forged).get("/api/v1/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));

    // No key: 401, even with the administrator's session cookie (the public API takes keys only).
    let r = admin.get("/api/v1/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("api_key_required")));

    // The list shows the key's last use and never its secret.
    let list = admin.get("/api/integrations/keys").await;
    let k = list.body.as_array().unwrap().iter().find(|k| k["id"] == key_id).unwrap().clone();
    assert_eq!(k["last_used_ip"], "203.0.113.10");
    assert!(k["last_used_at"].is_string());
    assert!(!list.text.contains(&token[10..]), "the secret is shown once only");

    // Revoked: the very next request is refused.
    assert_eq!(
        admin.delete(&format!("/api/integrations/keys/{key_id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = c.get("/api/v1/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("api_key_revoked")));
    // Another tenant cannot revoke it (404), nor see it.
    let (_, other_key) = new_key(&admin, &["calls:read"], json!({})).await;
    assert_eq!(
        admin_b.delete(&format!("/api/integrations/keys/{other_key}")).await.status,
        StatusCode::NOT_FOUND
    );
    let audit = admin.get("/api/security/audit").await;
    assert!(audit.text.contains("api_key.create") && audit.text.contains("api_key.revoke"), "{}", audit.text);
}

#[tokio::test]
async fn expiry_networks_and_the_rate_of_a_key_are_enforced() {
    let app = TestApp::spawn().await;
    let (admin, _t) = app.telephony_tenant().await;

    let soon = (OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (expiring, _) = new_key(&admin, &["calls:read"], json!({"expires_at": soon})).await;
    assert_eq!(Client::new(&app, &expiring).get("/api/v1/calls").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = Client::new(&app, &expiring).get("/api/v1/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("api_key_expired")));

    let (netbound, _) =
        new_key(&admin, &["calls:read"], json!({"allowed_networks": ["192.0.2.0/24", "2001:db8::1"]})).await;
    let r = Client::from(&app, &netbound, "198.51.100.7").get("/api/v1/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("network_not_allowed")));
    assert_eq!(
        Client::from(&app, &netbound, "192.0.2.200").get("/api/v1/calls").await.status,
        StatusCode::OK
    );
    assert_eq!(
        Client::from(&app, &netbound, "2001:db8::1").get("/api/v1/calls").await.status,
        StatusCode::OK
    );

    let (slow, _) = new_key(&admin, &["calls:read"], json!({"rate_per_minute": 3})).await;
    let c = Client::new(&app, &slow);
    for _ in 0..3 {
        assert_eq!(c.get("/api/v1/calls").await.status, StatusCode::OK);
    }
    let r = c.get("/api/v1/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

#[tokio::test]
async fn creating_a_key_checks_its_input_and_who_asks() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let bad = |body: Value| {
        let admin = &admin;
        async move { admin.post("/api/integrations/keys", body).await }
    };
    for (body, code) in [
        (json!({"name": "x", "scopes": ["calls:delete"]}), "unknown_scope"),
        (json!({"name": "x", "scopes": []}), "unknown_scope"),
        (json!({"name": "", "scopes": ["calls:read"]}), "invalid_name"),
        (
            json!({"name": "x", "scopes": ["calls:read"], "allowed_networks": ["10.0.0.0/33"]}),
            "invalid_network",
        ),
        (
            json!({"name": "x", "scopes": ["calls:read"], "expires_at": "2020-01-01T00:00:00Z"}),
            "invalid_expiry",
        ),
        (json!({"name": "x", "scopes": ["calls:read"], "expires_at": "tomorrow"}), "invalid_expiry"),
        (json!({"name": "x", "scopes": ["calls:read"], "rate_per_minute": 0}), "invalid_rate"),
    ] {
        let r = bad(body.clone()).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}: {}",
            r.text
        );
    }
    assert_eq!(
        admin.get("/api/integrations/keys").await.body.as_array().unwrap().len(),
        0,
        "nothing half-saved"
    );

    // A sub-administrator makes keys, but not with `admin`; an agent makes none.
    let sub_group = group_id(&admin, "Sub-administrator").await;
    create_user(&admin, "sofia", &[sub_group]).await;
    let sub = app.browser();
    assert_eq!(sub.login(&t.account, "sofia", "Agent-pass-12345").await.status, StatusCode::OK);
    let r = sub.post("/api/integrations/keys", json!({"name": "x", "scopes": ["admin"]})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("admins_only")));
    let (sub_token, _) = new_key(&sub, &["calls:read"], json!({})).await;
    let agent_group = group_id(&admin, "Agent").await;
    let anna = create_user(&admin, "anna", &[agent_group]).await;
    let agent = app.browser();
    assert_eq!(agent.login(&t.account, "anna", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(
        agent.post("/api/integrations/keys", json!({"name": "x", "scopes": ["calls:read"]})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(agent.get("/api/integrations/keys").await.status, StatusCode::FORBIDDEN);

    // A key acts as its creator: disabling the creator stops it.
    assert_eq!(Client::new(&app, &sub_token).get("/api/v1/calls").await.status, StatusCode::OK);
    let sofia = admin
        .get("/api/users")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "sofia")
        .unwrap()["id"]
        .clone();
    assert_eq!(
        admin.patch(&format!("/api/users/{sofia}"), json!({"disabled": true})).await.status,
        StatusCode::OK
    );
    let r = Client::new(&app, &sub_token).get("/api/v1/calls").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("api_key_owner_disabled"))
    );
    let _ = anna;
}

#[tokio::test]
async fn crm_records_users_and_webhooks_through_the_public_api_with_two_tenants() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (admin_b, _tb) = app.telephony_tenant().await;
    let tables = admin.get("/api/crm/tables").await;
    let table = tables.body.as_array().unwrap()[0].clone();
    let table_id = table["id"].as_i64().unwrap();
    let name_field = table["fields"].as_array().unwrap().iter().find(|f| f["kind"] == "text").unwrap()["id"]
        .as_i64()
        .unwrap();

    let (token, _) = new_key(&admin, &["crm:write", "users:read", "admin"], json!({})).await;
    let c = Client::new(&app, &token);
    // Writes need no CSRF token and no cookie.
    let mut created = Vec::new();
    for i in 0..5 {
        let r = c
            .call(
                Method::POST,
                &format!("/api/v1/crm/tables/{table_id}/records"),
                Some(json!({"values": {name_field.to_string(): format!("Client {i}")}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        created.push(r.body["id"].as_i64().unwrap());
    }
    let r = c
        .call(
            Method::PATCH,
            &format!("/api/v1/crm/records/{}", created[0]),
            Some(json!({"values": {name_field.to_string(): "Renamed"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/crm/tables/{table_id}/records?limit=2");
    loop {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        seen.extend(r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()));
        match r.body["next"].as_str() {
            Some(n) => path = format!("/api/v1/crm/tables/{table_id}/records?limit=2&cursor={n}"),
            None => break,
        }
    }
    let mut want = created.clone();
    want.reverse();
    assert_eq!(seen, want, "newest first, each once");

    let users = c.get("/api/v1/users").await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    assert_eq!(users.body["items"][0]["id"], t.admin_id);

    let hooks = c.get("/api/v1/webhooks").await;
    assert_eq!(hooks.status, StatusCode::OK, "{}", hooks.text);
    let r = c
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "https://127.0.0.1/x", "events": ["call.ended"]})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("private_address"))
    );
    let r = c
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(
                json!({"url": "https://hooks.example.com/callbase", "events": ["call.ended", "call.missed"]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    let hook = r.body["webhook"]["id"].as_i64().unwrap();

    // The other tenant's key finds none of it.
    let (token_b, _) =
        new_key(&admin_b, &["crm:write", "users:read", "admin", "calls:read", "calls:place"], json!({}))
            .await;
    let cb = Client::new(&app, &token_b);
    assert_eq!(cb.get(&format!("/api/v1/crm/records/{}", created[0])).await.status, StatusCode::NOT_FOUND);
    assert_eq!(cb.get(&format!("/api/v1/crm/tables/{table_id}/records")).await.status, StatusCode::NOT_FOUND);
    let r = cb
        .call(Method::PATCH, &format!("/api/v1/crm/records/{}", created[0]), Some(json!({"values": {}})))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = cb
        .call(Method::POST, &format!("/api/v1/crm/tables/{table_id}/records"), Some(json!({"values": {}})))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!cb.get("/api/v1/users").await.text.contains(&format!("\"id\":{},", t.admin_id)));
    assert_eq!(cb.get(&format!("/api/v1/webhooks/{hook}/deliveries")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        cb.call(Method::PATCH, &format!("/api/v1/webhooks/{hook}"), Some(json!({"enabled": false})))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cb.call(Method::POST, &format!("/api/v1/webhooks/{hook}/deliveries/msg_x/replay"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cb.call(Method::DELETE, &format!("/api/v1/webhooks/{hook}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(cb.get("/api/v1/webhooks").await.body.as_array().unwrap().is_empty());
    let r = cb
        .call(Method::POST, "/api/v1/calls", Some(json!({"user_id": t.admin_id, "number": "+74950000000"})))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_telephony_user")),
        "{}",
        r.text
    );
    let r = cb
        .get(&format!(
            "/api/v1/recordings/{}?tenant={}&endpoint={hook}&expires=99999999999&signature=00",
            Uuid::new_v4(),
            t.id
        ))
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("invalid_link")));

    // Still the first tenant's, unchanged, and deletable by its own key.
    assert_eq!(
        c.call(Method::DELETE, &format!("/api/v1/webhooks/{hook}"), None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_key_places_a_call_that_rings_the_desk_phone_first_then_the_carrier_once_per_idempotency_key() {
    use callbase_tests::calls::agent_with_trunk;
    use callbase_tests::env;
    use callbase_tests::sip::RingingPhone;
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::answering(platform, &login, &password, Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (token, _) = new_key(&admin, &["calls:place", "calls:read"], json!({})).await;
    let c = Client::new(&app, &token);
    let place = |body: Value, key: &'static str| {
        let c = &c;
        async move {
            let rb =
                c.b.request(Method::POST, "/api/v1/calls")
                    .bearer_auth(&c.token)
                    .header("idempotency-key", key)
                    .json(&body);
            c.b.send(rb).await
        }
    };

    // Refused by the dial rules: nothing rings.
    let r = place(json!({"user_id": t.admin_id, "number": "810441234567890"}), "refused").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let body = json!({"user_id": t.admin_id, "number": "1234567"});
    let r = place(body.clone(), "order-42").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let call_id = r.body["call_id"].as_str().unwrap().to_string();

    // The desk phone rings first (it answers), then the carrier answers the number.
    let start = tokio::time::Instant::now();
    loop {
        let r = c.get(&format!("/api/v1/calls/{call_id}")).await;
        if r.status == StatusCode::OK && r.body["answered_at"].is_string() && r.body["result"].is_string() {
            assert_eq!(r.body["result"], "answered", "{}", r.text);
            assert_eq!(r.body["direction"], "outbound");
            assert_eq!(r.body["number"], "+74951234567");
            assert!(r.body["trunk_slot"].is_number(), "it left through the trunk: {}", r.text);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the call did not complete: {}", r.text);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "the desk phone rang once");

    // The same request again: the first answer, and no second call.
    let again = place(body.clone(), "order-42").await;
    assert_eq!(
        (again.status, again.body["call_id"].as_str()),
        (StatusCode::ACCEPTED, Some(call_id.as_str()))
    );
    let other = place(json!({"user_id": t.admin_id, "number": "7654321"}), "order-42").await;
    assert_eq!(
        (other.status, other.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_conflict"))
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(phone.invites.lock().unwrap().len(), 1, "a retry places no second call");
    let r = c.get("/api/v1/calls?direction=outbound").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);
}
