//! A call from a trunk: blocklist, business hours, then the trunk's first step (issue #19) — a
//! queue ([`super::queue`]), one user, or as before: greeting, then ring every online telephony
//! user who accepts incoming calls (the client's responsible manager alone first, when the tenant
//! says so); the first to answer wins; no answer within the ring timeout, or nobody online,
//! forwards to the tenant's forward number, goes to voicemail or ends as missed
//! ([`super::unanswered`]). The caller is answered only when something needs it — the greeting,
//! an agent, the forwarded party — and a call nobody can take is refused unanswered with SIP 480,
//! so the caller's network plays its own message and nobody pays for a connected call (issue #19).

use callbase_core::events::CallState;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::{CallDirection, CallResult};
use callbase_db::menus::Destination;
use callbase_db::telephony::TelUserRow;
use uuid::Uuid;

use super::queue::read;
use super::ring::{devices, responsible_manager, ring_users, RingOutcome};
use super::talk::{answered, talk};
use super::unanswered::{forward_to, nobody_takes, play_and_wait, voicemail};
use super::{load, Call, CallError, Phase, Tenancy};
use crate::ari::events::Channel;
use crate::context::{CallRx, CallTx, Ctx, StasisCall};

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
    // and counted on the blocklist entry (issue #19). The client and the business hours are looked
    // up meanwhile: all three run while the caller waits.
    let (blocked_as, crm_record, closed) = tokio::join!(
        async {
            match t.enabled {
                true => blocked(&ctx, sc.tenant, &number).await,
                false => None,
            }
        },
        unique_client(&ctx, sc.tenant, &number),
        closed_now(&ctx, sc.tenant)
    );
    if let Some(action) = blocked_as {
        tracing::info!(did = %sc.exten, %action, "inbound call from a blocked number");
        let path = format!("channels/{caller}");
        if action == "message" {
            // "The number you have dialed is not in service", in the tenant's prompt language.
            let lang = [("variable", "CHANNEL(language)"), ("value", t.state.prompt_language.as_str())];
            let _ = ctx.ari.call(reqwest::Method::POST, &format!("{path}/variable"), &lang, None).await;
            let _ = ctx.ari.call(reqwest::Method::POST, &format!("{path}/answer"), &[], None).await;
            let q = [("media", "sound:ss-noservice")];
            let _ = ctx.ari.call(reqwest::Method::POST, &format!("{path}/play"), &q, None).await;
            blocked_message_end(&mut rx, caller).await;
            let _ = ctx.ari.hangup(caller).await;
        } else {
            let _ = ctx.ari.call(reqwest::Method::DELETE, &path, &[("reason", "rejected")], None).await;
        }
        return Ok(());
    }
    let id = Uuid::new_v4();
    tracing::Span::current().record("call.id", tracing::field::display(id));
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
    // The prompts the caller may hear (queue, voicemail, menus) in the tenant's language: Asterisk
    // looks for `sound:` files under sounds/<language>/.
    if t.state.prompt_language != "en" {
        let q = [("variable", "CHANNEL(language)"), ("value", t.state.prompt_language.as_str())];
        call.post(&format!("channels/{caller}/variable"), &q).await;
    }
    tracing::info!(did = %sc.exten, "inbound call");
    let res = inbound_inner(&mut call, t, caller, &mut rx, closed).await;
    ctx.router.forget_call(&key);
    res
}

async fn inbound_inner(
    call: &mut Call,
    mut t: Tenancy,
    caller: &str,
    rx: &mut CallRx,
    closed: Option<callbase_db::hours::OpenAt>,
) -> Result<(), CallError> {
    if let Some(closed) = closed {
        return closed_call(call, &t, caller, rx, closed).await;
    }
    let step = first_step(call, &t).await;
    match step.kind.as_str() {
        "ring_all" => {}
        "queue" | "menu" => {
            // A queue hears the tenant's greeting first; a menu has its own.
            if step.kind == "queue" && !greeted(call, &t, caller, rx).await {
                return Ok(());
            }
            return route(call, t, caller, rx, step).await;
        }
        _ => {
            if let Some(user) = step.user_id {
                only(&mut t, call, UserId(user));
            }
        }
    }
    let t = &t;
    let devs = online_devices(call, t).await;
    if devs.is_empty() && forward_number(t).is_none() && !t.state.voicemail {
        // Nobody can take it: refused before any answer (SIP 480), no greeting played to nobody.
        call.publish(CallState::Missed, Some("nobody online")).await;
        nobody_takes(call, caller).await;
        call.finish(CallResult::Missed, Some("nobody online: refused unanswered (SIP 480)")).await;
        return Ok(());
    }
    let mut known = Some(devs);
    if t.state.greeting_key.is_some() {
        if !greeted(call, t, caller, rx).await {
            return Ok(());
        }
        // Who is online may have changed while the greeting played.
        known = None;
    }
    ring_and_connect(call, t, caller, rx, known).await
}

