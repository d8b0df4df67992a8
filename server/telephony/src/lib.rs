//! Everything that talks to Asterisk. This crate knows no HTTP framework; the API crate maps its
//! errors to responses.

pub mod ami;
pub mod ari;
pub mod registrations;
pub mod stasis;
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
}
