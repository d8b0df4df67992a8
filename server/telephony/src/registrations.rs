//! The trunk registration monitor: keeps each trunk's registration state in Redis
//! (`cb:trunkreg:<registration id>`: `state`, `reason`, `since`, and `rereg_ms` while it waits for
//! the answer to a registration it asked for) and publishes every change on the tenant's event
//! channel, so admins see a trunk turn green or red live. When a carrier answers again after an
//! outage it makes Asterisk register anew (`next_state` says why; docs/operations.md).
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

use crate::ami::{Ami, AmiMessage};
use crate::trunks::parse_ast_id;

/// How long a freshly written trunk stays "waiting" while Asterisk still reports it unregistered.
const WAITING_GRACE_SECS: i64 = 15;

/// Why a trunk whose carrier does not answer OPTIONS is red.
pub const NO_ANSWER: &str = "no answer from carrier (timeout, or the host is not found)";
/// Why a trunk is waiting after its carrier answered again (or after a refresh failed): callbase
/// registered anew and waits for that registration's answer.
pub const REREGISTERING: &str = "registering anew; waiting for the carrier's answer";
/// Why a trunk is red when the carrier answers OPTIONS but not the REGISTER callbase sent.
pub const REGISTER_TIMEOUT: &str = "no answer from carrier to the registration (timeout); retrying";
/// Why a trunk is red when the carrier answered the registration with a refusal.
pub const REJECTED: &str = "rejected by carrier (check user and password)";
/// Why a trunk is still waiting after the first refusal that followed a re-register: the refusal
/// may be the timeout of a REGISTER sent while the carrier was away, which Asterisk reports just
/// like a refusal and which can land right after callbase's re-register; a refusal that repeats is
/// the carrier's.
pub const CONFIRMING: &str = "the carrier refused the registration; asking once more";

/// An answer to a REGISTER arrives within the (random, at most 10 s) delay Asterisk puts before a
/// registration it was asked for plus a round trip; a timeout only after SIP's 32 s transaction
/// timer. An answer later than this after callbase's re-register is a timeout.
const TIMEOUT_AFTER_MS: i64 = 25_000;
/// With no answer at all this long after a re-register (the `Registry` event was missed, e.g. across
/// an AMI reconnect or a change of monitor), register once more.
const PATIENCE_MS: i64 = 50_000;
/// After a timed-out re-register, try again this long after (Asterisk's own `retry_interval`).
const RETRY_AFTER_MS: i64 = 20_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub state: String,
    pub reason: String,
    pub since: i64,
    /// When the monitor last asked Asterisk to register anew (unix ms), while it waits for the answer.
    pub rereg_ms: Option<i64>,
}

impl Stored {
    /// The monitor registered anew and waits for (or retries after) the answer.
    fn awaits_reregister(&self) -> bool {
        matches!(
            (self.state.as_str(), self.reason.as_str()),
            ("waiting", REREGISTERING | CONFIRMING) | ("unregistered", REGISTER_TIMEOUT)
        )
    }
}

/// The last answer to a REGISTER that Asterisk reported (`Registry` event): `Registered` or
/// `Rejected`, and when it arrived (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: String,
    pub at_ms: i64,
}

/// What the monitor sees of one registration in one pass.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// `PJSIPShowRegistrationsOutbound`'s status: `Registered`, `Unregistered`, `Rejected`, …
    pub ast_status: &'a str,
    /// The carrier's static contact answers OPTIONS.
    pub carrier_reachable: bool,
    /// Why the host is out of use (the platform itself, private space), if it is.
    pub refused: Option<&'a str>,
    /// The last REGISTER answer seen by this monitor.
    pub answer: Option<&'a Answer>,
}

/// What to show, and whether to make Asterisk register anew (AMI `PJSIPRegister`) first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub state: String,
    pub reason: String,
    pub reregister: bool,
}

fn show(state: &str, reason: &str) -> Decision {
    Decision { state: state.into(), reason: reason.into(), reregister: false }
}

fn reregister(state: &str, reason: &str) -> Decision {
    Decision { state: state.into(), reason: reason.into(), reregister: true }
}

