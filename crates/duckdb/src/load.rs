//! Applying one normalized package in one transaction.

use dltrs_core::destination::{DestinationError, LoadOutcome};
use dltrs_core::normalize::row_id::random_row_id;
use dltrs_core::package::{NormalizedPackage, NormalizedTable, RootTable};
use dltrs_core::progress::Progress;
use dltrs_core::schema::{LOADS_TABLE, Schema, VERSION_TABLE, WriteDisposition};
use dltrs_core::state::STATE_TABLE;
use duckdb::Connection;

use crate::ddl::{Catalog, ensure_root_keys, sync_table};
use crate::merge;
use crate::scan;
use crate::sql::{Dataset, ident, ident_list};

/// A failure at one step of a package, before it is wrapped with the load id.
pub(crate) struct StepError {
    pub(crate) step: String,
    pub(crate) source: dltrs_core::destination::BoxError,
}

pub(crate) type StepResult<T> = Result<T, StepError>;

/// Tags a driver error with the table or step it happened at.
pub(crate) fn at<E: Into<dltrs_core::destination::BoxError>>(
    step: &str,
) -> impl FnOnce(E) -> StepError + '_ {
    move |e| StepError {
        step: step.to_string(),
        source: e.into(),
    }
}

/// Applies `package` to `dataset` inside one transaction, or not at all.
pub(crate) fn load_package(
    conn: &Connection,
    dataset: &Dataset,
    package: &NormalizedPackage,
    progress: &Progress,
) -> Result<LoadOutcome, DestinationError> {
    let wrap = |e: StepError| DestinationError::Load {
        load_id: package.load_id().to_string(),
        table: e.step,
        source: e.source,
    };
    conn.execute_batch("BEGIN TRANSACTION")
        .map_err(at("BEGIN"))
        .map_err(wrap)?;
    match apply(conn, dataset, package, progress) {
        Ok(LoadOutcome::Loaded) => {
            conn.execute_batch("COMMIT")
                .map_err(at("COMMIT"))
                .map_err(wrap)?;
            Ok(LoadOutcome::Loaded)
        }
        Ok(LoadOutcome::AlreadyLoaded) => {
            conn.execute_batch("ROLLBACK")
                .map_err(at("ROLLBACK"))
                .map_err(wrap)?;
            Ok(LoadOutcome::AlreadyLoaded)
        }
        Err(e) => {
            // the error that made us stop is the one to report
            let _ = conn.execute_batch("ROLLBACK");
            Err(wrap(e))
        }
    }
}

fn apply(
    conn: &Connection,
    dataset: &Dataset,
    package: &NormalizedPackage,
    progress: &Progress,
) -> StepResult<LoadOutcome> {
    let load_id = package.load_id();
    let schema = &package.schema;
    conn.execute_batch(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        dataset.qualified()
    ))
    .map_err(at("schema"))?;
    let mut catalog = Catalog::read(conn, dataset).map_err(at("schema"))?;
    if catalog.has_table(LOADS_TABLE)
        && is_loaded(conn, dataset, load_id).map_err(at(LOADS_TABLE))?
    {
        return Ok(LoadOutcome::AlreadyLoaded);
    }

    for table in &package.manifest.drop_tables {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", dataset.table(table)))
            .map_err(at(table))?;
    }
    if !package.manifest.drop_tables.is_empty() {
        catalog = Catalog::read(conn, dataset).map_err(at("schema"))?;
    }
    for table in package.tables_to_create() {
        sync_table(conn, dataset, schema, &table, &mut catalog).map_err(at(&table.name))?;
    }

    for root in &package.manifest.roots {
        load_root(conn, dataset, package, root, &mut catalog, progress)?;
    }

    store_schema_version(conn, dataset, schema).map_err(at(VERSION_TABLE))?;
    if let Some(state) = &package.manifest.state {
        let sql = format!(
            "INSERT INTO {} (\"version\", \"engine_version\", \"pipeline_name\", \"state\", \
             \"created_at\", \"version_hash\", \"_dlt_load_id\", \"_dlt_id\") \
             VALUES (?, ?, ?, ?, now(), ?, ?, ?)",
            dataset.table(STATE_TABLE)
        );
        conn.execute(
            &sql,
            duckdb::params![
                state.version,
                state.engine_version,
                state.pipeline_name,
                state.state,
                state.version_hash,
                load_id,
                random_row_id(&mut rand::rng()),
            ],
        )
        .map_err(at(STATE_TABLE))?;
    }
    let sql = format!(
        "INSERT INTO {} (\"load_id\", \"schema_name\", \"status\", \"inserted_at\", \
         \"schema_version_hash\") VALUES (?, ?, 0, now(), ?)",
        dataset.table(LOADS_TABLE)
    );
    conn.execute(
        &sql,
        duckdb::params![load_id, schema.name, schema.version_hash],
    )
    .map_err(at(LOADS_TABLE))?;
    Ok(LoadOutcome::Loaded)
}

