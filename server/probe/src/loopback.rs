//! Two webrtc-rs peers on 127.0.0.1, no Asterisk: the agent set up as `agent::call_with` sets it
//! up (our builder, codec preferences, the rewritten offer, the rewritten answer), and a far end
//! standing in for Asterisk. Traffic stays on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, RTCPeerConnectionState};
use webrtc::rtp_transceiver::RtpSender;

use crate::audio;
use crate::peer::{pcmu, peer_connection, reach, telephone_event, Codec, Events};
use crate::sdp;

/// Packets the far end sends from each of its two sources.
const PER_SOURCE: u32 = 40;
const FIRST_SSRC: u32 = 0x1111_1111;
const SECOND_SSRC: u32 = 0x2222_2222;

/// A PCMU track sending as `ssrc`.
fn pcmu_track(ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "far".into(),
        "far-audio".into(),
        "far".into(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec: pcmu().rtp_codec,
            ..Default::default()
        }],
    )))
}

/// Asterisk's `ast_rtp_change_source` done with webrtc-rs's sender: from now on it sends as `ssrc`,
/// with no renegotiation (the SDP keeps declaring the first source). The track already bound to
/// the sender still writes; the sender takes the new SSRC once both its track and its encoding
/// carry it.
async fn change_source(sender: &Arc<dyn RtpSender>, ssrc: u32) {
    sender.replace_track(pcmu_track(ssrc) as Arc<dyn TrackLocal>).await.unwrap();
    let mut params = sender.get_parameters().await.unwrap();
    params.encodings[0].rtp_coding_parameters.ssrc = Some(ssrc);
    sender.set_parameters(params, None).await.unwrap();
}

/// The far end: PCMU and telephone-event on 127.0.0.1, and the DTLS server when it answers, as
/// Asterisk answers our `a=setup:active` with `passive` (webrtc-rs would answer `active` too).
async fn far_end(ev: &Events) -> impl PeerConnection {
    let mut media = MediaEngine::default();
    media.register_codec(pcmu(), RtpCodecKind::Audio).unwrap();
    media.register_codec(telephone_event(), RtpCodecKind::Audio).unwrap();
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .build();
    PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_handler(ev.handler())
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .expect("far end")
}

fn rtp(ssrc: u32, payload_type: u8, marker: bool, seq: u16, ts: u32, payload: Vec<u8>) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::Header {
            version: 2,
            marker,
            payload_type,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        },
        payload: payload.into(),
    }
}

/// A far end whose answer declared one SSRC and whose RTP carries another from mid-stream on, with
/// no re-INVITE: what Asterisk's `ast_rtp_change_source` does (new random SSRC, marker bit), and
/// what the load generator's agents were taken to see when a recording joined a call
/// (docs/benchmarks.md). The agent must count the packets of both sources, and only the audio ones
/// (telephone-event is not audio). Before the audio tap it counted the first source only (40 of 80).
#[tokio::test]
async fn agent_counts_every_audio_packet_when_the_far_end_changes_its_ssrc() {
    tokio::time::timeout(Duration::from_secs(20), ssrc_change())
        .await
        .expect("the test takes seconds, not 20");
}

/// The agent and the far end, connected (DTLS up); the far end sends as [`FIRST_SSRC`] and its
/// answer declared it.
struct Connected<A, F> {
    ev: Events,
    agent: A,
    far: F,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
}

async fn connected() -> Connected<impl PeerConnection, impl PeerConnection> {
    let lo = "127.0.0.1".parse().unwrap();
    let wait = Duration::from_secs(5);

    // The agent, as `agent::call_with` sets it up.
    let ev = Events::default();
    let agent = peer_connection(lo, Codec::Pcmu, &ev).await.expect("agent");
    let own = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "callbase-probe".into(),
        "audio".into(),
        "probe".into(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(7), ..Default::default() },
            codec: pcmu().rtp_codec,
            ..Default::default()
        }],
    )));
    agent.add_track(own as Arc<dyn TrackLocal>).await.unwrap();
    for t in agent.get_transceivers().await {
        t.set_codec_preferences(vec![pcmu(), telephone_event()]).await.unwrap();
    }
    let offer = agent.create_offer(None).await.unwrap();
    agent.set_local_description(offer).await.unwrap();
    reach(&ev.gathered, "agent gathering", wait, |g| *g, None).await.unwrap();
    let offer = sdp::fix_offer(&agent.local_description().await.unwrap().sdp);

    // The far end answers with one declared source, as Asterisk does.
    let far_ev = Events::default();
    let far = far_end(&far_ev).await;
    far.set_remote_description(RTCSessionDescription::offer(offer).unwrap()).await.unwrap();
    let track = pcmu_track(FIRST_SSRC);
    let sender = far.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>).await.unwrap();
    for t in far.get_transceivers().await {
        t.set_codec_preferences(vec![pcmu(), telephone_event()]).await.unwrap();
    }
    let answer = far.create_answer(None).await.unwrap();
    far.set_local_description(answer).await.unwrap();
    reach(&far_ev.gathered, "far-end gathering", wait, |g| *g, None).await.unwrap();
    let answer = far.local_description().await.unwrap().sdp;
    assert!(answer.contains(&format!("a=ssrc:{FIRST_SSRC} ")), "{answer}");
    assert!(!answer.contains(&SECOND_SSRC.to_string()), "{answer}");
    agent
        .set_remote_description(RTCSessionDescription::answer(sdp::fix_answer(&answer)).unwrap())
        .await
        .unwrap();
    let connected = |s: &RTCPeerConnectionState| *s == RTCPeerConnectionState::Connected;
    reach(&ev.conn, "agent DTLS", wait, connected, RTCPeerConnectionState::Failed).await.unwrap();
    reach(&far_ev.conn, "far-end DTLS", wait, connected, RTCPeerConnectionState::Failed).await.unwrap();

    Connected { ev, agent, far, track, sender }
}

