//! Call orchestration over ARI: one task per call receives its channels' events in order.
//!
//! - [`outbound`]: an agent's INVITE. The tenant's dial rules decide; a refused number never
//!   reaches a trunk. Internal numbers ring the colleague ([`ring`]); outside numbers go out
//!   through the trunks ([`trunk_dial`]).
//! - [`inbound`]: a carrier INVITE on a trunk: blocklist, business hours, then the trunk's first
//!   step — a [`queue`], one user, or the greeting and every online telephony user who accepts
//!   incoming calls ([`ring`]); what nobody took is forwarded, goes to voicemail or is refused
//!   unanswered ([`unanswered`]).
//! - [`talk`]: the connected call: bridge, recording, hold, blind transfer, hang-up.
//! - [`consult`]: attended transfer (consult, return, complete); [`park`]: parking and pickup;
//!   [`supervise`]: listen, whisper, barge.
//! - [`callback`]: desk-phone click-to-call; [`probe`]: health-probe calls through the trunks;
//!   [`echo`]: the agents' echo test (`*43`, preflight).
//!
//! Everything a call knows is in one [`Call`] value (phase, legs and their roles, bridge,
//! recording, hold); its record goes to the `calls` table (`callbase_db::calls::live`) and, as
//! `call` events, to the agents concerned over the tenant's Redis channel.

mod adopt;
mod callback;
mod consult;
mod echo;
mod feature;
mod inbound;
mod menu;
mod outbound;
mod park;
mod probe;
mod queue;
mod queue_callback;
mod record;
mod ring;
mod supervise;
mod talk;
mod tenancy;
mod trunk_dial;
mod unanswered;

use std::time::Duration;

use callbase_core::events::{BoardCall, CallEvent, CallState, Event};
use callbase_core::{TenantId, UserId};
use callbase_db::calls::{control, live, CallDirection, CallResult};
use callbase_db::supervisions::Mode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use record::Op;

pub use adopt::{adopt, GRACE as ADOPTION_GRACE};
pub use callback::callback;
pub use echo::{ECHO_TEST, LIMIT_SECS as ECHO_LIMIT_SECS};
pub use probe::probe_target;
pub use queue_callback::dial_callbacks;
pub use trunk_dial::SETUP_SAMPLES;

use crate::ari::events::Channel;
use crate::ari::AriError;
use crate::context::{CallMsg, CallRx, CallTx, Ctx, StasisCall, APP};
use tenancy::{load, load_with, Tenancy, Users};

/// Commands from the API (any replica) to the Stasis worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Blind transfer: the agent leaves, the other party is connected to `target`.
    Transfer { call_id: String, tenant: TenantId, user: UserId, target: String },
    /// Desk-phone click-to-call: ring the agent's own phone, then dial `number`.
    Callback { call_id: String, tenant: TenantId, user: UserId, number: String },
    /// Listen, whisper or barge (issue #18): ring the supervisor's phone for supervision row
    /// `supervision` (written by the API), then join them to the agent's side of the call.
    Supervise { call_id: String, tenant: TenantId, supervision: i64, supervisor: UserId, mode: Mode },
    /// The agent pauses (or resumes) the call's recording (issue #18; the API checked the tenant
    /// allows it and that `user` is the call's agent).
    PauseRecording { call_id: String, tenant: TenantId, user: UserId, paused: bool },
    /// Attended transfer (issue #18): the agent puts the customer on hold and consults `target` (an
    /// extension or a number; the API checked a colleague is online)…
    Consult { call_id: String, tenant: TenantId, user: UserId, target: String },
    /// …then returns to the customer (`complete`: false) or completes the transfer (true).
    ConsultEnd { call_id: String, tenant: TenantId, user: UserId, complete: bool },
    /// The agent parks the call (issue #18) in `slot`, or the next free one.
    Park { call_id: String, tenant: TenantId, user: UserId, slot: Option<i16> },
}

