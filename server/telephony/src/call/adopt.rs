//! Adoption: the live calls of a node survive the replica that ran them (issue 16).
//!
//! Asterisk keeps a Stasis app's channels and bridges when the app's WebSocket goes away, but it
//! does not hand them to the app again when a WebSocket reconnects. So whenever the Stasis app
//! (re)connects — a replica took the node's lease over from one that stopped or died, or the ARI
//! socket of this replica dropped — it compares the node's open call records
//! (`callbase_db::calls::control`, written by the actors as calls change) with Asterisk's channels:
//!
//! - a connected call (talking, consulting, or forwarded) whose two channels are still up gets a new
//!   actor, which runs it from where it was: hang-up by either side, hold, transfer, an answered
//!   consultation (one caught ringing ends: the agent is back with the customer); its record closes
//!   with true times and its recording is stopped and handed to the uploader;
//! - an inbound call caught before anyone answered (greeting, ringing) whose caller is still there
//!   rings the agents again: the old controller's ringing legs are hung up, a new actor rings the
//!   online agents (the ring timeout starts over) and the call goes on as any inbound call;
//! - a call whose channels are gone, or that was caught before it was connected otherwise
//!   (dialling out), is ended: what is left of it is hung up, its recording stopped and queued,
//!   its record closed with a clear reason — never left "in progress";
//! - a call this replica still runs has its lost hang-ups delivered (a reconnect of the socket);
//! - channels in the Stasis app that belong to no open call are hung up after [`GRACE`] (a channel
//!   whose `StasisStart` is on its way is left alone).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use callbase_core::events::CallState;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::control::{self, OpenCall};
use callbase_db::calls::{CallDirection, CallResult};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::talk::{forwarded_talk, talk};
use super::{Call, Phase};
use crate::ari::events::{Channel, Event};
use crate::context::{CallMsg, Ctx, APP};

/// How long a channel in the Stasis app may belong to no call before it is hung up.
pub const GRACE: Duration = Duration::from_secs(5);

/// What the end of a call caught without a controller says.
const LOST_CONNECTED: &str = "ended while no server controlled the call";
const LOST_SETUP: &str = "interrupted by a server restart before it was connected";

/// A channel as `GET /channels` lists it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Listed {
    id: String,
    dialplan: Dialplan,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Dialplan {
    app_name: String,
    app_data: String,
}

impl Listed {
    /// Is the channel in our Stasis app (`Stasis(callbase,…)`)?
    fn in_app(&self) -> bool {
        self.dialplan.app_name.eq_ignore_ascii_case("Stasis")
            && self.dialplan.app_data.split(',').next().map(str::trim) == Some(APP)
    }
}

/// The node's channels, by id; `None` when Asterisk cannot say (then nothing is decided).
async fn channels(ctx: &Ctx) -> Option<HashMap<String, Listed>> {
    match ctx.ari.call(reqwest::Method::GET, "channels", &[], None).await {
        Ok(Some(v)) => {
            let list: Vec<Listed> = serde_json::from_value(v).unwrap_or_default();
            Some(list.into_iter().map(|c| (c.id.clone(), c)).collect())
        }
        other => {
            tracing::warn!(?other, "adoption: cannot list Asterisk's channels; calls are left as they are");
            None
        }
    }
}

/// What to do with one open call, given the channels that are up and whether this process runs it.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// This process's actor runs it; these of its channels are gone (their hang-ups were missed).
    Running { gone: Vec<String> },
    /// Connected, both channels up: a new actor continues it.
    Adopt,
    /// Inbound, nobody answered yet, the caller still there: ring the agents again.
    Ring,
    /// End it: hang up what is left, close the record.
    End { answered: bool },
}