/// The state to show, given what Asterisk says and what is stored.
///
/// Asterisk's status alone misleads twice. It keeps saying "Registered" until the next refresh
/// (minutes) after a carrier that keeps registrations in memory restarted and forgot ours; and it
/// says "Rejected" for a REGISTER that timed out exactly as for a refused password. So when the
/// carrier answers again after an outage (or a refresh failed), the monitor registers anew and
/// shows green only on the answer to that registration, and tells a timeout from a refusal by
/// how long that answer took — and shows a refusal only when it repeats (see [`CONFIRMING`]).
pub fn next_state(o: &Observed<'_>, prev: Option<&Stored>, now_ms: i64) -> Decision {
    // A host that resolves to the platform or to private space is out of use whatever Asterisk says.
    if let Some(why) = o.refused {
        return show("refused", &format!("carrier address not allowed: {why}"));
    }
    // An unanswered OPTIONS outranks what the registration says: Asterisk reports "Registered"
    // while refreshes time out, and "Rejected" when the host does not even resolve.
    if !o.carrier_reachable {
        return show("unregistered", NO_ANSWER);
    }
    let Some(prev) = prev else { return plain(o.ast_status, None, now_ms) };
    // The carrier answers again after an outage: whatever it knew of us may be gone.
    if prev.state == "unregistered" && prev.reason == NO_ANSWER {
        return reregister("waiting", REREGISTERING);
    }
    if prev.awaits_reregister() {
        let sent = prev.rereg_ms.unwrap_or(prev.since * 1000);
        return match o.answer.filter(|a| a.at_ms > sent) {
            Some(a) if a.status == "Registered" => show("registered", ""),
            Some(a) if a.at_ms - sent >= TIMEOUT_AFTER_MS => {
                if now_ms - a.at_ms >= RETRY_AFTER_MS {
                    reregister("unregistered", REGISTER_TIMEOUT)
                } else {
                    show("unregistered", REGISTER_TIMEOUT)
                }
            }
            Some(_) if prev.reason == CONFIRMING => show("rejected", REJECTED),
            Some(_) => reregister("waiting", CONFIRMING),
            None if now_ms - sent >= PATIENCE_MS => reregister(&prev.state, &prev.reason),
            None => show(&prev.state, &prev.reason),
        };
    }
    // A refresh failed while the carrier answers OPTIONS: a refusal or a timeout? Ask again and time it.
    if prev.state == "registered" && o.ast_status == "Rejected" {
        return reregister("waiting", REREGISTERING);
    }
    plain(o.ast_status, Some(prev), now_ms)
}

/// Asterisk's status as it is, when nothing above applies.
fn plain(ast_status: &str, prev: Option<&Stored>, now_ms: i64) -> Decision {
    match ast_status {
        "Registered" => show("registered", ""),
        "Rejected" => show("rejected", REJECTED),
        _ => match prev {
            Some(p) if p.state == "waiting" && now_ms / 1000 - p.since < WAITING_GRACE_SECS => {
                show("waiting", "")
            }
            _ => show(
                "unregistered",
                "no answer from carrier (timeout), or the registration expired; retrying",
            ),
        },
    }
}

fn key(id: &str) -> String {
    callbase_core::keys::trunk_registration(id)
}

async fn stored(redis: &mut redis::aio::ConnectionManager, id: &str) -> redis::RedisResult<Option<Stored>> {
    let (state, reason, since, rereg): (Option<String>, Option<String>, Option<i64>, Option<i64>) =
        redis.hget(key(id), &["state", "reason", "since", "rereg_ms"]).await?;
    Ok(state.map(|state| Stored {
        state,
        reason: reason.unwrap_or_default(),
        since: since.unwrap_or(0),
        rereg_ms: rereg,
    }))
}

/// How long a trunk host's check (DNS) is reused between reconciles.
const HOST_CHECK_TTL: Duration = Duration::from_secs(60);

