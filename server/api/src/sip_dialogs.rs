//! The phone's dialogs per user, across sockets and replicas. The `/sip` relay lets a request
//! inside a dialog (BYE, re-INVITE…) through only in the user's own dialogs (`sip.rs::Guard`): one
//! the browser started with a checked request, or one Asterisk started towards it. A phone whose
//! socket closed (its replica stopped, the network dropped) reconnects — perhaps through another
//! replica — and must go on acting in its live call, so the dialogs a socket saw are kept in Redis
//! under the user (`keys::sip_dialogs`), not only in the socket's memory. Another user's socket
//! never finds them: the key is derived from the socket's session, never from the message.

use callbase_core::{keys, TenantId, UserId};
use redis::aio::ConnectionManager;

/// How long a dialog stays continuable after it was seen: longer than any call.
const MAX_AGE_SECS: i64 = 12 * 3600;
/// How many dialogs a user keeps (oldest forgotten first): a phone has a handful at a time.
const MAX_DIALOGS: isize = 128;

pub struct Dialogs {
    redis: ConnectionManager,
    key: String,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Dialogs {
    pub fn new(redis: ConnectionManager, tenant: TenantId, user: UserId) -> Self {
        Dialogs { redis, key: keys::sip_dialogs(tenant, user) }
    }

    /// Records a dialog of the user's (best effort: without Redis, only this socket knows it).
    pub async fn record(&mut self, call_id: &str) {
        let now = now();
        let r: redis::RedisResult<()> = redis::pipe()
            .zadd(&self.key, call_id, now)
            .ignore()
            .zrembyscore(&self.key, "-inf", now - MAX_AGE_SECS)
            .ignore()
            .zremrangebyrank(&self.key, 0, -(MAX_DIALOGS + 1))
            .ignore()
            .expire(&self.key, MAX_AGE_SECS)
            .ignore()
            .query_async(&mut self.redis)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot record a phone dialog: a reconnected phone cannot continue it");
        }
    }

    /// Whether one of the user's sockets saw this dialog (fails closed without Redis).
    pub async fn owns(&mut self, call_id: &str) -> bool {
        let score: redis::RedisResult<Option<i64>> =
            redis::cmd("ZSCORE").arg(&self.key).arg(call_id).query_async(&mut self.redis).await;
        match score {
            Ok(Some(seen)) => seen >= now() - MAX_AGE_SECS,
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look a phone dialog up: the request is refused");
                false
            }
        }
    }
}
