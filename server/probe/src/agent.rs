//! One synthetic agent: a SIP-over-WebSocket registration and, per call, a webrtc-rs peer
//! connection that offers PCMU + telephone-event, completes ICE + DTLS-SRTP with Asterisk, sends
//! the tagged pattern ([`crate::audio`]) and measures the echo.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{PeerConnection, RTCIceConnectionState, RTCPeerConnectionState};

use crate::audio::{self, AudioReport};
use crate::peer::{opus, pcmu, peer_connection, reach, telephone_event, werr, Events};
pub use crate::peer::{Codec, ProbeError};
use crate::sdp;
use crate::sip::{self, Challenge, Message, Request};

/// Where and as whom the agent registers.
#[derive(Debug, Clone)]
pub struct Target {
    /// Asterisk's SIP-over-WebSocket URL (`ws://127.0.0.1:8088/ws`), or the server's `/sip`.
    pub ws_url: String,
    /// `Origin` and `Cookie` headers for the server's authenticated `/sip` upgrade.
    pub origin: Option<String>,
    pub cookie: Option<String>,
    /// The SIP domain (Asterisk's realm, `callbase`).
    pub domain: String,
    pub user: String,
    pub password: String,
    /// The address webrtc-rs binds its UDP socket to: a wildcard would gather every interface.
    pub media_addr: IpAddr,
}

/// One call.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The number dialled (`echo`, or the carrier's echo number through a trunk).
    pub number: String,
    /// How long the tagged pattern is sent once media is up.
    pub talk: Duration,
    /// How long to wait for the 200 OK.
    pub answer_timeout: Duration,
    pub codec: Codec,
    /// Opus payloads sent in a loop (PCMU sends the tagged pattern instead). Without them an Opus
    /// call sends 1-byte "no frame" packets (the decoder conceals them).
    pub frames: Option<Arc<Vec<Vec<u8>>>>,
    /// Keep up to this many received audio payloads in [`Report::captured`].
    pub capture: usize,
    /// Hang up before `talk` is over once this turns `true` (an agent that hangs up when told).
    pub hang_up: Option<watch::Receiver<bool>>,
}

/// What one probe call measured. Times are milliseconds; `None` where the call did not get that
/// far (then `error` says why).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub register_ms: Option<f64>,
    /// First INVITE sent → 200 OK (includes the digest challenge round trip).
    pub invite_ok_ms: Option<f64>,
    /// 200 OK → ICE connected.
    pub ice_ms: Option<f64>,
    /// 200 OK → DTLS-SRTP up (peer connection `connected`).
    pub dtls_ms: Option<f64>,
    pub audio: Option<AudioReport>,
    pub error: Option<String>,
    /// Received audio payloads, when [`CallOptions::capture`] asked for them.
    #[serde(skip)]
    pub captured: Vec<Vec<u8>>,
}

impl Report {
    /// A call that registered, connected, and got its audio back with at most `max_loss_pct` lost.
    pub fn ok(&self, max_loss_pct: f64) -> bool {
        self.error.is_none()
            && [self.register_ms, self.invite_ok_ms, self.ice_ms, self.dtls_ms].iter().all(Option::is_some)
            && self.audio.as_ref().is_some_and(|a| {
                a.echoed > 0 && a.loss_pct <= max_loss_pct && a.rtt_p50_ms.is_some() && a.jitter_ms.is_some()
            })
    }
}

type Waiters = Arc<Mutex<HashMap<(String, u32), mpsc::UnboundedSender<Message>>>>;

