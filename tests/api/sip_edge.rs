//! The SIP edge (issue #17, "Routing"): Kamailio with `infra/kamailio/edge.cfg` in front of the test
//! stack's two platform Asterisk nodes. Desk phones register and call through the one edge address;
//! the edge sends each to its tenant's node (by the account in the login, read from PostgreSQL as
//! callbase_kamailio), adds a Path so the node reaches the phone back through it, and refuses logins
//! of unknown accounts itself.

use std::time::Duration;

use callbase_core::TenantId;
use callbase_telephony::nodes::Node;
use callbase_tests::calls::sipp_call_through;
use callbase_tests::kamailio::Kamailio;
use callbase_tests::sip::{register, RingingPhone};
use callbase_tests::{env, worker_pool};
use reqwest::StatusCode;
use serde_json::json;

use crate::calls::wait_result;
use callbase_tests::nodes::{every_node_app, inbound_call, main_and_node2};

use crate::nodes::{node_of_last_call, trunk};
use callbase_tests::calls::desk_phone;

/// The contacts a node holds for an endpoint: (URI, Path), from AMI `PJSIPShowContacts`.
async fn contacts_on(node: &Node, endpoint: &str) -> Vec<(String, String)> {
    let ami = node.ami.as_ref().expect("the stack's nodes have AMI");
    let r = ami.action_collect("PJSIPShowContacts", &[]).await.expect("PJSIPShowContacts");
    r.events
        .iter()
        .filter(|e| e.event() == Some("ContactList") && e.get("Endpoint") == Some(endpoint))
        .map(|e| {
            (e.get("Uri").unwrap_or_default().to_string(), e.get("Path").unwrap_or_default().to_string())
        })
        .collect()
}

/// Sends one SIP request over UDP to the edge, as a phone would, and returns the status of the final
/// answer (0: none within 5 s).
async fn edge_answers(edge: &Kamailio, request: impl Fn(std::net::SocketAddr) -> String) -> u16 {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let msg = request(sock.local_addr().unwrap());
    sock.send_to(msg.as_bytes(), edge.addr()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    loop {
        let Ok(Ok((n, _))) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf)).await
        else {
            return 0;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let code: u16 = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code >= 200 {
            return code;
        }
    }
}

