//! The tenant's telephony as a call loads it: its state, dial rules, trunks and the telephony users
//! the call can need.

use callbase_core::{TenantId, UserId};

use crate::context::Ctx;

/// The tenant's telephony as a call needs it.
pub(super) struct Tenancy {
    pub(super) enabled: bool,
    pub(super) rules: callbase_core::dial::DialRules,
    pub(super) state: callbase_db::telephony::TelephonyRow,
    pub(super) users: Vec<callbase_db::telephony::TelUserRow>,
    pub(super) trunks: Vec<callbase_db::trunks::TrunkRow>,
}

/// Which of the tenant's telephony users a call loads with its telephony.
#[derive(Clone, Copy)]
pub(super) enum Users<'a> {
    /// Every one (ringing groups and queues, transfers, consultations).
    All,
    /// An agent's own call: the caller, and the colleague whose extension `dialled` is, if it is
    /// one — all that the call's routing reads ([`super::outbound`]). Set-up then costs the same in a
    /// tenant of 1 000 agents as in one of ten (issue #23: loading every user cost each call of a
    /// 1 000-agent tenant a thousand rows).
    Caller { user: UserId, dialled: &'a str },
}

#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub(super) async fn load(ctx: &Ctx, tenant: TenantId) -> Result<Tenancy, sqlx::Error> {
    load_with(ctx, tenant, Users::All).await
}

pub(super) async fn load_with(ctx: &Ctx, tenant: TenantId, which: Users<'_>) -> Result<Tenancy, sqlx::Error> {
    let mut tx = ctx.db.tenant_tx(tenant).await?;
    let state = callbase_db::telephony::state(&mut tx, tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let users = match which {
        Users::All => callbase_db::telephony::list_users(&mut tx, tenant).await?,
        Users::Caller { user, dialled } => {
            let ext = callbase_core::dial::extension_candidate(dialled);
            callbase_db::telephony::caller_and_extension(&mut tx, tenant, user, ext.as_deref()).await?
        }
    };
    let trunks = callbase_db::trunks::list(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(Tenancy { enabled: state.enabled, rules, state, users, trunks })
}
