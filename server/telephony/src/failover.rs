//! Nodes that die: a singleton watcher (lease `nodes-watch`) asks every live or draining node's
//! ARI for its info every few seconds; a node that has not answered for `down_after` is marked
//! `down` and its tenants are placed on the other live nodes with room, which register their trunks
//! at once (module reload). Browser phones follow through the `/sip` relay (its socket to the dead
//! node ends; the next one leads to the new node), desk phones at their next registration through
//! the edge. Live calls on the dead node are gone with it; their records are closed when the node
//! comes back and its Stasis app adopts what is left (`crate::call::adopt`). A node stays `down`
//! until an operator sets it `live` again (`callbase node state`): the watcher never undoes a
//! decision that may have been an operator's. A node the operator declared `gone` is not watched
//! (`callbase_db::nodes::declare_gone`).

use std::collections::HashMap;
use std::time::Duration;

use callbase_core::TenantId;
use callbase_db::nodes as repo;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::nodes::Nodes;

#[derive(Debug, Clone, Copy)]
pub struct FailoverConfig {
    /// How often each node is asked.
    pub every: Duration,
    /// How long a node may not answer before its tenants move.
    pub down_after: Duration,
}

/// Watches the nodes until `stop`.
pub async fn run(nodes: Nodes, worker: PgPool, cfg: FailoverConfig, mut stop: watch::Receiver<bool>) {
    let mut failing: HashMap<String, Instant> = HashMap::new();
    loop {
        match nodes.refresh().await {
            Ok(all) => {
                let checks = all.iter().filter(|n| matches!(n.row.state.as_str(), "live" | "draining")).map(
                    |n| async move {
                        let ok = tokio::time::timeout(Duration::from_secs(3), n.ari.info())
                            .await
                            .is_ok_and(|r| r.is_ok());
                        (n.id().to_string(), ok)
                    },
                );
                for (id, ok) in futures_util::future::join_all(checks).await {
                    if ok {
                        failing.remove(&id);
                        continue;
                    }
                    let since = *failing.entry(id.clone()).or_insert_with(Instant::now);
                    if since.elapsed() >= cfg.down_after {
                        failing.remove(&id);
                        if let Err(e) = fail_over(&nodes, &worker, &id).await {
                            tracing::error!(error = %e, node = %id, "failing over a dead node failed; next round");
                        }
                    } else {
                        tracing::warn!(node = %id, for_ms = since.elapsed().as_millis() as u64, "node does not answer");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the node registry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.every) => {}
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
        }
    }
}

/// Marks `node` down and places its tenants on the other live nodes; returns how many moved.
/// A tenant for whom no node has room stays (the node may come back). When no other live node
/// has room at all (a single-node platform), nothing changes: the node is only waited for.
pub async fn fail_over(nodes: &Nodes, worker: &PgPool, node: &str) -> Result<usize, crate::nodes::NodeError> {
    let loads = repo::loads(worker).await?;
    let elsewhere = loads
        .iter()
        .any(|l| l.node.id != node && l.node.state == "live" && l.tenants < l.node.capacity as i64);
    if !elsewhere {
        tracing::error!(
            node,
            "node does not answer, and no other live node has room for its tenants: waiting for it"
        );
        return Ok(0);
    }
    repo::set_state(worker, node, "down").await?;
    let tenants = repo::tenants_on(worker, node).await?;
    tracing::error!(node, tenants = tenants.len(), "node down: moving its tenants to the other live nodes");
    let mut targets = Vec::new();
    let mut stranded = 0;
    for t in &tenants {
        match repo::place_elsewhere(worker, *t, node).await? {
            Some(to) => {
                if !targets.contains(&to) {
                    targets.push(to);
                }
            }
            None => stranded += 1,
        }
    }
    if stranded > 0 {
        tracing::error!(
            node,
            tenants = stranded,
            "no live node has room for some tenants of a dead node: they stay on it"
        );
    }
    for id in &targets {
        match nodes.by_id(id).await {
            Ok(n) => crate::trunk_changes::reload_node(&n.ari).await,
            Err(e) => tracing::warn!(error = %e, node = %id, "cannot tell a node about its new tenants"),
        }
    }
    Ok(tenants.len() - stranded)
}

/// Moves one tenant to `node` (the operator's `callbase node move`, the platform API): the old
/// node forgets its trunks (un-REGISTER) and cached endpoints, the new one registers them. Live
/// calls finish on the old node; browser phones move when idle (the `/sip` relay), desk phones at
/// their next registration. Returns the node it was on.
pub async fn move_tenant(
    nodes: &Nodes,
    worker: &PgPool,
    tenant: TenantId,
    to: &str,
) -> Result<Option<String>, MoveError> {
    nodes.refresh().await.map_err(crate::nodes::NodeError::from)?;
    let target = nodes.by_id(to).await?;
    if target.row.state == "gone" {
        return Err(MoveError::NodeGone);
    }
    let from = repo::move_tenant(worker, tenant, to).await.map_err(crate::nodes::NodeError::from)?;
    let from = from.ok_or(MoveError::NoTenant)?;
    if let Some(old) = from.as_deref().filter(|f| *f != to) {
        match nodes.by_id(old).await {
            Ok(n) => crate::trunk_changes::reload_node(&n.ari).await,
            Err(e) => tracing::warn!(error = %e, node = old, "the old node is not reachable"),
        }
    }
    crate::trunk_changes::reload_node(&target.ari).await;
    tracing::info!(tenant.id = %tenant, from = from.as_deref().unwrap_or("-"), to, "tenant moved");
    Ok(from)
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("no such tenant")]
    NoTenant,
    #[error("the node is gone: it takes no tenant")]
    NodeGone,
    #[error(transparent)]
    Node(#[from] crate::nodes::NodeError),
}
