//! The `filesystem` source: JSON Lines, JSON, CSV and Parquet files from local paths, globs
//! and `http(s)://` URLs, streamed and gunzipped on the fly.

mod csv;
mod open;

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde::{Deserialize, Deserializer};

pub use self::csv::CsvOptions;
// for the fuzz checks (`crates/fuzz-checks`), which read CSV as the source does
#[doc(hidden)]
pub use self::csv::CsvItems;
use crate::http::{HttpClient, HttpConfig, Redactor};
use crate::progress::Progress;
use crate::resource_state::ResourceState;
use crate::run_error::BoxError;
use crate::source::{ResourceTables, SourceContext, SourceType};
use crate::table_hints::{TableHintsConfig, WithHints};
use crate::{Error, Resource};
use dltrs_core::json::stream::JsonItems;
pub use open::{Input, Location, open};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// JSON Lines: one JSON document per line.
    Jsonl,
    /// One JSON array (streamed item by item) or one object.
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format a file name suggests (`.gz` looked through).
    pub fn from_name(name: &str) -> Option<FileFormat> {
        let name = name
            .split(['?', '#'])
            .next()
            .unwrap_or(name)
            .to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit('.').next()?;
        match ext {
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            "json" => Some(FileFormat::Json),
            "csv" | "tsv" => Some(FileFormat::Csv),
            "parquet" => Some(FileFormat::Parquet),
            _ => None,
        }
    }
}

/// A resource reading files; declared under `[[sources.<name>.resources]]` of a
/// `filesystem` source. The table hints are written among its keys.
#[derive(Debug, Clone, Default)]
pub struct FileResourceConfig {
    /// The resource name (and table name unless `table_name` is set).
    pub name: String,
    /// A local path or glob (`data/**/*.jsonl`); relative to the pipeline file.
    pub path: Option<String>,
    /// An `http(s)://` URL, streamed.
    pub url: Option<String>,
    /// `jsonl`, `json`, `csv` or `parquet`; from the file name when absent.
    pub format: Option<FileFormat>,
    /// Adds a column of this name holding each row's file name.
    pub file_name_column: Option<String>,
    /// Reads only local files that are new or modified since the last run (by modification
    /// time, and by name for files modified at the same instant); the others are reported as
    /// skipped.
    pub new_files_only: Option<bool>,
    /// An incremental cursor on the rows (see [`crate::Incremental`]).
    pub incremental: Option<crate::Incremental>,
    /// CSV: the field separator (`,`).
    pub delimiter: Option<char>,
    /// CSV: the quote character (`"`).
    pub quote_char: Option<char>,
    /// CSV: whether the first row names the columns (true).
    pub has_header: Option<bool>,
    /// The table hints.
    pub hints: TableHintsConfig,
}

/// serde's reading of a file resource's own keys (see [`crate::table_hints`]).
#[derive(Deserialize)]
#[serde(remote = "FileResourceConfig", deny_unknown_fields)]
struct FileResourceKeys {
    name: String,
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
    #[serde(skip)]
    hints: TableHintsConfig,
}

impl<'de> Deserialize<'de> for FileResourceConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut hints = TableHintsConfig::default();
        let mut config = FileResourceKeys::deserialize(WithHints::new(deserializer, &mut hints))?;
        config.hints = hints;
        Ok(config)
    }
}

/// A `filesystem` source of a pipeline file: its resources.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemConfig {
    /// The resources, in the order they are extracted.
    #[serde(default)]
    pub resources: Vec<FileResourceConfig>,
}

/// The `filesystem` source type of pipeline files: `[sources.<name>]` holds a
/// [`FilesystemConfig`]; relative paths start at the pipeline file's folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilesystemSource;

