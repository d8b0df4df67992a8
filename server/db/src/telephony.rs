//! The telephony module switch, telephony users and the auto-provisioning groups (issue #5).
//! Asterisk's rows for these users live in `callbase_telephony::agents`.

use callbase_core::{GroupId, TenantId, UserId};
use sqlx::FromRow;

use crate::Tx;

/// The tenant's telephony module state and inbound routing settings.
#[derive(Debug, Clone, FromRow)]
pub struct TelephonyRow {
    pub enabled: bool,
    pub auto_group_ids: Vec<i64>,
    pub ring_timeout_secs: i32,
    pub forward_number: Option<String>,
    pub greeting_key: Option<String>,
    /// Seconds a parked call waits before it rings the agent who parked it (issue #18).
    pub park_timeout_secs: i32,
    /// Callers nobody takes (and no forward number) may leave a message (issue #19).
    pub voicemail: bool,
    /// The prompts' language: `en` or `ru` (issue #19).
    pub prompt_language: String,
}

impl Default for TelephonyRow {
    fn default() -> Self {
        Self {
            enabled: false,
            auto_group_ids: vec![],
            ring_timeout_secs: 15,
            forward_number: None,
            greeting_key: None,
            park_timeout_secs: 60,
            voicemail: false,
            prompt_language: "en".into(),
        }
    }
}

/// A telephony user with the app user's name, login and state.
#[derive(Debug, Clone, FromRow)]
pub struct TelUserRow {
    pub user_id: UserId,
    pub name: String,
    pub login: String,
    pub disabled: bool,
    pub extension: String,
    pub sip_login: String,
    pub accept_incoming: bool,
    pub browser_calls: bool,
    pub manual: bool,
    /// May call abroad (toll-fraud guard; off for agents by default).
    pub international: bool,
    /// The agent state now (`callbase_db::agent_states`): only `available` rings for inbound calls.
    pub state: String,
    /// Where calls to the user go when none of their devices is online (issue #18).
    pub mobile_number: Option<String>,
}

/// Serialises telephony-user changes of one tenant (next free extension, provisioning sync).
pub async fn lock(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('callbase.telephony', $1))")
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn state(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<TelephonyRow> {
    let row: Option<TelephonyRow> = sqlx::query_as(
        "SELECT enabled, auto_group_ids, ring_timeout_secs, forward_number, greeting_key, park_timeout_secs, voicemail, \
         prompt_language \
         FROM telephony WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn set_enabled(tx: &mut Tx, tenant: TenantId, enabled: bool) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony (tenant_id, enabled) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET enabled = EXCLUDED.enabled, changed_at = now()",
    )
    .bind(tenant)
    .bind(enabled)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Turning telephony off forgets its settings (the row goes; dial rules too).
pub async fn forget_settings(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM telephony_settings WHERE tenant_id = $1")
        .bind(tenant)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE telephony SET auto_group_ids = '{}', ring_timeout_secs = 15, forward_number = NULL, greeting_key = NULL,
             park_timeout_secs = 60
         WHERE tenant_id = $1",
    )
    .bind(tenant)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores the auto-provisioning groups; ids that are not this tenant's groups are returned as `Err`.
pub async fn set_auto_groups(
    tx: &mut Tx,
    tenant: TenantId,
    groups: &[GroupId],
) -> sqlx::Result<Result<(), Vec<GroupId>>> {
    if let Err(unknown) = crate::accounts::check_groups(tx, tenant, groups).await? {
        return Ok(Err(unknown));
    }
    let mut ids: Vec<i64> = groups.iter().map(|g| g.0).collect();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query(
        "INSERT INTO telephony (tenant_id, auto_group_ids) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET auto_group_ids = EXCLUDED.auto_group_ids, changed_at = now()",
    )
    .bind(tenant)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(Ok(()))
}

/// Inbound routing settings (issue #4) and the park timeout (issue #18).
pub async fn set_routing(
    tx: &mut Tx,
    tenant: TenantId,
    ring_timeout_secs: i32,
    forward_number: Option<&str>,
    park_timeout_secs: i32,
    voicemail: bool,
    prompt_language: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony (tenant_id, ring_timeout_secs, forward_number, park_timeout_secs, voicemail, prompt_language)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id) DO UPDATE SET ring_timeout_secs = EXCLUDED.ring_timeout_secs,
             forward_number = EXCLUDED.forward_number, park_timeout_secs = EXCLUDED.park_timeout_secs,
             voicemail = EXCLUDED.voicemail, prompt_language = EXCLUDED.prompt_language, changed_at = now()",
    )
    .bind(tenant)
    .bind(ring_timeout_secs)
    .bind(forward_number)
    .bind(park_timeout_secs)
    .bind(voicemail)
    .bind(prompt_language)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const USER_COLUMNS: &str = "t.user_id, u.name, u.login, u.disabled, t.extension, t.sip_login, t.accept_incoming, t.browser_calls, t.manual, t.international, agent_state_now(t.state, t.wrapup_until) AS state, t.mobile_number";

pub async fn list_users(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<TelUserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM telephony_users t JOIN users u ON u.id = t.user_id
         WHERE t.tenant_id = $1 ORDER BY length(t.extension), t.extension"
    ))
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// The telephony users an agent's call can need: the caller, and the colleague whose extension
/// `extension` is (when it is one) — two rows at most, whatever the tenant's size.
pub async fn caller_and_extension(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    extension: Option<&str>,
) -> sqlx::Result<Vec<TelUserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM telephony_users t JOIN users u ON u.id = t.user_id
         WHERE t.tenant_id = $1 AND (t.user_id = $2 OR t.extension = $3)
         ORDER BY length(t.extension), t.extension"
    ))
    .bind(tenant)
    .bind(user)
    .bind(extension)
    .fetch_all(&mut **tx)
    .await
}

