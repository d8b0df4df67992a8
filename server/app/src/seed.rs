//! `callbase seed-demo`: the demo tenant, idempotent. Re-running resets the admin's password to the
//! one given, so the credentials printed by `infra/dev up` always work.

use anyhow::Context;
use callbase_core::{Password, Role};
use callbase_db::accounts;

use crate::settings::Settings;

pub const DEMO_ACCOUNT: &str = "demo";
pub const DEMO_LOGIN: &str = "admin";

pub async fn seed_demo(settings: &Settings, password: &str) -> anyhow::Result<()> {
    let pw = Password::parse(password, &[DEMO_LOGIN, DEMO_ACCOUNT])
        .map_err(|e| anyhow::anyhow!("demo password: {e}"))?;
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
            let p = accounts::UserPatch {
                password_hash: Some(&hash),
                disabled: Some(false),
                ..Default::default()
            };
            accounts::update_user(&mut tx, tenant.id, u.id, &p).await?;
            u
        }
        None => {
            let new = accounts::NewUser {
                login: DEMO_LOGIN,
                name: "Demo Admin",
                email: "admin@demo.invalid",
                password_hash: &hash,
            };
            accounts::insert_user(&mut tx, tenant.id, &new).await?
        }
    };
    let groups = accounts::list_groups(&mut tx, tenant.id).await?;
    let admin_group = groups
        .iter()
        .find(|g| g.builtin && g.role == Role::Administrator)
        .context("demo tenant lacks its Administrator group")?;
    let agent_group = groups
        .iter()
        .find(|g| g.builtin && g.role == Role::User)
        .context("demo tenant lacks its Agent group")?;
    accounts::set_memberships(&mut tx, tenant.id, admin.id, &[admin_group.id])
        .await?
        .map_err(|_| anyhow::anyhow!("demo groups vanished"))?;
    for (login, name) in [("anna", "Anna Agent"), ("boris", "Boris Agent")] {
        if accounts::user_by_login(&mut tx, tenant.id, login).await?.is_none() {
            let new = accounts::NewUser {
                login,
                name,
                email: &format!("{login}@demo.invalid"),
                password_hash: &hash,
            };
            let u = accounts::insert_user(&mut tx, tenant.id, &new).await?;
            accounts::set_memberships(&mut tx, tenant.id, u.id, &[agent_group.id])
                .await?
                .map_err(|_| anyhow::anyhow!("demo groups vanished"))?;
        }
    }
    // Telephony on: the admin is extension 101, the Agent group provisions anna and boris.
    callbase_db::telephony::lock(&mut tx, tenant.id).await?;
    callbase_db::telephony::set_enabled(&mut tx, tenant.id, true).await?;
    callbase_db::nodes::place(&mut tx, tenant.id).await?.context(
        "no live Asterisk node has room for the demo tenant: register one (callbase node register)",
    )?;
    if callbase_db::telephony::get_user(&mut tx, tenant.id, admin.id).await?.is_none() {
        let n = callbase_telephony::provision::NewUser {
            user: admin.id,
            extension: Some("101"),
            accept_incoming: true,
            browser_calls: true,
            manual: true,
        };
        callbase_telephony::provision::add(&mut tx, tenant.id, DEMO_ACCOUNT, &n).await?;
        // As when an administrator turns telephony on: 101 may call abroad, the agents may not.
        callbase_db::telephony::set_international(&mut tx, tenant.id, admin.id, true).await?;
    }
    callbase_db::telephony::set_auto_groups(&mut tx, tenant.id, &[agent_group.id])
        .await?
        .map_err(|_| anyhow::anyhow!("demo groups vanished"))?;
    callbase_telephony::provision::sync_groups(&mut tx, tenant.id, DEMO_ACCOUNT).await?;
    let trunk = demo_trunk(&mut tx, tenant.id).await?;
    demo_clients(&mut tx, tenant.id).await?;
    tx.commit().await?;
    if trunk {
        // Asterisk reads outbound registrations at module (re)load only.
        let ari = callbase_telephony::ari::Ari::new(&settings.asterisk);
        ari.reload_module(callbase_telephony::trunks::PJSIP_MODULE).await.context("reloading res_pjsip")?;
        ari.reload_module(callbase_telephony::trunks::REGISTRATION_MODULE)
            .await
            .context("reloading the registrations")?;
    }
    Ok(())
}

