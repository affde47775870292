//! Declarative pipelines: one TOML file names the pipeline, its destination and its sources
//! (`rest_api`, `filesystem` and `sql_database`), and `dltrs run FILE` runs it. Unknown keys are errors that
//! name the key and its line.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::config::Config;
use crate::filesystem::{FileFormat, FileResourceConfig, file_resource};
use crate::rest_api::{
    ClientConfig, ColumnConfig, EndpointConfig, Keys, ResourceConfig, ResourceSettings,
    RestApiConfig, WriteDispositionConfig, rest_api_resources,
};
use crate::sql_database::{SqlDatabaseConfig, SqlTableConfig, sql_database_resources};
use crate::{Error, Pipeline, Resource};

/// A pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// `[pipeline]`.
    pub pipeline: PipelineSection,
    /// `[sources.<name>]`, run in file order.
    #[serde(default)]
    pub sources: IndexMap<String, SourceSection>,
}

/// `[pipeline]`: what to call the pipeline and where it loads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// The pipeline name.
    pub name: String,
    /// The dataset (`<name>_dataset`).
    #[serde(default)]
    pub dataset_name: Option<String>,
    /// `duckdb` (a `<name>.duckdb` file) or `duckdb:PATH`.
    #[serde(default)]
    pub destination: Option<String>,
    /// Where the working directory lives (`$DLTRS_PIPELINES_DIR` or `~/.dltrs/pipelines`).
    #[serde(default)]
    pub pipelines_dir: Option<String>,
    /// The contract of every run, under the sources' and resources' own.
    #[serde(default)]
    pub schema_contract: Option<dltrs_core::schema::SchemaContract>,
    /// Where schema evolution alerts go (`jsonl = "alerts.jsonl"`, `webhook = "https://..."`).
    #[serde(default)]
    pub alerts: Option<crate::alerts::AlertSinks>,
}

/// `[sources.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `rest_api` or `filesystem`.
    #[serde(rename = "type")]
    pub kind: SourceKind,
    /// `rest_api`: the client.
    #[serde(default)]
    pub client: Option<ClientConfig>,
    /// `rest_api`: settings every resource starts from.
    #[serde(default)]
    pub resource_defaults: Option<ResourceSettings>,
    /// The resources.
    #[serde(default)]
    pub resources: Vec<AnyResource>,
    /// The contract of the source's resources, under their own.
    #[serde(default)]
    pub schema_contract: Option<dltrs_core::schema::SchemaContract>,
    /// `sql_database`: a `postgresql://` or `mysql://` connection string.
    #[serde(default)]
    pub credentials: Option<String>,
    /// `sql_database`: the schema (PostgreSQL, `public`) or database (MySQL).
    #[serde(default)]
    pub schema: Option<String>,
    /// `sql_database`: the tables (names or tables with hints); all of them when absent.
    #[serde(default)]
    pub tables: Vec<AnyResource>,
    /// `sql_database`: rows per chunk.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// `sql_database`: tables read at once.
    #[serde(default)]
    pub parallelism: Option<usize>,
}

/// A source type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A REST API.
    RestApi,
    /// Files.
    Filesystem,
    /// Tables of a SQL database.
    SqlDatabase,
}

/// A resource of either source type, as written; checked against its source's type. TOML
/// tables may list `type` after `resources`, so the keys of both kinds are read first and
/// sorted out after; reading them into one table keeps the line of an unknown key.
#[derive(Debug, Default)]
pub struct AnyResource(ResourceTable);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceTable {
    #[serde(default)]
    name: Option<String>,
    // rest_api
    #[serde(default, deserialize_with = "crate::rest_api::deserialize_endpoint")]
    endpoint: Option<EndpointConfig>,
    #[serde(default)]
    include_from_parent: Option<Vec<String>>,
    #[serde(default)]
    selected: Option<bool>,
    // filesystem
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    format: Option<FileFormat>,
    #[serde(default)]
    file_name_column: Option<String>,
    #[serde(default)]
    new_files_only: Option<bool>,
    #[serde(default)]
    incremental: Option<crate::Incremental>,
    #[serde(default)]
    delimiter: Option<char>,
    #[serde(default)]
    quote_char: Option<char>,
    #[serde(default)]
    has_header: Option<bool>,
    // sql_database
    #[serde(default)]
    query: Option<String>,
    // all
    #[serde(default)]
    table_name: Option<String>,
    #[serde(default)]
    write_disposition: Option<WriteDispositionConfig>,
    #[serde(default)]
    primary_key: Option<Keys>,
    #[serde(default)]
    merge_key: Option<Keys>,
    #[serde(default)]
    max_table_nesting: Option<u32>,
    #[serde(default)]
    columns: Option<IndexMap<String, ColumnConfig>>,
    #[serde(default)]
    schema_contract: Option<dltrs_core::schema::SchemaContract>,
    #[serde(default)]
    quarantine: Option<bool>,
    #[serde(default)]
    create_tables_on_first_run: Option<bool>,
}

