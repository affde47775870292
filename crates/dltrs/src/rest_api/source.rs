//! Resources from a [`RestApiConfig`]: endpoints resolved against `resource_defaults`,
//! parents ordered before their children, children fed from their parent's records.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use indexmap::IndexMap;
use serde_json::Value;
use ureq::http::Method;

use super::client::RestClient;
use super::config::{
    EndpointConfig, EndpointIncremental, PaginatorConfig, PaginatorSpec, ResourceSettings,
    ResponseAction, RestApiConfig,
};
use super::pages::Pages;
use super::paginator::Paginator;
use super::request::{JsonTemplate, ParentRecord, Placeholder, RequestSpec, Template};
use crate::jsonpath::JsonPath;
use crate::progress::Progress;
use crate::resource_state::ResourceState;
use crate::run_error::BoxError;
use crate::table_hints::TableHintsConfig;
use crate::{Error, Resource};

/// One resource's endpoint, resolved and checked.
struct Endpoint {
    name: String,
    method: Method,
    path: Template,
    params: Vec<(String, Template)>,
    headers: Vec<(String, Template)>,
    json: Option<JsonTemplate>,
    paginator: PaginatorSpec,
    selector: Option<JsonPath>,
    actions: Arc<[ResponseAction]>,
    parent: Option<String>,
    placeholders: Vec<Placeholder>,
    incremental: Option<EndpointIncremental>,
    include_from_parent: Vec<String>,
    selected: bool,
    hints: TableHintsConfig,
}

struct Source {
    client: Arc<RestClient>,
    endpoints: IndexMap<String, Endpoint>,
    /// Per parent: the fields its children read, as (key in the parent record, path).
    projections: HashMap<String, Vec<(String, JsonPath)>>,
    /// Per selected parent: its records as extracted, for its children.
    spools: HashMap<String, Arc<Mutex<Spool>>>,
    /// Per resource: its state (loaded by the pipeline for the resources it extracts).
    states: HashMap<String, ResourceState>,
}

/// The resources of a `rest_api` source, parents before children; resources with
/// `selected = false` feed their children but are not loaded.
pub fn rest_api_resources(config: &RestApiConfig) -> Result<Vec<Resource>, Error> {
    let client = Arc::new(RestClient::new(&config.client).map_err(Error::Config)?);
    let defaults = config.resource_defaults.clone().unwrap_or_default();
    if defaults.name.is_some() {
        return Err(Error::Config(
            "resource_defaults cannot have a `name`".to_owned(),
        ));
    }
    let mut endpoints = IndexMap::new();
    for resource in &config.resources {
        if endpoints.contains_key(&resource.name) {
            return Err(Error::Config(format!(
                "resource `{}` is defined twice",
                resource.name
            )));
        }
        let settings = resource.settings.clone().over(&defaults);
        let endpoint = resolve(&resource.name, settings, config.client.paginator.as_ref())
            .map_err(|e| Error::Config(format!("resource `{}`: {e}", resource.name)))?;
        endpoints.insert(resource.name.clone(), endpoint);
    }
    let order = parents_first(&endpoints)?;
    let mut projections: HashMap<String, Vec<(String, JsonPath)>> = HashMap::new();
    for endpoint in endpoints.values() {
        let Some(parent) = &endpoint.parent else {
            continue;
        };
        let fields = projections.entry(parent.clone()).or_default();
        for p in &endpoint.placeholders {
            if !fields.iter().any(|(key, _)| *key == p.expression) {
                fields.push((p.expression.clone(), p.field.clone()));
            }
        }
        for field in &endpoint.include_from_parent {
            let key = format!("_{parent}_{field}");
            if !fields.iter().any(|(k, _)| *k == key) {
                let path = JsonPath::parse(&format!("['{field}']")).map_err(Error::Config)?;
                fields.push((key, path));
            }
        }
    }
    let spools = projections
        .keys()
        .filter(|parent| endpoints.get(*parent).is_some_and(|e| e.selected))
        .map(|parent| (parent.clone(), Arc::new(Mutex::new(Spool::default()))))
        .collect();
    let states = endpoints
        .keys()
        .map(|name| (name.clone(), ResourceState::default()))
        .collect();
    let source = Arc::new(Source {
        client,
        endpoints,
        projections,
        spools,
        states,
    });
    let mut resources = Vec::new();
    for name in order {
        let Some(endpoint) = source.endpoints.get(&name) else {
            continue;
        };
        if !endpoint.selected {
            continue;
        }
        let hints = endpoint.hints.clone();
        let state = source.states.get(&name).cloned().unwrap_or_default();
        let items = {
            let (source, name) = (source.clone(), name.clone());
            Lazy::new(move || source.items(&name, true))
        };
        // the incremental cursor is applied inside the source, before the records reach the
        // children's spool: children must only see the parent records that are loaded
        resources.push(
            hints.apply(
                Resource::try_new(name, items)
                    .with_state_handle(state)
                    .with_secrets(source.client.secrets()),
            ),
        );
    }
    Ok(resources)
}

