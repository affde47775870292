//! [`Table`] and [`Column`]: plain data in dlt's stored-schema shape.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::types::DataType;

/// How a table's new data combines with what the destination already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WriteDisposition {
    /// Add the new rows.
    #[default]
    Append,
    /// Replace the table's rows (and its child tables') with the new ones.
    Replace,
    /// Update rows by primary or merge key, insert the rest.
    Merge,
    /// Never loaded by jobs (dlt's system tables).
    Skip,
}

impl WriteDisposition {
    /// dlt's name of the disposition.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteDisposition::Append => "append",
            WriteDisposition::Replace => "replace",
            WriteDisposition::Merge => "merge",
            WriteDisposition::Skip => "skip",
        }
    }
}

/// How a `merge` table merges (dlt's `x-merge-strategy`); `delete-insert` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeStrategy {
    /// Delete rows whose key arrives again, then insert the new rows (dlt's default).
    DeleteInsert,
    /// `MERGE` on the primary key; root `_dlt_id` is a hash of the key.
    Upsert,
    /// Slowly changing dimension type 2 with validity columns.
    Scd2,
    /// Insert rows whose key is new, ignore the others.
    InsertOnly,
    /// Change data capture.
    Cdc,
}

impl MergeStrategy {
    /// dlt's name of the strategy (`delete-insert`, `upsert`, `scd2`, `insert-only`, `cdc`).
    pub fn as_str(self) -> &'static str {
        match self {
            MergeStrategy::DeleteInsert => "delete-insert",
            MergeStrategy::Upsert => "upsert",
            MergeStrategy::Scd2 => "scd2",
            MergeStrategy::InsertOnly => "insert-only",
            MergeStrategy::Cdc => "cdc",
        }
    }
}

/// A column: name, type and hints, serialized exactly as dlt stores it.
///
/// A column without `data_type` is *incomplete*: it carries hints (say, a primary key) for
/// data that has not arrived yet and is not created in the destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Column {
    /// Column name, already normalized.
    pub name: String,
    /// Data type; `None` for an incomplete column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
    /// Whether the column accepts nulls (`true` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// Precision of `decimal` (digits) or `text`/`binary` (length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Scale of `decimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// `false` for timestamps without a time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<bool>,
    /// Part of the primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<bool>,
    /// Part of the merge key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_key: Option<bool>,
    /// Values are unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<bool>,
    /// Identifies the row (`_dlt_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_key: Option<bool>,
    /// Links a child row to its parent (`_dlt_parent_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_key: Option<bool>,
    /// Links a child row to its root row (`_dlt_root_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_key: Option<bool>,
    /// Holds values of another column that could not be coerced to its type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<bool>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other hints dlt knows (`partition`, `cluster`, `x-...`), kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Column {
    /// dlt's `hard_delete` hint: a row whose value in this column is true (a boolean column)
    /// or not null (any other) deletes its key instead of being loaded.
    pub fn hard_delete(mut self) -> Self {
        self.other.insert("hard_delete".into(), Value::Bool(true));
        self
    }

    /// dlt's `dedup_sort` hint: of the rows of one primary key in a package, the one with the
    /// greatest (`descending`) or smallest value of this column is merged.
    pub fn dedup_sort(mut self, descending: bool) -> Self {
        let order = if descending { "desc" } else { "asc" };
        self.other
            .insert("dedup_sort".into(), Value::String(order.into()));
        self
    }

    /// A complete, nullable column.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Column {
            name: name.into(),
            data_type: Some(data_type),
            nullable: Some(true),
            ..Column::default()
        }
    }

    /// True when the column has a data type and can be created.
    pub fn is_complete(&self) -> bool {
        self.data_type.is_some()
    }

    /// True unless the column is declared `nullable: false`.
    pub fn is_nullable(&self) -> bool {
        self.nullable.unwrap_or(true)
    }

    /// Scale for decimal values of this column.
    pub fn decimal_scale(&self) -> i8 {
        match self.data_type {
            Some(DataType::Wei) => crate::types::WEI_DECIMAL.1,
            _ => self
                .scale
                .and_then(|s| i8::try_from(s).ok())
                .unwrap_or(crate::types::DEFAULT_DECIMAL.1),
        }
    }

    /// Copies onto `self` every hint `hints` sets explicitly (dlt's `merge_column`).
    pub fn merge_hints(&mut self, hints: &Column) {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if hints.$field.is_some() {
                    self.$field = hints.$field.clone();
                }
            )*};
        }
        take!(
            data_type,
            nullable,
            precision,
            scale,
            timezone,
            primary_key,
            merge_key,
            unique,
            row_key,
            parent_key,
            root_key,
            variant,
            description
        );
        for (k, v) in &hints.other {
            self.other.insert(k.clone(), v.clone());
        }
    }
}

