//! Paginators: given a response, the request for the next page (dlt's
//! `rest_client/paginators.py`), and `auto` detection (`rest_client/detector.py`).

use serde_json::Value;
use url::Url;

use super::config::PaginatorSpec;
use super::request::RequestSpec;
use crate::jsonpath::JsonPath;

/// A response as paginators see it.
pub(crate) struct PageResponse<'a> {
    pub json: &'a Value,
    pub link_header: Option<&'a str>,
}

/// The pagination state of one sequence of pages.
#[derive(Debug, Clone)]
pub(crate) enum Paginator {
    Auto,
    Single {
        done: bool,
    },
    Range(Range),
    Cursor(Cursor),
    JsonLink {
        path: JsonPath,
        next: Option<String>,
    },
    HeaderLink {
        rel: String,
        next: Option<String>,
    },
}

/// `page_number` and `offset`: a number stepped through a range.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    kind: &'static str,
    param: String,
    /// `offset`'s limit parameter and value, sent with every request.
    limit: Option<(String, i64)>,
    initial: i64,
    pub(crate) current: i64,
    pub(crate) step: i64,
    base_index: i64,
    maximum: Option<i64>,
    total_path: Option<JsonPath>,
    stop_after_empty_page: bool,
    has_more_path: Option<JsonPath>,
    has_next: bool,
    /// The total read from the last response.
    pub(crate) total: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    path: JsonPath,
    param: String,
    stop_after_empty_page: bool,
    has_more_path: Option<JsonPath>,
    next: Option<String>,
    has_next: bool,
}

fn path(text: &str) -> Result<JsonPath, String> {
    JsonPath::parse(text)
}

fn optional(text: &Option<String>) -> Result<Option<JsonPath>, String> {
    text.as_deref().map(path).transpose()
}

impl Paginator {
    /// The paginator `spec` describes, checked as dlt checks it.
    pub(crate) fn new(spec: &PaginatorSpec) -> Result<Self, String> {
        Ok(match spec {
            PaginatorSpec::Auto {} => Paginator::Auto,
            PaginatorSpec::SinglePage {} => Paginator::Single { done: false },
            PaginatorSpec::PageNumber {
                base_page,
                page,
                page_param,
                total_path,
                maximum_page,
                stop_after_empty_page,
                has_more_path,
            } => {
                if total_path.is_none()
                    && maximum_page.is_none()
                    && has_more_path.is_none()
                    && !stop_after_empty_page
                {
                    return Err("paginator `page_number` needs one of `total_path`, `maximum_page`, `has_more_path` or `stop_after_empty_page`, or it would never stop".into());
                }
                let initial = page.unwrap_or(*base_page);
                Paginator::Range(Range {
                    kind: "page_number",
                    param: page_param.clone(),
                    limit: None,
                    initial,
                    current: initial,
                    step: 1,
                    base_index: *base_page,
                    maximum: *maximum_page,
                    total_path: optional(total_path)?,
                    stop_after_empty_page: *stop_after_empty_page,
                    has_more_path: optional(has_more_path)?,
                    has_next: true,
                    total: None,
                })
            }
            PaginatorSpec::Offset {
                limit,
                offset,
                offset_param,
                limit_param,
                total_path,
                maximum_offset,
                stop_after_empty_page,
                has_more_path,
            } => {
                if *limit <= 0 {
                    return Err(format!(
                        "paginator `offset` needs a positive `limit`, not {limit}"
                    ));
                }
                if total_path.is_none()
                    && maximum_offset.is_none()
                    && has_more_path.is_none()
                    && !stop_after_empty_page
                {
                    return Err("paginator `offset` needs one of `total_path`, `maximum_offset`, `has_more_path` or `stop_after_empty_page`, or it would never stop".into());
                }
                Paginator::Range(Range {
                    kind: "offset",
                    param: offset_param.clone(),
                    limit: Some((limit_param.clone(), *limit)),
                    initial: *offset,
                    current: *offset,
                    step: *limit,
                    base_index: 0,
                    maximum: *maximum_offset,
                    total_path: optional(total_path)?,
                    stop_after_empty_page: *stop_after_empty_page,
                    has_more_path: optional(has_more_path)?,
                    has_next: true,
                    total: None,
                })
            }
            PaginatorSpec::Cursor {
                cursor_path,
                cursor_param,
                stop_after_empty_page,
                has_more_path,
            } => Paginator::Cursor(Cursor {
                path: path(cursor_path)?,
                param: cursor_param.clone(),
                stop_after_empty_page: *stop_after_empty_page,
                has_more_path: optional(has_more_path)?,
                next: None,
                has_next: true,
            }),
            PaginatorSpec::JsonLink { next_url_path } => Paginator::JsonLink {
                path: path(next_url_path)?,
                next: None,
            },
            PaginatorSpec::HeaderLink { links_next_key } => Paginator::HeaderLink {
                rel: links_next_key.clone(),
                next: None,
            },
        })
    }

