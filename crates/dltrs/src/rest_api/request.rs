//! [`RequestSpec`]: a request being paginated, and [`Template`]s that fill paths, parameters
//! and bodies from parent records (`{resources.<parent>.<field>}`).

use indexmap::IndexMap;
use serde_json::Value;
use ureq::http::Method;
use url::Url;

use crate::http::HttpRequest;
use crate::jsonpath::JsonPath;

/// One request of a paginated sequence, before auth.
#[derive(Debug, Clone)]
pub(crate) struct RequestSpec {
    pub method: Method,
    pub url: Url,
    pub params: IndexMap<String, String>,
    pub headers: IndexMap<String, String>,
    pub json: Option<Value>,
}

impl RequestSpec {
    /// The request to send: parameters appended to the URL's own query, JSON body encoded.
    pub(crate) fn to_http(&self) -> HttpRequest {
        let mut url = self.url.clone();
        if !self.params.is_empty() {
            let mut query = url.query_pairs_mut();
            for (name, value) in &self.params {
                query.append_pair(name, value);
            }
        }
        HttpRequest {
            method: self.method.clone(),
            url,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: self
                .json
                .as_ref()
                .map(|json| (json.to_string().into_bytes(), "application/json")),
        }
    }
}

/// A parent record reduced to what its children use: `resources.<parent>.<field>` keys for
/// placeholders and `_<parent>_<field>` keys for `include_from_parent`.
pub(crate) type ParentRecord = serde_json::Map<String, Value>;

/// A text with `{resources.<parent>.<field>}` placeholders; `{{` and `}}` are braces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(Placeholder),
}

/// A placeholder: the parent resource and the field path in its records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placeholder {
    pub expression: String,
    pub resource: String,
    pub field: JsonPath,
}

impl Template {
    /// Parses `text`; `where_` names its place in the configuration for errors.
    pub(crate) fn parse(text: &str, where_: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let Some(close) = text[at..].find('}').map(|i| i + at) else {
                        return Err(format!(
                            "{where_}: unclosed `{{` in {text:?}; write `{{{{` for a brace"
                        ));
                    };
                    let expression = text[at + 1..close].trim();
                    let placeholder = parse_placeholder(expression).ok_or_else(|| {
                        format!(
                            "{where_}: placeholder `{{{expression}}}` is not valid; placeholders look like `{{resources.<parent resource>.<field>}}` or `{{incremental.start_value}}` (write `{{{{` and `}}}}` for literal braces)"
                        )
                    })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(placeholder));
                    while chars.peek().is_some_and(|(i, _)| *i <= close) {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "{where_}: single `}}` in {text:?}; write `}}}}` for a brace"
                    ));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The placeholders.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f),
            Part::Text(_) => None,
        })
    }

    /// The text with every placeholder filled from `record`.
    pub(crate) fn render(&self, record: &ParentRecord) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(f) => out.push_str(&python_str(
                    record.get(&f.expression).unwrap_or(&Value::Null),
                )),
            }
        }
        out
    }

    /// The value itself when the text is one placeholder and nothing else (JSON bodies keep
    /// the parent value's type, as dlt's `preserve_value_type`).
    pub(crate) fn render_value(&self, record: &ParentRecord) -> Value {
        match self.parts.as_slice() {
            [Part::Field(f)] => record.get(&f.expression).cloned().unwrap_or(Value::Null),
            _ => Value::String(self.render(record)),
        }
    }
}

/// Values of the incremental cursor a template can use (`{incremental.start_value}`).
pub(crate) const INCREMENTAL_FIELDS: [&str; 4] = [
    "incremental.start_value",
    "incremental.last_value",
    "incremental.initial_value",
    "incremental.end_value",
];

fn parse_placeholder(expression: &str) -> Option<Placeholder> {
    if INCREMENTAL_FIELDS.contains(&expression) {
        // filled from the resource's own incremental cursor, not from a parent
        return Some(Placeholder {
            expression: expression.to_owned(),
            resource: String::new(),
            field: JsonPath::parse("$").ok()?,
        });
    }
    let rest = expression.strip_prefix("resources.")?;
    let (resource, field) = rest.split_once('.')?;
    if resource.is_empty() || field.is_empty() {
        return None;
    }
    Some(Placeholder {
        expression: expression.to_owned(),
        resource: resource.to_owned(),
        field: JsonPath::parse(field).ok()?,
    })
}

/// A value as Python's `str()` writes it into a format string, as dlt fills placeholders.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// A JSON body with templates in its strings.
#[derive(Debug, Clone)]
pub(crate) enum JsonTemplate {
    Value(Value),
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    pub(crate) fn parse(value: &Value, where_: &str) -> Result<Self, String> {
        Ok(match value {
            Value::String(s) => JsonTemplate::Text(Template::parse(s, where_)?),
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .map(|v| JsonTemplate::parse(v, where_))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => JsonTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), JsonTemplate::parse(v, where_)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => JsonTemplate::Value(other.clone()),
        })
    }

    pub(crate) fn placeholders(&self, out: &mut Vec<Placeholder>) {
        match self {
            JsonTemplate::Value(_) => {}
            JsonTemplate::Text(t) => out.extend(t.placeholders().cloned()),
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.placeholders(out)),
            JsonTemplate::Object(fields) => fields.iter().for_each(|(_, v)| v.placeholders(out)),
        }
    }

    pub(crate) fn render(&self, record: &ParentRecord) -> Value {
        match self {
            JsonTemplate::Value(v) => v.clone(),
            JsonTemplate::Text(t) => t.render_value(record),
            JsonTemplate::Array(items) => {
                Value::Array(items.iter().map(|i| i.render(record)).collect())
            }
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.render(record)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(pairs: Value) -> ParentRecord {
        match pairs {
            Value::Object(map) => map,
            _ => ParentRecord::new(),
        }
    }

    #[test]
    fn fills_placeholders_and_keeps_braces() {
        let t = Template::parse("/issues/{resources.issues.number}/c{{x}}", "path")
            .unwrap_or_else(|e| panic!("{e}"));
        let fields: Vec<_> = t.placeholders().map(|p| p.resource.as_str()).collect();
        assert_eq!(fields, ["issues"]);
        let r = record(json!({"resources.issues.number": 7}));
        assert_eq!(t.render(&r), "/issues/7/c{x}");
        let single =
            Template::parse("{resources.issues.number}", "json").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(single.render_value(&r), json!(7));
    }

    #[test]
    fn rejects_unknown_contexts_and_stray_braces() {
        for bad in [
            "/x/{id}",
            "/x/{resources.issues}",
            "/x/{resources.a.b",
            "/x/}",
        ] {
            let err = Template::parse(bad, "path").err().unwrap_or_default();
            assert!(err.starts_with("path: "), "{bad}: {err}");
        }
    }
}
