//! dlt's system tables as files in the dataset's folder, in dlt 1.31's own names and
//! contents, so dlt's `sync_destination` reads a bucket dltrs wrote (and dltrs one dlt wrote):
//!
//! ```text
//! init                                                   {"initial_version":2,"current_version":2}
//! _dlt_loads/<schema>__<load_id>.jsonl                   the package's completion marker, last
//! _dlt_version/<schema>__<time>__<hex hash>.jsonl        a schema version, once per hash
//! _dlt_pipeline_state/<pipeline>__<load_id>__<hex schema hash>.jsonl
//! ```
//!
//! Each is one compact JSON object without a newline, never compressed. dlt reads the state
//! and schema documents with exactly these keys (`StateInfo(**doc)`), so none may be added.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dltrs_core::destination::{BoxError, Restored};
use dltrs_core::package::compare_load_ids;
use dltrs_core::schema::{LOADS_TABLE, Schema, VERSION_TABLE};
use dltrs_core::state::{STATE_TABLE, StateRow};
use dltrs_core::types::datetime::now_timestamp;
use serde_json::{Value, json};

use crate::store::Store;

/// The storage version marker dlt 1.31 writes (its `CURRENT_VERSION` 2: data files keep
/// their `.gz`).
pub(crate) const INIT: &str = "init";
const INIT_CONTENT: &str = r#"{"initial_version":2,"current_version":2}"#;

/// `hex(b64decode(hash))`: how dlt puts a hash into a file name.
fn hash_in_name(hash: &str) -> String {
    match STANDARD.decode(hash) {
        Ok(bytes) => crate::hex(&bytes),
        // not base64 (never from our schemas): keep what is path-safe
        Err(_) => hash.chars().filter(char::is_ascii_alphanumeric).collect(),
    }
}

/// Now as `seconds.fraction`, dlt's `str(time.time())` in its schema file names.
fn precise_time() -> String {
    dltrs_core::package::new_load_id()
}

/// The files of one dataset's system tables.
pub(crate) struct SystemFiles<'a> {
    pub store: &'a Store,
    /// The dataset's folder (`dataset/`, or empty for the bucket's root).
    pub dataset: &'a str,
}

