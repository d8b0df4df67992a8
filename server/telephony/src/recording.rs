//! Call recordings on the telephony side: whether a call is recorded, Asterisk's name of its
//! recording, and Asterisk as the uploader's [`RecordingSource`]. The uploader (Asterisk → spool
//! → S3) and retention are in `callbase_recordings::{uploader, retention}`.

use callbase_core::{TenantId, UserId};
use callbase_recordings::uploader::{RecordingSource, SourceError};

use crate::nodes::{NodeError, Nodes};

pub use callbase_recordings::uploader::new_key;

/// Asterisk's name of a call's recording.
pub fn asterisk_name(call_id: &str) -> String {
    format!("cb-{call_id}")
}

/// Whether a call answered by `user` is recorded: the tenant records all calls, or the user is in
/// an "always record" group.
pub async fn should_record(db: &callbase_db::Db, tenant: TenantId, user: Option<UserId>) -> bool {
    let res = async {
        let mut tx = db.tenant_tx(tenant).await?;
        let on = callbase_db::calls::recording::should_record(&mut tx, tenant, user).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(on)
    }
    .await;
    res.unwrap_or_else(|e| {
        // Better a recording too many than a lost one.
        tracing::warn!(error = %e, "cannot read the recording setting; recording");
        true
    })
}

/// Asterisk's stored recordings (`GET`/`DELETE /recordings/stored/{name}`) on the node that made
/// each one (a call record without a node is from before nodes: the node of the settings).
impl RecordingSource for Nodes {
    async fn fetch(&self, node: Option<&str>, name: &str) -> Result<Option<Vec<u8>>, SourceError> {
        let node = match node {
            Some(id) => match self.by_id(id).await {
                // A node the registry does not know (a record from before nodes, a server of the
                // API tests under its own node name) is the node of the settings.
                Err(NodeError::Unknown(_)) => self.configured(),
                n => n?,
            },
            None => self.configured(),
        };
        Ok(node.ari.get_bytes(&format!("recordings/stored/{name}/file")).await?)
    }

    async fn delete(&self, node: Option<&str>, name: &str) {
        let node = match node {
            Some(id) => match self.by_id(id).await {
                Ok(n) => n,
                Err(NodeError::Unknown(_)) => self.configured(),
                Err(_) => return,
            },
            None => self.configured(),
        };
        let path = format!("recordings/stored/{name}");
        if let Err(e) = node.ari.call(reqwest::Method::DELETE, &path, &[], None).await {
            tracing::debug!(error = %e, recording = name, "cannot delete Asterisk's copy of a stored recording");
        }
    }
}
