//! The filesystem destination of dltrs: a dataset as files in a folder or a bucket, in dlt's
//! layout, so dlt, DuckDB, Spark, Polars and pandas read what dltrs writes.
//!
//! ```text
//! lib.rs     Filesystem: bucket URL, credentials, layout, file format; the load steps
//! store.rs   the bucket: object_store (local files, S3) behind blocking calls, multipart writes
//! layout.rs  dlt's layout placeholders: a file's path, a table's prefix
//! format.rs  package files (Arrow IPC) as Parquet, JSON Lines or CSV, batch by batch
//! system.rs  _dlt_loads, _dlt_version, _dlt_pipeline_state and init as dlt writes them
//! delta.rs   Delta Lake tables: our commit writer of the JSON log, copy-on-write merges
//! ```
//!
//! A bucket has no transactions, so a package is applied in steps that are each idempotent
//! by load id ([`Atomicity::Resumable`]), the completion marker last:
//!
//! ```text
//! init marker ─▶ (done if _dlt_loads/<schema>__<load id>.jsonl exists: finish replaces)
//!   ─▶ files of dropped tables removed ─▶ _dlt_version (new schema hash)
//!   ─▶ every package file as one table file, at a path that depends only on the package
//!   ─▶ _dlt_pipeline_state ─▶ _dlt_loads marker ─▶ replaced tables' older files removed
//! ```
//!
//! A load killed anywhere is finished by loading the package again: each file is written
//! again at the same path (an object appears whole or not at all), and the older files of a
//! replaced table go only once the marker says the new ones are complete.

mod delta;
mod format;
mod layout;
mod store;
mod system;

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use dltrs_core::destination::{
    Atomicity, BoxError, Capabilities, Destination, DestinationError, Failure, FileFormat,
    LoadContext, LoadOutcome, Restored,
};
use dltrs_core::package::{BatchFile, NormalizedPackage};
use dltrs_core::schema::{MergeStrategy, Schema, WriteDisposition};
use sha3::Digest;

pub use format::LoaderFileFormat;
pub use layout::{DEFAULT_LAYOUT, Layout};
pub use store::BucketUrl;

use crate::layout::FileName;
use crate::store::Store;
use crate::system::SystemFiles;

/// Package files converted at once: the normalizer's files are independent, and two keep
/// both cores busy (one encodes while the other's parts upload).
const WRITERS: usize = 2;

/// S3 credentials and endpoint, dlt's `AwsCredentials` fields; unset fields come from the
/// `AWS_*` environment variables. `Debug` masks the secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Credentials {
    /// `aws_access_key_id`.
    pub aws_access_key_id: Option<String>,
    /// `aws_secret_access_key` (a secret).
    pub aws_secret_access_key: Option<String>,
    /// `aws_session_token` (a secret).
    pub aws_session_token: Option<String>,
    /// `region_name`.
    pub region_name: Option<String>,
    /// `endpoint_url`: an S3-compatible server (MinIO, moto, R2); `http://` is allowed.
    pub endpoint_url: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let masked = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("S3Credentials")
            .field("aws_access_key_id", &self.aws_access_key_id)
            .field(
                "aws_secret_access_key",
                &masked(&self.aws_secret_access_key),
            )
            .field("aws_session_token", &masked(&self.aws_session_token))
            .field("region_name", &self.region_name)
            .field("endpoint_url", &self.endpoint_url)
            .finish()
    }
}

/// How the data tables are kept (dlt's `table_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// Plain files in the layout (no merge).
    #[default]
    Files,
    /// Delta Lake tables (Parquet data files and a transaction log), which merge.
    Delta,
}

impl std::str::FromStr for TableFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "delta" => Ok(TableFormat::Delta),
            "files" | "native" => Ok(TableFormat::Files),
            other => Err(format!(
                "unknown table_format `{other}`: use delta (Delta Lake tables) or leave it unset for plain files"
            )),
        }
    }
}

/// A dataset as files: `<bucket_url>/<dataset>/<layout>` (dlt's `filesystem` destination).
#[derive(Debug, Clone)]
pub struct Filesystem {
    bucket_url: BucketUrl,
    credentials: S3Credentials,
    layout: Layout,
    format: LoaderFileFormat,
    compression: bool,
    table_format: TableFormat,
}