impl SystemFiles<'_> {
    fn path(&self, relative: &str) -> String {
        format!("{}{relative}", self.dataset)
    }

    pub(crate) fn load_marker(&self, schema_name: &str, load_id: &str) -> String {
        self.path(&format!("{LOADS_TABLE}/{schema_name}__{load_id}.jsonl"))
    }

    /// Whether the package `load_id` of `schema_name` completed.
    pub(crate) fn is_loaded(&self, schema_name: &str, load_id: &str) -> Result<bool, BoxError> {
        self.store.exists(&self.load_marker(schema_name, load_id))
    }

    /// Writes the storage version marker unless there is one; refuses a bucket of a storage
    /// version dlt 1.31 does not write either.
    pub(crate) fn init(&self) -> Result<(), BoxError> {
        let path = self.path(INIT);
        if self
            .store
            .put_if_absent(&path, INIT_CONTENT.as_bytes().to_vec())?
        {
            return Ok(());
        }
        let Some(content) = self.store.get(&path)? else {
            return Ok(());
        };
        if content.is_empty() {
            return Err(format!(
                "{path} is empty: the dataset was written by dlt before 1.0 (storage version 1, data files without .gz); load it once with dlt 1.31 to migrate it"
            )
            .into());
        }
        let version = serde_json::from_slice::<Value>(&content)
            .ok()
            .and_then(|v| v.get("current_version").and_then(Value::as_i64));
        match version {
            Some(2) => Ok(()),
            Some(other) => Err(format!(
                "{path} says storage version {other}; dltrs writes version 2 (dlt 1.31's)"
            )
            .into()),
            None => Err(format!(
                "{path} is not dlt's storage marker ({{\"initial_version\":2,\"current_version\":2}}): is the bucket URL a dataset of another tool?"
            )
            .into()),
        }
    }

    /// Stores `schema` in `_dlt_version` unless a file of its hash is there.
    pub(crate) fn store_schema(&self, schema: &Schema) -> Result<(), BoxError> {
        let hash = hash_in_name(&schema.version_hash);
        let folder = self.path(&format!("{VERSION_TABLE}/"));
        let exists = self.store.list(&folder)?.iter().any(|path| {
            parts(path).is_some_and(|[name, _, file_hash]| name == schema.name && file_hash == hash)
        });
        if exists {
            return Ok(());
        }
        let doc = json!({
            "version_hash": schema.version_hash,
            "schema_name": schema.name,
            "version": schema.version,
            "engine_version": schema.engine_version,
            "inserted_at": now_timestamp(),
            "schema": schema.to_json(),
        });
        let path = format!("{folder}{}__{}__{hash}.jsonl", schema.name, precise_time());
        self.store.put(&path, doc.to_string().into_bytes())
    }

    /// Stores the pipeline state row of package `load_id` (named by the schema's hash, as dlt
    /// names it).
    pub(crate) fn store_state(
        &self,
        state: &StateRow,
        load_id: &str,
        schema: &Schema,
    ) -> Result<(), BoxError> {
        let doc = json!({
            "version": state.version,
            "engine_version": state.engine_version,
            "pipeline_name": state.pipeline_name,
            "state": state.state,
            "created_at": now_timestamp(),
            "version_hash": state.version_hash,
            "_dlt_load_id": load_id,
        });
        let path = self.path(&format!(
            "{STATE_TABLE}/{}__{load_id}__{}.jsonl",
            state.pipeline_name,
            hash_in_name(&schema.version_hash)
        ));
        self.store.put(&path, doc.to_string().into_bytes())
    }

    /// Writes the package's `_dlt_loads` row: the load is complete from here on.
    pub(crate) fn mark_loaded(&self, schema: &Schema, load_id: &str) -> Result<(), BoxError> {
        let doc = json!({
            "load_id": load_id,
            "schema_name": schema.name,
            "status": 0,
            "inserted_at": now_timestamp(),
            "schema_version_hash": schema.version_hash,
        });
        self.store.put(
            &self.load_marker(&schema.name, load_id),
            doc.to_string().into_bytes(),
        )
    }

    /// The newest state of a completed load of `pipeline_name` and the newest stored schema
    /// `schema_name`, `None` when the dataset has neither.
    pub(crate) fn restore(
        &self,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, BoxError> {
        let loads: std::collections::HashSet<String> = self
            .store
            .list(&self.path(&format!("{LOADS_TABLE}/")))?
            .iter()
            .filter_map(|path| {
                file_stem(path)
                    .split_once("__")
                    .map(|(_, id)| id.to_string())
            })
            .collect();
        // a state file whose load has no marker belongs to a load that did not finish
        let newest_state = self
            .store
            .list(&self.path(&format!("{STATE_TABLE}/")))?
            .into_iter()
            .filter_map(|path| {
                let [name, load_id, _] = parts(&path)?;
                (name == pipeline_name && loads.contains(&load_id)).then_some((load_id, path))
            })
            .max_by(|a, b| compare_load_ids(&a.0, &b.0));
        let state = match newest_state {
            Some((_, path)) => {
                let doc = self.read_doc(&path)?;
                let encoded = doc.get("state").and_then(Value::as_str).ok_or_else(|| {
                    format!("{path} has no `state`: it is not a pipeline state file")
                })?;
                Some(StateRow::decode(encoded).map_err(|e| format!("{path}: {e}"))?)
            }
            None => None,
        };
        // the newest schema as dlt finds it: the greatest time in the file name
        let newest_schema = self
            .store
            .list(&self.path(&format!("{VERSION_TABLE}/")))?
            .into_iter()
            .filter_map(|path| {
                let [name, time, _] = parts(&path)?;
                (name == schema_name).then_some((time, path))
            })
            .max_by(|a, b| compare_load_ids(&a.0, &b.0));
        let schema = match newest_schema {
            Some((_, path)) => {
                let doc = self.read_doc(&path)?;
                let text = doc.get("schema").and_then(Value::as_str).ok_or_else(|| {
                    format!("{path} has no `schema`: it is not a schema version file")
                })?;
                Some(text.to_string())
            }
            None => None,
        };
        if state.is_none() && schema.is_none() {
            return Ok(None);
        }
        Ok(Some(Restored { state, schema }))
    }

    fn read_doc(&self, path: &str) -> Result<Value, BoxError> {
        let bytes = self
            .store
            .get(path)?
            .ok_or_else(|| format!("{path} was listed but is gone"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{path} is not JSON: {e}").into())
    }
}

/// A file's name without its folder and last extension.
fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// The three `__`-separated parts of a system file's name, as dlt splits them (from the
/// right, so a pipeline name may hold `__`).
fn parts(path: &str) -> Option<[String; 3]> {
    let stem = file_stem(path);
    let mut split = stem.rsplitn(3, "__");
    let third = split.next()?;
    let second = split.next()?;
    let first = split.next()?;
    Some([first.to_string(), second.to_string(), third.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_named_as_dlt_names_them() {
        assert_eq!(hash_in_name("AAFo"), "000168");
        assert_eq!(
            parts("ds/_dlt_version/my__pipe__1704164645.678__00ff.jsonl"),
            Some(["my__pipe".into(), "1704164645.678".into(), "00ff".into()])
        );
        assert_eq!(parts("ds/_dlt_loads/pl__1.5.jsonl"), None);
        assert_eq!(
            file_stem("ds/_dlt_loads/pl__1704164645.678.jsonl"),
            "pl__1704164645.678"
        );
    }
}
