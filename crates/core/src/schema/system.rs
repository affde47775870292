//! dlt's bookkeeping tables as they appear in every schema (`dlt/common/schema/utils.py`).

use super::{Column, Table, WriteDisposition};
use crate::types::DataType;

/// Name of the table that stores schema versions.
pub const VERSION_TABLE: &str = "_dlt_version";
/// Name of the table that records completed loads.
pub const LOADS_TABLE: &str = "_dlt_loads";

fn column(name: &str, data_type: DataType, nullable: bool, description: &str) -> Column {
    Column {
        name: name.into(),
        data_type: Some(data_type),
        nullable: Some(nullable),
        description: Some(description.into()),
        ..Column::default()
    }
}

fn system_table(name: &str, columns: Vec<Column>, description: &str) -> Table {
    Table {
        name: name.into(),
        columns: columns.into_iter().map(|c| (c.name.clone(), c)).collect(),
        write_disposition: Some(WriteDisposition::Skip),
        resource: Some(name.into()),
        description: Some(description.into()),
        ..Table::default()
    }
}

pub(super) fn version_table() -> Table {
    system_table(
        VERSION_TABLE,
        vec![
            column(
                "version",
                DataType::Bigint,
                false,
                "Numeric version of the schema, incremented on each schema change",
            ),
            column(
                "engine_version",
                DataType::Bigint,
                false,
                "Version of the dlt schema engine that created this schema",
            ),
            column(
                "inserted_at",
                DataType::Timestamp,
                false,
                "Timestamp when this schema version was stored",
            ),
            column("schema_name", DataType::Text, false, "Name of the schema"),
            column(
                "version_hash",
                DataType::Text,
                false,
                "Unique hash of the schema content, used to detect changes",
            ),
            column(
                "schema",
                DataType::Text,
                false,
                "JSON representation of the complete schema definition",
            ),
        ],
        "Created by DLT. Tracks schema updates",
    )
}

/// `_dlt_pipeline_state` as dlt declares it (`dlt/common/schema/utils.py:pipeline_state_table`).
pub fn pipeline_state_table() -> Table {
    let mut dlt_id = column("_dlt_id", DataType::Text, false, "");
    dlt_id.description = None;
    dlt_id.unique = Some(true);
    dlt_id.row_key = Some(true);
    let mut load_id = column("_dlt_load_id", DataType::Text, false, "");
    load_id.description = None;
    let plain = |name: &str, data_type, nullable| {
        let mut c = column(name, data_type, nullable, "");
        c.description = None;
        c
    };
    let mut table = Table {
        name: crate::state::STATE_TABLE.into(),
        columns: [
            plain("version", DataType::Bigint, false),
            plain("engine_version", DataType::Bigint, false),
            plain("pipeline_name", DataType::Text, false),
            plain("state", DataType::Text, false),
            plain("created_at", DataType::Timestamp, false),
            plain("version_hash", DataType::Text, true),
            load_id,
            dlt_id,
        ]
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect(),
        write_disposition: Some(WriteDisposition::Append),
        resource: Some(crate::state::STATE_TABLE.into()),
        ..Table::default()
    };
    table
        .other
        .insert("file_format".into(), serde_json::json!("preferred"));
    table
}

pub(super) fn loads_table() -> Table {
    let mut load_id = column(
        "load_id",
        DataType::Text,
        false,
        "Unique identifier of the load operation",
    );
    load_id.precision = Some(64);
    system_table(
        LOADS_TABLE,
        vec![
            load_id,
            column(
                "schema_name",
                DataType::Text,
                true,
                "Name of the schema associated with this load",
            ),
            column(
                "status",
                DataType::Bigint,
                false,
                "Status of the load operation (0 = success)",
            ),
            column(
                "inserted_at",
                DataType::Timestamp,
                false,
                "Timestamp when the load was completed",
            ),
            column(
                "schema_version_hash",
                DataType::Text,
                true,
                "Hash of the schema version used during this load",
            ),
        ],
        "Created by DLT. Tracks completed loads",
    )
}