fn decide(call: &OpenCall, up: &HashSet<&str>, runs_here: bool) -> Decision {
    let connected = matches!(call.phase.as_deref(), Some("talking" | "consulting" | "forwarded" | "parked"));
    let pair: Vec<&String> = [&call.agent_channel, &call.other_channel].into_iter().flatten().collect();
    if runs_here {
        // Only a connected call's two channels are long-lived enough to judge from a list: a leg
        // being created may not be listed yet.
        let gone = if connected {
            pair.iter().filter(|c| !up.contains(c.as_str())).map(|c| c.to_string()).collect()
        } else {
            vec![]
        };
        return Decision::Running { gone };
    }
    let unanswered_inbound = call.direction() == CallDirection::Inbound
        && call.answered_at.is_none()
        && call.result.is_none()
        && matches!(call.phase.as_deref(), Some("setup" | "greeting" | "menu" | "ringing" | "queued"));
    if unanswered_inbound && call.first_channel.as_deref().is_some_and(|c| up.contains(c)) {
        return Decision::Ring;
    }
    // A parked call has no agent: its customer waiting in the call's bridge is the call.
    if call.phase.as_deref() == Some("parked") {
        return match (&call.other_channel, &call.bridge_id, call.park_slot) {
            (Some(o), Some(_), Some(_)) if up.contains(o.as_str()) => Decision::Adopt,
            _ => Decision::End { answered: call.answered_at.is_some() },
        };
    }
    if connected
        && pair.len() == 2
        && pair.iter().all(|c| up.contains(c.as_str()))
        && call.bridge_id.is_some()
    {
        Decision::Adopt
    } else {
        Decision::End { answered: call.answered_at.is_some() }
    }
}

/// Adopts, ends or completes the node's open calls, then hangs up unowned channels after [`GRACE`].
pub async fn adopt(ctx: Ctx) {
    let Some(pool) = ctx.db.lookup().cloned() else {
        tracing::warn!("database.worker_url is not set: live calls cannot be adopted after a restart");
        return;
    };
    let Some(listed) = channels(&ctx).await else { return };
    let open = match control::open_on_node(&pool, &ctx.node).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "adoption: cannot read the node's open calls");
            return;
        }
    };
    let up: HashSet<&str> = listed.keys().map(String::as_str).collect();
    let (mut adopted, mut rung, mut ended) = (0, 0, 0);
    for row in &open {
        match decide(row, &up, ctx.router.runs_call(&row.id.to_string())) {
            Decision::Running { gone } => {
                for ch in gone {
                    tracing::info!(call.id = %row.id, channel = %ch, "adoption: a hang-up missed while disconnected");
                    ctx.router.send_to_channel(&ch, destroyed(&ch));
                }
            }
            Decision::Adopt => {
                adopted += 1;
                let owned: Vec<String> = listed.keys().filter(|c| row.owns(c)).cloned().collect();
                continue_call(&ctx, row, owned);
            }
            Decision::Ring => {
                rung += 1;
                let owned: Vec<String> = listed.keys().filter(|c| row.owns(c)).cloned().collect();
                ring_again(&ctx, row, &owned).await;
            }
            Decision::End { answered } => {
                ended += 1;
                let owned: Vec<String> = listed.keys().filter(|c| row.owns(c)).cloned().collect();
                end_call(&ctx, row, &owned, answered).await;
            }
        }
    }
    if !open.is_empty() {
        tracing::info!(node = %ctx.node, open = open.len(), adopted, rung, ended, "adopted the node's live calls");
    }
    hang_up_orphans(&ctx, &pool, &listed).await;
}

/// A `ChannelDestroyed` for a channel whose end was not reported to us.
pub(super) fn destroyed(ch: &str) -> CallMsg {
    CallMsg::Ari(Event::ChannelDestroyed {
        channel: Channel { id: ch.to_string(), ..Channel::default() },
        cause: 16,
        cause_txt: Some("missed while no server controlled the call".into()),
    })
}

