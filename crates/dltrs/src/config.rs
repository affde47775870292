//! Configuration from the places dlt's users know, highest first: environment variables
//! (sections joined by `__`, upper case: `ALERTS__WEBHOOK`), then `.dltrs/secrets.toml` and
//! `.dltrs/config.toml` in the project folder, then the same files in `~/.dltrs/`.

use std::path::{Path, PathBuf};

use crate::Error;

/// The configuration layers found for a project folder.
#[derive(Debug, Default)]
pub struct Config {
    files: Vec<(PathBuf, toml::Table)>,
}

/// Where a value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env(String),
    /// A TOML file.
    File(PathBuf),
}

impl Config {
    /// Reads the configuration files of `project` and of the home folder; a file that is not
    /// valid TOML is an error naming it and the line.
    pub fn discover(project: &Path) -> Result<Config, Error> {
        let mut dirs = vec![project.join(".dltrs")];
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            let global = Path::new(&home).join(".dltrs");
            if global != dirs[0] {
                dirs.push(global);
            }
        }
        let mut files = Vec::new();
        for dir in dirs {
            for name in ["secrets.toml", "config.toml"] {
                let path = dir.join(name);
                let text = match std::fs::read_to_string(&path) {
                    Ok(text) => text,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(Error::Config(format!(
                            "cannot read {}: {e}",
                            path.display()
                        )));
                    }
                };
                let table: toml::Table = toml::from_str(&text).map_err(|e| {
                    Error::Config(format!("{}: {}", path.display(), e.to_string().trim_end()))
                })?;
                files.push((path, table));
            }
        }
        Ok(Config { files })
    }

    /// The text value at `path` (`["alerts", "webhook"]`) and where it came from.
    pub fn text(&self, path: &[&str]) -> Option<(String, Origin)> {
        let var = path.join("__").to_uppercase();
        if let Ok(value) = std::env::var(&var)
            && !value.is_empty()
        {
            return Some((value, Origin::Env(var)));
        }
        for (file, table) in &self.files {
            let mut node = table.get(*path.first()?);
            for key in &path[1..] {
                node = node.and_then(|n| n.get(*key));
            }
            match node {
                Some(toml::Value::String(s)) => {
                    return Some((s.clone(), Origin::File(file.clone())));
                }
                Some(other) => return Some((other.to_string(), Origin::File(file.clone()))),
                None => {}
            }
        }
        None
    }

    /// Alert sinks from `[alerts]` (`jsonl`, `webhook`), relative paths from `project`.
    pub fn alert_sinks(&self, project: &Path) -> crate::alerts::AlertSinks {
        crate::alerts::AlertSinks {
            jsonl: self
                .text(&["alerts", "jsonl"])
                .map(|(path, _)| project.join(path)),
            webhook: self.text(&["alerts", "webhook"]).map(|(url, _)| url),
        }
    }
}