async fn ssrc_change() {
    let Connected { ev, agent, far, track, sender } = connected().await;

    // The tagged pattern every 20 ms, as an echo would return it; the source changes halfway. Each
    // source has its own sequence numbers and timestamps, and sends one telephone-event packet.
    let mut tick = tokio::time::interval(audio::PACKET_INTERVAL);
    let (mut ssrc, mut seq, mut ts) = (FIRST_SSRC, 100u16, 1_000u32);
    for i in 0..2 * PER_SOURCE {
        tick.tick().await;
        if i == PER_SOURCE {
            change_source(&sender, SECOND_SSRC).await;
            (ssrc, seq, ts) = (SECOND_SSRC, 40_000, 3_000_000_000);
        }
        let first = i % PER_SOURCE == 0;
        ev.meter.lock().unwrap().sent(i, Instant::now());
        track.write_rtp(rtp(ssrc, 0, first, seq, ts, audio::payload(i))).await.unwrap();
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(audio::SAMPLES_PER_PACKET);
        if i % PER_SOURCE == PER_SOURCE / 2 {
            // A digit's event packet (RFC 4733), next in the source's sequence: not audio.
            tick.tick().await;
            track.write_rtp(rtp(ssrc, 101, true, seq, ts, vec![1, 0x0A, 0, 160])).await.unwrap();
            seq = seq.wrapping_add(1);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = ev.meter.lock().unwrap().report();
    let _ = agent.close().await;
    let _ = far.close().await;

    let sent = u64::from(2 * PER_SOURCE);
    assert_eq!(report.sent, sent);
    // Loopback loses nothing; two are allowed for a busy machine. Counting the first source only
    // gives 40.
    assert!(report.echoed >= sent - 2, "both sources counted: {report:?}");
    assert_eq!(report.received, report.echoed, "telephone-event is not counted as audio: {report:?}");
    // Jitter is per source (RFC 3550): the change of timestamps between sources is not jitter.
    assert!(report.jitter_ms.is_some_and(|j| j < 20.0), "{report:?}");
}

/// Packets the agent has sent by the time the mixer hears the echo of one: its own audio is in
/// the mix at that moment (about 60 ms of round trip).
const ECHO_LAG: u32 = 3;

/// A recorded call: halfway the recorder joins, the bridge turns softmix and the far end sends the
/// agent what the mixer makes of the echo — everyone's audio summed with saturation minus the
/// agent's own (`audio::softmix`), in the same source, its sequence numbers running on (as Asterisk
/// 22 sent it in the lab: one SSRC, no jump). Every packet arrives; the agent must recognise every
/// echo. Before: 40 of 80 (the mixed half's tags were garbled, and those packets were not counted
/// as received either — the loss the load generator reported for recorded calls, ~96 %).
#[tokio::test]
async fn agent_recognises_its_echo_through_a_mixing_bridge() {
    tokio::time::timeout(Duration::from_secs(20), mixing_bridge())
        .await
        .expect("the test takes seconds, not 20");
}

async fn mixing_bridge() {
    let Connected { ev, agent, far, track, sender: _sender } = connected().await;
    let half = PER_SOURCE;
    let mut tick = tokio::time::interval(audio::PACKET_INTERVAL);
    let (mut seq, mut ts) = (100u16, 1_000u32);
    for i in 0..2 * half {
        tick.tick().await;
        ev.meter.lock().unwrap().sent(i, Instant::now());
        let echo = audio::payload(i);
        let heard =
            if i < half { echo } else { audio::softmix::mix_minus(&audio::payload(i + ECHO_LAG), &echo) };
        track.write_rtp(rtp(FIRST_SSRC, 0, i == 0, seq, ts, heard)).await.unwrap();
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(audio::SAMPLES_PER_PACKET);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = ev.meter.lock().unwrap().report();
    let _ = agent.close().await;
    let _ = far.close().await;

    let sent = u64::from(2 * half);
    assert_eq!(report.sent, sent);
    // Loopback loses nothing; two are allowed for a busy machine.
    assert!(report.received >= sent - 2, "every packet that arrived is counted: {report:?}");
    assert!(report.echoed >= sent - 2, "the mixed half's echoes are recognised: {report:?}");
}
