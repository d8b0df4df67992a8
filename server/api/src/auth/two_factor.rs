//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock drift either way) and recovery codes.
//! The code generator is the `totp-rs` crate; what is ours is the policy: which step a code
//! matched (so a code works once), and how recovery codes are made and stored (SHA-256 only).

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

pub const STEP_SECS: u64 = 30;
const RECOVERY_CODES: usize = 10;
/// Letters and digits that cannot be mistaken for one another when read aloud or copied.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new random 160-bit secret, base32 as authenticator apps take it.
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::thread_rng().gen();
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS, bytes).ok()
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_url(secret_b32: &str, account: &str, login: &str) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("callbase:{login}@{account}").as_bytes()).collect();
    format!("otpauth://totp/{label}?secret={secret_b32}&issuer=callbase&algorithm=SHA1&digits=6&period={STEP_SECS}")
}

/// The time step `code` is valid for at `now` (Unix seconds), if it is.
pub fn check(secret_b32: &str, code: &str, now: u64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32)?;
    for at in [now.saturating_sub(STEP_SECS), now, now + STEP_SECS] {
        if bool::from(t.generate(at).as_bytes().ct_eq(code.as_bytes())) {
            return Some((at / STEP_SECS) as i64);
        }
    }
    None
}

/// Ten fresh recovery codes, `xxxx-xxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut r = rand::thread_rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let c: String =
                (0..8).map(|_| RECOVERY_ALPHABET[r.gen_range(0..RECOVERY_ALPHABET.len())] as char).collect();
            format!("{}-{}", &c[..4], &c[4..])
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its letters (case, spaces and dashes ignored).
pub fn recovery_hash(code: &str) -> String {
    let norm: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    hex::encode(Sha256::digest(norm.as_bytes()))
}

/// Whether what the user typed looks like a recovery code rather than a TOTP code.
pub fn looks_like_recovery(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 8
}

/// Whether an admin must set up two-factor sign-in before using admin routes.
pub async fn setup_required(st: &crate::AppState, cu: &super::CurrentUser) -> crate::error::ApiResult<bool> {
    if !cu.role.is_admin() {
        return Ok(false);
    }
    // Every admin request asks this: one query.
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let pending = callbase_db::two_factor::setup_pending(&mut tx, cu.tenant_id, cu.user_id).await?;
    tx.commit().await?;
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors_hold() {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890", truncated to 6 digits.
        let secret = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string();
        assert_eq!(check(&secret, "287082", 59), Some(1));
        assert_eq!(check(&secret, "081804", 1111111109), Some(1111111109 / 30));
        assert_eq!(check(&secret, "050471", 1111111111), Some(1111111111 / 30));
        assert_eq!(check(&secret, "005924", 1234567890), Some(1234567890 / 30));
    }

    #[test]
    fn codes_are_accepted_one_step_either_way_and_nothing_else() {
        let s = new_secret();
        let t = totp(&s).unwrap();
        let now = 1_800_000_000;
        assert_eq!(check(&s, &t.generate(now), now), Some((now / 30) as i64));
        assert_eq!(check(&s, &t.generate(now - 30), now), Some((now / 30 - 1) as i64));
        assert_eq!(check(&s, &t.generate(now + 30), now), Some((now / 30 + 1) as i64));
        assert_eq!(check(&s, &t.generate(now - 90), now), None);
        assert_eq!(check(&s, "12345", now), None);
        assert_eq!(check(&s, "abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_unique_and_hashed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 9 && looks_like_recovery(c)));
        assert_eq!(recovery_hash(&codes[0]), recovery_hash(&codes[0].to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash(&codes[0]), recovery_hash(&codes[1]));
        assert!(!looks_like_recovery("123456"));
    }
}
