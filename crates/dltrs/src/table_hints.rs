//! The table hints every source's resources take (`table_name`, `write_disposition`, keys,
//! nesting, columns, contract, ...): one struct, [`TableHintsConfig`], embedded in each
//! resource configuration as its `hints` field and written among the resource's own keys.
//!
//! serde's `#[serde(flatten)]` would read them, but it buffers the keys it does not know, so
//! unknown keys could no longer be refused with their TOML line, and text from environment
//! variables would no longer read as numbers. Instead a resource configuration is read by
//! serde's derive for its own keys through [`WithHints`], a deserializer that takes the hint
//! keys out of the table on the way and refuses any other key while the key is read (so the
//! error carries the key's position). Its `Deserialize` impl is four lines:
//!
//! ```text
//! #[derive(Deserialize)]
//! #[serde(remote = "FileResourceConfig", deny_unknown_fields)]
//! struct FileResourceKeys { name: String, ..., #[serde(skip)] hints: TableHintsConfig }
//!
//! impl Deserialize for FileResourceConfig {
//!     let mut hints = TableHintsConfig::default();
//!     let mut config = FileResourceKeys::deserialize(WithHints::new(deserializer, &mut hints))?;
//!     config.hints = hints;
//! }
//! ```
//!
//! (The mirror struct's derive is checked against the public struct field by field; deriving
//! on the public struct itself with `remote = "Self"` would give it a public inherent
//! `deserialize` that refuses the hints.)

use std::cell::Cell;

use indexmap::IndexMap;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Serialize};

use dltrs_core::schema::{Column, MergeStrategy, SchemaContract, WriteDisposition};

/// How rows are written: `"append"`, `"replace"`, `"merge"` or
/// `{disposition = "merge", strategy = "delete-insert"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteDispositionConfig {
    /// The disposition.
    pub disposition: WriteDisposition,
    /// The merge strategy.
    pub strategy: Option<MergeStrategy>,
}

impl<'de> Deserialize<'de> for WriteDispositionConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            disposition: WriteDisposition,
            #[serde(default)]
            strategy: Option<MergeStrategy>,
        }
        struct NameOrTable;
        impl<'de> Visitor<'de> for NameOrTable {
            type Value = WriteDispositionConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`append`, `replace`, `merge` or a table with `disposition`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let disposition =
                    WriteDisposition::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(WriteDispositionConfig {
                    disposition,
                    strategy: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(WriteDispositionConfig {
                    disposition: t.disposition,
                    strategy: t.strategy,
                })
            }
        }
        deserializer.deserialize_any(NameOrTable)
    }
}

/// One column name or several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Keys(pub Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column name or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Keys(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<String>()? {
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_any(OneOrMany)
    }
}

/// A declared column: `{data_type = "bigint", nullable = false, ...}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    /// dlt's data type name.
    #[serde(default)]
    pub data_type: Option<dltrs_core::DataType>,
    /// Whether nulls are allowed.
    #[serde(default)]
    pub nullable: Option<bool>,
    /// Part of the primary key.
    #[serde(default)]
    pub primary_key: Option<bool>,
    /// Part of the merge key.
    #[serde(default)]
    pub merge_key: Option<bool>,
    /// Decimal precision or text length.
    #[serde(default)]
    pub precision: Option<u32>,
    /// Decimal scale.
    #[serde(default)]
    pub scale: Option<u32>,
    /// Values are unique.
    #[serde(default)]
    pub unique: Option<bool>,
    /// Timestamps with a time zone (true).
    #[serde(default)]
    pub timezone: Option<bool>,
    /// dlt's `hard_delete`: a true (or, for another type, non-null) value deletes the key.
    #[serde(default)]
    pub hard_delete: Option<bool>,
    /// dlt's `dedup_sort`: `asc` or `desc`, which of a key's rows in a package is merged.
    #[serde(default)]
    pub dedup_sort: Option<DedupSort>,
}

/// The order of dlt's `dedup_sort` hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupSort {
    /// The smallest value wins.
    Asc,
    /// The greatest value wins.
    Desc,
}

impl ColumnConfig {
    /// The schema column named `name`.
    pub fn to_column(&self, name: &str) -> Column {
        let column = Column {
            name: name.to_owned(),
            data_type: self.data_type,
            nullable: self.nullable,
            precision: self.precision,
            scale: self.scale,
            timezone: self.timezone,
            primary_key: self.primary_key,
            merge_key: self.merge_key,
            unique: self.unique,
            ..Column::default()
        };
        let column = match self.hard_delete {
            Some(true) => column.hard_delete(),
            _ => column,
        };
        match self.dedup_sort {
            Some(order) => column.dedup_sort(order == DedupSort::Desc),
            None => column,
        }
    }
}

