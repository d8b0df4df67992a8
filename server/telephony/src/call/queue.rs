//! Queues (issue #19, item 1), inside our own Stasis call control: the caller is answered, waits in
//! the call's bridge with music on hold and hears their place in line; a free member — chosen by the
//! queue's strategy — rings for the queue's ring time; the first to answer talks as in any inbound
//! call. Too long a wait (or too long a line when the caller arrives) sends the caller to the
//! queue's overflow: voicemail for the queue's members, a number through the trunks, or missed.
//!
//! The line is the database's, not this process's: a waiting caller is an open `calls` row with
//! the queue's id and the time it joined, so every replica sees the same line, and a caller adopted
//! after a restart goes back to its place (adopt.rs → [`resume`]). Each waiting caller's actor
//! looks at the line and the members once a second; a member about to ring is claimed in Redis for
//! the ring time, so two callers (on any replicas) never ring the same member at once.

use std::time::Duration;

use callbase_core::events::CallState;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::CallResult;
use callbase_db::queues::{MemberLoad, QueueRow};
use tokio::time::Instant;

use super::menu::{collect, Collected};
use super::ring::{devices, responsible_manager, ring_users, RingOutcome};
use super::talk::{answered, talk};
use super::unanswered::{forward_to, nobody_takes, play_and_wait, voicemail};
use super::{Call, CallError, Op, Phase, Tenancy};
use crate::ari::events::Event;
use crate::context::{CallMsg, CallRx, Ctx};

/// How often a waiting caller looks at the line and the members.
const TICK: Duration = Duration::from_secs(1);
/// How often the position is said again (when the queue announces it).
const ANNOUNCE_EVERY: Duration = Duration::from_secs(45);

/// The caller of `call` joins queue `q`. `resumed`: adopted after a restart, already answered and
/// in line (its `queued_at` is kept).
pub(super) async fn queued(
    call: &mut Call,
    t: &Tenancy,
    caller: &str,
    rx: &mut CallRx,
    q: QueueRow,
    resumed: bool,
) -> Result<(), CallError> {
    call.queue = Some(q.id);
    let members = read(&call.ctx, call.tenant, |tx, tenant| {
        Box::pin(callbase_db::queues::member_users(tx, tenant, q.id))
    })
    .await
    .unwrap_or_default();
    // The queue's members see the call (its events, its record, a message left in it).
    call.audience = members.clone();
    if !resumed && q.overflow == "missed" && !any_member_online(call, t, &members).await {
        // Nobody could take the call and nothing else would: refused unanswered (SIP 480).
        tracing::info!(queue = q.id, "no member of the queue is online: refused unanswered");
        let why = format!("nobody of queue {} online", q.name);
        call.publish(CallState::Missed, Some(&why)).await;
        nobody_takes(call, caller).await;
        call.finish(CallResult::Missed, Some(&format!("{why}: refused unanswered (SIP 480)"))).await;
        return Ok(());
    }
    if !resumed {
        let waiting =
            read(&call.ctx, call.tenant, |tx, tenant| Box::pin(callbase_db::queues::line(tx, tenant, q.id)))
                .await
                .map_or(0, |l| l.len());
        if waiting >= q.max_callers as usize {
            tracing::info!(queue = q.id, waiting, "the queue is full: overflow");
            let why = format!("queue {} full", q.name);
            let bridge = call.new_bridge().await?;
            call.add(&bridge, caller).await;
            overflow(call, t, caller, rx, &q, &bridge, &why, false).await;
            call.delete(&format!("bridges/{bridge}")).await;
            return Ok(());
        }
    }
    // In line before anything else: a controller that takes the call over from here on puts the
    // caller back in this queue, in this place (`resume_ringing`).
    call.write(Op::Queued(q.id));
    call.post(&format!("channels/{caller}/answer"), &[]).await;
    let bridge = call.new_bridge().await?;
    call.add(&bridge, caller).await;
    call.post(&format!("channels/{caller}/moh"), &[]).await;
    call.set_phase(Phase::Queued);
    call.checkpoint();
    call.publish_board(CallState::Ringing).await;
    tracing::info!(queue = q.id, strategy = %q.strategy, resumed, "caller waits in a queue");
    let outcome = wait_in_line(call, t, caller, rx, &q, &bridge).await;
    match outcome {
        Waited::Answered(leg, who) => {
            call.delete(&format!("channels/{caller}/moh")).await;
            call.write(Op::LeftQueue("answered"));
            answered(call, Some(who), caller).await;
            talk(call, &bridge, &leg, caller, rx).await;
        }
        Waited::Left => {
            call.write(Op::LeftQueue("abandoned"));
            call.publish(CallState::Missed, Some("caller hung up")).await;
            call.finish(CallResult::Missed, Some(&format!("caller hung up waiting in queue {}", q.name)))
                .await;
        }
        Waited::CallMeBack => call_me_back(call, caller, rx, &q).await,
        Waited::TooLong => {
            let why = format!("no answer in queue {} within {} s", q.name, q.max_wait_secs);
            call.delete(&format!("channels/{caller}/moh")).await;
            overflow(call, t, caller, rx, &q, &bridge, &why, true).await;
        }
    }
    call.delete(&format!("bridges/{bridge}")).await;
    Ok(())
}

