//! How far the reading of one app's accounts has got (`plan --detect-drift`, `resync`, and
//! a plan's read before its creates): on a terminal a bar counting the accounts and pages
//! read; elsewhere a progress log line at most once a period. Told each page by the SCIM
//! pager as it arrives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::{Display, DISPLAY};

/// While reading: accounts and pages so far, and the rate.
const READING: &str = "{prefix:>12.bold} reading accounts: {pos} read  {per_sec:.dim}  {msg}";
/// Once read.
const READ: &str = "{prefix:>12.bold} read {pos} accounts in {elapsed}  {msg}";

/// The reading of one app's accounts; shows nothing before [`super::init`].
pub struct ReadProgress(Option<Arc<Reader>>);

struct Reader {
    app: String,
    accounts: AtomicU64,
    pages: AtomicU64,
    started: Instant,
    shown: Shown,
}

enum Shown {
    Bar(ProgressBar),
    Lines {
        period: Duration,
        last: Mutex<Instant>,
    },
}

impl ReadProgress {
    /// Starts showing the reading of `app`'s accounts.
    pub fn start(app: &str) -> ReadProgress {
        let Some(display) = DISPLAY.get() else {
            return ReadProgress(None);
        };
        let shown = match display {
            Display::Bars(multi) => Shown::Bar(multi.add(new_bar(app))),
            Display::Lines(period) => Shown::Lines {
                period: *period,
                last: Mutex::new(Instant::now()),
            },
        };
        ReadProgress(Some(Arc::new(Reader {
            app: app.to_string(),
            accounts: AtomicU64::new(0),
            pages: AtomicU64::new(0),
            started: Instant::now(),
            shown,
        })))
    }

    /// One page of `n` accounts arrived.
    pub fn page(&self, n: usize) {
        let Some(r) = &self.0 else { return };
        let accounts = r
            .accounts
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed)
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        let pages = r.pages.fetch_add(1, Ordering::Relaxed) + 1;
        match &r.shown {
            Shown::Bar(bar) => {
                bar.set_position(accounts);
                bar.set_message(pages_text(pages));
            }
            Shown::Lines { period, last } => {
                let Ok(mut last) = last.lock() else { return };
                if last.elapsed() < *period {
                    return;
                }
                *last = Instant::now();
                drop(last);
                let secs = r.started.elapsed().as_secs_f64();
                let rate = if secs > 0.0 {
                    accounts as f64 / secs
                } else {
                    0.0
                };
                tracing::info!(
                    app = %r.app,
                    accounts,
                    pages,
                    rate_per_s = format!("{rate:.1}"),
                    "Reading the app's accounts."
                );
            }
        }
    }

    /// The read is over (read whole, or stopped by an error): the bar stays, final.
    pub fn finish(&self) {
        let Some(Reader {
            shown: Shown::Bar(bar),
            pages,
            ..
        }) = self.0.as_deref()
        else {
            return;
        };
        if let Ok(style) = ProgressStyle::with_template(READ) {
            bar.set_style(style);
        }
        bar.finish_with_message(pages_text(pages.load(Ordering::Relaxed)));
    }
}

fn pages_text(pages: u64) -> String {
    if pages == 1 {
        "1 page".to_string()
    } else {
        format!("{pages} pages")
    }
}

/// A bar with no known end, counting accounts.
fn new_bar(app: &str) -> ProgressBar {
    let bar = ProgressBar::hidden();
    if let Ok(style) = ProgressStyle::with_template(READING) {
        bar.set_style(style);
    }
    bar.set_prefix(app.to_string());
    bar.set_message(pages_text(0));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_display_nothing_is_counted_and_nothing_panics() {
        let p = ReadProgress(None);
        p.page(100);
        p.finish();
        assert_eq!(pages_text(1), "1 page");
        assert_eq!(pages_text(3), "3 pages");
    }
}
