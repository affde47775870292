//! Writing an extracted package: each resource's items as JSON lines (or Arrow IPC streams
//! for Arrow sources such as Parquet) plus its table hints.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

/// What an [`ExtractWriter`] tells a normalizer that follows it
/// ([`crate::package::normalize_following`]): entries as they begin, files as they are
/// complete (opened for reading: the handle stays valid when the package directory moves).
#[derive(Debug)]
pub enum ExtractEvent {
    /// Manifest entry `index` begins (a resource, or a table its items name); its `files`
    /// come as [`ExtractEvent::File`]s.
    Entry {
        /// The entry's place in the manifest.
        index: usize,
        /// The entry, without files.
        resource: ExtractedResource,
    },
    /// A file of entry `index` is complete.
    File {
        /// The entry.
        index: usize,
        /// The file's place in the entry's `files`.
        position: usize,
        /// Its name in the package directory.
        name: String,
        /// The file, opened for reading.
        file: File,
    },
    /// Every entry before `until` has all its files.
    Complete {
        /// The first entry that may have more.
        until: usize,
    },
    /// The package is sealed in `extracted/`.
    Committed(ExtractedManifest),
}

/// Builds an extracted package in the working directory's `tmp` and moves it into
/// `extracted/` on [`ExtractWriter::commit`]. Dropped without a commit, it leaves nothing.
///
/// A resource is one manifest entry per root table it writes: its own table first, then one
/// per table its items name ([`ExtractWriter::write_item_to`]), each with the resource's hints
/// and files of its own, so items of interleaved tables never cut each other's files short.
pub struct ExtractWriter {
    tmp: PathBuf,
    dst: PathBuf,
    manifest: ExtractedManifest,
    /// The current resource's open JSON lines files, one per table.
    json: Vec<OpenLines>,
    /// The manifest entry of the current resource's own table; its other tables follow it.
    resource_start: usize,
    syncer: Syncer,
    /// The open Arrow stream of the resource, the schema its batches share, and the file's
    /// place in the entry's files.
    arrow: Option<(StreamWriter<BufWriter<File>>, SchemaRef, usize)>,
    committed: bool,
    /// A normalizer following the extract ([`ExtractWriter::follow`]).
    follower: Option<mpsc::Sender<ExtractEvent>>,
}