/// The normalizer's per-table settings (dlt's `x-normalizer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NormalizerHints {
    /// Levels of nesting flattened into child tables; deeper data is kept as `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nesting: Option<u32>,
    /// Set once the table received data in a completed load.
    #[serde(rename = "seen-data", default, skip_serializing_if = "Option::is_none")]
    pub seen_data: Option<bool>,
    /// dltrs: items and values a schema contract discards are kept in `<table>__rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<bool>,
    /// dltrs: the first load of the table may create its tables whatever the `tables`
    /// contract says (dlt's `tables: freeze` refuses even the first run).
    #[serde(
        rename = "create-tables-on-first-run",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub create_tables_on_first_run: Option<bool>,
    /// Other normalizer keys, kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl NormalizerHints {
    fn is_empty(&self) -> bool {
        self.max_nesting.is_none()
            && self.seen_data.is_none()
            && self.quarantine.is_none()
            && self.create_tables_on_first_run.is_none()
            && self.other.is_empty()
    }
}

/// A table: its columns in order and its hints, serialized exactly as dlt stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Table {
    /// Table name, already normalized.
    pub name: String,
    /// Columns in creation order: data columns as first seen, then `_dlt_*`, then later ones.
    #[serde(default)]
    pub columns: IndexMap<String, Column>,
    /// Write disposition (root tables; child tables follow their root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_disposition: Option<WriteDisposition>,
    /// Parent table of a child (nested) table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The resource that produces the table (root tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Merge strategy of a `merge` table.
    #[serde(
        rename = "x-merge-strategy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merge_strategy: Option<MergeStrategy>,
    /// Normalizer settings.
    #[serde(
        rename = "x-normalizer",
        default,
        skip_serializing_if = "NormalizerHints::is_empty"
    )]
    pub normalizer: NormalizerHints,
    /// What loads may change in this table (and its child tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_contract: Option<super::SchemaContract>,
    /// Other table keys dlt knows (`table_format`, ...), kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Table {
    /// A new root table produced by the resource of the same name.
    pub fn new_root(name: impl Into<String>, write_disposition: WriteDisposition) -> Self {
        let name = name.into();
        Table {
            resource: Some(name.clone()),
            name,
            write_disposition: Some(write_disposition),
            ..Table::default()
        }
    }

    /// A new child table of `parent`.
    pub fn new_child(name: impl Into<String>, parent: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            parent: Some(parent.into()),
            ..Table::default()
        }
    }

    /// True for tables created from lists inside another table's rows.
    pub fn is_nested(&self) -> bool {
        self.parent.is_some()
    }

    /// Names of the columns that carry `hint` (e.g. primary key), in column order.
    pub fn columns_with(&self, hint: impl Fn(&Column) -> Option<bool>) -> Vec<&str> {
        self.columns
            .values()
            .filter(|c| hint(c) == Some(true))
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Complete columns, in order.
    pub fn complete_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.values().filter(|c| c.is_complete())
    }
}
