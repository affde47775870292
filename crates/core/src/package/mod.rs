//! Load packages on disk: what passes between extract, normalize and load.
//!
//! ```text
//! <working dir>/
//!   schemas/<schema>.schema.json      the pipeline's schema (dlt's stored format)
//!   state.json                        the pipeline state
//!   packages/tmp/<load_id>.<stage>/   a package being written (deleted when found at start)
//!   packages/extracted/<load_id>/     manifest.json + items, one JSON document per line
//!   packages/normalized/<load_id>/    manifest.json + schema.json + Arrow IPC files per table
//!   packages/loaded/<load_id>/        manifest.json + schema.json of a completed load
//! ```
//!
//! Every file is written into the `tmp` directory and the whole package directory is renamed
//! into place, so a package is either complete or absent. A step that finishes a package
//! renames its output in *before* it removes its input: a package found in two stages is
//! resumed from the later one. Loading is idempotent per load id (the destination records the
//! load id in the same transaction as the data), so a package loaded just before a crash is
//! recognised and only moved.

mod extract;
mod normalize;
mod sync;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use extract::{ExtractEvent, ExtractWriter, ExtractedManifest, ExtractedResource};
pub use normalize::{
    BatchFile, NormalizedManifest, NormalizedPackage, NormalizedTable, RootTable, normalize,
    normalize_following,
};

use crate::error::PackageError;
use crate::state::PipelineState;

/// Items per extracted file before a new file is started: small enough that a run's
/// normalizer, which follows the extract file by file, has little left when the extract ends.
const ITEMS_PER_FILE: u64 = 40_000;

/// The stage a package is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Items extracted, not normalized yet.
    Extracted,
    /// Normalized into typed tables, not loaded yet.
    Normalized,
    /// Loaded into the destination.
    Loaded,
    /// Refused by the destination for good (a terminal error): set aside with its
    /// `failure.json`, not retried, until `retry` puts it back.
    Failed,
}

impl Stage {
    /// The stages, pending first, in the order a package goes through them; a failed
    /// package left the way at the load.
    pub const ALL: [Stage; 4] = [
        Stage::Extracted,
        Stage::Normalized,
        Stage::Loaded,
        Stage::Failed,
    ];

    /// `extracted`, `normalized`, `loaded` or `failed`: its directory and its name in
    /// reports.
    pub fn as_str(self) -> &'static str {
        self.dir_name()
    }

    fn dir_name(self) -> &'static str {
        match self {
            Stage::Extracted => "extracted",
            Stage::Normalized => "normalized",
            Stage::Loaded => "loaded",
            Stage::Failed => "failed",
        }
    }
}

/// A pipeline's working directory.
#[derive(Debug, Clone)]
pub struct WorkingDir {
    root: PathBuf,
}

impl WorkingDir {
    /// Opens (creating if needed) the working directory. Unfinished writes of a killed run
    /// are dropped by [`WorkingDir::lock`], not here: another process may be writing them.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, PackageError> {
        let wd = WorkingDir { root: root.into() };
        let mut dirs = vec![wd.root.join("schemas"), wd.packages().join("tmp")];
        dirs.extend(Stage::ALL.map(|stage| wd.packages().join(stage.dir_name())));
        for dir in dirs {
            fs::create_dir_all(&dir).map_err(|source| PackageError::WorkingDir {
                path: wd.root.clone(),
                source,
            })?;
        }
        Ok(wd)
    }

    /// Takes the working directory for one run ([`RunLock`]), waiting up to `wait` for a
    /// run that holds it, then deletes the unfinished package writes a killed run left in
    /// `tmp` (only the holder of the lock writes there).
    pub fn lock(&self, wait: Duration) -> Result<RunLock, PackageError> {
        let lock = RunLock::acquire(&self.root.join("lock"), wait)?;
        let tmp = self.packages().join("tmp");
        remove_dir(&tmp)?;
        fs::create_dir_all(&tmp).map_err(|e| PackageError::io(&tmp, e))?;
        Ok(lock)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn packages(&self) -> PathBuf {
        self.root.join("packages")
    }

    /// Where a package of `load_id` lives in `stage`.
    pub fn package_dir(&self, stage: Stage, load_id: &str) -> PathBuf {
        self.packages().join(stage.dir_name()).join(load_id)
    }

    fn tmp_dir(&self, stage: Stage, load_id: &str) -> PathBuf {
        self.packages()
            .join("tmp")
            .join(format!("{load_id}.{}", stage.dir_name()))
    }

    /// Load ids of the packages in `stage`, oldest first.
    pub fn packages_in(&self, stage: Stage) -> Result<Vec<String>, PackageError> {
        let dir = self.packages().join(stage.dir_name());
        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| PackageError::io(&dir, e))? {
            let entry = entry.map_err(|e| PackageError::io(&dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                ids.push(name.to_string());
            }
        }
        ids.sort_by(|a, b| compare_load_ids(a, b));
        Ok(ids)
    }

    /// Moves a finished package from `from` to `to`. When `to` already holds it (a crash
    /// between the rename and the cleanup), the leftover is removed.
    pub fn advance(&self, load_id: &str, from: Stage, to: Stage) -> Result<(), PackageError> {
        let src = self.package_dir(from, load_id);
        let dst = self.package_dir(to, load_id);
        if dst.exists() {
            self.delete(from, load_id)
        } else {
            fs::rename(&src, &dst).map_err(|e| PackageError::io(&src, e))?;
            sync_dir(dst.parent().unwrap_or(&dst))
        }
    }

    /// Deletes a package in `stage` (a failed extract, or an aborted package). The package
    /// leaves its stage in one rename into `tmp` and is removed from there, so a kill midway
    /// never leaves half a package in a stage (`open` empties `tmp`).
    pub fn delete(&self, stage: Stage, load_id: &str) -> Result<(), PackageError> {
        let dir = self.package_dir(stage, load_id);
        let doomed = self
            .packages()
            .join("tmp")
            .join(format!("{load_id}.{}.deleted", stage.dir_name()));
        match fs::rename(&dir, &doomed) {
            Ok(()) => remove_dir(&doomed),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(PackageError::io(&dir, e)),
        }
    }

    /// Path of the stored schema `name`.
    pub fn schema_path(&self, name: &str) -> PathBuf {
        self.root
            .join("schemas")
            .join(format!("{name}.schema.json"))
    }

    /// Path of the pipeline state file.
    pub fn state_path(&self) -> PathBuf {
        self.root.join("state.json")
    }
}

