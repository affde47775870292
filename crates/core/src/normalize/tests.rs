use arrow_array::Array;
use arrow_array::cast::AsArray;

use super::*;
use crate::json::JsonErrorKind;

fn normalizer() -> RelationalNormalizer {
    RelationalNormalizer::new(Schema::new("test"), "1700000000.1")
}

fn push_all(n: &mut RelationalNormalizer, table: &str, lines: &[&str]) {
    for line in lines {
        n.push_json(table, line.as_bytes()).unwrap();
    }
}

fn column_names(n: &RelationalNormalizer, table: &str) -> Vec<String> {
    n.schema()
        .table(table)
        .map(|t| t.complete_columns().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

fn strings(chunk: &NormalizedChunk, table: &str, column: &str) -> Vec<Option<String>> {
    let batch = &chunk
        .batches
        .iter()
        .find(|b| b.table == table)
        .unwrap()
        .batch;
    let array = batch.column_by_name(column).unwrap();
    let array = array.as_string::<i32>();
    (0..array.len())
        .map(|i| (!array.is_null(i)).then(|| array.value(i).to_string()))
        .collect()
}

#[test]
fn nested_dicts_flatten_after_scalars_in_dlt_order() {
    let mut n = normalizer();
    push_all(
        &mut n,
        "t",
        &[r#"{"a": {"x": 1}, "b": 2, "c": {"y": {"z": 3}}}"#],
    );
    assert_eq!(
        column_names(&n, "t"),
        ["b", "c__y__z", "a__x", "_dlt_load_id", "_dlt_id"]
    );
}

#[test]
fn empty_lists_and_dicts_produce_nothing() {
    let mut n = normalizer();
    push_all(&mut n, "t", &[r#"{"id": 1, "l": [], "d": {}}"#]);
    let chunk = n.flush().unwrap();
    assert_eq!(chunk.batches.len(), 1);
    assert_eq!(column_names(&n, "t"), ["id", "_dlt_load_id", "_dlt_id"]);
}

#[test]
fn child_ids_are_deterministic_from_the_parent_id() {
    let line = r#"{"_dlt_id": "SwxxfeeS6X/8SQ", "list_dicts": [{"x": 1}]}"#;
    let mut first = normalizer();
    push_all(&mut first, "items", &[line]);
    let mut second = normalizer();
    push_all(&mut second, "items", &[line]);
    let ids =
        |n: &mut RelationalNormalizer| strings(&n.flush().unwrap(), "items__list_dicts", "_dlt_id");
    let a = ids(&mut first);
    assert_eq!(a, [Some("+b/sYvIf1vBWRQ".to_string())]);
    assert_eq!(a, ids(&mut second));
}

#[test]
fn root_ids_are_random_and_distinct() {
    let mut n = normalizer();
    push_all(&mut n, "t", &["{}", "{}", "1"]);
    let ids = strings(&n.flush().unwrap(), "t", "_dlt_id");
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter()
            .all(|id| id.as_ref().is_some_and(|s| s.len() == 14))
    );
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn merge_tables_propagate_the_root_id_to_every_level() {
    let mut n = normalizer();
    let hints = TableHints {
        write_disposition: Some(crate::WriteDisposition::Merge),
        primary_key: vec!["id".into()],
        ..TableHints::default()
    };
    let table = n.apply_hints("t", &hints);
    push_all(&mut n, &table, &[r#"{"id": 1, "a": [{"b": [1, 2]}]}"#]);
    let chunk = n.flush().unwrap();
    let root_id = strings(&chunk, "t", "_dlt_id")[0].clone();
    assert_eq!(
        strings(&chunk, "t__a__b", "_dlt_root_id"),
        [root_id.clone(), root_id]
    );
    assert_eq!(
        column_names(&n, "t__a"),
        ["_dlt_root_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]
    );
}

#[test]
fn key_collisions_keep_the_last_value_and_warn() {
    let mut n = normalizer();
    push_all(
        &mut n,
        "t",
        &[r#"{"CamelCase": "first", "camel_case": "second"}"#],
    );
    let chunk = n.flush().unwrap();
    assert_eq!(
        strings(&chunk, "t", "camel_case"),
        [Some("second".to_string())]
    );
    assert!(matches!(
        chunk.warnings.as_slice(),
        [NormalizeWarning::KeyCollision { column, .. }] if column == "camel_case"
    ));
}

#[test]
fn null_only_keys_create_no_column_until_a_value_arrives() {
    let mut n = normalizer();
    push_all(&mut n, "t", &[r#"{"a": 1, "z": null}"#]);
    let chunk = n.flush().unwrap();
    assert!(!column_names(&n, "t").contains(&"z".to_string()));
    assert_eq!(chunk.warnings.len(), 1);
    push_all(&mut n, "t", &[r#"{"a": 2, "z": "now"}"#]);
    assert_eq!(column_names(&n, "t"), ["a", "_dlt_load_id", "_dlt_id", "z"]);
}

#[test]
fn invalid_json_and_utf8_are_errors_with_position() {
    let mut n = normalizer();
    let err = n.push_json("t", b"{\"a\": \xff}").unwrap_err();
    assert!(matches!(
        err,
        NormalizeError::InvalidJson { ref source, item: 1, .. }
            if source.kind == JsonErrorKind::InvalidUtf8 && source.offset == 6
    ));
    assert!(err.to_string().contains("table `t`, item 1"));
    assert!(n.push_json("t", b"{\"a\": }").is_err());
    assert_eq!(n.buffered_rows(), 0);
}

#[test]
fn nesting_beyond_the_parser_limit_is_an_error_not_a_crash() {
    let mut n = normalizer();
    let deep = "{\"a\":".repeat(1001) + "1" + &"}".repeat(1001);
    let err = n.push_json("t", deep.as_bytes()).unwrap_err();
    assert!(
        matches!(err, NormalizeError::InvalidJson { ref source, .. } if source.kind == JsonErrorKind::TooDeep)
    );
    // 1000 levels of lists are fine: deep child tables up to the nesting limit, then json
    let ok = "[".repeat(999) + "1" + &"]".repeat(999);
    n.push_json("t", ok.as_bytes()).unwrap();
    assert_eq!(n.flush().unwrap().batches[0].batch.num_rows(), 1);
}

#[test]
fn a_one_megabyte_key_is_shortened_to_the_destination_limit() {
    let mut n = RelationalNormalizer::with_naming(
        Schema::new("test"),
        "1",
        Box::new(SnakeCase::with_max_length(65_536)),
    );
    let key = "k".repeat(1 << 20);
    let line = format!("{{\"{key}\": 1}}");
    n.push_json("t", line.as_bytes()).unwrap();
    let names = column_names(&n, "t");
    assert_eq!(names[0].len(), 65_536);
}

#[test]
fn a_failing_item_adds_no_rows_anywhere() {
    let mut n = normalizer();
    push_all(
        &mut n,
        "t",
        &[
            r#"{"id": 1, "l": [{"v": 1}]}"#,
            // text into a bigint column: variant v__v_text, typed timestamp by detection
            r#"{"id": 2, "l": [{"v": "2024-01-01T00:00:00Z"}]}"#,
        ],
    );
    // a non-timestamp text fits neither v (bigint) nor v__v_text (timestamp)
    let err = n
        .push_json("t", br#"{"id": 3, "l": [{"v": 5}, {"v": "x"}]}"#)
        .unwrap_err();
    assert!(
        matches!(err, NormalizeError::CannotCoerce { ref column, .. } if column == "v__v_text")
    );
    let chunk = n.flush().unwrap();
    let rows: Vec<(String, usize)> = chunk
        .batches
        .iter()
        .map(|b| (b.table.clone(), b.batch.num_rows()))
        .collect();
    assert_eq!(rows, [("t".to_string(), 2), ("t__l".to_string(), 2)]);
}

#[test]
fn null_in_a_primary_key_is_an_error() {
    let mut n = normalizer();
    let hints = TableHints {
        primary_key: vec!["id".into()],
        ..TableHints::default()
    };
    let table = n.apply_hints("t", &hints);
    let err = n.push_json(&table, br#"{"id": null}"#).unwrap_err();
    assert!(
        matches!(err, NormalizeError::NullInNotNullColumn { ref column, .. } if column == "id")
    );
}

#[test]
fn declared_types_win_over_inference() {
    let mut n = normalizer();
    let hints = TableHints {
        columns: vec![
            Column::new("Amount", DataType::Decimal),
            Column::new("tags", DataType::Json),
        ],
        ..TableHints::default()
    };
    let table = n.apply_hints("t", &hints);
    push_all(
        &mut n,
        &table,
        &[r#"{"amount": 1.5, "tags": ["a"], "x": "1"}"#],
    );
    let t = n.schema().table("t").unwrap();
    assert_eq!(t.columns["amount"].data_type, Some(DataType::Decimal));
    assert_eq!(t.columns["tags"].data_type, Some(DataType::Json));
    assert!(n.schema().table("t__tags").is_none());
}

#[test]
fn variants_accumulate_across_batches() {
    let mut n = normalizer();
    push_all(&mut n, "t", &[r#"{"a": 1}"#]);
    n.flush().unwrap();
    push_all(
        &mut n,
        "t",
        &[r#"{"a": "x"}"#, r#"{"a": 2.5}"#, r#"{"a": "3"}"#],
    );
    let chunk = n.flush().unwrap();
    assert_eq!(
        column_names(&n, "t"),
        ["a", "_dlt_load_id", "_dlt_id", "a__v_text", "a__v_double"]
    );
    let variants: Vec<String> = chunk.changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        variants,
        [
            "new variant column t.a__v_text text",
            "new variant column t.a__v_double double"
        ]
    );
}
