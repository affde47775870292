//! The normalize step: an extracted package in, a normalized package out (Arrow IPC files per
//! table, the evolved schema and what changed).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

mod feed;

use arrow_array::RecordBatch;
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_ipc::writer::FileWriter;
use arrow_schema::Schema as ArrowSchema;
use serde::{Deserialize, Serialize};

use super::sync::Syncer;
use super::{
    ExtractEvent, ExtractedManifest, Stage, WorkingDir, read_json, seal, write_atomic, write_json,
};
use crate::arrow_rows::row_item;
use crate::error::{NormalizeError, PackageError};
use crate::naming::NamingConvention;
use crate::normalize::NulPolicy;
use crate::normalize::{NormalizeWarning, NormalizedChunk, RelationalNormalizer};
use crate::progress::Progress;
use crate::schema::{Schema, SchemaChange, WriteDisposition, pipeline_state_table};
use crate::state::{PipelineState, STATE_TABLE, StateRow};
use feed::{Feed, Following, Sealed};

/// Rows buffered in the normalizer before they are written out; bounds memory.
const FLUSH_ROWS: usize = 50_000;

/// One Arrow IPC file of a normalized table, read batch by batch; owned, so it can be handed
/// to another thread (DuckDB's scan threads).
pub struct BatchFile {
    path: PathBuf,
    reader: FileReader<BufReader<File>>,
}

impl BatchFile {
    /// Opens the file at `path` and reads its schema.
    pub fn open(path: PathBuf) -> Result<Self, PackageError> {
        let file = File::open(&path).map_err(|e| PackageError::io(&path, e))?;
        match FileReader::try_new(BufReader::with_capacity(1 << 20, file), None) {
            Ok(reader) => Ok(BatchFile { path, reader }),
            Err(source) => Err(PackageError::Arrow { path, source }),
        }
    }

    /// The schema every batch of the file has.
    pub fn schema(&self) -> arrow_schema::SchemaRef {
        self.reader.schema()
    }
}

impl Iterator for BatchFile {
    type Item = Result<RecordBatch, PackageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.reader.next()?;
        Some(batch.map_err(|source| PackageError::Arrow {
            path: self.path.clone(),
            source,
        }))
    }
}

/// `manifest.json` of a normalized package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NormalizedManifest {
    /// The package's load id.
    pub load_id: String,
    /// Name of the schema in `schema.json`.
    pub schema_name: String,
    /// Root tables the package writes, with their dispositions; a `replace` root with no
    /// rows still empties its tables.
    pub roots: Vec<RootTable>,
    /// Tables with rows, parents before children.
    pub tables: Vec<NormalizedTable>,
    /// Schema changes the package brings.
    pub changes: Vec<SchemaChange>,
    /// Normalizer warnings.
    pub warnings: Vec<NormalizeWarning>,
    /// Items normalized.
    pub items: u64,
    /// A pipeline state row to load with the package.
    pub state: Option<StateRow>,
    /// The whole pipeline state after this package's extract (`_local` included); it becomes
    /// the working directory's state once the package is loaded.
    #[serde(default)]
    pub pipeline_state: Option<PipelineState>,
    /// Tables dropped in the destination with this package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_tables: Vec<String>,
}

/// A root table of a package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RootTable {
    /// Normalized table name.
    pub name: String,
    /// Its write disposition.
    pub write_disposition: WriteDisposition,
    /// The resource that filled it.
    pub resource: String,
}

/// One table's data in a normalized package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NormalizedTable {
    /// Normalized table name.
    pub name: String,
    /// Arrow IPC files, relative to the package directory.
    pub files: Vec<String>,
    /// Rows over all files.
    pub rows: u64,
}

/// A normalized package read back from disk.
#[derive(Debug, Clone)]
pub struct NormalizedPackage {
    /// Package directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: NormalizedManifest,
    /// The schema after normalizing it.
    pub schema: Schema,
}