/// Why a call flow stopped short (the call's channel is then hung up).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Ari(#[from] AriError),
    #[error("endpoint not found")]
    EndpointNotFound,
    #[error("the channel is gone")]
    ChannelGone,
    #[error("no bridge")]
    NoBridge,
    #[error("event stream closed")]
    EventsClosed,
    #[error("agent call without a user")]
    NoUser,
    #[error("unknown direction {0}")]
    UnknownDirection(String),
    #[error("not a probe target: {0}")]
    NotProbeTarget(String),
}

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Handed to us; dial rules, fraud guard and tenancy being checked.
    Setup,
    /// The caller hears the tenant's greeting.
    Greeting,
    /// Came while the tenant is closed (business hours): the closed greeting, then the closed
    /// destination. Ended, not rung, by a new controller after a restart.
    Closed,
    /// The caller is in an IVR menu (issue #19). A new controller after a restart rings everyone.
    Menu,
    /// Agents' devices are ringing.
    Ringing,
    /// The caller waits in a queue (issue #19), in its place in line (`calls.queued_at`); a new
    /// controller after a restart puts an adopted caller back in its place.
    Queued,
    /// A trunk leg is being dialled.
    Dialing,
    /// Connected.
    Talking,
    /// Connected, the agent consulting someone while the other party waits (attended transfer).
    Consulting,
    /// The other party waits in a parking slot; no agent.
    Parked,
    /// Blind transfer under way: the other party hears ringback.
    Transferring,
    /// Unanswered and connected to the tenant's forward number.
    Forwarded,
    /// Nobody took it: the caller leaves a message (the call's recording). Ended by a new
    /// controller after a restart; the message recorded so far is kept.
    Voicemail,
    Ended,
}

impl Phase {
    /// The `phase` column of the call record.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Greeting => "greeting",
            Phase::Closed => "closed",
            Phase::Menu => "menu",
            Phase::Ringing => "ringing",
            Phase::Queued => "queued",
            Phase::Dialing => "dialing",
            Phase::Talking => "talking",
            Phase::Consulting => "consulting",
            Phase::Parked => "parked",
            Phase::Transferring => "transferring",
            Phase::Forwarded => "forwarded",
            Phase::Voicemail => "voicemail",
            Phase::Ended => "ended",
        }
    }
}

/// The channels of a call and their roles.
#[derive(Debug, Default)]
pub struct Legs {
    /// The channel the call arrived on (the agent's for an outbound call, the carrier's for inbound).
    pub first: String,
    /// Once connected: the agent's channel (changes with a transfer)…
    pub agent: Option<String>,
    /// …and the other party's.
    pub other: Option<String>,
    /// Devices being rung, with their users.
    pub ringing: Vec<(String, UserId)>,
    /// The trunk leg being dialled.
    pub dialing: Option<String>,
}

/// What one call knows about itself.
pub struct Call {
    ctx: Ctx,
    pub id: Uuid,
    pub tenant: TenantId,
    pub direction: CallDirection,
    pub phase: Phase,
    pub number: String,
    pub did: Option<String>,
    pub trunk: Option<i16>,
    pub user: Option<UserId>,
    /// Users who see this call's events.
    pub audience: Vec<UserId>,
    pub client_ref: Option<String>,
    /// The CRM record the call belongs to (called from, or the caller's unique match).
    pub crm_record: Option<i64>,
    /// The queue the caller waits (or waited) in (issue #19).
    pub queue: Option<i64>,
    tx: CallTx,
    pub legs: Legs,
    pub held_since: Option<Instant>,
    pub hold_secs: i64,
    /// The call's mixing bridge (once created).
    pub bridge: Option<String>,
    /// Asterisk's name of the bridge recording, while one runs.
    pub recording: Option<String>,
    /// The agent paused the recording: it records silence.
    pub recording_paused: bool,
    /// A health-probe call: no call record, no events, no recording (the probe keeps its own results).
    pub quiet: bool,
    /// Asterisk's creation time of the caller's channel (epoch ms), for agents' and probe calls: the
    /// time from it to the trunk leg's dial is our share of call setup ([`SETUP_SAMPLES`]).
    pub setup_start_ms: Option<i64>,
    /// When this controller took the call up (epoch ms): Asterisk's part of the set-up before us
    /// is from [`Call::setup_start_ms`] to here (the StasisStart event's way to us).
    pub setup_seen_ms: i64,
    /// Where the call record's writes go, in order ([`record`]).
    writer: record::Writer,
    /// Supervisors listening, whispering or barging in ([`supervise`]).
    pub supervisions: Vec<supervise::Supervision>,
    /// The agent's consultation, while one runs ([`consult`]).
    pub consult: Option<consult::Consult>,
    /// The call's parking, while it waits in a slot ([`park`]).
    pub parked: Option<park::Parking>,
    /// Messages a wait (ringing, dialling) took that the talk loop must still see, in order.
    pub deferred: std::collections::VecDeque<CallMsg>,
}

