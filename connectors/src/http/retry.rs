//! The one place that decides whether an HTTP attempt is retried, and how long to wait.
//! Pure: (status, headers, transport error, replay mode, time) → decision, tested as a table.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
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

/// Classifies one attempt at the current wall-clock time (which only matters for a
/// `Retry-After` given as an HTTP date); see [`classify_at`].
pub fn classify(attempt: &Attempt<'_>, replay: Replay) -> Decision {
    classify_at(attempt, replay, super::wall_clock())
}

/// Classifies one attempt; `now` is the wall-clock time of the answer. Pure.
pub fn classify_at(attempt: &Attempt<'_>, replay: Replay, now: DateTime<Utc>) -> Decision {
    let safe = replay == Replay::Safe;
    match *attempt {
        Attempt::Status { status, headers } => {
            let after = retry_after(headers, now);
            match status.as_u16() {
                200..=399 => Decision::Success,
                // A definite answer the caller acts on (the resource is gone), not a failure.
                404 | 410 => Decision::Success,
                // Throttled: the server did not act on the request.
                429 => Decision::Retry { after },
                // The server gave up waiting for our request: it was not processed.
                408 => Decision::Retry { after },
                // Repeating cannot help: the server lacks the feature (e.g. PATCH).
                501 => Decision::GiveUp("not implemented"),
                500..=599 if safe => Decision::Retry { after },
                500..=599 => Decision::GiveUp("server error on a non-idempotent request"),
                400..=499 => Decision::GiveUp("client error"),
                _ => Decision::GiveUp("unexpected status"),
            }
        }
        Attempt::Transport(kind) => match kind {
            // Never connected, or the name did not resolve: nothing was sent, so even a
            // create may be repeated (resolver hiccups are common and short).
            TransportKind::Connect | TransportKind::Dns => Decision::Retry { after: None },
            TransportKind::Timeout | TransportKind::Broken if safe => {
                Decision::Retry { after: None }
            }
            TransportKind::Timeout => Decision::GiveUp("timed out; the server may have acted"),
            TransportKind::Broken => {
                Decision::GiveUp("connection broke; the server may have acted")
            }
            // Certificates and protocol mismatches do not fix themselves between attempts.
            TransportKind::Tls => Decision::GiveUp("TLS failure"),
        },
    }
}

/// Reads `Retry-After` (delta-seconds or HTTP-date relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
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

/// Delay before the next attempt after attempt number `attempt` (1-based): the server's
/// `Retry-After` if given (capped), else exponential backoff with full jitter — a uniform
/// draw between zero and the capped exponential step, so clients that failed together do
/// not retry together.
pub fn backoff_delay(attempt: u32, after: Option<Duration>, policy: &RetryPolicy) -> Duration {
    if let Some(a) = after {
        return a.min(policy.max_delay);
    }
    let step = backoff_step(attempt, policy);
    let nanos = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::random_range(0..=nanos))
}