/// Only `user` rings (whether or not they take calls for everyone), then the forward number or
/// voicemail as for any unanswered call.
fn only(t: &mut Tenancy, call: &mut Call, user: UserId) {
    t.users.retain(|u| u.user_id == user);
    for u in &mut t.users {
        u.accept_incoming = true;
    }
    call.audience = vec![user];
}

/// The first step the call's trunk chose (issue #19). A queue, user or menu that is gone
/// (deleted, no longer a telephony user) falls back to ringing everyone — the routing page tells
/// the administrator.
async fn first_step(call: &Call, t: &Tenancy) -> Destination {
    let everyone = Destination::to("ring_all");
    let Some(trunk) = t.trunks.iter().find(|tr| Some(tr.slot) == call.trunk) else { return everyone };
    let to = match trunk.first_step.as_str() {
        "queue" => {
            trunk.first_queue_id.map(|q| Destination { queue_id: Some(q), ..Destination::to("queue") })
        }
        "menu" => trunk.first_menu_id.map(|m| Destination { menu_id: Some(m), ..Destination::to("menu") }),
        "user" => trunk
            .first_user_id
            .filter(|u| t.users.iter().any(|r| r.user_id.0 == *u && !r.disabled))
            .map(|u| Destination { user_id: Some(u), ..Destination::to("user") }),
        _ => return everyone,
    };
    to.unwrap_or_else(|| {
        tracing::warn!(slot = trunk.slot, step = %trunk.first_step, "the trunk's first step is gone: ringing everyone");
        everyone
    })
}

/// Most menus a call may pass through (a caller going round in menus by choice ends up ringing
/// everyone).
const MAX_MENU_HOPS: usize = 20;

/// Takes the call where a trunk's first step or a menu choice leads (issue #19). A queue, user or
/// menu that is gone rings everyone.
async fn route(
    call: &mut Call,
    mut t: Tenancy,
    caller: &str,
    rx: &mut CallRx,
    mut to: Destination,
) -> Result<(), CallError> {
    let mut hops = 0;
    loop {
        match to.kind.as_str() {
            "menu" if hops < MAX_MENU_HOPS => {
                hops += 1;
                let Some(menu) = read_menu(call, to.menu_id).await else {
                    to = Destination::parse("ring_all").expect("a destination");
                    continue;
                };
                match super::menu::run(call, caller, rx, &menu).await {
                    super::menu::Chosen::To(next) => to = next,
                    super::menu::Chosen::Left => {
                        call.publish(CallState::Ended, Some("caller hung up")).await;
                        call.finish(
                            CallResult::Missed,
                            Some(&format!("caller hung up in menu {}", menu.name)),
                        )
                        .await;
                        return Ok(());
                    }
                }
            }
            "queue" => {
                let q = match to.queue_id {
                    Some(id) => read(&call.ctx, call.tenant, move |tx, tenant| {
                        Box::pin(callbase_db::queues::get(tx, tenant, id))
                    })
                    .await
                    .flatten(),
                    None => None,
                };
                match q {
                    Some(q) => return super::queue::queued(call, &t, caller, rx, q, false).await,
                    None => to = Destination::parse("ring_all").expect("a destination"),
                }
            }
            "user" if to.user_id.is_some_and(|u| t.users.iter().any(|r| r.user_id.0 == u && !r.disabled)) => {
                only(&mut t, call, UserId(to.user_id.unwrap_or_default()));
                return ring_and_connect(call, &t, caller, rx, None).await;
            }
            "number" | "voicemail" => {
                let bridge = call.new_bridge().await?;
                call.add(&bridge, caller).await;
                let why = "chosen in the menu";
                match to.number.as_deref() {
                    Some(n) if to.kind == "number" => forward_to(call, &t, n, caller, &bridge, why, rx).await,
                    _ => voicemail(call, caller, why, rx).await,
                }
                call.delete(&format!("bridges/{bridge}")).await;
                return Ok(());
            }
            "hangup" => {
                call.hangup(caller).await;
                call.publish(CallState::Missed, Some("no choice in the menu")).await;
                call.finish(CallResult::Missed, Some("no choice in the menu: hung up")).await;
                return Ok(());
            }
            _ => return ring_and_connect(call, &t, caller, rx, None).await,
        }
    }
}

