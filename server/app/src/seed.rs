//! `callbase seed-demo`: the demo tenant, idempotent. Re-running resets the admin's password to the
//! one given, so the credentials printed by `infra/dev up` always work.

use anyhow::Context;
use callbase_core::{Password, Role};
use callbase_db::accounts;

use crate::settings::Settings;

pub const DEMO_ACCOUNT: &str = "demo";
pub const DEMO_LOGIN: &str = "admin";

pub async fn seed_demo(settings: &Settings, password: &str) -> anyhow::Result<()> {
    let pw = Password::parse(password, &[DEMO_LOGIN, DEMO_ACCOUNT]).map_err(|e| anyhow::anyhow!("demo password: {e}"))?;
    let hash = callbase_api::auth::password::hash(pw.expose().to_string()).await?;
    let pool = callbase_db::lazy_pool(&settings.database.url, 2)?;
    let db = callbase_db::Db::new(pool);
    let mut tx = db.global_tx().await.context("cannot reach PostgreSQL")?;
    let tenant = match accounts::tenant_by_account(&mut tx, DEMO_ACCOUNT).await? {
        Some(t) => {
            callbase_db::set_tenant(&mut tx, t.id).await?;
            t
        }
        None => accounts::create_tenant(&mut tx, DEMO_ACCOUNT, "Demo Company").await?.0,
    };
    let admin = match accounts::user_by_login(&mut tx, tenant.id, DEMO_LOGIN).await? {
        Some(u) => {
            let p = accounts::UserPatch { password_hash: Some(&hash), disabled: Some(false), ..Default::default() };
            accounts::update_user(&mut tx, tenant.id, u.id, &p).await?;
            u
        }
        None => {
            let new = accounts::NewUser { login: DEMO_LOGIN, name: "Demo Admin", email: "admin@demo.invalid", password_hash: &hash };
            accounts::insert_user(&mut tx, tenant.id, &new).await?
        }
    };
    let groups = accounts::list_groups(&mut tx, tenant.id).await?;
    let admin_group = groups.iter().find(|g| g.builtin && g.role == Role::Administrator).context("demo tenant lacks its Administrator group")?;
    let agent_group = groups.iter().find(|g| g.builtin && g.role == Role::User).context("demo tenant lacks its Agent group")?;
    accounts::set_memberships(&mut tx, tenant.id, admin.id, &[admin_group.id])
        .await?
        .map_err(|_| anyhow::anyhow!("demo groups vanished"))?;
    for (login, name) in [("anna", "Anna Agent"), ("boris", "Boris Agent")] {
        if accounts::user_by_login(&mut tx, tenant.id, login).await?.is_none() {
            let new = accounts::NewUser { login, name, email: &format!("{login}@demo.invalid"), password_hash: &hash };
            let u = accounts::insert_user(&mut tx, tenant.id, &new).await?;
            accounts::set_memberships(&mut tx, tenant.id, u.id, &[agent_group.id]).await?.map_err(|_| anyhow::anyhow!("demo groups vanished"))?;
        }
    }
    tx.commit().await?;
    Ok(())
}
