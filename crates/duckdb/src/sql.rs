//! DuckDB SQL text: quoted identifiers and column definitions.

use dltrs_core::schema::Column;

/// A double-quoted identifier; embedded quotes are doubled.
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

/// `"dataset"."table"`.
pub fn qualified(dataset: &str, table: &str) -> String {
    format!("{}.{}", ident(dataset), ident(table))
}

/// A comma-separated list of quoted identifiers.
pub fn ident_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(ident).collect::<Vec<_>>().join(", ")
}

/// A column definition for `CREATE TABLE`: name, dlt's DuckDB type, `NOT NULL` when declared.
pub fn column_def(column: &Column) -> String {
    let mut def = format!(
        "{} {}",
        ident(&column.name),
        dltrs_core::sql::duckdb::column_type(column)
    );
    if !column.is_nullable() {
        def.push_str(" NOT NULL");
    }
    def
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_escaped() {
        assert_eq!(ident("a"), "\"a\"");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(qualified("ds", "t"), "\"ds\".\"t\"");
    }
}
