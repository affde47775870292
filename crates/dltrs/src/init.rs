//! `dltrs init`: a starting point for a pipeline, made of the templates source types and
//! destination kinds give ([`crate::source::SourceType::template`],
//! [`crate::destinations::DestinationType::template`]): a `pipeline.toml` that runs as it is
//! (or after filling in credentials), and the `.dltrs/` configuration files.

use std::path::{Path, PathBuf};

use crate::destinations::DestinationRegistry;
use crate::run_error::{Error, Result};
use crate::source::SourceRegistry;

/// The files of a new pipeline, relative to its project folder.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// Each file's path under the project folder and its text.
    pub files: Vec<(PathBuf, String)>,
}

const CONFIG_TOML: &str = "\
# Configuration. Highest first: flags, environment variables (SECTION__KEY, e.g.
# SOURCES__API__CLIENT__TIMEOUT), pipeline.toml, .dltrs/secrets.toml, this file,
# then ~/.dltrs/secrets.toml and ~/.dltrs/config.toml.

# [destination.duckdb]
# credentials = \"data/warehouse.duckdb\"   # used when pipeline.toml says destination = \"duckdb\"

# [alerts]
# jsonl = \"schema_alerts.jsonl\"
";

const SECRETS_HEADER: &str = "\
# Secrets: keep this file out of version control (see .gitignore). Any key of a
# [sources.<name>] table of pipeline.toml can be set here under the same path.

";

const SECRETS_FOOTER: &str = "\
# [alerts]
# webhook = \"https://hooks.example.com/...\"
";

/// The files for pipeline `name` reading a `source` type's template into a `destination`
/// kind's, from the types and kinds of the registries.
pub fn scaffold(
    sources: &SourceRegistry,
    destinations: &DestinationRegistry,
    source: &str,
    destination: &str,
    name: &str,
) -> Result<Scaffold> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::Config(format!(
            "pipeline name `{name}`: use letters, digits and _"
        )));
    }
    let dest = destinations.template(destination, name)?;
    let src = sources.template(source)?;
    let pipeline = format!(
        "# Run with: dltrs run pipeline.toml      (see the README for every key)
[pipeline]
name = \"{name}\"
dataset_name = \"{name}_data\"
{}
# schema_contract = {{ columns = \"evolve\", data_type = \"freeze\" }}

{}",
        dest.pipeline_line, src.pipeline_section
    );
    let secrets = format!(
        "{SECRETS_HEADER}{}{}{SECRETS_FOOTER}",
        dest.secrets, src.secrets
    );
    let mut files = vec![
        (PathBuf::from("pipeline.toml"), pipeline),
        (PathBuf::from(".dltrs/config.toml"), CONFIG_TOML.to_string()),
        (PathBuf::from(".dltrs/secrets.toml"), secrets),
        (PathBuf::from(".dltrs/.gitignore"), "secrets.toml\n".into()),
    ];
    for (path, text) in src.files {
        files.push((PathBuf::from(path), (*text).to_string()));
    }
    Ok(Scaffold { files })
}

impl Scaffold {
    /// Writes the files under `dir` and returns their paths. An existing file is an error
    /// naming it, unless `force`; then nothing is written.
    pub fn write(&self, dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
        let paths: Vec<PathBuf> = self.files.iter().map(|(p, _)| dir.join(p)).collect();
        if !force && let Some(path) = paths.iter().find(|path| path.exists()) {
            return Err(Error::Config(format!(
                "{} exists; use --force to overwrite",
                path.display()
            )));
        }
        for (path, (_, text)) in paths.iter().zip(&self.files) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::File {
                    action: "create",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(path, text).map_err(|source| Error::File {
                action: "write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_source_and_destination_has_a_template() {
        let (sources, destinations) = (SourceRegistry::default(), DestinationRegistry::default());
        for source in sources.names() {
            for destination in destinations.names() {
                let scaffold = scaffold(&sources, &destinations, source, destination, "p").unwrap();
                let pipeline = &scaffold.files[0].1;
                assert!(pipeline.contains("name = \"p\""), "{pipeline}");
                toml::from_str::<toml::Value>(pipeline).unwrap();
                toml::from_str::<toml::Value>(&scaffold.files[2].1).unwrap();
            }
        }
    }

    #[test]
    fn an_unknown_source_lists_the_templates() {
        let (sources, destinations) = (SourceRegistry::default(), DestinationRegistry::default());
        let err = scaffold(&sources, &destinations, "ftp", "duckdb", "p").unwrap_err();
        assert!(err.to_string().contains("dltrs init knows"), "{err}");
        let err = scaffold(&sources, &destinations, "rest_api", "duckdb", "a-b").unwrap_err();
        assert!(
            err.to_string().contains("use letters, digits and _"),
            "{err}"
        );
    }
}
