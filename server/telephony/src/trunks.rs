//! PJSIP realtime rows for a tenant's trunk, and the order in which Asterisk must be told.
//!
//! One trunk is four rows sharing the id `t<tenant>-trk<slot>`: an auth (digest credentials), an
//! AOR (the carrier's address, for outbound calls), an endpoint (context `from-trunk`, G.711, the
//! tenant and trunk ids as channel variables) and an outbound registration with `line=yes` +
//! `endpoint=…`, so an INVITE the carrier sends to our Contact lands on this tenant's endpoint even
//! when several tenants share one carrier.
//!
//! Trunks take nothing they did not ask for: the AOR has `max_contacts=0` (no REGISTER can add a
//! contact beside the carrier's static one, so outbound calls and the qualify only ever reach the
//! carrier), and the endpoint is `identify_by=header` with no identify rows, so neither the `From`
//! user (Asterisk's default `username` method) nor the source address selects it: only the `line`
//! token of our own registration, which the carrier learns from our Contact, does. Matching by
//! the carrier's address could not tell two tenants on one carrier apart anyway.

use callbase_core::sip::{realtime_escape, SipHost};
use callbase_core::TenantId;
use callbase_db::Tx;

/// The module whose reload (re)reads `ps_registrations`.
pub const REGISTRATION_MODULE: &str = "res_pjsip_outbound_registration.so";

/// Reloading res_pjsip empties the sorcery caches (so Asterisk reads the rows just written) and
/// makes it pick up the trunk AOR's static contact for qualifying; it does not disturb
/// registrations or transports.
pub const PJSIP_MODULE: &str = "res_pjsip.so";

/// OPTIONS ping interval to the carrier: a registration that Asterisk still reports as
/// "Registered" is stale when the carrier stopped answering, and only the qualify notices within
/// seconds.
pub const QUALIFY_SECS: i32 = 15;

/// A trunk endpoint's identification methods: `header` with no identify rows matches nothing, so
/// only the outbound registration's `line` identifier (which ignores `identify_by`) selects it.
pub const IDENTIFY_BY: &str = "header";

/// Asterisk hangs up a trunk leg that received no RTP for this long (not on hold): the last safety
/// net against a carrier leg nobody controls any more (docs/operations.md).
pub const RTP_TIMEOUT_SECS: i32 = 60;
/// The same while the leg is on hold.
pub const RTP_TIMEOUT_HOLD_SECS: i32 = 300;

/// The static contact of a trunk's AOR (the carrier), as Asterisk lists it.
pub fn carrier_contact(host: &SipHost) -> String {
    format!("sip:{host}")
}

/// The Asterisk object id of a tenant's trunk slot.
pub fn ast_id(tenant: TenantId, slot: i16) -> String {
    format!("t{tenant}-trk{slot}")
}

/// Parses `t<tenant>-trk<slot>` back.
pub fn parse_ast_id(id: &str) -> Option<(TenantId, i16)> {
    let rest = id.strip_prefix('t')?;
    let (t, s) = rest.split_once("-trk")?;
    Some((TenantId(t.parse().ok()?), s.parse().ok().filter(|s| (1..=3).contains(s))?))
}

/// What Asterisk needs to know about a trunk.
#[derive(Debug, Clone)]
pub struct TrunkRows {
    pub tenant: TenantId,
    pub slot: i16,
    pub username: String,
    pub domain: String,
    pub host: SipHost,
    /// The DID / account number, used as the Contact user when given (extended mode).
    pub number: Option<String>,
}

impl TrunkRows {
    pub fn id(&self) -> String {
        ast_id(self.tenant, self.slot)
    }
}

