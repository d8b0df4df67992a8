//! A call from a trunk: answer, greeting, then ring every online telephony user who accepts
//! incoming calls (the client's responsible manager alone first, when the tenant says so); the
//! first to answer wins; no answer within the ring timeout, or nobody online, forwards to the
//! tenant's forward number or ends as missed.

use std::time::Duration;

use callbase_core::dial::Routed;
use callbase_core::events::CallState;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::{CallDirection, CallResult};
use callbase_db::telephony::TelUserRow;
use tokio::time::Instant;
use uuid::Uuid;

use super::ring::{devices, ring_users, RingOutcome};
use super::talk::{answered, forwarded_talk, talk};
use super::trunk_dial::{dial_out, DialOutcome};
use super::{guard, load, Call, CallError, Op, Phase, Tenancy};
use crate::ari::events::{Channel, Event};
use crate::context::{CallMsg, CallRx, CallTx, Ctx, StasisCall};

#[tracing::instrument(skip_all, fields(tenant.id = %sc.tenant, call.id))]
pub(super) async fn inbound(
    ctx: Ctx,
    sc: &StasisCall,
    channel: &Channel,
    tx: CallTx,
    mut rx: CallRx,
) -> Result<(), CallError> {
    let caller = channel.id.as_str();
    let t = load(&ctx, sc.tenant).await?;
    let raw = channel.caller.number.clone();
    let number = t.rules.to_e164(&raw).unwrap_or(raw);
    // A blocked caller is rejected before the answer (SIP 403: nothing rings, nothing is billed)
    // and counted on the blocklist entry (issue #19).
    if t.enabled && blocked(&ctx, sc.tenant, &number).await {
        tracing::info!(did = %sc.exten, "inbound call from a blocked number rejected");
        let path = format!("channels/{caller}");
        let _ = ctx.ari.call(reqwest::Method::DELETE, &path, &[("reason", "rejected")], None).await;
        return Ok(());
    }
    let id = Uuid::new_v4();
    tracing::Span::current().record("call.id", tracing::field::display(id));
    let crm_record = unique_client(&ctx, sc.tenant, &number).await;
    let mut call = Call {
        did: Some(sc.exten.clone()),
        trunk: sc.origin.map(|s| s as i16),
        audience: candidates(&t).iter().map(|u| u.user_id).collect(),
        crm_record,
        ..Call::new(&ctx, id, sc.tenant, CallDirection::Inbound, number, caller, &tx)
    };
    if !t.enabled {
        call.hangup(caller).await;
        return Ok(());
    }
    let key = id.to_string();
    ctx.router.register_call(&key, &tx);
    call.open();
    tracing::info!(did = %sc.exten, "inbound call");
    let res = inbound_inner(&mut call, &t, caller, &mut rx).await;
    ctx.router.forget_call(&key);
    res
}

async fn inbound_inner(call: &mut Call, t: &Tenancy, caller: &str, rx: &mut CallRx) -> Result<(), CallError> {
    call.post(&format!("channels/{caller}/answer"), &[]).await;
    if let (Some(g), Some(base)) = (&t.state.greeting_key, &call.ctx.media_base) {
        // Asterisk fetches the converted greeting from the server (res_http_media_cache).
        let media = format!("sound:{}/media/greetings/{g}", base.trim_end_matches('/'));
        call.set_phase(Phase::Greeting);
        if !play_and_wait(call, caller, &media, rx).await {
            call.publish(CallState::Ended, Some("caller hung up")).await;
            call.finish(CallResult::Missed, Some("caller hung up during the greeting")).await;
            return Ok(());
        }
    }
    ring_and_connect(call, t, caller, rx).await
}

/// Is `number` on the tenant's blocklist (counted when it is)? A database that cannot say lets the
/// call through: a blocklist is no reason to lose calls.
async fn blocked(ctx: &Ctx, tenant: TenantId, number: &str) -> bool {
    let res = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let hit = callbase_db::blocklist::hit(&mut tx, tenant, number).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(hit)
    }
    .await;
    res.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the blocklist: the call goes through");
        false
    })
}

/// An inbound call adopted after a takeover before anyone answered (adopt.rs), its caller still
/// there: the agents ring again — the ring timeout starts over — and it goes on as any inbound call.
pub(super) async fn resume_ringing(call: &mut Call, caller: &str, rx: &mut CallRx) -> Result<(), CallError> {
    let t = load(&call.ctx, call.tenant).await?;
    call.audience = candidates(&t).iter().map(|u| u.user_id).collect();
    ring_and_connect(call, &t, caller, rx).await
}

/// The users an inbound call may ring: those who accept incoming calls, are not disabled and are
/// available (not on a break, in do-not-disturb or in wrap-up: issue #18).
fn candidates(t: &Tenancy) -> Vec<&TelUserRow> {
    t.users.iter().filter(|u| u.accept_incoming && !u.disabled && u.state == "available").collect()
}

