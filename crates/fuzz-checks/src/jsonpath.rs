//! The JSONPath subset of configurations (`dltrs::jsonpath::JsonPath`).

use dltrs::jsonpath::JsonPath;
use dltrs_core::json::{Item, parse};
use serde_json::{Map, Value};

use crate::shown;

/// The input's first line is a path, the rest a JSON document. Parsing never panics, and a
/// parsed path keeps its text; on the document, `first` is the first of `find`, `take` moves
/// out what `find` selects, and `first_item` on the parsed item selects what `first` does.
pub fn jsonpath(data: &[u8]) {
    let (path, doc) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(path_text) = std::str::from_utf8(path) else {
        return;
    };
    let Ok(path) = JsonPath::parse(path_text) else {
        return;
    };
    assert_eq!(path.as_str(), path_text);
    assert_eq!(path.to_string(), path_text);
    let Ok(item) = parse(doc) else {
        return;
    };
    // the document as serde_json holds it, built from the item so numbers are the same; a
    // repeated key cannot be compared (a map keeps one of them)
    let Some(value) = to_value(&item) else {
        return;
    };
    let found = path.find(&value);
    assert_eq!(
        path.first(&value),
        found.first().copied(),
        "first and find of `{path_text}` in {}",
        shown(doc)
    );
    let taken = path.take(value.clone());
    let expected: Vec<Value> = found.iter().map(|v| (*v).clone()).collect();
    assert_eq!(
        taken,
        expected,
        "take and find of `{path_text}` in {}",
        shown(doc)
    );
    let first_item = path.first_item(&item).and_then(to_value);
    assert_eq!(
        first_item.as_ref(),
        found.first().copied(),
        "first_item and first of `{path_text}` in {}",
        shown(doc)
    );
}

/// `item` as a `serde_json::Value`; `None` when an object repeats a key.
fn to_value(item: &Item<'_>) -> Option<Value> {
    Some(match item {
        Item::Null => Value::Null,
        Item::Bool(b) => Value::Bool(*b),
        Item::Int(i) => Value::from(*i),
        Item::Float(f) => Value::from(*f),
        // not a number serde_json can hold: its digits stand for it
        Item::BigInt(digits) => Value::String(format!("bigint:{digits}")),
        Item::Str(s) => Value::String(s.to_string()),
        Item::Array(items) => Value::Array(items.iter().map(to_value).collect::<Option<_>>()?),
        Item::Object(fields) => {
            let mut map = Map::new();
            for (key, value) in fields {
                if map.insert(key.to_string(), to_value(value)?).is_some() {
                    return None;
                }
            }
            Value::Object(map)
        }
        // typed values come from Parquet, never from parsed JSON
        _ => return None,
    })
}
