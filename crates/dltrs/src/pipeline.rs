//! [`Pipeline`]: extract → normalize → load, with load packages on disk between the steps.
//!
//! ```text
//! resources ──extract──▶ packages/extracted/<id> ──normalize──▶ packages/normalized/<id>
//!                                                                   │ load (one transaction)
//!                                                                   ▼
//!                                                  destination + packages/loaded/<id>
//! ```
//!
//! [`Pipeline::run`] first finishes packages an interrupted run left behind, then extracts,
//! normalizes and loads the new data.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use dltrs_core::destination::{Destination, DestinationError, LoadContext, LoadOutcome};
use dltrs_core::package::{
    ExtractEvent, ExtractWriter, NormalizedPackage, PackageFailure, RunLock, Stage, WorkingDir,
    new_load_id, normalize, normalize_following, write_atomic,
};
use dltrs_core::schema::{Schema, SchemaContract};
use dltrs_core::state::PipelineState;
use dltrs_core::{NulPolicy, PackageError};
use indexmap::IndexMap;
use serde_json::Value;

use crate::incremental::Decision;
use crate::inspect::{FailedPackage, PackageManifest, PackageReport, PackageSummary};
use crate::load_info::{JobInfo, LoadInfo, PackageInfo, PackageStatus};
use crate::progress::{Progress, Stage as RunStage};
use crate::resource::{Pulled, Resource};
use crate::run_error::{Error, Result};
use crate::secret::Secrets;
use crate::trace::{StepTrace, Trace};

/// Environment variable that overrides the default pipelines directory.
pub const PIPELINES_DIR_ENV: &str = "DLTRS_PIPELINES_DIR";

/// Builds a [`Pipeline`]; every setting has dlt's default.
pub struct PipelineBuilder {
    name: String,
    dataset_name: Option<String>,
    pipelines_dir: Option<PathBuf>,
    destination: Option<Box<dyn Destination>>,
    schema_contract: Option<SchemaContract>,
    progress: Option<Progress>,
    secrets: Option<Secrets>,
    lock_wait: Duration,
    remove_nul: bool,
}

impl PipelineBuilder {
    /// The dataset (DuckDB schema) to load into; `<pipeline_name>_dataset` by default.
    pub fn dataset_name(mut self, name: impl Into<String>) -> Self {
        self.dataset_name = Some(name.into());
        self
    }

    /// Where working directories live; `$DLTRS_PIPELINES_DIR` or `~/.dltrs/pipelines`
    /// by default.
    pub fn pipelines_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.pipelines_dir = Some(dir.into());
        self
    }

    /// The destination; a DuckDB file `<pipeline_name>.duckdb` in the current directory by
    /// default.
    pub fn destination(mut self, destination: impl Destination + 'static) -> Self {
        self.destination = Some(Box::new(destination));
        self
    }

    /// The contract of every run: applies where a resource's (and its source's) contract
    /// leaves an entity unset.
    pub fn schema_contract(mut self, contract: SchemaContract) -> Self {
        self.schema_contract = Some(contract);
        self
    }

    /// The counters the pipeline's runs count into (a display shows them, see
    /// [`crate::progress::ProgressReport`]); fresh ones by default.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The secrets the pipeline masks in what it shows (errors, load info, `trace.json`):
    /// a configuration's set ([`crate::config::Config::secrets`]); the secrets of the
    /// resources it loads are added to it.
    pub fn secrets(mut self, secrets: &Secrets) -> Self {
        self.secrets = Some(secrets.clone());
        self
    }

    /// How long a run (and each command that changes the pipeline) waits for another run of
    /// the same pipeline to end before it fails as busy; none by default. One run of a
    /// pipeline at a time: see [`Pipeline::run`].
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Removes NUL characters (`\0`) from text and JSON values for a destination that cannot
    /// store them (PostgreSQL), counting them in the load info's warnings, instead of failing
    /// the item at normalize (the default, which names it).
    pub fn remove_nul(mut self, remove: bool) -> Self {
        self.remove_nul = remove;
        self
    }

    /// Opens the pipeline's working directory (creating it). Nothing is locked yet: a run
    /// takes the working directory when it starts.
    pub fn build(self) -> Result<Pipeline> {
        if self.name.trim().is_empty() {
            return Err(Error::Config("the pipeline name is empty".into()));
        }
        if self.name.contains(['/', '\\']) || self.name == "." || self.name == ".." {
            return Err(Error::Config(format!(
                "pipeline name `{}` cannot be a directory name; use letters, digits and _",
                self.name
            )));
        }
        let pipelines_dir = match self.pipelines_dir {
            Some(dir) => dir,
            None => default_pipelines_dir()?,
        };
        let wd = WorkingDir::open(pipelines_dir.join(&self.name))?;
        let destination = match self.destination {
            Some(destination) => destination,
            None => crate::destinations::default_destination(&self.name)?,
        };
        Ok(Pipeline {
            dataset_name: self
                .dataset_name
                .unwrap_or_else(|| format!("{}_dataset", self.name)),
            name: self.name,
            wd,
            destination,
            restored: None,
            schema_contract: self.schema_contract.unwrap_or_default(),
            progress: self.progress.unwrap_or_default(),
            secrets: self.secrets.unwrap_or_default(),
            lock_wait: self.lock_wait,
            remove_nul: self.remove_nul,
            lock: None,
            interrupt: Interrupt::default(),
        })
    }
}

