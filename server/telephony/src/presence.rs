//! Live device presence for the presence board (issue #18): when Asterisk gains or loses a contact
//! of an agent's endpoint (AMI `ContactStatus`, which the node's registration monitor receives
//! anyway), the agent's devices are looked at again and an `agent_presence` event goes to the
//! supervisors. Offline on the board is derived from these, not chosen.

use callbase_core::events::{AgentPresence, Event};
use callbase_core::TenantId;
use callbase_db::telephony::TelUserRow;
use callbase_db::Db;
use redis::aio::ConnectionManager;

use crate::agents;
use crate::ami::{Ami, AmiMessage};

/// The telephony user an endpoint belongs to: `t<tenant>-w<user>` (browser) or
/// `<account>_<extension>` (desk phone); trunks and anything else are none.
async fn owner(db: &Db, endpoint: &str) -> sqlx::Result<Option<(TenantId, TelUserRow)>> {
    if let Some((tenant, user)) = agents::parse_web_id(endpoint) {
        let mut tx = db.tenant_tx(tenant).await?;
        let u = callbase_db::telephony::get_user(&mut tx, tenant, user).await?;
        tx.commit().await?;
        return Ok(u.map(|u| (tenant, u)));
    }
    let Some((account, extension)) = endpoint.split_once('_') else { return Ok(None) };
    let mut tx = db.global_tx().await?;
    let tenant = callbase_db::accounts::tenant_by_account(&mut tx, account).await?;
    tx.commit().await?;
    let Some(tenant) = tenant else { return Ok(None) };
    let mut tx = db.tenant_tx(tenant.id).await?;
    let u = callbase_db::telephony::user_by_extension(&mut tx, tenant.id, extension).await?;
    tx.commit().await?;
    Ok(u.filter(|u| u.sip_login == endpoint).map(|u| (tenant.id, u)))
}

/// A `ContactStatus` event: publishes the agent's devices as they are now.
pub async fn on_contact_status(
    ami: &Ami,
    ari: &crate::ari::Ari,
    db: &Db,
    redis: &ConnectionManager,
    m: &AmiMessage,
) {
    let Some(endpoint) = m.get("EndpointName") else { return };
    if crate::trunks::parse_ast_id(endpoint).is_some() {
        return;
    }
    let (tenant, u) = match owner(db, endpoint).await {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whose endpoint a contact belongs to");
            return;
        }
    };
    publish(&crate::lifecycle::Pbx { ari, ami: Some(ami) }, redis, tenant, &u).await;
}

/// Publishes user `u`'s devices as Asterisk has them now (`agent_presence`, to the supervisors).
/// Browser phones are not qualified, so Asterisk reports no contact changes for them: the `/sip`
/// relay calls this when one registers or its socket closes.
pub async fn publish(
    pbx: &crate::lifecycle::Pbx<'_>,
    redis: &ConnectionManager,
    tenant: TenantId,
    u: &TelUserRow,
) {
    let online = pbx.online(tenant, u).await;
    tracing::debug!(tenant.id = %tenant, user.id = %u.user_id, browser = online.browser, desk = online.desk, "agent presence");
    let event = Event::AgentPresence(AgentPresence {
        user_id: u.user_id,
        browser: online.browser,
        desk: online.desk,
    });
    crate::events::publish(redis, tenant, &[event], "an agent's presence").await;
}
