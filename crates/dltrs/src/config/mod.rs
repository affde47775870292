//! Configuration from the places dlt's users know. Highest first: command-line flags (applied
//! by the caller), environment variables (sections joined by `__`, upper case:
//! `DESTINATION__DUCKDB__CREDENTIALS`), the pipeline file, `.dltrs/secrets.toml` and
//! `.dltrs/config.toml` in the project folder, then the same files in `~/.dltrs/`.
//!
//! Within each place, a value under the pipeline's name (`MY_PIPE__SOURCES__API__TOKEN`,
//! `[my_pipe.sources.api]`) comes before the same value without it, and a value named by
//! sections (`destination.duckdb.credentials`) falls back to shorter section paths
//! (`destination.credentials`, `credentials`), as dlt looks them up. Tables merge field by
//! field across places, so a password in the environment completes credentials in a file.

mod lenient;

use std::path::{Path, PathBuf};

pub use lenient::{PathError, from_value};

use crate::Error;
use crate::secret::Secrets;

/// The configuration layers found for a project folder.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pipeline: Option<String>,
    /// Every secret value a lookup found (shared by clones): the run's [`Secrets`].
    secrets: Secrets,
    /// Over the files, under the environment: the pipeline file.
    explicit: Option<Layer>,
    /// Over everything: values the command line's flags give (`--loader-file-format`), and
    /// each flag's path and name.
    flags: toml::Table,
    flag_names: Vec<(Vec<String>, String)>,
    /// Highest first.
    files: Vec<Layer>,
}

#[derive(Debug, Clone)]
struct Layer {
    path: PathBuf,
    /// Empty when the file does not exist (it is still a place looked at).
    table: toml::Table,
    exists: bool,
    /// Every string of a secrets file is a secret, whatever its key.
    secrets: bool,
}

/// Where a value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env(String),
    /// A TOML file.
    File(PathBuf),
    /// A command-line flag.
    Flag(String),
}

/// A value looked up in every layer.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The value, merged across layers; `None` when no layer has it.
    pub value: Option<toml::Value>,
    /// Where the highest layer that had a value is.
    pub origin: Option<Origin>,
    /// Every place looked at, highest precedence first.
    pub looked: Vec<String>,
}

impl Resolved {
    /// The error for a required value that no layer has: it names every place looked at.
    pub fn missing(&self, what: &str) -> Error {
        missing(what, &self.looked)
    }

    /// The value as text (numbers and booleans written as TOML writes them).
    pub fn text(&self) -> Option<String> {
        match self.value.as_ref()? {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Table(_) | toml::Value::Array(_) => None,
            other => Some(other.to_string()),
        }
    }
}