/// How a wait in line ended.
enum Waited {
    Answered(String, UserId),
    Left,
    TooLong,
    /// The caller pressed 1 to be called back.
    CallMeBack,
}

async fn wait_in_line(
    call: &mut Call,
    t: &Tenancy,
    caller: &str,
    rx: &mut CallRx,
    q: &QueueRow,
    bridge: &str,
) -> Waited {
    let deadline = Instant::now() + Duration::from_secs(q.max_wait_secs as u64);
    let mut announced: Option<Instant> = None;
    // The client's responsible manager (tenant setting), when a member, rings alone first.
    let mut manager = responsible_manager(&call.ctx, call.tenant, &call.number).await;
    loop {
        if Instant::now() >= deadline {
            return Waited::TooLong;
        }
        let line =
            read(&call.ctx, call.tenant, |tx, tenant| Box::pin(callbase_db::queues::line(tx, tenant, q.id)))
                .await
                .unwrap_or_default();
        let (queue, me) = (q.id, call.id);
        let requests = read(&call.ctx, call.tenant, move |tx, tenant| {
            Box::pin(callbase_db::callbacks::requests_ahead(tx, tenant, queue, me))
        })
        .await
        .unwrap_or(0) as usize;
        // Callers ahead in line, and earlier requests to be called back (they keep their place).
        let position = requests + line.iter().position(|id| *id == call.id).map_or(line.len() + 1, |i| i + 1);
        // The queue as it is now: an administrator may have changed it; round robin moves on.
        let queue = q.id;
        let now = read(&call.ctx, call.tenant, move |tx, tenant| {
            Box::pin(callbase_db::queues::get(tx, tenant, queue))
        })
        .await
        .flatten();
        let q = now.as_ref().unwrap_or(q);
        let free = free_members(&call.ctx, call.tenant, t, q).await;
        let mut pick = match manager.take() {
            Some((m, secs)) if position == 1 && free.iter().any(|f| f.user_id == m) => {
                tracing::info!(manager = %m, secs, "ringing the responsible manager first");
                Some((vec![m], secs))
            }
            _ => None,
        };
        if pick.is_none() {
            let chosen = choose(&q.strategy, &free, q.last_rung_user.map(UserId), position);
            pick = (!chosen.is_empty()).then_some((chosen, q.ring_secs as u64));
        }
        if let Some((users, secs)) = pick {
            let claimed = claim(&call.ctx, call.tenant, &users, call.id, secs).await;
            let mut devs = vec![];
            for u in &claimed {
                if let Some(row) = t.users.iter().find(|r| r.user_id == *u) {
                    devs.extend(devices(&call.ctx, call.tenant, row).await.into_iter().map(|d| (d, *u)));
                }
            }
            if !devs.is_empty() {
                let rung = ring_users(call, &devs, caller, secs, rx, bridge).await;
                release(&call.ctx, call.tenant, &claimed, call.id).await;
                if q.strategy == "round_robin" {
                    if let Some(u) = claimed.last() {
                        let (queue, user) = (q.id, *u);
                        let _ = write(&call.ctx, call.tenant, move |tx, tenant| {
                            Box::pin(callbase_db::queues::set_last_rung(tx, tenant, queue, user))
                        })
                        .await;
                    }
                }
                match rung {
                    Ok(RingOutcome::Answered(leg, who)) => return Waited::Answered(leg, who),
                    Ok(RingOutcome::CallerLeft) | Err(_) => return Waited::Left,
                    // The caller goes on waiting, with the music that played meanwhile.
                    Ok(RingOutcome::NoAnswer) => continue,
                }
            }
            release(&call.ctx, call.tenant, &claimed, call.id).await;
        }
        // Nobody rang: the caller waits, hearing their place at first and every 45 s.
        if q.announce_position && announced.is_none_or(|at| at.elapsed() >= ANNOUNCE_EVERY) {
            announced = Some(Instant::now());
            match announce(call, caller, position, q, rx).await {
                Tick::Left => return Waited::Left,
                Tick::Digit(d) if d == "1" && q.callback => return Waited::CallMeBack,
                _ => {}
            }
        }
        match wait_tick(call, caller, rx, deadline).await {
            Tick::Waited => {}
            Tick::Left => return Waited::Left,
            Tick::Digit(d) if d == "1" && q.callback => return Waited::CallMeBack,
            Tick::Digit(_) => {}
        }
    }
}