async fn read_menu(call: &Call, id: Option<i64>) -> Option<callbase_db::menus::Menu> {
    let id = id?;
    // A database that cannot say rings everyone rather than losing the call.
    read(&call.ctx, call.tenant, move |tx, tenant| Box::pin(callbase_db::menus::get(tx, tenant, id)))
        .await
        .flatten()
}

/// Plays the tenant's greeting, when set: false when the caller hung up meanwhile (the call is
/// then finished as missed).
async fn greeted(call: &mut Call, t: &Tenancy, caller: &str, rx: &mut CallRx) -> bool {
    let Some(g) = &t.state.greeting_key else { return true };
    call.set_phase(Phase::Greeting);
    if greet(call, caller, g, rx).await {
        return true;
    }
    call.publish(CallState::Ended, Some("caller hung up")).await;
    call.finish(CallResult::Missed, Some("caller hung up during the greeting")).await;
    false
}

/// Answers the caller and plays greeting `key` (an object the server serves to Asterisk); false
/// when the caller hung up meanwhile. Without a media URL configured there is nothing to play.
async fn greet(call: &mut Call, caller: &str, key: &str, rx: &mut CallRx) -> bool {
    let Some(base) = call.ctx.media_base.clone() else { return true };
    call.post(&format!("channels/{caller}/answer"), &[]).await;
    // Asterisk fetches the converted greeting from the server (res_http_media_cache).
    let media = format!("sound:{}/media/greetings/{key}", base.trim_end_matches('/'));
    play_and_wait(call, caller, &media, rx).await
}

/// The tenant's business hours say closed now (issue #19): when and why. A database that cannot
/// say lets the call in as if open — a schedule is no reason to lose calls.
async fn closed_now(ctx: &Ctx, tenant: TenantId) -> Option<callbase_db::hours::OpenAt> {
    let res = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let at = callbase_db::hours::open_at(&mut tx, tenant, time::OffsetDateTime::now_utc()).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(at)
    }
    .await;
    match res {
        Ok(at) if !at.open => Some(at),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the business hours: the call goes in as if open");
            None
        }
    }
}

/// A call while closed: the closed greeting (when set), then the closed destination through the
/// trunks, or missed — refused unanswered with SIP 480 when nothing needed an answer.
async fn closed_call(
    call: &mut Call,
    t: &Tenancy,
    caller: &str,
    rx: &mut CallRx,
    closed: callbase_db::hours::OpenAt,
) -> Result<(), CallError> {
    let why = match &closed.holiday {
        Some(h) if !h.is_empty() => format!("closed: holiday {h} ({})", closed.local),
        Some(_) => format!("closed: holiday ({})", closed.local),
        None => format!("closed ({})", closed.local),
    };
    tracing::info!(%why, "inbound call while closed");
    call.set_phase(Phase::Closed);
    call.checkpoint();
    if let Some(g) = &closed.closed_greeting_key {
        if !greet(call, caller, g, rx).await {
            call.publish(CallState::Ended, Some("caller hung up")).await;
            call.finish(
                CallResult::Missed,
                Some(&format!("{why}; caller hung up during the closed greeting")),
            )
            .await;
            return Ok(());
        }
    }
    call.publish(CallState::Missed, Some(&why)).await;
    let fwd = closed.closed_forward.filter(|f| !f.is_empty());
    if fwd.is_none() && !t.state.voicemail {
        nobody_takes(call, caller).await;
        call.finish(CallResult::Missed, Some(&why)).await;
        return Ok(());
    }
    let bridge = call.new_bridge().await?;
    call.add(&bridge, caller).await;
    match fwd {
        Some(fwd) => forward_to(call, t, &fwd, caller, &bridge, &why, rx).await,
        None => voicemail(call, caller, &why, rx).await,
    }
    call.delete(&format!("bridges/{bridge}")).await;
    Ok(())
}

