//! An agent's call out (a browser or desk-phone INVITE, or the answered first leg of a callback).
//! The tenant's dial rules decide: a refused number is answered 404 and recorded as `refused`, and
//! never reaches a trunk; an internal number rings the colleague's devices; an outside number passes
//! the fraud guard and goes out through the trunks.

use std::collections::HashSet;

use callbase_core::dial::Routed;
use callbase_core::events::CallState;
use callbase_core::{TenantId, UserId};
use callbase_crm::ClientRef;
use callbase_db::calls::{CallDirection, CallResult};
use uuid::Uuid;

use super::ring::{devices, ring_users, RingOutcome};
use super::talk::{answered, talk};
use super::trunk_dial::{dial_out, DialOutcome, NO_SUCH_NUMBER};
use super::{guard, load_with, Call, CallError, Tenancy, Users};
use crate::context::{CallRx, CallTx, Ctx};

/// How an agent's call starts.
pub(super) struct Start<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    /// The agent's channel.
    pub agent: &'a str,
    /// What they dialled.
    pub exten: &'a str,
    /// The call id chosen earlier (a callback's); a new one otherwise.
    pub call_id: Option<Uuid>,
    /// Asterisk's creation time of the agent's channel (epoch ms).
    pub created_ms: Option<i64>,
}

#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant, call.id))]
pub(super) async fn outbound(ctx: Ctx, s: Start<'_>, tx: CallTx, mut rx: CallRx) -> Result<(), CallError> {
    // `*43`: the echo test (preflight); it leaves Stasis for the node's Echo() and keeps no record.
    if super::echo::is_echo_test(s.exten) {
        super::echo::run(&ctx, s.tenant, s.user, s.agent).await;
        return Ok(());
    }
    if let Some(state) = super::feature::code(s.exten) {
        super::feature::run(&ctx, s.tenant, s.user, s.agent, state).await;
        return Ok(());
    }
    // `*8<slot>`: the agent takes the call parked there (issue #18); the channel is that call's.
    if let Some(slot) = super::park::pickup_code(s.exten) {
        super::park::pick_up(&ctx, s.tenant, s.user, s.agent, slot).await;
        return Ok(());
    }
    let seen = super::now_ms();
    let id = s.call_id.unwrap_or_else(Uuid::new_v4);
    tracing::Span::current().record("call.id", tracing::field::display(id));
    // Click-to-call by reference (`crm<record>x<field>`): users who see numbers masked dial the
    // CRM phone field, never the number; it is resolved here, inside the tenant.
    // Speed dial by reference (`sd<id>`, issue #18): the entry's number, for a member of its group.
    let client = ClientRef::parse(s.exten);
    let crm_record = client.map(|r| r.record.0);
    let exten = async {
        match (client, speed_dial_ref(s.exten)) {
            (Some(r), _) => crm_phone(&ctx, s.tenant, r).await.unwrap_or_default(),
            // Not the caller's entry: the reference stays, and the dial rules refuse it as no number.
            (None, Some(id)) => {
                speed_dial(&ctx, s.tenant, s.user, id).await.unwrap_or_else(|| s.exten.to_string())
            }
            (None, None) => s.exten.to_string(),
        }
    };
    // The number, then the tenant's telephony with the users the call can need (the caller, the
    // colleague the number may be the extension of), beside the CRM reference the phone sent:
    // PostgreSQL and ARI at once, so the set-up costs the slower of the two.
    let tenancy = async {
        let exten = exten.await;
        let t = load_with(&ctx, s.tenant, Users::Caller { user: s.user, dialled: &exten }).await;
        (t, exten)
    };
    let ((t, exten), client_ref) =
        tokio::join!(tenancy, channel_var(&ctx, s.agent, "PJSIP_HEADER(read,X-CB-Ref)"));
    let t = t?;
    let mut call = Call {
        user: Some(s.user),
        audience: vec![s.user],
        client_ref,
        crm_record,
        setup_start_ms: s.created_ms,
        setup_seen_ms: seen,
        ..Call::new(&ctx, id, s.tenant, CallDirection::Outbound, exten.clone(), s.agent, &tx)
    };
    let key = id.to_string();
    ctx.router.register_call(&key, &tx);
    let out = outbound_inner(&mut call, &t, s.agent, &exten, &mut rx).await;
    ctx.router.forget_call(&key);
    out
}

