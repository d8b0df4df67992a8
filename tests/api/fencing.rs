//! Fencing of the Stasis lease (server/telephony/src/lease.rs, "Fencing"): a replica that was paused
//! past its lease and replaced issues no ARI request and writes no call record once it resumes.
//! Real platform and carrier Asterisk, a sipp desk phone calling through the trunk, PostgreSQL,
//! Redis, S3; the paused holder is a `callbase serve` child stopped with SIGSTOP.

use std::time::Duration;

use callbase_telephony::lease::Lease;
use callbase_tests::calls::sipp_call_talking;
use callbase_tests::{unique, worker_pool, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::adoption::{
    answered_call, carrier_hangs_up_and_the_record_ends, holder_and_standby, legs_gone, recording_stored,
    redis, wait_stasis_holder, HolderAndStandby,
};

/// What the call record says about the call's control.
#[derive(Debug, PartialEq)]
struct Control {
    phase: Option<String>,
    first_channel: Option<String>,
    agent_channel: Option<String>,
    other_channel: Option<String>,
    open: bool,
}

async fn control(id: Uuid) -> Control {
    let (phase, first_channel, agent_channel, other_channel, open) = sqlx::query_as(
        "SELECT phase, first_channel, agent_channel, other_channel, ended_at IS NULL FROM calls WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&worker_pool().await)
    .await
    .unwrap();
    Control { phase, first_channel, agent_channel, other_channel, open }
}

/// The platform Asterisk's channels whose names start with one of `prefixes`.
async fn channels(prefixes: &[&str]) -> Vec<String> {
    let ari = callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk);
    let mut names: Vec<String> = ari
        .channels()
        .await
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
        .collect();
    names.sort();
    names
}

/// The holder of the node's Stasis lease runs a call and is paused (SIGSTOP) past its lease; the
/// agent's blind transfer reaches the paused holder only (its call-command subscription buffers it
/// while nobody else runs the node's Stasis app). The standby takes the lease and adopts the call.
/// When the old holder resumes (SIGCONT) its actor has the transfer to act on, yet it issues no ARI
/// request and writes nothing: the adopted call's legs stay up, its record is as the new holder
/// keeps it, and the old holder's log says it refused. The new holder still runs the call: when the
/// carrier hangs up, both legs end and the record closes with the true times.
#[tokio::test]
async fn a_holder_paused_past_its_lease_acts_on_nothing_once_it_resumes() {
    let node = unique("node-");
    let HolderAndStandby { first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;
    let legs = [format!("PJSIP/{login}-"), format!("PJSIP/t{tenant}-trk")];
    let legs: Vec<&str> = legs.iter().map(String::as_str).collect();
    let phone =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 30_000).await });
    let id = answered_call(tenant, Duration::from_secs(20)).await;
    // The connected call's control state (talking, both legs, the bridge) is written just after.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = control(id).await;
    assert_eq!(before.phase.as_deref(), Some("talking"), "{before:?}");
    let up = channels(&legs).await;
    assert_eq!(up.len(), 2, "the agent's and the carrier's legs are up: {up:?}");

    first.signal("STOP");
    let r = admin.post(&format!("/api/calls/{id}/transfer"), json!({"target": "1234567"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let holder = Lease::holder(&mut redis().await, &format!("stasis:{node}")).await.unwrap();
    assert!(
        holder.is_some_and(|h| h.owner.contains(&format!(":{}:", first.pid()))),
        "the transfer must reach the paused holder before the takeover (the test was too slow)"
    );
    let took = wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(10)).await;
    println!("the standby took the Stasis lease {took:?} after the transfer request");
    // Adoption runs as the new holder's Stasis app connects.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(channels(&legs).await, up, "the adopted call's legs are up before the old holder resumes");

    first.signal("CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        channels(&legs).await,
        up,
        "the resumed old holder left the adopted call alone (its stale transfer hung nothing up)"
    );
    let after = control(id).await;
    assert_eq!(after, before, "the resumed old holder wrote nothing to the call record");
    let holder = Lease::holder(&mut redis().await, &format!("stasis:{node}")).await.unwrap();
    assert!(
        holder.as_ref().is_some_and(|h| !h.owner.contains(&format!(":{}:", first.pid()))),
        "the new holder keeps the lease: {holder:?}"
    );
    let actor = format!("call on channel {}", before.first_channel.as_deref().unwrap_or_default());
    let refusals: Vec<Value> = first
        .log()
        .into_iter()
        .filter(|l| l["level"] == "WARN" && l["fields"]["actor"] == actor.as_str())
        .collect();
    assert_eq!(refusals.len(), 1, "the old holder says once that the call's actor refused and stopped");
    assert!(
        refusals[0]["fields"]["message"].as_str().unwrap_or_default().starts_with("refused"),
        "{}",
        refusals[0]
    );

    // The new holder runs the call: the carrier hangs up, the agent's leg follows, the record closes.
    let rec = carrier_hangs_up_and_the_record_ends(&admin, id).await;
    assert!(rec["reason"].is_null(), "a plain hang-up, no transfer: {rec}");
    legs_gone(legs[0], Duration::from_secs(5)).await;
    phone.abort();
    recording_stored(&admin, id, Duration::from_secs(20)).await;
}

/// The token in the call record: a write stamped with a lease token older than the record's is
/// refused (the controller rolls it back); the same or a newer one passes, and so does a record that
/// is not there.
#[tokio::test]
async fn a_call_record_refuses_a_controller_with_an_older_lease_token() {
    use callbase_db::calls::{control, live, CallDirection};
    let app = TestApp::spawn().await;
    let (_admin, t) = app.telephony_tenant().await;
    let db = callbase_db::Db::new(callbase_tests::app_pool().await);
    let tenant = callbase_core::TenantId(t.id);
    let id = Uuid::new_v4();
    let mut tx = db.tenant_tx(tenant).await.unwrap();
    let call = live::NewCall {
        id,
        tenant,
        direction: CallDirection::Outbound,
        user: None,
        number: "+74951234567".into(),
        did: None,
        trunk_slot: None,
        crm_record: None,
        node: "fencing-test".into(),
        first_channel: "agent-1".into(),
        phase: "setup",
        audience: vec![],
    };
    live::open(&mut tx, &call, time::OffsetDateTime::now_utc()).await.unwrap();
    assert!(control::fence(&mut tx, id, 7).await.unwrap(), "a new record takes the first token");
    tx.commit().await.unwrap();
    let mut tx = db.tenant_tx(tenant).await.unwrap();
    assert!(!control::fence(&mut tx, id, 6).await.unwrap(), "an older token is refused");
    assert!(control::fence(&mut tx, id, 7).await.unwrap(), "the record's own token passes");
    assert!(control::fence(&mut tx, id, 8).await.unwrap(), "a newer token passes");
    assert!(!control::fence(&mut tx, id, 7).await.unwrap(), "…and fences out the one before it");
    assert!(control::fence(&mut tx, Uuid::new_v4(), 1).await.unwrap(), "no record: nothing to fence");
    tx.commit().await.unwrap();

    // A write from the replaced controller (token 7) is rolled back; the current one's (8) stays.
    let db = &db;
    let note = |n: &'static str| async move {
        let mut tx = db.tenant_tx(tenant).await.unwrap();
        live::unrouted(&mut tx, id, n).await.unwrap();
        tx
    };
    let stale = note("from the replaced controller").await;
    assert!(!control::commit_fenced(stale, id, 7).await.unwrap(), "refused");
    let current = note("from the current controller").await;
    assert!(control::commit_fenced(current, id, 8).await.unwrap(), "committed");
    let (kept,): (Option<String>,) = sqlx::query_as("SELECT route_note FROM calls WHERE id = $1")
        .bind(id)
        .fetch_one(&worker_pool().await)
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("from the current controller"));
    let stale = note("from the replaced controller").await;
    assert!(!control::commit_fenced(stale, id, 7).await.unwrap());
    let (kept,): (Option<String>,) = sqlx::query_as("SELECT route_note FROM calls WHERE id = $1")
        .bind(id)
        .fetch_one(&worker_pool().await)
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("from the current controller"), "the stale write left no trace");
}

