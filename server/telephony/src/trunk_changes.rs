//! A trunk change as one operation across PostgreSQL and Asterisk: the rows are committed, the
//! outbound-registration module is reloaded, and if Asterisk does not take the change the rows are
//! put back as they were ([`TrunkChangeError::Asterisk`]: nothing changed). The HTTP route
//! (`api/routes/trunks.rs`) validates the body, rate-limits, calls one function here and audits.

use callbase_core::sip::SipHost;
use callbase_core::TenantId;
use callbase_db::trunks::{self as repo, TrunkFields, TrunkRow};
use callbase_db::Db;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

use crate::ami::Ami;
use crate::ari::Ari;
use crate::trunks::{self as ast, TrunkRows};

/// Most trunks per tenant.
pub const MAX_TRUNKS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum TrunkChangeError {
    #[error("no such trunk")]
    NotFound,
    #[error("a tenant can have at most 3 trunks; delete one first")]
    TooMany,
    /// The carrier's address is refused (the platform itself, or private space).
    #[error("the carrier's address is not allowed: {0}")]
    HostRefused(String),
    /// Asterisk did not take the change; the rows were put back, nothing changed.
    #[error("Asterisk did not take the trunk change: {0}")]
    Asterisk(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("enter the trunk's password")]
    PasswordMissing,
    #[error("stored trunk host is invalid: {0}")]
    StoredHost(String),
}

type Result<T> = std::result::Result<T, TrunkChangeError>;

/// A validated trunk: its fields, the parsed carrier host and the new password (None keeps the
/// stored one).
pub struct TrunkInput {
    pub fields: TrunkFields,
    pub host: SipHost,
    pub password: Option<String>,
}

/// Registration state as the registration monitor keeps it in Redis.
#[derive(Debug, Clone)]
pub struct RegistrationStatus {
    /// `registered`, `rejected`, `unregistered` or `waiting`.
    pub state: String,
    pub reason: Option<String>,
    /// Unix seconds of the last change.
    pub since: Option<i64>,
}

/// What a trunk change needs: the database, Asterisk (ARI, and AMI for re-registration) and
/// Redis (the registration state).
pub struct TrunkChanges<'a> {
    pub db: &'a Db,
    pub ari: &'a Ari,
    pub ami: Option<&'a Ami>,
    pub redis: &'a ConnectionManager,
    pub asterisk: &'a crate::AsteriskConfig,
}

/// A trunk's registration state (`waiting` until the monitor saw it).
#[tracing::instrument(skip_all, fields(trunk = %id))]
pub async fn registration_status(redis: &ConnectionManager, id: &str) -> Result<RegistrationStatus> {
    let mut r = redis.clone();
    let (state, reason, since): (Option<String>, Option<String>, Option<i64>) =
        r.hget(callbase_core::keys::trunk_registration(id), &["state", "reason", "since"]).await?;
    Ok(RegistrationStatus { state: state.unwrap_or_else(|| "waiting".into()), reason, since })
}

fn rows_of(tenant: TenantId, slot: i16, f: &TrunkFields, host: SipHost) -> TrunkRows {
    TrunkRows {
        tenant,
        slot,
        username: f.username.clone(),
        domain: f.domain.clone(),
        host,
        number: f.number.clone(),
    }
}

fn stored_host(t: &TrunkRow) -> Result<SipHost> {
    SipHost::parse(&t.host).map_err(|e| TrunkChangeError::StoredHost(e.to_string()))
}

/// Makes a node re-read which trunks and endpoints it has (after tenants moved on or off it):
/// res_pjsip reload (its sorcery caches empty) and the registration module reload (a trunk no
/// longer visible is un-REGISTERed, a new one registered). Failures are logged: the caches expire
/// by themselves, and the registration reconcile retries.
pub async fn reload_node(ari: &Ari) {
    for module in [ast::PJSIP_MODULE, ast::REGISTRATION_MODULE] {
        if let Err(e) = ari.reload_module(module).await {
            tracing::warn!(error = %e, module, "module reload on a node failed");
        }
    }
}

