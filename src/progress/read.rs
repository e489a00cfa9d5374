//! How far the reading of one app's accounts has got (`plan --detect-drift`, `resync`, and
//! a plan's read before its creates): on a terminal a bar counting the accounts and pages
//! read; elsewhere a progress log line at most once a period. Told each page by the SCIM
//! pager as it arrives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::shown::Shown;
use super::DISPLAY;

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

impl ReadProgress {
    /// Starts showing the reading of `app`'s accounts.
    pub fn start(app: &str) -> ReadProgress {
        let Some(display) = DISPLAY.get() else {
            return ReadProgress(None);
        };
        let shown = Shown::on(display, || new_bar(app));
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
        if let Shown::Bar(bar) = &r.shown {
            bar.set_position(accounts);
            bar.set_message(pages_text(pages));
        } else if r.shown.line_due() {
            let rate = super::rate(accounts, r.started.elapsed());
            tracing::info!(
                app = %r.app,
                accounts,
                pages,
                rate_per_s = format!("{rate:.1}"),
                "Reading the app's accounts."
            );
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
