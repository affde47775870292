//! [`Secret`]: a credential that never prints, read from the configuration or the environment.

use serde::{Deserialize, Deserializer};

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
            Some(name) => std::env::var(name).map(Secret).map_err(|_| {
                format!("environment variable `{name}` is not set (it holds a secret of the configuration)")
            }),
            None => Ok(Secret(text.to_owned())),
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
        let text = String::deserialize(deserializer)?;
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
}
