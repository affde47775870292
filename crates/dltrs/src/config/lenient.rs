//! Reading typed settings from merged configuration values. Environment variables are text, so
//! a number or a boolean may arrive as a string: like dlt, the type asked for decides (`"30"`
//! reads as `30` for a number and as `"30"` for a string).

use serde::de::value::{Error, MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};

/// `T` from a merged configuration value. The error names the path to the bad field
/// (`sources.api.client.timeout: invalid type ...`).
pub fn from_value<T: DeserializeOwned>(value: toml::Value) -> Result<T, PathError> {
    serde_path_to_error::deserialize(Lenient(value)).map_err(|e| PathError {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// A configuration value that does not fit its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// Where: `sources.api.client.auth` (`.` for the top).
    pub path: String,
    /// What serde said.
    pub message: String,
}

impl PathError {
    /// The field a "missing field" error is about, with its path: `sources.api.client.auth.token`.
    pub fn missing_field(&self) -> Option<String> {
        let field = self
            .message
            .strip_prefix("missing field `")?
            .split('`')
            .next()?;
        Some(if self.path == "." || self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        })
    }
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

struct Lenient(toml::Value);

impl<'de> IntoDeserializer<'de, Error> for Lenient {
    type Deserializer = Lenient;
    fn into_deserializer(self) -> Lenient {
        self
    }
}

fn table<'de>(
    t: toml::Table,
) -> MapDeserializer<'de, impl Iterator<Item = (String, Lenient)>, Error> {
    MapDeserializer::new(t.into_iter().map(|(k, v)| (k, Lenient(v))))
}

macro_rules! parse_text {
    ($de:lifetime; $($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<$de>>(self, visitor: V) -> Result<V::Value, Error> {
            if let toml::Value::String(text) = &self.0
                && let Ok(parsed) = text.trim().parse::<$ty>()
            {
                return visitor.$visit(parsed);
            }
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Lenient {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => visitor.visit_string(s),
            toml::Value::Integer(i) => visitor.visit_i64(i),
            toml::Value::Float(f) => visitor.visit_f64(f),
            toml::Value::Boolean(b) => visitor.visit_bool(b),
            toml::Value::Datetime(d) => visitor.visit_string(d.to_string()),
            toml::Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Lenient));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            toml::Value::Table(t) => {
                let mut map = table(t);
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    parse_text! {
        'de;
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let toml::Value::String(text) = &self.0 {
            match text.trim().to_ascii_lowercase().as_str() {
                "true" => return visitor.visit_bool(true),
                "false" => return visitor.visit_bool(false),
                _ => {}
            }
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::Integer(i) => visitor.visit_string(i.to_string()),
            toml::Value::Float(f) => visitor.visit_string(f.to_string()),
            toml::Value::Boolean(b) => visitor.visit_string(b.to_string()),
            other => Lenient(other).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            toml::Value::Table(t) => visitor.visit_enum(MapAccessDeserializer::new(table(t))),
            other => Lenient(other).deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Client {
        base_url: String,
        timeout: Option<u32>,
        verbose: bool,
        token: String,
        ratio: f64,
        kind: Kind,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Bearer,
    }

    fn value(text: &str) -> toml::Value {
        toml::Value::Table(toml::from_str(text).unwrap_or_default())
    }

    #[test]
    fn text_reads_as_the_type_asked_for() {
        let client: Result<Client, _> = from_value(value(
            r#"base_url = "http://x"
timeout = "30"
verbose = "TRUE"
token = 12345
ratio = "0.5"
kind = "bearer""#,
        ));
        assert_eq!(
            client,
            Ok(Client {
                base_url: "http://x".into(),
                timeout: Some(30),
                verbose: true,
                token: "12345".into(),
                ratio: 0.5,
                kind: Kind::Bearer,
            })
        );
    }

    #[test]
    fn errors_name_the_path_and_the_missing_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            client: Client,
        }
        let err = from_value::<Outer>(value("[client]\nbase_url = \"x\"\ntimeout = \"soon\""))
            .err()
            .unwrap_or_else(|| PathError {
                path: String::new(),
                message: String::new(),
            });
        assert_eq!(err.path, "client.timeout", "{err}");
        let err = from_value::<Outer>(value("[client]\nbase_url = \"x\""))
            .err()
            .and_then(|e| e.missing_field());
        assert_eq!(err.as_deref(), Some("client.verbose"));
        let unknown = from_value::<Outer>(value("[client]\nbase_urll = \"x\""))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(unknown.contains("unknown field `base_urll`"), "{unknown}");
    }
}
