//! The singleton workers of every Asterisk node — its Stasis app, its trunk registration monitor
//! and its health probe — each under a lease per node (`stasis:<node>`, `registrations:<node>`,
//! `probe:<node>`, server/telephony/src/lease.rs). Every replica runs this supervisor: it reads the node registry
//! every few seconds and starts the workers of a node that appears (or whose addresses changed;
//! not its state or capacity),
//! stops those of a node that is gone, and on shutdown stops all of them and waits until their
//! leases are handed over.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use callbase_telephony::lease::{Lease, LeaseConfig};
use callbase_telephony::nodes::{Node, Nodes};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::settings::{NodesToRun, Settings};

/// How often the registry is read for nodes that appeared, changed or went away.
const REFRESH: Duration = Duration::from_secs(5);

/// What every node's workers share.
#[derive(Clone)]
pub struct Shared {
    pub settings: Arc<Settings>,
    pub db: callbase_db::Db,
    pub redis_client: redis::Client,
    pub redis: redis::aio::ConnectionManager,
    pub owner: String,
    pub media_base: Option<String>,
}

/// A node's running workers: stopped through `stop`, finished when `tasks` are.
struct Running {
    node: Arc<Node>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Runs the workers of the nodes this replica serves (`workers.nodes`) until `shutdown`.
pub async fn supervise(nodes: Nodes, shared: Shared, mut shutdown: watch::Receiver<bool>) {
    let mut running: HashMap<String, Running> = HashMap::new();
    loop {
        let wanted = match shared.settings.workers.nodes {
            NodesToRun::Configured => vec![nodes.configured()],
            // A `down` node keeps its workers: they reconnect when it comes back, and its Stasis
            // app then closes the records of the calls it lost.
            NodesToRun::All => match nodes.refresh().await {
                // A gone node will not come back: nobody asks it for anything.
                Ok(all) => all.into_iter().filter(|n| n.row.state != "gone").collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the node registry; the running node workers stay");
                    running.values().map(|r| r.node.clone()).collect()
                }
            },
        };
        // Stop the workers of nodes that went away or whose addresses changed; start those missing.
        // A node that was drained, put back or had its capacity changed keeps its workers: a
        // restart hands the Stasis lease over, and a call arriving meanwhile would be refused.
        let keep: HashMap<&str, &Arc<Node>> = wanted.iter().map(|n| (n.id(), n)).collect();
        let stale: Vec<String> = running
            .iter()
            .filter(|(id, r)| keep.get(id.as_str()).is_none_or(|n| !n.same_connection(&r.node)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some(r) = running.remove(&id) {
                tracing::info!(node = %id, "node gone or changed: stopping its workers");
                let _ = r.stop.send(true);
                futures_util::future::join_all(r.tasks).await;
            }
        }
        for n in wanted {
            if !running.contains_key(n.id()) {
                tracing::info!(node = %n.id(), "starting the node's workers");
                running.insert(n.id().to_string(), start(&n, &shared, &nodes));
            }
        }
        let gone = tokio::select! {
            _ = tokio::time::sleep(REFRESH) => false,
            r = shutdown.changed() => r.is_err(),
        };
        if gone || *shutdown.borrow() {
            break;
        }
    }
    for r in running.values() {
        let _ = r.stop.send(true);
    }
    futures_util::future::join_all(running.into_values().flat_map(|r| r.tasks)).await;
}

/// Starts a node's leased workers.
fn start(node: &Arc<Node>, shared: &Shared, nodes: &Nodes) -> Running {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let leased =
        |name: &str| Lease::new(&format!("{name}:{}", node.id()), &shared.owner, LeaseConfig::default());
    let workers = &shared.settings.workers;
    if workers.stasis {
        let (node, s) = (node.clone(), shared.clone());
        tasks.push(tokio::spawn(leased("stasis").run(
            shared.redis.clone(),
            stopped.clone(),
            move |held, stop| {
                // The worker's ARI client and call writes are fenced by the lease it holds.
                let ctx = callbase_telephony::context::Ctx {
                    ari: node.ari.fenced(held.clone()),
                    ami: node.ami.clone(),
                    db: s.db.clone(),
                    redis: s.redis.clone(),
                    router: Default::default(),
                    media_base: s.media_base.clone(),
                    node: node.id().to_string(),
                    fence: held,
                };
                callbase_telephony::stasis::run(ctx, s.redis_client.clone(), stop)
            },
        )));
    }
    if let (true, Some(ami)) = (workers.registration_monitor, node.ami.clone()) {
        let every = Duration::from_secs(workers.reconcile_secs);
        let (node, nodes, redis, db) = (node.clone(), nodes.clone(), shared.redis.clone(), shared.db.clone());
        tasks.push(tokio::spawn(leased("registrations").run(
            shared.redis.clone(),
            stopped.clone(),
            move |_held, stop| {
                let (ami, redis, node, nodes) = (ami.clone(), redis.clone(), node.clone(), nodes.clone());
                let presence =
                    callbase_telephony::registrations::Presence { ari: node.ari.clone(), db: db.clone() };
                async move {
                    // Trunks may point at no node of the platform (checked again while in use).
                    let cfg = nodes.with_every_listener(&node).await;
                    let policy = callbase_telephony::carrier::policy(&cfg).await;
                    callbase_telephony::registrations::run(ami, presence, redis, policy, every, stop).await
                }
            },
        )));
    }
    if shared.settings.probe.every_secs > 0 {
        match shared.db.lookup() {
            Some(pool) => {
                // The health probe of this node: its platform path and the trunk paths of the
                // tenants on it. The settings' node keeps the name `probe.node` in results.
                let configured = nodes.configured().id().to_string();
                let at = callbase_telephony::probe::ProbeNode {
                    name: if node.id() == configured {
                        shared.settings.probe.node.clone()
                    } else {
                        node.id().to_string()
                    },
                    node: node.id().to_string(),
                    default_node: configured,
                    ws_url: node.sip_ws_url().to_string(),
                    ami: node.ami.clone(),
                };
                let (pool, cfg) = (pool.clone(), shared.settings.probe.clone());
                tasks.push(tokio::spawn(leased("probe").run(
                    shared.redis.clone(),
                    stopped.clone(),
                    move |_held, stop| {
                        callbase_telephony::probe::run(cfg.clone(), pool.clone(), at.clone(), stop)
                    },
                )));
            }
            None => {
                tracing::warn!(node = %node.id(), "database.worker_url is not set: the health probe does not run")
            }
        }
    }
    Running { node: node.clone(), stop, tasks }
}
