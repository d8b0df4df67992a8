//! The platform's Asterisk nodes as the server uses them: a client set (ARI, AMI, the SIP
//! WebSocket URL) per node of the registry (`callbase_db::nodes`, migration 0021), and the node of
//! each tenant. Everything a tenant does goes to its node: trunk and endpoint changes (sorcery
//! cache expiry, module reloads), registration checks, hang-ups, the `/sip` relay, recordings.
//!
//! The node named in the settings (`asterisk.node`, with `asterisk.ari_url` and friends) is
//! registered by every server at start (a single-node install needs nothing else) and serves the
//! tenants that have no node yet. Other nodes are registered with `callbase node add`; the
//! credentials (`asterisk.ari_user`, `ami_user`, their secrets) are the same on every node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use callbase_core::TenantId;
use callbase_db::nodes::{self as repo, NodeRow};
use callbase_db::Db;

use crate::ami::Ami;
use crate::ari::Ari;
use crate::lifecycle::Pbx;
use crate::AsteriskConfig;

/// One Asterisk node's clients.
pub struct Node {
    pub row: NodeRow,
    /// The node's settings: the shared credentials with this node's addresses.
    pub cfg: AsteriskConfig,
    pub ari: Ari,
    pub ami: Option<Ami>,
}

impl Node {
    fn new(base: &AsteriskConfig, row: NodeRow) -> Result<Self, NodeError> {
        let mut cfg = base.clone();
        cfg.node = row.id.clone();
        cfg.ari_url = url::Url::parse(&row.ari_url).map_err(|_| NodeError::BadRow(row.id.clone()))?;
        cfg.ws_url = match &row.ws_url {
            Some(u) => Some(url::Url::parse(u).map_err(|_| NodeError::BadRow(row.id.clone()))?),
            None => None,
        };
        cfg.ami_addr = row.ami_addr.clone();
        let ari = Ari::new(&cfg);
        let ami = match (&cfg.ami_addr, &cfg.ami_user, &cfg.ami_secret) {
            (Some(addr), Some(user), Some(secret)) => {
                Some(Ami::spawn(addr.clone(), user.clone(), secret.clone()))
            }
            _ => None,
        };
        Ok(Self { row, cfg, ari, ami })
    }

    pub fn id(&self) -> &str {
        &self.row.id
    }

    /// Whether `other` reaches the same Asterisk the same way (ARI, AMI, SIP WebSocket and SIP
    /// addresses, database role): a change of state (live, draining, down) or capacity alone is
    /// not a reason to restart the node's workers.
    pub fn same_connection(&self, other: &Node) -> bool {
        let (a, b) = (&self.row, &other.row);
        (&a.ari_url, &a.ami_addr, &a.ws_url, &a.sip_addr, &a.db_role)
            == (&b.ari_url, &b.ami_addr, &b.ws_url, &b.sip_addr, &b.db_role)
    }

    /// What telephony changes on this node need.
    pub fn pbx(&self) -> Pbx<'_> {
        Pbx { ari: &self.ari, ami: self.ami.as_ref() }
    }

    /// Where the `/sip` relay connects browsers of this node's tenants.
    pub fn sip_ws_url(&self) -> url::Url {
        self.cfg.sip_ws_url()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("node {0} has an invalid URL in the registry")]
    BadRow(String),
    #[error("the tenant's node {0} is not in the registry")]
    Unknown(String),
    #[error("every live node is full: no node can take the tenant")]
    Full,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The registry's nodes with their clients, shared by the API and the workers.
#[derive(Clone)]
pub struct Nodes {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: AsteriskConfig,
    db: Db,
    /// Clients by node id; a node whose row changed gets new clients.
    nodes: RwLock<HashMap<String, Arc<Node>>>,
    /// The node of the settings.
    configured: Arc<Node>,
    /// Recently read placements (tenant → node id, when read), for the open phone sockets' checks
    /// whether their tenant moved: one query per tenant per [`PLACEMENT_TTL`] on a replica, not
    /// one per socket.
    placements: Mutex<HashMap<TenantId, (Option<String>, Instant)>>,
}

/// How long a placement read for [`Nodes::node_id_recent`] is reused.
pub const PLACEMENT_TTL: Duration = Duration::from_secs(3);