/// The error for a required value found nowhere.
pub fn missing(what: &str, looked: &[String]) -> Error {
    Error::Config(format!(
        "{what} is not set. Looked in, highest precedence first: {}",
        looked.join("; ")
    ))
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
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        files.push(Layer {
                            path,
                            table: toml::Table::new(),
                            exists: false,
                            secrets: false,
                        });
                        continue;
                    }
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
                files.push(Layer {
                    path,
                    table,
                    exists: true,
                    secrets: name == "secrets.toml",
                });
            }
        }
        Ok(Config {
            pipeline: None,
            secrets: Secrets::new(),
            explicit: None,
            flags: toml::Table::new(),
            flag_names: Vec::new(),
            files,
        })
    }

    /// The secrets every lookup so far has found (values under secret-named keys, every
    /// string of a secrets file, passwords of connection strings): what a run built from this
    /// configuration masks.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Registers found secrets into `secrets` (a run's set) from now on, with those found so
    /// far.
    pub fn with_secrets(mut self, secrets: &Secrets) -> Config {
        secrets.extend(&self.secrets);
        self.secrets = secrets.clone();
        self
    }

    /// Looks values up under the pipeline `name` first.
    pub fn for_pipeline(mut self, name: &str) -> Config {
        self.pipeline = Some(name.to_owned());
        self
    }

    /// Adds a file the user wrote for this run (a pipeline file): over the config files,
    /// under the environment.
    pub fn with_explicit(mut self, path: &Path, table: toml::Table) -> Config {
        self.explicit = Some(Layer {
            path: path.to_path_buf(),
            table,
            exists: true,
            secrets: false,
        });
        self
    }

    /// Sets `path` to `value` over every layer, as the command-line flag `flag` does
    /// (`["destination", "filesystem", "loader_file_format"]` from `--loader-file-format`).
    pub fn with_flag(mut self, flag: &str, path: &[&str], value: toml::Value) -> Config {
        let Some((last, sections)) = path.split_last() else {
            return self;
        };
        let mut table = &mut self.flags;
        for section in sections {
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            let toml::Value::Table(inner) = entry else {
                return self;
            };
            table = inner;
        }
        table.insert(last.to_string(), value);
        self.flag_names.push((
            path.iter().map(|p| p.to_string()).collect(),
            flag.to_string(),
        ));
        self
    }

    /// The value `key` of `sections` (`["destination", "duckdb"]`, `["credentials"]`), falling
    /// back to shorter section paths as dlt does.
    pub fn value(&self, sections: &[&str], key: &[&str]) -> Resolved {
        self.lookup(sections, key, true)
    }

    /// The value at exactly `path` (under the pipeline's name first): what a table of the
    /// pipeline file (`["sources", "github"]`) is completed and overridden with.
    pub fn table(&self, path: &[&str]) -> Resolved {
        self.lookup(path, &[], false)
    }

    /// The text value at `path` (`["alerts", "webhook"]`) and where it came from.
    pub fn text(&self, path: &[&str]) -> Option<(String, Origin)> {
        let resolved = self.table(path);
        Some((resolved.text()?, resolved.origin?))
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

    /// The paths to try, most specific first.
    fn candidates(&self, sections: &[&str], key: &[&str], compact: bool) -> Vec<Vec<String>> {
        let mut prefixes: Vec<Option<&str>> = vec![None];
        if let Some(name) = self.pipeline.as_deref() {
            prefixes.insert(0, Some(name));
        }
        let mut paths = Vec::new();
        for prefix in prefixes {
            let cuts: Vec<usize> = if compact {
                (0..=sections.len()).rev().collect()
            } else {
                vec![sections.len()]
            };
            for cut in cuts {
                let path: Vec<String> = prefix
                    .into_iter()
                    .chain(sections[..cut].iter().copied())
                    .chain(key.iter().copied())
                    .map(str::to_owned)
                    .collect();
                if !path.is_empty() {
                    paths.push(path);
                }
            }
        }
        paths
    }

    fn lookup(&self, sections: &[&str], key: &[&str], compact: bool) -> Resolved {
        let candidates = self.candidates(sections, key, compact);
        let mut looked = Vec::new();
        for path in &candidates {
            looked.push(format!("environment variable {}", env_name(path)));
        }
        let layers: Vec<&Layer> = self.explicit.iter().chain(&self.files).collect();
        for layer in &layers {
            let absent = if layer.exists { "" } else { " (no such file)" };
            for path in &candidates {
                looked.push(format!(
                    "`{}` in {}{absent}",
                    path.join("."),
                    layer.path.display()
                ));
            }
        }
        // lowest first, so each higher value overlays what is below it
        let mut value: Option<toml::Value> = None;
        let mut origin = None;
        for layer in layers.iter().rev() {
            for path in candidates.iter().rev() {
                if let Some(found) = node(&layer.table, path) {
                    if layer.secrets {
                        register_all(&self.secrets, found);
                    } else {
                        register_secrets(&self.secrets, found, path);
                    }
                    overlay(&mut value, found.clone());
                    origin = Some(Origin::File(layer.path.clone()));
                }
            }
        }
        for path in candidates.iter().rev() {
            if let Some((found, var)) = from_env(path) {
                register_secrets(&self.secrets, &found, path);
                overlay(&mut value, found);
                origin = Some(Origin::Env(var));
            }
        }
        for path in candidates.iter().rev() {
            if let Some(found) = node(&self.flags, path) {
                overlay(&mut value, found.clone());
                // the flag that set this value, or one of the fields under it
                let name = self
                    .flag_names
                    .iter()
                    .rev()
                    .find(|(at, _)| at.starts_with(path))
                    .map(|(_, name)| name.clone())
                    .unwrap_or_default();
                origin = Some(Origin::Flag(name));
            }
        }
        if let Some(toml::Value::String(text)) = &value {
            register_url_password(&self.secrets, text);
        }
        Resolved {
            value,
            origin,
            looked,
        }
    }
}

/// `A__B__C` for the path `a.b.c`.
fn env_name(path: &[String]) -> String {
    path.join("__").to_uppercase()
}

fn node<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let mut node = table.get(first)?;
    for key in rest {
        node = node.as_table()?.get(key)?;
    }
    Some(node)
}

