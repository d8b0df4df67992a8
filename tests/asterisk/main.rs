//! Asterisk integration tests: the platform Asterisk reads PJSIP rows from PostgreSQL, the demo
//! carrier answers calls, and the management interfaces listen on loopback only.
//!
//! They run against the stack described by `CALLBASE_ENV_FILE` (written by `infra/test` or
//! `infra/dev`: shell `export K=V` lines). Without it every test fails: these tests are never
//! skipped silently.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use rand::Rng;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The stack's settings, parsed from `CALLBASE_ENV_FILE`.
struct Env(HashMap<String, String>);

impl Env {
    fn load() -> Env {
        let path = std::env::var("CALLBASE_ENV_FILE").expect(
            "CALLBASE_ENV_FILE is not set: run these tests through infra/test \
             (or point it at $CALLBASE_CACHE/run/<stack>/app.env)",
        );
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read CALLBASE_ENV_FILE={path}: {e}"));
        Env(callbase_tests::parse_env_file(&text))
    }

    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("{key} missing from CALLBASE_ENV_FILE"))
    }

    fn port(&self, key: &str) -> u16 {
        let v = self.get(key);
        let port = v.rsplit(':').next().unwrap_or(v).trim_end_matches('/');
        port.parse().unwrap_or_else(|_| panic!("{key}={v}: no port"))
    }
}

/// A tenant row of its own for a test (the ast rows reference it and go with it), on the stack's
/// node `main` (a node's Asterisk reads only the rows of the tenants on it, migration 0021).
async fn new_tenant(worker: &PgPool) -> i64 {
    sqlx::query("INSERT INTO tenants (account, name, node_id) VALUES ($1, $1, 'main') RETURNING id")
        .bind(format!("ast-{}", suffix()))
        .fetch_one(worker)
        .await
        .unwrap()
        .get(0)
}

fn suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..10).map(|_| char::from(b'a' + rng.gen_range(0..26u8))).collect()
}

async fn pool(url: &str) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("connecting to PostgreSQL")
}

fn ari_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// Writes an agent-style endpoint (endpoint + aor + auth) for `tenant` as callbase_app, under RLS.
async fn insert_endpoint(app: &PgPool, tenant: i64, id: &str) -> Result<()> {
    let mut tx = app.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO ast.ps_aors (id, max_contacts, remove_existing, tenant_id) VALUES ($1, 1, 'yes', $2)",
    )
    .bind(id)
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO ast.ps_auths (id, auth_type, username, password, tenant_id) \
         VALUES ($1, 'userpass', $1, $2, $3)",
    )
    .bind(id)
    .bind(format!("pw{}", suffix()))
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO ast.ps_endpoints (id, transport, aors, auth, context, disallow, allow, set_var, tenant_id) \
         VALUES ($1, 'transport-udp', $1, $1, 'from-agents', 'all', 'ulaw', $2, $3)",
    )
    .bind(id)
    .bind(format!("TENANT_ID={tenant}"))
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn check_endpoint_seen_by_asterisk(env: &Env, app: &PgPool, tenant: i64, id: &str) -> Result<()> {
    insert_endpoint(app, tenant, id).await?;

    // Row-level security: without app.tenant_id the app role sees nothing.
    let unscoped: i64 = sqlx::query("SELECT count(*) FROM ast.ps_endpoints WHERE id = $1")
        .bind(id)
        .fetch_one(app)
        .await?
        .get(0);
    ensure!(unscoped == 0, "callbase_app without a tenant saw {unscoped} row(s) of {id}");

    let ari = env.get("CALLBASE__ASTERISK__ARI_URL").trim_end_matches('/');
    let user = env.get("CALLBASE__ASTERISK__ARI_USER");
    let pass = env.get("CALLBASE__ASTERISK__ARI_PASSWORD");
    let http = ari_client();

    // A sorcery lookup by id reads the row from PostgreSQL (realtime behind the memory cache) and
    // makes chan_pjsip create the endpoint; ARI's endpoint resource only lists known endpoints.
    let resp = http
        .get(format!("{ari}/ari/asterisk/config/dynamic/res_pjsip/endpoint/{id}"))
        .basic_auth(user, Some(pass))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.text().await?;
    ensure!(status == 200, "ARI config/dynamic endpoint {id}: {status} {body}");
    let attrs: Vec<serde_json::Value> = serde_json::from_str(&body)?;
    let context = attrs.iter().find(|a| a["attribute"] == "context").and_then(|a| a["value"].as_str());
    ensure!(context == Some("from-agents"), "endpoint {id} context {context:?} in {body}");

    let resp =
        http.get(format!("{ari}/ari/endpoints/PJSIP/{id}")).basic_auth(user, Some(pass)).send().await?;
    let status = resp.status();
    let body = resp.text().await?;
    ensure!(status == 200, "ARI GET /ari/endpoints/PJSIP/{id}: {status} {body}");
    let json: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(json["technology"] == "PJSIP", "technology in {body}");
    ensure!(json["resource"] == id, "resource in {body}");
    Ok(())
}

