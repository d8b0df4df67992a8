//! `/sip`: the browser phone's SIP-over-WebSocket, relayed to Asterisk's `ws` transport on
//! loopback after the app session and the Origin are checked. Asterisk is never exposed to
//! browsers for signalling; media (DTLS-SRTP) goes to Asterisk directly.
//!
//! The relay also pins identity: every SIP request the browser sends must be from the caller's own
//! WebRTC endpoint (`From` user = `t<tenant>-w<user>`), so a signed-in user cannot use the relay
//! with someone else's SIP credentials. Sockets are registered per user so that removing or
//! disabling a telephony user (or turning telephony off) closes their phone at once.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use callbase_core::{TenantId, UserId};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::sockets::Kind;
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

pub async fn sip(State(st): State<AppState>, headers: HeaderMap, cu: CurrentUser, ws: WebSocketUpgrade) -> ApiResult<Response> {
    if !crate::auth::same_origin(&headers, &st.cfg.http.allowed_origins()) || headers.get("origin").is_none() {
        return Err(ApiError::Csrf("bad_origin"));
    }
    let me = crate::routes::phone::browser_agent(&st, &cu).await?;
    let endpoint = callbase_telephony::agents::web_id(cu.tenant_id, me.user_id);
    // The cap comes before the Asterisk connection: a refused socket costs Asterisk nothing.
    let mut reg = match st.sockets.open(Kind::Sip, cu.tenant_id, cu.user_id, &cu.session_token).await? {
        Ok(reg) => reg,
        Err(refused) => return Ok(crate::sockets::refuse(ws.protocols(["sip"]), refused)),
    };
    let target = st.cfg.asterisk.sip_ws_url();
    let mut req = target
        .as_str()
        .into_client_request()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("bad Asterisk ws URL: {e}")))?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", "sip".parse().expect("static header"));
    // Connect before upgrading, so a browser never sees an open phone socket that leads nowhere.
    let (upstream, _) = tokio::time::timeout(std::time::Duration::from_secs(5), tokio_tungstenite::connect_async(req))
        .await
        .map_err(|_| ApiError::Unavailable { code: "asterisk_unavailable", message: "the phone service did not answer; try again shortly".into() })?
        .map_err(|e| {
            tracing::warn!(error = %e, "cannot reach Asterisk's SIP WebSocket");
            ApiError::Unavailable { code: "asterisk_unavailable", message: "the phone service is unreachable; try again shortly".into() }
        })?;
    let sockets = st.sockets.clone();
    Ok(ws.protocols(["sip"]).on_upgrade(move |socket| async move {
        // Revoked (logout, disabled, password or groups changed, telephony removed) on any
        // replica, or the session gone: the relay closes the phone (4001). Dropping `reg` at the
        // end unregisters the socket and frees its slot.
        let (close, closed) = watch::channel(false);
        let supervise = async {
            let why = sockets.supervise(&mut reg).await;
            tracing::info!(code = why.code, reason = why.reason, "closing a phone socket");
            let _ = close.send(true);
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = relay(socket, upstream, &endpoint, closed) => {}
            _ = supervise => {}
        }
        drop(reg);
    }))
}