    /// Prepares the first request.
    pub(crate) fn init_request(&mut self, request: &mut RequestSpec) {
        if let Paginator::Range(range) = self {
            range.current = range.initial;
            range.has_next = true;
            range.set(request, range.current);
        }
    }

    /// Reads the next page's reference from `response`, whose records are `data`.
    pub(crate) fn update_state(
        &mut self,
        response: &PageResponse<'_>,
        empty: bool,
    ) -> Result<(), String> {
        match self {
            Paginator::Auto => {}
            Paginator::Single { done } => *done = true,
            Paginator::Range(range) => range.update(response.json, empty)?,
            Paginator::Cursor(cursor) => {
                cursor.next = cursor.path.first(response.json).and_then(reference);
                cursor.has_next = cursor.next.is_some();
                if cursor.stop_after_empty_page && empty {
                    cursor.has_next = false;
                } else if let Some(has_more) = &cursor.has_more_path {
                    // without a cursor there is no next page to ask for, whatever `has_more` says
                    cursor.has_next &= read_has_more(has_more, response.json)?;
                }
            }
            Paginator::JsonLink { path, next } => {
                *next = path.first(response.json).and_then(reference);
            }
            Paginator::HeaderLink { rel, next } => {
                *next = response
                    .link_header
                    .and_then(|header| link_with_rel(header, rel));
            }
        }
        Ok(())
    }

    /// Points `request` at the next page.
    pub(crate) fn update_request(
        &self,
        request: &mut RequestSpec,
        current_url: &Url,
    ) -> Result<(), String> {
        match self {
            Paginator::Range(range) => range.set(request, range.current),
            Paginator::Cursor(cursor) => {
                if let Some(next) = &cursor.next {
                    request.params.insert(cursor.param.clone(), next.clone());
                }
            }
            Paginator::JsonLink { next, .. } | Paginator::HeaderLink { next, .. } => {
                if let Some(next) = next {
                    // relative links resolve against the page they came from
                    request.url = current_url
                        .join(next)
                        .map_err(|e| format!("the next page link {next:?} is not a URL: {e}"))?;
                    request.params.clear();
                }
            }
            Paginator::Auto | Paginator::Single { .. } => {}
        }
        Ok(())
    }

    /// Whether another page follows.
    pub(crate) fn has_next_page(&self) -> bool {
        match self {
            Paginator::Auto => false,
            Paginator::Single { done } => !done,
            Paginator::Range(range) => range.has_next,
            Paginator::Cursor(cursor) => cursor.has_next,
            Paginator::JsonLink { next, .. } | Paginator::HeaderLink { next, .. } => next.is_some(),
        }
    }

    /// The paginator a first response suggests, as dlt's detectors choose it: a `Link`
    /// header, a next URL in the body, a total page count, a next cursor, or one page.
    pub(crate) fn detect(response: &PageResponse<'_>) -> (Paginator, &'static str) {
        if let Some(next) = response
            .link_header
            .and_then(|header| link_with_rel(header, "next"))
        {
            return (
                Paginator::HeaderLink {
                    rel: "next".into(),
                    next: Some(next),
                },
                "header_link",
            );
        }
        if let Some((keys, value)) = find_next_page_path(response.json, &mut Vec::new()) {
            let dotted = keys.join(".");
            let Ok(path) = JsonPath::parse(&dotted) else {
                return (Paginator::Single { done: true }, "single_page");
            };
            if value
                .as_str()
                .is_some_and(|s| s.starts_with("http") || s.starts_with('/'))
            {
                return (Paginator::JsonLink { path, next: None }, "json_link");
            }
            if find_total_pages_path(response.json, &mut Vec::new()).is_none() {
                return (
                    Paginator::Cursor(Cursor {
                        path,
                        param: "cursor".into(),
                        stop_after_empty_page: false,
                        has_more_path: None,
                        next: None,
                        has_next: true,
                    }),
                    "cursor",
                );
            }
        }
        if let Some(keys) = find_total_pages_path(response.json, &mut Vec::new())
            && let Ok(total) = JsonPath::parse(&keys.join("."))
        {
            return (
                Paginator::Range(Range {
                    kind: "page_number",
                    param: "page".into(),
                    limit: None,
                    initial: 0,
                    current: 0,
                    step: 1,
                    base_index: 0,
                    maximum: None,
                    total_path: Some(total),
                    stop_after_empty_page: true,
                    has_more_path: None,
                    has_next: true,
                    total: None,
                }),
                "page_number",
            );
        }
        (Paginator::Single { done: true }, "single_page")
    }

