//! The `dltrs` command: parses arguments and wires library pieces; no logic of its own.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dltrs::declarative::{self, Declared};
use dltrs::filesystem;
use dltrs::http::{HttpClient, HttpConfig, Redactor};
use dltrs::progress::{Progress, ProgressReport};
use dltrs::schema::MergeStrategy;
use dltrs::schema::TableHints;
use dltrs::secret::Secrets;
use dltrs::{Pipeline, Resource, Schema, SchemaContract, WriteDisposition};

const AFTER_HELP: &str = "\
Get started:
  dltrs init rest_api duckdb            scaffold pipeline.toml and .dltrs/ here
                                        (sources: rest_api, filesystem, sql_database;
                                        destinations: duckdb, postgres)
  dltrs run pipeline.toml               run it (extract, normalize, load)
  dltrs pipeline NAME info              what the pipeline holds; also trace, load-package,
                                        failed-jobs, retry-package, drop, sync,
                                        abort-packages, schema
  dltrs load rides.jsonl --table rides  load one file into <pipeline>.duckdb
  dltrs load rides.jsonl --table rides --destination postgresql://USER:PW@HOST:5432/DB

Configuration, highest precedence first:
  1. command-line flags
  2. environment variables: sections joined by __, upper case, optionally under the
     pipeline's name: DESTINATION__DUCKDB__CREDENTIALS, SOURCES__<SOURCE>__CLIENT__AUTH__TOKEN,
     MY_PIPELINE__SOURCES__<SOURCE>__...
  3. the pipeline file
  4. .dltrs/secrets.toml, then .dltrs/config.toml, in the project folder
  5. the same files in ~/.dltrs/
Secrets from any of them are masked (***) in every output, error, trace and log.

Logs: -v (info), -vv (debug: every HTTP request), or RUST_LOG (e.g. RUST_LOG=dltrs=debug).

Exit codes: 0 ok, 1 failed run, 2 usage or configuration error.";

