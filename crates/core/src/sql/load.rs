//! Applying one normalized package in one transaction (see [`crate::destination`]):
//!
//! ```text
//! BEGIN
//!   CREATE SCHEMA; skip the package if _dlt_loads has its load id      (rolled back)
//!   DROP TABLE the package drops; CREATE TABLE / ADD COLUMN             ddl.rs
//!   per root table of the package, by write disposition:
//!     append   one bulk append per package file                        SqlClient::append_file
//!     replace  empty the root and child tables, then append
//!     merge    stage, delete-insert                                    merge.rs
//!   deferred UNIQUE constraints                                        ddl.rs
//!   _dlt_version (new schema version), _dlt_pipeline_state (state changed), _dlt_loads
//! COMMIT
//! ```

use super::ddl::Catalog;
use super::{Dataset, Dialect, MergeKeys, Param, RowOrder, Session, SqlClient};
use crate::destination::{BoxError, DestinationError, LoadOutcome};
use crate::normalize::row_id::random_row_id;
use crate::package::{NormalizedPackage, NormalizedTable, RootTable};
use crate::progress::Progress;
use crate::schema::{LOADS_TABLE, Schema, VERSION_TABLE, WriteDisposition};
use crate::state::STATE_TABLE;

/// A failure at one step of a package, before it is wrapped with the load id.
pub(crate) struct StepError {
    step: String,
    source: BoxError,
}

pub(crate) type StepResult<T> = Result<T, StepError>;

/// Tags an error with the table or step it happened at.
pub(crate) fn at(step: &str) -> impl FnOnce(BoxError) -> StepError + '_ {
    move |source| StepError {
        step: step.to_string(),
        source,
    }
}

/// Applies `package` to `dataset` through `client` inside one transaction, or not at all; a
/// package whose load id `_dlt_loads` holds is not applied again. Rows and files loaded are
/// counted in `progress`.
pub fn load_package<C: SqlClient, D: Dialect>(
    client: &mut C,
    dialect: &D,
    dataset: &Dataset,
    package: &NormalizedPackage,
    progress: &Progress,
) -> Result<LoadOutcome, DestinationError> {
    let wrap = |client: &C, e: StepError| DestinationError::Load {
        load_id: package.load_id().to_string(),
        atomicity: crate::destination::Atomicity::Transactional,
        failure: client.failure(&e.source),
        table: e.step,
        source: e.source,
    };
    client
        .begin()
        .map_err(at("BEGIN"))
        .map_err(|e| wrap(client, e))?;
    let mut sql = Session {
        client,
        dialect,
        dataset,
    };
    match sql.apply(package, progress) {
        Ok(LoadOutcome::Loaded) => {
            let committed = sql.client.commit().map_err(at("COMMIT"));
            committed.map_err(|e| wrap(sql.client, e))?;
            Ok(LoadOutcome::Loaded)
        }
        Ok(LoadOutcome::AlreadyLoaded) => {
            let rolled_back = sql.client.rollback().map_err(at("ROLLBACK"));
            rolled_back.map_err(|e| wrap(sql.client, e))?;
            Ok(LoadOutcome::AlreadyLoaded)
        }
        Err(e) => {
            // the error that made us stop is the one to report
            let _ = sql.client.rollback();
            Err(wrap(sql.client, e))
        }
    }
}

