//! A normalize without a pipeline (`dltrs normalize`): the tables, rows, schema changes and
//! warnings a JSON input would give, and the schema, with nothing written anywhere. Memory
//! stays bounded: rows are counted and dropped every [`FLUSH_ROWS`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;

use dltrs_core::json::stream::JsonItems;
use dltrs_core::normalize::NormalizeWarning;
use dltrs_core::package::new_load_id;
use dltrs_core::schema::{Schema, SchemaChange, TableHints};
use dltrs_core::{NormalizeError, RelationalNormalizer};
use serde::Serialize;

/// Rows buffered before the normalizer is flushed (and the rows counted and dropped).
pub const FLUSH_ROWS: usize = 50_000;

/// What normalizing an input gave.
#[derive(Debug, Clone, Serialize)]
pub struct NormalizePreview {
    /// The input, as messages name it.
    #[serde(skip)]
    pub source: String,
    /// Items read.
    #[serde(skip)]
    pub items: u64,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    /// Tables and columns the input adds to the schema.
    pub schema_changes: Vec<SchemaChange>,
    /// Normalizer warnings.
    pub warnings: Vec<NormalizeWarning>,
    /// The schema's version after the input.
    pub schema_version: u64,
    /// Its version hash.
    pub schema_version_hash: String,
    /// The schema the input gives.
    #[serde(skip)]
    pub schema: Schema,
}

/// Why an input could not be normalized: the input, the item's position and the cause.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The input could not be read, or an item is not JSON.
    #[error("{source_name}")]
    Read {
        /// The input.
        source_name: String,
        /// Why, with the item's line and number.
        #[source]
        source: dltrs_core::json::stream::ItemsError,
    },
    /// An item could not be normalized.
    #[error("{source_name}, line {line}")]
    Normalize {
        /// The input.
        source_name: String,
        /// The line the item starts on.
        line: u64,
        /// Why, with the item's number (boxed: the error is large and rare).
        #[source]
        source: Box<NormalizeError>,
    },
    /// The normalized rows could not be assembled into batches (a dltrs bug).
    #[error("{source_name}")]
    Flush {
        /// The input.
        source_name: String,
        /// Why.
        #[source]
        source: Box<NormalizeError>,
    },
}

/// Normalizes every item of `input` (JSON Lines, one array or one object) into `table` with
/// `hints`; `source` names the input in errors.
pub fn normalize_preview(
    input: impl BufRead,
    source: &str,
    table: &str,
    hints: &TableHints,
) -> Result<NormalizePreview, PreviewError> {
    let mut normalizer = RelationalNormalizer::new(Schema::new(table), new_load_id());
    let table = normalizer.apply_hints(table, hints);
    normalizer.begin_resource(&table);
    let mut preview = NormalizePreview {
        source: source.to_owned(),
        items: 0,
        rows: BTreeMap::new(),
        schema_changes: Vec::new(),
        warnings: Vec::new(),
        schema_version: 0,
        schema_version_hash: String::new(),
        schema: Schema::new(&table),
    };
    let mut items = JsonItems::new(input);
    loop {
        let (item, position) = match items.next_item() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(source) => {
                return Err(PreviewError::Read {
                    source_name: preview.source,
                    source,
                });
            }
        };
        normalizer
            .push_json(&table, item)
            .map_err(|source| PreviewError::Normalize {
                source_name: preview.source.clone(),
                line: position.line,
                source: Box::new(source),
            })?;
        preview.items += 1;
        if normalizer.buffered_rows() >= FLUSH_ROWS {
            preview.count(&mut normalizer)?;
        }
    }
    preview.count(&mut normalizer)?;
    let mut schema = normalizer.into_schema();
    schema.bump_version();
    preview.schema_version = schema.version;
    preview.schema_version_hash = schema.version_hash.clone();
    preview.schema = schema;
    Ok(preview)
}

impl NormalizePreview {
    /// Counts and drops the buffered rows.
    fn count(&mut self, normalizer: &mut RelationalNormalizer) -> Result<(), PreviewError> {
        let chunk = normalizer.flush().map_err(|source| PreviewError::Flush {
            source_name: self.source.clone(),
            source: Box::new(source),
        })?;
        for batch in chunk.batches {
            *self.rows.entry(batch.table).or_default() += batch.batch.num_rows() as u64;
        }
        self.schema_changes.extend(chunk.changes);
        self.warnings.extend(chunk.warnings);
        Ok(())
    }
}

impl fmt::Display for NormalizePreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "normalized {} items of {}", self.items, self.source)?;
        for (table, count) in &self.rows {
            writeln!(f, "  {table}: {count} rows")?;
        }
        for change in &self.schema_changes {
            writeln!(f, "  schema: {change}")?;
        }
        for warning in &self.warnings {
            let text = serde_json::to_string(warning).map_err(|_| fmt::Error)?;
            writeln!(f, "  warning: {text}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_per_table_of_lines_and_arrays() {
        for input in [
            "{\"id\": 1, \"tags\": [\"a\", \"b\"]}\n\n{\"id\": 2, \"tags\": []}\n",
            "[{\"id\": 1, \"tags\": [\"a\", \"b\"]}, {\"id\": 2, \"tags\": []}]",
        ] {
            let preview =
                normalize_preview(input.as_bytes(), "t.json", "T", &TableHints::default()).unwrap();
            assert_eq!(preview.items, 2);
            let rows: Vec<(&str, u64)> =
                preview.rows.iter().map(|(t, n)| (t.as_str(), *n)).collect();
            assert_eq!(rows, [("t", 2), ("t__tags", 2)]);
            assert!(preview.schema.table("t__tags").is_some());
            assert_eq!(preview.schema_version, 1);
        }
    }

    #[test]
    fn an_error_names_the_input_line_and_item_once() {
        let input = "{\"id\": 1}\n{\"id\": 2}\n{\"id\": }\n";
        let err = normalize_preview(input.as_bytes(), "t.jsonl", "t", &TableHints::default())
            .unwrap_err();
        let text = crate::report(&err);
        assert_eq!(text.matches("item 3").count(), 1, "{text}");
        assert!(
            text.starts_with("t.jsonl: line 3, item 3: invalid JSON: "),
            "{text}"
        );

        let hints = TableHints {
            primary_key: vec!["id".into()],
            ..TableHints::default()
        };
        let input = "{\"id\": 1}\n\n{\"id\": null}\n";
        let err = normalize_preview(input.as_bytes(), "t.jsonl", "t", &hints).unwrap_err();
        let text = crate::report(&err);
        assert!(
            text.starts_with("t.jsonl, line 3: table `t`, item 2: column `id` is not nullable"),
            "{text}"
        );
    }
}
