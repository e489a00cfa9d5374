//! What an app's answer says about its capacity: throttling (429/503 and `Retry-After`) and
//! advertised quotas (`X-RateLimit-*`, the IETF draft `RateLimit-*` and `RateLimit` headers).
//! Pure: the wall-clock time needed for HTTP dates and epoch resets is a parameter.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::http::retry::retry_after;

/// Capacity signals read from one answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushback {
    /// The app refused the request for load (429 Too Many Requests, 503 Service Unavailable).
    pub throttled: bool,
    /// The pause the app asked for with `Retry-After`.
    pub retry_after: Option<Duration>,
    /// Requests left in the app's current quota window, when advertised.
    pub remaining: Option<u64>,
    /// Time until that quota window resets, when advertised.
    pub reset_in: Option<Duration>,
}

impl Pushback {
    /// True when the app asks for a slower pace: a throttled answer, unless its
    /// `Retry-After` is zero (or a date already past), which says "again at once" and is
    /// no request to slow down. Cutting the rate on such answers would let an app that
    /// refuses a share of requests for reasons unrelated to load (a busy object, a failover)
    /// drag the rate down to its floor.
    pub fn asks_to_slow_down(&self) -> bool {
        self.throttled && self.retry_after != Some(Duration::ZERO)
    }

    /// How long the whole app should pause after this answer, given how many other requests
    /// are already in flight (each will spend one unit of the advertised quota).
    pub fn pause(&self, others_in_flight: u64) -> Option<Duration> {
        let exhausted = matches!(self.remaining, Some(r) if r <= others_in_flight);
        if self.throttled {
            // A throttled answer without Retry-After may still say when the window resets.
            self.retry_after
                .or(if self.remaining.is_none() || exhausted {
                    self.reset_in
                } else {
                    None
                })
        } else if exhausted {
            self.reset_in
        } else {
            None
        }
    }
}

/// Reads the capacity signals of one answer; `now` is the wall-clock time of the answer.
pub fn read_pushback(status: StatusCode, headers: &HeaderMap, now: DateTime<Utc>) -> Pushback {
    let throttled = matches!(status.as_u16(), 429 | 503);
    let (remaining, reset_in) = quota(headers, now);
    Pushback {
        throttled,
        retry_after: if throttled {
            retry_after(headers, now)
        } else {
            None
        },
        remaining,
        reset_in,
    }
}

/// The advertised quota, preferring the standard-track names over the `X-` ones.
fn quota(headers: &HeaderMap, now: DateTime<Utc>) -> (Option<u64>, Option<Duration>) {
    let pairs = [
        ("ratelimit-remaining", "ratelimit-reset"),
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ];
    for (rem_name, reset_name) in pairs {
        let remaining = header_str(headers, rem_name).and_then(min_integer);
        let reset = header_str(headers, reset_name).and_then(|v| reset_value(v, now));
        if remaining.is_some() || reset.is_some() {
            return (remaining, reset);
        }
    }
    header_str(headers, "ratelimit")
        .map(combined)
        .unwrap_or((None, None))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// The smallest integer of a list such as `"5"` or `"5, 100;w=60"` (one per policy): the
/// quota closest to running out is the one that matters.
fn min_integer(raw: &str) -> Option<u64> {
    raw.split(',')
        .filter_map(|item| {
            let head = item.split(';').next().unwrap_or("").trim();
            head.parse::<u64>().ok()
        })
        .min()
}

/// A reset value: delta seconds, or epoch seconds (GitHub style), or epoch milliseconds.
/// Values too large to be a sensible delta are read as a point in time.
fn reset_value(raw: &str, now: DateTime<Utc>) -> Option<Duration> {
    let secs = raw
        .split(',')
        .filter_map(|item| item.split(';').next()?.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        })?;
    const EPOCH_SECONDS_FROM: f64 = 1_000_000_000.0;
    const EPOCH_MILLIS_FROM: f64 = 1_000_000_000_000.0;
    let delta = if secs >= EPOCH_MILLIS_FROM {
        secs / 1000.0 - epoch_secs(now)
    } else if secs >= EPOCH_SECONDS_FROM {
        secs - epoch_secs(now)
    } else {
        secs
    };
    Some(Duration::from_secs_f64(delta.max(0.0)))
}

