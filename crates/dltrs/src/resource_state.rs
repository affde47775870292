//! [`ResourceState`]: the small JSON state a resource keeps between runs.

use std::cell::RefCell;
use std::rc::Rc;

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
#[derive(Clone, Default)]
pub struct ResourceState {
    resource: Rc<RefCell<Map<String, Value>>>,
    source: Rc<RefCell<Map<String, Value>>>,
}

impl ResourceState {
    /// A value of the resource's state.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.resource.borrow().get(key).cloned()
    }

    /// Sets a value of the resource's state.
    pub fn set(&self, key: &str, value: Value) {
        self.resource.borrow_mut().insert(key.to_owned(), value);
    }

    /// Removes a value of the resource's state.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.resource.borrow_mut().shift_remove(key)
    }

    /// A value of the source's state (shared by the pipeline's resources).
    pub fn source_get(&self, key: &str) -> Option<Value> {
        self.source.borrow().get(key).cloned()
    }

    /// Sets a value of the source's state.
    pub fn source_set(&self, key: &str, value: Value) {
        if key != "resources" {
            self.source.borrow_mut().insert(key.to_owned(), value);
        }
    }

    /// The resource's whole state.
    pub fn to_map(&self) -> Map<String, Value> {
        self.resource.borrow().clone()
    }

    pub(crate) fn load(&self, resource: Map<String, Value>, source: Map<String, Value>) {
        *self.resource.borrow_mut() = resource;
        *self.source.borrow_mut() = source;
    }

    pub(crate) fn source_map(&self) -> Map<String, Value> {
        self.source.borrow().clone()
    }
}

impl std::fmt::Debug for ResourceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceState")
            .field("resource", &self.resource.borrow())
            .finish_non_exhaustive()
    }
}
