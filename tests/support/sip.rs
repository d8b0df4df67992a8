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

pub(crate) fn token() -> String {
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

pub(crate) fn status_of(resp: &str) -> u16 {
    resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

pub(crate) fn header<'a>(resp: &'a str, name: &str) -> Option<&'a str> {
    resp.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The `Authorization` header answering a REGISTER's 401 challenge (MD5 digest, qop=auth).
fn authorization(resp: &str, user: &str, password: &str, uri: &str) -> String {
    authorization_for(resp, "REGISTER", user, password, uri)
}

/// The `Authorization` header answering a 401 challenge to a `method` request for `uri`.
pub(crate) fn authorization_for(resp: &str, method: &str, user: &str, password: &str, uri: &str) -> String {
    let challenge = header(resp, "WWW-Authenticate").expect("401 carries a challenge");
    let realm = param(challenge, "realm").unwrap_or_default();
    let nonce = param(challenge, "nonce").unwrap_or_default();
    let opaque = param(challenge, "opaque");
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let cnonce = token();
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", qop=auth, nc=00000001{}\r\n",
        opaque.map(|o| format!(", opaque=\"{o}\"")).unwrap_or_default()
    )
}

/// A REGISTER of `user` from `local` to `sip:callbase`, a new branch each time.
fn register_request(
    local: SocketAddr,
    user: &str,
    call_id: &str,
    tag: &str,
    cseq: u32,
    expires: u32,
    auth: &str,
) -> String {
    format!(
        "REGISTER sip:callbase SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:{user}@callbase>;tag={tag}\r\nTo: <sip:{user}@callbase>\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\nExpires: {expires}\r\n{auth}\
         User-Agent: callbase-tests\r\nContent-Length: 0\r\n\r\n",
        token()
    )
}

/// REGISTERs `user` at `server` (UDP) and returns the final status code (200 = registered,
/// 401/403 = refused). `expires = 0` removes the registration.
pub async fn register(server: SocketAddr, user: &str, password: &str, expires: u32) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
    register_on(&sock, server, user, password, expires).await
}

/// Like [`register`], from `sock` (its address is the Contact: registering again from it with
/// `expires = 0` removes that contact).
pub async fn register_on(
    sock: &UdpSocket,
    server: SocketAddr,
    user: &str,
    password: &str,
    expires: u32,
) -> u16 {
    let local = sock.local_addr().unwrap();
    let call_id = token();
    let tag = token();
    let uri = "sip:callbase";
    let mut auth = String::new();
    for cseq in 1..=3 {
        let msg = register_request(local, user, &call_id, &tag, cseq, expires, &auth);
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

/// Like [`register`], as a desk phone over UDP does it (RFC 3261 timer E): a request still without
/// an answer is sent again after 0.5 s, 1 s, 2 s, then every 4 s, for up to 32 s. Returns the
/// final status (0: no final answer within 32 s) and how many times a request was sent again.
/// For registration storms, where a request may be dropped on its way (a full socket buffer).
pub async fn register_retransmitting(
    server: SocketAddr,
    user: &str,
    password: &str,
    expires: u32,
) -> (u16, u32) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
    let local = sock.local_addr().unwrap();
    let (call_id, tag, uri) = (token(), token(), "sip:callbase");
    let mut auth = String::new();
    let mut again = 0;
    for cseq in 1..=3 {
        let msg = register_request(local, user, &call_id, &tag, cseq, expires, &auth);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(32);
        let mut interval = Duration::from_millis(500);
        sock.send_to(msg.as_bytes(), server).await.expect("send REGISTER");
        let resp = 'transaction: loop {
            let resend = tokio::time::Instant::now() + interval;
            loop {
                let mut buf = vec![0u8; 65535];
                match tokio::time::timeout_at(resend.min(deadline), sock.recv_from(&mut buf)).await {
                    Ok(Ok((n, _))) => {
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        if text.starts_with("SIP/2.0") && status_of(&text) >= 200 {
                            break 'transaction text;
                        }
                    }
                    Ok(Err(_)) => return (0, again),
                    Err(_) if tokio::time::Instant::now() >= deadline => return (0, again),
                    Err(_) => break,
                }
            }
            again += 1;
            interval = (interval * 2).min(Duration::from_secs(4));
            sock.send_to(msg.as_bytes(), server).await.expect("send REGISTER");
        };
        let code = status_of(&resp);
        if code != 401 || !auth.is_empty() {
            return (code, again);
        }
        auth = authorization(&resp, user, password, uri);
    }
    (0, again)
}

