//! Helpers of the tests about Asterisk nodes (tests/api/nodes.rs, sip_edge.rs,
//! tests/resilience/nodes.rs): the stack registers `main` and `node2` (infra/lib/stack.sh).

use std::sync::Arc;
use std::time::Duration;

use callbase_telephony::nodes::{Node, Nodes};

use callbase_core::TenantId;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{env, worker_pool, Browser, TestApp};

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

/// A new tenant moved to node2 with telephony on and a trunk to the carrier (tenant B's credential);
/// returns its administrator, the tenant and the trunk (not yet waited for).
pub async fn tenant_with_trunk_on_node2(app: &TestApp) -> (Browser, crate::Tenant, Value) {
    let (admin, t) = app.new_tenant().await;
    callbase_db::nodes::move_tenant(&worker_pool().await, TenantId(t.id), "node2")
        .await
        .unwrap()
        .expect("tenant exists");
    assert_eq!(admin.post("/api/telephony/enable", json!({})).await.status, StatusCode::OK);
    let r = admin
        .post(
            "/api/trunks",
            json!({"mode": "simple", "username": env("CALLBASE_CARRIER_TENANT_B_USER"),
              "password": env("CALLBASE_CARRIER_TENANT_B_PASSWORD"), "domain": env("CALLBASE_CARRIER_SIP")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (admin, t, r.body)
}