impl ResourceTable {
    /// An error for the first key set here that belongs to another kind of source: the keys
    /// of all kinds are read into one table (so an unknown key keeps its line).
    fn refuse_keys_of_other_kinds(
        &self,
        kind: SourceKind,
        source: &str,
        name: &str,
    ) -> Result<(), Error> {
        use SourceKind::{Filesystem, RestApi, SqlDatabase};
        let keys: [(&str, bool, &[SourceKind]); 12] = [
            ("endpoint", self.endpoint.is_some(), &[RestApi]),
            (
                "include_from_parent",
                self.include_from_parent.is_some(),
                &[RestApi],
            ),
            ("selected", self.selected.is_some(), &[RestApi]),
            ("path", self.path.is_some(), &[Filesystem]),
            ("url", self.url.is_some(), &[Filesystem]),
            ("format", self.format.is_some(), &[Filesystem]),
            (
                "file_name_column",
                self.file_name_column.is_some(),
                &[Filesystem],
            ),
            (
                "new_files_only",
                self.new_files_only.is_some(),
                &[Filesystem],
            ),
            ("delimiter", self.delimiter.is_some(), &[Filesystem]),
            ("quote_char", self.quote_char.is_some(), &[Filesystem]),
            ("has_header", self.has_header.is_some(), &[Filesystem]),
            ("query", self.query.is_some(), &[SqlDatabase]),
        ];
        let incremental = (self.incremental.is_some() && kind == RestApi).then_some("incremental");
        let misplaced = keys
            .iter()
            .find(|(_, set, kinds)| *set && !kinds.contains(&kind))
            .map(|(key, _, _)| *key)
            .or(incremental);
        let Some(key) = misplaced else {
            return Ok(());
        };
        let (what, has) = match kind {
            RestApi => ("rest_api resources", "`endpoint`"),
            Filesystem => ("filesystem resources", "`path` or `url`"),
            SqlDatabase => (
                "sql_database tables",
                "`name`, `query`, `incremental` and table hints",
            ),
        };
        Err(Error::Config(format!(
            "sources.{source} resource `{name}`: `{key}` does not belong to {what}, which have {has}"
        )))
    }
}

impl<'de> Deserialize<'de> for AnyResource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameOrTable;
        impl<'de> Visitor<'de> for NameOrTable {
            type Value = AnyResource;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a resource name or a table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AnyResource(ResourceTable {
                    name: Some(v.to_owned()),
                    ..ResourceTable::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ResourceTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AnyResource)
            }
        }
        deserializer.deserialize_any(NameOrTable)
    }
}

impl AnyResource {
    fn rest(self, source: &str, index: usize) -> Result<ResourceConfig, Error> {
        let t = self.0;
        let Some(name) = t.name.clone() else {
            return Err(Error::Config(format!(
                "sources.{source}.resources[{index}] has no `name`"
            )));
        };
        t.refuse_keys_of_other_kinds(SourceKind::RestApi, source, &name)?;
        Ok(ResourceConfig {
            name: name.clone(),
            settings: ResourceSettings {
                name: Some(name),
                endpoint: t.endpoint,
                table_name: t.table_name,
                write_disposition: t.write_disposition,
                primary_key: t.primary_key,
                merge_key: t.merge_key,
                max_table_nesting: t.max_table_nesting,
                columns: t.columns,
                include_from_parent: t.include_from_parent,
                selected: t.selected,
                schema_contract: t.schema_contract,
                quarantine: t.quarantine,
                create_tables_on_first_run: t.create_tables_on_first_run,
            },
        })
    }

    fn file(self, source: &str, index: usize) -> Result<FileResourceConfig, Error> {
        let t = self.0;
        let Some(name) = t.name.clone() else {
            return Err(Error::Config(format!(
                "sources.{source}.resources[{index}] has no `name`"
            )));
        };
        t.refuse_keys_of_other_kinds(SourceKind::Filesystem, source, &name)?;
        Ok(FileResourceConfig {
            name,
            path: t.path,
            url: t.url,
            format: t.format,
            file_name_column: t.file_name_column,
            new_files_only: t.new_files_only,
            incremental: t.incremental,
            delimiter: t.delimiter,
            quote_char: t.quote_char,
            has_header: t.has_header,
            table_name: t.table_name,
            write_disposition: t.write_disposition,
            primary_key: t.primary_key,
            merge_key: t.merge_key,
            max_table_nesting: t.max_table_nesting,
            columns: t.columns,
            schema_contract: t.schema_contract,
            quarantine: t.quarantine,
            create_tables_on_first_run: t.create_tables_on_first_run,
        })
    }
}

