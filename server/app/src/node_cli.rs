//! `callbase node …`: the platform operator's commands on the node registry (docs/operations.md,
//! "Asterisk nodes"). They run as the worker role (`database.worker_url`).

use anyhow::Context;
use callbase_core::TenantId;
use callbase_db::nodes::{self as repo, Gone, NodeRow};
use callbase_telephony::nodes::Nodes;

use crate::settings::Settings;

// Parsed once per command line: the size of the registration's arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(clap::Subcommand)]
pub enum NodeCmd {
    /// Add a platform Asterisk node to the registry, or change where it is reached (idempotent).
    Register(RegisterArgs),
    /// Every node: state, capacity and tenants.
    List,
    /// Put a tenant on another node: its next calls and registrations happen there.
    Move {
        /// The tenant's id.
        tenant: i64,
        /// The node it goes to.
        node: String,
    },
    /// Set a node's state: `live` (takes new tenants), `draining` (keeps its tenants, takes no
    /// new ones), `down`, or `gone` (it will not come back: the recordings still on it are marked
    /// lost; only once no tenant is on it).
    State { node: String, state: String },
}

#[derive(clap::Args)]
pub struct RegisterArgs {
    /// The node's id (lower-case letters, digits, dashes), e.g. the pod name `asterisk-0`.
    #[arg(long)]
    pub id: String,
    /// Its ARI base URL, e.g. `http://10.0.0.5:8088`.
    #[arg(long)]
    pub ari_url: url::Url,
    /// Its AMI `host:port`.
    #[arg(long)]
    pub ami_addr: Option<String>,
    /// Its SIP-over-WebSocket URL (default `ws://<ARI host:port>/ws`).
    #[arg(long)]
    pub ws_url: Option<url::Url>,
    /// Its SIP `host:port`, where the edge (Kamailio) sends desk phones.
    #[arg(long)]
    pub sip_addr: Option<String>,
    /// The most tenants it takes.
    #[arg(long, default_value_t = 1000)]
    pub capacity: i32,
    /// The PostgreSQL role its Asterisk reads the `ast` tables as (a member of callbase_ast).
    #[arg(long)]
    pub db_role: String,
}

async fn worker_pool(settings: &Settings) -> anyhow::Result<sqlx::PgPool> {
    let url = settings.database.worker_url.as_ref().context("database.worker_url is needed")?;
    callbase_db::lazy_pool(url, 2).context("database.worker_url")
}

pub async fn run(settings: &Settings, cmd: NodeCmd) -> anyhow::Result<()> {
    let pool = worker_pool(settings).await?;
    match cmd {
        NodeCmd::Register(a) => {
            let row = NodeRow {
                id: a.id,
                ari_url: a.ari_url.to_string(),
                ami_addr: a.ami_addr,
                ws_url: a.ws_url.map(|u| u.to_string()),
                sip_addr: a.sip_addr,
                capacity: a.capacity,
                state: "live".into(),
                db_role: a.db_role,
            };
            repo::upsert(&pool, &row).await.context("cannot register the node")?;
            println!("node {} registered", row.id);
        }
        NodeCmd::List => {
            for n in repo::loads(&pool).await? {
                let r = &n.node;
                println!(
                    "{:<16} {:<9} tenants {:>5}/{:<5} ari {} ami {} sip {} role {}",
                    r.id,
                    r.state,
                    n.tenants,
                    r.capacity,
                    r.ari_url,
                    r.ami_addr.as_deref().unwrap_or("-"),
                    r.sip_addr.as_deref().unwrap_or("-"),
                    r.db_role
                );
            }
        }
        NodeCmd::Move { tenant, node } => {
            let nodes = Nodes::new(&settings.asterisk, callbase_db::Db::new(pool.clone()));
            let from =
                callbase_telephony::failover::move_tenant(&nodes, &pool, TenantId(tenant), &node).await?;
            println!("tenant {tenant} moved from {} to {node}", from.as_deref().unwrap_or("(none)"));
        }
        NodeCmd::State { node, state } if state == "gone" => match repo::declare_gone(&pool, &node).await? {
            Gone::NoNode => anyhow::bail!("no node {node}"),
            Gone::HasTenants(n) => {
                anyhow::bail!("{n} tenants are still on node {node}: move them first (callbase node move)")
            }
            Gone::Done { recordings_lost, calls_closed } => println!(
                "node {node} is gone: {recordings_lost} recordings lost with it, {calls_closed} open call records closed"
            ),
        },
        NodeCmd::State { node, state } => {
            anyhow::ensure!(
                ["live", "draining", "down"].contains(&state.as_str()),
                "state is live, draining, down or gone"
            );
            anyhow::ensure!(repo::set_state(&pool, &node, &state).await?, "no node {node}");
            println!("node {node} is {state}");
        }
    }
    Ok(())
}