/// The working directory held by one run: an OS lock on its `lock` file, which the kernel
/// releases when the process ends however it ends, so a killed run never leaves a pipeline
/// locked. The file says who holds it (process id and start), for the message of a run that
/// finds it busy. Released when dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    fn acquire(path: &Path, wait: Duration) -> Result<RunLock, PackageError> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| PackageError::io(path, e))?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(PackageError::Busy {
                        path: path.to_path_buf(),
                        holder: holder_of(path),
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(PackageError::io(path, e)),
            }
        }
        // who holds it, for the others' message; the lock stands whether or not this is written
        let holder = format!(
            "process {} since {}",
            std::process::id(),
            crate::types::datetime::now_timestamp()
        );
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(holder.as_bytes()));
        Ok(RunLock { _file: file })
    }
}

/// Who holds the lock file, as the holder wrote it. A holder writes it just after it took
/// the lock, so an empty file is read again for a moment before it is said to be unknown.
fn holder_of(path: &Path) -> String {
    for _ in 0..20 {
        let text = fs::read_to_string(path).unwrap_or_default();
        if !text.trim().is_empty() {
            return text.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    "another process, which has not said which yet".to_string()
}

/// Why a package was set aside in [`Stage::Failed`]: `failure.json` in its directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageFailure {
    /// The table or step the destination refused.
    pub table: String,
    /// The destination's error and its causes.
    pub error: String,
    /// When (ISO 8601, UTC).
    pub failed_at: String,
}

impl WorkingDir {
    /// Sets normalized package `load_id` aside in [`Stage::Failed`] with `failure`.
    pub fn fail(&self, load_id: &str, failure: &PackageFailure) -> Result<(), PackageError> {
        let dir = self.package_dir(Stage::Normalized, load_id);
        write_json_atomic(&dir.join("failure.json"), failure)?;
        self.advance(load_id, Stage::Normalized, Stage::Failed)
    }

    /// Why failed package `load_id` was set aside (`None`: no record).
    pub fn failure(&self, load_id: &str) -> Option<PackageFailure> {
        let path = self
            .package_dir(Stage::Failed, load_id)
            .join("failure.json");
        read_json(&path).ok()
    }

    /// Puts failed package `load_id` back into [`Stage::Normalized`]; its pipeline state
    /// goes with it only when `keep_state` says so. `false` when there is no such package.
    pub fn retry(
        &self,
        load_id: &str,
        keep_state: impl FnOnce(&PipelineState) -> bool,
    ) -> Result<bool, PackageError> {
        let dir = self.package_dir(Stage::Failed, load_id);
        let Some(mut manifest) = self.manifest::<NormalizedManifest>(Stage::Failed, load_id)?
        else {
            return Ok(false);
        };
        if manifest
            .pipeline_state
            .as_ref()
            .is_some_and(|s| !keep_state(s))
        {
            manifest.state = None;
            manifest.pipeline_state = None;
            write_json_atomic(&dir.join("manifest.json"), &manifest)?;
        }
        let failure = dir.join("failure.json");
        match fs::remove_file(&failure) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(PackageError::io(&failure, e));
            }
            _ => {}
        }
        self.advance(load_id, Stage::Failed, Stage::Normalized)?;
        Ok(true)
    }

    /// The manifest of package `load_id` in `stage` (an [`ExtractedManifest`] for
    /// [`Stage::Extracted`], a [`NormalizedManifest`] otherwise); `None` when the stage has no
    /// such package.
    pub fn manifest<T: serde::de::DeserializeOwned>(
        &self,
        stage: Stage,
        load_id: &str,
    ) -> Result<Option<T>, PackageError> {
        let path = self.package_dir(stage, load_id).join("manifest.json");
        if !path.exists() {
            return Ok(None);
        }
        read_json(&path).map(Some)
    }
}

