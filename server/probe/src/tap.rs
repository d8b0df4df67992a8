//! Workaround 7: the agent measures the audio that reaches its transport, whatever its RTP source.
//!
//! webrtc-rs 0.21.1 gives a remote track one SSRC: the one Asterisk's answer declares
//! (`a=ssrc:`), or, with none declared, the first that arrives. A packet from any other SSRC is
//! dropped before it reaches a track (rtc's `EndpointHandler::handle_rtp_message`: no track owns
//! the SSRC; `InterceptorHandler::bind_undeclared_ssrc` binds an undeclared SSRC only while the
//! single track has none). Asterisk may change a call's SSRC without a re-INVITE
//! (`ast_rtp_change_source`), and a browser plays the new source, so counting on the track
//! would report as lost what a browser hears.
//!
//! This interceptor sits in webrtc-rs's RTP path after SRTP and before packets are routed to
//! tracks: it sees every RTP packet that arrived and decrypted on the agent's one audio
//! m-section, and feeds the [`Meter`] with the audio ones (PCMU 0, Opus 111; telephone-event is
//! not audio). It passes every packet on unchanged.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

use crate::audio::Meter;

/// Payload types of audio the agent negotiates (peer.rs: `pcmu()`, `opus()`).
const PCMU: u8 = 0;
const OPUS: u8 = 111;

/// Counts the audio packets read from the transport into the call's meter (and keeps the first
/// `capture_max` payloads).
pub(crate) struct AudioTap {
    meter: Arc<Mutex<Meter>>,
    captured: Arc<Mutex<Vec<Vec<u8>>>>,
    capture_max: usize,
    /// The last audio SSRC seen, to log a change of source.
    source: Option<u32>,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl AudioTap {
    pub fn new(meter: Arc<Mutex<Meter>>, captured: Arc<Mutex<Vec<Vec<u8>>>>, capture_max: usize) -> Self {
        AudioTap {
            meter,
            captured,
            capture_max,
            source: None,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
        }
    }

    fn count(&mut self, at: Instant, p: &rtc::rtp::Packet) {
        let pt = p.header.payload_type;
        if pt != PCMU && pt != OPUS {
            return;
        }
        if self.source != Some(p.header.ssrc) {
            if let Some(old) = self.source {
                tracing::debug!(from = old, to = p.header.ssrc, "the far end's audio changed RTP source");
            }
            self.source = Some(p.header.ssrc);
        }
        // Opus runs at 48 kHz: the jitter estimator counts 8 kHz units.
        let ts = if pt == OPUS { p.header.timestamp / 6 } else { p.header.timestamp };
        self.meter.lock().expect("meter").received(at, p.header.ssrc, ts, &p.payload);
        if self.capture_max > 0 {
            let mut c = self.captured.lock().expect("capture");
            if c.len() < self.capture_max {
                c.push(p.payload.to_vec());
            }
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for AudioTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtp(p) = &msg.message.packet {
            // `now` is when the driver read the datagram from the socket.
            self.count(msg.now, p);
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for AudioTap {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