/// While a carrier is unreachable the monitor asks Asterisk to qualify it this often (instead of
/// every `QUALIFY_SECS`), so a carrier that comes back is re-registered within seconds…
const OUTAGE_PROBE: Duration = Duration::from_secs(2);
/// …for this long after the outage began; after that Asterisk's own qualify notices the return.
const OUTAGE_PROBE_FOR: Duration = Duration::from_secs(300);

/// The monitor's memory between passes: recent host checks, the last REGISTER answer per
/// registration, and the trunks whose carrier is unreachable.
#[derive(Default)]
pub struct Checks {
    hosts: HashMap<String, (tokio::time::Instant, Result<(), String>)>,
    /// By `(client URI, server URI)`: the `Registry` event names no registration id.
    answers: HashMap<(String, String), Answer>,
    /// Registration id → when its carrier was first seen unreachable.
    outages: HashMap<String, tokio::time::Instant>,
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

    /// Keeps a `Registry` event's answer (`Registered` or `Rejected`; the `Unregistered` that
    /// answers the un-REGISTER of a re-register is no answer to the registration).
    pub fn note_registry_event(&mut self, m: &AmiMessage, now_ms: i64) {
        let (Some(client), Some(server), Some(status)) =
            (m.get("Username"), m.get("Domain"), m.get("Status"))
        else {
            return;
        };
        if matches!(status, "Registered" | "Rejected") {
            let answer = Answer { status: status.to_string(), at_ms: now_ms };
            self.answers.insert((client.to_string(), server.to_string()), answer);
        }
    }