impl NormalizedPackage {
    /// Opens the package of `load_id` in `stage` (normalized or loaded).
    pub fn open(wd: &WorkingDir, stage: Stage, load_id: &str) -> Result<Self, PackageError> {
        let dir = wd.package_dir(stage, load_id);
        let manifest = read_json(&dir.join("manifest.json"))?;
        let schema = read_json(&dir.join("schema.json"))?;
        Ok(NormalizedPackage {
            dir,
            manifest,
            schema,
        })
    }

    /// The load id.
    pub fn load_id(&self) -> &str {
        &self.manifest.load_id
    }

    /// Reads a table's batches one at a time.
    pub fn batches<'a>(
        &'a self,
        table: &'a NormalizedTable,
    ) -> impl Iterator<Item = Result<RecordBatch, PackageError>> + 'a {
        self.batch_files(table).flat_map(
            |file| -> Box<dyn Iterator<Item = Result<RecordBatch, PackageError>>> {
                match file {
                    Ok(file) => Box::new(file),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            },
        )
    }

    /// The Arrow IPC files of `table`, each opened as it is reached: the batches of one file
    /// share one schema (a table gets a new file when its columns grow).
    pub fn batch_files<'a>(
        &'a self,
        table: &'a NormalizedTable,
    ) -> impl Iterator<Item = Result<BatchFile, PackageError>> + 'a {
        table
            .files
            .iter()
            .map(move |name| BatchFile::open(self.dir.join(name)))
    }

    /// The tables a destination must have before the package's rows go in: the system tables
    /// (`_dlt_version`, `_dlt_loads`, `_dlt_pipeline_state`), then every table with rows.
    pub fn tables_to_create(&self) -> Vec<std::borrow::Cow<'_, crate::schema::Table>> {
        use std::borrow::Cow;
        let schema = &self.schema;
        let mut tables: Vec<Cow<'_, crate::schema::Table>> =
            [crate::schema::VERSION_TABLE, crate::schema::LOADS_TABLE]
                .iter()
                .filter_map(|name| schema.table(name).map(Cow::Borrowed))
                .collect();
        tables.push(match schema.table(STATE_TABLE) {
            Some(table) => Cow::Borrowed(table),
            None => Cow::Owned(pipeline_state_table()),
        });
        tables.extend(
            self.manifest
                .tables
                .iter()
                .filter_map(|data| schema.table(&data.name).map(Cow::Borrowed)),
        );
        tables
    }

    /// The package's tables of the chain of root table `root`: the root and its child tables
    /// that have rows, parents before children.
    pub fn chain(&self, root: &str) -> Vec<&NormalizedTable> {
        self.manifest
            .tables
            .iter()
            .filter(|t| {
                self.schema
                    .table(&t.name)
                    .is_some_and(|table| self.schema.root_table(table).name == root)
            })
            .collect()
    }

    /// The write disposition that applies to root table `root` (the schema's, else the
    /// package's).
    pub fn disposition(&self, root: &RootTable) -> WriteDisposition {
        self.schema
            .table(&root.name)
            .and_then(|t| t.write_disposition)
            .unwrap_or(root.write_disposition)
    }

    /// Total rows per table.
    pub fn row_counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.manifest
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.rows))
    }
}

/// Normalizes the extracted package `load_id` into a normalized package, extending `schema`.
/// The evolved schema is saved to the working directory before the package is moved into
/// `normalized/`; the extracted package is removed last. Names follow `naming` and NUL
/// characters `nul` (both what the destination can store). Rows written are counted in
/// `progress`.
pub fn normalize(
    wd: &WorkingDir,
    load_id: &str,
    schema: Schema,
    naming: Box<dyn NamingConvention>,
    nul: NulPolicy,
    progress: &Progress,
) -> Result<NormalizedPackage, PackageError> {
    let src = wd.package_dir(Stage::Extracted, load_id);
    let extracted: ExtractedManifest = read_json(&src.join("manifest.json"))?;
    let feed = Sealed::new(&extracted, &src);
    normalize_feed(wd, load_id, feed, schema, naming, nul, progress)
}

