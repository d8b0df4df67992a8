//! Everything that talks to Asterisk. This crate knows no HTTP framework; the API crate maps its
//! errors to responses.

pub mod agent_states;
pub mod agents;
pub mod ami;
pub mod ari;
pub mod call;
pub mod caller_id;
pub mod carrier;
pub mod commands;
pub mod context;
pub mod events;
pub mod failover;
pub mod fraud;
pub mod lease;
pub mod lifecycle;
pub mod media;
pub mod nodes;
pub mod presence;
pub mod probe;
pub mod provision;
pub mod recording;
pub mod registrations;
pub mod stasis;
pub mod timers;
pub mod trunk_changes;
pub mod trunks;

/// Asterisk connection settings (`CALLBASE__ASTERISK__*`). ARI and AMI must listen on loopback.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AsteriskConfig {
    /// Base URL of Asterisk's HTTP server, e.g. `http://127.0.0.1:8088`.
    pub ari_url: url::Url,
    pub ari_user: String,
    pub ari_password: secrecy::SecretString,
    /// AMI `host:port`, e.g. `127.0.0.1:5038`.
    pub ami_addr: Option<String>,
    pub ami_user: Option<String>,
    pub ami_secret: Option<secrecy::SecretString>,
    /// Asterisk's SIP-over-WebSocket endpoint (the `ws` transport on its HTTP server); by default
    /// `ws://<ari host:port>/ws`. Only the server connects to it, on loopback.
    pub ws_url: Option<url::Url>,
    /// Where desk phones and softphones register: the host name or address they are given on the
    /// "Set up your phone" page, and its SIP port.
    #[serde(default = "default_sip_host")]
    pub sip_public_host: String,
    #[serde(default = "default_sip_port")]
    pub sip_public_port: u16,
    /// Where Asterisk fetches media the server serves (tenant greetings), e.g.
    /// `http://127.0.0.1:8080`; by default the server's own address.
    pub media_base_url: Option<url::Url>,
    /// The platform's SIP listeners (`ip:port`, comma-separated): trunks may never point at them.
    /// `sip_public_host:sip_public_port` counts too; `0.0.0.0:port` stands for every loopback
    /// address and the public host's addresses.
    #[serde(default)]
    pub sip_listeners: Option<String>,
    /// Allow trunks to loopback, private and link-local hosts (on-premise carriers, the test
    /// stacks). Off by default: a SaaS carrier has a public address.
    #[serde(default)]
    pub allow_private_carriers: bool,
    /// This Asterisk node's name: the singleton workers' leases are per node (`stasis:<node>`,
    /// `registrations:<node>`, `probe:<node>`; docs/operations.md).
    #[serde(default = "default_node")]
    pub node: String,
    /// The PostgreSQL role this node's Asterisk reads the `ast` tables as (its `res_pgsql.conf`
    /// `dbuser`): it sees only the rows of the tenants on this node (migration 0021).
    #[serde(default = "default_db_role")]
    pub db_role: String,
    /// Register this node in the node registry at start (and place the tenants that have
    /// telephony and no node on it). Off for servers that only use nodes registered by others.
    #[serde(default = "yes")]
    pub register: bool,
    /// The SIP session interval (RFC 4028) of agents' and trunks' endpoints and of the browser
    /// phone's calls, in seconds; the refresher refreshes at half of it. At least 90 (Asterisk's
    /// and the RFC's minimum). The e2e lab uses 90 so a test call sees refreshes (`timers.rs`).
    #[serde(default = "default_session_expires")]
    pub session_expires_secs: u32,
}

fn default_session_expires() -> u32 {
    timers::DEFAULT_SESSION_EXPIRES_SECS
}

fn yes() -> bool {
    true
}

fn default_db_role() -> String {
    "callbase_ast".into()
}

fn default_node() -> String {
    "main".into()
}

fn default_sip_host() -> String {
    "127.0.0.1".into()
}

fn default_sip_port() -> u16 {
    5060
}

impl AsteriskConfig {
    /// The SIP-over-WebSocket URL the `/sip` relay connects to.
    pub fn sip_ws_url(&self) -> url::Url {
        self.ws_url.clone().unwrap_or_else(|| {
            let mut u = self.ari_url.clone();
            let _ = u.set_scheme(if u.scheme() == "https" { "wss" } else { "ws" });
            u.set_path("/ws");
            u.set_query(None);
            u
        })
    }
}
