//! Carriers that fail and come back (issue 16, item 6), against a real carrier that keeps
//! registrations in memory only: Kamailio (`infra/kamailio/carrier.cfg`), one per test on its own
//! loopback port, stopped and started by the test. The demo carrier (Asterisk) keeps registrations
//! in its database across restarts and would not show what these tests are about.

use std::time::{Duration, Instant};

use callbase_telephony::registrations::CONFIRMING;
use callbase_tests::kamailio::{Kamailio, PASSWORD, USER};
use callbase_tests::{platform_ami, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::sockets::{open, trunk_event};
use crate::trunks::wait_for_state;

/// How often the tests look at the trunk page's status through an outage.
const POLL: Duration = Duration::from_millis(150);

async fn trunk_to(admin: &Browser, kam: &Kamailio) -> (Value, String) {
    let body = json!({"mode": "simple", "label": "Kamailio", "username": USER, "password": PASSWORD, "domain": kam.host()});
    let created = admin.post("/api/trunks", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].clone();
    wait_for_state(admin, &id, "registered", Duration::from_secs(20)).await;
    let held = kam.contacts(USER).await;
    assert_eq!(held.len(), 1, "the carrier holds our registration: {held:?}");
    (id, created.body["registration"].as_str().unwrap().to_string())
}

async fn status(admin: &Browser, id: &Value) -> Value {
    let list = admin.get("/api/trunks").await;
    list.body.as_array().unwrap().iter().find(|t| &t["id"] == id).expect("trunk listed")["status"].clone()
}

/// Polls until the trunk shows `registered`, within `within`: never `rejected` on the way, and
/// `registered` only once the carrier really holds the registration again.
async fn registered_again_only_when_the_carrier_has_it(
    admin: &Browser,
    id: &Value,
    kam: &Kamailio,
    within: Duration,
) {
    let back = Instant::now();
    loop {
        let s = status(admin, id).await;
        assert_ne!(s["state"], "rejected", "{:?} after the carrier came back: {s}", back.elapsed());
        if s["state"] == "registered" {
            let contacts = kam.contacts(USER).await;
            assert!(
                !contacts.is_empty(),
                "the trunk shows registered {:?} after the carrier came back, but the carrier has no \
                 registration of it (inbound calls would fail at the carrier)",
                back.elapsed()
            );
            return;
        }
        assert!(
            back.elapsed() < within,
            "not registered again within {within:?} of the carrier's return: {s}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The tenant's inbound call records.
async fn inbound_calls(tenant: i64) -> i64 {
    let pool = callbase_tests::worker_pool().await;
    sqlx::query_scalar("SELECT count(*) FROM calls WHERE tenant_id = $1 AND direction = 'inbound'")
        .bind(tenant)
        .fetch_one(&pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_carrier_that_restarts_and_forgets_us_is_registered_to_again_before_the_trunk_shows_green() {
    let mut kam = Kamailio::start().await;
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__STASIS", "true"),
    ])
    .await;
    let (admin, tenant) = app.telephony_tenant().await;
    let (id, _) = trunk_to(&admin, &kam).await;

    kam.stop();
    // Asterisk's qualify (every 15 s, 3 s timeout) notices that the carrier is gone.
    wait_for_state(&admin, &id, "unregistered", Duration::from_secs(25)).await;
    kam.start_again().await;
    assert!(kam.contacts(USER).await.is_empty(), "a restarted Kamailio knows no registration");
    registered_again_only_when_the_carrier_has_it(&admin, &id, &kam, Duration::from_secs(25)).await;

    // A call to us through the restarted carrier reaches the platform and this tenant (nobody is
    // online: the platform refuses it unanswered with 480 and records a missed call).
    assert_eq!(inbound_calls(tenant.id).await, 0);
    assert_eq!(kam.call(USER, "79161234567").await, 480, "the carrier's log:\n{}", kam.log());
    let start = Instant::now();
    while inbound_calls(tenant.id).await == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no inbound call record for the call through Kamailio"
        );
        tokio::time::sleep(POLL).await;
    }

    assert_eq!(admin.delete(&format!("/api/trunks/{id}")).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_registration_that_times_out_while_the_carrier_is_down_is_never_shown_as_rejected() {
    let mut kam = Kamailio::start().await;
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true")]).await;
    let (admin, _) = app.telephony_tenant().await;
    let (id, registration) = trunk_to(&admin, &kam).await;
    let ami = platform_ami().await;

    kam.stop();
    let down = Instant::now();
    let mut asked = false;
    // Through the outage: first the qualify notices it; then a refresh that falls into it (sent
    // here by hand rather than waiting 290 s for Asterisk's own) times out after SIP's 32 s.
    loop {
        let s = status(&admin, &id).await;
        assert_ne!(s["state"], "rejected", "{:?} into the outage: {s}", down.elapsed());
        if s["state"] == "unregistered" && !asked {
            assert!(ami.pjsip_register(&registration).await.unwrap().is_success());
            asked = true;
        }
        let ast = ami.outbound_registrations().await.unwrap();
        let ast_status = &ast.iter().find(|r| r.id == registration).expect("registration in Asterisk").status;
        if asked && ast_status == "Rejected" {
            assert_eq!(s["state"], "unregistered", "a timeout is shown as no answer: {s}");
            break;
        }
        assert!(down.elapsed() < Duration::from_secs(75), "the REGISTER did not time out within 75 s: {s}");
        tokio::time::sleep(POLL).await;
    }

    kam.start_again().await;
    registered_again_only_when_the_carrier_has_it(&admin, &id, &kam, Duration::from_secs(25)).await;

    assert_eq!(admin.delete(&format!("/api/trunks/{id}")).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_carrier_back_from_an_outage_that_refuses_our_password_is_asked_again_then_shown_rejected() {
    let mut kam = Kamailio::start().await;
    let app = TestApp::spawn_with(&[("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true")]).await;
    let (admin, _) = app.telephony_tenant().await;
    let (id, registration) = trunk_to(&admin, &kam).await;

    kam.stop();
    wait_for_state(&admin, &id, "unregistered", Duration::from_secs(25)).await;
    // Every change the trunk page is told of: the second ask may be answered within 100 ms, too
    // soon for polling the list to see it.
    let mut events = open(&admin, "/events").await;
    // The carrier comes back with another password for us (the account was reset meanwhile).
    kam.define("TRUNK_PASSWORD", "changed-while-we-were-away");
    kam.start_again().await;
    let back = Instant::now();
    let mut asked_again = false;
    loop {
        let left = Duration::from_secs(45).saturating_sub(back.elapsed());
        let Some(ev) = trunk_event(&mut events, left).await else {
            panic!("not shown rejected within 45 s of the carrier's return: {}", status(&admin, &id).await)
        };
        if ev["registration"] != registration.as_str() {
            continue;
        }
        assert_ne!(ev["state"], "registered", "the carrier refuses us: {ev}");
        asked_again |= ev["reason"] == CONFIRMING;
        if ev["state"] == "rejected" {
            // Asterisk reports an earlier REGISTER's timeout like a refusal: the first refusal after
            // a re-register is asked once more before the trunk turns red.
            assert!(
                asked_again,
                "shown rejected {:?} after the carrier came back without asking again: {ev}",
                back.elapsed()
            );
            break;
        }
    }
    assert_eq!(status(&admin, &id).await["state"], "rejected");
    assert!(kam.contacts(USER).await.is_empty(), "the carrier holds no registration of ours");

    assert_eq!(admin.delete(&format!("/api/trunks/{id}")).await.status, StatusCode::NO_CONTENT);
}
