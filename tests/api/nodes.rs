//! Tenants pinned to Asterisk nodes (issue #17): the test stack runs two platform nodes, `main`
//! (read as callbase_ast) and `node2` (read as callbase_ast_node2, capacity 0 so only moved tenants
//! land there). One server runs the Stasis app and the registration monitor of both.

use std::time::Duration;

use callbase_core::TenantId;
use callbase_telephony::nodes::{Node, Nodes};
use callbase_tests::calls::{desk_phone, sipp_call_via, wait_for_trunk};
use callbase_tests::nodes::{every_node_app, inbound_call, main_and_node2, node_of, registers};
use callbase_tests::sip::register_ws;
use callbase_tests::{env, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::calls::wait_result;

/// The tenants whose PJSIP rows a role reads.
async fn tenants_seen_by(url: &str) -> Vec<i64> {
    let pool = sqlx::PgPool::connect(url).await.expect("an Asterisk role connects");
    let mut seen: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM ast.ps_endpoints WHERE tenant_id IS NOT NULL
         UNION SELECT DISTINCT tenant_id FROM ast.ps_registrations WHERE tenant_id IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    seen.sort();
    seen
}

pub(crate) async fn trunk(admin: &Browser, who: &str, number: &str) -> Value {
    let r = admin
        .post(
            "/api/trunks",
            json!({"mode": "extended", "number": number, "username": env(&format!("CALLBASE_CARRIER_TENANT_{who}_USER")),
                   "password": env(&format!("CALLBASE_CARRIER_TENANT_{who}_PASSWORD")), "domain": env("CALLBASE_CARRIER_SIP")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    wait_for_trunk(admin, &r.body["id"], "registered", Duration::from_secs(20)).await;
    r.body
}

pub(crate) async fn node_of_last_call(tenant: i64) -> Option<String> {
    sqlx::query_scalar("SELECT node FROM calls WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 1")
        .bind(tenant)
        .fetch_one(&worker_pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_node_registers_and_serves_only_the_tenants_placed_on_it() {
    let app = every_node_app(&[]).await;
    let pool = worker_pool().await;
    // A: placed like any new tenant (node2 has no room). B: put on node2 before telephony is on.
    let (admin_a, a) = app.telephony_tenant().await;
    let (admin_b, b) = app.new_tenant().await;
    callbase_db::nodes::move_tenant(&pool, TenantId(b.id), "node2").await.unwrap().expect("tenant B exists");
    let r = admin_b.post("/api/telephony/enable", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(node_of(a.id).await.as_deref(), Some("main"), "a new tenant goes to the node with room");
    assert_eq!(
        node_of(b.id).await.as_deref(),
        Some("node2"),
        "turning telephony on keeps a placed tenant's node"
    );

    // Each trunk registers from its tenant's node only.
    let (num_a, num_b) = ("4951120001", "4951120002");
    let trunk_a = trunk(&admin_a, "A", num_a).await;
    let trunk_b = trunk(&admin_b, "B", num_b).await;
    let (main, node2) = main_and_node2(&app).await;
    let regs = |n: &Node| {
        let ami = n.ami.clone().expect("the stack's nodes have AMI");
        async move {
            ami.outbound_registrations()
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.id, r.status))
                .collect::<Vec<_>>()
        }
    };
    let (id_a, id_b) = (format!("t{}-trk1", a.id), format!("t{}-trk1", b.id));
    let (on_main, on_node2) = (regs(&main).await, regs(&node2).await);
    assert!(
        on_main.iter().any(|(id, s)| *id == id_a && s == "Registered"),
        "main registers A's trunk: {on_main:?}"
    );
    assert!(
        on_node2.iter().any(|(id, s)| *id == id_b && s == "Registered"),
        "node2 registers B's trunk: {on_node2:?}"
    );
    assert!(!on_main.iter().any(|(id, _)| *id == id_b), "main must not register B's trunk: {on_main:?}");
    assert!(!on_node2.iter().any(|(id, _)| *id == id_a), "node2 must not register A's trunk: {on_node2:?}");

    // Each node's database role reads only its tenants' rows…
    let seen_main = tenants_seen_by(&env("CALLBASE_DATABASE_AST_URL")).await;
    let seen_node2 = tenants_seen_by(&env("CALLBASE_DATABASE_AST_NODE2_URL")).await;
    assert!(seen_main.contains(&a.id) && !seen_main.contains(&b.id), "main's role reads {seen_main:?}");
    assert!(seen_node2.contains(&b.id) && !seen_node2.contains(&a.id), "node2's role reads {seen_node2:?}");
    let on_node2 = callbase_db::nodes::tenants_on(&pool, "node2").await.unwrap();
    assert!(seen_node2.iter().all(|t| on_node2.contains(&TenantId(*t))), "node2 reads only tenants on it");
    // …so each Asterisk knows only its tenants' phones.
    let (login_a, pw_a) = desk_phone(&admin_a, a.admin_id).await;
    let (login_b, pw_b) = desk_phone(&admin_b, b.admin_id).await;
    for (node, login, known) in [
        (&main, &login_a, true),
        (&main, &login_b, false),
        (&node2, &login_b, true),
        (&node2, &login_a, false),
    ] {
        let found = node.ari.pjsip_endpoint(login).await.unwrap().is_some();
        assert_eq!(found, known, "node {} knows endpoint {login}: {found}", node.id());
    }

    // B's desk phone calls out through node2 and B's trunk; the call runs on node2.
    let (ok, log) = sipp_call_via(&env("CALLBASE_NODE2_SIP"), &login_b, &pw_b, "1234567", 200, 1500).await;
    assert!(ok, "B's call through node2 was answered:\n{log}");
    let c = wait_result(b.id).await;
    assert_eq!(c["result"], "answered", "{c}");
    assert_eq!(node_of_last_call(b.id).await.as_deref(), Some("node2"));
    // B's phone cannot use node main, which does not know it.
    let (ok, _) = sipp_call_via(&env("CALLBASE_PLATFORM_SIP"), &login_b, &pw_b, "1234567", 200, 500).await;
    assert!(!ok, "node main must refuse B's phone");
    // A's phone calls through main.
    let (ok, log) = sipp_call_via(&env("CALLBASE_PLATFORM_SIP"), &login_a, &pw_a, "1234567", 200, 1000).await;
    assert!(ok, "A's call through main was answered:\n{log}");
    assert_eq!(node_of_last_call(a.id).await.as_deref(), Some("main"));

    // The carrier calls B's number: it reaches node2 (which registered the trunk), B's Stasis there.
    callbase_tests::calls::carrier_calls(
        num_b,
        &env("CALLBASE_CARRIER_TENANT_B_USER"),
        "9998",
        "79161234567",
    )
    .await;
    let (_, node) = inbound_call(b.id).await.expect("B's inbound call was recorded");
    assert_eq!(node.as_deref(), Some("node2"));

    for (admin, t) in [(&admin_a, &trunk_a), (&admin_b, &trunk_b)] {
        admin.delete(&format!("/api/trunks/{}", t["id"])).await;
    }
}

/// Placement: a new tenant goes to the least-loaded live node with room; a full, draining or down
/// node takes none; when no node has room, turning telephony on says so (503) and changes nothing.
#[tokio::test]
async fn new_tenants_go_to_the_least_loaded_live_node_and_a_full_platform_refuses_them() {
    let app = TestApp::spawn().await;
    let pool = worker_pool().await;
    let mut tenants = vec![];
    for _ in 0..6 {
        tenants.push(app.new_tenant().await.1.id);
    }
    // Two nodes of this test (capacity 2 and 3), and every other node set aside (draining): all of
    // it inside one transaction that is rolled back, so other tests never see it.
    let ids = [callbase_tests::unique("pl-a-"), callbase_tests::unique("pl-b-")];
    let mut tx = pool.begin().await.unwrap();
    for (id, capacity) in ids.iter().zip([2, 3]) {
        sqlx::query(
            "INSERT INTO nodes (id, ari_url, capacity, db_role) VALUES ($1, 'http://127.0.0.1:1', $2, $3)",
        )
        .bind(id)
        .bind(capacity)
        .bind(format!("test_role_{}", id.replace('-', "_")))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE nodes SET state = 'draining' WHERE NOT (id = ANY($1))")
        .bind(&ids[..])
        .execute(&mut *tx)
        .await
        .unwrap();
    let mut got = vec![];
    for &tenant in &tenants {
        let placed: Option<String> =
            sqlx::query_scalar("SELECT place_tenant($1)").bind(tenant).fetch_one(&mut *tx).await.unwrap();
        got.push(placed);
    }
    // Tenants over capacity, ties broken by fewer tenants, then the id: a (0/2 = 0/3, "pl-a" first),
    // b (0 < 1/2), b (1/3 < 1/2), a (1/2 < 2/3; a is full), b (b is full), then none.
    let (a, b) = (Some(ids[0].clone()), Some(ids[1].clone()));
    assert_eq!(got, vec![a.clone(), b.clone(), b.clone(), a.clone(), b.clone(), None], "placement by load");
    // A tenant already placed keeps its node, even on a full node.
    let again: Option<String> =
        sqlx::query_scalar("SELECT place_tenant($1)").bind(tenants[0]).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(again, a);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_moved_tenant_registers_its_trunk_and_its_idle_browser_phone_on_the_new_node() {
    let app = every_node_app(&[]).await;
    let pool = worker_pool().await;
    let (admin, t) = app.telephony_tenant().await;
    let trunk = trunk(&admin, "A", "4951120003").await;
    let trunk_id = format!("t{}-trk1", t.id);
    let (main, node2) = main_and_node2(&app).await;
    assert!(registers(&main, &trunk_id).await, "the trunk starts on main");
    // The administrator's browser phone, registered through /sip on main.
    let s = admin.post("/api/phone/session", json!({})).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    let (user, password) =
        (s.body["authorization_user"].as_str().unwrap(), s.body["password"].as_str().unwrap());
    let mut phone = crate::sockets::open(&admin, "/sip").await;
    assert_eq!(register_ws(&mut phone, user, password, 120).await, 200);
    assert_eq!(admin.get("/api/phone/status").await.body["registered"], true);

    let nodes = Nodes::new(&app.settings.asterisk, callbase_db::Db::new(pool.clone()));
    let from =
        callbase_telephony::failover::move_tenant(&nodes, &pool, TenantId(t.id), "node2").await.unwrap();
    assert_eq!(from.as_deref(), Some("main"));
    // The idle phone is told to reconnect; its next socket leads to node2, where it registers.
    let close = crate::sockets::closed_with(&mut phone, Duration::from_secs(10)).await;
    assert_eq!(close, Some((1012, "node_moved".into())), "the idle phone's socket is closed to move it");
    let mut phone = crate::sockets::open(&admin, "/sip").await;
    assert_eq!(register_ws(&mut phone, user, password, 120).await, 200, "the phone registers on node2");
    assert!(
        !node2.ami.as_ref().unwrap().contact_statuses(user).await.unwrap().is_empty(),
        "node2 holds the phone"
    );
    assert_eq!(admin.get("/api/phone/status").await.body["registered"], true, "the status asks node2");
    // The trunk: un-REGISTERed from main, registered from node2.
    let start = tokio::time::Instant::now();
    loop {
        let moved = registers(&node2, &trunk_id).await && !registers(&main, &trunk_id).await;
        if moved {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the trunk did not move to node2 within 20 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!("trunk registered from node2 {:?} after the move", start.elapsed());
    admin.delete(&format!("/api/trunks/{}", trunk["id"])).await;
}

/// The platform operator's API answers only to its bearer token (404 when none is configured), lists
/// the nodes with their load, refuses bad states and unknown nodes, and moves a tenant.
#[tokio::test]
async fn the_platform_api_lists_nodes_and_moves_a_tenant_for_its_token_holder_only() {
    let off = TestApp::spawn().await;
    assert_eq!(off.browser().get("/platform/nodes").await.status, StatusCode::NOT_FOUND);
    let app = TestApp::spawn_with(&[("CALLBASE__HTTP__PLATFORM_TOKEN", "operator-secret")]).await;
    let b = app.browser();
    let as_operator = |m: reqwest::Method, path: &str| b.request(m, path).bearer_auth("operator-secret");
    assert_eq!(b.get("/platform/nodes").await.status, StatusCode::UNAUTHORIZED);
    let wrong = b.send(b.request(reqwest::Method::GET, "/platform/nodes").bearer_auth("guess")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let list = b.send(as_operator(reqwest::Method::GET, "/platform/nodes")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let ids: Vec<&str> = list.body.as_array().unwrap().iter().filter_map(|n| n["id"].as_str()).collect();
    assert!(ids.contains(&"main") && ids.contains(&"node2"), "{ids:?}");
    assert!(list.body[0]["tenants"].is_i64(), "each node has its load: {}", list.text);
    let bad = b
        .send(
            as_operator(reqwest::Method::PUT, "/platform/nodes/node2/state")
                .json(&json!({"state": "asleep"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    let (admin, t) = app.telephony_tenant().await;
    let path = format!("/platform/tenants/{}/node", t.id);
    let unknown = b.send(as_operator(reqwest::Method::PUT, &path).json(&json!({"node": "nowhere"}))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.text);
    // A tenant's own administrator cannot use it, signed in or not.
    assert_eq!(
        admin.send(admin.request(reqwest::Method::PUT, &path).json(&json!({"node": "node2"}))).await.status,
        StatusCode::UNAUTHORIZED
    );
    let moved = b.send(as_operator(reqwest::Method::PUT, &path).json(&json!({"node": "node2"}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["from"], "main");
    assert_eq!(moved.body["to"], "node2");
    assert_eq!(node_of(t.id).await.as_deref(), Some("node2"));
}

/// A trunk may point at no Asterisk node of the platform: not its tenant's node, and not another
/// one (node2's SIP address is not among the settings' listeners; the registry names it).
#[tokio::test]
async fn a_trunk_may_not_point_at_any_node_of_the_platform() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.telephony_tenant().await;
    for host in [env("CALLBASE_NODE2_SIP"), env("CALLBASE_PLATFORM_SIP")] {
        let r = admin
            .post("/api/trunks", json!({"mode": "extended", "username": "x", "password": "x", "domain": "callbase", "host": host}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{host}: {}", r.text);
        assert_eq!(r.body["code"], "trunk_host_refused", "{host}");
    }
}

/// A browser phone whose tenant's node does not answer is not refused at once: the `/sip` relay
/// holds its handshake and looks the tenant's node up again each second, so when the tenant is
/// moved off the dead node (as the failover worker does after `workers.node_down_secs`) the phone
/// registers on the new node within a second, instead of failing and backing off (JsSIP waits up
/// to 30 s between attempts).
#[tokio::test]
async fn a_phone_whose_node_does_not_answer_waits_and_registers_where_its_tenant_is_moved() {
    let app = TestApp::spawn().await;
    let pool = worker_pool().await;
    let (admin, t) = app.telephony_tenant().await;
    let s = admin.post("/api/phone/session", json!({})).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    let (user, password) = (
        s.body["authorization_user"].as_str().unwrap().to_owned(),
        s.body["password"].as_str().unwrap().to_owned(),
    );
    // A node that does not answer (nothing listens on port 1), draining so nothing else lands on it.
    let dead = callbase_tests::unique("dead-");
    sqlx::query(
        "INSERT INTO nodes (id, ari_url, ws_url, capacity, state, db_role)
         VALUES ($1, 'http://127.0.0.1:1', 'ws://127.0.0.1:1/ws', 0, 'draining', $2)",
    )
    .bind(&dead)
    .bind(format!("test_role_{}", dead.replace('-', "_")))
    .execute(&pool)
    .await
    .unwrap();
    let before: Option<String> = node_of(t.id).await;
    sqlx::query("UPDATE tenants SET node_id = $2 WHERE id = $1")
        .bind(t.id)
        .bind(&dead)
        .execute(&pool)
        .await
        .unwrap();

    let opening = tokio::spawn(crate::sockets::connect(&admin, "/sip"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!opening.is_finished(), "the phone's socket waits for its node rather than failing");
    let moved_at = tokio::time::Instant::now();
    sqlx::query("UPDATE tenants SET node_id = $2 WHERE id = $1")
        .bind(t.id)
        .bind(&before)
        .execute(&pool)
        .await
        .unwrap();
    let mut phone = tokio::time::timeout(Duration::from_secs(5), opening)
        .await
        .expect("the socket opens within 5 s of the move")
        .unwrap()
        .expect("the socket opens once the tenant's node answers");
    println!("the phone's socket opened {:?} after the move", moved_at.elapsed());
    assert_eq!(
        register_ws(&mut phone, &user, &password, 120).await,
        200,
        "the phone registers on the new node"
    );
    sqlx::query("DELETE FROM nodes WHERE id = $1").bind(&dead).execute(&pool).await.unwrap();
}

/// Draining a node (or putting it back) is not a change of how it is reached: its workers keep
/// running and its Stasis lease stays with its holder. (Restarting them handed the lease over, and
/// a call arriving in that moment was refused: an e2e call failed so in CI.)
#[tokio::test]
async fn draining_a_node_and_putting_it_back_keeps_its_workers_and_stasis_lease() {
    let _app = every_node_app(&[]).await;
    let client = redis::Client::open(env("CALLBASE__REDIS__URL")).expect("redis url");
    let mut r = redis::aio::ConnectionManager::new(client).await.expect("redis");
    let pool = worker_pool().await;
    let holder = |r: &mut redis::aio::ConnectionManager| {
        let mut r = r.clone();
        async move { callbase_telephony::lease::Lease::holder(&mut r, "stasis:node2").await.unwrap() }
    };
    let start = tokio::time::Instant::now();
    let first = loop {
        if let Some(h) = holder(&mut r).await {
            break h;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "nobody took node2's Stasis lease");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let state: String =
        sqlx::query_scalar("SELECT state FROM nodes WHERE id = 'node2'").fetch_one(&pool).await.unwrap();
    for s in ["draining", state.as_str()] {
        sqlx::query("UPDATE nodes SET state = $1 WHERE id = 'node2'").bind(s).execute(&pool).await.unwrap();
        // Longer than the supervisors' registry refresh (5 s).
        tokio::time::sleep(Duration::from_secs(6)).await;
        let now = holder(&mut r).await.expect("node2's Stasis lease is held");
        assert_eq!(
            (now.owner.as_str(), now.token),
            (first.owner.as_str(), first.token),
            "after setting node2 {s}"
        );
    }
}
