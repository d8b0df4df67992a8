//! The load generator's telephony users: real users of a tenant (`lg1`…`lgN`), signed in over HTTP
//! with a browser-phone session each, whose SIP goes through the server's `/sip` relay
//! (`callbase loadgen --via-server`, `callbase agent-calls`).

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use callbase_core::TenantId;
use callbase_probe::Target;

use crate::settings::Settings;

/// `--via-server`: real telephony users of the tenant (`lg1`…`lgN` in its Agent group, one
/// generated password), each signed in over HTTP and given a browser-phone session
/// (`POST /api/phone/session`); their SIP goes through the server's authenticated `/sip` relay and
/// their calls take the agent path (dial rules, Stasis `outbound`, call records), as browsers' do.
pub(crate) async fn server_agents(
    settings: &Settings,
    tenant: TenantId,
    n: usize,
    media_addr: IpAddr,
) -> anyhow::Result<Vec<Target>> {
    use callbase_db::accounts;
    let password = format!("Lg-{}", callbase_telephony::agents::generate_password());
    let hash = callbase_api::auth::password::hash(password.clone()).await?;
    let db = callbase_db::Db::new(callbase_db::lazy_pool(&settings.database.url, 2)?);
    let mut tx = db.tenant_tx(tenant).await?;
    let account: String = sqlx::query_scalar("SELECT account FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await
        .context("no such tenant")?;
    let groups = accounts::list_groups(&mut tx, tenant).await?;
    let agent_group = groups
        .iter()
        .find(|g| g.builtin && g.role == callbase_core::Role::User)
        .context("the tenant has no Agent group")?
        .id;
    let mut auto = callbase_db::telephony::state(&mut tx, tenant).await?.auto_group_ids;
    anyhow::ensure!(
        callbase_db::telephony::state(&mut tx, tenant).await?.enabled,
        "telephony is off in tenant {}",
        tenant.0
    );
    for i in 1..=n {
        let login = format!("lg{i}");
        let user = match accounts::user_by_login(&mut tx, tenant, &login).await? {
            Some(u) => {
                let p = accounts::UserPatch {
                    password_hash: Some(&hash),
                    disabled: Some(false),
                    ..Default::default()
                };
                accounts::update_user(&mut tx, tenant, u.id, &p).await?;
                u
            }
            None => {
                let new = accounts::NewUser {
                    login: &login,
                    name: &format!("Load agent {i}"),
                    email: &format!("{login}@loadgen.invalid"),
                    password_hash: &hash,
                };
                accounts::insert_user(&mut tx, tenant, &new).await?
            }
        };
        accounts::set_memberships(&mut tx, tenant, user.id, &[agent_group])
            .await?
            .map_err(|_| anyhow::anyhow!("groups vanished"))?;
    }
    if !auto.contains(&agent_group.0) {
        auto.push(agent_group.0);
        let ids: Vec<callbase_core::GroupId> = auto.iter().map(|g| callbase_core::GroupId(*g)).collect();
        callbase_db::telephony::set_auto_groups(&mut tx, tenant, &ids)
            .await?
            .map_err(|_| anyhow::anyhow!("groups vanished"))?;
    }
    callbase_telephony::provision::sync_groups(&mut tx, tenant, &account)
        .await
        .map_err(|e| anyhow::anyhow!("provisioning the load agents: {e:?}"))?;
    tx.commit().await?;

    let origin =
        settings.http.public_origin.clone().context("http.public_origin is required with --via-server")?;
    let origin = origin.trim_end_matches('/').to_string();
    let ws_url = format!("{}/sip", origin.replacen("http", "ws", 1));
    let mut out = Vec::new();
    // Four sign-ins at a time: the login throttle counts an IP's attempts in flight (refunded when
    // they succeed), and a fifth at once from one address waits (429).
    for chunk in (1..=n).collect::<Vec<_>>().chunks(4) {
        let sessions = futures_util::future::join_all(
            chunk.iter().map(|i| phone_session(&origin, &account, format!("lg{i}"), &password)),
        )
        .await;
        for s in sessions {
            let (cookie, user, pw) = s?;
            out.push(Target {
                ws_url: ws_url.clone(),
                origin: Some(origin.clone()),
                cookie: Some(cookie),
                domain: callbase_telephony::agents::REALM.into(),
                user,
                password: pw,
                media_addr,
            });
        }
    }
    Ok(out)
}

/// Signs `login` in and starts its browser phone (a client with its own cookie jar, like a browser):
/// the jar's cookies for the `/sip` upgrade, the SIP user and password.
async fn phone_session(
    origin: &str,
    account: &str,
    login: String,
    password: &str,
) -> anyhow::Result<(String, String, String)> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder().cookie_provider(jar.clone()).build()?;
    let csrf = |v: serde_json::Value| v["csrf"].as_str().unwrap_or_default().to_string();
    let token = csrf(http.get(format!("{origin}/api/auth/csrf")).send().await?.json().await?);
    let r = http
        .post(format!("{origin}/api/auth/login"))
        .header("origin", origin)
        .header("x-csrf-token", token)
        .json(&serde_json::json!({"account": account, "login": login, "password": password}))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "login as {login}: {}", r.status());
    let token = csrf(r.json().await?);
    let r = http
        .post(format!("{origin}/api/phone/session"))
        .header("origin", origin)
        .header("x-csrf-token", token)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "phone session of {login}: {}", r.status());
    let s: serde_json::Value = r.json().await?;
    let user = s["authorization_user"].as_str().context("no authorization_user")?.to_string();
    let pw = s["password"].as_str().context("no password")?.to_string();
    use reqwest::cookie::CookieStore;
    let cookie = jar.cookies(&origin.parse()?).context("no session cookie")?.to_str()?.to_string();
    Ok((cookie, user, pw))
}
