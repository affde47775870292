//! [`JsonPath`]: the subset of JSONPath that dlt's configurations use to point into
//! responses (`data_selector`, `total_path`, `cursor_path`, ...): `$`, `a.b`, `$.a.b`,
//! `a[0]`, `a[*]`, `a.*`, `$..a` and `['quoted key']`.

use dltrs_core::json::Item;
use serde_json::Value;

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    source: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
    Wildcard,
    Descendants(String),
}

impl JsonPath {
    /// Parses `path`; the error says what is wrong and where.
    pub fn parse(path: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        let s = path.trim();
        let bytes = s.as_bytes();
        let mut i = 0;
        if bytes.first() == Some(&b'$') {
            i = 1;
        }
        let fail = |at: usize, what: &str| Err(format!("JSONPath `{path}` at {at}: {what}"));
        let mut expect_key = i == 0 && !s.is_empty();
        while i < bytes.len() {
            match bytes[i] {
                b'.' if bytes.get(i + 1) == Some(&b'.') => {
                    let (name, next) = read_name(s, i + 2);
                    if name.is_empty() {
                        return fail(i, "`..` must be followed by a name");
                    }
                    steps.push(Step::Descendants(name.to_owned()));
                    i = next;
                }
                b'.' => {
                    expect_key = true;
                    i += 1;
                    continue;
                }
                b'[' => {
                    let Some(close) = s[i..].find(']').map(|c| c + i) else {
                        return fail(i, "unclosed `[`");
                    };
                    let inner = s[i + 1..close].trim();
                    if inner == "*" {
                        steps.push(Step::Wildcard);
                    } else if let Ok(index) = inner.parse::<i64>() {
                        steps.push(Step::Index(index));
                    } else if inner.len() >= 2
                        && ((inner.starts_with('\'') && inner.ends_with('\''))
                            || (inner.starts_with('"') && inner.ends_with('"')))
                    {
                        steps.push(Step::Key(inner[1..inner.len() - 1].to_owned()));
                    } else {
                        return fail(i, "expected `[*]`, `[<index>]` or `['<key>']`");
                    }
                    i = close + 1;
                }
                b'*' if expect_key => {
                    steps.push(Step::Wildcard);
                    i += 1;
                }
                _ if expect_key => {
                    let (name, next) = read_name(s, i);
                    if name.is_empty() {
                        return fail(i, "expected a name");
                    }
                    steps.push(Step::Key(name.to_owned()));
                    i = next;
                }
                _ => return fail(i, "expected `.`, `[` or the end"),
            }
            expect_key = false;
        }
        Ok(JsonPath {
            source: path.to_owned(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// All values the path selects in `value`, in document order.
    pub fn find<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![value];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Key(key) => next.extend(v.get(key.as_str())),
                    Step::Index(index) => {
                        if let Value::Array(items) = v {
                            let at = if *index < 0 {
                                items.len().checked_sub(index.unsigned_abs() as usize)
                            } else {
                                Some(*index as usize)
                            };
                            next.extend(at.and_then(|at| items.get(at)));
                        }
                    }
                    Step::Wildcard => match v {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(map) => next.extend(map.values()),
                        _ => {}
                    },
                    Step::Descendants(key) => descendants(v, key, &mut next),
                }
            }
            current = next;
        }
        current
    }

    /// The values the path selects, moved out of `value` when the path is plain keys and
    /// indexes (no copy of a page's records).
    pub fn take(&self, mut value: Value) -> Vec<Value> {
        if !self
            .steps
            .iter()
            .all(|s| matches!(s, Step::Key(_) | Step::Index(_)))
        {
            return self.find(&value).into_iter().cloned().collect();
        }
        for step in &self.steps {
            value = match (step, value) {
                (Step::Key(key), Value::Object(mut map)) => match map.remove(key.as_str()) {
                    Some(v) => v,
                    None => return Vec::new(),
                },
                (Step::Index(index), Value::Array(mut items)) => {
                    let at = if *index < 0 {
                        items.len().checked_sub(index.unsigned_abs() as usize)
                    } else {
                        Some(*index as usize)
                    };
                    match at.filter(|at| *at < items.len()) {
                        Some(at) => items.swap_remove(at),
                        None => return Vec::new(),
                    }
                }
                _ => return Vec::new(),
            };
        }
        vec![value]
    }

