//! The tagged audio the agent sends and the measurements it takes on the echo.
//!
//! Every 20 ms packet is 160 bytes of PCMU: a 1 kHz tone whose first six bytes carry a magic and
//! the packet's sequence number. PCMU passes Asterisk's Echo() and a two-party bridge unchanged
//! (no transcoding), so each echoed packet names the packet it echoes: round-trip time is exact
//! per packet, and a packet that never comes back is lost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub const SAMPLES_PER_PACKET: u32 = 160;
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const MAGIC: [u8; 2] = [0xCB, 0x5A];

/// A μ-law 1 kHz tone at 8 kHz (8 samples a period), about −10 dBFS.
const TONE: [u8; 8] = [0xFF, 0xA7, 0x9E, 0xA7, 0x7F, 0x27, 0x1E, 0x27];

/// The payload of packet `seq`.
pub fn payload(seq: u32) -> Vec<u8> {
    let mut p: Vec<u8> = (0..SAMPLES_PER_PACKET as usize).map(|i| TONE[i % TONE.len()]).collect();
    p[..2].copy_from_slice(&MAGIC);
    p[2..6].copy_from_slice(&seq.to_be_bytes());
    p
}

/// The sequence number a payload carries, if it is one of ours.
pub fn tag_of(payload: &[u8]) -> Option<u32> {
    if payload.len() < 6 || payload[..2] != MAGIC {
        return None;
    }
    Some(u32::from_be_bytes(payload[2..6].try_into().ok()?))
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
    /// Packets received that carried no tag of ours (silence, comfort noise, other audio).
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
        match tag_of(payload) {
            Some(seq) => {
                if let Some(sent_at) = self.sent.get(&seq) {
                    if self.seen.insert(seq) {
                        self.rtts.push(at.saturating_duration_since(*sent_at));
                    }
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
            received: echoed + self.untagged,
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
    /// Audio packets received in all (tagged or not).
    #[serde(default)]
    pub received: u64,
    pub loss_pct: f64,
    pub rtt_p50_ms: Option<f64>,
    pub rtt_p95_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
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
        let r = m.report();
        assert_eq!((r.sent, r.echoed), (10, 8));
        assert!((r.loss_pct - 20.0).abs() < 1e-9);
        assert!(
            (r.rtt_p50_ms.unwrap() - 5.0).abs() < 0.01 && (r.rtt_max_ms.unwrap() - 5.0).abs() < 0.01,
            "{r:?}"
        );
        assert!(r.jitter_ms.unwrap() < 0.01, "{r:?}");
        assert_eq!(m.untagged, 1);
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
