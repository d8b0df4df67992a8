//! The tagged audio the agent sends and the measurements it takes on the echo.
//!
//! Every 20 ms packet is 160 bytes of PCMU: a 1 kHz tone whose first ten bytes carry a magic and
//! the packet's sequence number. PCMU passes Asterisk's Echo() and a two-party bridge unchanged
//! (no transcoding), so each echoed packet names the packet it echoes: round-trip time is exact
//! per packet, and a packet that never comes back is lost.
//!
//! A recorded call's bridge is softmix: the agent hears everyone's audio summed (saturating at
//! 16 bits) minus its own (the tests' `softmix` models it). That is exact as long as the sum does not
//! saturate, so the tag uses quiet samples only: the sequence number is written a nibble a byte, as
//! μ-law `0xF0..=0xFF` (linear 0 to 120). Raw bytes did not survive: a sequence number's `0x00`
//! bytes are μ-law full scale, the agent's own packet has them at the same place, and the mix of
//! the two saturated.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub const SAMPLES_PER_PACKET: u32 = 160;
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const MAGIC: [u8; 2] = [0xCB, 0x5A];

/// A μ-law 1 kHz tone at 8 kHz (8 samples a period), about −10 dBFS.
const TONE: [u8; 8] = [0xFF, 0xA7, 0x9E, 0xA7, 0x7F, 0x27, 0x1E, 0x27];

/// Bytes of a tag: the magic, then the sequence number's eight nibbles, most significant first.
const TAG_LEN: usize = 10;
/// The high nibble of a tag's sequence-number bytes: μ-law `0xF0..=0xFF` are the quietest
/// positive samples (120 down to 0).
const QUIET: u8 = 0xF0;

/// The payload of packet `seq`.
pub fn payload(seq: u32) -> Vec<u8> {
    let mut p: Vec<u8> = (0..SAMPLES_PER_PACKET as usize).map(|i| TONE[i % TONE.len()]).collect();
    p[..2].copy_from_slice(&MAGIC);
    for (i, b) in p[2..TAG_LEN].iter_mut().enumerate() {
        *b = QUIET | ((seq >> (28 - 4 * i)) & 0x0F) as u8;
    }
    p
}

/// The sequence number a payload carries, if it is one of ours.
pub fn tag_of(payload: &[u8]) -> Option<u32> {
    if payload.len() < TAG_LEN || payload[..2] != MAGIC {
        return None;
    }
    payload[2..TAG_LEN]
        .iter()
        .try_fold(0u32, |seq, &b| (b & 0xF0 == QUIET).then_some(seq << 4 | u32::from(b & 0x0F)))
}

/// Send times and echo measurements of one call.
#[derive(Debug, Default)]
pub struct Meter {
    sent: HashMap<u32, Instant>,
    rtts: Vec<Duration>,
    seen: std::collections::HashSet<u32>,
    /// RFC 3550 §6.4.1 interarrival jitter, in timestamp units (1/8000 s).
    jitter: f64,
    /// The last packet's arrival, SSRC and timestamp.
    last: Option<(Instant, u32, u32)>,
    /// Audio packets received, whatever they carried.
    arrived: u64,
    /// Packets received that carried no tag of a packet we sent (silence, comfort noise, other
    /// audio, a tag garbled on the way).
    pub untagged: u64,
}

impl Meter {
    pub fn sent(&mut self, seq: u32, at: Instant) {
        self.sent.insert(seq, at);
    }

    /// An RTP packet from source `ssrc` arrived at `at` with `timestamp` and `payload`. The far end
    /// may change its source mid-call (Asterisk does when a recording joins): every source counts.
    pub fn received(&mut self, at: Instant, ssrc: u32, timestamp: u32, payload: &[u8]) {
        // Jitter over every packet of a source, tagged or not (RFC 3550: D(i-1,i)). A new source
        // starts its own timestamps: the step to it is not jitter.
        if let Some((prev_at, _, prev_ts)) = self.last.filter(|l| l.1 == ssrc) {
            let arrival = at.saturating_duration_since(prev_at).as_secs_f64() * 8000.0;
            let d = arrival - f64::from(timestamp.wrapping_sub(prev_ts) as i32);
            self.jitter += (d.abs() - self.jitter) / 16.0;
        }
        self.last = Some((at, ssrc, timestamp));
        self.arrived += 1;
        // An echo counts once (a duplicate is not a second echo); it still arrived.
        match tag_of(payload).and_then(|seq| Some((seq, self.sent.get(&seq)?))) {
            Some((seq, sent_at)) => {
                if self.seen.insert(seq) {
                    self.rtts.push(at.saturating_duration_since(*sent_at));
                }
            }
            None => self.untagged += 1,
        }
    }

