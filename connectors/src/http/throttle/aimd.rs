//! Additive-increase / multiplicative-decrease of an app's effective request rate, and the
//! meter that measures the rate actually sent. Pure: time is passed in.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::config::ThrottleTuning;

/// A change of the effective rate decided by [`Aimd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RateChange {
    /// Limit the app to this many requests per second.
    To(f64),
    /// Back to the configured limit (or none): the app has recovered.
    Restored,
}

/// The AIMD controller of one app.
#[derive(Debug, Clone)]
pub(crate) struct Aimd {
    tuning: ThrottleTuning,
    /// The configured sustained rate; None when the app has no `rate_limit`.
    configured: Option<f64>,
    /// The rate to recover towards: the configured one, or the one measured when an
    /// unconfigured app first pushed back.
    ceiling: Option<f64>,
    /// The reduced rate in force; None while unreduced.
    current: Option<f64>,
    /// Unthrottled answers in a row since the last change.
    success_run: u32,
    /// Answers still due from requests admitted before the last decrease: their throttling
    /// was caused by the old rate and must not cut the new one again.
    stale_answers: u64,
}

impl Aimd {
    /// A controller for an app with this configured sustained rate (None: unconfigured).
    pub(crate) fn new(configured: Option<f64>, tuning: ThrottleTuning) -> Self {
        Aimd {
            tuning,
            configured,
            ceiling: configured,
            current: None,
            success_run: 0,
            stale_answers: 0,
        }
    }

    /// The rate in force: the reduced one, else the configured one (None: unlimited).
    pub(crate) fn effective(&self) -> Option<f64> {
        self.current.or(self.configured)
    }

    /// The app throttled a request. `measured` is the rate recently sent, `others_in_flight`
    /// the requests admitted before now whose answers are still to come.
    pub(crate) fn on_throttled(
        &mut self,
        measured: f64,
        others_in_flight: u64,
    ) -> Option<RateChange> {
        self.success_run = 0;
        if self.stale_answers > 0 {
            self.stale_answers -= 1;
            return None;
        }
        let base = match (self.current, self.configured) {
            (Some(c), _) => c,
            (None, Some(c)) => c,
            (None, None) => {
                // Unconfigured: what we were sending is what the app could not take.
                let m = measured.max(self.tuning.min_per_sec);
                self.ceiling = Some(m);
                m
            }
        };
        let ceiling = self.ceiling.unwrap_or(base);
        let floor = (ceiling * self.tuning.min_fraction)
            .max(self.tuning.min_per_sec)
            .min(ceiling);
        let next = (base * self.tuning.decrease_factor).max(floor);
        self.current = Some(next);
        self.stale_answers = others_in_flight;
        Some(RateChange::To(next))
    }

    /// The app answered without throttling (any status but 429/503, or a transport error
    /// when `counts_as_success` is false).
    pub(crate) fn on_answer(&mut self, counts_as_success: bool) -> Option<RateChange> {
        self.stale_answers = self.stale_answers.saturating_sub(1);
        if !counts_as_success {
            return None;
        }
        let (Some(current), Some(ceiling)) = (self.current, self.ceiling) else {
            return None;
        };
        self.success_run += 1;
        if self.success_run < self.tuning.recover_after {
            return None;
        }
        self.success_run = 0;
        let next = current + ceiling * self.tuning.recover_step;
        if next >= ceiling {
            self.current = None;
            Some(RateChange::Restored)
        } else {
            self.current = Some(next);
            Some(RateChange::To(next))
        }
    }
}

/// Measures the rate of admitted requests over a recent horizon.
#[derive(Debug, Clone)]
pub(crate) struct RateMeter {
    horizon: Duration,
    cap: usize,
    starts: VecDeque<Instant>,
}

impl RateMeter {
    /// A meter over the last `horizon`, keeping at most `cap` samples.
    pub(crate) fn new(horizon: Duration, cap: usize) -> Self {
        RateMeter {
            horizon,
            cap,
            starts: VecDeque::new(),
        }
    }

    /// Records one admitted request.
    pub(crate) fn record(&mut self, at: Instant) {
        if self.starts.len() >= self.cap {
            self.starts.pop_front();
        }
        self.starts.push_back(at);
    }

