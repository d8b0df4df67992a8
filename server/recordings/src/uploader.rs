//! Call recordings from their source (Asterisk, through [`RecordingSource`], which the
//! telephony crate implements) to S3.
//!
//! At hang-up the call record turns `pending` with a random object key. The uploader then, for each
//! pending call (rows claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work and a
//! crashed worker's claim ends with its connection):
//! 1. fetches the file from the source unless the spool already holds its mp3 from an earlier
//!    attempt,
//! 2. encodes mp3 (16 kHz mono, system LAME) and writes it to the local spool: temporary file,
//!    fsync, rename, fsync of the directory,
//! 3. uploads it to S3 (multipart above 8 MiB) and checks the stored size with HEAD,
//! 4. marks the call `stored`, and only then deletes the spool file and the source's copy.
//!
//! Any failure leaves the row pending with a backoff; nothing is deleted before S3 has the object,
//! so S3 outages and restarts (even SIGKILL) lose nothing: the spool and the source's copy wait.
//!
//! A recording whose node (the Asterisk that holds the file) does not answer is not the file's
//! fault: it and the node's other pending recordings turn `waiting`, off the queue, with no attempt
//! counted and no log line each. Every `retry_max_secs` each replica asks the nodes that recordings
//! wait for ([`RecordingSource::answers`]) and queues a node's recordings again once it answers (a
//! restarted node still has its files on disk). A node declared gone (`callbase node state NODE
//! gone`) takes its recordings with it: `lost`, and so are those that waited longer than
//! `node_wait_max_hours` when that is set. The SQL is in `callbase_db::calls::recording`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callbase_core::TenantId;
use callbase_db::calls::recording::{self as repo, Pending};
use rand::Rng;
use sqlx::PgPool;

use crate::ObjectStore;

/// Why the source has no file to give.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The node that holds the file does not answer (or is known to be down): the recording waits
    /// for it.
    #[error("node {node} does not answer: {detail}")]
    NodeAway { node: String, detail: String },
    /// The node was declared gone: the file went with it.
    #[error("node {0} is gone")]
    NodeGone(String),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Whether a node is there to fetch from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeHealth {
    Answers,
    Away,
    Gone,
}

/// Where finished recordings are fetched from (Asterisk's stored recordings).
pub trait RecordingSource: Clone + Send + Sync + 'static {
    /// The recording's WAV bytes from the node that made it (`None`: the default node); `None`
    /// while the source has no such recording (yet).
    fn fetch(
        &self,
        node: Option<&str>,
        name: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, SourceError>> + Send;
    /// Deletes the source's copy (after S3 has it); failures are the source's to log.
    fn delete(&self, node: Option<&str>, name: &str) -> impl Future<Output = ()> + Send;
    /// Whether `node` (`None`: the default node) answers now: asked for the nodes that recordings
    /// wait for.
    fn answers(&self, node: Option<&str>) -> impl Future<Output = NodeHealth> + Send;
}

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
    /// Recordings that waited this long (hours after their call ended) for a node that does not
    /// answer are given up as `lost`; 0 (the default): they wait until the node answers or an
    /// operator declares it gone.
    #[serde(default)]
    pub node_wait_max_hours: u64,
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
            node_wait_max_hours: 0,
            retention_every_secs: default_retention_every(),
        }
    }
}

/// A fresh, unguessable object key for a tenant's recording.
pub fn new_key(tenant: TenantId) -> String {
    let r: [u8; 16] = rand::thread_rng().gen();
    format!("recordings/{}/{}.mp3", tenant.0, hex::encode(r))
}

#[derive(Clone)]
pub struct Uploader<S: RecordingSource> {
    /// The worker pool (no RLS: the queue spans tenants).
    pub pool: PgPool,
    pub source: S,
    pub store: ObjectStore,
    pub cfg: RecordingsConfig,
}

