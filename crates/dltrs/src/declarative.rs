//! Declarative pipelines: one TOML file names the pipeline, its destination and its sources,
//! and `dltrs run FILE` runs it. Unknown keys are errors that name the key and its line.
//!
//! A source's `type` picks a [`SourceType`](crate::source::SourceType) from a
//! [`SourceRegistry`] (the built-in `rest_api`, `filesystem` and `sql_database` by default),
//! which reads the rest of the source's table. The file alone is read first, from its text,
//! so its errors carry lines and columns; when environment variables or `.dltrs` files
//! complete or override a source, the merged tables are read again, and errors carry the
//! path of their key.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use dltrs_core::schema::SchemaContract;

use crate::config::{Config, PathError};
use crate::destinations::{DestinationContext, DestinationRegistry};
use crate::source::{ErasedSourceType, SourceConfig, SourceContext, SourceRegistry};
use crate::{Error, Pipeline, Resource};

/// A pipeline file.
#[derive(Debug)]
pub struct PipelineFile {
    /// `[pipeline]`.
    pub pipeline: PipelineSection,
    /// `[sources.<name>]`, run in file order.
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
    /// A destination spec: `duckdb` (a `<name>.duckdb` file, the default), `duckdb:PATH`,
    /// `postgres`, `postgresql://...` (see [`crate::destinations`]).
    #[serde(default)]
    pub destination: Option<String>,
    /// Where the working directory lives (`$DLTRS_PIPELINES_DIR` or `~/.dltrs/pipelines`).
    #[serde(default)]
    pub pipelines_dir: Option<String>,
    /// The contract of every run, under the sources' and resources' own.
    #[serde(default)]
    pub schema_contract: Option<SchemaContract>,
    /// Where schema evolution alerts go (`jsonl = "alerts.jsonl"`, `webhook = "https://..."`).
    #[serde(default)]
    pub alerts: Option<crate::alerts::AlertSinks>,
    /// Remove NUL characters a destination cannot store (PostgreSQL) instead of failing the
    /// item ([`crate::PipelineBuilder::remove_nul`]).
    #[serde(default)]
    pub remove_nul: bool,
}

/// `[sources.<name>]`: a type, the contract of its resources, and the rest of its keys as
/// the type reads them.
#[derive(Debug)]
pub struct SourceSection {
    /// `type`.
    pub kind: SourceKind,
    /// The contract of the source's resources, under their own.
    pub schema_contract: Option<SchemaContract>,
    /// The other keys: the type's configuration (e.g. a
    /// `rest_api::RestApiConfig`, see [`SourceConfig::get`]).
    pub config: SourceConfig,
}

/// A source's type: the name its `type` gives, registered in a [`SourceRegistry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceKind(&'static str);

#[allow(
    non_upper_case_globals,
    reason = "named as the variants of the enum this type replaced, so `kind == SourceKind::RestApi` still reads and compiles"
)]
impl SourceKind {
    /// `rest_api`.
    #[cfg(feature = "rest-api-source")]
    pub const RestApi: SourceKind = SourceKind("rest_api");
    /// `filesystem`.
    #[cfg(feature = "filesystem-source")]
    pub const Filesystem: SourceKind = SourceKind("filesystem");
    /// `sql_database`.
    #[cfg(feature = "sql-database-source")]
    pub const SqlDatabase: SourceKind = SourceKind("sql_database");