impl TrunkChanges<'_> {
    /// Refuses a host that is the platform's own SIP listener, or loopback/private/link-local
    /// space unless private carriers are allowed (`asterisk.allow_private_carriers`).
    async fn check_host(&self, host: &SipHost) -> Result<()> {
        let policy = crate::carrier::policy(self.asterisk).await;
        crate::carrier::check_host(&policy, host).await.map_err(TrunkChangeError::HostRefused)
    }

    /// Makes Asterisk use what was just written: res_pjsip reload (fresh caches, qualify of the
    /// carrier contact), the registration module reload (new/changed/deleted registrations), and
    /// after a password change an immediate REGISTER (the module reload ignores auth changes).
    async fn apply(&self, id: &str, password_changed: bool) -> std::result::Result<(), String> {
        self.ari.reload_module(ast::PJSIP_MODULE).await.map_err(|e| e.to_string())?;
        self.ari.reload_module(ast::REGISTRATION_MODULE).await.map_err(|e| e.to_string())?;
        if password_changed {
            match self.ami {
                Some(ami) => {
                    if let Err(e) = ami.pjsip_register(id).await {
                        tracing::warn!(error = %e, "re-register after password change failed; Asterisk retries by itself");
                    }
                }
                None => tracing::warn!("no AMI: the new password is used at the next registration retry"),
            }
        }
        Ok(())
    }

    async fn mark_waiting(&self, id: &str) -> Result<()> {
        let mut r = self.redis.clone();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let _: () = r
            .hset_multiple(
                callbase_core::keys::trunk_registration(id),
                &[("state", "waiting".to_string()), ("reason", String::new()), ("since", now.to_string())],
            )
            .await?;
        Ok(())
    }

    /// Every trunk of the tenant in outbound order, with its registration state.
    #[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<(TrunkRow, RegistrationStatus)>> {
        let mut tx = self.db.tenant_tx(tenant).await?;
        let rows = repo::list(&mut tx, tenant).await?;
        tx.commit().await?;
        self.with_status(rows).await
    }

    /// The rows with their registration states.
    pub async fn with_status(&self, rows: Vec<TrunkRow>) -> Result<Vec<(TrunkRow, RegistrationStatus)>> {
        let mut out = Vec::with_capacity(rows.len());
        for t in rows {
            let status = registration_status(self.redis, &ast::ast_id(t.tenant_id, t.slot)).await?;
            out.push((t, status));
        }
        Ok(out)
    }

    /// Creates a trunk in the first free slot, last in the outbound order (a password is
    /// required).
    #[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
    pub async fn create(&self, tenant: TenantId, input: TrunkInput) -> Result<TrunkRow> {
        self.check_host(&input.host).await?;
        let password = input.password.as_deref().ok_or(TrunkChangeError::PasswordMissing)?;
        let mut tx = self.db.tenant_tx(tenant).await?;
        repo::lock_tenant(&mut tx, tenant).await?;
        let existing = repo::list(&mut tx, tenant).await?;
        if existing.len() >= MAX_TRUNKS {
            return Err(TrunkChangeError::TooMany);
        }
        let slot = (1..=3)
            .find(|s| existing.iter().all(|t| t.slot != *s))
            .expect("fewer than 3 trunks leave a free slot");
        let row = repo::insert(&mut tx, tenant, slot, existing.len() as i16 + 1, &input.fields).await?;
        let rows = rows_of(tenant, slot, &input.fields, input.host);
        ast::write_rows(&mut tx, &rows, Some(password)).await?;
        tx.commit().await?;
        let id = rows.id();
        self.mark_waiting(&id).await?;
        if let Err(e) = self.apply(&id, false).await {
            // Undo: nothing of the trunk may remain.
            let mut tx = self.db.tenant_tx(tenant).await?;
            ast::delete_rows(&mut tx, &id).await?;
            repo::delete(&mut tx, tenant, row.id).await?;
            tx.commit().await?;
            return Err(TrunkChangeError::Asterisk(e));
        }
        tracing::info!(tenant.id = %tenant, trunk = %id, "trunk created");
        Ok(row)
    }

    /// Changes a trunk; returns it as it was and as it is now.
    #[tracing::instrument(skip_all, fields(tenant.id = %tenant, trunk.id = id))]
    pub async fn update(&self, tenant: TenantId, id: i64, input: TrunkInput) -> Result<(TrunkRow, TrunkRow)> {
        self.check_host(&input.host).await?;
        let mut tx = self.db.tenant_tx(tenant).await?;
        repo::lock_tenant(&mut tx, tenant).await?;
        let before = repo::get(&mut tx, tenant, id).await?.ok_or(TrunkChangeError::NotFound)?;
        let ast_id = ast::ast_id(tenant, before.slot);
        let old_password = ast::stored_password(&mut tx, &ast_id).await?;
        let row =
            repo::update(&mut tx, tenant, id, &input.fields).await?.ok_or(TrunkChangeError::NotFound)?;
        let rows = rows_of(tenant, before.slot, &input.fields, input.host);
        ast::write_rows(&mut tx, &rows, input.password.as_deref()).await?;
        tx.commit().await?;
        self.mark_waiting(&ast_id).await?;
        if let Err(e) = self.apply(&ast_id, input.password.is_some()).await {
            let mut tx = self.db.tenant_tx(tenant).await?;
            let old = TrunkFields::from(&before);
            repo::update(&mut tx, tenant, id, &old).await?;
            ast::write_rows(&mut tx, &rows_of(tenant, before.slot, &old, stored_host(&before)?), None)
                .await?;
            if let Some(p) = old_password {
                ast::restore_password(&mut tx, &ast_id, &p).await?;
            }
            tx.commit().await?;
            return Err(TrunkChangeError::Asterisk(e));
        }
        tracing::info!(tenant.id = %tenant, trunk = %ast_id, "trunk updated");
        Ok((before, row))
    }

    /// Deletes a trunk: un-REGISTER first (registration row gone + module reload, with the auth
    /// still in place), then the remaining rows. Used by the delete route and by turning
    /// telephony off.
    #[tracing::instrument(skip_all, fields(tenant.id = %tenant, trunk.id = id))]
    pub async fn remove(&self, tenant: TenantId, id: i64) -> Result<TrunkRow> {
        let mut tx = self.db.tenant_tx(tenant).await?;
        repo::lock_tenant(&mut tx, tenant).await?;
        let t = repo::get(&mut tx, tenant, id).await?.ok_or(TrunkChangeError::NotFound)?;
        let ast_id = ast::ast_id(tenant, t.slot);
        let password = ast::stored_password(&mut tx, &ast_id).await?;
        // Step 1: drop the registration and reload, so Asterisk un-REGISTERs with the auth still there.
        ast::delete_registration(&mut tx, &ast_id).await?;
        tx.commit().await?;
        if let Err(e) = self.ari.reload_module(ast::REGISTRATION_MODULE).await {
            let mut tx = self.db.tenant_tx(tenant).await?;
            let f = TrunkFields::from(&t);
            ast::write_rows(&mut tx, &rows_of(tenant, t.slot, &f, stored_host(&t)?), None).await?;
            if let Some(p) = password {
                ast::restore_password(&mut tx, &ast_id, &p).await?;
            }
            tx.commit().await?;
            return Err(TrunkChangeError::Asterisk(e.to_string()));
        }
        // Step 2: the rest of the rows and the trunk itself.
        let mut tx = self.db.tenant_tx(tenant).await?;
        repo::lock_tenant(&mut tx, tenant).await?;
        ast::delete_rows(&mut tx, &ast_id).await?;
        repo::delete(&mut tx, tenant, id).await?;
        tx.commit().await?;
        let mut r = self.redis.clone();
        let _: () = r.del(callbase_core::keys::trunk_registration(&ast_id)).await?;
        if let Err(e) = self.ari.reload_module(ast::PJSIP_MODULE).await {
            // The rows are gone; cached copies expire by themselves (object_lifetime_maximum).
            tracing::warn!(error = %e, "res_pjsip reload after trunk delete failed");
        }
        tracing::info!(tenant.id = %tenant, trunk = %ast_id, "trunk deleted");
        Ok(t)
    }

    /// Every trunk of the tenant, removed one by one (turning telephony off). Stops at the first
    /// that Asterisk refuses.
    #[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
    pub async fn remove_all(&self, tenant: TenantId) -> Result<()> {
        let trunks = {
            let mut tx = self.db.tenant_tx(tenant).await?;
            let t = repo::list(&mut tx, tenant).await?;
            tx.commit().await?;
            t
        };
        for t in trunks {
            self.remove(tenant, t.id).await?;
        }
        Ok(())
    }

    /// Puts the trunks in the given order (every trunk id exactly once); returns the order before
    /// and after.
    #[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
    pub async fn reorder(
        &self,
        tenant: TenantId,
        ids: &[i64],
    ) -> Result<Option<(Vec<TrunkRow>, Vec<TrunkRow>)>> {
        let mut tx = self.db.tenant_tx(tenant).await?;
        repo::lock_tenant(&mut tx, tenant).await?;
        let existing = repo::list(&mut tx, tenant).await?;
        let mut want = ids.to_vec();
        want.sort_unstable();
        let mut have: Vec<i64> = existing.iter().map(|t| t.id).collect();
        have.sort_unstable();
        if want != have {
            return Ok(None);
        }
        repo::reorder(&mut tx, tenant, ids).await?;
        let rows = repo::list(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(Some((existing, rows)))
    }
}
