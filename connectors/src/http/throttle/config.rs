//! The `rate_limit` config key of an app, its validation, and the governor quotas (one per
//! window) that enforce it; also the tuning knobs of adaptive back-pressure.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use serde::Deserialize;

/// The `rate_limit` key of an app: request starts allowed per window.
///
/// Several windows may be given together (`{ per_second = 10, per_hour = 1000 }`); all of
/// them hold at once. Each window is a guarantee: no span of that length ever sees more
/// request starts than its count, so a server that counts in fixed windows never answers 429
/// to a client configured at its published limit. `burst` is how many requests may start at
/// once after a quiet period; the rest of the window's count is spread evenly over it.
/// Without `burst`, requests are spaced evenly (burst 1). Retries count like first attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed in any one second.
    #[serde(default)]
    pub per_second: Option<u32>,
    /// Requests allowed in any one minute.
    #[serde(default)]
    pub per_minute: Option<u32>,
    /// Requests allowed in any one hour.
    #[serde(default)]
    pub per_hour: Option<u32>,
    /// Requests that may start at once after a quiet period (default 1: evenly spaced).
    /// Must not exceed the count of any configured window.
    #[serde(default)]
    pub burst: Option<u32>,
}

/// Why a `rate_limit` (or the concurrency that goes with it) is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// No window was given.
    #[error("rate_limit needs at least one of per_second, per_minute, per_hour")]
    NoWindow,
    /// A window's count is zero, which would block every request forever.
    #[error("rate_limit.{window} must be at least 1")]
    ZeroCount {
        /// The key of the window (`per_second`, ...).
        window: &'static str,
    },
    /// `burst` is zero.
    #[error("rate_limit.burst must be at least 1")]
    ZeroBurst,
    /// `burst` is larger than a window's whole count.
    #[error("rate_limit.burst ({burst}) exceeds rate_limit.{window} ({count})")]
    BurstTooLarge {
        /// The burst given.
        burst: u32,
        /// The window it exceeds.
        window: &'static str,
        /// That window's count.
        count: u32,
    },
    /// `concurrency` is zero, which would never admit a request.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
}

impl From<RateLimitError> for String {
    fn from(e: RateLimitError) -> String {
        e.to_string()
    }
}

/// One configured window, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    /// The config key, for messages.
    pub name: &'static str,
    /// The governor quota that enforces it.
    pub quota: Quota,
    /// The sustained rate it allows, requests per second.
    pub sustained_per_sec: f64,
    /// Starts allowed in any one `span`.
    pub count: u32,
    /// The window's length.
    pub span: Duration,
}

impl RateLimit {
    /// A limit of `n` requests per second, evenly spaced.
    pub fn per_second(n: u32) -> Self {
        RateLimit {
            per_second: Some(n),
            ..RateLimit::default()
        }
    }

    /// A limit of `n` requests per minute, evenly spaced.
    pub fn per_minute(n: u32) -> Self {
        RateLimit {
            per_minute: Some(n),
            ..RateLimit::default()
        }
    }

    /// A limit of `n` requests per hour, evenly spaced.
    pub fn per_hour(n: u32) -> Self {
        RateLimit {
            per_hour: Some(n),
            ..RateLimit::default()
        }
    }

    /// The same limit with a burst allowance.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Checks that the limit can be enforced; the config loader calls this.
    pub fn validate(&self) -> Result<(), RateLimitError> {
        self.windows().map(|_| ())
    }

    /// The long-run rate this limit allows, requests per second (the tightest window's).
    pub fn sustained_per_sec(&self) -> Result<f64, RateLimitError> {
        let windows = self.windows()?;
        Ok(windows
            .iter()
            .map(|w| w.sustained_per_sec)
            .fold(f64::INFINITY, f64::min))
    }

    /// Resolves the windows into governor quotas.
    pub(crate) fn windows(&self) -> Result<Vec<Window>, RateLimitError> {
        let given = [
            ("per_second", self.per_second, Duration::from_secs(1)),
            ("per_minute", self.per_minute, Duration::from_secs(60)),
            ("per_hour", self.per_hour, Duration::from_secs(3600)),
        ];
        let burst = match self.burst {
            Some(0) => return Err(RateLimitError::ZeroBurst),
            Some(b) => b,
            None => 1,
        };
        let mut out = Vec::new();
        for (name, count, span) in given {
            let Some(count) = count else { continue };
            if count == 0 {
                return Err(RateLimitError::ZeroCount { window: name });
            }
            if burst > count {
                return Err(RateLimitError::BurstTooLarge {
                    burst,
                    window: name,
                    count,
                });
            }
            out.push(window(name, count, burst, span));
        }
        if out.is_empty() {
            return Err(RateLimitError::NoWindow);
        }
        Ok(out)
    }
}