type Upstream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn relay(mut browser: WebSocket, upstream: Upstream, endpoint: &str, mut closed: watch::Receiver<bool>) {
    let (mut up_tx, mut up_rx) = upstream.split();
    loop {
        tokio::select! {
            _ = closed.changed() => {
                let _ = browser.send(Message::Close(Some(CloseFrame { code: 4001, reason: "phone closed by the server".into() }))).await;
                break;
            }
            m = browser.recv() => match m {
                Some(Ok(Message::Text(t))) => {
                    if let Err(why) = check_identity(t.as_str(), endpoint) {
                        tracing::warn!(why, "SIP request over /sip refused");
                        let _ = browser.send(Message::Close(Some(CloseFrame { code: 4003, reason: why.into() }))).await;
                        break;
                    }
                    if up_tx.send(tungstenite::Message::Text(t.as_str().into())).await.is_err() { break; }
                }
                Some(Ok(Message::Binary(b))) => {
                    if up_tx.send(tungstenite::Message::Binary(b)).await.is_err() { break; }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            },
            m = up_rx.next() => match m {
                Some(Ok(tungstenite::Message::Text(t))) => {
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

/// A header's value (long or compact name) from the head of a SIP message.
fn header<'a>(msg: &'a str, long: &str, compact: &str) -> Option<&'a str> {
    msg.lines().take_while(|l| !l.is_empty() && *l != "\r").find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case(long) || name == compact).then_some(value)
    })
}

/// A SIP request from the browser that starts something (REGISTER, a new INVITE, MESSAGE…) must
/// come from its own endpoint. Requests inside a dialog (their `To` carries a tag: BYE, re-INVITE,
/// INFO…) pass: Asterisk matches them to a dialog of this very connection, and for a call the
/// browser answered their `From` is Asterisk's contact URI, not the endpoint. Responses pass.
fn check_identity(msg: &str, endpoint: &str) -> Result<(), &'static str> {
    let first = msg.lines().next().unwrap_or_default();
    if first.starts_with("SIP/2.0 ") || msg.trim().is_empty() {
        return Ok(()); // a response, or a keep-alive
    }
    if header(msg, "to", "t").is_some_and(|to| to.to_ascii_lowercase().contains(";tag=")) {
        return Ok(());
    }
    let from = header(msg, "from", "f").ok_or("SIP request without From")?;
    let user = from
        .split_once("sip:")
        .or_else(|| from.split_once("sips:"))
        .map(|(_, rest)| rest.split(['@', ';', '>']).next().unwrap_or_default())
        .ok_or("From is not a SIP URI")?;
    if user == endpoint {
        Ok(())
    } else {
        Err("SIP identity does not match the signed-in user")
    }
}

#[cfg(test)]
mod tests {
    use super::check_identity;

    #[test]
    fn requests_must_come_from_the_users_own_endpoint() {
        let reg = "REGISTER sip:callbase SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid\r\nFrom: <sip:t1-w5@callbase>;tag=a\r\nTo: <sip:t1-w5@callbase>\r\n\r\n";
        assert_eq!(check_identity(reg, "t1-w5"), Ok(()));
        assert!(check_identity(reg, "t1-w6").is_err());
        let short = "INVITE sip:101@callbase SIP/2.0\r\nf: \"Anna\" <sip:t1-w5@callbase>;tag=b\r\n\r\n";
        assert_eq!(check_identity(short, "t1-w5"), Ok(()));
        let other = "INVITE sip:101@callbase SIP/2.0\r\nFrom: <sip:acme_101@callbase>;tag=b\r\n\r\n";
        assert!(check_identity(other, "t1-w5").is_err());
        assert!(check_identity("OPTIONS sip:x SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n", "t1-w5").is_err());
        assert_eq!(check_identity("SIP/2.0 200 OK\r\nFrom: <sip:someone@x>\r\n\r\n", "t1-w5"), Ok(()));
        assert_eq!(check_identity("\r\n\r\n", "t1-w5"), Ok(()));
        // In a dialog the browser answered, its BYE is from the contact it registered.
        let bye = "BYE sip:x@127.0.0.1 SIP/2.0\r\nFrom: <sip:sjhgoo83@127.0.0.1:59286;transport=ws>;tag=b\r\nTo: <sip:79161234567@10.77.0.1>;tag=as1\r\n\r\n";
        assert_eq!(check_identity(bye, "t1-w5"), Ok(()));
        let new_invite = "INVITE sip:1@callbase SIP/2.0\r\nFrom: <sip:sjhgoo83@x>;tag=b\r\nTo: <sip:1@callbase>\r\n\r\n";
        assert!(check_identity(new_invite, "t1-w5").is_err(), "a new call must be from the endpoint");
    }
}