    pub fn report(&self) -> AudioReport {
        let mut rtts = self.rtts.clone();
        rtts.sort();
        let pct = |p: f64| -> Option<f64> {
            if rtts.is_empty() {
                return None;
            }
            let i = ((rtts.len() as f64 * p).ceil() as usize).clamp(1, rtts.len()) - 1;
            Some(rtts[i].as_secs_f64() * 1000.0)
        };
        let sent = self.sent.len() as u64;
        let echoed = self.seen.len() as u64;
        AudioReport {
            sent,
            echoed,
            received: self.arrived,
            loss_pct: if sent == 0 { 100.0 } else { (sent - echoed) as f64 * 100.0 / sent as f64 },
            rtt_p50_ms: pct(0.5),
            rtt_p95_ms: pct(0.95),
            rtt_max_ms: rtts.last().map(|d| d.as_secs_f64() * 1000.0),
            jitter_ms: self.last.map(|_| self.jitter / 8.0),
        }
    }
}

/// What the echo measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioReport {
    pub sent: u64,
    /// Our tagged packets that came back.
    pub echoed: u64,
    /// Audio packets received in all (tagged or not, duplicates included).
    #[serde(default)]
    pub received: u64,
    pub loss_pct: f64,
    pub rtt_p50_ms: Option<f64>,
    pub rtt_p95_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
}

