//! Call recordings on the telephony side: whether a call is recorded, Asterisk's name of its
//! recording, and Asterisk as the uploader's [`RecordingSource`]. The uploader (Asterisk → spool
//! → S3) and retention are in `callbase_recordings::{uploader, retention}`.

use std::sync::Arc;
use std::time::Duration;

use callbase_core::{TenantId, UserId};
use callbase_recordings::uploader::{NodeHealth, RecordingSource, SourceError};

use crate::ari::AriError;
use crate::nodes::{Node, NodeError, Nodes};

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
/// each one (a call record without a node is from before nodes: the node of the settings). A node
/// that does not answer (refused, timed out, or `down` in the registry and silent) makes the
/// recording wait for it; a `gone` node has lost it.
impl RecordingSource for Nodes {
    async fn fetch(&self, node: Option<&str>, name: &str) -> Result<Option<Vec<u8>>, SourceError> {
        let node = self.recording_node(node).await?;
        if node.row.state == "down" && !answers(&node).await {
            return Err(SourceError::NodeAway {
                node: node.id().into(),
                detail: "down in the registry".into(),
            });
        }
        match node.ari.get_bytes(&format!("recordings/stored/{name}/file")).await {
            Ok(wav) => Ok(wav),
            Err(AriError::Transport(e)) if e.is_connect() || e.is_timeout() => {
                Err(SourceError::NodeAway { node: node.id().into(), detail: e.to_string() })
            }
            Err(e) => Err(SourceError::Other(e.into())),
        }
    }

    async fn delete(&self, node: Option<&str>, name: &str) {
        let Ok(node) = self.recording_node(node).await else { return };
        let path = format!("recordings/stored/{name}");
        if let Err(e) = node.ari.call(reqwest::Method::DELETE, &path, &[], None).await {
            tracing::debug!(error = %e, recording = name, "cannot delete Asterisk's copy of a stored recording");
        }
    }

    async fn answers(&self, node: Option<&str>) -> NodeHealth {
        match self.recording_node(node).await {
            Ok(n) if answers(&n).await => NodeHealth::Answers,
            Ok(_) => NodeHealth::Away,
            Err(SourceError::NodeGone(_)) => NodeHealth::Gone,
            Err(_) => NodeHealth::Away,
        }
    }
}

/// Whether the node's ARI answers within 3 s.
async fn answers(node: &Node) -> bool {
    tokio::time::timeout(Duration::from_secs(3), node.ari.info()).await.is_ok_and(|r| r.is_ok())
}

impl Nodes {
    /// The node that holds a recording, as the registry says now (read again, so a state set by
    /// the operator counts at once). A node the registry does not know (a record from before
    /// nodes, a server of the API tests under its own node name) is the node of the settings.
    async fn recording_node(&self, node: Option<&str>) -> Result<Arc<Node>, SourceError> {
        let Some(id) = node else { return Ok(self.configured()) };
        if let Err(e) = self.refresh().await {
            return Err(SourceError::Other(e.into()));
        }
        match self.by_id(id).await {
            Ok(n) if n.row.state == "gone" => Err(SourceError::NodeGone(id.into())),
            Ok(n) => Ok(n),
            Err(NodeError::Unknown(_)) => Ok(self.configured()),
            Err(e) => Err(SourceError::Other(e.into())),
        }
    }
}
