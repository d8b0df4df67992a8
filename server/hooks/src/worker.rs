//! The delivery worker. Every replica runs one: it claims due messages for a lease
//! (`callbase_db::webhooks::claim`, `SKIP LOCKED`, so replicas never send the same message at
//! once), sends each to its endpoint's checked addresses without following redirects, and writes
//! the outcome. A 2xx delivers; anything else (another status, a timeout, a refused connection, a
//! private address) is retried on the schedule; after sustained failure the endpoint is disabled
//! and the tenant's audit log says so. A replica that dies mid-send leaves its messages to be
//! claimed again once their lease ends: delivery is at least once, and receivers drop repeats by
//! `webhook-id`.

use std::time::{Duration, Instant};

use callbase_core::crm::{MaskMode, Masking};
use callbase_db::webhooks::{self, Claimed, Outcome};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::{message, retry_in, target, WebhooksConfig};

/// How many messages one round claims.
const BATCH: i64 = 16;

/// How often the delivery log is pruned (`webhooks.keep_days`).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Tells a tenant's administrators something at once (the app raises a security alert: live on
/// their pages and in `GET /api/security/alerts`).
pub type Notify = std::sync::Arc<
    dyn Fn(callbase_core::TenantId, String) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync,
>;

pub struct Worker {
    /// The worker role's pool (the queue spans tenants).
    pub pool: sqlx::PgPool,
    pub cfg: WebhooksConfig,
    /// Where recording links point (the server's public origin).
    pub public_base: String,
    /// How administrators hear that an endpoint was disabled (beside the audit log).
    pub notify: Option<Notify>,
}

