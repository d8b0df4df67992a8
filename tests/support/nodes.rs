//! Helpers of the tests about Asterisk nodes (tests/api/nodes.rs, sip_edge.rs,
//! tests/resilience/nodes.rs): the stack registers `main` and `node2` (infra/lib/stack.sh).

use std::sync::Arc;
use std::time::Duration;

use callbase_telephony::nodes::{Node, Nodes};

use crate::{worker_pool, TestApp};

/// A server that runs the Stasis app and the registration monitor of every registered node.
pub async fn every_node_app(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__NODES", "all"),
    ];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

/// The stack's nodes `main` and `node2`, with their clients.
pub async fn main_and_node2(app: &TestApp) -> (Arc<Node>, Arc<Node>) {
    let nodes = Nodes::new(&app.settings.asterisk, callbase_db::Db::new(worker_pool().await));
    (nodes.by_id("main").await.expect("node main"), nodes.by_id("node2").await.expect("node node2"))
}

/// Whether `node` registers trunk `id` (Asterisk's own view over AMI, not the status in Redis).
pub async fn registers(node: &Node, id: &str) -> bool {
    let ami = node.ami.as_ref().expect("the stack's nodes have AMI");
    ami.outbound_registrations()
        .await
        .unwrap_or_default()
        .iter()
        .any(|r| r.id == id && r.status == "Registered")
}

/// The node a tenant is placed on.
pub async fn node_of(tenant: i64) -> Option<String> {
    sqlx::query_scalar("SELECT node_id FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&worker_pool().await)
        .await
        .unwrap()
}

/// The (result, node) of the tenant's first finished inbound call, waiting up to 10 s for it.
pub async fn inbound_call(tenant: i64) -> Option<(String, Option<String>)> {
    let pool = worker_pool().await;
    for _ in 0..50 {
        let row = sqlx::query_as(
            "SELECT result, node FROM calls WHERE tenant_id = $1 AND direction = 'inbound' AND result IS NOT NULL",
        )
        .bind(tenant)
        .fetch_optional(&pool)
        .await
        .unwrap();
        if row.is_some() {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}
