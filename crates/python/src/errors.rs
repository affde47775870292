//! Engine errors as the exceptions dlt scripts catch (`dltrs/exceptions.py`).

use dltrs::destination::DestinationError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::pipeline::PyPipeline;
use crate::resource::Raised;

/// The step a call runs, as dlt names it in `PipelineStepFailed.step`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// `run`: the failing step is read from the error.
    Run,
    Extract,
    Normalize,
    Load,
    Sync,
    /// Reading state, schema or trace.
    Inspect,
    Query,
}

/// The step an error of a run happened in.
fn failed_step(err: &dltrs::Error) -> &'static str {
    match err {
        dltrs::Error::Extract { .. } | dltrs::Error::Config(_) => "extract",
        dltrs::Error::Normalize { .. } => "normalize",
        dltrs::Error::Load { .. } | dltrs::Error::PackageFailed { .. } => "load",
        dltrs::Error::Restore { .. } => "sync",
        dltrs::Error::Interrupted { step } => step,
        _ => "run",
    }
}

/// The package an error names, when it names one.
fn load_id(err: &dltrs::Error) -> Option<String> {
    match err {
        dltrs::Error::PackageFailed { load_id, .. } => Some(load_id.clone()),
        dltrs::Error::Load {
            source: DestinationError::Load { load_id, .. },
            ..
        } => Some(load_id.clone()),
        _ => None,
    }
}

/// `PipelineStepFailed` for `err`, caused by the exception a resource's generator raised when
/// one did (its traceback kept), with the engine's message (secrets masked).
pub(crate) fn step_failed(
    py: Python<'_>,
    pipeline: &PyPipeline,
    step: Step,
    err: &dltrs::Error,
    raised: &[Raised],
) -> PyErr {
    let message = pipeline.secrets().redact(&dltrs::report(err));
    let step = match step {
        Step::Run => failed_step(err),
        Step::Extract => "extract",
        Step::Normalize => "normalize",
        Step::Load => "load",
        Step::Sync => "sync",
        Step::Inspect => "inspect",
        Step::Query => "query",
    };
    let cause = raised.iter().find_map(|slot| {
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    });
    match build(py, pipeline.name_str(), step, load_id(err), &message, cause) {
        Ok(err) => err,
        Err(err) => err,
    }
}

fn build(
    py: Python<'_>,
    pipeline: &str,
    step: &str,
    load_id: Option<String>,
    message: &str,
    cause: Option<PyErr>,
) -> PyResult<PyErr> {
    let exceptions = py.import("dltrs.exceptions")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("load_id", load_id)?;
    if let Some(cause) = &cause {
        kwargs.set_item("exception", cause.value(py))?;
    }
    let exc = exceptions
        .getattr("PipelineStepFailed")?
        .call((pipeline, step, message), Some(&kwargs))?;
    let err = PyErr::from_value(exc);
    if let Some(cause) = cause {
        err.set_cause(py, Some(cause));
    }
    Ok(err)
}
