//! Events: one tagged enum for every message published on a tenant's channel
//! ([`crate::keys::events`]) and forwarded by `/events` to browsers. Who may receive an event is
//! [`Event::audience`]; what a masked viewer sees is decided by type: every phone number an event
//! carries is a [`Number`], and [`Event::to_json_masked`] masks each `Number` wherever it sits, so a
//! new field holding a number is masked the day it is added (as long as it is a `Number`).

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crm::Masking;
use crate::{TenantId, UserId};

/// A phone number of the other party (or one an agent dialled). Serialized as a plain string;
/// masked for a masked viewer by [`Event::to_json_masked`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct Number(pub String);

impl From<&str> for Number {
    fn from(s: &str) -> Self {
        Number(s.to_string())
    }
}

impl From<String> for Number {
    fn from(s: String) -> Self {
        Number(s)
    }
}

thread_local! {
    /// The masking that applies while an event is serialized for one viewer (set only inside
    /// [`with_masking`], which is synchronous: no other task can observe it).
    static MASKING: Cell<Option<Masking>> = const { Cell::new(None) };
}

impl Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::crm::shown(MASKING.with(Cell::get), &self.0))
    }
}

/// Runs `f` (a serialization) with every [`Number`] masked by `m`.
pub fn with_masking<R>(m: Masking, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            MASKING.with(|c| c.set(None));
        }
    }
    MASKING.with(|c| c.set(Some(m)));
    let _reset = Reset;
    f()
}

/// Every event of a tenant's channel. The JSON is `{"type": "<snake_case name>", …fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A call's state changed (to the users in `user_ids`).
    Call(CallEvent),
    /// A trunk registration's state changed (to administrators).
    TrunkStatus(TrunkStatusChange),
    /// A toll-fraud alert was raised (to administrators).
    SecurityAlert { alert: Alert },
    /// A telephony user's agent state changed (to that user and the supervisors).
    AgentState(AgentStateChange),
    /// An agent's devices changed (a phone registered or went away): to the supervisors.
    AgentPresence(AgentPresence),
    /// A call's news for the live presence board (to the supervisors): every call of the tenant,
    /// whoever handles it. The phone ignores it (it reads `call` events).
    BoardCall(BoardCall),
    /// A call was parked or left its parking slot (to everyone of the tenant: every phone lists
    /// the parked calls).
    Parking(ParkingChange),
    /// The tenant's masking settings changed: every `/events` socket reads them again. Never
    /// forwarded to browsers.
    CrmSettings,
}

/// Who receives an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// These users of the tenant (none: nobody).
    Users(Vec<UserId>),
    /// The tenant's administrators and sub-administrators.
    Admins,
    /// Administrators, sub-administrators and members of supervisor groups (the presence board).
    Supervisors,
    /// One user and the supervisors.
    UserAndSupervisors(UserId),
    /// Every user of the tenant.
    Everyone,
    /// The servers only (no browser).
    Servers,
}

impl Event {
    pub fn audience(&self) -> Audience {
        match self {
            Event::Call(c) => Audience::Users(c.user_ids.clone()),
            Event::TrunkStatus(_) | Event::SecurityAlert { .. } => Audience::Admins,
            Event::CrmSettings => Audience::Servers,
            Event::AgentState(s) => Audience::UserAndSupervisors(s.user_id),
            Event::BoardCall(_) | Event::AgentPresence(_) => Audience::Supervisors,
            Event::Parking(_) => Audience::Everyone,
        }
    }

    /// The event as published on the tenant's channel (numbers as they are).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(unreachable_json)
    }

    /// The event as a viewer with masking `m` may see it (`None`: unmasked).
    pub fn to_json_masked(&self, m: Option<Masking>) -> String {
        match m {
            Some(m) => with_masking(m, || self.to_json()),
            None => self.to_json(),
        }
    }

    /// Parses a message of a tenant's channel.
    pub fn from_json(s: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(s)
    }
}

