//! [`Secret`]: a credential that never prints, read from the configuration or the environment,
//! and [`Secrets`], a run's set of known secret values that it masks in any text shown.

use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Deserializer};

/// Shorter values would mask ordinary words and numbers in messages.
const MIN_REDACTED_LEN: usize = 3;

/// The secret values one run has read (credentials, tokens, passwords), masked in whatever it
/// shows: errors, load info, `trace.json`, logs. Clones share the set.
///
/// A set belongs to a run, not to the process: the configuration registers every secret it
/// reads into its set, a resource brings the secrets of its source ([`crate::Resource::secret`]),
/// and the pipeline masks with the union of those. Two pipelines in one process each mask
/// their own.
#[derive(Clone, Default)]
pub struct Secrets(Arc<RwLock<Vec<String>>>);

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Secrets::default()
    }

    /// Remembers `value` as a secret: [`Secrets::redact`] masks it from now on. Values shorter
    /// than three characters are not masked (they would mask ordinary words and numbers).
    pub fn register(&self, value: &str) {
        if value.len() < MIN_REDACTED_LEN {
            return;
        }
        let mut known = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if !known.iter().any(|k| k == value) {
            known.push(value.to_owned());
            // longest first, so a secret containing another is masked whole
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    /// Registers every secret of `other` here too.
    pub fn extend(&self, other: &Secrets) {
        if Arc::ptr_eq(&self.0, &other.0) {
            return;
        }
        let theirs = other
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for value in &theirs {
            self.register(value);
        }
    }

    /// True when both handles share one set.
    pub fn same(&self, other: &Secrets) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// `text` with every registered secret replaced by `***`: the last guard before anything
    /// reaches a terminal, a log or a file.
    pub fn redact(&self, text: &str) -> String {
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = text.to_owned();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), crate::http::MASK);
            }
        }
        out
    }

    /// `value` as pretty JSON with every registered secret masked in its strings (keys and
    /// values), before escaping: a secret holding `"` or `\` is still found, and a secret that
    /// looks like a number never touches the numbers.
    pub fn redacted_json(&self, value: &impl serde::Serialize) -> String {
        fn walk(secrets: &Secrets, value: &mut serde_json::Value) {
            match value {
                serde_json::Value::String(s) => *s = secrets.redact(s),
                serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(secrets, v)),
                serde_json::Value::Object(map) => {
                    let entries = std::mem::take(map);
                    for (key, mut field) in entries {
                        walk(secrets, &mut field);
                        map.insert(secrets.redact(&key), field);
                    }
                }
                _ => {}
            }
        }
        let mut value = serde_json::to_value(value).unwrap_or_default();
        walk(self, &mut value);
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().unwrap_or_else(PoisonError::into_inner).len();
        write!(f, "Secrets({n} values)")
    }
}

/// A credential. `Debug` and `Display` show `***`; [`Secret::expose`] is the only way to the
/// value. Written as `"${NAME}"` it is read from environment variable `NAME`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
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
        let secrets = Secrets::new();
        secrets.register("q\"uote-1000");
        secrets.register("4242");
        let value = serde_json::json!({"error": "bad q\"uote-1000 here", "rows": 14242});
        let text = secrets.redacted_json(&value);
        assert!(text.contains("\"bad *** here\""), "{text}");
        assert!(text.contains("14242"), "{text}");
    }

    #[test]
    fn redacts_every_secret_read() {
        let secrets = Secrets::new();
        secrets.register("s3cr3t-value");
        secrets.register("s3cr3t"); // a secret inside another is masked whole by the longer one
        secrets.register("ab"); // too short to mask
        assert_eq!(
            secrets.redact("failed with s3cr3t-value and s3cr3t, ab"),
            "failed with *** and ***, ab"
        );
    }

    #[test]
    fn each_set_masks_its_own() {
        let (a, b) = (Secrets::new(), Secrets::new());
        a.register("alpha-secret");
        b.register("beta-secret");
        assert_eq!(a.redact("alpha-secret beta-secret"), "*** beta-secret");
        assert_eq!(b.redact("alpha-secret beta-secret"), "alpha-secret ***");
        let both = a.clone();
        both.extend(&b);
        assert_eq!(a.redact("alpha-secret beta-secret"), "*** ***");
    }
}
