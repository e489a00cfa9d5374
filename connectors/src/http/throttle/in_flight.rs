//! The in-flight limit of an app whose `concurrency` is not configured: it finds its own
//! level. It starts at the old fixed default and grows while answers come back as fast as
//! the fastest recently seen — quickly at first (one more slot per fast answer, doubling per
//! round trip), one slot per round trip once anything pushed back — and halves when the app
//! throttles (429, 503) or a request is lost. Pure: latencies are passed in.

use std::time::Duration;

/// The in-flight limit an adaptive app starts with (the former fixed default).
pub const ADAPTIVE_START: usize = 4;

/// Latency samples after which the baseline is re-measured, so an app that became slower
/// for good does not look congested forever.
const EPOCH: u32 = 256;

/// Slack on "as fast as the baseline": scheduling noise on a busy host, not the app.
const JITTER: Duration = Duration::from_millis(5);

/// The adaptive in-flight limit of one app.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    limit: usize,
    max: usize,
    /// Growing one slot per fast answer, until the first push-back or slow answer.
    slow_start: bool,
    /// The lowest latency of the current epoch: the app's latency without queueing.
    base: Option<Duration>,
    /// The lowest latency seen in the epoch under way, and how many samples it has.
    epoch_min: Option<Duration>,
    epoch_samples: u32,
    /// Fast answers since the limit last grew.
    fast_run: usize,
    /// Answers since the limit was last cut: answers to requests sent under the old limit
    /// must not cut the new one again.
    since_cut: usize,
}

impl InFlight {
    /// A window starting at [`ADAPTIVE_START`] (or `max`, if lower) that never passes `max`.
    pub(crate) fn new(max: usize) -> Self {
        let max = max.max(1);
        InFlight {
            limit: ADAPTIVE_START.min(max),
            max,
            slow_start: true,
            base: None,
            epoch_min: None,
            epoch_samples: 0,
            fast_run: 0,
            since_cut: usize::MAX / 2,
        }
    }

    /// The in-flight limit in force.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// An answer came back after `latency`; `busy` when the window was at least half used
    /// (growing an idle window would only allow a burst later). Returns the new limit when
    /// it grew.
    pub(crate) fn on_answer(&mut self, latency: Duration, busy: bool) -> Option<usize> {
        self.since_cut = self.since_cut.saturating_add(1);
        let base = self.learn(latency);
        let fast = latency <= base + base / 2 + JITTER;
        if !fast {
            self.slow_start = false;
            self.fast_run = 0;
            return None;
        }
        if !busy || self.limit >= self.max {
            return None;
        }
        self.fast_run += 1;
        if self.slow_start || self.fast_run >= self.limit {
            self.fast_run = 0;
            self.limit += 1;
            return Some(self.limit);
        }
        None
    }

    /// The app pushed back (429, 503) or a request was lost: halve the limit, once per
    /// round trip. Returns the new limit when it was cut.
    pub(crate) fn on_pushback(&mut self) -> Option<usize> {
        self.slow_start = false;
        self.fast_run = 0;
        if self.since_cut < self.limit || self.limit == 1 {
            return None;
        }
        self.since_cut = 0;
        self.limit = (self.limit / 2).max(1);
        Some(self.limit)
    }

    /// Folds a sample into the baseline; returns the baseline to compare it with.
    fn learn(&mut self, latency: Duration) -> Duration {
        self.epoch_min = Some(self.epoch_min.map_or(latency, |m| m.min(latency)));
        self.epoch_samples += 1;
        let base = self.base.map_or(latency, |b| b.min(latency));
        self.base = Some(base);
        if self.epoch_samples >= EPOCH {
            self.base = self.epoch_min.take();
            self.epoch_samples = 0;
        }
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn grows_while_latency_stays_flat_up_to_its_cap() {
        let mut w = InFlight::new(32);
        assert_eq!(w.limit(), ADAPTIVE_START);
        for _ in 0..200 {
            w.on_answer(25 * MS, true);
        }
        assert_eq!(w.limit(), 32, "never above the cap");
    }

    #[test]
    fn an_idle_window_does_not_grow() {
        let mut w = InFlight::new(32);
        for _ in 0..200 {
            w.on_answer(25 * MS, false);
        }
        assert_eq!(w.limit(), ADAPTIVE_START);
    }

    #[test]
    fn slow_answers_stop_the_growth() {
        let mut w = InFlight::new(64);
        for _ in 0..4 {
            w.on_answer(25 * MS, true);
        }
        let reached = w.limit();
        for _ in 0..100 {
            assert_eq!(w.on_answer(200 * MS, true), None);
        }
        assert_eq!(w.limit(), reached);
    }

    #[test]
    fn pushback_halves_once_per_round_trip_then_growth_is_slow() {
        let mut w = InFlight::new(64);
        for _ in 0..28 {
            w.on_answer(25 * MS, true);
        }
        assert_eq!(w.limit(), 32);
        assert_eq!(w.on_pushback(), Some(16));
        // The other answers of the old window do not cut it again.
        for _ in 0..10 {
            assert_eq!(w.on_pushback(), None);
        }
        for _ in 0..15 {
            w.on_answer(25 * MS, true);
        }
        assert_eq!(w.limit(), 16, "one slot per round trip now, not per answer");
        w.on_answer(25 * MS, true);
        assert_eq!(w.limit(), 17);
        let mut floor = InFlight::new(64);
        for _ in 0..20 {
            floor.since_cut = usize::MAX / 2;
            floor.on_pushback();
        }
        assert_eq!(floor.limit(), 1, "never below one");
    }
}