impl Nodes {
    /// The node of the settings (always known, even before the registry is read) and nothing else
    /// until [`Nodes::refresh`].
    pub fn new(cfg: &AsteriskConfig, db: Db) -> Self {
        let row = configured_row(cfg);
        let configured = Arc::new(Node::new(cfg, row).expect("the settings' own URLs parse"));
        let nodes = HashMap::from([(configured.row.id.clone(), configured.clone())]);
        Self {
            inner: Arc::new(Inner {
                cfg: cfg.clone(),
                db,
                nodes: RwLock::new(nodes),
                configured,
                placements: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The node of the settings (`asterisk.node`).
    pub fn configured(&self) -> Arc<Node> {
        self.inner.configured.clone()
    }

    pub fn get(&self, id: &str) -> Option<Arc<Node>> {
        self.inner.nodes.read().expect("nodes").get(id).cloned()
    }

    /// The nodes known now, by id.
    pub fn known(&self) -> Vec<Arc<Node>> {
        let mut v: Vec<_> = self.inner.nodes.read().expect("nodes").values().cloned().collect();
        v.sort_by(|a, b| a.row.id.cmp(&b.row.id));
        v
    }

    /// Registers the node of the settings (idempotent; its state and tenants stay) and places the
    /// tenants that have telephony and no node on it. Needs the worker's pool.
    pub async fn register_configured(&self, worker: &sqlx::PgPool) -> sqlx::Result<()> {
        let mut row = configured_row(&self.inner.cfg);
        if let Some(existing) = repo::all(worker).await?.into_iter().find(|n| n.id == row.id) {
            // The capacity is the operator's (`callbase node add`), the addresses are the settings'.
            row.capacity = existing.capacity;
            row.sip_addr = row.sip_addr.or(existing.sip_addr);
        }
        repo::upsert(worker, &row).await?;
        let placed = repo::adopt_unplaced(worker, &row.id).await?;
        if placed > 0 {
            tracing::info!(node = %row.id, tenants = placed, "tenants with telephony and no node placed on this node");
        }
        Ok(())
    }

    /// Reads the registry: new nodes get clients, changed ones new clients, removed ones are
    /// forgotten (the node of the settings stays known). Returns the registry's nodes.
    pub async fn refresh(&self) -> sqlx::Result<Vec<Arc<Node>>> {
        let rows = repo::all(self.inner.db.pool()).await?;
        let mut fresh = HashMap::new();
        {
            let known = self.inner.nodes.read().expect("nodes");
            for row in rows {
                let node = match known.get(&row.id) {
                    Some(n) if n.row == row => n.clone(),
                    _ => match Node::new(&self.inner.cfg, row.clone()) {
                        Ok(n) => Arc::new(n),
                        Err(e) => {
                            tracing::warn!(error = %e, "node skipped");
                            continue;
                        }
                    },
                };
                fresh.insert(row.id.clone(), node);
            }
        }
        let mut registry: Vec<_> = fresh.values().cloned().collect();
        registry.sort_by(|a, b| a.row.id.cmp(&b.row.id));
        let conf = &self.inner.configured;
        fresh.entry(conf.row.id.clone()).or_insert_with(|| conf.clone());
        *self.inner.nodes.write().expect("nodes") = fresh;
        Ok(registry)
    }

    /// The node a tenant runs on: its registry node, or the node of the settings while it has
    /// none. Read at every call, so a move takes effect at once.
    pub async fn of_tenant(&self, tenant: TenantId) -> Result<Arc<Node>, NodeError> {
        let mut tx = self.inner.db.global_tx().await?;
        let id = repo::of_tenant(&mut tx, tenant).await?;
        tx.commit().await?;
        match id {
            None => Ok(self.configured()),
            Some(id) => self.by_id(&id).await,
        }
    }

    /// The id of the tenant's node (the settings' node while it has none), as read at most
    /// [`PLACEMENT_TTL`] ago on this replica.
    pub async fn node_id_recent(&self, tenant: TenantId) -> Result<String, NodeError> {
        let cached = self.inner.placements.lock().expect("placements").get(&tenant).cloned();
        let id = match cached {
            Some((id, at)) if at.elapsed() < PLACEMENT_TTL => id,
            _ => {
                let mut tx = self.inner.db.global_tx().await?;
                let id = repo::of_tenant(&mut tx, tenant).await?;
                tx.commit().await?;
                let mut p = self.inner.placements.lock().expect("placements");
                if p.len() > 10_000 {
                    p.retain(|_, (_, at)| at.elapsed() < PLACEMENT_TTL);
                }
                p.insert(tenant, (id.clone(), Instant::now()));
                id
            }
        };
        Ok(id.unwrap_or_else(|| self.inner.configured.row.id.clone()))
    }

    /// `node`'s settings with every registry node's SIP address among the platform's listeners:
    /// a trunk may point at no node of the platform, not only at its own (`crate::carrier`).
    /// Addresses given as names are left to `asterisk.sip_listeners`.
    pub async fn with_every_listener(&self, node: &Node) -> AsteriskConfig {
        let all = match self.refresh().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the node registry: the other nodes' SIP addresses are not checked");
                self.known()
            }
        };
        let mut cfg = node.cfg.clone();
        let mut listeners: Vec<String> =
            cfg.sip_listeners.iter().flat_map(|l| l.split(',')).map(|l| l.trim().to_string()).collect();
        listeners.extend(all.iter().filter_map(|n| n.row.sip_addr.clone()));
        listeners.retain(|l| !l.is_empty());
        cfg.sip_listeners = Some(listeners.join(","));
        cfg
    }

    /// The node `id`, reading the registry again when it is not known yet.
    pub async fn by_id(&self, id: &str) -> Result<Arc<Node>, NodeError> {
        if let Some(n) = self.get(id) {
            return Ok(n);
        }
        self.refresh().await?;
        self.get(id).ok_or_else(|| NodeError::Unknown(id.to_string()))
    }

    /// Places the tenant (telephony turned on) unless it has a node, and returns its node.
    pub async fn place(&self, tenant: TenantId) -> Result<Arc<Node>, NodeError> {
        let mut tx = self.inner.db.global_tx().await?;
        let id = repo::place(&mut tx, tenant).await?;
        tx.commit().await?;
        let id = id.ok_or(NodeError::Full)?;
        self.by_id(&id).await
    }
}

/// The settings' node as a registry row.
fn configured_row(cfg: &AsteriskConfig) -> NodeRow {
    NodeRow {
        id: cfg.node.clone(),
        ari_url: cfg.ari_url.to_string(),
        ami_addr: cfg.ami_addr.clone(),
        ws_url: cfg.ws_url.as_ref().map(|u| u.to_string()),
        sip_addr: None,
        capacity: 1000,
        state: "live".into(),
        db_role: cfg.db_role.clone(),
    }
}
