//! Agent states (issue #18): the news of a state change on the tenant's channel, and the changes
//! the calls make — wrap-up after a call the agent talked in, Break "missed calls" after inbound
//! calls rang out in a row. Who may ring is decided by the state as the database holds it
//! (`callbase_db::agent_states`, read with the tenant's telephony users at every inbound call).

use callbase_core::events::{AgentStateChange, Event};
use callbase_core::{TenantId, UserId};
use callbase_db::agent_states::{self as repo, AgentState};
use redis::aio::ConnectionManager;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// The `agent_state` event of a state.
pub fn event(s: &AgentState) -> Event {
    Event::AgentState(AgentStateChange {
        user_id: s.user_id,
        state: s.state.clone(),
        reason: s.reason.clone(),
        since: s.since.format(&Rfc3339).unwrap_or_default(),
        wrapup_until: s.wrapup_until.and_then(|u| u.format(&Rfc3339).ok()),
    })
}

/// Tells the agent's sockets and the administrators' about a state.
pub async fn publish(redis: &ConnectionManager, tenant: TenantId, s: &AgentState) {
    crate::events::publish(redis, tenant, &[event(s)], "an agent state").await
}

/// After a call `user` talked in: wrap-up (when the tenant has one), published.
pub async fn after_call(db: &callbase_db::Db, redis: &ConnectionManager, tenant: TenantId, user: UserId) {
    let res = async {
        let mut tx = db.tenant_tx(tenant).await?;
        let s = repo::start_wrapup(&mut tx, tenant, user).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(s)
    }
    .await;
    match res {
        Ok(Some(s)) => publish(redis, tenant, &s).await,
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, user.id = %user, "cannot start the agent's wrap-up"),
    }
}

/// An inbound call rang `rung` out: count it, and publish the agents it sent to Break.
pub async fn rang_out(
    db: &callbase_db::Db,
    redis: &ConnectionManager,
    tenant: TenantId,
    call: Uuid,
    rung: &[UserId],
) {
    if rung.is_empty() {
        return;
    }
    let res = async {
        let mut tx = db.tenant_tx(tenant).await?;
        let s = repo::rang_out(&mut tx, tenant, call, rung).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(s)
    }
    .await;
    match res {
        Ok(changed) => {
            for s in changed {
                tracing::info!(user.id = %s.user_id, "agent let calls ring out in a row: on break");
                publish(redis, tenant, &s).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count a call that rang out"),
    }
}

/// `user` answered an inbound call: the count of calls rung out starts over.
pub async fn answered(db: &callbase_db::Db, tenant: TenantId, user: UserId) {
    let res = async {
        let mut tx = db.tenant_tx(tenant).await?;
        repo::answered(&mut tx, tenant, user).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, user.id = %user, "cannot reset the agent's missed calls");
    }
}
