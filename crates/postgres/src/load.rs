//! Applying one normalized package in one transaction.

use std::io::Write;

use dltrs_core::destination::{BoxError, DestinationError, LoadOutcome};
use dltrs_core::normalize::row_id::random_row_id;
use dltrs_core::package::{NormalizedPackage, NormalizedTable, RootTable};
use dltrs_core::progress::Progress;
use dltrs_core::schema::{LOADS_TABLE, Schema, VERSION_TABLE, WriteDisposition};
use dltrs_core::state::STATE_TABLE;
use postgres::{Client, Transaction};

use crate::copy;
use crate::ddl::{Catalog, ensure_root_keys, sync_table};
use crate::merge;
use crate::sql::{Dataset, ident_list};

/// Bytes of COPY data gathered before they are sent.
const COPY_CHUNK: usize = 1 << 20;

/// A failure at one step of a package, before it is wrapped with the load id.
pub(crate) struct StepError {
    pub(crate) step: String,
    pub(crate) source: BoxError,
}

pub(crate) type StepResult<T> = Result<T, StepError>;

/// Tags an error with the table or step it happened at. The driver's `Display` is only "db
/// error"; the server's message (and its detail and hint) are in the source chain, so the text
/// kept is the whole chain.
pub(crate) fn at<E: std::error::Error>(step: &str) -> impl FnOnce(E) -> StepError + '_ {
    move |e| StepError {
        step: step.to_string(),
        source: crate::describe(&e).into(),
    }
}

/// Applies `package` to `dataset` inside one transaction, or not at all.
pub(crate) fn load_package(
    client: &mut Client,
    dataset: &Dataset,
    package: &NormalizedPackage,
    progress: &Progress,
) -> Result<LoadOutcome, DestinationError> {
    let wrap = |e: StepError| DestinationError::Load {
        load_id: package.load_id().to_string(),
        table: e.step,
        source: e.source,
    };
    let mut tx = client.transaction().map_err(at("BEGIN")).map_err(wrap)?;
    // dropping `tx` without commit rolls back
    match apply(&mut tx, dataset, package, progress).map_err(wrap)? {
        LoadOutcome::Loaded => {
            tx.commit().map_err(at("COMMIT")).map_err(wrap)?;
            Ok(LoadOutcome::Loaded)
        }
        LoadOutcome::AlreadyLoaded => Ok(LoadOutcome::AlreadyLoaded),
    }
}

fn apply(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    package: &NormalizedPackage,
    progress: &Progress,
) -> StepResult<LoadOutcome> {
    let load_id = package.load_id();
    let schema = &package.schema;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        dataset.qualified()
    ))
    .map_err(at("schema"))?;
    let mut catalog = Catalog::read(tx, dataset).map_err(at("schema"))?;
    if catalog.has_table(LOADS_TABLE) && is_loaded(tx, dataset, load_id).map_err(at(LOADS_TABLE))? {
        return Ok(LoadOutcome::AlreadyLoaded);
    }

    for table in &package.manifest.drop_tables {
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", dataset.table(table)))
            .map_err(at(table))?;
    }
    if !package.manifest.drop_tables.is_empty() {
        catalog = Catalog::read(tx, dataset).map_err(at("schema"))?;
    }
    for table in package.tables_to_create() {
        sync_table(tx, dataset, schema, &table, &mut catalog).map_err(at(&table.name))?;
    }

    for root in &package.manifest.roots {
        load_root(tx, dataset, package, root, &mut catalog, progress)?;
    }
    catalog
        .add_deferred_constraints(tx, dataset)
        .map_err(at("constraints"))?;

    store_schema_version(tx, dataset, schema).map_err(at(VERSION_TABLE))?;
    if let Some(state) = &package.manifest.state {
        let sql = format!(
            "INSERT INTO {} (\"version\", \"engine_version\", \"pipeline_name\", \"state\", \
             \"created_at\", \"version_hash\", \"_dlt_load_id\", \"_dlt_id\") \
             VALUES ($1, $2, $3, $4, now(), $5, $6, $7)",
            dataset.table(STATE_TABLE)
        );
        tx.execute(
            &sql,
            &[
                &state.version,
                &state.engine_version,
                &state.pipeline_name,
                &state.state,
                &state.version_hash,
                &load_id,
                &random_row_id(&mut rand::rng()),
            ],
        )
        .map_err(at(STATE_TABLE))?;
    }
    let sql = format!(
        "INSERT INTO {} (\"load_id\", \"schema_name\", \"status\", \"inserted_at\", \
         \"schema_version_hash\") VALUES ($1, $2, 0, now(), $3)",
        dataset.table(LOADS_TABLE)
    );
    tx.execute(&sql, &[&load_id, &schema.name, &schema.version_hash])
        .map_err(at(LOADS_TABLE))?;
    Ok(LoadOutcome::Loaded)
}

fn is_loaded(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    load_id: &str,
) -> Result<bool, postgres::Error> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE \"load_id\" = $1)",
        dataset.table(LOADS_TABLE)
    );
    tx.query_one(&sql, &[&load_id])?.try_get(0)
}

