use callbase_tests::{unique, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn signup_creates_a_tenant_and_signs_its_admin_in() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.new_tenant().await;
    let me = admin.get("/api/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["tenant"]["account"], t.account.as_str());
    assert_eq!(me.body["user"]["login"], "boss");
    assert_eq!(me.body["role"], "administrator");
    assert_eq!(me.body["user"]["groups"][0]["name"], "Administrator");
}

#[tokio::test]
async fn a_taken_account_answers_409() {
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let r = app
        .browser()
        .post(
            "/api/signup",
            json!({"account": t.account.to_uppercase(), "tenant_name": "Other", "login": "x", "name": "X",
                   "email": "x@example.com", "password": "Another-pass-9876"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["code"], "account_taken");
}

#[tokio::test]
async fn weak_or_empty_passwords_answer_422_naming_the_rule() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    for (password, words) in [("", "at least 10"), ("short1", "at least 10"), ("1234567890", "too common")] {
        let r = b
            .post(
                "/api/signup",
                json!({"account": unique("w"), "tenant_name": "W", "login": "w", "name": "W",
                       "email": "w@example.com", "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["code"], "weak_password");
        assert!(r.body["message"].as_str().unwrap().contains(words), "{}", r.text);
    }
}

#[tokio::test]
async fn wrong_logins_get_one_generic_401_then_are_throttled() {
    // The IP limit is tested on its own below; here only the account+login counter may trip.
    let app = TestApp::spawn_with(&[("CALLBASE__AUTH__IP_FAILURE_THRESHOLD", "100")]).await;
    let (_, t) = app.new_tenant().await;
    let b = app.browser();
    let unknown_account = b.login("no-such-account", "boss", "whatever-password").await;
    let unknown_login = b.login(&t.account, "nobody", "whatever-password").await;
    let wrong_password = b.login(&t.account, "boss", "wrong-password-1").await;
    for r in [&unknown_account, &unknown_login, &wrong_password] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.body, wrong_password.body, "every failure says the same");
    }
    // Four more failures for this account+login reach the threshold of five.
    for _ in 0..4 {
        assert_eq!(b.login(&t.account, "boss", "wrong-password-1").await.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = b.login(&t.account, "boss", &t.admin_password).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "{}", throttled.text);
    assert_eq!(throttled.body["code"], "throttled");
    let retry: u64 = throttled.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "first delay is about a second, got {retry}");
    tokio::time::sleep(std::time::Duration::from_secs(retry + 1)).await;
    let ok = b.login(&t.account, "boss", &t.admin_password).await;
    assert_eq!(ok.status, StatusCode::OK, "after the delay the right password works: {}", ok.text);
}

#[tokio::test]
async fn session_cookie_is_httponly_and_samesite_lax() {
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let b = app.browser();
    let r = b.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookies: Vec<&str> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    let session = cookies.iter().find(|c| c.starts_with("cb_session=")).expect("session cookie set");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(session.contains("Path=/"), "{session}");
    let token = session.trim_start_matches("cb_session=").split(';').next().unwrap();
    assert!(token.len() >= 22, "128-bit token");
}

#[tokio::test]
async fn secure_mode_uses_host_prefixed_secure_cookies() {
    let app = TestApp::spawn_with(&[("CALLBASE__AUTH__COOKIE_SECURE", "true")]).await;
    let (_, t) = app.new_tenant().await;
    let b = app.browser();
    let r = b.login(&t.account, &t.admin_login, &t.admin_password).await;
    let cookies: Vec<&str> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    let session =
        cookies.iter().find(|c| c.starts_with("__Host-cb_session=")).expect("__Host- session cookie");
    assert!(session.contains("Secure") && session.contains("HttpOnly"), "{session}");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    assert_eq!(admin.post("/api/auth/logout", json!({})).await.status, StatusCode::NO_CONTENT);
    let me = admin.get("/api/auth/me").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.body["code"], "unauthenticated");
}

#[tokio::test]
async fn state_changes_without_the_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    let no_token =
        admin.send(admin.request(Method::POST, "/api/groups").json(&json!({"name": "Sales"}))).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(no_token.body["code"], "csrf");
    let wrong = admin
        .send(
            admin
                .request(Method::POST, "/api/groups")
                .header("x-csrf-token", "guess")
                .json(&json!({"name": "Sales"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let csrf = admin.csrf().await;
    let foreign = admin
        .send(
            admin
                .request(Method::POST, "/api/groups")
                .header("x-csrf-token", csrf)
                .header("origin", "http://evil.example")
                .json(&json!({"name": "Sales"})),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(foreign.body["code"], "bad_origin");
    // Nothing was created by the refused requests.
    let groups = admin.get("/api/groups").await;
    assert!(groups.body.as_array().unwrap().iter().all(|g| g["name"] != "Sales"));
}

#[tokio::test]
async fn malformed_wrongly_typed_or_oversized_json_never_500s() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.new_tenant().await;
    let csrf = admin.csrf().await;
    let send = |body: String| {
        admin
            .request(Method::POST, "/api/groups")
            .header("x-csrf-token", csrf.clone())
            .header("content-type", "application/json")
            .body(body)
    };
    let malformed = admin.send(send("{\"name\": ".into())).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["code"], "malformed_json");
    let wrong_type = admin.send(send("{\"name\": 42}".into())).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_type.body["code"], "invalid_body");
    let huge = admin.send(send(format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)))).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.body["code"], "body_too_large");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id() {
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let pool = callbase_tests::worker_pool().await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(t.admin_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(&t.admin_password));
}

#[tokio::test]
async fn many_failures_from_one_ip_are_throttled_across_logins() {
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let b = app.browser();
    for i in 0..5 {
        let r = b.login(&t.account, &format!("guess{i}"), "wrong-password-1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let r = b.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the IP is throttled even for a new login: {}",
        r.text
    );
}

#[tokio::test]
async fn failures_from_an_office_address_do_not_lock_out_a_browser_that_signed_in_there_before() {
    // A call centre signs in from behind one address: a colleague's typos there must not lock out
    // the agents whose browsers signed in before.
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let office = fresh_ip();
    let agent = app.browser_from(&office);
    let first = agent.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(agent.post("/api/auth/logout", json!({})).await.status, StatusCode::NO_CONTENT);

    let colleague = app.browser_from(&office);
    for i in 0..5 {
        let r = colleague.login(&t.account, &format!("typo{i}"), "wrong-password-1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let newcomer = app.browser_from(&office).login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(
        newcomer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a new browser at the address waits: {}",
        newcomer.text
    );

    let again = agent.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(again.status, StatusCode::OK, "the agent's own browser signs in: {}", again.text);
    assert_eq!(agent.get("/api/auth/me").await.status, StatusCode::OK);
    let guess = app.browser_from(&office).login(&t.account, "typo9", "wrong-password-1").await;
    assert_eq!(
        guess.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the agent's sign-in does not reopen the address to guessing: {}",
        guess.text
    );
}

/// A client address no other test uses (the throttle's counters live in the shared Redis).
fn fresh_ip() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    format!("10.{}.{}.{}", r.gen_range(0..=255), r.gen_range(0..=255), r.gen_range(1..=254))
}

#[tokio::test]
async fn parallel_wrong_passwords_from_one_address_get_429_and_no_more_verifications_than_allowed() {
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let b = app.browser_from(&fresh_ip());
    b.csrf().await; // one CSRF cookie for all 24 requests
    let start = std::time::Instant::now();
    let attempts = (0..24).map(|_| b.login(&t.account, "boss", "wrong-password-1"));
    let results = futures_util::future::join_all(attempts).await;
    // The policy: 5 attempts, then one more after 1 s, 2 s, 4 s … — so a burst lasting `elapsed`
    // may verify 5 + ⌊log2(elapsed + 1)⌋ passwords, and no more however the requests interleave.
    let allowed = 5 + (start.elapsed().as_secs_f64() + 1.0).log2().floor() as usize;
    // A 401 is answered only after the password was verified; a 429 before.
    let verified = results.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    let throttled = results.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(
        verified + throttled,
        24,
        "only 401 or 429: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(throttled > 0, "24 parallel wrong passwords must meet the throttle");
    assert!(
        verified <= allowed,
        "at most {allowed} passwords may be verified in this burst, {verified} were"
    );
}

#[tokio::test]
async fn failures_from_many_addresses_lock_new_browsers_out_but_not_a_browser_that_signed_in_before() {
    let app = TestApp::spawn().await;
    let (_, t) = app.new_tenant().await;
    let known = app.browser_from(&fresh_ip());
    let first = known.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let device = first
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("cb_device="))
        .expect("a successful sign-in sets the device cookie");
    assert!(
        device.contains("HttpOnly") && device.contains("SameSite=Strict") && device.contains("Path=/"),
        "{device}"
    );
    assert_eq!(known.post("/api/auth/logout", json!({})).await.status, StatusCode::NO_CONTENT);

    // Guesses from five addresses reach the account threshold; three more, each after the wait
    // it was told, push the account's delay to 8 s.
    for _ in 0..5 {
        let r = app.browser_from(&fresh_ip()).login(&t.account, "boss", "wrong-password-1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    for _ in 0..3 {
        let attacker = app.browser_from(&fresh_ip());
        let mut tries = 0;
        loop {
            let r = attacker.login(&t.account, "boss", "wrong-password-1").await;
            if r.status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
            let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            tries += 1;
            assert!(tries < 5 && wait <= 8, "waits grow 1, 2, 4 s: told {wait} s");
            tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
        }
    }

    let stranger = app.browser_from(&fresh_ip()).login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(
        stranger.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a new browser is locked out: {}",
        stranger.text
    );

    // A forged device cookie (signature altered) is a new browser.
    let forged = app.browser_from(&fresh_ip());
    let value = device.split(';').next().unwrap().trim_start_matches("cb_device=");
    let mut chars: Vec<char> = value.chars().collect();
    chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
    let url: reqwest::Url = forged.base.parse().unwrap();
    forged.jar.add_cookie_str(&format!("cb_device={}", chars.into_iter().collect::<String>()), &url);
    let r = forged.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "a forged device cookie is not trusted: {}", r.text);

    let again = known.login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(again.status, StatusCode::OK, "the browser that signed in before still can: {}", again.text);
    assert_eq!(known.get("/api/auth/me").await.status, StatusCode::OK);
    let after = app.browser_from(&fresh_ip()).login(&t.account, &t.admin_login, &t.admin_password).await;
    assert_eq!(
        after.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the user's own sign-in does not reopen the account to guessing: {}",
        after.text
    );
}
