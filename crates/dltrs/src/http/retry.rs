//! Exponential backoff with jitter, and the server's `Retry-After`.

use std::time::{Duration, SystemTime};

use ureq::http::HeaderMap;

/// When and how often a failed request is sent again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (dlt's `request_max_attempts`, 5).
    pub max_attempts: u32,
    /// The first backoff; each next one doubles (dlt's `request_backoff_factor`, 1 s).
    pub backoff_factor: Duration,
    /// No wait is longer than this, `Retry-After` included (dlt's `request_max_retry_delay`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff_factor: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

/// The attempts made at one request.
pub(super) struct Attempt<'a> {
    policy: &'a RetryPolicy,
    made: u32,
}

impl<'a> Attempt<'a> {
    pub(super) fn new(policy: &'a RetryPolicy) -> Self {
        Attempt { policy, made: 1 }
    }

    pub(super) fn made(&self) -> u32 {
        self.made
    }

    /// The wait before the next attempt, or `None` when none is left. The server's wait
    /// wins when it gives one; otherwise `factor * 2^n`, jittered to 50-150% so that clients
    /// failing together do not retry together.
    pub(super) fn next_delay(&mut self, server_wait: Option<Duration>) -> Option<Duration> {
        if self.made >= self.policy.max_attempts {
            return None;
        }
        let exponent = (self.made - 1).min(20);
        self.made += 1;
        let delay = match server_wait {
            Some(wait) => wait,
            None => {
                let base = self.policy.backoff_factor.as_secs_f64() * f64::from(1u32 << exponent);
                // a huge factor from the configuration waits the longest allowed, never panics
                Duration::try_from_secs_f64(base * (0.5 + rand::random::<f64>()))
                    .unwrap_or(self.policy.max_delay)
            }
        };
        Some(delay.min(self.policy.max_delay))
    }
}

/// The wait a `Retry-After` header asks for: seconds, or an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops() {
        let policy = RetryPolicy {
            max_attempts: 4,
            backoff_factor: Duration::from_millis(100),
            max_delay: Duration::from_secs(60),
        };
        let mut attempt = Attempt::new(&policy);
        for base in [100.0, 200.0, 400.0] {
            let ms = attempt.next_delay(None).map(|d| d.as_secs_f64() * 1000.0);
            let ms = ms.unwrap_or(-1.0);
            assert!(
                ms >= base * 0.5 && ms <= base * 1.5,
                "{ms} not around {base}"
            );
        }
        assert_eq!(attempt.next_delay(None), None);
        assert_eq!(attempt.made(), 4);
    }

    #[test]
    fn server_wait_wins_but_is_capped() {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let mut attempt = Attempt::new(&policy);
        assert_eq!(
            attempt.next_delay(Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            attempt.next_delay(Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn retry_after_in_seconds_and_as_date() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            "7".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        let date = httpdate::fmt_http_date(later);
        headers.insert(
            "retry-after",
            date.parse().unwrap_or_else(|_| unreachable!()),
        );
        let wait = retry_after(&headers).unwrap_or_default();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(
            "retry-after",
            "soon".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
