//! The one place that decides whether an HTTP attempt is retried, and how long to wait.
//! Pure: (status, headers, transport error, replay mode) → decision, tested as a table.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{Replay, RetryPolicy, TransportKind};

/// What one attempt produced.
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    /// The server answered.
    Status {
        /// Response status.
        status: StatusCode,
        /// Response headers.
        headers: &'a HeaderMap,
    },
    /// No (complete) answer.
    Transport(TransportKind),
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The attempt's answer is final and not a failure of the transport (2xx, 3xx, 404...).
    Success,
    /// Try again, after the server's `Retry-After` when it gave one.
    Retry {
        /// Server-requested delay.
        after: Option<Duration>,
    },
    /// Stop: the answer is final (a 4xx, 501) or repeating could duplicate an effect.
    GiveUp(&'static str),
}

/// Classifies one attempt.
pub fn classify(attempt: &Attempt<'_>, replay: Replay) -> Decision {
    let safe = replay == Replay::Safe;
    match *attempt {
        Attempt::Status { status, headers } => {
            let after = retry_after(headers, chrono::Utc::now());
            match status.as_u16() {
                200..=399 => Decision::Success,
                // Throttled: the server did not act on the request.
                429 => Decision::Retry { after },
                // The server gave up waiting for our request: it was not processed.
                408 => Decision::Retry { after },
                501 => Decision::GiveUp("not implemented"),
                503 if safe => Decision::Retry { after },
                500..=599 if safe => Decision::Retry { after },
                500..=599 => Decision::GiveUp("server error on a non-idempotent request"),
                400..=499 => Decision::GiveUp("client error"),
                _ => Decision::GiveUp("unexpected status"),
            }
        }
        Attempt::Transport(kind) => match kind {
            // Never connected: nothing was sent, so even a create may be repeated.
            TransportKind::Connect => Decision::Retry { after: None },
            TransportKind::Timeout | TransportKind::Broken if safe => {
                Decision::Retry { after: None }
            }
            TransportKind::Timeout => Decision::GiveUp("timed out; the server may have acted"),
            TransportKind::Broken => Decision::GiveUp("connection broke; the server may have acted"),
            TransportKind::Dns => Decision::GiveUp("name resolution failed"),
            TransportKind::Tls => Decision::GiveUp("TLS failure"),
        },
    }
}

/// Reads `Retry-After` (delta-seconds or HTTP-date relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let raw = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = raw.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// Delay before the next attempt: the server's `Retry-After` if given (capped), else
/// exponential backoff with full jitter.
pub fn backoff_delay(attempt: u32, after: Option<Duration>, policy: &RetryPolicy) -> Duration {
    if let Some(a) = after {
        return a.min(policy.max_delay);
    }
    let exp = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(policy.max_delay);
    let millis = exp.as_millis() as u64;
    if millis == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::random_range(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn status(code: u16, replay: Replay) -> Decision {
        let h = HeaderMap::new();
        classify(
            &Attempt::Status {
                status: StatusCode::from_u16(code).expect("status"),
                headers: &h,
            },
            replay,
        )
    }

    #[test]
    fn classification_table() {
        use Decision::*;
        let retry = Retry { after: None };
        let table: &[(u16, Replay, bool)] = &[
            (200, Replay::Safe, false),
            (201, Replay::OnlyIfUnprocessed, false),
            (204, Replay::Safe, false),
            (404, Replay::Safe, false),
            (408, Replay::Safe, true),
            (408, Replay::OnlyIfUnprocessed, true),
            (429, Replay::Safe, true),
            (429, Replay::OnlyIfUnprocessed, true),
            (500, Replay::Safe, true),
            (500, Replay::OnlyIfUnprocessed, false),
            (501, Replay::Safe, false),
            (502, Replay::Safe, true),
            (503, Replay::Safe, true),
            (504, Replay::Safe, true),
            (400, Replay::Safe, false),
            (401, Replay::Safe, false),
            (403, Replay::Safe, false),
            (409, Replay::OnlyIfUnprocessed, false),
        ];
        for &(code, replay, retries) in table {
            let d = status(code, replay);
            assert_eq!(d == retry, retries, "status {code} {replay:?} gave {d:?}");
            if (200..400).contains(&code) || code == 404 {
                assert_eq!(d, Success, "status {code}");
            }
        }
        let t = |k, r| classify(&Attempt::Transport(k), r);
        assert_eq!(t(TransportKind::Connect, Replay::OnlyIfUnprocessed), retry);
        assert_eq!(t(TransportKind::Timeout, Replay::Safe), retry);
        assert_eq!(t(TransportKind::Broken, Replay::Safe), retry);
        assert!(matches!(t(TransportKind::Timeout, Replay::OnlyIfUnprocessed), GiveUp(_)));
        assert!(matches!(t(TransportKind::Broken, Replay::OnlyIfUnprocessed), GiveUp(_)));
        assert!(matches!(t(TransportKind::Tls, Replay::Safe), GiveUp(_)));
        assert!(matches!(t(TransportKind::Dns, Replay::Safe), GiveUp(_)));
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 22 Nov 2026 08:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 22 Nov 2026 07:59:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn backoff_is_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        for attempt in 1..20 {
            assert!(backoff_delay(attempt, None, &p) <= Duration::from_secs(2));
        }
        assert_eq!(
            backoff_delay(1, Some(Duration::from_secs(1)), &p),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff_delay(1, Some(Duration::from_secs(60)), &p),
            Duration::from_secs(2)
        );
    }
}
