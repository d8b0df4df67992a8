//! Call recordings from Asterisk to S3, and their retention.
//!
//! A call's bridge is recorded by Asterisk (`POST /bridges/{id}/record`, WAV) from the answer on.
//! At hang-up the call record turns `pending` with a random object key. The uploader then, for each
//! pending call (rows claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work and a
//! crashed worker's claim ends with its connection):
//! 1. fetches the file over ARI (`GET /recordings/stored/{name}/file`) unless the spool already
//!    holds its mp3 from an earlier attempt,
//! 2. encodes mp3 (16 kHz mono, system LAME) and writes it to the local spool: temporary file,
//!    fsync, rename, fsync of the directory,
//! 3. uploads it to S3 (multipart above 8 MiB) and checks the stored size with HEAD,
//! 4. marks the call `stored`, and only then deletes the spool file and Asterisk's copy.
//!
//! Any failure leaves the row pending with a backoff; nothing is deleted before S3 has the object,
//! so S3 outages and restarts (even SIGKILL) lose nothing: the spool and Asterisk's copy wait.

use std::path::{Path, PathBuf};
use std::time::Duration;

use callbase_core::{TenantId, UserId};
use callbase_recordings::ObjectStore;
use rand::Rng;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ari::Ari;

/// `CALLBASE__RECORDINGS__*`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordingsConfig {
    /// Local spool of encoded recordings waiting for S3.
    #[serde(default = "default_spool")]
    pub spool_dir: PathBuf,
    /// How often the uploader looks for pending recordings when idle.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Longest wait between upload attempts (backoff doubles from 1 s up to this).
    #[serde(default = "default_retry_max")]
    pub retry_max_secs: u64,
    /// Concurrent uploads per server.
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// How often retention runs.
    #[serde(default = "default_retention_every")]
    pub retention_every_secs: u64,
}

fn default_spool() -> PathBuf {
    PathBuf::from("/var/lib/callbase/spool")
}
fn default_poll_ms() -> u64 {
    1000
}
fn default_retry_max() -> u64 {
    60
}
fn default_parallel() -> usize {
    2
}
fn default_retention_every() -> u64 {
    3600
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        Self {
            spool_dir: default_spool(),
            poll_ms: default_poll_ms(),
            retry_max_secs: default_retry_max(),
            parallel: default_parallel(),
            retention_every_secs: default_retention_every(),
        }
    }
}

/// Asterisk's name of a call's recording.
pub fn asterisk_name(call_id: &str) -> String {
    format!("cb-{call_id}")
}

/// A fresh, unguessable object key for a tenant's recording.
pub fn new_key(tenant: TenantId) -> String {
    let r: [u8; 16] = rand::thread_rng().gen();
    format!("recordings/{}/{}.mp3", tenant.0, hex::encode(r))
}

/// Whether a call answered by `user` is recorded: the tenant records all calls, or the user is in
/// an "always record" group.
pub async fn should_record(db: &callbase_db::Db, tenant: TenantId, user: Option<UserId>) -> bool {
    let res = async {
        let mut tx = db.tenant_tx(tenant).await?;
        let on: Option<bool> = sqlx::query_scalar(
            "SELECT t.record_calls OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.tenant_id AND m.user_id = $2 \
             AND m.group_id = ANY (t.record_group_ids)) FROM telephony t WHERE t.tenant_id = $1 AND t.enabled",
        )
        .bind(tenant)
        .bind(user.map(|u| u.0))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(on.unwrap_or(false))
    }
    .await;
    res.unwrap_or_else(|e| {
        // Better a recording too many than a lost one.
        tracing::warn!(error = %e, "cannot read the recording setting; recording");
        true
    })
}

/// One claimed pending recording.
#[derive(Debug, sqlx::FromRow)]
struct Pending {
    id: Uuid,
    recording_name: String,
    recording_key: String,
    recording_attempts: i32,
}

#[derive(Clone)]
pub struct Uploader {
    pub pool: PgPool,
    pub ari: Ari,
    pub store: ObjectStore,
    pub cfg: RecordingsConfig,
}

