//! PJSIP realtime rows for telephony users (agents), and telling Asterisk about changes.
//!
//! Each telephony user has:
//! - a desk-phone credential `<account>_<extension>` (auth row, md5 digest — the clear password is
//!   shown once and never stored) and, when "calls in browser" is off, an endpoint + AOR of the same
//!   id for a desk phone or softphone (UDP/TCP, symmetric RTP, one contact);
//! - when "calls in browser" is on, a WebRTC endpoint `t<tenant>-w<user>` (webrtc=yes) whose
//!   password is replaced at every browser-phone start.
//!
//! Both endpoints enter the dialplan in `from-agents` with the tenant and user as channel variables,
//! and both have SIP session timers at the configured interval (`crate::timers`).
//! Rows are read by Asterisk through a memory cache: after a change the cached objects are expired
//! (AMI `SorceryMemoryCacheExpireObject`) so the next lookup reads the database.

use callbase_core::sip::realtime_escape;
use callbase_core::{TenantId, UserId};
use callbase_db::Tx;
use md5::{Digest, Md5};
use rand::distributions::{Alphanumeric, DistString};

use crate::ami::Ami;
use crate::timers;

/// The digest realm Asterisk challenges agents with (`default_realm` in pjsip.conf).
pub const REALM: &str = "callbase";

/// Codecs offered to browsers: G.711 first (no transcoding to the G.711 trunks), Opus allowed.
pub const WEBRTC_CODECS: &str = "ulaw,opus";
/// Codecs for desk phones and softphones.
pub const DESK_CODECS: &str = "ulaw,alaw";

/// The WebRTC endpoint id of a user.
pub fn web_id(tenant: TenantId, user: UserId) -> String {
    format!("t{tenant}-w{user}")
}

/// Parses `t<tenant>-w<user>` back.
pub fn parse_web_id(id: &str) -> Option<(TenantId, UserId)> {
    let rest = id.strip_prefix('t')?;
    let (t, u) = rest.split_once("-w")?;
    Some((TenantId(t.parse().ok()?), UserId(u.parse().ok()?)))
}

/// The platform-wide SIP login of a telephony user. Account slugs cannot contain `_`, so two
/// tenants never produce the same login.
pub fn sip_login(account: &str, extension: &str) -> String {
    format!("{account}_{extension}")
}

/// A new SIP password: 24 characters from `[A-Za-z0-9]` (≈ 143 bits; no `;` or `^`, which
/// Asterisk's realtime layer would split or decode).
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
}

/// md5(`user:realm:password`), what Asterisk's `md5_cred` holds.
pub fn md5_cred(user: &str, password: &str) -> String {
    ha1(user, REALM, password)
}

fn ha1(user: &str, realm: &str, password: &str) -> String {
    hex::encode(Md5::digest(format!("{user}:{realm}:{password}").as_bytes()))
}

/// What Asterisk should have for one telephony user.
#[derive(Debug, Clone)]
pub struct AgentRows {
    pub tenant: TenantId,
    pub user: UserId,
    pub extension: String,
    pub sip_login: String,
    pub display_name: String,
    /// The WebRTC endpoint exists (telephony on, user enabled, calls in browser).
    pub web: bool,
    /// The desk-phone endpoint exists (telephony on, user enabled, calls in browser off).
    pub desk: bool,
}

/// Sets the desk-phone credential (the auth row), creating it if needed.
pub async fn set_desk_password(
    tx: &mut Tx,
    tenant: TenantId,
    login: &str,
    password: &str,
) -> sqlx::Result<()> {
    upsert_auth(tx, tenant, login, password).await
}

/// Sets the WebRTC endpoint's password (at each browser-phone start).
pub async fn set_web_password(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    password: &str,
) -> sqlx::Result<()> {
    upsert_auth(tx, tenant, &web_id(tenant, user), password).await
}