fn resolve(
    name: &str,
    settings: ResourceSettings,
    client_paginator: Option<&PaginatorConfig>,
) -> Result<Endpoint, String> {
    let endpoint = settings.endpoint.clone().unwrap_or_default();
    let EndpointConfig {
        path,
        method,
        params,
        json,
        headers,
        paginator,
        data_selector,
        response_actions,
        incremental,
    } = endpoint;
    let mut incremental = incremental;
    let mut path = path.unwrap_or_else(|| name.to_owned());
    let method = match method.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        Some(other) => Method::from_bytes(other.as_bytes())
            .map_err(|_| format!("endpoint.method {other:?} is not an HTTP method"))?,
    };
    let mut param_templates = Vec::new();
    for (param, value) in params.unwrap_or_default() {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Object(spec) => match spec.get("type").and_then(Value::as_str) {
                // dlt's older form: {type = "resolve", resource = ..., field = ...}
                Some("resolve") => {
                    let (Some(Value::String(resource)), Some(Value::String(field))) =
                        (spec.get("resource"), spec.get("field"))
                    else {
                        return Err(format!(
                            "endpoint.params.{param}: a `resolve` parameter needs `resource` and `field`"
                        ));
                    };
                    let placeholder = format!("{{resources.{resource}.{field}}}");
                    let in_path = format!("{{{param}}}");
                    if path.contains(&in_path) {
                        path = path.replace(&in_path, &placeholder);
                        continue;
                    }
                    placeholder
                }
                Some("incremental") => {
                    if incremental.is_some() {
                        return Err(format!(
                            "endpoint.params.{param}: one incremental cursor per resource (endpoint.incremental is set too)"
                        ));
                    }
                    let mut spec = spec.clone();
                    spec.remove("type");
                    spec.insert("start_param".into(), Value::String(param.clone()));
                    let parsed: EndpointIncremental =
                        serde_json::from_value(Value::Object(spec))
                            .map_err(|e| format!("endpoint.params.{param}: {e}"))?;
                    incremental = Some(parsed);
                    continue;
                }
                _ => {
                    return Err(format!(
                        "endpoint.params.{param}: a table value must be {{type = \"resolve\", resource = ..., field = ...}}"
                    ));
                }
            },
            Value::Array(_) => {
                return Err(format!(
                    "endpoint.params.{param}: lists are not supported; join the values into one text"
                ));
            }
            Value::Bool(b) => if b { "True" } else { "False" }.to_owned(),
            Value::Number(n) => n.to_string(),
        };
        let template = Template::parse(&text, &format!("endpoint.params.{param}"))?;
        param_templates.push((param, template));
    }
    let path_template = Template::parse(&path, "endpoint.path")?;
    let header_templates = headers
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let t = Template::parse(&v, &format!("endpoint.headers.{k}"))?;
            Ok((k, t))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let json = json
        .map(|j| JsonTemplate::parse(&Value::Object(j), "endpoint.json"))
        .transpose()?;
    let mut placeholders: Vec<Placeholder> = path_template.placeholders().cloned().collect();
    for (_, t) in param_templates.iter().chain(&header_templates) {
        placeholders.extend(t.placeholders().cloned());
    }
    if let Some(json) = &json {
        json.placeholders(&mut placeholders);
    }
    let mut parents: Vec<&str> = placeholders
        .iter()
        .map(|p| p.resource.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    if incremental.is_none() && placeholders.iter().any(|p| p.resource.is_empty()) {
        return Err("`{incremental.*}` placeholders need `endpoint.incremental`".into());
    }
    parents.sort_unstable();
    parents.dedup();
    let parent = match parents.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        many => {
            return Err(format!(
                "placeholders refer to several resources ({}); a resource has one parent",
                many.join(", ")
            ));
        }
    };
    let include_from_parent = settings.include_from_parent.clone().unwrap_or_default();
    if parent.is_none() && !include_from_parent.is_empty() {
        return Err("`include_from_parent` needs a parent: use `{resources.<parent>.<field>}` in the path or params".into());
    }
    // dlt's single-entity guess: `/users/{id}` returns one object, not pages of them
    let single_entity = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('{') && last.contains('}'));
    let paginator = match (paginator, client_paginator) {
        (Some(p), _) => p.0,
        (None, _) if single_entity => PaginatorSpec::SinglePage {},
        (None, Some(p)) => p.0.clone(),
        (None, None) => PaginatorSpec::Auto {},
    };
    Paginator::new(&paginator)?;
    let selector = match data_selector {
        Some(s) => Some(JsonPath::parse(&s)?),
        None if single_entity => Some(JsonPath::parse("$")?),
        None => None,
    };
    Ok(Endpoint {
        name: name.to_owned(),
        method,
        path: path_template,
        params: param_templates,
        headers: header_templates,
        json,
        paginator,
        selector,
        actions: response_actions.unwrap_or_default().into(),
        parent,
        placeholders: placeholders
            .into_iter()
            .filter(|p| !p.resource.is_empty())
            .collect(),
        incremental,
        include_from_parent,
        selected: settings.selected.unwrap_or(true),
        hints: settings.hints,
    })
}

