//! Calls survive their controller (issue 16): a replica running the node's Stasis app is killed
//! with SIGKILL mid-call; another replica of the node takes the lease and adopts the call
//! (server/telephony/src/call/adopt.rs). Real platform and carrier Asterisk, a sipp desk phone
//! calling through the trunk, S3 for the recording.

use std::time::Duration;

use callbase_telephony::lease::Lease;
use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};
use callbase_tests::server::ServerProcess;
use callbase_tests::{env, unique, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

pub(crate) async fn redis() -> redis::aio::ConnectionManager {
    let client = redis::Client::open(env("CALLBASE__REDIS__URL")).expect("redis url");
    redis::aio::ConnectionManager::new(client).await.expect("redis")
}

/// Waits until the node's Stasis lease is held by the process `pid` (`None`: by anyone but
/// `not_pid`); returns how long that took.
pub(crate) async fn wait_stasis_holder(
    node: &str,
    pid: Option<u32>,
    not_pid: Option<u32>,
    within: Duration,
) -> Duration {
    let mut r = redis().await;
    let start = Instant::now();
    loop {
        let h = Lease::holder(&mut r, &format!("stasis:{node}")).await.unwrap();
        let by = |p: u32| h.as_ref().is_some_and(|h| h.owner.contains(&format!(":{p}:")));
        let ok = match (pid, not_pid) {
            (Some(p), _) => by(p),
            (None, Some(n)) => h.is_some() && !by(n),
            (None, None) => h.is_some(),
        };
        if ok {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "stasis:{node} not taken within {within:?}; holder {h:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The tenant's only call record, once it says the call was answered and is being recorded (the
/// replica that runs it starts the recording just after the answer: a replica killed before that
/// leaves a call without a recording).
pub(crate) async fn answered_call(tenant: i64, within: Duration) -> Uuid {
    let pool = worker_pool().await;
    let start = Instant::now();
    loop {
        let row: Option<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM calls WHERE tenant_id = $1 AND answered_at IS NOT NULL AND ended_at IS NULL \
             AND recording_state = 'recording'",
        )
        .bind(tenant)
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some((id,)) = row {
            return id;
        }
        assert!(start.elapsed() < within, "no answered, recording call within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The call's record once it has ended.
pub(crate) async fn ended_record(b: &Browser, id: Uuid, within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let r = b.get(&format!("/api/calls/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if !r.body["ended_at"].is_null() {
            return r.body;
        }
        assert!(start.elapsed() < within, "the call record is still open after {within:?}: {}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn recording_stored(b: &Browser, id: Uuid, within: Duration) -> Value {
    crate::recordings::wait_stored(b, &id.to_string(), within).await
}

/// The carrier hangs up its leg of the trunk's call: the record of call `id` ends within 1 s of it,
/// answered. Returns the record.
pub(crate) async fn carrier_hangs_up_and_the_record_ends(admin: &Browser, id: Uuid) -> Value {
    let carrier = callbase_tests::carrier_ami().await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    let r = carrier.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await.unwrap();
    assert!(r.is_success(), "the carrier hangs its leg up: {r:?}");
    let hung_up = OffsetDateTime::now_utc();
    let rec = ended_record(admin, id, Duration::from_secs(5)).await;
    let ended = OffsetDateTime::parse(
        rec["ended_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        (ended - hung_up).as_seconds_f64().abs() < 1.0,
        "the record ends when the carrier hung up: {rec}"
    );
    assert_eq!(rec["result"], "answered", "{rec}");
    rec
}

/// Waits until the platform Asterisk has no channel whose name starts with `prefix` (a trunk's or an
/// agent's legs); panics with what is left after `within`.
pub(crate) async fn legs_gone(prefix: &str, within: Duration) {
    let ari = callbase_telephony::ari::Ari::new(&callbase_tests::settings(&[]).asterisk);
    let start = Instant::now();
    loop {
        let left: Vec<String> = ari
            .channels()
            .await
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .filter(|n| n.starts_with(prefix))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(start.elapsed() < within, "legs {prefix}… still up after {within:?}: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The carrier legs of the tenant's trunks, once gone.
async fn trunk_legs_gone(tenant: i64, within: Duration) {
    legs_gone(&format!("PJSIP/t{tenant}-trk"), within).await
}

fn secs_between(a: &Value, b: &Value) -> f64 {
    let p = |v: &Value| {
        OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
    };
    (p(b) - p(a)).as_seconds_f64()
}

fn node_overrides(node: &str) -> [(&'static str, String); 2] {
    [("CALLBASE__ASTERISK__NODE", node.to_string()), ("CALLBASE__WORKERS__STASIS", "true".to_string())]
}

/// A replica (child process, its log kept) holding node `node`'s Stasis lease, and a standby replica
/// in this process (registration monitor, recordings uploader) with a tenant whose desk phone calls
/// through the trunk.
pub(crate) struct HolderAndStandby {
    pub first: ServerProcess,
    pub _app: TestApp,
    pub admin: Browser,
    pub tenant: i64,
    pub account: String,
    pub login: String,
    pub password: String,
}

pub(crate) async fn holder_and_standby(node: &str) -> HolderAndStandby {
    let ov = node_overrides(node);
    let ov: Vec<(&str, &str)> = ov.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = ServerProcess::spawn_logged(&ov);
    wait_stasis_holder(node, Some(first.pid()), None, Duration::from_secs(30)).await;
    let mut standby = ov.clone();
    standby.extend([
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ]);
    let app = TestApp::spawn_with(&standby).await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    HolderAndStandby { first, _app: app, admin, tenant: t.id, account: t.account, login, password }
}

/// The replica running a call dies (SIGKILL) while the call talks; the node's other replica takes
/// the Stasis lease within 5 s and adopts the call: when the agent hangs up, the carrier leg is
/// hung up, the record closes with the true talk time and the recording reaches S3.
#[tokio::test]
async fn a_call_whose_server_is_killed_is_adopted_and_ends_when_the_agent_hangs_up() {
    let node = unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;

    const TALK_MS: u64 = 10_000;
    let phone =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, TALK_MS).await });
    let id = answered_call(tenant, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.kill9();
    let took = wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    println!("the standby replica took the Stasis lease {took:?} after the SIGKILL");

    let (ok, log) = phone.await.unwrap();
    assert!(ok, "the desk phone's call went through to its own hang-up:\n{log}");
    let hung_up = OffsetDateTime::now_utc();
    let rec = ended_record(&admin, id, Duration::from_secs(5)).await;
    trunk_legs_gone(tenant, Duration::from_secs(5)).await;
    assert_eq!(rec["result"], "answered", "{rec}");
    let talk = secs_between(&rec["answered_at"], &rec["ended_at"]);
    assert!(
        (talk - TALK_MS as f64 / 1000.0).abs() < 1.0,
        "the record's talk time is the call's ({talk:.2} s vs the phone's {TALK_MS} ms): {rec}"
    );
    let end_lag = (hung_up
        - OffsetDateTime::parse(
            rec["ended_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap())
    .as_seconds_f64();
    assert!(end_lag.abs() < 1.0, "the record ends when the phone hung up (off by {end_lag:.2} s)");
    let rec = recording_stored(&admin, id, Duration::from_secs(20)).await;
    assert!(rec["recording"]["bytes"].as_i64().unwrap_or(0) > 0, "{rec}");
}

/// The replica running a call dies, and the agent hangs up while no replica runs the node's Stasis
/// app: the carrier leg nobody controls stays up. When a replica starts, it hangs the leg up and
/// closes the record (answered, with a reason saying what happened); the recording reaches S3.
#[tokio::test]
async fn a_call_that_ended_while_no_server_ran_it_is_closed_and_its_carrier_leg_hung_up() {
    let node = unique("node-");
    let ov = node_overrides(&node);
    let ov: Vec<(&str, &str)> = ov.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The API and the trunk status come from a replica of another node (no Stasis app of this one).
    let api = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ])
    .await;
    let mut first = ServerProcess::spawn(&ov);
    wait_stasis_holder(&node, Some(first.pid()), None, Duration::from_secs(30)).await;
    let (admin, t, login, password) = agent_with_trunk(&api).await;

    let phone = tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 3000).await });
    let id = answered_call(t.id, Duration::from_secs(20)).await;
    first.kill9();
    let (ok, log) = phone.await.unwrap();
    assert!(ok, "the desk phone hung up its call:\n{log}");
    // Nobody controls the call: the carrier leg is still up, the record open.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = admin.get(&format!("/api/calls/{id}")).await;
    assert!(r.body["ended_at"].is_null(), "{}", r.body);

    let _second = ServerProcess::spawn(&ov);
    let took = wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(30)).await;
    println!("a new replica took the Stasis lease after {took:?}");
    let rec = ended_record(&admin, id, Duration::from_secs(10)).await;
    trunk_legs_gone(t.id, Duration::from_secs(5)).await;
    assert_eq!(rec["result"], "answered", "{rec}");
    assert!(
        rec["reason"].as_str().unwrap_or_default().contains("no server controlled"),
        "the record says why it ended that way: {rec}"
    );
    recording_stored(&admin, id, Duration::from_secs(20)).await;
}

/// After a takeover it is the carrier that hangs up: the adopted call ends on both sides (the
/// agent's phone gets its BYE) and its record and recording are complete.
#[tokio::test]
async fn an_adopted_call_ends_when_the_carrier_hangs_up() {
    let node = unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;
    let agent_prefix = format!("PJSIP/{login}-");
    // The phone would talk for 30 s; the carrier hangs up long before.
    let phone =
        tokio::spawn(async move { sipp_call_talking(&login, &password, "1234567", 200, 30_000).await });
    let id = answered_call(tenant, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.kill9();
    wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    // Adoption runs as the new holder's Stasis app connects.
    tokio::time::sleep(Duration::from_secs(2)).await;
    carrier_hangs_up_and_the_record_ends(&admin, id).await;
    // The agent's leg is hung up too (the phone got a BYE).
    legs_gone(&agent_prefix, Duration::from_secs(5)).await;
    phone.abort();
    recording_stored(&admin, id, Duration::from_secs(20)).await;
}

/// An inbound call is ringing the agent's desk phone when the replica running it dies (SIGKILL):
/// the replica that takes the node's Stasis lease rings the agent again — a new INVITE — while the
/// caller waits, instead of hanging the caller up. When the caller gives up, the record says missed.
#[tokio::test]
async fn an_inbound_call_caught_ringing_by_a_takeover_rings_the_agent_again() {
    use callbase_tests::sip::RingingPhone;
    let node = unique("node-");
    let HolderAndStandby { mut first, _app, admin, tenant, login, password, .. } =
        holder_and_standby(&node).await;
    let routing = serde_json::json!({"ring_timeout_secs": 60, "forward_number": null});
    assert_eq!(admin.put("/api/telephony/routing", routing).await.status, StatusCode::OK);
    let platform: std::net::SocketAddr = env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let phone = RingingPhone::start(platform, &login, &password).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let carrier = callbase_tests::carrier_ami().await;
    let user = env("CALLBASE_CARRIER_TRUNK_USER");
    callbase_tests::calls::carrier_calls(&user, &user, "9998", "79161234567").await;
    let rings = |n: usize, within: Duration, what: &'static str| {
        let invites = phone.invites.clone();
        async move {
            let start = Instant::now();
            while invites.lock().unwrap().len() < n {
                assert!(start.elapsed() < within, "{what} within {within:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    rings(1, Duration::from_secs(20), "the agent's phone rings").await;
    // The record is written by the call's own writer task: it may land just after the INVITE.
    let id = {
        let pool = worker_pool().await;
        let start = Instant::now();
        loop {
            let open = sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM calls WHERE tenant_id = $1 AND ended_at IS NULL",
            )
            .bind(tenant)
            .fetch_optional(&pool)
            .await
            .unwrap();
            if let Some(id) = open {
                break id;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the ringing call has an open record within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.kill9();
    wait_stasis_holder(&node, None, Some(first.pid()), Duration::from_secs(5)).await;
    rings(2, Duration::from_secs(10), "the replica that took over rings the agent again").await;
    let r = admin.get(&format!("/api/calls/{id}")).await;
    assert!(r.body["ended_at"].is_null(), "the caller is still waiting: {}", r.body);

    let r = carrier.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await.unwrap();
    assert!(r.is_success(), "the caller gives up: {r:?}");
    let rec = ended_record(&admin, id, Duration::from_secs(5)).await;
    assert_eq!(rec["result"], "missed", "{rec}");
    assert_eq!(rec["reason"], "caller hung up before an answer", "{rec}");
}
