//! Retries of idempotent-enough calls: 408, 429, 500, 502, 503 and 504 are
//! retried with exponential backoff, honouring `Retry-After` (RFC 9110 §10.2.3).

use super::ClientError;
use reqwest::{RequestBuilder, Response};
use std::sync::Arc;
use std::time::Duration;

/// Statuses worth another try.
pub const RETRIED: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// How to retry.
#[derive(Clone)]
pub struct RetryPolicy {
    /// The first delay (doubles each time).
    pub base: Duration,
    /// The longest delay, also for `Retry-After`.
    pub cap: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Told of every retry: (attempt number from 1, delay).
    pub observer: Option<Arc<dyn Fn(u32, Duration) + Send + Sync>>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            retries: 3,
            observer: None,
        }
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("retries", &self.retries)
            .finish()
    }
}

impl RetryPolicy {
    /// The delay before retry `attempt` (from 1): `Retry-After` when the
    /// server gave one, else `base · 2^(attempt-1)`; at most `cap`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(backoff).min(self.cap)
    }

    /// Sends the request `build` makes, again after a delay while the answer
    /// is one of [`RETRIED`] or the connection fails, at most `retries` more times.
    pub(super) async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ClientError> {
        let mut attempt = 0;
        loop {
            let result = build().send().await;
            let retry_after = match &result {
                Ok(res) if RETRIED.contains(&res.status().as_u16()) => Some(retry_after(res)),
                Ok(_) => None,
                Err(e) if e.is_connect() || e.is_timeout() => Some(None),
                Err(_) => None,
            };
            match (retry_after, attempt < self.retries) {
                (Some(after), true) => {
                    attempt += 1;
                    let delay = self.delay(attempt, after);
                    if let Some(observe) = &self.observer {
                        observe(attempt, delay);
                    }
                    tokio::time::sleep(delay).await;
                }
                _ => {
                    return result.map_err(|e| ClientError::Transport {
                        url: e.url().map(|u| u.to_string()).unwrap_or_default(),
                        message: with_causes(&e),
                    })
                }
            }
        }
    }
}

/// `Retry-After` in seconds (an HTTP date counts from now).
fn retry_after(res: &Response) -> Option<Duration> {
    let value = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.to_utc() - chrono::Utc::now()).to_std().ok()
}

/// An error and its causes, as `error: cause: cause` ("error sending
/// request" alone does not say that the connection was refused).
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=7).map(|a| p.delay(a, None).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))).as_secs(),
            7,
            "Retry-After wins"
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(600))).as_secs(),
            30,
            "but is capped"
        );
    }
}