impl Call {
    /// A call with nothing known yet beyond who owns it and its first channel.
    fn new(
        ctx: &Ctx,
        id: Uuid,
        tenant: TenantId,
        direction: CallDirection,
        number: String,
        first: &str,
        tx: &CallTx,
    ) -> Call {
        Call {
            ctx: ctx.clone(),
            id,
            tenant,
            direction,
            phase: Phase::Setup,
            number,
            did: None,
            trunk: None,
            user: None,
            audience: vec![],
            client_ref: None,
            crm_record: None,
            queue: None,
            tx: tx.clone(),
            legs: Legs { first: first.to_string(), ..Legs::default() },
            held_since: None,
            hold_secs: 0,
            bridge: None,
            recording: None,
            recording_paused: false,
            quiet: false,
            setup_start_ms: None,
            setup_seen_ms: now_ms(),
            writer: record::Writer::spawn(ctx.db.clone(), ctx.fence.clone(), tenant, id),
            supervisions: vec![],
            consult: None,
            parked: None,
            deferred: Default::default(),
        }
    }

    fn set_phase(&mut self, phase: Phase) {
        tracing::debug!(call.id = %self.id, from = ?self.phase, to = ?phase, "call phase");
        self.phase = phase;
    }

    async fn publish(&self, state: CallState, reason: Option<&str>) {
        self.publish_event(state, reason, None).await
    }

    /// A state whose news is where the call went (a transfer or forward target, masked like every
    /// number).
    async fn publish_target(&self, state: CallState, target: &str) {
        self.publish_event(state, None, Some(target)).await
    }

    async fn publish_event(&self, state: CallState, reason: Option<&str>, target: Option<&str>) {
        let at = now_rfc3339();
        let ev = Event::Call(CallEvent {
            call_id: self.id.to_string(),
            state,
            direction: self.direction.as_str().to_string(),
            number: self.number.as_str().into(),
            did: self.did.clone(),
            trunk: self.trunk,
            user_id: self.user,
            client_ref: self.client_ref.clone(),
            reason: reason.map(str::to_string),
            target: target.map(Into::into),
            at: at.clone(),
            user_ids: self.audience.clone(),
        });
        // The same news for the presence board, which sees every call of the tenant.
        let board = self.board_event(state, at);
        self.emit(&[ev, board]).await;
    }

    async fn emit(&self, events: &[Event]) {
        // A replaced controller does not tell the agents about a call it no longer runs.
        if self.quiet || !self.ctx.fence.is_current() {
            return;
        }
        crate::events::publish(&self.ctx.redis, self.tenant, events, "a call event").await;
    }

    /// A call's news as the presence board reads it.
    fn board_event(&self, state: CallState, at: String) -> Event {
        Event::BoardCall(BoardCall {
            call_id: self.id.to_string(),
            state,
            direction: self.direction.as_str().to_string(),
            number: self.number.as_str().into(),
            trunk: self.trunk,
            user_id: self.user,
            ringing: self.legs.ringing.iter().map(|(_, u)| *u).collect(),
            crm_record_id: self.crm_record,
            on_hold: self.held_since.is_some(),
            recording: self.recording.is_some(),
            recording_paused: self.recording_paused,
            park_slot: self.parked.as_ref().map(|p| p.slot),
            queue_id: self.queue,
            at,
        })
    }

    /// News for the presence board alone (the phone has nothing to do with it: the recorder joined).
    async fn publish_board(&self, state: CallState) {
        self.emit(&[self.board_event(state, now_rfc3339())]).await;
    }

    /// Writes to the call record (none for a probe call), in order, through the call's writer
    /// ([`record`]): the actor does not wait for PostgreSQL, and a write waits out a database restart.
    ///
    /// Every write of a call's controller is fenced by the Stasis lease (`crate::lease`): none is
    /// queued or made once the lease is not current, and each stamps the row with the lease's token
    /// in its transaction, rolling back when a newer controller has written the row — the row's
    /// token closes the gap between the check and the commit that a pause could open, at the cost
    /// of one statement per write (a few per call).
    fn write(&self, op: Op) {
        if self.quiet || !self.ctx.fence.is_current() {
            return;
        }
        self.writer.send(op);
    }