/// Resource names with every parent before its children, otherwise in configured order.
fn parents_first(endpoints: &IndexMap<String, Endpoint>) -> Result<Vec<String>, Error> {
    for endpoint in endpoints.values() {
        if let Some(parent) = &endpoint.parent
            && !endpoints.contains_key(parent)
        {
            return Err(Error::Config(format!(
                "resource `{}` depends on resource `{parent}`, which is not defined",
                endpoint.name
            )));
        }
    }
    let mut order: Vec<String> = Vec::new();
    while order.len() < endpoints.len() {
        let before = order.len();
        for endpoint in endpoints.values() {
            if order.contains(&endpoint.name) {
                continue;
            }
            if endpoint.parent.as_ref().is_none_or(|p| order.contains(p)) {
                order.push(endpoint.name.clone());
            }
        }
        if order.len() == before {
            let cycle: Vec<&str> = endpoints
                .keys()
                .filter(|n| !order.contains(n))
                .map(String::as_str)
                .collect();
            return Err(Error::Config(format!(
                "resources {} depend on each other in a cycle",
                cycle.join(", ")
            )));
        }
    }
    Ok(order)
}

type Items = Box<dyn Iterator<Item = Result<Value, BoxError>> + Send>;
type ParentRecords = Box<dyn Iterator<Item = Result<ParentRecord, BoxError>> + Send>;

impl Source {
    fn endpoint(&self, name: &str) -> Result<&Endpoint, BoxError> {
        self.endpoints
            .get(name)
            .ok_or_else(|| format!("resource `{name}` is not defined").into())
    }

