//! The ARI events the Stasis app reads, typed (Asterisk 22's `/ari/events` WebSocket). Fields we do
//! not read are ignored, missing ones take their defaults, and event types we do not handle are
//! [`Event::Other`].

use serde::Deserialize;
use time::OffsetDateTime;

/// One ARI event, tagged by its `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A channel entered the Stasis app: a new call, or a leg we created.
    StasisStart {
        channel: Channel,
        #[serde(default)]
        args: Vec<String>,
    },
    StasisEnd {
        channel: Channel,
    },
    ChannelDestroyed {
        channel: Channel,
        /// Q.850 cause.
        #[serde(default)]
        cause: i64,
        #[serde(default)]
        cause_txt: Option<String>,
    },
    ChannelHangupRequest {
        channel: Channel,
        #[serde(default)]
        cause: Option<i64>,
    },
    ChannelStateChange {
        channel: Channel,
    },
    ChannelHold {
        channel: Channel,
    },
    ChannelUnhold {
        channel: Channel,
    },
    ChannelDtmfReceived {
        channel: Channel,
        #[serde(default)]
        digit: String,
    },
    /// Progress of a dial: `peer` is the dialled channel.
    Dial {
        peer: Channel,
        #[serde(default)]
        caller: Option<Channel>,
        /// `RINGING`, `ANSWER`, `BUSY`, … (empty when the dial starts).
        #[serde(default)]
        dialstatus: String,
    },
    PlaybackFinished {
        playback: Playback,
    },
    BridgeDestroyed {
        bridge: Bridge,
    },
    RecordingFinished {
        recording: LiveRecording,
    },
    RecordingFailed {
        recording: LiveRecording,
    },
    #[serde(other)]
    Other,
}

/// An ARI channel, as far as we read it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Channel {
    pub id: String,
    pub name: String,
    /// `Down`, `Ring`, `Ringing`, `Up`, …
    pub state: String,
    pub caller: CallerId,
    /// `2026-11-28T05:40:00.123+0000`.
    pub creationtime: Option<String>,
    /// The endpoint's `set_var` tenant attribution.
    pub tenantid: Option<String>,
}

impl Channel {
    /// Asterisk's creation time of the channel, in epoch milliseconds.
    pub fn created_ms(&self) -> Option<i64> {
        asterisk_time_ms(self.creationtime.as_deref()?)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CallerId {
    pub name: String,
    pub number: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Playback {
    pub id: String,
    /// `channel:<id>` or `bridge:<id>`.
    pub target_uri: String,
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Bridge {
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LiveRecording {
    pub name: String,
    pub target_uri: String,
    pub state: String,
    pub cause: Option<String>,
}

impl Event {
    /// The channel the event is about (not a dial's peer).
    pub fn channel(&self) -> Option<&Channel> {
        match self {
            Event::StasisStart { channel, .. }
            | Event::StasisEnd { channel }
            | Event::ChannelDestroyed { channel, .. }
            | Event::ChannelHangupRequest { channel, .. }
            | Event::ChannelStateChange { channel }
            | Event::ChannelHold { channel }
            | Event::ChannelUnhold { channel }
            | Event::ChannelDtmfReceived { channel, .. } => Some(channel),
            _ => None,
        }
    }

    /// The channel ids whose owner gets this event, in order: the channel, a dial's peer, a
    /// playback's target channel.
    pub fn channel_ids(&self) -> impl Iterator<Item = &str> {
        let playback = match self {
            Event::PlaybackFinished { playback } => playback.target_uri.strip_prefix("channel:"),
            _ => None,
        };
        let peer = match self {
            Event::Dial { peer, .. } => Some(peer.id.as_str()),
            _ => None,
        };
        self.channel().map(|c| c.id.as_str()).into_iter().chain(peer).chain(playback)
    }

    /// Is this the end of channel `ch` (hung up, destroyed or gone from Stasis)?
    pub fn ends(&self, ch: &str) -> bool {
        match self {
            Event::ChannelDestroyed { channel, .. }
            | Event::StasisEnd { channel }
            | Event::ChannelHangupRequest { channel, .. } => channel.id == ch,
            _ => false,
        }
    }

    /// The channel this event reports answered: a dial's peer on `ANSWER`, or a channel turning `Up`.
    pub fn answered_channel(&self) -> Option<&str> {
        match self {
            Event::Dial { peer, dialstatus, .. } if dialstatus == "ANSWER" => Some(&peer.id),
            Event::ChannelStateChange { channel } if channel.state == "Up" => Some(&channel.id),
            _ => None,
        }
    }
}

/// An ARI timestamp (`2026-11-28T05:40:00.123+0000`) as epoch milliseconds.
pub fn asterisk_time_ms(s: &str) -> Option<i64> {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]");
    let t = OffsetDateTime::parse(s, &f).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn known_events_parse_with_the_fields_we_read_and_others_are_other() {
        let e = ev(json!({"type": "StasisStart", "args": ["inbound", "12", "2", "100"],
            "channel": {"id": "c1", "state": "Ring", "caller": {"number": "79161234567", "name": ""},
            "creationtime": "1970-01-01T00:00:01.250+0000", "tenantid": "12", "dialplan": {}},
            "timestamp": "x", "application": "callbase"}));
        let Event::StasisStart { channel, args } = &e else { panic!("{e:?}") };
        assert_eq!(args.len(), 4);
        assert_eq!(channel.caller.number, "79161234567");
        assert_eq!(channel.tenantid.as_deref(), Some("12"));
        assert_eq!(channel.created_ms(), Some(1250));
        assert_eq!(ev(json!({"type": "ChannelVarset", "variable": "X"})), Event::Other);
        assert_eq!(
            ev(json!({"type": "Dial", "peer": {"id": "l"}})),
            Event::Dial {
                peer: Channel { id: "l".into(), ..Default::default() },
                caller: None,
                dialstatus: "".into()
            }
        );
    }

    #[test]
    fn answers_are_a_dial_answer_or_a_channel_going_up() {
        assert_eq!(
            ev(json!({"type": "Dial", "dialstatus": "ANSWER", "peer": {"id": "l"}})).answered_channel(),
            Some("l")
        );
        assert_eq!(
            ev(json!({"type": "Dial", "dialstatus": "RINGING", "peer": {"id": "l"}})).answered_channel(),
            None
        );
        assert_eq!(
            ev(json!({"type": "ChannelStateChange", "channel": {"id": "c", "state": "Up"}}))
                .answered_channel(),
            Some("c")
        );
        assert_eq!(
            ev(json!({"type": "ChannelStateChange", "channel": {"id": "c", "state": "Ringing"}}))
                .answered_channel(),
            None
        );
    }

    #[test]
    fn asterisk_timestamps_parse() {
        assert_eq!(asterisk_time_ms("1970-01-01T00:00:01.250+0000"), Some(1250));
        assert_eq!(asterisk_time_ms("1970-01-01T03:00:01.250+0300"), Some(1250));
        assert_eq!(asterisk_time_ms("yesterday"), None);
    }
}