impl<S: RecordingSource> Uploader<S> {
    /// Runs `parallel` upload loops until shutdown. Calls whose recording never got past
    /// `recording` (the server stopped mid-call) are queued first.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        if let Err(e) = tokio::fs::create_dir_all(&self.cfg.spool_dir).await {
            tracing::error!(error = %e, dir = %self.cfg.spool_dir.display(), "cannot create the recordings spool; uploads wait");
        }
        match repo::queue_orphans(&self.pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "recordings of ended calls queued for upload"),
            Err(e) => tracing::warn!(error = %e, "recordings: cannot queue the recordings of ended calls"),
        }
        let mut loops = vec![tokio::spawn(self.clone().watch_waiting(shutdown.clone()))];
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
    #[tracing::instrument(skip_all)]
    pub async fn pass(&self) -> bool {
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::warn!(error = %e, "recordings: database unavailable");
                return false;
            }
        };
        let claimed = match repo::claim_pending(&mut tx).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "recordings: cannot claim");
                return false;
            }
        };
        let Some(p) = claimed else { return false };
        match self.process(&p).await {
            Ok((bytes, ms)) => {
                let done = repo::mark_stored(&mut tx, p.id, bytes as i64, ms.map(|m| m as i32)).await;
                let committed = match done {
                    Ok(()) => tx.commit().await,
                    Err(e) => Err(e),
                };
                match committed {
                    Ok(()) => {
                        // S3 has it and the row says so: now the local copies may go.
                        let _ = tokio::fs::remove_file(self.spool_file(&p)).await;
                        self.source.delete(p.node.as_deref(), &p.recording_name).await;
                        tracing::info!(call.id = %p.id, bytes, "recording stored");
                    }
                    Err(e) => {
                        tracing::warn!(call.id = %p.id, error = %e, "recording uploaded but not marked stored; again later")
                    }
                }
            }
            Err(Failure::NodeAway { node, message }) => {
                // Not an attempt: the file is fine, its node is away. This recording and the node's
                // other queued ones wait together (one line in the log, not one per recording).
                let why = format!("waiting for node {node}, which does not answer");
                let noted = repo::wait_for_node(&mut tx, p.id, p.node.as_deref(), &why).await;
                let committed = match noted {
                    Ok(n) => tx.commit().await.map(|()| n),
                    Err(e) => Err(e),
                };
                match committed {
                    Ok(n) => {
                        tracing::warn!(node = %node, recordings = n, error = %message, "recordings wait for their node, which does not answer")
                    }
                    Err(e) => {
                        tracing::warn!(call.id = %p.id, error = %e, "recording's wait not recorded; retried when the claim ends")
                    }
                }
            }
            Err(Failure::NodeGone(node)) => {
                let noted = repo::mark_lost(&mut tx, p.id, &format!("lost with node {node}")).await;
                let committed = match noted {
                    Ok(()) => tx.commit().await,
                    Err(e) => Err(e),
                };
                match committed {
                    Ok(()) => {
                        tracing::error!(call.id = %p.id, node = %node, "recording lost with its node, declared gone")
                    }
                    Err(e) => {
                        tracing::warn!(call.id = %p.id, error = %e, "lost recording not recorded; retried when the claim ends")
                    }
                }
            }
            Err(Failure::Retry { message, give_up }) => {
                let attempts = p.recording_attempts + 1;
                let wait = (1u64 << (attempts.clamp(1, 16) - 1) as u64).min(self.cfg.retry_max_secs.max(1));
                tracing::warn!(call.id = %p.id, attempts, retry_in_secs = wait, error = %message, "recording upload failed");
                let noted =
                    repo::mark_attempt_failed(&mut tx, p.id, attempts, &message, give_up, wait as f64).await;
                let committed = match noted {
                    Ok(()) => tx.commit().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = committed {
                    tracing::warn!(call.id = %p.id, error = %e, "recording failure not recorded; retried when the claim ends");
                }
            }
        }
        true
    }

    /// Every `retry_max_secs`: asks each node that recordings wait for whether it answers, queues
    /// its recordings again when it does, and gives up those of a gone node (and, with
    /// `node_wait_max_hours`, those that waited too long).
    async fn watch_waiting(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = Duration::from_secs(self.cfg.retry_max_secs.max(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = self.waiting_pass().await {
                tracing::warn!(error = %e, "recordings: cannot look at the recordings waiting for their node");
            }
        }
    }

    /// One look at the nodes that recordings wait for.
    pub async fn waiting_pass(&self) -> sqlx::Result<()> {
        for node in repo::waited_for_nodes(&self.pool).await? {
            let name = node.as_deref().unwrap_or("(the default node)");
            if self.cfg.node_wait_max_hours > 0 {
                let max = self.cfg.node_wait_max_hours as f64 * 3600.0;
                let why = format!(
                    "lost with node {name}: it did not answer for {} h",
                    self.cfg.node_wait_max_hours
                );
                let n = repo::lose_waiting(&self.pool, node.as_deref(), max, &why).await?;
                if n > 0 {
                    tracing::error!(
                        node = name,
                        recordings = n,
                        "recordings given up: their node did not answer in time"
                    );
                }
            }
            match self.source.answers(node.as_deref()).await {
                NodeHealth::Answers => {
                    let n = repo::requeue_waiting(&self.pool, node.as_deref()).await?;
                    if n > 0 {
                        tracing::info!(
                            node = name,
                            recordings = n,
                            "the node answers again: its recordings are queued"
                        );
                    }
                }
                NodeHealth::Gone => {
                    let n = repo::lose_waiting(
                        &self.pool,
                        node.as_deref(),
                        0.0,
                        &format!("lost with node {name}"),
                    )
                    .await?;
                    tracing::error!(
                        node = name,
                        recordings = n,
                        "recordings lost with their node, declared gone"
                    );
                }
                NodeHealth::Away => tracing::debug!(node = name, "recordings still wait for their node"),
            }
        }
        Ok(())
    }

    fn spool_file(&self, p: &Pending) -> PathBuf {
        self.cfg.spool_dir.join(format!("{}.mp3", p.id))
    }

    /// Spool (fetch + encode, unless done before) → S3 → HEAD check. Returns (bytes, duration ms
    /// when encoded in this attempt).
    async fn process(&self, p: &Pending) -> Result<(u64, Option<u64>), Failure> {
        let spool = self.spool_file(p);
        let ms = if !tokio::fs::try_exists(&spool).await.unwrap_or(false) {
            let wav = match self.source.fetch(p.node.as_deref(), &p.recording_name).await {
                Ok(Some(w)) => w,
                // Asterisk finalises the file a moment after the bridge ends; after many tries the
                // recording is given up as lost on Asterisk's side (visible on the call record).
                Ok(None) => {
                    return Err(Failure::Retry {
                        message: "Asterisk has no such recording (yet)".into(),
                        give_up: p.recording_attempts >= 20,
                    })
                }
                Err(SourceError::NodeAway { node, detail }) => {
                    return Err(Failure::NodeAway { node, message: detail })
                }
                Err(SourceError::NodeGone(node)) => return Err(Failure::NodeGone(node)),
                Err(e) => {
                    return Err(Failure::Retry {
                        message: format!("cannot fetch the recording from Asterisk: {e}"),
                        give_up: false,
                    })
                }
            };
            let (mp3, dur) = tokio::task::spawn_blocking(move || crate::audio::recording_to_mp3(&wav))
                .await
                .map_err(|e| Failure::Retry { message: e.to_string(), give_up: false })?
                .map_err(|e| Failure::Retry {
                    message: format!("cannot encode the recording: {e}"),
                    give_up: true,
                })?;
            write_durably(&spool, &mp3).await.map_err(|e| Failure::Retry {
                message: format!("cannot write the spool: {e}"),
                give_up: false,
            })?;
            Some(dur)
        } else {
            mp3_ms(&spool).await
        };
        let size = self
            .store
            .put_file(&p.recording_key, &spool, "audio/mpeg")
            .await
            .map_err(|e| Failure::Retry { message: e.to_string(), give_up: false })?;
        match self.store.head(&p.recording_key).await {
            Ok(Some(s)) if s == size => Ok((size, ms)),
            Ok(other) => Err(Failure::Retry {
                message: format!("the object store holds {other:?} bytes, {size} were sent"),
                give_up: false,
            }),
            Err(e) => Err(Failure::Retry { message: e.to_string(), give_up: false }),
        }
    }
}

/// Why an upload attempt did not end in S3.
enum Failure {
    /// Try again after a backoff, or give up (`failed`).
    Retry { message: String, give_up: bool },
    /// The node holding the file does not answer: wait for it.
    NodeAway { node: String, message: String },
    /// The node holding the file is gone: the recording is lost.
    NodeGone(String),
}

/// Duration of an mp3 already in the spool (from a run that stopped before the upload).
async fn mp3_ms(path: &Path) -> Option<u64> {
    let bytes = tokio::fs::read(path).await.ok()?;
    tokio::task::spawn_blocking(move || {
        crate::audio::decode_to_mono(&bytes)
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
        let dir = std::env::temp_dir().join(format!("cb-spool-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.mp3");
        write_durably(&f, b"abc").await.unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"abc");
        assert!(!dir.join("x.part").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
