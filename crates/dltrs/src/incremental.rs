//! [`Incremental`]: load only the items whose cursor moved past what earlier runs loaded, as
//! dlt's `dlt.sources.incremental` does, keeping only the hashes of the items that sit on the
//! boundary so the state stays small whatever the volume.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use dltrs_core::json::{Item, parse, write_item_sorted, write_value_sorted};
use dltrs_core::normalize::row_id::content_row_id;
use dltrs_core::types::datetime::{format_timestamp, parse_timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::jsonpath::JsonPath;
use crate::resource_state::ResourceState;
use crate::run_error::BoxError;
use crate::table_hints::Keys;

/// Which end of the cursor's range is the newest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LastValueFunc {
    /// Newer items have greater cursors (the default).
    #[default]
    Max,
    /// Newer items have smaller cursors.
    Min,
}

/// The order a source yields its items in, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOrder {
    /// Ascending cursors: reading stops at the first item past `end_value`.
    Asc,
    /// Descending cursors: reading stops at the first item before the start.
    Desc,
}

/// What to do with an item without a cursor value (missing or null).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnCursorValueMissing {
    /// Fail the run, naming the item.
    #[default]
    Raise,
    /// Load the item.
    Include,
    /// Skip the item.
    Exclude,
}

/// Whether a range boundary value belongs to the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// The boundary value is in the range.
    Closed,
    /// It is not.
    Open,
}

/// An incremental cursor, with dlt's options and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// JSONPath of the cursor in each item (`updated_at`, `meta.version`).
    pub cursor_path: String,
    /// Where the first run starts.
    #[serde(default)]
    pub initial_value: Option<Value>,
    /// Where loading ends (a backfill: the state is then left as it is).
    #[serde(default)]
    pub end_value: Option<Value>,
    /// `max` (default) or `min`.
    #[serde(default)]
    pub last_value_func: LastValueFunc,
    /// The source's order, to stop reading early.
    #[serde(default)]
    pub row_order: Option<RowOrder>,
    /// Reload this much before the last value (seconds for timestamps), for late updates.
    #[serde(default)]
    pub lag: Option<f64>,
    /// `raise` (default), `include` or `exclude`.
    #[serde(default)]
    pub on_cursor_value_missing: OnCursorValueMissing,
    /// Whether items equal to the start are loaded (`closed`, default; equal items already
    /// loaded are recognized by their hash).
    #[serde(default = "closed")]
    pub range_start: Boundary,
    /// Whether items equal to `end_value` are loaded (`open`, default: not).
    #[serde(default = "open")]
    pub range_end: Boundary,
    /// Columns identifying an item for deduplication at the boundary (the resource's primary
    /// key by default; the whole item when there is none).
    #[serde(default)]
    pub primary_key: Option<Keys>,
}

fn closed() -> Boundary {
    Boundary::Closed
}
fn open() -> Boundary {
    Boundary::Open
}

impl Incremental {
    /// An incremental cursor at `cursor_path` with dlt's defaults.
    pub fn new(cursor_path: impl Into<String>) -> Self {
        Incremental {
            cursor_path: cursor_path.into(),
            initial_value: None,
            end_value: None,
            last_value_func: LastValueFunc::Max,
            row_order: None,
            lag: None,
            on_cursor_value_missing: OnCursorValueMissing::Raise,
            range_start: Boundary::Closed,
            range_end: Boundary::Open,
            primary_key: None,
        }
    }

    /// Sets where the first run starts.
    pub fn initial_value(mut self, value: Value) -> Self {
        self.initial_value = Some(value);
        self
    }

    /// Sets where loading ends.
    pub fn end_value(mut self, value: Value) -> Self {
        self.end_value = Some(value);
        self
    }

    /// Sets which end is the newest.
    pub fn last_value_func(mut self, func: LastValueFunc) -> Self {
        self.last_value_func = func;
        self
    }

    /// Declares the source's order.
    pub fn row_order(mut self, order: RowOrder) -> Self {
        self.row_order = Some(order);
        self
    }

    /// Reloads this much before the last value.
    pub fn lag(mut self, lag: f64) -> Self {
        self.lag = Some(lag);
        self
    }