impl Uploader {
    /// Runs `parallel` upload loops until shutdown. Calls whose recording never got past
    /// `recording` (the server stopped mid-call) are queued first.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        if let Err(e) = tokio::fs::create_dir_all(&self.cfg.spool_dir).await {
            tracing::error!(error = %e, dir = %self.cfg.spool_dir.display(), "cannot create the recordings spool; uploads wait");
        }
        let orphaned = sqlx::query(
            "UPDATE calls SET recording_state = 'pending', recording_next_try = now(), \
             recording_key = COALESCE(recording_key, 'recordings/' || tenant_id || '/' || md5(random()::text || id::text) || '.mp3') \
             WHERE recording_state = 'recording' AND ended_at IS NOT NULL",
        )
        .execute(&self.pool)
        .await;
        if let Ok(r) = orphaned {
            if r.rows_affected() > 0 {
                tracing::info!(count = r.rows_affected(), "recordings of ended calls queued for upload");
            }
        }
        let mut loops = Vec::new();
        for _ in 0..self.cfg.parallel.max(1) {
            let me = self.clone();
            let mut stop = shutdown.clone();
            loops.push(tokio::spawn(async move {
                loop {
                    let worked = me.pass().await;
                    if worked {
                        continue;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(me.cfg.poll_ms)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }));
        }
        let _ = shutdown.changed().await;
        for l in loops {
            l.abort();
        }
    }

    /// Claims and processes one pending recording; true when there was one.
    pub async fn pass(&self) -> bool {
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::warn!(error = %e, "recordings: database unavailable");
                return false;
            }
        };
        let claimed: Option<Pending> = match sqlx::query_as(
            "SELECT id, recording_name, recording_key, recording_attempts FROM calls \
             WHERE recording_state = 'pending' AND recording_next_try <= now() \
             ORDER BY recording_next_try LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "recordings: cannot claim");
                return false;
            }
        };
        let Some(p) = claimed else { return false };
        match self.process(&p).await {
            Ok((bytes, ms)) => {
                let done = sqlx::query(
                    "UPDATE calls SET recording_state = 'stored', recording_bytes = $2, recording_ms = COALESCE($3, recording_ms), \
                     recording_stored_at = now(), recording_error = NULL WHERE id = $1",
                )
                .bind(p.id)
                .bind(bytes as i64)
                .bind(ms.map(|m| m as i32))
                .execute(&mut *tx)
                .await;
                if done.is_ok() && tx.commit().await.is_ok() {
                    // S3 has it and the row says so: now the local copies may go.
                    let _ = tokio::fs::remove_file(self.spool_file(&p)).await;
                    let _ = self
                        .ari
                        .call(
                            reqwest::Method::DELETE,
                            &format!("recordings/stored/{}", p.recording_name),
                            &[],
                            None,
                        )
                        .await;
                    tracing::info!(call.id = %p.id, bytes, "recording stored");
                }
            }
            Err(Failure { message, give_up }) => {
                let attempts = p.recording_attempts + 1;
                let wait = (1u64 << (attempts.clamp(1, 16) - 1) as u64).min(self.cfg.retry_max_secs.max(1));
                tracing::warn!(call.id = %p.id, attempts, retry_in_secs = wait, error = %message, "recording upload failed");
                let state = if give_up { "failed" } else { "pending" };
                let _ = sqlx::query(
                    "UPDATE calls SET recording_attempts = $2, recording_error = $3, recording_state = $4, \
                     recording_next_try = now() + make_interval(secs => $5) WHERE id = $1",
                )
                .bind(p.id)
                .bind(attempts)
                .bind(&message)
                .bind(state)
                .bind(wait as f64)
                .execute(&mut *tx)
                .await;
                let _ = tx.commit().await;
            }
        }
        true
    }

    fn spool_file(&self, p: &Pending) -> PathBuf {
        self.cfg.spool_dir.join(format!("{}.mp3", p.id))
    }

    /// Spool (fetch + encode, unless done before) → S3 → HEAD check. Returns (bytes, duration ms
    /// when encoded in this attempt).
    async fn process(&self, p: &Pending) -> Result<(u64, Option<u64>), Failure> {
        let spool = self.spool_file(p);
        let ms = if !tokio::fs::try_exists(&spool).await.unwrap_or(false) {
            let path = format!("recordings/stored/{}/file", p.recording_name);
            let wav = match self.ari.get_bytes(&path).await {
                Ok(Some(w)) => w,
                // Asterisk finalises the file a moment after the bridge ends; after many tries the
                // recording is given up as lost on Asterisk's side (visible on the call record).
                Ok(None) => {
                    return Err(Failure {
                        message: "Asterisk has no such recording (yet)".into(),
                        give_up: p.recording_attempts >= 20,
                    })
                }
                Err(e) => {
                    return Err(Failure {
                        message: format!("cannot fetch the recording from Asterisk: {e}"),
                        give_up: false,
                    })
                }
            };
            let (mp3, dur) =
                tokio::task::spawn_blocking(move || callbase_recordings::audio::recording_to_mp3(&wav))
                    .await
                    .map_err(|e| Failure { message: e.to_string(), give_up: false })?
                    .map_err(|e| Failure {
                        message: format!("cannot encode the recording: {e}"),
                        give_up: true,
                    })?;
            write_durably(&spool, &mp3)
                .await
                .map_err(|e| Failure { message: format!("cannot write the spool: {e}"), give_up: false })?;
            Some(dur)
        } else {
            mp3_ms(&spool).await
        };
        let size = self
            .store
            .put_file(&p.recording_key, &spool, "audio/mpeg")
            .await
            .map_err(|e| Failure { message: e.to_string(), give_up: false })?;
        match self.store.head(&p.recording_key).await {
            Ok(Some(s)) if s == size => Ok((size, ms)),
            Ok(other) => Err(Failure {
                message: format!("the object store holds {other:?} bytes, {size} were sent"),
                give_up: false,
            }),
            Err(e) => Err(Failure { message: e.to_string(), give_up: false }),
        }
    }
}