/// A registered agent. Dropping it closes the WebSocket (Asterisk forgets the contact).
pub struct Agent {
    target: Target,
    out: mpsc::UnboundedSender<String>,
    waiters: Waiters,
    /// Call-IDs of our dialogs → notified when the far end sends BYE.
    byes: Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>,
    via_host: String,
    contact: String,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
    pub register_ms: f64,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// Connects the WebSocket and REGISTERs (answering the digest challenge).
pub async fn register(target: &Target) -> Result<Agent, ProbeError> {
    let started = Instant::now();
    let mut req = target.ws_url.as_str().into_client_request().map_err(|e| ProbeError::Ws(e.to_string()))?;
    let h = req.headers_mut();
    h.insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    if let Some(o) = &target.origin {
        h.insert("Origin", HeaderValue::from_str(o).map_err(|e| ProbeError::Ws(e.to_string()))?);
    }
    if let Some(c) = &target.cookie {
        h.insert("Cookie", HeaderValue::from_str(c).map_err(|e| ProbeError::Ws(e.to_string()))?);
    }
    let (ws, _) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(req))
        .await
        .map_err(|_| ProbeError::Timeout("the WebSocket"))?
        .map_err(|e| ProbeError::Ws(e.to_string()))?;
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if sink.send(WsMessage::text(m)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let waiters: Waiters = Arc::default();
    let byes: Arc<Mutex<HashMap<String, oneshot::Sender<()>>>> = Arc::default();
    let reader = {
        let (waiters, byes, out) = (waiters.clone(), byes.clone(), out.clone());
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let text = match frame {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                let Some(msg) = Message::parse(&text) else {
                    tracing::debug!(len = text.len(), "unparsable SIP message ignored");
                    continue;
                };
                if msg.status.is_some() {
                    let key = msg.call_id().zip(msg.cseq()).map(|(c, (n, _))| (c.to_string(), n));
                    let w = key.and_then(|k| waiters.lock().expect("waiters").get(&k).cloned());
                    if let Some(w) = w {
                        let _ = w.send(msg);
                    }
                    continue;
                }
                match msg.method.as_deref() {
                    Some("ACK") => {}
                    Some("BYE") => {
                        let _ = out.send(msg.response(200, "OK", &sip::token()));
                        if let Some(tx) = msg.call_id().and_then(|c| byes.lock().expect("byes").remove(c)) {
                            let _ = tx.send(());
                        }
                    }
                    Some("OPTIONS") | Some("NOTIFY") => {
                        let _ = out.send(msg.response(200, "OK", &sip::token()));
                    }
                    Some(_) => {
                        let _ = out.send(msg.response(501, "Not Implemented", &sip::token()));
                    }
                    None => {}
                }
            }
        })
    };
    let via_host = format!("{}.invalid", sip::token());
    let contact = format!("<sip:{}@{via_host};transport=ws>", target.user);
    let mut agent = Agent {
        target: target.clone(),
        out,
        waiters,
        byes,
        via_host,
        contact,
        reader,
        writer,
        register_ms: 0.0,
    };
    let aor = format!("sip:{}@{}", target.user, target.domain);
    let uri = format!("sip:{}", target.domain);
    let resp = agent
        .transaction(
            "REGISTER",
            &uri,
            &aor,
            &aor,
            &sip::token(),
            &sip::token(),
            None,
            &[("Expires", "600".into())],
            None,
            "",
            Duration::from_secs(5),
        )
        .await?;
    if resp.status != Some(200) {
        return Err(ProbeError::Sip(format!("REGISTER answered {}", resp.status.unwrap_or(0))));
    }
    agent.register_ms = ms(started.elapsed());
    Ok(agent)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Agent {
    fn send(&self, s: String) -> Result<(), ProbeError> {
        self.out.send(s).map_err(|_| ProbeError::Ws("closed".into()))
    }

    /// Sends a request and waits for its final response, answering one digest challenge. For an
    /// INVITE the challenge response is ACKed (RFC 3261 §17.1.1.3). Returns the final response and
    /// leaves the CSeq used in it.
    #[allow(clippy::too_many_arguments)]
    async fn transaction(
        &self,
        method: &str,
        uri: &str,
        from: &str,
        to: &str,
        from_tag: &str,
        call_id: &str,
        to_tag: Option<&str>,
        extra: &[(&str, String)],
        content_type: Option<&str>,
        body: &str,
        timeout: Duration,
    ) -> Result<Message, ProbeError> {
        let mut auth: Option<(String, String)> = None;
        for cseq in 1..=2u32 {
            let branch = sip::token();
            let mut headers: Vec<(&str, String)> = extra.to_vec();
            if let Some((name, value)) = &auth {
                headers.push((name.as_str(), value.clone()));
            }
            let req = Request {
                method,
                uri,
                via_host: &self.via_host,
                branch: &branch,
                from,
                from_tag,
                to,
                to_tag,
                call_id,
                cseq,
                contact: Some(&self.contact),
                extra: &headers,
                content_type,
                body,
            };
            let (tx, mut rx) = mpsc::unbounded_channel();
            self.waiters.lock().expect("waiters").insert((call_id.to_string(), cseq), tx);
            self.send(req.render())?;
            let deadline = tokio::time::Instant::now() + timeout;
            let resp = loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(m)) if m.status.is_some_and(|s| s >= 200) => break m,
                    Ok(Some(_)) => continue,
                    Ok(None) => return Err(ProbeError::Ws("closed".into())),
                    Err(_) => {
                        if method == "INVITE" {
                            self.cancel(&req, &mut rx).await;
                        }
                        self.waiters.lock().expect("waiters").remove(&(call_id.to_string(), cseq));
                        return Err(ProbeError::Timeout(if method == "INVITE" {
                            "the answer (200 OK)"
                        } else {
                            "a SIP response"
                        }));
                    }
                }
            };
            self.waiters.lock().expect("waiters").remove(&(call_id.to_string(), cseq));
            let status = resp.status.unwrap_or(0);
            if (status == 401 || status == 407) && auth.is_none() {
                if method == "INVITE" {
                    let resp_tag = resp.to_tag();
                    // ACK the challenge: same branch and CSeq number, the response's To tag.
                    let ack = Request {
                        method: "ACK",
                        to_tag: resp_tag.as_deref(),
                        contact: None,
                        extra: &[],
                        content_type: None,
                        body: "",
                        ..req
                    };
                    self.send(ack.render())?;
                }
                let (hname, aname) = if status == 401 {
                    ("WWW-Authenticate", "Authorization")
                } else {
                    ("Proxy-Authenticate", "Proxy-Authorization")
                };
                let ch = resp
                    .header(hname)
                    .and_then(Challenge::parse)
                    .ok_or_else(|| ProbeError::Sip(format!("{status} without a digest challenge")))?;
                let value =
                    ch.authorization(&self.target.user, &self.target.password, method, uri, 1, &sip::token());
                auth = Some((aname.to_string(), value));
                continue;
            }
            return Ok(resp);
        }
        Err(ProbeError::Sip(format!("{method} refused after authentication")))
    }

    /// CANCELs an unanswered INVITE (RFC 3261 §9.1: same branch, Call-ID, From, To and CSeq number)
    /// and ACKs the 487 that ends it, so no channel is left ringing in Asterisk.
    async fn cancel(&self, invite: &Request<'_>, rx: &mut mpsc::UnboundedReceiver<Message>) {
        let cancel =
            Request { method: "CANCEL", contact: None, extra: &[], content_type: None, body: "", ..*invite };
        // CANCEL's own 200 OK shares the INVITE's CSeq number and comes to the same waiter.
        if self.send(cancel.render()).is_err() {
            return;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            if m.cseq().is_some_and(|(_, meth)| meth == "INVITE") && m.status.is_some_and(|s| s >= 300) {
                let tag = m.to_tag();
                let ack = Request {
                    method: "ACK",
                    to_tag: tag.as_deref(),
                    contact: None,
                    extra: &[],
                    content_type: None,
                    body: "",
                    ..*invite
                };
                let _ = self.send(ack.render());
                return;
            }
        }
    }

    /// Calls `opts.number`, measures, hangs up. Never panics; a failed stage is in `error`.
    pub async fn call(&self, opts: &CallOptions) -> Report {
        let mut report = Report { register_ms: Some(self.register_ms), ..Default::default() };
        if let Err(e) = self.call_inner(opts, &mut report).await {
            report.error = Some(e.to_string());
        }
        report
    }

    async fn call_inner(&self, opts: &CallOptions, report: &mut Report) -> Result<(), ProbeError> {
        let events = Events { capture_max: opts.capture, ..Events::default() };
        let pc = peer_connection(self.target.media_addr, opts.codec, &events).await?;
        let result = self.call_with(&pc, &events, opts, report).await;
        let _ = pc.close().await;
        result
    }

    async fn call_with(
        &self,
        pc: &impl PeerConnection,
        ev: &Events,
        opts: &CallOptions,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let ssrc: u32 = rand::random();
        let codec = match opts.codec {
            Codec::Pcmu => pcmu(),
            Codec::Opus => opus(),
        };
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "callbase-probe".into(),
            "audio".into(),
            "probe".into(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec: codec.rtp_codec.clone(),
                ..Default::default()
            }],
        )));
        pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>).await.map_err(werr)?;
        // Workaround 4: without codec preferences the offer carries PCMU only (no DTMF).
        for t in pc.get_transceivers().await {
            t.set_codec_preferences(vec![codec.clone(), telephone_event()]).await.map_err(werr)?;
        }
        let offer = pc.create_offer(None).await.map_err(werr)?;
        pc.set_local_description(offer).await.map_err(werr)?;
        reach(&ev.gathered, "ICE gathering", Duration::from_secs(5), |g| *g, None).await?;
        let local =
            pc.local_description().await.ok_or_else(|| ProbeError::WebRtc("no local description".into()))?;
        tracing::trace!(sdp = %local.sdp, "offer as webrtc-rs made it");
        let offer_sdp = sdp::fix_offer(&local.sdp);
        tracing::trace!(sdp = %offer_sdp, "offer");

        let to = format!("sip:{}@{}", opts.number, self.target.domain);
        let from = format!("sip:{}@{}", self.target.user, self.target.domain);
        let (from_tag, call_id) = (sip::token(), sip::token());
        let (bye_tx, mut bye_rx) = oneshot::channel();
        self.byes.lock().expect("byes").insert(call_id.clone(), bye_tx);
        let started = Instant::now();
        let resp = self
            .transaction(
                "INVITE",
                &to,
                &from,
                &to,
                &from_tag,
                &call_id,
                None,
                &[],
                Some("application/sdp"),
                &offer_sdp,
                opts.answer_timeout,
            )
            .await?;
        let status = resp.status.unwrap_or(0);
        if status != 200 {
            return Err(ProbeError::Sip(format!("INVITE answered {status}")));
        }
        let answered = Instant::now();
        report.invite_ok_ms = Some(ms(answered - started));
        let to_tag = resp.to_tag().unwrap_or_default();
        let (cseq, _) = resp.cseq().unwrap_or((1, String::new()));
        // ACK the 2xx to the Contact it gave (RFC 3261 §13.2.2.4), in the dialog.
        let remote_target = resp
            .header("Contact")
            .and_then(|c| c.split_once('<'))
            .and_then(|(_, r)| r.split_once('>'))
            .map(|(u, _)| u.to_string())
            .unwrap_or_else(|| to.clone());
        let dialog = |method: &'static str, cseq: u32| Request {
            method,
            uri: &remote_target,
            via_host: &self.via_host,
            branch: "",
            from: &from,
            from_tag: &from_tag,
            to: &to,
            to_tag: Some(&to_tag),
            call_id: &call_id,
            cseq,
            contact: Some(&self.contact),
            extra: &[],
            content_type: None,
            body: "",
        };
        let ack_branch = sip::token();
        self.send(Request { branch: &ack_branch, ..dialog("ACK", cseq) }.render())?;

        let answer_sdp = sdp::fix_answer(&resp.body);
        tracing::trace!(sdp = %resp.body, "answer");
        let media = async {
            let answer = RTCSessionDescription::answer(answer_sdp).map_err(werr)?;
            pc.set_remote_description(answer).await.map_err(werr)?;
            let ice_up = |s: &RTCIceConnectionState| matches!(s, RTCIceConnectionState::Connected | RTCIceConnectionState::Completed);
            reach(&ev.ice, "ICE", Duration::from_secs(10), ice_up, RTCIceConnectionState::Failed).await?;
            report.ice_ms = Some(ms(answered.elapsed()));
            reach(&ev.conn, "DTLS", Duration::from_secs(10), |s| *s == RTCPeerConnectionState::Connected, RTCPeerConnectionState::Failed).await?;
            report.dtls_ms = Some(ms(answered.elapsed()));
            // Talk: the tagged pattern every 20 ms, the echo measured as it arrives.
            let meter = ev.meter.clone();
            let mut tick = tokio::time::interval(audio::PACKET_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let packets = (opts.talk.as_millis() / audio::PACKET_INTERVAL.as_millis()).max(1) as u32;
            let seq0: u16 = rand::random();
            let ts0: u32 = rand::random();
            let mut hang_up = opts.hang_up.clone();
            for i in 0..packets {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut bye_rx => return Err(ProbeError::Sip("the far end hung up during the call".into())),
                    _ = told(&mut hang_up) => break,
                }
                let (payload, step) = match (opts.codec, &opts.frames) {
                    (Codec::Pcmu, _) => (audio::payload(i), audio::SAMPLES_PER_PACKET),
                    (Codec::Opus, Some(f)) if !f.is_empty() => (f[i as usize % f.len()].clone(), 960),
                    // TOC byte of a 20 ms CELT frame with no data: "lost", concealed by the decoder.
                    (Codec::Opus, _) => (vec![0xF8], 960),
                };
                let pkt = rtc::rtp::Packet {
                    header: rtc::rtp::Header {
                        version: 2,
                        marker: i == 0,
                        payload_type: codec.payload_type,
                        sequence_number: seq0.wrapping_add(i as u16),
                        timestamp: ts0.wrapping_add(i * step),
                        ssrc,
                        ..Default::default()
                    },
                    payload: payload.into(),
                };
                meter.lock().expect("meter").sent(i, Instant::now());
                track.write_rtp(pkt).await.map_err(werr)?;
            }
            // The last echoes are a round trip behind.
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<(), ProbeError>(())
        }
        .await;
        report.audio = Some(ev.meter.lock().expect("meter").report());
        report.captured = std::mem::take(&mut *ev.captured.lock().expect("capture"));
        self.byes.lock().expect("byes").remove(&call_id);
        let bye_branch = sip::token();
        let _ = self.send(Request { branch: &bye_branch, ..dialog("BYE", cseq + 1) }.render());
        // The BYE's 200 OK is not waited for: the call's result does not depend on it.
        media
    }
}

/// Resolves once `rx` says `true` (never without a receiver, or once its sender is gone).
async fn told(rx: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = rx {
        if rx.wait_for(|v| *v).await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

/// Registers, makes one call, unregisters (by closing the WebSocket): the health probe's unit.
pub async fn call(target: &Target, opts: &CallOptions) -> Report {
    match register(target).await {
        Ok(agent) => agent.call(opts).await,
        Err(e) => Report { error: Some(format!("registration: {e}")), ..Default::default() },
    }
}
