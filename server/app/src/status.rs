//! `callbase status`: who holds this node's leases (docs/operations.md) and how many call records
//! are open, read from Redis and PostgreSQL like any replica would.

use anyhow::Context;
use callbase_telephony::lease::{Holder, Lease};

use crate::settings::Settings;

/// The singleton workers that run under a lease per node.
pub const LEASED_WORKERS: [&str; 3] = ["stasis", "registrations", "probe"];

/// A node and (worker, its holder now) for each leased worker.
pub type NodeLeases = (String, Vec<(&'static str, Option<Holder>)>);

#[derive(Debug)]
pub struct Status {
    /// Each node (the registry's, or this server's own when the registry cannot be read) with
    /// (worker, its holder now).
    pub nodes: Vec<NodeLeases>,
    /// Call records with no end yet, across tenants (needs `database.worker_url`).
    pub open_calls: Option<i64>,
}

pub async fn report(settings: &Settings) -> anyhow::Result<Status> {
    let client = crate::redis_master::client(&settings.redis).await?;
    let mut redis = client.get_connection_manager().await.context("cannot connect to Redis")?;
    let pool = match &settings.database.worker_url {
        Some(url) => Some(callbase_db::lazy_pool(url, 1).context("database.worker_url")?),
        None => None,
    };
    let mut ids = match &pool {
        Some(p) => callbase_db::nodes::all(p).await?.into_iter().map(|n| n.id).collect(),
        None => Vec::new(),
    };
    if !ids.contains(&settings.asterisk.node) {
        ids.push(settings.asterisk.node.clone());
    }
    let mut nodes = Vec::new();
    for node in ids {
        let mut leases = Vec::new();
        for worker in LEASED_WORKERS {
            leases.push((worker, Lease::holder(&mut redis, &format!("{worker}:{node}")).await?));
        }
        nodes.push((node, leases));
    }
    let open_calls = match &pool {
        Some(p) => Some(callbase_db::calls::live::open_count(p).await?),
        None => None,
    };
    Ok(Status { nodes, open_calls })
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (node, leases) in &self.nodes {
            writeln!(f, "node {node}")?;
            for (worker, holder) in leases {
                match holder {
                    Some(h) => writeln!(f, "  {worker:<14} held by {} (token {})", h.owner, h.token)?,
                    None => writeln!(f, "  {worker:<14} not held: no replica runs it")?,
                }
            }
        }
        match self.open_calls {
            Some(n) => writeln!(f, "open call records: {n}"),
            None => writeln!(f, "open call records: unknown (database.worker_url is not set)"),
        }
    }
}