    /// What to do with items without a cursor.
    pub fn on_cursor_value_missing(mut self, what: OnCursorValueMissing) -> Self {
        self.on_cursor_value_missing = what;
        self
    }

    /// Whether the start value itself is in the range.
    pub fn range_start(mut self, boundary: Boundary) -> Self {
        self.range_start = boundary;
        self
    }

    /// Whether the end value itself is in the range.
    pub fn range_end(mut self, boundary: Boundary) -> Self {
        self.range_end = boundary;
        self
    }

    /// The state of this cursor in the resource's state.
    fn stored(&self, state: &ResourceState) -> Map<String, Value> {
        state
            .get("incremental")
            .and_then(|i| i.get(&self.cursor_path).cloned())
            .and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Where this run starts: the last value (moved back by `lag`), or the initial value.
    pub fn start_value(&self, state: &ResourceState) -> Option<Value> {
        match self.stored(state).get("last_value") {
            Some(last) if !last.is_null() => Some(match self.lag {
                Some(lag) => self.lagged(last, lag),
                None => last.clone(),
            }),
            _ => self.initial_value.clone(),
        }
    }

    fn lagged(&self, value: &Value, lag: f64) -> Value {
        let lag = match self.last_value_func {
            LastValueFunc::Max => -lag,
            LastValueFunc::Min => lag,
        };
        match value {
            Value::Number(n) => match n.as_i64() {
                Some(i) if lag.fract() == 0.0 => json!(i + lag as i64),
                _ => json!(n.as_f64().unwrap_or_default() + lag),
            },
            Value::String(s) => match parse_timestamp(s) {
                Some(micros) => json!(format_timestamp(micros + (lag * 1e6) as i64)),
                None => value.clone(),
            },
            other => other.clone(),
        }
    }

    /// The filter of one extraction, reading the state as it is now.
    pub(crate) fn filter(
        &self,
        state: ResourceState,
        primary_key: &[String],
    ) -> Result<Filter, BoxError> {
        let path = JsonPath::parse(&self.cursor_path)?;
        let stored = self.stored(&state);
        let last = stored.get("last_value").filter(|v| !v.is_null()).cloned();
        let hashes: BTreeSet<String> = stored
            .get("unique_hashes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let keys = match &self.primary_key {
            Some(keys) => keys.0.clone(),
            None => primary_key.to_vec(),
        };
        Ok(Filter {
            start: self.start_value(&state).map(Cursor::new),
            end: self.end_value.clone().map(Cursor::new),
            config: self.clone(),
            path,
            new_last: last.clone().map(Cursor::new),
            new_hashes: hashes.clone(),
            last,
            hashes,
            keys,
            state,
            items: 0,
        })
    }
}

/// What happens to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Load it.
    Keep,
    /// Leave it out.
    Skip,
    /// Leave it out and stop reading: the rest is out of range too.
    Stop,
}

/// One extraction's view of an incremental cursor.
pub(crate) struct Filter {
    config: Incremental,
    path: JsonPath,
    start: Option<Cursor>,
    end: Option<Cursor>,
    last: Option<Value>,
    hashes: BTreeSet<String>,
    new_last: Option<Cursor>,
    new_hashes: BTreeSet<String>,
    keys: Vec<String>,
    state: ResourceState,
    items: u64,
}