/// What Asterisk's softmix bridge does to the audio a participant hears, for tests: every
/// participant's 16-bit linear audio summed with saturation, then the listener's own audio
/// subtracted with saturation (bridge_softmix.c, `ast_slinear_saturated_add` then
/// `ast_slinear_saturated_subtract`), in PCMU at 8 kHz. A bridge turns softmix when a recording
/// joins the call; the far end then sends the agent its echo through this.
#[cfg(test)]
pub(crate) mod softmix {
    /// G.711 μ-law byte to a linear sample.
    pub fn ulaw_decode(b: u8) -> i16 {
        let u = !b;
        let exponent = (u >> 4) & 0x07;
        let t = ((i32::from(u & 0x0F) << 3) + 0x84) << exponent;
        (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
    }

    /// A linear sample to the nearest G.711 μ-law byte.
    pub fn ulaw_encode(s: i16) -> u8 {
        let sign = if s < 0 { 0x80 } else { 0 };
        let magnitude = (i32::from(s).abs().min(32635) + 0x84) as u32;
        let exponent = (31 - magnitude.leading_zeros() - 7).min(7);
        let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
        !(sign | (exponent << 4) as u8 | mantissa as u8)
    }

    /// The PCMU the listener hears when it sends `own` while the other party sends `other`.
    pub fn mix_minus(own: &[u8], other: &[u8]) -> Vec<u8> {
        own.iter()
            .zip(other)
            .map(|(&o, &e)| {
                let (o, e) = (ulaw_decode(o), ulaw_decode(e));
                ulaw_encode(o.saturating_add(e).saturating_sub(o))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_their_sequence_number() {
        for seq in [0, 1, 4242, u32::MAX] {
            let p = payload(seq);
            assert_eq!(p.len(), 160);
            assert_eq!(tag_of(&p), Some(seq));
        }
        assert_eq!(tag_of(&[0xFF; 160]), None, "silence is not a tag");
        assert_eq!(tag_of(&[0xCB]), None);
        let mut garbled = payload(4242);
        garbled[3] = 0x57;
        assert_eq!(tag_of(&garbled), None, "a tag byte outside the quiet range is no tag");
    }

    #[test]
    fn ulaw_round_trips_and_knows_full_scale() {
        for b in 0..=255u8 {
            let back = softmix::ulaw_encode(softmix::ulaw_decode(b));
            // 0x7F is μ-law's negative zero: it comes back as 0xFF.
            assert_eq!(back, if b == 0x7F { 0xFF } else { b }, "{b:#04x}");
        }
        assert_eq!(softmix::ulaw_decode(0x00), -32124);
        assert_eq!(softmix::ulaw_decode(0xFF), 0);
    }

    /// A recorded call's bridge is softmix: the agent hears the mix of everyone minus itself, and
    /// what it sends at that moment (a later packet of the same pattern) is in the mix. The tag has
    /// to come through that unchanged. Before: the tag's sequence number was four raw bytes, mostly
    /// 0x00 (μ-law full scale): the agent's own full-scale bytes plus the echo's saturated the mix,
    /// and the subtraction left 0x57, so 749 of 750 echoes in the lab carried no tag we sent.
    #[test]
    fn tags_survive_a_mixing_bridge() {
        for (seq, own) in [
            (0u32, 3u32),
            (7, 12),
            (255, 260),
            (4242, 4250),
            (0x00FF_FFFF, 0x0100_0004),
            (u32::MAX - 3, u32::MAX),
        ] {
            let heard = softmix::mix_minus(&payload(own), &payload(seq));
            assert_eq!(tag_of(&heard), Some(seq), "echo of {seq} heard while sending {own}");
        }
    }

    #[test]
    fn meter_counts_echoes_loss_rtt_and_jitter() {
        let t0 = Instant::now();
        let mut m = Meter::default();
        for seq in 0..10u32 {
            m.sent(seq, t0 + PACKET_INTERVAL * seq);
        }
        // 8 of 10 come back, 5 ms later, evenly spaced (no jitter); one duplicate; one foreign packet.
        for seq in 0..8u32 {
            let at = t0 + PACKET_INTERVAL * seq + Duration::from_millis(5);
            m.received(at, 1, 1000 + seq * SAMPLES_PER_PACKET, &payload(seq));
        }
        m.received(
            t0 + PACKET_INTERVAL * 8 + Duration::from_millis(5),
            1,
            1000 + 8 * SAMPLES_PER_PACKET,
            &payload(3),
        );
        m.received(
            t0 + PACKET_INTERVAL * 9 + Duration::from_millis(5),
            1,
            1000 + 9 * SAMPLES_PER_PACKET,
            &[0xFF; 160],
        );
        // A tag of a packet never sent (or garbled into one): received, not an echo.
        m.received(
            t0 + PACKET_INTERVAL * 10 + Duration::from_millis(5),
            1,
            1000 + 10 * SAMPLES_PER_PACKET,
            &payload(77),
        );
        let r = m.report();
        assert_eq!((r.sent, r.echoed, r.received), (10, 8, 11));
        assert!((r.loss_pct - 20.0).abs() < 1e-9);
        assert!(
            (r.rtt_p50_ms.unwrap() - 5.0).abs() < 0.01 && (r.rtt_max_ms.unwrap() - 5.0).abs() < 0.01,
            "{r:?}"
        );
        assert!(r.jitter_ms.unwrap() < 0.01, "{r:?}");
        assert_eq!(m.untagged, 2);
    }

    #[test]
    fn jitter_grows_when_arrivals_wobble() {
        let t0 = Instant::now();
        let mut m = Meter::default();
        for i in 0..200u32 {
            let wobble = if i % 2 == 0 { 0 } else { 8 };
            m.received(
                t0 + PACKET_INTERVAL * i + Duration::from_millis(wobble),
                1,
                i * SAMPLES_PER_PACKET,
                &[0xFF; 160],
            );
        }
        let j = m.report().jitter_ms.unwrap();
        // |D| alternates ±8 ms: the estimator converges to 8 ms.
        assert!((j - 8.0).abs() < 0.5, "{j}");
        assert_eq!(Meter::default().report().loss_pct, 100.0, "nothing sent is a failure, not 0 % loss");
    }

    #[test]
    fn a_new_source_counts_and_its_timestamps_are_not_jitter() {
        let t0 = Instant::now();
        let mut m = Meter::default();
        // Evenly spaced; halfway the source changes, with timestamps from elsewhere.
        for i in 0..20u32 {
            m.sent(i, t0 + PACKET_INTERVAL * i);
            let (ssrc, ts0) = if i < 10 { (1, 0) } else { (2, 3_000_000_000) };
            m.received(t0 + PACKET_INTERVAL * i, ssrc, ts0 + i * SAMPLES_PER_PACKET, &payload(i));
        }
        let r = m.report();
        assert_eq!((r.sent, r.echoed, r.received), (20, 20, 20), "{r:?}");
        assert!(r.jitter_ms.unwrap() < 0.01, "{r:?}");
    }
}