impl Filesystem {
    /// A destination writing under `bucket_url`: a local path, `file:///path` or
    /// `s3://bucket/prefix`. Files are JSON Lines, gzipped, in dlt's default layout until
    /// set otherwise. Nothing is opened until a load.
    pub fn new(bucket_url: &str) -> Result<Self, String> {
        Ok(Filesystem {
            bucket_url: BucketUrl::parse(bucket_url)?,
            credentials: S3Credentials::default(),
            layout: Layout::default(),
            format: LoaderFileFormat::Jsonl,
            compression: true,
            table_format: TableFormat::Files,
        })
    }

    /// Keeps every data table (child tables too) as a Delta Lake table in the table's folder
    /// (`TableFormat::Delta`: Parquet files whatever the loader file format; `merge` with
    /// `delete-insert` and `upsert`), or as plain files (the default).
    pub fn table_format(mut self, format: TableFormat) -> Self {
        self.table_format = format;
        self
    }

    /// The S3 credentials and endpoint (unset fields: the `AWS_*` environment variables).
    pub fn credentials(mut self, credentials: S3Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// dlt's `layout` (default [`DEFAULT_LAYOUT`]), checked as dlt checks it.
    pub fn layout(mut self, layout: &str) -> Result<Self, String> {
        self.layout = Layout::parse(layout)?;
        Ok(self)
    }

    /// The format of the tables' files (dlt's `loader_file_format`; JSON Lines by default,
    /// as dlt's).
    pub fn loader_file_format(mut self, format: LoaderFileFormat) -> Self {
        self.format = format;
        self
    }

    /// Whether JSON Lines and CSV files are gzipped (`.jsonl.gz`; on by default, as dlt's
    /// `disable_compression = false`).
    pub fn compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }

    /// The bucket URL.
    pub fn bucket_url(&self) -> &BucketUrl {
        &self.bucket_url
    }

    /// The file format of the tables' files.
    pub fn file_format(&self) -> LoaderFileFormat {
        self.format
    }

    fn open(&self, create: bool) -> Result<Option<Store>, DestinationError> {
        Store::open(&self.bucket_url, &self.credentials, create).map_err(|source| {
            DestinationError::Connect {
                location: self.location(),
                source,
            }
        })
    }

    /// The extension of the tables' files (`jsonl.gz`, `parquet`).
    fn extension(&self) -> String {
        match self.compression && self.format.gzips() {
            true => format!("{}.gz", self.format.as_str()),
            false => self.format.as_str().to_string(),
        }
    }

    /// Where each package file of `package` goes: a path that depends only on the package,
    /// so a resumed load writes the same objects again.
    /// Whether the chain of root table `root` is kept as Delta tables: the destination's
    /// table format, or the root's `table_format` hint.
    fn is_delta(&self, schema: &Schema, root: &str) -> bool {
        self.table_format == TableFormat::Delta
            || schema
                .table(root)
                .and_then(|t| t.other.get("table_format"))
                .and_then(serde_json::Value::as_str)
                == Some("delta")
    }

    fn plan(&self, dataset: &str, package: &NormalizedPackage) -> Vec<Job> {
        let ext = self.extension();
        let load_id = package.load_id();
        let mut jobs = Vec::new();
        for root in &package.manifest.roots {
            if self.is_delta(&package.schema, &root.name) {
                // Delta tables write their own data files, committed by their logs
                continue;
            }
            for table in package.chain(&root.name) {
                for file in &table.files {
                    let file_id = file_id(load_id, &table.name, file);
                    let path = self.layout.render(&FileName {
                        schema_name: &package.schema.name,
                        table_name: &table.name,
                        load_id,
                        file_id: &file_id,
                        ext: &ext,
                    });
                    jobs.push(Job {
                        table: table.name.clone(),
                        file: file.clone(),
                        path: format!("{dataset}{path}"),
                    });
                }
            }
        }
        jobs
    }