/// Our events hold only strings, numbers and options: serializing them cannot fail.
fn unreachable_json(e: serde_json::Error) -> String {
    panic!("an event failed to serialize: {e}")
}

/// The states a call goes through, as its events report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Dialing,
    Ringing,
    Answered,
    Held,
    Unheld,
    /// Attended transfer (issue #18): the agent consults `target` (ringing) while the customer
    /// waits on hold…
    Consulting,
    /// …the consulted party answered: the agent talks with them…
    Consulted,
    /// …the agent is back with the customer (returned, or the consulted party left; `reason`).
    ConsultEnded,
    /// The agent parked the call (issue #18): the customer waits in a slot (`target`: the slot),
    /// the agent's leg ended. Picked up, the call is `answered` again by whoever took it.
    Parked,
    Transferring,
    Forwarded,
    Ended,
    Missed,
    Refused,
}

/// A `call` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallEvent {
    pub call_id: String,
    pub state: CallState,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    /// The other party.
    pub number: Number,
    /// The tenant's number that was called (inbound).
    pub did: Option<String>,
    pub trunk: Option<i16>,
    pub user_id: Option<UserId>,
    /// The browser's reference of a call it started (click-to-call).
    pub client_ref: Option<String>,
    /// Why, in words (a refusal, a hang-up, "no answer").
    pub reason: Option<String>,
    /// Where the call went (`transferring`, `forwarded`).
    pub target: Option<Number>,
    /// RFC 3339.
    pub at: String,
    /// The users who receive this event.
    pub user_ids: Vec<UserId>,
}

/// An `agent_presence` event: which of an agent's devices Asterisk holds a registration of now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentPresence {
    pub user_id: UserId,
    pub browser: bool,
    pub desk: bool,
}

/// A `board_call` event: a call as the presence board shows it (issue #18).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardCall {
    pub call_id: String,
    pub state: CallState,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    /// The other party (masked by the viewer's rules).
    pub number: Number,
    pub trunk: Option<i16>,
    /// The agent who placed or answered it (none while an inbound call rings).
    pub user_id: Option<UserId>,
    /// The agents being rung (inbound calls while ringing).
    pub ringing: Vec<UserId>,
    /// The CRM record it belongs to (its title comes with `GET /api/telephony/board`).
    pub crm_record_id: Option<i64>,
    pub on_hold: bool,
    pub recording: bool,
    /// The agent paused the recording (it records silence until resumed).
    #[serde(default)]
    pub recording_paused: bool,
    /// The parking slot the call waits in (issue #18).
    #[serde(default)]
    pub park_slot: Option<i16>,
    /// The queue the caller waits in, or was answered from (issue #19).
    #[serde(default)]
    pub queue_id: Option<i64>,
    /// RFC 3339: this news (a call's start and answer times come with the board's snapshot, and
    /// with the `dialing`/`ringing` and `answered` news).
    pub at: String,
}

/// A `parking` event: a call entered or left a parking slot (issue #18).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParkingChange {
    pub call_id: String,
    pub slot: i16,
    /// true: parked now; false: it left the slot (picked up, rung back and answered, or ended).
    pub parked: bool,
    /// The customer (masked by the viewer's rules).
    pub number: Number,
    /// Who parked it.
    pub parked_by: Option<UserId>,
    /// RFC 3339.
    pub at: String,
}

/// A `trunk_status` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrunkStatusChange {
    pub tenant_id: TenantId,
    pub trunk: i16,
    pub registration: String,
    /// `registered`, `unregistered`, `rejected`, `waiting` or `refused`.
    pub state: String,
    pub reason: String,
    /// Unix seconds.
    pub since: i64,
}

/// An `agent_state` event: the state a telephony user is in now (issue #18).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentStateChange {
    pub user_id: UserId,
    /// `available`, `break`, `dnd` or `wrapup`.
    pub state: String,
    /// A break's reason.
    pub reason: Option<String>,
    /// RFC 3339: since when.
    pub since: String,
    /// RFC 3339: when a wrap-up ends by itself.
    pub wrapup_until: Option<String>,
}

