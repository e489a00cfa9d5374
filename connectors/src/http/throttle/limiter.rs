//! The governor limiters of an app's rate windows: their clock (tokio's, so paused time
//! drives them in tests), a state that can be asked without spending a cell, and the exact
//! log of recent starts that keeps a window from ever holding one start too many.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{NotKeyed, StateStore};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// Governor's view of tokio time, so `tokio::time::pause()` drives the limiter in tests.
#[derive(Debug, Clone)]
pub(super) struct TokioClock {
    pub(super) origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }
}

/// Governor state of one limiter that can be asked without spending a cell: while the
/// shared `dry` flag is set, decisions are computed but not stored. An attempt must pass
/// every window at once; asking first and taking after keeps a cell from being spent in one
/// window while another makes the attempt wait (which would let starts bunch up later).
///
/// It also forgives a start that comes a little after its cell — a timer that woke a
/// millisecond late — by keeping the schedule instead of restarting it from the late start:
/// otherwise every late wake-up would be lost for good and an app configured at 50/s would
/// get ~47/s. Catching up can put one start too many in a window, which the throttle's
/// [`StartLog`] prevents.
#[derive(Debug)]
pub(super) struct PeekableState {
    /// Theoretical arrival time in nanoseconds; `u64::MAX` while unset.
    tat: AtomicU64,
    dry: Arc<AtomicBool>,
    /// The quota's period, nanoseconds.
    period_ns: u64,
    /// The longest lateness forgiven, nanoseconds.
    credit_ns: u64,
}

/// The longest lateness of a start that is forgiven: a quarter period, at most this.
const MAX_CREDIT: Duration = Duration::from_millis(5);

/// Windows up to this count are checked exactly with a [`StartLog`]; above it one extra
/// start in a window (a 0.01% excess) is left to the schedule.
pub(super) const MAX_LOGGED_COUNT: u32 = 10_000;

/// The last `count` starts of one window: a start is allowed only once the `count`-th latest
/// is a whole span old, so no span ever holds more than `count` starts.
#[derive(Debug)]
pub(super) struct StartLog {
    pub(super) count: usize,
    pub(super) span: Duration,
    pub(super) starts: VecDeque<Instant>,
}

impl StartLog {
    /// How long until one more start fits in the window.
    pub(super) fn wait(&self, now: Instant) -> Duration {
        if self.starts.len() < self.count {
            return Duration::ZERO;
        }
        self.starts
            .get(self.starts.len() - self.count)
            .map_or(Duration::ZERO, |oldest| {
                (*oldest + self.span).saturating_duration_since(now)
            })
    }

    pub(super) fn record(&mut self, now: Instant) {
        self.starts.push_back(now);
        while self.starts.len() > self.count {
            self.starts.pop_front();
        }
    }
}

impl StateStore for PeekableState {
    type Key = NotKeyed;

    fn measure_and_replace<T, F, E>(&self, _key: &NotKeyed, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // Every call runs under the throttle's state lock, so load-then-store cannot race.
        let raw = self.tat.load(Ordering::Acquire);
        let current = (raw != u64::MAX).then(|| Nanos::new(raw));
        let (outcome, next) = f(current)?;
        if !self.dry.load(Ordering::Acquire) {
            let mut next = next.as_u64();
            if let Some(tat) = current.map(|t| t.as_u64()) {
                // The cell was at `tat`; the start came `late` after it.
                let late = next.saturating_sub(self.period_ns).saturating_sub(tat);
                if late > 0 && late <= self.credit_ns {
                    next = tat.saturating_add(self.period_ns);
                }
            }
            self.tat.store(next.min(u64::MAX - 1), Ordering::Release);
        }
        Ok(outcome)
    }
}

pub(super) type Limiter =
    RateLimiter<NotKeyed, PeekableState, TokioClock, NoOpMiddleware<Duration>>;

pub(super) fn new_limiter(quota: Quota, clock: &TokioClock, dry: &Arc<AtomicBool>) -> Limiter {
    let period = quota.replenish_interval();
    let state = PeekableState {
        tat: AtomicU64::new(u64::MAX),
        dry: Arc::clone(dry),
        period_ns: u64::try_from(period.as_nanos()).unwrap_or(u64::MAX),
        credit_ns: u64::try_from((period / 4).min(MAX_CREDIT).as_nanos()).unwrap_or(0),
    };
    RateLimiter::new(quota, state, clock.clone())
}
