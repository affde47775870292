//! Reading back what a dataset holds of a pipeline: its newest state and schema, for a working
//! directory that was lost.

use dltrs_core::destination::Restored;
use dltrs_core::schema::{LOADS_TABLE, VERSION_TABLE};
use dltrs_core::state::{STATE_TABLE, StateRow};
use postgres::Client;

use crate::sql::Dataset;

pub(crate) fn restore(
    client: &mut Client,
    dataset: &Dataset,
    pipeline_name: &str,
    schema_name: &str,
) -> Result<Option<Restored>, String> {
    let pg = |e: postgres::Error| crate::describe(&e);
    let mut exists = |table: &str| -> Result<bool, String> {
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name = $2)",
                &[&dataset.schema, &table],
            )
            .map_err(pg)?;
        row.try_get(0).map_err(pg)
    };
    let has_state = exists(STATE_TABLE)? && exists(LOADS_TABLE)?;
    let has_versions = exists(VERSION_TABLE)?;
    let state = if has_state {
        // only states of completed loads (status 0), newest version first
        let sql = format!(
            "SELECT s.\"state\" FROM {} s JOIN {} l ON l.\"load_id\" = s.\"_dlt_load_id\" \
             WHERE s.\"pipeline_name\" = $1 AND l.\"status\" = 0 \
             ORDER BY s.\"version\" DESC, s.\"_dlt_load_id\" DESC LIMIT 1",
            dataset.table(STATE_TABLE),
            dataset.table(LOADS_TABLE)
        );
        match client.query_opt(&sql, &[&pipeline_name]).map_err(pg)? {
            Some(row) => {
                let text: String = row.try_get(0).map_err(pg)?;
                Some(StateRow::decode(&text).map_err(|e| e.to_string())?)
            }
            None => None,
        }
    } else {
        None
    };
    let schema = if has_versions {
        let sql = format!(
            "SELECT \"schema\" FROM {} WHERE \"schema_name\" = $1 \
             ORDER BY \"version\" DESC, \"inserted_at\" DESC LIMIT 1",
            dataset.table(VERSION_TABLE)
        );
        client
            .query_opt(&sql, &[&schema_name])
            .map_err(pg)?
            .map(|row| row.try_get::<_, String>(0))
            .transpose()
            .map_err(pg)?
    } else {
        None
    };
    if state.is_none() && schema.is_none() {
        return Ok(None);
    }
    Ok(Some(Restored { state, schema }))
}