/// The hints of a resource's tables, written among the resource's own keys in every source's
/// configuration; unknown keys are refused. Standing alone it reads from a table of hints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableHintsConfig {
    /// The table to load into (the resource name).
    pub table_name: Option<String>,
    /// `append` (default), `replace`, `merge`.
    pub write_disposition: Option<WriteDispositionConfig>,
    /// Primary key columns.
    pub primary_key: Option<Keys>,
    /// Merge key columns.
    pub merge_key: Option<Keys>,
    /// Nesting levels unpacked into child tables.
    pub max_table_nesting: Option<u32>,
    /// Declared columns by name.
    pub columns: Option<IndexMap<String, ColumnConfig>>,
    /// What loads may change in the resource's tables: a mode, or
    /// `{tables = ..., columns = ..., data_type = ...}`.
    pub schema_contract: Option<SchemaContract>,
    /// Keep what the contract discards in `<table>__rejected`.
    pub quarantine: Option<bool>,
    /// The first load may create the tables although `tables` is frozen.
    pub create_tables_on_first_run: Option<bool>,
    /// dlt's `table_format` (`delta`).
    pub table_format: Option<String>,
}

impl TableHintsConfig {
    /// The keys of the hints, as written in a resource's table.
    pub const KEYS: &'static [&'static str] = &[
        "table_name",
        "write_disposition",
        "primary_key",
        "merge_key",
        "max_table_nesting",
        "columns",
        "schema_contract",
        "quarantine",
        "create_tables_on_first_run",
        "table_format",
    ];

    /// Applies the hints to `resource`.
    pub fn apply(&self, mut resource: crate::Resource) -> crate::Resource {
        if let Some(table) = &self.table_name {
            resource = resource.table_name(table.clone());
        }
        if let Some(wd) = self.write_disposition {
            resource = resource.write_disposition(wd.disposition);
            if let Some(strategy) = wd.strategy {
                resource = resource.merge_strategy(strategy);
            }
        }
        if let Some(keys) = &self.primary_key {
            resource = resource.primary_key(keys.0.clone());
        }
        if let Some(keys) = &self.merge_key {
            resource = resource.merge_key(keys.0.clone());
        }
        if let Some(levels) = self.max_table_nesting {
            resource = resource.max_table_nesting(levels);
        }
        for (name, column) in self.columns.iter().flatten() {
            resource = resource.column(column.to_column(name));
        }
        if let Some(contract) = self.schema_contract {
            resource = resource.schema_contract(contract);
        }
        if let Some(on) = self.quarantine {
            resource = resource.quarantine(on);
        }
        if let Some(on) = self.create_tables_on_first_run {
            resource = resource.create_tables_on_first_run(on);
        }
        if let Some(format) = &self.table_format {
            resource = resource.table_format(format.clone());
        }
        resource
    }

    /// `self` over `defaults`: columns merge name by name and the contract entity by entity;
    /// every other hint set here replaces the default's.
    pub fn over(self, defaults: &TableHintsConfig) -> TableHintsConfig {
        TableHintsConfig {
            table_name: self.table_name.or_else(|| defaults.table_name.clone()),
            write_disposition: self.write_disposition.or(defaults.write_disposition),
            primary_key: self.primary_key.or_else(|| defaults.primary_key.clone()),
            merge_key: self.merge_key.or_else(|| defaults.merge_key.clone()),
            max_table_nesting: self.max_table_nesting.or(defaults.max_table_nesting),
            columns: match (self.columns, &defaults.columns) {
                (Some(mine), Some(theirs)) => {
                    let mut merged = theirs.clone();
                    merged.extend(mine);
                    Some(merged)
                }
                (mine, theirs) => mine.or_else(|| theirs.clone()),
            },
            schema_contract: match (self.schema_contract, defaults.schema_contract) {
                (Some(mine), Some(theirs)) => Some(mine.or(theirs)),
                (mine, theirs) => mine.or(theirs),
            },
            quarantine: self.quarantine.or(defaults.quarantine),
            create_tables_on_first_run: self
                .create_tables_on_first_run
                .or(defaults.create_tables_on_first_run),
            table_format: self.table_format.or_else(|| defaults.table_format.clone()),
        }
    }

    /// Reads the value of the hint `key` (one of [`Self::KEYS`]) from `map`.
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        key: &'static str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        fn set<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
            slot: &mut Option<T>,
            key: &'static str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(de::Error::duplicate_field(key));
            }
            *slot = Some(map.next_value()?);
            Ok(())
        }
        match key {
            "table_name" => set(&mut self.table_name, key, map),
            "write_disposition" => set(&mut self.write_disposition, key, map),
            "primary_key" => set(&mut self.primary_key, key, map),
            "merge_key" => set(&mut self.merge_key, key, map),
            "max_table_nesting" => set(&mut self.max_table_nesting, key, map),
            "columns" => set(&mut self.columns, key, map),
            "schema_contract" => set(&mut self.schema_contract, key, map),
            "quarantine" => set(&mut self.quarantine, key, map),
            "create_tables_on_first_run" => set(&mut self.create_tables_on_first_run, key, map),
            "table_format" => set(&mut self.table_format, key, map),
            // `KEYS` and this match list the same keys (a test reads every key)
            other => Err(de::Error::custom(unknown_key(other, &[]))),
        }
    }
}