fn epoch_secs(now: DateTime<Utc>) -> f64 {
    now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0
}

/// The single-header forms: `RateLimit: limit=100, remaining=5, reset=30` (early drafts) and
/// `RateLimit: "default";r=5;t=30` (later drafts, a structured field).
fn combined(raw: &str) -> (Option<u64>, Option<Duration>) {
    let mut remaining: Option<u64> = None;
    let mut reset: Option<Duration> = None;
    for part in raw.split([',', ';']) {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "r" | "remaining" => {
                if let Ok(v) = value.parse::<u64>() {
                    remaining = Some(remaining.map_or(v, |r| r.min(v)));
                }
            }
            "t" | "reset" => {
                if let Ok(v) = value.parse::<u64>() {
                    let d = Duration::from_secs(v);
                    reset = Some(reset.map_or(d, |r| r.max(d)));
                }
            }
            _ => {}
        }
    }
    (remaining, reset)
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

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Pushback {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).expect("header value"));
        }
        read_pushback(StatusCode::from_u16(status).expect("status"), &h, now())
    }

    #[test]
    fn throttled_answers_honour_retry_after_in_both_forms() {
        let p = answer(429, &[("retry-after", "12")]);
        assert!(p.throttled);
        assert_eq!(p.pause(0), Some(Duration::from_secs(12)));
        let p = answer(503, &[("retry-after", "Sun, 22 Nov 2026 08:01:00 GMT")]);
        assert!(p.throttled);
        assert_eq!(p.pause(0), Some(Duration::from_secs(60)));
        // A 429 with nothing to go by: throttled, but no pause of its own.
        let p = answer(429, &[]);
        assert!(p.throttled);
        assert_eq!(p.pause(0), None);
        // Retry-After on a success is not a throttle.
        let p = answer(200, &[("retry-after", "5")]);
        assert!(!p.throttled);
        assert_eq!(p.pause(0), None);
    }

    #[test]
    fn x_ratelimit_reset_as_epoch_seconds_or_delta() {
        let epoch = (now().timestamp() + 90).to_string();
        let p = answer(
            200,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &epoch),
            ],
        );
        assert_eq!(p.remaining, Some(0));
        assert_eq!(p.pause(0), Some(Duration::from_secs(90)));
        let p = answer(
            200,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "7")],
        );
        assert_eq!(p.pause(0), Some(Duration::from_secs(7)));
        // A reset in the past means no wait.
        let p = answer(
            200,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1000000000"),
            ],
        );
        assert_eq!(p.pause(0), Some(Duration::ZERO));
    }

    #[test]
    fn pauses_before_the_quota_runs_out_counting_requests_in_flight() {
        let h = [("ratelimit-remaining", "3"), ("ratelimit-reset", "20")];
        let p = answer(200, &h);
        assert_eq!(p.pause(0), None, "three left, nothing else in flight");
        assert_eq!(p.pause(2), None, "two in flight leave one");
        assert_eq!(
            p.pause(3),
            Some(Duration::from_secs(20)),
            "in flight spend it all"
        );
        let p = answer(200, &[("x-ratelimit-remaining", "4999")]);
        assert_eq!(p.pause(10), None, "no reset known: nothing to wait for");
    }

    #[test]
    fn combined_ratelimit_header_forms() {
        let p = answer(200, &[("ratelimit", "limit=100, remaining=0, reset=30")]);
        assert_eq!(
            (p.remaining, p.reset_in),
            (Some(0), Some(Duration::from_secs(30)))
        );
        let p = answer(200, &[("ratelimit", "\"default\";r=0;t=45")]);
        assert_eq!(p.pause(0), Some(Duration::from_secs(45)));
        // Several policies: the closest to running out wins.
        let p = answer(
            200,
            &[
                ("ratelimit-remaining", "50, 0;w=3600"),
                ("ratelimit-reset", "10, 600"),
            ],
        );
        assert_eq!(p.pause(0), Some(Duration::from_secs(600)));
    }

    #[test]
    fn garbage_headers_are_ignored() {
        let p = answer(
            200,
            &[
                ("x-ratelimit-remaining", "lots"),
                ("x-ratelimit-reset", "-5"),
                ("ratelimit", "nonsense"),
            ],
        );
        assert_eq!(p, Pushback::default());
    }
}