struct Failure {
    message: String,
    give_up: bool,
}

/// Duration of an mp3 already in the spool (from a run that stopped before the upload).
async fn mp3_ms(path: &Path) -> Option<u64> {
    let bytes = tokio::fs::read(path).await.ok()?;
    tokio::task::spawn_blocking(move || {
        callbase_recordings::audio::decode_to_mono(&bytes)
            .ok()
            .map(|(pcm, rate)| pcm.len() as u64 * 1000 / u64::from(rate.max(1)))
    })
    .await
    .ok()
    .flatten()
}

/// Writes `bytes` to `path` so that it survives a crash: temporary file, fsync, rename, fsync of
/// the directory.
pub async fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = path.to_path_buf();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let tmp = path.with_extension("part");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })
    .await
    .map_err(std::io::Error::other)?
}

/// What one retention pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Retained {
    pub recordings_deleted: u64,
    pub calls_deleted: u64,
}

/// Deletes recordings older than each tenant's retention (as of `now`: tests inject the clock),
/// except calls on legal hold: the S3 objects first, then the rows are marked (or deleted when the
/// tenant deletes call records too), in batches claimed with `FOR UPDATE SKIP LOCKED`.
pub async fn retention_pass(
    pool: &PgPool,
    store: &ObjectStore,
    now: OffsetDateTime,
) -> anyhow::Result<Retained> {
    let mut done = Retained::default();
    loop {
        let mut tx = pool.begin().await?;
        let batch: Vec<(Uuid, String, bool)> = sqlx::query_as(
            "SELECT c.id, c.recording_key, t.retention_delete_calls FROM calls c JOIN telephony t ON t.tenant_id = c.tenant_id \
             WHERE c.recording_state = 'stored' AND NOT c.legal_hold AND c.recording_key IS NOT NULL \
             AND c.started_at < $1 - make_interval(days => t.retention_days) \
             ORDER BY c.started_at LIMIT 500 FOR UPDATE OF c SKIP LOCKED",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            break;
        }
        let keys: Vec<String> = batch.iter().map(|b| b.1.clone()).collect();
        store.delete_many(&keys).await?;
        let (drop_rows, keep_rows): (Vec<_>, Vec<_>) = batch.iter().partition(|b| b.2);
        let keep: Vec<Uuid> = keep_rows.iter().map(|b| b.0).collect();
        let drop: Vec<Uuid> = drop_rows.iter().map(|b| b.0).collect();
        sqlx::query("UPDATE calls SET recording_state = 'deleted', recording_key = NULL WHERE id = ANY($1)")
            .bind(&keep)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM calls WHERE id = ANY($1)").bind(&drop).execute(&mut *tx).await?;
        tx.commit().await?;
        done.recordings_deleted += batch.len() as u64;
        done.calls_deleted += drop.len() as u64;
    }
    // Tenants who delete call records too: rows past retention that hold no recording.
    let r = sqlx::query(
        "DELETE FROM calls c USING telephony t WHERE t.tenant_id = c.tenant_id AND t.retention_delete_calls \
         AND NOT c.legal_hold AND c.ended_at IS NOT NULL AND c.started_at < $1 - make_interval(days => t.retention_days) \
         AND (c.recording_state IS NULL OR c.recording_state IN ('deleted', 'failed'))",
    )
    .bind(now)
    .execute(pool)
    .await?;
    done.calls_deleted += r.rows_affected();
    Ok(done)
}

/// Runs retention every `every` until shutdown.
pub async fn run_retention(
    pool: PgPool,
    store: ObjectStore,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match retention_pass(&pool, &store, OffsetDateTime::now_utc()).await {
            Ok(r) if r != Retained::default() => tracing::info!(?r, "retention pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention pass failed; next time"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_tenant_and_unguessable() {
        let a = new_key(TenantId(7));
        let b = new_key(TenantId(7));
        assert!(a.starts_with("recordings/7/") && a.ends_with(".mp3"));
        assert_ne!(a, b);
        assert_eq!(a.len(), "recordings/7/".len() + 32 + 4);
    }

    #[tokio::test]
    async fn spool_writes_are_complete_files() {
        let dir = std::env::temp_dir().join(format!("cb-spool-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.mp3");
        write_durably(&f, b"abc").await.unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"abc");
        assert!(!dir.join("x.part").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