impl<C: SqlClient, D: Dialect> Session<'_, C, D> {
    fn apply(
        &mut self,
        package: &NormalizedPackage,
        progress: &Progress,
    ) -> StepResult<LoadOutcome> {
        let load_id = package.load_id();
        let schema = &package.schema;
        self.client
            .execute_batch(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                self.dataset.qualified()
            ))
            .map_err(at("schema"))?;
        let mut catalog = Catalog::read(self).map_err(at("schema"))?;
        if catalog.has_table(LOADS_TABLE) && self.is_loaded(load_id).map_err(at(LOADS_TABLE))? {
            return Ok(LoadOutcome::AlreadyLoaded);
        }

        for table in &package.manifest.drop_tables {
            self.client
                .execute_batch(&format!("DROP TABLE IF EXISTS {}", self.table(table)))
                .map_err(at(table))?;
        }
        if !package.manifest.drop_tables.is_empty() {
            catalog = Catalog::read(self).map_err(at("schema"))?;
        }
        for table in package.tables_to_create() {
            self.sync_table(schema, &table, &mut catalog)
                .map_err(at(&table.name))?;
        }

        for root in &package.manifest.roots {
            self.load_root(package, root, &mut catalog, progress)?;
        }
        self.add_deferred_constraints(&mut catalog)
            .map_err(at("constraints"))?;

        self.store_schema_version(schema)
            .map_err(at(VERSION_TABLE))?;
        if let Some(state) = &package.manifest.state {
            let row_id = random_row_id(&mut rand::rng());
            let sql = format!(
                "INSERT INTO {} (\"version\", \"engine_version\", \"pipeline_name\", \"state\", \
                 \"created_at\", \"version_hash\", \"_dlt_load_id\", \"_dlt_id\") \
                 VALUES ({}, {}, {}, {}, now(), {}, {}, {})",
                self.table(STATE_TABLE),
                self.p(1),
                self.p(2),
                self.p(3),
                self.p(4),
                self.p(5),
                self.p(6),
                self.p(7),
            );
            self.client
                .execute(
                    &sql,
                    &[
                        Param::Int(state.version),
                        Param::Int(state.engine_version),
                        Param::Text(&state.pipeline_name),
                        Param::Text(&state.state),
                        Param::Text(&state.version_hash),
                        Param::Text(load_id),
                        Param::Text(&row_id),
                    ],
                )
                .map_err(at(STATE_TABLE))?;
        }
        let sql = format!(
            "INSERT INTO {} (\"load_id\", \"schema_name\", \"status\", \"inserted_at\", \
             \"schema_version_hash\") VALUES ({}, {}, 0, now(), {})",
            self.table(LOADS_TABLE),
            self.p(1),
            self.p(2),
            self.p(3),
        );
        self.client
            .execute(
                &sql,
                &[
                    Param::Text(load_id),
                    Param::Text(&schema.name),
                    Param::Text(&schema.version_hash),
                ],
            )
            .map_err(at(LOADS_TABLE))?;
        Ok(LoadOutcome::Loaded)
    }

    fn is_loaded(&mut self, load_id: &str) -> Result<bool, BoxError> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE \"load_id\" = {})",
            self.table(LOADS_TABLE),
            self.p(1)
        );
        self.client.query_bool(&sql, &[Param::Text(load_id)])
    }

    /// Stores the schema in `_dlt_version` unless that version is already there.
    fn store_schema_version(&mut self, schema: &Schema) -> Result<(), BoxError> {
        let table = self.table(VERSION_TABLE);
        let version = schema.version as i64;
        // a schema can come back to an earlier content (a dropped table): that is a new version
        // with an old hash, stored again so the newest version is the newest row
        let exists = self.client.query_bool(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE \"version_hash\" = {} \
                 AND \"schema_name\" = {} AND \"version\" = {})",
                self.p(1),
                self.p(2),
                self.p(3)
            ),
            &[
                Param::Text(&schema.version_hash),
                Param::Text(&schema.name),
                Param::Int(version),
            ],
        )?;
        if !exists {
            let json = schema.to_json();
            self.client.execute(
                &format!(
                    "INSERT INTO {table} (\"version\", \"engine_version\", \"inserted_at\", \
                     \"schema_name\", \"version_hash\", \"schema\") \
                     VALUES ({}, {}, now(), {}, {}, {})",
                    self.p(1),
                    self.p(2),
                    self.p(3),
                    self.p(4),
                    self.p(5)
                ),
                &[
                    Param::Int(version),
                    Param::Int(i64::from(schema.engine_version)),
                    Param::Text(&schema.name),
                    Param::Text(&schema.version_hash),
                    Param::Text(&json),
                ],
            )?;
        }
        Ok(())
    }

    /// Loads a root table and its child tables by the root's write disposition.
    fn load_root(
        &mut self,
        package: &NormalizedPackage,
        root: &RootTable,
        catalog: &mut Catalog,
        progress: &Progress,
    ) -> StepResult<()> {
        let schema = &package.schema;
        let Some(root_table) = schema.table(&root.name) else {
            return Ok(());
        };
        let chain = package.chain(&root.name);
        match package.disposition(root) {
            WriteDisposition::Replace => {
                let mut tables = vec![root_table];
                tables.extend(schema.descendants(&root.name));
                let existing: Vec<&str> = tables
                    .iter()
                    .filter(|t| catalog.has_table(&t.name))
                    .map(|t| t.name.as_str())
                    .collect();
                self.empty_tables(&root.name, &existing)?;
                self.append_all(package, &chain, progress)
            }
            WriteDisposition::Merge => {
                let keys = MergeKeys::of(root_table);
                let scd2 = root_table.merge_strategy == Some(crate::schema::MergeStrategy::Scd2);
                if keys.is_empty() && !scd2 {
                    // dlt falls back to append when a merge table has no keys
                    return self.append_all(package, &chain, progress);
                }
                let strategy = root_table
                    .merge_strategy
                    .unwrap_or(crate::schema::MergeStrategy::DeleteInsert);
                if strategy == crate::schema::MergeStrategy::Upsert && keys.primary.is_empty() {
                    return Err(at(&root.name)(
                        "the upsert strategy needs a primary key (a merge key is not enough, as in dlt): declare primary_key".into(),
                    ));
                }
                self.ensure_root_keys(schema, &root.name, catalog)
                    .map_err(at(&root.name))?;
                self.merge(
                    strategy, package, root_table, &keys, &chain, catalog, progress,
                )
            }
            WriteDisposition::Append | WriteDisposition::Skip => {
                self.append_all(package, &chain, progress)
            }
        }
    }

    /// Empties a root's existing `tables` for `replace`, inside the transaction: readers see the
    /// old rows until the package commits, and a failed load leaves them in place.
    fn empty_tables(&mut self, root: &str, tables: &[&str]) -> StepResult<()> {
        if self.dialect.table_lists() {
            if !tables.is_empty() {
                let names: Vec<String> = tables.iter().map(|t| self.table(t)).collect();
                self.client
                    .execute_batch(&format!("TRUNCATE {}", names.join(", ")))
                    .map_err(at(root))?;
            }
            return Ok(());
        }
        for table in tables {
            self.client
                .execute_batch(&format!("DELETE FROM {}", self.table(table)))
                .map_err(at(table))?;
        }
        Ok(())
    }

    fn append_all(
        &mut self,
        package: &NormalizedPackage,
        tables: &[&NormalizedTable],
        progress: &Progress,
    ) -> StepResult<()> {
        for table in tables {
            let into = self.table(&table.name);
            self.append(&into, RowOrder::Any, package, table, progress)?;
        }
        Ok(())
    }

    /// Appends a package table's rows to `into` (a qualified name), one bulk append per file:
    /// a table's files differ in columns (a new file when its columns grew).
    pub(crate) fn append(
        &mut self,
        into: &str,
        order: RowOrder,
        package: &NormalizedPackage,
        data: &NormalizedTable,
        progress: &Progress,
    ) -> StepResult<()> {
        for file in package.batch_files(data) {
            let file = file
                .map_err(|e| self.client.report(e.into()))
                .map_err(at(&data.name))?;
            self.client
                .append_file(into, order, file, progress)
                .map_err(at(&data.name))?;
        }
        progress.loaded_file();
        Ok(())
    }
}
