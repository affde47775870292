//! Reading back what a dataset holds of a pipeline: its newest state and schema, for a working
//! directory that was lost.

use super::{Dataset, Dialect, Param, Session, SqlClient};
use crate::destination::{BoxError, Restored};
use crate::schema::{LOADS_TABLE, VERSION_TABLE};
use crate::state::{STATE_TABLE, StateRow};

/// The newest state of a completed load of `pipeline_name` (`_dlt_pipeline_state` joined with
/// `_dlt_loads`) and the newest stored schema `schema_name` (`_dlt_version`) in `dataset`;
/// `None` when the dataset has neither.
pub fn restore<C: SqlClient, D: Dialect>(
    client: &mut C,
    dialect: &D,
    dataset: &Dataset,
    pipeline_name: &str,
    schema_name: &str,
) -> Result<Option<Restored>, BoxError> {
    let mut sql = Session {
        client,
        dialect,
        dataset,
    };
    let state = if sql.has_table(STATE_TABLE)? && sql.has_table(LOADS_TABLE)? {
        // only states of completed loads (status 0), newest version first
        let query = format!(
            "SELECT s.\"state\" FROM {} s JOIN {} l ON l.\"load_id\" = s.\"_dlt_load_id\" \
             WHERE s.\"pipeline_name\" = {} AND l.\"status\" = 0 \
             ORDER BY s.\"version\" DESC, s.\"_dlt_load_id\" DESC LIMIT 1",
            sql.table(STATE_TABLE),
            sql.table(LOADS_TABLE),
            sql.p(1)
        );
        match sql.first_text(&query, &[Param::Text(pipeline_name)])? {
            Some(encoded) => {
                Some(StateRow::decode(&encoded).map_err(|e| sql.client.report(e.into()))?)
            }
            None => None,
        }
    } else {
        None
    };
    let schema = if sql.has_table(VERSION_TABLE)? {
        let query = format!(
            "SELECT \"schema\" FROM {} WHERE \"schema_name\" = {} \
             ORDER BY \"version\" DESC, \"inserted_at\" DESC LIMIT 1",
            sql.table(VERSION_TABLE),
            sql.p(1)
        );
        sql.first_text(&query, &[Param::Text(schema_name)])?
    } else {
        None
    };
    if state.is_none() && schema.is_none() {
        return Ok(None);
    }
    Ok(Some(Restored { state, schema }))
}

impl<C: SqlClient, D: Dialect> Session<'_, C, D> {
    /// True when the dataset has `table`.
    fn has_table(&mut self, table: &str) -> Result<bool, BoxError> {
        let (in_dataset, mut params) = self.in_dataset();
        params.push(Param::Text(table));
        let query = format!(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE {in_dataset} AND table_name = {})",
            self.p(params.len())
        );
        self.client.query_bool(&query, &params)
    }

    /// The first column of the first row of `query`, if there is one.
    fn first_text(
        &mut self,
        query: &str,
        params: &[Param<'_>],
    ) -> Result<Option<String>, BoxError> {
        let rows = self.client.query_text(query, params)?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten()))
    }
}
