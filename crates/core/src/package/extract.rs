//! Writing an extracted package: each resource's items as JSON lines (or Arrow IPC streams
//! for Arrow sources such as Parquet) plus its table hints.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

use super::sync::Syncer;
use super::{ITEMS_PER_FILE, Stage, WorkingDir, seal, write_json};
use crate::error::PackageError;
use crate::schema::TableHints;
use crate::state::{PipelineState, StateRow};

/// `manifest.json` of an extracted package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractedManifest {
    /// The package's load id.
    pub load_id: String,
    /// The schema the package is normalized into.
    pub schema_name: String,
    /// Resources in extraction order.
    pub resources: Vec<ExtractedResource>,
    /// A pipeline state row to load with the package, when the state changed.
    #[serde(default)]
    pub state: Option<StateRow>,
    /// The whole pipeline state after this extract (`_local` included); it becomes the
    /// working directory's state once the package is loaded, not before, so a package that
    /// is dropped or never loaded never advances the state.
    #[serde(default)]
    pub pipeline_state: Option<PipelineState>,
    /// Tables the package drops in the destination (children before parents), in the same
    /// transaction as its state and schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_tables: Vec<String>,
}

/// One resource's part of an extracted package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractedResource {
    /// Resource name.
    pub name: String,
    /// Root table (a source name, normalized later).
    pub table: String,
    /// Hints for the root table.
    pub hints: TableHints,
    /// Item files, relative to the package directory.
    pub files: Vec<String>,
    /// Items written.
    pub items: u64,
}

/// Builds an extracted package in the working directory's `tmp` and moves it into
/// `extracted/` on [`ExtractWriter::commit`]. Dropped without a commit, it leaves nothing.
pub struct ExtractWriter {
    tmp: PathBuf,
    dst: PathBuf,
    manifest: ExtractedManifest,
    file: Option<BufWriter<File>>,
    /// Bytes written to `file` since its last part sync.
    unsynced: u64,
    syncer: Syncer,
    /// The open Arrow stream of the resource and the schema its batches share.
    arrow: Option<(StreamWriter<BufWriter<File>>, SchemaRef)>,
    items_in_file: u64,
    committed: bool,
}

impl ExtractWriter {
    /// Starts a package for `load_id`.
    pub fn begin(wd: &WorkingDir, load_id: &str, schema_name: &str) -> Result<Self, PackageError> {
        let tmp = wd.tmp_dir(Stage::Extracted, load_id);
        fs::create_dir_all(&tmp).map_err(|e| PackageError::io(&tmp, e))?;
        let syncer = Syncer::new(&tmp);
        Ok(ExtractWriter {
            tmp,
            dst: wd.package_dir(Stage::Extracted, load_id),
            manifest: ExtractedManifest {
                load_id: load_id.to_string(),
                schema_name: schema_name.to_string(),
                resources: Vec::new(),
                state: None,
                pipeline_state: None,
                drop_tables: Vec::new(),
            },
            file: None,
            unsynced: 0,
            syncer,
            arrow: None,
            items_in_file: 0,
            committed: false,
        })
    }

    /// The load id of the package being written.
    pub fn load_id(&self) -> &str {
        &self.manifest.load_id
    }

    /// Starts the items of a resource loading into `table` with `hints`.
    pub fn begin_resource(
        &mut self,
        name: &str,
        table: &str,
        hints: TableHints,
    ) -> Result<(), PackageError> {
        self.close_file()?;
        self.manifest.resources.push(ExtractedResource {
            name: name.to_string(),
            table: table.to_string(),
            hints,
            files: Vec::new(),
            items: 0,
        });
        Ok(())
    }

    /// Appends one item, given as one JSON document without a newline inside it.
    pub fn write_item(&mut self, json: &[u8]) -> Result<(), PackageError> {
        if self.file.is_none() || self.items_in_file >= ITEMS_PER_FILE {
            self.open_file()?;
        }
        let (Some(file), Some(resource)) = (self.file.as_mut(), self.manifest.resources.last_mut())
        else {
            return Err(PackageError::NoResource);
        };
        if let Err(e) = file.write_all(json).and_then(|()| file.write_all(b"\n")) {
            return Err(PackageError::io(&self.current_path(), e));
        }
        resource.items += 1;
        self.items_in_file += 1;
        self.unsynced += json.len() as u64 + 1;
        if self.unsynced >= super::sync::SYNC_EVERY_BYTES {
            let path = self.current_path();
            if let Some(file) = self.file.as_mut() {
                self.syncer.sync_part(file, &path, &mut self.unsynced)?;
            }
        }
        Ok(())
    }