impl SourceType for FilesystemSource {
    type Config = FilesystemConfig;

    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn template(&self) -> Option<crate::source::SourceTemplate> {
        Some(crate::source::SourceTemplate {
            pipeline_section: r#"[sources.files]
type = "filesystem"

[[sources.files.resources]]
name = "items"
path = "data/*.jsonl"          # or url = "https://..."; format from the name (jsonl, json, csv, parquet)
new_files_only = true           # later runs read only new or changed files
write_disposition = "append"
"#,
            secrets: "",
            files: &[(
                "data/sample.jsonl",
                "{\"id\": 1, \"name\": \"first\", \"tags\": [\"a\"]}\n{\"id\": 2, \"name\": \"second\", \"tags\": []}\n",
            )],
        })
    }

    fn resources(
        &self,
        config: FilesystemConfig,
        context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error> {
        config
            .resources
            .iter()
            .map(|resource| file_resource(resource, context.base_dir))
            .collect()
    }

    fn resource_tables(&self) -> Option<ResourceTables> {
        Some(ResourceTables {
            list: "resources",
            called: "filesystem resources",
            identified_by: "`path` or `url`",
            keys: crate::table_hints::keys_with_hints(|probe| FileResourceKeys::deserialize(probe)),
        })
    }
}

impl FileResourceConfig {
    fn csv_options(&self, named: &str) -> Result<CsvOptions, String> {
        let tsv = named
            .split(['?', '#'])
            .next()
            .unwrap_or(named)
            .to_ascii_lowercase()
            .trim_end_matches(".gz")
            .ends_with(".tsv");
        let byte = |c: Option<char>, what: &str, default: u8| match c {
            None => Ok(default),
            Some(c) if c.is_ascii() => Ok(c as u8),
            Some(c) => Err(format!("{what} must be one ASCII character, not {c:?}")),
        };
        Ok(CsvOptions {
            delimiter: byte(self.delimiter, "delimiter", if tsv { b'\t' } else { b',' })?,
            quote: byte(self.quote_char, "quote_char", b'"')?,
            has_header: self.has_header.unwrap_or(true),
        })
    }
}

/// A resource over the files `config` names; relative paths are taken from `base_dir`.
/// Globs are expanded when extraction starts, in name order.
pub fn file_resource(config: &FileResourceConfig, base_dir: &Path) -> Result<Resource, Error> {
    file_resource_with(
        config,
        base_dir,
        HttpClient::new(HttpConfig::default(), Redactor::default()),
    )
}

/// [`file_resource`] with a configured HTTP client (timeouts, retries, rate limit).
pub fn file_resource_with(
    config: &FileResourceConfig,
    base_dir: &Path,
    client: HttpClient,
) -> Result<Resource, Error> {
    let bad = |what: String| Error::Config(format!("file resource `{}`: {what}", config.name));
    let location = match (&config.path, &config.url) {
        (Some(path), None) => Source::Paths(resolve(base_dir, path)),
        (None, Some(url)) => match Location::parse(url).map_err(&bad)? {
            Location::Url(url) => Source::Url(url),
            Location::Path(_) => {
                return Err(bad(format!(
                    "url {url:?} is not an http:// or https:// URL"
                )));
            }
        },
        _ => return Err(bad("give exactly one of `path` and `url`".into())),
    };
    let named = config
        .path
        .as_deref()
        .or(config.url.as_deref())
        .unwrap_or_default();
    let format = match config.format.or_else(|| FileFormat::from_name(named)) {
        Some(format) => format,
        None => {
            return Err(bad(format!(
                "cannot tell the format of {named:?} from its name; set `format` to jsonl, json, csv or parquet"
            )));
        }
    };
    let state = ResourceState::default();
    let new_files = match (config.new_files_only.unwrap_or(false), &location) {
        (false, _) => None,
        (true, Source::Paths(_)) => Some(NewFiles {
            state: state.clone(),
            resource: config.name.clone(),
            pending: std::sync::Mutex::new(None),
        }),
        (true, Source::Url(_)) => {
            return Err(bad(
                "`new_files_only` works on local paths, not on URLs".into()
            ));
        }
    };
    if format == FileFormat::Parquet {
        if config.incremental.is_some() {
            return Err(bad(
                "`incremental` works on JSON and CSV rows, not on Parquet".into(),
            ));
        }
        let mut files = ParquetFiles {
            files: FileList::new(location, new_files),
            client,
            state: state.clone(),
            current: None,
            file_name_column: config.file_name_column.clone(),
        };
        let batches = std::iter::from_fn(move || files.next_batch().transpose());
        // the state handle: `new_files_only` keeps its files there, and the run's progress
        // comes through it
        return Ok(config
            .hints
            .apply(Resource::from_batches(config.name.clone(), batches).with_state_handle(state)));
    }
    let csv = config.csv_options(named).map_err(bad)?;
    let mut files = Files {
        files: FileList::new(location, new_files),
        client,
        state: state.clone(),
        current: None,
        format,
        csv,
        file_name_column: config.file_name_column.clone(),
    };
    let mut resource = Resource::from_fn(config.name.clone(), move |buf| files.next_item(buf))
        .with_state_handle(state);
    if let Some(incremental) = &config.incremental {
        resource = resource.incremental(incremental.clone());
    }
    Ok(config.hints.apply(resource))
}

fn resolve(base_dir: &Path, path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() || path.as_os_str() == "-" {
        path
    } else {
        base_dir.join(path)
    }
}

enum Source {
    Paths(PathBuf),
    Url(url::Url),
}

/// The files `source` names: a URL, a path, or a glob's matches in name order.
fn expand(source: &Source, progress: &Progress) -> Result<Vec<Location>, BoxError> {
    match source {
        Source::Url(url) => Ok(vec![Location::Url(url.clone())]),
        Source::Paths(pattern) => {
            let text = pattern.to_string_lossy();
            if !text.contains(['*', '?', '[']) {
                return Ok(vec![Location::Path(pattern.clone())]);
            }
            let mut paths = Vec::new();
            for entry in glob::glob(&text).map_err(|e| format!("glob {text:?}: {e}"))? {
                let path = entry.map_err(|e| format!("glob {text:?}: {e}"))?;
                if path.is_file() {
                    paths.push(path);
                }
            }
            paths.sort();
            if paths.is_empty() {
                progress.note(&format!("no file matches {text:?}"));
            }
            Ok(paths.into_iter().map(Location::Path).collect())
        }
    }
}

/// The files of a resource, listed when the first is needed (globs expanded, unchanged files
/// left out), handed out one by one.
struct FileList {
    source: Source,
    new_files: Option<NewFiles>,
    /// Files not yet opened; `None` until listed.
    pending: Option<std::vec::IntoIter<Location>>,
}

impl FileList {
    fn new(source: Source, new_files: Option<NewFiles>) -> Self {
        FileList {
            source,
            new_files,
            pending: None,
        }
    }

