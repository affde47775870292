//! Package files (Arrow IPC) rewritten as the files of a table in the bucket: Parquet, JSON
//! Lines or CSV, batch by batch, so a file of any size passes in bounded memory.

use std::collections::HashSet;
use std::io::Write;

use arrow_array::RecordBatch;
use dltrs_core::DataType;
use dltrs_core::arrow_rows::row_item;
use dltrs_core::destination::BoxError;
use dltrs_core::json::{Item, write_item};
use dltrs_core::package::BatchFile;
use dltrs_core::schema::Table;
use dltrs_core::types::typed_text;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Rows per Parquet row group: a row group is encoded in memory before it is written, so
/// this bounds a writer's memory (about 20 MB of rides) while keeping groups large enough for
/// readers to skip by statistics.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The file format of a table's files (dlt's `loader_file_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoaderFileFormat {
    /// Parquet (the types kept: timestamps with time zone, decimals; JSON as text).
    #[default]
    Parquet,
    /// JSON Lines (gzip-compressed unless compression is off).
    Jsonl,
    /// CSV with a header (gzip-compressed unless compression is off).
    Csv,
}

impl LoaderFileFormat {
    /// dlt's name (`parquet`, `jsonl`, `csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            LoaderFileFormat::Parquet => "parquet",
            LoaderFileFormat::Jsonl => "jsonl",
            LoaderFileFormat::Csv => "csv",
        }
    }

    /// Whether files of this format are gzipped when compression is on (Parquet compresses
    /// its pages itself).
    pub(crate) fn gzips(self) -> bool {
        !matches!(self, LoaderFileFormat::Parquet)
    }
}

impl std::str::FromStr for LoaderFileFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "parquet" => Ok(LoaderFileFormat::Parquet),
            "jsonl" => Ok(LoaderFileFormat::Jsonl),
            "csv" => Ok(LoaderFileFormat::Csv),
            other => Err(format!(
                "unknown loader_file_format `{other}`: use parquet, jsonl or csv"
            )),
        }
    }
}

impl std::fmt::Display for LoaderFileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes the batches of `file` (rows of `table`) to `out` as `format`, gzipped when `gzip`;
/// returns the rows written.
pub(crate) fn write_file<W: Write + Send>(
    format: LoaderFileFormat,
    gzip: bool,
    table: &Table,
    file: BatchFile,
    out: W,
) -> Result<u64, BoxError> {
    match format {
        LoaderFileFormat::Parquet => write_parquet(file, out),
        LoaderFileFormat::Jsonl | LoaderFileFormat::Csv if gzip => {
            // gzip level 1: a third of the default level's time for a slightly larger file
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            let rows = write_text(format, table, file, &mut encoder)?;
            encoder.finish()?.flush()?;
            Ok(rows)
        }
        LoaderFileFormat::Jsonl | LoaderFileFormat::Csv => {
            let mut out = out;
            let rows = write_text(format, table, file, &mut out)?;
            out.flush()?;
            Ok(rows)
        }
    }
}

/// How every Parquet file of the destination is written (plain files and Delta data files).
pub(crate) fn parquet_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

fn write_parquet<W: Write + Send>(file: BatchFile, out: W) -> Result<u64, BoxError> {
    let mut writer = ArrowWriter::try_new(out, file.schema(), Some(parquet_properties()))?;
    let mut rows = 0;
    for batch in file {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(rows)
}

fn write_text<W: Write>(
    format: LoaderFileFormat,
    table: &Table,
    file: BatchFile,
    out: &mut W,
) -> Result<u64, BoxError> {
    let mut rows = 0;
    if format == LoaderFileFormat::Csv {
        let mut writer = csv::WriterBuilder::new().from_writer(out);
        // a file without rows still has its header
        let schema = file.schema();
        writer.write_record(schema.fields().iter().map(|f| f.name().as_str()))?;
        for batch in file {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            write_csv_rows(&batch, &mut writer)?;
        }
        writer.flush()?;
        return Ok(rows);
    }
    // JSON columns hold JSON text: JSON Lines writes it as the value itself
    let json: HashSet<&str> = table
        .columns
        .values()
        .filter(|c| c.data_type == Some(DataType::Json))
        .map(|c| c.name.as_str())
        .collect();
    let mut line = String::with_capacity(1024);
    for batch in file {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        for row in 0..batch.num_rows() {
            line.clear();
            jsonl_row(&batch, row, &json, &mut line)?;
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(rows)
}

/// One row as a JSON object: nulls left out (as dlt's rows leave them), JSON columns as JSON,
/// typed values as their ISO or decimal text.
fn jsonl_row(
    batch: &RecordBatch,
    row: usize,
    json: &HashSet<&str>,
    out: &mut String,
) -> Result<(), BoxError> {
    let Item::Object(fields) = row_item(batch, row)? else {
        return Err("a row is not an object".into());
    };
    out.push('{');
    let mut first = true;
    for (name, value) in &fields {
        if matches!(value, Item::Null) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        dltrs_core::json::write_str(out, name);
        out.push(':');
        match value {
            Item::Str(text) if json.contains(name.as_ref()) => out.push_str(text),
            value => write_item(out, value),
        }
    }
    out.push('}');
    Ok(())
}

fn write_csv_rows<W: Write>(
    batch: &RecordBatch,
    writer: &mut csv::Writer<W>,
) -> Result<(), BoxError> {
    let mut record: Vec<String> = Vec::with_capacity(batch.num_columns());
    for row in 0..batch.num_rows() {
        let Item::Object(fields) = row_item(batch, row)? else {
            return Err("a row is not an object".into());
        };
        record.clear();
        for (_, value) in &fields {
            record.push(csv_text(value));
        }
        writer.write_record(&record)?;
    }
    Ok(())
}

/// A value as CSV text: null is empty, typed values their ISO or decimal text.
fn csv_text(value: &Item<'_>) -> String {
    match value {
        Item::Null => String::new(),
        Item::Str(text) => text.to_string(),
        Item::Bool(b) => b.to_string(),
        Item::Int(i) => i.to_string(),
        Item::BigInt(digits) => digits.to_string(),
        Item::Float(f) => {
            let mut out = String::new();
            dltrs_core::json::write_float(&mut out, *f);
            out
        }
        Item::Array(_) | Item::Object(_) => dltrs_core::json::item_to_string(value),
        typed => typed_text(typed).unwrap_or_default(),
    }
}