impl Filter {
    /// The decision for the item `json`.
    pub(crate) fn decide(&mut self, json: &[u8]) -> Result<Decision, BoxError> {
        self.items += 1;
        let item = parse(json)?;
        let cursor = self.path.first_item(&item).filter(|c| !c.is_null());
        let Some(cursor) = cursor else {
            return match self.config.on_cursor_value_missing {
                OnCursorValueMissing::Include => Ok(Decision::Keep),
                OnCursorValueMissing::Exclude => Ok(Decision::Skip),
                OnCursorValueMissing::Raise => Err(format!(
                    "item {} has no value at cursor `{}`; fix the cursor path, or set on_cursor_value_missing to include or exclude",
                    self.items, self.config.cursor_path
                )
                .into()),
            };
        };
        // one parse of the cursor per item; the boundaries were parsed once
        let cursor = Cursor::new(scalar(cursor));
        // "newer" is greater for max, smaller for min
        let func = self.config.last_value_func;
        let newer = |a: &Cursor, b: &Cursor| -> Result<Ordering, BoxError> {
            let order = a.compare(b)?;
            Ok(match func {
                LastValueFunc::Max => order,
                LastValueFunc::Min => order.reverse(),
            })
        };
        if let Some(end) = &self.end {
            let past = matches!(
                (newer(&cursor, end)?, self.config.range_end),
                (Ordering::Greater, _) | (Ordering::Equal, Boundary::Open)
            );
            if past {
                return Ok(match self.config.row_order {
                    Some(RowOrder::Asc) if self.config.last_value_func == LastValueFunc::Max => {
                        Decision::Stop
                    }
                    Some(RowOrder::Desc) if self.config.last_value_func == LastValueFunc::Min => {
                        Decision::Stop
                    }
                    _ => Decision::Skip,
                });
            }
        }
        if let Some(start) = &self.start {
            let order = newer(&cursor, start)?;
            let before = matches!(
                (order, self.config.range_start),
                (Ordering::Less, _) | (Ordering::Equal, Boundary::Open)
            );
            if before {
                return Ok(match self.config.row_order {
                    Some(RowOrder::Desc) if self.config.last_value_func == LastValueFunc::Max => {
                        Decision::Stop
                    }
                    Some(RowOrder::Asc) if self.config.last_value_func == LastValueFunc::Min => {
                        Decision::Stop
                    }
                    _ => Decision::Skip,
                });
            }
            if order == Ordering::Equal
                && self.last.as_ref() == Some(&start.value)
                && self.hashes.contains(&self.hash(&item)?)
            {
                // loaded by an earlier run: it sat on that run's boundary
                return Ok(Decision::Skip);
            }
        }
        match &self.new_last {
            Some(last) => match newer(&cursor, last)? {
                Ordering::Greater => {
                    self.new_last = Some(cursor);
                    self.new_hashes = BTreeSet::from([self.hash(&item)?]);
                }
                Ordering::Equal => {
                    self.new_hashes.insert(self.hash(&item)?);
                }
                Ordering::Less => {}
            },
            None => {
                self.new_last = Some(cursor);
                self.new_hashes = BTreeSet::from([self.hash(&item)?]);
            }
        }
        Ok(Decision::Keep)
    }