/// A desk phone that registers and then rings without ever answering (or, [`RingingPhone::answering`],
/// answers and hangs up after a while): every INVITE gets
/// 100 Trying and 180 Ringing, a CANCEL 200 OK (and the INVITE 487). Records when each INVITE
/// arrived, to see who rang when.
pub struct RingingPhone {
    pub invites: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    /// The text of each new INVITE (caller ID checks), in the order they came.
    pub invite_texts: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The status of the answer to each BYE an answering phone sent (200: the call ended cleanly).
    pub hangups: std::sync::Arc<std::sync::Mutex<Vec<u16>>>,
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
        Self::start_inner(server, user, password, None).await
    }

    /// A phone that answers: each new INVITE gets 100, 180, then 200 OK with G.711 SDP (its
    /// Record-Route copied, so the dialog keeps the proxies on its way), and after `talk` the phone
    /// hangs up (BYE along the route set). The status of each BYE's answer lands in `hangups`.
    pub async fn answering(server: SocketAddr, user: &str, password: &str, talk: Duration) -> RingingPhone {
        Self::start_inner(server, user, password, Some(talk)).await
    }

    async fn start_inner(
        server: SocketAddr,
        user: &str,
        password: &str,
        talk: Option<Duration>,
    ) -> RingingPhone {
        let sock = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP"));
        assert_eq!(register_on(&sock, server, user, password, 120).await, 200, "{user} registers");
        let invites = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = invites.clone();
        let invite_texts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let texts = invite_texts.clone();
        let hangups = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let bye_answers = hangups.clone();
        let tag = token();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            let mut pending: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else { return };
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                let call_id = header(&msg, "Call-ID").unwrap_or_default().to_string();
                if msg.starts_with("INVITE ") {
                    let new = !pending.contains_key(&call_id);
                    if new {
                        seen.lock().unwrap().push(std::time::Instant::now());
                        texts.lock().unwrap().push(msg.clone());
                    }
                    pending.insert(call_id, msg.clone());
                    let _ = sock.send_to(reply(&msg, "100 Trying", &tag).as_bytes(), from).await;
                    let _ = sock.send_to(reply(&msg, "180 Ringing", &tag).as_bytes(), from).await;
                    if let Some(talk) = talk {
                        let local = sock.local_addr().unwrap();
                        let _ = sock.send_to(answer(&msg, &tag, local).as_bytes(), from).await;
                        if new {
                            let (sock, bye) = (sock.clone(), bye(&msg, &tag, local));
                            tokio::spawn(async move {
                                tokio::time::sleep(talk).await;
                                let _ = sock.send_to(bye.as_bytes(), from).await;
                            });
                        }
                    }
                } else if msg.starts_with("CANCEL ") {
                    let _ = sock.send_to(reply(&msg, "200 OK", &tag).as_bytes(), from).await;
                    if let Some(inv) = pending.get(&call_id) {
                        let _ =
                            sock.send_to(reply(inv, "487 Request Terminated", &tag).as_bytes(), from).await;
                    }
                } else if msg.starts_with("OPTIONS ") || msg.starts_with("NOTIFY ") || msg.starts_with("BYE ")
                {
                    let _ = sock.send_to(reply(&msg, "200 OK", &tag).as_bytes(), from).await;
                } else if msg.starts_with("SIP/2.0")
                    && header(&msg, "CSeq").is_some_and(|c| c.ends_with("BYE"))
                {
                    bye_answers.lock().unwrap().push(status_of(&msg));
                }
            }
        });
        RingingPhone { invites, invite_texts, hangups, task }
    }
}

/// Every value of a header (repeated lines and comma-separated values), in order.
fn header_values(msg: &str, name: &str) -> Vec<String> {
    msg.lines()
        .filter_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

/// 200 OK to an INVITE: its Record-Route copied (RFC 3261 12.1.1), a Contact and G.711 SDP.
fn answer(invite: &str, to_tag: &str, local: SocketAddr) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n\
         a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        local.port() + 2,
        ip = local.ip()
    );
    let ok = reply(invite, "200 OK", to_tag);
    let head = ok.trim_end_matches("Content-Length: 0\r\n\r\n");
    let rr: String =
        header_values(invite, "Record-Route").iter().map(|v| format!("Record-Route: {v}\r\n")).collect();
    format!(
        "{head}{rr}Contact: <sip:phone@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The callee's BYE for an answered INVITE: to the caller's Contact along the recorded route set
/// (for the callee, the Record-Route values in the order received).
fn bye(invite: &str, to_tag: &str, local: SocketAddr) -> String {
    let target = header(invite, "Contact").unwrap_or_default();
    let target = target.trim_start_matches('<').split('>').next().unwrap_or_default();
    let route = header_values(invite, "Record-Route").join(", ");
    let route = if route.is_empty() { String::new() } else { format!("Route: {route}\r\n") };
    let to = header(invite, "To").unwrap_or_default();
    let from = header(invite, "From").unwrap_or_default();
    format!(
        "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{};rport\r\n{route}Max-Forwards: 70\r\n\
         From: {to};tag={to_tag}\r\nTo: {from}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        token(),
        header(invite, "Call-ID").unwrap_or_default()
    )
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
