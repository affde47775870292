//! [`TableHints`]: what a resource says about its root table before data arrives.

use super::{Column, MergeStrategy, Schema, SchemaChange, Table, WriteDisposition};
use crate::naming::NamingConvention;

/// scd2's column of when a row version became active (dlt's default name).
pub const SCD2_VALID_FROM: &str = "_dlt_valid_from";
/// scd2's column of when a row version was retired, null while it is active.
pub const SCD2_VALID_TO: &str = "_dlt_valid_to";

/// Hints for a root table: disposition, keys, nesting limit and declared columns.
/// Names are source names; they are normalized when applied. Stored in extracted packages.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableHints {
    /// Write disposition (`append` when not set on a new table).
    pub write_disposition: Option<WriteDisposition>,
    /// Merge strategy for `merge` tables.
    pub merge_strategy: Option<MergeStrategy>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// Merge key columns.
    pub merge_key: Vec<String>,
    /// Levels of nesting unpacked into child tables (dlt's `max_table_nesting`).
    pub max_nesting: Option<u32>,
    /// Declared columns; a declared type wins over inference.
    pub columns: Vec<Column>,
    /// What loads may change in the table's schema.
    pub schema_contract: Option<super::SchemaContract>,
    /// Keep what the contract discards in `<table>__rejected`.
    pub quarantine: Option<bool>,
    /// The first load may create the tables whatever the `tables` contract says.
    pub create_tables_on_first_run: Option<bool>,
    /// dlt's `table_format` (`delta`): how a destination that has table formats keeps the
    /// table and its child tables; stored in the table's schema under dlt's key.
    pub table_format: Option<String>,
}

impl Schema {
    /// Creates or updates the root table `table_name` (a source name) with `hints`, returning
    /// the normalized table name. Key columns become `nullable: false` hint columns that take
    /// their type from the first value.
    pub fn apply_hints(
        &mut self,
        naming: &dyn NamingConvention,
        table_name: &str,
        hints: &TableHints,
        changes: &mut Vec<SchemaChange>,
    ) -> String {
        let name = naming.normalize_tables_path(table_name);
        let table = self.tables.entry(name.clone()).or_insert_with(|| {
            changes.push(SchemaChange::NewTable {
                table: name.clone(),
                parent: None,
            });
            Table::new_root(name.clone(), hints.write_disposition.unwrap_or_default())
        });
        if let Some(wd) = hints.write_disposition {
            table.write_disposition = Some(wd);
        }
        if hints.merge_strategy.is_some() {
            table.merge_strategy = hints.merge_strategy;
        }
        if hints.merge_strategy == Some(MergeStrategy::Scd2) {
            // dlt's validity columns lead the table: when a version became active, and when
            // it was retired (null while active)
            for (index, (column, hint)) in [
                (SCD2_VALID_FROM, "x-valid-from"),
                (SCD2_VALID_TO, "x-valid-to"),
            ]
            .into_iter()
            .enumerate()
            {
                if table.columns.contains_key(column) {
                    continue;
                }
                let mut validity = Column::new(column, crate::DataType::Timestamp);
                validity.nullable = Some(true);
                validity
                    .other
                    .insert(hint.into(), serde_json::Value::Bool(true));
                changes.push(SchemaChange::NewColumn {
                    table: name.clone(),
                    column: column.into(),
                    data_type: crate::DataType::Timestamp,
                    variant: false,
                });
                table.columns.shift_insert(index, column.into(), validity);
            }
        }
        if let Some(max_nesting) = hints.max_nesting {
            table.normalizer.max_nesting = Some(max_nesting);
        }
        if let Some(contract) = hints.schema_contract {
            table.schema_contract = Some(contract);
        }
        if let Some(quarantine) = hints.quarantine {
            table.normalizer.quarantine = Some(quarantine);
        }
        if let Some(create) = hints.create_tables_on_first_run {
            table.normalizer.create_tables_on_first_run = Some(create);
        }
        if let Some(format) = &hints.table_format {
            table.other.insert(
                "table_format".into(),
                serde_json::Value::String(format.clone()),
            );
        }
        let mut declared: Vec<Column> = Vec::new();
        for key in &hints.primary_key {
            declared.push(Column {
                name: naming.normalize_path(key),
                nullable: Some(false),
                primary_key: Some(true),
                ..Column::default()
            });
        }
        for key in &hints.merge_key {
            declared.push(Column {
                name: naming.normalize_path(key),
                nullable: Some(false),
                merge_key: Some(true),
                ..Column::default()
            });
        }
        for column in &hints.columns {
            let mut column = column.clone();
            column.name = naming.normalize_path(&column.name);
            declared.push(column);
        }
        for hint in declared {
            match table.columns.get_mut(&hint.name) {
                Some(existing) => existing.merge_hints(&hint),
                None => {
                    if let Some(data_type) = hint.data_type {
                        changes.push(SchemaChange::NewColumn {
                            table: name.clone(),
                            column: hint.name.clone(),
                            data_type,
                            variant: false,
                        });
                    }
                    table.columns.insert(hint.name.clone(), hint);
                }
            }
        }
        let needs_root_key = self
            .tables
            .get(&name)
            .is_some_and(|t| self.requires_root_key(t));
        if needs_root_key {
            self.record_root_key_propagation(&name);
        }
        name
    }
}