    fn open(&self) {
        self.write(Op::Open(Box::new(live::NewCall {
            id: self.id,
            tenant: self.tenant,
            direction: self.direction,
            user: self.user,
            number: self.number.clone(),
            did: self.did.clone(),
            trunk_slot: self.trunk,
            crm_record: self.crm_record,
            node: self.ctx.node.clone(),
            first_channel: self.legs.first.clone(),
            phase: self.phase.as_str(),
            audience: self.audience.iter().map(|u| u.0).collect(),
        })))
    }

    /// Makes what a new controller needs to continue the call durable: its phase, the agent's and
    /// the other party's channels, the bridge and the hold (`callbase_db::calls::control`).
    fn checkpoint(&self) {
        let held_since = self
            .held_since
            .map(|s| OffsetDateTime::now_utc() - time::Duration::try_from(s.elapsed()).unwrap_or_default());
        self.write(Op::Checkpoint(Box::new(control::Checkpoint {
            phase: self.phase.as_str(),
            agent_channel: self.legs.agent.clone(),
            other_channel: self.legs.other.clone(),
            bridge_id: self.bridge.clone(),
            held_since,
            hold_secs: self.hold_secs as i32,
            consult_channel: self.consult.as_ref().and_then(|c| c.leg.clone()),
            consult_bridge: self.consult.as_ref().map(|c| c.bridge.clone()),
            consult_user: self.consult.as_ref().and_then(|c| c.user).map(|u| u.0),
        })))
    }

    /// Ends the call record (after stopping the recording).
    async fn finish(&mut self, result: CallResult, reason: Option<&str>) {
        self.stop_recording().await;
        self.set_phase(Phase::Ended);
        let hold = self.hold_secs + self.held_since.map_or(0, |s| s.elapsed().as_secs() as i64);
        self.write(Op::Ended { result, reason: reason.map(str::to_string), hold_secs: hold as i32 });
        // The agent who talked goes to wrap-up (issue #18), unless a replaced controller runs this.
        if let (CallResult::Answered, Some(user), false) = (result, self.user, self.quiet) {
            if self.ctx.fence.is_current() {
                let (db, redis, tenant) = (self.ctx.db.clone(), self.ctx.redis.clone(), self.tenant);
                tokio::spawn(async move { crate::agent_states::after_call(&db, &redis, tenant, user).await });
            }
        }
    }

    /// A leg of this call: its events come to this actor. The channel id is ours, so no event is
    /// missed between creation and routing.
    async fn create_leg(&self, endpoint: &str, originator: &str) -> Result<String, CallError> {
        let leg = format!("{}-{}", self.id, &Uuid::new_v4().simple().to_string()[..8]);
        self.ctx.router.route(&leg, &self.tx);
        let args = format!("leg,{}", self.id);
        let q = [
            ("endpoint", endpoint),
            ("app", APP),
            ("appArgs", args.as_str()),
            ("channelId", leg.as_str()),
            ("originator", originator),
        ];
        let mut vars = json!({"PJSIP_HEADER(add,X-CB-Call)": self.id.to_string()});
        // The line an inbound call came in on, for the ringing phone (issue #18). A DID is what the
        // dialplan's extension pattern let through: `[+*#0-9a-zA-Z]`, safe in a header.
        if let Some(did) = self
            .did
            .as_deref()
            .filter(|d| d.bytes().all(|b| b.is_ascii_alphanumeric() || b"+*#".contains(&b)))
        {
            vars["PJSIP_HEADER(add,X-CB-Did)"] = json!(did);
        }
        let body = json!({"variables": vars});
        match self.ctx.ari.call(reqwest::Method::POST, "channels/create", &q, Some(&body)).await {
            Ok(Some(_)) => Ok(leg),
            Ok(None) => Err(CallError::EndpointNotFound),
            Err(e) => {
                self.ctx.router.forget(&leg);
                Err(e.into())
            }
        }
    }

    /// Dials a created leg. `channels/create` returns before the channel has entered Stasis, and
    /// ARI refuses to dial (or bridge) it until then: retry briefly.
    async fn dial(&self, leg: &str, caller: &str, timeout: u64) -> bool {
        let t = timeout.to_string();
        let path = format!("channels/{leg}/dial");
        let q = [("caller", caller), ("timeout", t.as_str())];
        until_in_stasis(|| self.ctx.ari.call(reqwest::Method::POST, &path, &q, None)).await
    }