    /// The first value the path selects in a parsed item (keys, indexes and wildcards).
    pub fn first_item<'a, 'b>(&self, item: &'a Item<'b>) -> Option<&'a Item<'b>> {
        fn walk<'a, 'b>(steps: &[Step], item: &'a Item<'b>) -> Option<&'a Item<'b>> {
            let Some((step, rest)) = steps.split_first() else {
                return Some(item);
            };
            match (step, item) {
                (Step::Key(key), Item::Object(fields)) => fields
                    .iter()
                    .find(|(name, _)| name == key)
                    .and_then(|(_, v)| walk(rest, v)),
                (Step::Index(index), Item::Array(items)) => {
                    let at = if *index < 0 {
                        items.len().checked_sub(index.unsigned_abs() as usize)?
                    } else {
                        *index as usize
                    };
                    walk(rest, items.get(at)?)
                }
                (Step::Wildcard, Item::Array(items)) => items.iter().find_map(|i| walk(rest, i)),
                (Step::Wildcard, Item::Object(fields)) => {
                    fields.iter().find_map(|(_, v)| walk(rest, v))
                }
                (Step::Descendants(key), Item::Object(fields)) => {
                    // a match whose value does not continue the path may hold one that does
                    fields.iter().find_map(|(name, v)| {
                        let here = if name == key { walk(rest, v) } else { None };
                        here.or_else(|| walk(steps, v))
                    })
                }
                (Step::Descendants(_), Item::Array(items)) => {
                    items.iter().find_map(|i| walk(steps, i))
                }
                _ => None,
            }
        }
        walk(&self.steps, item)
    }

    /// The first value selected, if any.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.find(value).into_iter().next()
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

fn read_name(s: &str, start: usize) -> (&str, usize) {
    let end = s[start..]
        .find(['.', '['])
        .map_or(s.len(), |offset| start + offset);
    (s[start..end].trim(), end)
}

fn descendants<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key {
                    out.push(v);
                }
                descendants(v, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| descendants(v, key, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, doc: &Value) -> Vec<Value> {
        match JsonPath::parse(path) {
            Ok(p) => p.find(doc).into_iter().cloned().collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn selects_like_dlt_paths() {
        let doc = json!({"data": [{"id": 1}, {"id": 2}], "meta": {"next": "x", "total": 3},
                         "odd key": {"a": true}});
        assert_eq!(find("$", &doc), vec![doc.clone()]);
        assert_eq!(find("data", &doc), vec![json!([{"id": 1}, {"id": 2}])]);
        assert_eq!(find("$.meta.total", &doc), vec![json!(3)]);
        assert_eq!(find("meta.next", &doc), vec![json!("x")]);
        assert_eq!(find("data[*].id", &doc), vec![json!(1), json!(2)]);
        assert_eq!(find("data[1]", &doc), vec![json!({"id": 2})]);
        assert_eq!(find("data[-1].id", &doc), vec![json!(2)]);
        assert_eq!(find("$..id", &doc), vec![json!(1), json!(2)]);
        assert_eq!(find("$['odd key'].a", &doc), vec![json!(true)]);
        assert_eq!(find("meta.*", &doc), vec![json!("x"), json!(3)]);
        assert!(find("missing.path", &doc).is_empty());
        for path in [
            "data",
            "$.meta.total",
            "data[1]",
            "data[-1].id",
            "data[*].id",
            "$..id",
            "nope",
        ] {
            let parsed = JsonPath::parse(path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.take(doc.clone()), find(path, &doc), "{path}");
        }
    }

    #[test]
    fn first_item_finds_a_descendant_inside_another_match() {
        // `$..a.b`: the outer `a` has no `b`, the `a` inside it has; `find` saw it, while
        // `first_item` (incremental cursors) stopped at the outer one
        let text = r#"{"x": 1, "a": {"a": {"b": 3}}}"#;
        let doc: Value = serde_json::from_str(text).unwrap();
        let item = dltrs_core::json::parse_str(text).unwrap();
        let path = JsonPath::parse("$..a.b").unwrap();
        assert_eq!(path.first(&doc), Some(&json!(3)));
        assert_eq!(path.first_item(&item), Some(&Item::Int(3)));
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in ["data[", "a..", "a[x]", "$x"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
