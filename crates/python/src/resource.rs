//! A Python resource as an engine [`Resource`]: items are pulled from Python in batches with
//! the GIL held and served one by one without it.
//!
//! The Python side (`dltrs/extract.py`, class `_Pull`) starts the user's generator with the
//! resource's state when the engine first asks for an item, hands over batches of items
//! (dicts, pages flattened, pandas frames as `pyarrow` tables) and returns the state the
//! generator left when it ends.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_array::ffi_stream::RecordBatchStreamReader;
use arrow_pyarrow::FromPyArrow;
use dltrs::incremental::Incremental;
use dltrs::table_hints::TableHintsConfig;
use dltrs::{BoxError, Pulled, Resource, ResourceState};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::Value;

use crate::convert::write_json;

/// Where a resource keeps the exception its generator raised, for the run to re-raise with
/// its own traceback.
pub(crate) type Raised = Arc<Mutex<Option<PyErr>>>;

/// A resource as the Python layer describes it; consumed by the run that extracts it.
#[pyclass(module = "dltrs._native", name = "Resource")]
pub struct PyResource {
    inner: Mutex<Option<Resource>>,
    raised: Raised,
}

#[pymethods]
impl PyResource {
    /// `name`: the resource; `table_name`: its root table (`None`: the name); `hints`: dlt's
    /// table hints as JSON; `incremental`: the cursor's options as JSON; `pull`: the
    /// `_Pull` object.
    #[new]
    #[pyo3(signature = (name, pull, table_name=None, hints=None, incremental=None, secrets=Vec::new()))]
    fn new(
        name: String,
        pull: Py<PyAny>,
        table_name: Option<String>,
        hints: Option<&str>,
        incremental: Option<&str>,
        secrets: Vec<String>,
    ) -> PyResult<Self> {
        let raised: Raised = Arc::default();
        let state = ResourceState::default();
        let mut puller = Puller {
            fetcher: Some(Fetcher {
                pull,
                state: state.clone(),
            }),
            batches: None,
            current: Fetched::default(),
            done: false,
            raised: raised.clone(),
            name: name.clone(),
        };
        let mut resource = Resource::from_pulls(name.clone(), move |buf| puller.next(buf))
            .with_state_handle(state);
        if let Some(table) = table_name {
            resource = resource.table_name(table);
        }
        if let Some(hints) = hints {
            let hints: TableHintsConfig = serde_json::from_str(hints)
                .map_err(|e| PyValueError::new_err(format!("resource `{name}`: {e}")))?;
            resource = hints.apply(resource);
        }
        if let Some(incremental) = incremental {
            let cursor: Incremental = serde_json::from_str(incremental).map_err(|e| {
                PyValueError::new_err(format!("resource `{name}`: incremental: {e}"))
            })?;
            resource = resource.incremental(cursor);
        }
        for secret in &secrets {
            resource = resource.with_secret(secret);
        }
        Ok(PyResource {
            inner: Mutex::new(Some(resource)),
            raised,
        })
    }

    /// Sets dlt's table hints (JSON) over the resource's own.
    fn apply_hints(&self, hints: &str) -> PyResult<()> {
        let hints: TableHintsConfig =
            serde_json::from_str(hints).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(resource) = inner.take() {
            *inner = Some(hints.apply(resource));
        }
        Ok(())
    }

    /// The resource's name.
    #[getter]
    fn name(&self) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.as_ref().map(|r| r.name().to_owned())
    }
}

impl PyResource {
    /// A resource of one of the engine's sources (REST API, files, SQL databases).
    pub(crate) fn from_engine(resource: Resource) -> Self {
        PyResource {
            inner: Mutex::new(Some(resource)),
            raised: Arc::default(),
        }
    }

    /// The engine resource, once: a resource is extracted by one run.
    pub(crate) fn take(&self) -> PyResult<(Resource, Raised)> {
        let taken = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match taken {
            Some(resource) => Ok((resource, self.raised.clone())),
            None => Err(PyValueError::new_err(
                "this resource was extracted already: a generator can be read once, call the resource function again",
            )),
        }
    }
}

/// One pulled entry, waiting to be served.
enum Entry {
    /// JSON text in `Fetched::text`, and the table when the item names one.
    Json {
        start: usize,
        end: usize,
        table: Option<String>,
    },
    /// Rows kept as Arrow.
    Batch(RecordBatch),
}

/// A batch pulled from Python and converted.
#[derive(Default)]
struct Fetched {
    /// The JSON of the batch's items, back to back.
    text: String,
    entries: VecDeque<Entry>,
}

/// What the fetching thread hands over.
enum Message {
    Batch(Fetched),
    End,
    Failed(PyErr),
}

/// Batches waiting for the engine: one converted while the engine writes the one before, so
/// Python's work (the generator, the conversion) and the engine's (checking and writing the
/// items) run on both cores, with one batch held in between.
const BATCHES_AHEAD: usize = 1;

/// The engine's side of a `_Pull`: the items of the batches a thread of its own fetches from
/// Python (started at the first pull, when the resource's state is loaded).
struct Puller {
    /// The fetcher, until it is started.
    fetcher: Option<Fetcher>,
    batches: Option<Receiver<Message>>,
    current: Fetched,
    done: bool,
    raised: Raised,
    name: String,
}