#[tokio::test]
async fn a_row_written_to_ast_ps_endpoints_is_seen_by_asterisk() {
    let env = Env::load();
    let worker = pool(env.get("CALLBASE__DATABASE__WORKER_URL")).await.unwrap();
    let app = pool(env.get("CALLBASE__DATABASE__URL")).await.unwrap();
    let tenant = new_tenant(&worker).await;
    let id = format!("t{tenant}-ast{}", suffix());

    let result = check_endpoint_seen_by_asterisk(&env, &app, tenant, &id).await;

    // Cleanup: the ast rows go with the tenant (ON DELETE CASCADE).
    sqlx::query("DELETE FROM tenants WHERE id = $1").bind(tenant).execute(&worker).await.unwrap();
    result.unwrap();
}

#[tokio::test]
async fn the_demo_carrier_answers_its_echo_number() {
    let env = Env::load();
    let carrier = env.get("CALLBASE_CARRIER_SIP");
    let number = env.0.get("CALLBASE_CARRIER_ECHO_NUMBER").map(String::as_str).unwrap_or("9999");
    let dir = std::env::temp_dir().join(format!("callbase-sipp-{}", suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    // sipp's built-in UAC: INVITE (with SDP) -> expects 200 OK -> ACK -> BYE -> expects 200 OK.
    // Exit status 0 means every call succeeded. Unknown From users reach the carrier's anonymous
    // endpoint, which may call only the test numbers.
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("sipp")
            .current_dir(&dir)
            .args(["-sn", "uac", "-s", number, "-m", "1", "-l", "1"])
            .args(["-i", "127.0.0.1", "-p", "0", "-t", "u1"])
            .args(["-timeout", "15s", "-timeout_error", "-recv_timeout", "10000", "-nostdin"])
            .arg(carrier)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("sipp did not finish within 30 s")
    .expect("cannot run sipp (package sip-tester)");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sipp call to {number}@{carrier} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let successful = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Successful call"))
        .and_then(|l| l.rsplit('|').next())
        .map(|v| v.trim().to_string());
    assert_eq!(successful.as_deref(), Some("1"), "sipp output:\n{stdout}");
}

/// Local addresses of listening sockets on `port` (`ss -H -l -n -t|-u`).
fn listeners(proto_flag: &str, port: u16) -> Vec<String> {
    let out = std::process::Command::new("ss")
        .args(["-H", "-l", "-n", proto_flag])
        .output()
        .expect("cannot run ss (package iproute2)");
    assert!(out.status.success(), "ss failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .filter(|local| local.rsplit_once(':').map(|(_, p)| p == port.to_string()).unwrap_or(false))
        .map(|local| local.rsplit_once(':').unwrap().0.to_string())
        .collect()
}

#[test]
fn ari_and_ami_listen_on_loopback_only() {
    let env = Env::load();
    let tcp = [
        ("platform HTTP/ARI", env.port("CALLBASE__ASTERISK__ARI_URL")),
        ("platform AMI", env.port("CALLBASE__ASTERISK__AMI_ADDR")),
        ("carrier AMI", env.port("CALLBASE_CARRIER_AMI_ADDR")),
        ("platform SIP/TCP", env.port("CALLBASE_PLATFORM_SIP")),
    ];
    for (what, port) in tcp {
        let addrs = listeners("-t", port);
        assert!(!addrs.is_empty(), "{what}: nothing listens on TCP port {port}");
        assert!(
            addrs.iter().all(|a| a == "127.0.0.1"),
            "{what}: TCP port {port} listens on {addrs:?}, expected 127.0.0.1 only"
        );
    }
    let udp = [
        ("platform SIP/UDP", env.port("CALLBASE_PLATFORM_SIP")),
        ("carrier SIP/UDP", env.port("CALLBASE_CARRIER_SIP")),
    ];
    for (what, port) in udp {
        let addrs = listeners("-u", port);
        assert!(!addrs.is_empty(), "{what}: nothing bound to UDP port {port}");
        assert!(
            addrs.iter().all(|a| a == "127.0.0.1"),
            "{what}: UDP port {port} bound to {addrs:?}, expected 127.0.0.1 only"
        );
    }
}

/// Logs in to an AMI and returns the response block to the Login action.
async fn ami_login(addr: &str, user: &str, secret: &str) -> Result<String> {
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .context("AMI connect timeout")??;
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut banner = String::new();
    rd.read_line(&mut banner).await?;
    ensure!(banner.starts_with("Asterisk Call Manager"), "AMI banner {banner:?}");
    wr.write_all(
        format!("Action: Login\r\nActionID: 1\r\nUsername: {user}\r\nSecret: {secret}\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut block = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), rd.read_line(&mut line))
            .await
            .context("AMI read timeout")??;
        if n == 0 {
            bail!("AMI closed the connection after {block:?}");
        }
        if line == "\r\n" {
            if block.contains("ActionID: 1") {
                break;
            }
            block.clear();
            continue;
        }
        block.push_str(&line);
    }
    let _ = wr.write_all(b"Action: Logoff\r\n\r\n").await;
    Ok(block)
}

#[tokio::test]
async fn both_amis_accept_the_generated_credentials_and_refuse_others() {
    let env = Env::load();
    for (addr, user, secret) in [
        (
            env.get("CALLBASE__ASTERISK__AMI_ADDR"),
            env.get("CALLBASE__ASTERISK__AMI_USER"),
            env.get("CALLBASE__ASTERISK__AMI_SECRET"),
        ),
        (
            env.get("CALLBASE_CARRIER_AMI_ADDR"),
            env.get("CALLBASE_CARRIER_AMI_USER"),
            env.get("CALLBASE_CARRIER_AMI_SECRET"),
        ),
    ] {
        let ok = ami_login(addr, user, secret).await.unwrap();
        assert!(ok.contains("Response: Success"), "AMI {addr} login as {user}: {ok}");
        let bad = ami_login(addr, user, "wrong-secret").await.unwrap();
        assert!(bad.contains("Response: Error"), "AMI {addr} accepted a wrong secret: {bad}");
    }
}

#[tokio::test]
async fn ari_refuses_wrong_credentials() {
    let env = Env::load();
    let ari = env.get("CALLBASE__ASTERISK__ARI_URL").trim_end_matches('/');
    let user = env.get("CALLBASE__ASTERISK__ARI_USER");
    let http = ari_client();
    let good = http
        .get(format!("{ari}/ari/asterisk/info"))
        .basic_auth(user, Some(env.get("CALLBASE__ASTERISK__ARI_PASSWORD")))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    let bad = http
        .get(format!("{ari}/ari/asterisk/info"))
        .basic_auth(user, Some("wrong-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}

/// One AMI session: login, one action, every response/event block until the list completes
/// (`EventList: Complete`) or, for plain actions, the response itself.
async fn ami_action(
    addr: &str,
    user: &str,
    secret: &str,
    action: &str,
) -> Result<Vec<HashMap<String, String>>> {
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .context("AMI connect timeout")??;
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut banner = String::new();
    rd.read_line(&mut banner).await?;
    wr.write_all(
        format!(
            "Action: Login\r\nActionID: login\r\nUsername: {user}\r\nSecret: {secret}\r\nEvents: off\r\n\r\n\
             {action}\r\nActionID: act\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut blocks = Vec::new();
    let mut block: HashMap<String, String> = HashMap::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read_line(&mut line))
            .await
            .context("AMI read timeout")??;
        if n == 0 {
            bail!("AMI closed the connection");
        }
        let line = line.trim_end();
        if !line.is_empty() {
            if let Some((k, v)) = line.split_once(": ") {
                block.insert(k.to_string(), v.to_string());
            }
            continue;
        }
        if block.is_empty() {
            continue;
        }
        let b = std::mem::take(&mut block);
        match b.get("ActionID").map(String::as_str) {
            Some("login") => {
                ensure!(b.get("Response").map(String::as_str) == Some("Success"), "AMI login: {b:?}")
            }
            Some("act") => {
                let done = b.get("EventList").map(String::as_str) == Some("Complete")
                    || (b.contains_key("Response") && !b.contains_key("EventList"));
                let error = b.get("Response").map(String::as_str) == Some("Error");
                blocks.push(b);
                if done || error {
                    break;
                }
            }
            _ => {}
        }
    }
    let _ = wr.write_all(b"Action: Logoff\r\n\r\n").await;
    Ok(blocks)
}

async fn ari_reload_outbound_registrations(env: &Env) -> Result<()> {
    let ari = env.get("CALLBASE__ASTERISK__ARI_URL").trim_end_matches('/');
    let resp = ari_client()
        .put(format!("{ari}/ari/asterisk/modules/res_pjsip_outbound_registration.so"))
        .basic_auth(
            env.get("CALLBASE__ASTERISK__ARI_USER"),
            Some(env.get("CALLBASE__ASTERISK__ARI_PASSWORD")),
        )
        .send()
        .await?;
    ensure!(resp.status() == 204, "module reload: {}", resp.status());
    Ok(())
}

async fn registration_status(env: &Env, id: &str) -> Result<Option<String>> {
    let blocks = ami_action(
        env.get("CALLBASE__ASTERISK__AMI_ADDR"),
        env.get("CALLBASE__ASTERISK__AMI_USER"),
        env.get("CALLBASE__ASTERISK__AMI_SECRET"),
        "Action: PJSIPShowRegistrationsOutbound",
    )
    .await?;
    Ok(blocks
        .iter()
        .find(|b| {
            b.get("Event").map(String::as_str) == Some("OutboundRegistrationDetail")
                && b.get("ObjectName").map(String::as_str) == Some(id)
        })
        .and_then(|b| b.get("Status").cloned()))
}

async fn check_trunk_registers(env: &Env, app: &PgPool, tenant: i64, id: &str) -> Result<()> {
    let carrier = env.get("CALLBASE_CARRIER_SIP");
    let user = env.get("CALLBASE_CARRIER_PROBE_USER");
    let mut tx = app.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO ast.ps_auths (id, auth_type, username, password, tenant_id) VALUES ($1, 'userpass', $2, $3, $4)",
    )
    .bind(id)
    .bind(user)
    .bind(env.get("CALLBASE_CARRIER_PROBE_PASSWORD"))
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO ast.ps_aors (id, contact, tenant_id) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(format!("sip:{carrier}"))
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO ast.ps_endpoints (id, transport, aors, outbound_auth, context, disallow, allow, set_var, tenant_id) \
         VALUES ($1, 'transport-udp', $1, $1, 'from-trunk', 'all', 'ulaw,alaw', $2, $3)",
    )
    .bind(id)
    .bind(format!("TENANT_ID={tenant};TRUNK_ID=1"))
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO ast.ps_registrations (id, transport, server_uri, client_uri, contact_user, outbound_auth, \
           line, endpoint, expiration, max_retries, retry_interval, forbidden_retry_interval, fatal_retry_interval, \
           auth_rejection_permanent, max_random_initial_delay, tenant_id) \
         VALUES ($1, 'transport-udp', $2, $3, $4, $1, 'yes', $1, 120, 10000, 20, 30, 30, 'no', 1, $5)",
    )
    .bind(id)
    .bind(format!("sip:{carrier}"))
    .bind(format!("sip:{user}@{carrier}"))
    .bind(user)
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    ari_reload_outbound_registrations(env).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = registration_status(env, id).await?;
        if status.as_deref() == Some("Registered") {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("registration {id} to {carrier} as {user}: status {status:?} after 20 s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_trunk_written_by_sql_registers_at_the_demo_carrier() {
    let env = Env::load();
    let worker = pool(env.get("CALLBASE__DATABASE__WORKER_URL")).await.unwrap();
    let app = pool(env.get("CALLBASE__DATABASE__URL")).await.unwrap();
    let tenant = new_tenant(&worker).await;
    let id = format!("t{tenant}-trk{}", suffix());

    let result = check_trunk_registers(&env, &app, tenant, &id).await;

    // Cleanup: registration row first, reload (un-REGISTER with the still-cached auth), then the rest.
    let _ = sqlx::query("DELETE FROM ast.ps_registrations WHERE id = $1").bind(&id).execute(&worker).await;
    let _ = ari_reload_outbound_registrations(&env).await;
    sqlx::query("DELETE FROM tenants WHERE id = $1").bind(tenant).execute(&worker).await.unwrap();
    result.unwrap();
}

#[test]
fn env_lines_are_parsed_like_the_shell_does() {
    let vars = callbase_tests::parse_env_file("# c\nexport A=1\nB='two'\nexport C=\"x=y\"\n\nD=\n");
    assert_eq!(vars["A"], "1");
    assert_eq!(vars["B"], "two");
    assert_eq!(vars["C"], "x=y");
    assert_eq!(vars["D"], "");
}