    /// The range paginator, when the pages are numbered.
    pub(crate) fn range(&self) -> Option<&Range> {
        match self {
            Paginator::Range(range) => Some(range),
            _ => None,
        }
    }
}

impl Range {
    fn set(&self, request: &mut RequestSpec, value: i64) {
        request.params.insert(self.param.clone(), value.to_string());
        if let Some((param, limit)) = &self.limit {
            request.params.insert(param.clone(), limit.to_string());
        }
    }

    /// The request for the page at `value`.
    pub(crate) fn request_at(&self, request: &RequestSpec, value: i64) -> RequestSpec {
        let mut request = request.clone();
        self.set(&mut request, value);
        request
    }

    /// The end of the range (exclusive) once the total is known.
    pub(crate) fn end(&self) -> Option<i64> {
        let by_total = self.total.map(|t| t.saturating_add(self.base_index));
        match (by_total, self.maximum) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b).filter(|_| self.total.is_some()),
        }
    }

    /// Whether a page with `data` ends the range without a total.
    pub(crate) fn stops_at(&self, empty: bool, json: &Value) -> Result<bool, String> {
        if self.stop_after_empty_page && empty {
            return Ok(true);
        }
        match &self.has_more_path {
            Some(path) => Ok(!read_has_more(path, json)?),
            None => Ok(false),
        }
    }

    fn update(&mut self, json: &Value, empty: bool) -> Result<(), String> {
        if self.stop_after_empty_page && empty {
            self.has_next = false;
            return Ok(());
        }
        if let Some(path) = &self.total_path {
            let total = match path.first(json) {
                None | Some(Value::Null) => {
                    return Err(format!(
                        "paginator `{}` found no total at `{path}` in the response; set `total_path` to where the total is, or to false when there is none",
                        self.kind
                    ));
                }
                Some(value) => as_int(value).ok_or_else(|| {
                    format!(
                        "paginator `{}`: the total at `{path}` is not an integer: {value}",
                        self.kind
                    )
                })?,
            };
            self.total = Some(total);
        }
        self.current = self.current.saturating_add(self.step);
        if self
            .total
            .is_some_and(|total| self.current >= total.saturating_add(self.base_index))
            || self.maximum.is_some_and(|max| self.current >= max)
        {
            self.has_next = false;
        }
        if let Some(path) = &self.has_more_path {
            // any stop condition wins: `has_more` does not restart what the total ended
            self.has_next &= read_has_more(path, json)?;
        }
        Ok(())
    }
}

fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn read_has_more(path: &JsonPath, json: &Value) -> Result<bool, String> {
    match path.first(json) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "t" | "1" | "on" => Ok(true),
            "false" | "no" | "n" | "f" | "0" | "off" => Ok(false),
            _ => Err(format!("`{path}` is not a boolean in the response: {s:?}")),
        },
        None | Some(Value::Null) => Err(format!(
            "no `{path}` in the response; it should say whether more pages follow"
        )),
        Some(other) => Err(format!(
            "`{path}` is not a boolean in the response: {other}"
        )),
    }
}

/// A next-page reference: text or a number; empty and falsy values end the pages, as in dlt.
fn reference(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.as_f64() != Some(0.0) => Some(n.to_string()),
        _ => None,
    }
}

/// The URL of the link with relation `rel` in an RFC 8288 `Link` header.
pub fn link_with_rel(header: &str, rel: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>')? + open;
        let url = &rest[open + 1..close];
        let params_end = rest[close..].find('<').map_or(rest.len(), |i| i + close);
        // the `,` before the next link is not part of this link's last parameter
        let params = rest[close + 1..params_end].trim_end();
        let params = params.strip_suffix(',').unwrap_or(params);
        for param in params.split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(rel))
            {
                return Some(url.trim().to_owned());
            }
        }
        rest = &rest[params_end..];
    }
    None
}

