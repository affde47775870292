//! [`RestClient`]: the HTTP client of one `rest_api` source with its base URL, headers and
//! authentication.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use indexmap::IndexMap;
use serde_json::Value;
use ureq::http::Method;
use url::Url;

use super::config::{ApiKeyLocation, AuthConfig, ClientConfig};
use super::request::RequestSpec;
use crate::http::{HttpClient, HttpConfig, HttpError, HttpRequest, Redactor, RetryPolicy};
use crate::secret::Secret;

/// Largest response body read whole (a page, a token).
pub(crate) const PAGE_LIMIT: u64 = 1 << 30;

/// Pages fetched at once when their number is known, unless configured.
const DEFAULT_CONCURRENCY: usize = 4;

pub(crate) struct RestClient {
    pub http: HttpClient,
    base_url: String,
    headers: IndexMap<String, String>,
    auth: Option<Auth>,
    pub concurrency: usize,
}

enum Auth {
    Header {
        name: String,
        value: Secret,
    },
    Query {
        name: String,
        value: Secret,
    },
    OAuth2 {
        token_url: Url,
        form: Vec<(String, String)>,
        default_expiration: Duration,
        token: Mutex<Option<(Secret, Instant)>>,
    },
}

impl RestClient {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self, String> {
        let mut redactor = Redactor::default();
        let base = Url::parse(&config.base_url)
            .map_err(|e| format!("client.base_url {:?} is not a URL: {e}", config.base_url))?;
        if let Some(password) = base.password() {
            redactor.secret(password);
        }
        let auth = match &config.auth {
            None => None,
            Some(AuthConfig::Bearer { token }) => {
                redactor.secret(token.expose());
                Some(Auth::Header {
                    name: "Authorization".into(),
                    value: Secret::new(format!("Bearer {}", token.expose())),
                })
            }
            Some(AuthConfig::ApiKey {
                name,
                api_key,
                location,
            }) => {
                redactor.secret(api_key.expose());
                Some(match location {
                    ApiKeyLocation::Header => Auth::Header {
                        name: name.clone(),
                        value: api_key.clone(),
                    },
                    ApiKeyLocation::Query => {
                        redactor.param(name);
                        Auth::Query {
                            name: name.clone(),
                            value: api_key.clone(),
                        }
                    }
                    ApiKeyLocation::Cookie => Auth::Header {
                        name: "Cookie".into(),
                        value: Secret::new(format!("{name}={}", api_key.expose())),
                    },
                })
            }
            Some(AuthConfig::HttpBasic { username, password }) => {
                redactor.secret(password.expose());
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose()));
                redactor.secret(&encoded);
                Some(Auth::Header {
                    name: "Authorization".into(),
                    value: Secret::new(format!("Basic {encoded}")),
                })
            }
            Some(AuthConfig::OAuth2ClientCredentials {
                access_token_url,
                client_id,
                client_secret,
                access_token_request_data,
                default_token_expiration,
            }) => {
                redactor.secret(client_id.expose());
                redactor.secret(client_secret.expose());
                let token_url = Url::parse(access_token_url).map_err(|e| {
                    format!("auth.access_token_url {access_token_url:?} is not a URL: {e}")
                })?;
                let mut form = vec![
                    ("client_id".to_owned(), client_id.expose().to_owned()),
                    (
                        "client_secret".to_owned(),
                        client_secret.expose().to_owned(),
                    ),
                    ("grant_type".to_owned(), "client_credentials".to_owned()),
                ];
                for (key, value) in access_token_request_data {
                    let value = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    form.retain(|(k, _)| k != key);
                    form.push((key.clone(), value));
                }
                Some(Auth::OAuth2 {
                    token_url,
                    form,
                    default_expiration: Duration::from_secs(*default_token_expiration),
                    token: Mutex::new(None),
                })
            }
        };
        let defaults = RetryPolicy::default();
        let seconds = |v: Option<f64>, name: &str, default: Duration| match v {
            None => Ok(default),
            Some(s) => Duration::try_from_secs_f64(s)
                .map_err(|_| format!("client.{name} must be a number of seconds, not {s}")),
        };
        let http = HttpConfig {
            timeout: seconds(config.timeout, "timeout", Duration::from_secs(60))?,
            retry: RetryPolicy {
                max_attempts: config.max_attempts.unwrap_or(defaults.max_attempts).max(1),
                backoff_factor: seconds(
                    config.backoff_factor,
                    "backoff_factor",
                    defaults.backoff_factor,
                )?,
                max_delay: seconds(
                    config.max_retry_delay,
                    "max_retry_delay",
                    defaults.max_delay,
                )?,
            },
            requests_per_second: config.rate_limit,
        };
        // header values may be secrets too (`X-Api-Token = "${TOKEN}"`)
        let mut headers = IndexMap::new();
        for (name, value) in &config.headers {
            let value = match crate::secret::env_reference(value) {
                Some(_) => {
                    let secret = Secret::resolve(value)
                        .map_err(|e| format!("client.headers.{name}: {e}"))?;
                    redactor.secret(secret.expose());
                    secret.expose().to_owned()
                }
                None => value.clone(),
            };
            headers.insert(name.clone(), value);
        }
        let mut base_url = config.base_url.clone();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Ok(RestClient {
            http: HttpClient::new(http, redactor),
            base_url,
            headers,
            auth,
            concurrency: config.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1),
        })
    }

    /// `path` against the base URL, as dlt's `join_url`: a full URL stays as it is.
    /// The client's secrets (credentials, and tokens it obtains), shared.
    pub(crate) fn secrets(&self) -> &crate::secret::Secrets {
        self.http.redactor().secrets()
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url, String> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return Url::parse(path).map_err(|e| format!("{path:?} is not a URL: {e}"));
        }
        let base = Url::parse(&self.base_url).map_err(|e| e.to_string())?;
        let relative = path.trim_start_matches('/');
        // `users:search` would read as a URL scheme; dlt joins paths as text
        let relative = if relative
            .split('/')
            .next()
            .is_some_and(|seg| seg.contains(':'))
        {
            format!("./{relative}")
        } else {
            relative.to_owned()
        };
        base.join(&relative)
            .map_err(|e| format!("path {path:?} does not join base_url: {e}"))
    }

    /// A request to `url` with the client's headers under `headers`.
    pub(crate) fn request(
        &self,
        method: Method,
        url: Url,
        headers: &IndexMap<String, String>,
    ) -> RequestSpec {
        let mut all = self.headers.clone();
        all.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        RequestSpec {
            method,
            url,
            params: IndexMap::new(),
            headers: all,
            json: None,
        }
    }

    /// The request to send, authenticated.
    pub(crate) fn prepare(&self, spec: &RequestSpec) -> Result<HttpRequest, HttpError> {
        let mut request = spec.to_http();
        match &self.auth {
            None => {}
            Some(Auth::Header { name, value }) => {
                request
                    .headers
                    .push((name.clone(), value.expose().to_owned()));
            }
            Some(Auth::Query { name, value }) => {
                request
                    .url
                    .query_pairs_mut()
                    .append_pair(name, value.expose());
            }
            Some(Auth::OAuth2 { .. }) => {
                let token = self.oauth2_token()?;
                request
                    .headers
                    .push(("Authorization".into(), format!("Bearer {}", token.expose())));
            }
        }
        Ok(request)
    }

    fn oauth2_token(&self) -> Result<Secret, HttpError> {
        let Some(Auth::OAuth2 {
            token_url,
            form,
            default_expiration,
            token,
        }) = &self.auth
        else {
            return Ok(Secret::new(""));
        };
        let mut cached = token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, expiry)) = cached.as_ref()
            && Instant::now() < *expiry
        {
            return Ok(token.clone());
        }
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let request = HttpRequest {
            method: Method::POST,
            url: token_url.clone(),
            headers: Vec::new(),
            body: Some((
                body.finish().into_bytes(),
                "application/x-www-form-urlencoded",
            )),
        };
        let (_, bytes) = self.http.fetch(&request, PAGE_LIMIT)?;
        let refused = |reason: String| HttpError::Request {
            method: "POST".into(),
            url: self.http.show_url(token_url),
            reason,
        };
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| refused(format!("the token response is not JSON: {e}")))?;
        let access = match json.get("access_token") {
            Some(Value::String(s)) if !s.is_empty() => {
                // masked by the run too, wherever the token would show
                self.http.redactor().secrets().register(s);
                Secret::new(s.clone())
            }
            _ => return Err(refused("the token response has no `access_token`".into())),
        };
        let lifetime = json
            .get("expires_in")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .map_or(*default_expiration, Duration::from_secs);
        // a lifetime too long to represent is as good as forever
        let expiry = Instant::now()
            .checked_add(lifetime)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        *cached = Some((access.clone(), expiry));
        Ok(access)
    }
}
