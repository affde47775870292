//! [`HttpError`]: why a request failed, with the URL as it may be shown.

/// A request that failed; URLs and bodies have their secrets masked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The server refused the request (a 4xx other than 429).
    #[error(
        "{method} {url} answered {status}: {body:?}; check the URL, parameters and credentials"
    )]
    Status {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// Status code and reason.
        status: String,
        /// The first bytes of the response body.
        body: String,
    },
    /// Every attempt failed with a transient error (network, timeout, 429, 5xx).
    #[error("{method} {url} failed after {attempts} attempts: {reason}")]
    GaveUp {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The request could not be sent at all (a malformed header or URL).
    #[error("{method} {url} could not be sent: {reason}")]
    Request {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}
