//! The SQL load engine and the SQL text every SQL destination shares.
//!
//! A SQL destination implements two small traits ([`client`]): a [`SqlClient`] (its connection:
//! statements, bound values, bulk-appending a package file, the transaction) and a [`Dialect`]
//! (the SQL text where databases differ). The engine does the rest, once for every database:
//!
//! ```text
//! load.rs      one package in one transaction, idempotent by load id; the system tables
//!   ddl.rs     the catalog, CREATE TABLE / ALTER TABLE ADD COLUMN, the _dlt_root_id backfill
//!   merge.rs   delete-insert through staging tables
//! restore.rs   the newest completed state and the newest schema, for a lost working directory
//! ```
//!
//! This module also holds what needs no connection: quoted identifiers, the merge key
//! conditions, and each destination's names for dlt's types (`duckdb.rs`, `postgres.rs`).

pub mod client;
mod ddl;
pub mod duckdb;
mod load;
mod merge;
pub mod postgres;
mod restore;

pub use client::{Dialect, Param, RowOrder, SqlClient};
pub use load::load_package;
pub use restore::restore;

use crate::schema::Table;

/// Where a dataset's tables are: a schema, qualified with its catalog where the database needs
/// that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The catalog (database) every name is qualified with, and that `information_schema` is
    /// filtered on. DuckDB names its attached database here: a schema may share the database
    /// file's name, and `"name"."table"` would then be ambiguous. `None` where a connection
    /// sees one database only (PostgreSQL).
    pub catalog: Option<String>,
    /// The schema holding the dataset's tables.
    pub schema: String,
}

impl Dataset {
    /// `"catalog"."schema"`, or `"schema"`.
    pub fn qualified(&self) -> String {
        match &self.catalog {
            Some(catalog) => format!("{}.{}", ident(catalog), ident(&self.schema)),
            None => ident(&self.schema),
        }
    }

    /// `"catalog"."schema"."table"`, or `"schema"."table"`.
    pub fn table(&self, table: &str) -> String {
        format!("{}.{}", self.qualified(), ident(table))
    }
}

/// One connection, its dialect and the dataset: what every step of the engine works with.
pub(crate) struct Session<'a, C, D> {
    pub(crate) client: &'a mut C,
    pub(crate) dialect: &'a D,
    pub(crate) dataset: &'a Dataset,
}

impl<'a, C: SqlClient, D: Dialect> Session<'a, C, D> {
    /// The qualified name of a dataset table.
    pub(crate) fn table(&self, table: &str) -> String {
        self.dataset.table(table)
    }

    /// The placeholder of the `index`th bound value.
    pub(crate) fn p(&self, index: usize) -> String {
        self.dialect.placeholder(index)
    }

    /// `table_catalog = .. AND table_schema = ..`: the dataset's rows of an `information_schema`
    /// view, with the values bound (placeholders from 1).
    pub(crate) fn in_dataset(&self) -> (String, Vec<Param<'a>>) {
        let dataset: &'a Dataset = self.dataset;
        let mut params = Vec::with_capacity(2);
        let mut conditions = Vec::with_capacity(2);
        if let Some(catalog) = &dataset.catalog {
            params.push(Param::Text(catalog));
            conditions.push(format!("table_catalog = {}", self.p(params.len())));
        }
        params.push(Param::Text(&dataset.schema));
        conditions.push(format!("table_schema = {}", self.p(params.len())));
        (conditions.join(" AND "), params)
    }
}

/// A double-quoted identifier; embedded quotes are doubled (DuckDB and PostgreSQL alike).
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A comma-separated list of quoted identifiers.
pub fn ident_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(ident).collect::<Vec<_>>().join(", ")
}

/// The key columns of a merge root table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeKeys {
    /// Primary key columns.
    pub primary: Vec<String>,
    /// Merge key columns.
    pub merge: Vec<String>,
}

impl MergeKeys {
    /// The primary and merge key columns declared on `table`.
    pub fn of(table: &Table) -> MergeKeys {
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect();
        MergeKeys {
            primary: owned(table.columns_with(|c| c.primary_key)),
            merge: owned(table.columns_with(|c| c.merge_key)),
        }
    }

    /// True when the table has neither.
    pub fn is_empty(&self) -> bool {
        self.primary.is_empty() && self.merge.is_empty()
    }

    /// `EXISTS (...) OR EXISTS (...)`: a destination row `d` matches a row of `staged` (a
    /// qualified table) on the primary key or on the merge key, as dlt's delete-insert asks.
    pub fn matches(&self, staged: &str) -> String {
        [&self.primary, &self.merge]
            .into_iter()
            .filter(|key| !key.is_empty())
            .map(|key| {
                let on: Vec<String> = key
                    .iter()
                    .map(|c| format!("d.{c} = s.{c}", c = ident(c)))
                    .collect();
                format!(
                    "EXISTS (SELECT 1 FROM {staged} AS s WHERE {})",
                    on.join(" AND ")
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_qualified_with_the_catalog_when_there_is_one() {
        let duckdb = Dataset {
            catalog: Some("db".into()),
            schema: "ds".into(),
        };
        assert_eq!(duckdb.table("t"), "\"db\".\"ds\".\"t\"");
        let postgres = Dataset {
            catalog: None,
            schema: "ds".into(),
        };
        assert_eq!(postgres.table("t"), "\"ds\".\"t\"");
    }

    #[test]
    fn identifiers_are_quoted_and_keys_matched() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(ident_list(["a", "b"]), "\"a\", \"b\"");
        let keys = MergeKeys {
            primary: vec!["id".into()],
            merge: vec!["day".into(), "shop".into()],
        };
        assert_eq!(
            keys.matches("st"),
            "EXISTS (SELECT 1 FROM st AS s WHERE d.\"id\" = s.\"id\") OR \
             EXISTS (SELECT 1 FROM st AS s WHERE d.\"day\" = s.\"day\" AND d.\"shop\" = s.\"shop\")"
        );
    }
}
