//! Source types: what `type = "..."` names in a pipeline file's `[sources.<name>]` table.
//!
//! ```text
//! [sources.<name>] ──type──▶ SourceRegistry ──▶ SourceType::Config ──resources()──▶ Vec<Resource>
//!                                               (serde, unknown keys refused)
//! ```
//!
//! A source type is one value implementing [`SourceType`]: its name, its configuration type
//! and how it builds resources from a configuration. A [`SourceRegistry`] holds the types a
//! pipeline file may name; [`SourceRegistry::default`] has the built-in types this build was
//! compiled with (`rest_api`, `filesystem`, `sql_database`, each behind its cargo feature), and
//! [`crate::declarative::Declared::load_with`] reads a file with a registry of one's own. The
//! registry is a value, not a process-wide table: two pipelines in one process may use
//! different ones.

use std::any::Any;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::{Config, PathError};
use crate::{Error, Resource};

/// A kind of source, named by `type` in a pipeline file.
///
/// What an implementer must guarantee:
/// - [`SourceType::Config`] refuses unknown keys (`#[serde(deny_unknown_fields)]`, or
///   [`crate::table_hints`]' reading for resource tables with hints), so a typo is an error
///   naming the key, and in the pipeline file its line; it reads from any serde format (the
///   pipeline file's TOML with positions, the merged configuration layers, JSON).
/// - [`SourceType::resources`] does no extraction: it checks the configuration, connects or
///   lists what it must to know the resources, and returns them; items are pulled later, by
///   the pipeline.
pub trait SourceType: Send + Sync + 'static {
    /// One source's configuration: the keys of its `[sources.<name>]` table but `type` and
    /// `schema_contract` (which every source has, and the pipeline file reads itself).
    type Config: DeserializeOwned + Debug + Send + Sync + 'static;

    /// The name a pipeline file gives as `type` (`rest_api`).
    fn name(&self) -> &'static str;

    /// The resources of one source, in the order they are to be extracted.
    fn resources(
        &self,
        config: Self::Config,
        context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error>;

    /// The shape of this type's resource tables, so a key that belongs to another type's
    /// resources is refused as such ("`endpoint` does not belong to filesystem resources").
    /// `None` (the default): such keys are refused as unknown keys.
    fn resource_tables(&self) -> Option<ResourceTables> {
        None
    }

    /// What `dltrs init <type>` writes for a source of this type; `None` (the default): the
    /// type has no template.
    fn template(&self) -> Option<SourceTemplate> {
        None
    }
}

/// A source type's starting point for `dltrs init` ([`crate::init`]).
#[derive(Debug, Clone, Copy)]
pub struct SourceTemplate {
    /// The `[sources.<name>]` tables of `pipeline.toml`, ready to run or to edit.
    pub pipeline_section: &'static str,
    /// Lines for `.dltrs/secrets.toml` (empty when the source has no secret).
    pub secrets: &'static str,
    /// Sample files the pipeline reads, relative to the project folder, with their text.
    pub files: &'static [(&'static str, &'static str)],
}

/// What a source is built with besides its configuration.
#[derive(Debug, Clone, Copy)]
pub struct SourceContext<'a> {
    /// The source's name (`[sources.<name>]`).
    pub name: &'a str,
    /// Where relative paths start: the pipeline file's folder.
    pub base_dir: &'a Path,
    /// The configuration layers (environment, pipeline file, `.dltrs` files), for values a
    /// source looks up itself.
    pub config: &'a Config,
}

/// A source type's resource tables, as messages about misplaced keys describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTables {
    /// The key of their list in the source's table: `resources`, `tables`.
    pub list: &'static str,
    /// What messages call them: `filesystem resources`.
    pub called: &'static str,
    /// What they have, for messages: `` `path` or `url` ``.
    pub identified_by: &'static str,
    /// Every key a resource table takes.
    pub keys: Vec<&'static str>,
}

/// The source types a pipeline file may name, by name.
#[derive(Clone)]
pub struct SourceRegistry {
    types: Vec<Arc<dyn ErasedSourceType>>,
}

impl Default for SourceRegistry {
    /// The built-in types of this build: `rest_api` (feature `rest-api-source`), `filesystem`
    /// (`filesystem-source`), `sql_database` (`sql-database-source`).
    fn default() -> Self {
        #[allow(unused_mut, reason = "without source features nothing is registered")]
        let mut registry = SourceRegistry::empty();
        #[cfg(feature = "rest-api-source")]
        registry.register(crate::rest_api::RestApiSource);
        #[cfg(feature = "filesystem-source")]
        registry.register(crate::filesystem::FilesystemSource);
        #[cfg(feature = "sql-database-source")]
        registry.register(crate::sql_database::SqlDatabaseSource);
        registry
    }
}