/// The E.164 number of a CRM record's phone field, inside the tenant (`None`, logged, when the
/// database cannot say).
async fn crm_phone(ctx: &Ctx, tenant: TenantId, r: ClientRef) -> Option<String> {
    let (record, field) = (r.record.0, r.field.0);
    let res: sqlx::Result<Option<String>> = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let n = callbase_crm::repo::phones::phone_of(&mut tx, tenant, r.record, r.field).await?;
        tx.commit().await?;
        Ok(n)
    }
    .await;
    res.unwrap_or_else(|e| {
        tracing::error!(error = %e, record, field, "cannot read the CRM phone number to dial");
        None
    })
}

/// `sd<id>`: a speed dial entry's reference.
fn speed_dial_ref(exten: &str) -> Option<i64> {
    exten.strip_prefix("sd")?.parse().ok().filter(|id| *id > 0)
}

/// The number of speed dial entry `id` when `user` is in its group (`None` otherwise, or logged
/// when the database cannot say): the call is then refused like any number the rules refuse.
async fn speed_dial(ctx: &Ctx, tenant: TenantId, user: UserId, id: i64) -> Option<String> {
    let res: sqlx::Result<Option<String>> = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let n = callbase_db::speed_dials::number_for(&mut tx, tenant, user, id).await?;
        tx.commit().await?;
        Ok(n)
    }
    .await;
    res.unwrap_or_else(|e| {
        tracing::error!(error = %e, id, "cannot read the speed dial entry to dial");
        None
    })
}

async fn channel_var(ctx: &Ctx, ch: &str, var: &str) -> Option<String> {
    match ctx
        .ari
        .call(reqwest::Method::GET, &format!("channels/{ch}/variable"), &[("variable", var)], None)
        .await
    {
        Ok(Some(v)) => v["value"].as_str().filter(|s| !s.is_empty()).map(str::to_string),
        _ => None,
    }
}