    /// Stores the new last value and boundary hashes (a run with `end_value` is a backfill
    /// and leaves the state alone).
    pub(crate) fn finish(&self) {
        if self.config.end_value.is_some() {
            return;
        }
        let mut cursor = Map::new();
        cursor.insert(
            "initial_value".into(),
            self.config.initial_value.clone().unwrap_or(Value::Null),
        );
        cursor.insert(
            "last_value".into(),
            self.new_last
                .as_ref()
                .map_or(Value::Null, |c| c.value.clone()),
        );
        cursor.insert(
            "unique_hashes".into(),
            Value::Array(self.new_hashes.iter().map(|h| json!(h)).collect()),
        );
        let mut incremental = match self.state.get("incremental") {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        incremental.insert(self.config.cursor_path.clone(), Value::Object(cursor));
        self.state.set("incremental", Value::Object(incremental));
    }

    /// The item's identity for boundary deduplication: its primary key, or all of it. A
    /// missing key column is an error: every such item would look the same and new items on
    /// the boundary would be skipped.
    fn hash(&self, item: &Item<'_>) -> Result<String, BoxError> {
        let mut text = String::new();
        if self.keys.is_empty() {
            write_item_sorted(&mut text, item);
        } else {
            let mut values = Vec::with_capacity(self.keys.len());
            for key in &self.keys {
                let value = match item {
                    Item::Object(fields) => fields.iter().find(|(name, _)| name == key),
                    _ => None,
                };
                match value {
                    Some((_, v)) if !v.is_null() => values.push(scalar(v)),
                    _ => {
                        return Err(format!(
                            "item {} has no value in primary key column `{key}`, which identifies items on the incremental boundary; fix the primary key or the data",
                            self.items
                        )
                        .into());
                    }
                }
            }
            write_value_sorted(&mut text, &Value::Array(values));
        }
        Ok(content_row_id(&text))
    }
}

/// Items of a source that filters its own records (a REST resource whose children must see
/// only the records that pass): the cursor's state is stored when the items end or stop.
#[cfg(feature = "rest-api-source")]
pub(crate) struct FilteredItems {
    items: Box<dyn Iterator<Item = Result<Value, BoxError>> + Send>,
    filter: Filter,
    done: bool,
}

#[cfg(feature = "rest-api-source")]
impl FilteredItems {
    pub(crate) fn new(
        items: Box<dyn Iterator<Item = Result<Value, BoxError>> + Send>,
        filter: Filter,
    ) -> Self {
        FilteredItems {
            items,
            filter,
            done: false,
        }
    }
}

#[cfg(feature = "rest-api-source")]
impl Iterator for FilteredItems {
    type Item = Result<Value, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let item = match self.items.next() {
                Some(Ok(item)) => item,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => break,
            };
            let json = match serde_json::to_vec(&item) {
                Ok(json) => json,
                Err(e) => return Some(Err(e.into())),
            };
            match self.filter.decide(&json) {
                Ok(Decision::Keep) => return Some(Ok(item)),
                Ok(Decision::Skip) => {}
                Ok(Decision::Stop) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        if !self.done {
            self.done = true;
            self.filter.finish();
        }
        None
    }
}

/// A cursor value as JSON.
fn scalar(item: &Item<'_>) -> Value {
    match item {
        Item::Null => Value::Null,
        Item::Bool(b) => json!(b),
        Item::Int(i) => json!(i),
        Item::Float(f) => json!(f),
        Item::Str(s) => json!(s),
        other => {
            let text = dltrs_core::json::item_to_string(other);
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
    }
}

/// A cursor value with its timestamp parsed once, for comparisons.
#[derive(Debug, Clone)]
struct Cursor {
    value: Value,
    /// Microseconds, when the value is an ISO timestamp text.
    instant: Option<i64>,
}

impl Cursor {
    fn new(value: Value) -> Self {
        let instant = value.as_str().and_then(parse_timestamp);
        Cursor { value, instant }
    }

    /// [`compare`], with the parsed timestamps.
    fn compare(&self, other: &Cursor) -> Result<Ordering, BoxError> {
        match (self.instant, other.instant) {
            (Some(a), Some(b)) => Ok(a.cmp(&b)),
            _ => compare(&self.value, &other.value),
        }
    }
}

/// Orders two cursor values: numbers by value, texts as timestamps when both are ISO
/// timestamps, otherwise as text.
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Ordering, BoxError> {
    let order = match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x
                .as_f64()
                .zip(y.as_f64())
                .and_then(|(x, y)| x.partial_cmp(&y)),
        },
        (Value::String(x), Value::String(y)) => match (parse_timestamp(x), parse_timestamp(y)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(x.cmp(y)),
        },
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    order.ok_or_else(|| format!("cursor values {a} and {b} cannot be compared").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(inc: &Incremental, state: &ResourceState, pk: &[&str], items: &[Value]) -> Vec<i64> {
        let pk: Vec<String> = pk.iter().map(|s| s.to_string()).collect();
        let mut filter = inc
            .filter(state.clone(), &pk)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut kept = Vec::new();
        for item in items {
            let bytes = item.to_string();
            match filter
                .decide(bytes.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"))
            {
                Decision::Keep => kept.push(item["id"].as_i64().unwrap_or(-1)),
                Decision::Skip => {}
                Decision::Stop => break,
            }
        }
        filter.finish();
        kept
    }

    #[test]
    fn boundary_items_load_once_and_new_ones_on_the_boundary_load() {
        let inc = Incremental::new("ts").initial_value(json!(10));
        let state = ResourceState::default();
        let first = [
            json!({"id": 1, "ts": 9}),
            json!({"id": 2, "ts": 10}),
            json!({"id": 3, "ts": 12}),
            json!({"id": 4, "ts": 12}),
        ];
        assert_eq!(run(&inc, &state, &["id"], &first), [2, 3, 4]);
        let again = [
            json!({"id": 3, "ts": 12}),
            json!({"id": 4, "ts": 12}),
            json!({"id": 5, "ts": 12}),
            json!({"id": 6, "ts": 13}),
        ];
        assert_eq!(run(&inc, &state, &["id"], &again), [5, 6]);
        let stored = &state.get("incremental").unwrap_or_default()["ts"];
        assert_eq!(stored["last_value"], json!(13));
        assert_eq!(stored["unique_hashes"].as_array().map(Vec::len), Some(1));
        // without a primary key the whole item identifies it
        let inc = Incremental::new("ts");
        let state = ResourceState::default();
        let rows = [json!({"id": 1, "ts": 5}), json!({"id": 2, "ts": 5})];
        assert_eq!(run(&inc, &state, &[], &rows), [1, 2]);
        let rows = [json!({"id": 1, "ts": 5}), json!({"id": 2, "ts": 5, "x": 1})];
        assert_eq!(run(&inc, &state, &[], &rows), [2]);
    }

    #[test]
    fn ranges_orders_lag_and_missing_cursors() {
        let state = ResourceState::default();
        let items: Vec<Value> = (1..=10).map(|i| json!({"id": i, "ts": i})).collect();
        let asc = Incremental::new("ts")
            .initial_value(json!(3))
            .end_value(json!(6))
            .row_order(RowOrder::Asc);
        assert_eq!(run(&asc, &state, &["id"], &items), [3, 4, 5]);
        assert!(
            state.get("incremental").is_none(),
            "a backfill leaves the state alone"
        );
        let closed_end = asc
            .clone()
            .range_end(Boundary::Closed)
            .range_start(Boundary::Open);
        assert_eq!(run(&closed_end, &state, &["id"], &items), [4, 5, 6]);
        let desc: Vec<Value> = items.iter().rev().cloned().collect();
        let inc = Incremental::new("ts")
            .initial_value(json!(8))
            .row_order(RowOrder::Desc);
        assert_eq!(run(&inc, &state, &["id"], &desc), [10, 9, 8]);
        let min = Incremental::new("ts")
            .initial_value(json!(3))
            .last_value_func(LastValueFunc::Min);
        assert_eq!(
            run(&min, &ResourceState::default(), &["id"], &items),
            [1, 2, 3]
        );
        let lag = Incremental::new("ts").lag(2.0);
        let state = ResourceState::default();
        assert_eq!(run(&lag, &state, &["id"], &items[..5]), [1, 2, 3, 4, 5]);
        assert_eq!(lag.start_value(&state), Some(json!(3)));
        let missing = [
            json!({"id": 1}),
            json!({"id": 2, "ts": null}),
            json!({"id": 3, "ts": 1}),
        ];
        let include = Incremental::new("ts").on_cursor_value_missing(OnCursorValueMissing::Include);
        assert_eq!(
            run(&include, &ResourceState::default(), &[], &missing),
            [1, 2, 3]
        );
        let exclude = Incremental::new("ts").on_cursor_value_missing(OnCursorValueMissing::Exclude);
        assert_eq!(run(&exclude, &ResourceState::default(), &[], &missing), [3]);
        let mut raise = Incremental::new("ts")
            .filter(ResourceState::default(), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let err = raise
            .decide(br#"{"id": 1}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("item 1 has no value at cursor `ts`"), "{err}");
    }

    #[test]
    fn timestamps_compare_as_instants_and_lag_in_seconds() {
        assert_eq!(
            compare(
                &json!("2024-01-01T10:00:00+01:00"),
                &json!("2024-01-01T09:30:00Z")
            )
            .ok(),
            Some(Ordering::Less)
        );
        let inc = Incremental::new("at").lag(3600.0);
        let state = ResourceState::default();
        state.set(
            "incremental",
            json!({"at": {"last_value": "2024-01-01T10:00:00Z"}}),
        );
        assert_eq!(
            inc.start_value(&state),
            Some(json!("2024-01-01T09:00:00+00:00"))
        );
        assert!(compare(&json!(1), &json!("x")).is_err());
    }
}
