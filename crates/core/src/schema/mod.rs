//! The schema: tables, columns, hints, a version and a content hash, stored in dlt's format
//! (engine version 11) so `_dlt_version` can hold it and Python dlt can read it.
//!
//! A schema only grows: the normalizer adds tables and columns ([`SchemaChange`]) and never
//! alters a column's type (values that do not fit go to variant columns).

mod change;
mod contract;
mod hints;
mod system;
mod table;
mod version;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use change::SchemaChange;
pub use contract::{ContractEntity, ContractMode, SchemaContract};
pub use hints::{SCD2_VALID_FROM, SCD2_VALID_TO, TableHints};
pub use system::{LOADS_TABLE, VERSION_TABLE, pipeline_state_table};
pub use table::{Column, MergeStrategy, NormalizerHints, Table, WriteDisposition};

use crate::error::SchemaError;

/// dlt's schema engine version this format follows.
pub const ENGINE_VERSION: u32 = 11;
/// Module name dlt records for the relational normalizer.
pub const RELATIONAL_NORMALIZER: &str = "dlt.common.normalizers.json.relational";

/// A schema in dlt's stored format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Incremented each time the content changes.
    pub version: u64,
    /// base64 SHA3-256 of the content (see [`Schema::content_hash`]).
    pub version_hash: String,
    /// dlt schema engine version ([`ENGINE_VERSION`]).
    pub engine_version: u32,
    /// Schema name (the pipeline's name by default).
    pub name: String,
    /// Tables by name, in creation order.
    pub tables: IndexMap<String, Table>,
    /// Type detections, default hints, preferred types, contracts.
    #[serde(default)]
    pub settings: Settings,
    /// Naming convention and JSON normalizer with its configuration.
    pub normalizers: Normalizers,
    /// Up to 10 earlier content hashes, newest first.
    #[serde(default)]
    pub previous_hashes: Vec<String>,
    /// Other keys, kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Schema-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Settings {
    /// Enabled type detections (`iso_timestamp` by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<String>,
    /// Column hints applied by name pattern (`not_null: [_dlt_id, ...]`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub default_hints: IndexMap<String, Vec<String>>,
    /// Other settings (`preferred_types`, `schema_contract`), kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The naming convention and JSON normalizer a schema was built with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizers {
    /// Naming convention name (`snake_case`).
    pub names: String,
    /// JSON normalizer module and its configuration (root key propagation).
    pub json: Value,
    /// Other keys, kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Schema {
    /// A new schema with dlt's system tables, default hints and normalizers.
    pub fn new(name: impl Into<String>) -> Self {
        let mut tables = IndexMap::new();
        for table in [system::version_table(), system::loads_table()] {
            tables.insert(table.name.clone(), table);
        }
        let mut default_hints = IndexMap::new();
        for (hint, columns) in [
            (
                "not_null",
                &[
                    "_dlt_id",
                    "_dlt_root_id",
                    "_dlt_parent_id",
                    "_dlt_list_idx",
                    "_dlt_load_id",
                ][..],
            ),
            ("parent_key", &["_dlt_parent_id"][..]),
            ("root_key", &["_dlt_root_id"][..]),
            ("unique", &["_dlt_id"][..]),
            ("row_key", &["_dlt_id"][..]),
        ] {
            default_hints.insert(
                hint.to_string(),
                columns.iter().map(|c| c.to_string()).collect(),
            );
        }
        Schema {
            version: 0,
            version_hash: String::new(),
            engine_version: ENGINE_VERSION,
            name: name.into(),
            tables,
            settings: Settings {
                detections: vec!["iso_timestamp".into()],
                default_hints,
                other: Map::new(),
            },
            normalizers: Normalizers {
                names: "snake_case".into(),
                json: json!({ "module": RELATIONAL_NORMALIZER }),
                other: Map::new(),
            },
            previous_hashes: Vec::new(),
            other: Map::new(),
        }
    }

    /// Reads a schema stored as JSON by dlt or dltrs.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        let schema: Schema = serde_json::from_str(text).map_err(SchemaError::Parse)?;
        schema.check_engine()
    }

    /// Reads a schema file: JSON when it starts with `{`, else YAML.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_yaml(text)
        }
    }

    /// Reads a schema from dlt's YAML export format.
    pub fn from_yaml(text: &str) -> Result<Self, SchemaError> {
        let schema: Schema =
            serde_norway::from_str(text).map_err(|e| SchemaError::Yaml(e.to_string()))?;
        schema.check_engine()
    }

    fn check_engine(self) -> Result<Self, SchemaError> {
        if self.engine_version != ENGINE_VERSION {
            return Err(SchemaError::UnsupportedEngine(self.engine_version));
        }
        Ok(self)
    }

    /// The schema as pretty JSON in dlt's stored format.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The schema as compact JSON in dlt's stored format (what `_dlt_version.schema` holds).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The schema as YAML (dlt's `*.schema.yaml` export).
    pub fn to_yaml(&self) -> Result<String, SchemaError> {
        serde_norway::to_string(self).map_err(|e| SchemaError::Yaml(e.to_string()))
    }

    /// A table by normalized name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Tables holding data (not dlt's `_dlt_*` bookkeeping tables), in order.
    pub fn data_tables(&self) -> impl Iterator<Item = &Table> {
        self.tables
            .values()
            .filter(|t| !t.name.starts_with("_dlt_"))
    }

    /// The root table of `table` (itself for a root table).
    pub fn root_table<'s>(&'s self, table: &'s Table) -> &'s Table {
        let mut current = table;
        // bounded: a parent chain cannot be longer than the number of tables
        for _ in 0..self.tables.len() {
            match current.parent.as_deref().and_then(|p| self.tables.get(p)) {
                Some(parent) => current = parent,
                None => break,
            }
        }
        current
    }

    /// The child tables of `root` at any depth, parents before children.
    pub fn descendants(&self, root: &str) -> Vec<&Table> {
        let mut out: Vec<&Table> = Vec::new();
        let mut frontier = vec![root];
        while let Some(parent) = frontier.pop() {
            for table in self.tables.values() {
                if table.parent.as_deref() == Some(parent) && out.len() < self.tables.len() {
                    out.push(table);
                    frontier.push(&table.name);
                }
            }
        }
        out.sort_by_key(|t| self.depth(t));
        out
    }

    /// How many parents a table has above it (0 for a root table).
    fn depth(&self, table: &Table) -> usize {
        let mut depth = 0;
        let mut current = table;
        while let Some(parent) = current.parent.as_deref().and_then(|p| self.tables.get(p)) {
            depth += 1;
            current = parent;
            if depth > self.tables.len() {
                break;
            }
        }
        depth
    }

    /// The merge strategy that applies to a table's chain, if its root merges.
    pub fn merge_strategy(&self, table: &Table) -> Option<MergeStrategy> {
        let root = self.root_table(table);
        (root.write_disposition == Some(WriteDisposition::Merge))
            .then(|| root.merge_strategy.unwrap_or(MergeStrategy::DeleteInsert))
    }

    /// True when child rows of `root` carry `_dlt_root_id` (dlt's `requires_root_key`): the
    /// root merges with a key-based strategy, or some table of the chain already has a root key.
    pub fn requires_root_key(&self, root: &Table) -> bool {
        let by_merge = matches!(
            self.merge_strategy(root),
            Some(
                MergeStrategy::DeleteInsert
                    | MergeStrategy::Upsert
                    | MergeStrategy::InsertOnly
                    | MergeStrategy::Cdc
            )
        );
        by_merge
            || self.tables.values().any(|t| {
                t.is_nested()
                    && self.root_table(t).name == root.name
                    && t.columns.values().any(|c| c.root_key == Some(true))
            })
    }

    /// Records in the normalizer config that `root`'s `_dlt_id` propagates as `_dlt_root_id`,
    /// as dlt does, so a schema written by dltrs reads the same in dlt.
    pub(crate) fn record_root_key_propagation(&mut self, root: &str) {
        let Value::Object(json) = &mut self.normalizers.json else {
            return;
        };
        let config = json.entry("config").or_insert_with(|| json!({}));
        if let Value::Object(config) = config {
            let propagation = config.entry("propagation").or_insert_with(|| json!({}));
            if let Value::Object(propagation) = propagation {
                let tables = propagation.entry("tables").or_insert_with(|| json!({}));
                if let Value::Object(tables) = tables {
                    tables.insert(root.to_string(), json!({ "_dlt_id": "_dlt_root_id" }));
                }
            }
        }
    }

    /// Marks tables as having received data in a completed load (dlt's `seen-data`).
    pub fn mark_seen_data<'a>(&mut self, tables: impl IntoIterator<Item = &'a str>) {
        for name in tables {
            if let Some(table) = self.tables.get_mut(name) {
                table.normalizer.seen_data = Some(true);
            }
        }
    }
}
