//! The connected call: its bridge and recording, hold (music on hold for the other party, explicitly:
//! a recording bridge does not pass hold on), blind transfer, attended transfer ([`super::consult`]),
//! and the hang-up of either side.

use std::collections::HashSet;

use callbase_core::dial::Routed;
use callbase_core::events::CallState;
use callbase_core::UserId;
use callbase_db::calls::CallResult;
use tokio::time::Instant;

use super::ring::{devices, ring_users, RingOutcome};
use super::trunk_dial::{dial_out, DialOutcome};
use super::{guard, load, until_in_stasis, Call, CallError, Op, Phase};
use crate::ari::events::Event;
use crate::context::{CallMsg, CallRx, APP};

/// The bridge a call's controller makes for it, `b-<call id>` (adoption deletes an old controller's
/// by this name too; one whose id was still taken has a suffix and is in the record).
pub(super) fn call_bridge(call: &uuid::Uuid) -> String {
    format!("b-{call}")
}

impl Call {
    /// A mixing bridge with `proxy_media`: media always passes through the core. Without it two
    /// PCMU legs (desk phone ↔ trunk) were bridged natively and lost their audio when the bridge
    /// had to become softmix as a third party joined (docs/e2e-lab.md); the recording is a snoop
    /// on a channel, so a two-party call stays in a simple bridge.
    ///
    /// The bridge is `b-<call id>`. A controller that takes a call over deletes the old one's
    /// bridge, but Asterisk keeps a destroyed bridge's id taken until the last reference to the
    /// bridge goes (`ast_bridge_topic_exists`: the caller leaving it takes ~2 s), and a bridge made
    /// just before the record named it is not deleted at all: then the id answers 409 and the
    /// bridge gets a fresh suffix, rather than the caller being lost.
    pub(super) async fn new_bridge(&mut self) -> Result<String, CallError> {
        let mut id = call_bridge(&self.id);
        let mut made = self.create_bridge(&id).await;
        if let Err(crate::ari::AriError::Status { status: 409, .. }) = made {
            let fresh = format!("{id}-{:08x}", rand::random::<u32>());
            let taken = std::mem::replace(&mut id, fresh);
            tracing::info!(call.id = %self.id, taken, bridge = %id, "the call's bridge id is still taken: a fresh one");
            made = self.create_bridge(&id).await;
        }
        match made {
            Ok(Some(_)) => {
                self.bridge = Some(id.clone());
                Ok(id)
            }
            other => {
                tracing::error!(?other, call.id = %self.id, "cannot create a bridge");
                Err(CallError::NoBridge)
            }
        }
    }

    async fn create_bridge(&self, id: &str) -> Result<Option<serde_json::Value>, crate::ari::AriError> {
        let q = [("type", "mixing,proxy_media"), ("bridgeId", id), ("name", id)];
        self.ctx.ari.call(reqwest::Method::POST, "bridges", &q, None).await
    }

    pub(super) async fn add(&self, bridge: &str, ch: &str) -> bool {
        let path = format!("bridges/{bridge}/addChannel");
        let q = [("channel", ch)];
        until_in_stasis(|| self.ctx.ari.call(reqwest::Method::POST, &path, &q, None)).await
    }

    /// Starts recording the call, when the tenant records it (recording starts at the answer; a
    /// transfer, a park or a consultation keeps the same recording going). `on` is the party that
    /// stays for the whole call — the customer, or the colleague who was called.
    pub(super) async fn start_recording(&mut self, on: &str) {
        if self.recording.is_some() || self.quiet {
            return;
        }
        if !crate::recording::should_record(&self.ctx.db, self.tenant, self.user).await {
            return;
        }
        self.record_channel(on).await;
    }

    /// The snoop channel that records a call (`start_recording`): the call's id and `-rec`, so a
    /// controller that adopts the call after a restart knows it, and orphan clean-up counts it as
    /// the call's (`control::OpenCall::owns`).
    fn recorder(&self) -> String {
        format!("{}-rec", self.id)
    }

