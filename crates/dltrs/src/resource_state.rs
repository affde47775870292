//! [`ResourceState`]: the small JSON state a resource keeps between runs.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dltrs_core::progress::Progress;
use serde_json::{Map, Value};

/// A resource's state, kept in the pipeline state under
/// `sources.<schema>.resources.<resource>` (and the source's, under `sources.<schema>`), the
/// keys Python dlt uses. It is read when the resource's extraction starts and stored with the
/// package it extracted: the destination receives it in the same transaction as the data, and
/// the working directory takes it once that transaction committed.
///
/// ```
/// use dltrs::Resource;
/// let ids = Resource::with_state("ids", |state| {
///     let from = state.get("last_id").and_then(|v| v.as_i64()).unwrap_or(0);
///     state.set("last_id", serde_json::json!(from + 3));
///     (from + 1..=from + 3).map(|id| serde_json::json!({"id": id}))
/// });
/// # let _ = ids;
/// ```
///
/// The handle is shared (`Send + Sync`: clones see one state), so a source may read it on the
/// thread that reads ahead for it. It also carries the run's [`Progress`], which the pipeline
/// sets with the state before the resource is pulled: sources count pages and bytes there.
#[derive(Clone, Default)]
pub struct ResourceState(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    resource: Map<String, Value>,
    source: Map<String, Value>,
    progress: Progress,
}

impl ResourceState {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A value of the resource's state.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.inner().resource.get(key).cloned()
    }

    /// Sets a value of the resource's state.
    pub fn set(&self, key: &str, value: Value) {
        self.inner().resource.insert(key.to_owned(), value);
    }

    /// Removes a value of the resource's state.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.inner().resource.shift_remove(key)
    }

    /// A value of the source's state (shared by the pipeline's resources).
    pub fn source_get(&self, key: &str) -> Option<Value> {
        self.inner().source.get(key).cloned()
    }

    /// Sets a value of the source's state.
    pub fn source_set(&self, key: &str, value: Value) {
        if key != "resources" {
            self.inner().source.insert(key.to_owned(), value);
        }
    }

    /// The resource's whole state.
    pub fn to_map(&self) -> Map<String, Value> {
        self.inner().resource.clone()
    }

    /// The counters of the run pulling the resource (fresh ones before a run set them).
    pub fn progress(&self) -> Progress {
        self.inner().progress.clone()
    }

    pub(crate) fn load(
        &self,
        resource: Map<String, Value>,
        source: Map<String, Value>,
        progress: &Progress,
    ) {
        let mut inner = self.inner();
        inner.resource = resource;
        inner.source = source;
        inner.progress = progress.clone();
    }

    /// The source's whole state (without its resources' states).
    pub fn source_map(&self) -> Map<String, Value> {
        self.inner().source.clone()
    }
}

impl std::fmt::Debug for ResourceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceState")
            .field("resource", &self.inner().resource)
            .finish_non_exhaustive()
    }
}
