//! Attended transfer (issue #18): the agent puts the customer on hold and consults a colleague, goes
//! back to the customer, consults again and completes the transfer. Against the real Asterisk and
//! the carrier: the agent's desk phone (sipp) calls out through the trunk; the colleague's desk
//! phone answers; the customer waits alone in the call's bridge while the agent and the colleague
//! share a consult bridge; completing puts the colleague in the call's bridge and hangs up the agent;
//! the record shows both agents. A colleague with no phone online is refused before anything
//! happens to the call. After a kill -9 of the server running the call, an answered consultation is
//! adopted with the call and completes under the other replica.

use std::time::Duration;

use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::sip::RingingPhone;
use callbase_tests::{unique, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use crate::adoption::{
    answered_call, carrier_hangs_up_and_the_record_ends, holder_and_standby, wait_stasis_holder,
    HolderAndStandby,
};
use crate::users::create_user;

/// A colleague with a desk phone: (user id, extension, SIP login, SIP password).
pub(crate) async fn colleague(admin: &Browser, name: &str) -> (i64, String, String, String) {
    let id = create_user(admin, name, &[]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": id, "browser_calls": false})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let s = |k: &str| tu.body[k].as_str().unwrap().to_string();
    (id, s("extension"), s("sip_login"), s("sip_password"))
}

/// A desk phone that answers every call and hangs up after a minute.
async fn phone(login: &str, password: &str) -> RingingPhone {
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    RingingPhone::answering(platform, login, password, Duration::from_secs(60)).await
}

fn ari() -> callbase_telephony::ari::Ari {
    callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk)
}

/// The channel ids in bridge `id` (empty when there is no such bridge).
pub(crate) async fn in_bridge(id: &str) -> Vec<String> {
    match ari().call(reqwest::Method::GET, &format!("bridges/{id}"), &[], None).await {
        Ok(Some(b)) => b["channels"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// Waits until bridge `id` holds `n` channels; returns them.
pub(crate) async fn bridge_holds(id: &str, n: usize, what: &str) -> Vec<String> {
    let start = Instant::now();
    loop {
        let chans = in_bridge(id).await;
        if chans.len() == n {
            return chans;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{what}: bridge {id} holds {chans:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The call's phase and consultation as its controller wrote them.
async fn control(id: Uuid) -> (Option<String>, Option<String>, Option<i64>) {
    let pool = callbase_tests::worker_pool().await;
    sqlx::query_as("SELECT phase, consult_channel, consult_user FROM calls WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
}

async fn wait_phase(id: Uuid, phase: &str, answered: bool) -> (Option<String>, Option<i64>) {
    let start = Instant::now();
    loop {
        let (p, ch, user) = control(id).await;
        if p.as_deref() == Some(phase) && ch.is_some() == answered {
            return (ch, user);
        }
        assert!(start.elapsed() < Duration::from_secs(15), "call {id}: phase {p:?}, consult {ch:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn consult_path(id: &Uuid) -> String {
    format!("/api/calls/{id}/consult")
}

async fn consult(b: &Browser, id: &Uuid, target: &str) {
    let r = b.post(&consult_path(id), json!({"target": target})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "consult {target}: {}", r.text);
}

async fn end_consult(b: &Browser, id: &Uuid, complete: bool) {
    let r = b.post(&format!("{}/end", consult_path(id)), json!({"complete": complete})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "end the consultation ({complete}): {}", r.text);
}

#[tokio::test]
async fn an_agent_consults_a_colleague_goes_back_consults_again_and_completes_the_transfer() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    // The administrator is the agent: their desk phone calls the customer through the trunk.
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let (boris, boris_ext, b_login, b_pw) = colleague(&admin, "boris").await;
    let boris_phone = phone(&b_login, &b_pw).await;
    let (_, olga_ext, _, _) = colleague(&admin, "olga").await;
    let maria = app.browser();
    create_user(&admin, "maria", &[]).await;
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);
    let (other_admin, _) = app.telephony_tenant().await;
    let _agent =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 60_000).await });
    let id = answered_call(t.id, Duration::from_secs(20)).await;
    let call_bridge = format!("b-{id}");
    let consult_bridge = format!("c-{id}");
    let pair = bridge_holds(&call_bridge, 2, "the agent and the customer").await;

    // Bad input: nothing happens to the call.
    let r = admin.post(&consult_path(&id), json!({"target": olga_ext})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("colleague_offline")),
        "a colleague with no phone online: {}",
        r.text
    );
    assert!(r.body["message"].as_str().unwrap().contains("stays with you"), "{}", r.text);
    let r = admin.post(&format!("/api/calls/{id}/transfer"), json!({"target": olga_ext})).await;
    assert_eq!(r.body["code"], "colleague_offline", "a blind transfer to her too: {}", r.text);
    let r = admin.post(&format!("{}/end", consult_path(&id)), json!({"complete": true})).await;
    assert_eq!(r.body["code"], "not_consulting", "{}", r.text);
    let r = maria.post(&consult_path(&id), json!({"target": boris_ext})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not maria's call: {}", r.text);
    let r = other_admin.post(&consult_path(&id), json!({"target": boris_ext})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant's call: {}", r.text);
    let r = admin.post(&consult_path(&id), json!({"target": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(in_bridge(&call_bridge).await, pair, "the customer is still with the agent");
    assert_eq!(boris_phone.invites.lock().unwrap().len(), 0, "nothing rang yet");

    // Consult: Boris's phone rings and answers; he and the agent share the consult bridge while the
    // customer waits alone in the call's.
    consult(&admin, &id, &boris_ext).await;
    let (leg1, user) = wait_phase(id, "consulting", true).await;
    assert_eq!(user, Some(boris), "the consulted colleague is in the record");
    let talking = bridge_holds(&consult_bridge, 2, "the agent and Boris").await;
    let customer = bridge_holds(&call_bridge, 1, "the customer waits alone").await;
    assert!(talking.contains(leg1.as_ref().unwrap()), "{talking:?}");
    let agent_leg = talking.iter().find(|c| Some(*c) != leg1.as_ref()).unwrap().clone();
    assert!(pair.contains(&agent_leg) && pair.contains(&customer[0]), "{pair:?} {talking:?} {customer:?}");
    let r = admin.post(&consult_path(&id), json!({"target": boris_ext})).await;
    assert_eq!(r.body["code"], "consulting", "one consultation at a time: {}", r.text);
    // Boris sees the call (its card: who the customer is) while he is consulted about it.
    let boris_browser = app.browser();
    assert_eq!(boris_browser.login(&t.account, "boris", "Agent-pass-12345").await.status, StatusCode::OK);
    let r = boris_browser.get(&format!("/api/calls/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "the consulted colleague sees the call: {}", r.text);
    // The customer's wait counts as hold time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = admin.post(&format!("/api/calls/{id}/transfer"), json!({"target": boris_ext})).await;
    assert_eq!(r.body["code"], "consulting", "no blind transfer meanwhile: {}", r.text);

    // Back to the customer: Boris's leg goes, the agent rejoins the customer.
    end_consult(&admin, &id, false).await;
    wait_phase(id, "talking", false).await;
    let mut back = bridge_holds(&call_bridge, 2, "the agent is back with the customer").await;
    back.sort();
    let mut pair_sorted = pair.clone();
    pair_sorted.sort();
    assert_eq!(back, pair_sorted);
    assert!(in_bridge(&consult_bridge).await.is_empty(), "the consult bridge is gone");
    let r = boris_browser.get(&format!("/api/calls/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not Boris's call any more: {}", r.text);

    // A CRM client found by name (their phone field by reference) is consulted through the
    // trunk: the carrier answers; back to the customer.
    let (clients, f) = crate::crm::clients(&admin).await;
    let rec =
        crate::crm::add(&admin, clients, json!({f("Name"): "Anna Petrova", f("Phone"): "+74951234567"}))
            .await;
    let r = admin.post(&consult_path(&id), json!({"target": "crm999999x1"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no such client: {}", r.text);
    consult(&admin, &id, &format!("crm{}x{}", rec["id"], f("Phone"))).await;
    wait_phase(id, "consulting", true).await;
    let with_carrier = bridge_holds(&consult_bridge, 2, "the agent and the client through the trunk").await;
    assert!(with_carrier.contains(&agent_leg), "{with_carrier:?}");
    end_consult(&admin, &id, false).await;
    wait_phase(id, "talking", false).await;
    bridge_holds(&call_bridge, 2, "the agent is back with the customer").await;

    // Consult again, then complete: Boris talks with the customer; the agent's leg is hung up.
    consult(&admin, &id, &boris_ext).await;
    let (leg2, _) = wait_phase(id, "consulting", true).await;
    assert_ne!(leg1, leg2, "a new leg to Boris");
    assert_eq!(boris_phone.invites.lock().unwrap().len(), 2, "Boris was rung twice");
    end_consult(&admin, &id, true).await;
    wait_phase(id, "talking", false).await;
    let now = bridge_holds(&call_bridge, 2, "the customer and Boris").await;
    assert!(now.contains(&customer[0]) && now.contains(leg2.as_ref().unwrap()), "{now:?}");
    assert!(
        !matches!(
            ari().call(reqwest::Method::GET, &format!("channels/{agent_leg}"), &[], None).await,
            Ok(Some(_))
        ),
        "the agent's leg is hung up"
    );
    assert!(in_bridge(&consult_bridge).await.is_empty());

    // The customer hangs up: the record is Boris's now and lists both agents, in order.
    let rec = carrier_hangs_up_and_the_record_ends(&admin, id).await;
    assert_eq!(rec["user_id"], boris, "{rec}");
    assert_eq!(rec["agent_names"], json!(["Boss", "User boris"]), "{rec}");
    assert!(rec["hold_secs"].as_i64().unwrap() >= 1, "the customer's wait is hold time: {rec}");
}

/// The server running a call in an answered consultation is killed: the other replica adopts the
/// call with its consultation (the consulted leg is not hung up as unknown), and the agent completes
/// the transfer through it.
#[tokio::test]
async fn an_answered_consultation_survives_a_restart_and_the_transfer_completes() {
    let node = unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;
    let (_, boris_ext, b_login, b_pw) = colleague(&admin, "boris").await;
    let _boris_phone = phone(&b_login, &b_pw).await;
    let _agent =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 60_000).await });
    let id = answered_call(tenant, Duration::from_secs(20)).await;
    consult(&admin, &id, &boris_ext).await;
    let (leg, _) = wait_phase(id, "consulting", true).await;
    bridge_holds(&format!("c-{id}"), 2, "the agent and Boris").await;

    first.kill9();
    wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    // Past the adoption's grace for channels nobody owns: the consultation is still on.
    tokio::time::sleep(callbase_telephony::call::ADOPTION_GRACE + Duration::from_secs(1)).await;
    let talking = bridge_holds(&format!("c-{id}"), 2, "the consultation after the takeover").await;
    assert!(talking.contains(leg.as_ref().unwrap()), "{talking:?}");
    assert_eq!(control(id).await.0.as_deref(), Some("consulting"));

    end_consult(&admin, &id, true).await;
    wait_phase(id, "talking", false).await;
    let now = bridge_holds(&format!("b-{id}"), 2, "the customer and Boris").await;
    assert!(now.contains(leg.as_ref().unwrap()), "{now:?}");
    carrier_hangs_up_and_the_record_ends(&admin, id).await;
}