    /// The type's name.
    pub fn name(&self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The file's own keys; each source's table is read by its type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeys {
    pipeline: PipelineSection,
    /// Read section by section, by [`PipelineFile::from_file`] and [`PipelineFile::from_layers`].
    #[serde(default, rename = "sources")]
    _sources: Option<IgnoredAny>,
}

impl PipelineFile {
    /// The file read from its text: errors carry the position of their key.
    fn from_file(text: &str, registry: &SourceRegistry) -> Result<PipelineFile, toml::de::Error> {
        let root = DeTable::parse(text)?;
        let sources = root.get_ref().get("sources").cloned();
        let keys = FileKeys::deserialize(toml::de::Deserializer::from(root))?;
        let mut file = PipelineFile {
            pipeline: keys.pipeline,
            sources: IndexMap::new(),
        };
        let Some(sources) = sources else {
            return Ok(file);
        };
        let span = sources.span();
        let sections = match sources.into_inner() {
            DeValue::Table(sections) => sections,
            other => {
                return Err(refuse(
                    Spanned::new(span, other),
                    "a table of sources: [sources.<name>]",
                ));
            }
        };
        for (name, section) in sections {
            let name = name.into_inner().into_owned();
            let section = section_from_file(&name, section, registry)?;
            file.sources.insert(name, section);
        }
        Ok(file)
    }

    /// The file read from the merged configuration layers: errors carry the path of their
    /// key (`sources.api.client.timeout`).
    fn from_layers(
        merged: toml::Table,
        registry: &SourceRegistry,
    ) -> Result<PipelineFile, PathError> {
        let sources = merged.get("sources").cloned();
        let keys: FileKeys = crate::config::from_value(toml::Value::Table(merged))?;
        let mut file = PipelineFile {
            pipeline: keys.pipeline,
            sources: IndexMap::new(),
        };
        match sources {
            None => {}
            Some(toml::Value::Table(sections)) => {
                for (name, section) in sections {
                    let section = section_from_layers(&name, section, registry)?;
                    file.sources.insert(name, section);
                }
            }
            Some(other) => {
                return Err(PathError {
                    path: "sources".into(),
                    message: format!(
                        "invalid type: {}, expected a table of sources",
                        other.type_str()
                    ),
                });
            }
        }
        Ok(file)
    }
}

/// `[sources.<name>]` from the file's text: `type` and `schema_contract`, and the rest read
/// by the type.
fn section_from_file(
    name: &str,
    section: Spanned<DeValue<'_>>,
    registry: &SourceRegistry,
) -> Result<SourceSection, toml::de::Error> {
    let span = section.span();
    let mut table = match section.into_inner() {
        DeValue::Table(table) => table,
        other => {
            let expected = format!("a table [sources.{name}] with a `type`");
            return Err(refuse(Spanned::new(span, other), &expected));
        }
    };
    let Some(kind) = table.remove("type") else {
        let message = format!(
            "missing field `type` (the source types are {})",
            registry.names().join(", ")
        );
        return Err(refuse(Spanned::new(span, DeValue::Table(table)), &message));
    };
    let source_type = RegisteredType(registry).deserialize(ValueDeserializer::from(kind))?;
    let schema_contract = match table.remove("schema_contract") {
        Some(value) => Some(SchemaContract::deserialize(ValueDeserializer::from(value))?),
        None => None,
    };
    let rest = ValueDeserializer::from(Spanned::new(span, DeValue::Table(table)));
    Ok(SourceSection {
        kind: SourceKind(source_type.name()),
        schema_contract,
        config: SourceConfig::from_file(source_type, rest)?,
    })
}

/// `[sources.<name>]` from the merged layers, as [`section_from_file`].
fn section_from_layers(
    name: &str,
    section: toml::Value,
    registry: &SourceRegistry,
) -> Result<SourceSection, PathError> {
    let at = format!("sources.{name}");
    let error = |path: String, message: String| PathError { path, message };
    let mut table = match section {
        toml::Value::Table(table) => table,
        other => {
            let message = format!("invalid type: {}, expected a table", other.type_str());
            return Err(error(at, message));
        }
    };
    let Some(kind) = table.remove("type") else {
        // not serde's "missing field", which would be looked up in every layer: the file's
        // own error, with its line and the types, says more
        let message = format!(
            "no `type` (the source types are {})",
            registry.names().join(", ")
        );
        return Err(error(at, message));
    };
    let source_type = match kind.as_str() {
        Some(kind) => registry.get(kind).ok_or_else(|| registry.unknown(kind)),
        None => Err(format!(
            "invalid type: {}, expected a source type name",
            kind.type_str()
        )),
    }
    .map_err(|message| error(format!("{at}.type"), message))?;
    let schema_contract = match table.remove("schema_contract") {
        Some(value) => Some(
            crate::config::from_value::<SchemaContract>(value)
                .map_err(|e| under(&format!("{at}.schema_contract"), e))?,
        ),
        None => None,
    };
    Ok(SourceSection {
        kind: SourceKind(source_type.name()),
        schema_contract,
        config: SourceConfig::from_layers(source_type, toml::Value::Table(table))
            .map_err(|e| under(&at, e))?,
    })
}

/// `error`, whose path starts at a source's table, with its path from the top.
fn under(prefix: &str, mut error: PathError) -> PathError {
    error.path = match error.path.as_str() {
        "" | "." => prefix.to_owned(),
        path if path.starts_with('[') => format!("{prefix}{path}"),
        path => format!("{prefix}.{path}"),
    };
    error
}

/// Reads a `type`: a type of the registry.
struct RegisteredType<'a>(&'a SourceRegistry);

impl<'de> DeserializeSeed<'de> for RegisteredType<'_> {
    type Value = Arc<dyn ErasedSourceType>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for RegisteredType<'_> {
    type Value = Arc<dyn ErasedSourceType>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a source type: {}", self.0.names().join(", "))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        self.0
            .get(name)
            .ok_or_else(|| E::custom(self.0.unknown(name)))
    }
}

