//! Per-app throttling: a governor rate limiter per configured window, a concurrency bound,
//! and adaptive back-pressure (pauses on `Retry-After` and exhausted quotas, AIMD of the
//! effective rate). One [`Throttle`] per app, consulted before every attempt, retries included.

mod aimd;
mod config;
mod signals;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{NotKeyed, StateStore};
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::{Attempt, Gate};
use aimd::{Aimd, RateChange, RateMeter};
use config::Window;
pub use config::{RateLimit, RateLimitError, ThrottleTuning};
pub use signals::{read_pushback, Pushback};

/// Governor's view of tokio time, so `tokio::time::pause()` drives the limiter in tests.
#[derive(Debug, Clone)]
struct TokioClock {
    origin: Instant,
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
struct PeekableState {
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
const MAX_LOGGED_COUNT: u32 = 10_000;

/// The last `count` starts of one window: a start is allowed only once the `count`-th latest
/// is a whole span old, so no span ever holds more than `count` starts.
#[derive(Debug)]
struct StartLog {
    count: usize,
    span: Duration,
    starts: VecDeque<Instant>,
}

impl StartLog {
    /// How long until one more start fits in the window.
    fn wait(&self, now: Instant) -> Duration {
        if self.starts.len() < self.count {
            return Duration::ZERO;
        }
        self.starts
            .get(self.starts.len() - self.count)
            .map_or(Duration::ZERO, |oldest| {
                (*oldest + self.span).saturating_duration_since(now)
            })
    }

    fn record(&mut self, now: Instant) {
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

type Limiter = RateLimiter<NotKeyed, PeekableState, TokioClock, NoOpMiddleware<Duration>>;

/// A snapshot of one app's throttle, for status, metrics and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleStats {
    /// The request rate in force now, per second: the configured one, or lower while the app
    /// pushes back. None: no limit (unconfigured and never throttled).
    pub effective_per_sec: Option<f64>,
    /// The configured sustained rate, per second (None: no `rate_limit`).
    pub configured_per_sec: Option<f64>,
    /// Answers that throttled (429, 503) so far.
    pub throttled: u64,
    /// Attempts admitted so far (retries included).
    pub admitted: u64,
    /// Attempts admitted and not yet finished.
    pub in_flight: u64,
    /// Until when the whole app is paused, if it is.
    pub paused_until: Option<Instant>,
}

struct State {
    aimd: Aimd,
    /// The limiter of the reduced rate while the app pushes back.
    adaptive: Option<Arc<Limiter>>,
    paused_until: Option<Instant>,
    in_flight: u64,
    meter: RateMeter,
    throttled: u64,
    admitted: u64,
    /// Exact checks of the configured windows (those small enough to log).
    logs: Vec<StartLog>,
}

struct Inner {
    app: String,
    windows: Vec<(Window, Limiter)>,
    configured_per_sec: Option<f64>,
    permits: Arc<Semaphore>,
    clock: TokioClock,
    dry: Arc<AtomicBool>,
    tuning: ThrottleTuning,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one field.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The rate limiter, concurrency bound and back-pressure of one app. Cheap to clone; clones
/// share the same limits. Install it on the app's client with `HttpClient::with_gate`.
#[derive(Clone)]
pub struct Throttle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("app", &self.inner.app)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Permission for one attempt: holds a concurrency slot until dropped.
#[derive(Debug)]
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.app)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
    }
}

impl Throttle {
    /// A throttle for `app` (named in logs) with its `rate_limit` (None: no fixed rate,
    /// only back-pressure) and `concurrency` (attempts in flight at once).
    pub fn new(
        app: impl Into<String>,
        rate_limit: Option<&RateLimit>,
        concurrency: usize,
    ) -> Result<Self, RateLimitError> {
        Self::with_tuning(app, rate_limit, concurrency, ThrottleTuning::default())
    }

