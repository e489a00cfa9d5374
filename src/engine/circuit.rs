//! The per-app circuit breaker: authentication failures, DNS/TLS failures or a run of
//! transport errors open the app's circuit — its queue pauses, it is reported unhealthy,
//! other apps carry on — and it half-opens (one probe) after a cool-down.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::{FailureClass, OpError};

/// Consecutive transport failures that open the circuit of an app sent one request at a time.
pub const TRANSPORT_FAILURES_TO_OPEN: u32 = 5;

/// Consecutive transport failures that open the circuit of an app with `concurrency`
/// requests in flight. One stall (the app, or a loaded host) times out every request in
/// flight at once; that burst is one event, not `concurrency` of them, so an app that merely
/// drops some requests is not taken for one that is down.
pub fn transport_failures_to_open(concurrency: usize) -> u32 {
    let in_flight = u32::try_from(concurrency).unwrap_or(u32::MAX);
    TRANSPORT_FAILURES_TO_OPEN.max(in_flight.saturating_mul(2))
}

/// Base cool-down before a half-open probe; doubles per consecutive opening, capped.
pub const BASE_COOLDOWN: Duration = Duration::from_secs(60);
const MAX_COOLDOWN: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Default)]
struct State {
    consecutive_transport: u32,
    open: Option<String>,
}

/// One app's breaker for the current cycle.
#[derive(Debug)]
pub struct Circuit {
    state: Mutex<State>,
    transport_threshold: u32,
}

impl Circuit {
    /// A closed circuit for an app with `concurrency` requests in flight.
    pub fn new(concurrency: usize) -> Self {
        Circuit {
            state: Mutex::new(State::default()),
            transport_threshold: transport_failures_to_open(concurrency),
        }
    }

    /// A circuit already open (the app failed its half-open probe).
    pub fn opened(reason: String) -> Self {
        Circuit {
            state: Mutex::new(State {
                consecutive_transport: 0,
                open: Some(reason),
            }),
            transport_threshold: TRANSPORT_FAILURES_TO_OPEN,
        }
    }

    /// Why it is open, if it is.
    pub fn open_reason(&self) -> Option<String> {
        self.state.lock().ok().and_then(|s| s.open.clone())
    }

    /// Records a successful operation.
    pub fn success(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.consecutive_transport = 0;
        }
    }

    /// Records a failed operation; opens on the failures that repeating cannot fix.
    pub fn failure(&self, e: &OpError) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        match e.class() {
            FailureClass::Auth | FailureClass::Unreachable => {
                if s.open.is_none() {
                    tracing::warn!(error = %e, "Opening circuit.");
                    s.open = Some(e.to_string());
                }
            }
            FailureClass::Transport => {
                s.consecutive_transport += 1;
                if s.consecutive_transport >= self.transport_threshold && s.open.is_none() {
                    tracing::warn!(error = %e, "Opening circuit after repeated transport errors.");
                    s.open = Some(format!(
                        "{} consecutive transport errors, last: {e}",
                        s.consecutive_transport
                    ));
                }
            }
            FailureClass::Record | FailureClass::Other => {}
        }
    }
}

/// The cool-down after the `opens`-th consecutive opening.
pub fn cooldown(opens: u32) -> Duration {
    let factor = 2u32.saturating_pow(opens.saturating_sub(1).min(10));
    BASE_COOLDOWN.saturating_mul(factor).min(MAX_COOLDOWN)
}

/// True when a circuit opened at `opened_at` may be probed again at `now`.
pub fn may_probe(opened_at: DateTime<Utc>, opens: u32, now: DateTime<Utc>) -> bool {
    let wait = chrono::Duration::from_std(cooldown(opens)).unwrap_or(chrono::Duration::zero());
    now >= opened_at + wait
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::error::PermanentFailure;

    #[test]
    fn cooldown_grows_and_caps() {
        assert_eq!(cooldown(1), Duration::from_secs(60));
        assert_eq!(cooldown(2), Duration::from_secs(120));
        assert_eq!(cooldown(20), Duration::from_secs(1800));
    }

    #[test]
    fn auth_failure_opens_at_once_and_transport_after_a_run() {
        let c = Circuit::new(1);
        c.failure(&OpError::Permanent(PermanentFailure::NoId));
        assert!(c.open_reason().is_none());
        for _ in 0..TRANSPORT_FAILURES_TO_OPEN - 1 {
            c.failure(&OpError::test_transport());
        }
        assert!(c.open_reason().is_none());
        c.success();
        for _ in 0..TRANSPORT_FAILURES_TO_OPEN - 1 {
            c.failure(&OpError::test_transport());
        }
        assert!(c.open_reason().is_none(), "success resets the run");
        c.failure(&OpError::test_transport());
        assert!(c.open_reason().is_some());
        let c = Circuit::new(1);
        c.failure(&OpError::test_auth());
        assert!(c.open_reason().is_some());
    }

    #[test]
    fn a_burst_of_timeouts_across_the_requests_in_flight_does_not_open() {
        let c = Circuit::new(8);
        for _ in 0..8 {
            c.failure(&OpError::test_transport());
        }
        assert!(
            c.open_reason().is_none(),
            "one stall of 8 in-flight requests"
        );
        for _ in 0..8 {
            c.failure(&OpError::test_transport());
        }
        assert!(
            c.open_reason().is_some(),
            "twice the requests in flight, all failed"
        );
        assert_eq!(transport_failures_to_open(1), TRANSPORT_FAILURES_TO_OPEN);
    }
}
