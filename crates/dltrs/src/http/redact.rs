//! [`Redactor`]: keeps secrets out of every message a source produces.

use url::Url;

use crate::secret::Secrets;

/// Query parameters whose values are masked in any URL shown, whatever their value.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "password",
    "sig",
    "signature",
];

/// The secrets of a source (tokens, keys, passwords), masked wherever they would show.
///
/// Its secrets are also kept in a shared [`Secrets`] set ([`Redactor::secrets`]) that the
/// source's resources carry to the run that loads them, so the run masks them too, tokens
/// obtained while it goes (OAuth2) included.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    params: Vec<String>,
    shared: Secrets,
}

/// What a secret shows as.
pub const MASK: &str = "***";

impl Redactor {
    /// Masks `secret` (ignored when empty).
    pub fn secret(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            // longest first, so a secret containing another is masked whole
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        self.shared.register(secret);
    }

    /// The shared set of this redactor's secrets (and of those registered in it later).
    pub fn secrets(&self) -> &Secrets {
        &self.shared
    }

    /// Masks the value of query parameter `name` in URLs.
    pub fn param(&mut self, name: &str) {
        self.params.push(name.to_ascii_lowercase());
    }

    /// `text` with every secret masked.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        // secrets learnt while the source runs (tokens)
        self.shared.redact(&out)
    }

    /// `url` with its password, credential-like query values and secrets masked.
    pub fn url(&self, url: &Url) -> String {
        let mut shown = url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some(MASK));
        }
        if shown.query().is_some() {
            let pairs: Vec<(String, String)> = shown
                .query_pairs()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    let secret =
                        SECRET_PARAMS.contains(&lower.as_str()) || self.params.contains(&lower);
                    let v = if secret {
                        MASK.to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        self.text(shown.as_str()).replace("%2A%2A%2A", MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_params_and_passwords() {
        let mut r = Redactor::default();
        r.secret("s3cr3t");
        r.param("X-Key");
        let url = Url::parse("https://u:pw@h/x/s3cr3t?x-key=abc&page=2&access_token=t")
            .unwrap_or_else(|_| unreachable!());
        let shown = r.url(&url);
        assert_eq!(
            shown,
            "https://u:***@h/x/***?x-key=***&page=2&access_token=***"
        );
        assert_eq!(r.text("bad token s3cr3t!"), "bad token ***!");
    }
}
