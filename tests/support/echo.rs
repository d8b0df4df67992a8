//! A desk phone's echo test over UDP (issue #22, preflight): INVITE `number` with digest auth and a
//! G.711 offer, ACK the 200 OK, send RTP to the address of Asterisk's answer and count what comes
//! back on our RTP socket; then either hang up or wait for Asterisk to end the call.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{timeout, Instant};

use crate::sip::{authorization_for, header, status_of, token};

/// What an echo call saw.
#[derive(Debug, Default)]
pub struct EchoCall {
    /// The final answer to the (authenticated) INVITE.
    pub status: u16,
    pub rtp_sent: usize,
    /// RTP packets that came back.
    pub rtp_back: usize,
    /// Of those, how many carried a payload we sent (the echo's, not a tone of its own).
    pub rtp_ours: usize,
    /// How long after the 200 OK Asterisk sent its BYE (when waiting for it).
    pub bye_after: Option<Duration>,
}

async fn recv_text(sock: &UdpSocket, within: Duration) -> Option<String> {
    let mut buf = vec![0u8; 65535];
    let (n, _) = timeout(within, sock.recv_from(&mut buf)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).to_string())
}

/// A final answer to our `cseq` INVITE (provisional ones skipped), within `within`.
async fn final_answer(sock: &UdpSocket, within: Duration) -> Option<String> {
    let end = Instant::now() + within;
    loop {
        let text = recv_text(sock, end.saturating_duration_since(Instant::now())).await?;
        if text.starts_with("SIP/2.0") && status_of(&text) >= 200 {
            return Some(text);
        }
    }
}

/// Asterisk's media address from an SDP answer.
fn media_addr(msg: &str) -> Option<SocketAddr> {
    let ip = msg.lines().find_map(|l| l.trim().strip_prefix("c=IN IP4 "))?.trim();
    let port = msg.lines().find_map(|l| l.trim().strip_prefix("m=audio "))?.split(' ').next()?;
    format!("{ip}:{port}").parse().ok()
}

fn to_tag(msg: &str) -> String {
    let to = header(msg, "To").or_else(|| header(msg, "t")).unwrap_or_default();
    to.split(";tag=").nth(1).map(|t| t.split(';').next().unwrap_or(t).to_string()).unwrap_or_default()
}

/// Calls `number` at `server` as `user`; talks `talk` (50 RTP packets a second), then hangs up —
/// or, with `wait_for_bye`, keeps the call until Asterisk ends it (within 45 s).
pub async fn echo_call(
    server: SocketAddr,
    user: &str,
    password: &str,
    number: &str,
    talk: Duration,
    wait_for_bye: bool,
) -> EchoCall {
    let sip = UdpSocket::bind("127.0.0.1:0").await.expect("bind SIP");
    let rtp = UdpSocket::bind("127.0.0.1:0").await.expect("bind RTP");
    let (local, media) = (sip.local_addr().unwrap(), rtp.local_addr().unwrap());
    let (call_id, tag) = (token(), token());
    let uri = format!("sip:{number}@{server}");
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n\
         a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        media.port()
    );
    let head = |method: &str, target: &str, cseq: u32, branch: &str, to_tag: &str| {
        let to_tag = if to_tag.is_empty() { String::new() } else { format!(";tag={to_tag}") };
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@callbase>;tag={tag}\r\nTo: <sip:{number}@callbase>{to_tag}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nContact: <sip:{user}@{local}>\r\nUser-Agent: callbase-tests\r\n"
        )
    };
    let invite = |cseq: u32, branch: &str, auth: &str| {
        format!(
            "{}{auth}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            head("INVITE", &uri, cseq, branch, ""),
            sdp.len()
        )
    };
    let mut out = EchoCall::default();
    let b1 = token();
    sip.send_to(invite(1, &b1, "").as_bytes(), server).await.unwrap();
    let first = final_answer(&sip, Duration::from_secs(5)).await.expect("an answer to the INVITE");
    let ack = |cseq: u32, branch: &str, to: &str, target: &str| {
        format!("{}Content-Length: 0\r\n\r\n", head("ACK", target, cseq, branch, to))
    };
    sip.send_to(ack(1, &b1, &to_tag(&first), &uri).as_bytes(), server).await.unwrap();
    assert_eq!(status_of(&first), 401, "Asterisk challenges the INVITE: {first}");
    let auth = authorization_for(&first, "INVITE", user, password, &uri);
    sip.send_to(invite(2, &token(), &auth).as_bytes(), server).await.unwrap();
    let ok = final_answer(&sip, Duration::from_secs(10)).await.expect("a final answer to the INVITE");
    out.status = status_of(&ok);
    if out.status != 200 {
        return out;
    }
    let answered = Instant::now();
    let their_tag = to_tag(&ok);
    let contact = header(&ok, "Contact").or_else(|| header(&ok, "m")).unwrap_or_default();
    let target = contact.trim_start_matches('<').split('>').next().unwrap_or_default().to_string();
    sip.send_to(ack(2, &token(), &their_tag, &target).as_bytes(), server).await.unwrap();
    let to = media_addr(&ok).expect("SDP in the 200 OK");

    // RTP: PCMU frames whose payload bytes count up (never 0xFF, μ-law silence) from packet to packet.
    let packets = (talk.as_millis() / 20) as usize;
    let mut sent = std::collections::HashSet::new();
    let ssrc: u32 = rand::random();
    let mut buf = vec![0u8; 2048];
    for i in 0..packets {
        let mut pkt = vec![0x80u8, 0x00];
        pkt.extend_from_slice(&(i as u16).to_be_bytes());
        pkt.extend_from_slice(&((i as u32) * 160).to_be_bytes());
        pkt.extend_from_slice(&ssrc.to_be_bytes());
        let fill = (i % 200) as u8 + 20;
        pkt.extend(std::iter::repeat_n(fill, 160));
        sent.insert(fill);
        rtp.send_to(&pkt, to).await.unwrap();
        out.rtp_sent += 1;
        let tick = Instant::now() + Duration::from_millis(20);
        while let Ok(Ok((n, _))) = tokio::time::timeout_at(tick, rtp.recv_from(&mut buf)).await {
            if n > 12 {
                out.rtp_back += 1;
                if sent.contains(&buf[12]) && buf[12..n].iter().all(|b| *b == buf[12]) {
                    out.rtp_ours += 1;
                }
            }
        }
    }
    let bye_ok = |msg: &str| {
        let via = header(msg, "Via").or_else(|| header(msg, "v")).unwrap_or_default();
        let (from, to, cid, cseq) = (
            header(msg, "From").or_else(|| header(msg, "f")).unwrap_or_default(),
            header(msg, "To").or_else(|| header(msg, "t")).unwrap_or_default(),
            header(msg, "Call-ID").or_else(|| header(msg, "i")).unwrap_or_default(),
            header(msg, "CSeq").unwrap_or_default(),
        );
        format!("SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n")
    };
    if wait_for_bye {
        let end = Instant::now() + Duration::from_secs(45);
        while Instant::now() < end {
            let Some(msg) = recv_text(&sip, end.saturating_duration_since(Instant::now())).await else {
                break;
            };
            if msg.starts_with("BYE ") {
                out.bye_after = Some(answered.elapsed());
                sip.send_to(bye_ok(&msg).as_bytes(), server).await.unwrap();
                return out;
            }
        }
    }
    let bye = format!("{}Content-Length: 0\r\n\r\n", head("BYE", &target, 3, &token(), &their_tag));
    sip.send_to(bye.as_bytes(), server).await.unwrap();
    let _ = final_answer(&sip, Duration::from_secs(5)).await;
    out
}
