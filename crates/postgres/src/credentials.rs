//! Connection credentials: a connection string (`postgresql://user:pw@host:port/db?...`) or
//! dlt's fields (`database`, `username`, `password`, `host`, `port`, `connect_timeout`).

use std::fmt;
use std::time::Duration;

use url::Url;

/// dlt's default connection timeout (seconds).
const DEFAULT_CONNECT_TIMEOUT: u64 = 15;

/// Where and as whom to connect. `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresCredentials {
    /// Host name or address (`localhost` by default).
    pub host: String,
    /// Port (5432 by default).
    pub port: u16,
    /// User name.
    pub username: String,
    /// Password, if the server asks for one.
    pub password: Option<String>,
    /// Database name.
    pub database: String,
    /// Seconds to wait for the connection.
    pub connect_timeout: u64,
    /// `sslmode`: `disable`, `prefer` (the default) or `require`.
    pub sslmode: SslMode,
}

/// The TLS modes this destination understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise: this build connects without TLS.
    Prefer,
}

/// A connection string or field that cannot be used; the message never holds the password.
#[derive(Debug, thiserror::Error)]
#[error("invalid PostgreSQL credentials: {0}")]
pub struct CredentialsError(pub String);

impl PostgresCredentials {
    /// Credentials with dlt's defaults for everything but the database and user.
    pub fn new(database: impl Into<String>, username: impl Into<String>) -> Self {
        PostgresCredentials {
            host: "localhost".into(),
            port: 5432,
            username: username.into(),
            password: None,
            database: database.into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            sslmode: SslMode::Prefer,
        }
    }

    /// Parses `postgresql://user:password@host:port/database?connect_timeout=15&sslmode=...`
    /// (`postgres://` too). Percent-escapes in the user and password are decoded.
    pub fn parse(text: &str) -> Result<Self, CredentialsError> {
        let url = Url::parse(text).map_err(|e| {
            CredentialsError(format!(
                "`{}` is not a connection string ({e}); write postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
                redact_url_text(text)
            ))
        })?;
        if !matches!(url.scheme(), "postgresql" | "postgres") {
            return Err(CredentialsError(format!(
                "the scheme `{}` is not postgresql:// or postgres://",
                url.scheme()
            )));
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let username = decode(url.username());
        let database = url.path().trim_start_matches('/').to_string();
        if database.is_empty() {
            return Err(CredentialsError(format!(
                "{} names no database: add it as the path, e.g. postgresql://user@host:5432/analytics",
                redact_url_text(text)
            )));
        }
        let mut credentials = PostgresCredentials::new(decode(&database), username);
        credentials.password = url.password().map(decode);
        if let Some(host) = url.host_str().filter(|h| !h.is_empty()) {
            credentials.host = host.trim_start_matches('[').trim_end_matches(']').into();
        }
        if let Some(port) = url.port() {
            credentials.port = port;
        }
        for (key, value) in url.query_pairs() {
            credentials.set_option(&key, &value)?;
        }
        Ok(credentials)
    }

    /// Sets one of the connection string's query options.
    pub fn set_option(&mut self, key: &str, value: &str) -> Result<(), CredentialsError> {
        match key {
            "connect_timeout" => {
                self.connect_timeout = value.parse().map_err(|_| {
                    CredentialsError(format!(
                        "connect_timeout `{value}` is not a number of seconds"
                    ))
                })?;
            }
            "sslmode" => {
                self.sslmode = match value {
                    "disable" | "allow" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    other => {
                        return Err(CredentialsError(format!(
                            "sslmode `{other}` needs TLS, which this build of dltrs does not have yet: use sslmode=disable or prefer on a trusted network"
                        )));
                    }
                }
            }
            "application_name" | "options" => {}
            other => {
                return Err(CredentialsError(format!(
                    "unknown connection option `{other}`: dltrs knows connect_timeout, sslmode, application_name"
                )));
            }
        }
        Ok(())
    }

    /// The driver's configuration.
    pub(crate) fn config(&self) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.username)
            .dbname(&self.database)
            .application_name("dltrs")
            .connect_timeout(Duration::from_secs(self.connect_timeout.max(1)));
        if let Some(password) = &self.password {
            config.password(password);
        }
        config
    }
}

impl fmt::Display for PostgresCredentials {
    /// `postgresql://user@host:port/database`: the password is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "postgresql://")?;
        if !self.username.is_empty() {
            write!(f, "{}", self.username)?;
            if self.password.is_some() {
                write!(f, ":***")?;
            }
            write!(f, "@")?;
        }
        write!(f, "{host}:{}/{}", self.port, self.database)
    }
}

impl fmt::Debug for PostgresCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresCredentials({self})")
    }
}

/// A connection string with its password masked, for messages about a string that did not
/// parse.
fn redact_url_text(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return "the connection string".into();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return text.into();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => text.into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_connection_strings() {
        let c = PostgresCredentials::parse(
            "postgresql://loader:p%40ss%3Aw@db.example.com:6543/analytics?connect_timeout=3&sslmode=disable",
        )
        .unwrap();
        assert_eq!(c.host, "db.example.com");
        assert_eq!(c.port, 6543);
        assert_eq!(c.username, "loader");
        assert_eq!(c.password.as_deref(), Some("p@ss:w"));
        assert_eq!(c.database, "analytics");
        assert_eq!(c.connect_timeout, 3);
        assert_eq!(c.sslmode, SslMode::Disable);
        let c = PostgresCredentials::parse("postgres://root@127.0.0.1/test").unwrap();
        assert_eq!((c.port, c.password), (5432, None));
    }

    #[test]
    fn never_shows_the_password() {
        let c = PostgresCredentials::parse("postgresql://u:hunter2@h:1/d").unwrap();
        assert_eq!(c.to_string(), "postgresql://u:***@h:1/d");
        assert!(!format!("{c:?}").contains("hunter2"));
        for bad in [
            "postgresql://u:hunter2@h:1/",
            "postgresql://u:hunter2@h:notaport/d",
            "mysql://u:hunter2@h/d",
            "postgresql://u:hunter2@h/d?sslmode=verify-full",
            "postgresql://u:hunter2@h/d?bogus=1",
        ] {
            let e = PostgresCredentials::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{bad}: {e}");
        }
    }
}