/// The call as its record describes it, run by a new actor.
fn rebuild(ctx: &Ctx, row: &OpenCall, tx: &crate::context::CallTx) -> Call {
    let first = row.first_channel.clone().unwrap_or_default();
    let held_for = row.held_since.map(|s| (time::OffsetDateTime::now_utc() - s).max(time::Duration::ZERO));
    Call {
        did: row.did.clone(),
        trunk: row.trunk_slot,
        user: row.user_id.map(UserId),
        audience: row.audience.iter().copied().map(UserId).collect(),
        crm_record: row.crm_record_id,
        queue: row.queue_id,
        bridge: row.bridge_id.clone(),
        recording: row.recording_name.clone().filter(|_| row.recording_state.as_deref() == Some("recording")),
        held_since: held_for.map(|d| Instant::now() - Duration::try_from(d).unwrap_or_default()),
        hold_secs: i64::from(row.hold_secs),
        legs: super::Legs {
            first: first.clone(),
            agent: row.agent_channel.clone(),
            other: row.other_channel.clone(),
            ..super::Legs::default()
        },
        consult: row.consult_bridge.clone().filter(|_| row.phase.as_deref() == Some("consulting")).map(
            |bridge| super::consult::Consult {
                target: String::new(),
                user: row.consult_user.map(UserId),
                bridge,
                leg: row.consult_channel.clone(),
            },
        ),
        ..Call::new(ctx, row.id, TenantId(row.tenant_id), row.direction(), row.number.clone(), &first, tx)
    }
}

/// Starts an actor for a connected call whose two channels are up (`owned`: the call's channels
/// Asterisk listed, supervisors' legs among them), or a parked call whose customer waits.
fn continue_call(ctx: &Ctx, row: &OpenCall, owned: Vec<String>) {
    if row.phase.as_deref() == Some("parked") {
        continue_parked(ctx, row, owned);
        return;
    }
    let (Some(agent), Some(other), Some(bridge)) =
        (row.agent_channel.clone(), row.other_channel.clone(), row.bridge_id.clone())
    else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let key = row.id.to_string();
    ctx.router.route(&agent, &tx);
    ctx.router.route(&other, &tx);
    ctx.router.register_call(&key, &tx);
    let mut call = rebuild(ctx, row, &tx);
    let forwarded = row.phase.as_deref() == Some("forwarded");
    let never_recorded = row.recording_state.is_none();
    // Calls through a trunk count towards the fraud guard's concurrent-call caps while they last.
    let through_trunk = forwarded || (row.direction() == CallDirection::Outbound && row.trunk_slot.is_some());
    let (tenant, user) = (TenantId(row.tenant_id), row.user_id.map(UserId).filter(|_| !forwarded));
    tracing::info!(call.id = %row.id, tenant.id = %row.tenant_id, forwarded, "adopted a live call");
    let actor = format!("call {key}");
    let ctx = ctx.clone();
    ctx.clone().spawn_actor(actor, async move {
        let _live = match through_trunk {
            true => Some(super::guard(&ctx).resume(tenant, user, &key).await),
            false => None,
        };
        // A hang-up between the list and the routes above would never reach us: look again.
        for ch in [&agent, &other] {
            if let Ok(None) = ctx.ari.call(reqwest::Method::GET, &format!("channels/{ch}"), &[], None).await {
                let _ = tx.send(destroyed(ch));
            }
        }
        // An answered consultation goes on; one caught ringing (or whose party is gone) ends, and
        // the agent is back with the customer (issue #18).
        if let Some(leg) = call.consult.as_ref().and_then(|c| c.leg.clone()).filter(|l| owned.contains(l)) {
            ctx.router.route(&leg, &tx);
            if let Ok(None) = ctx.ari.call(reqwest::Method::GET, &format!("channels/{leg}"), &[], None).await
            {
                let _ = tx.send(destroyed(&leg));
            }
        } else if call.consult.is_some() {
            call.end_consult(&bridge, &agent, &other, "interrupted by a server restart").await;
        }
        // Supervisors listening, whispering or barging in stay (issue #18).
        if !forwarded {
            call.adopt_supervisions(&owned).await;
        }
        // A replica that died between the answer and the recording's start left none: record the
        // rest of the call (when the tenant records it).
        if never_recorded {
            call.start_recording(&other).await;
        }
        if forwarded {
            forwarded_talk(&mut call, &other, &agent, &mut rx).await;
        } else {
            talk(&mut call, &bridge, &agent, &other, &mut rx).await;
        }
        call.delete(&format!("bridges/{bridge}")).await;
        ctx.router.forget(&agent);
        ctx.router.forget(&other);
        ctx.router.forget_call(&key);
    });
}

