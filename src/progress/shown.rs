//! How one piece of progress shows: a bar on the terminal, or log lines at most once a
//! period elsewhere. Shared by the operations' and the reads' progress.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::Display;

/// A bar, or the pacing of log lines.
pub(super) enum Shown {
    Bar(ProgressBar),
    Lines {
        period: Duration,
        last: Mutex<Instant>,
    },
}

impl Shown {
    /// How progress shows on `display`; `bar` makes the bar when there is a terminal.
    pub(super) fn on(display: &Display, bar: impl FnOnce() -> ProgressBar) -> Shown {
        match display {
            Display::Bars(multi) => Shown::Bar(multi.add(bar())),
            Display::Lines(period) => Shown::Lines {
                period: *period,
                last: Mutex::new(Instant::now()),
            },
        }
    }

    /// True when a log line is due (a period has passed since the last one), which starts
    /// the next period; never for a bar.
    pub(super) fn line_due(&self) -> bool {
        let Shown::Lines { period, last } = self else {
            return false;
        };
        let Ok(mut last) = last.lock() else {
            return false;
        };
        if last.elapsed() < *period {
            return false;
        }
        *last = Instant::now();
        true
    }
}