/// A window of `count` starts per `span` with `burst` at once: after the burst, the other
/// `count - burst` starts are spread so that no span holds more than `count`. A GCRA with
/// burst b and period p admits at most b + ceil(L/p) - 1 cells in a half-open span L, so
/// p = span / (count - burst + 1), rounded up to the nanosecond so rounding never adds a cell.
fn window(name: &'static str, count: u32, burst: u32, span: Duration) -> Window {
    let cells = u64::from(count - burst + 1);
    let span_ns = span.as_nanos() as u64;
    let period = Duration::from_nanos(span_ns.div_ceil(cells).max(1));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_hour(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
    Window {
        name,
        quota,
        sustained_per_sec: cells as f64 / span.as_secs_f64(),
        count,
        span,
    }
}

/// Knobs of adaptive back-pressure; the defaults suit every known SCIM app.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleTuning {
    /// Factor applied to the effective rate when the app throttles (429, 503).
    pub decrease_factor: f64,
    /// Consecutive unthrottled answers after which the rate steps up once.
    pub recover_after: u32,
    /// One recovery step, as a fraction of the ceiling rate.
    pub recover_step: f64,
    /// The effective rate never drops below this fraction of the ceiling rate.
    pub min_fraction: f64,
    /// The absolute floor of the effective rate, requests per second.
    pub min_per_sec: f64,
    /// Longest pause honoured from `Retry-After` or a rate-limit reset header; a longer
    /// (or broken) value is cut to this so one header cannot stall the app for days.
    pub max_pause: Duration,
}

impl Default for ThrottleTuning {
    fn default() -> Self {
        ThrottleTuning {
            decrease_factor: 0.5,
            recover_after: 20,
            recover_step: 0.1,
            min_fraction: 1.0 / 64.0,
            min_per_sec: 1.0 / 60.0,
            max_pause: Duration::from_secs(15 * 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unenforceable_limits() {
        assert_eq!(
            RateLimit::default().validate(),
            Err(RateLimitError::NoWindow)
        );
        assert_eq!(
            RateLimit::per_minute(0).validate(),
            Err(RateLimitError::ZeroCount {
                window: "per_minute"
            })
        );
        assert_eq!(
            RateLimit::per_second(5).with_burst(0).validate(),
            Err(RateLimitError::ZeroBurst)
        );
        let too_big = RateLimit {
            per_second: Some(20),
            per_minute: Some(10),
            per_hour: None,
            burst: Some(15),
        };
        let e = too_big.validate().expect_err("burst over per_minute");
        assert_eq!(
            String::from(e),
            "rate_limit.burst (15) exceeds rate_limit.per_minute (10)"
        );
        assert!(RateLimit::per_minute(300).with_burst(10).validate().is_ok());
    }

    #[test]
    fn parses_config_and_rejects_unknown_keys() {
        let rl: RateLimit =
            serde_json::from_str(r#"{"per_minute": 300, "burst": 10}"#).expect("parse");
        assert_eq!(rl, RateLimit::per_minute(300).with_burst(10));
        let err =
            serde_json::from_str::<RateLimit>(r#"{"per_minit": 300}"#).expect_err("unknown key");
        assert!(err.to_string().contains("per_minit"), "{err}");
    }

    #[test]
    fn sustained_rate_is_the_tightest_window_after_the_burst() {
        let rl = RateLimit {
            per_second: Some(10),
            per_minute: None,
            per_hour: Some(3600),
            burst: None,
        };
        assert_eq!(rl.sustained_per_sec(), Ok(1.0));
        // 300 per minute with 10 at once: the other 290 are spread over the minute.
        let rl = RateLimit::per_minute(300).with_burst(10);
        let r = rl.sustained_per_sec().expect("valid");
        assert!((r - 291.0 / 60.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn period_rounds_up_so_a_window_never_holds_an_extra_request() {
        let w = window("per_second", 3, 1, Duration::from_secs(1));
        let p = w.quota.replenish_interval();
        assert!(p * 3 >= Duration::from_secs(1), "{p:?}");
        assert_eq!(w.quota.burst_size().get(), 1);
    }
}