/// A parked call (issue #18) whose customer still waits: a new actor continues the wait from its
/// record (the park timeout counts from when it was parked), rings the parker back, hands it to a
/// pickup; ring-back legs of the old controller are hung up with the call's unknown legs.
fn continue_parked(ctx: &Ctx, row: &OpenCall, owned: Vec<String>) {
    let (Some(other), Some(bridge), Some(slot)) =
        (row.other_channel.clone(), row.bridge_id.clone(), row.park_slot)
    else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let key = row.id.to_string();
    ctx.router.route(&other, &tx);
    ctx.router.register_call(&key, &tx);
    let mut call = rebuild(ctx, row, &tx);
    call.legs.agent = None;
    let waited = super::park::waited(row.parked_at);
    call.parked = Some(super::park::Parking {
        slot,
        by: row.parked_by.map(UserId),
        since: Instant::now().checked_sub(waited).unwrap_or_else(Instant::now),
    });
    let through_trunk = row.direction() == CallDirection::Outbound && row.trunk_slot.is_some();
    let (tenant, user) = (TenantId(row.tenant_id), row.user_id.map(UserId));
    tracing::info!(call.id = %row.id, tenant.id = %row.tenant_id, slot, "adopted a parked call");
    let actor = format!("call {key}");
    let ctx = ctx.clone();
    ctx.clone().spawn_actor(actor, async move {
        let _live = match through_trunk {
            true => Some(super::guard(&ctx).resume(tenant, user, &key).await),
            false => None,
        };
        if let Ok(None) = ctx.ari.call(reqwest::Method::GET, &format!("channels/{other}"), &[], None).await {
            let _ = tx.send(destroyed(&other));
        }
        call.adopt_supervisions(&owned).await;
        match call.parked(&bridge, &other, &mut rx).await {
            Ok(agent) => talk(&mut call, &bridge, &agent, &other, &mut rx).await,
            Err(why) => {
                call.hangup(&other).await;
                call.publish(CallState::Ended, Some(why)).await;
                call.finish(CallResult::Answered, None).await;
            }
        }
        call.delete(&format!("bridges/{bridge}")).await;
        ctx.router.forget(&other);
        ctx.router.forget_call(&key);
    });
}

/// An inbound call caught before anyone answered, its caller still there: the old controller's
/// ringing legs and bridge go, and a new actor rings the agents again.
async fn ring_again(ctx: &Ctx, row: &OpenCall, owned: &[String]) {
    let Some(caller) = row.first_channel.clone() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let key = row.id.to_string();
    ctx.router.route(&caller, &tx);
    ctx.router.register_call(&key, &tx);
    let mut call = rebuild(ctx, row, &tx);
    call.bridge = None;
    for ch in owned.iter().filter(|c| **c != caller) {
        call.hangup(ch).await;
    }
    // The old controller's bridge — and the call's own `b-<id>` too: one made just before the
    // record named it is not in the record.
    let own = super::talk::call_bridge(&row.id);
    for b in row.bridge_id.iter().filter(|b| **b != own).chain([&own]) {
        call.delete(&format!("bridges/{b}")).await;
    }
    tracing::info!(call.id = %row.id, tenant.id = %row.tenant_id, phase = ?row.phase, "adopted a call caught ringing: the agents ring again");
    let actor = format!("call {key}");
    let ctx = ctx.clone();
    ctx.clone().spawn_actor(actor, async move {
        // A hang-up between the list and the route above would never reach us: look again.
        if let Ok(None) = ctx.ari.call(reqwest::Method::GET, &format!("channels/{caller}"), &[], None).await {
            let _ = tx.send(destroyed(&caller));
        }
        if let Err(e) = super::inbound::resume_ringing(&mut call, &caller, &mut rx).await {
            tracing::warn!(call.id = %call.id, error = %e, "an adopted ringing call could not ring again");
            call.hangup(&caller).await;
            call.finish(CallResult::Missed, Some(LOST_SETUP)).await;
        }
        ctx.router.forget(&caller);
        ctx.router.forget_call(&key);
    });
}

