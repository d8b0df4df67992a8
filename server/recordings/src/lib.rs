//! Recordings storage. For now: the S3 client and its readiness check; the spool, mp3 encoder,
//! retention worker and zip stream come with the recordings feature.

pub mod audio;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use secrecy::{ExposeSecret, SecretString};

/// S3 settings (`CALLBASE__S3__*`). Works with AWS, MinIO and the bundled `callbase-s3` (s3s-fs).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:9000`; empty for AWS's default endpoint.
    pub endpoint: Option<String>,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key: String,
    pub secret_key: SecretString,
}

fn default_region() -> String {
    "us-east-1".into()
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object store request failed: {0}")]
    S3(String),
}

#[derive(Clone)]
pub struct ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl ObjectStore {
    pub fn new(cfg: &S3Config) -> Self {
        let creds = Credentials::new(&cfg.access_key, cfg.secret_key.expose_secret(), None, None, "static");
        let mut b = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .force_path_style(true);
        if let Some(ep) = cfg.endpoint.as_deref().filter(|e| !e.is_empty()) {
            b = b.endpoint_url(ep);
        }
        Self { client: aws_sdk_s3::Client::from_conf(b.build()), bucket: cfg.bucket.clone() }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Stores an object (single PUT: greetings are small).
    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
    }

    /// Reads a whole object; `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => {
                let data = o.body.collect().await.map_err(|e| StoreError::S3(e.to_string()))?;
                Ok(Some(data.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(StoreError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
    }

    /// HEAD the bucket: proves the endpoint answers, the credentials sign correctly and the bucket
    /// exists.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
    }
}
