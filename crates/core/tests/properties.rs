//! Property tests: the normalizer never panics, every accepted item is exactly one root row,
//! and every child row points at a parent row that exists.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use arrow_array::cast::AsArray;
use dltrs_core::json::{Item, item_to_string};
use dltrs_core::{RelationalNormalizer, Schema};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_]{1,8}",
        Just("CamelCase".to_string()),
        Just("camel_case".to_string()),
        Just("".to_string()),
        Just("__".to_string()),
        Just("_dlt_id".to_string()),
        ".{0,6}",
    ]
}

fn item() -> impl Strategy<Value = Item<'static>> {
    let leaf = prop_oneof![
        Just(Item::Null),
        any::<bool>().prop_map(Item::Bool),
        any::<i64>().prop_map(Item::Int),
        "-?[1-9][0-9]{19,45}".prop_map(|d| Item::BigInt(Cow::Owned(d))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Item::Float),
        ".{0,12}".prop_map(|s| Item::Str(Cow::Owned(s))),
        Just(Item::Str(Cow::Borrowed("2024-02-29T12:00:00+02:00"))),
        Just(Item::Str(Cow::Borrowed("12"))),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Item::Array),
            prop::collection::vec((key(), inner), 0..5).prop_map(|fields| {
                Item::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (Cow::Owned(k), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_item_is_one_root_row_and_children_have_parents(
        items in prop::collection::vec(item(), 1..12),
        max_nesting in prop::option::of(0u32..4),
    ) {
        let mut n = RelationalNormalizer::new(Schema::new("p"), "1.0");
        let hints = dltrs_core::TableHints { max_nesting, ..Default::default() };
        let table = n.apply_hints("Root Table", &hints);
        let mut accepted = 0usize;
        for item in &items {
            // an error is allowed only for a value no column can take; it must not panic
            match n.push(&table, item) {
                Ok(()) => accepted += 1,
                Err(e) => prop_assert!(
                    matches!(e, dltrs_core::NormalizeError::CannotCoerce { .. }),
                    "unexpected error {e} for {}", item_to_string(item)
                ),
            }
        }
        let chunk = n.flush().unwrap();
        let rows: usize = chunk.batches.iter().filter(|b| b.table == table).map(|b| b.batch.num_rows()).sum();
        prop_assert_eq!(rows, accepted);

        let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
        for b in &chunk.batches {
            let col = b.batch.column_by_name("_dlt_id").unwrap().as_string::<i32>();
            ids.insert(b.table.clone(), col.iter().flatten().map(String::from).collect());
        }
        for b in &chunk.batches {
            let t = n.schema().table(&b.table).unwrap();
            if let Some(parent) = &t.parent {
                let parents = &ids[parent];
                let col = b.batch.column_by_name("_dlt_parent_id").unwrap().as_string::<i32>();
                for id in col.iter() {
                    prop_assert!(parents.contains(id.unwrap()), "orphan row in {}", b.table);
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut n = RelationalNormalizer::new(Schema::new("p"), "1.0");
        let _ = n.push_json("t", &bytes);
        prop_assert!(n.flush().is_ok());
    }

    #[test]
    fn valid_json_text_round_trips_through_the_parser(item in item()) {
        let text = item_to_string(&item);
        let parsed = dltrs_core::json::parse_str(&text).unwrap();
        prop_assert_eq!(item_to_string(&parsed), text);
    }
}