/// [`normalize`] of the package an [`ExtractWriter`](super::ExtractWriter) is writing, from
/// its [`ExtractEvent`]s ([`ExtractWriter::follow`](super::ExtractWriter::follow)): files are
/// normalized as the extract closes them, so a run normalizes while it extracts. The result
/// is the package [`normalize`] would write from the sealed extract; it is sealed only after
/// the extract was, so a crash at any point leaves the extracted package to normalize again.
/// An extract that ends without its commit is [`PackageError::ExtractAbandoned`], and nothing
/// is left.
pub fn normalize_following(
    wd: &WorkingDir,
    load_id: &str,
    events: mpsc::Receiver<ExtractEvent>,
    schema: Schema,
    naming: Box<dyn NamingConvention>,
    nul: NulPolicy,
    progress: &Progress,
) -> Result<NormalizedPackage, PackageError> {
    let feed = Following::new(events, wd.package_dir(Stage::Extracted, load_id));
    normalize_feed(wd, load_id, feed, schema, naming, nul, progress)
}

/// Writes the package `feed` reads into `tmp`, seals it into `normalized/` and removes its
/// extracted package; a package that failed leaves nothing.
fn normalize_feed(
    wd: &WorkingDir,
    load_id: &str,
    mut feed: impl Feed,
    schema: Schema,
    naming: Box<dyn NamingConvention>,
    nul: NulPolicy,
    progress: &Progress,
) -> Result<NormalizedPackage, PackageError> {
    let tmp = wd.tmp_dir(Stage::Normalized, load_id);
    fs::create_dir_all(&tmp).map_err(|e| PackageError::io(&tmp, e))?;
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get()) > 1;
    let result = write_package(
        wd, &mut feed, &tmp, load_id, schema, naming, nul, parallel, progress,
    );
    let tmp = tmp.as_path();
    let package = match result {
        Ok(package) => package,
        Err(e) => {
            let _ = fs::remove_dir_all(tmp);
            return Err(e);
        }
    };
    let dst = wd.package_dir(Stage::Normalized, load_id);
    seal(tmp, &dst)?;
    wd.delete(Stage::Extracted, load_id)?;
    Ok(NormalizedPackage {
        dir: dst,
        ..package
    })
}

// the package's places, what it is normalized into and how: one call site and one test
#[allow(clippy::too_many_arguments)]
fn write_package(
    wd: &WorkingDir,
    feed: &mut dyn Feed,
    tmp: &Path,
    load_id: &str,
    schema: Schema,
    naming: Box<dyn NamingConvention>,
    nul: NulPolicy,
    parallel: bool,
    progress: &Progress,
) -> Result<NormalizedPackage, PackageError> {
    let mut normalizer = RelationalNormalizer::with_naming(schema, load_id, naming);
    normalizer.set_nul_policy(nul);
    let mut roots: Vec<RootTable> = Vec::new();
    // Arrow IPC is written on a thread of its own, in the order chunks are made
    let (tables, changes, warnings, items) = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<NormalizedChunk>(2);
        let writer = scope.spawn(move || {
            let mut out = TableFiles::new(tmp, progress);
            for chunk in rx {
                out.write(chunk)?;
            }
            out.finish()
        });
        let sink = Sink { tx, dir: tmp };
        let normalized =
            normalize_resources(&mut normalizer, load_id, feed, &sink, &mut roots, parallel)
                .and_then(|items| {
                    sink.write(flush(&mut normalizer, load_id)?)?;
                    Ok(items)
                });
        drop(sink);
        let written = writer.join().unwrap_or_else(|_| {
            Err(PackageError::Internal(
                "the package writer thread panicked".into(),
            ))
        });
        // a failed write stops the normalizer too: the writer's error is the cause
        let (tables, changes, warnings) = written?;
        Ok::<_, PackageError>((tables, changes, warnings, normalized?))
    })?;
    // root tables no resource names (quarantine tables) are appended to
    for table in &tables {
        let is_root = normalizer
            .schema()
            .table(&table.name)
            .is_some_and(|t| t.parent.is_none());
        if is_root && !roots.iter().any(|r| r.name == table.name) {
            roots.push(RootTable {
                name: table.name.clone(),
                write_disposition: WriteDisposition::Append,
                resource: table.name.clone(),
            });
        }
    }
    let extracted = feed.manifest()?;
    let mut schema = normalizer.into_schema();
    // a block may find a column only null that a later block creates: that is no news
    let mut warnings = warnings;
    warnings.retain(|w| match w {
        NormalizeWarning::NullOnlyColumn { table, column } => !schema
            .table(table)
            .and_then(|t| t.columns.get(column))
            .is_some_and(crate::schema::Column::is_complete),
        _ => true,
    });
    schema.mark_seen_data(tables.iter().map(|t| t.name.as_str()));
    if extracted.state.is_some() && schema.table(STATE_TABLE).is_none() {
        let mut table = pipeline_state_table();
        table.normalizer.seen_data = Some(true);
        schema.tables.insert(STATE_TABLE.to_string(), table);
    }
    schema.bump_version();
    let manifest = NormalizedManifest {
        load_id: load_id.to_string(),
        schema_name: schema.name.clone(),
        roots,
        tables,
        changes,
        warnings,
        items,
        state: extracted.state.clone(),
        pipeline_state: extracted.pipeline_state.clone(),
        drop_tables: extracted.drop_tables.clone(),
    };
    write_json(&tmp.join("schema.json"), &schema)?;
    write_json(&tmp.join("manifest.json"), &manifest)?;
    // The pipeline's schema only grows, so saving it before the package is sealed is safe:
    // if we die now, the extracted package is normalized again into the same schema.
    write_atomic(
        &wd.schema_path(&schema.name),
        schema.to_json_pretty().as_bytes(),
    )?;
    Ok(NormalizedPackage {
        dir: tmp.to_path_buf(),
        manifest,
        schema,
    })
}

