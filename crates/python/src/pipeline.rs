//! The engine's [`Pipeline`] behind the Python `Pipeline` (`dltrs/pipeline.py`).
//!
//! Every step runs on a worker thread of its own while the calling thread waits with the GIL
//! released, waking every 50 ms to let Python run its signal handlers: a Ctrl-C
//! (`KeyboardInterrupt`) asks the run to stop ([`dltrs::Interrupt`]) and is raised within a
//! second. A step that has not stopped by then finishes on its own (a load finishes its
//! transaction) and the pipeline's next call waits for it, so what was extracted stays pending
//! for the next run, as after a kill. Other Python threads run while a step works: items are
//! pulled from Python with the GIL held only for a batch at a time.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use arrow_pyarrow::ToPyArrow;
use dltrs::config::Config;
use dltrs::progress::ProgressReport;
use dltrs::secret::Secrets;
use dltrs::{Interrupt, Pipeline};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors::{Step, step_failed};
use crate::resource::{PyResource, Raised};

/// How often a waiting call lets Python handle signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// How long a Ctrl-C waits for the step to stop before it is raised.
const INTERRUPT_GRACE: Duration = Duration::from_millis(900);

/// A step's worker thread: it ends giving the pipeline back.
type Running = JoinHandle<Pipeline>;

struct Inner {
    /// `None` while a step has it.
    pipeline: Option<Pipeline>,
    /// The step an interrupt left running.
    running: Option<Running>,
    /// Its progress display, when asked for.
    _report: Option<ProgressReport>,
}

/// A pipeline of the engine.
#[pyclass(module = "dltrs._native", name = "Pipeline")]
pub struct PyPipeline {
    inner: Mutex<Inner>,
    interrupt: Interrupt,
    secrets: Secrets,
    name: String,
    dataset_name: String,
    working_dir: PathBuf,
    destination_name: String,
    destination_type: String,
    location: String,
}

#[pymethods]
impl PyPipeline {
    /// `destination`: a spec (`duckdb`, `duckdb:PATH`, `postgres`, `postgresql://...`), the
    /// default (DuckDB, `<name>.duckdb`) when `None`; credentials not in the spec come from
    /// the configuration layers of `project_dir` (`.dltrs/`, environment variables).
    #[new]
    /// `options`: `destination.<kind>` settings the destination factory was given (dotted
    /// keys: `credentials.endpoint_url`), over every configuration layer.
    #[pyo3(signature = (name, destination=None, dataset_name=None, pipelines_dir=None, project_dir=None, progress=false, secrets=Vec::new(), options=Vec::new()))]
    #[allow(clippy::too_many_arguments, reason = "dlt's keyword arguments")]
    fn new(
        name: String,
        destination: Option<String>,
        dataset_name: Option<String>,
        pipelines_dir: Option<PathBuf>,
        project_dir: Option<PathBuf>,
        progress: bool,
        secrets: Vec<String>,
        options: Vec<(String, String)>,
    ) -> PyResult<Self> {
        let set = Secrets::new();
        for secret in &secrets {
            set.register(secret);
        }
        let fail = |e: dltrs::Error| PyValueError::new_err(set.redact(&dltrs::report(&e)));
        let project = project_dir.unwrap_or_default();
        let mut config = Config::discover(&project)
            .map_err(fail)?
            .with_secrets(&set)
            .for_pipeline(&name);
        let kind = destination
            .as_deref()
            .and_then(|spec| spec.split(':').next())
            .unwrap_or("duckdb")
            .to_owned();
        for (key, value) in options {
            let mut path = vec!["destination", kind.as_str()];
            path.extend(key.split('.'));
            config = config.with_flag(
                &format!("destinations.{kind}({key}=...)"),
                &path,
                toml::Value::String(value),
            );
        }
        let destination = dltrs::destinations::destination(
            destination.as_deref(),
            &name,
            Path::new(&project),
            &config,
        )
        .map_err(fail)?;
        let mut builder = Pipeline::builder(&name)
            .destination(destination)
            .secrets(&set);
        if let Some(dataset) = dataset_name {
            builder = builder.dataset_name(dataset);
        }
        if let Some(dir) = pipelines_dir {
            builder = builder.pipelines_dir(dir);
        }
        let pipeline = builder.build().map_err(fail)?;
        let report =
            progress.then(|| ProgressReport::install(pipeline.progress(), Duration::from_secs(5)));
        Ok(PyPipeline {
            interrupt: pipeline.interrupt(),
            secrets: set,
            name: pipeline.name().to_owned(),
            dataset_name: pipeline.dataset_name().to_owned(),
            working_dir: pipeline.working_dir().to_owned(),
            destination_name: pipeline.destination().destination_name().to_owned(),
            destination_type: pipeline.destination().destination_type().to_owned(),
            location: pipeline.destination().location(),
            inner: Mutex::new(Inner {
                pipeline: Some(pipeline),
                running: None,
                _report: report,
            }),
        })
    }