impl<'de> Deserialize<'de> for TableHintsConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A table with no keys of its own: only hints.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct OnlyHints {}
        let mut hints = TableHintsConfig::default();
        OnlyHints::deserialize(WithHints::new(deserializer, &mut hints))?;
        Ok(hints)
    }
}

/// A deserializer that reads a struct (serde's derive of a resource configuration's own keys)
/// with the table hints among its keys: a hint key's value goes into `hints`, an own key to
/// the struct, and any other key is refused as it is read, naming it and every key the table
/// takes. A source type defined outside dltrs embeds the hints in its resources the same way
/// (see the module's example).
pub struct WithHints<'a, D> {
    inner: D,
    hints: &'a mut TableHintsConfig,
}

impl<'a, D> WithHints<'a, D> {
    /// Reads through `inner`, the hints into `hints`.
    pub fn new(inner: D, hints: &'a mut TableHintsConfig) -> Self {
        WithHints { inner, hints }
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for WithHints<'_, D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_struct(
            name,
            fields,
            HintsVisitor {
                visitor,
                hints: self.hints,
                own: fields,
            },
        )
    }

    /// Only a struct has keys to sort out; anything else is read as it is.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The struct's visitor, handed a map that routes the keys.
struct HintsVisitor<'a, V> {
    visitor: V,
    hints: &'a mut TableHintsConfig,
    own: &'static [&'static str],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for HintsVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(RoutedMap {
            map,
            hints: self.hints,
            own: self.own,
        })
    }
}

/// The table's keys as the struct sees them: its own keys only, the hints read aside.
struct RoutedMap<'a, A> {
    map: A,
    hints: &'a mut TableHintsConfig,
    own: &'static [&'static str],
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for RoutedMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            let route = RouteKey {
                seed,
                own: self.own,
            };
            match self.map.next_key_seed(route)? {
                None => return Ok(None),
                Some(Route::Own(key)) => return Ok(Some(key)),
                Some(Route::Hint(key, unused)) => {
                    self.hints.read(key, &mut self.map)?;
                    seed = unused;
                }
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Where a key goes: to the struct (read by its seed), or to the hints (the seed handed
/// back for the next key).
enum Route<T, K> {
    Own(T),
    Hint(&'static str, K),
}

/// Reads a key and routes it; an unknown key is refused here, while the key is being read,
/// so the format's error names the key's position (a TOML line).
struct RouteKey<K> {
    seed: K,
    own: &'static [&'static str],
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for RouteKey<K> {
    type Value = Route<K::Value, K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for RouteKey<K> {
    type Value = Route<K::Value, K>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if self.own.contains(&key) {
            let key: de::value::StrDeserializer<'_, E> = key.into_deserializer();
            return self.seed.deserialize(key).map(Route::Own);
        }
        match TableHintsConfig::KEYS
            .iter()
            .copied()
            .find(|hint| *hint == key)
        {
            Some(hint) => Ok(Route::Hint(hint, self.seed)),
            None => Err(E::custom(unknown_key(key, self.own))),
        }
    }
}

/// serde's message for an unknown field, listing the own keys and the hints.
fn unknown_key(key: &str, own: &[&str]) -> String {
    let expected: Vec<String> = own
        .iter()
        .chain(TableHintsConfig::KEYS)
        .map(|k| format!("`{k}`"))
        .collect();
    format!(
        "unknown field `{key}`, expected one of {}",
        expected.join(", ")
    )
}

/// The keys a derived struct reads (serde's `FIELDS`, which serde does not export): the
/// struct is asked to read from a deserializer that only notes them. Empty for anything
/// that is not read as a struct.
pub(crate) fn struct_keys<T>(
    read: impl FnOnce(KeysProbe<'_>) -> Result<T, de::value::Error>,
) -> &'static [&'static str] {
    let keys: Cell<&'static [&'static str]> = Cell::new(&[]);
    // the probe always fails: it has no values to give
    let _ = read(KeysProbe { keys: &keys });
    keys.get()
}

/// The keys of a resource configuration read with its hints: its own (from `read`, serde's
/// derive of them) and the hints'.
#[cfg_attr(
    not(any(
        feature = "rest-api-source",
        feature = "filesystem-source",
        feature = "sql-database-source"
    )),
    allow(dead_code, reason = "the source kinds use it")
)]
pub(crate) fn keys_with_hints<T>(
    read: impl FnOnce(KeysProbe<'_>) -> Result<T, de::value::Error>,
) -> Vec<&'static str> {
    let mut keys = struct_keys(read).to_vec();
    keys.extend(TableHintsConfig::KEYS);
    keys
}