impl Debug for SourceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl SourceRegistry {
    /// A registry without types.
    pub fn empty() -> Self {
        SourceRegistry { types: Vec::new() }
    }

    /// Adds `source_type`, in place of a type of the same name.
    pub fn register(&mut self, source_type: impl SourceType) -> &mut Self {
        let source_type: Arc<dyn ErasedSourceType> = Arc::new(source_type);
        match self
            .types
            .iter_mut()
            .find(|t| t.name() == source_type.name())
        {
            Some(known) => *known = source_type,
            None => self.types.push(source_type),
        }
        self
    }

    /// The names of the registered types, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.types.iter().map(|t| t.name()).collect()
    }

    /// The `dltrs init` template of type `name`: an error listing the types with one when
    /// it has none or is not registered.
    pub fn template(&self, name: &str) -> Result<SourceTemplate, Error> {
        if let Some(template) = self.get(name).and_then(|t| t.template()) {
            return Ok(template);
        }
        let with: Vec<&str> = self
            .types
            .iter()
            .filter(|t| t.template().is_some())
            .map(|t| t.name())
            .collect();
        Err(Error::Config(format!(
            "unknown source `{name}`: dltrs init knows {}",
            with.join(", ")
        )))
    }

    /// The resources of a source of type `type_name` configured by `config` (the keys of its
    /// `[sources.<name>]` table but `type`, as one value: what a binding hands over from a
    /// dict), read and built as a pipeline file's source is; errors name the key's path.
    pub fn resources_from(
        &self,
        type_name: &str,
        config: toml::Value,
        context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error> {
        let Some(kind) = self.get(type_name) else {
            return Err(Error::Config(self.unknown(type_name)));
        };
        let config = SourceConfig::from_layers(kind, config).map_err(|e| {
            let path = match e.path.as_str() {
                "." | "" => format!("sources.{}", context.name),
                path => format!("sources.{}.{path}", context.name),
            };
            Error::Config(format!("{path}: {}", e.message))
        })?;
        config.resources(context)
    }

    /// The type registered as `name`.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn ErasedSourceType>> {
        self.types.iter().find(|t| t.name() == name).cloned()
    }

    /// The message for a `type` no registered type has.
    pub(crate) fn unknown(&self, name: &str) -> String {
        match self.names().as_slice() {
            [] => format!(
                "unknown source type `{name}`: this build of dltrs has no source types (they are cargo features: rest-api-source, filesystem-source, sql-database-source)"
            ),
            names => format!(
                "unknown source type `{name}`: the source types are {}",
                names.join(", ")
            ),
        }
    }

    /// An error for the first key of `section` (the table of `[sources.<source>]`) that
    /// belongs to another registered type than the section's: at the source's level, or in
    /// one of its resource tables. Unknown keys that no type has are left to the section's
    /// reading, which names their line.
    pub(crate) fn refuse_misplaced_keys(
        &self,
        source: &str,
        section: &toml::Table,
    ) -> Result<(), Error> {
        let Some(own) = section
            .get("type")
            .and_then(toml::Value::as_str)
            .and_then(|name| self.get(name))
        else {
            return Ok(());
        };
        let others: Vec<&Arc<dyn ErasedSourceType>> = self
            .types
            .iter()
            .filter(|t| t.name() != own.name())
            .collect();
        let own_keys = own.section_keys();
        for key in section.keys() {
            if key == "type" || key == "schema_contract" || own_keys.contains(&key.as_str()) {
                continue;
            }
            let owners: Vec<&str> = others
                .iter()
                .filter(|t| t.section_keys().contains(&key.as_str()))
                .map(|t| t.name())
                .collect();
            if !owners.is_empty() {
                let has: Vec<String> = own_keys.iter().map(|k| format!("`{k}`")).collect();
                return Err(Error::Config(format!(
                    "sources.{source}: `{key}` belongs to {} sources, not to {} sources, which have {}",
                    owners.join(" and "),
                    own.name(),
                    has.join(", ")
                )));
            }
        }
        let Some(tables) = own.resource_tables() else {
            return Ok(());
        };
        let Some(toml::Value::Array(resources)) = section.get(tables.list) else {
            return Ok(());
        };
        let other_tables: Vec<ResourceTables> =
            others.iter().filter_map(|t| t.resource_tables()).collect();
        for (index, resource) in resources.iter().enumerate() {
            let toml::Value::Table(resource) = resource else {
                continue;
            };
            let misplaced = resource.keys().find(|key| {
                !tables.keys.contains(&key.as_str())
                    && other_tables.iter().any(|t| t.keys.contains(&key.as_str()))
            });
            if let Some(key) = misplaced {
                let which = match resource.get("name").and_then(toml::Value::as_str) {
                    Some(name) => format!("sources.{source} resource `{name}`"),
                    None => format!("sources.{source}.{}[{index}]", tables.list),
                };
                return Err(Error::Config(format!(
                    "{which}: `{key}` does not belong to {}, which have {}",
                    tables.called, tables.identified_by
                )));
            }
        }
        Ok(())
    }
}