    /// Records what `on` says and hears, through a snoop channel on it that Asterisk records.
    ///
    /// Not a recorder in the bridge (`POST /bridges/{id}/record`): that makes a two-party bridge a
    /// softmix one, whose mixing thread, recorder channel and second wake-up of every channel per
    /// 20 ms frame cost more CPU than the call itself (docs/benchmarks.md, recorded calls). A snoop
    /// leaves the bridge a simple one and adds one channel, woken by its own 20 ms timer.
    async fn record_channel(&mut self, on: &str) -> bool {
        let rec = self.recorder();
        if !self.snoop_on(on, &rec, "none").await {
            tracing::warn!(call.id = %self.id, "cannot start recording: no snoop channel");
            return false;
        }
        let name = crate::recording::asterisk_name(&self.id.to_string());
        if self.record(&format!("channels/{rec}/record"), &name).await {
            return true;
        }
        self.hangup(&rec).await;
        false
    }

    /// A snoop channel `id` on channel `on`, in this call's Stasis app and routed to this actor: it
    /// hears both directions of `on` and speaks into `whisper` (`none`, `out`). False (and no
    /// route) when Asterisk did not make it. Recordings and supervisors' listen/whisper use it.
    pub(super) async fn snoop_on(&self, on: &str, id: &str, whisper: &str) -> bool {
        self.ctx.router.route(id, &self.tx);
        let args = format!("leg,{}", self.id);
        let q = [
            ("spy", "both"),
            ("whisper", whisper),
            ("app", APP),
            ("appArgs", args.as_str()),
            ("snoopId", id),
        ];
        let path = format!("channels/{on}/snoop");
        let made = matches!(self.ctx.ari.call(reqwest::Method::POST, &path, &q, None).await, Ok(Some(_)));
        if !made {
            self.ctx.router.forget(id);
        }
        made
    }

    /// Records the call's bridge whatever the recording settings say (a voicemail is a recording
    /// by definition: the caller alone in the bridge); true when Asterisk started it.
    pub(super) async fn record_bridge(&mut self) -> bool {
        if self.recording.is_some() || self.quiet {
            return self.recording.is_some();
        }
        let Some(bridge) = self.bridge.clone() else { return false };
        let name = crate::recording::asterisk_name(&self.id.to_string());
        self.record(&format!("bridges/{bridge}/record"), &name).await
    }

    /// Starts Asterisk's recording `name` at `path` (a bridge's or a channel's `record`).
    async fn record(&mut self, path: &str, name: &str) -> bool {
        let q = [
            ("name", name),
            ("format", "wav"),
            ("ifExists", "overwrite"),
            ("beep", "false"),
            ("terminateOn", "none"),
        ];
        // A snoop channel was just made: ARI refuses to record it until it is in Stasis.
        if until_in_stasis(|| self.ctx.ari.call(reqwest::Method::POST, path, &q, None)).await {
            self.recording = Some(name.to_string());
            self.write(Op::Recording(name.to_string()));
            self.publish_board(CallState::Answered).await;
            true
        } else {
            tracing::warn!(call.id = %self.id, path, "cannot start recording");
            false
        }
    }

    /// Pauses or resumes the recording (issue #18): a muted live recording records silence, so the
    /// stored file keeps the call's length with silence where the pause was.
    pub(super) async fn pause_recording(&mut self, paused: bool) {
        // Asked even when this actor thinks it is so already: an actor that adopted the call after a
        // restart does not know whether the recording was muted.
        let Some(name) = self.recording.clone() else { return };
        let path = format!("recordings/live/{name}/mute");
        let method = if paused { reqwest::Method::POST } else { reqwest::Method::DELETE };
        match self.ctx.ari.call(method, &path, &[], None).await {
            Ok(_) => {
                self.recording_paused = paused;
                self.write(Op::RecordingPaused(paused));
                tracing::info!(call.id = %self.id, paused, "recording paused or resumed");
                self.publish_board(CallState::Answered).await;
            }
            Err(e) => tracing::warn!(error = %e, call.id = %self.id, "cannot pause or resume the recording"),
        }
    }

    /// Stops the recording and hands it to the uploader (`pending`, with its object key).
    pub(super) async fn stop_recording(&mut self) {
        let Some(name) = self.recording.take() else { return };
        self.recording_paused = false;
        if let Err(e) =
            self.ctx.ari.call(reqwest::Method::POST, &format!("recordings/live/{name}/stop"), &[], None).await
        {
            tracing::debug!(error = %e, "stopping the recording (it may have ended with the bridge)");
        }
        // The snoop that recorded it, if the call was recorded by one (a voicemail records its
        // bridge; the snoop may have ended already with the channel it listened to).
        let rec = self.recorder();
        self.hangup(&rec).await;
        let key = crate::recording::new_key(self.tenant);
        self.write(Op::RecordingStopped(key));
    }
}