    /// Writes every job's file, [`WRITERS`] at a time; the first error stops the rest.
    fn write_files(
        &self,
        store: &Store,
        package: &NormalizedPackage,
        jobs: &[Job],
        ctx: &LoadContext<'_>,
    ) -> Result<(), (String, BoxError)> {
        let next = AtomicUsize::new(0);
        let failed: Mutex<Option<(String, BoxError)>> = Mutex::new(None);
        let stop = || failed.lock().map_or(true, |f| f.is_some());
        std::thread::scope(|scope| {
            for _ in 0..WRITERS.min(jobs.len()) {
                scope.spawn(|| {
                    while !stop() {
                        let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        match self.write_job(store, package, job) {
                            Ok(rows) => {
                                ctx.progress.loaded_rows(rows);
                                ctx.progress.loaded_file();
                            }
                            Err(e) => {
                                if let Ok(mut failed) = failed.lock() {
                                    failed.get_or_insert((job.table.clone(), e));
                                }
                            }
                        }
                    }
                });
            }
        });
        match failed.into_inner() {
            Ok(None) => Ok(()),
            Ok(Some(failure)) => Err(failure),
            Err(_) => Err((
                "files".into(),
                "a file writer panicked (please report)".into(),
            )),
        }
    }

    fn write_job(
        &self,
        store: &Store,
        package: &NormalizedPackage,
        job: &Job,
    ) -> Result<u64, BoxError> {
        let table = package
            .schema
            .table(&job.table)
            .ok_or_else(|| format!("the package's schema has no table `{}`", job.table))?;
        let file = BatchFile::open(package.dir.join(&job.file))?;
        let mut out = BufWriter::with_capacity(1 << 20, store.writer(&job.path));
        let gzip = self.compression && self.format.gzips();
        let rows = format::write_file(self.format, gzip, table, file, &mut out)?;
        out.flush()?;
        let writer = out.into_inner().map_err(|e| e.into_error())?;
        writer.finish()?;
        Ok(rows)
    }

