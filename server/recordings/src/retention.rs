//! Retention: recordings older than each tenant's retention are deleted (the S3 objects first,
//! then the rows are marked, or deleted when the tenant deletes call records too), except calls
//! on legal hold. The SQL is in `callbase_db::calls::recording`.

use std::time::Duration;

use callbase_db::calls::recording as repo;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{ObjectStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one retention pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Retained {
    pub recordings_deleted: u64,
    pub calls_deleted: u64,
}

/// Deletes recordings older than each tenant's retention (as of `now`: tests inject the clock),
/// except calls on legal hold, in batches claimed with `FOR UPDATE SKIP LOCKED`.
#[tracing::instrument(skip_all)]
pub async fn retention_pass(
    pool: &PgPool,
    store: &ObjectStore,
    now: OffsetDateTime,
) -> Result<Retained, RetentionError> {
    let mut done = Retained::default();
    loop {
        let mut tx = pool.begin().await?;
        let batch = repo::claim_expired(&mut tx, now).await?;
        if batch.is_empty() {
            break;
        }
        let keys: Vec<String> = batch.iter().map(|b| b.recording_key.clone()).collect();
        store.delete_many(&keys).await?;
        let (drop_rows, keep_rows): (Vec<_>, Vec<_>) = batch.iter().partition(|b| b.delete_call);
        let keep: Vec<Uuid> = keep_rows.iter().map(|b| b.id).collect();
        let drop: Vec<Uuid> = drop_rows.iter().map(|b| b.id).collect();
        repo::forget_expired(&mut tx, &keep, &drop).await?;
        tx.commit().await?;
        done.recordings_deleted += batch.len() as u64;
        done.calls_deleted += drop.len() as u64;
    }
    done.calls_deleted += repo::delete_expired_calls(pool, now).await?;
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