fn default_pipelines_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(PIPELINES_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(Path::new(&home).join(".dltrs").join("pipelines")),
        None => Err(Error::Config(format!(
            "no home directory to keep pipelines in: set {PIPELINES_DIR_ENV} or pass a \
             pipelines directory"
        ))),
    }
}

/// A pipeline: a name, a working directory, a destination and a dataset.
///
/// ```no_run
/// use dltrs::{Pipeline, Resource};
/// let mut pipeline = Pipeline::builder("shop").build()?;
/// let info = pipeline.run([Resource::new("orders", vec![serde_json::json!({"id": 1})])])?;
/// println!("{info}");
/// # Ok::<(), dltrs::Error>(())
/// ```
pub struct Pipeline {
    name: String,
    dataset_name: String,
    wd: WorkingDir,
    destination: Box<dyn Destination>,
    /// What [`Pipeline::restore_from_destination`] restored, reported by the next run.
    restored: Option<String>,
    /// The contract of every run (under the resources' own).
    schema_contract: SchemaContract,
    /// What the pipeline's runs count into.
    progress: Progress,
    /// What it masks in what it shows.
    secrets: Secrets,
    /// How long a run waits for another run of the pipeline to end.
    lock_wait: Duration,
    /// Remove NUL characters a destination cannot store instead of refusing the item.
    remove_nul: bool,
    /// The working directory's lock while a run (or a command that writes) holds it.
    lock: Option<RunLock>,
    /// Another thread's request to stop.
    interrupt: Interrupt,
}

/// Asks a pipeline's run to stop, from another thread (a binding's Ctrl-C handler). The run
/// stops where stopping loses nothing: before the next item of an extract (which then leaves
/// no package), before normalizing, before loading each package. A load in progress finishes
/// its transaction first. The request stays until [`Interrupt::clear`].
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Asks the run to stop.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Withdraws the request (before the next run).
    pub fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn is_interrupted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn check(&self, step: &'static str) -> Result<()> {
        match self.is_interrupted() {
            true => Err(Error::Interrupted { step }),
            false => Ok(()),
        }
    }
}

/// What [`Pipeline::extract`] wrote.
#[derive(Debug, Clone)]
pub struct ExtractInfo {
    /// The new package's load id (`None` when no resource was given).
    pub load_id: Option<String>,
    /// Items per resource.
    pub items: IndexMap<String, u64>,
}

impl Pipeline {
    /// A builder with dlt's defaults for everything but the name.
    pub fn builder(name: impl Into<String>) -> PipelineBuilder {
        PipelineBuilder {
            name: name.into(),
            dataset_name: None,
            pipelines_dir: None,
            destination: None,
            schema_contract: None,
            progress: None,
            secrets: None,
            lock_wait: Duration::ZERO,
            remove_nul: false,
        }
    }

    /// How long a run waits for another run of the pipeline to end (see
    /// [`PipelineBuilder::lock_wait`]).
    pub fn set_lock_wait(&mut self, wait: Duration) {
        self.lock_wait = wait;
    }

    /// The handle that asks this pipeline's runs to stop (see [`Interrupt`]).
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// The counters the pipeline's runs count into.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The secrets the pipeline masks in what it shows.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The pipeline name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dataset loaded into.
    pub fn dataset_name(&self) -> &str {
        &self.dataset_name
    }

    /// The working directory (packages, schema, state).
    pub fn working_dir(&self) -> &Path {
        self.wd.path()
    }

    /// The destination.
    pub fn destination(&self) -> &dyn Destination {
        self.destination.as_ref()
    }

    /// Name of the pipeline's schema (the pipeline name, as in dlt).
    pub fn schema_name(&self) -> &str {
        &self.name
    }

    /// The stored schema, or a new one before the first normalize.
    pub fn schema(&self) -> Result<Schema> {
        let path = self.wd.schema_path(self.schema_name());
        match std::fs::read_to_string(&path) {
            Ok(text) => Schema::from_json(&text).map_err(|e| Error::Stored {
                path,
                message: crate::report(&e),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Schema::new(self.schema_name()))
            }
            Err(e) => Err(Error::Stored {
                path,
                message: crate::report(&e),
            }),
        }
    }

    /// Makes `schema` the pipeline's schema (a reviewed, pinned schema from
    /// `dltrs schema export`): its tables count as existing for schema contracts, so with
    /// `freeze` the schema is a data contract that only it defines. Refused while packages are
    /// pending. Takes the run lock.
    pub fn import_schema(&mut self, schema: Schema) -> Result<()> {
        self.locked(|p| p.import_schema_locked(schema))
    }

    fn import_schema_locked(&mut self, mut schema: Schema) -> Result<()> {
        if !self.pending_packages()?.is_empty() {
            return Err(Error::Config(format!(
                "pipeline {} has packages not yet loaded; run it to finish them before importing a schema",
                self.name
            )));
        }
        schema.name = self.schema_name().to_string();
        for table in schema.tables.values_mut() {
            if !table.name.starts_with("_dlt") {
                table.normalizer.seen_data = Some(true);
            }
        }
        schema.bump_version();
        write_atomic(
            &self.wd.schema_path(self.schema_name()),
            schema.to_json_pretty().as_bytes(),
        )?;
        Ok(())
    }

