//! The trunk registration monitor: keeps each trunk's registration state in Redis
//! (`cb:trunkreg:<registration id>`: `state`, `reason`, `since`) and publishes every change on the
//! tenant's event channel, so admins see a trunk turn green or red live.
//!
//! Asterisk's `Registry` AMI event names the client and server URIs but not the registration id,
//! and carries no SIP response code; `PJSIPShowRegistrationsOutbound` lists every registration by
//! id with its status. So every `Registry` event (and every reconnect, and a periodic tick)
//! triggers a reconcile from that list.

use std::collections::HashMap;
use std::time::Duration;

use callbase_core::events::{Event, TrunkStatusChange};
use callbase_core::keys;
use callbase_core::netaddr::CarrierPolicy;
use callbase_core::sip::SipHost;
use redis::AsyncCommands;

use crate::ami::Ami;
use crate::trunks::parse_ast_id;

/// How long a freshly written trunk stays "waiting" while Asterisk still reports it unregistered.
const WAITING_GRACE_SECS: i64 = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub state: String,
    pub reason: String,
    pub since: i64,
}

/// The state to show for Asterisk's registration `status` and the carrier contact's qualify
/// status, given what is stored. Asterisk keeps reporting "Registered" while its refreshes time
/// out, so an unreachable carrier overrides it.
pub fn next_state(
    ast_status: &str,
    carrier_reachable: bool,
    refused: Option<&str>,
    prev: Option<&Stored>,
    now: i64,
) -> (String, String) {
    // A host that resolves to the platform or to private space is out of use whatever Asterisk says.
    if let Some(why) = refused {
        return ("refused".into(), format!("carrier address not allowed: {why}"));
    }
    // An unanswered OPTIONS outranks what the registration says: Asterisk reports "Registered"
    // while refreshes time out, and "Rejected" when the host does not even resolve.
    if !carrier_reachable {
        return ("unregistered".into(), NO_ANSWER.into());
    }
    match ast_status {
        "Registered" => ("registered".into(), String::new()),
        "Rejected" => ("rejected".into(), "rejected by carrier (check user and password)".into()),
        _ => match prev {
            Some(p) if p.state == "waiting" && now - p.since < WAITING_GRACE_SECS => {
                ("waiting".into(), String::new())
            }
            _ => (
                "unregistered".into(),
                "no answer from carrier (timeout), or the registration expired; retrying".into(),
            ),
        },
    }
}

/// Why a trunk whose carrier does not answer OPTIONS is red.
pub const NO_ANSWER: &str = "no answer from carrier (timeout, or the host is not found)";

fn key(id: &str) -> String {
    callbase_core::keys::trunk_registration(id)
}

async fn stored(redis: &mut redis::aio::ConnectionManager, id: &str) -> redis::RedisResult<Option<Stored>> {
    let (state, reason, since): (Option<String>, Option<String>, Option<i64>) =
        redis.hget(key(id), &["state", "reason", "since"]).await?;
    Ok(state.map(|state| Stored { state, reason: reason.unwrap_or_default(), since: since.unwrap_or(0) }))
}

/// How long a trunk host's check (DNS) is reused between reconciles.
const HOST_CHECK_TTL: Duration = Duration::from_secs(60);

/// The monitor's memory between passes: recent host checks.
#[derive(Default)]
pub struct Checks {
    hosts: HashMap<String, (tokio::time::Instant, Result<(), String>)>,
}

impl Checks {
    async fn host(&mut self, policy: &CarrierPolicy, server_uri: &str) -> Result<(), String> {
        if let Some((at, r)) = self.hosts.get(server_uri) {
            if at.elapsed() < HOST_CHECK_TTL {
                return r.clone();
            }
        }
        let raw = server_uri.strip_prefix("sip:").unwrap_or(server_uri);
        let r = match SipHost::parse(raw) {
            Ok(h) => crate::carrier::check_host(policy, &h).await,
            Err(_) => Err(format!("{raw} is not a valid host")),
        };
        self.hosts.insert(server_uri.to_string(), (tokio::time::Instant::now(), r.clone()));
        r
    }
}