/// The demo trunk to the stack's demo carrier (its credentials come from the stack's env file,
/// `CALLBASE_CARRIER_*`), created once. Returns whether it was created.
async fn demo_trunk(tx: &mut callbase_db::Tx, tenant: callbase_core::TenantId) -> anyhow::Result<bool> {
    let (Ok(user), Ok(password), Ok(carrier)) = (
        std::env::var("CALLBASE_CARRIER_TRUNK_USER"),
        std::env::var("CALLBASE_CARRIER_TRUNK_PASSWORD"),
        std::env::var("CALLBASE_CARRIER_SIP"),
    ) else {
        tracing::info!("no demo carrier in the environment: the demo tenant gets no trunk");
        return Ok(false);
    };
    if !callbase_db::trunks::list(tx, tenant).await?.is_empty() {
        return Ok(false);
    }
    let host = callbase_core::sip::SipHost::parse(&carrier)
        .map_err(|e| anyhow::anyhow!("CALLBASE_CARRIER_SIP: {e}"))?;
    let f = callbase_db::trunks::TrunkFields {
        mode: "extended".into(),
        label: "Demo carrier".into(),
        number: Some("4950000001".into()),
        username: user.clone(),
        domain: carrier.clone(),
        host: carrier.clone(),
        rewrite: None,
        preset: None,
    };
    callbase_db::trunks::insert(tx, tenant, 1, 1, &f).await?;
    let rows = callbase_telephony::trunks::TrunkRows {
        tenant,
        slot: 1,
        username: user,
        domain: carrier,
        host,
        number: f.number.clone(),
    };
    callbase_telephony::trunks::write_rows(tx, &rows, Some(&password)).await?;
    Ok(true)
}

/// A few clients in the demo tenant's "Clients", once (the carrier answers any number with an
/// echo, so every handset places a real call).
async fn demo_clients(tx: &mut callbase_db::Tx, tenant: callbase_core::TenantId) -> anyhow::Result<()> {
    use callbase_crm::repo;
    let tables = repo::tables::list(tx, tenant).await?;
    let Some(clients) = tables.iter().find(|t| t.name == "Clients") else { return Ok(()) };
    if clients.record_count > 0 {
        return Ok(());
    }
    let fields = repo::fields::of_table(tx, tenant, clients.id).await?;
    let rules = callbase_db::settings::dial_rules(tx, tenant).await?;
    let users = callbase_db::accounts::user_names(tx, tenant).await?;
    let anna = users.iter().find(|u| u.1 == "Anna Agent").map(|u| *u.0);
    let id = |n: &str| fields.iter().find(|f| f.name == n).map(|f| f.key()).unwrap_or_default();
    let demo = [
        ("Olga Smirnova", "+7 916 555-01-01", "olga@example.com", "client"),
        ("Ivan Petrov", "8 (495) 555-02-02", "ivan.petrov@example.com", "in progress"),
        ("Acme Trading LLC", "555-03-03", "office@acme.example", "new"),
        ("Elena Kuznetsova", "+7 926 555-04-04", "elena@example.com", "lost"),
    ];
    let mut writes = Vec::new();
    for (name, phone, email, status) in demo {
        let mut v = serde_json::Map::new();
        v.insert(id("Name"), name.into());
        v.insert(id("Phone"), phone.into());
        v.insert(id("E-mail"), email.into());
        v.insert(id("Status"), status.into());
        if let Some(a) = anna {
            v.insert(id("Manager"), a.into());
        }
        let w = callbase_crm::write::build_write(&fields, &rules, &v, &|u| users.get(&u).cloned())
            .map_err(|(f, e)| anyhow::anyhow!("demo client {name}: {f}: {e}"))?;
        writes.push(w);
    }
    repo::records::insert(tx, tenant, clients.id, &writes, None).await?;
    Ok(())
}
