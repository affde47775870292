//! The JSON Lines / JSON array splitter (`dltrs_core::json::stream::JsonItems`).

use std::io::{BufRead, BufReader};

use dltrs_core::json::stream::JsonItems;
use dltrs_core::json::{Item, item_to_string, parse, validate};

use crate::shown;

/// What a splitter made of an input: the items with their line and item numbers, and the
/// error it stopped at.
#[derive(Debug, PartialEq)]
struct Split {
    items: Vec<(Vec<u8>, u64, u64)>,
    error: Option<String>,
}

fn split(reader: impl BufRead, limit: usize) -> Split {
    let mut items = JsonItems::new(reader);
    let mut out = Split {
        items: Vec::new(),
        error: None,
    };
    loop {
        match items.next_item() {
            Ok(Some((item, position))) => {
                out.items
                    .push((item.to_vec(), position.line, position.item));
            }
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        }
        // every item takes at least one byte of the input
        assert!(out.items.len() <= limit, "more items than input bytes");
    }
    out
}

/// Every item handed out is valid JSON, numbered 1, 2, ... on non-decreasing lines; the split
/// does not depend on how the reader chunks its input; and an input that is one JSON array,
/// one JSON value, or JSON Lines (the first not an array) is split into exactly its values,
/// as many as serde_json finds.
pub fn json_items(data: &[u8]) {
    let whole = split(data, data.len());
    for capacity in [1, 3, 64] {
        let chunked = split(BufReader::with_capacity(capacity, data), data.len());
        assert_eq!(
            chunked,
            whole,
            "reading {} {capacity} bytes at a time splits it differently",
            shown(data)
        );
    }
    let mut last_line = 0;
    for (n, (item, line, number)) in whole.items.iter().enumerate() {
        assert!(
            validate(item).is_ok(),
            "item {} of {} is not valid JSON: {}",
            n + 1,
            shown(data),
            shown(item)
        );
        assert_eq!(*number, n as u64 + 1, "item numbers of {}", shown(data));
        assert!(*line >= last_line.max(1), "line numbers of {}", shown(data));
        last_line = *line;
    }
    let Some(expected) = expected_values(data) else {
        return;
    };
    assert_eq!(
        whole.error,
        None,
        "{} is valid, yet the split fails",
        shown(data)
    );
    let got: Vec<String> = whole
        .items
        .iter()
        .map(|(item, ..)| parse(item).map(|i| item_to_string(&i)).unwrap_or_default())
        .collect();
    assert_eq!(got, expected, "the items of {}", shown(data));
    if let Some(count) = serde_count(data) {
        assert_eq!(
            got.len(),
            count,
            "serde_json finds another number of items in {}",
            shown(data)
        );
    }
}

/// The values a valid input holds, written compactly; `None` when the input is not valid as a
/// whole (then only the invariants above hold).
fn expected_values(data: &[u8]) -> Option<Vec<String>> {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if let Ok(doc) = parse(data) {
        return Some(match doc {
            Item::Array(items) if first == Some(&b'[') => {
                items.iter().map(item_to_string).collect()
            }
            other => vec![item_to_string(&other)],
        });
    }
    if first == Some(&b'[') {
        // a first line that is an array makes the input one array, not JSON Lines
        return None;
    }
    data.split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(|line| parse(line).ok().map(|item| item_to_string(&item)))
        .collect()
}

/// How many values serde_json reads from `data` (an array counts its elements), when it reads
/// them all.
fn serde_count(data: &[u8]) -> Option<usize> {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return serde_json::from_slice::<Vec<serde_json::Value>>(data)
            .ok()
            .map(|v| v.len());
    }
    serde_json::Deserializer::from_slice(data)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .map(|v| v.len())
}
