//! Database access. Every tenant-owned query runs inside [`Db::tenant_tx`], which sets
//! `app.tenant_id` for that transaction only; PostgreSQL row-level security (forced on every
//! tenant-owned table) then hides all other tenants' rows even if a query forgets a `WHERE`.

use std::time::Duration;

use callbase_core::TenantId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

pub mod accounts;
pub mod agent_states;
pub mod api_keys;
pub mod audit;
pub mod blocklist;
pub mod board;
pub mod callbacks;
pub mod calls;
pub mod fraud;
pub mod hours;
pub mod menus;
pub mod nodes;
pub mod preflight;
pub mod probe;
pub mod queues;
pub mod reports;
pub mod settings;
pub mod speed_dials;
pub mod supervisions;
pub mod telephony;
pub mod trunks;
pub mod two_factor;
pub mod webhooks;

/// The project's migrations (root `migrations/`), embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub type Tx = Transaction<'static, Postgres>;

/// Database settings (`CALLBASE__DATABASE__*`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DbConfig {
    /// The API's role (`callbase_app`, no BYPASSRLS).
    pub url: SecretString,
    /// The owner role, for migrations.
    pub admin_url: Option<SecretString>,
    /// The cross-tenant workers' role (BYPASSRLS).
    pub worker_url: Option<SecretString>,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    16
}

fn options(url: &SecretString) -> Result<PgConnectOptions, sqlx::Error> {
    url.expose_secret().parse::<PgConnectOptions>()
}

/// Opens a pool without connecting yet, so the server starts (and reports not-ready) while the
/// database is down instead of crashing.
pub fn lazy_pool(url: &SecretString, max: u32) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options(url)?))
}

/// Applies all pending migrations with the owner role.
pub async fn migrate(admin_url: &SecretString) -> Result<(), sqlx::Error> {
    let pool = PgPoolOptions::new().max_connections(1).connect_with(options(admin_url)?).await?;
    MIGRATOR.run(&pool).await?;
    pool.close().await;
    Ok(())
}

/// The app's pool, with tenant-scoped transactions.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    lookup: Option<PgPool>,
}

impl Db {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, lookup: None }
    }

    /// A pool on the worker role (no RLS) for index lookups that RLS would turn into full scans;
    /// every such query names its tenant and returns ids that are read back under RLS.
    pub fn with_lookup(mut self, pool: PgPool) -> Self {
        self.lookup = Some(pool);
        self
    }

    pub fn lookup(&self) -> Option<&PgPool> {
        self.lookup.as_ref()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// One round trip to the database (readiness).
    #[tracing::instrument(skip_all)]
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query!("SELECT 1 AS one").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// A transaction in which only `tenant`'s rows are visible and writable.
    pub async fn tenant_tx(&self, tenant: TenantId) -> Result<Tx, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        set_tenant(&mut tx, tenant).await?;
        Ok(tx)
    }

    /// A transaction with no tenant set: tenant-owned tables look empty. For the `tenants` table
    /// (slug lookups before login, sign-up).
    pub async fn global_tx(&self) -> Result<Tx, sqlx::Error> {
        self.pool.begin().await
    }
}

/// Sets the transaction's tenant (used after creating a tenant inside a global transaction).
pub async fn set_tenant(tx: &mut Tx, tenant: TenantId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.0.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The database error type of every repository function.
pub type Error = sqlx::Error;
/// A connection pool (the worker's, for cross-tenant work).
pub type Pool = sqlx::PgPool;

/// PostgreSQL is unreachable (down, restarting, refusing connections) rather than refusing what was
/// asked: worth answering 503 for, or retrying once it is back.
pub fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            true
        }
        // 08…: connection exceptions; 57P01–57P03: the server is shutting down or starting.
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// The name of the violated constraint, if `e` is a constraint violation.
pub fn constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(d) => d.constraint(),
        _ => None,
    }
}