/// Stores the schema in `_dlt_version` unless that version is already there.
fn store_schema_version(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    schema: &Schema,
) -> Result<(), postgres::Error> {
    let table = dataset.table(VERSION_TABLE);
    let version = schema.version as i64;
    // a schema can come back to an earlier content (a dropped table): that is a new version
    // with an old hash, stored again so the newest version is the newest row
    let exists: bool = tx
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE \"version_hash\" = $1 \
                 AND \"schema_name\" = $2 AND \"version\" = $3)"
            ),
            &[&schema.version_hash, &schema.name, &version],
        )?
        .try_get(0)?;
    if !exists {
        tx.execute(
            &format!(
                "INSERT INTO {table} (\"version\", \"engine_version\", \"inserted_at\", \
                 \"schema_name\", \"version_hash\", \"schema\") VALUES ($1, $2, now(), $3, $4, $5)"
            ),
            &[
                &version,
                &i64::from(schema.engine_version),
                &schema.name,
                &schema.version_hash,
                &schema.to_json(),
            ],
        )?;
    }
    Ok(())
}

/// Loads a root table and its child tables by the root's write disposition.
fn load_root(
    tx: &mut Transaction<'_>,
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
            // TRUNCATE is transactional in PostgreSQL: readers see the old rows until the
            // package commits, and a failed load leaves them in place
            let mut tables = vec![root_table];
            tables.extend(schema.descendants(&root.name));
            let existing: Vec<String> = tables
                .iter()
                .filter(|t| catalog.has_table(&t.name))
                .map(|t| dataset.table(&t.name))
                .collect();
            if !existing.is_empty() {
                tx.batch_execute(&format!("TRUNCATE {}", existing.join(", ")))
                    .map_err(at(&root.name))?;
            }
            append_all(tx, dataset, package, &chain, progress)
        }
        WriteDisposition::Merge => {
            let keys = dltrs_core::sql::MergeKeys::of(root_table);
            if keys.is_empty() {
                // dlt falls back to append when a merge table has no keys
                return append_all(tx, dataset, package, &chain, progress);
            }
            ensure_root_keys(tx, dataset, schema, &root.name, catalog).map_err(at(&root.name))?;
            merge::delete_insert(
                tx, dataset, package, root_table, &keys, &chain, catalog, progress,
            )
        }
        WriteDisposition::Append | WriteDisposition::Skip => {
            append_all(tx, dataset, package, &chain, progress)
        }
    }
}

fn append_all(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    package: &NormalizedPackage,
    tables: &[&NormalizedTable],
    progress: &Progress,
) -> StepResult<()> {
    for table in tables {
        copy_in(tx, &dataset.table(&table.name), package, table, progress)?;
    }
    Ok(())
}

/// Streams a package table's batches into `target` (a qualified table name): one binary
/// `COPY` per file, since a table's files differ in columns (a new file when columns grew).
pub(crate) fn copy_in(
    tx: &mut Transaction<'_>,
    target: &str,
    package: &NormalizedPackage,
    data: &NormalizedTable,
    progress: &Progress,
) -> StepResult<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(COPY_CHUNK + (COPY_CHUNK >> 2));
    for file in &data.files {
        let one = NormalizedTable {
            name: data.name.clone(),
            files: vec![file.clone()],
            rows: 0,
        };
        let mut batches = package.batches(&one);
        // the first batch with rows names the columns of this file's COPY
        let first = loop {
            match batches.next() {
                Some(batch) => {
                    let batch = batch.map_err(at(&data.name))?;
                    if batch.num_rows() > 0 {
                        break Some(batch);
                    }
                }
                None => break None,
            }
        };
        let Some(first) = first else {
            continue;
        };
        let sql = format!(
            "COPY {target} ({}) FROM STDIN WITH (FORMAT binary)",
            ident_list(first.schema().fields().iter().map(|f| f.name().as_str()))
        );
        let mut writer = tx.copy_in(&sql).map_err(at(&data.name))?;
        buf.clear();
        buf.extend_from_slice(copy::HEADER);
        let mut next = Some(Ok(first));
        while let Some(batch) = next {
            let batch = batch.map_err(at(&data.name))?;
            copy::encode_batch(&batch, &mut buf).map_err(at(&data.name))?;
            if buf.len() >= COPY_CHUNK {
                writer.write_all(&buf).map_err(at(&data.name))?;
                buf.clear();
            }
            progress.loaded_rows(batch.num_rows() as u64);
            next = batches.next();
        }
        finish(writer, &mut buf, &data.name)?;
    }
    progress.loaded_file();
    Ok(())
}

fn finish(
    mut writer: postgres::CopyInWriter<'_>,
    buf: &mut Vec<u8>,
    table: &str,
) -> StepResult<u64> {
    buf.extend_from_slice(copy::TRAILER);
    writer.write_all(buf).map_err(at(table))?;
    buf.clear();
    writer.finish().map_err(at(table))
}