async fn outbound_inner(
    call: &mut Call,
    t: &Tenancy,
    agent: &str,
    exten: &str,
    rx: &mut CallRx,
) -> Result<(), CallError> {
    let tenant = call.tenant;
    if !t.enabled || !t.users.iter().any(|u| Some(u.user_id) == call.user && !u.disabled) {
        call.hangup(agent).await;
        return Ok(());
    }
    let exts: HashSet<String> = t.users.iter().map(|u| u.extension.clone()).collect();
    let routed = match t.rules.route(exten, |e| exts.contains(e)) {
        Ok(r) => r,
        Err(refusal) => {
            refuse(call, agent, refusal.code(), &refusal.to_string()).await;
            return Ok(());
        }
    };
    match routed {
        Routed::Internal { extension } => {
            call.direction = CallDirection::Internal;
            call.number = extension.clone();
            let Some(target) = t.users.iter().find(|u| u.extension == extension && !u.disabled) else {
                call.hangup(agent).await;
                return Ok(());
            };
            call.audience.push(target.user_id);
            call.open();
            // Do not disturb holds for colleagues' calls too: the caller hears busy (issue #18). A
            // break or a wrap-up keeps inbound calls away, not a colleague who dials directly.
            if target.state == "dnd" {
                call.publish(CallState::Ended, Some("do not disturb")).await;
                call.finish(CallResult::Busy, Some("the colleague is in do not disturb")).await;
                call.reject(agent, "busy").await;
                return Ok(());
            }
            call.publish(CallState::Dialing, None).await;
            let devs: Vec<(String, UserId)> =
                devices(&call.ctx, tenant, target).await.into_iter().map(|d| (d, target.user_id)).collect();
            let bridge = call.new_bridge().await?;
            call.add(&bridge, agent).await;
            call.post(&format!("channels/{agent}/ring"), &[]).await;
            // No device online: the colleague's mobile, when they gave one (issue #18).
            if let (true, Some(mobile)) = (devs.is_empty(), target.mobile_number.clone()) {
                super::unanswered::forward_to(call, t, &mobile, agent, &bridge, "no device online", rx).await;
                call.delete(&format!("bridges/{bridge}")).await;
                return Ok(());
            }
            let won = ring_users(call, &devs, agent, t.state.ring_timeout_secs as u64, rx, &bridge).await?;
            match won {
                RingOutcome::Answered(leg, who) => {
                    call.post(&format!("channels/{agent}/answer"), &[]).await;
                    answered(call, Some(who), &leg).await;
                    talk(call, &bridge, agent, &leg, rx).await;
                }
                RingOutcome::CallerLeft => call.finish(CallResult::Missed, Some("caller hung up")).await,
                RingOutcome::NoAnswer => {
                    call.hangup(agent).await;
                    call.publish(CallState::Ended, Some("no answer")).await;
                    call.finish(CallResult::Missed, Some("no answer")).await;
                }
            }
            call.delete(&format!("bridges/{bridge}")).await;
            Ok(())
        }
        Routed::External { direction, e164, dial } => {
            call.number = e164.clone().unwrap_or_else(|| dial.clone());
            let me = t.users.iter().find(|u| Some(u.user_id) == call.user);
            let call_id = call.id.to_string();
            let attempt = crate::fraud::Attempt {
                tenant,
                user: me,
                direction,
                e164: e164.as_deref(),
                call_id: &call_id,
            };
            // A number dialled by hand (or from the CRM as a number) belongs to the client whose
            // record holds it, as an inbound call from it does: the client's history lists it.
            // Looked up while the fraud guard decides (both read PostgreSQL; neither needs the other).
            let client = async {
                match (call.crm_record, e164.as_deref()) {
                    (None, Some(e164)) => super::inbound::unique_client(&call.ctx, tenant, e164).await,
                    (known, _) => known,
                }
            };
            let fraud = guard(&call.ctx);
            let (admitted, client) = tokio::join!(fraud.admit(&attempt), client);
            // Held until the call ends: it counts towards the concurrent-call caps meanwhile.
            let _live = match admitted {
                Ok(live) => live,
                Err(refused) => {
                    refuse(call, agent, refused.code(), &refused.to_string()).await;
                    return Ok(());
                }
            };
            call.crm_record = client;
            call.open();
            call.publish(CallState::Dialing, None).await;
            let bridge = call.new_bridge().await?;
            call.add(&bridge, agent).await;
            match dial_out(call, t, &dial, agent, &bridge, rx).await {
                DialOutcome::Answered(leg) => {
                    call.post(&format!("channels/{agent}/answer"), &[]).await;
                    answered(call, call.user, &leg).await;
                    talk(call, &bridge, agent, &leg, rx).await;
                }
                DialOutcome::Failed { result, reason } => {
                    // The agent's phone hears what the carrier said where it says something the
                    // phone shows: busy (486) or no such number (404).
                    match result {
                        CallResult::Busy => call.reject(agent, "busy").await,
                        _ if reason == NO_SUCH_NUMBER => call.reject(agent, "unallocated").await,
                        _ => call.hangup(agent).await,
                    }
                    call.publish(CallState::Ended, Some(&reason)).await;
                    call.finish(result, Some(&reason)).await;
                }
                DialOutcome::CallerLeft => {
                    call.publish(CallState::Ended, Some("cancelled")).await;
                    call.finish(CallResult::Missed, Some("cancelled before answer")).await;
                }
            }
            call.delete(&format!("bridges/{bridge}")).await;
            Ok(())
        }
    }
}

/// Refuses an agent's call before any trunk: recorded as `refused` with the reason, answered 404.
async fn refuse(call: &mut Call, agent: &str, code: &str, reason: &str) {
    call.open();
    call.publish(CallState::Refused, Some(reason)).await;
    call.finish(CallResult::Refused, Some(reason)).await;
    tracing::info!(code, "outbound call refused");
    call.reject(agent, "unallocated").await;
}

#[cfg(test)]
mod tests {
    use super::speed_dial_ref;

    #[test]
    fn speed_dial_references_are_sd_and_a_positive_id() {
        assert_eq!(speed_dial_ref("sd12"), Some(12));
        assert_eq!(speed_dial_ref("sd0"), None);
        assert_eq!(speed_dial_ref("sd"), None);
        assert_eq!(speed_dial_ref("sd-3"), None);
        assert_eq!(speed_dial_ref("+74951234567"), None);
        assert_eq!(speed_dial_ref("crm1x2"), None);
    }
}