#[derive(Parser)]
#[command(name = "dltrs", version, about = "Load data the dlt way, in Rust")]
#[command(after_help = AFTER_HELP)]
struct Cli {
    /// Log what happens to stderr: -v for steps and retries, -vv for every request.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Loads a JSON file into a table of a dataset: extract, normalize and load in one go.
    ///
    /// FILE is JSON Lines, or JSON holding one array or one object, optionally gzip-compressed;
    /// `-` reads standard input. A malformed record stops the run before anything of it is
    /// loaded. Packages left by an interrupted run are finished first.
    Load {
        /// The input file (`-` for standard input).
        file: PathBuf,
        /// Root table name (normalized with snake_case).
        #[arg(long)]
        table: String,
        /// How the rows combine with the table's rows.
        #[arg(long, value_parser = parse_disposition, default_value = "append")]
        write_disposition: WriteDisposition,
        /// Primary key column(s), comma separated.
        #[arg(long, value_delimiter = ',')]
        primary_key: Vec<String>,
        /// Merge key column(s), comma separated.
        #[arg(long, value_delimiter = ',')]
        merge_key: Vec<String>,
        /// How `merge` combines rows: delete-insert (dlt's default), upsert, insert-only or
        /// scd2.
        #[arg(long, value_parser = parse_strategy)]
        merge_strategy: Option<MergeStrategy>,
        /// A column whose true (or, for a column of another type, non-null) value deletes the
        /// row's key instead of loading the row (dlt's `hard_delete`).
        #[arg(long, value_name = "COLUMN")]
        hard_delete: Option<String>,
        /// Which of a key's rows in one load is merged: the smallest (`asc`) or greatest
        /// (`desc`) value of a column (dlt's `dedup_sort`).
        #[arg(long, value_name = "COLUMN:asc|desc", value_parser = parse_dedup_sort)]
        dedup_sort: Option<(String, bool)>,
        /// Pipeline name: names the working directory, the default DuckDB file and dataset.
        #[arg(long, default_value = "dltrs")]
        pipeline_name: String,
        /// Dataset (schema) name; `<pipeline_name>_dataset` by default.
        #[arg(long)]
        dataset_name: Option<String>,
        /// Destination: `duckdb`, `duckdb:PATH`, `postgres` or
        /// `postgresql://USER:PASSWORD@HOST:PORT/DATABASE`. Plain `duckdb` (the default) uses
        /// the file the configuration names (`DESTINATION__DUCKDB__CREDENTIALS`, or
        /// `[destination.duckdb] credentials` in .dltrs/secrets.toml or config.toml), else
        /// `<pipeline_name>.duckdb`; plain `postgres` takes its credentials from
        /// `DESTINATION__POSTGRES__CREDENTIALS` or `[destination.postgres]`.
        #[arg(long)]
        destination: Option<String>,
        /// Where pipeline working directories live ($DLTRS_PIPELINES_DIR or
        /// ~/.dltrs/pipelines by default).
        #[arg(long)]
        pipelines_dir: Option<PathBuf>,
        /// Levels of nesting unpacked into child tables; deeper values are stored as JSON.
        #[arg(long)]
        max_table_nesting: Option<u32>,
        /// What the load may change in the schema: a mode for all of tables, columns and
        /// data_type (evolve, freeze, discard_row, discard_value), or
        /// `tables=evolve,columns=freeze,data_type=discard_row`.
        #[arg(long, value_parser = SchemaContract::parse)]
        schema_contract: Option<SchemaContract>,
        /// Keep what the schema contract discards in `<table>__rejected`.
        #[arg(long)]
        quarantine: bool,
        /// Append schema evolution alerts (new tables, columns, discards) to this JSONL file.
        #[arg(long)]
        alerts_jsonl: Option<PathBuf>,
        /// POST schema evolution alerts as JSON to this URL.
        #[arg(long)]
        alerts_webhook: Option<String>,
        /// Print the load info as JSON.
        #[arg(long)]
        json: bool,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
        /// Wait up to this many seconds for another run of the pipeline to end (by default a
        /// busy pipeline is an error at once).
        #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
        wait: f64,
        /// Remove NUL characters from text for a destination that cannot store them
        /// (PostgreSQL), counting them in the load info, instead of failing the item.
        #[arg(long)]
        remove_nul: bool,
        /// The file format of a filesystem destination's tables: parquet, jsonl (dlt's
        /// default) or csv.
        #[arg(long, value_parser = ["parquet", "jsonl", "csv"])]
        loader_file_format: Option<String>,
        /// Keep a filesystem destination's tables as Delta Lake tables (which merge).
        #[arg(long, value_parser = ["delta"])]
        table_format: Option<String>,
    },
    /// Runs a declarative pipeline file: extracts its sources (REST APIs, files, SQL
    /// databases), normalizes and loads them. See the README for the format.
    Run {
        /// The pipeline file (TOML).
        file: PathBuf,
        /// Where pipeline working directories live (overrides the file's `pipelines_dir`).
        #[arg(long)]
        pipelines_dir: Option<PathBuf>,
        /// The destination (overrides the file's `destination`): `duckdb`, `duckdb:PATH`,
        /// `postgres` or `postgresql://...`.
        #[arg(long)]
        destination: Option<String>,
        /// The dataset (overrides the file's `dataset_name`).
        #[arg(long)]
        dataset_name: Option<String>,
        /// Print the load info as JSON.
        #[arg(long)]
        json: bool,
        /// Seconds between progress lines when stderr is not a terminal.
        #[arg(long, default_value_t = 10.0)]
        progress_interval: f64,
        /// Runs only these resources (repeat the flag; all by default).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
        /// Wait up to this many seconds for another run of the pipeline to end (by default a
        /// busy pipeline is an error at once).
        #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
        wait: f64,
        /// The file format of a filesystem destination's tables: parquet, jsonl (dlt's
        /// default) or csv.
        #[arg(long, value_parser = ["parquet", "jsonl", "csv"])]
        loader_file_format: Option<String>,
        /// Keep a filesystem destination's tables as Delta Lake tables (which merge).
        #[arg(long, value_parser = ["delta"])]
        table_format: Option<String>,
    },
    /// Scaffolds a pipeline: `pipeline.toml` and `.dltrs/` files for a source and destination.
    Init {
        /// `rest_api`, `filesystem` or `sql_database`.
        source: String,
        /// `duckdb` or `postgres`.
        destination: String,
        /// The folder to write into (the current one by default).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The pipeline name.
        #[arg(long, default_value = "my_pipeline")]
        name: String,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Inspects and manages pipelines: `dltrs pipeline --list`, `dltrs pipeline NAME info`.
    Pipeline {
        /// The pipeline (omit with --list).
        name: Option<String>,
        /// Lists the pipelines.
        #[arg(long)]
        list: bool,
        /// Where pipeline working directories live.
        #[arg(long, global = true)]
        pipelines_dir: Option<PathBuf>,
        /// The destination (`duckdb:PATH`, `postgresql://...`); the one the last run used by
        /// default (a password comes from the configuration).
        #[arg(long, global = true)]
        destination: Option<String>,
        /// Wait up to this many seconds for a run of the pipeline to end before a command
        /// that changes it (drop, abort-packages, retry-package, sync).
        #[arg(long, global = true, value_name = "SECONDS", default_value_t = 0.0)]
        wait: f64,
        #[command(subcommand)]
        action: Option<PipelineAction>,
    },
    /// Exports or imports a pipeline's schema (YAML, dlt's format) to review and pin it in git.
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Normalizes a JSONL file into relational tables and prints the tables, row counts and
    /// schema changes, without loading them anywhere.
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

#[derive(Subcommand)]
enum PipelineAction {
    /// Working directory, destination, dataset, schema, state, pending packages, last run.
    Info {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The last run: steps with timings, rows per table, schema changes, discards, error.
    Trace {
        /// As JSON (the trace file).
        #[arg(long)]
        json: bool,
    },
    /// The pipeline's schema (YAML, or `--format json`).
    Schema {
        /// `yaml` or `json`.
        #[arg(long, default_value = "yaml")]
        format: String,
    },
    /// The packages, or one package's tables and rows.
    LoadPackage {
        /// The load id (all packages when absent).
        load_id: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// What failed: the last run's error, the packages the destination refused for good
    /// (set aside, not retried) and those still waiting to be loaded.
    FailedJobs,
    /// Puts a failed package back: the next run loads it (fix the cause first).
    RetryPackage {
        /// The failed package's load id (`failed-jobs` lists them).
        load_id: String,
    },
    /// Drops resources: their tables (with child and quarantine tables) and their state.
    Drop {
        /// The resources.
        #[arg(required = true)]
        resources: Vec<String>,
        /// Do not ask.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Deletes the packages not yet loaded (their data and the state they carry).
    AbortPackages {
        /// Do not ask.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Drops the local state and schema and restores both from the destination.
    Sync {
        /// Do not ask.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum SchemaAction {
    /// Writes the pipeline's schema (YAML by default) to standard output or a file.
    Export {
        /// The pipeline.
        #[arg(long, default_value = "dltrs")]
        pipeline_name: String,
        /// Where pipeline working directories live.
        #[arg(long)]
        pipelines_dir: Option<PathBuf>,
        /// `yaml` or `json`.
        #[arg(long, default_value = "yaml")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Makes a schema file (YAML or JSON) the pipeline's schema; with a `freeze` contract it
    /// is a data contract.
    Import {
        /// The schema file.
        file: PathBuf,
        /// The pipeline.
        #[arg(long, default_value = "dltrs")]
        pipeline_name: String,
        /// Where pipeline working directories live.
        #[arg(long)]
        pipelines_dir: Option<PathBuf>,
    },
}

/// Writes the `dltrs init` files of the built-in source type and destination kind.
fn init(source: &str, destination: &str, dir: &Path, name: &str, force: bool) -> Result<()> {
    let scaffold = dltrs::init::scaffold(
        &dltrs::source::SourceRegistry::default(),
        &dltrs::destinations::DestinationRegistry::default(),
        source,
        destination,
        name,
    )?;
    for path in scaffold.write(dir, force)? {
        println!("wrote {}", path.display());
    }
    println!("next: dltrs run {}", dir.join("pipeline.toml").display());
    Ok(())
}

/// The current folder, where `.dltrs/` is looked for by the commands that take no file.
fn project_dir() -> Result<PathBuf> {
    std::env::current_dir().context("cannot read the current folder")
}

/// The configuration layers of the current folder and the home folder.
fn project_config() -> Result<dltrs::config::Config> {
    Ok(dltrs::config::Config::discover(&project_dir()?)?.with_secrets(secrets()))
}

/// The secrets this command has read. A command is one run, so one set masks everything it
/// prints: errors, load info, logs.
fn secrets() -> &'static Secrets {
    static SECRETS: std::sync::OnceLock<Secrets> = std::sync::OnceLock::new();
    SECRETS.get_or_init(Secrets::new)
}

/// Sends a run's alerts and prints its load info (as JSON with `json`). The data is loaded
/// already, so an alert that cannot be delivered is a warning.
fn report(info: &dltrs::LoadInfo, sinks: &dltrs::alerts::AlertSinks, json: bool) {
    if let Err(e) = dltrs::alerts::send(info, sinks) {
        eprintln!("warning: {}", secrets().redact(&e.to_string()));
    }
    if json {
        println!("{}", secrets().redacted_json(info));
    } else {
        print!("{}", secrets().redact(&info.to_string()));
    }
}

/// Asks `question` on the terminal; true for `y`/`yes`.
fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn pipeline_command(
    name: Option<String>,
    list: bool,
    pipelines_dir: Option<PathBuf>,
    destination: Option<String>,
    wait: Duration,
    action: Option<PipelineAction>,
) -> Result<()> {
    if list {
        for name in Pipeline::list(pipelines_dir.as_deref())? {
            println!("{name}");
        }
        return Ok(());
    }
    let Some(name) = name else {
        return Err(dltrs::Error::Config(
            "name a pipeline (dltrs pipeline NAME info) or list them (dltrs pipeline --list)"
                .into(),
        )
        .into());
    };
    let exists = Pipeline::list(pipelines_dir.as_deref())?.contains(&name);
    if !exists {
        return Err(dltrs::Error::Config(format!(
            "there is no pipeline `{name}` here; `dltrs pipeline --list` shows the pipelines"
        ))
        .into());
    }
    let mut pipeline = open_pipeline(&name, pipelines_dir.clone(), wait)?;
    if let Some(spec) = destination.or_else(|| pipeline.recorded_destination()) {
        let config = project_config()?.for_pipeline(&name);
        let mut builder = Pipeline::builder(&name)
            .secrets(secrets())
            .lock_wait(wait)
            .destination(declarative::destination(
                Some(spec.as_str()),
                &name,
                Path::new(""),
                &config,
            )?);
        if let Some(dataset) = pipeline.recorded_dataset() {
            builder = builder.dataset_name(dataset);
        }
        if let Some(dir) = pipelines_dir {
            builder = builder.pipelines_dir(dir);
        }
        pipeline = builder.build()?;
    }
    match action.unwrap_or(PipelineAction::Info { json: false }) {
        PipelineAction::Info { json } => {
            let info = pipeline.info()?;
            if json {
                println!("{}", secrets().redacted_json(&info));
            } else {
                print!("{info}");
            }
            Ok(())
        }
        PipelineAction::Trace { json } => {
            match pipeline.last_trace() {
                None => println!("pipeline {name} has no recorded run"),
                Some(trace) if json => println!("{}", secrets().redacted_json(&trace)),
                Some(trace) => print!("{trace}"),
            }
            Ok(())
        }
        PipelineAction::Schema { format } => {
            let schema = pipeline.schema()?;
            match format.as_str() {
                "json" => println!("{}", schema.to_json_pretty()),
                _ => print!("{}", schema.to_yaml()?),
            }
            Ok(())
        }
        PipelineAction::LoadPackage { load_id, json } => {
            match load_id {
                None => {
                    let packages = pipeline.packages()?;
                    if json {
                        println!("{}", secrets().redacted_json(&packages));
                    } else {
                        for package in packages {
                            println!("{package}");
                        }
                    }
                }
                Some(id) => {
                    let Some(package) = pipeline.package(&id)? else {
                        return Err(dltrs::Error::Config(format!(
                            "pipeline {name} has no package {id}; `dltrs pipeline {name} load-package` lists them"
                        ))
                        .into());
                    };
                    if json {
                        println!("{}", secrets().redacted_json(&package));
                    } else {
                        print!("{package}");
                    }
                }
            }
            Ok(())
        }
        PipelineAction::FailedJobs => {
            print!("{}", pipeline.failed_jobs()?);
            Ok(())
        }
        PipelineAction::RetryPackage { load_id } => {
            pipeline.retry_package(&load_id)?;
            println!("package {load_id} is back: the next run of {name} loads it");
            Ok(())
        }
        PipelineAction::Drop { resources, yes } => {
            if !yes
                && !confirm(&format!(
                    "Drop the tables and state of {} in pipeline {name} ({})?",
                    resources.join(", "),
                    pipeline.destination().location()
                ))?
            {
                println!("nothing dropped");
                return Ok(());
            }
            let dropped = pipeline.drop_resources(&resources)?;
            println!(
                "dropped tables {} and the state of {}",
                dropped.join(", "),
                resources.join(", ")
            );
            Ok(())
        }
        PipelineAction::AbortPackages { yes } => {
            let pending = pipeline.pending_packages()?;
            if pending.is_empty() {
                println!("pipeline {name} has no pending package");
                return Ok(());
            }
            if !yes
                && !confirm(&format!(
                    "Delete {} pending package(s) of {name} and their data?",
                    pending.len()
                ))?
            {
                println!("nothing deleted");
                return Ok(());
            }
            for id in pipeline.abort_packages()? {
                println!("aborted package {id}");
            }
            Ok(())
        }
        PipelineAction::Sync { yes } => {
            if !yes
                && !confirm(&format!(
                    "Replace the local state and schema of {name} with the destination's?"
                ))?
            {
                println!("nothing changed");
                return Ok(());
            }
            match pipeline.sync()? {
                Some(note) => println!("{note}"),
                None => println!(
                    "the destination holds nothing of pipeline {name}; its local state and schema are reset"
                ),
            }
            Ok(())
        }
    }
}

/// The pipeline `name` in `pipelines_dir` (or the default place), to inspect or change.
fn open_pipeline(name: &str, pipelines_dir: Option<PathBuf>, wait: Duration) -> Result<Pipeline> {
    let mut builder = Pipeline::builder(name).secrets(secrets()).lock_wait(wait);
    if let Some(dir) = pipelines_dir {
        builder = builder.pipelines_dir(dir);
    }
    Ok(builder.build()?)
}

/// The input as a buffered reader: a file, standard input (`-`) or an http(s) URL, gunzipped
/// when it starts with gzip's magic bytes.
fn open_input(file: &Path, progress: &Progress) -> Result<filesystem::Input> {
    let text = file.to_string_lossy();
    let location = filesystem::Location::parse(&text).map_err(anyhow::Error::msg)?;
    let client = HttpClient::new(HttpConfig::default(), Redactor::default());
    filesystem::open(&location, &client, progress).map_err(|e| anyhow::Error::msg(e.to_string()))
}

/// A flag's seconds as a duration; a negative or non-finite number is a usage error.
fn seconds(flag: &str, value: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        dltrs::Error::Config(format!("{flag} takes a number of seconds, not {value}")).into()
    })
}

fn parse_strategy(s: &str) -> Result<MergeStrategy, String> {
    match s {
        "delete-insert" => Ok(MergeStrategy::DeleteInsert),
        "upsert" => Ok(MergeStrategy::Upsert),
        "insert-only" => Ok(MergeStrategy::InsertOnly),
        "scd2" => Ok(MergeStrategy::Scd2),
        other => Err(format!(
            "unknown merge strategy `{other}` (delete-insert, upsert, insert-only, scd2)"
        )),
    }
}

/// `COLUMN:asc` or `COLUMN:desc`: the column and whether it sorts descending.
fn parse_dedup_sort(s: &str) -> Result<(String, bool), String> {
    match s.rsplit_once(':') {
        Some((column, "asc")) if !column.is_empty() => Ok((column.to_string(), false)),
        Some((column, "desc")) if !column.is_empty() => Ok((column.to_string(), true)),
        _ => Err(format!(
            "`{s}`: give the column and the order, COLUMN:asc or COLUMN:desc"
        )),
    }
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
    init_logs(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // the last guard: no secret the run read is ever printed
            eprintln!("error: {}", secrets().redact(&dltrs::report(err.as_ref())));
            let config = matches!(err.downcast_ref(), Some(dltrs::Error::Config(_)));
            ExitCode::from(if config { 2 } else { 1 })
        }
    }
}

/// Logs to stderr as `RUST_LOG` says, else at the level `-v` asks for (warnings by default),
/// every line through the secret redactor.
fn init_logs(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| {
            EnvFilter::new(format!(
                "warn,dltrs={level},dltrs_core={level},dltrs_duckdb={level},dltrs_postgres={level},dltrs_cli={level}"
            ))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingWriter(std::io::stderr()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Writes each log line with the known secrets masked (the formatter writes a whole event at
/// once, so a secret is never split across writes).
struct RedactingWriter<W>(W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(secrets().redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A destination spec of the command line with its relative path taken from the current
/// folder (a pipeline file's own specs are relative to the file's folder).
fn from_cwd(cwd: &Path, spec: String) -> String {
    let duckdb = spec
        .strip_prefix("duckdb:///")
        .or_else(|| spec.strip_prefix("duckdb:"));
    if let Some(path) = duckdb.filter(|p| !p.is_empty()) {
        return format!("duckdb:{}", cwd.join(path).display());
    }
    let folder = spec.strip_prefix("filesystem:");
    if let Some(path) = folder.filter(|p| !p.is_empty() && !p.contains("://")) {
        return format!("filesystem:{}", cwd.join(path).display());
    }
    spec
}

/// The configuration with `--loader-file-format` and `--table-format` over every layer.
fn with_format_flags(
    mut config: dltrs::config::Config,
    format: Option<&str>,
    table_format: Option<&str>,
) -> dltrs::config::Config {
    for (flag, key, value) in [
        ("--loader-file-format", "loader_file_format", format),
        ("--table-format", "table_format", table_format),
    ] {
        if let Some(value) = value {
            config = config.with_flag(
                flag,
                &["destination", "filesystem", key],
                toml::Value::String(value.to_string()),
            );
        }
    }
    config
}

/// `--loader-file-format` and `--table-format` name the files of a filesystem destination;
/// elsewhere they would be silently ignored.
fn check_format_flags(
    format: Option<&str>,
    table_format: Option<&str>,
    destination: &str,
) -> Result<()> {
    for (flag, given) in [
        ("--loader-file-format", format.is_some()),
        ("--table-format", table_format.is_some()),
    ] {
        if given && destination != "filesystem" {
            anyhow::bail!(
                "{flag} sets the files of the filesystem destination; destination {destination} loads tables, not files (drop the flag or use --destination filesystem:PATH)"
            );
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Load {
            file,
            table,
            write_disposition,
            primary_key,
            merge_key,
            merge_strategy,
            hard_delete,
            dedup_sort,
            pipeline_name,
            dataset_name,
            destination,
            pipelines_dir,
            max_table_nesting,
            schema_contract,
            quarantine,
            alerts_jsonl,
            alerts_webhook,
            json,
            quiet,
            wait,
            remove_nul,
            loader_file_format,
            table_format,
        } => {
            let mut builder = Pipeline::builder(&pipeline_name)
                .secrets(secrets())
                .lock_wait(seconds("--wait", wait)?)
                .remove_nul(remove_nul);
            if let Some(dataset) = dataset_name {
                builder = builder.dataset_name(dataset);
            }
            if let Some(dir) = pipelines_dir {
                builder = builder.pipelines_dir(dir);
            }
            let config = with_format_flags(
                project_config()?.for_pipeline(&pipeline_name),
                loader_file_format.as_deref(),
                table_format.as_deref(),
            );
            let destination = declarative::destination(
                destination.as_deref(),
                &pipeline_name,
                Path::new(""),
                &config,
            )?;
            check_format_flags(
                loader_file_format.as_deref(),
                table_format.as_deref(),
                destination.destination_name(),
            )?;
            builder = builder.destination(destination);
            let mut pipeline = builder.build()?;
            let input = open_input(&file, pipeline.progress())?;
            let mut resource = Resource::from_json_reader(&table, input.name, input.reader)
                .write_disposition(write_disposition)
                .primary_key(primary_key)
                .merge_key(merge_key);
            if let Some(strategy) = merge_strategy {
                resource = resource.merge_strategy(strategy);
            }
            if let Some(column) = hard_delete {
                resource = resource.column(
                    dltrs::schema::Column {
                        name: column,
                        ..Default::default()
                    }
                    .hard_delete(),
                );
            }
            if let Some((column, descending)) = dedup_sort {
                resource = resource.column(
                    dltrs::schema::Column {
                        name: column,
                        ..Default::default()
                    }
                    .dedup_sort(descending),
                );
            }
            if let Some(levels) = max_table_nesting {
                resource = resource.max_table_nesting(levels);
            }
            if let Some(contract) = schema_contract {
                resource = resource.schema_contract(contract);
            }
            if quarantine {
                resource = resource.quarantine(true);
            }
            let progress = (!quiet)
                .then(|| ProgressReport::install(pipeline.progress(), Duration::from_secs(10)));
            let result = pipeline.run([resource]);
            drop(progress);
            let info = result?;
            // flags over the environment and the config files
            let sinks = dltrs::alerts::AlertSinks {
                jsonl: alerts_jsonl,
                webhook: alerts_webhook,
            }
            .or(config.alert_sinks(Path::new("")));
            report(&info, &sinks, json);
            Ok(())
        }
        Command::Run {
            file,
            pipelines_dir,
            destination,
            dataset_name,
            json,
            progress_interval,
            resources: only,
            quiet,
            wait,
            loader_file_format,
            table_format,
        } => {
            let mut declared = Declared::load(&file)?;
            declared.config = with_format_flags(
                declared.config.with_secrets(secrets()),
                loader_file_format.as_deref(),
                table_format.as_deref(),
            );
            // flags over everything; relative to the current folder, not the file's
            let cwd = project_dir()?;
            let section = &mut declared.file.pipeline;
            if let Some(dir) = pipelines_dir {
                section.pipelines_dir = Some(cwd.join(dir).display().to_string());
            }
            if let Some(spec) = destination {
                section.destination = Some(from_cwd(&cwd, spec));
            }
            if let Some(dataset) = dataset_name {
                section.dataset_name = Some(dataset);
            }
            let mut pipeline = declared.pipeline()?;
            check_format_flags(
                loader_file_format.as_deref(),
                table_format.as_deref(),
                pipeline.destination().destination_name(),
            )?;
            pipeline.set_lock_wait(seconds("--wait", wait)?);
            let sinks = declared.alert_sinks();
            let mut resources = declared.resources()?;
            if !only.is_empty() {
                let known: Vec<String> = resources.iter().map(|r| r.name().to_owned()).collect();
                if let Some(missing) = only.iter().find(|n| !known.contains(n)) {
                    return Err(dltrs::Error::Config(format!(
                        "the pipeline file has no resource `{missing}`; it has {}",
                        known.join(", ")
                    ))
                    .into());
                }
                resources.retain(|r| only.iter().any(|n| n == r.name()));
            }
            let interval = Duration::try_from_secs_f64(progress_interval)
                .context("--progress-interval must be a positive number of seconds")?;
            let progress = (!quiet).then(|| ProgressReport::install(pipeline.progress(), interval));
            let result = pipeline.run(resources);
            drop(progress);
            report(&result?, &sinks, json);
            Ok(())
        }
        Command::Init {
            source,
            destination,
            dir,
            name,
            force,
        } => init(&source, &destination, &dir, &name, force),
        Command::Pipeline {
            name,
            list,
            pipelines_dir,
            destination,
            wait,
            action,
        } => pipeline_command(
            name,
            list,
            pipelines_dir,
            destination,
            seconds("--wait", wait)?,
            action,
        ),
        Command::Schema { action } => match action {
            SchemaAction::Export {
                pipeline_name,
                pipelines_dir,
                format,
                output,
            } => {
                let pipeline = open_pipeline(&pipeline_name, pipelines_dir, Duration::ZERO)?;
                let schema = pipeline.schema()?;
                if schema.tables.values().all(|t| t.name.starts_with("_dlt")) {
                    return Err(dltrs::Error::Config(format!(
                        "pipeline {pipeline_name} has no schema yet: run it first, or import one"
                    ))
                    .into());
                }
                let text = match format.as_str() {
                    "yaml" => schema.to_yaml()?,
                    "json" => schema.to_json_pretty(),
                    other => {
                        return Err(dltrs::Error::Config(format!(
                            "unknown schema format `{other}`: use yaml or json"
                        ))
                        .into());
                    }
                };
                match output {
                    Some(path) => std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                    None => print!("{text}"),
                }
                Ok(())
            }
            SchemaAction::Import {
                file,
                pipeline_name,
                pipelines_dir,
            } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let schema = Schema::parse(&text).map_err(|e| {
                    dltrs::Error::Config(format!(
                        "{} is not a dlt schema: {}",
                        file.display(),
                        dltrs::report(&e)
                    ))
                })?;
                let mut pipeline = open_pipeline(&pipeline_name, pipelines_dir, Duration::ZERO)?;
                let tables = schema.data_tables().count();
                pipeline.import_schema(schema)?;
                println!(
                    "imported {} ({tables} tables) as the schema of pipeline {pipeline_name}",
                    file.display()
                );
                Ok(())
            }
        },
        Command::Normalize {
            file,
            table,
            write_disposition,
            primary_key,
            max_table_nesting,
            export_schema,
            json,
        } => {
            let input = open_input(&file, &Progress::new())?;
            let hints = TableHints {
                write_disposition: Some(write_disposition),
                primary_key,
                max_nesting: max_table_nesting,
                ..TableHints::default()
            };
            let preview =
                dltrs::preview::normalize_preview(input.reader, &input.name, &table, &hints)?;
            if let Some(path) = export_schema {
                std::fs::write(&path, preview.schema.to_yaml()?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&preview)?);
            } else {
                print!("{preview}");
            }
            Ok(())
        }
    }
}