/// Normalizes every resource file of the extracted package into `sink`; returns the items.
fn normalize_resources(
    normalizer: &mut RelationalNormalizer,
    load_id: &str,
    feed: &mut dyn Feed,
    sink: &Sink<'_>,
    roots: &mut Vec<RootTable>,
    parallel: bool,
) -> Result<u64, PackageError> {
    let mut items = 0u64;
    let mut reported_null_only = HashSet::new();
    while let Some(resource) = feed.next_entry()? {
        let table = normalizer.apply_hints(&resource.table, &resource.hints);
        normalizer.begin_resource(&resource.name);
        let write_disposition = normalizer
            .schema()
            .table(&table)
            .and_then(|t| t.write_disposition)
            .unwrap_or_default();
        if !roots.iter().any(|r| r.name == table) {
            roots.push(RootTable {
                name: table.clone(),
                write_disposition,
                resource: resource.name.clone(),
            });
        }
        let mut item_in_resource = 0u64;
        while let Some((name, path, file)) = feed.next_file()? {
            if name.ends_with(".arrow") {
                let reader = StreamReader::try_new(BufReader::with_capacity(1 << 20, file), None)
                    .map_err(|source| PackageError::Arrow {
                    path: path.clone(),
                    source,
                })?;
                for batch in reader {
                    let batch = batch.map_err(|source| PackageError::Arrow {
                        path: path.clone(),
                        source,
                    })?;
                    for row in 0..batch.num_rows() {
                        item_in_resource += 1;
                        let failed = |source: NormalizeError| PackageError::Normalize {
                            load_id: load_id.to_string(),
                            resource: resource.name.clone(),
                            source: Box::new(source),
                        };
                        let item = row_item(&batch, row).map_err(|reason| {
                            failed(NormalizeError::Unsupported {
                                table: table.clone(),
                                item: item_in_resource,
                                reason,
                            })
                        })?;
                        normalizer.push(&table, &item).map_err(failed)?;
                        if normalizer.buffered_rows() >= FLUSH_ROWS {
                            sink.write(flush(normalizer, load_id)?)?;
                        }
                    }
                }
                continue;
            }
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut blocks = JsonBlocks {
                normalizer: &mut *normalizer,
                table: &table,
                resource: &resource.name,
                load_id,
                sink,
                reported_null_only: &mut reported_null_only,
                items: &mut item_in_resource,
            };
            blocks.normalize(&mut reader, &path, parallel)?;
        }
        items += item_in_resource;
    }
    Ok(items)
}