/// Rings the online candidates (the responsible manager first when the tenant says so) with the
/// caller in the call's bridge; then talk, a forward, or a missed call.
async fn ring_and_connect(
    call: &mut Call,
    t: &Tenancy,
    caller: &str,
    rx: &mut CallRx,
) -> Result<(), CallError> {
    let candidates = candidates(t);
    // Ask Asterisk about every candidate's device at once: this runs while the caller waits.
    let online =
        futures_util::future::join_all(candidates.iter().map(|u| devices(&call.ctx, call.tenant, u))).await;
    let devs: Vec<(String, UserId)> = candidates
        .iter()
        .zip(online)
        .flat_map(|(u, ds)| ds.into_iter().map(move |d| (d, u.user_id)))
        .collect();
    let bridge = call.new_bridge().await?;
    call.add(&bridge, caller).await;
    call.post(&format!("channels/{caller}/ring"), &[]).await;
    // Durable before anyone rings: a new controller rings a call caught here again (adopt.rs).
    call.set_phase(Phase::Ringing);
    call.checkpoint();
    // The client's responsible manager, when online, rings alone first (tenant setting).
    let manager = match responsible_manager(&call.ctx, call.tenant, &call.number).await {
        Some((m, secs)) if devs.iter().any(|(_, u)| *u == m) => Some((m, secs)),
        _ => None,
    };
    let outcome = if devs.is_empty() {
        RingOutcome::NoAnswer
    } else if let Some((m, secs)) = manager {
        let mine: Vec<(String, UserId)> = devs.iter().filter(|(_, u)| *u == m).cloned().collect();
        let everyone = std::mem::replace(&mut call.audience, vec![m]);
        tracing::info!(manager = %m, secs, "ringing the responsible manager first");
        let first = ring_users(call, &mine, caller, secs, rx, &bridge).await?;
        call.audience = everyone;
        match first {
            RingOutcome::NoAnswer => {
                ring_users(call, &devs, caller, t.state.ring_timeout_secs as u64, rx, &bridge).await?
            }
            other => other,
        }
    } else {
        ring_users(call, &devs, caller, t.state.ring_timeout_secs as u64, rx, &bridge).await?
    };
    match outcome {
        RingOutcome::Answered(leg, who) => {
            answered(call, Some(who)).await;
            talk(call, &bridge, &leg, caller, rx).await;
        }
        RingOutcome::CallerLeft => {
            call.publish(CallState::Missed, Some("caller hung up")).await;
            call.finish(CallResult::Missed, Some("caller hung up before an answer")).await;
        }
        RingOutcome::NoAnswer => {
            let why = if devs.is_empty() { "nobody online" } else { "no answer" };
            forward(call, t, caller, &bridge, why, rx).await;
        }
    }
    call.delete(&format!("bridges/{bridge}")).await;
    Ok(())
}

/// The one call-table record holding the caller's number (none when several or none do).
pub(super) async fn unique_client(ctx: &Ctx, tenant: TenantId, e164: &str) -> Option<i64> {
    match callbase_crm::lookup(&ctx.db, tenant, e164, callbase_crm::Reach::Exact).await {
        Ok(found) => found.unique_record().map(|r| r.0),
        Err(e) => {
            tracing::error!(error = %e, "cannot match the caller to a CRM record");
            None
        }
    }
}

/// With the tenant's "responsible manager" setting on: the user in the first user-reference field
/// of the first call-table record holding the caller's number, and how long they ring alone. A
/// database error is logged and everyone rings at once.
async fn responsible_manager(ctx: &Ctx, tenant: TenantId, e164: &str) -> Option<(UserId, u64)> {
    match callbase_crm::manager::responsible(&ctx.db, tenant, e164).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot look up the responsible manager; ringing everyone");
            None
        }
    }
}

/// No answer: forward to the tenant's number through a trunk, or end as missed.
#[tracing::instrument(skip_all, fields(tenant.id = %call.tenant, call.id = %call.id))]
async fn forward(call: &mut Call, t: &Tenancy, caller: &str, bridge: &str, why: &str, rx: &mut CallRx) {
    call.publish(CallState::Missed, Some(why)).await;
    let Some(fwd) = t.state.forward_number.clone().filter(|f| !f.is_empty()) else {
        call.hangup(caller).await;
        call.finish(CallResult::Missed, Some(why)).await;
        return;
    };
    forward_to(call, t, &fwd, caller, bridge, why, rx).await;
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
            call.start_recording().await;
            forwarded_talk(call, caller, &leg, rx).await;
        }
        DialOutcome::Failed { reason, .. } => {
            call.hangup(caller).await;
            call.finish(CallResult::Missed, Some(&format!("{why}; forwarding failed: {reason}"))).await;
        }
        DialOutcome::CallerLeft => call.finish(CallResult::Missed, Some(why)).await,
    }
}

/// Plays `media` to `ch` and waits for it to finish; false when the channel hung up.
async fn play_and_wait(call: &Call, ch: &str, media: &str, rx: &mut CallRx) -> bool {
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