/// The Stasis worker's ARI client, fenced by its lease, sends nothing once the lease is lost: a
/// request that Asterisk would answer (404 for a channel that is not there) is refused before it
/// leaves, and so is the events WebSocket (a replaced holder must not take the app's events back).
#[tokio::test]
async fn an_ari_client_fenced_by_a_lost_lease_sends_nothing() {
    let lease = Lease::new(&unique("lease"), "replica-a", callbase_telephony::lease::LeaseConfig::default());
    let held = lease.acquire(&mut redis().await).await.unwrap().expect("a free lease is taken");
    let ari = callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk).fenced(held.clone());
    let answer = ari.hangup("no-such-channel").await;
    assert!(
        matches!(answer, Err(callbase_telephony::ari::AriError::Status { status: 404, .. })),
        "while the lease is current, requests reach Asterisk: {answer:?}"
    );
    held.revoke();
    let answer = ari.hangup("no-such-channel").await;
    assert!(
        matches!(answer, Err(callbase_telephony::ari::AriError::Fenced { .. })),
        "refused before it is sent: {answer:?}"
    );
    assert!(ari.events_url("callbase").is_err(), "no events WebSocket either");
}

/// A call that counts towards the fraud guard's concurrent-call caps keeps counting when its actor
/// stops because the Stasis lease was lost (the new holder adopts and resumes it): only a call
/// whose controller still holds the lease leaves the live-call set when its actor drops it.
#[tokio::test]
async fn a_live_call_dropped_by_a_controller_that_lost_its_lease_stays_counted() {
    use callbase_telephony::fraud::Guard;
    use callbase_telephony::lease::LeaseConfig;
    let mut r = redis().await;
    let db = callbase_db::Db::new(callbase_tests::app_pool().await);
    let tenant = callbase_core::TenantId(i64::from(rand::random::<u32>()) + 1_000_000_000);
    let set = callbase_core::keys::fraud_live_tenant(tenant);
    let score = |member: &'static str| {
        let (mut r, set) = (r.clone(), set.clone());
        async move { redis::cmd("ZSCORE").arg(&set).arg(member).query_async::<Option<f64>>(&mut r).await.unwrap() }
    };
    let held = |name: String| {
        let mut r = r.clone();
        async move { Lease::new(&name, "test", LeaseConfig::default()).acquire(&mut r).await.unwrap().unwrap() }
    };

    let lost = held(unique("fence-live-")).await;
    let guard = Guard { db: db.clone(), redis: r.clone(), fence: Some(lost.clone()) };
    let live = guard.resume(tenant, None, "adopted-elsewhere").await;
    assert!(score("adopted-elsewhere").await.is_some(), "the call counts while it runs");
    lost.revoke();
    drop(live);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        score("adopted-elsewhere").await.is_some(),
        "the call still counts after its stale controller's actor stopped (the new holder runs it)"
    );

    let current = held(unique("fence-live-")).await;
    let guard = Guard { db, redis: r.clone(), fence: Some(current) };
    let live = guard.resume(tenant, None, "ended").await;
    drop(live);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        score("ended").await.is_none(),
        "a call whose controller holds the lease leaves the set when it ends"
    );
    let _: () = redis::cmd("DEL").arg(&set).query_async(&mut r).await.unwrap();
}