/// The normalizer's end of the package writer thread.
struct Sink<'a> {
    tx: mpsc::SyncSender<NormalizedChunk>,
    dir: &'a Path,
}

impl Sink<'_> {
    fn write(&self, chunk: NormalizedChunk) -> Result<(), PackageError> {
        self.tx.send(chunk).map_err(|_| {
            PackageError::io(
                self.dir,
                std::io::Error::other("the package writer thread stopped"),
            )
        })
    }
}

fn flush(
    normalizer: &mut RelationalNormalizer,
    load_id: &str,
) -> Result<NormalizedChunk, PackageError> {
    normalizer.flush().map_err(|source| PackageError::Flush {
        load_id: load_id.to_string(),
        source: Box::new(source),
    })
}

/// Items per block of JSON lines. With more than one core, the block after the current one is
/// normalized beside it by a fork of the normalizer.
const BLOCK_ITEMS: usize = 10_000;

/// Bytes per block at most, whatever the items' size: with two blocks in flight, memory stays
/// bounded for large items too.
const BLOCK_BYTES: usize = 4 << 20;

/// JSON lines of one block and where each ends.
#[derive(Default)]
struct Block {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Block {
    /// The next block of `reader`, `None` at its end.
    fn read(reader: &mut impl BufRead, path: &Path) -> Result<Option<Block>, PackageError> {
        let mut block = Block::default();
        while block.ends.len() < BLOCK_ITEMS && block.bytes.len() < BLOCK_BYTES {
            let n = reader
                .read_until(b'\n', &mut block.bytes)
                .map_err(|e| PackageError::io(path, e))?;
            if n == 0 {
                break;
            }
            block.ends.push(block.bytes.len());
        }
        Ok((!block.ends.is_empty()).then_some(block))
    }

    fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    /// Pushes the block's items (an error names the failing item's position itself).
    fn push(
        &self,
        normalizer: &mut RelationalNormalizer,
        table: &str,
    ) -> Result<(), NormalizeError> {
        let mut start = 0;
        for &end in &self.ends {
            normalizer.push_json(table, &self.bytes[start..end])?;
            start = end;
        }
        Ok(())
    }
}

/// A fork's work: it normalizes `block` and flushes, or says it could not.
type ForkJob = (RelationalNormalizer, Block);
type ForkDone = (RelationalNormalizer, Block, Option<NormalizedChunk>);

/// Normalizes the JSON lines of one extracted file, block by block, on two cores when there
/// are two. The main normalizer takes the blocks in order; the one after it goes to a fork
/// of the normalizer on another thread. A fork's output is used only when the fork left the
/// schema as it found it: then every value of its block had a column, table and type in the
/// schema before the block, and the main normalizer would have produced the same rows.
/// Otherwise (the block brings new columns or types, or fails) the main normalizer does the
/// block again itself. So the package is exactly what one normalizer would write, and since
/// schemas settle after the first rows, almost every block is done in parallel.
struct JsonBlocks<'a, 's> {
    normalizer: &'a mut RelationalNormalizer,
    table: &'a str,
    resource: &'a str,
    load_id: &'a str,
    sink: &'a Sink<'s>,
    /// Null-only columns already reported: main and fork report each once.
    reported_null_only: &'a mut HashSet<(String, String)>,
    /// Items of the resource done so far (positions in errors count from 1).
    items: &'a mut u64,
}

impl JsonBlocks<'_, '_> {
    fn normalize(
        &mut self,
        reader: &mut impl BufRead,
        path: &Path,
        parallel: bool,
    ) -> Result<(), PackageError> {
        std::thread::scope(|scope| {
            let (jobs, job_rx) = mpsc::sync_channel::<ForkJob>(1);
            let (done_tx, done) = mpsc::sync_channel::<ForkDone>(1);
            let table = self.table;
            if parallel {
                scope.spawn(move || {
                    for (mut fork, block) in job_rx {
                        let chunk = match block.push(&mut fork, table) {
                            Ok(()) => fork.flush().ok(),
                            Err(_) => None,
                        };
                        if done_tx.send((fork, block, chunk)).is_err() {
                            break;
                        }
                    }
                });
            }
            let result = self.blocks(reader, path, parallel, &jobs, &done);
            drop(jobs);
            result
        })
    }