/// Inserts or updates the four rows. `password = None` keeps the stored one.
pub async fn write_rows(tx: &mut Tx, t: &TrunkRows, password: Option<&str>) -> sqlx::Result<()> {
    let id = t.id();
    let user = realtime_escape(&t.username);
    let domain = realtime_escape(&t.domain);
    let host = t.host.to_string();
    let password = password.map(realtime_escape);
    sqlx::query(
        "INSERT INTO ast.ps_auths (id, tenant_id, auth_type, username, password) VALUES ($1, $2, 'userpass', $3, COALESCE($4, ''))
         ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, password = COALESCE($4, ast.ps_auths.password)",
    )
    .bind(&id)
    .bind(t.tenant)
    .bind(&user)
    .bind(&password)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO ast.ps_aors (id, tenant_id, contact, max_contacts, qualify_frequency, qualify_timeout)
         VALUES ($1, $2, $3, 0, $4, 3)
         ON CONFLICT (id) DO UPDATE SET contact = EXCLUDED.contact, qualify_frequency = EXCLUDED.qualify_frequency,
                max_contacts = 0",
    )
    .bind(&id)
    .bind(t.tenant)
    .bind(carrier_contact(&t.host))
    .bind(QUALIFY_SECS)
    .execute(&mut **tx)
    .await?;
    // set_var is deliberately not escaped: its ';' separates the two variables.
    sqlx::query(
        "INSERT INTO ast.ps_endpoints (id, tenant_id, tenantid, transport, context, disallow, allow, outbound_auth, aors,
                from_user, from_domain, set_var, direct_media, rtp_symmetric, force_rport, rewrite_contact, dtmf_mode, identify_by,
                rtp_timeout, rtp_timeout_hold, timers, timers_min_se, timers_sess_expires)
         VALUES ($1, $2, $3, 'transport-udp', 'from-trunk', 'all', 'ulaw,alaw', $1, $1, $4, $5, $6, 'no', 'yes', 'yes', 'yes', 'rfc4733', $7,
                $8, $9, 'yes', $10, $11)
         ON CONFLICT (id) DO UPDATE SET from_user = EXCLUDED.from_user, from_domain = EXCLUDED.from_domain,
                set_var = EXCLUDED.set_var, identify_by = EXCLUDED.identify_by,
                rtp_timeout = EXCLUDED.rtp_timeout, rtp_timeout_hold = EXCLUDED.rtp_timeout_hold,
                timers = EXCLUDED.timers, timers_min_se = EXCLUDED.timers_min_se,
                timers_sess_expires = EXCLUDED.timers_sess_expires",
    )
    .bind(&id)
    .bind(t.tenant)
    .bind(t.tenant.to_string())
    .bind(&user)
    .bind(&domain)
    .bind(format!("TENANT_ID={};TRUNK_ID={}", t.tenant, t.slot))
    .bind(IDENTIFY_BY)
    .bind(RTP_TIMEOUT_SECS)
    .bind(RTP_TIMEOUT_HOLD_SECS)
    .bind(crate::timers::MIN_SE_COL)
    .bind(crate::timers::session_expires_col())
    .execute(&mut **tx)
    .await?;
    let contact_user = t.number.as_deref().map(realtime_escape).unwrap_or_else(|| user.clone());
    sqlx::query(
        "INSERT INTO ast.ps_registrations (id, tenant_id, server_uri, client_uri, contact_user, outbound_auth, transport,
                expiration, retry_interval, forbidden_retry_interval, fatal_retry_interval, max_retries,
                auth_rejection_permanent, line, endpoint, max_random_initial_delay)
         VALUES ($1, $2, $3, $4, $5, $1, 'transport-udp', 300, 20, 30, 30, 10000, 'no', 'yes', $1, 2)
         ON CONFLICT (id) DO UPDATE SET server_uri = EXCLUDED.server_uri, client_uri = EXCLUDED.client_uri,
                contact_user = EXCLUDED.contact_user",
    )
    .bind(&id)
    .bind(t.tenant)
    .bind(format!("sip:{host}"))
    .bind(format!("sip:{user}@{domain}"))
    .bind(&contact_user)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored (escaped) password, to restore it if Asterisk refuses a change.
pub async fn stored_password(tx: &mut Tx, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password FROM ast.ps_auths WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Restores a password exactly as stored (already escaped).
pub async fn restore_password(tx: &mut Tx, id: &str, escaped: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE ast.ps_auths SET password = $2 WHERE id = $1")
        .bind(id)
        .bind(escaped)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// First step of deleting a trunk: drop the registration, so the module reload un-REGISTERs it
/// (with the auth still in place).
pub async fn delete_registration(tx: &mut Tx, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM ast.ps_registrations WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Second step: the auth, AOR and endpoint.
pub async fn delete_rows(tx: &mut Tx, id: &str) -> sqlx::Result<()> {
    for table in ["ps_endpoints", "ps_aors", "ps_auths", "ps_registrations"] {
        sqlx::query(&format!("DELETE FROM ast.{table} WHERE id = $1")).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(ast_id(TenantId(42), 3), "t42-trk3");
        assert_eq!(parse_ast_id("t42-trk3"), Some((TenantId(42), 3)));
        assert_eq!(parse_ast_id("t42-trk4"), None);
        assert_eq!(parse_ast_id("t42-a101"), None);
        assert_eq!(parse_ast_id("x42-trk1"), None);
    }
}
