//! [`Trace`]: what the last run did, written to the working directory as `trace.json` after
//! every run, successful or not: steps with timings, items per resource, the load info (rows
//! per table, schema changes, contract discards) or the error.

use indexmap::IndexMap;
use serde::Serialize;

use crate::load_info::LoadInfo;

/// The record of one run.
#[derive(Debug, Clone, Serialize)]
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
    pub load_info: Option<LoadInfo>,
    /// Why the run failed.
    pub error: Option<String>,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepTrace {
    /// `restore`, `resume`, `extract`, `normalize` or `load`.
    pub step: &'static str,
    /// Seconds it took.
    pub elapsed_secs: f64,
    /// Items per resource (extract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<IndexMap<String, u64>>,
}

/// Now as ISO 8601 in UTC.
pub(crate) fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default();
    dltrs_core::types::datetime::format_timestamp(micros)
}