    /// Like [`Throttle::new`], with non-default back-pressure tuning.
    pub fn with_tuning(
        app: impl Into<String>,
        rate_limit: Option<&RateLimit>,
        concurrency: usize,
        tuning: ThrottleTuning,
    ) -> Result<Self, RateLimitError> {
        if concurrency == 0 {
            return Err(RateLimitError::ZeroConcurrency);
        }
        let clock = TokioClock {
            origin: Instant::now(),
        };
        let windows = match rate_limit {
            Some(rl) => rl.windows()?,
            None => Vec::new(),
        };
        let configured_per_sec = match rate_limit {
            Some(rl) => Some(rl.sustained_per_sec()?),
            None => None,
        };
        let dry = Arc::new(AtomicBool::new(false));
        let logs = windows
            .iter()
            .filter(|w| w.count <= MAX_LOGGED_COUNT)
            .map(|w| StartLog {
                count: w.count as usize,
                span: w.span,
                starts: VecDeque::new(),
            })
            .collect();
        let windows = windows
            .into_iter()
            .map(|w| {
                let limiter = new_limiter(w.quota, &clock, &dry);
                (w, limiter)
            })
            .collect();
        let state = State {
            aimd: Aimd::new(configured_per_sec, tuning.clone()),
            adaptive: None,
            paused_until: None,
            in_flight: 0,
            meter: RateMeter::new(Duration::from_secs(10), 10_000),
            throttled: 0,
            admitted: 0,
            logs,
        };
        Ok(Throttle {
            inner: Arc::new(Inner {
                app: app.into(),
                windows,
                configured_per_sec,
                permits: Arc::new(Semaphore::new(concurrency.min(Semaphore::MAX_PERMITS))),
                clock,
                dry,
                tuning,
                state: Mutex::new(state),
            }),
        })
    }

    /// The app this throttle belongs to.
    pub fn app(&self) -> &str {
        &self.inner.app
    }

    /// A snapshot of the throttle's state.
    pub fn stats(&self) -> ThrottleStats {
        let st = self.inner.lock();
        ThrottleStats {
            effective_per_sec: st.aimd.effective(),
            configured_per_sec: self.inner.configured_per_sec,
            throttled: st.throttled,
            admitted: st.admitted,
            in_flight: st.in_flight,
            paused_until: st.paused_until.filter(|u| *u > Instant::now()),
        }
    }

    /// Pauses the whole app until `until` (never shortens a pause already in force).
    pub fn pause_until(&self, until: Instant) {
        let mut st = self.inner.lock();
        extend_pause(&mut st, until);
    }

    /// Waits until one attempt may start: a concurrency slot, then no pause in force, then a
    /// cell from every rate window. The returned admission holds the slot until dropped.
    pub async fn acquire(&self) -> Admission {
        // The slot comes first: a request that took its rate cells and then queued for a slot
        // would start later than the limiter counted it, and several could start together.
        let permit = Arc::clone(&self.inner.permits).acquire_owned().await.ok();
        loop {
            let wait = {
                let mut st = self.inner.lock();
                let now = Instant::now();
                match st.paused_until.filter(|u| *u > now) {
                    Some(until) => Some(until - now),
                    None => self.try_admit(&mut st, now),
                }
            };
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => break,
            }
        }
        Admission {
            _permit: permit,
            inner: Arc::clone(&self.inner),
        }
    }

