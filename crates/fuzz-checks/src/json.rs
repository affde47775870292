//! The JSON parser and validator (`dltrs_core::json::{parse, validate}`).

use dltrs_core::json::{Item, JsonErrorKind, item_to_string, parse, parse_str, validate};

use crate::shown;

/// `validate` accepts exactly what `parse` parses, with the same error; a parsed item written
/// back parses to the same item; and the parser agrees with serde_json wherever serde_json's
/// own limits (128 levels, numbers as `f64`) allow a comparison.
pub fn json_parse(data: &[u8]) {
    let parsed = parse(data);
    let validated = validate(data);
    assert_eq!(
        validated.as_ref().err(),
        parsed.as_ref().err(),
        "validate and parse disagree on {}",
        shown(data)
    );
    if let Ok(item) = &parsed {
        let text = item_to_string(item);
        match parse_str(&text) {
            Ok(again) => assert!(
                again == *item,
                "{} written as {text:?} parses to another item",
                shown(data)
            ),
            Err(e) => panic!("{} written as {text:?} does not parse: {e}", shown(data)),
        }
    }
    let serde = serde_json::from_slice::<serde_json::Value>(data);
    match (&serde, &parsed) {
        (Ok(_), Err(e)) => panic!("serde_json accepts {} but parse says {e}", shown(data)),
        (Err(e), Ok(item)) => {
            // serde_json stops at 128 levels, and reads every number as an f64 when it does
            // not fit 64 bits
            let message = e.to_string();
            assert!(
                message.contains("recursion limit exceeded")
                    || (message.contains("number out of range") && has_big_int(item)),
                "parse accepts {} but serde_json says {message}",
                shown(data)
            );
        }
        _ => {}
    }
    if let Err(e) = &parsed {
        assert!(e.offset <= data.len(), "error offset beyond the input");
        if matches!(e.kind, JsonErrorKind::TooDeep) {
            assert!(depth_exceeds(data, dltrs_core::json::MAX_DEPTH));
        }
    }
}

/// Whether an integer beyond 64 bits is somewhere in `item`.
fn has_big_int(item: &Item<'_>) -> bool {
    match item {
        Item::BigInt(_) => true,
        Item::Array(items) => items.iter().any(has_big_int),
        Item::Object(fields) => fields.iter().any(|(_, v)| has_big_int(v)),
        _ => false,
    }
}

/// Whether brackets outside strings nest deeper than `limit` somewhere in `data`.
fn depth_exceeds(data: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in data {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}
