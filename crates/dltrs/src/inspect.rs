//! What `dltrs pipeline NAME info|load-package|failed-jobs` shows, as typed values: each
//! serializes to the command's `--json` form and displays as its text form, so the CLI only
//! prints and a program reads the same facts without parsing text.

use std::fmt;
use std::path::PathBuf;

use dltrs_core::package::{ExtractedManifest, NormalizedManifest, PackageFailure, Stage};
use serde::Serialize;

use crate::pipeline::Pipeline;
use crate::run_error::Result;

/// A pipeline at a glance: where it keeps its work, where it loads, its schema and state,
/// the packages waiting and how the last run ended.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineInfo {
    /// The pipeline.
    pub pipeline_name: String,
    /// Its working directory.
    pub working_dir: PathBuf,
    /// Where it loads (no secrets).
    pub destination: String,
    /// The dataset.
    pub dataset_name: String,
    /// The schema's name, version and data tables.
    pub schema: SchemaSummary,
    /// The state's version and the resources that keep one.
    pub state: StateSummary,
    /// Packages extracted or normalized, not loaded yet.
    pub pending_packages: Vec<PackageSummary>,
    /// Packages the destination refused for good.
    pub failed_packages: Vec<String>,
    /// How the last run ended, if one was recorded.
    pub last_run: Option<LastRun>,
}

/// The schema part of [`PipelineInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct SchemaSummary {
    /// Schema name.
    pub name: String,
    /// Its version.
    pub version: u64,
    /// Its data tables (no `_dlt` tables).
    pub tables: Vec<String>,
}

/// The state part of [`PipelineInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct StateSummary {
    /// The state's version.
    pub version: i64,
    /// Resources with a stored state (incremental cursors, seen files).
    pub resources_with_state: Vec<String>,
}

/// A package and its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageSummary {
    /// The load id.
    pub load_id: String,
    /// Where it is.
    pub stage: Stage,
}

/// The last run's outcome in [`PipelineInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    /// When it started.
    pub started_at: String,
    /// Seconds it took.
    pub elapsed_secs: f64,
    /// True when it succeeded.
    pub ok: bool,
    /// Why it failed.
    pub error: Option<String>,
}

/// The manifest of a package: what was extracted (resources and items), or once normalized,
/// the tables and rows.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PackageManifest {
    /// An extracted package's manifest.
    Extracted(ExtractedManifest),
    /// A normalized (or loaded) package's manifest.
    Normalized(NormalizedManifest),
}

/// One package: its stage and manifest.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// The load id.
    pub load_id: String,
    /// Where it is.
    pub stage: Stage,
    /// What it holds.
    pub manifest: PackageManifest,
}

/// What failed: the last run's error, the packages the destination refused for good and
/// those still waiting to be loaded.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJobs {
    /// The pipeline.
    pub pipeline_name: String,
    /// The last run's error.
    pub error: Option<String>,
    /// Packages set aside by a terminal load error, with why.
    pub failed: Vec<FailedPackage>,
    /// Packages not loaded yet.
    pub pending: Vec<String>,
}

/// A package the destination refused for good.
#[derive(Debug, Clone, Serialize)]
pub struct FailedPackage {
    /// The load id.
    pub load_id: String,
    /// The table or step refused and the error (absent when the record was lost).
    pub failure: Option<PackageFailure>,
}

impl Pipeline {
    /// The pipeline at a glance ([`PipelineInfo`]).
    pub fn info(&self) -> Result<PipelineInfo> {
        let schema = self.schema()?;
        let state = self.state()?;
        let trace = self.last_trace();
        Ok(PipelineInfo {
            pipeline_name: self.name().to_owned(),
            working_dir: self.working_dir().to_path_buf(),
            destination: self.destination().location(),
            dataset_name: self.dataset_name().to_owned(),
            schema: SchemaSummary {
                name: schema.name.clone(),
                version: schema.version,
                tables: schema.data_tables().map(|t| t.name.clone()).collect(),
            },
            state: StateSummary {
                version: state.version(),
                resources_with_state: state.resources_with_state(self.schema_name()),
            },
            pending_packages: self
                .packages()?
                .into_iter()
                .filter(|p| matches!(p.stage, Stage::Extracted | Stage::Normalized))
                .collect(),
            failed_packages: self
                .failed_packages()?
                .into_iter()
                .map(|p| p.load_id)
                .collect(),
            last_run: trace.map(|t| LastRun {
                ok: t.error.is_none(),
                started_at: t.started_at,
                elapsed_secs: t.elapsed_secs,
                error: t.error,
            }),
        })
    }