    /// Removes the files of the package's `replace` tables (roots and every child table) that
    /// the package did not write: run after its marker, and again when a resumed load finds
    /// the marker, so a kill between the two leaves no old rows behind.
    fn finish_replaces(
        &self,
        store: &Store,
        dataset: &str,
        package: &NormalizedPackage,
        jobs: &[Job],
    ) -> Result<(), (String, BoxError)> {
        let written: HashSet<&str> = jobs.iter().map(|j| j.path.as_str()).collect();
        let schema = &package.schema;
        for root in &package.manifest.roots {
            // a Delta replace is one commit of removes and adds
            if package.disposition(root) != WriteDisposition::Replace
                || self.is_delta(schema, &root.name)
            {
                continue;
            }
            let mut tables = vec![root.name.as_str()];
            tables.extend(
                schema
                    .descendants(&root.name)
                    .iter()
                    .map(|t| t.name.as_str()),
            );
            for table in tables {
                for path in self
                    .table_files(store, dataset, schema, table)
                    .map_err(|e| (table.to_string(), e))?
                {
                    if !written.contains(path.as_str()) {
                        store.delete(&path).map_err(|e| (table.to_string(), e))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A local folder's store writes an object as `<path>#<n>` and renames it: a load killed
    /// mid-file leaves that staging file, which the store's listings skip but a reader's
    /// listing of the folder would not. A resumed load removes those of its own files.
    fn remove_staging_leftovers(&self, jobs: &[Job]) -> Result<(), (String, BoxError)> {
        let BucketUrl::Local(root) = &self.bucket_url else {
            return Ok(());
        };
        let mut folders: Vec<(&str, &str)> = jobs
            .iter()
            .map(|job| {
                (
                    job.path.rsplit_once('/').map_or("", |(dir, _)| dir),
                    job.table.as_str(),
                )
            })
            .collect();
        folders.dedup();
        for (folder, table) in folders {
            let fail = |e: std::io::Error| (table.to_string(), BoxError::from(e));
            let entries = match std::fs::read_dir(root.join(folder)) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fail(e)),
            };
            for entry in entries {
                let entry = entry.map_err(fail)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let own = name.split_once('#').is_some_and(|(stem, _)| {
                    jobs.iter().any(|j| j.path == format!("{folder}/{stem}"))
                });
                if own {
                    std::fs::remove_file(entry.path()).map_err(fail)?;
                }
            }
        }
        Ok(())
    }

    /// The files of `table` in the dataset's folder, by the layout's table prefix.
    fn table_files(
        &self,
        store: &Store,
        dataset: &str,
        schema: &Schema,
        table: &str,
    ) -> Result<Vec<String>, BoxError> {
        let prefix = match self.table_format {
            // a Delta table is its folder: data files and log
            TableFormat::Delta => format!("{dataset}{table}/"),
            TableFormat::Files => {
                format!("{dataset}{}", self.layout.table_prefix(&schema.name, table))
            }
        };
        let folder = match prefix.rfind('/') {
            Some(end) => &prefix[..=end],
            None => "",
        };
        Ok(store
            .list(folder)?
            .into_iter()
            .filter(|path| {
                path.starts_with(&prefix) && !path.ends_with(&format!("/{}", system::INIT))
            })
            .collect())
    }

    fn apply(
        &self,
        store: &Store,
        dataset: &str,
        package: &NormalizedPackage,
        ctx: &LoadContext<'_>,
    ) -> Result<LoadOutcome, (String, BoxError)> {
        let step = |name: &str| {
            let name = name.to_string();
            move |e: BoxError| (name, e)
        };
        let schema = &package.schema;
        let load_id = package.load_id();
        let system = SystemFiles { store, dataset };
        system.init().map_err(step(system::INIT))?;
        let jobs = self.plan(dataset, package);
        if system
            .is_loaded(&schema.name, load_id)
            .map_err(step("_dlt_loads"))?
        {
            self.finish_replaces(store, dataset, package, &jobs)?;
            return Ok(LoadOutcome::AlreadyLoaded);
        }
        for table in &package.manifest.drop_tables {
            for path in self
                .table_files(store, dataset, schema, table)
                .map_err(step(table))?
            {
                store.delete(&path).map_err(step(table))?;
            }
        }
        system
            .store_schema(schema)
            .map_err(step(dltrs_core::schema::VERSION_TABLE))?;
        self.write_files(store, package, &jobs, ctx)?;
        self.remove_staging_leftovers(&jobs)?;
        for root in &package.manifest.roots {
            if self.is_delta(schema, &root.name) {
                let chain = delta::Chain {
                    store,
                    dataset,
                    package,
                    root: &root.name,
                };
                let rows = chain.apply()?;
                ctx.progress.loaded_rows(rows);
                ctx.progress.loaded_file();
            }
        }
        if let Some(state) = &package.manifest.state {
            system
                .store_state(state, load_id, schema)
                .map_err(step(dltrs_core::state::STATE_TABLE))?;
        }
        system
            .mark_loaded(schema, load_id)
            .map_err(step(dltrs_core::schema::LOADS_TABLE))?;
        self.finish_replaces(store, dataset, package, &jobs)?;
        Ok(LoadOutcome::Loaded)
    }
}

/// One package file and the table file it becomes.
struct Job {
    table: String,
    /// Relative to the package directory.
    file: String,
    /// Relative to the bucket URL.
    path: String,
}

/// dlt's `file_id` (ten lowercase hex digits), derived from the package file so that a
/// resumed load names its files as the first attempt did.
fn file_id(load_id: &str, table: &str, file: &str) -> String {
    short_hash(&format!("{load_id}/{table}/{file}"))
}

/// Ten lowercase hex digits of `text`'s SHA3-256: the shape of dlt's file ids, used for every
/// name that must come out the same when a load is resumed.
pub(crate) fn short_hash(text: &str) -> String {
    hex(&sha3::Sha3_256::digest(text.as_bytes())[..5])
}

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The dataset's folder inside the bucket (`dataset/`; the bucket's root for no name).
fn dataset_folder(dataset: &str) -> String {
    match dataset.trim_matches('/') {
        "" => String::new(),
        name => format!("{name}/"),
    }
}

impl Destination for Filesystem {
    fn destination_type(&self) -> &'static str {
        "dlt.destinations.filesystem"
    }

    fn destination_name(&self) -> &str {
        "filesystem"
    }

    fn location(&self) -> String {
        format!("filesystem:{}", self.bucket_url.display())
    }

    fn capabilities(&self) -> Capabilities {
        let delta = self.table_format == TableFormat::Delta;
        let mut write_dispositions = vec![
            WriteDisposition::Append,
            WriteDisposition::Replace,
            WriteDisposition::Skip,
        ];
        if delta {
            write_dispositions.push(WriteDisposition::Merge);
        }
        Capabilities {
            write_dispositions,
            merge_strategies: match delta {
                true => vec![MergeStrategy::DeleteInsert, MergeStrategy::Upsert],
                false => Vec::new(),
            },
            table_format_merges: vec![(
                "delta",
                vec![MergeStrategy::DeleteInsert, MergeStrategy::Upsert],
            )],
            merge_advice: Some(
                "plain files cannot be merged in place (dlt falls back to append and keeps every version): load with append or replace, or keep the tables as Delta tables (the resource's table_format = \"delta\", or the destination's: --table-format delta)",
            ),
            atomicity: Atomicity::Resumable,
            max_identifier_length: None,
            preferred_file_format: FileFormat::Parquet,
            stores_nul: true,
        }
    }

    fn restore(
        &self,
        dataset: &str,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, DestinationError> {
        let Some(store) = self.open(false)? else {
            return Ok(None);
        };
        let folder = dataset_folder(dataset);
        let system = SystemFiles {
            store: &store,
            dataset: &folder,
        };
        system
            .restore(pipeline_name, schema_name)
            .map_err(|source| DestinationError::Connect {
                location: self.location(),
                source,
            })
    }

    fn load(
        &mut self,
        ctx: &LoadContext<'_>,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError> {
        let Some(store) = self.open(true)? else {
            return Err(DestinationError::Connect {
                location: self.location(),
                source: "the bucket could not be opened".into(),
            });
        };
        let dataset = dataset_folder(ctx.dataset);
        self.apply(&store, &dataset, package, ctx)
            .map_err(|(table, source)| DestinationError::Load {
                load_id: package.load_id().to_string(),
                table,
                atomicity: Atomicity::Resumable,
                failure: failure(&*source),
                source,
            })
    }
}

/// A bucket's errors are transient (a retry with the same package can succeed once the
/// network, the credentials or the bucket are right); only a package that cannot be read as
/// a table's files is terminal.
fn failure(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut cause = Some(error);
    while let Some(err) = cause {
        if err.is::<parquet::errors::ParquetError>() || err.is::<arrow_schema::ArrowError>() {
            return Failure::Terminal;
        }
        cause = err.source();
    }
    Failure::Transient
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_stable_and_dlt_shaped() {
        let id = file_id("1704164645.678", "items", "items.0.arrow");
        assert_eq!(id.len(), 10);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(id, file_id("1704164645.678", "items", "items.0.arrow"));
        assert_ne!(id, file_id("1704164645.678", "items", "items.1.arrow"));
    }

    #[test]
    fn bucket_urls_are_parsed_or_refused_with_the_schemes_we_take() {
        assert_eq!(
            BucketUrl::parse("s3://b/some/prefix/"),
            Ok(BucketUrl::S3 {
                bucket: "b".into(),
                prefix: "some/prefix".into()
            })
        );
        assert_eq!(
            BucketUrl::parse("file:///tmp/x"),
            Ok(BucketUrl::Local("/tmp/x".into()))
        );
        assert_eq!(
            BucketUrl::parse("data/lake"),
            Ok(BucketUrl::Local("data/lake".into()))
        );
        assert!(
            BucketUrl::parse("gs://b")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(BucketUrl::parse("s3://").unwrap_err().contains("no bucket"));
    }

    #[test]
    fn credentials_debug_masks_secrets() {
        let c = S3Credentials {
            aws_access_key_id: Some("AKIA".into()),
            aws_secret_access_key: Some("very-secret".into()),
            aws_session_token: Some("token-secret".into()),
            ..S3Credentials::default()
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("token-secret"),
            "{shown}"
        );
        assert!(shown.contains("AKIA"));
    }
}