    /// The records of resource `name`, past its incremental cursor; `tee` keeps a copy of what
    /// children need.
    fn items(self: &Arc<Self>, name: &str, tee: bool) -> Items {
        let endpoint = match self.endpoint(name) {
            Ok(e) => e,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let items: Items = match &endpoint.parent {
            None => match self.pages(endpoint, &ParentRecord::new(), self.states.get(name)) {
                Ok(pages) => Box::new(Records::new(pages, Vec::new())),
                Err(e) => Box::new(std::iter::once(Err(e))),
            },
            Some(parent) => Box::new(Children {
                source: self.clone(),
                name: name.to_owned(),
                parents: self.parent_records(parent),
                current: None,
                parent_count: 0,
                state: self.states.get(name).cloned(),
            }),
        };
        let items: Items = match (&endpoint.incremental, self.states.get(name)) {
            (Some(incremental), Some(state)) => {
                let key: Vec<String> = endpoint
                    .hints
                    .primary_key
                    .as_ref()
                    .map(|k| k.0.clone())
                    .unwrap_or_default();
                match incremental.cursor().filter(state.clone(), &key) {
                    Ok(filter) => Box::new(crate::incremental::FilteredItems::new(items, filter)),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            }
            _ => items,
        };
        match (tee, self.spools.get(name), self.projections.get(name)) {
            (true, Some(spool), Some(fields)) => Box::new(Tee {
                items,
                spool: spool.clone(),
                fields: fields.clone(),
            }),
            _ => items,
        }
    }

    /// The records of `parent` as its children need them: from the copy kept while the
    /// parent was extracted, or fetched again when it was not (not selected, or extracted
    /// later).
    fn parent_records(self: &Arc<Self>, parent: &str) -> ParentRecords {
        if let Some(spool) = self.spools.get(parent)
            && lock(spool).finished
        {
            return match lock(spool).reader() {
                Ok(reader) => reader,
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
        }
        let fields = self.projections.get(parent).cloned().unwrap_or_default();
        Box::new(
            self.items(parent, false)
                .map(move |item| item.map(|item| project(&item, &fields))),
        )
    }

    /// The counters of the run pulling the source: the pipeline sets them in the states of
    /// the resources it extracts, before it pulls any.
    fn progress(&self) -> Progress {
        self.endpoints
            .iter()
            .filter(|(_, e)| e.selected)
            .find_map(|(name, _)| self.states.get(name))
            .map(ResourceState::progress)
            .unwrap_or_default()
    }

    fn pages(
        &self,
        endpoint: &Endpoint,
        parent: &ParentRecord,
        state: Option<&ResourceState>,
    ) -> Result<Pages, BoxError> {
        let mut with_cursor;
        let mut parent = parent;
        let mut cursor_params: Vec<(String, String)> = Vec::new();
        if let Some(incremental) = &endpoint.incremental {
            let cursor = incremental.cursor();
            let fresh = ResourceState::default();
            let state = state.unwrap_or(&fresh);
            let start = cursor.start_value(state);
            let last = state
                .get("incremental")
                .and_then(|i| i.get(&cursor.cursor_path).cloned())
                .and_then(|c| c.get("last_value").cloned());
            with_cursor = parent.clone();
            for (key, value) in [
                ("incremental.start_value", start.clone()),
                ("incremental.last_value", last),
                ("incremental.initial_value", cursor.initial_value.clone()),
                ("incremental.end_value", cursor.end_value.clone()),
            ] {
                with_cursor.insert(key.into(), value.unwrap_or(Value::Null));
            }
            parent = &with_cursor;
            if let (Some(param), Some(start)) = (&incremental.start_param, start) {
                cursor_params.push((param.clone(), param_text(&start)));
            }
            if let (Some(param), Some(end)) = (&incremental.end_param, &cursor.end_value) {
                cursor_params.push((param.clone(), param_text(end)));
            }
        }
        let path = endpoint.path.render(parent);
        let url = self.client.url(&path)?;
        let headers: IndexMap<String, String> = endpoint
            .headers
            .iter()
            .map(|(k, t)| (k.clone(), t.render(parent)))
            .collect();
        let mut request: RequestSpec = self.client.request(endpoint.method.clone(), url, &headers);
        for (param, template) in &endpoint.params {
            request
                .params
                .insert(param.clone(), template.render(parent));
        }
        request.params.extend(cursor_params);
        request.json = endpoint.json.as_ref().map(|j| j.render(parent));
        Ok(Pages::new(
            self.client.clone(),
            request,
            Paginator::new(&endpoint.paginator)?,
            endpoint.selector.clone(),
            endpoint.actions.clone(),
            self.progress(),
        ))
    }
}

/// A cursor value as a query parameter: text as it is, anything else as JSON.
fn param_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A parent record reduced to `fields`; missing fields are left out and reported by the
/// child that needs them.
fn project(item: &Value, fields: &[(String, JsonPath)]) -> ParentRecord {
    let mut record = ParentRecord::new();
    for (key, path) in fields {
        if let Some(value) = path.first(item) {
            record.insert(key.clone(), value.clone());
        }
    }
    record
}

/// The records of one request sequence, with parent fields added.
struct Records {
    pages: Pages,
    page: std::vec::IntoIter<Value>,
    include: Vec<(String, Value)>,
    done: bool,
}

impl Records {
    fn new(pages: Pages, include: Vec<(String, Value)>) -> Self {
        Records {
            pages,
            page: Vec::new().into_iter(),
            include,
            done: false,
        }
    }
}

impl Iterator for Records {
    type Item = Result<Value, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(mut record) = self.page.next() {
                if let Value::Object(map) = &mut record {
                    for (key, value) in &self.include {
                        map.insert(key.clone(), value.clone());
                    }
                }
                return Some(Ok(record));
            }
            if self.done {
                return None;
            }
            match self.pages.next_page() {
                Ok(Some(records)) => self.page = records.into_iter(),
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// A dependent resource: one request sequence per parent record.
struct Children {
    source: Arc<Source>,
    name: String,
    parents: ParentRecords,
    current: Option<Records>,
    parent_count: u64,
    state: Option<ResourceState>,
}

impl Iterator for Children {
    type Item = Result<Value, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(records) = &mut self.current {
                match records.next() {
                    Some(item) => return Some(item),
                    None => self.current = None,
                }
            }
            let parent = match self.parents.next()? {
                Ok(parent) => parent,
                Err(e) => return Some(Err(e)),
            };
            self.parent_count += 1;
            match self.start(&parent) {
                Ok(records) => self.current = Some(records),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Children {
    fn start(&self, parent: &ParentRecord) -> Result<Records, BoxError> {
        let endpoint = self.source.endpoint(&self.name)?;
        let parent_name = endpoint.parent.as_deref().unwrap_or_default();
        for placeholder in &endpoint.placeholders {
            if !parent.contains_key(&placeholder.expression) {
                return Err(format!(
                    "record {} of resource `{parent_name}` has no field `{}`, which `{{{}}}` needs",
                    self.parent_count, placeholder.field, placeholder.expression
                )
                .into());
            }
        }
        let mut include = Vec::new();
        for field in &endpoint.include_from_parent {
            let key = format!("_{parent_name}_{field}");
            let Some(value) = parent.get(&key) else {
                return Err(format!(
                    "record {} of resource `{parent_name}` has no field `{field}`, which `include_from_parent` names",
                    self.parent_count
                )
                .into());
            };
            include.push((key, value.clone()));
        }
        Ok(Records::new(
            self.source.pages(endpoint, parent, self.state.as_ref())?,
            include,
        ))
    }
}

/// A parent's records reduced to what its children need, kept on disk while the parent is
/// extracted so the children do not fetch the parent again.
#[derive(Default)]
struct Spool {
    file: Option<tempfile::NamedTempFile>,
    writer: Option<BufWriter<File>>,
    finished: bool,
}

impl Spool {
    fn write(&mut self, record: &ParentRecord) -> Result<(), BoxError> {
        if self.writer.is_none() {
            let file = tempfile::NamedTempFile::new()?;
            self.writer = Some(BufWriter::new(file.reopen()?));
            self.file = Some(file);
        }
        if let Some(writer) = &mut self.writer {
            serde_json::to_writer(&mut *writer, record)?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        if let Some(writer) = &mut self.writer {
            writer.flush()?;
        }
        self.writer = None;
        self.finished = true;
        Ok(())
    }

    fn reader(&self) -> Result<ParentRecords, BoxError> {
        let Some(file) = &self.file else {
            return Ok(Box::new(std::iter::empty()));
        };
        let lines = BufReader::new(file.reopen()?).lines();
        Ok(Box::new(lines.map(
            |line| -> Result<ParentRecord, BoxError> {
                let line = line?;
                Ok(serde_json::from_str::<ParentRecord>(&line)?)
            },
        )))
    }
}

/// A parent resource's records, copied to its spool on the way to the pipeline.
struct Tee {
    items: Items,
    spool: Arc<Mutex<Spool>>,
    fields: Vec<(String, JsonPath)>,
}

impl Iterator for Tee {
    type Item = Result<Value, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.items.next() {
            Some(Ok(item)) => {
                let record = project(&item, &self.fields);
                if let Err(e) = lock(&self.spool).write(&record) {
                    return Some(Err(e));
                }
                Some(Ok(item))
            }
            Some(Err(e)) => Some(Err(e)),
            None => {
                if let Err(e) = lock(&self.spool).finish() {
                    return Some(Err(e));
                }
                None
            }
        }
    }
}

/// An iterator made on first use, so a child looks for its parent's records only when its
/// own extraction starts.
struct Lazy {
    make: Option<Box<dyn FnOnce() -> Items + Send>>,
    items: Option<Items>,
}

impl Lazy {
    fn new(make: impl FnOnce() -> Items + Send + 'static) -> Self {
        Lazy {
            make: Some(Box::new(make)),
            items: None,
        }
    }
}

impl Iterator for Lazy {
    type Item = Result<Value, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(make) = self.make.take() {
            self.items = Some(make());
        }
        self.items.as_mut()?.next()
    }
}

/// A spool, even if a thread panicked while holding it (its records are still the ones
/// written).
fn lock(spool: &Mutex<Spool>) -> MutexGuard<'_, Spool> {
    spool.lock().unwrap_or_else(PoisonError::into_inner)
}