async fn upsert_auth(tx: &mut Tx, tenant: TenantId, id: &str, password: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ast.ps_auths (id, tenant_id, auth_type, username, md5_cred, realm) VALUES ($1, $2, 'md5', $1, $3, $4)
         ON CONFLICT (id) DO UPDATE SET auth_type = 'md5', username = EXCLUDED.username, md5_cred = EXCLUDED.md5_cred,
             realm = EXCLUDED.realm, password = NULL",
    )
    .bind(id)
    .bind(tenant)
    .bind(md5_cred(id, password))
    .bind(REALM)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes or removes the endpoint and AOR rows so that Asterisk matches `a`. Returns the ids whose
/// cached objects must be expired after commit.
pub async fn write_rows(tx: &mut Tx, a: &AgentRows) -> sqlx::Result<Vec<String>> {
    let web = web_id(a.tenant, a.user);
    let set_var = format!("TENANT_ID={};USER_ID={};TRUNK_ID=0", a.tenant, a.user);
    let callerid = format!("\"{}\" <{}>", realtime_escape(&a.display_name).replace('"', "'"), a.extension);
    if a.web {
        sqlx::query(
            "INSERT INTO ast.ps_aors (id, tenant_id, max_contacts, remove_existing, qualify_frequency)
             VALUES ($1, $2, 1, 'yes', 0) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&web)
        .bind(a.tenant)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO ast.ps_endpoints (id, tenant_id, tenantid, transport, context, disallow, allow, auth, aors, webrtc,
                    dtmf_mode, set_var, callerid, direct_media, codec_prefs_incoming_offer, rtp_timeout, rtp_timeout_hold,
                    timers, timers_min_se, timers_sess_expires)
             VALUES ($1, $2, $3, 'transport-ws', 'from-agents', 'all', $4, $1, $1, 'yes', 'rfc4733', $5, $6, 'no',
                    'prefer: configured, operation: intersect, keep: all, transcode: allow', 60, 600, 'yes', $7, $8)
             ON CONFLICT (id) DO UPDATE SET set_var = EXCLUDED.set_var, callerid = EXCLUDED.callerid, allow = EXCLUDED.allow,
                    timers = EXCLUDED.timers, timers_min_se = EXCLUDED.timers_min_se,
                    timers_sess_expires = EXCLUDED.timers_sess_expires",
        )
        .bind(&web)
        .bind(a.tenant)
        .bind(a.tenant.to_string())
        .bind(WEBRTC_CODECS)
        .bind(&set_var)
        .bind(&callerid)
        .bind(timers::MIN_SE_COL)
        .bind(timers::session_expires_col())
        .execute(&mut **tx)
        .await?;
    } else {
        delete_endpoint(tx, &web, true).await?;
    }
    if a.desk {
        // support_path: a desk phone registered through the SIP edge (Kamailio, infra/kamailio/edge.cfg)
        // is reached back through the Path the edge added; one registered straight to the node sends
        // no Path and is reached at its contact as before.
        sqlx::query(
            "INSERT INTO ast.ps_aors (id, tenant_id, max_contacts, remove_existing, qualify_frequency, support_path)
             VALUES ($1, $2, 1, 'yes', 30, 'yes') ON CONFLICT (id) DO NOTHING",
        )
        .bind(&a.sip_login)
        .bind(a.tenant)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO ast.ps_endpoints (id, tenant_id, tenantid, context, disallow, allow, auth, aors, dtmf_mode,
                    set_var, callerid, direct_media, rtp_symmetric, force_rport, rewrite_contact,
                    timers, timers_min_se, timers_sess_expires)
             VALUES ($1, $2, $3, 'from-agents', 'all', $4, $1, $1, 'rfc4733', $5, $6, 'no', 'yes', 'yes', 'yes', 'yes', $7, $8)
             ON CONFLICT (id) DO UPDATE SET set_var = EXCLUDED.set_var, callerid = EXCLUDED.callerid,
                    timers = EXCLUDED.timers, timers_min_se = EXCLUDED.timers_min_se,
                    timers_sess_expires = EXCLUDED.timers_sess_expires",
        )
        .bind(&a.sip_login)
        .bind(a.tenant)
        .bind(a.tenant.to_string())
        .bind(DESK_CODECS)
        .bind(&set_var)
        .bind(&callerid)
        .bind(timers::MIN_SE_COL)
        .bind(timers::session_expires_col())
        .execute(&mut **tx)
        .await?;
    } else {
        delete_endpoint(tx, &a.sip_login, false).await?;
    }
    Ok(vec![web, a.sip_login.clone()])
}