    /// Appends a batch of rows from an Arrow source; the rows stay Arrow until normalized. A
    /// batch with another schema than the previous one starts a new file.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), PackageError> {
        let same = self
            .arrow
            .as_ref()
            .is_some_and(|(_, schema)| *schema == batch.schema());
        if !same {
            self.close_file()?;
            let index = self.manifest.resources.len();
            let Some(resource) = self.manifest.resources.last_mut() else {
                return Err(PackageError::NoResource);
            };
            let name = format!("r{index}.{}.arrow", resource.files.len());
            let path = self.tmp.join(&name);
            let file = File::create(&path).map_err(|e| PackageError::io(&path, e))?;
            let writer =
                StreamWriter::try_new(BufWriter::with_capacity(1 << 20, file), &batch.schema())
                    .map_err(|source| PackageError::Arrow {
                        path: path.clone(),
                        source,
                    })?;
            resource.files.push(name);
            self.arrow = Some((writer, batch.schema()));
        }
        let (Some((writer, _)), Some(resource)) =
            (self.arrow.as_mut(), self.manifest.resources.last_mut())
        else {
            return Err(PackageError::NoResource);
        };
        writer.write(batch).map_err(|source| PackageError::Arrow {
            path: self.tmp.clone(),
            source,
        })?;
        resource.items += batch.num_rows() as u64;
        Ok(())
    }

    /// Adds a pipeline state row to load with the package.
    pub fn set_state(&mut self, state: StateRow) {
        self.manifest.state = Some(state);
    }

    /// Drops `tables` in the destination when the package is loaded.
    pub fn set_drop_tables(&mut self, tables: Vec<String>) {
        self.manifest.drop_tables = tables;
    }

    /// Records the whole pipeline state after this extract.
    pub fn set_pipeline_state(&mut self, state: PipelineState) {
        self.manifest.pipeline_state = Some(state);
    }

    /// Items written so far, over all resources.
    pub fn items(&self) -> u64 {
        self.manifest.resources.iter().map(|r| r.items).sum()
    }

    /// The path of the resource's newest file.
    fn current_path(&self) -> PathBuf {
        let name = self
            .manifest
            .resources
            .last()
            .and_then(|r| r.files.last())
            .map_or("", String::as_str);
        self.tmp.join(name)
    }

    fn open_file(&mut self) -> Result<(), PackageError> {
        self.close_file()?;
        let index = self.manifest.resources.len();
        let Some(resource) = self.manifest.resources.last_mut() else {
            return Err(PackageError::NoResource);
        };
        let name = format!("r{index}.{}.jsonl", resource.files.len());
        let path = self.tmp.join(&name);
        let file = File::create(&path).map_err(|e| PackageError::io(&path, e))?;
        resource.files.push(name);
        self.file = Some(BufWriter::with_capacity(1 << 20, file));
        self.items_in_file = 0;
        Ok(())
    }

    fn close_file(&mut self) -> Result<(), PackageError> {
        if let Some((mut writer, _)) = self.arrow.take() {
            writer.finish().map_err(|source| PackageError::Arrow {
                path: self.tmp.clone(),
                source,
            })?;
            let file = writer
                .into_inner()
                .map_err(|source| PackageError::Arrow {
                    path: self.tmp.clone(),
                    source,
                })?
                .into_inner()
                .map_err(|e| PackageError::io(&self.tmp, e.into_error()))?;
            self.syncer.sync(file, self.tmp.clone());
        }
        if let Some(file) = self.file.take() {
            let path = self.current_path();
            let file = file
                .into_inner()
                .map_err(|e| PackageError::io(&path, e.into_error()))?;
            self.syncer.sync(file, path);
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Finishes the package: files synced (in the background as they were written; here
    /// waited for), manifest written, directory moved into
    /// `extracted/`. Returns the manifest.
    pub fn commit(mut self) -> Result<ExtractedManifest, PackageError> {
        self.close_file()?;
        self.syncer.finish()?;
        write_json(&self.tmp.join("manifest.json"), &self.manifest)?;
        seal(&self.tmp, &self.dst)?;
        self.committed = true;
        Ok(self.manifest.clone())
    }
}

impl Drop for ExtractWriter {
    fn drop(&mut self) {
        if !self.committed {
            // an abandoned extract leaves nothing behind; `WorkingDir::open` catches the rest
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}
