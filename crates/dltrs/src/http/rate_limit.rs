//! A per-host request rate limit shared by every clone of a client and every thread.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Spaces requests to one host at least `1 / rate` seconds apart.
pub(super) struct RateLimiter {
    interval: Option<Duration>,
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    pub(super) fn new(requests_per_second: Option<f64>) -> Self {
        RateLimiter {
            interval: requests_per_second
                .filter(|rate| *rate > 0.0 && rate.is_finite())
                .and_then(|rate| Duration::try_from_secs_f64(1.0 / rate).ok()),
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// Blocks until a request to `host` may go.
    pub(super) fn acquire(&self, host: &str) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut slots = self
                .next_slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let slot = slots.get(host).copied().filter(|s| *s > now).unwrap_or(now);
            slots.insert(host.to_owned(), slot + interval);
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_requests_per_host() {
        let limiter = RateLimiter::new(Some(50.0));
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire("a");
        }
        // six requests at 50/s: the sixth waits five intervals of 20 ms
        assert!(
            start.elapsed() >= Duration::from_millis(95),
            "{:?}",
            start.elapsed()
        );
        let other = Instant::now();
        limiter.acquire("b");
        assert!(other.elapsed() < Duration::from_millis(15));
    }

    #[test]
    fn no_rate_no_wait() {
        let limiter = RateLimiter::new(None);
        let start = Instant::now();
        for _ in 0..1000 {
            limiter.acquire("a");
        }
        assert!(start.elapsed() < Duration::from_millis(50));
    }
}
