//! Dialling queue callbacks (issue #19, item 5). A caller who pressed 1 in a queue left a request
//! that keeps their place in line (`callbase_db::callbacks`). The Stasis worker of the node the
//! call came in on looks at its requests every [`TICK`]: the oldest request of a queue is dialled
//! when no caller who joined before it still waits and a member is free (chosen by the queue's
//! strategy, claimed like a ringing member) — the member's phone rings first, then the number is
//! dialled as the member's own outbound call (their dial rules and the fraud limits apply). A
//! member who does not pick up leaves the request waiting in its place; after [`MAX_TRIES`] it fails.
//!
//! A request is claimed in the database for [`CLAIM`] with the callback call's id: a worker that
//! dies mid-way leaves it to the next once the claim runs out — unless the call was placed
//! (its record exists), which settles it.

use std::collections::HashSet;
use std::time::Duration;

use uuid::Uuid;

use super::callback::{ring_agent_then_dial, Rang};
use super::queue::{choose, claim, free_members, read, release};
use super::ring::devices;
use super::{load, Command};
use crate::context::Ctx;

const TICK: Duration = Duration::from_secs(2);
/// How long a worker holds a request while the member's phone rings (it rings at most 35 s).
const CLAIM: i64 = 60;
/// A request whose member did not pick up this many times fails.
const MAX_TRIES: i16 = 3;

/// Runs until `shutdown`, while this replica holds the node's Stasis lease.
pub async fn dial_callbacks(ctx: Ctx, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let Some(pool) = ctx.db.lookup().cloned() else { return };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
        if !ctx.fence.is_current() {
            continue;
        }
        let due = match callbase_db::callbacks::due(&pool, &ctx.node).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the queue callbacks to dial");
                continue;
            }
        };
        let mut queues = HashSet::new();
        for cb in due {
            // One request per queue at a time, the oldest first.
            if queues.insert((cb.tenant_id, cb.queue_id)) {
                try_dial(&ctx, &pool, cb).await;
            }
        }
    }
}

async fn try_dial(ctx: &Ctx, pool: &sqlx::PgPool, cb: callbase_db::callbacks::Waiting) {
    let (tenant, queue, at) = (cb.tenant_id, cb.queue_id, cb.requested_at);
    let ahead = read(ctx, tenant, move |tx, tenant| {
        Box::pin(callbase_db::callbacks::callers_ahead(tx, tenant, queue, at))
    })
    .await;
    if ahead != Some(0) {
        return;
    }
    let Some(q) = read(ctx, tenant, move |tx, tenant| Box::pin(callbase_db::queues::get(tx, tenant, queue)))
        .await
        .flatten()
    else {
        return;
    };
    let Ok(t) = load(ctx, tenant).await else { return };
    let free = free_members(ctx, tenant, &t, &q).await;
    let order = choose(
        if q.strategy == "ring_all" { "longest_idle" } else { &q.strategy },
        &free,
        q.last_rung_user.map(callbase_core::UserId),
        1,
    );
    let Some(user) = order.first().copied() else { return };
    let Some(row) = t.users.iter().find(|u| u.user_id == user) else { return };
    if devices(ctx, tenant, row).await.is_empty() {
        return;
    }
    let call = Uuid::new_v4();
    if claim(ctx, tenant, &[user], call, 40).await.is_empty() {
        return;
    }
    match callbase_db::callbacks::claim(pool, cb.id, CLAIM, call).await {
        Ok(true) => {}
        Ok(false) => {
            release(ctx, tenant, &[user], call).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim a queue callback");
            release(ctx, tenant, &[user], call).await;
            return;
        }
    }
    tracing::info!(tenant.id = %tenant, queue, member = %user, call.id = %call, "dialling a queue callback: the member's phone rings first");
    let (ctx, pool) = (ctx.clone(), pool.clone());
    tokio::spawn(async move {
        let cmd = Command::Callback { call_id: call.to_string(), tenant, user, number: cb.number.clone() };
        let rang = ring_agent_then_dial(ctx.clone(), cmd).await;
        release(&ctx, tenant, &[user], call).await;
        let res = match rang {
            Rang::Dialled => callbase_db::callbacks::done(&pool, cb.id, call, user).await,
            Rang::AgentMissed => {
                callbase_db::callbacks::unclaim(&pool, cb.id, MAX_TRIES, "the member did not pick up").await
            }
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "cannot record how a queue callback went");
        }
    });
}
