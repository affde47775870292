//! The bucket: an `object_store` (local files or S3) under a root prefix, with blocking calls.
//!
//! `object_store` is async; a destination is called from plain threads, so a [`Store`] owns a
//! small tokio runtime and blocks on it. Its two worker threads upload parts while the calling
//! thread encodes the next ones. Paths are `/`-separated and relative to the bucket URL's
//! prefix: `dataset/table/file`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dltrs_core::destination::BoxError;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
    WriteMultipart,
};

use crate::S3Credentials;

/// Size of a multipart upload's parts (S3 takes 5 MiB at least, but the last).
const PART_SIZE: usize = 8 << 20;

/// Parts of one file uploading at once: bounds a writer's memory to a few parts.
const PARTS_IN_FLIGHT: usize = 2;

/// Where a bucket URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketUrl {
    /// A local folder (a path or `file://`).
    Local(PathBuf),
    /// `s3://bucket/prefix`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix inside it (no leading or trailing `/`; may be empty).
        prefix: String,
    },
}

impl BucketUrl {
    /// Parses `s3://bucket/prefix`, `file:///path` or a plain path.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "bucket URL `{url}` names no bucket (s3://BUCKET/PREFIX)"
                ));
            }
            return Ok(BucketUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(rest) = url.strip_prefix("file://") {
            let parsed = url::Url::parse(url).map_err(|e| format!("bucket URL `{url}`: {e}"))?;
            return match parsed.to_file_path() {
                Ok(path) => Ok(BucketUrl::Local(path)),
                Err(()) => Err(format!(
                    "bucket URL `{url}` is not a local path: file URLs are absolute (file:///path), got `{rest}`"
                )),
            };
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "bucket URL `{url}`: the scheme `{scheme}` is not supported; use s3://, file:// or a local path"
            ));
        }
        if url.is_empty() {
            return Err("the bucket URL is empty".into());
        }
        Ok(BucketUrl::Local(PathBuf::from(url)))
    }

    /// The URL for people to read.
    pub fn display(&self) -> String {
        match self {
            BucketUrl::Local(path) => path.display().to_string(),
            BucketUrl::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            BucketUrl::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// An open bucket.
pub(crate) struct Store {
    inner: Arc<dyn ObjectStore>,
    root: String,
    runtime: tokio::runtime::Runtime,
}

impl Store {
    /// Opens the bucket; a local folder is created when `create` (a load), else `None` is
    /// returned for a folder that does not exist (nothing to read).
    pub(crate) fn open(
        url: &BucketUrl,
        credentials: &S3Credentials,
        create: bool,
    ) -> Result<Option<Store>, BoxError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dltrs-bucket")
            .enable_all()
            .build()?;
        let (inner, root): (Arc<dyn ObjectStore>, String) = match url {
            BucketUrl::Local(path) => {
                if create {
                    std::fs::create_dir_all(path)?;
                } else if !path.exists() {
                    return Ok(None);
                }
                (
                    Arc::new(LocalFileSystem::new_with_prefix(path)?),
                    String::new(),
                )
            }
            BucketUrl::S3 { bucket, prefix } => {
                // AWS_* variables first, then what the configuration gives
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(region) = &credentials.region_name {
                    builder = builder.with_region(region);
                }
                if let Some(key) = &credentials.aws_access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &credentials.aws_secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                if let Some(token) = &credentials.aws_session_token {
                    builder = builder.with_token(token);
                }
                if let Some(endpoint) = &credentials.endpoint_url {
                    builder = builder.with_endpoint(endpoint);
                }
                // an S3-compatible server on plain http (from the configuration or AWS_ENDPOINT_URL)
                if builder
                    .get_config_value(&AmazonS3ConfigKey::Endpoint)
                    .is_some_and(|e| e.starts_with("http://"))
                {
                    builder = builder.with_allow_http(true);
                }
                // set over the environment's client options, not in place of them
                builder = builder
                    .with_config(
                        AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                        "10s",
                    )
                    .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "120s");
                // a refused connection or a 5xx is retried a few times, not for minutes
                let retry = RetryConfig {
                    max_retries: 4,
                    retry_timeout: Duration::from_secs(30),
                    ..RetryConfig::default()
                };
                let store = builder.with_retry(retry).build()?;
                (Arc::new(store), prefix.clone())
            }
        };
        Ok(Some(Store {
            inner,
            root,
            runtime,
        }))
    }

    fn path(&self, relative: &str) -> ObjectPath {
        if self.root.is_empty() {
            ObjectPath::from(relative)
        } else {
            ObjectPath::from(format!("{}/{relative}", self.root))
        }
    }

    /// Writes `bytes` at `relative`, replacing what is there.
    pub(crate) fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), BoxError> {
        let path = self.path(relative);
        self.runtime
            .block_on(self.inner.put(&path, PutPayload::from(bytes)))?;
        Ok(())
    }

    /// Writes `bytes` at `relative` unless an object is there: `false` when one was.
    pub(crate) fn put_if_absent(&self, relative: &str, bytes: Vec<u8>) -> Result<bool, BoxError> {
        let path = self.path(relative);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .runtime
            .block_on(self.inner.put_opts(&path, PutPayload::from(bytes), options))
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The object at `relative`, `None` when there is none.
    pub(crate) fn get(&self, relative: &str) -> Result<Option<Vec<u8>>, BoxError> {
        let path = self.path(relative);
        let result = self.runtime.block_on(async {
            let got = self.inner.get(&path).await?;
            got.bytes().await
        });
        match result {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The object at `relative` copied into a temporary local file, streamed (an object of any
    /// size in bounded memory); `None` when there is none.
    pub(crate) fn download(&self, relative: &str) -> Result<Option<std::fs::File>, BoxError> {
        use futures_util::StreamExt;
        let path = self.path(relative);
        let mut file = tempfile::tempfile()?;
        let copied: Result<(), BoxError> = self.runtime.block_on(async {
            let mut stream = self.inner.get(&path).await?.into_stream();
            while let Some(chunk) = stream.next().await {
                file.write_all(&chunk?)?;
            }
            Ok(())
        });
        match copied {
            Ok(()) => {
                use std::io::Seek;
                file.flush()?;
                file.rewind()?;
                Ok(Some(file))
            }
            Err(e)
                if matches!(
                    e.downcast_ref::<object_store::Error>(),
                    Some(object_store::Error::NotFound { .. })
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether an object is at `relative`.
    pub(crate) fn exists(&self, relative: &str) -> Result<bool, BoxError> {
        let path = self.path(relative);
        match self.runtime.block_on(self.inner.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The objects under the folder `relative` (recursively), as paths relative to the root.
    pub(crate) fn list(&self, relative: &str) -> Result<Vec<String>, BoxError> {
        let prefix = self.path(relative.trim_end_matches('/'));
        let listed: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(self.inner.list(Some(&prefix)).try_collect())?;
        let strip = if self.root.is_empty() {
            0
        } else {
            self.root.len() + 1
        };
        Ok(listed
            .into_iter()
            .map(|meta| meta.location.as_ref()[strip..].to_string())
            .collect())
    }

    /// Deletes the object at `relative` (nothing there is no error).
    pub(crate) fn delete(&self, relative: &str) -> Result<(), BoxError> {
        let path = self.path(relative);
        match self.runtime.block_on(self.inner.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A writer of the object at `relative`: nothing is visible there until
    /// [`ObjectWriter::finish`] (a single put, or a multipart upload's completion).
    pub(crate) fn writer(&self, relative: &str) -> ObjectWriter<'_> {
        ObjectWriter {
            store: self,
            path: self.path(relative),
            buffer: Vec::new(),
            upload: None,
            written: 0,
        }
    }
}

/// An object being written (see [`Store::writer`]); dropped unfinished, its upload is aborted.
pub(crate) struct ObjectWriter<'a> {
    store: &'a Store,
    path: ObjectPath,
    /// Bytes before the first part: a small file is one put.
    buffer: Vec<u8>,
    upload: Option<WriteMultipart>,
    written: u64,
}

impl ObjectWriter<'_> {
    fn start_upload(&mut self) -> std::io::Result<()> {
        let store = self.store;
        let upload = store
            .runtime
            .block_on(store.inner.put_multipart(&self.path))
            .map_err(std::io::Error::other)?;
        let mut upload = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        self.send(&mut upload)?;
        self.upload = Some(upload);
        Ok(())
    }

    /// Hands the buffer to the upload once a part's slot is free.
    fn send(&mut self, upload: &mut WriteMultipart) -> std::io::Result<()> {
        let store = self.store;
        store
            .runtime
            .block_on(upload.wait_for_capacity(PARTS_IN_FLIGHT))
            .map_err(std::io::Error::other)?;
        // parts are spawned on the store's runtime
        let _runtime = store.runtime.enter();
        upload.write(&self.buffer);
        self.buffer.clear();
        Ok(())
    }

    /// Completes the object; returns its size in bytes.
    pub(crate) fn finish(mut self) -> Result<u64, BoxError> {
        let store = self.store;
        match self.upload.take() {
            None => {
                let bytes = std::mem::take(&mut self.buffer);
                store
                    .runtime
                    .block_on(store.inner.put(&self.path, PutPayload::from(bytes)))?;
            }
            Some(mut upload) => {
                if !self.buffer.is_empty() {
                    self.send(&mut upload)?;
                }
                store.runtime.block_on(upload.finish())?;
            }
        }
        Ok(self.written)
    }
}

impl Write for ObjectWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        self.written += buf.len() as u64;
        if self.buffer.len() >= PART_SIZE {
            match self.upload.take() {
                None => self.start_upload()?,
                Some(mut upload) => {
                    let sent = self.send(&mut upload);
                    self.upload = Some(upload);
                    sent?;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // parts go when they are full; the object appears at `finish`
        Ok(())
    }
}

impl Drop for ObjectWriter<'_> {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            // best effort: an abandoned upload's parts are invisible, this frees them
            let _ = self.store.runtime.block_on(upload.abort());
        }
    }
}