enum Tick {
    Waited,
    Left,
    Digit(String),
}

/// Waits one [`TICK`] (or until the deadline) for the caller's hang-up or a key they press.
async fn wait_tick(call: &mut Call, caller: &str, rx: &mut CallRx, deadline: Instant) -> Tick {
    let until = (Instant::now() + TICK).min(deadline);
    loop {
        match tokio::time::timeout_at(until, call.next_msg(rx)).await {
            Ok(Some(msg)) if msg.ends(caller) => return Tick::Left,
            Ok(Some(CallMsg::Ari(Event::ChannelDtmfReceived { digit, .. }))) => return Tick::Digit(digit),
            Ok(Some(_)) => {}
            Ok(None) => return Tick::Left,
            Err(_) => return Tick::Waited,
        }
    }
}

/// The caller asked to be called back: the request keeps their place in line (the node's worker
/// dials it, `queue_callback.rs`); they hear "thank you" and the call ends, missed with a request.
async fn call_me_back(call: &mut Call, caller: &str, rx: &mut CallRx, q: &QueueRow) {
    let (queue, node, number, origin) = (q.id, call.ctx.node.clone(), call.number.clone(), call.id);
    let saved = read(&call.ctx, call.tenant, move |tx, tenant| {
        Box::pin(
            async move { callbase_db::callbacks::request(tx, tenant, queue, &node, &number, origin).await },
        )
    })
    .await;
    call.delete(&format!("channels/{caller}/moh")).await;
    if saved.is_none() {
        // Not saved: the caller keeps waiting is no longer possible here — say sorry and end.
        play_and_wait(call, caller, "sound:im-sorry", rx).await;
    } else {
        tracing::info!(queue = q.id, "the caller asked to be called back");
        play_and_wait(call, caller, "sound:auth-thankyou", rx).await;
    }
    call.hangup(caller).await;
    call.write(Op::LeftQueue("callback"));
    call.publish(CallState::Missed, Some("callback requested")).await;
    let why = match saved {
        Some(_) => format!("callback requested in queue {}", q.name),
        None => format!("callback requested in queue {} but could not be saved", q.name),
    };
    call.finish(CallResult::Missed, Some(&why)).await;
}

/// Has any member a phone online (whatever their state: one on a break may come back)?
async fn any_member_online(call: &Call, t: &Tenancy, members: &[UserId]) -> bool {
    for row in t.users.iter().filter(|r| members.contains(&r.user_id) && !r.disabled) {
        if !devices(&call.ctx, call.tenant, row).await.is_empty() {
            return true;
        }
    }
    false
}

