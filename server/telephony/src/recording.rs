//! Call recordings on the telephony side: whether a call is recorded, Asterisk's name of its
//! recording, and Asterisk as the uploader's [`RecordingSource`]. The uploader (Asterisk → spool
//! → S3) and retention are in `callbase_recordings::{uploader, retention}`.

use callbase_core::{TenantId, UserId};
use callbase_recordings::uploader::{RecordingSource, SourceError};

use crate::ari::Ari;

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

/// Asterisk's stored recordings (`GET`/`DELETE /recordings/stored/{name}`), for the uploader.
impl RecordingSource for Ari {
    async fn fetch(&self, name: &str) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(self.get_bytes(&format!("recordings/stored/{name}/file")).await?)
    }

    async fn delete(&self, name: &str) {
        let path = format!("recordings/stored/{name}");
        if let Err(e) = self.call(reqwest::Method::DELETE, &path, &[], None).await {
            tracing::debug!(error = %e, recording = name, "cannot delete Asterisk's copy of a stored recording");
        }
    }
}
