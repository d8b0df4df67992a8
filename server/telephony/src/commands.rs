//! Sending a command to the Stasis worker over Redis pub/sub (any replica can take an API
//! request; only the replica holding the ARI connection acts on it).

use redis::aio::ConnectionManager;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("command not serialisable: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    /// Nobody listens: the call service is not running.
    #[error("the call service is not running")]
    NoWorker,
}

/// Publishes `cmd` on the commands channel; [`CommandError::NoWorker`] when no worker heard it.
#[tracing::instrument(skip_all)]
pub async fn send(redis: &ConnectionManager, cmd: &impl Serialize) -> Result<(), CommandError> {
    use redis::AsyncCommands;
    let payload = serde_json::to_string(cmd)?;
    let mut r = redis.clone();
    let receivers: i64 = r.publish(callbase_core::keys::STASIS_COMMANDS, payload).await?;
    if receivers == 0 {
        return Err(CommandError::NoWorker);
    }
    Ok(())
}