    /// The pipeline state: the newest of the working directory's and of the packages not yet
    /// loaded (a fresh one before the first run).
    pub fn state(&self) -> Result<PipelineState> {
        let mut state = self.stored_state()?;
        for stage in [Stage::Extracted, Stage::Normalized] {
            for load_id in self.wd.packages_in(stage)? {
                let path = self.wd.package_dir(stage, &load_id).join("manifest.json");
                // a pending package whose state cannot be read would make the next extract
                // start from an older state and load its items twice: say so instead
                let damaged = |message: String| Error::Stored {
                    path: path.clone(),
                    message: format!(
                        "{message}; the package is damaged: abort it (dltrs pipeline {} abort-packages) or delete its directory",
                        self.name
                    ),
                };
                let bytes = std::fs::read(&path).map_err(|e| damaged(crate::report(&e)))?;
                let manifest: Value =
                    serde_json::from_slice(&bytes).map_err(|e| damaged(crate::report(&e)))?;
                let pending = match manifest.get("pipeline_state") {
                    None | Some(Value::Null) => None,
                    Some(doc) => Some(
                        serde_json::from_value::<PipelineState>(doc.clone())
                            .map_err(|e| damaged(crate::report(&e)))?,
                    ),
                };
                if let Some(pending) = pending
                    && pending.version() >= state.version()
                {
                    state = pending;
                }
            }
        }
        Ok(state)
    }