    fn blocks(
        &mut self,
        reader: &mut impl BufRead,
        path: &Path,
        parallel: bool,
        jobs: &mpsc::SyncSender<ForkJob>,
        done: &mpsc::Receiver<ForkDone>,
    ) -> Result<(), PackageError> {
        while let Some(first) = Block::read(reader, path)? {
            let mut forked = None;
            if parallel && let Some(second) = Block::read(reader, path)? {
                let fork = self.normalizer.fork(first.len());
                let before = fork.schema().clone();
                match jobs.send((fork, second)) {
                    Ok(()) => forked = Some(before),
                    // the fork's thread is gone: do the block here
                    Err(mpsc::SendError((_, second))) => {
                        self.main(&first)?;
                        self.main(&second)?;
                        continue;
                    }
                }
            }
            self.main(&first)?;
            let Some(before) = forked else { continue };
            let Ok((fork, second, chunk)) = done.recv() else {
                return Err(PackageError::Internal(format!(
                    "the second normalizer thread stopped while normalizing {}",
                    path.display()
                )));
            };
            match chunk {
                Some(chunk) if *fork.schema() == before => {
                    self.normalizer.follow(&fork);
                    *self.items += second.len();
                    self.write(chunk)?;
                }
                _ => self.main(&second)?,
            }
        }
        Ok(())
    }

    /// Normalizes `block` with the main normalizer and writes its rows.
    fn main(&mut self, block: &Block) -> Result<(), PackageError> {
        block
            .push(self.normalizer, self.table)
            .map_err(|source| PackageError::Normalize {
                load_id: self.load_id.to_string(),
                resource: self.resource.to_string(),
                source: Box::new(source),
            })?;
        *self.items += block.len();
        let chunk = flush(self.normalizer, self.load_id)?;
        self.write(chunk)
    }

    fn write(&mut self, mut chunk: NormalizedChunk) -> Result<(), PackageError> {
        let schema = self.normalizer.schema();
        let reported = &mut *self.reported_null_only;
        chunk.warnings.retain(|w| match w {
            NormalizeWarning::NullOnlyColumn { table, column } => {
                let exists = schema
                    .table(table)
                    .and_then(|t| t.columns.get(column))
                    .is_some_and(crate::schema::Column::is_complete);
                !exists && reported.insert((table.clone(), column.clone()))
            }
            _ => true,
        });
        self.sink.write(chunk)
    }
}

/// Open Arrow IPC writers, one per table; a table whose batch schema grows gets a new file.
struct TableFiles<'a> {
    dir: &'a Path,
    progress: &'a Progress,
    tables: Vec<NormalizedTable>,
    changes: Vec<SchemaChange>,
    warnings: Vec<NormalizeWarning>,
    writers: HashMap<String, (Arc<ArrowSchema>, OpenFile)>,
    syncer: Syncer,
}

/// A table's file being written.
struct OpenFile {
    writer: FileWriter<BufWriter<File>>,
    path: PathBuf,
    /// Bytes (about: the batches' Arrow sizes) since the last part sync.
    unsynced: u64,
}

impl<'a> TableFiles<'a> {
    fn new(dir: &'a Path, progress: &'a Progress) -> Self {
        TableFiles {
            dir,
            progress,
            tables: Vec::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
            writers: HashMap::new(),
            syncer: Syncer::new(dir),
        }
    }

