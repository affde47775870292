//! [`HttpClient`]: the one HTTP client of every source: timeouts, retries with backoff and
//! `Retry-After`, a per-host rate limit and errors that never show a secret.

mod error;
mod rate_limit;
mod redact;
mod retry;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{self, HeaderName, HeaderValue, Method};
use url::Url;

pub use error::HttpError;
pub use redact::{MASK, Redactor};
pub use retry::RetryPolicy;

use rate_limit::RateLimiter;
use retry::{Attempt, retry_after};

/// How a client behaves on the wire. The defaults are dlt's (`[runtime]` `request_timeout`,
/// `request_max_attempts`, `request_backoff_factor`, `request_max_retry_delay`).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time allowed for one request, from connect to the end of the response headers and
    /// between reads of the body.
    pub timeout: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// At most this many requests per second to one host (`None`: no limit).
    pub requests_per_second: Option<f64>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            requests_per_second: None,
        }
    }
}

/// One request, kept whole so it can be sent again on retry.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The URL, query included.
    pub url: Url,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, with its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
}

impl HttpRequest {
    /// A GET of `url`.
    pub fn get(url: Url) -> Self {
        HttpRequest {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// A response whose status was a success, body not yet read.
pub type HttpResponse = http::Response<ureq::Body>;

/// A cloneable, thread-safe client: clones share connections, the rate limit and the
/// secrets to redact.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    config: Arc<HttpConfig>,
    limiter: Arc<RateLimiter>,
    redactor: Arc<Redactor>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Bytes of an error response's body shown in the error.
const BODY_EXCERPT: usize = 512;

impl HttpClient {
    /// A client with `config` that redacts `redactor`'s secrets from every error.
    pub fn new(config: HttpConfig, redactor: Redactor) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            // statuses are ours to judge: 429 and 5xx are retried, other 4xx explained
            .http_status_as_error(false)
            .timeout_connect(Some(config.timeout))
            .timeout_recv_response(Some(config.timeout))
            .timeout_per_read(Some(config.timeout))
            .user_agent(concat!("dltrs/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        HttpClient {
            agent,
            limiter: Arc::new(RateLimiter::new(config.requests_per_second)),
            config: Arc::new(config),
            redactor: Arc::new(redactor),
        }
    }

    /// The secrets this client hides.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// `url` as it may be shown: secrets and credential-like query values masked.
    pub fn show_url(&self, url: &Url) -> String {
        self.redactor.url(url)
    }

    /// Sends `request`, retrying connection errors, timeouts, 429 and 5xx, and returns the
    /// response of the first success (2xx or 3xx) with its body unread.
    pub fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.send_counted(request, &mut Attempt::new(&self.config.retry))
    }

    fn send_counted(
        &self,
        request: &HttpRequest,
        attempt: &mut Attempt<'_>,
    ) -> Result<HttpResponse, HttpError> {
        loop {
            let sent = self.send_once(request);
            tracing::debug!(
                method = %request.method,
                url = %self.show_url(&request.url),
                status = sent.as_ref().map(|r| r.status().as_u16()).unwrap_or(0),
                "http request"
            );
            let wait = match sent {
                Ok(response) if response.status().as_u16() < 400 => return Ok(response),
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if status == 429 || status >= 500 {
                        let server_wait = retry_after(response.headers());
                        let reason = format!("answered {}", status_text(response.status()));
                        match attempt.next_delay(server_wait) {
                            Some(delay) => delay,
                            None => return Err(self.gave_up(request, attempt, reason)),
                        }
                    } else {
                        return Err(self.status_error(request, &mut response));
                    }
                }
                Err(e) if transient(&e) => match attempt.next_delay(None) {
                    Some(delay) => delay,
                    None => return Err(self.gave_up(request, attempt, e.to_string())),
                },
                Err(e) => {
                    return Err(HttpError::Request {
                        method: request.method.to_string(),
                        url: self.show_url(&request.url),
                        reason: self.redactor.text(&e.to_string()),
                    });
                }
            };
            tracing::info!(
                method = %request.method,
                url = %self.show_url(&request.url),
                wait_secs = wait.as_secs_f64(),
                "retrying"
            );
            std::thread::sleep(wait);
        }
    }

    /// Sends `request` and reads the whole body (at most `limit` bytes). A body cut off
    /// mid-way is retried like a failed connection, as the request can simply be sent again;
    /// one count of attempts covers both.
    pub fn fetch(
        &self,
        request: &HttpRequest,
        limit: u64,
    ) -> Result<(http::response::Parts, Vec<u8>), HttpError> {
        let mut attempt = Attempt::new(&self.config.retry);
        loop {
            let response = self.send_counted(request, &mut attempt)?;
            let (parts, body) = response.into_parts();
            let mut bytes = Vec::new();
            let read = body
                .into_with_config()
                .limit(limit)
                .reader()
                .read_to_end(&mut bytes);
            match read {
                Ok(_) => return Ok((parts, bytes)),
                Err(_) if bytes.len() as u64 >= limit => {
                    return Err(HttpError::Request {
                        method: request.method.to_string(),
                        url: self.show_url(&request.url),
                        reason: format!("the response is larger than {limit} bytes"),
                    });
                }
                Err(e) => {
                    let reason = format!("the body broke off after {} bytes: {e}", bytes.len());
                    match attempt.next_delay(None) {
                        Some(delay) => std::thread::sleep(delay),
                        None => return Err(self.gave_up(request, &attempt, reason)),
                    }
                }
            }
        }
    }

    fn send_once(&self, request: &HttpRequest) -> Result<HttpResponse, ureq::Error> {
        if let Some(host) = request.url.host_str() {
            self.limiter.acquire(host);
        }
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            let name = HeaderName::try_from(name.as_str()).map_err(http::Error::from)?;
            let value = HeaderValue::try_from(value.as_str()).map_err(http::Error::from)?;
            builder = builder.header(name, value);
        }
        match &request.body {
            Some((body, content_type)) => {
                let req = builder
                    .header(http::header::CONTENT_TYPE, *content_type)
                    .body(body.clone())?;
                self.agent.run(req)
            }
            None => self.agent.run(builder.body(())?),
        }
    }

    fn status_error(&self, request: &HttpRequest, response: &mut HttpResponse) -> HttpError {
        let mut excerpt = Vec::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(BODY_EXCERPT as u64)
            .read_to_end(&mut excerpt);
        HttpError::Status {
            method: request.method.to_string(),
            url: self.show_url(&request.url),
            status: status_text(response.status()),
            body: self.redactor.text(String::from_utf8_lossy(&excerpt).trim()),
        }
    }

    fn gave_up(&self, request: &HttpRequest, attempt: &Attempt, reason: String) -> HttpError {
        HttpError::GaveUp {
            method: request.method.to_string(),
            url: self.show_url(&request.url),
            attempts: attempt.made(),
            reason: self.redactor.text(&reason),
        }
    }
}

fn status_text(status: http::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Errors worth another attempt: the network, not the request.
fn transient(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}
