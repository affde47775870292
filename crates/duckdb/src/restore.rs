//! Reading back what a dataset holds of a pipeline: its newest state and schema, for a working
//! directory that was lost.

use dltrs_core::destination::{BoxError, Restored};
use dltrs_core::schema::{LOADS_TABLE, VERSION_TABLE};
use dltrs_core::state::{STATE_TABLE, StateRow};
use duckdb::{Connection, OptionalExt, params};

use crate::sql::Dataset;

pub(crate) fn restore(
    conn: &Connection,
    dataset: &str,
    pipeline_name: &str,
    schema_name: &str,
) -> Result<Option<Restored>, BoxError> {
    let catalog: String = conn.query_row("SELECT current_database()", [], |row| row.get(0))?;
    let dataset = Dataset {
        catalog,
        schema: dataset.to_string(),
    };
    let exists = |table: &str| -> Result<bool, BoxError> {
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? AND table_name = ?",
            params![dataset.catalog, dataset.schema, table],
            |row| row.get(0),
        )?;
        Ok(n > 0)
    };
    let state = if exists(STATE_TABLE)? && exists(LOADS_TABLE)? {
        // only states of completed loads (status 0), newest version first
        let sql = format!(
            "SELECT s.\"state\" FROM {} s JOIN {} l ON l.\"load_id\" = s.\"_dlt_load_id\" \
             WHERE s.\"pipeline_name\" = ? AND l.\"status\" = 0 \
             ORDER BY s.\"version\" DESC, s.\"_dlt_load_id\" DESC LIMIT 1",
            dataset.table(STATE_TABLE),
            dataset.table(LOADS_TABLE)
        );
        let encoded: Option<String> = conn
            .query_row(&sql, params![pipeline_name], |row| row.get(0))
            .optional()?;
        encoded.map(|e| StateRow::decode(&e)).transpose()?
    } else {
        None
    };
    let schema = if exists(VERSION_TABLE)? {
        let sql = format!(
            "SELECT \"schema\" FROM {} WHERE \"schema_name\" = ? \
             ORDER BY \"version\" DESC, \"inserted_at\" DESC LIMIT 1",
            dataset.table(VERSION_TABLE)
        );
        conn.query_row(&sql, params![schema_name], |row| row.get::<_, String>(0))
            .optional()?
    } else {
        None
    };
    if state.is_none() && schema.is_none() {
        return Ok(None);
    }
    Ok(Some(Restored { state, schema }))
}
