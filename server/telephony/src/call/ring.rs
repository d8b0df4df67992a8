//! Ringing agents' devices: the first to answer is bridged with the caller and the others stop
//! ringing. Members of masked groups are rung last, with the caller ID masked meanwhile
//! ([`crate::caller_id`]).

use std::time::Duration;

use callbase_core::events::CallState;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::CallDirection;
use callbase_db::telephony::TelUserRow;
use tokio::time::Instant;

use super::{Call, CallError, Phase};
use crate::agents;
use crate::context::{CallMsg, CallRx, Ctx};

pub(super) enum RingOutcome {
    Answered(String, UserId),
    NoAnswer,
    CallerLeft,
}

/// The devices of a user that can ring now (registered contacts).
pub(super) async fn devices(ctx: &Ctx, tenant: TenantId, u: &TelUserRow) -> Vec<String> {
    let id = if u.browser_calls { agents::web_id(tenant, u.user_id) } else { u.sip_login.clone() };
    match agents::has_contact(ctx.ami.as_ref(), &ctx.ari, &id).await {
        Ok(true) => vec![id],
        Ok(false) => {
            tracing::debug!(device = %id, "device offline");
            vec![]
        }
        Err(e) => {
            tracing::warn!(device = %id, error = %e, "cannot tell whether a device is online");
            vec![]
        }
    }
}

/// Rings `devices` (with their users) for at most `timeout_secs`; the first to answer is bridged
/// with `caller`, the others are hung up. The ringing legs are the call's (`legs.ringing`) meanwhile.
#[tracing::instrument(skip_all, fields(tenant.id = %call.tenant, call.id = %call.id))]
pub(super) async fn ring_users(
    call: &mut Call,
    devices: &[(String, UserId)],
    caller: &str,
    timeout_secs: u64,
    rx: &mut CallRx,
    bridge: &str,
) -> Result<RingOutcome, CallError> {
    // The dial copies the caller's caller ID to each leg: members of masked groups are rung last,
    // with the caller's set to the client's name or the masked number meanwhile (caller_id.rs).
    let users: Vec<UserId> = devices.iter().map(|(_, u)| *u).collect();
    let masked = match call.direction {
        CallDirection::Internal => None,
        _ => {
            crate::caller_id::masked_legs(&call.ctx, call.tenant, &call.number, call.crm_record, &users).await
        }
    };
    let is_masked = |u: &UserId| masked.as_ref().is_some_and(|m| m.users.contains(u));
    let (hidden, shown): (Vec<_>, Vec<_>) = devices.iter().partition(|(_, u)| is_masked(u));
    let mut original = None;
    call.legs.ringing.clear();
    for (i, (dev, user)) in shown.iter().chain(hidden.iter()).copied().enumerate() {
        if i == shown.len() {
            let Some(m) = &masked else { break };
            match crate::caller_id::show(&call.ctx, caller, &m.shown).await {
                Ok(o) => original = Some(o),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot mask the caller ID: masked users' phones are not rung");
                    break;
                }
            }
        }
        match call.create_leg(&format!("PJSIP/{dev}"), caller).await {
            Ok(leg) => {
                if call.dial(&leg, caller, timeout_secs).await {
                    call.legs.ringing.push((leg, *user));
                } else {
                    tracing::warn!(device = %dev, "cannot dial a device");
                    call.hangup(&leg).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, device = %dev, "cannot ring a device"),
        }
    }
    if let Some(o) = original {
        crate::caller_id::restore(&call.ctx, caller, &o).await;
    }
    if call.legs.ringing.is_empty() {
        return Ok(RingOutcome::NoAnswer);
    }
    let previous = call.phase;
    call.set_phase(Phase::Ringing);
    call.publish(CallState::Ringing, None).await;
    let outcome = wait_answer(call, caller, timeout_secs, rx, bridge).await;
    call.legs.ringing.clear();
    call.set_phase(previous);
    outcome
}

/// Hangs up every ringing leg but `except`.
async fn stop_ringing(call: &mut Call, except: Option<&str>) {
    for (l, _) in std::mem::take(&mut call.legs.ringing) {
        if Some(l.as_str()) != except {
            call.hangup(&l).await;
        }
    }
}

async fn wait_answer(
    call: &mut Call,
    caller: &str,
    timeout_secs: u64,
    rx: &mut CallRx,
    bridge: &str,
) -> Result<RingOutcome, CallError> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    // Agents whose leg Asterisk ended for not answering (its dial timeout can end a leg just
    // before ours): they let the call ring out, as when our timer ends the ringing.
    let mut unanswered: Vec<UserId> = vec![];
    loop {
        let msg = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => msg,
            Ok(None) => return Err(CallError::EventsClosed),
            Err(_) => {
                // Rung out: each agent rung counts a missed call in a row (issue #18).
                unanswered.extend(call.legs.ringing.iter().map(|(_, u)| *u));
                stop_ringing(call, None).await;
                rang_out(call, unanswered).await;
                return Ok(RingOutcome::NoAnswer);
            }
        };
        if msg.ends(caller) || call.interrupts(&msg) {
            stop_ringing(call, None).await;
            call.defer(msg);
            return Ok(RingOutcome::CallerLeft);
        }
        let ringing_leg = |c: &str| call.legs.ringing.iter().any(|(l, _)| l == c);
        let CallMsg::Ari(ev) = msg else {
            call.defer(msg);
            continue;
        };
        if !ev.channel_ids().any(ringing_leg) {
            call.defer(CallMsg::Ari(ev));
            continue;
        }
        if let Some(won) = ev.answered_channel() {
            if let Some((_, who)) = call.legs.ringing.iter().find(|(l, _)| l == won).cloned() {
                let won = won.to_string();
                stop_ringing(call, Some(&won)).await;
                call.delete(&format!("channels/{caller}/ring")).await;
                call.add(bridge, &won).await;
                if call.direction == CallDirection::Inbound {
                    crate::agent_states::answered(&call.ctx.db, call.tenant, who).await;
                }
                return Ok(RingOutcome::Answered(won, who));
            }
        }
        if let crate::ari::events::Event::ChannelDestroyed { channel, cause, .. } = &ev {
            // Q.850 18 (no user responding) and 19 (no answer): the dial's timeout, not a decline.
            if matches!(cause, 18 | 19) {
                unanswered
                    .extend(call.legs.ringing.iter().filter(|(l, _)| *l == channel.id).map(|(_, u)| *u));
            }
            call.legs.ringing.retain(|(l, _)| *l != channel.id);
            call.ctx.router.forget(&channel.id);
            if call.legs.ringing.is_empty() {
                rang_out(call, unanswered).await;
                return Ok(RingOutcome::NoAnswer);
            }
        }
    }
}

/// Counts an inbound call that rang `users` out toward their Break "missed calls" (issue #18).
async fn rang_out(call: &Call, mut users: Vec<UserId>) {
    users.sort_by_key(|u| u.0);
    users.dedup();
    if call.direction == CallDirection::Inbound && call.ctx.fence.is_current() {
        crate::agent_states::rang_out(&call.ctx.db, &call.ctx.redis, call.tenant, call.id, &users).await;
    }
}

/// With the tenant's "responsible manager" setting on: the user in the first user-reference field
/// of the first call-table record holding the caller's number, and how long they ring alone. A
/// database error is logged and everyone rings at once.
pub(super) async fn responsible_manager(ctx: &Ctx, tenant: TenantId, e164: &str) -> Option<(UserId, u64)> {
    match callbase_crm::manager::responsible(&ctx.db, tenant, e164).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot look up the responsible manager; ringing everyone");
            None
        }
    }
}