    /// The pipeline's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The dataset it loads into.
    #[getter]
    fn dataset_name(&self) -> &str {
        &self.dataset_name
    }

    /// Its working directory (packages, schema, state, trace).
    #[getter]
    fn working_dir(&self) -> PathBuf {
        self.working_dir.clone()
    }

    /// The destination's short name (`duckdb`).
    #[getter]
    fn destination_name(&self) -> &str {
        &self.destination_name
    }

    /// dlt's destination type (`dlt.destinations.duckdb`).
    #[getter]
    fn destination_type(&self) -> &str {
        &self.destination_type
    }

    /// Where the destination is, without secrets.
    #[getter]
    fn location(&self) -> &str {
        &self.location
    }

    /// Extracts, normalizes and loads `resources`; the load info as JSON and as text.
    fn run(
        &self,
        py: Python<'_>,
        resources: Vec<PyRef<'_, PyResource>>,
    ) -> PyResult<(String, String)> {
        let (resources, raised) = take_all(&resources)?;
        let info = self.step(py, Step::Run, &raised, move |p| p.run(resources))?;
        Ok((
            self.secrets.redacted_json(&info),
            self.secrets.redact(&info.to_string()),
        ))
    }

    /// Extracts `resources` into a package; its load id (`None`: nothing given) and items per
    /// resource as JSON.
    fn extract(
        &self,
        py: Python<'_>,
        resources: Vec<PyRef<'_, PyResource>>,
    ) -> PyResult<(Option<String>, String)> {
        let (resources, raised) = take_all(&resources)?;
        let info = self.step(py, Step::Extract, &raised, move |p| p.extract(resources))?;
        let items = serde_json::to_string(&info.items).unwrap_or_default();
        Ok((info.load_id, items))
    }

    /// Normalizes the extracted packages; their load ids.
    fn normalize(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.step(py, Step::Normalize, &[], Pipeline::normalize)
    }

    /// Loads the normalized packages; the load info as JSON and as text.
    fn load(&self, py: Python<'_>) -> PyResult<(String, String)> {
        let info = self.step(py, Step::Load, &[], Pipeline::load)?;
        Ok((
            self.secrets.redacted_json(&info),
            self.secrets.redact(&info.to_string()),
        ))
    }

    /// Restores state and schema from the destination, replacing the working directory's.
    fn sync_destination(&self, py: Python<'_>) -> PyResult<()> {
        self.step(py, Step::Sync, &[], Pipeline::sync).map(|_| ())
    }

    /// The pipeline state (dlt's document) as JSON.
    fn state(&self, py: Python<'_>) -> PyResult<String> {
        let state = self.step(py, Step::Inspect, &[], |p| p.state())?;
        Ok(serde_json::to_string(&state.0).unwrap_or_default())
    }

    /// The stored schema (dlt's document) as JSON.
    fn schema(&self, py: Python<'_>) -> PyResult<String> {
        let schema = self.step(py, Step::Inspect, &[], |p| p.schema())?;
        Ok(serde_json::to_string(&schema).unwrap_or_default())
    }

    /// The last run's trace as JSON and as text, if there was a run.
    fn last_trace(&self, py: Python<'_>) -> PyResult<Option<(String, String)>> {
        let trace = self.step(py, Step::Inspect, &[], |p| Ok(p.last_trace()))?;
        Ok(trace.map(|t| {
            (
                self.secrets.redacted_json(&t),
                self.secrets.redact(&t.to_string()),
            )
        }))
    }

