//! `/sip`: the browser phone's SIP-over-WebSocket, relayed to Asterisk's `ws` transport on
//! loopback after the app session and the Origin are checked. Asterisk is never exposed to
//! browsers for signalling; media (DTLS-SRTP) goes to Asterisk directly.
//!
//! The relay also pins identity: every SIP request the browser sends that starts something must be from the caller's own
//! WebRTC endpoint (`From` user = `t<tenant>-w<user>`), so a signed-in user cannot use the relay
//! with someone else's SIP credentials. Sockets are registered per user so that removing or
//! disabling a telephony user (or turning telephony off) closes their phone at once.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use callbase_core::{TenantId, UserId};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;

use tokio::sync::watch;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::sockets::{Close, Kind};
use crate::AppState;

/// Open `/sip` sockets: closing a user's or a tenant's phones reaches every server replica
/// (`crate::sockets`).
#[derive(Clone)]
pub struct PhoneSockets {
    sockets: crate::sockets::Sockets,
}

impl PhoneSockets {
    pub fn new(sockets: crate::sockets::Sockets) -> Self {
        Self { sockets }
    }

    /// Closes every phone socket of a user (on every replica).
    pub fn close_user(&self, tenant: TenantId, user: UserId) {
        self.sockets.close_phones_of(tenant, user);
    }

    /// Closes every phone socket of a tenant (telephony turned off).
    pub fn close_tenant(&self, tenant: TenantId) {
        self.sockets.close_phones_of_tenant(tenant);
    }
}

pub async fn sip(
    State(st): State<AppState>,
    headers: HeaderMap,
    cu: CurrentUser,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    if !crate::auth::same_origin(&headers, &st.cfg.http.allowed_origins()) || headers.get("origin").is_none()
    {
        return Err(ApiError::Csrf("bad_origin"));
    }
    st.drain.refuse_new_socket()?;
    let me = crate::routes::phone::browser_agent(&st, &cu).await?;
    let endpoint = callbase_telephony::agents::web_id(cu.tenant_id, me.user_id);
    // The cap comes before the Asterisk connection: a refused socket costs Asterisk nothing.
    let mut reg = match st.sockets.open(Kind::Sip, cu.tenant_id, cu.user_id, &cu.session_token).await? {
        Ok(reg) => reg,
        Err(refused) => return Ok(crate::sockets::refuse(ws.protocols(["sip"]), refused)),
    };
    // The browser's phone registers on its tenant's node. Connect before upgrading, so a browser
    // never sees an open phone socket that leads nowhere.
    let (node, upstream) = connect_node(&st, cu.tenant_id).await?;
    let sockets = st.sockets.clone();
    let dialogs = crate::sip_dialogs::Dialogs::new(st.redis.clone(), cu.tenant_id, cu.user_id);
    let drain = st.drain.clone();
    let going_away = drain.closing();
    let moved = moved_away(st.nodes.clone(), node, cu.tenant_id, endpoint.clone());
    Ok(ws.protocols(["sip"]).on_upgrade(move |socket| {
        drain.track(async move {
            // Revoked (logout, disabled, password or groups changed, telephony removed) on any
            // replica, or the session gone: the relay closes the phone (4001). This replica
            // stopping closes it with 1012, and the phone reconnects through another replica.
            // Dropping `reg` at the end unregisters the socket and frees its slot.
            let (close, closed) = watch::channel(None);
            let supervise = async {
                tokio::select! {
                    why = sockets.supervise(&mut reg) => {
                        tracing::info!(code = why.code, reason = why.reason, "closing a phone socket");
                        let _ = close.send(Some((Close::PHONE_REMOVED.code, Close::PHONE_REMOVED.reason)));
                    }
                    _ = going_away => {
                        let _ = close.send(Some(crate::drain::GOING_AWAY));
                    }
                    _ = moved => {
                        tracing::info!(tenant.id = %cu.tenant_id, "the tenant moved to another node: closing an idle phone socket");
                        let _ = close.send(Some(MOVED));
                    }
                }
                std::future::pending::<()>().await
            };
            let presence = Presence { st: st.clone(), tenant: cu.tenant_id, user: me.user_id };
            tokio::select! {
                _ = relay(socket, upstream, &endpoint, dialogs, closed, &presence) => {}
                _ = supervise => {}
            }
            drop(reg);
            // Asterisk drops the contact of a closed WebSocket transport: the board hears it.
            presence.announce(Duration::from_millis(500));
        })
    }))
}