/// Removes an endpoint and its AOR (and, with `with_auth`, its auth row).
async fn delete_endpoint(tx: &mut Tx, id: &str, with_auth: bool) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM ast.ps_endpoints WHERE id = $1").bind(id).execute(&mut **tx).await?;
    sqlx::query("DELETE FROM ast.ps_aors WHERE id = $1").bind(id).execute(&mut **tx).await?;
    if with_auth {
        sqlx::query("DELETE FROM ast.ps_auths WHERE id = $1").bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Removes every row of a telephony user (both endpoints and both credentials).
pub async fn delete_all(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    sip_login: &str,
) -> sqlx::Result<Vec<String>> {
    let web = web_id(tenant, user);
    delete_endpoint(tx, &web, true).await?;
    delete_endpoint(tx, sip_login, true).await?;
    Ok(vec![web, sip_login.to_string()])
}

/// Expires the cached endpoint, AOR and auth objects of `ids` so Asterisk reads the new rows.
/// Best effort: without AMI the caches expire by themselves (stale after 10 minutes).
pub async fn expire_cached(ami: Option<&Ami>, ids: &[String]) {
    let Some(ami) = ami else { return };
    for id in ids {
        for cache in ["cb_endpoint", "cb_aor", "cb_auth"] {
            if let Err(e) =
                ami.action("SorceryMemoryCacheExpireObject", &[("Cache", cache), ("Object", id)]).await
            {
                tracing::warn!(error = %e, cache, "could not expire a cached PJSIP object");
            }
        }
    }
}

/// Whether Asterisk holds a usable contact for an endpoint right now (a registered phone). Uses
/// AMI's contact list (a desk phone counts from its REGISTER on, before the first qualify), or
/// ARI's endpoint state without AMI.
pub async fn has_contact(ami: Option<&Ami>, ari: &crate::ari::Ari, id: &str) -> Result<bool, String> {
    match ami {
        Some(ami) => {
            let statuses = ami.contact_statuses(id).await.map_err(|e| e.to_string())?;
            Ok(statuses.iter().any(|(_, s)| s != "Unreachable" && s != "Removed"))
        }
        None => match ari.pjsip_endpoint(id).await {
            Ok(Some(v)) => Ok(v["state"] == "online"),
            Ok(None) => Ok(false),
            Err(e) => Err(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_ids_round_trip() {
        assert_eq!(web_id(TenantId(7), UserId(42)), "t7-w42");
        assert_eq!(parse_web_id("t7-w42"), Some((TenantId(7), UserId(42))));
        assert_eq!(parse_web_id("t7-trk1"), None);
        assert_eq!(parse_web_id("acme_101"), None);
    }

    #[test]
    fn passwords_are_long_and_realtime_safe() {
        let p = generate_password();
        assert_eq!(p.len(), 24);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, generate_password());
    }

    #[test]
    fn md5_cred_is_the_rfc2617_ha1() {
        // RFC 2617 section 3.5's example credentials.
        assert_eq!(ha1("Mufasa", "testrealm@host.com", "Circle Of Life"), "939e7578ed9e3c518a452acee763bce9");
        assert_eq!(md5_cred("acme_101", "x"), ha1("acme_101", "callbase", "x"));
    }
}
