//! Feature codes a desk phone dials (issue #18): `*11` available, `*12` break (the tenant's first
//! break reason), `*13` do not disturb. The agent's channel is answered, hears a short confirmation
//! (`confirm` in indications.conf) and is hung up; no call record is kept.

use std::time::Duration;

use callbase_core::{TenantId, UserId};
use callbase_db::agent_states as repo;

use crate::context::Ctx;

/// The state a feature code sets, if `exten` is one.
pub(super) fn code(exten: &str) -> Option<&'static str> {
    match exten {
        "*11" => Some("available"),
        "*12" => Some("break"),
        "*13" => Some("dnd"),
        _ => None,
    }
}

/// Sets the agent's state and confirms it on their phone.
pub(super) async fn run(ctx: &Ctx, tenant: TenantId, user: UserId, agent: &str, state: &str) {
    let res = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let reason = match state {
            "break" => repo::settings(&mut tx, tenant).await?.break_reasons.into_iter().next(),
            _ => None,
        };
        repo::set(&mut tx, tenant, user, state, reason.as_deref(), None).await?;
        let s = repo::get(&mut tx, tenant, user).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(s)
    }
    .await;
    match res {
        Ok(Some(s)) => {
            tracing::info!(user.id = %user, state, "agent state set by a feature code");
            crate::agent_states::publish(&ctx.redis, tenant, &s).await;
            let _ = ctx.ari.answer(agent).await;
            let _ = ctx.ari.play(agent, "tone:confirm").await;
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, user.id = %user, "cannot set the agent state of a feature code"),
    }
    let _ = ctx.ari.hangup(agent).await;
}