/// One reconcile pass: Asterisk's list → Redis, publishing changes. A trunk is reachable when the
/// carrier's static contact (the AOR's `contact`, qualified every 15 s) is: trunk AORs take no
/// registrations, and nothing else may speak for the carrier.
pub async fn reconcile(
    ami: &Ami,
    redis: &mut redis::aio::ConnectionManager,
    policy: &CarrierPolicy,
    checks: &mut Checks,
) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for reg in ami.outbound_registrations().await? {
        let id = reg.id;
        let Some((tenant, slot)) = parse_ast_id(&id) else { continue };
        let prev = stored(redis, &id).await?;
        let reachable = !ami
            .contact_statuses(&id)
            .await?
            .iter()
            .any(|(uri, s)| *uri == reg.server_uri && s == "Unreachable");
        let refused = checks.host(policy, &reg.server_uri).await.err();
        let (state, reason) = next_state(&reg.status, reachable, refused.as_deref(), prev.as_ref(), now);
        if prev.as_ref().is_some_and(|p| p.state == state && p.reason == reason) {
            continue;
        }
        let _: () = redis
            .hset_multiple(
                key(&id),
                &[("state", state.clone()), ("reason", reason.clone()), ("since", now.to_string())],
            )
            .await?;
        let event = Event::TrunkStatus(TrunkStatusChange {
            tenant_id: tenant,
            trunk: slot,
            registration: id.clone(),
            state: state.clone(),
            reason: reason.clone(),
            since: now,
        });
        let _: () = redis.publish(keys::events(tenant), event.to_json()).await?;
        tracing::info!(tenant.id = %tenant, registration = %id, %state, "trunk registration state changed");
    }
    Ok(())
}

/// Runs until `shutdown` turns true (or its sender is dropped).
pub async fn run(
    ami: Ami,
    mut redis: redis::aio::ConnectionManager,
    policy: CarrierPolicy,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut checks = Checks::default();
    let mut events = ami.events();
    let mut connected = ami.connected();
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            c = connected.changed() => if c.is_err() { return },
            _ = tick.tick() => {}
            ev = events.recv() => match ev {
                Ok(m) if matches!(m.event(), Some("Registry" | "ContactStatus")) => {
                    // Let a burst of events settle into one pass.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
        }
        if let Err(e) = reconcile(&ami, &mut redis, &policy, &mut checks).await {
            tracing::warn!(error = %e, "registration reconcile failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_status_maps_to_what_the_page_shows() {
        assert_eq!(next_state("Registered", true, None, None, 100).0, "registered");
        let (s, r) = next_state("Rejected", true, None, None, 100);
        assert_eq!(s, "rejected");
        assert!(r.contains("user and password"));
        let waiting = Stored { state: "waiting".into(), reason: String::new(), since: 95 };
        assert_eq!(
            next_state("Unregistered", true, None, Some(&waiting), 100).0,
            "waiting",
            "just written: still waiting"
        );
        assert_eq!(
            next_state("Unregistered", true, None, Some(&waiting), 120).0,
            "unregistered",
            "grace is over"
        );
        assert!(next_state("Unregistered", true, None, None, 100).1.contains("no answer"));
        let (s, r) = next_state("Registered", false, None, None, 100);
        assert_eq!((s.as_str(), r.as_str()), ("unregistered", NO_ANSWER), "a stale Registered");
        assert_eq!(
            next_state("Rejected", false, None, None, 100).1,
            NO_ANSWER,
            "an unresolvable host is not a password problem"
        );
        let (s, r) = next_state("Registered", true, Some("127.0.0.1 is a loopback address"), None, 100);
        assert_eq!(s, "refused", "a refused host outranks Registered");
        assert!(r.contains("loopback"));
    }
}