    async fn hangup(&self, ch: &str) {
        let _ = self.ctx.ari.hangup(ch).await;
        self.ctx.router.forget(ch);
    }

    async fn post(&self, path: &str, q: &[(&str, &str)]) {
        if let Err(e) = self.ctx.ari.call(reqwest::Method::POST, path, q, None).await {
            tracing::debug!(error = %e, path, "ARI request failed");
        }
    }

    async fn delete(&self, path: &str) {
        let _ = self.ctx.ari.call(reqwest::Method::DELETE, path, &[], None).await;
    }

    /// Hangs a channel up with an ARI reason (ARI knows a fixed set; an unknown one is a 400 and
    /// leaves the channel up), like [`Call::hangup`].
    async fn reject(&self, ch: &str, reason: &str) {
        let _ = self
            .ctx
            .ari
            .call(reqwest::Method::DELETE, &format!("channels/{ch}"), &[("reason", reason)], None)
            .await;
        self.ctx.router.forget(ch);
    }
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Runs an ARI call on a channel we just created until the channel is in Stasis (ARI answers 409
/// or 422 before that). The channel is usually there within a few milliseconds: back off from 2 ms
/// to 50 ms (a flat 50 ms wait was most of our share of call setup, `callbase loadgen`), ~2 s in all.
async fn until_in_stasis<F, Fut>(f: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, AriError>>,
{
    let mut wait = Duration::from_millis(2);
    for _ in 0..50 {
        match f().await {
            Ok(Some(_)) => return true,
            Err(AriError::Status { status: 409 | 422, .. }) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(50));
            }
            _ => return false,
        }
    }
    false
}

fn guard(ctx: &Ctx) -> crate::fraud::Guard {
    crate::fraud::Guard { db: ctx.db.clone(), redis: ctx.redis.clone(), fence: Some(ctx.fence.clone()) }
}

/// Entry point for a channel that entered Stasis as a new call.
pub async fn run_call(ctx: Ctx, call: StasisCall, channel: Channel, tx: CallTx, rx: CallRx) {
    let ch = channel.id.clone();
    let res = match call.direction.as_str() {
        "inbound" => inbound::inbound(ctx.clone(), &call, &channel, tx, rx).await,
        "outbound" => match call.origin {
            Some(user) => {
                let start = outbound::Start {
                    tenant: call.tenant,
                    user: UserId(user),
                    agent: &ch,
                    exten: &call.exten,
                    call_id: None,
                    created_ms: channel.created_ms(),
                };
                outbound::outbound(ctx.clone(), start, tx, rx).await
            }
            None => Err(CallError::NoUser),
        },
        "probe" => probe::probe(ctx.clone(), &ch, &call.exten, channel.created_ms(), tx, rx).await,
        other => Err(CallError::UnknownDirection(other.to_string())),
    };
    if let Err(e) = res {
        tracing::warn!(error = %e, channel = %ch, "call ended with an error");
        let _ = ctx.ari.hangup(&ch).await;
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ari::events::Event as AriEvent;
    use crate::context::CallMsg;

    #[test]
    fn end_events_are_recognised_per_channel() {
        let ev: AriEvent =
            serde_json::from_value(json!({"type": "ChannelDestroyed", "channel": {"id": "a"}, "cause": 16}))
                .unwrap();
        let msg = CallMsg::Ari(ev.clone());
        assert!(msg.ends("a"));
        assert!(!msg.ends("b"));
        let up: AriEvent =
            serde_json::from_value(json!({"type": "ChannelStateChange", "channel": {"id": "a"}})).unwrap();
        assert!(!CallMsg::Ari(up).ends("a"));
        assert!(matches!(ev, AriEvent::ChannelDestroyed { cause: 16, .. }));
        assert!(!CallMsg::Transfer { target: "a".into() }.ends("a"));
    }

    #[test]
    fn commands_round_trip_as_tagged_json() {
        let c = Command::Transfer {
            call_id: "x".into(),
            tenant: TenantId(1),
            user: UserId(2),
            target: "102".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["cmd"], "transfer");
        assert!(matches!(serde_json::from_value::<Command>(v).unwrap(), Command::Transfer { .. }));
    }
}