    /// The state of the working directory: what the destination has committed.
    fn stored_state(&self) -> Result<PipelineState> {
        let path = self.wd.state_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Stored {
                path,
                message: crate::report(&e),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PipelineState::new(
                &self.name,
                &self.dataset_name,
                self.schema_name(),
                self.destination.destination_type(),
                self.destination.destination_name(),
            )),
            Err(e) => Err(Error::Stored {
                path,
                message: crate::report(&e),
            }),
        }
    }

    fn save_state(&self, state: &PipelineState) -> Result<()> {
        let text = serde_json::to_vec_pretty(state).map_err(|e| Error::Stored {
            path: self.wd.state_path(),
            message: crate::report(&e),
        })?;
        Ok(write_atomic(&self.wd.state_path(), &text)?)
    }

    /// Restores the pipeline state and schema from the destination when the working directory
    /// has neither and no package is pending (a new machine, a wiped container), so the next
    /// extract continues where the last load stopped. Returns what was restored. `run` and
    /// `extract` call it.
    pub fn restore_from_destination(&mut self) -> Result<Option<String>> {
        self.locked(Self::restore_locked)
    }

    fn restore_locked(&mut self) -> Result<Option<String>> {
        let schema_path = self.wd.schema_path(self.schema_name());
        if self.wd.state_path().exists()
            || schema_path.exists()
            || !self.pending_packages()?.is_empty()
        {
            return Ok(None);
        }
        let Some(restored) = self
            .destination
            .restore(&self.dataset_name, &self.name, self.schema_name())
            .map_err(|source| Error::Restore { source })?
        else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        if let Some(text) = &restored.schema {
            let schema: Schema = serde_json::from_str(text).map_err(|e| Error::Stored {
                path: schema_path.clone(),
                message: format!(
                    "the schema stored in the destination cannot be read: {}",
                    crate::report(&e)
                ),
            })?;
            write_atomic(&schema_path, text.as_bytes())?;
            parts.push(format!(
                "schema `{}` version {}",
                schema.name, schema.version
            ));
        }
        if let Some(Value::Object(doc)) = restored.state {
            let mut state = PipelineState(doc);
            let hash = state.version_hash().unwrap_or_default().to_string();
            state.set_local("first_run", serde_json::json!(false));
            state.set_local("last_extracted_hash", serde_json::json!(hash));
            parts.push(format!("state version {}", state.version()));
            self.save_state(&state)?;
        }
        let note = format!(
            "Restored {} of pipeline {} from {} (the working directory had none)",
            parts.join(" and "),
            self.name,
            self.destination.location()
        );
        self.progress.note(&note);
        self.restored = Some(note.clone());
        Ok(Some(note))
    }

    /// Packages the destination refused for good ([`Stage::Failed`]), oldest first, with
    /// why; they are not retried until [`Pipeline::retry_package`] puts them back.
    pub fn failed_packages(&self) -> Result<Vec<FailedPackage>> {
        Ok(self
            .wd
            .packages_in(Stage::Failed)?
            .into_iter()
            .map(|load_id| FailedPackage {
                failure: self.wd.failure(&load_id),
                load_id,
            })
            .collect())
    }

    /// Puts failed package `load_id` back to be loaded by the next run, once the cause is
    /// fixed. Its pipeline state goes with it only if no later load has stored a state since
    /// (the later runs extracted from the state before it, so its state would move a cursor
    /// back); its rows load either way. Takes the run lock.
    pub fn retry_package(&mut self, load_id: &str) -> Result<()> {
        self.locked(|p| p.retry_locked(load_id))
    }

    fn retry_locked(&mut self, load_id: &str) -> Result<()> {
        // the newest state of the working directory and the pending packages: a package
        // state no newer than it would move a cursor back
        let newest = self.state()?.version();
        if self.wd.retry(load_id, |state| state.version() > newest)? {
            return Ok(());
        }
        Err(Error::Config(format!(
            "pipeline {} has no failed package {load_id}; `dltrs pipeline {} failed-jobs` lists them",
            self.name, self.name
        )))
    }

    /// Runs `f` holding the working directory's lock: taken here unless the caller holds it
    /// already (a run's steps), released after. A second process (or a second pipeline
    /// object of the same name) waits up to the builder's `lock_wait`, then fails as busy
    /// with nothing done.
    fn locked<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.lock.is_some() {
            return f(self);
        }
        self.lock = Some(self.wd.lock(self.lock_wait)?);
        let result = f(self);
        self.lock = None;
        result
    }

    /// Packages an interrupted run left behind (extracted or normalized, not loaded).
    pub fn pending_packages(&self) -> Result<Vec<String>> {
        let mut ids = self.wd.packages_in(Stage::Extracted)?;
        ids.extend(self.wd.packages_in(Stage::Normalized)?);
        Ok(ids)
    }

    /// Extract, normalize and load `resources`. Packages left by an interrupted run are
    /// finished first and reported as resumed in the [`LoadInfo`].
    pub fn run(&mut self, resources: impl IntoIterator<Item = Resource>) -> Result<LoadInfo> {
        self.locked(|p| p.run_locked(resources))
    }

    fn run_locked(&mut self, resources: impl IntoIterator<Item = Resource>) -> Result<LoadInfo> {
        let started = Instant::now();
        let started_at = dltrs_core::types::datetime::now_timestamp();
        let mut steps = Vec::new();
        let result = self.run_steps(resources, started, &mut steps);
        let trace = Trace {
            pipeline_name: self.name.clone(),
            started_at,
            finished_at: dltrs_core::types::datetime::now_timestamp(),
            elapsed_secs: started.elapsed().as_secs_f64(),
            steps,
            load_info: result.as_ref().ok().cloned(),
            error: result.as_ref().err().map(|e| crate::report(e)),
        };
        // the run's outcome stands whether or not its record could be written
        let text = self.secrets.redacted_json(&trace);
        let _ = write_atomic(&self.wd.path().join("trace.json"), text.as_bytes());
        result
    }

    /// The pipelines in `pipelines_dir` (the default place when `None`), by name.
    pub fn list(pipelines_dir: Option<&Path>) -> Result<Vec<String>> {
        let dir = match pipelines_dir {
            Some(dir) => dir.to_path_buf(),
            None => default_pipelines_dir()?,
        };
        let mut names = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.path().join("packages").is_dir()
                    && let Some(name) = entry.file_name().to_str()
                {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Where the last extract said the data goes (`duckdb:PATH`), if any run recorded it.
    pub fn recorded_destination(&self) -> Option<String> {
        self.state()
            .ok()?
            .local("destination")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The dataset the last extract loaded into, if any run recorded it.
    pub fn recorded_dataset(&self) -> Option<String> {
        self.state()
            .ok()?
            .0
            .get("dataset_name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The packages of the working directory, loaded first (kept as a record: manifest and
    /// schema), then the pending ones: normalized, then extracted.
    pub fn packages(&self) -> Result<Vec<PackageSummary>> {
        let mut out = Vec::new();
        for stage in Stage::ALL.into_iter().rev() {
            for load_id in self.wd.packages_in(stage)? {
                out.push(PackageSummary { load_id, stage });
            }
        }
        Ok(out)
    }

    /// Package `load_id` with its manifest, in whatever stage it is.
    pub fn package(&self, load_id: &str) -> Result<Option<PackageReport>> {
        for stage in Stage::ALL.into_iter().rev() {
            let manifest = match stage {
                Stage::Extracted => self
                    .wd
                    .manifest(stage, load_id)?
                    .map(PackageManifest::Extracted),
                Stage::Normalized | Stage::Loaded | Stage::Failed => self
                    .wd
                    .manifest(stage, load_id)?
                    .map(PackageManifest::Normalized),
            };
            if let Some(manifest) = manifest {
                return Ok(Some(PackageReport {
                    load_id: load_id.to_owned(),
                    stage,
                    manifest,
                }));
            }
        }
        Ok(None)
    }

    /// Drops resources: their tables (root, child and quarantine tables) in the destination
    /// and the schema, and their state, in one package loaded in one transaction, so the
    /// destination never keeps a state for data it no longer has. Returns the dropped tables.
    pub fn drop_resources(&mut self, names: &[String]) -> Result<Vec<String>> {
        self.locked(|p| p.drop_locked(names))
    }

    fn drop_locked(&mut self, names: &[String]) -> Result<Vec<String>> {
        if !self.pending_packages()?.is_empty() {
            return Err(Error::Config(format!(
                "pipeline {} has packages not yet loaded: run it to load them, or abort them, before dropping",
                self.name
            )));
        }
        let mut schema = self.schema()?;
        let naming = self.destination.naming();
        let mut dropped: Vec<String> = Vec::new();
        for name in names {
            let table_name = naming.normalize_tables_path(name);
            let roots: Vec<String> = schema
                .tables
                .values()
                .filter(|t| {
                    t.parent.is_none()
                        && !t.name.starts_with("_dlt")
                        && (t.resource.as_deref() == Some(name.as_str()) || t.name == table_name)
                })
                .map(|t| t.name.clone())
                .collect();
            if roots.is_empty() {
                let known: Vec<&str> = schema
                    .data_tables()
                    .filter(|t| t.parent.is_none())
                    .filter_map(|t| t.resource.as_deref())
                    .collect();
                return Err(Error::Config(format!(
                    "pipeline {} has no resource `{name}`; it has {}",
                    self.name,
                    known.join(", ")
                )));
            }
            for root in roots {
                let mut family = vec![root.clone(), format!("{root}__rejected")];
                let mut i = 0;
                while i < family.len() {
                    let parent = family[i].clone();
                    family.extend(
                        schema
                            .tables
                            .values()
                            .filter(|t| t.parent.as_deref() == Some(parent.as_str()))
                            .map(|t| t.name.clone()),
                    );
                    i += 1;
                }
                // children before parents
                for table in family.into_iter().rev() {
                    if schema.tables.shift_remove(&table).is_some() && !dropped.contains(&table) {
                        dropped.push(table);
                    }
                }
            }
        }
        let mut state = self.state()?;
        if let Some(Value::Object(resources)) = state
            .0
            .get_mut("sources")
            .and_then(|s| s.get_mut(self.schema_name()))
            .and_then(|s| s.get_mut("resources"))
        {
            for name in names {
                resources.shift_remove(name);
            }
        }
        let load_id = new_load_id();
        let mut writer = ExtractWriter::begin(&self.wd, &load_id, self.schema_name())?;
        writer.set_drop_tables(dropped.clone());
        // the destination learns the new state in the drop's transaction
        self.seal_state(&mut writer, state, true)?;
        schema.bump_version();
        write_atomic(
            &self.wd.schema_path(self.schema_name()),
            schema.to_json_pretty().as_bytes(),
        )?;
        writer.commit()?;
        self.normalize_package(&load_id)?;
        self.load_packages(&[])?;
        Ok(dropped)
    }

    /// Puts the state after an extract into its package: the whole state (the working directory
    /// takes it once the package is loaded; until then `state()` finds it in the pending
    /// package) and, when it changed since the last extract or `force`, the row the
    /// destination stores in the package's transaction.
    fn seal_state(
        &self,
        writer: &mut ExtractWriter,
        mut state: PipelineState,
        force: bool,
    ) -> Result<()> {
        state.set_local("first_run", serde_json::json!(false));
        // where the data goes, for commands that open the pipeline by name later
        state.set_local(
            "destination",
            serde_json::json!(self.destination.location()),
        );
        // dlt keeps the dataset in the state; the commands that open the pipeline by name
        // read it back
        state
            .0
            .insert("dataset_name".into(), serde_json::json!(self.dataset_name));
        state.bump_version();
        let extracted = state.local("last_extracted_hash").and_then(Value::as_str);
        if force || extracted != state.version_hash() {
            let row = state.to_row().map_err(|e| Error::Stored {
                path: self.wd.state_path(),
                message: crate::report(&e),
            })?;
            writer.set_state(row);
            let hash = state.version_hash().unwrap_or_default().to_string();
            state.set_local("last_extracted_hash", serde_json::json!(hash));
        }
        writer.set_pipeline_state(state);
        Ok(())
    }

    /// Deletes the packages not yet loaded, returning their ids: their data is dropped, and
    /// the state they carried with it.
    pub fn abort_packages(&mut self) -> Result<Vec<String>> {
        self.locked(Self::abort_locked)
    }

    fn abort_locked(&mut self) -> Result<Vec<String>> {
        let mut aborted = Vec::new();
        for stage in [Stage::Extracted, Stage::Normalized, Stage::Failed] {
            for id in self.wd.packages_in(stage)? {
                self.wd.delete(stage, &id)?;
                aborted.push(id);
            }
        }
        Ok(aborted)
    }

    /// Drops the working directory's state and schema and restores both from the
    /// destination (dlt's `pipeline sync`). Refused while packages are pending.
    pub fn sync(&mut self) -> Result<Option<String>> {
        self.locked(Self::sync_locked)
    }

    fn sync_locked(&mut self) -> Result<Option<String>> {
        if !self.pending_packages()?.is_empty() {
            return Err(Error::Config(format!(
                "pipeline {} has packages not yet loaded: run it to load them, or abort them, before syncing",
                self.name
            )));
        }
        for path in [
            self.wd.state_path(),
            self.wd.schema_path(self.schema_name()),
        ] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Stored {
                        path,
                        message: crate::report(&e),
                    });
                }
            }
        }
        self.restore_from_destination()
    }

    /// The record of the last run (`trace.json`), if there is one.
    pub fn last_trace(&self) -> Option<Trace> {
        Trace::read(&self.wd.path().join("trace.json"))
    }

    fn run_steps(
        &mut self,
        resources: impl IntoIterator<Item = Resource>,
        started: Instant,
        steps: &mut Vec<StepTrace>,
    ) -> Result<LoadInfo> {
        let mut step = |name: &'static str, secs: f64, items: Option<IndexMap<String, u64>>| {
            steps.push(StepTrace {
                step: name.to_owned(),
                elapsed_secs: secs,
                items,
            });
        };
        let t = Instant::now();
        if self.restore_from_destination()?.is_some() {
            step("restore", t.elapsed().as_secs_f64(), None);
        }
        let resumed = self.pending_packages()?;
        let mut packages = Vec::new();
        if !resumed.is_empty() {
            let line = format!(
                "{} unfinished package(s) of an interrupted run found ({}): finishing them before extracting",
                resumed.len(),
                resumed.join(", ")
            );
            tracing::info!(pipeline = %self.name, "{line}");
            self.progress.note(&line);
            let t = Instant::now();
            self.normalize()?;
            packages.extend(self.load_packages(&resumed)?);
            step("resume", t.elapsed().as_secs_f64(), None);
        }
        let t = Instant::now();
        // the package is normalized while it is extracted, file by file, on threads of its
        // own: the normalizer waits for each file the extract completes
        let load_id = new_load_id();
        let schema = self.schema()?;
        let naming = self.destination.naming();
        let nul = self.nul_policy();
        let (wd, progress) = (self.wd.clone(), self.progress.clone());
        let (tx, rx) = mpsc::channel();
        let (extracted, normalized, tail) = std::thread::scope(|scope| {
            let following = scope.spawn({
                let load_id = load_id.clone();
                move || normalize_following(&wd, &load_id, rx, schema, naming, nul, &progress)
            });
            let extracted = self.locked(|p| p.extract_into(resources, load_id, Some(tx)));
            let tail = Instant::now();
            if extracted.is_ok() {
                self.progress.stage(RunStage::Normalizing);
            }
            let normalized = following.join().unwrap_or_else(|_| {
                Err(PackageError::Internal(
                    "the normalizer thread panicked".into(),
                ))
            });
            (extracted, normalized, tail)
        });
        let extracted = extracted?;
        let extract_secs = tail.duration_since(t).as_secs_f64();
        tracing::info!(pipeline = %self.name, secs = extract_secs, items = ?extracted.items, "extracted");
        step("extract", extract_secs, Some(extracted.items.clone()));
        if let Some(load_id) = extracted.load_id {
            let t = tail;
            let normalized = normalized.map_err(|source| Error::Normalize {
                source,
                hint: String::new(),
            });
            match normalized {
                Ok(_) => {}
                Err(Error::Normalize {
                    source: source @ PackageError::Normalize { .. },
                    ..
                }) => {
                    // data that cannot be normalized would block every later run: drop the
                    // package, so this run loads nothing, like a run whose extract failed
                    self.wd.delete(Stage::Extracted, &load_id)?;
                    return Err(Error::Normalize {
                        source,
                        hint: " (nothing of this run was loaded)".into(),
                    });
                }
                Err(e) => return Err(e),
            }
            tracing::info!(pipeline = %self.name, %load_id, secs = t.elapsed().as_secs_f64(), "normalized");
            step("normalize", t.elapsed().as_secs_f64(), None);
            self.interrupt.check("load")?;
            let t = Instant::now();
            packages.extend(self.load_packages(&resumed)?);
            tracing::info!(pipeline = %self.name, %load_id, secs = t.elapsed().as_secs_f64(), "loaded");
            step("load", t.elapsed().as_secs_f64(), None);
        }
        Ok(self.load_info(packages, started))
    }

    /// Reads every resource to its end into a new extracted package. On any error nothing is
    /// kept.
    pub fn extract(
        &mut self,
        resources: impl IntoIterator<Item = Resource>,
    ) -> Result<ExtractInfo> {
        self.locked(|p| p.extract_locked(resources))
    }

    fn extract_locked(
        &mut self,
        resources: impl IntoIterator<Item = Resource>,
    ) -> Result<ExtractInfo> {
        self.extract_into(resources, new_load_id(), None)
    }

    /// Extracts into package `load_id`, telling `follower` (a normalizer) each file as it is
    /// complete.
    fn extract_into(
        &mut self,
        resources: impl IntoIterator<Item = Resource>,
        load_id: String,
        follower: Option<mpsc::Sender<ExtractEvent>>,
    ) -> Result<ExtractInfo> {
        self.restore_locked()?;
        let resources: Vec<Resource> = resources.into_iter().collect();
        self.check_capabilities(&resources)?;
        for resource in &resources {
            self.secrets.extend(resource.secrets());
        }
        let mut writer = ExtractWriter::begin(&self.wd, &load_id, self.schema_name())?;
        if let Some(follower) = follower {
            writer.follow(follower);
        }
        let mut items = IndexMap::new();
        let mut buf = Vec::with_capacity(4096);
        let mut any = false;
        let progress = self.progress.clone();
        progress.stage(RunStage::Extracting);
        let mut state = self.state()?;
        let schema_name = self.schema_name().to_string();
        let mut source = state
            .0
            .get("sources")
            .and_then(|s| s.get(&schema_name))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut resource_states = match source.shift_remove("resources") {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let mut seen = std::collections::HashSet::new();
        // every resource's own state before any is pulled: a source may start reading its
        // next resources (SQL tables in parallel) while the first is extracted
        for resource in &resources {
            let stored = resource_states
                .get(resource.name())
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            resource
                .state()
                .load(stored, source.clone(), &self.progress);
        }
        for mut resource in resources {
            any = true;
            let name = resource.name().to_string();
            if !seen.insert(name.clone()) {
                // two resources of one name would overwrite each other's state
                return Err(Error::Config(format!(
                    "two resources are named `{name}`; give each resource of a run its own name"
                )));
            }
            let resource_hints = match self.schema_contract.is_empty() {
                true => resource.hints().clone(),
                false => {
                    let mut hints = resource.hints().clone();
                    let own = hints.schema_contract.unwrap_or_default();
                    hints.schema_contract = Some(own.or(self.schema_contract));
                    hints
                }
            };
            writer.begin_resource(resource.name(), resource.table(), resource_hints)?;
            let mut count = 0u64;
            // items pulled from the source, kept or not: what error messages count
            let mut pulled = 0u64;
            let failed = |item: u64, source| Error::Extract {
                resource: name.clone(),
                item,
                source,
            };
            let stored = resource_states
                .get(&name)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            resource
                .state()
                .load(stored, source.clone(), &self.progress);
            let mut filter = match resource.incremental_cursor() {
                Some(incremental) => Some(
                    incremental
                        .filter(resource.state().clone(), &resource.hints().primary_key)
                        .map_err(|e| failed(1, e))?,
                ),
                None => None,
            };
            let handle = resource.state().clone();
            let next = resource.items_mut();
            loop {
                self.interrupt.check("extract")?;
                buf.clear();
                match next(&mut buf) {
                    Ok(pull @ (Pulled::Item | Pulled::ItemTo(_))) => {
                        pulled += 1;
                        if let Some(filter) = &mut filter {
                            match filter.decide(&buf).map_err(|e| failed(pulled, e))? {
                                Decision::Keep => {}
                                Decision::Skip => continue,
                                Decision::Stop => break,
                            }
                        }
                        count += 1;
                        match &pull {
                            Pulled::ItemTo(table) => writer.write_item_to(table, &buf)?,
                            _ => writer.write_item(&buf)?,
                        }
                        progress.items(1);
                    }
                    Ok(Pulled::Batch(batch)) => {
                        if filter.is_some() {
                            return Err(Error::Config(format!(
                                "resource `{name}`: incremental cursors work on JSON items, not on Arrow rows (Parquet files, pyarrow tables)"
                            )));
                        }
                        pulled += batch.num_rows() as u64;
                        count += batch.num_rows() as u64;
                        writer.write_batch(&batch)?;
                        progress.items(batch.num_rows() as u64);
                    }
                    Ok(Pulled::End) => break,
                    Err(source) => return Err(failed(pulled + 1, source)),
                }
            }
            if let Some(filter) = &filter {
                filter.finish();
            }
            let after = handle.to_map();
            if !after.is_empty() || resource_states.contains_key(&name) {
                resource_states.insert(name.clone(), Value::Object(after));
            }
            source = handle.source_map();
            *items.entry(name).or_default() += count;
        }
        if !any {
            return Ok(ExtractInfo {
                load_id: None,
                items,
            });
        }
        if !source.is_empty() || !resource_states.is_empty() {
            source.insert("resources".into(), Value::Object(resource_states));
            let sources = state
                .0
                .entry("sources")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(sources) = sources {
                sources.insert(schema_name, Value::Object(source));
            }
        }
        self.seal_state(&mut writer, state, false)?;
        writer.commit()?;
        Ok(ExtractInfo {
            load_id: Some(load_id),
            items,
        })
    }

    /// Refuses, before anything is extracted, a resource whose write disposition or merge
    /// strategy the destination cannot apply: its package could never be loaded.
    fn check_capabilities(&self, resources: &[Resource]) -> Result<()> {
        let capabilities = self.destination.capabilities();
        for resource in resources {
            let hints = resource.hints();
            capabilities
                .check(
                    self.destination.destination_name(),
                    resource.table(),
                    hints.write_disposition.unwrap_or_default(),
                    hints.merge_strategy,
                    hints.table_format.as_deref(),
                )
                .map_err(|e| {
                    Error::Config(format!(
                        "resource `{}`: {e}; nothing was extracted",
                        resource.name()
                    ))
                })?;
        }
        Ok(())
    }

    /// Normalizes every extracted package.
    pub fn normalize(&mut self) -> Result<Vec<String>> {
        self.locked(Self::normalize_locked)
    }

    fn normalize_locked(&mut self) -> Result<Vec<String>> {
        let ids = self.wd.packages_in(Stage::Extracted)?;
        for load_id in &ids {
            self.interrupt.check("normalize")?;
            self.normalize_package(load_id).map_err(|e| match e {
                Error::Normalize {
                    source: source @ PackageError::Normalize { .. },
                    ..
                } => Error::Normalize {
                    source,
                    hint: format!(
                        " (fix the data, or delete {} to drop the package)",
                        self.wd.package_dir(Stage::Extracted, load_id).display()
                    ),
                },
                other => other,
            })?;
        }
        Ok(ids)
    }

    fn normalize_package(&self, load_id: &str) -> Result<NormalizedPackage> {
        self.progress.stage(RunStage::Normalizing);
        let schema = self.schema()?;
        let nul = self.nul_policy();
        normalize(
            &self.wd,
            load_id,
            schema,
            self.destination.naming(),
            nul,
            &self.progress,
        )
        .map_err(|source| Error::Normalize {
            source,
            hint: String::new(),
        })
    }

    /// What the normalizer does with NUL characters: what the destination can store.
    fn nul_policy(&self) -> NulPolicy {
        match (self.destination.capabilities().stores_nul, self.remove_nul) {
            (true, _) => NulPolicy::Keep,
            (false, false) => NulPolicy::Refuse,
            (false, true) => NulPolicy::Remove,
        }
    }

    /// Loads every normalized package, oldest first.
    pub fn load(&mut self) -> Result<LoadInfo> {
        self.locked(Self::load_locked)
    }

    fn load_locked(&mut self) -> Result<LoadInfo> {
        let started = Instant::now();
        let packages = self.load_packages(&[])?;
        Ok(self.load_info(packages, started))
    }

    /// Loads every normalized package, oldest first; those named in `resumed` were left by an
    /// interrupted run.
    fn load_packages(&mut self, resumed: &[String]) -> Result<Vec<PackageInfo>> {
        self.progress.stage(RunStage::Loading);
        let mut infos = Vec::new();
        for load_id in self.wd.packages_in(Stage::Normalized)? {
            self.interrupt.check("load")?;
            let package = NormalizedPackage::open(&self.wd, Stage::Normalized, &load_id)?;
            self.progress
                .expect_load_rows(package.row_counts().map(|(_, n)| n).sum());
            let ctx = LoadContext {
                dataset: &self.dataset_name,
                progress: &self.progress,
            };
            let outcome = match self.destination.load(&ctx, &package) {
                Ok(outcome) => outcome,
                Err(source) if source.is_terminal() => {
                    // retrying cannot help: set the package aside so later runs load new data;
                    // its state never becomes the pipeline's, so no cursor skips its rows
                    let table = match &source {
                        DestinationError::Load { table, .. } => table.clone(),
                        _ => String::new(),
                    };
                    let failure = PackageFailure {
                        table,
                        error: self.secrets.redact(&crate::report(&source)),
                        failed_at: dltrs_core::types::datetime::now_timestamp(),
                    };
                    if let Err(e) = self.wd.fail(&load_id, &failure) {
                        // the destination's error is the one to report: the package stays
                        // pending, and the next run meets the same refusal and sets it aside
                        tracing::warn!(%load_id, error = %crate::report(&e), "cannot set the failed package aside");
                        return Err(Error::Load {
                            source,
                            dir: package.dir.clone(),
                        });
                    }
                    tracing::warn!(%load_id, table = %failure.table, "package failed for good: set aside");
                    return Err(Error::PackageFailed {
                        source: Box::new(source),
                        dir: self.wd.package_dir(Stage::Failed, &load_id),
                        pipeline: self.name.clone(),
                        load_id,
                    });
                }
                Err(source) => {
                    return Err(Error::Load {
                        source,
                        dir: package.dir.clone(),
                    });
                }
            };
            // the destination holds the package's state now: the working directory follows
            // before the package moves on, so a kill in between is resumed as AlreadyLoaded
            if let Some(state) = &package.manifest.pipeline_state
                && state.version() >= self.stored_state()?.version()
            {
                self.save_state(state)?;
            }
            self.wd
                .advance(&load_id, Stage::Normalized, Stage::Loaded)?;
            tracing::debug!(%load_id, ?outcome, rows = ?package.row_counts().collect::<Vec<_>>(), "package loaded");
            remove_data_files(&self.wd.package_dir(Stage::Loaded, &load_id));
            infos.push(package_info(&package, outcome, resumed.contains(&load_id)));
        }
        Ok(infos)
    }

    fn load_info(&mut self, packages: Vec<PackageInfo>, started: Instant) -> LoadInfo {
        LoadInfo {
            pipeline_name: self.name.clone(),
            destination_name: self.destination.destination_name().to_string(),
            destination_type: self.destination.destination_type().to_string(),
            destination_location: self.destination.location(),
            dataset_name: self.dataset_name.clone(),
            packages,
            elapsed_secs: started.elapsed().as_secs_f64(),
            restored: self.restored.take(),
        }
    }
}

/// Loaded packages keep their manifest and schema as a record; the data files go.
fn remove_data_files(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "arrow") {
                // a file that stays behind only costs disk space
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn package_info(package: &NormalizedPackage, outcome: LoadOutcome, resumed: bool) -> PackageInfo {
    PackageInfo {
        load_id: package.load_id().to_string(),
        status: match outcome {
            LoadOutcome::Loaded => PackageStatus::Loaded,
            LoadOutcome::AlreadyLoaded => PackageStatus::AlreadyLoaded,
        },
        resumed,
        jobs: package
            .manifest
            .tables
            .iter()
            .map(|t| JobInfo {
                table: t.name.clone(),
                files: t.files.len(),
                rows: t.rows,
            })
            .collect(),
        row_counts: package
            .row_counts()
            .map(|(t, n)| (t.to_string(), n))
            .collect(),
        schema_changes: package.manifest.changes.clone(),
        warnings: package.manifest.warnings.clone(),
    }
}