impl Puller {
    fn next(&mut self, buf: &mut Vec<u8>) -> Result<Pulled, BoxError> {
        while self.current.entries.is_empty() && !self.done {
            if let Some(fetcher) = self.fetcher.take() {
                let (tx, rx) = mpsc::sync_channel(BATCHES_AHEAD);
                std::thread::Builder::new()
                    .name(format!("dltrs-pull-{}", self.name))
                    .spawn(move || fetcher.run(&tx))
                    .map_err(|e| format!("cannot start the resource's thread: {e}"))?;
                self.batches = Some(rx);
            }
            let received = match &self.batches {
                Some(rx) => rx.recv().ok(),
                None => None,
            };
            match received {
                Some(Message::Batch(fetched)) => self.current = fetched,
                Some(Message::End) => self.done = true,
                Some(Message::Failed(e)) => return Err(self.raise(e)),
                None => {
                    return Err("the resource's thread stopped unexpectedly (an internal error, please report it)".into());
                }
            }
        }
        Ok(match self.current.entries.pop_front() {
            None => Pulled::End,
            Some(Entry::Json { start, end, table }) => {
                buf.extend_from_slice(&self.current.text.as_bytes()[start..end]);
                match table {
                    Some(table) => Pulled::ItemTo(table),
                    None => Pulled::Item,
                }
            }
            Some(Entry::Batch(batch)) => Pulled::Batch(batch),
        })
    }

    /// Keeps the exception for the run and gives the engine its message.
    fn raise(&self, err: PyErr) -> BoxError {
        let message = Python::attach(|py| {
            let kind = err
                .get_type(py)
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "Exception".into());
            format!("the resource raised {kind}: {}", err.value(py))
        });
        *self.raised.lock().unwrap_or_else(PoisonError::into_inner) = Some(err);
        message.into()
    }
}

/// Pulls batches from Python on its own thread, the GIL held for one batch at a time.
struct Fetcher {
    pull: Py<PyAny>,
    state: ResourceState,
}

impl Fetcher {
    /// Sends batches until the generator ends or fails, or the engine stops listening (an
    /// error elsewhere, an interrupt: the generator then stops after its current batch).
    fn run(self, batches: &SyncSender<Message>) {
        let mut started = false;
        loop {
            let message = Python::attach(|py| match self.fill(py, &mut started) {
                Ok(Some(fetched)) => Message::Batch(fetched),
                Ok(None) => Message::End,
                Err(e) => Message::Failed(e),
            });
            let last = !matches!(message, Message::Batch(_));
            if batches.send(message).is_err() || last {
                return;
            }
        }
    }

    /// The next batch, converted; `None` at the end, with the state the generator left stored.
    fn fill(&self, py: Python<'_>, started: &mut bool) -> PyResult<Option<Fetched>> {
        let pull = self.pull.bind(py);
        if !*started {
            *started = true;
            let resource = Value::Object(self.state.to_map()).to_string();
            let source = Value::Object(self.state.source_map()).to_string();
            pull.call_method1("start", (resource, source))?;
        }
        let batch = pull.call_method0("next_batch")?;
        if batch.is_none() {
            let ended = pull.call_method0("finish")?;
            let (resource, source): (String, String) = ended.extract()?;
            self.store_state(&resource, &source)?;
            return Ok(None);
        }
        let (items, tables) = batch
            .cast::<PyTuple>()?
            .extract::<(Bound<'_, PyList>, Option<Bound<'_, PyList>>)>()?;
        let mut fetched = Fetched::default();
        for (i, item) in items.iter().enumerate() {
            let table = match &tables {
                Some(tables) => {
                    let table = tables.get_item(i)?;
                    match table.is_none() {
                        true => None,
                        false => Some(table.cast::<PyString>()?.to_cow()?.into_owned()),
                    }
                }
                None => None,
            };
            if !item.is_instance_of::<PyDict>()
                && (item.hasattr("__arrow_c_stream__")? || item.hasattr("__arrow_c_array__")?)
            {
                push_arrow(&item, &mut fetched.entries)?;
                continue;
            }
            let start = fetched.text.len();
            write_json(&item, &mut fetched.text)?;
            fetched.entries.push_back(Entry::Json {
                start,
                end: fetched.text.len(),
                table,
            });
        }
        Ok(Some(fetched))
    }

    /// Writes the states the generator left back into the engine's handle.
    fn store_state(&self, resource: &str, source: &str) -> PyResult<()> {
        let parse = |text: &str| match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(PyValueError::new_err("a resource state must be a dict")),
            Err(e) => Err(PyValueError::new_err(format!(
                "the resource's state cannot be stored: {e}"
            ))),
        };
        let resource = parse(resource)?;
        let source = parse(source)?;
        for key in self.state.to_map().keys() {
            if !resource.contains_key(key) {
                self.state.remove(key);
            }
        }
        for (key, value) in resource {
            self.state.set(&key, value);
        }
        for (key, value) in source {
            self.state.source_set(&key, value);
        }
        Ok(())
    }
}

/// A `pyarrow` table or batch (anything with `__arrow_c_stream__`): its batches, without a
/// copy per row.
fn push_arrow(item: &Bound<'_, PyAny>, entries: &mut VecDeque<Entry>) -> PyResult<()> {
    if !item.hasattr("__arrow_c_stream__")? {
        // a record batch of an older pyarrow: one array
        entries.push_back(Entry::Batch(RecordBatch::from_pyarrow_bound(item)?));
        return Ok(());
    }
    let reader = RecordBatchStreamReader::from_pyarrow_bound(item)?;
    for batch in reader {
        let batch = batch.map_err(|e| PyValueError::new_err(e.to_string()))?;
        entries.push_back(Entry::Batch(batch));
    }
    Ok(())
}