impl AnyResource {
    fn sql(self, source: &str, index: usize) -> Result<SqlTableConfig, Error> {
        let t = self.0;
        let Some(name) = t.name.clone() else {
            return Err(Error::Config(format!(
                "sources.{source}.tables[{index}] has no `name`"
            )));
        };
        t.refuse_keys_of_other_kinds(SourceKind::SqlDatabase, source, &name)?;
        Ok(SqlTableConfig {
            name,
            query: t.query,
            incremental: t.incremental,
            table_name: t.table_name,
            write_disposition: t.write_disposition,
            primary_key: t.primary_key,
            merge_key: t.merge_key,
            max_table_nesting: t.max_table_nesting,
            columns: t.columns,
            schema_contract: t.schema_contract,
            quarantine: t.quarantine,
            create_tables_on_first_run: t.create_tables_on_first_run,
        })
    }
}

/// A pipeline file read and checked, with the directory its relative paths start from.
#[derive(Debug)]
pub struct Declared {
    /// The file's contents, its sources completed from the configuration layers.
    pub file: PipelineFile,
    /// The file's directory.
    pub base_dir: PathBuf,
    /// The configuration layers of the file's folder, the file among them.
    pub config: Config,
}

impl Declared {
    /// Reads and checks `path`. Each `[sources.<name>]` table is completed and overridden
    /// from the configuration layers (environment variables `SOURCES__<NAME>__...`,
    /// `.dltrs/secrets.toml` and `.dltrs/config.toml` next to the file and in `~/.dltrs/`).
    pub fn load(path: &Path) -> Result<Declared, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let located = |e: toml::de::Error| {
            Error::Config(format!("{}: {}", path.display(), e.to_string().trim_end()))
        };
        let raw: toml::Table = toml::from_str(&text).map_err(located)?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(PathBuf::new, Path::to_path_buf);
        let mut config = Config::discover(&base_dir)?;
        if let Some(name) = raw
            .get("pipeline")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
        {
            config = config.for_pipeline(name);
        }
        let config = config.with_explicit(path, raw.clone());
        let mut merged = raw;
        let mut overlaid = false;
        if let Some(toml::Value::Table(sources)) = merged.get_mut("sources") {
            for (name, section) in sources.iter_mut() {
                if let Some(value) = config.table(&["sources", name]).value
                    && value != *section
                {
                    *section = value;
                    overlaid = true;
                }
            }
        }
        // the file alone first: its errors carry lines and columns
        let typed = toml::from_str::<PipelineFile>(&text);
        let file = match typed {
            Ok(file) if !overlaid => file,
            typed => match crate::config::from_value::<PipelineFile>(toml::Value::Table(merged)) {
                Ok(file) => file,
                Err(e) => {
                    // a missing source setting may come from any layer: say where we looked
                    let layered = e
                        .missing_field()
                        .filter(|f| f.starts_with("sources.") && !f.contains('['));
                    return Err(match (layered, typed) {
                        (Some(field), _) => {
                            let keys: Vec<&str> = field.split('.').collect();
                            config.table(&keys).missing(&format!("`{field}`"))
                        }
                        // the file alone is wrong: its error has the line and column
                        (None, Err(file_error)) if !overlaid => located(file_error),
                        _ => Error::Config(format!(
                            "{}: {e} (with the values of environment variables and .dltrs files)",
                            path.display()
                        )),
                    });
                }
            },
        };
        Ok(Declared {
            file,
            base_dir,
            config,
        })
    }

    /// The pipeline the file describes.
    pub fn pipeline(&self) -> Result<Pipeline, Error> {
        let section = &self.file.pipeline;
        let destination = destination(
            section.destination.as_deref(),
            &section.name,
            &self.base_dir,
            &self.config,
        )?;
        let mut builder = Pipeline::builder(section.name.clone())
            .destination(destination)
            .secrets(self.config.secrets());
        if let Some(dataset) = &section.dataset_name {
            builder = builder.dataset_name(dataset.clone());
        }
        if let Some(dir) = &section.pipelines_dir {
            builder = builder.pipelines_dir(self.base_dir.join(dir));
        }
        if let Some(contract) = section.schema_contract {
            builder = builder.schema_contract(contract);
        }
        builder.build()
    }

    /// Where schema alerts go (paths taken from the file's directory): the environment's
    /// `ALERTS__*` over the file's `[pipeline] alerts` over the `.dltrs` files' `[alerts]`.
    pub fn alert_sinks(&self) -> crate::alerts::AlertSinks {
        let from_env = |key: &str| match self.config.text(&["alerts", key]) {
            Some((value, crate::config::Origin::Env(_))) => Some(value),
            _ => None,
        };
        let env = crate::alerts::AlertSinks {
            jsonl: from_env("jsonl").map(|path| self.base_dir.join(path)),
            webhook: from_env("webhook"),
        };
        let mut file = self.file.pipeline.alerts.clone().unwrap_or_default();
        if let Some(path) = &file.jsonl {
            file.jsonl = Some(self.base_dir.join(path));
        }
        env.or(file).or(self.config.alert_sinks(&self.base_dir))
    }

    /// The resources of every source, in file order.
    pub fn resources(self) -> Result<Vec<Resource>, Error> {
        let mut resources = Vec::new();
        for (name, source) in self.file.sources {
            let sql_keys = source.credentials.is_some()
                || source.schema.is_some()
                || !source.tables.is_empty()
                || source.chunk_size.is_some()
                || source.parallelism.is_some();
            if sql_keys && source.kind != SourceKind::SqlDatabase {
                return Err(Error::Config(format!(
                    "sources.{name}: `credentials`, `schema`, `tables`, `chunk_size` and `parallelism` belong to sql_database sources"
                )));
            }
            match source.kind {
                SourceKind::RestApi => {
                    let Some(client) = source.client else {
                        return Err(Error::Config(format!(
                            "sources.{name}: a rest_api source needs a `client` with `base_url`"
                        )));
                    };
                    let config = RestApiConfig {
                        client,
                        resource_defaults: source.resource_defaults,
                        resources: source
                            .resources
                            .into_iter()
                            .enumerate()
                            .map(|(i, r)| r.rest(&name, i))
                            .collect::<Result<_, _>>()?,
                    };
                    let contract = source.schema_contract.unwrap_or_default();
                    resources.extend(
                        rest_api_resources(&config)?
                            .into_iter()
                            .map(|r| r.schema_contract_under(contract)),
                    );
                }
                SourceKind::SqlDatabase => {
                    if source.client.is_some()
                        || source.resource_defaults.is_some()
                        || !source.resources.is_empty()
                    {
                        return Err(Error::Config(format!(
                            "sources.{name}: a sql_database source has `credentials`, `schema` and `tables`, not `client`, `resource_defaults` or `resources`"
                        )));
                    }
                    let Some(credentials) = source.credentials else {
                        return Err(crate::config::missing(
                            &format!(
                                "sources.{name}.credentials (a postgresql:// or mysql:// connection string)"
                            ),
                            &[
                                format!(
                                    "environment variable SOURCES__{}__CREDENTIALS",
                                    name.to_uppercase()
                                ),
                                "the pipeline file".into(),
                                format!("[sources.{name}] in .dltrs/secrets.toml and config.toml"),
                            ],
                        ));
                    };
                    let config = SqlDatabaseConfig {
                        credentials,
                        schema: source.schema,
                        tables: source
                            .tables
                            .into_iter()
                            .enumerate()
                            .map(|(i, t)| t.sql(&name, i))
                            .collect::<Result<_, _>>()?,
                        chunk_size: source.chunk_size,
                        parallelism: source.parallelism,
                    };
                    let contract = source.schema_contract.unwrap_or_default();
                    resources.extend(
                        sql_database_resources(&config)?
                            .into_iter()
                            .map(|r| r.schema_contract_under(contract)),
                    );
                }
                SourceKind::Filesystem => {
                    if source.client.is_some() || source.resource_defaults.is_some() {
                        return Err(Error::Config(format!(
                            "sources.{name}: `client` and `resource_defaults` belong to rest_api sources"
                        )));
                    }
                    for (i, resource) in source.resources.into_iter().enumerate() {
                        let config = resource.file(&name, i)?;
                        let contract = source.schema_contract.unwrap_or_default();
                        resources.push(
                            file_resource(&config, &self.base_dir)?.schema_contract_under(contract),
                        );
                    }
                }
            }
        }
        if resources.is_empty() {
            return Err(Error::Config(
                "the pipeline file declares no resources: add [sources.<name>] with resources"
                    .into(),
            ));
        }
        Ok(resources)
    }
}

pub use crate::destinations::destination;
