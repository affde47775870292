//! The relational normalizer (`dltrs_core::RelationalNormalizer`) on arbitrary items.

use std::collections::{HashMap, HashSet};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use dltrs_core::json::parse;
use dltrs_core::{NormalizeError, RelationalNormalizer, Schema, TableHints};

use crate::shown;

/// The input's first byte picks the table's nesting limit, each further line is an item. An
/// item is refused only when it is not JSON or holds a value no column can take; every
/// accepted item is one row of the root table; every child row's `_dlt_parent_id` is the
/// `_dlt_id` of a row of its parent table; and a second flush has nothing left.
pub fn normalize(data: &[u8]) {
    let Some((&setup, lines)) = data.split_first() else {
        return;
    };
    let max_nesting = match setup % 6 {
        0 | 1 => None,
        n => Some(u32::from(n - 2)),
    };
    let mut normalizer = RelationalNormalizer::new(Schema::new("fuzz"), "1700000000.1");
    let hints = TableHints {
        max_nesting,
        ..Default::default()
    };
    let table = normalizer.apply_hints("Fuzz Items", &hints);
    let mut accepted = 0usize;
    for line in lines.split(|&b| b == b'\n') {
        match normalizer.push_json(&table, line) {
            Ok(()) => accepted += 1,
            Err(NormalizeError::InvalidJson { .. }) => {
                assert!(parse(line).is_err(), "valid JSON refused: {}", shown(line));
            }
            Err(NormalizeError::CannotCoerce { .. }) => {}
            Err(e) => panic!("{} refused: {e}", shown(line)),
        }
    }
    let chunk = match normalizer.flush() {
        Ok(chunk) => chunk,
        Err(e) => panic!("flush after {}: {e}", shown(data)),
    };
    let root_rows: usize = chunk
        .batches
        .iter()
        .filter(|b| b.table == table)
        .map(|b| b.batch.num_rows())
        .sum();
    assert_eq!(root_rows, accepted, "root rows of {}", shown(data));

    let mut ids: HashMap<&str, HashSet<String>> = HashMap::new();
    for b in &chunk.batches {
        ids.entry(b.table.as_str()).or_default().extend(strings(
            b.batch.column_by_name("_dlt_id"),
            &b.table,
            "_dlt_id",
        ));
    }
    for b in &chunk.batches {
        let Some(parent) = normalizer
            .schema()
            .table(&b.table)
            .and_then(|t| t.parent.clone())
        else {
            continue;
        };
        let Some(parent_ids) = ids.get(parent.as_str()) else {
            panic!(
                "{} has rows, its parent {parent} none: {}",
                b.table,
                shown(data)
            );
        };
        let column = b.batch.column_by_name("_dlt_parent_id");
        for id in strings(column, &b.table, "_dlt_parent_id") {
            assert!(
                parent_ids.contains(&id),
                "a row of {} has the parent {id:?}, not in {parent}: {}",
                b.table,
                shown(data)
            );
        }
    }
    match normalizer.flush() {
        Ok(again) => assert!(again.batches.is_empty(), "rows flushed twice"),
        Err(e) => panic!("second flush after {}: {e}", shown(data)),
    }
}

/// The values of a text column that every row has.
fn strings(column: Option<&std::sync::Arc<dyn Array>>, table: &str, name: &str) -> Vec<String> {
    let Some(column) = column else {
        panic!("{table} has no {name}");
    };
    let Some(text) = column.as_string_opt::<i32>() else {
        panic!("{table}.{name} is a {} column", column.data_type());
    };
    assert_eq!(text.null_count(), 0, "{table}.{name} has nulls");
    text.iter().flatten().map(str::to_owned).collect()
}
