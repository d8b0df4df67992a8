//! What Asterisk sees of a live call's media (issue #22, one-way-audio diagnosis): the RTP
//! counters of the agent's leg and of the other party's leg, from ARI's
//! `GET /channels/{id}/rtp_statistics`. The phone compares them with its own `getStats` to say
//! which hop is silent: two readings a few seconds apart tell whether packets still flow.

use serde::{Deserialize, Serialize};

use crate::ari::{Ari, AriError};

/// One leg's RTP as Asterisk counts it. `rx` is what Asterisk received on the leg (from the
/// browser on the agent's leg, from the carrier on a trunk leg), `tx` what it sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegMedia {
    pub rx_packets: u64,
    pub tx_packets: u64,
    /// Packets lost on the way to Asterisk (its own count from sequence numbers).
    pub rx_lost: u64,
    /// Interarrival jitter of what Asterisk receives, in milliseconds.
    pub rx_jitter_ms: f64,
    /// Round trip from RTCP, in milliseconds (0 until the peer's first report).
    pub rtt_ms: f64,
}

/// Asterisk's `RTPstat` (only the fields we read; jitter and round trip come in seconds).
#[derive(Debug, Deserialize)]
struct RtpStat {
    #[serde(default)]
    txcount: u64,
    #[serde(default)]
    rxcount: u64,
    #[serde(default)]
    rxploss: u64,
    #[serde(default)]
    rxjitter: f64,
    #[serde(default)]
    rtt: f64,
}

impl From<RtpStat> for LegMedia {
    fn from(s: RtpStat) -> Self {
        LegMedia {
            rx_packets: s.rxcount,
            tx_packets: s.txcount,
            rx_lost: s.rxploss,
            rx_jitter_ms: (s.rxjitter * 1000.0).max(0.0),
            rtt_ms: (s.rtt * 1000.0).max(0.0),
        }
    }
}

/// The RTP counters of `channel`; `None` when the channel is gone or has no RTP (a Local channel).
pub async fn leg(ari: &Ari, channel: &str) -> Result<Option<LegMedia>, AriError> {
    // Channel ids are Asterisk's unique ids or ours (`<call id>-<suffix>`): a path segment as is.
    if channel.is_empty() || !channel.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Ok(None);
    }
    let path = format!("channels/{channel}/rtp_statistics");
    match ari.call(reqwest::Method::GET, &path, &[], None).await {
        Ok(Some(v)) if v.is_object() => Ok(serde_json::from_value::<RtpStat>(v).ok().map(LegMedia::from)),
        Ok(_) => Ok(None),
        // A channel without an RTP instance answers 404 too; anything else is the node's trouble.
        Err(AriError::Status { status: 404 | 409 | 422, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_seconds_become_milliseconds() {
        let s: RtpStat = serde_json::from_value(serde_json::json!({
            "txcount": 250, "rxcount": 249, "rxploss": 1, "rxjitter": 0.0025, "rtt": 0.041,
            "local_ssrc": 1, "remote_ssrc": 2, "channel_uniqueid": "x"
        }))
        .unwrap();
        let m = LegMedia::from(s);
        assert_eq!((m.rx_packets, m.tx_packets, m.rx_lost), (249, 250, 1));
        assert!((m.rx_jitter_ms - 2.5).abs() < 1e-9 && (m.rtt_ms - 41.0).abs() < 1e-9, "{m:?}");
    }
}