fn is_loaded(conn: &Connection, dataset: &Dataset, load_id: &str) -> duckdb::Result<bool> {
    let sql = format!(
        "SELECT count(*) FROM {} WHERE \"load_id\" = ?",
        dataset.table(LOADS_TABLE)
    );
    let n: i64 = conn.query_row(&sql, [load_id], |row| row.get(0))?;
    Ok(n > 0)
}

/// Stores the schema in `_dlt_version` unless that version hash is already there.
fn store_schema_version(
    conn: &Connection,
    dataset: &Dataset,
    schema: &Schema,
) -> duckdb::Result<()> {
    let table = dataset.table(VERSION_TABLE);
    // a schema can come back to an earlier content (a dropped table): that is a new version
    // with an old hash, stored again so the newest version is the newest row
    let n: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM {table} WHERE \"version_hash\" = ? AND \"schema_name\" = ? AND \"version\" = ?"
        ),
        duckdb::params![schema.version_hash, schema.name, schema.version as i64],
        |row| row.get(0),
    )?;
    if n == 0 {
        conn.execute(
            &format!(
                "INSERT INTO {table} (\"version\", \"engine_version\", \"inserted_at\", \
                 \"schema_name\", \"version_hash\", \"schema\") VALUES (?, ?, now(), ?, ?, ?)"
            ),
            duckdb::params![
                schema.version as i64,
                i64::from(schema.engine_version),
                schema.name,
                schema.version_hash,
                schema.to_json(),
            ],
        )?;
    }
    Ok(())
}

/// Loads a root table and its child tables by the root's write disposition.
fn load_root(
    conn: &Connection,
    dataset: &Dataset,
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
    let disposition = package.disposition(root);
    match disposition {
        WriteDisposition::Replace => {
            let mut tables = vec![root_table];
            tables.extend(schema.descendants(&root.name));
            for table in tables {
                if catalog.has_table(&table.name) {
                    conn.execute_batch(&format!("DELETE FROM {}", dataset.table(&table.name)))
                        .map_err(at(&table.name))?;
                }
            }
            append_all(conn, dataset, package, &chain, progress)
        }
        WriteDisposition::Merge => {
            let keys = dltrs_core::sql::MergeKeys::of(root_table);
            if keys.is_empty() {
                // dlt falls back to append when a merge table has no keys
                return append_all(conn, dataset, package, &chain, progress);
            }
            ensure_root_keys(conn, dataset, schema, &root.name, catalog).map_err(at(&root.name))?;
            merge::delete_insert(
                conn, dataset, package, root_table, &keys, &chain, catalog, progress,
            )
        }
        WriteDisposition::Append | WriteDisposition::Skip => {
            append_all(conn, dataset, package, &chain, progress)
        }
    }
}

fn append_all(
    conn: &Connection,
    dataset: &Dataset,
    package: &NormalizedPackage,
    tables: &[&NormalizedTable],
    progress: &Progress,
) -> StepResult<()> {
    for table in tables {
        append(
            conn,
            Target::Dataset(dataset),
            &table.name,
            package,
            table,
            progress,
        )?;
    }
    Ok(())
}

/// Where a package table's rows go.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// A table of the dataset, in no fixed row order.
    Dataset(&'a Dataset),
    /// A temporary table of this connection, in the package's row order.
    Temp,
}

/// Inserts a package table's rows into `table`, one `INSERT ... SELECT` per file.
pub(crate) fn append(
    conn: &Connection,
    target: Target<'_>,
    table: &str,
    package: &NormalizedPackage,
    data: &NormalizedTable,
    progress: &Progress,
) -> StepResult<()> {
    let (into, function) = match target {
        Target::Dataset(dataset) => (dataset.table(table), scan::PARALLEL),
        Target::Temp => (format!("temp.main.{}", ident(table)), scan::ORDERED),
    };
    for file in package.batch_files(data) {
        let scan = scan::Registration::new(file.map_err(at(&data.name))?);
        let columns = ident_list(scan.schema().fields().iter().map(|f| f.name().as_str()));
        let sql = format!("INSERT INTO {into} ({columns}) SELECT * FROM {function}(?)");
        let inserted = conn.execute(&sql, [scan.token()]);
        if let Some(error) = scan.take_error() {
            // the file could not be read: that, not DuckDB's echo of it, is the error
            return Err(at(&data.name)(error));
        }
        inserted.map_err(at(&data.name))?;
        progress.loaded_rows(scan.rows());
    }
    progress.loaded_file();
    Ok(())
}
