//! [`Trace`]: what the last run did, written to the working directory as `trace.json` after
//! every run, successful or not: steps with timings, items per resource, the load info (rows
//! per table, schema changes, contract discards) or the error. It reads back typed
//! ([`Trace::read`]) and displays as the `dltrs pipeline NAME trace` report.

use std::fmt;
use std::path::Path;

use dltrs_core::normalize::NormalizeWarning;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::load_info::LoadInfo;

/// The record of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    /// The pipeline.
    pub pipeline_name: String,
    /// When the run started (ISO 8601, UTC).
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
    /// Seconds it took.
    pub elapsed_secs: f64,
    /// The steps it went through, in order.
    pub steps: Vec<StepTrace>,
    /// What was loaded (absent when the run failed).
    #[serde(default)]
    pub load_info: Option<LoadInfo>,
    /// Why the run failed: the error and its causes ([`crate::report`]).
    #[serde(default)]
    pub error: Option<String>,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepTrace {
    /// `restore`, `resume`, `extract`, `normalize` or `load`.
    pub step: String,
    /// Seconds it took.
    pub elapsed_secs: f64,
    /// Items per resource (extract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<IndexMap<String, u64>>,
}

impl Trace {
    /// Reads a `trace.json`; `None` when there is none or it is not a trace (a record of a
    /// run is informative: a damaged one must not stop the pipeline).
    pub fn read(path: &Path) -> Option<Trace> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// `ok`, or `failed: <error>`.
    pub fn outcome(&self) -> String {
        outcome(self.error.as_deref())
    }
}

/// How a run ended, for people: `ok`, or `failed: <error>`.
pub(crate) fn outcome(error: Option<&str>) -> String {
    match error {
        None => "ok".to_string(),
        Some(e) => format!("failed: {e}"),
    }
}

/// The report of `dltrs pipeline NAME trace`: the run, its steps, and per package the rows,
/// schema changes and contract discards.
impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Run of pipeline {} started {} took {:.2} s: {}",
            self.pipeline_name,
            self.started_at,
            self.elapsed_secs,
            self.outcome()
        )?;
        for step in &self.steps {
            let items = step
                .items
                .as_ref()
                .map(|m| {
                    let list: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    format!(" (items {})", list.join(", "))
                })
                .unwrap_or_default();
            writeln!(f, "  {:<10} {:>8.3} s{items}", step.step, step.elapsed_secs)?;
        }
        for package in self.load_info.iter().flat_map(|info| &info.packages) {
            writeln!(f, "  package {}", package.load_id)?;
            for (table, rows) in &package.row_counts {
                writeln!(f, "    {table}: {rows} row(s)")?;
            }
            if !package.schema_changes.is_empty() {
                writeln!(f, "    {} schema change(s)", package.schema_changes.len())?;
            }
            for warning in &package.warnings {
                if let NormalizeWarning::ContractDiscarded {
                    table,
                    entity,
                    mode,
                    rows,
                    values,
                    ..
                } = warning
                {
                    writeln!(
                        f,
                        "    contract: {rows} row(s), {values} value(s) discarded in {table} ({}: {})",
                        entity.as_str(),
                        mode.as_str()
                    )?;
                }
            }
        }
        Ok(())
    }
}