/// How long a phone's socket waits for its tenant's node to answer (issue #17). A node that died
/// is marked down and its tenants moved after `workers.node_down_secs` (15 s by default): holding
/// the phone's handshake meanwhile, and looking the tenant's node up again before each attempt,
/// lets the phone register on the new node as soon as the move is done, instead of backing off
/// (JsSIP doubles its reconnect delay up to 30 s after each failure).
const NODE_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

/// Connects to the SIP WebSocket of the tenant's node, trying again every second (its node looked
/// up again each time) for up to [`NODE_WAIT`] while this replica is not stopping.
async fn connect_node(
    st: &AppState,
    tenant: TenantId,
) -> ApiResult<(
    std::sync::Arc<callbase_telephony::nodes::Node>,
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
)> {
    let started = std::time::Instant::now();
    loop {
        let node = st.nodes.of_tenant(tenant).await?;
        let mut req = node
            .sip_ws_url()
            .as_str()
            .into_client_request()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("bad Asterisk ws URL: {e}")))?;
        req.headers_mut().insert("Sec-WebSocket-Protocol", "sip".parse().expect("static header"));
        let err = match tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio_tungstenite::connect_async(req),
        )
        .await
        {
            Ok(Ok((upstream, _))) => return Ok((node, upstream)),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out after 5 s".to_owned(),
        };
        if started.elapsed() >= NODE_WAIT || st.drain.draining() {
            tracing::warn!(node = %node.id(), error = %err, "cannot reach Asterisk's SIP WebSocket");
            return Err(ApiError::Unavailable {
                code: "asterisk_unavailable",
                message: "the phone service is unreachable; try again shortly".into(),
            });
        }
        tracing::debug!(node = %node.id(), error = %err, "the tenant's node does not answer yet: waiting");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// The close of a phone whose tenant moved to another Asterisk node: like a replica's drain, the
/// phone reconnects at once (`web/src/features/phone`), and its new socket leads to the new node.
const MOVED: (u16, &str) = (1012, "node_moved");

/// How often an open phone socket checks whether its tenant moved to another node.
const MOVE_CHECK: std::time::Duration = std::time::Duration::from_secs(3);

/// Ends once the tenant runs on another node than `node` (the one this socket leads to) and the
/// phone has no call there: a live call finishes where it is, the phone moves after it.
async fn moved_away(
    nodes: callbase_telephony::nodes::Nodes,
    node: std::sync::Arc<callbase_telephony::nodes::Node>,
    tenant: TenantId,
    endpoint: String,
) {
    loop {
        tokio::time::sleep(MOVE_CHECK).await;
        match nodes.node_id_recent(tenant).await {
            Ok(now) if now != node.id() => {}
            _ => continue,
        }
        // The endpoint's channels on the old node: none (or the node is gone) → move now.
        match node.ari.pjsip_endpoint(&endpoint).await {
            Ok(Some(e)) if e["channel_ids"].as_array().is_some_and(|c| !c.is_empty()) => continue,
            _ => return,
        }
    }
}

type Upstream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The presence board's news of this browser phone (issue #18): Asterisk reports no contact changes
/// for browser phones (their AORs are not qualified), so the relay says when one registered or went.
struct Presence {
    st: AppState,
    tenant: TenantId,
    user: UserId,
}

impl Presence {
    /// After `after`, publishes the user's devices as Asterisk has them then.
    fn announce(&self, after: Duration) {
        let (st, tenant, user) = (self.st.clone(), self.tenant, self.user);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let found = async {
                let mut tx = st.db.tenant_tx(tenant).await?;
                let u = callbase_db::telephony::get_user(&mut tx, tenant, user).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(u)
            }
            .await;
            let (Ok(Some(u)), Ok(node)) = (found, crate::routes::telephony::node(&st, tenant).await) else {
                return;
            };
            callbase_telephony::presence::publish(&node.pbx(), &st.redis, tenant, &u).await;
        });
    }
}