    /// The next file; `None` after the last, when `new_files_only` remembers what was read.
    fn next(&mut self, progress: &Progress) -> Result<Option<Location>, BoxError> {
        if self.pending.is_none() {
            let mut files = expand(&self.source, progress)?;
            if let Some(new_files) = &self.new_files {
                files = new_files.select(files, progress)?;
            }
            self.pending = Some(files.into_iter());
        }
        let next = self.pending.as_mut().and_then(Iterator::next);
        if next.is_none()
            && let Some(new_files) = &self.new_files
        {
            new_files.commit();
        }
        Ok(next)
    }
}

/// The files of a resource, read one after the other.
struct Files {
    files: FileList,
    client: HttpClient,
    /// The resource's state: it carries the run's progress counters.
    state: ResourceState,
    current: Option<Reader>,
    format: FileFormat,
    csv: CsvOptions,
    file_name_column: Option<String>,
}

enum Reader {
    Json {
        items: JsonItems<Box<dyn std::io::BufRead + Send>>,
        name: String,
    },
    Csv {
        items: Box<CsvItems>,
        name: String,
    },
}

impl Files {
    fn next_item(&mut self, buf: &mut Vec<u8>) -> Result<bool, BoxError> {
        loop {
            if let Some(reader) = &mut self.current {
                let (more, name) = match reader {
                    Reader::Json { items, name } => match items.next_item() {
                        Ok(Some((item, _))) => {
                            buf.extend(item.iter().filter(|&&b| b != b'\n' && b != b'\r'));
                            (true, name)
                        }
                        Ok(None) => (false, name),
                        Err(e) => return Err(crate::resource::input_error(name, &e)),
                    },
                    Reader::Csv { items, name } => (items.next_item(buf)?, name),
                };
                if more {
                    if let Some(column) = &self.file_name_column {
                        add_field(buf, column, name);
                    }
                    return Ok(true);
                }
                self.current = None;
            }
            let progress = self.state.progress();
            let Some(location) = self.files.next(&progress)? else {
                return Ok(false);
            };
            let Input { reader, name } = open(&location, &self.client, &progress)?;
            self.current = Some(match self.format {
                FileFormat::Csv => Reader::Csv {
                    items: Box::new(CsvItems::new(reader, name.clone(), &self.csv)?),
                    name,
                },
                _ => Reader::Json {
                    items: JsonItems::new(reader),
                    name,
                },
            });
        }
    }
}

/// `new_files_only`: the files modified after the last run's newest file, or at the same
/// instant under another name. The state holds that instant and the names modified at it.
struct NewFiles {
    state: ResourceState,
    resource: String,
    /// The state to store once every selected file was read.
    pending: std::sync::Mutex<Option<serde_json::Value>>,
}

impl NewFiles {
    fn select(&self, files: Vec<Location>, progress: &Progress) -> Result<Vec<Location>, BoxError> {
        let stored = self.state.get("new_files").unwrap_or_default();
        let last = stored
            .get("last_modified")
            .and_then(serde_json::Value::as_i64);
        let names: Vec<String> = stored
            .get("names")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let (mut newest, mut newest_names) = (last, names.clone());
        let mut selected = Vec::new();
        let mut skipped = Vec::new();
        for location in files {
            let Location::Path(path) = &location else {
                selected.push(location);
                continue;
            };
            let modified = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map_err(|e| {
                    format!(
                        "cannot read the modification time of {}: {e}",
                        path.display()
                    )
                })?;
            let micros = modified
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or_default();
            let name = path.display().to_string();
            let new = match last {
                None => true,
                Some(last) => micros > last || (micros == last && !names.contains(&name)),
            };
            if !new {
                skipped.push(name);
                continue;
            }
            match newest {
                Some(n) if micros < n => {}
                Some(n) if micros == n => newest_names.push(name),
                _ => {
                    newest = Some(micros);
                    newest_names = vec![name];
                }
            }
            selected.push(location);
        }
        if !skipped.is_empty() {
            let shown: Vec<&str> = skipped.iter().take(10).map(String::as_str).collect();
            let more = skipped.len().saturating_sub(shown.len());
            progress.note(&format!(
                "{}: skipped {} files not modified since the last run: {}{}",
                self.resource,
                skipped.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        self.pending_state(newest, newest_names);
        Ok(selected)
    }

    fn pending_state(&self, newest: Option<i64>, names: Vec<String>) {
        // kept aside until every selected file was read
        *self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(serde_json::json!({"last_modified": newest, "names": names}));
    }

    /// Every selected file was read: the next run starts after them.
    fn commit(&self) {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(pending) = pending {
            self.state.set("new_files", pending);
        }
    }
}

/// The Parquet files of a resource, read batch by batch.
struct ParquetFiles {
    files: FileList,
    client: HttpClient,
    /// The resource's state: it carries the run's progress counters.
    state: ResourceState,
    current: Option<(ParquetRecordBatchReader, String)>,
    file_name_column: Option<String>,
}

/// Rows per Arrow batch read from Parquet.
const PARQUET_BATCH: usize = 8192;

impl ParquetFiles {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, BoxError> {
        loop {
            if let Some((reader, name)) = &mut self.current {
                match reader.next() {
                    Some(Ok(batch)) => {
                        let batch = match &self.file_name_column {
                            Some(column) => with_constant(batch, column, name)?,
                            None => batch,
                        };
                        return Ok(Some(batch));
                    }
                    Some(Err(e)) => return Err(format!("{name}: {e}").into()),
                    None => self.current = None,
                }
            }
            let Some(location) = self.files.next(&self.state.progress())? else {
                return Ok(None);
            };
            let (file, name) = self.seekable(&location)?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(PARQUET_BATCH).build())
                .map_err(|e| format!("{name} is not a readable Parquet file: {e}"))?;
            self.current = Some((reader, name));
        }
    }

    /// Parquet is read from its end (the footer), so a download or standard input is first
    /// streamed into a temporary file.
    fn seekable(&self, location: &Location) -> Result<(std::fs::File, String), BoxError> {
        if let Location::Path(path) = location
            && path.as_os_str() != "-"
        {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            if let Ok(meta) = file.metadata() {
                self.state.progress().bytes(meta.len());
            }
            return Ok((file, path.display().to_string()));
        }
        let Input { mut reader, name } = open(location, &self.client, &self.state.progress())?;
        let mut file = tempfile::tempfile()?;
        std::io::copy(&mut reader, &mut file).map_err(|e| format!("downloading {name}: {e}"))?;
        Ok((file, name))
    }
}

/// `batch` with a column `name` holding `value` in every row.
fn with_constant(batch: RecordBatch, name: &str, value: &str) -> Result<RecordBatch, BoxError> {
    let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
    let mut columns = batch.columns().to_vec();
    fields.push(std::sync::Arc::new(arrow_schema::Field::new(
        name,
        arrow_schema::DataType::Utf8,
        false,
    )));
    columns.push(std::sync::Arc::new(arrow_array::StringArray::from(vec![
        value;
        batch.num_rows()
    ])));
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Adds `"column": "value"` at the end of the JSON object in `buf` (other items are left as
/// they are: only objects have columns).
fn add_field(buf: &mut Vec<u8>, column: &str, value: &str) {
    while buf.last().is_some_and(u8::is_ascii_whitespace) {
        buf.pop();
    }
    if buf.last() != Some(&b'}') {
        return;
    }
    buf.pop();
    let empty = buf
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !empty {
        buf.push(b',');
    }
    // serializing a &str cannot fail
    let _ = serde_json::to_writer(&mut *buf, column);
    buf.push(b':');
    let _ = serde_json::to_writer(&mut *buf, value);
    buf.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        assert_eq!(
            FileFormat::from_name("a/b.jsonl.gz"),
            Some(FileFormat::Jsonl)
        );
        assert_eq!(
            FileFormat::from_name("https://x/y.csv?sig=1"),
            Some(FileFormat::Csv)
        );
        assert_eq!(FileFormat::from_name("x.JSON"), Some(FileFormat::Json));
        assert_eq!(
            FileFormat::from_name("x.parquet"),
            Some(FileFormat::Parquet)
        );
        assert_eq!(FileFormat::from_name("x.txt"), None);
    }

    #[test]
    fn adds_a_field_to_objects_only() {
        let mut buf = br#"{"a":1} "#.to_vec();
        add_field(&mut buf, "_file", "x.jsonl");
        assert_eq!(buf, br#"{"a":1,"_file":"x.jsonl"}"#);
        let mut buf = b"{ }".to_vec();
        add_field(&mut buf, "f", "q\"");
        assert_eq!(buf, br#"{ "f":"q\""}"#);
        let mut buf = b"[1]".to_vec();
        add_field(&mut buf, "f", "x");
        assert_eq!(buf, b"[1]");
    }
}