/// Someone answered: the record says who, the agents hear of it, and recording of `other` (the
/// party that stays: see `Call::start_recording`) starts.
pub(super) async fn answered(call: &mut Call, who: Option<UserId>, other: &str) {
    call.user = who;
    call.write(Op::Answered(who));
    call.publish(CallState::Answered, None).await;
    call.start_recording(other).await;
}

/// The connected part of a call: hold/unhold, transfer, until one side hangs up.
#[tracing::instrument(skip_all, fields(tenant.id = %call.tenant, call.id = %call.id))]
pub(super) async fn talk(call: &mut Call, bridge: &str, agent: &str, other: &str, rx: &mut CallRx) {
    call.legs.agent = Some(agent.to_string());
    call.legs.other = Some(other.to_string());
    // An adopted call may be in a consultation (adopt.rs).
    call.set_phase(if call.consult.is_some() { Phase::Consulting } else { Phase::Talking });
    call.checkpoint();
    let mut agent = agent.to_string();
    let other = other.to_string();
    let result_reason;
    loop {
        let Some(msg) = call.next_msg(rx).await else {
            result_reason = "lost";
            break;
        };
        if call.supervision_event(&msg, &agent, bridge).await {
            continue;
        }
        let consulted = call.consult.as_ref().and_then(|c| c.leg.clone());
        let consulting = call.consult.is_some();
        match &msg {
            CallMsg::Supervise { id, supervisor, mode } => call.supervise(*id, *supervisor, *mode).await,
            CallMsg::PauseRecording { paused } => call.pause_recording(*paused).await,
            CallMsg::Consult { target } => call.consult(bridge, &agent, &other, target, rx).await,
            CallMsg::ConsultEnd { complete: false } => {
                call.end_consult(bridge, &agent, &other, "returned").await
            }
            CallMsg::ConsultEnd { complete: true } => {
                if let Some(leg) = call.complete_consult(bridge, &agent, &other).await {
                    agent = leg;
                }
            }
            CallMsg::Park { slot, by } if !consulting => {
                let parked = call.park(&agent, &other, *slot, *by).await;
                if parked {
                    match call.parked(bridge, &other, rx).await {
                        Ok(taker) => agent = taker,
                        Err(why) => {
                            result_reason = why;
                            break;
                        }
                    }
                }
            }
            // Someone dialled the slot's pickup code just as the call left it: they get "no such number".
            CallMsg::Pickup { channel, .. } => call.reject(channel, "unallocated").await,
            // The consulted party hung up: the agent is back with the customer.
            CallMsg::Ari(ev) if consulted.as_deref().is_some_and(|l| ev.ends(l)) => {
                call.end_consult(bridge, &agent, &other, "the consulted party hung up").await;
            }
            // The agent hung up while the consulted party is on the line: the transfer completes
            // (as on a desk phone's attended transfer).
            CallMsg::Ari(ev) if consulted.is_some() && ev.ends(&agent) => {
                if let Some(leg) = call.complete_consult(bridge, &agent, &other).await {
                    agent = leg;
                }
            }
            // While consulting, the customer's hold is the consultation's.
            CallMsg::Ari(Event::ChannelHold { .. } | Event::ChannelUnhold { .. }) if consulting => {}
            CallMsg::Ari(Event::ChannelHold { channel }) if channel.id == agent || channel.id == other => {
                let peer = if channel.id == agent { &other } else { &agent };
                call.post(&format!("channels/{peer}/moh"), &[]).await;
                call.held_since.get_or_insert_with(Instant::now);
                call.checkpoint();
                call.publish(CallState::Held, None).await;
            }
            CallMsg::Ari(Event::ChannelUnhold { channel }) if channel.id == agent || channel.id == other => {
                let peer = if channel.id == agent { &other } else { &agent };
                call.delete(&format!("channels/{peer}/moh")).await;
                if let Some(s) = call.held_since.take() {
                    call.hold_secs += s.elapsed().as_secs() as i64;
                }
                call.checkpoint();
                call.publish(CallState::Unheld, None).await;
            }
            CallMsg::Transfer { target } => {
                // A blind transfer during a consultation: the consultation ends first.
                call.end_consult(bridge, &agent, &other, "blind transfer").await;
                // The agent leaves: whoever supervised them leaves too.
                call.end_supervisions("agent left").await;
                match transfer(call, bridge, &agent, &other, target, rx).await {
                    Some(new_agent) => {
                        agent = new_agent;
                        call.legs.agent = Some(agent.clone());
                        call.set_phase(Phase::Talking);
                        call.checkpoint();
                        continue;
                    }
                    None => {
                        result_reason = "transferred";
                        break;
                    }
                }
            }
            CallMsg::Ari(ev) if ev.ends(&agent) || ev.ends(&other) => {
                let ch = ev.channel().map(|c| c.id.as_str()).unwrap_or_default();
                result_reason = if ch == agent { "agent hung up" } else { "other party hung up" };
                break;
            }
            _ => {}
        }
    }
    call.end_supervisions("call ended").await;
    if let Some(c) = call.consult.take() {
        if let Some(leg) = &c.leg {
            call.hangup(leg).await;
        }
        call.delete(&format!("bridges/{}", c.bridge)).await;
    }
    call.hangup(&agent).await;
    call.hangup(&other).await;
    call.publish(CallState::Ended, Some(result_reason)).await;
    call.finish(CallResult::Answered, None).await;
}