/// The time a load id names (`seconds.fraction`, dlt's `str(time.time())`), in microseconds
/// since the epoch; 0 for an id that is not a time.
pub fn load_id_micros(load_id: &str) -> i64 {
    let (secs, frac) = load_id.split_once('.').unwrap_or((load_id, ""));
    let secs: i64 = secs.parse().unwrap_or(0);
    let digits: String = frac.chars().take(6).collect();
    let frac: i64 = format!("{digits:0<6}").parse().unwrap_or(0);
    secs.saturating_mul(1_000_000).saturating_add(frac)
}

/// Load ids are decimal Unix times; compare them as numbers so `"999.1" < "1000.0"`.
pub fn compare_load_ids(a: &str, b: &str) -> std::cmp::Ordering {
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::MAX);
    num(a).total_cmp(&num(b)).then_with(|| a.cmp(b))
}

fn remove_dir(dir: &Path) -> Result<(), PackageError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PackageError::io(dir, e)),
    }
}

/// Flushes a directory entry so a rename inside it survives a power cut.
fn sync_dir(dir: &Path) -> Result<(), PackageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PackageError::io(dir, e))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(|e| PackageError::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| PackageError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| PackageError::io(path, e))?;
    sync_dir(path.parent().unwrap_or(path))
}

/// Reads a JSON file written by this module.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, PackageError> {
    let text = fs::read(path).map_err(|e| PackageError::io(path, e))?;
    serde_json::from_slice(&text).map_err(|source| PackageError::Manifest {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` as JSON to `path` atomically ([`write_atomic`]).
fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), PackageError> {
    let text = serde_json::to_vec_pretty(value).map_err(|source| PackageError::Manifest {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &text)
}

/// Writes a JSON file inside a package being built (made durable by [`seal`]).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), PackageError> {
    let text = serde_json::to_vec_pretty(value).map_err(|source| PackageError::Manifest {
        path: path.to_path_buf(),
        source,
    })?;
    let mut file = File::create(path).map_err(|e| PackageError::io(path, e))?;
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .map_err(|e| PackageError::io(path, e))
}

/// Moves a fully written temporary package directory into its stage.
pub(crate) fn seal(tmp: &Path, dst: &Path) -> Result<(), PackageError> {
    sync_dir(tmp)?;
    fs::rename(tmp, dst).map_err(|e| PackageError::io(dst, e))?;
    sync_dir(dst.parent().unwrap_or(dst))
}

/// A new load id: the current Unix time with microseconds, as dlt makes them.
pub fn new_load_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", now.as_secs(), now.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_ids_sort_numerically() {
        let mut ids = vec!["1000.5", "999.25", "1000.25"];
        ids.sort_by(|a, b| compare_load_ids(a, b));
        assert_eq!(ids, ["999.25", "1000.25", "1000.5"]);
    }

    #[test]
    fn the_lock_removes_unfinished_writes_and_opening_leaves_another_runs_alone() {
        let dir = tempfile::tempdir().unwrap();
        let wd = WorkingDir::open(dir.path()).unwrap();
        let lock = wd.lock(Duration::ZERO).unwrap();
        let tmp = wd.tmp_dir(Stage::Extracted, "1.0");
        fs::create_dir_all(&tmp).unwrap();
        // a second run opens the directory while the first writes: nothing of it goes
        let other = WorkingDir::open(dir.path()).unwrap();
        assert!(tmp.exists());
        match other.lock(Duration::from_millis(120)) {
            Err(PackageError::Busy { holder, .. }) => {
                assert!(
                    holder.starts_with(&format!("process {}", std::process::id())),
                    "{holder}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(tmp.exists());
        drop(lock);
        // a killed run's leftovers go when the next run takes the lock
        let _lock = other.lock(Duration::ZERO).unwrap();
        assert!(!tmp.exists());
    }

    #[test]
    fn advance_tolerates_a_crash_after_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let wd = WorkingDir::open(dir.path()).unwrap();
        fs::create_dir_all(wd.package_dir(Stage::Extracted, "1.0")).unwrap();
        fs::create_dir_all(wd.package_dir(Stage::Normalized, "1.0")).unwrap();
        wd.advance("1.0", Stage::Extracted, Stage::Normalized)
            .unwrap();
        assert!(wd.packages_in(Stage::Extracted).unwrap().is_empty());
        assert_eq!(wd.packages_in(Stage::Normalized).unwrap(), ["1.0"]);
    }
}
