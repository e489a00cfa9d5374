//! How far each app's operations have got while a cycle executes (and, in `read`, how far
//! the reading of its accounts): on a terminal one bar per app (done/total, rate, ETA,
//! failures); elsewhere (journald, CI, pipes) a plain log line
//! per app at most once a period, so a long initial sync is never silent and never writes
//! escape codes where nobody reads them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

mod read;
mod shown;

pub use read::ReadProgress;
use shown::Shown;

/// Environment variable overriding the period of the progress log lines, in milliseconds.
/// Meant for tests, which cannot wait ten seconds for a line.
pub const PERIOD_ENV: &str = "HRSYNC_PROGRESS_EVERY_MS";

/// How often a progress log line is written per app when there are no bars.
const DEFAULT_PERIOD: Duration = Duration::from_secs(10);

/// While running: bar (done so far), ops/s, ETA, failures.
const RUNNING: &str =
    "{prefix:>12.bold} [{bar:30.cyan/blue}] {pos}/{len} ops  {rate:.dim}  ETA {eta}  {msg}";
/// Once the app is through: the same line, with the elapsed time and the result.
const FINISHED: &str =
    "{prefix:>12.bold} [{bar:30.green/blue}] {pos}/{len} ops in {elapsed}  {msg}";

/// Where progress goes, decided once per process.
enum Display {
    /// Bars on the terminal (standard error).
    Bars(MultiProgress),
    /// Log lines, at most one per app per period.
    Lines(Duration),
}

static DISPLAY: OnceLock<Display> = OnceLock::new();

/// Decides once how progress is shown: bars when standard error is a terminal, `-q` was
/// not given and logs are text; log lines otherwise. Before this call no progress is shown.
pub fn init(quiet: bool, text_logs: bool) {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = DISPLAY.get_or_init(|| {
        if terminal && !quiet && text_logs {
            Display::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Display::Lines(period_from_env())
        }
    });
}

/// The line period: [`PERIOD_ENV`] when set to a number, else ten seconds.
fn period_from_env() -> Duration {
    std::env::var(PERIOD_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_PERIOD, Duration::from_millis)
}

/// Runs `write` with the bars cleared, so a log line never lands inside a bar's frame.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    match DISPLAY.get() {
        Some(Display::Bars(multi)) => multi.suspend(write),
        _ => write(),
    }
}

/// One app's progress; cheap to clone, shared by the app's operations.
#[derive(Clone, Default)]
pub struct AppProgress(Option<Arc<Tracker>>);

/// The counters of one app and how they are shown.
struct Tracker {
    app: String,
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    started: Instant,
    shown: Shown,
}

/// The bar, or when the last log line was written.
impl AppProgress {
    /// Progress of `total` operations for `app`; shows nothing before [`init`].
    pub fn start(app: &str, total: usize) -> AppProgress {
        let Some(display) = DISPLAY.get() else {
            return AppProgress(None);
        };
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let shown = Shown::on(display, || new_bar(app, total));
        AppProgress(Some(Arc::new(Tracker {
            app: app.to_string(),
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            started: Instant::now(),
            shown,
        })))
    }

    /// One operation settled; `failed` when it did not succeed (a skip is not a failure).
    pub fn settled(&self, failed: bool) {
        let Some(t) = &self.0 else { return };
        t.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            t.failed.fetch_add(1, Ordering::Relaxed);
        }
        t.show();
    }

    /// `n` operations that failed transiently are tried again: they are neither done nor
    /// failed until their second answer.
    pub fn retrying(&self, n: usize) {
        let Some(t) = &self.0 else { return };
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let back = |c: &AtomicU64| {
            let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
        };
        back(&t.done);
        back(&t.failed);
        if let Shown::Bar(bar) = &t.shown {
            bar.set_position(t.done.load(Ordering::Relaxed));
            bar.set_message(failures(t.failed.load(Ordering::Relaxed)));
        }
    }

    /// The app is through: the bar stays, ending with `result`.
    pub fn finish(&self, result: &str) {
        let Some(Tracker {
            shown: Shown::Bar(bar),
            ..
        }) = self.0.as_deref()
        else {
            return;
        };
        if let Ok(style) = ProgressStyle::with_template(FINISHED) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.finish_with_message(result.to_string());
    }
}

impl Tracker {
    /// Moves the bar, or writes a log line when the period has passed since the last one.
    fn show(&self) {
        let done = self.done.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        if let Shown::Bar(bar) = &self.shown {
            bar.set_position(done);
            bar.set_message(failures(failed));
        } else if self.shown.line_due() {
            self.log_line(done, failed);
        }
    }

    /// The plain progress line: counts, rate and the time still to go.
    fn log_line(&self, done: u64, failed: u64) {
        let rate = rate(done, self.started.elapsed());
        let eta = eta_secs(self.total.saturating_sub(done), rate);
        tracing::info!(
            app = %self.app,
            done,
            total = self.total,
            failed,
            rate_per_s = format!("{rate:.1}"),
            eta_s = eta,
            "Progress."
        );
    }
}

/// A fresh bar for `app`, styled for the run.
fn new_bar(app: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::hidden();
    bar.set_length(total);
    if let Ok(style) = ProgressStyle::with_template(RUNNING) {
        bar.set_style(style.progress_chars("=> ").with_key("rate", rate_key));
    }
    bar.set_prefix(app.to_string());
    bar.set_message(failures(0));
    bar
}

/// The bar's rate, one decimal: `12.5/s`.
fn rate_key(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = write!(out, "{:.1}/s", state.per_sec());
}

fn failures(n: u64) -> String {
    format!("failed: {n}")
}

/// Operations per second so far.
fn rate(done: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        done as f64 / secs
    } else {
        0.0
    }
}

/// Whole seconds still to go at `rate`, or none before the first answer.
fn eta_secs(remaining: u64, rate: f64) -> Option<u64> {
    (rate > 0.0).then(|| (remaining as f64 / rate).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_the_answers_so_far() {
        assert_eq!(rate(0, Duration::ZERO), 0.0);
        assert_eq!(rate(30, Duration::from_secs(10)), 3.0);
        assert_eq!(eta_secs(10, 3.0), Some(4));
        assert_eq!(eta_secs(10, 0.0), None);
    }

    #[test]
    fn a_tracker_without_a_display_counts_nothing_and_never_panics() {
        let p = AppProgress(None);
        p.settled(true);
        p.retrying(3);
        p.finish("done");
    }
}
