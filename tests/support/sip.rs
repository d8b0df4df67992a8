//! A minimal SIP REGISTER client over UDP with digest authentication (RFC 3261 + RFC 2617 qop=auth),
//! to prove against the real Asterisk that generated credentials register and revoked ones do not.
//! Tests only: the product's desk-phone proof is baresip in the e2e lab.

use std::net::SocketAddr;
use std::time::Duration;

use md5::{Digest, Md5};
use rand::Rng;
use tokio::net::UdpSocket;

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn token() -> String {
    format!("{:x}", rand::thread_rng().gen::<u64>())
}

/// `key="value"` or `key=value` from a Digest challenge.
fn param(challenge: &str, key: &str) -> Option<String> {
    let i = challenge.find(&format!("{key}="))?;
    let rest = &challenge[i + key.len() + 1..];
    if let Some(r) = rest.strip_prefix('"') {
        Some(r[..r.find('"')?].to_string())
    } else {
        Some(rest.split([',', ' ', '\r']).next()?.to_string())
    }
}

fn status_of(resp: &str) -> u16 {
    resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn header<'a>(resp: &'a str, name: &str) -> Option<&'a str> {
    resp.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The `Authorization` header answering a REGISTER's 401 challenge (MD5 digest, qop=auth).
fn authorization(resp: &str, user: &str, password: &str, uri: &str) -> String {
    let challenge = header(resp, "WWW-Authenticate").expect("401 carries a challenge");
    let realm = param(challenge, "realm").unwrap_or_default();
    let nonce = param(challenge, "nonce").unwrap_or_default();
    let opaque = param(challenge, "opaque");
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("REGISTER:{uri}"));
    let cnonce = token();
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", qop=auth, nc=00000001{}\r\n",
        opaque.map(|o| format!(", opaque=\"{o}\"")).unwrap_or_default()
    )
}

/// REGISTERs `user` at `server` (UDP) and returns the final status code (200 = registered,
/// 401/403 = refused). `expires = 0` removes the registration.
pub async fn register(server: SocketAddr, user: &str, password: &str, expires: u32) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
    register_on(&sock, server, user, password, expires).await
}

async fn register_on(sock: &UdpSocket, server: SocketAddr, user: &str, password: &str, expires: u32) -> u16 {
    let local = sock.local_addr().unwrap();
    let call_id = token();
    let tag = token();
    let uri = "sip:callbase";
    let mut auth = String::new();
    for cseq in 1..=3 {
        let msg = format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@callbase>;tag={tag}\r\nTo: <sip:{user}@callbase>\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\nExpires: {expires}\r\n{auth}\
             User-Agent: callbase-tests\r\nContent-Length: 0\r\n\r\n",
            token()
        );
        sock.send_to(msg.as_bytes(), server).await.expect("send REGISTER");
        let resp = loop {
            let mut buf = vec![0u8; 65535];
            let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
                .await
                .expect("Asterisk answers a REGISTER within 5 s")
                .expect("recv");
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            let code = status_of(&text);
            if text.starts_with("SIP/2.0") && code >= 200 {
                break text;
            }
        };
        let code = status_of(&resp);
        if code != 401 || !auth.is_empty() {
            return code;
        }
        auth = authorization(&resp, user, password, uri);
    }
    0
}

/// A desk phone that registers and then rings without ever answering: every INVITE gets
/// 100 Trying and 180 Ringing, a CANCEL 200 OK (and the INVITE 487). Records when each INVITE
/// arrived, to see who rang when.
pub struct RingingPhone {
    pub invites: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    /// The text of each new INVITE (caller ID checks), in the order they came.
    pub invite_texts: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RingingPhone {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(req: &str, code: &str, to_tag: &str) -> String {
    let mut out = format!("SIP/2.0 {code}\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        for l in req
            .lines()
            .filter(|l| l.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
        {
            out.push_str(l.trim_end());
            out.push_str("\r\n");
        }
    }
    if let Some(to) = header(req, "To") {
        let tagged = if to.contains(";tag=") { to.to_string() } else { format!("{to};tag={to_tag}") };
        out.push_str(&format!("To: {tagged}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

impl RingingPhone {
    pub async fn start(server: SocketAddr, user: &str, password: &str) -> RingingPhone {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        assert_eq!(register_on(&sock, server, user, password, 120).await, 200, "{user} registers");
        let invites = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = invites.clone();
        let invite_texts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let texts = invite_texts.clone();
        let tag = token();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            let mut pending: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else { return };
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                let call_id = header(&msg, "Call-ID").unwrap_or_default().to_string();
                if msg.starts_with("INVITE ") {
                    if !pending.contains_key(&call_id) {
                        seen.lock().unwrap().push(std::time::Instant::now());
                        texts.lock().unwrap().push(msg.clone());
                    }
                    pending.insert(call_id, msg.clone());
                    let _ = sock.send_to(reply(&msg, "100 Trying", &tag).as_bytes(), from).await;
                    let _ = sock.send_to(reply(&msg, "180 Ringing", &tag).as_bytes(), from).await;
                } else if msg.starts_with("CANCEL ") {
                    let _ = sock.send_to(reply(&msg, "200 OK", &tag).as_bytes(), from).await;
                    if let Some(inv) = pending.get(&call_id) {
                        let _ =
                            sock.send_to(reply(inv, "487 Request Terminated", &tag).as_bytes(), from).await;
                    }
                } else if msg.starts_with("OPTIONS ") || msg.starts_with("NOTIFY ") || msg.starts_with("BYE ")
                {
                    let _ = sock.send_to(reply(&msg, "200 OK", &tag).as_bytes(), from).await;
                }
            }
        });
        RingingPhone { invites, invite_texts, task }
    }
}

/// A WebSocket to a server's `/sip` relay (tests/api/sockets.rs opens one).
pub type SipWs = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// REGISTERs `user` over a `/sip` socket, as the browser phone does (digest auth on the 401), and
/// returns the final status code.
pub async fn register_ws(ws: &mut SipWs, user: &str, password: &str, expires: u32) -> u16 {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (call_id, tag, host) = (token(), token(), format!("{}.invalid", token()));
    let uri = "sip:callbase";
    let mut auth = String::new();
    for cseq in 1..=3 {
        let msg = format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/WS {host};branch=z9hG4bK{}\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@callbase>;tag={tag}\r\nTo: <sip:{user}@callbase>\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{host};transport=ws>\r\nExpires: {expires}\r\n{auth}\
             User-Agent: callbase-tests\r\nContent-Length: 0\r\n\r\n",
            token()
        );
        ws.send(Message::Text(msg.into())).await.expect("send REGISTER over /sip");
        let resp = loop {
            let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .expect("an answer to REGISTER within 5 s")
                .expect("the /sip socket stays open")
                .expect("a frame");
            if let Message::Text(t) = m {
                let text = t.to_string();
                if text.starts_with("SIP/2.0") && status_of(&text) >= 200 {
                    break text;
                }
            }
        };
        let code = status_of(&resp);
        if code != 401 || !auth.is_empty() {
            return code;
        }
        auth = authorization(&resp, user, password, uri);
    }
    0
}