    /// Load ids of the packages not loaded yet.
    fn pending_packages(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.step(py, Step::Inspect, &[], |p| p.pending_packages())
    }

    /// Runs `sql` in the dataset; its rows as a list of `pyarrow.RecordBatch`.
    fn query<'py>(&self, py: Python<'py>, sql: String) -> PyResult<Bound<'py, PyList>> {
        let batches = self.step(py, Step::Query, &[], move |p| {
            p.destination()
                .query(p.dataset_name(), &sql)
                .map_err(|source| dltrs::Error::Query { source })
        })?;
        let list = PyList::empty(py);
        for batch in &batches {
            list.append(batch.to_pyarrow(py)?)?;
        }
        Ok(list)
    }
}

/// The engine resources of a run, each taken once.
fn take_all(resources: &[PyRef<'_, PyResource>]) -> PyResult<(Vec<dltrs::Resource>, Vec<Raised>)> {
    let mut taken = Vec::with_capacity(resources.len());
    let mut raised = Vec::with_capacity(resources.len());
    for resource in resources {
        let (resource, slot) = resource.take()?;
        taken.push(resource);
        raised.push(slot);
    }
    Ok((taken, raised))
}

impl PyPipeline {
    /// Runs `op` on the pipeline on a worker thread, the GIL released (see the module docs).
    fn step<T: Send + 'static>(
        &self,
        py: Python<'_>,
        step: Step,
        raised: &[Raised],
        op: impl FnOnce(&mut Pipeline) -> dltrs::Result<T> + Send + 'static,
    ) -> PyResult<T> {
        let mut inner = match self.inner.try_lock() {
            Ok(inner) => inner,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                return Err(PyRuntimeError::new_err(format!(
                    "pipeline `{}` is running in another thread; give each thread its own pipeline object",
                    self.name
                )));
            }
        };
        if let Some(running) = inner.running.take() {
            // the step an interrupt left running: wait for it to stop
            let pipeline = py
                .detach(move || running.join())
                .map_err(|_| lost(&self.name))?;
            inner.pipeline = Some(pipeline);
        }
        let Some(mut pipeline) = inner.pipeline.take() else {
            return Err(lost(&self.name));
        };
        self.interrupt.clear();
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name(format!("dltrs-{}", self.name))
            .spawn(move || {
                let _ = tx.send(op(&mut pipeline));
                pipeline
            })
            .map_err(|e| {
                PyRuntimeError::new_err(format!("cannot start the pipeline's thread: {e}"))
            })?;
        // waits up to `wait` for the step's outcome, the GIL released
        let outcome = |py: Python<'_>, rx: Receiver<dltrs::Result<T>>, wait: Duration| {
            py.detach(move || {
                let received = rx.recv_timeout(wait);
                (rx, received)
            })
        };
        let mut rx = rx;
        loop {
            let (back, received) = outcome(py, rx, SIGNAL_POLL);
            rx = back;
            match received {
                Ok(result) => {
                    // the worker ends as soon as it has sent
                    let pipeline = py
                        .detach(move || worker.join())
                        .map_err(|_| lost(&self.name))?;
                    inner.pipeline = Some(pipeline);
                    return result.map_err(|e| step_failed(py, self, step, &e, raised));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(lost(&self.name)),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Err(interrupted) = py.check_signals() {
                self.interrupt.interrupt();
                // the step stops at its next check, or finishes alone and the next call waits
                let (_, received) = outcome(py, rx, INTERRUPT_GRACE);
                match received {
                    Ok(_) => {
                        let pipeline = py
                            .detach(move || worker.join())
                            .map_err(|_| lost(&self.name))?;
                        inner.pipeline = Some(pipeline);
                    }
                    Err(_) => inner.running = Some(worker),
                }
                return Err(interrupted);
            }
        }
    }

    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    pub(crate) fn name_str(&self) -> &str {
        &self.name
    }
}

/// The pipeline's thread ended without giving it back: a panic in the engine.
fn lost(name: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "pipeline `{name}` stopped unexpectedly (an internal error, please report it); create the pipeline again: its working directory holds what was done"
    ))
}