    /// What failed ([`FailedJobs`]).
    pub fn failed_jobs(&self) -> Result<FailedJobs> {
        Ok(FailedJobs {
            pipeline_name: self.name().to_owned(),
            error: self.last_trace().and_then(|t| t.error),
            failed: self.failed_packages()?,
            pending: self.pending_packages()?,
        })
    }
}

impl fmt::Display for PipelineInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Pipeline {}", self.pipeline_name)?;
        writeln!(f, "  working dir: {}", self.working_dir.display())?;
        writeln!(f, "  destination: {}", self.destination)?;
        writeln!(f, "  dataset: {}", self.dataset_name)?;
        writeln!(
            f,
            "  schema: {} version {}, {} tables: {}",
            self.schema.name,
            self.schema.version,
            self.schema.tables.len(),
            self.schema.tables.join(", ")
        )?;
        let resources = &self.state.resources_with_state;
        writeln!(
            f,
            "  state: version {}; resources with state: {}",
            self.state.version,
            if resources.is_empty() {
                "none".to_string()
            } else {
                resources.join(", ")
            }
        )?;
        if self.pending_packages.is_empty() {
            writeln!(f, "  pending packages: none")?;
        }
        for package in &self.pending_packages {
            writeln!(
                f,
                "  pending package: {} ({}); the next run loads it first",
                package.load_id,
                package.stage.as_str()
            )?;
        }
        for id in &self.failed_packages {
            writeln!(
                f,
                "  failed package: {id}; not retried (`dltrs pipeline {} failed-jobs` says why)",
                self.pipeline_name
            )?;
        }
        match &self.last_run {
            Some(run) => writeln!(
                f,
                "  last run: {} ({:.2} s), {}",
                run.started_at,
                run.elapsed_secs,
                crate::trace::outcome(run.error.as_deref())
            ),
            None => writeln!(f, "  last run: none recorded"),
        }
    }
}

impl fmt::Display for PackageSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.load_id, self.stage.as_str())
    }
}

impl fmt::Display for PackageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "package {}: {}", self.load_id, self.stage.as_str())?;
        match &self.manifest {
            PackageManifest::Normalized(manifest) => {
                for table in &manifest.tables {
                    writeln!(
                        f,
                        "  {}: {} row(s) in {} file(s)",
                        table.name,
                        table.rows,
                        table.files.len()
                    )?;
                }
            }
            PackageManifest::Extracted(manifest) => {
                for resource in &manifest.resources {
                    writeln!(
                        f,
                        "  resource {}: {} item(s)",
                        resource.name, resource.items
                    )?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for FailedJobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.error.is_none() && self.pending.is_empty() && self.failed.is_empty() {
            return writeln!(f, "pipeline {}: nothing failed", self.pipeline_name);
        }
        if let Some(error) = &self.error {
            writeln!(f, "last run failed: {error}")?;
        }
        for package in &self.failed {
            match &package.failure {
                Some(failure) => writeln!(
                    f,
                    "package {} failed at table `{}` ({}): {}",
                    package.load_id, failure.table, failure.failed_at, failure.error
                )?,
                None => writeln!(f, "package {} failed", package.load_id)?,
            }
            writeln!(
                f,
                "  it is not retried: after fixing the cause, `dltrs pipeline {} retry-package {}`; to drop it, `dltrs pipeline {} abort-packages`",
                self.pipeline_name, package.load_id, self.pipeline_name
            )?;
        }
        for id in &self.pending {
            writeln!(
                f,
                "package {id} is not loaded; the next run retries it (or `dltrs pipeline {} abort-packages`)",
                self.pipeline_name
            )?;
        }
        Ok(())
    }
}