/// See [`struct_keys`].
pub(crate) struct KeysProbe<'a> {
    keys: &'a Cell<&'static [&'static str]>,
}

impl<'de> Deserializer<'de> for KeysProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.keys.set(fields);
        Err(de::Error::custom("the keys are noted, no value is read"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, PartialEq)]
    struct Thing {
        name: String,
        size: Option<u32>,
        hints: TableHintsConfig,
    }

    #[derive(Deserialize)]
    #[serde(remote = "Thing", deny_unknown_fields)]
    struct ThingKeys {
        name: String,
        #[serde(default)]
        size: Option<u32>,
        #[serde(skip)]
        hints: TableHintsConfig,
    }

    impl<'de> Deserialize<'de> for Thing {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let mut hints = TableHintsConfig::default();
            let mut thing = ThingKeys::deserialize(WithHints::new(deserializer, &mut hints))?;
            thing.hints = hints;
            Ok(thing)
        }
    }

    #[test]
    fn hints_are_read_among_the_own_keys() {
        let thing: Thing = serde_json::from_value(json!({
            "table_name": "t", "name": "a", "write_disposition": "merge", "primary_key": "id",
            "size": 3, "merge_key": ["a", "b"], "max_table_nesting": 1,
            "columns": {"x": {"data_type": "bigint"}}, "schema_contract": "freeze",
            "quarantine": true, "create_tables_on_first_run": false,
        }))
        .unwrap();
        assert_eq!(thing.name, "a");
        assert_eq!(thing.size, Some(3));
        let hints = thing.hints;
        assert_eq!(hints.table_name.as_deref(), Some("t"));
        assert_eq!(
            hints.write_disposition.map(|w| w.disposition),
            Some(WriteDisposition::Merge)
        );
        assert_eq!(hints.primary_key, Some(Keys(vec!["id".into()])));
        assert_eq!(hints.merge_key, Some(Keys(vec!["a".into(), "b".into()])));
        assert_eq!(hints.max_table_nesting, Some(1));
        assert_eq!(hints.columns.map(|c| c.len()), Some(1));
        assert!(hints.schema_contract.is_some());
        assert_eq!(hints.quarantine, Some(true));
        assert_eq!(hints.create_tables_on_first_run, Some(false));
    }

    #[test]
    fn every_hint_key_is_read() {
        let values = [
            json!("t"),
            json!("append"),
            json!("id"),
            json!("id"),
            json!(2),
            json!({}),
            json!("evolve"),
            json!(true),
            json!(true),
            json!("delta"),
        ];
        assert_eq!(values.len(), TableHintsConfig::KEYS.len());
        for (key, value) in TableHintsConfig::KEYS.iter().zip(values) {
            let hints: Result<TableHintsConfig, _> = serde_json::from_value(json!({ *key: value }));
            assert!(hints.is_ok(), "{key}: {hints:?}");
            assert_ne!(hints.unwrap(), TableHintsConfig::default(), "{key}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_by_name_with_the_keys_taken() {
        let err = serde_json::from_value::<Thing>(json!({"name": "a", "tabel_name": "t"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `tabel_name`"), "{err}");
        assert!(err.contains("`name`, `size`, `table_name`"), "{err}");
        let err = serde_json::from_value::<TableHintsConfig>(json!({"name": "a"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `name`"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_toml_names_its_line() {
        let err = toml::from_str::<Thing>("name = \"a\"\nsize = 2\n\nprimary_kee = \"id\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("unknown field `primary_kee`"), "{err}");
        let err = toml::from_str::<Thing>("name = \"a\"\n\nmax_table_nesting = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn text_reads_as_a_number_from_the_configuration_layers() {
        let mut table = toml::Table::new();
        table.insert("name".into(), "a".into());
        table.insert("max_table_nesting".into(), "2".into());
        table.insert("size".into(), "7".into());
        let thing: Thing = crate::config::from_value(toml::Value::Table(table)).unwrap();
        assert_eq!(thing.hints.max_table_nesting, Some(2));
        assert_eq!(thing.size, Some(7));
    }

    #[test]
    fn a_missing_own_key_is_reported() {
        let err = serde_json::from_value::<Thing>(json!({"table_name": "t"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `name`"), "{err}");
    }

    #[test]
    fn the_keys_of_a_derived_struct_are_known() {
        assert_eq!(
            struct_keys(|probe| ThingKeys::deserialize(probe)),
            &["name", "size"]
        );
        assert_eq!(
            keys_with_hints(|probe| ThingKeys::deserialize(probe)).len(),
            2 + TableHintsConfig::KEYS.len()
        );
    }
}