/// The tenant's forward number, when one is set.
fn forward_number(t: &Tenancy) -> Option<&str> {
    t.state.forward_number.as_deref().filter(|f| !f.is_empty())
}

/// The devices of the users the call may ring, with their users. Every candidate's device is asked
/// for at once: this runs while the caller waits.
async fn online_devices(call: &Call, t: &Tenancy) -> Vec<(String, UserId)> {
    let candidates = candidates(t);
    let online =
        futures_util::future::join_all(candidates.iter().map(|u| devices(&call.ctx, call.tenant, u))).await;
    candidates.iter().zip(online).flat_map(|(u, ds)| ds.into_iter().map(move |d| (d, u.user_id))).collect()
}

/// Waits for the blocked caller's message to end (or the caller to hang up), at most 15 s.
async fn blocked_message_end(rx: &mut CallRx, caller: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if msg.ends(caller) {
            return;
        }
        if let crate::context::CallMsg::Ari(crate::ari::events::Event::PlaybackFinished { .. }) = msg {
            return;
        }
    }
}

/// Is `number` on the tenant's blocklist (counted when it is), and what happens to it? A database
/// that cannot say lets the call through: a blocklist is no reason to lose calls.
async fn blocked(ctx: &Ctx, tenant: TenantId, number: &str) -> Option<String> {
    let res = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let hit = callbase_db::blocklist::hit(&mut tx, tenant, number).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(hit)
    }
    .await;
    res.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the blocklist: the call goes through");
        None
    })
}

/// An inbound call adopted after a takeover before anyone answered (adopt.rs), its caller still
/// there: the agents ring again — the ring timeout starts over — and it goes on as any inbound call.
pub(super) async fn resume_ringing(call: &mut Call, caller: &str, rx: &mut CallRx) -> Result<(), CallError> {
    let t = load(&call.ctx, call.tenant).await?;
    // A caller waiting in a queue goes back to its place in line (issue #19).
    if let Some(id) = call.queue {
        let mut tx = call.ctx.db.tenant_tx(call.tenant).await?;
        let q = callbase_db::queues::get(&mut tx, call.tenant, id).await?;
        tx.commit().await?;
        if let Some(q) = q {
            return super::queue::queued(call, &t, caller, rx, q, true).await;
        }
    }
    call.audience = candidates(&t).iter().map(|u| u.user_id).collect();
    ring_and_connect(call, &t, caller, rx, None).await
}

/// The users an inbound call may ring: those who accept incoming calls, are not disabled and are
/// available (not on a break, in do-not-disturb or in wrap-up: issue #18).
fn candidates(t: &Tenancy) -> Vec<&TelUserRow> {
    t.users.iter().filter(|u| u.accept_incoming && !u.disabled && u.state == "available").collect()
}

/// Rings the online candidates (the responsible manager first when the tenant says so) with the
/// caller in the call's bridge; then talk, a forward, or a missed call. `known`: the online
/// devices when they were just looked up.
async fn ring_and_connect(
    call: &mut Call,
    t: &Tenancy,
    caller: &str,
    rx: &mut CallRx,
    known: Option<Vec<(String, UserId)>>,
) -> Result<(), CallError> {
    let devs = match known {
        Some(d) => d,
        None => online_devices(call, t).await,
    };
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
            // Answered now, unless the greeting already did (answering twice is harmless).
            call.post(&format!("channels/{caller}/answer"), &[]).await;
            answered(call, Some(who), caller).await;
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

/// No answer: forward to the tenant's number through a trunk, or end as missed.
#[tracing::instrument(skip_all, fields(tenant.id = %call.tenant, call.id = %call.id))]
async fn forward(call: &mut Call, t: &Tenancy, caller: &str, bridge: &str, why: &str, rx: &mut CallRx) {
    call.publish(CallState::Missed, Some(why)).await;
    let Some(fwd) = forward_number(t).map(str::to_string) else {
        if t.state.voicemail {
            return voicemail(call, caller, why, rx).await;
        }
        // SIP 480 when the caller was never answered; a plain hang-up after a greeting.
        nobody_takes(call, caller).await;
        call.finish(CallResult::Missed, Some(why)).await;
        return;
    };
    forward_to(call, t, &fwd, caller, bridge, why, rx).await;
}