/// An error at `value`'s position in the file: a table is refused with `message`, anything
/// else as not being what `message` describes.
fn refuse(value: Spanned<DeValue<'_>>, message: &str) -> toml::de::Error {
    struct Refuse<'m>(&'m str);
    impl<'de> Visitor<'de> for Refuse<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
            Err(de::Error::custom(self.0))
        }
    }
    ValueDeserializer::from(value)
        .deserialize_any(Refuse(message))
        .err()
        // `Refuse` refuses everything
        .unwrap_or_else(|| de::Error::custom(message))
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
    /// Reads and checks `path`, its sources' types from the built-in ones
    /// ([`SourceRegistry::default`]). Each `[sources.<name>]` table is completed and
    /// overridden from the configuration layers (environment variables
    /// `SOURCES__<NAME>__...`, `.dltrs/secrets.toml` and `.dltrs/config.toml` next to the file
    /// and in `~/.dltrs/`).
    pub fn load(path: &Path) -> Result<Declared, Error> {
        Declared::load_with(path, &SourceRegistry::default())
    }

    /// [`Declared::load`] with the source types of `registry`.
    pub fn load_with(path: &Path, registry: &SourceRegistry) -> Result<Declared, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let located = |mut e: toml::de::Error| {
            e.set_input(Some(&text));
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
        // a key of another source type is named as such, before it is an unknown key
        if let Some(toml::Value::Table(sources)) = merged.get("sources") {
            for (name, section) in sources {
                if let toml::Value::Table(section) = section {
                    registry.refuse_misplaced_keys(name, section)?;
                }
            }
        }
        // the file alone first: its errors carry lines and columns
        let typed = PipelineFile::from_file(&text, registry);
        let file = match typed {
            Ok(file) if !overlaid => file,
            typed => match PipelineFile::from_layers(merged, registry) {
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

    /// The pipeline the file describes, its destination from the built-in destination kinds.
    pub fn pipeline(&self) -> Result<Pipeline, Error> {
        self.pipeline_with(&DestinationRegistry::default())
    }

    /// The pipeline the file describes, its destination from `destinations`.
    pub fn pipeline_with(&self, destinations: &DestinationRegistry) -> Result<Pipeline, Error> {
        let section = &self.file.pipeline;
        let context = DestinationContext {
            pipeline_name: &section.name,
            base_dir: &self.base_dir,
            config: &self.config,
        };
        let destination = destinations.destination(section.destination.as_deref(), &context)?;
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
        builder.remove_nul(section.remove_nul).build()
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

    /// The resources of every source, in file order, each source's contract under its
    /// resources' own.
    pub fn resources(self) -> Result<Vec<Resource>, Error> {
        let mut resources = Vec::new();
        for (name, source) in self.file.sources {
            let context = SourceContext {
                name: &name,
                base_dir: &self.base_dir,
                config: &self.config,
            };
            let contract = source.schema_contract.unwrap_or_default();
            resources.extend(
                source
                    .config
                    .resources(&context)?
                    .into_iter()
                    .map(|r| r.schema_contract_under(contract)),
            );
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::source::SourceType;

    /// A source type of a plugin's own: `count` numbered rows.
    struct Numbers;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NumbersConfig {
        count: u32,
    }

    impl SourceType for Numbers {
        type Config = NumbersConfig;

        fn name(&self) -> &'static str {
            "numbers"
        }

        fn resources(
            &self,
            config: NumbersConfig,
            context: &SourceContext<'_>,
        ) -> Result<Vec<Resource>, Error> {
            let rows: Vec<serde_json::Value> = (0..config.count)
                .map(|i| serde_json::json!({ "i": i }))
                .collect();
            Ok(vec![Resource::new(context.name, rows)])
        }
    }

    fn file(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("pipeline.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn registry() -> SourceRegistry {
        let mut registry = SourceRegistry::default();
        registry.register(Numbers);
        registry
    }

    const NUMBERS: &str =
        "[pipeline]\nname = \"p\"\n\n[sources.n]\ntype = \"numbers\"\ncount = 3\n";

    #[test]
    fn a_registered_source_type_reads_its_section_and_builds_its_resources() {
        let dir = tempfile::tempdir().unwrap();
        let declared = Declared::load_with(&file(dir.path(), NUMBERS), &registry()).unwrap();
        let source = &declared.file.sources["n"];
        assert_eq!(source.kind.name(), "numbers");
        assert_eq!(source.config.get::<NumbersConfig>().unwrap().count, 3);
        let resources = declared.resources().unwrap();
        assert_eq!(resources.len(), 1);
        assert_eq!(resources[0].name(), "n");
    }

    #[test]
    fn an_unknown_type_lists_the_registered_ones_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = Declared::load_with(&file(dir.path(), NUMBERS), &SourceRegistry::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown source type `numbers`"), "{err}");
        assert!(err.contains("line 5"), "{err}");
        for name in SourceRegistry::default().names() {
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn a_plugin_config_refuses_unknown_keys_at_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{NUMBERS}cuont = 4\n");
        let err = Declared::load_with(&file(dir.path(), &text), &registry())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `cuont`"), "{err}");
        assert!(err.contains("line 7"), "{err}");
        let err = Declared::load_with(
            &file(
                dir.path(),
                "[pipeline]\nname = \"p\"\n[sources.n]\ncount = 3\n",
            ),
            &registry(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing field `type`"), "{err}");
        assert!(err.contains("numbers"), "{err}");
    }

    #[cfg(all(feature = "rest-api-source", feature = "filesystem-source"))]
    #[test]
    fn a_key_of_another_source_type_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[pipeline]\nname = \"p\"\n[sources.f]\ntype = \"filesystem\"\nresource_defaults = {}\n";
        let err = Declared::load(&file(dir.path(), text))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sources.f: `resource_defaults` belongs to rest_api sources"),
            "{err}"
        );
        let text = "[pipeline]\nname = \"p\"\n[sources.a]\ntype = \"rest_api\"\nclient = {base_url = \"http://x/\"}\nresources = [{name = \"r\", path = \"x.jsonl\"}]\n";
        let err = Declared::load(&file(dir.path(), text))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("resource `r`: `path` does not belong to rest_api resources"),
            "{err}"
        );
    }

    #[cfg(feature = "duckdb")]
    #[test]
    fn destinations_come_from_their_registry() {
        let config = Config::default();
        let context = DestinationContext {
            pipeline_name: "p",
            base_dir: Path::new("base"),
            config: &config,
        };
        let registry = DestinationRegistry::default();
        let duckdb = registry.destination(None, &context).unwrap();
        assert!(
            duckdb.location().ends_with("p.duckdb"),
            "{}",
            duckdb.location()
        );
        let err = registry
            .destination(Some("snowflake"), &context)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown destination `snowflake`"), "{err}");
        assert!(err.contains("duckdb:PATH"), "{err}");
        let err = DestinationRegistry::empty()
            .destination(None, &context)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("names no destination"), "{err}");
    }
}
