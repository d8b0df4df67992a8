//! Recordings storage: the S3 client (single and multipart uploads, ranged reads, batch deletes),
//! the mp3 encoder, file names users see, the streamed `records.zip`, the uploader (a recording's
//! source → spool → S3) and retention.

pub mod audio;
pub mod mp3;
pub mod names;
pub mod retention;
pub mod uploader;
pub mod zip;

use std::path::Path;

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
    #[error("cannot read the local file: {0}")]
    Io(#[from] std::io::Error),
}

fn s3err<E: std::error::Error + 'static>(
    e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError {
    StoreError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

/// Files above this go up in parts (S3's minimum part size is 5 MiB).
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
const PART_SIZE: usize = 8 * 1024 * 1024;

/// An object being read: its body, the bytes of this answer, and the object's whole size.
pub struct ObjectRead {
    pub body: aws_sdk_s3::primitives::ByteStream,
    pub length: u64,
    pub total: u64,
    /// `bytes a-b/total` when a range was asked for.
    pub content_range: Option<String>,
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

    /// Uploads a local file: one PUT up to [`MULTIPART_THRESHOLD`], multipart above (an upload
    /// that fails half-way is aborted so no parts linger). Returns the size uploaded.
    pub async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<u64, StoreError> {
        let size = tokio::fs::metadata(path).await?.len();
        if size <= MULTIPART_THRESHOLD {
            let body = tokio::fs::read(path).await?;
            self.put(key, body, content_type).await?;
            return Ok(size);
        }
        let up = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(s3err)?;
        let upload_id = up.upload_id().unwrap_or_default().to_string();
        let res = self.upload_parts(key, path, &upload_id).await;
        if res.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        res.map(|_| size)
    }

    async fn upload_parts(&self, key: &str, path: &Path, upload_id: &str) -> Result<(), StoreError> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        use tokio::io::AsyncReadExt;
        let mut f = tokio::fs::File::open(path).await?;
        let mut parts = Vec::new();
        let mut n = 1;
        loop {
            let mut buf = Vec::with_capacity(PART_SIZE);
            (&mut f).take(PART_SIZE as u64).read_to_end(&mut buf).await?;
            if buf.is_empty() {
                break;
            }
            let r = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(n)
                .body(buf.into())
                .send()
                .await
                .map_err(s3err)?;
            parts.push(
                CompletedPart::builder().part_number(n).set_e_tag(r.e_tag().map(str::to_string)).build(),
            );
            n += 1;
        }
        let done = CompletedMultipartUpload::builder().set_parts(Some(parts)).build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(done)
            .send()
            .await
            .map_err(s3err)?;
        Ok(())
    }

    /// The object's size; `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => Ok(Some(o.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(s3err(e)),
        }
    }

    /// Streams an object, or the `range` (an HTTP `Range` header value) of it; `None` when it does
    /// not exist.
    pub async fn read(&self, key: &str, range: Option<&str>) -> Result<Option<ObjectRead>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range.map(str::to_string))
            .send()
            .await
        {
            Ok(o) => {
                let length = o.content_length().unwrap_or(0).max(0) as u64;
                let content_range = o.content_range().map(str::to_string);
                let total = content_range
                    .as_deref()
                    .and_then(|r| r.rsplit('/').next())
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(length);
                Ok(Some(ObjectRead { body: o.body, length, total, content_range }))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(s3err(e)),
        }
    }

    /// Deletes up to 1 000 objects in one request; missing ones count as deleted.
    pub async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        if keys.is_empty() {
            return Ok(());
        }
        let objects: Vec<ObjectIdentifier> =
            keys.iter().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
        let del = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| StoreError::S3(e.to_string()))?;
        let out =
            self.client.delete_objects().bucket(&self.bucket).delete(del).send().await.map_err(s3err)?;
        if let Some(e) = out.errors().first() {
            return Err(StoreError::S3(format!(
                "cannot delete {}: {}",
                e.key().unwrap_or("?"),
                e.message().unwrap_or("?")
            )));
        }
        Ok(())
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
