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

/// REGISTERs `user` at `server` (UDP) and returns the final status code (200 = registered,
/// 401/403 = refused). `expires = 0` removes the registration.
pub async fn register(server: SocketAddr, user: &str, password: &str, expires: u32) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
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
        let challenge = header(&resp, "WWW-Authenticate").expect("401 carries a challenge");
        let realm = param(challenge, "realm").unwrap_or_default();
        let nonce = param(challenge, "nonce").unwrap_or_default();
        let opaque = param(challenge, "opaque");
        let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
        let ha2 = md5_hex(&format!("REGISTER:{uri}"));
        let cnonce = token();
        let response = md5_hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
        auth = format!(
            "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", qop=auth, nc=00000001{}\r\n",
            opaque.map(|o| format!(", opaque=\"{o}\"")).unwrap_or_default()
        );
    }
    0
}
