//! The conformance rule: does an actual dump match the expected one?

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::pyfmt;

/// Compares two dumps (as made by [`dump_dataset`](crate::dump_dataset) or
/// `dump_dataset.py`) by the conformance rule of `testdata/conformance/README.md`.
///
/// They match when they have the same data tables; for each table the same columns as a set of
/// `[name, type, nullable]` (order may differ) and the same `row_count`; the same system tables
/// with the same column sets and row counts; the same `_dlt_loads` statuses; the same orphan
/// child tables; and for each root table the same documents as a multiset. Values compare as
/// `serde_json` values, so `3` and `3.0` differ. Other keys (`dataset`, `dlt_version`, ...) are
/// ignored.
///
/// # Errors
///
/// A readable report, one line (or block) per difference: which table or column differs and
/// how, and for documents the counts plus the first unmatched document of each side.
pub fn compare(expected: &Value, actual: &Value) -> Result<(), String> {
    let mut report = Vec::new();
    compare_tables("table", &expected["tables"], &actual["tables"], &mut report);
    compare_tables(
        "system table",
        &expected["system"],
        &actual["system"],
        &mut report,
    );
    let (e_statuses, a_statuses) = (
        sorted(&expected["system"]["_dlt_loads"]["statuses"]),
        sorted(&actual["system"]["_dlt_loads"]["statuses"]),
    );
    if e_statuses != a_statuses {
        report.push(format!(
            "system table `_dlt_loads`: statuses differ: expected {}, got {}",
            Value::Array(e_statuses),
            Value::Array(a_statuses)
        ));
    }
    let (e_orphans, a_orphans) = (
        sorted(&expected["orphan_child_tables"]),
        sorted(&actual["orphan_child_tables"]),
    );
    if e_orphans != a_orphans {
        report.push(format!(
            "orphan child tables differ: expected {}, got {}",
            Value::Array(e_orphans),
            Value::Array(a_orphans)
        ));
    }
    compare_documents(&expected["documents"], &actual["documents"], &mut report);

    if report.is_empty() {
        return Ok(());
    }
    let mut text = format!("{} difference(s) from the expected dump:", report.len());
    for line in report {
        text.push_str("\n- ");
        text.push_str(&line.replace('\n', "\n  "));
    }
    Err(text)
}

/// An array's items sorted (numbers by value, the rest by JSON text); a missing value counts
/// as an empty array.
fn sorted(value: &Value) -> Vec<Value> {
    let mut items = match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    items.sort_by(pyfmt::compare_values);
    items
}