/// A call forwarded to the tenant's forward number: `caller` and the forward leg talk until either
/// hangs up (a forwarded call has no agent; its record's result stays `forwarded`).
pub(super) async fn forwarded_talk(call: &mut Call, caller: &str, leg: &str, rx: &mut CallRx) {
    call.legs.other = Some(caller.to_string());
    call.legs.agent = Some(leg.to_string());
    call.set_phase(Phase::Forwarded);
    call.checkpoint();
    while let Some(msg) = rx.recv().await {
        if msg.ends(caller) || msg.ends(leg) {
            break;
        }
    }
    call.hangup(caller).await;
    call.hangup(leg).await;
    call.publish(CallState::Ended, None).await;
    call.finish(CallResult::Forwarded, None).await;
}

/// Blind transfer: the agent leaves at once; `other` hears ringback while `target` rings. Returns
/// the new agent channel when the target answers.
#[tracing::instrument(skip_all, fields(tenant.id = %call.tenant, call.id = %call.id))]
async fn transfer(
    call: &mut Call,
    bridge: &str,
    agent: &str,
    other: &str,
    target: &str,
    rx: &mut CallRx,
) -> Option<String> {
    let t = match load(&call.ctx, call.tenant).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "transfer: cannot read the tenant's telephony; the call goes on");
            return None;
        }
    };
    call.set_phase(Phase::Transferring);
    let exts: HashSet<String> = t.users.iter().map(|u| u.extension.clone()).collect();
    call.delete(&format!("channels/{other}/moh")).await;
    call.hangup(agent).await;
    call.legs.agent = None;
    call.checkpoint();
    call.post(&format!("channels/{other}/ring"), &[]).await;
    call.publish_target(CallState::Transferring, target).await;
    let result = match t.rules.route(target, |e| exts.contains(e)) {
        Ok(Routed::Internal { extension }) => {
            let u = t.users.iter().find(|u| u.extension == extension)?.clone();
            call.audience.push(u.user_id);
            let devs = devices(&call.ctx, call.tenant, &u).await;
            let devs: Vec<(String, UserId)> = devs.into_iter().map(|d| (d, u.user_id)).collect();
            match ring_users(call, &devs, other, t.state.ring_timeout_secs as u64, rx, bridge).await {
                Ok(RingOutcome::Answered(leg, who)) => {
                    answered(call, Some(who), other).await;
                    Some(leg)
                }
                _ => None,
            }
        }
        Ok(Routed::External { direction, e164, dial }) => {
            let me = t.users.iter().find(|u| Some(u.user_id) == call.user);
            let attempt = crate::fraud::Attempt {
                tenant: call.tenant,
                user: me,
                direction,
                e164: e164.as_deref(),
                call_id: &call.id.to_string(),
            };
            match guard(&call.ctx).check_destination(&attempt).await {
                Err(refused) => {
                    tracing::info!(reason = %refused, "transfer target refused by the fraud guard");
                    None
                }
                Ok(()) => match dial_out(call, &t, &dial, other, bridge, rx).await {
                    DialOutcome::Answered(leg) => {
                        call.delete(&format!("channels/{other}/ring")).await;
                        call.publish(CallState::Answered, None).await;
                        Some(leg)
                    }
                    _ => None,
                },
            }
        }
        Err(refusal) => {
            tracing::info!(reason = %refusal, "transfer target refused by dial rules");
            None
        }
    };
    if result.is_none() {
        call.hangup(other).await;
    }
    result
}