pub async fn get_user(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<Option<TelUserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM telephony_users t JOIN users u ON u.id = t.user_id
         WHERE t.tenant_id = $1 AND t.user_id = $2"
    ))
    .bind(tenant)
    .bind(user)
    .fetch_optional(&mut **tx)
    .await
}

/// The telephony user with this extension, if any.
pub async fn user_by_extension(
    tx: &mut Tx,
    tenant: TenantId,
    extension: &str,
) -> sqlx::Result<Option<TelUserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM telephony_users t JOIN users u ON u.id = t.user_id
         WHERE t.tenant_id = $1 AND t.extension = $2"
    ))
    .bind(tenant)
    .bind(extension)
    .fetch_optional(&mut **tx)
    .await
}

/// The lowest free 3-digit-or-longer extension from 101 up.
pub async fn next_free_extension(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<String> {
    let n: i64 = sqlx::query_scalar(
        "SELECT s::bigint FROM generate_series(101, 999999) s
         WHERE NOT EXISTS (SELECT 1 FROM telephony_users t WHERE t.tenant_id = $1 AND t.extension = s::text)
         LIMIT 1",
    )
    .bind(tenant)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n.to_string())
}

pub struct NewTelUser<'a> {
    pub user: UserId,
    pub extension: &'a str,
    pub sip_login: &'a str,
    pub accept_incoming: bool,
    pub browser_calls: bool,
    pub manual: bool,
}

pub async fn insert_user(tx: &mut Tx, tenant: TenantId, n: &NewTelUser<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony_users (tenant_id, user_id, extension, sip_login, accept_incoming, browser_calls, manual)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(n.user)
    .bind(n.extension)
    .bind(n.sip_login)
    .bind(n.accept_incoming)
    .bind(n.browser_calls)
    .bind(n.manual)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A telephony user's line as `update_user` writes it.
pub struct UserLine<'a> {
    pub extension: &'a str,
    pub sip_login: &'a str,
    pub accept_incoming: bool,
    pub browser_calls: bool,
    pub manual: bool,
}

pub async fn update_user(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    line: &UserLine<'_>,
) -> sqlx::Result<()> {
    let UserLine { extension, sip_login, accept_incoming, browser_calls, manual } = *line;
    sqlx::query(
        "UPDATE telephony_users SET extension = $3, sip_login = $4, accept_incoming = $5, browser_calls = $6, manual = $7
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant)
    .bind(user)
    .bind(extension)
    .bind(sip_login)
    .bind(accept_incoming)
    .bind(browser_calls)
    .bind(manual)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete_user(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<bool> {
    let n = sqlx::query("DELETE FROM telephony_users WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Grants or withdraws a telephony user's permission to call abroad; false when there is no such user.
pub async fn set_international(tx: &mut Tx, tenant: TenantId, user: UserId, on: bool) -> sqlx::Result<bool> {
    let n =
        sqlx::query("UPDATE telephony_users SET international = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user)
            .bind(on)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(n > 0)
}

/// Sets (or clears) the user's mobile number; false when they are no telephony user.
pub async fn set_mobile(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    mobile: Option<&str>,
) -> sqlx::Result<bool> {
    let n =
        sqlx::query("UPDATE telephony_users SET mobile_number = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user)
            .bind(mobile)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(n > 0)
}

/// Users who are members of at least one of `groups`.
pub async fn members_of(tx: &mut Tx, tenant: TenantId, groups: &[i64]) -> sqlx::Result<Vec<UserId>> {
    sqlx::query_scalar(
        "SELECT DISTINCT m.user_id FROM memberships m WHERE m.tenant_id = $1 AND m.group_id = ANY($2) ORDER BY 1",
    )
    .bind(tenant)
    .bind(groups)
    .fetch_all(&mut **tx)
    .await
}

/// A deleted access group no longer provisions anyone.
pub async fn forget_group(tx: &mut Tx, tenant: TenantId, group: GroupId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE telephony SET auto_group_ids = array_remove(auto_group_ids, $2) WHERE tenant_id = $1",
    )
    .bind(tenant)
    .bind(group.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which greeting: the one callers hear before agents ring, or the one while closed (business
/// hours, issue #19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreetingSlot {
    Open,
    Closed,
}

impl GreetingSlot {
    fn column(self) -> &'static str {
        match self {
            GreetingSlot::Open => "greeting_key",
            GreetingSlot::Closed => "closed_greeting_key",
        }
    }
}

/// Sets a greeting's object name (or none), returning the previous one.
pub async fn set_greeting(
    tx: &mut Tx,
    tenant: TenantId,
    slot: GreetingSlot,
    key: Option<&str>,
) -> sqlx::Result<Option<String>> {
    // The column is one of two constants, never input.
    let col = slot.column();
    let old: Option<String> =
        sqlx::query_scalar(&format!("SELECT {col} FROM telephony WHERE tenant_id = $1 FOR UPDATE"))
            .bind(tenant)
            .fetch_optional(&mut **tx)
            .await?
            .flatten();
    sqlx::query(&format!(
        "INSERT INTO telephony (tenant_id, {col}) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET {col} = EXCLUDED.{col}, changed_at = now()"
    ))
    .bind(tenant)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(old)
}