/// Says the caller's place in line ("you are next", or "you are caller number N") and, when the
/// queue offers callbacks, "press 1"; music on hold paused meanwhile. A key pressed over it
/// stops it and is the answer.
async fn announce(call: &mut Call, caller: &str, position: usize, q: &QueueRow, rx: &mut CallRx) -> Tick {
    // The estimated wait: today's average wait of answered callers, times the place in line.
    let queue = q.id;
    let average = match position > 1 {
        true => read(&call.ctx, call.tenant, move |tx, tenant| {
            Box::pin(callbase_db::queues::average_wait_ms(tx, tenant, queue))
        })
        .await
        .flatten(),
        false => None,
    };
    let media = prompt(position, average, q.callback);
    call.delete(&format!("channels/{caller}/moh")).await;
    // A key pressed over the prompt stops it and counts (the callback offer).
    let heard = match collect(call, caller, Some(&media), Duration::ZERO, rx).await {
        Collected::Left => return Tick::Left,
        Collected::Digit(d) => Tick::Digit(d),
        Collected::Nothing => Tick::Waited,
    };
    call.post(&format!("channels/{caller}/moh"), &[]).await;
    heard
}

/// What a waiting caller hears: their place in line ("your call is now first in line…", or "you
/// are currently caller number N, waiting to speak with a representative"), from the second place
/// on the estimated wait when answered callers waited today ("the estimated hold time is currently
/// N minutes", or "less than 1 minute"), and "press 1" when the queue offers callbacks — Debian's
/// core sounds have no sentence offering a callback (`vm-tocallback` is voicemail's "press 2 to
/// call the person who sent this message").
fn prompt(position: usize, average_wait_ms: Option<i64>, callback: bool) -> String {
    let mut media = if position <= 1 {
        "sound:queue-youarenext".to_string()
    } else {
        format!("sound:queue-thereare,number:{position},sound:queue-callswaiting")
    };
    if let Some(avg) = average_wait_ms.filter(|_| position > 1) {
        let minutes = (avg.max(0) as u64 * position as u64).div_ceil(60_000);
        media.push_str(&match minutes {
            0 | 1 => ",sound:queue-holdtime,sound:queue-less-than,number:1,sound:queue-minute".to_string(),
            m => format!(",sound:queue-holdtime,number:{m},sound:queue-minutes"),
        });
    }
    if callback {
        media.push_str(",sound:vm-press,digits:1");
    }
    media
}

/// The queue's members who could take a call now: telephony users, enabled, available (not on a
/// break, in do-not-disturb or wrap-up), not on a call — with their load for the strategy. Whether
/// their phone is online is asked only of those chosen.
pub(super) async fn free_members(ctx: &Ctx, tenant: TenantId, t: &Tenancy, q: &QueueRow) -> Vec<MemberLoad> {
    let queue = q.id;
    let members =
        read(ctx, tenant, move |tx, tenant| Box::pin(callbase_db::queues::member_users(tx, tenant, queue)))
            .await
            .unwrap_or_default();
    // States change while callers wait: the database decides now, not the tenancy loaded at arrival.
    let states = read(ctx, tenant, |tx, tenant| Box::pin(callbase_db::agent_states::list(tx, tenant)))
        .await
        .unwrap_or_default();
    let ready: Vec<UserId> = members
        .into_iter()
        .filter(|u| t.users.iter().any(|r| r.user_id == *u && !r.disabled))
        .filter(|u| states.iter().find(|s| s.user_id == *u).is_none_or(|s| s.state == "available"))
        .collect();
    if ready.is_empty() {
        return vec![];
    }
    let loads = read(ctx, tenant, move |tx, tenant| {
        let ready = ready.clone();
        Box::pin(async move { callbase_db::queues::loads(tx, tenant, &ready).await })
    })
    .await
    .unwrap_or_default();
    loads.into_iter().filter(|l| !l.busy).collect()
}

