//! A platform Asterisk node that dies (issue #17): its tenants move to another live node, which
//! registers their trunks within 60 s; browser phones follow through `/sip`.

use std::time::Duration;

use callbase_tests::nodes::{every_node_app, main_and_node2, node_of, registers, tenant_with_trunk_on_node2};
use callbase_tests::worker_pool;

use crate::infra_ast;

#[tokio::test]
async fn the_tenants_of_a_killed_node_move_and_their_trunks_register_elsewhere_within_60s() {
    let app = every_node_app(&[("CALLBASE__WORKERS__NODE_DOWN_SECS", "6")]).await;
    let pool = worker_pool().await;
    let (admin, t, r) = tenant_with_trunk_on_node2(&app).await;
    let trunk_id = format!("t{}-trk1", t.id);
    let (main, node2) = main_and_node2(&app).await;
    let start = tokio::time::Instant::now();
    while !registers(&node2, &trunk_id).await {
        assert!(start.elapsed() < Duration::from_secs(20), "the trunk registers from node2 first");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let killed = tokio::time::Instant::now();
    infra_ast("node2", "kill");
    // The watcher marks node2 down and places the tenant on main, which registers the trunk.
    loop {
        let on = node_of(t.id).await;
        if on.as_deref() == Some("main") && registers(&main, &trunk_id).await {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "not registered from main within 60 s (tenant on {on:?})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("node2 killed → trunk registered from main in {:?}", killed.elapsed());
    let state: String =
        sqlx::query_scalar("SELECT state FROM nodes WHERE id = 'node2'").fetch_one(&pool).await.unwrap();
    assert_eq!(state, "down");
    // The trunk page shows it green (main's registration monitor reports it) within the same 60 s.
    loop {
        let list = admin.get("/api/trunks").await;
        if list.body[0]["status"]["state"] == "registered" {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the trunk page is not green within 60 s: {}",
            list.text
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("node2 killed → trunk green on the page in {:?}", killed.elapsed());

    // Back to how the stack was: node2 running and live (an operator's decision, never the watcher's).
    infra_ast("node2", "start");
    assert!(callbase_db::nodes::set_state(&pool, "node2", "live").await.unwrap());
    admin.delete(&format!("/api/trunks/{}", r["id"])).await;
}