    /// Admits one attempt now if every limiter has a cell for it (taking them all), else
    /// says how long until the slowest of them will.
    fn try_admit(&self, st: &mut State, now: Instant) -> Option<Duration> {
        let limiters = || {
            self.inner
                .windows
                .iter()
                .map(|(_, l)| l)
                .chain(st.adaptive.as_deref())
        };
        let mut wait = Duration::ZERO;
        self.inner.dry.store(true, Ordering::Release);
        for limiter in limiters() {
            if let Err(not_until) = limiter.check() {
                wait = wait.max(not_until.wait_time_from(self.inner.clock.now()));
            }
        }
        self.inner.dry.store(false, Ordering::Release);
        for log in &st.logs {
            wait = wait.max(log.wait(now));
        }
        if !wait.is_zero() {
            return Some(wait);
        }
        for limiter in limiters() {
            // Time only moves forward since the dry run, so this cannot refuse; if it ever
            // did, waiting again is still correct.
            if let Err(not_until) = limiter.check() {
                return Some(not_until.wait_time_from(self.inner.clock.now()));
            }
        }
        for log in &mut st.logs {
            log.record(now);
        }
        st.admitted += 1;
        st.in_flight += 1;
        st.meter.record(now);
        None
    }

    /// Learns from one attempt's result: pauses, slows down or recovers.
    pub fn record(&self, attempt: &Attempt<'_>) {
        let now = Instant::now();
        let max_pause = self.inner.tuning.max_pause;
        let mut st = self.inner.lock();
        let before = st.aimd.effective();
        let change = match attempt {
            Attempt::Status { status, headers } => {
                let p = read_pushback(*status, headers, super::wall_clock());
                if let Some(d) = p.pause(st.in_flight) {
                    extend_pause(&mut st, now + d.min(max_pause));
                    tracing::debug!(
                        app = %self.inner.app,
                        status = status.as_u16(),
                        pause_ms = d.min(max_pause).as_millis() as u64,
                        "App asked for a pause."
                    );
                }
                if p.throttled {
                    st.throttled += 1;
                }
                if p.asks_to_slow_down() {
                    let measured = st.meter.rate(now);
                    let others = st.in_flight;
                    st.aimd.on_throttled(measured, others)
                } else {
                    // "Retry at once" neither cuts the rate nor counts towards recovery.
                    st.aimd.on_answer(!p.throttled)
                }
            }
            Attempt::Transport(_) => st.aimd.on_answer(false),
        };
        match change {
            Some(RateChange::To(rate)) => {
                st.adaptive = Some(Arc::new(self.limiter_at(rate)));
                if before.is_none_or(|b| rate < b) {
                    tracing::warn!(
                        app = %self.inner.app,
                        per_sec = rate,
                        "App is pushing back; slowing down."
                    );
                } else {
                    tracing::debug!(app = %self.inner.app, per_sec = rate, "Speeding up again.");
                }
            }
            Some(RateChange::Restored) => {
                st.adaptive = None;
                tracing::info!(
                    app = %self.inner.app,
                    per_sec = st.aimd.effective(),
                    "Request rate restored."
                );
            }
            None => {}
        }
    }

    fn limiter_at(&self, per_sec: f64) -> Limiter {
        let period = Duration::from_secs_f64(1.0 / per_sec.max(1e-6));
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN));
        new_limiter(quota, &self.inner.clock, &self.inner.dry)
    }
}

fn new_limiter(quota: Quota, clock: &TokioClock, dry: &Arc<AtomicBool>) -> Limiter {
    let period = quota.replenish_interval();
    let state = PeekableState {
        tat: AtomicU64::new(u64::MAX),
        dry: Arc::clone(dry),
        period_ns: u64::try_from(period.as_nanos()).unwrap_or(u64::MAX),
        credit_ns: u64::try_from((period / 4).min(MAX_CREDIT).as_nanos()).unwrap_or(0),
    };
    RateLimiter::new(quota, state, clock.clone())
}

fn extend_pause(st: &mut State, until: Instant) {
    if st.paused_until.is_none_or(|u| u < until) {
        st.paused_until = Some(until);
    }
}

#[async_trait::async_trait]
impl Gate for Throttle {
    async fn admit(&self) -> Box<dyn Send> {
        Box::new(self.acquire().await)
    }

    fn observe(&self, attempt: &Attempt<'_>) {
        self.record(attempt);
    }
}
