//! The webrtc-rs peer connection as Asterisk needs it (codecs, bound address, no mDNS, the audio
//! tap) and the handler that turns its callbacks into watch channels the agent's call waits on.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtc::interceptor::Slot;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_PCMU, MIME_TYPE_TELEPHONE_EVENT,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use tokio::sync::watch;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceConnectionState,
    RTCIceGatheringState, RTCPeerConnectionState, Registry,
};

use crate::audio::Meter;
use crate::tap::AudioTap;

/// The tap's place in the interceptor chain: the only one, next to the wire.
const TAP_SLOT: usize = 500;

/// The audio codec offered to Asterisk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// G.711 μ-law end to end: what our browser endpoints use (no transcoding in Asterisk).
    #[default]
    Pcmu,
    /// Opus to the client (48 kHz): Asterisk transcodes to and from the trunk's G.711. Used by the
    /// load generator to compare profiles; the payload is Opus that Asterisk itself encoded
    /// ([`CallOptions::frames`]), since webrtc-rs has no encoder.
    Opus,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("websocket: {0}")]
    Ws(String),
    #[error("SIP {0}")]
    Sip(String),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("webrtc: {0}")]
    WebRtc(String),
}

/// Waits until `state` is `done` (or `failed`, an error), at most `timeout`.
pub(crate) async fn reach<T: PartialEq>(
    state: &watch::Sender<T>,
    what: &'static str,
    timeout: Duration,
    done: impl Fn(&T) -> bool,
    failed: impl Into<Option<T>>,
) -> Result<(), ProbeError> {
    let failed = failed.into();
    let mut rx = state.subscribe();
    let reached = tokio::time::timeout(timeout, rx.wait_for(|s| done(s) || failed.as_ref() == Some(s)))
        .await
        .map_err(|_| ProbeError::Timeout(what))?;
    match reached {
        Ok(s) if done(&s) => Ok(()),
        Ok(_) => Err(ProbeError::WebRtc(format!("{what} failed"))),
        Err(_) => Err(ProbeError::WebRtc("the peer connection's handler is gone".into())),
    }
}

pub(crate) fn werr(e: impl std::fmt::Display) -> ProbeError {
    ProbeError::WebRtc(e.to_string())
}

pub(crate) fn pcmu() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_PCMU.to_owned(),
            clock_rate: 8000,
            channels: 1,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: 0,
    }
}

pub(crate) fn opus() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
    }
}

pub(crate) fn telephone_event() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_TELEPHONE_EVENT.to_owned(),
            clock_rate: 8000,
            channels: 1,
            sdp_fmtp_line: "0-16".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 101,
    }
}

/// The peer connection as Asterisk needs it (workarounds 1, 6 and 7 are here), reporting to `ev`.
pub(crate) async fn peer_connection(
    media_addr: IpAddr,
    codec: Codec,
    ev: &Events,
) -> Result<impl PeerConnection, ProbeError> {
    let mut media = MediaEngine::default();
    media
        .register_codec(if codec == Codec::Opus { opus() } else { pcmu() }, RtpCodecKind::Audio)
        .map_err(werr)?;
    media.register_codec(telephone_event(), RtpCodecKind::Audio).map_err(werr)?;
    // Workaround 1: mDNS off. The default (query-only) opens a multicast socket, which fails in a
    // network namespace ("No such device") and is no use to a client that knows its address.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(media_addr.is_loopback())
        .build();
    PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        // Workaround 7: the call's audio is measured as it comes off the transport, whatever its
        // RTP source (tap.rs); a track gets one source's packets only.
        .with_interceptor_registry(Registry::new().with(Slot::Custom(TAP_SLOT), ev.tap()))
        .with_handler(ev.handler())
        // Workaround 6: bind the one address we mean; a wildcard gathers every non-loopback
        // interface (and would send ICE checks from the machine's public address).
        .with_udp_addrs(vec![format!("{}:0", SocketFmt(media_addr))])
        .build()
        .await
        .map_err(werr)
}

struct SocketFmt(IpAddr);
impl std::fmt::Display for SocketFmt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}"),
            IpAddr::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// State the webrtc-rs handler reports, as watch channels the call waits on; and the call's audio
/// measurements, which the tap ([`AudioTap`]) feeds.
#[derive(Clone)]
pub(crate) struct Events {
    pub gathered: watch::Sender<bool>,
    pub ice: watch::Sender<RTCIceConnectionState>,
    pub conn: watch::Sender<RTCPeerConnectionState>,
    pub meter: Arc<Mutex<Meter>>,
    pub captured: Arc<Mutex<Vec<Vec<u8>>>>,
    pub capture_max: usize,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            gathered: watch::channel(false).0,
            ice: watch::channel(RTCIceConnectionState::New).0,
            conn: watch::channel(RTCPeerConnectionState::New).0,
            meter: Arc::default(),
            captured: Arc::default(),
            capture_max: 0,
        }
    }
}

impl Events {
    pub fn handler(&self) -> Arc<dyn PeerConnectionEventHandler> {
        Arc::new(self.clone())
    }

    /// The interceptor that feeds [`Events::meter`] and [`Events::captured`].
    fn tap(&self) -> AudioTap {
        AudioTap::new(self.meter.clone(), self.captured.clone(), self.capture_max)
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.ice.send_replace(state);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.conn.send_replace(state);
    }

    /// The track's packets are not what the call measures (that is the tap's, workaround 7): they
    /// are read and dropped, so that the track's queue never fills.
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnEnded = ev {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {

    use rtc::media_stream::MediaStreamTrack;
    use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters};
    use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
    use webrtc::media_stream::track_local::TrackLocal;

    use super::*;
    use crate::sdp;

    /// Workarounds 1, 4 and 6 are builder settings: the offer webrtc-rs makes with them (on
    /// loopback, no traffic) has one host candidate on the bound address, no mDNS name, and
    /// PCMU + telephone-event.
    #[tokio::test]
    async fn offer_from_our_builder_has_pcmu_telephone_event_and_only_the_bound_address() {
        let ev = Events::default();
        let pc =
            peer_connection("127.0.0.1".parse().unwrap(), Codec::Pcmu, &ev).await.expect("peer connection");
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "s".into(),
            "a".into(),
            "l".into(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(1), ..Default::default() },
                codec: pcmu().rtp_codec,
                ..Default::default()
            }],
        )));
        pc.add_track(track as Arc<dyn TrackLocal>).await.unwrap();
        for t in pc.get_transceivers().await {
            t.set_codec_preferences(vec![pcmu(), telephone_event()]).await.unwrap();
        }
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer).await.unwrap();
        reach(&ev.gathered, "ICE gathering", Duration::from_secs(5), |g| *g, None)
            .await
            .expect("gathering completes without mDNS");
        let sdp = pc.local_description().await.unwrap().sdp;
        let _ = pc.close().await;
        assert_eq!(sdp::payload_type(&sdp, "PCMU/8000"), Some(0), "{sdp}");
        assert_eq!(sdp::payload_type(&sdp, "telephone-event/8000"), Some(101), "{sdp}");
        let cands: Vec<&str> = sdp.lines().filter(|l| l.starts_with("a=candidate:")).collect();
        assert!(!cands.is_empty(), "{sdp}");
        assert!(cands.iter().all(|c| c.contains(" 127.0.0.1 ") && !c.contains(".local")), "{cands:?}");
        let fixed = sdp::fix_offer(&sdp);
        assert!(fixed.contains("c=IN IP4 127.0.0.1\r\n") && fixed.contains("a=setup:active\r\n"), "{fixed}");
    }
}