#[tokio::test]
async fn desk_phones_register_and_call_through_the_edge_on_their_tenants_node_only() {
    let app = every_node_app(&[]).await;
    // A: placed like any new tenant (on main). B: put on node2 before telephony is on.
    let (admin_a, a) = app.telephony_tenant().await;
    let (admin_b, b) = app.new_tenant().await;
    callbase_db::nodes::move_tenant(&worker_pool().await, TenantId(b.id), "node2")
        .await
        .unwrap()
        .expect("tenant B exists");
    let r = admin_b.post("/api/telephony/enable", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let num_b = "4951130002";
    let trunk_b = trunk(&admin_b, "B", num_b).await;
    let (login_a, pw_a) = desk_phone(&admin_a, a.admin_id).await;
    let (login_b, pw_b) = desk_phone(&admin_b, b.admin_id).await;
    let (main, node2) = main_and_node2(&app).await;
    let edge = Kamailio::edge().await;

    // Logins of no tenant are refused by the edge itself (Asterisk would challenge with 401).
    assert_eq!(register(edge.addr(), "nosuch-account_101", "whatever", 60).await, 404, "unknown account");
    assert_eq!(register(edge.addr(), "boss", "whatever", 60).await, 404, "not an <account>_<ext> login");
    // A request "inside a dialog" whose route leads anywhere but a node is not relayed (127.0.0.2:
    // no node there; the edge must not be anyone's relay).
    let edge_uri = format!("127.0.0.1:{}", edge.port);
    let forged = edge_answers(&edge, |local| {
        format!(
            "BYE sip:victim@127.0.0.2:5999 SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKforged{}\r\n\
             Route: <sip:{edge_uri};lr>\r\nMax-Forwards: 70\r\nFrom: <sip:{login_a}@callbase>;tag=a\r\n\
             To: <sip:victim@callbase>;tag=b\r\nCall-ID: forged-{}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
            local.port(),
            local.port()
        )
    })
    .await;
    assert_eq!(forged, 403, "an in-dialog request toward a non-node is refused");

    // Each phone registers through the edge and lands on its tenant's node, with the edge's Path.
    let phone_a = RingingPhone::start(edge.addr(), &login_a, &pw_a).await;
    let phone_b = RingingPhone::answering(edge.addr(), &login_b, &pw_b, Duration::from_millis(1500)).await;
    for (node, login, other) in [(&main, &login_a, &login_b), (&node2, &login_b, &login_a)] {
        let held = contacts_on(node, login).await;
        assert_eq!(held.len(), 1, "node {} holds {login}'s contact: {held:?}\n{}", node.id(), edge.log());
        assert!(held[0].1.contains(&edge_uri), "the contact on {} has the edge's Path: {held:?}", node.id());
        let foreign = contacts_on(node, other).await;
        assert!(foreign.is_empty(), "node {} must not hold {other}'s contact: {foreign:?}", node.id());
    }

    // B's phone calls out through the edge: node2 takes it (digest auth) and sends it over B's trunk.
    let (ok, log) = sipp_call_through(&edge_uri, &login_b, &pw_b, "1234567", 200, 1500).await;
    assert!(ok, "B's call through the edge was answered:\n{log}\n{}", edge.log());
    let c = wait_result(b.id).await;
    assert_eq!(c["result"], "answered", "{c}");
    assert_eq!(node_of_last_call(b.id).await.as_deref(), Some("node2"));

    // The carrier calls B's number: node2 rings B's desk phone through the edge (the Path it
    // registered with); the phone answers, and hangs up after a while along the recorded route.
    let r =
        admin_b.put("/api/telephony/routing", json!({"ring_timeout_secs": 15, "forward_number": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let carrier_user = env("CALLBASE_CARRIER_TENANT_B_USER");
    callbase_tests::calls::carrier_calls(num_b, &carrier_user, "9998", "79161234567").await;
    let start = tokio::time::Instant::now();
    while phone_b.hangups.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "B's desk phone answered a call through the edge and hung up (INVITEs: {:?})\n{}",
            phone_b.invite_texts.lock().unwrap(),
            edge.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let invite = phone_b.invite_texts.lock().unwrap()[0].clone();
    assert!(
        invite.lines().any(|l| l.to_ascii_lowercase().starts_with("record-route:") && l.contains(&edge_uri)),
        "the INVITE came through the edge: {invite}"
    );
    assert_eq!(phone_b.hangups.lock().unwrap()[0], 200, "the phone's BYE reached node2 through the edge");
    let pool = worker_pool().await;
    let (result, node) = inbound_call(b.id).await.expect("B's inbound call was recorded");
    assert_eq!((result.as_str(), node.as_deref()), ("answered", Some("node2")));
    assert!(phone_a.invites.lock().unwrap().is_empty(), "A's phone never rang for B's call");

    // The account's node is looked up on every request: once A is moved to node2, A's next
    // REGISTER through the edge lands there.
    callbase_db::nodes::move_tenant(&pool, TenantId(a.id), "node2").await.unwrap().expect("tenant A exists");
    assert_eq!(register(edge.addr(), &login_a, &pw_a, 60).await, 200, "A registers after the move");
    let held = contacts_on(&node2, &login_a).await;
    assert_eq!(held.len(), 1, "node2 holds A's contact after the move: {held:?}");

    // Only this trunk's calls: a broader pattern hangs up other suites' calls to the carrier.
    let ami = callbase_tests::carrier_ami().await;
    let _ = ami.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{carrier_user}-/"))]).await;
    admin_b.delete(&format!("/api/trunks/{}", trunk_b["id"])).await;
}
