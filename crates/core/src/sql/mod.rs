//! SQL dialect knowledge that needs no driver: how each destination names dlt's types, and the
//! SQL text both destinations write alike (double-quoted identifiers, merge key conditions).

pub mod duckdb;
pub mod postgres;

use crate::schema::Table;

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