    /// Requests per second over the horizon (or since the oldest sample, at least 1 s, so a
    /// handful of quick requests is not mistaken for a flood).
    pub(crate) fn rate(&mut self, now: Instant) -> f64 {
        while let Some(first) = self.starts.front() {
            if now.saturating_duration_since(*first) > self.horizon {
                self.starts.pop_front();
            } else {
                break;
            }
        }
        let Some(first) = self.starts.front() else {
            return 0.0;
        };
        let span = now
            .saturating_duration_since(*first)
            .max(Duration::from_secs(1));
        self.starts.len() as f64 / span.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning() -> ThrottleTuning {
        ThrottleTuning {
            recover_after: 3,
            ..ThrottleTuning::default()
        }
    }

    #[test]
    fn halves_on_throttle_and_recovers_additively_up_to_the_configured_rate() {
        let mut a = Aimd::new(Some(10.0), tuning());
        assert_eq!(a.effective(), Some(10.0));
        assert_eq!(a.on_throttled(0.0, 0), Some(RateChange::To(5.0)));
        assert_eq!(a.on_throttled(0.0, 0), Some(RateChange::To(2.5)));
        let mut changes = Vec::new();
        for _ in 0..100 {
            if let Some(c) = a.on_answer(true) {
                changes.push(c);
            }
        }
        // +1/s per three successes from 2.5: 3.5 … 9.5, then the configured 10 again.
        assert_eq!(changes.len(), 8, "{changes:?}");
        assert_eq!(changes[0], RateChange::To(3.5));
        assert_eq!(changes.last(), Some(&RateChange::Restored));
        assert_eq!(a.effective(), Some(10.0), "never above the configured rate");
    }

    #[test]
    fn answers_from_before_a_decrease_do_not_cut_again() {
        let mut a = Aimd::new(Some(8.0), tuning());
        // Four requests in flight when the first 429 arrives; all of them come back 429.
        assert_eq!(a.on_throttled(0.0, 3), Some(RateChange::To(4.0)));
        assert_eq!(a.on_throttled(0.0, 2), None);
        assert_eq!(a.on_answer(true), None);
        assert_eq!(a.on_throttled(0.0, 0), None);
        // A 429 to a request sent at the new rate does cut again.
        assert_eq!(a.on_throttled(0.0, 0), Some(RateChange::To(2.0)));
    }

    #[test]
    fn never_drops_below_the_floor() {
        let mut a = Aimd::new(Some(64.0), tuning());
        for _ in 0..50 {
            a.on_throttled(0.0, 0);
        }
        assert_eq!(a.effective(), Some(1.0), "1/64 of the configured rate");
    }

    #[test]
    fn unconfigured_app_learns_its_ceiling_from_the_measured_rate() {
        let mut a = Aimd::new(None, tuning());
        assert_eq!(a.effective(), None);
        assert_eq!(a.on_throttled(40.0, 0), Some(RateChange::To(20.0)));
        let mut last = None;
        for _ in 0..200 {
            if let Some(c) = a.on_answer(true) {
                last = Some(c);
            }
        }
        assert_eq!(last, Some(RateChange::Restored));
        assert_eq!(a.effective(), None, "unlimited again once recovered");
    }

    #[test]
    fn transport_errors_neither_recover_nor_cut() {
        let mut a = Aimd::new(Some(10.0), tuning());
        a.on_throttled(0.0, 0);
        for _ in 0..10 {
            assert_eq!(a.on_answer(false), None);
        }
        assert_eq!(a.effective(), Some(5.0));
    }

    #[test]
    fn meter_measures_recent_starts() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(Duration::from_secs(10), 1000);
        assert_eq!(m.rate(t0), 0.0);
        for i in 0..50 {
            m.record(t0 + Duration::from_millis(100 * i));
        }
        let r = m.rate(t0 + Duration::from_secs(5));
        assert!((r - 10.0).abs() < 1e-9, "{r}");
        // Long after, the old starts have left the horizon.
        assert_eq!(m.rate(t0 + Duration::from_secs(60)), 0.0);
    }
}