/// Ends a call its controller lost: its remaining channels are hung up, the recording stopped and
/// queued for upload, the record closed and the agents told.
async fn end_call(ctx: &Ctx, row: &OpenCall, owned: &[String], answered: bool) {
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut call = rebuild(ctx, row, &tx);
    // Supervisions end with the call: their legs, snoops and bridges go.
    call.adopt_supervisions(&[]).await;
    call.end_supervisions("call ended").await;
    for ch in owned {
        call.hangup(ch).await;
    }
    if let Some(b) = &row.consult_bridge {
        call.delete(&format!("bridges/{b}")).await;
    }
    if let Some(b) = &row.bridge_id {
        // Stop the recording before the bridge goes: that ends its file.
        call.stop_recording().await;
        call.delete(&format!("bridges/{b}")).await;
    }
    let (result, reason) = match (answered, row.direction()) {
        (true, _) => (CallResult::Answered, LOST_CONNECTED),
        (false, CallDirection::Inbound) => (CallResult::Missed, LOST_SETUP),
        (false, _) => (CallResult::Failed, LOST_SETUP),
    };
    tracing::info!(call.id = %row.id, tenant.id = %row.tenant_id, phase = ?row.phase, hung_up = owned.len(), reason, "ended a call without a controller");
    call.set_phase(Phase::Ended);
    call.publish(CallState::Ended, Some(reason)).await;
    call.finish(result, Some(reason)).await;
}

/// Channels in our Stasis app that no call owns: after [`GRACE`], those still unowned are hung up.
async fn hang_up_orphans(ctx: &Ctx, pool: &sqlx::PgPool, listed: &HashMap<String, Listed>) {
    let suspects: Vec<String> =
        listed.values().filter(|c| c.in_app() && !ctx.router.owns(&c.id)).map(|c| c.id.clone()).collect();
    if suspects.is_empty() {
        return;
    }
    tokio::time::sleep(GRACE).await;
    let open = match control::open_on_node(pool, &ctx.node).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "adoption: cannot read open calls; unowned channels are left");
            return;
        }
    };
    for ch in suspects {
        if ctx.router.owns(&ch) || open.iter().any(|c| c.owns(&ch)) {
            continue;
        }
        tracing::info!(channel = %ch, "hanging up a channel no call owns");
        let _ = ctx.ari.hangup(&ch).await;
    }
}

#[cfg(test)]
mod tests {
    use sqlx::types::Uuid;

    use super::*;

    fn row(phase: &str, agent: Option<&str>, other: Option<&str>, answered: bool) -> OpenCall {
        OpenCall {
            id: Uuid::parse_str("7d9f6a8e-3c1b-4b5e-9a51-0c2d4e6f8a10").unwrap(),
            tenant_id: 1,
            direction: "outbound".into(),
            user_id: Some(2),
            number: "+74951234567".into(),
            did: None,
            trunk_slot: Some(1),
            crm_record_id: None,
            phase: Some(phase.into()),
            first_channel: Some("agent-1".into()),
            agent_channel: agent.map(Into::into),
            other_channel: other.map(Into::into),
            bridge_id: Some("b-x".into()),
            held_since: None,
            hold_secs: 0,
            result: None,
            recording_state: None,
            recording_name: None,
            answered_at: answered.then(time::OffsetDateTime::now_utc),
            audience: vec![2],
            consult_channel: None,
            consult_bridge: None,
            consult_user: None,
            park_slot: None,
            parked_by: None,
            parked_at: None,
            queue_id: None,
        }
    }

    #[test]
    fn a_connected_call_with_both_channels_up_is_adopted() {
        let up: HashSet<&str> = ["agent-1", "trk-1"].into();
        let r = row("talking", Some("agent-1"), Some("trk-1"), true);
        assert_eq!(decide(&r, &up, false), Decision::Adopt);
        // An attended transfer's consultation is a connected call too.
        assert_eq!(
            decide(&row("consulting", Some("agent-1"), Some("trk-1"), true), &up, false),
            Decision::Adopt
        );
        assert_eq!(
            decide(&row("forwarded", Some("agent-1"), Some("trk-1"), true), &up, false),
            Decision::Adopt
        );
    }