    fn write(&mut self, chunk: NormalizedChunk) -> Result<(), PackageError> {
        self.changes.extend(chunk.changes);
        for warning in chunk.warnings {
            // contract discards are counted per kind over the whole package
            if !self.warnings.iter_mut().any(|w| w.absorb(&warning)) {
                self.warnings.push(warning);
            }
        }
        for mut table_batch in chunk.batches {
            // a fork's batch lacks the columns its block had no value for: padded with nulls,
            // it goes on in the open file instead of starting a new one
            if let Some((open, _)) = self.writers.get(&table_batch.table)
                && let Some(padded) = pad(&table_batch.batch, open)
            {
                table_batch.batch = padded;
            }
            let schema = table_batch.batch.schema();
            let index = match self.tables.iter().position(|t| t.name == table_batch.table) {
                Some(index) => index,
                None => {
                    self.tables.push(NormalizedTable {
                        name: table_batch.table.clone(),
                        files: Vec::new(),
                        rows: 0,
                    });
                    self.tables.len() - 1
                }
            };
            let same_schema = self
                .writers
                .get(&table_batch.table)
                .is_some_and(|(s, _)| *s == schema);
            if !same_schema {
                if let Some((_, open)) = self.writers.remove(&table_batch.table) {
                    close(open, &mut self.syncer)?;
                }
                let table = &mut self.tables[index];
                let name = format!("t{index}.{}.arrow", table.files.len());
                let path = self.dir.join(&name);
                let file = File::create(&path).map_err(|e| PackageError::io(&path, e))?;
                let writer = FileWriter::try_new(BufWriter::with_capacity(1 << 20, file), &schema)
                    .map_err(|source| PackageError::Arrow {
                        path: path.clone(),
                        source,
                    })?;
                table.files.push(name);
                let open = OpenFile {
                    writer,
                    path,
                    unsynced: 0,
                };
                self.writers
                    .insert(table_batch.table.clone(), (schema.clone(), open));
            }
            if let Some((_, open)) = self.writers.get_mut(&table_batch.table) {
                open.writer
                    .write(&table_batch.batch)
                    .map_err(|source| PackageError::Arrow {
                        path: open.path.clone(),
                        source,
                    })?;
                open.unsynced += table_batch.batch.get_array_memory_size() as u64;
                self.syncer
                    .sync_part(open.writer.get_mut(), &open.path, &mut open.unsynced)?;
            }
            let rows = table_batch.batch.num_rows() as u64;
            self.tables[index].rows += rows;
            self.progress.normalized(&table_batch.table, rows);
        }
        Ok(())
    }

    /// Closes the files; the tables written, the schema changes and the warnings.
    #[allow(clippy::type_complexity)]
    fn finish(
        mut self,
    ) -> Result<
        (
            Vec<NormalizedTable>,
            Vec<SchemaChange>,
            Vec<NormalizeWarning>,
        ),
        PackageError,
    > {
        for (_, (_, open)) in self.writers.drain() {
            close(open, &mut self.syncer)?;
        }
        self.syncer.finish()?;
        Ok((self.tables, self.changes, self.warnings))
    }
}

/// `batch` with the columns of `schema`, those it lacks all null, when every column it has is
/// in `schema` with the same type; `None` otherwise (or when nothing is to pad).
fn pad(batch: &RecordBatch, schema: &Arc<ArrowSchema>) -> Option<RecordBatch> {
    let own = batch.schema();
    if own == *schema {
        return None;
    }
    let fits = own.fields().iter().all(|f| {
        schema
            .field_with_name(f.name())
            .is_ok_and(|g| g.data_type() == f.data_type() && g.metadata() == f.metadata())
    });
    if !fits {
        return None;
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| match own.index_of(field.name()) {
            Ok(i) => Arc::clone(batch.column(i)),
            Err(_) => arrow_array::new_null_array(field.data_type(), batch.num_rows()),
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), columns).ok()
}

/// Finishes a table's file and hands it to `syncer`.
fn close(open: OpenFile, syncer: &mut Syncer) -> Result<(), PackageError> {
    let OpenFile {
        mut writer, path, ..
    } = open;
    let arrow = |source| PackageError::Arrow {
        path: path.clone(),
        source,
    };
    writer.finish().map_err(arrow)?;
    let mut inner = writer.into_inner().map_err(arrow)?;
    inner.flush().map_err(|e| PackageError::io(&path, e))?;
    let file = inner
        .into_inner()
        .map_err(|e| PackageError::io(&path, e.into_error()))?;
    syncer.sync(file, path);
    Ok(())
}

#[cfg(test)]
mod tests;
