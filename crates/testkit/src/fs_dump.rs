//! The canonical dump of a dataset the filesystem destination wrote into a local folder: the
//! same document [`dump_dataset`] makes of a DuckDB dataset, so a filesystem load is compared
//! with dlt's DuckDB expectations.
//!
//! The stored schema (the newest `_dlt_version` file) gives the tables and their columns with
//! DuckDB's types for dlt's (`dltrs_core::sql::duckdb::column_type`); each table's files are
//! inserted into those tables by name: JSON Lines and CSV read by DuckDB itself (`read_json`,
//! `read_csv`), Parquet by arrow-rs ([`crate::parquet`]: this DuckDB has no Parquet extension).

use std::path::{Path, PathBuf};

use dltrs_core::schema::Schema;
use dltrs_core::sql::ident as quote;
use duckdb::Connection;
use serde_json::Value;

use crate::dump_dataset;
use crate::pg_dump::DumpError;

/// The schema in the newest `_dlt_version` file of the dataset folder `dir`.
///
/// # Errors
///
/// When there is none or it cannot be read.
pub fn stored_schema(dir: &Path) -> Result<Schema, DumpError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("_dlt_version"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    // `<schema>__<time>__<hash>.jsonl`: the greatest time is the newest
    let time = |p: &PathBuf| -> f64 {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.rsplit("__")
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0)
    };
    files.sort_by(|a, b| time(a).total_cmp(&time(b)));
    let newest = files.last().ok_or("the dataset has no _dlt_version file")?;
    let doc: Value = serde_json::from_slice(&std::fs::read(newest)?)?;
    let text = doc["schema"]
        .as_str()
        .ok_or("a _dlt_version file without `schema`")?;
    Ok(serde_json::from_str(text)?)
}

/// Dumps the dataset folder `dir` (tables in dlt's default layout) as dataset `name_as`.
///
/// # Errors
///
/// Any DuckDB error, or a dataset folder without a stored schema.
pub fn dump_filesystem(dir: &Path, name_as: &str) -> Result<Value, DumpError> {
    let schema = stored_schema(dir)?;
    let duck = Connection::open_in_memory()?;
    crate::parquet::register_arrow(&duck)?;
    duck.execute_batch(&format!("CREATE SCHEMA {}", quote(name_as)))?;
    for table in schema.tables.values() {
        let columns: Vec<_> = table.complete_columns().collect();
        if columns.is_empty() {
            continue;
        }
        let system = table.name.starts_with("_dlt_");
        let defs: Vec<String> = columns
            .iter()
            .map(|c| {
                // system files hold dlt's filesystem rows, which lack the SQL tables' `_dlt_id`
                let null = match !system && !c.is_nullable() {
                    true => " NOT NULL",
                    false => "",
                };
                format!(
                    "{} {}{null}",
                    quote(&c.name),
                    dltrs_core::sql::duckdb::column_type(c)
                )
            })
            .collect();
        let target = format!("{}.{}", quote(name_as), quote(&table.name));
        duck.execute_batch(&format!("CREATE TABLE {target} ({})", defs.join(", ")))?;
        let folder = dir.join(&table.name);
        if !folder.is_dir() {
            continue;
        }
        let mut files: Vec<String> = match folder.join("_delta_log").is_dir() {
            // a Delta table: the files its log holds now
            true => delta_files(&folder)?
                .iter()
                .map(|f| folder.join(f).display().to_string())
                .collect(),
            false => std::fs::read_dir(&folder)?
                .map(|e| e.map(|e| e.path().display().to_string()))
                .collect::<Result<_, _>>()?,
        };
        files.sort();
        for file in files {
            if file.ends_with(".parquet") {
                crate::parquet::insert_parquet(&duck, &target, Path::new(&file))?;
                continue;
            }
            let path = file.replace('\'', "''");
            let read = if file.contains(".csv") {
                format!("read_csv('{path}', header = true, all_varchar = true)")
            } else {
                format!("read_json('{path}', format = 'newline_delimited')")
            };
            duck.execute_batch(&format!(
                "INSERT INTO {target} BY NAME SELECT * FROM {read}"
            ))?;
        }
    }
    Ok(dump_dataset(&duck, name_as)?)
}

/// The data files a Delta table's JSON log holds (adds minus removes), relative to its folder.
///
/// # Errors
///
/// When the log cannot be read.
pub fn delta_files(table: &Path) -> Result<Vec<String>, DumpError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(table.join("_delta_log"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.retain(|p| p.extension().is_some_and(|e| e == "json"));
    names.sort();
    let mut files: Vec<String> = Vec::new();
    for name in names {
        for line in std::fs::read_to_string(&name)?.lines() {
            let action: Value = serde_json::from_str(line)?;
            if let Some(path) = action["add"]["path"].as_str() {
                files.push(path.to_string());
            }
            if let Some(path) = action["remove"]["path"].as_str() {
                files.retain(|f| f != path);
            }
        }
    }
    Ok(files)
}
