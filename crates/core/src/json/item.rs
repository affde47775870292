//! [`Item`]: one JSON document as the normalizer reads it.

use std::borrow::Cow;

/// A JSON value that borrows from its input where it can.
///
/// Objects keep their keys in input order (dlt's column order is the order keys arrive in), and
/// integers beyond 64 bits keep their exact digits instead of being rounded or rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer outside the `i64` range, as its decimal digits (with a leading `-` if negative).
    BigInt(Cow<'a, str>),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Array(Vec<Item<'a>>),
    /// An object, keys in input order; a repeated key keeps every occurrence.
    Object(Vec<(Cow<'a, str>, Item<'a>)>),
    /// A point in time from a typed source (Parquet): microseconds since the epoch, UTC.
    Timestamp(i64),
    /// A calendar date from a typed source: days since the epoch.
    Date(i32),
    /// A time of day from a typed source: microseconds since midnight.
    Time(i64),
    /// A decimal from a typed source: the unscaled value and its scale.
    Decimal(i128, i8),
    /// Bytes from a typed source.
    Binary(Cow<'a, [u8]>),
}

impl<'a> Item<'a> {
    /// Borrows a `serde_json::Value` as an item. Keys keep the value's map order, so build
    /// values with serde_json's `preserve_order` feature (on in this workspace).
    pub fn from_value(value: &'a serde_json::Value) -> Item<'a> {
        use serde_json::Value;
        match value {
            Value::Null => Item::Null,
            Value::Bool(b) => Item::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Item::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Item::BigInt(Cow::Owned(u.to_string()))
                } else {
                    Item::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Item::Str(Cow::Borrowed(s)),
            Value::Array(items) => Item::Array(items.iter().map(Item::from_value).collect()),
            Value::Object(map) => Item::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Item::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// Copies the item into one that owns all its strings.
    pub fn into_owned(self) -> Item<'static> {
        match self {
            Item::Null => Item::Null,
            Item::Bool(b) => Item::Bool(b),
            Item::Int(i) => Item::Int(i),
            Item::BigInt(s) => Item::BigInt(Cow::Owned(s.into_owned())),
            Item::Float(f) => Item::Float(f),
            Item::Str(s) => Item::Str(Cow::Owned(s.into_owned())),
            Item::Array(items) => Item::Array(items.into_iter().map(Item::into_owned).collect()),
            Item::Object(fields) => Item::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            ),
            Item::Timestamp(t) => Item::Timestamp(t),
            Item::Date(d) => Item::Date(d),
            Item::Time(t) => Item::Time(t),
            Item::Decimal(v, s) => Item::Decimal(v, s),
            Item::Binary(b) => Item::Binary(Cow::Owned(b.into_owned())),
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Item::Null)
    }
}
