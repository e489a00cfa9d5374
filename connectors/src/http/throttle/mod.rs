//! Per-app throttling: a governor rate limiter per configured window, a concurrency bound
//! (fixed, or adaptive when the app's `concurrency` is not configured), and adaptive
//! back-pressure (pauses on `Retry-After` and exhausted quotas, AIMD of the effective rate). One [`Throttle`] per app, consulted before every attempt, retries included.

mod aimd;
mod config;
mod in_flight;
mod limiter;
mod signals;
mod slots;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock;
use governor::Quota;
use tokio::time::Instant;

use super::{Attempt, Gate};
use aimd::{Aimd, RateChange, RateMeter};
use config::Window;
pub use config::{RateLimit, RateLimitError, ThrottleTuning};
use in_flight::InFlight;
pub use in_flight::ADAPTIVE_START;
use limiter::{new_limiter, Limiter, StartLog, TokioClock, MAX_LOGGED_COUNT};
pub use signals::{read_pushback, Pushback};
pub use slots::Slot;
use slots::Slots;

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
    /// The in-flight limit in force (the fixed `concurrency`, or where the adaptive one is).
    pub concurrency_limit: usize,
    /// The most attempts that were in flight at once.
    pub peak_in_flight: u64,
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
    /// The adaptive in-flight limit; None when `concurrency` is fixed.
    window: Option<InFlight>,
    /// Latencies of attempts just finished (and whether the window was busy), waiting for
    /// their answers to be classified.
    finished: VecDeque<(Duration, bool)>,
    peak_in_flight: u64,
    /// The fixed in-flight limit.
    fixed: usize,
}

struct Inner {
    app: String,
    windows: Vec<(Window, Limiter)>,
    configured_per_sec: Option<f64>,
    slots: Arc<Slots>,
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
    _slot: Slot,
    inner: Arc<Inner>,
    started: Instant,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.app)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        if let Some(w) = &st.window {
            let busy = st.in_flight.saturating_mul(2) >= w.limit() as u64;
            st.finished.push_back((self.started.elapsed(), busy));
            // Bounded: answers that are never classified must not pile up.
            if st.finished.len() > 1024 {
                st.finished.pop_front();
            }
        }
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

    /// A throttle whose in-flight limit finds its own level, from [`ADAPTIVE_START`] up to
    /// `max`: for an app without a configured `concurrency`.
    pub fn adaptive(
        app: impl Into<String>,
        rate_limit: Option<&RateLimit>,
        max: usize,
    ) -> Result<Self, RateLimitError> {
        let fixed = Self::with_tuning(app, rate_limit, max, ThrottleTuning::default())?;
        let window = InFlight::new(max);
        {
            let mut st = fixed.inner.lock();
            // Built with `max` slots; those above the window's start are out of use until
            // the window grows into them.
            fixed.inner.slots.shrink(max.saturating_sub(window.limit()));
            st.window = Some(window);
        }
        Ok(fixed)
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
            window: None,
            finished: VecDeque::new(),
            peak_in_flight: 0,
            fixed: concurrency,
        };
        Ok(Throttle {
            inner: Arc::new(Inner {
                app: app.into(),
                windows,
                configured_per_sec,
                slots: Arc::new(Slots::new(concurrency)),
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
            concurrency_limit: st.window.as_ref().map_or(st.fixed, InFlight::limit),
            peak_in_flight: st.peak_in_flight,
        }
    }

    /// Pauses the whole app until `until` (never shortens a pause already in force).
    pub fn pause_until(&self, until: Instant) {
        let mut st = self.inner.lock();
        extend_pause(&mut st, until);
    }

    /// Waits until one more operation (which may take several requests) may be in
    /// progress: the engine holds one per operation, so as many operations run as the
    /// in-flight limit allows, and while it is low the others wait before they begin.
    pub async fn operation_slot(&self) -> Slot {
        self.inner.slots.operation().await
    }

    /// Waits until one attempt may start: a concurrency slot, then no pause in force, then a
    /// cell from every rate window. The returned admission holds the slot until dropped.
    pub async fn acquire(&self) -> Admission {
        // The slot comes first: a request that took its rate cells and then queued for a slot
        // would start later than the limiter counted it, and several could start together.
        let slot = self.inner.slots.request().await;
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
            _slot: slot,
            inner: Arc::clone(&self.inner),
            started: Instant::now(),
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
        st.peak_in_flight = st.peak_in_flight.max(st.in_flight);
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
        self.adapt_window(&mut st, attempt);
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

    /// Moves the adaptive in-flight limit on one attempt's result: a push-back or a lost
    /// request halves it, a fast answer may grow it.
    fn adapt_window(&self, st: &mut State, attempt: &Attempt<'_>) {
        let finished = st.finished.pop_front();
        let Some(w) = st.window.as_mut() else {
            return;
        };
        // Only successes say the app keeps up: a quick refusal (401, 400) says nothing.
        let (pushed_back, success) = match attempt {
            Attempt::Status { status, .. } => {
                (matches!(status.as_u16(), 429 | 503), status.is_success())
            }
            Attempt::Transport(_) => (true, false),
        };
        let before = w.limit();
        let after = match (pushed_back, success, finished) {
            (true, _, _) => w.on_pushback(),
            (false, true, Some((latency, busy))) => w.on_answer(latency, busy),
            _ => None,
        };
        let Some(after) = after else {
            return;
        };
        if after > before {
            self.inner.slots.grow(after - before);
        } else {
            self.inner.slots.shrink(before - after);
            tracing::debug!(app = %self.inner.app, in_flight = after, "App pushed back; fewer requests in flight.");
        }
    }

    fn limiter_at(&self, per_sec: f64) -> Limiter {
        let period = Duration::from_secs_f64(1.0 / per_sec.max(1e-6));
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN));
        new_limiter(quota, &self.inner.clock, &self.inner.dry)
    }
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