/// The environment's value for `path`: `A__B` itself and its fields `A__B__FIELD` (keys in
/// lower case), the variable itself winning over fields.
fn from_env(path: &[String]) -> Option<(toml::Value, String)> {
    let name = env_name(path);
    let prefix = format!("{name}__");
    let mut fields: Option<toml::Value> = None;
    let mut first_field = None;
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, v)| k.starts_with(&prefix) && !v.is_empty())
        .collect();
    vars.sort();
    for (var, text) in vars {
        let keys: Vec<String> = var[prefix.len()..]
            .split("__")
            .map(str::to_lowercase)
            .collect();
        if keys.iter().any(String::is_empty) {
            continue;
        }
        let mut leaf = env_value(text);
        for key in keys.iter().rev() {
            let mut table = toml::Table::new();
            table.insert(key.clone(), leaf);
            leaf = toml::Value::Table(table);
        }
        overlay(&mut fields, leaf);
        first_field.get_or_insert(var);
    }
    match std::env::var(&name) {
        Ok(text) if !text.is_empty() => Some((env_value(text), name)),
        _ => Some((fields?, first_field?)),
    }
}

/// An environment variable's text as a TOML value: a number or a boolean when it reads back as
/// the same text (so `"007"` and `"1e3"` stay text), text otherwise. Settings buffered by serde
/// (tagged tables like `auth` and `paginator`) then get numbers where they want numbers, and
/// fields that want text get the exact text back.
fn env_value(text: String) -> toml::Value {
    if let Ok(i) = text.parse::<i64>()
        && i.to_string() == text
    {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = text.parse::<f64>()
        && f.is_finite()
        && f.to_string() == text
    {
        return toml::Value::Float(f);
    }
    match text.as_str() {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(text),
    }
}

/// Puts `higher` over `lower`: tables merge key by key, anything else replaces.
fn overlay(lower: &mut Option<toml::Value>, higher: toml::Value) {
    match higher {
        toml::Value::Table(high) => {
            if let Some(toml::Value::Table(low)) = lower {
                for (key, value) in high {
                    let mut slot = low.remove(&key);
                    overlay(&mut slot, value);
                    if let Some(value) = slot {
                        low.insert(key, value);
                    }
                }
                return;
            }
            *lower = Some(toml::Value::Table(high));
        }
        other => *lower = Some(other),
    }
}

/// Keys whose values are secrets, wherever they are set.
const SECRET_KEYS: &[&str] = &[
    "webhook",
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
    "secret_key",
    "client_secret",
];

fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS
        .iter()
        .any(|s| key == *s || key.ends_with(&format!("_{s}")))
}

/// Registers every string of `value` (from a secrets file).
fn register_all(secrets: &Secrets, value: &toml::Value) {
    match value {
        toml::Value::String(s) => {
            secrets.register(s);
            register_url_password(secrets, s);
        }
        toml::Value::Table(t) => t.values().for_each(|v| register_all(secrets, v)),
        toml::Value::Array(items) => items.iter().for_each(|v| register_all(secrets, v)),
        scalar => secrets.register(&scalar.to_string()),
    }
}

/// Registers the values under secret-named keys of `value` (found at `path`), and the
/// password of any connection string in it.
fn register_secrets(secrets: &Secrets, value: &toml::Value, path: &[String]) {
    match value {
        toml::Value::Table(t) => {
            for (key, field) in t {
                let mut path = path.to_vec();
                path.push(key.clone());
                register_secrets(secrets, field, &path);
            }
        }
        toml::Value::Array(items) => items
            .iter()
            .for_each(|v| register_secrets(secrets, v, path)),
        toml::Value::String(s) => {
            if path.last().is_some_and(|k| secret_key(k)) {
                secrets.register(s);
            }
            register_url_password(secrets, s);
        }
        // a numeric token from the environment is still a token
        scalar => {
            if path.last().is_some_and(|k| secret_key(k)) {
                secrets.register(&scalar.to_string());
            }
        }
    }
}

/// The password of a connection string (`postgresql://user:pw@host/db`) is a secret wherever
/// it came from: a command-line flag as much as a configuration file.
pub fn register_connection_string(secrets: &Secrets, text: &str) {
    register_url_password(secrets, text);
}

/// The secrets of one connection string (its password, raw and percent-decoded).
pub fn connection_secrets(text: &str) -> Secrets {
    let secrets = Secrets::new();
    register_url_password(&secrets, text);
    secrets
}

fn register_url_password(secrets: &Secrets, text: &str) {
    if let Ok(url) = url::Url::parse(text)
        && let Some(password) = url.password()
    {
        secrets.register(password);
        if let Ok(decoded) = urlencoding_decode(password) {
            secrets.register(&decoded);
        }
    }
}

fn urlencoding_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

#[cfg(test)]
mod tests;