/// A source's configuration, read for the type its `type` names.
pub struct SourceConfig {
    source_type: Arc<dyn ErasedSourceType>,
    config: Box<dyn AnyConfig>,
}

impl Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

impl SourceConfig {
    /// The configuration, if its type's `Config` is `C` (e.g.
    /// `rest_api::RestApiConfig`).
    pub fn get<C: 'static>(&self) -> Option<&C> {
        let config: &dyn Any = &*self.config;
        config.downcast_ref()
    }

    /// The configuration, to change before the resources are built, if it is a `C`.
    pub fn get_mut<C: 'static>(&mut self) -> Option<&mut C> {
        let config: &mut dyn Any = &mut *self.config;
        config.downcast_mut()
    }

    /// The name of the source's type.
    pub fn type_name(&self) -> &'static str {
        self.source_type.name()
    }

    /// The source's resources.
    pub fn resources(self, context: &SourceContext<'_>) -> Result<Vec<Resource>, Error> {
        self.source_type.resources(self.config, context)
    }

    /// Reads a configuration for `source_type` from the pipeline file's text (errors carry
    /// the positions of their keys).
    pub(crate) fn from_file(
        source_type: Arc<dyn ErasedSourceType>,
        section: toml::de::ValueDeserializer<'_>,
    ) -> Result<SourceConfig, toml::de::Error> {
        let config = source_type.read_file(section)?;
        Ok(SourceConfig {
            source_type,
            config,
        })
    }

    /// Reads a configuration for `source_type` from the merged configuration layers (errors
    /// carry the path of their key, from the section down).
    pub(crate) fn from_layers(
        source_type: Arc<dyn ErasedSourceType>,
        section: toml::Value,
    ) -> Result<SourceConfig, PathError> {
        let config = source_type.read_layers(section)?;
        Ok(SourceConfig {
            source_type,
            config,
        })
    }
}

/// A configuration of any type, kept for the type that reads it.
pub(crate) trait AnyConfig: Any + Debug + Send + Sync {}

impl<T: Any + Debug + Send + Sync> AnyConfig for T {}

/// [`SourceType`] with its `Config` type erased, so types of different configurations share
/// a registry.
pub(crate) trait ErasedSourceType: Send + Sync {
    fn name(&self) -> &'static str;
    /// The keys of a source's table (its `Config`'s fields).
    fn section_keys(&self) -> &'static [&'static str];
    fn resource_tables(&self) -> Option<ResourceTables>;
    fn template(&self) -> Option<SourceTemplate>;
    /// Reads a configuration from the pipeline file's text.
    fn read_file(
        &self,
        section: toml::de::ValueDeserializer<'_>,
    ) -> Result<Box<dyn AnyConfig>, toml::de::Error>;
    /// Reads a configuration from the merged configuration layers.
    fn read_layers(&self, section: toml::Value) -> Result<Box<dyn AnyConfig>, PathError>;
    fn resources(
        &self,
        config: Box<dyn AnyConfig>,
        context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error>;
}

impl<T: SourceType> ErasedSourceType for T {
    fn name(&self) -> &'static str {
        SourceType::name(self)
    }

    fn section_keys(&self) -> &'static [&'static str] {
        crate::table_hints::struct_keys(|probe| T::Config::deserialize(probe))
    }

    fn resource_tables(&self) -> Option<ResourceTables> {
        SourceType::resource_tables(self)
    }

    fn template(&self) -> Option<SourceTemplate> {
        SourceType::template(self)
    }

    fn read_file(
        &self,
        section: toml::de::ValueDeserializer<'_>,
    ) -> Result<Box<dyn AnyConfig>, toml::de::Error> {
        Ok(Box::new(T::Config::deserialize(section)?))
    }

    fn read_layers(&self, section: toml::Value) -> Result<Box<dyn AnyConfig>, PathError> {
        Ok(Box::new(crate::config::from_value::<T::Config>(section)?))
    }

    fn resources(
        &self,
        config: Box<dyn AnyConfig>,
        context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error> {
        let config: Box<dyn Any> = config;
        match config.downcast::<T::Config>() {
            Ok(config) => SourceType::resources(self, *config, context),
            // a `SourceConfig` is only made by its own type
            Err(_) => Err(Error::Config(format!(
                "the configuration of a `{}` source is of another type",
                SourceType::name(self)
            ))),
        }
    }
}