/// A 2xx answer to a REGISTER (the phone registered, or unregistered).
fn register_answered(msg: &str) -> bool {
    msg.starts_with("SIP/2.0 2")
        && msg.lines().take_while(|l| !l.is_empty()).any(|l| {
            l.split_once(':').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("cseq") && value.trim_end().ends_with("REGISTER")
            })
        })
}

async fn relay(
    mut browser: WebSocket,
    upstream: Upstream,
    endpoint: &str,
    mut dialogs: crate::sip_dialogs::Dialogs,
    mut closed: watch::Receiver<Option<(u16, &'static str)>>,
    presence: &Presence,
) {
    let (mut up_tx, mut up_rx) = upstream.split();
    let mut guard = Guard::new(endpoint);
    loop {
        tokio::select! {
            _ = closed.changed() => {
                let (code, reason) = (*closed.borrow()).unwrap_or((4001, "phone closed by the server"));
                let _ = browser.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                break;
            }
            m = browser.recv() => match m {
                Some(Ok(Message::Text(t))) => {
                    // A dialog this socket has not seen may be one of the user's from an earlier
                    // socket (the phone reconnected): the user's dialogs in Redis say.
                    if let Some(call_id) = guard.unknown_dialog(t.as_str()) {
                        if dialogs.owns(&call_id).await {
                            guard.remember(&call_id);
                        }
                    }
                    match guard.check_browser(t.as_str()) {
                        Err(why) => {
                            tracing::warn!(why, "SIP request over /sip refused");
                            let _ = browser.send(Message::Close(Some(CloseFrame { code: 4003, reason: why.into() }))).await;
                            break;
                        }
                        Ok(Some(call_id)) => dialogs.record(&call_id).await,
                        Ok(None) => {}
                    }
                    if up_tx.send(tungstenite::Message::Text(t.as_str().into())).await.is_err() { break; }
                }
                Some(Ok(Message::Binary(_))) => {
                    // RFC 7118 allows binary frames, but JsSIP sends text only: a binary frame would
                    // reach Asterisk unchecked, so it ends the socket.
                    tracing::warn!("binary frame over /sip refused");
                    let _ = browser.send(Message::Close(Some(CloseFrame { code: 4003, reason: "binary SIP frames are not accepted".into() }))).await;
                    break;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            },
            m = up_rx.next() => match m {
                Some(Ok(tungstenite::Message::Text(t))) => {
                    if let Some(call_id) = guard.note_asterisk(t.as_str()) {
                        dialogs.record(&call_id).await;
                    }
                    if register_answered(t.as_str()) {
                        presence.announce(Duration::ZERO);
                    }
                    if browser.send(Message::Text(t.as_str().into())).await.is_err() { break; }
                }
                Some(Ok(tungstenite::Message::Binary(b))) => {
                    if browser.send(Message::Binary(b)).await.is_err() { break; }
                }
                Some(Ok(tungstenite::Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = browser.send(Message::Close(Some(CloseFrame { code: 1011, reason: "phone service connection lost".into() }))).await;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = up_tx.send(tungstenite::Message::Close(None)).await;
}

/// How many dialogs a socket remembers (oldest forgotten first): a phone has a handful at a time.
const MAX_DIALOGS: usize = 128;

/// The relay's identity check. Every request the browser sends is read strictly
/// (`callbase_core::sipmsg`); a request that starts something (REGISTER, a new INVITE, MESSAGE,
/// SUBSCRIBE, OPTIONS…) must be `From` the user's own endpoint. A request inside a dialog (its `To`
/// has a tag: BYE, re-INVITE, INFO, ACK…) is from Asterisk's contact URI for calls the browser
/// answered, so it is let through only when its `Call-ID` belongs to a dialog of this very socket:
/// one the browser started with a checked request, or one Asterisk started towards it. REGISTER and
/// PUBLISH are never in a dialog. Responses pass (pjsip drops those that match no transaction).
/// New INVITE dialogs are also kept per user in Redis (`crate::sip_dialogs`), so a phone that
/// reconnects goes on acting in its call through its new socket.
struct Guard {
    endpoint: String,
    dialogs: std::collections::VecDeque<String>,
}

impl Guard {
    fn new(endpoint: &str) -> Self {
        Guard { endpoint: endpoint.to_string(), dialogs: Default::default() }
    }

    fn remember(&mut self, call_id: &str) {
        if !self.dialogs.iter().any(|c| c == call_id) {
            if self.dialogs.len() == MAX_DIALOGS {
                self.dialogs.pop_front();
            }
            self.dialogs.push_back(call_id.to_string());
        }
    }

    /// The Call-ID of an in-dialog request that only passes if the dialog is the user's: one this
    /// socket does not know and not `From` the user's endpoint.
    fn unknown_dialog(&self, msg: &str) -> Option<String> {
        use callbase_core::sipmsg::{parse, Message};
        match parse(msg) {
            Ok(Message::Request(r))
                if r.to_tag
                    && !matches!(r.method.as_str(), "REGISTER" | "PUBLISH")
                    && r.from_user != self.endpoint
                    && !self.dialogs.iter().any(|c| *c == r.call_id) =>
            {
                Some(r.call_id)
            }
            _ => None,
        }
    }

    /// Checks a message from the browser; `Ok(Some(call_id))` for a new INVITE dialog, which the
    /// relay keeps for the user.
    fn check_browser(&mut self, msg: &str) -> Result<Option<String>, &'static str> {
        use callbase_core::sipmsg::{parse, Message};
        let req = match parse(msg).map_err(|e| e.0)? {
            Message::KeepAlive | Message::Response => return Ok(None),
            Message::Request(r) => r,
        };
        let in_dialog_method = !matches!(req.method.as_str(), "REGISTER" | "PUBLISH");
        if req.to_tag && in_dialog_method && self.dialogs.iter().any(|c| *c == req.call_id) {
            return Ok(None);
        }
        if req.from_user != self.endpoint {
            return Err(if req.to_tag {
                "SIP request in a dialog this phone does not have"
            } else {
                "SIP identity does not match the signed-in user"
            });
        }
        self.remember(&req.call_id);
        Ok((req.method == "INVITE" && !req.to_tag).then_some(req.call_id))
    }

    /// Requests Asterisk sends to the browser open dialogs the browser may then act in; a new
    /// INVITE's Call-ID is returned for the relay to keep for the user.
    fn note_asterisk(&mut self, msg: &str) -> Option<String> {
        match callbase_core::sipmsg::parse(msg) {
            Ok(callbase_core::sipmsg::Message::Request(r)) => {
                self.remember(&r.call_id);
                (r.method == "INVITE" && !r.to_tag).then_some(r.call_id)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{register_answered, Guard};

    #[test]
    fn a_registers_answer_is_told_from_other_answers() {
        let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/WSS x\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n";
        assert!(register_answered(ok));
        assert!(register_answered(&ok.replace("CSeq", "cseq")));
        assert!(!register_answered(&ok.replace("200 OK", "401 Unauthorized")));
        assert!(!register_answered(&ok.replace("REGISTER", "INVITE")));
        assert!(!register_answered("REGISTER sip:callbase SIP/2.0\r\nCSeq: 2 REGISTER\r\n\r\n"));
    }

    fn msg(head: &str) -> String {
        format!("{head}\r\nCall-ID: c1\r\nCSeq: 1 X\r\nContent-Length: 0\r\n\r\n")
    }

    #[test]
    fn requests_must_come_from_the_users_own_endpoint() {
        let mut g = Guard::new("t1-w5");
        let reg = msg("REGISTER sip:callbase SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid\r\nFrom: <sip:t1-w5@callbase>;tag=a\r\nTo: <sip:t1-w5@callbase>");
        assert_eq!(g.check_browser(&reg), Ok(None));
        assert!(Guard::new("t1-w6").check_browser(&reg).is_err());
        let short = msg("INVITE sip:101@callbase SIP/2.0\r\nf: \"Anna\" <sip:t1-w5@callbase>;tag=b\r\nt: <sip:101@callbase>");
        assert_eq!(g.check_browser(&short), Ok(Some("c1".into())), "a new INVITE is kept for the user");
        let other = msg("INVITE sip:101@callbase SIP/2.0\r\nFrom: <sip:acme_101@callbase>;tag=b\r\nTo: <sip:101@callbase>");
        assert!(g.check_browser(&other).is_err());
        assert!(g.check_browser("OPTIONS sip:x SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n").is_err());
        assert_eq!(
            g.check_browser("SIP/2.0 200 OK\r\nFrom: <sip:someone@x>\r\nContent-Length: 0\r\n\r\n"),
            Ok(None)
        );
        assert_eq!(g.check_browser("\r\n\r\n"), Ok(None));
    }

    #[test]
    fn in_dialog_requests_pass_only_in_this_sockets_dialogs() {
        let mut g = Guard::new("t1-w5");
        // A call the browser answered: Asterisk's INVITE opens the dialog, the browser's BYE is
        // from the contact it registered.
        let bye = "BYE sip:x@127.0.0.1 SIP/2.0\r\nFrom: <sip:sjhgoo83@127.0.0.1:59286;transport=ws>;tag=b\r\nTo: <sip:79161234567@10.77.0.1>;tag=as1\r\nCall-ID: in1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
        assert!(g.check_browser(bye).is_err(), "no such dialog yet");
        let invite = g.note_asterisk("INVITE sip:sjhgoo83@127.0.0.1:59286;transport=ws SIP/2.0\r\nFrom: <sip:79161234567@10.77.0.1>;tag=as1\r\nTo: <sip:sjhgoo83@127.0.0.1>\r\nCall-ID: in1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(invite.as_deref(), Some("in1"), "Asterisk's INVITE is kept for the user");
        assert_eq!(g.check_browser(bye), Ok(None));
        let new_invite =
            msg("INVITE sip:1@callbase SIP/2.0\r\nFrom: <sip:sjhgoo83@x>;tag=b\r\nTo: <sip:1@callbase>");
        assert!(g.check_browser(&new_invite).is_err(), "a new call must be from the endpoint");
        // The attack review's bypass: a To tag on a REGISTER as another tenant's trunk.
        let tagged = msg("REGISTER sip:callbase SIP/2.0\r\nFrom: <sip:t3-trk1@callbase>;tag=x\r\nTo: <sip:t3-trk1@callbase>;tag=y");
        assert!(g.check_browser(&tagged).is_err());
        // Even with the Call-ID of one of this socket's own dialogs.
        g.check_browser(&msg(
            "REGISTER sip:callbase SIP/2.0\r\nFrom: <sip:t1-w5@callbase>;tag=x\r\nTo: <sip:t1-w5@callbase>",
        ))
        .unwrap();
        assert!(g.check_browser(&tagged).is_err(), "REGISTER is never in a dialog");
        // A re-INVITE in the browser's own call passes.
        let reinvite =
            msg("INVITE sip:x@h SIP/2.0\r\nFrom: <sip:t1-w5@callbase>;tag=b\r\nTo: <sip:101@callbase>;tag=z");
        assert_eq!(g.check_browser(&reinvite), Ok(None), "a re-INVITE opens no new dialog");
    }

    #[test]
    fn display_names_and_duplicates_do_not_fool_the_check() {
        let mut g = Guard::new("t1-w5");
        let quoted = msg("REGISTER sip:callbase SIP/2.0\r\nFrom: \"sip:t1-w5@callbase\" <sip:t3-trk1@callbase>;tag=a\r\nTo: <sip:t3-trk1@callbase>");
        assert!(g.check_browser(&quoted).is_err());
        let twice = msg("REGISTER sip:callbase SIP/2.0\r\nFrom: <sip:t1-w5@callbase>;tag=a\r\nf: <sip:t3-trk1@callbase>;tag=a\r\nTo: <sip:t3-trk1@callbase>");
        assert!(g.check_browser(&twice).is_err());
    }
}