    /// The registrations whose carrier went away recently: to be qualified now.
    fn recent_outages(&self) -> Vec<String> {
        self.outages
            .iter()
            .filter(|(_, at)| at.elapsed() < OUTAGE_PROBE_FOR)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// What the monitor needs to tell supervisors about agents' devices (`crate::presence`).
#[derive(Clone)]
pub struct Presence {
    pub ari: crate::ari::Ari,
    pub db: callbase_db::Db,
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
    for reg in ami.outbound_registrations().await? {
        let id = reg.id;
        let Some((tenant, slot)) = parse_ast_id(&id) else { continue };
        let prev = stored(redis, &id).await?;
        let reachable = !ami
            .contact_statuses(&id)
            .await?
            .iter()
            .any(|(uri, s)| *uri == reg.server_uri && s == "Unreachable");
        if reachable {
            checks.outages.remove(&id);
        } else {
            checks.outages.entry(id.clone()).or_insert_with(tokio::time::Instant::now);
        }
        let refused = checks.host(policy, &reg.server_uri).await.err();
        let answer = checks.answers.get(&(reg.client_uri.clone(), reg.server_uri.clone()));
        let observed = Observed {
            ast_status: &reg.status,
            carrier_reachable: reachable,
            refused: refused.as_deref(),
            answer,
        };
        let now = now_ms();
        let d = next_state(&observed, prev.as_ref(), now);
        let mut fields = vec![("state", d.state.clone()), ("reason", d.reason.clone())];
        if d.reregister {
            // Unregisters and registers anew (Asterisk waits 1–10 s before the REGISTER).
            // A refusal or a lost answer is tried again on the next pass (the stored state is unchanged).
            match ami.pjsip_register(&id).await {
                Ok(r) if r.is_success() => {}
                Ok(r) => {
                    tracing::warn!(registration = %id, message = ?r.get("Message"), "PJSIPRegister refused");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(registration = %id, error = %e, "PJSIPRegister failed");
                    continue;
                }
            }
            tracing::info!(tenant.id = %tenant, registration = %id, "registering anew");
            fields.push(("rereg_ms", now.to_string()));
        } else if prev.as_ref().is_some_and(|p| p.state == d.state && p.reason == d.reason) {
            continue;
        }
        let since = match &prev {
            Some(p) if p.state == d.state && p.reason == d.reason => p.since,
            _ => now / 1000,
        };
        fields.push(("since", since.to_string()));
        let _: () = redis.hset_multiple(key(&id), &fields).await?;
        if prev.as_ref().is_some_and(|p| p.state == d.state && p.reason == d.reason) {
            continue;
        }
        let event = Event::TrunkStatus(TrunkStatusChange {
            tenant_id: tenant,
            trunk: slot,
            registration: id.clone(),
            state: d.state.clone(),
            reason: d.reason.clone(),
            since,
        });
        let _: () = redis.publish(keys::events(tenant), event.to_json()).await?;
        tracing::info!(tenant.id = %tenant, registration = %id, state = %d.state, "trunk registration state changed");
    }
    Ok(())
}

/// Runs until `shutdown` turns true (or its sender is dropped).
pub async fn run(
    ami: Ami,
    presence: Presence,
    mut redis: redis::aio::ConnectionManager,
    policy: CarrierPolicy,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut checks = Checks::default();
    let mut events = ami.events();
    let mut connected = ami.connected();
    let mut tick = tokio::time::interval(every);
    let mut probe = tokio::time::interval(OUTAGE_PROBE);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            c = connected.changed() => if c.is_err() { return },
            _ = tick.tick() => {}
            _ = probe.tick() => {
                // The answer (a `ContactStatus` event on a change) triggers the pass.
                for id in checks.recent_outages() {
                    if let Err(e) = ami.pjsip_qualify(&id).await {
                        tracing::debug!(registration = %id, error = %e, "PJSIPQualify failed");
                    }
                }
                continue;
            }
            ev = events.recv() => match ev {
                Ok(m) if matches!(m.event(), Some("Registry" | "ContactStatus")) => {
                    if m.event() == Some("Registry") {
                        checks.note_registry_event(&m, now_ms());
                    } else {
                        // Off the monitor's loop: a registration storm must not hold up the trunks.
                        let (ami, p, redis) = (ami.clone(), presence.clone(), redis.clone());
                        tokio::spawn(async move {
                            crate::presence::on_contact_status(&ami, &p.ari, &p.db, &redis, &m).await
                        });
                    }
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

    fn seen<'a>(ast_status: &'a str, reachable: bool, answer: Option<&'a Answer>) -> Observed<'a> {
        Observed { ast_status, carrier_reachable: reachable, refused: None, answer }
    }

    fn stored(state: &str, reason: &str, since: i64, rereg_ms: Option<i64>) -> Stored {
        Stored { state: state.into(), reason: reason.into(), since, rereg_ms }
    }

    #[test]
    fn asterisk_status_maps_to_what_the_page_shows() {
        assert_eq!(next_state(&seen("Registered", true, None), None, 100_000).state, "registered");
        let d = next_state(&seen("Rejected", true, None), None, 100_000);
        assert_eq!((d.state.as_str(), d.reason.as_str()), ("rejected", REJECTED));
        let waiting = stored("waiting", "", 95, None);
        assert_eq!(
            next_state(&seen("Unregistered", true, None), Some(&waiting), 100_000).state,
            "waiting",
            "just written: still waiting"
        );
        assert_eq!(
            next_state(&seen("Unregistered", true, None), Some(&waiting), 120_000).state,
            "unregistered",
            "grace is over"
        );
        assert!(next_state(&seen("Unregistered", true, None), None, 100_000).reason.contains("no answer"));
        let d = next_state(&seen("Registered", false, None), None, 100_000);
        assert_eq!((d.state.as_str(), d.reason.as_str()), ("unregistered", NO_ANSWER), "a stale Registered");
        assert_eq!(
            next_state(&seen("Rejected", false, None), None, 100_000).reason,
            NO_ANSWER,
            "an unresolvable host is not a password problem"
        );
        let o =
            Observed { refused: Some("127.0.0.1 is a loopback address"), ..seen("Registered", true, None) };
        let d = next_state(&o, None, 100_000);
        assert_eq!(d.state, "refused", "a refused host outranks Registered");
        assert!(d.reason.contains("loopback"));
    }

    #[test]
    fn a_carrier_back_from_an_outage_is_registered_anew_and_green_only_on_the_new_answer() {
        let outage = stored("unregistered", NO_ANSWER, 50, None);
        // Asterisk still says "Registered" (or "Rejected" after a timed-out refresh): neither counts.
        for status in ["Registered", "Rejected"] {
            let d = next_state(&seen(status, true, None), Some(&outage), 100_000);
            assert_eq!(d, reregister("waiting", REREGISTERING), "{status}");
        }
        let pending = stored("waiting", REREGISTERING, 100, Some(100_000));
        let old = Answer { status: "Registered".into(), at_ms: 40_000 };
        assert_eq!(
            next_state(&seen("Registered", true, Some(&old)), Some(&pending), 103_000),
            show("waiting", REREGISTERING),
            "an answer from before the re-register is no answer"
        );
        let fresh = Answer { status: "Registered".into(), at_ms: 106_000 };
        assert_eq!(
            next_state(&seen("Registered", true, Some(&fresh)), Some(&pending), 106_100).state,
            "registered"
        );
        let refused = Answer { status: "Rejected".into(), at_ms: 106_000 };
        assert_eq!(
            next_state(&seen("Rejected", true, Some(&refused)), Some(&pending), 106_100),
            reregister("waiting", CONFIRMING),
            "a quick refusal is asked again: it may be an earlier REGISTER's timeout"
        );
        let confirming = stored("waiting", CONFIRMING, 106, Some(106_100));
        assert_eq!(
            next_state(&seen("Rejected", true, Some(&refused)), Some(&confirming), 107_000),
            show("waiting", CONFIRMING),
            "the refusal before the second ask is no answer to it"
        );
        let again = Answer { status: "Rejected".into(), at_ms: 110_000 };
        assert_eq!(
            next_state(&seen("Rejected", true, Some(&again)), Some(&confirming), 110_100),
            show("rejected", REJECTED),
            "a refusal that repeats is the carrier's answer"
        );
        let registered = Answer { status: "Registered".into(), at_ms: 110_000 };
        assert_eq!(
            next_state(&seen("Registered", true, Some(&registered)), Some(&confirming), 110_100).state,
            "registered",
            "the second ask registered: the first refusal was a stale timeout"
        );
        assert_eq!(
            next_state(&seen("Unregistered", true, None), Some(&pending), 100_000 + PATIENCE_MS),
            reregister("waiting", REREGISTERING),
            "no answer at all: ask again"
        );
    }

    #[test]
    fn a_registration_that_timed_out_is_never_shown_as_rejected() {
        let pending = stored("waiting", REREGISTERING, 100, Some(100_000));
        let late = Answer { status: "Rejected".into(), at_ms: 100_000 + 33_000 };
        let d = next_state(&seen("Rejected", true, Some(&late)), Some(&pending), 133_100);
        assert_eq!(d, show("unregistered", REGISTER_TIMEOUT));
        let timed_out = stored("unregistered", REGISTER_TIMEOUT, 133, Some(100_000));
        assert_eq!(
            next_state(&seen("Rejected", true, Some(&late)), Some(&timed_out), 140_000),
            show("unregistered", REGISTER_TIMEOUT),
            "still the timeout, not Asterisk's Rejected"
        );
        assert_eq!(
            next_state(&seen("Rejected", true, Some(&late)), Some(&timed_out), 133_000 + RETRY_AFTER_MS),
            reregister("unregistered", REGISTER_TIMEOUT),
            "and it retries"
        );
        // A refresh fails while the carrier answers OPTIONS: find out by registering anew.
        let green = stored("registered", "", 10, None);
        assert_eq!(
            next_state(&seen("Rejected", true, None), Some(&green), 100_000),
            reregister("waiting", REREGISTERING)
        );
    }

    #[test]
    fn registry_events_keep_the_answers_not_the_unregistrations() {
        let event = |status: &str| AmiMessage {
            fields: [
                ("Event", "Registry"),
                ("Username", "sip:u@d"),
                ("Domain", "sip:h:5060"),
                ("Status", status),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        let mut c = Checks::default();
        c.note_registry_event(&event("Registered"), 1);
        c.note_registry_event(&event("Unregistered"), 2);
        let key = ("sip:u@d".to_string(), "sip:h:5060".to_string());
        assert_eq!(c.answers[&key], Answer { status: "Registered".into(), at_ms: 1 });
        c.note_registry_event(&event("Rejected"), 3);
        assert_eq!(c.answers[&key].at_ms, 3);
    }
}
