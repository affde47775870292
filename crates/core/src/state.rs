//! The pipeline state in dlt's format (`dlt/common/versioned_state.py`,
//! `dlt/pipeline/state_sync.py`): a JSON document with a version and a content hash, kept in
//! the working directory and written to `_dlt_pipeline_state` whenever its content changes.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha3::{Digest, Sha3_256};

use crate::json::write_value_sorted;

/// dlt's state engine version.
pub const STATE_ENGINE_VERSION: u64 = 4;
/// Name of the table holding state rows.
pub const STATE_TABLE: &str = "_dlt_pipeline_state";

/// Keys that are not part of the state's content hash.
const UNHASHED: [&str; 4] = [
    "_state_version",
    "_state_engine_version",
    "_version_hash",
    "_local",
];

/// The pipeline state document. `_local` holds what never leaves the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PipelineState(pub Map<String, Value>);

/// A row of `_dlt_pipeline_state`, ready to be loaded with a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRow {
    /// `_state_version`.
    pub version: i64,
    /// `_state_engine_version`.
    pub engine_version: i64,
    /// Pipeline name.
    pub pipeline_name: String,
    /// base64 of the zlib-compressed JSON state without `_local`.
    pub state: String,
    /// The state's content hash.
    pub version_hash: String,
}

impl PipelineState {
    /// A fresh state for a pipeline, as dlt creates it.
    pub fn new(
        pipeline_name: &str,
        dataset_name: &str,
        schema_name: &str,
        destination_type: &str,
        destination_name: &str,
    ) -> Self {
        let Value::Object(map) = json!({
            "_state_version": 0,
            "_state_engine_version": STATE_ENGINE_VERSION,
            "_local": {"first_run": true},
            "default_schema_name": schema_name,
            "schema_names": [schema_name],
            "pipeline_name": pipeline_name,
            "dataset_name": dataset_name,
            "destination_type": destination_type,
            "destination_name": destination_name,
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        PipelineState(map)
    }

    /// The content hash dlt computes: base64 SHA3-256 of the sorted compact JSON without the
    /// version keys and `_local`.
    pub fn content_hash(&self) -> String {
        let mut content = self.0.clone();
        for key in UNHASHED {
            content.shift_remove(key);
        }
        let mut text = String::new();
        write_value_sorted(&mut text, &Value::Object(content));
        STANDARD.encode(Sha3_256::digest(text.as_bytes()))
    }

    /// `_state_version`.
    pub fn version(&self) -> i64 {
        self.0
            .get("_state_version")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// `_version_hash` as last bumped.
    pub fn version_hash(&self) -> Option<&str> {
        self.0.get("_version_hash").and_then(Value::as_str)
    }

    /// Increments the version when the content changed since the last bump.
    pub fn bump_version(&mut self) -> bool {
        let hash = self.content_hash();
        if self.version_hash() == Some(hash.as_str()) {
            return false;
        }
        let version = self.version() + 1;
        self.0.insert("_state_version".into(), json!(version));
        self.0.insert("_version_hash".into(), json!(hash));
        true
    }

    /// The resources of source `schema_name` that keep a state (an incremental cursor, ...).
    pub fn resources_with_state(&self, schema_name: &str) -> Vec<String> {
        self.0
            .get("sources")
            .and_then(|s| s.get(schema_name))
            .and_then(|s| s.get("resources"))
            .and_then(Value::as_object)
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A value of the `_local` section (never sent to the destination).
    pub fn local(&self, key: &str) -> Option<&Value> {
        self.0.get("_local").and_then(|l| l.get(key))
    }

    /// Sets a value of the `_local` section.
    pub fn set_local(&mut self, key: &str, value: Value) {
        let local = self
            .0
            .entry("_local")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(local) = local {
            local.insert(key.into(), value);
        }
    }

    /// The row for `_dlt_pipeline_state`: the state without `_local`, compact JSON,
    /// zlib level 9, base64 (dlt's `compressed_b64encode`).
    pub fn to_row(&self) -> std::io::Result<StateRow> {
        let mut doc = self.0.clone();
        doc.shift_remove("_local");
        let text = serde_json::to_vec(&doc).map_err(std::io::Error::other)?;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&text)?;
        let compressed = encoder.finish()?;
        Ok(StateRow {
            version: self.version(),
            engine_version: STATE_ENGINE_VERSION as i64,
            pipeline_name: self
                .0
                .get("pipeline_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            state: STANDARD.encode(compressed),
            version_hash: self.version_hash().unwrap_or_default().to_string(),
        })
    }
}

impl StateRow {
    /// Decodes the `state` column back into the JSON document (base64 + zlib, or plain JSON
    /// as dlt's decoder also accepts).
    pub fn decode(state: &str) -> std::io::Result<Value> {
        use std::io::Read;
        let parsed = match STANDARD.decode(state) {
            Ok(bytes) => {
                let mut text = Vec::new();
                flate2::read::ZlibDecoder::new(&bytes[..]).read_to_end(&mut text)?;
                serde_json::from_slice(&text)
            }
            Err(_) => serde_json::from_str(state),
        };
        parsed.map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bumps_only_when_content_changes() {
        let mut state =
            PipelineState::new("p", "p_dataset", "p", "dlt.destinations.duckdb", "duckdb");
        assert!(state.bump_version());
        assert_eq!(state.version(), 1);
        state.set_local("first_run", json!(false));
        assert!(!state.bump_version(), "_local is not content");
        state
            .0
            .insert("sources".into(), json!({"s": {"resources": {}}}));
        assert!(state.bump_version());
        assert_eq!(state.version(), 2);
    }

    #[test]
    fn row_round_trips_without_local() {
        let mut state = PipelineState::new("p", "d", "p", "dlt.destinations.duckdb", "duckdb");
        state.bump_version();
        let row = state.to_row().unwrap();
        assert!(row.state.starts_with("eN"), "zlib level 9 header in base64");
        let doc = StateRow::decode(&row.state).unwrap();
        assert_eq!(doc["pipeline_name"], "p");
        assert!(doc.get("_local").is_none());
        assert_eq!(doc["_version_hash"], row.version_hash.as_str());
    }
}