/// The capped exponential step before jitter: `base_delay`, doubled per attempt, at most
/// `max_delay`.
pub fn backoff_step(attempt: u32, policy: &RetryPolicy) -> Duration {
    let base = policy.base_delay.min(policy.max_delay);
    let n = attempt.max(1) as usize;
    ExponentialBuilder::default()
        .with_min_delay(base)
        .with_max_delay(policy.max_delay)
        .with_factor(2.0)
        .with_max_times(n)
        .build()
        .nth(n - 1)
        .unwrap_or(policy.max_delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    fn status(code: u16, replay: Replay, headers: &HeaderMap) -> Decision {
        let attempt = Attempt::Status {
            status: StatusCode::from_u16(code).expect("status"),
            headers,
        };
        classify_at(&attempt, replay, now())
    }

    #[test]
    fn classification_table() {
        use Decision::*;
        use Replay::{OnlyIfUnprocessed as Post, Safe};
        #[derive(Debug, PartialEq)]
        enum Want {
            Ok,
            Again,
            Stop,
        }
        let table: &[(u16, Replay, Want)] = &[
            (200, Safe, Want::Ok),
            (201, Post, Want::Ok),
            (204, Safe, Want::Ok),
            (304, Safe, Want::Ok),
            (404, Safe, Want::Ok),
            (410, Safe, Want::Ok),
            // The request was not processed: safe to repeat, even a create.
            (408, Safe, Want::Again),
            (408, Post, Want::Again),
            (429, Safe, Want::Again),
            (429, Post, Want::Again),
            // 5xx retry when repeating is harmless; a create is looked up instead.
            (500, Safe, Want::Again),
            (500, Post, Want::Stop),
            (502, Safe, Want::Again),
            (502, Post, Want::Stop),
            (503, Safe, Want::Again),
            (503, Post, Want::Stop),
            (504, Safe, Want::Again),
            (504, Post, Want::Stop),
            // 501 is permanent: the app lacks the feature.
            (501, Safe, Want::Stop),
            (501, Post, Want::Stop),
            // Other 4xx are permanent for the operation.
            (400, Safe, Want::Stop),
            (401, Safe, Want::Stop),
            (403, Safe, Want::Stop),
            (405, Safe, Want::Stop),
            (409, Post, Want::Stop),
            (412, Safe, Want::Stop),
            (413, Safe, Want::Stop),
            (422, Post, Want::Stop),
        ];
        let none = HeaderMap::new();
        for (code, replay, want) in table {
            let got = match status(*code, *replay, &none) {
                Success => Want::Ok,
                Retry { .. } => Want::Again,
                GiveUp(_) => Want::Stop,
            };
            assert_eq!(&got, want, "status {code} {replay:?}");
        }
        let t = |k, r| classify_at(&Attempt::Transport(k), r, now());
        let retry = Retry { after: None };
        let transport: &[(TransportKind, Replay, bool)] = &[
            // Refused or unresolvable: nothing was sent.
            (TransportKind::Connect, Post, true),
            (TransportKind::Connect, Safe, true),
            (TransportKind::Dns, Post, true),
            // Reset or timed out after sending: only idempotent requests are repeated.
            (TransportKind::Broken, Safe, true),
            (TransportKind::Broken, Post, false),
            (TransportKind::Timeout, Safe, true),
            (TransportKind::Timeout, Post, false),
            // TLS failures do not heal between attempts.
            (TransportKind::Tls, Safe, false),
            (TransportKind::Tls, Post, false),
        ];
        for (kind, replay, retries) in transport {
            let d = t(*kind, *replay);
            assert_eq!(d == retry, *retries, "{kind:?} {replay:?} gave {d:?}");
            if !retries {
                assert!(matches!(d, GiveUp(_)), "{kind:?} {replay:?} gave {d:?}");
            }
        }
    }

    #[test]
    fn throttled_answers_carry_the_servers_delay() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        let want = Decision::Retry {
            after: Some(Duration::from_secs(7)),
        };
        assert_eq!(status(429, Replay::OnlyIfUnprocessed, &h), want);
        assert_eq!(status(503, Replay::Safe, &h), want);
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 22 Nov 2026 08:00:30 GMT"),
        );
        assert_eq!(
            status(429, Replay::Safe, &h),
            Decision::Retry {
                after: Some(Duration::from_secs(30))
            }
        );
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now()), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 22 Nov 2026 08:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now()), Some(Duration::from_secs(30)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 22 Nov 2026 07:59:00 GMT"),
        );
        assert_eq!(retry_after(&h, now()), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now()), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        let steps: Vec<u64> = (1..=7)
            .map(|a| backoff_step(a, &p).as_millis() as u64)
            .collect();
        assert_eq!(steps, [100, 200, 400, 800, 1600, 2000, 2000]);
        for attempt in 1..20 {
            let step = backoff_step(attempt, &p);
            for _ in 0..20 {
                assert!(backoff_delay(attempt, None, &p) <= step);
            }
        }
        // Full jitter spreads retries over the whole step, not just its upper half.
        let draws: Vec<Duration> = (0..200).map(|_| backoff_delay(6, None, &p)).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_millis(500)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(1500)));
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