/// A toll-fraud alert (`security_alert` events; `GET /api/security/alerts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub kind: String,
    pub level: String,
    pub message: String,
    pub user_id: Option<UserId>,
    pub country_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::MaskMode;

    fn call(reason: Option<&str>, target: Option<&str>) -> Event {
        Event::Call(CallEvent {
            call_id: "c1".into(),
            state: CallState::Transferring,
            direction: "inbound".into(),
            number: "+79161234567".into(),
            did: Some("+74950000000".into()),
            trunk: Some(1),
            user_id: Some(UserId(3)),
            client_ref: None,
            reason: reason.map(Into::into),
            target: target.map(Into::into),
            at: "2026-12-03T10:00:00Z".into(),
            user_ids: vec![UserId(3)],
        })
    }

    const PREFIX6: Masking = Masking { mode: MaskMode::Prefix, chars: 6 };

    #[test]
    fn the_wire_format_is_the_one_browsers_read() {
        let v: serde_json::Value = serde_json::from_str(&call(None, None).to_json()).unwrap();
        assert_eq!(v["type"], "call");
        assert_eq!(v["state"], "transferring");
        assert_eq!(v["number"], "+79161234567");
        assert_eq!(v["user_ids"], serde_json::json!([3]));
        let ts = Event::TrunkStatus(TrunkStatusChange {
            tenant_id: TenantId(1),
            trunk: 2,
            registration: "t1-trk2".into(),
            state: "registered".into(),
            reason: String::new(),
            since: 5,
        });
        let v: serde_json::Value = serde_json::from_str(&ts.to_json()).unwrap();
        assert_eq!(v["type"], "trunk_status");
        assert_eq!(v["registration"], "t1-trk2");
        assert_eq!(Event::CrmSettings.to_json(), r#"{"type":"crm_settings"}"#);
    }

    #[test]
    fn a_masked_viewer_sees_every_number_masked_and_the_rest_as_is() {
        let ev = call(None, Some("+4420123456"));
        let out = ev.to_json_masked(Some(PREFIX6));
        assert!(out.contains("\"******234567\"") && !out.contains("+7916"), "{out}");
        assert!(out.contains("\"******23456\"") && !out.contains("+44"), "the transfer target: {out}");
        assert!(out.contains("+74950000000"), "the tenant's own number stays: {out}");
        // Unmasked afterwards: the masking lives only inside the call.
        assert!(ev.to_json().contains("+7916"));
        let hidden = ev.to_json_masked(Some(Masking { mode: MaskMode::Hidden, chars: 1 }));
        assert!(!hidden.contains("1234567"), "{hidden}");
    }

    #[test]
    fn words_in_a_reason_are_not_masked() {
        let out = call(Some("caller hung up +7916"), None).to_json_masked(Some(PREFIX6));
        assert!(out.contains("caller hung up +7916"), "{out}");
    }

    #[test]
    fn a_new_number_field_anywhere_is_masked_by_its_type() {
        // A field added later, nested in an option and a list, of type Number: masked without
        // anyone listing its name.
        #[derive(Serialize)]
        struct Future {
            consult: Option<Vec<Number>>,
            note: String,
        }
        let f = Future { consult: Some(vec!["+79169998877".into()]), note: "+7 as text".into() };
        let out = with_masking(PREFIX6, || serde_json::to_string(&f).unwrap());
        assert!(out.contains("******998877") && !out.contains("+7916"), "{out}");
        assert!(out.contains("+7 as text"), "{out}");
    }

    #[test]
    fn events_parse_back_and_unknown_ones_fail() {
        let ev = call(Some("no answer"), Some("+4420123456"));
        assert_eq!(Event::from_json(&ev.to_json()).unwrap(), ev);
        assert!(Event::from_json(r#"{"type":"something_new"}"#).is_err());
    }

    #[test]
    fn audiences() {
        assert_eq!(call(None, None).audience(), Audience::Users(vec![UserId(3)]));
        assert_eq!(Event::CrmSettings.audience(), Audience::Servers);
    }
}