/// A JSON lines file being written for one manifest entry.
struct OpenLines {
    entry: usize,
    /// The file's place in the entry's files.
    position: usize,
    file: BufWriter<File>,
    path: PathBuf,
    items: u64,
    /// Bytes written since the last part sync.
    unsynced: u64,
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
            json: Vec::new(),
            resource_start: 0,
            syncer,
            arrow: None,
            committed: false,
            follower: None,
        })
    }

    /// Tells `events` about each entry and file as it is written, for a normalizer that
    /// follows the extract; a follower that stops listening does not stop the extract.
    pub fn follow(&mut self, events: mpsc::Sender<ExtractEvent>) {
        self.follower = Some(events);
    }

    fn tell(&self, event: ExtractEvent) {
        if let Some(follower) = &self.follower {
            let _ = follower.send(event);
        }
    }

    /// Tells the follower that a file is complete: opened for reading before the package
    /// directory moves.
    fn tell_file(&self, index: usize, position: usize, path: &Path) -> Result<(), PackageError> {
        if self.follower.is_none() {
            return Ok(());
        }
        let file = File::open(path).map_err(|e| PackageError::io(path, e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.tell(ExtractEvent::File {
            index,
            position,
            name,
            file,
        });
        Ok(())
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
        self.resource_start = self.manifest.resources.len();
        self.tell(ExtractEvent::Complete {
            until: self.resource_start,
        });
        let resource = ExtractedResource {
            name: name.to_string(),
            table: table.to_string(),
            hints,
            files: Vec::new(),
            items: 0,
        };
        self.tell(ExtractEvent::Entry {
            index: self.resource_start,
            resource: resource.clone(),
        });
        self.manifest.resources.push(resource);
        Ok(())
    }

    /// Appends one item of the resource's table, given as one JSON document without a newline
    /// inside it.
    pub fn write_item(&mut self, json: &[u8]) -> Result<(), PackageError> {
        if self.manifest.resources.is_empty() {
            return Err(PackageError::NoResource);
        }
        self.write_to(self.resource_start, json)
    }

    /// Appends one item of the current resource that goes to root table `table` (a dynamic
    /// table name), with the resource's hints.
    pub fn write_item_to(&mut self, table: &str, json: &[u8]) -> Result<(), PackageError> {
        let Some(own) = self.manifest.resources.get(self.resource_start) else {
            return Err(PackageError::NoResource);
        };
        let found = self.manifest.resources[self.resource_start..]
            .iter()
            .position(|r| r.table == table);
        let entry = match found {
            Some(offset) => self.resource_start + offset,
            None => {
                let entry = ExtractedResource {
                    name: own.name.clone(),
                    table: table.to_string(),
                    hints: own.hints.clone(),
                    files: Vec::new(),
                    items: 0,
                };
                self.tell(ExtractEvent::Entry {
                    index: self.manifest.resources.len(),
                    resource: entry.clone(),
                });
                self.manifest.resources.push(entry);
                self.manifest.resources.len() - 1
            }
        };
        self.write_to(entry, json)
    }

    fn write_to(&mut self, entry: usize, json: &[u8]) -> Result<(), PackageError> {
        let open = match self.json.iter().position(|f| f.entry == entry) {
            Some(at) if self.json[at].items < ITEMS_PER_FILE => at,
            found => {
                if let Some(at) = found {
                    let full = self.json.swap_remove(at);
                    self.close_lines(full)?;
                }
                self.open_lines(entry)?
            }
        };
        let lines = &mut self.json[open];
        if let Err(e) = lines
            .file
            .write_all(json)
            .and_then(|()| lines.file.write_all(b"\n"))
        {
            return Err(PackageError::io(&lines.path, e));
        }
        lines.items += 1;
        lines.unsynced += json.len() as u64 + 1;
        if lines.unsynced >= super::sync::SYNC_EVERY_BYTES {
            self.syncer
                .sync_part(&mut lines.file, &lines.path, &mut lines.unsynced)?;
        }
        if let Some(resource) = self.manifest.resources.get_mut(entry) {
            resource.items += 1;
        }
        Ok(())
    }

    /// Appends a batch of rows from an Arrow source; the rows stay Arrow until normalized. A
    /// batch with another schema than the previous one starts a new file.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), PackageError> {
        let same = self
            .arrow
            .as_ref()
            .is_some_and(|(_, schema, _)| *schema == batch.schema());
        if !same {
            self.close_file()?;
            let index = self.resource_start + 1;
            let Some(resource) = self.manifest.resources.get_mut(self.resource_start) else {
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
            let position = resource.files.len();
            resource.files.push(name);
            self.arrow = Some((writer, batch.schema(), position));
        }
        let (Some((writer, _, _)), Some(resource)) = (
            self.arrow.as_mut(),
            self.manifest.resources.get_mut(self.resource_start),
        ) else {
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

    /// Opens the next JSON lines file of manifest entry `entry`; its index in `self.json`.
    fn open_lines(&mut self, entry: usize) -> Result<usize, PackageError> {
        let Some(resource) = self.manifest.resources.get_mut(entry) else {
            return Err(PackageError::NoResource);
        };
        let position = resource.files.len();
        let name = format!("r{}.{}.jsonl", entry + 1, position);
        let path = self.tmp.join(&name);
        let file = File::create(&path).map_err(|e| PackageError::io(&path, e))?;
        resource.files.push(name);
        self.json.push(OpenLines {
            entry,
            position,
            file: BufWriter::with_capacity(1 << 20, file),
            path,
            items: 0,
            unsynced: 0,
        });
        Ok(self.json.len() - 1)
    }

    fn close_lines(&mut self, lines: OpenLines) -> Result<(), PackageError> {
        let file = lines
            .file
            .into_inner()
            .map_err(|e| PackageError::io(&lines.path, e.into_error()))?;
        self.tell_file(lines.entry, lines.position, &lines.path)?;
        self.syncer.sync(file, lines.path);
        Ok(())
    }

    fn close_file(&mut self) -> Result<(), PackageError> {
        if let Some((mut writer, _, position)) = self.arrow.take() {
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
            if let Some(name) = self
                .manifest
                .resources
                .get(self.resource_start)
                .and_then(|r| r.files.get(position))
            {
                let path = self.tmp.join(name);
                self.tell_file(self.resource_start, position, &path)?;
            }
            self.syncer.sync(file, self.tmp.clone());
        }
        for lines in std::mem::take(&mut self.json) {
            self.close_lines(lines)?;
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
        self.tell(ExtractEvent::Committed(self.manifest.clone()));
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