/// dlt's `find_next_page_path`: the first key starting with `next`, depth first, holding a
/// scalar or a dict with an `href`/`url` scalar.
fn find_next_page_path<'a>(
    json: &'a Value,
    keys: &mut Vec<String>,
) -> Option<(Vec<String>, &'a Value)> {
    let Value::Object(map) = json else {
        return None;
    };
    for (key, value) in map {
        if key.to_lowercase().starts_with("next") {
            match value {
                Value::Object(inner) => {
                    for (inner_key, inner_value) in inner {
                        let lower = inner_key.to_lowercase();
                        if (lower.starts_with("href") || lower.starts_with("url"))
                            && scalar(inner_value)
                        {
                            let mut found = keys.clone();
                            found.push(key.clone());
                            found.push(inner_key.clone());
                            return Some((found, inner_value));
                        }
                    }
                }
                v if scalar(v) => {
                    let mut found = keys.clone();
                    found.push(key.clone());
                    return Some((found, v));
                }
                _ => {}
            }
        }
        if value.is_object() {
            keys.push(key.clone());
            let found = find_next_page_path(value, keys);
            keys.pop();
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

fn find_total_pages_path(json: &Value, keys: &mut Vec<String>) -> Option<Vec<String>> {
    let Value::Object(map) = json else {
        return None;
    };
    for (key, value) in map {
        let lower = key.to_lowercase();
        if matches!(lower.as_str(), "total_pages" | "pages" | "totalpages")
            && scalar(value)
            && as_int(value).is_some()
        {
            let mut found = keys.clone();
            found.push(key.clone());
            return Some(found);
        }
        if value.is_object() {
            keys.push(key.clone());
            let found = find_total_pages_path(value, keys);
            keys.pop();
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

fn scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// dlt's `find_response_page_data`: the records of a response whose selector was not given.
pub(crate) fn detect_data_selector(json: &Value) -> String {
    let Value::Object(map) = json else {
        return "$".into();
    };
    let mut lists: Vec<Vec<String>> = Vec::new();
    find_all_lists(map, &mut Vec::new(), &mut lists);
    const RECORD_KEYS: [&str; 11] = [
        "data", "items", "results", "entries", "records", "rows", "entities", "payload", "content",
        "objects", "values",
    ];
    let chosen = lists
        .iter()
        .find(|keys| {
            keys.last()
                .is_some_and(|k| RECORD_KEYS.contains(&k.as_str()))
        })
        .or(lists.first());
    match chosen {
        Some(keys) => keys
            .iter()
            .map(|k| {
                if k.contains(['.', '[', ']', '\'']) || k.trim() != k || k.is_empty() {
                    format!("['{k}']")
                } else {
                    k.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(".")
            .replace(".[", "["),
        None => "$".into(),
    }
}

fn find_all_lists(
    map: &serde_json::Map<String, Value>,
    keys: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    if keys.len() > 2 {
        return;
    }
    for (key, value) in map {
        match value {
            Value::Array(_) => {
                let mut found = keys.clone();
                found.push(key.clone());
                out.push(found);
            }
            Value::Object(inner) => {
                keys.push(key.clone());
                find_all_lists(inner, keys, out);
                keys.pop();
            }
            _ => {}
        }
    }
}

/// Whether `selector` selects no records in `json` (without copying them).
pub(crate) fn selects_nothing(json: &Value, selector: &JsonPath) -> bool {
    match selector.find(json).as_slice() {
        [] | [Value::Null] => true,
        [Value::Array(items)] => items.is_empty(),
        _ => false,
    }
}

/// dlt's `extract_response`: one selected list is the records; one value is one record.
pub(crate) fn extract_records(json: Value, selector: &JsonPath) -> Vec<Value> {
    let mut found = selector.take(json);
    let data = if found.len() == 1 {
        found.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(found)
    };
    match data {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_header_relation_before_the_last_link_is_found() {
        // GitHub's header: `next` comes first; its `rel` value was read with the `,` that
        // separates it from `last`, and never matched
        let header = r#"<https://api.github.com/r?page=2>; rel="next", <https://api.github.com/r?page=5>; rel="last""#;
        assert_eq!(
            link_with_rel(header, "next").as_deref(),
            Some("https://api.github.com/r?page=2")
        );
        assert_eq!(
            link_with_rel(header, "last").as_deref(),
            Some("https://api.github.com/r?page=5")
        );
        assert_eq!(
            link_with_rel("<a>;rel=next,<b>;rel=last", "next").as_deref(),
            Some("a")
        );
        assert_eq!(link_with_rel(header, "prev"), None);
    }
}