/// Which free members ring for the caller at `position` (1 = first in line), by strategy:
///
/// - `ring_all`: every free member, for the first caller only (the others wait their turn);
/// - `longest_idle`: the member whose last call ended longest ago (never: first);
/// - `fewest_calls`: the member who answered the fewest calls today (ties: longest idle);
/// - `round_robin`: members in a fixed order, starting after the one rung last.
///
/// The caller at position N takes the Nth member of that order, so callers ahead of it (ringing
/// their own member) are not in its way.
pub(super) fn choose(
    strategy: &str,
    free: &[MemberLoad],
    last_rung: Option<UserId>,
    position: usize,
) -> Vec<UserId> {
    let mut order: Vec<&MemberLoad> = free.iter().collect();
    order.sort_by_key(|m| m.user_id.0);
    match strategy {
        "ring_all" => return if position == 1 { order.iter().map(|m| m.user_id).collect() } else { vec![] },
        "longest_idle" => order.sort_by_key(|m| (m.last_call_end.is_some(), m.last_call_end, m.user_id.0)),
        "fewest_calls" => {
            order.sort_by_key(|m| (m.answered_today, m.last_call_end.is_some(), m.last_call_end, m.user_id.0))
        }
        _ => {
            // Round robin: the first member after the one rung last (by user id, wrapping round).
            if let Some(last) = last_rung {
                let start = order.iter().position(|m| m.user_id.0 > last.0).unwrap_or(0);
                order.rotate_left(start);
            }
        }
    }
    order.get(position.saturating_sub(1)).map(|m| vec![m.user_id]).unwrap_or_default()
}

/// Claims `users` for this call's ringing (`secs` and a margin): the users another waiting caller
/// claimed first are left out.
pub(super) async fn claim(
    ctx: &Ctx,
    tenant: TenantId,
    users: &[UserId],
    call: uuid::Uuid,
    secs: u64,
) -> Vec<UserId> {
    let mut conn = ctx.redis.clone();
    let mut won = vec![];
    for u in users {
        let ok: Result<Option<String>, _> = redis::cmd("SET")
            .arg(claim_key(tenant, *u))
            .arg(call.to_string())
            .arg("NX")
            .arg("PX")
            .arg((secs + 3) * 1000)
            .query_async(&mut conn)
            .await;
        match ok {
            Ok(Some(_)) => won.push(*u),
            Ok(None) => {}
            Err(e) => {
                // Without Redis the members still ring: a double ring beats a caller left waiting.
                tracing::warn!(error = %e, "cannot claim a queue member: ringing without a claim");
                won.push(*u);
            }
        }
    }
    won
}

/// Ends this call's claims (only its own: a claim that expired may be another call's now).
pub(super) async fn release(ctx: &Ctx, tenant: TenantId, users: &[UserId], call: uuid::Uuid) {
    let script = redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
    );
    let mut conn = ctx.redis.clone();
    for u in users {
        let res: Result<i64, _> =
            script.key(claim_key(tenant, *u)).arg(call.to_string()).invoke_async(&mut conn).await;
        if let Err(e) = res {
            tracing::debug!(error = %e, "cannot release a queue member's claim (it expires)");
        }
    }
}

fn claim_key(tenant: TenantId, u: UserId) -> String {
    format!("cb:queue-ring:{}:{}", tenant.0, u.0)
}

/// Nobody in the queue took the caller in time, or the line was full: the queue's overflow.
/// `answered`: the caller was answered (music, prompts) — a refusal is then a plain hang-up.
#[allow(clippy::too_many_arguments)]
async fn overflow(
    call: &mut Call,
    t: &Tenancy,
    caller: &str,
    rx: &mut CallRx,
    q: &QueueRow,
    bridge: &str,
    why: &str,
    answered: bool,
) {
    if answered {
        call.write(Op::LeftQueue("overflow"));
    }
    call.publish(CallState::Missed, Some(why)).await;
    match (q.overflow.as_str(), q.overflow_number.as_deref()) {
        ("voicemail", _) => voicemail(call, caller, why, rx).await,
        ("forward", Some(n)) => forward_to(call, t, n, caller, bridge, why, rx).await,
        _ => {
            // Unanswered: SIP 480, the caller's network plays its own message.
            nobody_takes(call, caller).await;
            call.finish(CallResult::Missed, Some(why)).await;
        }
    }
}

/// Reads in the call's tenant transaction; an error is logged and `None` (the caller keeps waiting).
pub(super) async fn read<T, F>(ctx: &Ctx, tenant: TenantId, f: F) -> Option<T>
where
    F: for<'a> FnOnce(
        &'a mut callbase_db::Tx,
        TenantId,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<T>> + Send + 'a>>,
{
    let res = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let v = f(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(v)
    }
    .await;
    match res {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "queue: cannot read the database");
            None
        }
    }
}

