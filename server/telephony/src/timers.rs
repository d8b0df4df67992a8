//! SIP session timers (RFC 4028) on the platform's endpoints: a call whose refreshes stop — a
//! browser that vanished without a BYE, a carrier that lost the call — is hung up instead of
//! lingering. Agents' endpoints (browser and desk phone) and trunks get `timers=yes`, Min-SE 90 s
//! and the configured session interval (`asterisk.session_expires_secs`, 1800 s by default); the
//! refresher refreshes at half of it (docs/phone.md, "Session timers").
//!
//! The interval is one value for the whole process, set once at start from the settings
//! ([`set_session_expires`]); the rows are written with it by `agents::write_rows` and
//! `trunks::write_rows`, and the browser phone asks for it in its INVITEs (`/api/phone/session`).

use std::sync::atomic::{AtomicU32, Ordering};

/// Asterisk's and RFC 4028's smallest session interval (and the endpoints' Min-SE).
pub const MIN_SE_SECS: u32 = 90;
/// The session interval when none is configured (Asterisk's own default).
pub const DEFAULT_SESSION_EXPIRES_SECS: u32 = 1800;

static SESSION_EXPIRES: AtomicU32 = AtomicU32::new(DEFAULT_SESSION_EXPIRES_SECS);

/// Sets the session interval of this process (from `asterisk.session_expires_secs`). Refuses less
/// than [`MIN_SE_SECS`].
pub fn set_session_expires(secs: u32) -> Result<(), String> {
    if secs < MIN_SE_SECS {
        return Err(format!(
            "asterisk.session_expires_secs is {secs}: at least {MIN_SE_SECS} (RFC 4028's minimum)"
        ));
    }
    SESSION_EXPIRES.store(secs, Ordering::Relaxed);
    Ok(())
}

/// The session interval endpoints are written with, in seconds.
pub fn session_expires() -> u32 {
    SESSION_EXPIRES.load(Ordering::Relaxed)
}

/// The value for `ps_endpoints.timers_sess_expires` / `timers_min_se` (integer columns).
pub fn session_expires_col() -> i32 {
    session_expires() as i32
}

/// `ps_endpoints.timers_min_se`.
pub const MIN_SE_COL: i32 = MIN_SE_SECS as i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn less_than_the_minimum_is_refused() {
        assert!(set_session_expires(89).is_err());
        assert!(set_session_expires(0).is_err());
    }
}
