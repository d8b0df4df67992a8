//! Webhooks (issue #21): what a tenant's endpoint may be ([`target`]), what a message looks like
//! and how it is signed ([`message`]), and the worker that delivers the queue ([`worker`]).

pub mod message;
pub mod target;
pub mod worker;

use serde::Deserialize;

/// Webhook settings (`CALLBASE__WEBHOOKS__*`).
#[derive(Debug, Clone, Deserialize)]
pub struct WebhooksConfig {
    /// Endpoints must use https (`false` for tests and on-premise installs without TLS).
    #[serde(default = "yes")]
    pub require_https: bool,
    /// Allow endpoints on loopback, private and link-local addresses (tests, on-premise).
    #[serde(default)]
    pub allow_private_targets: bool,
    /// Seconds before each retry after a failed attempt; one attempt more than retries. The
    /// default spans a little over a day (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    /// `CALLBASE__WEBHOOKS__RETRY_SCHEDULE_SECS=5,300,1800` in the environment.
    #[serde(default = "default_schedule", deserialize_with = "secs_list")]
    pub retry_schedule_secs: Vec<u64>,
    /// An endpoint is disabled once this many attempts in a row failed…
    #[serde(default = "default_disable_failures")]
    pub disable_after_failures: u32,
    /// …over at least this many seconds (a burst of failures does not disable it).
    #[serde(default = "default_disable_secs")]
    pub disable_after_secs: u64,
    /// Per request.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How often an idle worker looks for due messages.
    #[serde(default = "default_poll")]
    pub poll_ms: u64,
    /// How long a `recording.ready` download link works.
    #[serde(default = "default_link_ttl")]
    pub link_ttl_secs: u64,
    /// How long delivered and failed messages stay in the delivery log (pending ones stay until
    /// they are delivered or fail).
    #[serde(default = "default_keep_days")]
    pub keep_days: u32,
}

/// A list of seconds as a list, one number, or comma-separated text (what an environment variable
/// can say).
fn secs_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Secs {
        List(Vec<u64>),
        One(u64),
        Text(String),
    }
    match Secs::deserialize(d)? {
        Secs::List(v) => Ok(v),
        Secs::One(n) => Ok(vec![n]),
        Secs::Text(t) => t
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number of seconds")))
            })
            .collect(),
    }
}

fn yes() -> bool {
    true
}
fn default_schedule() -> Vec<u64> {
    vec![5, 300, 1800, 7200, 18000, 36000, 36000]
}
fn default_disable_failures() -> u32 {
    20
}
fn default_disable_secs() -> u64 {
    24 * 3600
}
fn default_timeout() -> u64 {
    10
}
fn default_poll() -> u64 {
    1000
}
fn default_link_ttl() -> u64 {
    3600
}
fn default_keep_days() -> u32 {
    30
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("all webhook settings have defaults")
    }
}

/// Seconds until the retry after attempt `attempt` (1-based) failed; `None` after the last.
pub fn retry_in(schedule: &[u64], attempt: i32) -> Option<u64> {
    usize::try_from(attempt).ok().and_then(|a| a.checked_sub(1)).and_then(|i| schedule.get(i)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_retries_for_over_a_day() {
        let c = WebhooksConfig::default();
        assert!(c.retry_schedule_secs.iter().sum::<u64>() >= 24 * 3600);
        assert_eq!(retry_in(&c.retry_schedule_secs, 1), Some(5));
        assert_eq!(retry_in(&c.retry_schedule_secs, 7), Some(36000));
        assert_eq!(retry_in(&c.retry_schedule_secs, 8), None, "eight attempts, then failed");
        assert_eq!(retry_in(&c.retry_schedule_secs, 0), None);
    }

    #[test]
    fn the_schedule_reads_as_a_list_a_number_or_text() {
        let read = |v: serde_json::Value| {
            serde_json::from_value::<WebhooksConfig>(serde_json::json!({"retry_schedule_secs": v}))
                .map(|c| c.retry_schedule_secs)
        };
        assert_eq!(read(serde_json::json!([1, 2])).unwrap(), [1, 2]);
        assert_eq!(read(serde_json::json!(7)).unwrap(), [7]);
        assert_eq!(read(serde_json::json!("3, 30,300")).unwrap(), [3, 30, 300]);
        assert!(read(serde_json::json!("3,x")).is_err());
    }
}