/// A write in the call's tenant transaction, only while this replica controls the call.
async fn write<F>(ctx: &Ctx, tenant: TenantId, f: F) -> Option<()>
where
    F: for<'a> FnOnce(
        &'a mut callbase_db::Tx,
        TenantId,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<()>> + Send + 'a>>,
{
    if !ctx.fence.is_current() {
        return None;
    }
    read(ctx, tenant, f).await
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn m(id: i64, last: Option<time::OffsetDateTime>, today: i64) -> MemberLoad {
        MemberLoad { user_id: UserId(id), busy: false, last_call_end: last, answered_today: today }
    }

    #[test]
    fn the_prompt_says_the_place_the_estimated_wait_and_the_callback_offer() {
        assert_eq!(prompt(1, Some(90_000), false), "sound:queue-youarenext");
        assert_eq!(prompt(1, None, true), "sound:queue-youarenext,sound:vm-press,digits:1");
        assert_eq!(prompt(3, None, false), "sound:queue-thereare,number:3,sound:queue-callswaiting");
        // 50 s on average, third in line: about 2.5 minutes — said as 3.
        assert_eq!(
            prompt(3, Some(50_000), true),
            "sound:queue-thereare,number:3,sound:queue-callswaiting,sound:queue-holdtime,number:3,sound:queue-minutes,sound:vm-press,digits:1"
        );
        assert_eq!(
            prompt(2, Some(10_000), false),
            "sound:queue-thereare,number:2,sound:queue-callswaiting,sound:queue-holdtime,sound:queue-less-than,number:1,sound:queue-minute"
        );
    }

    #[test]
    fn ring_all_rings_every_free_member_for_the_first_caller_only() {
        let free = [m(3, None, 0), m(1, None, 0)];
        assert_eq!(choose("ring_all", &free, None, 1), vec![UserId(1), UserId(3)]);
        assert!(choose("ring_all", &free, None, 2).is_empty());
    }

    #[test]
    fn longest_idle_takes_the_member_idle_longest_and_never_called_first() {
        let free = [
            m(1, Some(datetime!(2026-12-06 10:00 UTC)), 0),
            m(2, Some(datetime!(2026-12-06 09:00 UTC)), 5),
            m(3, Some(datetime!(2026-12-06 11:00 UTC)), 0),
        ];
        assert_eq!(choose("longest_idle", &free, None, 1), vec![UserId(2)]);
        assert_eq!(choose("longest_idle", &free, None, 2), vec![UserId(1)]);
        assert_eq!(choose("longest_idle", &free, None, 4), vec![]);
        let fresh = [free[0].clone(), m(9, None, 0)];
        assert_eq!(choose("longest_idle", &fresh, None, 1), vec![UserId(9)]);
    }

    #[test]
    fn fewest_calls_takes_the_member_with_the_fewest_answered_today() {
        let free = [
            m(1, Some(datetime!(2026-12-06 10:00 UTC)), 4),
            m(2, Some(datetime!(2026-12-06 09:00 UTC)), 2),
            m(3, Some(datetime!(2026-12-06 08:00 UTC)), 2),
        ];
        assert_eq!(choose("fewest_calls", &free, None, 1), vec![UserId(3)]);
        assert_eq!(choose("fewest_calls", &free, None, 2), vec![UserId(2)]);
    }

    #[test]
    fn round_robin_goes_on_after_the_member_rung_last_and_wraps_round() {
        let free = [m(5, None, 0), m(2, None, 0), m(9, None, 0)];
        assert_eq!(choose("round_robin", &free, None, 1), vec![UserId(2)]);
        assert_eq!(choose("round_robin", &free, Some(UserId(2)), 1), vec![UserId(5)]);
        assert_eq!(choose("round_robin", &free, Some(UserId(5)), 1), vec![UserId(9)]);
        assert_eq!(choose("round_robin", &free, Some(UserId(9)), 1), vec![UserId(2)]);
        // The member rung last is not free now: the next one after it still comes first.
        assert_eq!(choose("round_robin", &free, Some(UserId(6)), 1), vec![UserId(9)]);
        assert_eq!(choose("round_robin", &free, Some(UserId(9)), 2), vec![UserId(5)]);
    }
}
