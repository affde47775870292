//! [`Secret`]: a credential that never prints, read from the configuration or the environment,
//! and the process's list of known secret values that [`redact`] masks in any text shown.

use std::sync::Mutex;

use serde::{Deserialize, Deserializer};

/// Every secret value this process has read, longest first (so a secret containing another is
/// masked whole).
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Shorter values would mask ordinary words and numbers in messages.
const MIN_REDACTED_LEN: usize = 3;

/// Remembers `value` as a secret: [`redact`] masks it from now on.
pub fn register(value: &str) {
    if value.len() < MIN_REDACTED_LEN {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `value` as pretty JSON with every registered secret masked in its strings (keys and
/// values), before escaping: a secret holding `"` or `\` is still found, and a secret that
/// looks like a number never touches the numbers.
pub fn redacted_json(value: &impl serde::Serialize) -> String {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = redact(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut field) in entries {
                    walk(&mut field);
                    map.insert(redact(&key), field);
                }
            }
            _ => {}
        }
    }
    let mut value = serde_json::to_value(value).unwrap_or_default();
    walk(&mut value);
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// `text` with every registered secret replaced by `***`: the last guard before anything
/// reaches a terminal, a log or a file.
pub fn redact(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_owned();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), crate::http::MASK);
        }
    }
    out
}

/// A credential. `Debug` and `Display` show `***`; [`Secret::expose`] is the only way to the
/// value. Written as `"${NAME}"` it is read from environment variable `NAME`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// Resolves `${NAME}` from the environment; any other text is the secret itself.
    pub fn resolve(text: &str) -> Result<Self, String> {
        match env_reference(text) {
            Some(name) => std::env::var(name).map(Secret::new).map_err(|_| {
                format!("environment variable `{name}` is not set (it holds a secret of the configuration)")
            }),
            None => Ok(Secret::new(text)),
        }
    }

    /// The value, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `NAME` of a `${NAME}` reference.
pub(crate) fn env_reference(text: &str) -> Option<&str> {
    text.strip_prefix("${")?
        .strip_suffix('}')
        .filter(|name| !name.is_empty())
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Text, or a number (a numeric key from an environment variable), as text.
        struct SecretText;
        impl serde::de::Visitor<'_> for SecretText {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a secret (text)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        let text = deserializer.deserialize_any(SecretText)?;
        Secret::resolve(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_and_reads_the_environment() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(
            Secret::resolve("plain").map(|s| s.0),
            Ok("plain".to_owned())
        );
        let home = std::env::var("PATH").unwrap_or_default();
        assert_eq!(Secret::resolve("${PATH}").map(|s| s.0), Ok(home));
        let missing = Secret::resolve("${DLTRS_SURELY_UNSET_VAR}")
            .err()
            .unwrap_or_default();
        assert!(missing.contains("DLTRS_SURELY_UNSET_VAR"), "{missing}");
    }

    #[test]
    fn redacts_json_strings_before_escaping_and_leaves_numbers() {
        register("q\"uote-1000");
        register("4242");
        let value = serde_json::json!({"error": "bad q\"uote-1000 here", "rows": 14242});
        let text = redacted_json(&value);
        assert!(text.contains("\"bad *** here\""), "{text}");
        assert!(text.contains("14242"), "{text}");
    }

    #[test]
    fn redacts_every_secret_read() {
        let _ = Secret::new("s3cr3t-value");
        register("s3cr3t"); // a secret inside another is masked whole by the longer one
        register("ab"); // too short to mask
        assert_eq!(
            redact("failed with s3cr3t-value and s3cr3t, ab"),
            "failed with *** and ***, ab"
        );
    }
}
