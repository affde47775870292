//! The `dltrs` command: parses arguments and wires library pieces; no logic of its own.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dltrs::declarative::{self, Declared};
use dltrs::filesystem;
use dltrs::http::{HttpClient, HttpConfig, Redactor};
use dltrs::progress::{Progress, ProgressReport};
use dltrs::schema::TableHints;
use dltrs::secret::Secrets;
use dltrs::{Pipeline, RelationalNormalizer, Resource, Schema, SchemaContract, WriteDisposition};

/// Rows buffered before the normalizer is flushed, which bounds memory.
const FLUSH_ROWS: usize = 50_000;

const AFTER_HELP: &str = "\
Get started:
  dltrs init rest_api duckdb            scaffold pipeline.toml and .dltrs/ here
                                        (sources: rest_api, filesystem, sql_database;
                                        destinations: duckdb, postgres)
  dltrs run pipeline.toml               run it (extract, normalize, load)
  dltrs pipeline NAME info              what the pipeline holds; also trace, load-package,
                                        failed-jobs, drop, sync, abort-packages, schema
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
    /// What failed: the last run's error and the packages still waiting to be loaded.
    FailedJobs,
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

/// Writes a starting point for a pipeline: a pipeline file that runs as it is (the
/// filesystem one reads a sample file it writes too), and the `.dltrs/` configuration files.
fn init(source: &str, destination: &str, dir: &Path, name: &str, force: bool) -> Result<()> {
    let (destination_line, destination_secrets) = match destination {
        "duckdb" => (format!("destination = \"duckdb:{name}.duckdb\""), ""),
        "postgres" | "postgresql" => (
            "destination = \"postgres\"                # credentials: .dltrs/secrets.toml or DESTINATION__POSTGRES__CREDENTIALS".to_string(),
            "[destination.postgres]\n# a connection string, or a table: database, username, password, host, port\ncredentials = \"postgresql://loader:CHANGE_ME@localhost:5432/analytics\"\n\n",
        ),
        other => {
            return Err(dltrs::Error::Config(format!(
                "unknown destination `{other}`: dltrs init knows duckdb and postgres"
            ))
            .into());
        }
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(dltrs::Error::Config(format!(
            "pipeline name `{name}`: use letters, digits and _"
        ))
        .into());
    }
    let source_section = match source {
        "rest_api" => r#"[sources.api]
type = "rest_api"

[sources.api.client]
base_url = "https://api.example.com/v1/"
# auth = { type = "bearer" }   # the token: .dltrs/secrets.toml or SOURCES__API__CLIENT__AUTH__TOKEN
paginator = { type = "page_number", base_page = 1, total_path = false }

[sources.api.resource_defaults]
primary_key = "id"
write_disposition = "merge"

[[sources.api.resources]]
name = "items"
endpoint = { path = "items", params = { updated_since = { type = "incremental", cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z" } } }
"#
        .to_string(),
        "filesystem" => r#"[sources.files]
type = "filesystem"

[[sources.files.resources]]
name = "items"
path = "data/*.jsonl"          # or url = "https://..."; format from the name (jsonl, json, csv, parquet)
new_files_only = true           # later runs read only new or changed files
write_disposition = "append"
"#
        .to_string(),
        "sql_database" => r#"[sources.db]
type = "sql_database"
# credentials: .dltrs/secrets.toml ([sources.db] credentials) or SOURCES__DB__CREDENTIALS
schema = "public"               # PostgreSQL schema; for MySQL/MariaDB, the database
chunk_size = 10000
# every base table when `tables` is absent
tables = [
  { name = "items", write_disposition = "merge", incremental = { cursor_path = "updated_at" } },
]
"#
        .to_string(),
        other => {
            return Err(dltrs::Error::Config(format!(
                "unknown source `{other}`: dltrs init knows rest_api, filesystem and sql_database"
            ))
            .into());
        }
    };
    let source_secrets = match source {
        "sql_database" => {
            "[sources.db]\ncredentials = \"postgresql://reader:CHANGE_ME@localhost:5432/shop\"   # or mysql://user:pw@host:3306/shop\n\n"
        }
        _ => "",
    };
    let pipeline = format!(
        r#"# Run with: dltrs run pipeline.toml      (see the README for every key)
[pipeline]
name = "{name}"
dataset_name = "{name}_data"
{destination_line}
# schema_contract = {{ columns = "evolve", data_type = "freeze" }}

{source_section}"#
    );
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join("pipeline.toml"), pipeline),
        (
            dir.join(".dltrs/config.toml"),
            "# Configuration. Highest first: flags, environment variables (SECTION__KEY, e.g.\n# SOURCES__API__CLIENT__TIMEOUT), pipeline.toml, .dltrs/secrets.toml, this file,\n# then ~/.dltrs/secrets.toml and ~/.dltrs/config.toml.\n\n# [destination.duckdb]\n# credentials = \"data/warehouse.duckdb\"   # used when pipeline.toml says destination = \"duckdb\"\n\n# [alerts]\n# jsonl = \"schema_alerts.jsonl\"\n".into(),
        ),
        (
            dir.join(".dltrs/secrets.toml"),
            format!("# Secrets: keep this file out of version control (see .gitignore). Any key of a\n# [sources.<name>] table of pipeline.toml can be set here under the same path.\n\n{destination_secrets}{source_secrets}# [sources.api.client.auth]\n# token = \"...\"\n\n# [alerts]\n# webhook = \"https://hooks.example.com/...\"\n"),
        ),
        (dir.join(".dltrs/.gitignore"), "secrets.toml\n".into()),
    ];
    if source == "filesystem" {
        files.push((
            dir.join("data/sample.jsonl"),
            "{\"id\": 1, \"name\": \"first\", \"tags\": [\"a\"]}\n{\"id\": 2, \"name\": \"second\", \"tags\": []}\n".into(),
        ));
    }
    if !force && let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
        return Err(dltrs::Error::Config(format!(
            "{} exists; use --force to overwrite",
            path.display()
        ))
        .into());
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
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
    let mut pipeline = open_pipeline(&name, pipelines_dir.clone())?;
    if let Some(spec) = destination.or_else(|| pipeline.recorded_destination()) {
        let config = project_config()?.for_pipeline(&name);
        let mut builder =
            Pipeline::builder(&name)
                .secrets(secrets())
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
            let schema = pipeline.schema()?;
            let state = pipeline.state()?;
            let tables: Vec<&str> = schema.data_tables().map(|t| t.name.as_str()).collect();
            let resources: Vec<String> = state
                .0
                .get("sources")
                .and_then(|s| s.get(pipeline.schema_name()))
                .and_then(|s| s.get("resources"))
                .and_then(|r| r.as_object())
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            let pending: Vec<(String, &str)> = pipeline
                .packages()?
                .into_iter()
                .filter(|(_, stage)| *stage != "loaded")
                .collect();
            let trace = pipeline.last_trace();
            let info = serde_json::json!({
                "pipeline_name": pipeline.name(),
                "working_dir": pipeline.working_dir(),
                "destination": pipeline.destination().location(),
                "dataset_name": pipeline.dataset_name(),
                "schema": {"name": schema.name, "version": schema.version, "tables": tables},
                "state": {"version": state.version(), "resources_with_state": resources},
                "pending_packages": pending.iter().map(|(id, stage)| serde_json::json!({"load_id": id, "stage": stage})).collect::<Vec<_>>(),
                "last_run": trace.as_ref().map(|t| serde_json::json!({
                    "started_at": t["started_at"], "elapsed_secs": t["elapsed_secs"],
                    "ok": t["error"].is_null(), "error": t["error"],
                })),
            });
            if json {
                println!("{info}");
                return Ok(());
            }
            println!("Pipeline {}", pipeline.name());
            println!("  working dir: {}", pipeline.working_dir().display());
            println!("  destination: {}", pipeline.destination().location());
            println!("  dataset: {}", pipeline.dataset_name());
            println!(
                "  schema: {} version {}, {} tables: {}",
                schema.name,
                schema.version,
                tables.len(),
                tables.join(", ")
            );
            println!(
                "  state: version {}; resources with state: {}",
                state.version(),
                if resources.is_empty() {
                    "none".to_string()
                } else {
                    resources.join(", ")
                }
            );
            if pending.is_empty() {
                println!("  pending packages: none");
            } else {
                for (id, stage) in &pending {
                    println!("  pending package: {id} ({stage}); the next run loads it first");
                }
            }
            match &trace {
                Some(t) => println!(
                    "  last run: {} ({:.2} s), {}",
                    t["started_at"].as_str().unwrap_or_default(),
                    t["elapsed_secs"].as_f64().unwrap_or_default(),
                    t["error"]
                        .as_str()
                        .map_or("ok".to_string(), |e| format!("failed: {e}"))
                ),
                None => println!("  last run: none recorded"),
            }
            Ok(())
        }
        PipelineAction::Trace { json } => {
            let Some(trace) = pipeline.last_trace() else {
                println!("pipeline {name} has no recorded run");
                return Ok(());
            };
            if json {
                println!("{trace}");
                return Ok(());
            }
            println!(
                "Run of pipeline {name} started {} took {:.2} s: {}",
                trace["started_at"].as_str().unwrap_or_default(),
                trace["elapsed_secs"].as_f64().unwrap_or_default(),
                trace["error"]
                    .as_str()
                    .map_or("ok".to_string(), |e| format!("failed: {e}"))
            );
            for step in trace["steps"].as_array().into_iter().flatten() {
                let items = step["items"]
                    .as_object()
                    .map(|m| {
                        let list: Vec<String> =
                            m.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                        format!(" (items {})", list.join(", "))
                    })
                    .unwrap_or_default();
                println!(
                    "  {:<10} {:>8.3} s{items}",
                    step["step"].as_str().unwrap_or_default(),
                    step["elapsed_secs"].as_f64().unwrap_or_default()
                );
            }
            for package in trace["load_info"]["packages"]
                .as_array()
                .into_iter()
                .flatten()
            {
                println!(
                    "  package {}",
                    package["load_id"].as_str().unwrap_or_default()
                );
                for (table, rows) in package["row_counts"].as_object().into_iter().flatten() {
                    println!("    {table}: {rows} row(s)");
                }
                let changes = package["schema_changes"].as_array().map_or(0, Vec::len);
                if changes > 0 {
                    println!("    {changes} schema change(s)");
                }
                for w in package["warnings"].as_array().into_iter().flatten() {
                    if w["warning"] == "contract_discarded" {
                        println!(
                            "    contract: {} row(s), {} value(s) discarded in {} ({}: {})",
                            w["rows"],
                            w["values"],
                            w["table"].as_str().unwrap_or_default(),
                            w["entity"].as_str().unwrap_or_default(),
                            w["mode"].as_str().unwrap_or_default()
                        );
                    }
                }
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
                        let list: Vec<_> = packages
                            .iter()
                            .map(|(id, stage)| serde_json::json!({"load_id": id, "stage": stage}))
                            .collect();
                        println!("{}", serde_json::Value::Array(list));
                    } else {
                        for (id, stage) in packages {
                            println!("{id} {stage}");
                        }
                    }
                }
                Some(id) => {
                    let Some((manifest, stage)) = pipeline.package_manifest(&id)? else {
                        return Err(dltrs::Error::Config(format!(
                            "pipeline {name} has no package {id}; `dltrs pipeline {name} load-package` lists them"
                        ))
                        .into());
                    };
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"load_id": id, "stage": stage, "manifest": manifest})
                        );
                    } else {
                        println!("package {id}: {stage}");
                        for table in manifest["tables"].as_array().into_iter().flatten() {
                            println!(
                                "  {}: {} row(s) in {} file(s)",
                                table["name"].as_str().unwrap_or_default(),
                                table["rows"],
                                table["files"].as_array().map_or(0, Vec::len)
                            );
                        }
                        for resource in manifest["resources"].as_array().into_iter().flatten() {
                            println!(
                                "  resource {}: {} item(s)",
                                resource["name"].as_str().unwrap_or_default(),
                                resource["items"]
                            );
                        }
                    }
                }
            }
            Ok(())
        }
        PipelineAction::FailedJobs => {
            let error = pipeline
                .last_trace()
                .and_then(|t| t["error"].as_str().map(str::to_owned));
            let pending = pipeline.pending_packages()?;
            if error.is_none() && pending.is_empty() {
                println!("pipeline {name}: nothing failed");
                return Ok(());
            }
            if let Some(error) = error {
                println!("last run failed: {error}");
            }
            for id in pending {
                println!(
                    "package {id} is not loaded; the next run retries it (or `dltrs pipeline {name} abort-packages`)"
                );
            }
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
fn open_pipeline(name: &str, pipelines_dir: Option<PathBuf>) -> Result<Pipeline> {
    let mut builder = Pipeline::builder(name).secrets(secrets());
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
            eprintln!("error: {}", secrets().redact(&one_paragraph(&err)));
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

/// The error and its causes in one paragraph; a cause whose text the message already quotes
/// (our errors include their source) is not repeated.
fn one_paragraph(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Load {
            file,
            table,
            write_disposition,
            primary_key,
            merge_key,
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
        } => {
            let mut builder = Pipeline::builder(&pipeline_name).secrets(secrets());
            if let Some(dataset) = dataset_name {
                builder = builder.dataset_name(dataset);
            }
            if let Some(dir) = pipelines_dir {
                builder = builder.pipelines_dir(dir);
            }
            let config = project_config()?.for_pipeline(&pipeline_name);
            builder = builder.destination(declarative::destination(
                destination.as_deref(),
                &pipeline_name,
                Path::new(""),
                &config,
            )?);
            let mut pipeline = builder.build()?;
            let input = open_input(&file, pipeline.progress())?;
            let mut resource = Resource::from_json_reader(&table, input.name, input.reader)
                .write_disposition(write_disposition)
                .primary_key(primary_key)
                .merge_key(merge_key);
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
        } => {
            let mut declared = Declared::load(&file)?;
            declared.config = declared.config.with_secrets(secrets());
            // flags over everything; relative to the current folder, not the file's
            let cwd = project_dir()?;
            let section = &mut declared.file.pipeline;
            if let Some(dir) = pipelines_dir {
                section.pipelines_dir = Some(cwd.join(dir).display().to_string());
            }
            if let Some(spec) = destination {
                let path = spec
                    .strip_prefix("duckdb:///")
                    .or_else(|| spec.strip_prefix("duckdb:"));
                section.destination = Some(match path {
                    Some(path) if !path.is_empty() => {
                        format!("duckdb:{}", cwd.join(path).display())
                    }
                    _ => spec,
                });
            }
            if let Some(dataset) = dataset_name {
                section.dataset_name = Some(dataset);
            }
            let mut pipeline = declared.pipeline()?;
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
            action,
        } => pipeline_command(name, list, pipelines_dir, destination, action),
        Command::Schema { action } => match action {
            SchemaAction::Export {
                pipeline_name,
                pipelines_dir,
                format,
                output,
            } => {
                let pipeline = open_pipeline(&pipeline_name, pipelines_dir)?;
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
                let parsed = if text.trim_start().starts_with('{') {
                    Schema::from_json(&text)
                } else {
                    Schema::from_yaml(&text)
                };
                let schema = parsed.map_err(|e| {
                    dltrs::Error::Config(format!("{} is not a dlt schema: {e}", file.display()))
                })?;
                let mut pipeline = open_pipeline(&pipeline_name, pipelines_dir)?;
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
            let mut reader = input.reader;
            let source = input.name;
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