impl Worker {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        // A lease long enough for the slowest send of a batch (they go concurrently).
        let lease = (self.cfg.timeout_secs * 2 + 30) as i64;
        let mut pruned: Option<Instant> = None;
        loop {
            if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned = Some(Instant::now());
                match webhooks::prune(&self.pool, self.cfg.keep_days.min(3650) as i32).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(messages = n, "webhooks: pruned the delivery log"),
                    Err(e) => {
                        tracing::warn!(error = %e, "webhooks: cannot prune the delivery log; next hour")
                    }
                }
            }
            let claimed = match webhooks::claim(&self.pool, BATCH, lease).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: cannot claim due messages; next round");
                    Vec::new()
                }
            };
            let busy = claimed.len() as i64 == BATCH;
            futures_util::future::join_all(claimed.iter().map(|m| self.deliver(m))).await;
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(self.cfg.poll_ms.max(50))) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn deliver(&self, m: &Claimed) {
        let started = Instant::now();
        let result = self.send(m).await;
        let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let (status, error) = match &result {
            Ok(s) => (Some(*s as i32), (!(200..300).contains(s)).then(|| format!("HTTP {s}"))),
            Err(e) => (None, Some(e.clone())),
        };
        let delivered = matches!(result, Ok(s) if (200..300).contains(&s));
        let retry = if delivered { None } else { retry_in(&self.cfg.retry_schedule_secs, m.attempts) };
        let o = Outcome { status, error, duration_ms, delivered, retry_in_secs: retry.map(|s| s as i64) };
        tracing::info!(tenant.id = m.tenant_id, endpoint = m.endpoint_id, message = %m.message_id,
            event = %m.event_type, attempt = m.attempts, status = ?o.status, delivered, "webhook attempt");
        let health = match webhooks::record_attempt(&self.pool, m, &o).await {
            Ok(h) => h,
            Err(e) => {
                // The lease ends and the message is sent again: at least once.
                tracing::warn!(error = %e, message = %m.message_id, "webhooks: cannot record an attempt");
                return;
            }
        };
        let sustained = health.failures_in_row as u32 >= self.cfg.disable_after_failures
            && health.failing_since.is_some_and(|since| {
                OffsetDateTime::now_utc() - since
                    >= time::Duration::seconds(self.cfg.disable_after_secs as i64)
            });
        if sustained {
            self.disable(m, health.failures_in_row, o.status, o.error.as_deref()).await;
        }
    }

    /// Sends one message; the HTTP status, or why there is none.
    async fn send(&self, m: &Claimed) -> Result<u16, String> {
        let url = target::parse(&m.url, self.cfg.require_https).map_err(|e| e.to_string())?;
        let addrs = target::resolve(&url, self.cfg.allow_private_targets).await.map_err(|e| e.to_string())?;
        let body = self.body(m).await.map_err(|e| format!("cannot build the message: {e}"))?;
        let ts = OffsetDateTime::now_utc().unix_timestamp();
        let mut secrets = vec![m.secret.as_str()];
        if let Some(p) = m.previous_secret.as_deref() {
            secrets.push(p);
        }
        let sig = message::signature(&secrets, &m.message_id, ts, &body)?;
        let host = url.host_str().unwrap_or_default().to_string();
        // The request goes to the addresses just checked, never to a second lookup's.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(self.cfg.timeout_secs))
            .resolve_to_addrs(&host, &addrs)
            .user_agent("callbase-webhooks/1")
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &m.message_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        Ok(resp.status().as_u16())
    }

    /// The message's body as this endpoint gets it: masked if it masks, with a fresh link on
    /// `recording.ready`.
    async fn body(&self, m: &Claimed) -> Result<String, callbase_crm::CrmError> {
        let mut data = m.payload.clone();
        if m.mask_numbers {
            // How the account masks numbers is the CRM's rule (the same the app's views use).
            let mut tx = self.pool.begin().await?;
            let masking =
                callbase_crm::view::tenant_masking(&mut tx, callbase_core::TenantId(m.tenant_id)).await?;
            tx.commit().await?;
            let masking = masking.unwrap_or(Masking { mode: MaskMode::Prefix, chars: 6 });
            if m.event_type.starts_with("crm.") {
                let table = data.get("table_id").and_then(Value::as_i64).unwrap_or_default();
                let phones = webhooks::phone_fields(&self.pool, table).await?;
                message::mask_record(&mut data, &phones, masking);
            } else {
                message::mask_call(&mut data, masking);
            }
        }
        if m.event_type == "recording.ready" {
            if let (Some(call), Some(rec)) = (
                data.get("call_id").and_then(Value::as_str).map(str::to_string),
                data.get_mut("recording").and_then(Value::as_object_mut),
            ) {
                let expires = OffsetDateTime::now_utc().unix_timestamp() + self.cfg.link_ttl_secs as i64;
                let link = message::recording_link(
                    &self.public_base,
                    m.tenant_id,
                    m.endpoint_id,
                    &m.secret,
                    &call,
                    expires,
                );
                rec.insert("url".into(), Value::String(link));
                let at = OffsetDateTime::from_unix_timestamp(expires).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                rec.insert(
                    "url_expires_at".into(),
                    Value::String(
                        at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    ),
                );
            }
        }
        Ok(message::body(&m.event_type, m.created_at, &data))
    }

    async fn disable(&self, m: &Claimed, failures: i32, status: Option<i32>, error: Option<&str>) {
        let last = status.map(|s| format!("HTTP {s}")).or(error.map(str::to_string)).unwrap_or_default();
        let reason =
            format!("disabled after {failures} failed attempts in a row over a day or more; last: {last}");
        match webhooks::disable_failing(&self.pool, m.endpoint_id, &reason).await {
            Ok(true) => {
                tracing::warn!(tenant.id = m.tenant_id, endpoint = m.endpoint_id, %reason, "webhook endpoint disabled");
                if let Err(e) = audit_disabled(&self.pool, m, &reason).await {
                    tracing::warn!(error = %e, "webhooks: cannot write the audit entry of a disabled endpoint");
                }
                if let Some(notify) = &self.notify {
                    notify(callbase_core::TenantId(m.tenant_id), format!("Webhook {}: {reason}", m.url))
                        .await;
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, endpoint = m.endpoint_id, "webhooks: cannot disable an endpoint")
            }
        }
    }
}

/// The record of it in the tenant's audit log (the Integrations page shows the reason on the
/// endpoint; [`Worker::notify`] tells the administrators at once).
async fn audit_disabled(pool: &sqlx::PgPool, m: &Claimed, reason: &str) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    callbase_db::audit::insert(
        &mut tx,
        callbase_core::TenantId(m.tenant_id),
        &callbase_db::audit::NewEntry {
            actor_id: None,
            actor_login: None,
            ip: None,
            action: "webhook.disabled",
            target: &m.url,
            before: None,
            after: Some(serde_json::json!({"endpoint_id": m.endpoint_id, "reason": reason})),
        },
    )
    .await?;
    tx.commit().await
}

/// A failed request in words, without the URL (the log shows the endpoint already).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        let mut s = e.without_url().to_string();
        s.truncate(300);
        s
    }
}
