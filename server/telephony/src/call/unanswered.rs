//! What becomes of a call nobody took (issue #19): refused unanswered with SIP 480, forwarded to
//! an outside number through the trunks, or a voicemail — for ring-all inbound calls, queues'
//! overflow and closed hours alike — and the prompts they play.

use std::time::Duration;

use callbase_core::dial::Routed;
use callbase_core::events::CallState;
use callbase_db::calls::CallResult;
use tokio::time::Instant;
use uuid::Uuid;

use super::talk::forwarded_talk;
use super::trunk_dial::{dial_out, DialOutcome};
use super::{guard, Call, Op, Phase, Tenancy};
use crate::ari::events::Event;
use crate::context::{CallMsg, CallRx};

/// Hangs up a call nobody takes with Q.850 19 (no answer), which Asterisk sends as SIP 480
/// Temporarily Unavailable to a caller not yet answered (a plain BYE after a greeting).
pub(super) async fn nobody_takes(call: &Call, caller: &str) {
    call.reject(caller, "no_answer").await;
}

/// Connects `caller` (in `bridge`) to the outside number `fwd` through the trunks — the tenant's
/// forward number, or a user's mobile (issue #18) — or ends the call as missed saying why.
pub(super) async fn forward_to(
    call: &mut Call,
    t: &Tenancy,
    fwd: &str,
    caller: &str,
    bridge: &str,
    why: &str,
    rx: &mut CallRx,
) {
    // The forward number passed the dial rules when it was saved; the rules (and the fraud limits)
    // may have changed since, so they decide again now.
    let (direction, e164, dial) = match t.rules.route(fwd, |_| false) {
        Ok(Routed::External { direction, e164, dial }) => (direction, e164, dial),
        Ok(Routed::Internal { .. }) => {
            call.hangup(caller).await;
            let reason = format!("{why}; the forward number {fwd} is not an outside number");
            call.finish(CallResult::Missed, Some(&reason)).await;
            return;
        }
        Err(refusal) => {
            tracing::warn!(code = refusal.code(), "forward number refused by the dial rules");
            call.hangup(caller).await;
            call.finish(CallResult::Missed, Some(&format!("{why}; forwarding refused: {refusal}"))).await;
            return;
        }
    };
    let call_id = call.id.to_string();
    let attempt = crate::fraud::Attempt {
        tenant: call.tenant,
        user: None,
        direction,
        e164: e164.as_deref(),
        call_id: &call_id,
    };
    let _live = match guard(&call.ctx).admit(&attempt).await {
        Ok(live) => live,
        Err(refused) => {
            tracing::warn!(code = refused.code(), "forwarding refused by the fraud guard");
            call.hangup(caller).await;
            call.finish(CallResult::Missed, Some(&format!("{why}; forwarding refused: {refused}"))).await;
            return;
        }
    };
    call.write(Op::Forwarded(format!("{why}: forwarded to {fwd}")));
    match dial_out(call, t, &dial, caller, bridge, rx).await {
        DialOutcome::Answered(leg) => {
            call.delete(&format!("channels/{caller}/ring")).await;
            // A colleague's call (not answered yet, unlike an inbound call after its greeting).
            call.post(&format!("channels/{caller}/answer"), &[]).await;
            call.publish_target(CallState::Forwarded, fwd).await;
            call.start_recording(caller).await;
            forwarded_talk(call, caller, &leg, rx).await;
        }
        DialOutcome::Failed { reason, .. } => {
            call.hangup(caller).await;
            call.finish(CallResult::Missed, Some(&format!("{why}; forwarding failed: {reason}"))).await;
        }
        DialOutcome::CallerLeft => call.finish(CallResult::Missed, Some(why)).await,
    }
}

/// Longest voicemail message.
const VOICEMAIL_MAX: Duration = Duration::from_secs(120);

/// Nobody took the call and no number is set to forward it to: the caller leaves a message
/// (issue #19). The caller (in the call's bridge) is answered and hears "please leave your message
/// after the tone" and a beep; the bridge is then recorded — whatever the recording settings say —
/// until the caller hangs up, presses `#` or two minutes pass. The recording is the message: it is
/// converted, stored and kept like every call recording, and the call stays missed, "with a
/// message", new until someone listens.
pub(super) async fn voicemail(call: &mut Call, caller: &str, why: &str, rx: &mut CallRx) {
    call.set_phase(Phase::Voicemail);
    call.checkpoint();
    call.post(&format!("channels/{caller}/answer"), &[]).await;
    for media in ["sound:vm-intro", "sound:beep"] {
        if !play_and_wait(call, caller, media, rx).await {
            call.finish(CallResult::Missed, Some(&format!("{why}; hung up before leaving a message"))).await;
            return;
        }
    }
    if !call.record_bridge().await {
        call.hangup(caller).await;
        call.finish(CallResult::Missed, Some(&format!("{why}; the message could not be recorded"))).await;
        return;
    }
    call.write(Op::Voicemail);
    let started = Instant::now();
    let deadline = started + VOICEMAIL_MAX;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) if msg.ends(caller) => break,
            Ok(Some(CallMsg::Ari(Event::ChannelDtmfReceived { digit, .. }))) if digit == "#" => {
                call.hangup(caller).await;
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                call.hangup(caller).await;
                break;
            }
        }
    }
    let secs = started.elapsed().as_secs();
    tracing::info!(secs, "voicemail left");
    call.publish(CallState::Missed, Some("voicemail")).await;
    call.finish(CallResult::Missed, Some(&format!("{why}; voicemail ({secs} s)"))).await;
}

/// Plays `media` to `ch` and waits for it to finish; false when the channel hung up.
pub(super) async fn play_and_wait(call: &Call, ch: &str, media: &str, rx: &mut CallRx) -> bool {
    let pb = format!("pb-{}", Uuid::new_v4().simple());
    let q = [("media", media), ("playbackId", pb.as_str())];
    if call.ctx.ari.call(reqwest::Method::POST, &format!("channels/{ch}/play"), &q, None).await.is_err() {
        return true;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                if msg.ends(ch) {
                    return false;
                }
                if let CallMsg::Ari(Event::PlaybackFinished { playback }) = &msg {
                    if playback.id == pb {
                        return true;
                    }
                }
            }
            _ => return true,
        }
    }
}