    #[test]
    fn a_parked_call_is_adopted_while_its_customer_waits() {
        let parked = OpenCall { park_slot: Some(3), ..row("parked", None, Some("trk-1"), true) };
        let up: HashSet<&str> = ["trk-1"].into();
        assert_eq!(decide(&parked, &up, false), Decision::Adopt);
        assert_eq!(decide(&parked, &HashSet::new(), false), Decision::End { answered: true });
        let no_slot = row("parked", None, Some("trk-1"), true);
        assert_eq!(decide(&no_slot, &up, false), Decision::End { answered: true });
        // This process runs it: a missed hang-up of the customer is delivered.
        assert_eq!(decide(&parked, &HashSet::new(), true), Decision::Running { gone: vec!["trk-1".into()] });
    }

    #[test]
    fn a_call_missing_a_channel_or_not_yet_connected_is_ended() {
        let up: HashSet<&str> = ["trk-1", "agent-1"].into();
        let half: HashSet<&str> = ["trk-1"].into();
        let r = row("talking", Some("agent-1"), Some("trk-1"), true);
        assert_eq!(decide(&r, &half, false), Decision::End { answered: true });
        assert_eq!(decide(&row("ringing", None, None, false), &up, false), Decision::End { answered: false });
        assert_eq!(decide(&row("dialing", None, None, false), &up, false), Decision::End { answered: false });
    }

    #[test]
    fn an_inbound_call_caught_before_an_answer_rings_again_while_its_caller_is_there() {
        let inbound = |phase: &str, answered: bool, result: Option<&str>| OpenCall {
            direction: "inbound".into(),
            first_channel: Some("caller-1".into()),
            result: result.map(Into::into),
            ..row(phase, None, None, answered)
        };
        let up: HashSet<&str> = ["caller-1"].into();
        let none: HashSet<&str> = HashSet::new();
        for phase in ["setup", "greeting", "menu", "ringing", "queued"] {
            assert_eq!(decide(&inbound(phase, false, None), &up, false), Decision::Ring, "{phase}");
            // The caller gave up meanwhile: nothing to ring for.
            assert_eq!(decide(&inbound(phase, false, None), &none, false), Decision::End { answered: false });
        }
        // Forwarded already, or answered: not rung again.
        assert_ne!(decide(&inbound("ringing", false, Some("forwarded")), &up, false), Decision::Ring);
        assert_ne!(decide(&inbound("talking", true, None), &up, false), Decision::Ring);
        // It came while the tenant was closed (business hours): ended, never rung.
        assert_eq!(decide(&inbound("closed", false, None), &up, false), Decision::End { answered: false });
        // This process still runs it: left to its actor.
        assert_eq!(decide(&inbound("ringing", false, None), &up, true), Decision::Running { gone: vec![] });
    }

    #[test]
    fn a_call_this_process_runs_gets_only_its_missed_hang_ups() {
        let half: HashSet<&str> = ["trk-1"].into();
        let r = row("talking", Some("agent-1"), Some("trk-1"), true);
        assert_eq!(decide(&r, &half, true), Decision::Running { gone: vec!["agent-1".into()] });
        // A call still being set up may have legs that are not listed yet: nothing is judged.
        assert_eq!(
            decide(&row("dialing", None, None, false), &half, true),
            Decision::Running { gone: vec![] }
        );
    }

    #[test]
    fn legs_a_call_created_are_its_own() {
        let r = row("talking", Some("agent-1"), Some("trk-1"), true);
        assert!(r.owns("agent-1"));
        assert!(r.owns(&format!("{}-1a2b3c4d", r.id)));
        assert!(!r.owns(&r.id.to_string()), "the bare id is no leg name");
        assert!(!r.owns("someone-else"));
    }

    #[test]
    fn only_channels_in_our_stasis_app_are_suspects() {
        let c: Listed = serde_json::from_value(serde_json::json!({
            "id": "x", "dialplan": {"app_name": "Stasis", "app_data": "callbase,leg,abc"}
        }))
        .unwrap();
        assert!(c.in_app());
        let echo: Listed = serde_json::from_value(serde_json::json!({
            "id": "y", "dialplan": {"app_name": "Echo", "app_data": ""}
        }))
        .unwrap();
        assert!(!echo.in_app());
        let other_app: Listed = serde_json::from_value(serde_json::json!({
            "id": "z", "dialplan": {"app_name": "Stasis", "app_data": "callbase-lg,x"}
        }))
        .unwrap();
        assert!(!other_app.in_app());
    }
}
