//! [`LoadInfo`]: what a run did, printed like dlt's summary and serializable to JSON.

use std::fmt;

use dltrs_core::SchemaChange;
use dltrs_core::normalize::NormalizeWarning;
use dltrs_core::schema::ContractEntity;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// What a run (or a load step) did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadInfo {
    /// Pipeline name.
    pub pipeline_name: String,
    /// Destination short name (`duckdb`).
    pub destination_name: String,
    /// dlt's destination type (`dlt.destinations.duckdb`).
    pub destination_type: String,
    /// Where the data went (no secrets).
    pub destination_location: String,
    /// Dataset name.
    pub dataset_name: String,
    /// Packages loaded by this call, oldest first.
    pub packages: Vec<PackageInfo>,
    /// Seconds the call took.
    pub elapsed_secs: f64,
    /// What was restored from the destination because the working directory was missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<String>,
}

/// One load package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageInfo {
    /// Load id.
    pub load_id: String,
    /// `loaded`, or `already_loaded` when an interrupted run had committed it.
    pub status: PackageStatus,
    /// True for a package left by an interrupted run and finished by this one.
    pub resumed: bool,
    /// Jobs: one per table with rows.
    pub jobs: Vec<JobInfo>,
    /// Rows per table.
    pub row_counts: IndexMap<String, u64>,
    /// Tables and columns the package added.
    pub schema_changes: Vec<SchemaChange>,
    /// Normalizer warnings.
    pub warnings: Vec<NormalizeWarning>,
}

/// How a package ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    /// Applied by this run.
    Loaded,
    /// Found already committed in the destination (a crash after the commit).
    AlreadyLoaded,
}

/// One table's data in a package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobInfo {
    /// Table name.
    pub table: String,
    /// Files of the job.
    pub files: usize,
    /// Rows.
    pub rows: u64,
}

impl LoadInfo {
    /// Rows per table over all packages.
    pub fn row_counts(&self) -> IndexMap<String, u64> {
        let mut counts: IndexMap<String, u64> = IndexMap::new();
        for package in &self.packages {
            for (table, rows) in &package.row_counts {
                *counts.entry(table.clone()).or_default() += rows;
            }
        }
        counts
    }

    /// Packages finished for an interrupted run.
    pub fn resumed(&self) -> impl Iterator<Item = &PackageInfo> {
        self.packages.iter().filter(|p| p.resumed)
    }

    /// The summary as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for LoadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(restored) = &self.restored {
            writeln!(f, "{restored}")?;
        }
        writeln!(
            f,
            "Pipeline {} load step completed in {:.2} seconds",
            self.pipeline_name, self.elapsed_secs
        )?;
        writeln!(
            f,
            "{} load package(s) were loaded to destination {} and into dataset {}",
            self.packages.len(),
            self.destination_name,
            self.dataset_name
        )?;
        writeln!(
            f,
            "The {} destination used {} location to store data",
            self.destination_name, self.destination_location
        )?;
        for package in &self.packages {
            let how = match (package.resumed, package.status) {
                (true, PackageStatus::AlreadyLoaded) => {
                    " (left by an interrupted run, which had committed it)"
                }
                (true, PackageStatus::Loaded) => " (left by an interrupted run, finished now)",
                _ => "",
            };
            writeln!(
                f,
                "Load package {} is LOADED and contains no failed jobs{how}",
                package.load_id
            )?;
            for (table, rows) in &package.row_counts {
                writeln!(f, "  {table}: {rows} row(s)")?;
            }
            for change in &package.schema_changes {
                writeln!(f, "  schema: {change}")?;
            }
            for warning in &package.warnings {
                match warning {
                    NormalizeWarning::NulRemoved {
                        table,
                        column,
                        values,
                    } => writeln!(
                        f,
                        "  warning: NUL characters removed from {values} value(s) of {table}.{column}"
                    )?,
                    NormalizeWarning::NullOnlyColumn { table, column } => writeln!(
                        f,
                        "  warning: column {table}.{column} received only nulls and was not created"
                    )?,
                    NormalizeWarning::KeyCollision {
                        table,
                        column,
                        item,
                        ..
                    } => writeln!(
                        f,
                        "  warning: two keys of item {item} map to column {table}.{column}; the last value was kept"
                    )?,
                    NormalizeWarning::ContractDiscarded {
                        resource,
                        table,
                        column,
                        entity,
                        mode,
                        rows,
                        values,
                        first_item,
                        example,
                    } => {
                        let what = match (entity, column) {
                            (ContractEntity::Tables, _) | (_, None) => format!("new table {table}"),
                            (ContractEntity::Columns, Some(c)) => format!("new column {table}.{c}"),
                            (ContractEntity::DataType, Some(c)) => {
                                format!("a new type for column {table}.{c}")
                            }
                        };
                        let left_out = match (rows, values) {
                            (0, v) => format!("{v} value(s)"),
                            (r, 0) => format!("{r} row(s)"),
                            (r, v) => format!("{r} row(s) and {v} value(s)"),
                        };
                        let example = example
                            .as_ref()
                            .map(|e| format!(", e.g. {e} in item {first_item} of {resource}"))
                            .unwrap_or_else(|| {
                                format!(", first in item {first_item} of {resource}")
                            });
                        writeln!(
                            f,
                            "  contract: {left_out} left out ({}: {}) for {what}{example}",
                            entity.as_str(),
                            mode.as_str()
                        )?
                    }
                }
            }
        }
        Ok(())
    }
}
