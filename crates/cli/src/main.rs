//! The `dltrs` command: parses arguments and wires library pieces; no logic of its own.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dltrs::schema::TableHints;
use dltrs::{RelationalNormalizer, Schema, WriteDisposition};

/// Rows buffered before the normalizer is flushed, which bounds memory.
const FLUSH_ROWS: usize = 50_000;

#[derive(Parser)]
#[command(name = "dltrs", version, about = "Load data the dlt way, in Rust")]
#[command(after_help = "Exit codes: 0 ok, 1 failed run, 2 usage or configuration error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Normalizes a JSONL file into relational tables and prints the tables, row counts and
    /// schema changes (no destination yet).
    Normalize {
        /// JSON Lines file, one item per line (`-` for standard input).
        file: PathBuf,
        /// Root table name (normalized with snake_case).
        #[arg(long, short)]
        table: String,
        /// Write disposition recorded on the table.
        #[arg(long, value_parser = parse_disposition, default_value = "append")]
        write_disposition: WriteDisposition,
        /// Primary key column(s), comma separated.
        #[arg(long, value_delimiter = ',')]
        primary_key: Vec<String>,
        /// Levels of nesting unpacked into child tables.
        #[arg(long)]
        max_table_nesting: Option<u32>,
        /// Write the resulting schema as YAML to this file.
        #[arg(long)]
        export_schema: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_disposition(s: &str) -> Result<WriteDisposition, String> {
    match s {
        "append" => Ok(WriteDisposition::Append),
        "replace" => Ok(WriteDisposition::Replace),
        "merge" => Ok(WriteDisposition::Merge),
        other => Err(format!(
            "unknown write disposition `{other}` (append, replace, merge)"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Normalize {
            file,
            table,
            write_disposition,
            primary_key,
            max_table_nesting,
            export_schema,
            json,
        } => {
            let reader: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin())
            } else {
                Box::new(
                    File::open(&file).with_context(|| format!("cannot open {}", file.display()))?,
                )
            };
            let source = file.display().to_string();
            let mut normalizer = RelationalNormalizer::new(Schema::new(&table), load_id());
            let hints = TableHints {
                write_disposition: Some(write_disposition),
                primary_key,
                max_nesting: max_table_nesting,
                ..TableHints::default()
            };
            let table = normalizer.apply_hints(&table, &hints);
            let mut rows: std::collections::BTreeMap<String, usize> = Default::default();
            let mut changes = Vec::new();
            let mut warnings = Vec::new();
            let mut reader = BufReader::with_capacity(1 << 20, reader);
            let mut line = Vec::new();
            let mut line_no = 0u64;
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .with_context(|| format!("reading {source}"))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                normalizer
                    .push_json(&table, &line)
                    .with_context(|| format!("{source}, line {line_no}"))?;
                if normalizer.buffered_rows() >= FLUSH_ROWS {
                    collect(&mut normalizer, &mut rows, &mut changes, &mut warnings)?;
                }
            }
            collect(&mut normalizer, &mut rows, &mut changes, &mut warnings)?;
            let mut schema = normalizer.into_schema();
            schema.bump_version();
            if let Some(path) = export_schema {
                std::fs::write(&path, schema.to_yaml()?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                let summary = serde_json::json!({
                    "rows": rows,
                    "schema_changes": changes,
                    "warnings": warnings,
                    "schema_version": schema.version,
                    "schema_version_hash": schema.version_hash,
                });
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!("normalized {line_no} lines of {source}");
                for (table, count) in &rows {
                    println!("  {table}: {count} rows");
                }
                for change in &changes {
                    println!("  schema: {change}");
                }
                for warning in &warnings {
                    println!("  warning: {}", serde_json::to_string(warning)?);
                }
            }
            Ok(())
        }
    }
}

fn collect(
    normalizer: &mut RelationalNormalizer,
    rows: &mut std::collections::BTreeMap<String, usize>,
    changes: &mut Vec<dltrs::SchemaChange>,
    warnings: &mut Vec<dltrs::NormalizeWarning>,
) -> Result<()> {
    let chunk = normalizer.flush()?;
    for batch in chunk.batches {
        *rows.entry(batch.table).or_default() += batch.batch.num_rows();
    }
    changes.extend(chunk.changes);
    warnings.extend(chunk.warnings);
    Ok(())
}

/// dlt's load id: the current Unix time as a decimal string.
fn load_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", now.as_secs(), now.subsec_micros())
}