fn object(value: &Value) -> BTreeMap<&str, &Value> {
    value
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// `(type, nullable)` of each column by name, or the raw column list when it is not a list of
/// `[name, type, nullable]` with unique names.
fn columns(table: &Value) -> Result<BTreeMap<&str, (&str, bool)>, String> {
    let list = table["columns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for column in list {
        let parsed = match column.as_array().map(Vec::as_slice) {
            Some([name, data_type, nullable]) => {
                match (name.as_str(), data_type.as_str(), nullable.as_bool()) {
                    (Some(n), Some(t), Some(b)) => Some((n, (t, b))),
                    _ => None,
                }
            }
            _ => None,
        };
        match parsed {
            Some((name, info)) if !out.contains_key(name) => {
                out.insert(name, info);
            }
            _ => return Err(table["columns"].to_string()),
        }
    }
    Ok(out)
}

fn describe((data_type, nullable): (&str, bool)) -> String {
    format!("{data_type} {}", if nullable { "null" } else { "not null" })
}

fn compare_tables(kind: &str, expected: &Value, actual: &Value, report: &mut Vec<String>) {
    let (expected, actual) = (object(expected), object(actual));
    for (name, e_table) in &expected {
        let Some(a_table) = actual.get(name) else {
            report.push(format!(
                "{kind} `{name}`: missing (expected {} rows)",
                e_table["row_count"]
            ));
            continue;
        };
        match (columns(e_table), columns(a_table)) {
            (Ok(e_cols), Ok(a_cols)) => {
                for (column, &e_info) in &e_cols {
                    match a_cols.get(column) {
                        None => report.push(format!(
                            "{kind} `{name}`: column `{column}` missing (expected {})",
                            describe(e_info)
                        )),
                        Some(&a_info) if a_info != e_info => report.push(format!(
                            "{kind} `{name}`: column `{column}` is {}, expected {}",
                            describe(a_info),
                            describe(e_info)
                        )),
                        Some(_) => {}
                    }
                }
                for (column, &a_info) in &a_cols {
                    if !e_cols.contains_key(column) {
                        report.push(format!(
                            "{kind} `{name}`: unexpected column `{column}` ({})",
                            describe(a_info)
                        ));
                    }
                }
            }
            (e_cols, a_cols) => {
                let raw = |cols: Result<_, String>, table: &Value| match cols {
                    Ok(_) => table["columns"].to_string(),
                    Err(raw) => raw,
                };
                let (e_raw, a_raw) = (raw(e_cols, e_table), raw(a_cols, a_table));
                if e_raw != a_raw {
                    report.push(format!(
                        "{kind} `{name}`: columns differ: expected {e_raw}, got {a_raw}"
                    ));
                }
            }
        }
        if e_table["row_count"] != a_table["row_count"] {
            report.push(format!(
                "{kind} `{name}`: row_count is {}, expected {}",
                a_table["row_count"], e_table["row_count"]
            ));
        }
    }
    for (name, a_table) in &actual {
        if !expected.contains_key(name) {
            report.push(format!(
                "{kind} `{name}`: unexpected (has {} rows)",
                a_table["row_count"]
            ));
        }
    }
}

fn compare_documents(expected: &Value, actual: &Value, report: &mut Vec<String>) {
    let (expected, actual) = (object(expected), object(actual));
    let tables: BTreeSet<&str> = expected.keys().chain(actual.keys()).copied().collect();
    for table in tables {
        let (e_docs, a_docs) = match (expected.get(table), actual.get(table)) {
            (Some(e), Some(a)) => (sorted_docs(e), sorted_docs(a)),
            (Some(e), None) => {
                report.push(format!(
                    "documents of `{table}`: missing (expected {} documents)",
                    sorted_docs(e).len()
                ));
                continue;
            }
            (None, Some(a)) => {
                report.push(format!(
                    "documents of `{table}`: unexpected root table ({} documents)",
                    sorted_docs(a).len()
                ));
                continue;
            }
            (None, None) => continue,
        };
        // Walk both sorted lists to split off the documents that have no equal on the other side.
        let (mut i, mut j) = (0, 0);
        let (mut only_expected, mut only_actual) = (Vec::new(), Vec::new());
        while i < e_docs.len() || j < a_docs.len() {
            match (e_docs.get(i), a_docs.get(j)) {
                (Some(e), Some(a)) if e.1 == a.1 => {
                    i += 1;
                    j += 1;
                }
                (Some(e), Some(a)) if e.0 < a.0 => {
                    only_expected.push(e.1);
                    i += 1;
                }
                (Some(e), None) => {
                    only_expected.push(e.1);
                    i += 1;
                }
                (_, Some(a)) => {
                    only_actual.push(a.1);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        if only_expected.is_empty() && only_actual.is_empty() {
            continue;
        }
        let mut text = format!(
            "documents of `{table}` differ: expected {} documents, got {}; {} expected not found, \
             {} actual not expected",
            e_docs.len(),
            a_docs.len(),
            only_expected.len(),
            only_actual.len()
        );
        if let (Some(e), Some(a)) = (only_expected.first(), only_actual.first()) {
            let fields = differing_fields(e, a);
            if !fields.is_empty() {
                let _ = write!(text, "\nfirst pair differs in: {}", fields.join(", "));
            }
        }
        if let Some(doc) = only_expected.first() {
            let _ = write!(
                text,
                "\nfirst expected document not found:\n{}",
                pretty(doc)
            );
        }
        if let Some(doc) = only_actual.first() {
            let _ = write!(
                text,
                "\nfirst actual document not expected:\n{}",
                pretty(doc)
            );
        }
        report.push(text);
    }
}

/// The documents of a root table with their canonical text, sorted by it.
fn sorted_docs(docs: &Value) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = docs
        .as_array()
        .map(|docs| docs.iter().map(|d| (pyfmt::json_text(d), d)).collect())
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Top-level keys whose values differ between two documents.
fn differing_fields(expected: &Value, actual: &Value) -> Vec<String> {
    let (e, a) = (object(expected), object(actual));
    let keys: BTreeSet<&str> = e.keys().chain(a.keys()).copied().collect();
    keys.into_iter()
        .filter_map(|key| match (e.get(key), a.get(key)) {
            (Some(x), Some(y)) if x == y => None,
            (Some(x), Some(y)) => Some(format!(
                "`{key}` ({} vs {})",
                pyfmt::json_text(x),
                pyfmt::json_text(y)
            )),
            (Some(_), None) => Some(format!("`{key}` (missing in actual)")),
            (None, _) => Some(format!("`{key}` (not expected)")),
        })
        .collect()
}

fn pretty(doc: &Value) -> String {
    let sorted = pyfmt::sort_keys(doc.clone());
    serde_json::to_string_pretty(&sorted).unwrap_or_else(|_| pyfmt::json_text(doc))
}
